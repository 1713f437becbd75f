"""Generate the API reference page from ``symnet.__all__``.

The page is written at every docs build (``hooks.py`` calls :func:`api_page`), so a
name added to ``symnet.__all__`` appears in the reference without anyone editing a
page, and a name removed from it disappears. Names are grouped by the module that
defines them, in the order they first appear in ``__all__``; each group opens
with the first line of its module's docstring. Each entry is a mkdocstrings
``::: symnet.NAME`` directive, rendered from the docstring.

This module needs only symnet (not mkdocs), so ``tests/test_docs.py`` can import
it to check that every public name has an entry.

Examples
--------
>>> page = api_page()
>>> "::: symnet.MLP" in page
True
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _symnet():
    """symnet from this checkout (the source the reference is rendered from)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import symnet
    return symnet


def public_names():
    """The names of ``symnet.__all__``, in order."""
    return list(_symnet().__all__)


def home_module(name):
    """The module that defines ``symnet.<name>`` (the module itself for a submodule)."""
    obj = getattr(_symnet(), name)
    if inspect.ismodule(obj):
        return obj.__name__
    return getattr(obj, "__module__", None) or "symnet"


def target(name):
    """The path mkdocstrings renders for ``symnet.<name>``, also the entry's HTML anchor.

    Usually ``symnet.<name>``. When a function shares its name with the submodule
    that defines it (``symnet.hessian`` is both), the static analysis behind
    mkdocstrings resolves ``symnet.<name>`` to the module, so the entry names the
    function by its defining path instead (``symnet.hessian.hessian``).
    """
    obj = getattr(_symnet(), name)
    if not inspect.ismodule(obj) and f"symnet.{name}" in sys.modules:
        return f"{obj.__module__}.{obj.__qualname__}"
    return f"symnet.{name}"


def summary(obj):
    """The first line of an object's docstring ('' when it has none)."""
    doc = inspect.getdoc(obj) if (inspect.ismodule(obj) or callable(obj)) else None
    return doc.strip().splitlines()[0] if doc and doc.strip() else ""


def groups():
    """[(module name, [public names defined there])], in order of first appearance."""
    grouped = {}
    for name in public_names():
        grouped.setdefault(home_module(name), []).append(name)
    return list(grouped.items())


def _cell(text):
    return text.replace("|", "\\|")


def api_page():
    """The Markdown of the API reference page."""
    symnet = _symnet()
    lines = [
        "# API reference",
        "",
        "Every public name of `symnet` (its `__all__`), generated from the docstrings at",
        "each docs build, so it always matches the code. `tests/test_docs.py` fails",
        "when a public name has no docstring, no Examples section with a doctest, or",
        "no entry here.",
        "",
        "| name | what it is |",
        "|---|---|",
    ]
    for name in public_names():
        lines.append(f"| [`symnet.{name}`][{target(name)}] | "
                     f"{_cell(summary(getattr(symnet, name)))} |")
    for module, names in groups():
        module_obj = sys.modules.get(module)
        intro = summary(module_obj) if module_obj is not None else ""
        lines += ["", f"## `{module}`", ""]
        if intro:
            lines += [intro, ""]
        for name in names:
            lines.append(f"::: {target(name)}")
            if target(name) != f"symnet.{name}":
                lines += ["    options:", f'      heading: "symnet.{name}"']
            lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(api_page())
