"""First derivatives by backpropagation: the delta recursion, both Jacobians, the gradient.

Entry by entry, in Bishop's notation (Deep Learning, 2024, sec. 8.1):

    delta_j^(l) = h'(a_j^(l)) sum_k w_kj^(l+1) delta_k^(l+1),   delta_k^(L) from the loss
    dE_n/dw_ji^(l) = delta_j^(l) z_i^(l-1),                       dE_n/db_j^(l) = delta_j^(l)
    dy_k/da_j^(l) = h'(a_j^(l)) sum_m w_mj^(l+1) dy_k/da_m^(l+1)
    J_ki = dy_k/dx_i = sum_j w_ji^(1) dy_k/da_j^(1)
    dy_k/dw_ji^(l) = dy_k/da_j^(l) z_i^(l-1)

and layer by layer, as matrices (what ``symnet.engine`` evaluates):

    delta^(l) = h'(a^(l)) o (W^(l+1)T delta^(l+1)),   dE_n/dW^(l) = delta^(l) z^(l-1)T.

h'(a) is written with z = h(a) where the activation allows (tanh' = 1 - z^2,
sigma' = z (1 - z)), as a student writes it.
"""

import sympy as sp

from . import engine, rewriting
from . import symbols as sym
from ._size import check_entries
from .derivation import Derivation
from .errors import SymnetError
from .functions import softmax_jacobian_in
from .losses import get_loss

__all__ = ["input_jacobian", "gradient", "param_jacobian", "layer_form"]


def hidden_derivative(net, layer, j):
    """h_l'(a_j^(l)) written in z_j^(l) where possible."""
    act = net.activations[layer - 1]
    a = net.layer_pre_activations(layer)[j]
    return act.derivative_at(a).xreplace({act.function(a): net.layer_values(layer)[j]})


def _named(symbol, value, definitions):
    """Name ``value`` as ``symbol`` in ``definitions``; numbers (0, 1) stay numbers."""
    if value.is_number:
        return value
    definitions[symbol] = value
    return symbol


def symbolic_deltas(net, loss, definitions):
    """The delta recursion: {l: [delta_j^(l) or a number]}, adding each definition."""
    L = net.n_layers
    deltas = {L: [_named(sym.delta(L, k + 1), value, definitions)
                  for k, value in enumerate(loss.output_deltas(net))]}
    for l in range(L - 1, 0, -1):
        W_next = net.weights[l]  # W^(l+1)
        deltas[l] = [
            _named(sym.delta(l, j + 1),
                   hidden_derivative(net, l, j)
                   * sp.Add(*[W_next[k, j] * deltas[l + 1][k] for k in range(net.sizes[l + 1])]),
                   definitions)
            for j in range(net.sizes[l])]
    return deltas


def output_block(net, of="y"):
    """d out_k / d a_m^(L) (K x K): diagonal h'(a) for elementwise outputs, y_k(delta_km - y_m) for softmax."""
    L, K = net.n_layers, net.sizes[-1]
    if of == "a":
        return sp.eye(K)
    y = net.layer_values(L)
    if not net.activations[-1].elementwise:  # the softmax function's own derivative rule
        return softmax_jacobian_in(y, net.layer_pre_activations(L))
    return sp.diag(*[hidden_derivative(net, L, m) for m in range(K)])


def symbolic_sensitivities(net, definitions, of="y"):
    """{l: K x n_l Matrix} of dy_k/da_j^(l) (named), adding each definition."""
    L, K = net.n_layers, net.sizes[-1]
    block = output_block(net, of)
    G = {L: sp.Matrix(K, K, lambda k, m: _named(sym.output_sensitivity(k + 1, L, m + 1, of),
                                                block[k, m], definitions))}
    for l in range(L - 1, 0, -1):
        W_next = net.weights[l]
        G[l] = sp.Matrix(K, net.sizes[l], lambda k, j: _named(
            sym.output_sensitivity(k + 1, l, j + 1, of),
            hidden_derivative(net, l, j)
            * sp.Add(*[W_next[m, j] * G[l + 1][k, m] for m in range(net.sizes[l + 1])]),
            definitions))
    return G


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
        derivation._evaluator = lambda X, w, T: derivation.evaluate_entries(X, w)
        return derivation
    definitions = {}
    G = symbolic_sensitivities(net, definitions)
    named = G[1] * net.weights[0]
    return Derivation(
        "input_jacobian", net, named, definitions, rows=rows, columns=columns,
        evaluator=lambda X, w, T: engine.input_jacobian_values(net, X, w),
        intermediates={"dy/da": G}, method="backprop")


def gradient(net, loss):
    """The error gradient dE/dw (W x 1) through the delta recursion; evaluate sums over samples.

    Parameters
    ----------
    net : MLP
    loss : {"sse", "cross_entropy"}
        ``"sse"`` is E = 1/2 sum_n sum_k (y_nk - t_nk)^2; ``"cross_entropy"`` needs
        sigmoid (binary) or softmax (multi-class) outputs.

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
    loss = get_loss(loss, net)
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
    check_entries("the parameter Jacobian", net.sizes[-1] * net.n_params, net.n_params)
    definitions = {}
    named, G = param_jacobian_named(net, definitions)
    return Derivation(
        "param_jacobian", net, named, definitions,
        rows=[f"y_{k}" for k in range(1, net.sizes[-1] + 1)], columns=_param_labels(net),
        evaluator=lambda X, w, T: engine.param_jacobian_values(net, X, w),
        intermediates={"dy/da": G})


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
    loss = get_loss(loss, net)
    L = net.n_layers
    vectors = {l: sp.Matrix([sym.delta(l, j + 1) for j in range(net.sizes[l])])
               for l in range(1, L + 1)}
    form = {L: (vectors[L], sp.Matrix(loss.output_deltas(net)))}
    for l in range(L - 1, 0, -1):
        h_prime = sp.Matrix([hidden_derivative(net, l, j) for j in range(net.sizes[l])])
        form[l] = (vectors[l], h_prime.multiply_elementwise(net.weights[l].T * vectors[l + 1]))
    return form
