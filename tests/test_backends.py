"""Derivations on JAX and Dask arrays: the same matrix form, checked against the oracle.

Every value is compared with the independent complex-step / central-difference NumPy
network of tests/oracle.py, and with symnet's NumPy evaluation at 1e-13 relative (the
issue's bar: the same formulas in another array library differ only by rounding).
"""
import subprocess
import sys

import numpy as np
import pytest

import oracle as o
import symnet
from helpers import ARCHS, arch_id, make_net, random_problem, relu_margin

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
da = pytest.importorskip("dask.array")

KINDS = ["gradient", "input_jacobian", "param_jacobian", "hessian", "gauss_newton",
         "hessian_vector_product", "input_hessian"]


pytestmark = pytest.mark.usefixtures("jax_float64")   # tests/conftest.py


def _derivation(kind, net, loss):
    if kind in ("input_jacobian", "param_jacobian", "input_hessian"):
        return getattr(symnet, kind)(net)
    if kind == "gauss_newton":
        return symnet.hessian(net, loss, approx="gauss_newton")
    return getattr(symnet, kind)(net, loss)


def _problem(arch, n_samples=5, seed=3):
    sizes, hidden, output, loss = arch
    rng = np.random.default_rng(seed)
    X, w, T = random_problem(rng, sizes, n_samples=n_samples, output=output)
    v = rng.normal(size=w.size)
    return X, w, T, v


def _oracle(kind, arch, X, w, T, v):
    """(reference, relative tolerance) from the independent NumPy network."""
    sizes, hidden, output, loss = arch
    h = list(hidden) if isinstance(hidden, tuple) else hidden
    if kind == "gradient":
        return o.grad(sizes, h, output, X, w, T, loss), 1e-12
    if kind == "input_jacobian":
        return o.input_jacobian(sizes, h, output, X, w), 1e-12
    if kind == "param_jacobian":
        return o.param_jacobian(sizes, h, output, X, w), 1e-12
    if kind == "gauss_newton":
        return o.gauss_newton(sizes, h, output, X, w, T, loss), 1e-11
    if kind == "input_hessian":   # central differences of the complex-step input Jacobian
        return o.model_input_hessian(lambda Xs, v: o.forward(sizes, h, output, Xs, v),
                                     X, w), 1e-6
    H = o.hessian_fd_grad(sizes, h, output, X, w, T, loss)   # good to ~1e-8 (oracle.py)
    return (H if kind == "hessian" else H @ v), 1e-6


def _relative(got, want):
    return np.max(np.abs(np.asarray(got) - want)) / max(np.max(np.abs(want)), 1e-300)


def _arguments(d, X, w, T, v):
    return (X, w, T, v) if d.kind == "hessian_vector_product" else (X, w, T)


@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
@pytest.mark.parametrize("kind", KINDS)
def test_jax_equals_oracle_and_numpy(arch, kind):
    X, w, T, v = _problem(arch)
    sizes, hidden, output, loss = arch
    net = make_net(sizes, hidden, output)
    if kind in ("hessian", "hessian_vector_product", "input_hessian"):
        A = o.preactivations(sizes, list(hidden) if isinstance(hidden, tuple) else hidden,
                             output, X, w)
        # the fixed data keep every ReLU unit away from its kink, where the difference
        # reference would straddle it: asserted, so a change of data cannot skip silently
        assert relu_margin(A[:-1], hidden, len(sizes) - 2) >= 1e-3
    d = _derivation(kind, net, loss)
    args = _arguments(d, X, w, T, v)
    got = d.evaluate(*[jnp.asarray(a) for a in args])
    assert isinstance(got, jax.Array) and got.dtype == jnp.float64
    reference, rtol = _oracle(kind, arch, X, w, T, v)
    assert _relative(got, reference) <= rtol
    assert _relative(got, d.evaluate(*args)) <= 1e-13


@pytest.mark.parametrize("kind", KINDS)
def test_jax_with_numpy_weights_and_one_sample(kind):
    arch = ((3, 4, 2), "tanh", "linear", "sse")
    X, w, T, v = _problem(arch, n_samples=1)
    d = _derivation(kind, make_net(*arch[:3]), "sse")
    # X (D,) as a JAX array, w and T (K,) as NumPy: the sample axis is dropped as for NumPy
    got = d.evaluate(*_arguments(d, jnp.asarray(X[0]), w, T[0], v))
    assert isinstance(got, jax.Array)
    reference, rtol = _oracle(kind, arch, X, w, T, v)
    want = reference if d.summed else reference[0]
    assert got.shape == want.shape and _relative(got, want) <= rtol


def test_jax_keeps_digits_where_the_output_saturates():
    # y = sigma(w x + b) with w = 40, x = 1, b = 0, t = 1, cross-entropy: delta = y - t =
    # -sigma(-40) = -1 / (1 + e^40) = -4.248354255291589e-18 (the textbook 1 - y rounds to 0)
    net = symnet.MLP([1, 1], output="sigmoid")
    g = symnet.gradient(net, "cross_entropy")
    got = g.evaluate(jnp.asarray([[1.0]]), jnp.asarray([40.0, 0.0]), jnp.asarray([[1.0]]))
    np.testing.assert_allclose(np.asarray(got), [-4.248354255291589e-18] * 2, rtol=1e-15)
    # tanh'(20) = 1 - tanh(20)^2 = 4 e^-40 / (1 + e^-40)^2 = 1.6993417021166355e-17 (mpmath)
    J = symnet.input_jacobian(symnet.MLP([1, 1], output="tanh"))
    got = J.evaluate(jnp.asarray([[1.0]]), jnp.asarray([20.0, 0.0]))
    np.testing.assert_allclose(np.asarray(got), [[[20 * 1.6993417021166355e-17]]], rtol=1e-14)


# -- bad input on JAX ---------------------------------------------------------------------
def test_jax_float32_is_refused_not_converted():
    net = symnet.MLP([2, 1])
    g = symnet.gradient(net, "sse")
    X32 = jnp.asarray(np.ones((3, 2)), dtype=jnp.float32)
    with pytest.raises(symnet.SymnetError, match="float32.*float64"):
        g.evaluate(X32, np.zeros(3), np.zeros((3, 1)))


def test_jax_in_float32_mode_is_refused_with_the_setting():
    g = symnet.gradient(symnet.MLP([2, 1]), "sse")
    X = jnp.ones((3, 2))
    jax.config.update("jax_enable_x64", False)
    with pytest.raises(symnet.SymnetError, match="jax_enable_x64"):
        g.evaluate(X, np.zeros(3), np.zeros((3, 1)))


def test_jax_bad_shapes_and_values():
    g = symnet.gradient(symnet.MLP([2, 1]), "sse")
    with pytest.raises(symnet.SymnetError, match=r"X must have shape \(N, 2\)"):
        g.evaluate(jnp.ones((3, 3)), np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(symnet.SymnetError, match=r"T must have shape \(3, 1\)"):
        g.evaluate(jnp.ones((3, 2)), np.zeros(3), np.zeros((2, 1)))
    with pytest.raises(symnet.SymnetError, match="finite"):
        g.evaluate(jnp.asarray([[1.0, np.nan]]), np.zeros(3), np.zeros((1, 1)))


@pytest.mark.parametrize("arch", ARCHS[:6], ids=arch_id)
def test_direct_input_jacobian_on_jax_equals_the_oracle(arch):
    # the substituted entries printed for JAX: the oracle's complex step, and NumPy
    X, w, T, v = _problem(arch)
    sizes, hidden, output, _ = arch
    J = symnet.input_jacobian(make_net(sizes, hidden, output), method="direct")
    got = J.evaluate(jnp.asarray(X), jnp.asarray(w))
    assert isinstance(got, jax.Array) and got.dtype == jnp.float64
    assert _relative(got, _oracle("input_jacobian", arch, X, w, T, v)[0]) <= 1e-12
    assert _relative(got, J.evaluate(X, w)) <= 1e-13


def test_direct_input_jacobian_on_jax_keeps_the_issues_large_logits():
    # MLP([1, 2], output="softmax"), x = 1: w = (400, 400, 0, 0) gives dy/dx = 0 exactly;
    # w = (355, 0, 0, 0) gives 355 y_1 y_2 = 2.3751294103494829e-152 (mpmath, 40 digits);
    # w = (800, 0, 0, 0): exp(800) overflows the textbook form, the true value is ~0
    J = symnet.input_jacobian(symnet.MLP([1, 2], output="softmax"), method="direct")
    x = jnp.asarray([[1.0]])
    assert np.all(np.asarray(J.evaluate(x, jnp.asarray([400.0, 400.0, 0.0, 0.0]))) == 0.0)
    np.testing.assert_allclose(np.asarray(J.evaluate(x, jnp.asarray([355.0, 0.0, 0.0, 0.0]))).ravel(),
                               [2.375129410349483e-152, -2.375129410349483e-152], rtol=1e-13)
    assert np.all(np.asarray(J.evaluate(x, jnp.asarray([800.0, 0.0, 0.0, 0.0]))) == 0.0)


def test_evaluate_entries_refuses_jax_arrays_not_converts_them():
    # the named form is compiled to NumPy: JAX arrays (float32 among them) are refused
    J = symnet.input_jacobian(symnet.MLP([2, 1]))
    with pytest.raises(symnet.SymnetError, match="evaluate_entries .* takes NumPy arrays"):
        J.evaluate_entries(jnp.ones((2, 2), dtype=jnp.float32), np.zeros(3))
    hvp = symnet.hessian_vector_product(symnet.MLP([2, 1]), "sse")    # the direction v too
    with pytest.raises(symnet.SymnetError, match="evaluate_entries .* takes NumPy arrays"):
        hvp.evaluate_entries(np.ones((2, 2)), np.zeros(3), np.zeros((2, 1)),
                             jnp.ones(3, dtype=jnp.float32))


def test_jax_overflow_is_reported():
    # a = 1e200 * 1e200 overflows float64 in the first layer: inf, never a number
    g = symnet.gradient(symnet.MLP([1, 1]), "sse")
    with pytest.raises(symnet.NumericalOverflowError):
        g.evaluate(jnp.asarray([[1e200]]), jnp.asarray([1e200, 0.0]), jnp.asarray([[0.0]]))


# -- Dask ---------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS[:6], ids=arch_id)
@pytest.mark.parametrize("kind", KINDS)
def test_dask_equals_oracle_and_numpy(arch, kind):
    X, w, T, v = _problem(arch, n_samples=7)
    sizes, hidden, output, loss = arch
    if kind in ("hessian", "hessian_vector_product") and hidden == "relu":
        A = o.preactivations(sizes, hidden, output, X, w)
        # the fixed data keep every ReLU unit away from its kink, where the difference
        # reference would straddle it: asserted, so a change of data cannot skip silently
        assert relu_margin(A[:-1], hidden, len(sizes) - 2) >= 1e-3
    d = _derivation(kind, make_net(sizes, hidden, output), loss)
    Xd = da.from_array(X, chunks=(3, sizes[0]))                # chunks of 3, 3 and 1 samples
    lazy = d.evaluate(*_arguments(d, Xd, w, T, v))
    assert isinstance(lazy, da.Array)
    if not d.summed:
        assert lazy.chunks[0] == (3, 3, 1)                    # per sample: X's row chunks
    got = lazy.compute()
    reference, rtol = _oracle(kind, arch, X, w, T, v)
    assert _relative(got, reference) <= rtol
    assert _relative(got, d.evaluate(*_arguments(d, X, w, T, v))) <= 1e-13


def test_dask_weight_decay_is_added_once():
    # E = sum_n E_n + lam/2 ||w||^2: the gradient is the oracle's plus lam w, whatever the chunks
    arch = ((3, 4, 2), "tanh", "linear", "sse")
    X, w, T, _ = _problem(arch, n_samples=9)
    g = symnet.gradient(make_net(*arch[:3]), "sse", weight_decay=0.5)
    got = g.evaluate(da.from_array(X, chunks=(2, 3)), w, da.from_array(T, chunks=(4, 2)))
    want = o.grad(*arch[:3], X, w, T, "sse") + 0.5 * w
    assert _relative(got.compute(), want) <= 1e-12


def test_dask_chunked_along_features_is_refused_with_the_fix():
    g = symnet.gradient(symnet.MLP([4, 1]), "sse")
    X = da.from_array(np.ones((6, 4)), chunks=(3, 2))
    with pytest.raises(symnet.SymnetError, match=r"chunked along its features.*rechunk\(\{1: -1\}\)"):
        g.evaluate(X, np.zeros(5), np.zeros((6, 1)))
    with pytest.raises(symnet.SymnetError, match="2-D Dask array"):
        g.evaluate(da.ones((6, 3), chunks=3), np.zeros(5), np.zeros((6, 1)))


def test_dask_bad_values_fail_when_computed():
    g = symnet.gradient(symnet.MLP([2, 1]), "sse")
    X = da.from_array(np.array([[1.0, 2.0], [np.inf, 0.0]]), chunks=(1, 2))
    lazy = g.evaluate(X, np.zeros(3), np.zeros((2, 1)))
    with pytest.raises(symnet.SymnetError, match="X must be finite"):
        lazy.compute()


# -- the source a derivation runs ---------------------------------------------------------
def test_source_shows_the_functions_and_kernels_it_runs():
    net = symnet.MLP([2, 3, 1], hidden="sigmoid")
    gradient = symnet.gradient(net, "sse").source()
    assert "def gradient_values(net, loss, X, w, T):" in gradient
    assert "def forward_layers(self, X, w, activate=None):" in gradient
    assert "def _hessian_vector_chunk" not in gradient          # not on the gradient's path
    # sigma'(a) = sigma(a) sigma(-a) with z = sigma(a), sigma(-a) printed as its stable kernel
    assert "# h_1'(a, z) = z*stable_sigmoid(-a)" in gradient
    hvp = symnet.hessian_vector_product(net, "sse").source(backend="jax")
    assert "def _hessian_vector_chunk(net, loss, X, w, T, V):" in hvp and "h_1''(a, z)" in hvp
    with pytest.raises(symnet.SymnetError, match="backend must be one of"):
        symnet.gradient(net, "sse").source(backend="torch")


def test_importing_symnet_imports_neither_jax_nor_dask():
    code = "import sys, symnet; print('jax' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=symnet.__file__.rsplit("/symnet/", 1)[0])
    assert out.stdout.split() == ["False", "False"]
