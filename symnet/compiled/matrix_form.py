"""Numeric evaluation of the layer-by-layer (matrix) form of every derivation.

Each function here is the matrix form of a recursion derived in
``symnet.derive.first_order`` and ``symnet.hessian``, run on all N samples at once:
rows of ``A[l]`` are samples, so a layer is one matrix product and the only
Python loop is over layers. The activations' h'(a) and h''(a) are the SymPy
derivatives lambdified to NumPy in stable form (``symnet.graph.rewriting``), reusing
z = h(a) where that keeps every digit (sigma'(a) = z sigma(-a), tanh''(a) =
-2 z sech^2(a)); the loss's deltas and curvatures come from the output
pre-activations (``symnet.graph.losses``), so nothing is formed as 1 - (rounded y).

Each recursion is written once here: one forward pass (``MLP.forward_layers``), one
backward pass (``backward``: the deltas and the sensitivities dy/da are it, seeded
differently), one R-operator (``hessian_vector_values``, for one direction or many).

Shapes: X (N, D); A[l], Z[l] (N, n_l); deltas (N, n_l); sensitivities
G[l][n, k, j] = dy_k/da_j^(l) (N, K, n_l); directional (R-operator) tensors
(N, n_l) for one direction, (P, N, n_l) for P directions (the direction axis first,
as in the stacks of ``MLP.forward_layers``).

Array libraries: every function runs on the library of its inputs (``xp``, from
``symnet.compiled.backends.ops_for``): NumPy arrays as they are; JAX arrays (traced
under ``jax.jit``) with the per-layer pieces printed from the same SymPy rules for
``jax.numpy``. Only writes into a preallocated result are NumPy's own (JAX arrays are
immutable): elsewhere the blocks are joined with ``xp.concatenate``.
"""

import numpy as np

from .._size import CHUNK_ELEMENTS
from .._validate import FLOAT_MAX, check_finite_result

from .backends import NUMPY, ops_for

__all__ = [
    "forward_pass", "layer_derivatives", "backward", "output_block", "output_curvature",
    "error_value", "gradient_values", "gradient_from_deltas", "sensitivities",
    "input_jacobian_values", "param_jacobian_values", "checked_param_jacobian_values",
    "hessian_vector_values",
    "residual_values", "gauss_newton_values",
]

_CHUNK_ELEMENTS = CHUNK_ELEMENTS  # directional tensors are cut into sample chunks of this many floats


def forward_pass(net, X, w):
    """Pre-activations A[l] and values Z[l] for l = 0..L (A[0] is None, Z[0] = X): the network's one forward pass."""
    ops = ops_for(X)
    return net.forward_layers(X, w) if ops is NUMPY else net.forward_layers(
        X, w, activate=ops.activate(net))


def layer_derivatives(net, A, Z, second=False):
    """h_l'(A[l]) (and h_l''(A[l])) for every elementwise layer; None for softmax."""
    ops = ops_for(Z[0])
    first, seconds = [None], [None]
    for l, act in enumerate(net.activations, start=1):
        if not act.elementwise:
            first.append(None)
            seconds.append(None)
            continue
        first.append(ops.slope(act, A[l], Z[l]))
        seconds.append(ops.curvature(act, A[l], Z[l], first[-1]) if second else None)
    return first, seconds


def error_value(net, loss, X, w, T):
    """E = sum_n E_n (+ lam/2 ||w||^2 with the loss's weight decay), in the loss's stable form."""
    A, Z = forward_pass(net, X, w)
    value = loss.value(A[-1], Z[-1], T, w)
    return complex(value) if np.iscomplexobj(value) else float(value)


def _along(slope, like):
    """h'(a) (N, n) broadcast against ``like``: (N, n), or (N, P, n) with a second axis."""
    return slope if like.ndim == 2 else slope[:, None, :]


def backward(net, top, dh, w, start=None):
    """U[l] = h'(a^(l)) * (U[l+1] W^(l+1)) for l = L-1..1 from U[L] = top: the one backward pass.

    ``top`` is (N, n_L), or (N, K, n_L) for K recursions at once (one per output k:
    the sensitivities); rows are samples.

    >>> import symnet
    >>> net = symnet.MLP([1, 2, 1], hidden="tanh")            # W^(2) = [2, -3]
    >>> w = np.array([1.0, 1.0, 0.0, 0.0, 2.0, -3.0, 0.0])
    >>> A, Z = forward_pass(net, np.array([[0.0]]), w)       # a^(1) = 0: tanh'(0) = 1
    >>> dh, _ = layer_derivatives(net, A, Z)
    >>> backward(net, np.array([[1.0]]), dh, w)[1]          # 1 * (1 * W^(2))
    array([[ 2., -3.]])
    """
    L = net.n_layers
    ops = ops_for(top)
    start = L if start is None else start   # U[start] = top (sensitivities start one lower)
    U = [None] * (L + 1)
    U[start] = top
    for l in range(start - 1, 0, -1):
        W_next, _ = net._layer_arrays(w, l + 1)
        # the product is a new array: h'(a) scales it in place on NumPy
        U[l] = ops.times(ops.matmul(U[l + 1], W_next), _along(dh[l], top))
    return U


def _deltas(net, loss, A, Z, T, dh, w):
    """delta^(l) for l = 1..L: the loss's delta^(L), then delta^(l) = h'(a^(l)) * (delta^(l+1) W^(l+1))."""
    L = net.n_layers
    return backward(net, ops_for(Z[0]).loss_delta(loss, A[L], Z[L], T, dh[L]), dh, w)


def gradient_values(net, loss, X, w, T):
    """dE/dw (W,), summed over samples: dE/dW^(l) = delta^(l)T Z^(l-1), dE/db^(l) = sum_n delta^(l)."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    gradient = gradient_from_deltas(net, _deltas(net, loss, A, Z, T, dh, w), Z)
    if loss.weight_decay:  # E = sum_n E_n + lam/2 ||w||^2
        gradient += loss.weight_decay * w
    return gradient


def gradient_from_deltas(net, deltas, Z):
    """Assemble dE/dw (W,) from per-sample deltas: dE/dW^(l) = delta^(l)T Z^(l-1), dE/db^(l) = sum_n delta^(l)."""
    ops = ops_for(Z[0])
    blocks = []  # in net.params order: layer by layer, weights row-major, then biases
    for l in range(1, net.n_layers + 1):
        blocks += [(deltas[l].T @ Z[l - 1]).ravel(), ops.sample_sum(deltas[l])]
    xp = ops.xp
    return xp.concatenate(blocks)


def output_block(net, A, Y, dh, of="y"):
    """d(out)_k/da_m^(L) (N, K, K) at the output layer: out = y, or a^(L) (the identity).

    y: diag h'(a) for elementwise outputs, the softmax Jacobian y_k (delta_km - y_m)
    otherwise (``symnet.graph.output_kernels``: derived from softmax's rule, its diagonal's
    1 - y_k summed from the other outputs, exact to rounding even when y_k ~ 1). A, Y, dh
    are (N, K).
    """
    N, K = Y.shape
    ops = ops_for(Y)
    if of == "a":
        return ops.xp.broadcast_to(ops.xp.eye(K), (N, K, K))
    if net.activations[-1].elementwise:
        return dh[:, :, None] * ops.xp.eye(K)
    return ops.softmax_jacobian(Y)


def output_curvature(net, Y, d2h, of="y"):
    """d^2 out_k / da_m^(L) da_p^(L) (N, K, K, K): the output map's second-order block.

    out = a^(L): 0. Elementwise outputs: h''(a_k) where k = m = p, else 0. Softmax: the
    second derivatives of the SymPy softmax, derived from its rule
    (``symnet.graph.output_kernels``), S_kp (delta_km - y_m) - y_k S_mp with S the Jacobian.
    """
    N, K = Y.shape
    ops = ops_for(Y)
    if of == "a":
        return ops.xp.zeros((N, K, K, K))
    if net.activations[-1].elementwise:
        # h''(a_k) times the tensor [k = m = p], made from eye: a product, not a write
        # into zeros, so that it runs on immutable (JAX) arrays as well
        eye = ops.xp.eye(K)
        return d2h[:, :, None, None] * (eye[:, :, None] * eye[None, :, :])
    return ops.softmax_curvature(Y)


def sensitivities(net, A, Z, dh, w, of="y"):
    """G[l] = d out_k / da_j^(l) (N, K, n_l): the output block, then G[l] = h'(a^(l)) * (G[l+1] W^(l+1)).

    Where the output block is diagonal (out = a^(L), or an elementwise output layer),
    the first step diag(d) W^(L) is d[:, :, None] * W^(L): a broadcast, not N products of
    K x K blocks (3x faster on JAX for K = 2).
    """
    L = net.n_layers
    top = output_block(net, A[L], Z[L], dh[L], of)
    if L == 1 or not (of == "a" or net.activations[-1].elementwise):
        return backward(net, top, dh, w)
    W_last, _ = net._layer_arrays(w, L)
    if of == "a":   # W_last is a view of w: never written into
        first = dh[L - 1][:, None, :] * W_last[None, :, :]
    else:
        first = ops_for(top).times(dh[L][:, :, None] * W_last, dh[L - 1][:, None, :])
    G = backward(net, first, dh, w, start=L - 1)
    G[L] = top
    return G


def input_jacobian_values(net, X, w):
    """J (N, K, D) with J[n, k, i] = dy_k/dx_i = sum_j dy_k/da_j^(1) w_ji^(1)."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    G = sensitivities(net, A, Z, dh, w)
    W1, _ = net._layer_arrays(w, 1)
    return ops_for(X).matmul(G[1], W1)


def param_jacobian_values(net, X, w, of="y"):
    """(N, K, W): [n, k, p] = d y_k(x_n)/d w_p; columns in ``net.params`` order.

    dy_k/dw_ji^(l) = (dy_k/da_j^(l)) z_i^(l-1) and dy_k/db_j^(l) = dy_k/da_j^(l).
    """
    return _param_jacobian(net, X, w, of)[0]


def checked_param_jacobian_values(net, X, w, what):
    """``param_jacobian_values``, with a float64 overflow of an entry refused as ``what``.

    Every entry is dy_k/da_j^(l) z_i^(l-1) or dy_k/db_j^(l): finite factors whose largest
    magnitudes multiply to a finite number prove the whole (N, K, W) result finite, so it
    is read again only when that bound fails (the result is N K W floats; the factors
    N K n_l and N n_l). A pass over the result cost 16% of its evaluation.
    """
    jacobian, G, Z = _param_jacobian(net, X, w, "y")
    if not isinstance(jacobian, np.ndarray):   # JAX checks its result in the compiled call
        return jacobian
    if not _products_are_finite(net, G, Z):
        check_finite_result(what, jacobian)
    return jacobian


def _largest_magnitude(values):
    """max |values| without a temporary of values' size (NaN where values has a NaN)."""
    return max(float(np.max(values)), -float(np.min(values))) if values.size else 0.0


def _products_are_finite(net, G, Z):
    if any(np.iscomplexobj(values) for values in G[1:] + Z):
        return False   # complex magnitudes are not max and min: the result is read instead
    for l in range(1, net.n_layers + 1):   # Python floats: a product past 1.8e308 is inf
        g, z = _largest_magnitude(G[l]), _largest_magnitude(Z[l - 1])
        if not (g * max(z, 1.0) < FLOAT_MAX):   # NaN and inf fail too
            return False
    return True


def _param_jacobian(net, X, w, of):
    """(the parameter Jacobian, its factors G and Z)."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    G = sensitivities(net, A, Z, dh, w, of)
    N, K = X.shape[0], net.sizes[-1]
    xp = ops_for(X).xp
    if xp is not np:  # immutable arrays: the same blocks, joined
        return xp.concatenate([block for l in range(1, net.n_layers + 1) for block in (
            xp.reshape(G[l][:, :, :, None] * Z[l - 1][:, None, None, :], (N, K, -1)), G[l])],
            axis=-1), G, Z
    jacobian = np.empty((N, K, net.n_params))
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        # Write the outer products straight into the result (a view), not via a temporary.
        block = jacobian[:, :, w_cols].reshape(N, K, net.sizes[l], net.sizes[l - 1])
        with np.errstate(over="ignore"):   # an overflow is refused by name, by the caller
            np.multiply(G[l][:, :, :, None], Z[l - 1][:, None, None, :], out=block)
        jacobian[:, :, b_cols] = G[l]
    return jacobian, G, Z


def _split_directions(net, V):
    """Per layer, the weight part (..., n_l, n_{l-1}) and bias part (..., 1, n_l) of V."""
    stack = V.shape[1:]  # () for one direction, (P,) for P
    parts = [None]
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        # .T moves the direction axis of (n, P) first and leaves one direction (n,) as it is.
        weights = V[w_cols].T.reshape(stack + (net.sizes[l], net.sizes[l - 1]))
        parts.append((weights, V[b_cols].T[..., None, :]))
    return parts


def _loss_r_delta(loss, A, Y, T, dh, d2h, RA):
    """R{delta^(L)} (..., N, K) from the loss, whose interface takes and gives (N, P, K)."""
    ops = ops_for(Y)
    if RA.ndim == 2:
        return ops.loss_r_delta(loss, A, Y, T, dh, d2h, RA[:, None, :])[:, 0, :]
    return ops.xp.swapaxes(ops.loss_r_delta(loss, A, Y, T, dh, d2h, ops.xp.swapaxes(RA, 0, 1)),
                           0, 1)


def _hessian_vector_chunk(net, loss, X, w, T, V):
    """Pearlmutter's R-operator: sum_n H_n V on one chunk of samples, V (W,) or (W, P).

    R-terms are (N, n_l) for one direction and (P, N, n_l) for P, the direction axis
    first like the stacks of ``MLP.forward_layers``: every line below is the same
    matrix product for both (NumPy broadcasts over the leading axis), so one product
    costs a few gradients and V = I gives the whole Hessian.
    """
    L = net.n_layers
    A, Z = forward_pass(net, X, w)
    dh, d2h = layer_derivatives(net, A, Z, second=True)
    deltas = _deltas(net, loss, A, Z, T, dh, w)
    directions = _split_directions(net, V)
    weights = [None] + [net._layer_arrays(w, l)[0] for l in range(1, L + 1)]
    # Forward: R{a^(l)} = R{z^(l-1)} W^(l)T + z^(l-1) V_W^(l)T + V_b^(l);  R{z} = h'(a) R{a}.
    RA, RZ = [None] * (L + 1), [None] * (L + 1)  # R{z^(0)} = R{x} = 0: no term at l = 1
    for l in range(1, L + 1):
        VW, Vb = directions[l]
        RA[l] = Z[l - 1] @ VW.swapaxes(-1, -2) + Vb
        if l > 1:
            RA[l] += RZ[l - 1] @ weights[l].T
        if l < L:
            RZ[l] = dh[l] * RA[l]
    # Backward: R{delta^(L)} from the loss, then
    # R{delta^(l)} = h''(a) R{a} (delta^(l+1) W) + h'(a) (R{delta^(l+1)} W + delta^(l+1) V_W).
    RD = [None] * (L + 1)
    RD[L] = _loss_r_delta(loss, A[L], Z[L], T, dh[L], d2h[L], RA[L])
    ops = ops_for(X)   # on NumPy each product below is written into a new array, in place
    for l in range(L - 1, 0, -1):
        VW_next, _ = directions[l + 1]
        curved = ops.times(ops.times(deltas[l + 1] @ weights[l + 1], d2h[l]), RA[l])
        carried = ops.plus(ops.matmul(RD[l + 1], weights[l + 1]), deltas[l + 1] @ VW_next)
        RD[l] = ops.plus(ops.times(carried, dh[l]), curved)
    # R{dE/dW^(l)} = sum_n R{delta} z^T + delta R{z}^T;  R{dE/db^(l)} = sum_n R{delta}.
    stack, xp = V.shape[1:], ops_for(X).xp
    blocks = []  # in net.params order, each (n, ) or (n, P)
    for l in range(1, L + 1):
        block = RD[l].swapaxes(-1, -2) @ Z[l - 1]  # (..., n_l, n_{l-1})
        if l > 1:
            block = block + deltas[l].T @ RZ[l - 1]
        # back to (W,) or (W, P): .T moves the direction axis last (nothing for one direction)
        blocks += [block.reshape(stack + (-1,)).T, ops.sample_sum(RD[l]).T]
    return xp.concatenate(blocks, axis=0)


def sample_chunks(net, n_samples, n_directions, max_chunks=None):
    """Slices of the samples, each chunk's per-layer tensors (max n_l * n_directions floats
    per sample) about ``CHUNK_ELEMENTS`` floats in all (at most ``max_chunks`` chunks).

    >>> import symnet
    >>> sample_chunks(symnet.MLP([1, 1]), 3, 1)
    [slice(0, 3, None)]
    """
    width = max(net.sizes) * max(n_directions, 1)
    size = max(1, _CHUNK_ELEMENTS // width)
    if max_chunks:  # under jax.jit the loop is unrolled: at most max_chunks (larger) chunks
        size = max(size, -(-n_samples // max_chunks))
    return [slice(start, min(start + size, n_samples)) for start in range(0, n_samples, size)]


def hessian_vector_values(net, loss, X, w, T, V):
    """sum_n H_n V, (W,) for one direction V (W,) or (W, P) for P; O(W) per sample and direction.

    The one matrix-level R-operator (no H is formed): ``hessian`` evaluates it with
    V = I, ``hessian_vector_product`` along v, the residual term on the pseudo-error.
    """
    ops = ops_for(X)
    total = ops.xp.zeros(V.shape)
    for part in sample_chunks(net, X.shape[0], V.shape[1] if V.ndim == 2 else 1, ops.max_chunks):
        total += _hessian_vector_chunk(net, loss, X[part], w, T[part], V)
    if loss.weight_decay:  # the Hessian of lam/2 ||w||^2 is lam I
        total += loss.weight_decay * V
    return total


class _ResidualPseudoLoss:
    """The pseudo-error sum_k r_k out_k, r = dE_n/dout held fixed, in the engine's loss interface.

    Its output 'delta' is s_m^(L) = sum_k r_k d out_k / d a_m^(L) (the output block
    contracted with r) and R{s_m^(L)} = sum_k r_k sum_p d^2 out_k / d a_m d a_p R{a_p}
    (the output map's second-order block; 0 for out = a^(L)), so the engine's one
    R-operator gives the residual term (``symnet.derive.curvature_terms``).

    Written once for every array library: r is the loss's own ``residual`` kernel, taken
    through the ops of the inputs' library (``ops.loss_residual``), the output blocks are
    the engine's, and the contractions that library's einsum.
    """

    weight_decay = 0.0  # the residual term has none: lam I is all in the Gauss-Newton term

    def __init__(self, net, loss):
        self.net, self.loss = net, loss

    def delta(self, A, Y, T, dh):
        ops = ops_for(Y)
        r = ops.loss_residual(self.loss, A, Y, T)  # y - t (sse), delta^(L) (cross-entropy)
        block = output_block(self.net, A, Y, dh, self.loss.jacobian_of)
        return ops.xp.einsum("nk,nkm->nm", r, block)

    def r_delta(self, A, Y, T, dh, d2h, RA):
        ops = ops_for(Y)
        r = ops.loss_residual(self.loss, A, Y, T)
        second = output_curvature(self.net, Y, d2h, self.loss.jacobian_of)
        return ops.xp.einsum("nmp,nqp->nqm", ops.xp.einsum("nk,nkmp->nmp", r, second), RA)


def residual_values(net, loss, X, w, T):
    """sum_n sum_k r_nk d^2 out_nk / dw dw (W, W): the R-operator on the pseudo-error, V = I.

    >>> import symnet
    >>> from symnet.graph.losses import get_loss
    >>> net = symnet.MLP([1, 1], output="softplus")   # y = softplus(a), a = w x + b
    >>> # x = 2, w = b = 0, t = 0: r = y - t = log 2, and d^2 y/d(w, b)^2 = softplus''(0)
    >>> # [[x^2, x], [x, 1]] with softplus''(0) = sigma(0) sigma(0) = 1/4
    >>> R = residual_values(net, get_loss("sse", net), np.array([[2.0]]), np.zeros(2),
    ...                     np.array([[0.0]]))
    >>> R / np.log(2)
    array([[1.  , 0.5 ],
           [0.5 , 0.25]])
    """
    return hessian_vector_values(net, _ResidualPseudoLoss(net, loss), X, w, T,
                                 np.eye(net.n_params))


def _augmented_order(net):
    """Where each parameter stands when every layer's columns are (unit j, input i or bias).

    Layer l's parameters read as an n_l x (n_{l-1} + 1) array: row j is w_j1..w_jn and
    then b_j (the bias is the weight of a constant input 1). ``net.params`` lists the
    weights row-major and then the biases; the result p gives for each augmented
    position the parameter's index in ``net.params``.

    >>> import symnet
    >>> _augmented_order(symnet.MLP([2, 1, 1])).tolist()   # w11 w12 b1 | w11 b1 of layer 2
    [0, 1, 2, 3, 4]
    >>> _augmented_order(symnet.MLP([1, 2, 1])).tolist()   # layer 1: w11 b1 w21 b2
    [0, 2, 1, 3, 4, 5, 6]
    """
    order = []
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        weights = np.arange(w_cols.start, w_cols.stop).reshape(net.sizes[l], net.sizes[l - 1])
        biases = np.arange(b_cols.start, b_cols.stop)[:, None]
        order.append(np.hstack([weights, biases]).ravel())
    return np.concatenate(order)


def _gauss_newton_chunk(net, loss, X, w, T):
    """sum_n B_n^T Lambda_n B_n on one chunk, by the Kronecker structure of B (exact).

    With z~ = (z^(l-1), 1) and G_l = d out/da^(l) (K x n_l), the columns of B_n for
    layer l are dB_k/dw_ji = G_l[k, j] z~_i: an outer product. So the block of layers
    (l, m) is

        sum_n (G_l^T Lambda_n G_m)[j, j'] z~_i z~'_i' = P^T Q,

    one matrix product over the samples of P_n = G_l^T Lambda_n G_m (n_l x n_m) and
    Q_n = z~ z~'^T: 2 N W_l W_m operations, where forming B and B^T Lambda B takes
    2 N K W_l W_m (K times as many).
    """
    xp = ops_for(X).xp
    L = net.n_layers
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    G = sensitivities(net, A, Z, dh, w, loss.jacobian_of)         # G[l] (n, K, n_l)
    weights = ops_for(X).loss_weights(loss, Z[-1], T, A[-1])      # Lambda (n, K, K)
    n = X.shape[0]
    inputs = [None] + [xp.concatenate([Z[l - 1], xp.ones((n, 1))], axis=1)
                       for l in range(1, L + 1)]                   # z~ feeding layer l
    blocks = {}
    for l in range(1, L + 1):
        left = xp.swapaxes(G[l], 1, 2) @ weights                  # G_l^T Lambda (n, n_l, K)
        for m in range(l, L + 1):  # the blocks below the diagonal are these transposed
            P = (left @ G[m]).reshape(n, -1)                        # (n, n_l n_m)
            Q = (inputs[l][:, :, None] * inputs[m][:, None, :]).reshape(n, -1)
            block = (P.T @ Q).reshape(net.sizes[l], net.sizes[m], net.sizes[l - 1] + 1,
                                      net.sizes[m - 1] + 1)
            block = xp.reshape(xp.transpose(block, (0, 2, 1, 3)),
                               (net.sizes[l] * (net.sizes[l - 1] + 1), -1))
            blocks[l, m] = (block + block.T) / 2 if m == l else block
    return xp.concatenate([xp.concatenate([blocks[l, m] if l <= m else blocks[m, l].T
                                           for m in range(1, L + 1)], axis=1)
                           for l in range(1, L + 1)], axis=0)       # in augmented order


def gauss_newton_values(net, loss, X, w, T):
    """sum_n B_n^T Lambda_n B_n (W, W); B = dy/dw for sse, da^(L)/dw for cross-entropy.

    Computed block by block from the Kronecker structure of B (``_gauss_newton_chunk``),
    in chunks of samples, then put in ``net.params`` order.
    """
    ops = ops_for(X)
    W = net.n_params
    total = ops.xp.zeros((W, W))
    pairs = [(a, b) for a in net.sizes[1:] for b in net.sizes[1:]]
    inputs = [n + 1 for n in net.sizes[:-1]]
    width = max(a * b for a, b in pairs) + max(a * b for a in inputs for b in inputs) \
        + net.sizes[-1] * sum(net.sizes[1:])
    for part in sample_chunks(net, X.shape[0], max(1, width // max(net.sizes)), ops.max_chunks):
        total += _gauss_newton_chunk(net, loss, X[part], w, T[part])
    order = np.argsort(_augmented_order(net))      # params order -> augmented position
    total = total[order][:, order]
    if loss.weight_decay:  # lam/2 ||w||^2 is quadratic: its Gauss-Newton term is lam I
        total += loss.weight_decay * ops.xp.eye(W)
    return total
