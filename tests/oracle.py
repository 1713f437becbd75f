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
    X = np.atleast_2d(np.asarray(X, dtype=float))
    cols = []
    for i in range(X.shape[1]):
        Xc = X.astype(complex)
        Xc[:, i] += 1j * H_CS
        cols.append(np.imag(forward(sizes, hidden_acts, output_act, Xc, w)) / H_CS)
    return np.stack(cols, axis=-1)


# ----------------------------------------------------------------- Hessians
def hessian_fd_grad(sizes, hidden_acts, output_act, X, w, T, kind, step=1e-5):
    """Central difference of the (exact) complex-step gradient, column by column.
    Truncation O(step^2 * g''') ~ 1e-10, rounding ~ eps*|g|/step ~ 1e-11: good
    to ~1e-8 relative.  NOT symmetrised, so symmetry is not built in."""
    w = np.asarray(w, dtype=float)
    g = lambda v: grad(sizes, hidden_acts, output_act, X, v, T, kind)
    H = np.empty((w.size, w.size))
    for j in range(w.size):
        e = np.zeros_like(w)
        e[j] = step
        H[:, j] = (g(w + e) - g(w - e)) / (2 * step)
    return H


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
