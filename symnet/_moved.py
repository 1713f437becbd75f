"""The flat module paths of symnet 0.1 (``symnet.engine``, ``symnet.backprop``, ...), kept working.

``import symnet.engine`` still works and warns with a ``DeprecationWarning``
naming the new home (``symnet.compiled.matrix_form``); the public API itself is
unchanged (``symnet.gradient``, ``symnet.check``, ...). Import from the new paths,
or from ``symnet``.

Examples
--------
>>> import importlib, sys, warnings
>>> _ = sys.modules.pop("symnet.backprop", None)          # as in a fresh interpreter
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     old = importlib.import_module("symnet.backprop")
>>> caught[0].category.__name__, str(caught[0].message).split(";")[0]
('DeprecationWarning', 'symnet.backprop moved to symnet.derive.first_order')
"""

import importlib
import importlib.abc
import importlib.util
import sys

from ._deprecation import warn_moved

__all__ = ["MOVED"]

MOVED = {
    'activations': 'graph.activations',
    'backprop': 'derive.first_order',
    'curvature': 'derive.curvature_terms',
    'derivation': 'derive.derivation',
    'document': 'render.document',
    'engine': 'compiled.matrix_form',
    'evaluate': 'compiled.error_value',
    'functions': 'graph.functions',
    'hints': 'formulas.mistakes',
    'hvp': 'derive.r_operator',
    'kinks': 'graph.kinks',
    'latex': 'render.derivation_latex',
    'latex_entries': 'render.latex_entries',
    'latex_forms': 'render.latex_forms',
    'latex_print': 'graph.latex_printer',
    'loss_kernels': 'graph.loss_kernels',
    'loss_rules': 'graph.loss_rules',
    'losses': 'graph.losses',
    'network': 'graph.network',
    'numerics': 'graph.numerics',
    'parse': 'formulas.parser',
    'perturbed': 'numdiff.perturbed',
    'report': 'numdiff.report',
    'rewriting': 'graph.rewriting',
    'richardson': 'numdiff.richardson',
    'schemes': 'numdiff.schemes',
    'sensitivity': 'teach.sensitivity',
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``symnet.<old>`` and fills it with the names of its new module, with a warning."""

    def find_spec(self, fullname, path=None, target=None):
        old = fullname.partition("symnet.")[2]
        if fullname.startswith("symnet.") and old in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # a plain new module, filled in exec_module

    def exec_module(self, module):
        old = module.__name__.partition("symnet.")[2]
        new = f"symnet.{MOVED[old]}"
        warn_moved(module.__name__, new, stacklevel=4,  # the caller's import statement
                   advice="import it from there (or the public names from symnet)")
        target = importlib.import_module(new)
        module.__dict__.update({name: value for name, value in vars(target).items()
                                if not name.startswith("__")})
        module.__doc__ = target.__doc__


def install():
    """Put the finder on ``sys.meta_path`` once (``symnet/__init__.py`` calls it)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedModules())  # before any finder that knows old paths
