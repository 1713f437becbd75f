"""Derivations of a ``Network`` or ``RNN``: backpropagation over any graph of named units.

Bishop's backprop (Deep Learning, 2024, sec. 8.1) is stated for any feed-forward graph:
for a unit a_j that sends to the units c,

    delta_j = h'(a_j) sum_c (d a_c / d z_j) delta_c,    dE_n/dw = sum_c delta_c (d a_c / d w),

the second sum running over *every* unit c whose equation contains w. With weight sharing
(a convolution's kernel, an RNN's matrices at every time step) that is the sum over
positions or over time: dE/dw_{c,c',m} = sum_p delta_{c,p} z_{c',p+m}, and for the RNN
dE/dW_hh = sum_t delta^(t) h^(t-1)T with delta^(t) = h'(a^(t)) o (W_hh^T delta^(t+1) +
W_hy^T delta^(y,t)) -- backpropagation through time. Nothing here knows a layer type: the
local derivatives d a_c / d z_j are SymPy's, of each unit's own (small) equation, so the
rule is written once for every graph.

The deltas are named (delta_1,3^(1), delta_2^(t), ...), the sensitivities of the
Jacobians dy_k/da_j too; the exact Hessian differentiates the gradient's named form
along each parameter (forward mode over the same definitions, named d(...)/dw_q).
``evaluate`` runs the compiled matrix form (``symnet.compiled.layered_form``: a
convolution as a correlation, its backprop as the transposed correlation, an RNN as a
loop over time steps; the exact Hessian by the R-operator over the same terms,
``symnet.compiled.layered_curvature_form``), on NumPy or, traced under ``jax.jit``, on
JAX arrays (``symnet.compiled.backends``); ``evaluate_entries`` (and ``evaluate`` of the
direct input Jacobian) runs the named form compiled to NumPy, one vectorised step per
named quantity over all samples: one straight-line NumPy function whose lines are the
definitions in order, each in the stable form of ``symnet.graph.rewriting``
(``compile_straight_line``). Each route checks the other.
"""

from functools import cached_property

import numpy as np
import sympy as sp

from .._size import check_direct_route, check_entries, check_hessian
from ..compiled import layered_curvature_form, layered_form
from ..compiled.substituted_form import substituted_values
from ..errors import SymnetError
from ..graph.layered import LayeredNetwork
from ..graph.loss_kernels import derivative_in_value, output_derivative
from ..graph.losses import get_loss, network_names
from ..graph.rewriting import MODULES, stable_form, unit_forms
from .derivation import Derivation

__all__ = ["LayeredDerivation", "gradient", "input_jacobian", "param_jacobian", "hessian",
           "is_layered", "refuse"]


def is_layered(net):
    """True for a ``Network`` or ``RNN`` (derived here), False for an ``MLP``."""
    return isinstance(net, LayeredNetwork)


def refuse(net, what):
    """SymnetError: ``what`` is not derived for a Network or RNN yet."""
    raise SymnetError(
        f"{what} is not derived for {type(net).__name__} yet (only for MLP); for a "
        f"{type(net).__name__}, symnet.gradient, input_jacobian, param_jacobian, hessian (exact "
        "and approx='gauss_newton'), hessian_residual, hessian_vector_product and input_hessian "
        "are available")


class LayeredDerivation(Derivation):
    """A ``Derivation`` of a Network or RNN: ``named``, ``definitions``, ``evaluate``, ``check``.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> from symnet.graph.layers import Conv1D, Dense, Flatten
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear"), Flatten(), Dense(1, "linear")])
    >>> grad = gradient(net, "sse")
    >>> grad.named[0]                    # the shared kernel tap: a sum over both positions
    delta_1,1^(1)*x_1,1 + delta_1,2^(1)*x_1,2
    """

    @cached_property
    def _entry_functions(self):
        return compile_straight_line(self.net, self.definitions, self.entries)

    def latex(self, form="entries", expanded=False, **options):
        r"""The derivation in LaTeX (``symnet.render.layered_latex``): weight sharing as sums.

        >>> import symnet
        >>> text = symnet.gradient(symnet.RNN(1, 1, 1, steps=2), "sse").latex()
        >>> r"\sum_{t=2}^{2} \delta_{j}^{(t)} h_m^{(t-1)}" in text
        True
        """
        return super().latex(form, expanded, **options)


def _matrix_route(kind, net, named, definitions, values, **keywords):
    """``evaluate`` by ``values(net, ..., terms)`` of ``symnet.compiled.layered_form``."""
    terms = layered_form.stage_terms(net)
    loss = keywords.get("loss")
    evaluator = ((lambda X, w, T: values(net, loss, X, w, T, terms)) if loss is not None
                 else (lambda X, w, T: values(net, X, w, terms)))
    return LayeredDerivation(kind, net, named, definitions, evaluator=evaluator, **keywords)


def compile_straight_line(net, definitions, entries, extra=()):
    """The named form as one NumPy function: ``evaluate(values, n_samples)`` -> entry arrays.

    Every forward equation and definition becomes one assignment, in order, and the
    entries are returned at the end: a straight-line program, vectorised over samples
    (``values`` maps inputs, parameters and targets to (N,) arrays or numbers). As in
    ``symnet.graph.rewriting.compile_named``, each z = h(a) is written h(a) so that the
    stable rewrites see sigma(a) rather than a rounded z.
    """
    forms = unit_forms(net)
    steps = [(name, value.xreplace(forms)) for name, value in
             {**net.equations, **definitions}.items() if name not in forms]
    # ``extra``: further arguments, e.g. the direction v_p of a Hessian-vector product
    arguments = list(net.inputs) + list(net.params) + list(net.targets) + list(extra)
    # symnet's names (delta_1,3^(1), dy_1/da_2^(1)) are not Python identifiers: number them
    rename = {s: sp.Symbol(f"v{n}", real=True)
              for n, s in enumerate(arguments + [name for name, _ in steps])}
    targets = [rename[t] for t in net.targets]
    lines = [(rename[name], stable_form(value.xreplace(rename), targets)) for name, value in steps]
    results = [stable_form(sp.sympify(e, strict=True).xreplace(forms).xreplace(rename), targets)
               for e in entries]
    used = set().union(*[value.free_symbols for _, value in lines],
                       *[r.free_symbols for r in results])
    arguments = [a for a in arguments if rename[a] in used]  # no targets in a Jacobian
    function = sp.lambdify([rename[a] for a in arguments], results, modules=MODULES,
                           cse=lambda expressions: (lines, list(expressions)))

    def evaluate(values, n_samples):
        out = function(*[values[a] for a in arguments])
        return [np.broadcast_to(r, (n_samples,)) for r in out]
    return evaluate


# -- the graph -------------------------------------------------------------------------------
def partials(expression, variables):
    """{u: d expression / du} for the symbols u of ``variables`` in it, term by term.

    >>> x, y, w = sp.symbols("x y w", real=True)
    >>> sorted(partials(w * x + 2 * w * y + x, {w, x}).items(), key=str)
    [(w, x + 2*y), (x, w + 1)]
    """
    found = {}
    for term in sp.Add.make_args(expression):
        for u in term.free_symbols & variables:
            found.setdefault(u, []).append(_term_derivative(term, u))
    return {u: sp.Add(*values) for u, values in found.items()}


def _term_derivative(term, u):
    """d term / du; a product w * z (the terms of every unit's sum) without calling diff."""
    if term == u:
        return sp.S.One
    if term.is_Mul:
        others = [f for f in term.args if f != u]
        if len(others) == len(term.args) - 1 and not any(u in f.free_symbols for f in others):
            return sp.Mul(*others)
    return term.diff(u)


class _Graph:
    """Who uses whom in ``net.equations``, with each unit's local derivatives."""

    def __init__(self, net):
        self.net = net
        named = set(net.equations) | set(net.inputs)
        self.L = net.n_layers
        self.output_pre = net.layer_pre_activations(self.L)
        self.output_values = net.layer_values(self.L)
        self.pre = {a for l in range(1, self.L + 1) for a in net.layer_pre_activations(l)}
        self.act_of = {a: net.stages[l - 1].act for l in range(1, self.L + 1)
                       for a in net.layer_pre_activations(l)}
        self.value_of = {a: z for l in range(1, self.L + 1) for a, z in
                         zip(net.layer_pre_activations(l), net.layer_values(l))}
        params = set(net.params)
        self.consumers = {s: [] for s in named}
        self.local = {}            # (consumer, symbol) -> d eq_consumer / d symbol
        self.uses = {p: [] for p in net.params}
        for name, value in net.equations.items():
            if name in self.value_of.values() and name not in self.output_values:
                continue           # z = h(a): its local derivative is h'(a), written in z
            for u, d in partials(value, (value.free_symbols & named) | params).items():
                self.local[name, u] = d
                (self.uses[u] if u in params else self.consumers[u]).append(name)

    def backward(self, seeds, name, definitions):
        """Adjoints dF/da of every pre-activation (named) and dF/dx of each input.

        ``seeds`` are dF/da_k^(L) of the output pre-activations; ``name(a)`` the symbol of
        a's adjoint. Values z = h(a) pass their adjoint sum_c (d a_c/dz) adj_c to a inline.
        """
        adjoint = {}
        for a, seed in zip(self.output_pre, seeds):
            adjoint[a] = _named(name(a), sp.sympify(seed, strict=True), definitions)
        net = self.net
        for l in range(self.L - 1, 0, -1):
            # h'(a) in z derived once per stage, then renamed for each unit (not re-derived)
            slope_of = derivative_in_value(net.stages[l - 1].act, _UNIT_A, _UNIT_Z)
            for a, z in zip(net.layer_pre_activations(l), net.layer_values(l)):
                back = sp.Add(*[adjoint[c] * self.local[c, z] for c in self.consumers[z]])
                slope = slope_of.xreplace({_UNIT_A: a, _UNIT_Z: z})
                adjoint[a] = _named(name(a), slope * back, definitions)
        inputs = {x: sp.Add(*[adjoint[c] * self.local[c, x] for c in self.consumers[x]])
                  for x in net.inputs}
        return adjoint, inputs

    def parameter_entries(self, adjoint):
        """sum over every unit c that uses w of adj_c d a_c / dw, for each w in order."""
        return [sp.Add(*[adjoint[c] * self.local[c, p] for c in self.uses[p]])
                for p in self.net.params]


_UNIT_A, _UNIT_Z = sp.symbols("a_unit z_unit", real=True)   # h'(a) once per stage, renamed


def _named(symbol, value, definitions):
    if value.is_number:
        return value
    definitions[symbol] = value
    return symbol


def _delta_symbol(a):
    return sp.Symbol("delta" + a.name[1:], real=True)   # a_1,3^(1) -> delta_1,3^(1)


def _loss_symbols(net, loss):
    """The loss row's y_k, t_k, a_k^(L) -> this network's outputs, targets, output units.

    The map is ``symnet.graph.losses.network_names``, written once there; it depends on
    ``net`` alone (``loss`` is not read).
    """
    return network_names(net)


def _size_check(what, net, n_rows):
    units = len(net.equations)
    check_entries(what, n_rows * (units + net.n_params), net.n_params)


# -- the derivations ---------------------------------------------------------------------------
def gradient(net, loss, *, weight_decay=None):
    """dE/dw (W x 1) of a Network or RNN through the delta recursion over its graph.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="tanh")
    >>> grad = gradient(net, "sse")
    >>> grad.named[net.param_index("w_11^(hh)")]      # through time: sum_t delta^(t) h^(t-1)
    delta_1^(2)*h_1^(1)
    >>> grad.definitions[symnet.symbols.delta(1, 1)]
    delta_1^(2)*w_11^(hh)*(1 - h_1^(1)**2)
    """
    loss = get_loss(loss, net, weight_decay)
    _size_check("the gradient", net, 1)
    graph, definitions = _Graph(net), {}
    seeds = [d.xreplace(_loss_symbols(net, loss)) for d in loss.output_deltas(net)]
    adjoint, _ = graph.backward(seeds, _delta_symbol, definitions)
    entries = graph.parameter_entries(adjoint)
    return _matrix_route("gradient", net, sp.Matrix(entries), definitions,
                         layered_form.gradient_values, rows=[p.name for p in net.params],
                         columns=["dE"], loss=loss, intermediates={"delta": dict(adjoint)})


def _sensitivities(net, graph, definitions, of="y"):
    """Per output k: the adjoints dy_k/da (named) and dy_k/dx, seeded by the output block.

    ``of="a"``: of the output pre-activations a_k^(L) instead (seeded by the identity).
    """
    L = net.n_layers
    if of == "a":
        block = sp.eye(len(net.layer_pre_activations(L)))
    else:
        block = output_derivative(net.activations[-1], net.layer_values(L),
                                  net.layer_pre_activations(L))
    rows = []
    outputs = net.layer_pre_activations(L) if of == "a" else net.layer_values(L)
    for k, y in enumerate(outputs):
        rows.append(graph.backward(list(block.row(k)),
                                   lambda a, y=y: sp.Symbol(f"d{y.name}/d{a.name}", real=True),
                                   definitions))
    return rows


def input_jacobian(net, method="backprop"):
    """J_ki = dy_k/dx_i (K x D) of a Network or RNN; ``method="direct"`` differentiates y.

    Examples
    --------
    >>> import symnet
    >>> from symnet.graph.layers import Conv1D
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])
    >>> input_jacobian(net).named        # banded: the kernel slides along the input
    Matrix([
    [w_1,1,1^(1), w_1,1,2^(1),           0],
    [          0, w_1,1,1^(1), w_1,1,2^(1)]])
    """
    if method not in ("backprop", "direct"):
        raise SymnetError(f"method must be 'backprop' or 'direct'; got {method!r}")
    outputs = net.layer_values(net.n_layers)
    labels = dict(rows=[y.name for y in outputs], columns=[x.name for x in net.inputs])
    if method == "direct":
        check_entries("the direct input Jacobian", len(outputs) * len(net.inputs), net.n_params)
        check_direct_route("the direct input Jacobian", net.expanded_terms(),
                           len(outputs) * len(net.inputs))
        named = net.outputs.jacobian(net.inputs)     # refused up front when too large
        derivation = LayeredDerivation("input_jacobian", net, named, {}, evaluator=None,
                                       method="direct", **labels)
        # the substituted entries printed for the inputs' array library (NumPy, JAX, Dask)
        derivation._evaluator = lambda X, w, T: substituted_values(derivation, X, w)
        return derivation
    _size_check("the input Jacobian", net, len(outputs))
    graph, definitions = _Graph(net), {}
    rows = _sensitivities(net, graph, definitions)
    named = sp.Matrix([[inputs[x] for x in net.inputs] for _, inputs in rows])
    return _matrix_route("input_jacobian", net, named, definitions,
                         layered_form.input_jacobian_values, method="backprop", **labels)


def param_jacobian(net):
    """dy_k/dw_p (K x W per sample) of a Network or RNN; columns in ``net.params`` order.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="linear")
    >>> param_jacobian(net).named[0, net.param_index("w_11^(xh)")]
    dy_1/da_1^(1)*x_1^(1) + dy_1/da_1^(2)*x_1^(2)
    """
    outputs = net.layer_values(net.n_layers)
    _size_check("the parameter Jacobian", net, len(outputs))
    graph, definitions = _Graph(net), {}
    rows = _sensitivities(net, graph, definitions)
    named = sp.Matrix([graph.parameter_entries(adjoint) for adjoint, _ in rows])
    return _matrix_route("param_jacobian", net, named, definitions,
                         layered_form.param_jacobian_values, rows=[y.name for y in outputs],
                         columns=[p.name for p in net.params])


def tangent_symbol(s, u):
    """ds/du, the forward-mode tangent of the named quantity s along the variable u.

    >>> tangent_symbol(sp.Symbol("delta_1^(2)"), sp.Symbol("w_11^(1)"))
    ddelta_1^(2)/dw_11^(1)
    """
    return sp.Symbol(f"d{s.name}/d{u.name}", real=True)


class ForwardMode:
    """Forward mode over named definitions: the derivative of every name along a direction.

    ``ordered`` maps each named symbol to its expression in earlier names and in the
    ``variables`` (parameters or inputs); ``entries`` are expressions in them. Along a
    direction u (``seed``: variable -> du/dr, {w_q: 1} for e_q, {w_p: v_p} for v)

        T{s} = sum_u (d value_s / d u) T{u},   T{variable} = seed,

    each T{s} named (``name(s)``) unless it is 0 or a number, and the entries' own T
    returned. The partials d value_s / d u are taken once, for every direction.

    >>> x, w, a, y = sp.symbols("x w a y", real=True)
    >>> mode = ForwardMode({a: w * x, y: a ** 2}, [2 * y], [w])
    >>> definitions = {}
    >>> mode.along({w: 1}, lambda s: tangent_symbol(s, w), definitions), definitions
    ([2*dy/dw], {da/dw: x, dy/dw: 2*a*da/dw})
    """

    def __init__(self, ordered, entries, variables):
        known = set(ordered) | set(variables)
        self.local = {s: partials(value, value.free_symbols & known)
                      for s, value in ordered.items()}
        self.entries = [partials(e, e.free_symbols & known) for e in entries]

    def along(self, seed, name, definitions):
        """The entries' derivatives along ``seed``; the named tangents go into ``definitions``."""
        tangent = dict(seed)
        for s, parts in self.local.items():
            value = sp.Add(*[d * tangent[u] for u, d in parts.items() if u in tangent])
            if value != 0:
                tangent[s] = _named(name(s), value, definitions)
        return [sp.Add(*[d * tangent[u] for u, d in parts.items() if u in tangent])
                for parts in self.entries]


def hessian(net, loss, approx=None, *, weight_decay=None):
    """The exact Hessian d^2E/dw_p dw_q (W x W): the gradient's named form differentiated.

    Forward mode along each w_q over every definition (the forward equations, then the
    deltas), each tangent named d(.)/dw_q: H[p, q] = d(dE/dw_p)/dw_q.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "linear")])   # y = w x + b
    >>> H = hessian(net, "sse")                     # E = 1/2 (w x + b - t)^2
    >>> H.named[1, 0], H.definitions[H.named[1, 0]]  # d(dE/db)/dw = d delta/dw, named
    (ddelta_1^(1)/dw_11^(1), dy_1/dw_11^(1))
    >>> H.evaluate([[2.0], [3.0]], [0.5, 0.1], [[0.0], [1.0]])   # sum_n [[x^2, x], [x, 1]]
    array([[13.,  5.],
           [ 5.,  2.]])
    """
    if approx is not None:
        refuse(net, f"the Hessian approximation {approx!r}")
    loss = get_loss(loss, net, weight_decay)
    check_hessian(net.n_params)
    W = net.n_params
    _size_check("the Hessian", net, W + 1)
    grad = gradient(net, loss)
    definitions = dict(grad.definitions)
    # Everything named, in order: each expression uses only names before it.
    mode = ForwardMode({**net.equations, **grad.definitions}, grad.named, net.params)
    columns = [mode.along({w_q: 1}, lambda s, w_q=w_q: tangent_symbol(s, w_q), definitions)
               for w_q in net.params]
    named = sp.ImmutableMatrix(W, W, lambda p, q: columns[q][p])
    labels = [p.name for p in net.params]
    return _matrix_route("hessian", net, named, definitions, layered_curvature_form.hessian_values,
                         rows=labels, columns=labels, loss=loss,
                         intermediates={"delta": grad.intermediates["delta"]})
