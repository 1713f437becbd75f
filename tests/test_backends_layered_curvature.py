"""A Network's or RNN's second derivatives on JAX: the R-operator over terms, checked independently.

``evaluate`` of the exact Hessian, the residual term, H v and the input Hessian runs
``symnet.compiled.layered_curvature_form`` on NumPy and, traced under ``jax.jit`` (the
directions under ``jax.vmap``), on JAX arrays. The references know nothing of symnet:
the networks of tests/oracle.py (convolutions as loops, the Elman RNN) differentiated by
complex step and central differences (tests/oracle_curvature.py), and the named form of
each derivation evaluated entry by entry (``evaluate_entries``, another route through
symnet). JAX equals NumPy to 1e-13 relative; central differences of step 1e-5 are good
to about 1e-7 relative (truncation ~1e-10, rounding ~eps / 1e-5).
"""
import numpy as np
import pytest

import layered_cases as cases
import oracle
import oracle_curvature
import symnet

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

pytestmark = pytest.mark.usefixtures("jax_float64")   # tests/conftest.py

CASES = {"conv1d_stride2_same": cases.conv1d_strided_same, "conv1d_relu_stride3": cases.conv1d_relu,
         "residual": cases.residual, "conv2d": cases.conv2d("sigmoid"),
         "rnn_last": cases.rnn("last", "tanh"), "rnn_all": cases.rnn("all", "sigmoid")}
PAIRS = cases.pairs(CASES)
# the smaller networks, where the oracle's W x W central differences are cheap
SMALL = [("rnn_last", "softmax", "cross_entropy"), ("rnn_all", "sigmoid", "cross_entropy"),
         ("conv2d", "linear", "sse"), ("conv1d_stride2_same", "sigmoid", "cross_entropy")]


def _relative(got, want):
    return np.max(np.abs(np.asarray(got) - want)) / max(np.max(np.abs(want)), 1e-300)


def _problem(case, out, loss, seed=3, n=4):
    return cases.problem(CASES, case, out, seed, n)   # ReLU's kink margin asserted there


def _on_jax(derivation, *arrays):
    got = derivation.evaluate(*[jnp.asarray(a) for a in arrays])
    assert isinstance(got, jax.Array) and got.dtype == jnp.float64
    return np.asarray(got)


def _oracle_gradient(f, X, T, loss, out):
    return lambda w: oracle.model_grad(f, X, w, T, loss, out)


@pytest.mark.parametrize("case, out, loss", PAIRS)
def test_hessian_and_hvp_on_jax_equal_the_oracles_hvp_and_numpy(case, out, loss):
    net, f, X, w, T = _problem(case, out, loss)
    V = np.random.default_rng(4).normal(size=(net.n_params, 2))
    # H v by central differences of the oracle's complex-step gradient along each v
    reference = np.stack([oracle_curvature.hessian_vector(_oracle_gradient(f, X, T, loss, out),
                                                          w, V[:, j]) for j in range(2)], axis=-1)
    hvp = symnet.hessian_vector_product(net, loss)
    on_jax = _on_jax(hvp, X, w, T, V)
    assert on_jax.shape == (net.n_params, 2)
    assert _relative(on_jax, reference) < 1e-7
    assert _relative(on_jax, hvp.evaluate(X, w, T, V)) <= 1e-13
    if case == "residual" and loss != "sse":
        return      # its exact Hessian takes 7 s to derive symbolically: the sse pair has it
    H = symnet.hessian(net, loss)
    H_jax = _on_jax(H, X, w, T)
    assert np.array_equal(H_jax, H_jax.T)
    assert _relative(H_jax @ V, reference) < 1e-7
    assert _relative(H_jax, H.evaluate(X, w, T)) <= 1e-13


@pytest.mark.parametrize("case, out, loss", SMALL)
def test_hessian_and_residual_on_numpy_and_jax_equal_the_oracle(case, out, loss):
    net, f, X, w, T = _problem(case, out, loss)
    H_reference = oracle.model_hessian_fd_grad(f, X, w, T, loss, out)
    H = symnet.hessian(net, loss)
    assert _relative(H.evaluate(X, w, T), H_reference) < 1e-7
    assert _relative(_on_jax(H, X, w, T), H_reference) < 1e-7
    # the residual term sum_n sum_k r_k d^2 out_k / dw dw, r = dE_n/d out by hand, out = y for
    # sse and a^(L) for cross-entropy (the canonical pairs: out = a, its residual term is 0)
    _, f_out = CASES[case]("linear" if loss == "cross_entropy" else out)
    r = oracle_curvature.output_residual(loss, out, f(X, w), T)
    R_reference = oracle_curvature.residual_term(f_out, X, w, r)
    R = symnet.hessian_residual(net, loss)
    scale = max(np.abs(H_reference).max(), 1e-300)
    assert np.max(np.abs(R.evaluate(X, w, T) - R_reference)) / scale < 1e-7
    assert np.max(np.abs(_on_jax(R, X, w, T) - R_reference)) / scale < 1e-7
    # and the other route through symnet: the named form, entry by entry
    assert _relative(_on_jax(R, X, w, T), R.evaluate_entries(X, w, T)) <= 1e-12


@pytest.mark.parametrize("case", ["rnn_last", "conv2d"])
def test_residual_term_of_sse_on_jax_is_the_oracles(case):
    # sse with a nonlinear output: out = y, and the residual term is not 0
    net, f, X, w, T = _problem(case, "sigmoid", "sse")
    r = oracle_curvature.output_residual("sse", "sigmoid", f(X, w), T)
    reference = oracle_curvature.residual_term(f, X, w, r)
    assert np.abs(reference).max() > 1e-3          # a term that is there
    R = symnet.hessian_residual(net, "sse")
    assert _relative(_on_jax(R, X, w, T), reference) < 1e-7
    assert _relative(_on_jax(R, X, w, T), R.evaluate(X, w, T)) <= 1e-13


@pytest.mark.parametrize("case, out", sorted({(case, out) for case, out, _ in PAIRS}))
def test_input_hessian_on_jax_equals_the_oracle_and_numpy(case, out):
    net, f, X, w, _ = _problem(case, out, "sse")
    reference = oracle.model_input_hessian(f, X, w)     # central differences of a c.s. J
    H = symnet.input_hessian(net)
    on_jax = _on_jax(H, X, w)
    assert on_jax.shape == (len(X), net.sizes[-1], net.sizes[0], net.sizes[0])
    assert _relative(on_jax, reference) < 1e-7
    assert _relative(on_jax, H.evaluate(X, w)) <= 1e-13


def test_one_sample_numpy_weights_and_weight_decay_on_jax():
    net, f, X, w, T = _problem("rnn_last", "linear", "sse")
    x, t = X[0], T[0]
    H = symnet.hessian(net, "sse", weight_decay=0.5)
    got = np.asarray(H.evaluate(jnp.asarray(x), w, t))           # NumPy w and T, one sample
    plain = oracle.model_hessian_fd_grad(f, X[:1], w, T[:1], "sse", "linear")
    assert _relative(got, plain + 0.5 * np.eye(net.n_params)) < 1e-7
    v = np.random.default_rng(8).normal(size=net.n_params)
    hvp = symnet.hessian_vector_product(net, "sse", weight_decay=0.5)
    assert _relative(np.asarray(hvp.evaluate(jnp.asarray(X), w, T, v)),
                     symnet.hessian(net, "sse").evaluate(X, w, T) @ v + 0.5 * v) <= 1e-13
    inputs = symnet.input_hessian(net)
    assert np.asarray(inputs.evaluate(jnp.asarray(x), jnp.asarray(w))).shape == (
        net.sizes[-1], net.sizes[0], net.sizes[0])


def test_bad_directions_and_float32_are_refused_on_jax():
    net, _, X, w, T = _problem("conv2d", "linear", "sse")
    hvp = symnet.hessian_vector_product(net, "sse")
    with pytest.raises(symnet.SymnetError, match=rf"v must be finite with shape \({net.n_params},\)"):
        hvp.evaluate(jnp.asarray(X), w, T, np.ones(net.n_params + 1))
    with pytest.raises(symnet.SymnetError, match="float32"):
        symnet.hessian(net, "sse").evaluate(jnp.asarray(X, dtype=jnp.float32), w, T)
