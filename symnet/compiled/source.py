"""The code a derivation's ``evaluate`` runs, as text: ``Derivation.source(backend)``.

Two parts, both read from what actually runs, so the text cannot drift from it:

* the kernels printed from this network's SymPy rules, for the backend's namespace: h(a),
  h'(a) and h''(a) of each layer in (a, z = h(a)), and the loss's columns (delta^(L), and
  where the evaluation needs them d delta/da and Lambda) -- the expressions the engine
  lambdifies, printed by the same printer;
* the functions of the matrix form (``symnet.compiled.matrix_form``) that ``evaluate``
  reaches, found by walking the names its code calls, in call order, with
  ``MLP.forward_layers`` (the one forward pass) where they call it.

Examples
--------
>>> import symnet
>>> hvp = symnet.hessian_vector_product(symnet.MLP([1, 1]), "sse")
>>> [line for line in derivation_source(hvp).splitlines() if line.startswith("def ")][:3]
['def hessian_vector_values(net, loss, X, w, T, V):', 'def _chunks(net, n_samples, n_directions, max_chunks=None):', 'def _hessian_vector_chunk(net, loss, X, w, T, V):']
"""

import inspect
import textwrap
import types

import sympy as sp

from ..errors import SymnetError
from ..graph.activations import value_form
from . import matrix_form

__all__ = ["derivation_source"]

_BACKENDS = ("numpy", "jax")


def _printer(backend):
    settings = {"fully_qualified_modules": False, "inline": True,
                "allow_unknown_functions": True}
    if backend == "jax":
        from .backends import _printer as array_printer
        return array_printer()(settings)
    from sympy.printing.numpy import NumPyPrinter
    return NumPyPrinter(settings)


def _called_functions(start):
    """matrix_form functions reached from the code object ``start``, in first-call order."""
    found, seen = [], set()

    def walk(code):
        for name in code.co_names:
            target = getattr(matrix_form, name, None)
            if name == "forward_layers" and "forward_layers" not in seen:
                seen.add(name)
                found.append(("forward_layers", None))
            elif (isinstance(target, types.FunctionType) and target.__module__ ==
                  matrix_form.__name__ and name not in seen):
                seen.add(name)
                found.append((name, target))
                walk(target.__code__)
        for constant in code.co_consts:  # lambdas and nested functions
            if isinstance(constant, types.CodeType):
                walk(constant)
    walk(start)
    return found


def _kernel_lines(derivation, printer, names):
    net, loss = derivation.net, derivation.loss
    lines = []
    for l, act in enumerate(net.activations, start=1):
        if not act.elementwise:
            lines.append(f"# h_{l}: softmax, exp(a - max a) / sum exp(a - max a) (stable_softmax)")
            continue
        a = act.variable
        lines.append(f"# h_{l}(a) = {printer.doprint(act.function(a))}")
        lines.append(f"# h_{l}'(a, z) = {printer.doprint(value_form(act.derivative, act.function))}")
        if "_hessian_vector_chunk" in names:
            lines.append(f"# h_{l}''(a, z) = "
                         f"{printer.doprint(value_form(act.second_derivative, act.function))}")
    if loss is None or not hasattr(loss, "_kernels"):
        return lines
    kernels = loss._kernels
    shown = [("delta", kernels.delta, "_deltas" in names)]
    shown.append(("d delta/da", kernels.slope, "_hessian_vector_chunk" in names))
    shown.append(("Lambda", kernels.weights, "gauss_newton_values" in names))
    for title, kernel, used in shown:
        if not used:
            continue
        lines.append(f"# the loss's {title} ({loss.name}, {loss.output} outputs), column by "
                     "column in a_k^(L), y_k, t_k (d_k = h'(a_k), e_k = h''(a_k)):")
        lines += [f"#   {printer.doprint(column)}" for column in kernel.columns]
    return lines


def derivation_source(derivation, backend="numpy"):
    """The source of what ``derivation.evaluate`` runs on ``backend`` (see the module docstring)."""
    if backend not in _BACKENDS:
        raise SymnetError(f"backend must be one of {', '.join(_BACKENDS)}; got {backend!r}")
    if derivation._evaluator is None:
        raise SymnetError(f"{derivation!r} has no compiled evaluator to show")
    functions = _called_functions(derivation._evaluator.__code__)
    names = {name for name, _ in functions}
    header = [f"# What {derivation!r}.evaluate runs on {backend}.", "#",
              "# Kernels printed from the network's SymPy rules (symnet.graph):"]
    header += _kernel_lines(derivation, _printer(backend), names)
    header += ["#", "# The matrix form (symnet.compiled.matrix_form), in call order:"]
    bodies = []
    for name, function in functions:
        if function is None:
            function = type(derivation.net).forward_layers
        bodies.append(textwrap.dedent(inspect.getsource(function)).rstrip())
    return "\n".join(header) + "\n\n\n" + "\n\n\n".join(bodies) + "\n"

