"""The package layout shows the flow: stages import only earlier stages, and nothing cycles.

Stages, in order (symnet/<stage>/__init__.py says each one's job):
base (errors, _validate, _size, _deprecation) -> graph -> compiled -> derive -> numdiff, render ->
formulas, train -> teach -> the top (symnet/__init__.py, cli, interop, _moved).
A module may import its own stage and earlier ones, at module level or inside a
function alike: a deferred import is still an arrow.
"""
import ast
import importlib
import sys
from pathlib import Path

import pytest

import symnet

PACKAGE = Path(symnet.__file__).parent
STAGES = [("base",), ("graph",), ("compiled",), ("derive",), ("numdiff", "render"),
          ("formulas", "train"), ("teach",), ("top",)]
BASE = {"errors", "_validate", "_size", "_deprecation"}
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module):
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if len(parts) == 2:
        return "base" if parts[1] in BASE else "top"
    return parts[1]


def imports_of(path):
    """Every symnet module that ``path`` imports, wherever the import statement stands."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("symnet")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("symnet"):
                continue
            for alias in node.names:  # `from .pkg import module` imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if _is_module(candidate) else target)
    return {name for name in found if name != module}


def _is_module(name):
    relative = Path(*name.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").exists() or (PACKAGE / relative).is_dir()


GRAPH = {module_name(path): imports_of(path) for path in sorted(PACKAGE.rglob("*.py"))}


def test_every_stage_imports_only_itself_and_earlier_stages():
    backward = [f"{module} ({stage_of(module)}) imports {target} ({stage_of(target)})"
                for module, targets in GRAPH.items() for target in targets
                if RANK[stage_of(target)] > RANK[stage_of(module)]]
    assert not backward, "\n".join(backward)


def test_no_import_cycle():
    # Subpackage __init__ files only hold docstrings, so module-level edges are the whole graph.
    state, path = {}, []

    def visit(node):
        state[node] = "open"
        path.append(node)
        for target in sorted(GRAPH.get(node, ())):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = "done"

    for node in sorted(GRAPH):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("stage", [s for names in STAGES for s in names
                                   if s not in ("base", "top")])
def test_each_stage_says_its_job_and_what_it_may_import(stage):
    doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text()))
    assert doc and "May import" in doc


def test_no_public_module_is_named_like_a_public_function():
    modules = {name.rpartition(".")[2] for name in GRAPH}
    clashes = sorted(name for name in symnet.__all__
                     if name in modules and callable(getattr(symnet, name))
                     and not isinstance(getattr(symnet, name), type(symnet)))
    assert not clashes


def test_public_api_is_explicit_and_complete():
    assert len(symnet.__all__) == len(set(symnet.__all__))
    missing = [name for name in symnet.__all__ if not hasattr(symnet, name)]
    assert not missing


@pytest.mark.parametrize("old, new", sorted(symnet._moved.MOVED.items()))
def test_old_import_paths_still_work_and_warn(old, new):
    sys.modules.pop(f"symnet.{old}", None)  # as in a fresh interpreter
    with pytest.warns(DeprecationWarning, match=f"symnet.{old} moved to symnet.{new}"):
        module = importlib.import_module(f"symnet.{old}")
    target = importlib.import_module(f"symnet.{new}")
    shared = [name for name in vars(target) if not name.startswith("__")]
    assert shared and all(getattr(module, name) is getattr(target, name) for name in shared)


@pytest.mark.parametrize("package, home, name", [
    ("symnet.numdiff", "symnet.numdiff.differences", "central_difference"),
    ("symnet.train", "symnet.train.fitting", "fit")])
def test_names_of_old_modules_that_became_packages_still_work_and_warn(package, home, name):
    old = importlib.import_module(package)
    with pytest.warns(DeprecationWarning, match=f"{package}.{name} moved to {home}.{name}"):
        value = getattr(old, name)
    assert value is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        getattr(old, "no_such_name")


def test_base_modules_import_nothing_from_symnet_but_base():
    # the base layer is what every stage may import, so it may lean on no stage at all
    leaning = {module: sorted(targets) for module, targets in GRAPH.items()
               if stage_of(module) == "base" and any(stage_of(t) != "base" for t in targets)}
    assert not leaning, leaning
