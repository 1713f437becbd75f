"""Checks of the oracle's convolution, RNN and residual forwards (issue 14) against hand
computations and against each other -- never against symnet.  If these fail, no symnet
test that leans on oracle.conv1d / elman_rnn / layered_forward can be trusted."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracle as o

SMALL = settings(max_examples=30, deadline=None, database=None)


def relative(a, b):
    """max |a - b| / max |b|: the error relative to the size of the reference."""
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


# --------------------------------------------------------------------- conv1d
def test_conv1d_by_hand():
    # z = [1, 2, 3, 4], kernel [1, 2], bias 0.5: a_p = z_p + 2 z_{p+1} + 0.5
    # a_0 = 1 + 4 + .5 = 5.5, a_1 = 2 + 6 + .5 = 8.5, a_2 = 3 + 8 + .5 = 11.5
    z, kernel, bias = np.array([[1., 2, 3, 4]]), np.array([[[1., 2]]]), np.array([0.5])
    np.testing.assert_array_equal(o.conv1d(z, kernel, bias), [[5.5, 8.5, 11.5]])
    # stride 2: positions p*2 = 0, 2 only -> [5.5, 11.5]; L_out = (4 - 2)//2 + 1 = 2
    np.testing.assert_array_equal(o.conv1d(z, kernel, bias, stride=2), [[5.5, 11.5]])
    # batched: the same sample twice, and its negative (a = -(z_p + 2 z_{p+1}) + .5)
    Z = np.stack([z, z, -z])
    np.testing.assert_array_equal(o.conv1d(Z, kernel, bias),
                                  [[[5.5, 8.5, 11.5]]] * 2 + [[[-4.5, -7.5, -10.5]]])


def test_conv1d_two_channels_by_hand():
    # C_in = 2: a_p = sum_c' sum_m w_{0,c',m} z_{c',p+m};  w_{0,0,:} = [1, 0], w_{0,1,:} = [0, 1]
    # so a_p = z_{0,p} + z_{1,p+1}: z_0 = [1, 2, 3], z_1 = [10, 20, 30] -> [21, 32]
    z = np.array([[1., 2, 3], [10, 20, 30]])
    kernel = np.array([[[1., 0], [0, 1]]])
    np.testing.assert_array_equal(o.conv1d(z, kernel, [0.]), [[21., 32.]])


def test_same_padding_by_hand():
    # odd k = 3, kernel [1, 2, 3] on ones(4): one zero each side -> [0 1 1 1 1 0]
    # a_0 = 0 + 2 + 3 = 5, a_1 = a_2 = 6, a_3 = 1 + 2 + 0 = 3
    np.testing.assert_array_equal(
        o.conv1d(np.ones((1, 4)), np.array([[[1., 2, 3]]]), [0.], padding="same"),
        [[5., 6., 6., 3.]])
    # even k = 2 (PyTorch: total k - 1 = 1, left (k-1)//2 = 0, so the zero goes right):
    # [1 2 3 4 0] * [1, 2] -> [5, 8, 11, 4 + 0]
    np.testing.assert_array_equal(
        o.conv1d(np.array([[1., 2, 3, 4]]), np.array([[[1., 2]]]), [0.], padding="same"),
        [[5., 8., 11., 4.]])
    assert o.same_padding(4, 2) == (0, 1) and o.same_padding(4, 3) == (1, 1)
    assert o.same_padding(4, 4) == (1, 2)        # total 3: left 3//2 = 1 as in PyTorch


@st.composite
def conv1d_cases(draw):
    C_in, C_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    k, stride = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    L = draw(st.integers(k, 8))
    padding = draw(st.sampled_from(["valid", "same"]))
    batch = draw(st.sampled_from([(), (1,), (3,)]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    return (rng.normal(size=batch + (C_in, L)), rng.normal(size=(C_out, C_in, k)),
            rng.normal(size=C_out), stride, padding)


@SMALL
@given(conv1d_cases())
def test_conv1d_loops_equal_np_correlate(case):
    z, kernel, bias, stride, padding = case
    loops = o.conv1d(z, kernel, bias, stride, padding)
    corr = o.conv1d_correlate(z, kernel, bias, stride, padding)
    assert loops.shape == corr.shape == z.shape[:-2] + (
        kernel.shape[0], o.conv1d_out_len(z.shape[-1], kernel.shape[-1], stride, padding))
    np.testing.assert_allclose(loops, corr, rtol=1e-12, atol=1e-12)   # sums in another order


def test_conv1d_correlate_complex_kernel_not_conjugated():
    # np.correlate conjugates its second argument; the oracle must not (complex step needs
    # an analytic map).  Kernel [i], z = [1, 2]: a = i z exactly.
    z, kernel = np.array([[1., 2.]]), np.array([[[1j]]])
    np.testing.assert_array_equal(o.conv1d_correlate(z, kernel, [0.]), [[1j, 2j]])
    np.testing.assert_array_equal(o.conv1d(z, kernel, [0.]), [[1j, 2j]])


@SMALL
@given(L=st.integers(1, 12), k=st.integers(1, 6), stride=st.integers(1, 4))
def test_same_padding_length_and_pytorch_offsets(L, k, stride):
    a = o.conv1d(np.arange(1., L + 1)[None], np.ones((1, 1, k)), [0.], stride, "same")
    assert a.shape == (1, -(-L // stride))              # L_out = ceil(L / stride)
    if stride == 1:
        # PyTorch's rule written out: (k-1)//2 zeros left, the rest right, then "valid"
        left = (k - 1) // 2
        z_pad = np.concatenate([np.zeros(left), np.arange(1., L + 1), np.zeros(k - 1 - left)])
        np.testing.assert_array_equal(a, o.conv1d(z_pad[None], np.ones((1, 1, k)), [0.]))


# --------------------------------------------------------------------- conv2d
def test_conv2d_by_hand():
    # z = [[1 2 3], [4 5 6]], kernel [[1 2], [3 4]], bias 1, valid -> output 1 x 2:
    # (0,0): 1*1 + 2*2 + 3*4 + 4*5 + 1 = 38;  (0,1): 1*2 + 2*3 + 3*5 + 4*6 + 1 = 48
    # second channel [[0 1], [0 0]], bias 0 picks z[0, j+1]: [2, 3]
    z = np.array([[[1., 2, 3], [4, 5, 6]]])
    kernel = np.array([[[[1., 2], [3, 4]]], [[[0., 1], [0, 0]]]])
    np.testing.assert_array_equal(o.conv2d(z, kernel, [1., 0.]), [[[38., 48.]], [[2., 3.]]])
    np.testing.assert_array_equal(o.conv2d(np.stack([z, 2 * z]), kernel, [0., 0.])[1],
                                  [[[74., 94.]], [[4., 6.]]])      # 2 * (38 - 1), 2 * (48 - 1)


# ------------------------------------------------- a kernel spanning the input is Dense
@pytest.mark.parametrize("C_in,L,C_out", [(1, 5, 1), (2, 3, 4), (3, 1, 2)])
def test_full_width_conv1d_is_dense(rng, C_in, L, C_out):
    X = rng.normal(size=(4, C_in * L))
    w = rng.normal(size=C_out * C_in * L + C_out)
    conv = o.layered_forward((C_in, L), [("conv1d", C_out, L, "tanh")], X, w)
    # the same w as a Dense layer: kernel row-major (C_out, C_in, L) = weights (C_out, C_in*L)
    mlp = o.forward([C_in * L, C_out], [], "tanh", X, w)
    np.testing.assert_allclose(conv, mlp, rtol=1e-14, atol=1e-15)


# ---------------------------------------------------------------------- RNN
def test_rnn_by_hand():
    # D = H = K = 1, linear units: W_xh 2, W_hh 0.5, b_h 1, W_hy 3, b_y -1, x = [1, 2]
    # h_1 = 2*1 + 0.5*0 + 1 = 3,  h_2 = 2*2 + 0.5*3 + 1 = 6.5
    # y_1 = 3*3 - 1 = 8,          y_2 = 3*6.5 - 1 = 18.5
    args = (np.array([[1., 2.]]), np.array([[2.]]), np.array([[.5]]), np.array([1.]),
            np.array([[3.]]), np.array([-1.]))
    kw = dict(hidden="linear", output="linear")
    np.testing.assert_array_equal(o.elman_rnn(*args, **kw, outputs="last"), [[18.5]])
    np.testing.assert_array_equal(o.elman_rnn(*args, **kw, outputs="all"), [[8., 18.5]])


def test_rnn_input_is_time_major():
    # D = 2, W_xh = [[1, 10]], W_hh = 0, W_hy = 1: y_t = x_t1 + 10 x_t2.  Time-major row
    # [1, 2, 3, 4] means x_1 = (1, 2), x_2 = (3, 4): y = [21, 43] (feature-major would be 31, 42)
    y = o.elman_rnn(np.array([[1., 2, 3, 4]]), np.array([[1., 10]]), np.zeros((1, 1)),
                    np.zeros(1), np.ones((1, 1)), np.zeros(1), hidden="linear", outputs="all")
    np.testing.assert_array_equal(y, [[21., 43.]])


def test_rnn_parameter_order():
    # w = 0, 1, 2, ...: W_xh (H=2, D=1) = [[0], [1]], W_hh = [[2, 3], [4, 5]], b_h = [6, 7],
    # W_hy (K=1, H=2) = [[8, 9]], b_y = [10];  2 + 4 + 2 + 2 + 1 = 11 parameters
    assert o.rnn_n_params(1, 2, 1) == 11 and o.rnn_n_params(2, 8, 1) == 16 + 64 + 8 + 8 + 1
    W_xh, W_hh, b_h, W_hy, b_y = o.rnn_unpack(1, 2, 1, np.arange(11.))
    np.testing.assert_array_equal(W_xh, [[0.], [1.]])
    np.testing.assert_array_equal(W_hh, [[2., 3.], [4., 5.]])
    np.testing.assert_array_equal(b_h, [6., 7.])
    np.testing.assert_array_equal(W_hy, [[8., 9.]])
    np.testing.assert_array_equal(b_y, [10.])


@SMALL
@given(D=st.integers(1, 3), H=st.integers(1, 4), K=st.integers(1, 3),
       hidden=st.sampled_from(["tanh", "sigmoid", "relu", "swish"]),
       output=st.sampled_from(["linear", "sigmoid", "softmax"]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_rnn_with_one_step_is_the_mlp(D, H, K, hidden, output, seed):
    # T = 1, h_0 = 0: h_1 = h(W_xh x + b_h), y = g(W_hy h_1 + b_y), the 2-layer MLP with
    # W^(1) = W_xh, b^(1) = b_h, W^(2) = W_hy, b^(2) = b_y; W_hh multiplies zeros only.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, D))
    w = rng.normal(size=o.rnn_n_params(D, H, K))
    W_xh, W_hh, b_h, W_hy, b_y = o.rnn_unpack(D, H, K, w)
    w_mlp = o.pack([(W_xh, b_h), (W_hy, b_y)])
    y_rnn = o.rnn_forward(D, H, K, X, w, hidden=hidden, output=output)
    np.testing.assert_array_equal(y_rnn, o.forward([D, H, K], hidden, output, X, w_mlp))


# ------------------------------------------------------------------- residual
ZERO_F = {"dense": ((3,), [("dense", 4, "tanh"), ("dense", 3, "linear")]),
          "conv_same": ((2, 4), [("conv1d", 2, 3, "swish", 1, "same")])}


@pytest.mark.parametrize("name", sorted(ZERO_F))
def test_residual_with_zero_f_is_identity(rng, name):
    shape, inner = ZERO_F[name]
    spec = [("residual", inner)]
    X = rng.normal(size=(3, int(np.prod(shape))))
    w = np.zeros(o.layered_n_params(shape, spec))
    # F(z) = W2 tanh(0) + 0 = 0 (and swish(0) = 0 for the conv): z_out = z exactly
    np.testing.assert_array_equal(o.layered_forward(shape, spec, X, w), X)
    # dz_out/dz_in = I + dF/dz = I + 0: exactly, by complex step
    J = o.model_input_jacobian(lambda Xs, ws: o.layered_forward(shape, spec, Xs, ws), X, w)
    np.testing.assert_array_equal(J, np.broadcast_to(np.eye(X.shape[1]), J.shape))


def test_residual_by_hand():
    # z = [1, 2], F = linear Dense W = [[1, 0], [0, 2]], b = [0.5, -1]:
    # F(z) = [1.5, 3], z_out = z + F(z) = [2.5, 5]
    w = np.array([1., 0, 0, 2, 0.5, -1])
    y = o.layered_forward(2, [("residual", [("dense", 2, "linear")])], [[1., 2.]], w)
    np.testing.assert_array_equal(y, [[2.5, 5.]])


# -------------------------------------------------------------- layered networks
def test_layered_n_params_by_hand():
    # (1, 8) -> Conv1D(4, k=5): 4*1*5 + 4 = 24, out (4, 4) -> flatten 16
    # -> Dense 8: 8*16 + 8 = 136 -> Dense 1: 8 + 1 = 9.  Total 169.
    spec = [("conv1d", 4, 5, "tanh"), ("flatten",), ("dense", 8, "tanh"), ("dense", 1, "linear")]
    assert o.layered_n_params((1, 8), spec) == 169
    assert o.layered_output_shape((1, 8), spec) == (1,)
    # Conv2D(3, (2, 2)) on (2, 4, 5): 3*2*2*2 + 3 = 27, out (3, 3, 4); residual keeps shape
    spec2 = [("conv2d", 3, (2, 2), "tanh"), ("residual", [("conv2d", 3, 1, "tanh")])]
    assert o.layered_n_params((2, 4, 5), spec2) == 27 + (3 * 3 + 3)
    assert o.layered_output_shape((2, 4, 5), spec2) == (3, 3, 4)


def test_dense_spec_is_the_mlp(rng):
    X, w, T = rng.normal(size=(4, 3)), rng.normal(size=o.n_params([3, 4, 2])), \
        rng.uniform(0.1, 0.9, size=(4, 2))
    spec = [("dense", 4, "tanh"), ("dense", 2, "sigmoid")]
    f = lambda Xs, ws: o.layered_forward(3, spec, Xs, ws)           # noqa: E731
    np.testing.assert_array_equal(f(X, w), o.forward([3, 4, 2], "tanh", "sigmoid", X, w))
    # the generic cross-entropy (from log y) against the oracle's log-space one (from a)
    g = o.model_grad(f, X, w, T, "cross_entropy", "sigmoid")
    assert relative(g, o.grad([3, 4, 2], "tanh", "sigmoid", X, w, T, "cross_entropy")) < 1e-12


@pytest.mark.parametrize("spec,message", [
    ([("dense", 2, "softmax"), ("dense", 1, "linear")], "softmax"),
    ([("residual", [("dense", 2, "tanh")])], "residual"),
    ([("conv1d", 1, 9, "tanh")], "kernel length"),
])
def test_layered_bad_spec_is_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        o.layered_n_params((1, 3), spec)


# ------------------------------------------- complex step against central differences
def _conv1d_net():
    spec = [("conv1d", 2, 3, "tanh", 1, "same"), ("conv1d", 2, 2, "sigmoid", 2),
            ("flatten",), ("dense", 2, "linear")]
    return (lambda X, w: o.layered_forward((1, 6), spec, X, w)), 6, o.layered_n_params((1, 6), spec)


def _conv2d_net():
    spec = [("conv2d", 2, (2, 2), "swish"), ("flatten",), ("dense", 3, "softmax")]
    return (lambda X, w: o.layered_forward((1, 3, 3), spec, X, w)), 9, \
        o.layered_n_params((1, 3, 3), spec)


def _residual_net():
    spec = [("dense", 3, "tanh"), ("residual", [("dense", 3, "softplus"), ("dense", 3, "tanh")]),
            ("residual", [("dense", 3, "elu")]), ("dense", 2, "sigmoid")]
    return (lambda X, w: o.layered_forward(2, spec, X, w)), 2, o.layered_n_params(2, spec)


def _rnn(outputs, output):
    return (lambda X, w: o.rnn_forward(2, 3, 2, X, w, "tanh", output, outputs)), 2 * 4, \
        o.rnn_n_params(2, 3, 2)


MODELS = {  # name: (builder, output activation, loss)
    "conv1d": (_conv1d_net, "linear", "sse"),
    "conv2d": (_conv2d_net, "softmax", "cross_entropy"),
    "residual": (_residual_net, "sigmoid", "cross_entropy"),
    "rnn_last": (lambda: _rnn("last", "linear"), "linear", "log_cosh"),
    "rnn_all": (lambda: _rnn("all", "sigmoid"), "sigmoid", "cross_entropy"),
}


def _model_problem(rng, name):
    build, output, kind = MODELS[name]
    f, D, W = build()
    X, w = rng.normal(size=(3, D)), rng.normal(scale=0.7, size=W)
    K = f(X, w).shape[1]
    T = (np.eye(K)[rng.integers(0, K, size=3)] if output == "softmax"
         else rng.uniform(0.1, 0.9, size=(3, K)))
    return f, X, w, T, kind, output


@pytest.mark.parametrize("name", sorted(MODELS))
def test_complex_step_equals_central_differences(rng, name):
    # central differences (step 1e-5): truncation ~1e-10 and rounding ~1e-11 relative, so
    # 1e-7 leaves room; smooth activations only, so no kink lies within a step.
    f, X, w, T, kind, output = _model_problem(rng, name)
    assert relative(o.model_grad_fd(f, X, w, T, kind, output),
                    o.model_grad(f, X, w, T, kind, output)) < 1e-7
    assert relative(o.model_param_jacobian_fd(f, X, w), o.model_param_jacobian(f, X, w)) < 1e-7
    assert relative(o.model_input_jacobian_fd(f, X, w), o.model_input_jacobian(f, X, w)) < 1e-7


@pytest.mark.parametrize("name", ["conv1d", "rnn_last"])
def test_hessian_is_symmetric_and_matches_loss_differences(rng, name):
    # d^2E/dw^2 two ways: central differences of the complex-step gradient, and the
    # second-order central difference of E alone (no complex arithmetic), ~1e-6 apart.
    f, X, w, T, kind, output = _model_problem(rng, name)
    H = o.model_hessian_fd_grad(f, X, w, T, kind, output)
    assert relative(H, H.T) < 1e-7                        # symmetry is not built in
    E = lambda v: o.model_loss(f, X, v, T, kind, output)  # noqa: E731
    h, I = 1e-4, np.eye(w.size) * 1e-4
    for i, j in [(0, 0), (0, w.size - 1), (w.size // 2, 1)]:
        fd = (E(w + I[i] + I[j]) - E(w + I[i] - I[j]) - E(w - I[i] + I[j])
              + E(w - I[i] - I[j])) / (4 * h * h)
        assert fd == pytest.approx(H[i, j], abs=1e-6 * np.max(np.abs(H)))


def test_input_hessian_of_one_tanh_unit_by_hand(rng):
    # y = tanh(u.x + b): dy/dx_i = (1 - y^2) u_i, d^2y/dx_i dx_j = -2 y (1 - y^2) u_i u_j
    X, w = rng.normal(size=(2, 3)), rng.normal(size=4)
    f = lambda Xs, ws: o.layered_forward(3, [("dense", 1, "tanh")], Xs, ws)   # noqa: E731
    y = np.tanh(X @ w[:3] + w[3])
    hand = -2 * (y * (1 - y ** 2))[:, None, None, None] * np.outer(w[:3], w[:3])
    assert relative(o.model_input_hessian(f, X, w), hand) < 1e-8


def test_gauss_newton_of_a_linear_model_is_its_hessian(rng):
    # y = W x + b with sse: E is quadratic in w, the residual term vanishes, so G = H.
    X, w, T = rng.normal(size=(4, 3)), rng.normal(size=2 * 3 + 2), rng.normal(size=(4, 2))
    f = lambda Xs, ws: o.layered_forward(3, [("dense", 2, "linear")], Xs, ws)  # noqa: E731
    G = o.model_gauss_newton(f, X, w, T, "sse")
    assert relative(G, o.model_hessian_fd_grad(f, X, w, T, "sse")) < 1e-8
