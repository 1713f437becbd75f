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
(its DiracDelta never reaches numeric code). This is ``symnet.derive.r_operator.r_operator``, the
one entry-level R-operator, run along v = e_q for every q (``hessian_from_deltas``);
numerically it is ``engine.hessian_vector_values`` with V = I.

The Gauss-Newton (outer-product) approximation is sum_n B_n^T Lambda_n B_n with
B = dy/dw and Lambda = I for sum-of-squares (the Levenberg-Marquardt matrix), and
B = da^(L)/dw, Lambda = d^2 E_n / da^(L)^2 for cross-entropy (y(1 - y) on the
diagonal for logistic outputs). It equals the exact Hessian wherever every
residual y - t is zero.
"""

import numpy as np
import sympy as sp

from ..compiled import matrix_form as engine
from .._size import check_hessian
from ..graph.canonical import weighted_gram
from .first_order import param_jacobian_named, symbolic_deltas
from .derivation import Derivation
from ..errors import SymnetError
from .r_operator import LayerFactors, r_operator, seed_partials
from ..graph.losses import get_loss
from . import layered_curvature
from . import layered_derivations as layered

__all__ = ["hessian"]


def hessian_from_deltas(net, deltas, partials):
    """The W x W matrix R_q{dE_n/dw_p}: column q is the R-operator along w_q (v = e_q).

    ``deltas`` and ``partials`` (d delta^(L)/d a^(L)) define the error: the loss's
    deltas give the exact Hessian, the pseudo-error's s_j^(l) the residual term.

    Both are symmetric (second derivatives of one function), so column q builds only its
    entries p <= q and H[q, p] is H[p, q]: the R-operator along w_p would give the same
    value as another arrangement of the same terms, at twice the cost.
    """
    factors = LayerFactors(net, deltas)  # h', h'', back-sums: built once for all W directions
    W = net.n_params
    upper = [r_operator(net, deltas, partials, {q: 1}, factors=factors, entries=q + 1)[0]
             for q in range(W)]  # upper[q][p] = H[p, q] for p <= q
    # One flat list, built once: item assignment into a Matrix costs a sympify per entry.
    return sp.ImmutableMatrix(W, W, [upper[max(p, q)][min(p, q)]
                                     for p in range(W) for q in range(W)])


def _exact_named(net, loss, definitions):
    deltas = symbolic_deltas(net, loss, definitions)
    return hessian_from_deltas(net, deltas, seed_partials(net, loss.output_deltas(net))), deltas


def exact_entry(net, loss, p, q, definitions):
    """H[p, q] = R_q{dE_n/dw_p} alone (columns p, q), by one R-operator pass along w_q."""
    deltas = symbolic_deltas(net, loss, definitions)
    product, _ = r_operator(net, deltas, seed_partials(net, loss.output_deltas(net)), {q: 1})
    return product[p]


def _gauss_newton_named(net, loss, definitions):
    """B^T Lambda B (W x W) in named form, B = d out/dw (K x W), Lambda_n = d^2 E_n / d out^2.

    Lambda is derived from the loss's row (I for sse, in a^(L) where the loss has a
    stable form there: the canonical pairs); the product is ``canonical.weighted_gram``
    (upper triangle, canonical products, zero factors skipped: SymPy's ``B.T * Lambda * B``
    took 111 s for [8,16,16,4]).
    """
    B, _ = param_jacobian_named(net, definitions, of=loss.jacobian_of)
    K, W = B.shape
    return weighted_gram([[B[k, p] for k in range(K)] for p in range(W)],
                         loss.gauss_newton_named(net))


def hessian(net, loss, approx=None, *, weight_decay=None):
    """The Hessian of the error, d^2 E / dw_p dw_q (W x W); evaluate sums over samples.

    Parameters
    ----------
    net : MLP
    loss : str or Loss
        A row of the loss table: ``"sse"``, ``"cross_entropy"``, ``"log_cosh"``, ``"huber"``
        or one added with ``symnet.register_loss``.
    approx : None or "gauss_newton"
        None for the exact Hessian; ``"gauss_newton"`` (alias ``"outer_product"``) for
        sum_n B_n^T Lambda_n B_n (see the module docstring).
    weight_decay : float, optional
        lam >= 0 of E = sum_n E_n + lam/2 ||w||^2, which adds lam I (default 0, or the
        Loss's own).

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
    if approx not in (None, "gauss_newton", "outer_product"):
        raise SymnetError(f"approx must be None or 'gauss_newton'; got {approx!r}")
    if layered.is_layered(net):  # a Network or RNN: derived over its graph of named units
        if approx is None:       # the gradient's named form differentiated
            return layered.hessian(net, loss, weight_decay=weight_decay)
        return layered_curvature.gauss_newton(net, loss, weight_decay=weight_decay)
    loss = get_loss(loss, net, weight_decay)
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
