"""Independent NumPy reference for symnet's tests.  Does NOT import symnet.

Everything is written to be *complex-analytic* so that the complex-step method
    f'(x) ~= Im f(x + i h) / h        (h = 1e-30)
gives first derivatives to full float64 precision (no subtractive cancellation).
That is why: no abs()/conj(), ReLU branches on the real part only, and the
stable forms (sigmoid, softplus, softmax, log-sum-exp) are chosen so that exp()
only ever sees arguments with real part <= 0 (no overflow, no warnings).

Parameter layout (the spec's canonical order): for each layer l = 1..L the
weights W^(l) of shape (n_l, n_{l-1}) flattened row-major (w_11, w_12, ...,
w_1D, w_21, ...), then that layer's biases b_1..b_{n_l}.

Issue 14 adds, at the end: conv1d / conv2d (explicit loops; conv1d also by np.correlate),
the Elman RNN, networks from a plain spec list (dense, conv, residual, flatten), and the
complex-step / central-difference derivatives of any forward f(X, w) (model_* functions).
"""
import numpy as np

H_CS = 1e-30          # complex step; any tiny h works because nothing is subtracted
LEAKY_SLOPE = 0.01


# ---------------------------------------------------------------- parameters
def n_params(sizes):
    return sum(m * n + m for n, m in zip(sizes[:-1], sizes[1:]))


def unpack(sizes, w):
    """Flat w -> list of (W^(l), b^(l)) in the canonical order."""
    layers, pos = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        Wl = w[pos:pos + n_out * n_in].reshape(n_out, n_in)   # row-major: W[j-1, i-1] = w_ji
        pos += n_out * n_in
        bl = w[pos:pos + n_out]
        pos += n_out
        layers.append((Wl, bl))
    assert pos == len(w), "w has the wrong length for these sizes"
    return layers


def pack(layers):
    return np.concatenate([np.concatenate([Wl.ravel(), bl]) for Wl, bl in layers])


# --------------------------------------------------------------- activations
def _flip(a):
    """s = -|Re a| branch-wise (sign chosen on the real part), so exp(s) <= 1."""
    pos = a.real > 0
    return pos, np.where(pos, -a, a)


def _log1p(u):
    """log(1+u).  NumPy's complex log1p loses ~1e-7 relative accuracy for tiny u,
    so for complex u take log|1+u| + i arg(1+u) with a REAL log1p."""
    if not np.iscomplexobj(u):
        return np.log1p(u)
    ur, ui = u.real, u.imag
    return 0.5 * np.log1p(2 * ur + ur * ur + ui * ui) + 1j * np.arctan2(ui, 1 + ur)


def softplus(a):
    # log(1+e^a) = max(a,0) + log1p(e^{-|a|}); complex-safe branch on Re a.
    pos, s = _flip(a)
    return np.where(pos, a, 0) + _log1p(np.exp(s))


def sigmoid(a):
    # 1/(1+e^{-a}) for Re a > 0, e^a/(1+e^a) otherwise: never exp of a large positive.
    pos, s = _flip(a)
    e = np.exp(s)
    return np.where(pos, 1 / (1 + e), e / (1 + e))


def tanh(a):
    # tanh = (1-e^{-2a})/(1+e^{-2a}) for Re a > 0, mirrored otherwise.
    pos, s = _flip(a)
    em1 = np.expm1(2 * s)              # expm1: no cancellation for small |a|
    t = -em1 / (2 + em1)
    return np.where(pos, t, -t)


def relu(a):
    # Branch on Re a only, so the imaginary (derivative) part is carried as 1 or 0;
    # at exactly 0 the "else" branch is taken: derivative 0, the spec's convention.
    return np.where(a.real > 0, a, 0 * a)


def leaky_relu(a):
    return np.where(a.real > 0, a, LEAKY_SLOPE * a)     # slope s at a <= 0


def linear(a):
    return a


def log_softmax(a):
    # a_k - logsumexp(a), shifting by the max REAL part (the shift is a constant,
    # it does not change the value, and keeps the derivative part intact).
    m = a.real.max(axis=-1, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=-1, keepdims=True))


def softmax(a):
    return np.exp(log_softmax(a))


def elu(a):
    # ELU with alpha = 1: a for a > 0, e^a - 1 otherwise (branch on Re a); expm1 keeps the
    # digits near 0, and only the non-positive side is exponentiated (no overflow).
    pos = a.real > 0
    return np.where(pos, a, np.expm1(np.where(pos, 0 * a, a)))


def swish(a):
    return a * sigmoid(a)          # x sigma(x), the SiLU


ACTS = {"sigmoid": sigmoid, "tanh": tanh, "relu": relu, "leaky_relu": leaky_relu,
        "softplus": softplus, "linear": linear, "softmax": softmax,
        "elu": elu, "swish": swish}


def _hidden_list(sizes, hidden_acts):
    n_hidden = len(sizes) - 2
    if isinstance(hidden_acts, str):
        return [hidden_acts] * n_hidden
    assert len(hidden_acts) == n_hidden
    return list(hidden_acts)


# ------------------------------------------------------------------- forward
def preactivations(sizes, hidden_acts, output_act, X, w):
    """List of a^(l), l = 1..L, each (N, n_l).  Used e.g. to check ReLU kink margins."""
    acts = _hidden_list(sizes, hidden_acts) + [output_act]
    Z = np.atleast_2d(X)
    out = []
    for (Wl, bl), act in zip(unpack(sizes, w), acts):
        A = Z @ Wl.T + bl                  # a_j = sum_i w_ji z_i + b_j
        out.append(A)
        Z = ACTS[act](A)
    return out


def forward(sizes, hidden_acts, output_act, X, w):
    """y = z^(L), shape (N, K) for X of shape (N, D).  X and w may be complex."""
    a_L = preactivations(sizes, hidden_acts, output_act, X, w)[-1]
    return ACTS[output_act](a_L)


# ---------------------------------------------------------------------- loss
def loss(sizes, hidden_acts, output_act, X, w, T, kind):
    """E summed over samples.  Cross-entropy is computed from a^(L) (log-space),
    so it stays finite when y rounds to 0 or 1."""
    a_L = preactivations(sizes, hidden_acts, output_act, X, w)[-1]
    T = np.atleast_2d(T)
    if kind == "sse":
        Y = ACTS[output_act](a_L)
        return 0.5 * np.sum((Y - T) ** 2)          # no conj: must stay analytic
    if kind == "cross_entropy" and output_act == "sigmoid":
        # -[t log y + (1-t) log(1-y)], log y = -softplus(-a), log(1-y) = -softplus(a)
        return np.sum(T * softplus(-a_L) + (1 - T) * softplus(a_L))
    if kind == "cross_entropy" and output_act == "softmax":
        return -np.sum(T * log_softmax(a_L))
    if kind in PER_OUTPUT_LOSSES:
        Y = ACTS[output_act](a_L)
        return np.sum(PER_OUTPUT_LOSSES[kind](Y - T))
    raise ValueError(f"oracle: no loss {kind!r} for output {output_act!r}")


def log_cosh(x):
    """log cosh(x), analytic: log(cosh x) where |Re x| < 1 (cosh is near 1, its arg exact);
    |x| + log1p(e^{-2|x|}) - log 2 elsewhere, |x| taken as +-x by the sign of Re x, so
    exp never sees a positive real part (no overflow)."""
    _, s = _flip(x)               # s = -|x| branch-wise
    far = -s + _log1p(np.exp(2 * s)) - np.log(2.0)
    near = np.log(np.cosh(np.where(np.abs(x.real) < 1, x, 0 * x)))
    return np.where(np.abs(x.real) < 1, near, far)


def huber(x):
    """Huber with delta = 1: x^2/2 for |x| <= 1, |x| - 1/2 beyond (|x| as +-x, analytic
    in each branch, so complex steps away from |x| = 1 are exact)."""
    _, s = _flip(x)
    return np.where(np.abs(x.real) <= 1, x * x / 2, -s - 0.5)


PER_OUTPUT_LOSSES = {"log_cosh": log_cosh, "huber": huber}   # E_n = sum_k e(y_k - t_k)


def per_output_curvature(kind, Y, T):
    """d^2 E_n / dy_k^2 (the Gauss-Newton weight in y, diagonal), by hand:
    log cosh'' = 1 / cosh^2 = 1 - tanh^2; Huber'' = 1 inside |x| <= 1, 0 outside; sse 1."""
    x = np.asarray(Y - T, dtype=float)
    if kind == "log_cosh":
        return 1.0 / np.cosh(x) ** 2
    if kind == "huber":
        return (np.abs(x) <= 1).astype(float)
    if kind == "sse":
        return np.ones_like(x)
    raise ValueError(f"oracle: no per-output curvature for {kind!r}")


# ------------------------------------------------------ complex-step derivatives
def _cs_columns(f, v):
    """Stack Im f(v + i h e_j)/h over j (last axis): exact first derivatives."""
    v = np.asarray(v, dtype=float)
    cols = []
    for j in range(v.size):
        vc = v.astype(complex).ravel()
        vc[j] += 1j * H_CS
        cols.append(np.imag(f(vc.reshape(v.shape))) / H_CS)
    return np.stack(cols, axis=-1)


def _fd_columns(f, v, step):
    """Stack (f(v + step e_j) - f(v - step e_j)) / (2 step) over j (last axis): central
    differences, truncation O(step^2), rounding ~ eps |f| / step."""
    v = np.asarray(v, dtype=float)
    cols = []
    for j in range(v.size):
        e = np.zeros(v.size)
        e[j] = step
        e = e.reshape(v.shape)
        cols.append((f(v + e) - f(v - e)) / (2 * step))
    return np.stack(cols, axis=-1)


def grad(sizes, hidden_acts, output_act, X, w, T, kind):
    """dE/dw, shape (W,)."""
    return _cs_columns(lambda wc: loss(sizes, hidden_acts, output_act, X, wc, T, kind), w)


def param_jacobian(sizes, hidden_acts, output_act, X, w):
    """[n, k, j] = d y_k(x_n) / d w_j, shape (N, K, W)."""
    return _cs_columns(lambda wc: forward(sizes, hidden_acts, output_act, X, wc), w)


def preact_jacobian(sizes, hidden_acts, output_act, X, w):
    """[n, k, j] = d a_k^(L)(x_n) / d w_j  (the B_n of the generalised Gauss-Newton)."""
    return _cs_columns(
        lambda wc: preactivations(sizes, hidden_acts, output_act, X, wc)[-1], w)


def input_jacobian(sizes, hidden_acts, output_act, X, w):
    """[n, k, i] = d y_k / d x_i at x_n, shape (N, K, D).  Samples are independent,
    so perturbing x_i of every sample at once is still exact."""
    mlp = lambda Xc, wc: forward(sizes, hidden_acts, output_act, Xc, wc)   # noqa: E731
    return model_input_jacobian(mlp, X, w)


# ----------------------------------------------------------------- Hessians
def hessian_fd_grad(sizes, hidden_acts, output_act, X, w, T, kind, step=1e-5):
    """Central difference of the (exact) complex-step gradient, column by column.
    Truncation O(step^2 * g''') ~ 1e-10, rounding ~ eps*|g|/step ~ 1e-11: good
    to ~1e-8 relative.  NOT symmetrised, so symmetry is not built in."""
    return _fd_columns(lambda v: grad(sizes, hidden_acts, output_act, X, v, T, kind), w, step)


def hessian_fd_loss(sizes, hidden_acts, output_act, X, w, T, kind, step=1e-4):
    """Pure second-order central difference of E (no complex step at all):
    H_ij ~= [E(+h_i+h_j) - E(+h_i-h_j) - E(-h_i+h_j) + E(-h_i-h_j)] / (4 h^2).
    step ~ eps^(1/4): truncation and rounding both ~1e-8, good to ~1e-6."""
    w = np.asarray(w, dtype=float)
    E = lambda v: float(loss(sizes, hidden_acts, output_act, X, v, T, kind))
    W = w.size
    H = np.empty((W, W))
    I = np.eye(W) * step
    for i in range(W):
        for j in range(i, W):
            H[i, j] = H[j, i] = (E(w + I[i] + I[j]) - E(w + I[i] - I[j])
                                 - E(w - I[i] + I[j]) + E(w - I[i] - I[j])) / (4 * step ** 2)
    return H


def gauss_newton(sizes, hidden_acts, output_act, X, w, T, kind):
    """Oracle generalised Gauss-Newton built from complex-step Jacobians.
    sse: sum_n J_n^T J_n.  cross_entropy: sum_n B_n^T Lambda_n B_n with
    Lambda = diag y(1-y) (sigmoid) or (sum_k t_k)(diag y - y y^T) (softmax)."""
    if kind == "sse":
        J = param_jacobian(sizes, hidden_acts, output_act, X, w)
        return np.einsum("nkw,nkv->wv", J, J)
    B = preact_jacobian(sizes, hidden_acts, output_act, X, w)
    Y = forward(sizes, hidden_acts, output_act, X, w).real
    T = np.atleast_2d(T)
    if output_act == "sigmoid":
        Lam = np.einsum("nk,kl->nkl", Y * (1 - Y), np.eye(Y.shape[1]))
    else:
        Lam = T.sum(axis=1)[:, None, None] * (
            np.einsum("nk,kl->nkl", Y, np.eye(Y.shape[1])) - np.einsum("nk,nl->nkl", Y, Y))
    return np.einsum("nkw,nkl,nlv->wv", B, Lam, B)


# ============================================ issue 14: convolution, recurrence, residual
# Conventions (the issue's; PyTorch's where it has one).  One sample of shape (C, L) or
# (C, H, W) is flattened row-major; a kernel is (C_out, C_in, k[, k]) as Conv1d.weight /
# Conv2d.weight, applied as a correlation (not flipped).  The flat parameter vector goes
# layer by layer: Dense weights row-major (n_out, n_in) then biases; Conv kernel row-major
# then biases; a residual block's inner layers in order; RNN W_xh (H, D), W_hh (H, H), b_h,
# W_hy (K, H), b_y.  Every loop below is over output positions, so each entry is the
# index formula of the issue written out; no routine here is shared with symnet.
def same_padding(L, k, stride=1):
    """(left, right) zeros for padding="same", chosen so that L_out = ceil(L / stride):
    total = max((L_out - 1) stride + k - L, 0), left = total // 2, the rest on the right.
    For stride 1 the total is k - 1 and left = (k - 1) // 2: exactly PyTorch's
    Conv1d(padding="same") (torch/nn/modules/conv.py: total_padding = k - 1, left_pad =
    total_padding // 2, so an even k puts the extra zero on the right).  PyTorch refuses
    "same" for stride > 1; there this is TensorFlow's "SAME" (extra zero on the right)."""
    L_out = -(-L // stride)
    total = max((L_out - 1) * stride + k - L, 0)
    return total // 2, total - total // 2


def conv1d_out_len(L, k, stride=1, padding="valid"):
    """L_out: floor((L - k) / stride) + 1 for "valid", ceil(L / stride) for "same"."""
    if padding == "same":
        return -(-L // stride)
    if padding == "valid":
        if k > L:
            raise ValueError(f"oracle: kernel length {k} > input length {L}")
        return (L - k) // stride + 1
    raise ValueError(f"oracle: padding {padding!r}, expected 'valid' or 'same'")


def _padded(z, k, stride, padding):
    if padding == "valid":
        return z
    left, right = same_padding(z.shape[-1], k, stride)
    return np.pad(z, [(0, 0)] * (z.ndim - 1) + [(left, right)])


def conv1d(z, kernel, bias, stride=1, padding="valid"):
    """a[c, p] = sum_{c', m} kernel[c, c', m] z[c', p*stride + m] + bias[c], z (C_in, L) or
    batched (N, C_in, L) -> (C_out, L_out) or (N, C_out, L_out).  Loops over (c, p)."""
    z, kernel, bias = np.asarray(z), np.asarray(kernel), np.asarray(bias)
    C_out, C_in, k = kernel.shape
    if z.shape[-2] != C_in:
        raise ValueError(f"oracle: input has {z.shape[-2]} channels, kernel wants {C_in}")
    L_out = conv1d_out_len(z.shape[-1], k, stride, padding)
    zp = _padded(z, k, stride, padding)
    a = np.zeros(z.shape[:-2] + (C_out, L_out), dtype=np.result_type(z, kernel, bias))
    for c in range(C_out):
        for p in range(L_out):
            window = zp[..., :, p * stride:p * stride + k]          # (..., C_in, k)
            a[..., c, p] = np.sum(kernel[c] * window, axis=(-2, -1)) + bias[c]
    return a


def conv1d_correlate(z, kernel, bias, stride=1, padding="valid"):
    """conv1d by a second route: np.correlate for every (sample, c, c') pair, summed over
    c', then every stride-th entry.  np.correlate conjugates its second argument
    (c_k = sum_n a_{n+k} conj(v_n)), so the kernel goes in conjugated: conj(conj(w)) = w
    keeps the map analytic for complex steps."""
    z, kernel, bias = np.asarray(z), np.asarray(kernel), np.asarray(bias)
    Z = z if z.ndim == 3 else z[None]
    C_out, C_in, k = kernel.shape
    L_out = conv1d_out_len(Z.shape[-1], k, stride, padding)
    Zp = _padded(Z, k, stride, padding)
    a = np.zeros((Z.shape[0], C_out, L_out), dtype=np.result_type(z, kernel, bias))
    for n in range(Z.shape[0]):
        for c in range(C_out):
            full = sum(np.correlate(Zp[n, ci], np.conj(kernel[c, ci]), "valid")
                       for ci in range(C_in))
            a[n, c] = full[::stride][:L_out] + bias[c]
    return a if z.ndim == 3 else a[0]


def conv2d(z, kernel, bias):
    """a[c, i, j] = sum_{c', m, q} kernel[c, c', m, q] z[c', i + m, j + q] + bias[c] (valid,
    stride 1); z (C_in, H, W) or (N, C_in, H, W).  Loops over (c, i, j)."""
    z, kernel, bias = np.asarray(z), np.asarray(kernel), np.asarray(bias)
    C_out, C_in, kh, kw = kernel.shape
    H, W = z.shape[-2:]
    if z.shape[-3] != C_in or kh > H or kw > W:
        raise ValueError(f"oracle: input {z.shape[-3:]} does not fit kernel {kernel.shape}")
    a = np.zeros(z.shape[:-3] + (C_out, H - kh + 1, W - kw + 1),
                 dtype=np.result_type(z, kernel, bias))
    for c in range(C_out):
        for i in range(H - kh + 1):
            for j in range(W - kw + 1):
                window = z[..., :, i:i + kh, j:j + kw]               # (..., C_in, kh, kw)
                a[..., c, i, j] = np.sum(kernel[c] * window, axis=(-3, -2, -1)) + bias[c]
    return a


# ------------------------------------------------------------------- Elman RNN
def rnn_n_params(D, H, K):
    return H * D + H * H + H + K * H + K


def rnn_unpack(D, H, K, w):
    """Flat w -> (W_xh (H, D), W_hh (H, H), b_h (H,), W_hy (K, H), b_y (K,)), row-major."""
    shapes = [(H, D), (H, H), (H,), (K, H), (K,)]
    if len(w) != rnn_n_params(D, H, K):
        raise ValueError(f"oracle: w has {len(w)} entries, the RNN has {rnn_n_params(D, H, K)}")
    out, pos = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(w[pos:pos + size].reshape(shape))
        pos += size
    return tuple(out)


def elman_rnn(X, W_xh, W_hh, b_h, W_hy, b_y, hidden="tanh", output="linear", outputs="last"):
    """h_0 = 0, h_t = h(W_xh x_t + W_hh h_{t-1} + b_h), y_t = g(W_hy h_t + b_y) (softmax, if
    g, taken per step over the K outputs).  X (N, T*D) time-major (x_1 first); returns y_T
    (N, K) for outputs="last", y_1..y_T (N, T*K) time-major for "all"."""
    if outputs not in ("last", "all"):
        raise ValueError(f"oracle: outputs {outputs!r}, expected 'last' or 'all'")
    X = np.atleast_2d(X)
    H, D = W_xh.shape
    if X.shape[1] % D:
        raise ValueError(f"oracle: X has {X.shape[1]} columns, not a multiple of D = {D}")
    steps = X.shape[1] // D
    h = np.zeros((X.shape[0], H))
    ys = []
    for t in range(steps):
        x_t = X[:, t * D:(t + 1) * D]
        h = ACTS[hidden](x_t @ W_xh.T + h @ W_hh.T + b_h)
        if outputs == "all" or t == steps - 1:
            ys.append(ACTS[output](h @ W_hy.T + b_y))
    return ys[-1] if outputs == "last" else np.concatenate(ys, axis=1)


def rnn_forward(D, H, K, X, w, hidden="tanh", output="linear", outputs="last"):
    """elman_rnn with the parameters taken from the flat w (rnn_unpack's order)."""
    return elman_rnn(X, *rnn_unpack(D, H, K, w), hidden=hidden, output=output, outputs=outputs)


# ------------------------------------------------------ layered networks from a spec
# spec: a list of ("dense", units, act), ("conv1d", channels, k, act[, stride[, padding]]),
# ("conv2d", channels, (kh, kw) or k, act), ("residual", [inner specs]), ("flatten",).
# Dense flattens its input (row-major); softmax only as the last layer, over the whole
# flattened output.
def _run(shape, spec, Z, w, pos, pre, is_output):
    """Apply spec to Z (N, *shape) taking parameters from w[pos:]; Z None counts only.
    Returns (shape, Z, pos); appends every layer's pre-activation (N, -1) to pre."""
    for i, layer in enumerate(spec):
        kind = layer[0]
        if kind == "flatten":
            shape = (int(np.prod(shape)),)
            Z = None if Z is None else Z.reshape(Z.shape[0], -1)
            continue
        if kind == "residual":
            out_shape, F, pos = _run(shape, layer[1], Z, w, pos, pre, False)
            if out_shape != shape:
                raise ValueError(f"oracle: residual F maps {shape} to {out_shape}")
            Z = None if Z is None else Z + F                       # z_out = z_in + F(z_in)
            continue
        if kind == "dense":
            _, units, act = layer
            kshape, out_shape = (units, int(np.prod(shape))), (units,)
        elif kind == "conv1d":
            _, C_out, k, act, *rest = layer
            stride, padding = (list(rest) + [1, "valid"][len(rest):])[:2]
            if len(shape) != 2:
                raise ValueError(f"oracle: conv1d needs a (C, L) input, got {shape}")
            kshape = (C_out, shape[0], k)
            out_shape = (C_out, conv1d_out_len(shape[1], k, stride, padding))
        elif kind == "conv2d":
            _, C_out, k, act = layer
            kh, kw = (k, k) if np.isscalar(k) else k
            if len(shape) != 3 or kh > shape[1] or kw > shape[2]:
                raise ValueError(f"oracle: conv2d kernel {(kh, kw)} on input {shape}")
            kshape, out_shape = (C_out, shape[0], kh, kw), (C_out, shape[1] - kh + 1,
                                                            shape[2] - kw + 1)
        else:
            raise ValueError(f"oracle: unknown layer {kind!r}")
        if act == "softmax" and not (is_output and i == len(spec) - 1):
            raise ValueError("oracle: softmax only at the output")
        n_k = int(np.prod(kshape))
        if Z is not None:
            kernel = w[pos:pos + n_k].reshape(kshape)
            bias = w[pos + n_k:pos + n_k + kshape[0]]              # one per output unit/channel
            if kind == "dense":
                A = Z.reshape(Z.shape[0], -1) @ kernel.T + bias    # a_j = sum_i w_ji z_i + b_j
            elif kind == "conv1d":
                A = conv1d(Z, kernel, bias, stride, padding)
            else:
                A = conv2d(Z, kernel, bias)
            pre.append(A.reshape(A.shape[0], -1))
            Z = ACTS[act](A.reshape(A.shape[0], -1)).reshape(A.shape)
        pos += n_k + kshape[0]
        shape = out_shape
    return shape, Z, pos


def _shape(input_shape):
    return (int(input_shape),) if np.isscalar(input_shape) else tuple(input_shape)


def layered_n_params(input_shape, spec):
    return _run(_shape(input_shape), spec, None, None, 0, [], True)[2]


def layered_output_shape(input_shape, spec):
    return _run(_shape(input_shape), spec, None, None, 0, [], True)[0]


def _layered(input_shape, spec, X, w):
    shape = _shape(input_shape)
    X = np.atleast_2d(X)
    if X.shape[1] != int(np.prod(shape)):
        raise ValueError(f"oracle: X has {X.shape[1]} columns, input shape {shape} wants "
                         f"{int(np.prod(shape))}")
    if len(w) != layered_n_params(shape, spec):
        raise ValueError(f"oracle: w has {len(w)} entries, the network has "
                         f"{layered_n_params(shape, spec)}")
    pre = []
    _, Z, _ = _run(shape, spec, X.reshape((X.shape[0],) + shape), w, 0, pre, True)
    return Z.reshape(X.shape[0], -1), pre


def layered_forward(input_shape, spec, X, w):
    """Y (N, n_out), each sample's output flattened row-major; X (N, prod(input_shape))."""
    return _layered(input_shape, spec, X, w)[0]


def layered_preactivations(input_shape, spec, X, w):
    """Every dense/conv layer's pre-activation, (N, -1) each, in parameter order (e.g. to
    keep finite differences a step away from a ReLU kink)."""
    return _layered(input_shape, spec, X, w)[1]


# ------------------------------------------- derivatives of any forward f(X, w) -> Y
def output_loss(Y, T, kind, output_act="linear"):
    """E summed over samples and outputs, from Y itself (the forward may not expose a^(L)):
    cross-entropy is -sum t log y (+ (1-t) log(1-y) for sigmoid), so Y must not round to 0
    or 1 -- true at moderate test points.  Softmax entries may be per step (RNN "all")."""
    T = np.atleast_2d(T)
    if kind == "sse":
        return 0.5 * np.sum((Y - T) ** 2)
    if kind == "cross_entropy" and output_act == "sigmoid":
        return -np.sum(T * np.log(Y) + (1 - T) * np.log(1 - Y))
    if kind == "cross_entropy" and output_act == "softmax":
        return -np.sum(T * np.log(Y))
    if kind in PER_OUTPUT_LOSSES:
        return np.sum(PER_OUTPUT_LOSSES[kind](Y - T))
    raise ValueError(f"oracle: no loss {kind!r} for output {output_act!r}")


def model_loss(f, X, w, T, kind, output_act="linear"):
    return output_loss(f(X, w), T, kind, output_act)


def model_grad(f, X, w, T, kind, output_act="linear"):
    """dE/dw (W,) by complex step."""
    return _cs_columns(lambda wc: model_loss(f, X, wc, T, kind, output_act), w)


def model_grad_fd(f, X, w, T, kind, output_act="linear", step=1e-5):
    """dE/dw (W,) by central differences (no complex arithmetic)."""
    return _fd_columns(lambda v: model_loss(f, X, v, T, kind, output_act), w, step)


def model_param_jacobian(f, X, w):
    """[n, k, j] = d y_k(x_n) / d w_j (N, K, W), complex step."""
    return _cs_columns(lambda wc: f(X, wc), w)


def model_param_jacobian_fd(f, X, w, step=1e-5):
    return _fd_columns(lambda v: f(X, v), w, step)


def _per_input_columns(f, X, w, delta):
    """Stack f(X + delta e_i) over input columns i, every sample at once (they are
    independent: sample n's outputs see only x_n)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    cols = []
    for i in range(X.shape[1]):
        E = np.zeros(X.shape, dtype=type(delta))
        E[:, i] = delta
        cols.append(f(X + E, w))
    return cols


def model_input_jacobian(f, X, w):
    """[n, k, i] = d y_k / d x_i at x_n (N, K, D), complex step."""
    return np.stack([np.imag(y) / H_CS for y in _per_input_columns(f, X, w, 1j * H_CS)], axis=-1)


def model_input_jacobian_fd(f, X, w, step=1e-5):
    plus, minus = _per_input_columns(f, X, w, step), _per_input_columns(f, X, w, -step)
    return np.stack([(p - m) / (2 * step) for p, m in zip(plus, minus)], axis=-1)


def model_hessian_fd_grad(f, X, w, T, kind, output_act="linear", step=1e-5):
    """d^2E/dw^2 (W, W): central differences of the complex-step gradient, column by column
    (not symmetrised; ~1e-8 relative, see hessian_fd_grad)."""
    return _fd_columns(lambda v: model_grad(f, X, v, T, kind, output_act), w, step)


def model_input_hessian(f, X, w, step=1e-5):
    """[n, k, i, j] = d^2 y_k / dx_i dx_j at x_n: central differences (in x_j, every sample
    at once) of the complex-step input Jacobian."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    plus = _per_input_columns(lambda Xs, v: model_input_jacobian(f, Xs, v), X, w, step)
    minus = _per_input_columns(lambda Xs, v: model_input_jacobian(f, Xs, v), X, w, -step)
    return np.stack([(p - m) / (2 * step) for p, m in zip(plus, minus)], axis=-1)


def model_gauss_newton(f, X, w, T, kind):
    """sum_n J_n^T diag(e''(y_n - t_n)) J_n for the per-output losses (sse, log_cosh, huber),
    J by complex step.  (Cross-entropy's needs a^(L): use gauss_newton for an MLP.)"""
    J = model_param_jacobian(f, X, w)
    lam = per_output_curvature(kind, f(X, w), np.atleast_2d(T))
    return np.einsum("nkw,nk,nkv->wv", J, lam, J)
