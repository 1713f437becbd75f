"""The residual term sum_n sum_k r_nk d^2 out_nk / dw dw of an MLP on JAX arrays (jit, float64).

References, none of them symnet's: the exact Hessian of tests/oracle.py's plain NumPy
network (central differences of its complex-step gradient) minus its Gauss-Newton matrix
(complex-step Jacobians, Lambda written by hand), and, where the outputs saturate, the
residual term written out by hand and evaluated by mpmath at 30 digits. symnet's NumPy
evaluation is matched at 1e-13 relative (the same formulas in another array library
differ only by rounding).
"""
import numpy as np
import pytest

import oracle as o
import symnet
from helpers import arch_id, make_net, random_problem

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
mpmath = pytest.importorskip("mpmath")

pytestmark = pytest.mark.usefixtures("jax_float64")   # tests/conftest.py

ARCHS = [
    ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 2), "sigmoid", "sigmoid", "sse"),
    ((2, 3, 2), "softplus", "sigmoid", "cross_entropy"),   # out = a^(L)
    ((3, 3, 2), "tanh", "tanh", "sse"),
    ((2, 3, 3), "sigmoid", "softmax", "sse"),               # out = y: softmax's 2nd-order block
    ((3, 3, 3), "softplus", "softmax", "cross_entropy"),
    ((2, 3, 3, 2), ("sigmoid", "softplus"), "tanh", "sse"),
]


def _problem(arch, n_samples=6, seed=5):
    sizes, _, output, _ = arch
    return random_problem(np.random.default_rng(seed), sizes, n_samples=n_samples,
                          output=output)


def _oracle(arch, X, w, T):
    """(exact Hessian, H - GN) of the oracle network, both (W, W) summed over samples."""
    sizes, hidden, output, loss = arch
    h = list(hidden) if isinstance(hidden, tuple) else hidden
    H = o.hessian_fd_grad(sizes, h, output, X, w, T, loss)
    return H, H - o.gauss_newton(sizes, h, output, X, w, T, loss)


def _max_norm(a):
    return float(np.max(np.abs(np.asarray(a))))


def _residual_on_jax(arch, *arrays):
    sizes, hidden, output, loss = arch
    term = symnet.hessian_residual(make_net(sizes, hidden, output), loss)
    got = term.evaluate(*arrays)
    assert isinstance(got, jax.Array) and got.dtype == jnp.float64
    return term, got


@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_jax_residual_equals_oracle_and_numpy(arch):
    X, w, T = _problem(arch)
    term, got = _residual_on_jax(arch, jnp.asarray(X), jnp.asarray(w), jnp.asarray(T))
    H, reference = _oracle(arch, X, w, T)
    # The reference is as good as the central differences of the exact gradient:
    # step^2 |g'''| / 6 + eps |g| / step with step = 1e-5, about 1e-10 of |H| here (measured
    # at most 2.4e-10), so 1e-8 of max |H| leaves a 40x margin. The residual term is at
    # least a sixth of max |H| on every net here (asserted), so a term lost or doubled on
    # JAX fails by seven orders of magnitude.
    assert _max_norm(reference) >= 0.15 * _max_norm(H)
    assert _max_norm(got - reference) <= 1e-8 * _max_norm(H)
    numpy_value = term.evaluate(X, w, T)
    assert _max_norm(np.asarray(got) - numpy_value) <= 1e-13 * _max_norm(numpy_value)


def test_one_sample_drops_nothing_and_sums():
    # X (D,) and T (K,) for one sample: the result is the (W, W) sum, as on NumPy
    arch = ARCHS[4]
    X, w, T = _problem(arch, n_samples=1)
    _, got = _residual_on_jax(arch, jnp.asarray(X[0]), jnp.asarray(w), jnp.asarray(T[0]))
    H, reference = _oracle(arch, X, w, T)
    assert got.shape == (w.size, w.size)
    assert _max_norm(got - reference) <= 1e-8 * _max_norm(H)


def test_numpy_weights_and_targets_with_jax_inputs():
    # w and T as NumPy arrays (w as a list too) are validated and moved to JAX
    arch = ARCHS[5]
    X, w, T = _problem(arch, n_samples=5)
    term, got = _residual_on_jax(arch, jnp.asarray(X), w, T)
    H, reference = _oracle(arch, X, w, T)
    assert _max_norm(got - reference) <= 1e-8 * _max_norm(H)
    _, from_list = _residual_on_jax(arch, jnp.asarray(X), list(w), T)
    assert _max_norm(from_list - got) == 0.0


def test_float32_jax_arrays_are_refused():
    arch = ARCHS[0]
    X, w, T = _problem(arch)
    term = symnet.hessian_residual(make_net(*arch[:3]), "sse")
    with pytest.raises(symnet.SymnetError, match="X is a JAX array of float32.*float64"):
        term.evaluate(jnp.asarray(X, dtype=jnp.float32), w, T)
    with pytest.raises(symnet.SymnetError, match="T is a JAX array of float32"):
        term.evaluate(jnp.asarray(X), w, jnp.asarray(T, dtype=jnp.float32))


def test_weight_decay_adds_nothing_to_the_residual_term():
    # E = sum_n E_n + lam/2 ||w||^2: lam I is all in the Gauss-Newton term, so the residual
    # term with lam = 0.5 is the oracle's H - GN without it (lam I would move the
    # diagonal by 0.5, some 10^7 times the tolerance)
    arch = ARCHS[1]
    X, w, T = _problem(arch)
    net = make_net(*arch[:3])
    decayed = symnet.get_loss("sse", net, weight_decay=0.5)
    got = symnet.hessian_residual(net, decayed).evaluate(jnp.asarray(X), jnp.asarray(w),
                                                         jnp.asarray(T))
    H, reference = _oracle(arch, X, w, T)
    assert _max_norm(got - reference) <= 1e-8 * _max_norm(H)


# -- saturated outputs: |a^(L)| ~ 30 -----------------------------------------------------------
def test_saturated_tanh_output_keeps_its_digits():
    # y = tanh(a), a = w x + b with x = 2, w = 15, b = 0: a = 30. sse, t = 0.5:
    # r = y - t, d^2 y / d(w, b)^2 = tanh''(a) [[x^2, x], [x, 1]], tanh'' = -2 tanh sech^2.
    # sech^2(30) = 4.4e-26: the textbook 1 - tanh(30)^2 is exactly 0 in float64.
    net = symnet.MLP([1, 1], output="tanh")
    X, w, T = np.array([[2.0]]), np.array([15.0, 0.0]), np.array([[0.5]])
    with mpmath.workdps(30):
        a, x = mpmath.mpf(30), mpmath.mpf(2)
        curvature = -2 * mpmath.tanh(a) * mpmath.sech(a) ** 2
        scale = (mpmath.tanh(a) - mpmath.mpf("0.5")) * curvature
        want = np.array([[float(scale * x * x), float(scale * x)],
                         [float(scale * x), float(scale)]])
    assert 1e-26 < abs(want[1, 1]) < 1e-25
    term = symnet.hessian_residual(net, "sse")
    got = term.evaluate(jnp.asarray(X), jnp.asarray(w), jnp.asarray(T))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.asarray(got), term.evaluate(X, w, T), rtol=1e-13, atol=0)


def test_saturated_sigmoid_cross_entropy_keeps_its_digits():
    # y = sigma(a2), a2 = w2 tanh(a1) + b2, a1 = w1 x + b1 (params w1, b1, w2, b2);
    # x = 1, w = (0.5, 0, 2, 29): a2 = 2 tanh(0.5) + 29 = 29.92. Cross-entropy: out = a2
    # and r = y - t = -sigma(-a2) = -1.0e-13 for t = 1 (the textbook y - 1 keeps only 3
    # of its digits). d^2 a2/dw dw: w2 tanh''(a1) [x^2, x; x, 1] in (w1, b1), tanh'(a1)
    # [x, 1] between (w1, b1) and w2, 0 elsewhere (a2 is linear in w2, b2).
    net = symnet.MLP([1, 1, 1], hidden="tanh", output="sigmoid")
    X, w, T = np.array([[1.0]]), np.array([0.5, 0.0, 2.0, 29.0]), np.array([[1.0]])
    with mpmath.workdps(30):
        x, w1, b1, w2, b2 = (mpmath.mpf(v) for v in (1.0, *w))
        a1 = w1 * x + b1
        a2 = w2 * mpmath.tanh(a1) + b2
        r = -1 / (1 + mpmath.exp(a2))
        slope, curvature = mpmath.sech(a1) ** 2, -2 * mpmath.tanh(a1) * mpmath.sech(a1) ** 2
        want = np.zeros((4, 4))
        want[:2, :2] = [[float(r * w2 * curvature * x * x), float(r * w2 * curvature * x)],
                        [float(r * w2 * curvature * x), float(r * w2 * curvature)]]
        want[0, 2] = want[2, 0] = float(r * slope * x)
        want[1, 2] = want[2, 1] = float(r * slope)
        textbook = 1 / (1 + np.exp(-float(a2))) - 1.0     # y rounded first, then y - t
        assert abs(textbook / float(r) - 1) > 1e-6        # so the bar below can tell them apart
    term = symnet.hessian_residual(net, "cross_entropy")
    got = term.evaluate(jnp.asarray(X), jnp.asarray(w), jnp.asarray(T))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-13, atol=0)
    np.testing.assert_allclose(np.asarray(got), term.evaluate(X, w, T), rtol=1e-13, atol=0)


# -- what runs, as text ---------------------------------------------------------------------
def test_source_shows_the_pseudo_error_and_the_residual_kernel():
    term = symnet.hessian_residual(make_net((2, 3, 2), "tanh", "sigmoid"), "cross_entropy")
    text = term.source(backend="jax")
    assert "def residual_values(net, loss, X, w, T):" in text
    assert "class _ResidualPseudoLoss:" in text and "def output_curvature(" in text
    # r = dE_n/da^(L) = sigma(a) - t (the canonical pair), printed with the stable sigma(-a)
    assert "# the loss's r = dE_n/d out" in text
    assert "-t_1*stable_sigmoid(-a_1^(L)) + y_1*(1 - t_1)" in text
    assert "# the loss's delta" not in text    # the pseudo-error does not use E's delta
