"""First derivatives by backpropagation: the delta recursion, both Jacobians, the gradient.

Entry by entry, in Bishop's notation (Deep Learning, 2024, sec. 8.1):

    delta_j^(l) = h'(a_j^(l)) sum_k w_kj^(l+1) delta_k^(l+1),   delta_k^(L) from the loss
    dE_n/dw_ji^(l) = delta_j^(l) z_i^(l-1),                       dE_n/db_j^(l) = delta_j^(l)
    dy_k/da_j^(l) = h'(a_j^(l)) sum_m w_mj^(l+1) dy_k/da_m^(l+1)
    J_ki = dy_k/dx_i = sum_j w_ji^(1) dy_k/da_j^(1)
    dy_k/dw_ji^(l) = dy_k/da_j^(l) z_i^(l-1)

and layer by layer, as matrices (what ``symnet.compiled.matrix_form`` evaluates):

    delta^(l) = h'(a^(l)) o (W^(l+1)T delta^(l+1)),   dE_n/dW^(l) = delta^(l) z^(l-1)T.

h'(a) is written with z = h(a) where the activation allows (tanh' = 1 - z^2,
sigma' = z (1 - z)), as a student writes it.
"""

import sympy as sp

from ..compiled import matrix_form as engine
from ..compiled.substituted_form import substituted_values
from ..graph import rewriting
from ..graph import symbols as sym
from .._size import check_entries
from .derivation import Derivation, derivation_kind
from ..errors import SymnetError
from ..graph.loss_kernels import derivative_in_value, output_derivative
from ..graph.losses import get_loss
from . import layered_derivations as layered

__all__ = ["input_jacobian", "gradient", "param_jacobian", "layer_form"]


def hidden_derivative(net, layer, j):
    """h_l'(a_j^(l)) written in z_j^(l) where possible."""
    return derivative_in_value(net.activations[layer - 1], net.layer_pre_activations(layer)[j],
                               net.layer_values(layer)[j])


def hidden_second_derivative(net, layer, j):
    """h_l''(a_j^(l)), written in z_j^(l) where possible (ReLU's DiracDelta dropped: 0)."""
    act = net.activations[layer - 1]
    a = net.layer_pre_activations(layer)[j]
    value = act.second_derivative_at(a).xreplace({act.function(a): net.layer_values(layer)[j]})
    return value.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _named(symbol, value, definitions):
    """Name ``value`` as ``symbol`` in ``definitions``; numbers (0, 1) stay numbers."""
    if value.is_number:
        return value
    definitions[symbol] = value
    return symbol


def _weighted_sum(net, layer, j, upper):
    """sum_k w_kj^(l+1) upper_k: what unit j of layer l receives back from layer l + 1."""
    W_next = net.weights[layer]  # W^(l+1)
    return sp.Add(*[W_next[k, j] * upper[k] for k in range(net.sizes[layer + 1])])


def backward_recursion(net, top, name, definitions, *, h_prime=hidden_derivative,
                       back=_weighted_sum):
    """The backward recursion u_j^(l) = h_l'(a_j^(l)) sum_k w_kj^(l+1) u_k^(l+1), l = L-1..1.

    The one entry-level backward pass: seeded at layer L with the loss's output deltas
    it gives delta_j^(l); with the rows of the output block d y_k/d a_m^(L), the
    sensitivities dy_k/da_j^(l); with sum_k r_k d out_k/d a_m^(L), the residual
    term's s_j^(l).

    Parameters
    ----------
    top : list of rows
        Each row (length n_L) seeds one recursion: u^(L) = row.
    name : callable or None
        ``name(l, r, j)`` is the symbol of row r, unit j (0-based) of layer l; each
        value is added to ``definitions`` under it (numbers stay numbers). None keeps
        the values inline.
    h_prime, back : callable
        ``h_prime(net, l, j)`` and ``back(net, l, j, upper)`` (sum_k w_kj^(l+1) upper_k);
        ``symnet.formulas.mistakes`` swaps them to plant a mistake in the same recursion.

    Returns
    -------
    dict
        ``{l: rows}``, ``rows[r][j]`` = u_j^(l) of row r (named, or a number).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 2, 1], hidden="tanh")
    >>> u = backward_recursion(net, [[sp.Symbol("g")]], None, {})
    >>> u[1][0]
    [g*w_11^(2)*(1 - z_1^(1)**2), g*w_12^(2)*(1 - z_2^(1)**2)]
    """
    def keep(l, r, j, value):
        return value if name is None else _named(name(l, r, j), value, definitions)

    L = net.n_layers
    u = {L: [[keep(L, r, k, value) for k, value in enumerate(row)] for r, row in enumerate(top)]}
    for l in range(L - 1, 0, -1):
        slopes = [h_prime(net, l, j) for j in range(net.sizes[l])]
        u[l] = [[keep(l, r, j, slopes[j] * back(net, l, j, upper)) for j in range(net.sizes[l])]
                for r, upper in enumerate(u[l + 1])]
    return u


def symbolic_deltas(net, loss, definitions):
    """The delta recursion: {l: [delta_j^(l) or a number]}, adding each definition."""
    rows = backward_recursion(net, [loss.output_deltas(net)],
                              lambda l, r, j: sym.delta(l, j + 1), definitions)
    return {l: row for l, (row,) in rows.items()}


def output_block(net, of="y"):
    """d out_k / d a_m^(L) (K x K): the identity for out = a^(L), else the output Jacobian.

    That is ``symnet.graph.loss_kernels.output_derivative`` (diagonal h'(a) for elementwise
    outputs, the softmax function's own rule y_k (delta_km - y_m)), the one definition the
    losses use too.

    >>> import symnet
    >>> output_block(symnet.MLP([1, 2], output="softmax"))
    Matrix([
    [y_1*(1 - y_1),     -y_1*y_2],
    [     -y_1*y_2, y_2*(1 - y_2)]])
    """
    L, K = net.n_layers, net.sizes[-1]
    if of == "a":
        return sp.eye(K)
    return output_derivative(net.activations[-1], net.layer_values(L),
                             net.layer_pre_activations(L))


def symbolic_sensitivities(net, definitions, of="y"):
    """{l: K x n_l Matrix} of dy_k/da_j^(l) (named), adding each definition.

    Row k is the backward recursion seeded by row k of the output block.
    """
    block = output_block(net, of)
    rows = backward_recursion(
        net, block.tolist(), lambda l, k, j: sym.output_sensitivity(k + 1, l, j + 1, of),
        definitions)
    return {l: sp.Matrix(value) for l, value in rows.items()}


def _param_labels(net):
    return [p.name for p in net.params]


def input_jacobian(net, method="backprop"):
    """The input-output Jacobian J_ki = dy_k/dx_i (K x D); evaluate gives (N, K, D).

    Parameters
    ----------
    net : MLP
    method : {"backprop", "direct"}
        ``"backprop"`` runs the recursion for dy_k/da_j^(l) (Bishop 8.1.5) and keeps
        the named intermediates; ``"direct"`` differentiates the fully substituted
        outputs with SymPy, the independent route to compare against (softmax
        outputs are the function ``softmax(k, a_1, ..., a_K)``, so both routes
        evaluate stably at large logits).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1], hidden="tanh")
    >>> J = input_jacobian(net)
    >>> J.named
    Matrix([[dy_1/da_1^(1)*w_11^(1) + dy_1/da_2^(1)*w_21^(1), dy_1/da_1^(1)*w_12^(1) + dy_1/da_2^(1)*w_22^(1)]])
    >>> direct = input_jacobian(net, method="direct")
    >>> (J.matrix - direct.matrix).expand()
    Matrix([[0, 0]])
    """
    if layered.is_layered(net):  # a Network or RNN: backprop over its graph of units
        return layered.input_jacobian(net, method)
    if method not in ("backprop", "direct"):
        raise SymnetError(f"method must be 'backprop' or 'direct'; got {method!r}")
    K, D = net.sizes[-1], net.sizes[0]
    rows, columns = [f"y_{k}" for k in range(1, K + 1)], [x.name for x in net.inputs]
    if method == "direct":
        check_entries("the direct input Jacobian", K * D, net.n_params)
        full = rewriting.substitution(net, {})  # softmax outputs as the softmax function
        outputs = sp.Matrix([full[y] for y in net.layer_values(net.n_layers)])
        direct = outputs.jacobian(net.inputs)
        derivation = Derivation("input_jacobian", net, direct, {}, rows=rows, columns=columns,
                                evaluator=None, method="direct")
        # the substituted entries printed for the inputs' array library (NumPy, JAX, Dask)
        derivation._evaluator = lambda X, w, T: substituted_values(derivation, X, w)
        return derivation
    definitions = {}
    G = symbolic_sensitivities(net, definitions)
    named = G[1] * net.weights[0]
    return Derivation(
        "input_jacobian", net, named, definitions, rows=rows, columns=columns,
        evaluator=lambda X, w, T: engine.input_jacobian_values(net, X, w),
        intermediates={"dy/da": G}, method="backprop")


def gradient(net, loss, *, weight_decay=None):
    """The error gradient dE/dw (W x 1) through the delta recursion; evaluate sums over samples.

    Parameters
    ----------
    net : MLP
    loss : str or Loss
        ``"sse"`` is E = 1/2 sum_n sum_k (y_nk - t_nk)^2; ``"cross_entropy"`` needs
        sigmoid (binary) or softmax (multi-class) outputs; ``"log_cosh"``, ``"huber"`` and
        the losses added with ``symnet.register_loss`` are derived the same way.
    weight_decay : float, optional
        lam >= 0 of E = sum_n E_n + lam/2 ||w||^2: ``evaluate`` adds lam w (default 0).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    >>> grad = gradient(net, "sse")
    >>> grad.named[net.param_index("w_11^(2)")]
    delta_1^(2)*z_1^(1)
    >>> grad.definitions[symnet.symbols.delta(2, 1)]
    y_1*(1 - y_1)*(-t_1 + y_1)
    """
    if layered.is_layered(net):
        return layered.gradient(net, loss, weight_decay=weight_decay)
    loss = get_loss(loss, net, weight_decay)
    check_entries("the gradient", net.n_params, net.n_params)
    definitions = {}
    deltas = symbolic_deltas(net, loss, definitions)
    entries = []
    for l in range(1, net.n_layers + 1):
        previous = net.layer_values(l - 1)
        for j in range(net.sizes[l]):
            entries.extend(deltas[l][j] * z for z in previous)
        entries.extend(deltas[l])
    return Derivation(
        "gradient", net, sp.Matrix(entries), definitions, rows=_param_labels(net),
        columns=["dE"], loss=loss,
        evaluator=lambda X, w, T: engine.gradient_values(net, loss, X, w, T),
        intermediates={"delta": {l: sp.Matrix(d) for l, d in deltas.items()}})


def param_jacobian_named(net, definitions, of="y"):
    """K x W named matrix of d out_k / d w_p and the sensitivities behind it."""
    G = symbolic_sensitivities(net, definitions, of)
    K = net.sizes[-1]
    rows = [[] for _ in range(K)]  # built row by row: hstack of W columns costs O(W^2)
    for l in range(1, net.n_layers + 1):
        previous = net.layer_values(l - 1)
        for k in range(K):
            for j in range(net.sizes[l]):
                rows[k].extend(G[l][k, j] * z for z in previous)
            rows[k].extend(G[l][k, j] for j in range(net.sizes[l]))
    return sp.Matrix(rows), G


def param_jacobian(net):
    """The parameter Jacobian dy_k/dw_p (K x W per sample); evaluate gives (N, K, W).

    Columns follow ``net.params``; for Levenberg-Marquardt reshape the result to
    (N*K, W): row n*K + k is sample n, output k (sample-major). The residual
    Jacobian of e = y - t is the same matrix.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([3, 4, 2])
    >>> J = param_jacobian(net)
    >>> J.named[0, 0], J.named[1, net.n_params - 1]
    (dy_1/da_1^(1)*x_1, 1)
    >>> X = np.ones((5, 3))
    >>> J.evaluate(X, net.init_params(seed=1)).reshape(5 * 2, -1).shape
    (10, 26)
    """
    if layered.is_layered(net):
        return layered.param_jacobian(net)
    check_entries("the parameter Jacobian", net.sizes[-1] * net.n_params, net.n_params)
    definitions = {}
    named, G = param_jacobian_named(net, definitions)
    return Derivation(
        "param_jacobian", net, named, definitions,
        rows=[f"y_{k}" for k in range(1, net.sizes[-1] + 1)], columns=_param_labels(net),
        evaluator=lambda X, w, T: engine.checked_param_jacobian_values(
            net, X, w, derivation_kind("param_jacobian").description),
        intermediates={"dy/da": G}, checks_result=True)


def layer_form(net, loss):
    """The delta recursion layer by layer, as (delta^(l), matrix expression) pairs.

    delta^(L) is the loss's output delta; for l < L,
    delta^(l) = h'(a^(l)) o (W^(l+1)T delta^(l+1)), built from the weight matrices,
    so it can be compared entry by entry with ``gradient``'s definitions.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 2, 1])
    >>> form = layer_form(net, "sse")
    >>> form[1][1]
    Matrix([
    [delta_1^(2)*w_11^(2)*(1 - z_1^(1)**2)],
    [delta_1^(2)*w_12^(2)*(1 - z_2^(1)**2)]])
    """
    if layered.is_layered(net):
        layered.refuse(net, "layer_form (the MLP's matrix form)")
    loss = get_loss(loss, net)
    L = net.n_layers
    vectors = {l: sp.Matrix([sym.delta(l, j + 1) for j in range(net.sizes[l])])
               for l in range(1, L + 1)}
    form = {L: (vectors[L], sp.Matrix(loss.output_deltas(net)))}
    for l in range(L - 1, 0, -1):
        h_prime = sp.Matrix([hidden_derivative(net, l, j) for j in range(net.sizes[l])])
        form[l] = (vectors[l], h_prime.multiply_elementwise(net.weights[l].T * vectors[l + 1]))
    return form
