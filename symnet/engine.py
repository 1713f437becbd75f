"""Numeric evaluation of the layer-by-layer (matrix) form of every derivation.

Each function here is the matrix form of a recursion derived in
``symnet.backprop`` and ``symnet.hessian``, run on all N samples at once:
rows of ``A[l]`` are samples, so a layer is one matrix product and the only
Python loop is over layers. The activations' h'(a) and h''(a) are the SymPy
derivatives lambdified to NumPy in stable form (``symnet.rewriting``), reusing
z = h(a) where that keeps every digit (sigma'(a) = z sigma(-a), tanh''(a) =
-2 z sech^2(a)); the loss's deltas and curvatures come from the output
pre-activations (``symnet.losses``), so nothing is formed as 1 - (rounded y).

Shapes: X (N, D); A[l], Z[l] (N, n_l); deltas (N, n_l); sensitivities
G[l][n, k, j] = dy_k/da_j^(l) (N, K, n_l); directional (R-operator) tensors
(N, P, n_l) for P directions.
"""

import numpy as np

from .numerics import softmax_jacobian

__all__ = [
    "forward_pass", "layer_derivatives", "error_value", "gradient_values", "gradient_from_deltas",
    "sensitivities", "input_jacobian_values", "param_jacobian_values",
    "hessian_vector_values", "gauss_newton_values",
]

_CHUNK_ELEMENTS = 4_000_000  # directional tensors are cut into sample chunks of this many floats


def forward_pass(net, X, w):
    """Pre-activations A[l] and values Z[l] for l = 0..L (A[0] is None, Z[0] = X): the network's one forward pass."""
    return net.forward_layers(X, w)


def layer_derivatives(net, A, Z, second=False):
    """h_l'(A[l]) (and h_l''(A[l])) for every elementwise layer; None for softmax."""
    first, seconds = [None], [None]
    for l, act in enumerate(net.activations, start=1):
        if not act.elementwise:
            first.append(None)
            seconds.append(None)
            continue
        first.append(act.derivative_numpy_az(A[l], Z[l]))
        seconds.append(act.second_derivative_numpy_az(A[l], Z[l]) if second else None)
    return first, seconds


def error_value(net, loss, X, w, T):
    """E = sum_n E_n, in the loss's stable form."""
    A, Z = forward_pass(net, X, w)
    value = loss.value(A[-1], Z[-1], T)
    return complex(value) if np.iscomplexobj(value) else float(value)


def _deltas(net, loss, A, Z, T, dh, w):
    """delta^(l) for l = 1..L: delta^(l) = h'(a^(l)) * (delta^(l+1) W^(l+1)) (rows are samples)."""
    L = net.n_layers
    deltas = [None] * (L + 1)
    deltas[L] = loss.delta(A[L], Z[L], T, dh[L])
    for l in range(L - 1, 0, -1):
        W_next, _ = net._layer_arrays(w, l + 1)
        deltas[l] = dh[l] * (deltas[l + 1] @ W_next)
    return deltas


def gradient_values(net, loss, X, w, T):
    """dE/dw (W,), summed over samples: dE/dW^(l) = delta^(l)T Z^(l-1), dE/db^(l) = sum_n delta^(l)."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    return gradient_from_deltas(net, _deltas(net, loss, A, Z, T, dh, w), Z)


def gradient_from_deltas(net, deltas, Z):
    """Assemble dE/dw (W,) from per-sample deltas: dE/dW^(l) = delta^(l)T Z^(l-1), dE/db^(l) = sum_n delta^(l)."""
    gradient = np.empty(net.n_params)
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        gradient[w_cols] = (deltas[l].T @ Z[l - 1]).ravel()
        gradient[b_cols] = deltas[l].sum(axis=0)
    return gradient


def _output_block(net, A, Z, dh, of):
    """d(out)_k/da_m^(L) (N, K, K): out = y (diag h' or the softmax Jacobian) or a^(L) (identity)."""
    L, K = net.n_layers, net.sizes[-1]
    N = A[L].shape[0]
    if of == "a":
        return np.broadcast_to(np.eye(K), (N, K, K))
    if net.activations[-1].elementwise:
        return dh[L][:, :, None] * np.eye(K)
    # y_k (delta_km - y_m), the diagonal's 1 - y_k summed from the other outputs: exact
    # to rounding even when y_k ~ 1, where 1 - y_k would cancel catastrophically.
    return softmax_jacobian(Z[L])


def sensitivities(net, A, Z, dh, w, of="y"):
    """G[l] = d out_k / da_j^(l) (N, K, n_l): G[l] = h'(a^(l)) * (G[l+1] W^(l+1))."""
    L = net.n_layers
    G = [None] * (L + 1)
    G[L] = _output_block(net, A, Z, dh, of)
    for l in range(L - 1, 0, -1):
        W_next, _ = net._layer_arrays(w, l + 1)
        G[l] = dh[l][:, None, :] * (G[l + 1] @ W_next)
    return G


def input_jacobian_values(net, X, w):
    """J (N, K, D) with J[n, k, i] = dy_k/dx_i = sum_j dy_k/da_j^(1) w_ji^(1)."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    G = sensitivities(net, A, Z, dh, w)
    W1, _ = net._layer_arrays(w, 1)
    return G[1] @ W1


def param_jacobian_values(net, X, w, of="y"):
    """(N, K, W): [n, k, p] = d y_k(x_n)/d w_p; columns in ``net.params`` order.

    dy_k/dw_ji^(l) = (dy_k/da_j^(l)) z_i^(l-1) and dy_k/db_j^(l) = dy_k/da_j^(l).
    """
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    G = sensitivities(net, A, Z, dh, w, of)
    N, K = X.shape[0], net.sizes[-1]
    jacobian = np.empty((N, K, net.n_params))
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        # Write the outer products straight into the result (a view), not via a temporary.
        block = jacobian[:, :, w_cols].reshape(N, K, net.sizes[l], net.sizes[l - 1])
        np.multiply(G[l][:, :, :, None], Z[l - 1][:, None, None, :], out=block)
        jacobian[:, :, b_cols] = G[l]
    return jacobian


def _split_directions(net, V):
    """Per layer, the weight part (P, n_l, n_{l-1}) and bias part (P, n_l) of directions V (W, P)."""
    P = V.shape[1]
    parts = [None]
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        parts.append((V[w_cols].T.reshape(P, net.sizes[l], net.sizes[l - 1]), V[b_cols].T))
    return parts


def _hessian_vector_chunk(net, loss, X, w, T, V):
    """Pearlmutter's R-operator: sum_n H_n V for directions V (W, P), on one chunk of samples."""
    L = net.n_layers
    A, Z = forward_pass(net, X, w)
    dh, d2h = layer_derivatives(net, A, Z, second=True)
    deltas = _deltas(net, loss, A, Z, T, dh, w)
    directions = _split_directions(net, V)
    weights = [None] + [net._layer_arrays(w, l)[0] for l in range(1, L + 1)]
    # Forward: R{a^(l)} = R{z^(l-1)} W^(l)T + z^(l-1) V_W^(l)T + V_b^(l);  R{z} = h'(a) R{a}.
    RA, RZ = [None] * (L + 1), [None] * (L + 1)
    RZ[0] = np.zeros((X.shape[0], V.shape[1], X.shape[1]))
    for l in range(1, L + 1):
        VW, Vb = directions[l]
        RA[l] = (RZ[l - 1] @ weights[l].T + np.tensordot(Z[l - 1], VW, axes=([1], [2]))
                 + Vb[None, :, :])
        if l < L:
            RZ[l] = dh[l][:, None, :] * RA[l]
    # Backward: R{delta^(L)} from the loss, then
    # R{delta^(l)} = h''(a) R{a} (delta^(l+1) W) + h'(a) (R{delta^(l+1)} W + delta^(l+1) V_W).
    RD = [None] * (L + 1)
    RD[L] = loss.r_delta(A[L], Z[L], T, dh[L], d2h[L], RA[L])
    for l in range(L - 1, 0, -1):
        VW_next, _ = directions[l + 1]
        back = deltas[l + 1] @ weights[l + 1]
        RD[l] = (d2h[l][:, None, :] * RA[l] * back[:, None, :]
                 + dh[l][:, None, :] * (RD[l + 1] @ weights[l + 1]
                                        + np.tensordot(deltas[l + 1], VW_next, axes=([1], [1]))))
    # R{dE/dW^(l)} = sum_n R{delta} z^T + delta R{z}^T;  R{dE/db^(l)} = sum_n R{delta}.
    result = np.empty((net.n_params, V.shape[1]))
    for l in range(1, L + 1):
        w_cols, b_cols = net.layer_slices(l)
        block = (np.tensordot(RD[l], Z[l - 1], axes=([0], [0]))
                 + np.tensordot(deltas[l], RZ[l - 1], axes=([0], [0])).transpose(1, 0, 2))
        result[w_cols] = block.reshape(V.shape[1], -1).T
        result[b_cols] = RD[l].sum(axis=0).T
    return result


def _chunks(net, n_samples, n_directions):
    width = max(net.sizes) * max(n_directions, 1)
    size = max(1, _CHUNK_ELEMENTS // width)
    return [slice(start, min(start + size, n_samples)) for start in range(0, n_samples, size)]


def hessian_vector_values(net, loss, X, w, T, V):
    """sum_n H_n V (W, P) for directions V (W, P), without forming H; O(W) per sample and direction."""
    total = np.zeros((net.n_params, V.shape[1]))
    for part in _chunks(net, X.shape[0], V.shape[1]):
        total += _hessian_vector_chunk(net, loss, X[part], w, T[part], V)
    return total


def gauss_newton_values(net, loss, X, w, T):
    """sum_n B_n^T Lambda_n B_n (W, W); B = dy/dw for sse, da^(L)/dw for cross-entropy."""
    total = np.zeros((net.n_params, net.n_params))
    for part in _chunks(net, X.shape[0], net.sizes[-1] * net.n_params // max(net.sizes)):
        B = param_jacobian_values(net, X[part], w, of=loss.jacobian_of)
        A, Z = forward_pass(net, X[part], w)
        weights = loss.gauss_newton_weights(Z[-1], T[part], A[-1])
        total += np.einsum("nkp,nkm,nmq->pq", B, weights, B, optimize=True)
    return total
