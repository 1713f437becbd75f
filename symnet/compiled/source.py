"""The code a derivation's ``evaluate`` runs, as text: ``Derivation.source(backend)``.

Two parts, both read from what actually runs, so the text cannot drift from it:

* the kernels printed from this network's SymPy rules, for the backend's namespace: h(a),
  h'(a) and h''(a) of each layer in (a, z = h(a)), and the loss's columns (delta^(L), and
  where the evaluation needs them d delta/da and Lambda) -- the expressions the engine
  lambdifies, printed by the same printer;
* the functions of the matrix form that ``evaluate`` reaches (``symnet.compiled.matrix_form``
  for an MLP; ``layered_form``, ``layered_curvature_form`` and the operators of
  ``layered_terms`` for a Network or RNN), found by walking the names its code calls, in call order, with the network's
  ``forward_layers`` (the one forward pass, and a Network's or RNN's stage functions)
  where they call it.

Examples
--------
>>> import symnet
>>> hvp = symnet.hessian_vector_product(symnet.MLP([1, 1]), "sse")
>>> [line for line in derivation_source(hvp).splitlines() if line.startswith("def ")][:3]
['def hessian_vector_values(net, loss, X, w, T, V):', 'def sample_chunks(net, n_samples, n_directions, max_chunks=None):', 'def _hessian_vector_chunk(net, loss, X, w, T, V):']
"""

import inspect
import textwrap
import types

import sympy as sp

from ..errors import SymnetError
from ..graph.activations import value_form
from . import layered_curvature_form, layered_form, layered_terms, matrix_form

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


# Shown where the evaluation reaches them: the matrix forms' functions and classes.
_SHOWN_MODULES = (matrix_form.__name__, layered_form.__name__, layered_terms.__name__,
                  layered_curvature_form.__name__)
# Reached in the code but run once, when the derivation is built, not by ``evaluate``:
# a Network's terms are made by its derivation and handed to every evaluation.
_BUILT_ONCE = {"stage_terms"}
# The R-operators (an MLP's, a Network's or RNN's): where they run, h'' and d delta/da do.
_R_OPERATORS = {"_hessian_vector_chunk", "r_backward"}


def _shown(target):
    return (isinstance(target, (types.FunctionType, type)) and
            target.__module__ in _SHOWN_MODULES and target.__name__ not in _BUILT_ONCE)


def _called_functions(evaluator, net):
    """The functions and classes ``evaluator`` reaches, in first-call order.

    Names are looked up where the code that calls them was written (each function's
    module); the evaluator's own names in ``matrix_form`` (an MLP's evaluator calls
    ``engine.gradient_values``), and its closure (a Network's ``values``) as they are.
    ``"forward_layers"`` stands for the network's own forward pass. A Network's backward
    pass calls its terms' operators by attribute (``term.operator.back``): their classes
    are taken from the network's terms.
    """
    found = []

    def visit(target):
        if target in found:
            return
        found.append(target)
        if target == "forward_layers":
            return
        if isinstance(target, type):            # a class: every method it defines
            for member in vars(target).values():
                if isinstance(member, types.FunctionType):
                    walk(member.__code__, member.__globals__)
            return
        walk(target.__code__, target.__globals__)
        if target in (layered_form.backward, layered_curvature_form.r_backward):
            for operator in _operators(net):
                visit(operator)

    def walk(code, namespace):
        for name in code.co_names:
            target = namespace.get(name)
            if name == "forward_layers":
                visit("forward_layers")
            elif _shown(target):
                visit(target)
        for constant in code.co_consts:  # lambdas and nested functions
            if isinstance(constant, types.CodeType):
                walk(constant, namespace)
    walk(evaluator.__code__, vars(matrix_form))
    for cell in evaluator.__closure__ or ():
        if _shown(cell.cell_contents):
            visit(cell.cell_contents)
    return found


def _forward_functions(net):
    """The network's one forward pass: ``forward_layers`` and, for a Network or RNN, the
    function computing each kind of stage (the module-level one that builds a stage's
    ``compute``, if there is one: ``_conv1d_compute``), in stage order."""
    functions = [type(net).forward_layers]
    for stage in getattr(net, "stages", ()):
        compute = stage.compute
        builder = compute.__globals__.get(compute.__qualname__.split(".<locals>.")[0])
        function = builder if isinstance(builder, types.FunctionType) else compute
        if all(function.__code__ is not f.__code__ for f in functions):
            functions.append(function)
    return functions


def _operators(net):
    """The operator classes (matrix, correlation, identity) of a Network's or RNN's terms."""
    classes = []
    for stage in layered_terms.stage_terms(net):
        for term in stage:
            if type(term.operator) not in classes:
                classes.append(type(term.operator))
    return classes


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
        if names & _R_OPERATORS:
            lines.append(f"# h_{l}''(a, z) = "
                         f"{printer.doprint(value_form(act.second_derivative, act.function))}")
    if loss is None or not hasattr(loss, "_kernels"):
        return lines
    kernels = loss._kernels
    if "_ResidualPseudoLoss" in names:  # the residual term's R-operator runs on r alone
        shown = [("r = dE_n/d out", kernels.residual, True)]
    else:
        shown = [("delta", kernels.delta, bool(names & {"_deltas", "gradient_values", "r_backward"})),
                 ("d delta/da", kernels.slope, bool(names & _R_OPERATORS)),
                 ("Lambda", kernels.weights, "gauss_newton_values" in names)]
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
    net = derivation.net
    reached = _called_functions(derivation._evaluator, net)
    names = {"forward_layers" if item == "forward_layers" else item.__name__ for item in reached}
    shown = []
    for item in reached:
        shown += _forward_functions(net) if item == "forward_layers" else [item]
    modules = sorted({item.__module__ for item in reached if item != "forward_layers"})
    header = [f"# What {derivation!r}.evaluate runs on {backend}.", "#",
              "# Kernels printed from the network's SymPy rules (symnet.graph):"]
    header += _kernel_lines(derivation, _printer(backend), names)
    header += ["#", f"# The matrix form ({', '.join(modules)}) and the network's forward pass, "
               "in call order:"]
    bodies = [textwrap.dedent(inspect.getsource(item)).rstrip() for item in shown]
    return "\n".join(header) + "\n\n\n" + "\n\n\n".join(bodies) + "\n"

