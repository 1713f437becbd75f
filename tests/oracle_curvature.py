"""Independent references for the curvature of layered networks.  Does NOT import symnet.

Built on tests/oracle.py's plain NumPy forwards (conv loops, the Elman loop) and its
complex-step columns. Written by hand here:

* the loss's output Hessian Lambda_n = d^2 E_n / d out^2 and r = dE_n / d out, where
  out = a^(L) for cross-entropy (sigmoid or softmax: the canonical pairs) and out = y for
  the others (sse, log_cosh, huber);
* the Gauss-Newton matrix sum_n J_n^T Lambda_n J_n with J = d out / dw by complex step;
* the residual term sum_n sum_k r_nk d^2 out_nk / dw dw, the second derivatives by central
  differences of the complex-step J;
* H v as the central difference of the complex-step gradient along v.

The output pre-activations a^(L) are the same network with a linear output layer (every
output layer here is affine, then its activation), so ``out`` is an oracle forward too.
"""
import numpy as np

import oracle


# ------------------------------------------------ the loss's side, written out by hand
def output_hessian(kind, output_act, Y, T):
    """Lambda_n (N, K, K), by hand.

    sse: I.  log_cosh: diag(1 / cosh^2 (y - t)).  huber: diag([|y - t| <= 1]).
    cross_entropy, sigmoid: E_n = sum_k t softplus(-a) + (1 - t) softplus(a), so
        dE/da_k = y_k - t_k and d^2 E/da_k^2 = y_k (1 - y_k), diagonal.
    cross_entropy, softmax: E_n = -sum_k t_k log y_k = (sum_m t_m) logsumexp(a) - t.a, so
        dE/da_k = y_k sum t - t_k and d^2 E/da_k da_m = (sum t) (y_k delta_km - y_k y_m).
    """
    Y, T = np.atleast_2d(Y), np.atleast_2d(T)
    K = Y.shape[1]
    if kind == "cross_entropy" and output_act == "softmax":
        total = T.sum(axis=1)[:, None, None]
        return total * (np.einsum("nk,km->nkm", Y, np.eye(K)) - np.einsum("nk,nm->nkm", Y, Y))
    if kind == "cross_entropy" and output_act == "sigmoid":
        diagonal = Y * (1 - Y)
    else:
        diagonal = oracle.per_output_curvature(kind, Y, T)
    return np.einsum("nk,km->nkm", diagonal, np.eye(K))


def output_residual(kind, output_act, Y, T):
    """r_nk = dE_n / d out_k (N, K), by hand (see ``output_hessian``).

    sse: y - t.  log_cosh: tanh(y - t).  huber: y - t clipped to [-1, 1].
    cross_entropy: y - t (sigmoid); y sum t - t (softmax).
    """
    Y, T = np.atleast_2d(Y), np.atleast_2d(T)
    if kind == "cross_entropy" and output_act == "softmax":
        return Y * T.sum(axis=1, keepdims=True) - T
    if kind in ("sse", "cross_entropy"):
        return Y - T
    if kind == "log_cosh":
        return np.tanh(Y - T)
    if kind == "huber":
        return np.clip(Y - T, -1.0, 1.0)
    raise ValueError(f"oracle_curvature: no residual for {kind!r}")


# ------------------------------------------------------------ the network's side
def gauss_newton(out, X, w, weights):
    """sum_n J_n^T Lambda_n J_n (W, W); J = d out / dw (N, K, W) by complex step of ``out``."""
    J = oracle.model_param_jacobian(out, X, w)
    return np.einsum("nkp,nkm,nmq->pq", J, weights, J)


def residual_term(out, X, w, r, step=1e-5):
    """sum_n sum_k r_nk d^2 out_nk / dw_p dw_q (W, W): central differences in w_q of the
    complex-step J (truncation step^2 |J'''| / 6, rounding eps |J| / step: ~1e-10)."""
    second = oracle._fd_columns(lambda v: oracle.model_param_jacobian(out, X, v), w, step)
    return np.einsum("nk,nkpq->pq", r, second)              # second[n, k, p, q]


def hessian_vector(gradient, w, v, step=1e-5):
    """(g(w + step v) - g(w - step v)) / (2 step): H v to O(step^2), g the oracle gradient."""
    v = np.asarray(v, dtype=float)
    return (gradient(w + step * v) - gradient(w - step * v)) / (2 * step)
