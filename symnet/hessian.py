"""Second derivatives: the exact Hessian of the error and its Gauss-Newton approximation.

The exact Hessian is derived by differentiating the gradient along each
parameter with Pearlmutter's R-operator, R_q{.} = d(.)/dw_q, applied to the
named intermediates (Bishop, 2024, sec. 8.1 and exercise 8.x; Pearlmutter 1994):

    R{a_j^(l)}  = sum_i w_ji^(l) R{z_i^(l-1)} + [w_q = w_ji^(l)] z_i^(l-1) + [w_q = b_j^(l)]
    R{z_j^(l)}  = h'(a_j^(l)) R{a_j^(l)}
    R{delta_j^(l)} = h''(a_j^(l)) R{a_j^(l)} sum_k w_kj delta_k
                     + h'(a_j^(l)) sum_k (w_kj R{delta_k^(l+1)} + [w_q = w_kj^(l+1)] delta_k^(l+1))
    H[p, q] = R_q{dE_n/dw_p} = R_q{delta_j^(l)} z_i^(l-1) + delta_j^(l) R_q{z_i^(l-1)}

R{delta^(L)} comes from differentiating the loss's output delta. ReLU's h'' is 0
(its DiracDelta never reaches numeric code).

The Gauss-Newton (outer-product) approximation is sum_n B_n^T Lambda_n B_n with
B = dy/dw and Lambda = I for sum-of-squares (the Levenberg-Marquardt matrix), and
B = da^(L)/dw, Lambda = d^2 E_n / da^(L)^2 for cross-entropy (y(1 - y) on the
diagonal for logistic outputs). It equals the exact Hessian wherever every
residual y - t is zero.
"""

import numpy as np
import sympy as sp

from . import engine
from ._size import check_hessian
from .backprop import hidden_derivative, output_block, param_jacobian_named, symbolic_deltas
from .derivation import Derivation
from .errors import SymnetError
from .hvp import seed_partials
from .losses import get_loss

__all__ = ["hessian"]


def _second_derivative(net, layer, j):
    """h_l''(a_j^(l)) written in z_j^(l) where possible."""
    act = net.activations[layer - 1]
    a = net.layer_pre_activations(layer)[j]
    return act.second_derivative_at(a).xreplace({act.function(a): net.layer_values(layer)[j]})


def _output_delta_partials(net, loss):
    """d delta_k^(L) / d a_m^(L) as a K x K matrix of named expressions (``seed_partials``)."""
    return seed_partials(net, loss.output_deltas(net))


class _LayerFactors:
    """h'(a_j^(l)), h''(a_j^(l)) and sum_k w_kj delta_k^(l+1), built once for all directions."""

    def __init__(self, net, deltas):
        L = net.n_layers
        self.first = {l: [hidden_derivative(net, l, j) for j in range(net.sizes[l])]
                      for l in range(1, L)}
        self.second = {l: [_second_derivative(net, l, j) for j in range(net.sizes[l])]
                       for l in range(1, L)}
        self.back = {l: [sp.Add(*[net.weights[l][k, j] * deltas[l + 1][k]
                                  for k in range(net.sizes[l + 1])])
                         for j in range(net.sizes[l])] for l in range(1, L)}


def _directional(net, deltas, q, partials, factors):
    """R_q{z}, R_q{delta} per layer for the direction of parameter q."""
    L = net.n_layers
    layer_q, kind, j_q, i_q = _locate(net, q)
    # R_q{a^(l)} = 0 below the layer of w_q: start where the direction enters.
    R_z = {l: [sp.S.Zero] * net.sizes[l] for l in range(layer_q)}
    R_a = {}
    for l in range(layer_q, L + 1):
        W, previous = net.weights[l - 1], net.layer_values(l - 1)
        values = []
        for j in range(net.sizes[l]):
            value = sp.Add(*[W[j, i] * R_z[l - 1][i] for i in range(net.sizes[l - 1])
                             if R_z[l - 1][i] != 0])
            if l == layer_q and j == j_q:
                value += previous[i_q] if kind == "w" else 1
            values.append(value)
        R_a[l] = values
        if l < L:
            R_z[l] = [factors.first[l][j] * R_a[l][j] for j in range(net.sizes[l])]
    R_delta = {L: [sp.Add(*[partials[k, m] * R_a[L][m] for m in range(net.sizes[L])])
                   for k in range(net.sizes[L])]}
    for l in range(L - 1, 0, -1):
        W_next = net.weights[l]
        values = []
        for j in range(net.sizes[l]):
            r_back = sp.Add(*[W_next[k, j] * R_delta[l + 1][k] for k in range(net.sizes[l + 1])])
            if layer_q == l + 1 and kind == "w" and i_q == j:
                r_back += deltas[l + 1][j_q]
            curvature = factors.second[l][j] * R_a[l][j] * factors.back[l][j] if l in R_a else 0
            values.append(curvature + factors.first[l][j] * r_back)
        R_delta[l] = values
    return R_z, R_delta


def _locate(net, column):
    """(layer, "w" or "b", j, i) of a parameter column, 0-based unit indices."""
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        if w_cols.start <= column < w_cols.stop:
            j, i = divmod(column - w_cols.start, net.sizes[l - 1])
            return l, "w", j, i
        if b_cols.start <= column < b_cols.stop:
            return l, "b", column - b_cols.start, None
    raise SymnetError(f"no parameter column {column}")


def _exact_named(net, loss, definitions):
    deltas = symbolic_deltas(net, loss, definitions)
    partials = _output_delta_partials(net, loss)
    factors = _LayerFactors(net, deltas)
    W = net.n_params
    located = [_locate(net, p) for p in range(W)]
    columns = []  # columns[q][p] = H[p, q]
    for q in range(W):
        R_z, R_delta = _directional(net, deltas, q, partials, factors)
        columns.append([R_delta[l][j] if kind == "b"
                        else R_delta[l][j] * net.layer_values(l - 1)[i] + deltas[l][j] * R_z[l - 1][i]
                        for l, kind, j, i in located])
    # Built once: item assignment into a Matrix costs a sympify per entry.
    return sp.ImmutableMatrix(W, W, lambda p, q: columns[q][p]), deltas


def _gauss_newton_named(net, loss, definitions):
    B, _ = param_jacobian_named(net, definitions, of=loss.jacobian_of)
    K = net.sizes[-1]
    if loss.name == "sse":
        weights = sp.eye(K)
    elif net.activations[-1].elementwise:  # d^2 E_n / da^2 = sigma'(a) = y (1 - y)
        weights = output_block(net)
    else:  # (diag(y) - y y^T) sum_m t_m
        weights = sp.Add(*net.targets) * output_block(net)
    return B.T * weights * B


def hessian(net, loss, approx=None):
    """The Hessian of the error, d^2 E / dw_p dw_q (W x W); evaluate sums over samples.

    Parameters
    ----------
    net : MLP
    loss : {"sse", "cross_entropy"}
    approx : None or "gauss_newton"
        None for the exact Hessian; ``"gauss_newton"`` (alias ``"outer_product"``) for
        sum_n B_n^T Lambda_n B_n (see the module docstring).

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([1, 1], output="linear")        # y = w x + b
    >>> hessian(net, "sse").named                        # E = 1/2 (w x + b - t)^2
    Matrix([
    [x_1**2, x_1],
    [   x_1,   1]])
    >>> hessian(net, "sse").evaluate([[2.0], [3.0]], [0.5, 0.1], [[0.0], [1.0]])
    array([[13.,  5.],
           [ 5.,  2.]])
    """
    loss = get_loss(loss, net)
    if approx not in (None, "gauss_newton", "outer_product"):
        raise SymnetError(f"approx must be None or 'gauss_newton'; got {approx!r}")
    check_hessian(net.n_params)
    definitions = {}
    labels = [p.name for p in net.params]
    if approx is None:
        named, deltas = _exact_named(net, loss, definitions)

        def evaluate(X, w, T):
            return engine.hessian_vector_values(net, loss, X, w, T, np.eye(net.n_params))
        return Derivation("hessian", net, named, definitions, rows=labels, columns=labels,
                          loss=loss, evaluator=evaluate,
                          intermediates={"delta": {l: sp.Matrix(d) for l, d in deltas.items()}})
    named = _gauss_newton_named(net, loss, definitions)
    return Derivation("gauss_newton", net, named, definitions, rows=labels, columns=labels,
                      loss=loss, method="gauss_newton",
                      evaluator=lambda X, w, T: engine.gauss_newton_values(net, loss, X, w, T))
