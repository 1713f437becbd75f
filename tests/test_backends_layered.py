"""Network and RNN derivations on JAX arrays: the one layered matrix form, checked independently.

``evaluate`` of a Network's or RNN's gradient, parameter Jacobian and input Jacobian on
JAX arrays runs ``symnet.compiled.layered_form`` traced under ``jax.jit`` (the same code as
on NumPy; a correlation's windows gathered instead of viewed). Every value is compared
with the independent NumPy networks of tests/oracle.py (convolutions written as loops, the
Elman RNN, differentiated by complex step to full precision and by central differences),
and with symnet's NumPy evaluation at 1e-13 relative (the issue's bar: the same formulas
in another array library differ only by rounding). The direct input Jacobian runs its
substituted entries printed for JAX.
The second derivatives on JAX: tests/test_backends_layered_curvature.py.
"""
import numpy as np
import pytest

import layered_cases as cases
import oracle
import symnet
from symnet.compiled import layered_form
from symnet.compiled.backends import ops_for
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")


pytestmark = pytest.mark.usefixtures("jax_float64")   # tests/conftest.py


def _relative(got, want):
    return np.max(np.abs(np.asarray(got) - want)) / max(np.max(np.abs(want)), 1e-300)


# The cases (symnet network, independent oracle forward) are shared with
# tests/test_layered_matrix_form.py: tests/layered_cases.py.
CASES = {"conv1d_stride2_same": cases.conv1d_strided_same, "conv1d_relu_stride3": cases.conv1d_relu,
         "residual": cases.residual, "conv2d": cases.conv2d("sigmoid"),
         "rnn_last": cases.rnn("last", "tanh"), "rnn_all": cases.rnn("all", "sigmoid")}
LOSSES = cases.LOSSES
PAIRS = cases.pairs(CASES)
OUTPUTS = sorted({(case, out) for case, out, _ in PAIRS})


def _problem(case, out, seed=0, n=5):
    return cases.problem(CASES, case, out, seed, n)   # ReLU's kink margin asserted there


def _on_jax(derivation, *arrays):
    got = derivation.evaluate(*[jnp.asarray(a) for a in arrays])
    assert isinstance(got, jax.Array) and got.dtype == jnp.float64
    return got


@pytest.mark.parametrize("case, out, loss", PAIRS)
def test_gradient_on_jax_equals_oracle_and_numpy(case, out, loss):
    net, f, X, w, T = _problem(case, out)
    grad = symnet.gradient(net, loss)
    got = _on_jax(grad, X, w, T)
    assert _relative(got, oracle.model_grad(f, X, w, T, loss, out)) <= 1e-12       # complex step
    assert _relative(got, oracle.model_grad_fd(f, X, w, T, loss, out)) <= 1e-7     # differences
    assert _relative(got, grad.evaluate(X, w, T)) <= 1e-13


@pytest.mark.parametrize("case, out", OUTPUTS)
def test_jacobians_on_jax_equal_oracle_and_numpy(case, out):
    net, f, X, w, _ = _problem(case, out, seed=3)
    P, J = symnet.param_jacobian(net), symnet.input_jacobian(net)
    got_P, got_J = _on_jax(P, X, w), _on_jax(J, X, w)
    assert got_P.shape == (len(X), net.sizes[-1], net.n_params)
    assert got_J.shape == (len(X), net.sizes[-1], net.sizes[0])
    assert _relative(got_P, oracle.model_param_jacobian(f, X, w)) <= 1e-12
    assert _relative(got_J, oracle.model_input_jacobian(f, X, w)) <= 1e-12
    assert _relative(got_P, oracle.model_param_jacobian_fd(f, X, w)) <= 1e-7
    assert _relative(got_J, oracle.model_input_jacobian_fd(f, X, w)) <= 1e-7
    assert _relative(got_P, P.evaluate(X, w)) <= 1e-13
    assert _relative(got_J, J.evaluate(X, w)) <= 1e-13


def test_one_sample_and_numpy_weights_on_jax():
    net, f, X, w, T = _problem("rnn_all", "linear", n=1)
    # X (D,) as a JAX array, w and T (K,) as NumPy: the sample axis is dropped as for NumPy
    got = symnet.param_jacobian(net).evaluate(jnp.asarray(X[0]), w)
    assert isinstance(got, jax.Array) and got.shape == (net.sizes[-1], net.n_params)
    assert _relative(got, oracle.model_param_jacobian(f, X, w)[0]) <= 1e-12
    grad = symnet.gradient(net, "sse").evaluate(jnp.asarray(X[0]), w, T[0])
    assert _relative(grad, oracle.model_grad(f, X, w, T, "sse")) <= 1e-12


def test_weight_decay_on_jax_adds_lam_w_to_the_oracle_gradient():
    # E = sum_n E_n + lam/2 ||w||^2: dE/dw is the oracle's gradient plus lam w
    net, f, X, w, T = _problem("rnn_last", "linear")
    got = _on_jax(symnet.gradient(net, "sse", weight_decay=0.25), X, w, T)
    assert _relative(got, oracle.model_grad(f, X, w, T, "sse") + 0.25 * w) <= 1e-12


@pytest.mark.parametrize("case", ["conv1d_stride2_same", "residual", "conv2d", "rnn_all"])
def test_the_networks_forward_layers_under_jax_jit_equals_the_oracle(case):
    # the one forward pass, net.forward_layers, traced on JAX with h printed for JAX: a
    # padded strided correlation, a kernel's bias shared by positions, the skip's identity,
    # an RNN's outputs at every step
    net, f, X, w, _ = _problem(case, "linear")
    activate = ops_for(jnp.asarray(X)).activate(net)
    outputs = jax.jit(lambda X, w: net.forward_layers(X, w, activate=activate)[1][-1])
    got = outputs(jnp.asarray(X), jnp.asarray(w))
    assert isinstance(got, jax.Array)
    assert _relative(got, f(X, w)) <= 1e-14


def test_source_of_a_networks_gradient_shows_layered_form_and_its_kernels():
    net = symnet.Network((1, 5), [Conv1D(2, 2, "sigmoid"), Flatten(), Dense(1, "linear")])
    for backend in ("numpy", "jax"):
        text = symnet.gradient(net, "sse").source(backend=backend)
        # layered_form's backward pass (over terms), not the MLP's (over layers)
        assert "def backward(net, terms, Z, dh, w, top, summed=False, inputs=False):" in text
        assert "def backward(net, top, dh, w, start=None):" not in text
        # the one forward pass and the conv stage it runs; the correlation's adjoint maps
        assert "def forward_layers(self, X, w, activate=None):" in text
        assert "def _conv1d_compute(" in text and "class Correlation:" in text
        # sigma'(a) = sigma(a) (1 - sigma(a)) = z sigma(-a), with z = sigma(a)
        assert "# h_1'(a, z) = z*stable_sigmoid(-a)" in text
        assert "# h_2'(a, z) = 1" in text                         # linear output
        assert "def stage_terms(" not in text   # the terms are built once, with the derivation
    # an RNN's terms are matrices only: no correlation is shown
    rnn = symnet.gradient(symnet.RNN(1, 2, 1, steps=2), "sse").source()
    assert "class Matrix:" in rnn and "class Correlation:" not in rnn


def test_stride_larger_than_the_kernel_leaves_unread_inputs_at_zero_on_jax():
    # a_p = w_1 x_(3p) + w_2 x_(3p+1) + b (p = 0, 1 of 6 inputs): dy/dx is w_1, w_2 at the
    # two positions each output reads and exactly 0 at x_2 and x_5, which nothing reads
    net = symnet.Network((1, 6), [Conv1D(1, 2, "linear", stride=3)])
    got = symnet.input_jacobian(net).evaluate(jnp.zeros((1, 6)), jnp.asarray([2.0, -1.0, 0.5]))
    np.testing.assert_array_equal(np.asarray(got), [[[2.0, -1.0, 0.0, 0.0, 0.0, 0.0],
                                                     [0.0, 0.0, 0.0, 2.0, -1.0, 0.0]]])


def test_one_step_rnn_on_jax_gives_zero_for_the_unused_recurrent_matrix():
    # steps=1: h^(1) = tanh(W_xh x + b_h), W_hh is never used: its columns of dy/dw are 0
    net = symnet.RNN(2, 2, 1, steps=1)
    X, w = np.array([[0.3, -0.7]]), net.init_params(seed=2)
    got = symnet.param_jacobian(net).evaluate(jnp.asarray(X), jnp.asarray(w))
    columns = net.block["W_hh"].columns
    np.testing.assert_array_equal(np.asarray(got)[..., columns], 0.0)
    f = lambda X, w: oracle.rnn_forward(2, 2, 1, X, w, "tanh", "linear", "last")
    assert _relative(got, oracle.model_param_jacobian(f, X, w)) <= 1e-12


# -- what JAX refuses -----------------------------------------------------------------------
def test_float32_jax_input_to_a_network_is_refused_not_converted():
    net, _, X, w, T = _problem("conv2d", "linear")
    grad = symnet.gradient(net, "sse")
    with pytest.raises(symnet.SymnetError, match="float32.*float64"):
        grad.evaluate(jnp.asarray(X, dtype=jnp.float32), w, T)
    with pytest.raises(symnet.SymnetError, match=r"X must have shape \(N, 24\)"):
        grad.evaluate(jnp.ones((5, 23)), w, T)


@pytest.mark.parametrize("case, out", [("conv1d_stride2_same", "softmax"), ("rnn_last", "tanh"),
                                       ("conv2d", "sigmoid")])   # (residual: too large, refused)
def test_direct_input_jacobian_on_jax_equals_the_oracle(case, out):
    # y(x, w) substituted and differentiated, printed for JAX: the oracle's complex step
    net, f, X, w, _ = _problem(case, out, n=3)
    J = symnet.input_jacobian(net, method="direct")
    got = _on_jax(J, X, w)
    assert _relative(got, oracle.model_input_jacobian(f, X, w)) <= 1e-12
    assert _relative(got, J.evaluate(X, w)) <= 1e-13


def test_evaluate_entries_of_a_network_refuses_jax_arrays():
    net = CASES["rnn_last"]("linear")[0]
    grad = symnet.gradient(net, "sse")
    with pytest.raises(symnet.SymnetError, match="evaluate_entries .* takes NumPy arrays"):
        grad.evaluate_entries(jnp.ones((2, 8)), net.init_params(), np.zeros((2, 2)))


# -- the Gauss-Newton matrix form (layered_form.gauss_newton_values), on NumPy and JAX -------
def _lambda(out, Y):
    """d^2 E_n / d a^(L)^2 of cross-entropy, by hand: sigmoid diag y (1 - y), softmax
    diag y - y y^T (d y_k / d a_m = y_k (delta_km - y_m) and dE/da = y - t)."""
    if out == "sigmoid":
        return np.einsum("nk,km->nkm", Y * (1 - Y), np.eye(Y.shape[1]))
    return np.einsum("nk,km->nkm", Y, np.eye(Y.shape[1])) - Y[:, :, None] * Y[:, None, :]


def _gauss_newton_reference(case, out, loss, X, w, T):
    """sse: the oracle's sum_n J^T J; cross-entropy: sum_n B_a^T Lambda B_a with B_a the
    complex-step Jacobian of the oracle's a^(L) (its forward with a linear output)."""
    _, f = CASES[case](out)
    if loss == "sse":
        return oracle.model_gauss_newton(f, X, w, T, "sse")
    _, f_a = CASES[case]("linear")
    B = oracle.model_param_jacobian(f_a, X, w)
    return np.einsum("nkp,nkm,nmq->pq", B, _lambda(out, f(X, w)), B)


@pytest.mark.parametrize("case, out, loss", PAIRS)
def test_gauss_newton_matrix_form_on_numpy_and_jax_equals_oracle(case, out, loss):
    net, _, X, w, T = _problem(case, out, seed=5)
    lossobj = symnet.graph.losses.get_loss(loss, net)
    terms = layered_form.stage_terms(net)
    reference = _gauss_newton_reference(case, out, loss, X, w, T)
    on_numpy = layered_form.gauss_newton_values(net, lossobj, X, w, T, terms)
    assert _relative(on_numpy, reference) <= 1e-12
    on_jax = jax.jit(lambda X, w, T: layered_form.gauss_newton_values(net, lossobj, X, w, T,
                                                                      terms))(
        jnp.asarray(X), jnp.asarray(w), jnp.asarray(T))
    assert isinstance(on_jax, jax.Array)
    assert _relative(on_jax, on_numpy) <= 1e-13
    # the public derivation evaluates by this matrix form, on NumPy and on JAX
    derivation = symnet.hessian(net, loss, approx="gauss_newton")
    assert _relative(derivation.evaluate(X, w, T), reference) <= 1e-12
    assert _relative(_on_jax(derivation, X, w, T), reference) <= 1e-12


def test_gauss_newton_with_weight_decay_on_jax_adds_lam_identity_to_the_oracle():
    # lam/2 ||w||^2 is quadratic in w: its Gauss-Newton (and Hessian) term is exactly lam I
    net, _, X, w, T = _problem("conv1d_stride2_same", "linear", seed=5)
    derivation = symnet.hessian(net, "sse", approx="gauss_newton", weight_decay=0.25)
    reference = _gauss_newton_reference("conv1d_stride2_same", "linear", "sse", X, w, T)
    want = reference + 0.25 * np.eye(net.n_params)
    assert _relative(_on_jax(derivation, X, w, T), want) <= 1e-12
    assert _relative(derivation.evaluate(X, w, T), want) <= 1e-12
