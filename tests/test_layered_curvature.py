"""Gauss-Newton, residual term, H v and the input Hessian of Networks and RNNs, against oracles.

The references know nothing of symnet (tests/oracle.py, tests/oracle_curvature.py): plain
NumPy forwards (convolution loops, the Elman loop), the loss's output Hessian and dE/dout
written by hand, complex-step Jacobians and central differences. Each network is written
twice below, once for symnet and once as the oracle's spec. Bounds are normwise,
||got - true|| / ||true||: 1e-11 where the reference is complex-step only (Gauss-Newton),
1e-7 where it takes a central difference of step 1e-5 (truncation ~1e-10 times the third
derivative's size, rounding ~ eps / 1e-5 ~ 1e-11, relative).
"""
from functools import lru_cache

import numpy as np
import pytest

import symnet
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

import oracle
import oracle_curvature


# -- the networks, each written for symnet and for the oracle ---------------------------------
def _conv1d(act):
    return (symnet.Network((1, 5), [Conv1D(2, 2, "tanh"), Flatten(), Dense(2, act)]),
            lambda out: lambda X, w: oracle.layered_forward(
                (1, 5), [("conv1d", 2, 2, "tanh"), ("flatten",), ("dense", 2, out)], X, w))


def _conv2d(act):
    return (symnet.Network((1, 3, 3), [Conv2D(2, 2, "tanh"), Flatten(), Dense(2, act)]),
            lambda out: lambda X, w: oracle.layered_forward(
                (1, 3, 3), [("conv2d", 2, 2, "tanh"), ("flatten",), ("dense", 2, out)], X, w))


def _residual(act):
    return (symnet.Network(2, [Dense(3, "tanh"), Residual([Dense(3, "sigmoid")]), Dense(2, act)]),
            lambda out: lambda X, w: oracle.layered_forward(
                2, [("dense", 3, "tanh"), ("residual", [("dense", 3, "sigmoid")]),
                    ("dense", 2, out)], X, w))


def _rnn_last(act):
    return (symnet.RNN(1, 2, 2, steps=3, output=act),
            lambda out: lambda X, w: oracle.rnn_forward(1, 2, 2, X, w, output=out))


def _rnn_all(act):
    return (symnet.RNN(1, 2, 1, steps=3, output=act, outputs="all"),
            lambda out: lambda X, w: oracle.rnn_forward(1, 2, 1, X, w, output=out,
                                                        outputs="all"))


NETWORKS = {"conv1d": _conv1d, "conv2d": _conv2d, "residual": _residual,
            "rnn_last": _rnn_last, "rnn_all": _rnn_all}
# (loss, output activation): sum-of-squares, binary and softmax cross-entropy
LOSSES = [("sse", "linear"), ("cross_entropy", "sigmoid"), ("cross_entropy", "softmax")]
CASES = [(name, loss, act) for name in NETWORKS for loss, act in LOSSES
         if not (name == "rnn_all" and act == "softmax")]       # softmax needs outputs="last"


@lru_cache(maxsize=None)
def _case(name, loss, act, seed=0):
    """net, X, w, T, the oracle's y(X, w) and out(X, w) (out = a^(L) for cross-entropy)."""
    net, oracle_of = NETWORKS[name](act)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, net.sizes[0]))
    w = net.init_params(seed=seed + 1, scale=0.8)
    K = net.sizes[-1]
    # soft targets in [0, 1], not summing to 1: softmax's Lambda then carries its sum t factor
    T = rng.uniform(0.1, 0.9, size=(3, K)) if loss == "cross_entropy" else rng.normal(size=(3, K))
    out = oracle_of("linear") if loss == "cross_entropy" else oracle_of(act)
    return net, X, w, T, oracle_of(act), out


@lru_cache(maxsize=None)
def _derived(kind, name, loss, act):
    net = _case(name, loss, act)[0]
    if kind == "gauss_newton":
        return symnet.hessian(net, loss, approx="gauss_newton")
    if kind == "residual":
        return symnet.hessian_residual(net, loss)
    if kind == "hessian":
        return symnet.hessian(net, loss)
    return symnet.hessian_vector_product(net, loss)


def _relative(got, true):
    return np.linalg.norm(got - true) / np.linalg.norm(true)


# -- Gauss-Newton and the residual term -----------------------------------------------------------
@pytest.mark.parametrize("name, loss, act", CASES)
def test_gauss_newton_is_the_sum_of_jacobian_products(name, loss, act):
    net, X, w, T, forward, out = _case(name, loss, act)
    G = _derived("gauss_newton", name, loss, act).evaluate(X, w, T)
    weights = oracle_curvature.output_hessian(loss, act, forward(X, w), T)
    expected = oracle_curvature.gauss_newton(out, X, w, weights)
    assert _relative(G, expected) < 1e-11


@pytest.mark.parametrize("name, loss, act", [("conv1d", "cross_entropy", "softmax"),
                                             ("residual", "cross_entropy", "sigmoid"),
                                             ("rnn_last", "sse", "linear")])
def test_gauss_newton_named_form_against_the_oracle(name, loss, act):
    # The named form (canonical.weighted_gram: upper triangle, mirrored) is not what
    # evaluate runs; evaluated entry by entry from it alone it must give the oracle's
    # B^T Lambda B (complex-step B, Lambda written by hand), and be symmetric as written.
    net, X, w, T, forward, out = _case(name, loss, act)
    G = _derived("gauss_newton", name, loss, act)
    weights = oracle_curvature.output_hessian(loss, act, forward(X, w), T)
    expected = oracle_curvature.gauss_newton(out, X, w, weights)
    assert _relative(G.evaluate_entries(X, w, T), expected) < 1e-11
    assert G.named == G.named.T


@pytest.mark.parametrize("name, loss, act", CASES)
def test_residual_term_is_the_residuals_times_second_derivatives(name, loss, act):
    net, X, w, T, forward, out = _case(name, loss, act)
    R = _derived("residual", name, loss, act).evaluate(X, w, T)
    r = oracle_curvature.output_residual(loss, act, forward(X, w), T)
    expected = oracle_curvature.residual_term(out, X, w, r)
    assert _relative(R, expected) < 1e-7


@pytest.mark.parametrize("loss", ["log_cosh", "huber"])
def test_gauss_newton_and_residual_for_the_other_losses(loss):
    net, X, w, _, forward, out = _case("conv1d", "sse", "linear")
    # targets with residuals y - t of both sizes for Huber: inside and outside |x| <= 1,
    # each at least 0.1 from the switch (the differences below never straddle it)
    Y = forward(X, w)
    offsets = np.where(np.arange(Y.size).reshape(Y.shape) % 2 == 0, 0.4, -1.7)
    T = Y - offsets
    G = symnet.hessian(net, loss, approx="gauss_newton").evaluate(X, w, T)
    weights = oracle_curvature.output_hessian(loss, "linear", Y, T)
    assert _relative(G, oracle_curvature.gauss_newton(out, X, w, weights)) < 1e-11
    R = symnet.hessian_residual(net, loss).evaluate(X, w, T)
    r = oracle_curvature.output_residual(loss, "linear", Y, T)
    assert _relative(R, oracle_curvature.residual_term(out, X, w, r)) < 1e-7


def test_gauss_newton_plus_residual_is_the_exact_hessian_of_an_rnn():
    # the split H = G + R, each side derived on its own route; and H from the oracle
    net, X, w, T, forward, _ = _case("rnn_last", "cross_entropy", "softmax")
    G = _derived("gauss_newton", "rnn_last", "cross_entropy", "softmax").evaluate(X, w, T)
    R = _derived("residual", "rnn_last", "cross_entropy", "softmax").evaluate(X, w, T)
    H = oracle.model_hessian_fd_grad(forward, X, w, T, "cross_entropy", "softmax")
    assert _relative(G + R, H) < 1e-7


def test_weight_decay_adds_lambda_identity_to_gauss_newton_only():
    net, X, w, T, _, _ = _case("conv1d", "sse", "linear")
    plain = _derived("gauss_newton", "conv1d", "sse", "linear").evaluate(X, w, T)
    decayed = symnet.hessian(net, "sse", approx="gauss_newton", weight_decay=0.25)
    np.testing.assert_allclose(decayed.evaluate(X, w, T) - plain, 0.25 * np.eye(net.n_params),
                               rtol=0, atol=1e-13 * np.abs(plain).max())


def test_curvature_report_of_a_network_takes_h_apart():
    net, X, w, T, forward, out = _case("conv1d", "cross_entropy", "softmax")
    report = symnet.curvature_report(net, "cross_entropy", X, w, T, threshold=10.0)
    H = oracle.model_hessian_fd_grad(forward, X, w, T, "cross_entropy", "softmax")
    G = oracle_curvature.gauss_newton(
        out, X, w, oracle_curvature.output_hessian("cross_entropy", "softmax", forward(X, w), T))
    assert _relative(report.hessian, H) < 1e-7
    assert _relative(report.gauss_newton, G) < 1e-11
    assert abs(report.relative_difference - _relative(G, H)) < 1e-6


# -- Hessian-vector products ------------------------------------------------------------------------
@pytest.mark.parametrize("name, loss, act", CASES)
def test_hessian_vector_product_is_the_gradients_difference_along_v(name, loss, act):
    net, X, w, T, forward, _ = _case(name, loss, act)
    V = np.random.default_rng(5).normal(size=(net.n_params, 2))
    Hv = _derived("hvp", name, loss, act).evaluate(X, w, T, V)

    def gradient(v):
        return oracle.model_grad(forward, X, v, T, loss, act)
    expected = np.stack([oracle_curvature.hessian_vector(gradient, w, V[:, j]) for j in range(2)],
                        axis=-1)
    assert Hv.shape == (net.n_params, 2)
    assert _relative(Hv, expected) < 1e-7


@pytest.mark.parametrize("name, loss, act", [("conv2d", "cross_entropy", "softmax"),
                                             ("rnn_all", "sse", "linear")])
def test_hessian_vector_product_equals_the_exact_hessian_times_v(name, loss, act):
    # the other route: W forward passes (one per w_q) against one pass along v
    net, X, w, T, _, _ = _case(name, loss, act)
    v = np.random.default_rng(6).normal(size=net.n_params)
    H = _derived("hessian", name, loss, act).evaluate(X, w, T)
    Hv = _derived("hvp", name, loss, act).evaluate(X, w, T, v)
    assert _relative(Hv, H @ v) < 1e-12


def test_hessian_vector_product_is_one_gradient_sized_pass():
    # tangents R{.} of the forward equations and of the deltas: at most one per named
    # quantity, so the named form is about twice the gradient's, not W times
    net = _case("rnn_last", "sse", "linear")[0]
    grad = symnet.gradient(net, "sse")
    hvp = _derived("hvp", "rnn_last", "sse", "linear")
    tangents = [s for s in hvp.definitions if s.name.startswith("R{")]
    assert len(tangents) <= len(net.equations) + len(grad.definitions)
    assert [s.name for s in hvp.direction[:2]] == ["v_w_11^(xh)", "v_w_21^(xh)"]


def test_hessian_vector_product_with_weight_decay_adds_lambda_v():
    net, X, w, T, _, _ = _case("residual", "sse", "linear")
    v = np.linspace(-1, 1, net.n_params)
    plain = _derived("hvp", "residual", "sse", "linear").evaluate(X, w, T, v)
    decayed = symnet.hessian_vector_product(net, "sse", weight_decay=0.5).evaluate(X, w, T, v)
    np.testing.assert_allclose(decayed - plain, 0.5 * v, rtol=0, atol=1e-13)


def test_hessian_vector_product_refuses_a_direction_of_the_wrong_shape():
    net, X, w, T, _, _ = _case("residual", "sse", "linear")
    with pytest.raises(symnet.SymnetError, match=rf"\({net.n_params},\)"):
        _derived("hvp", "residual", "sse", "linear").evaluate(X, w, T, np.ones(3))


# -- the input Hessian ------------------------------------------------------------------------------
@pytest.mark.parametrize("name, act", [("conv1d", "sigmoid"), ("conv2d", "tanh"),
                                       ("residual", "softmax"), ("rnn_last", "tanh"),
                                       ("rnn_all", "sigmoid")])
def test_input_hessian_is_the_input_jacobians_difference(name, act):
    net, forward_of = NETWORKS[name](act)
    forward = forward_of(act)
    X = np.random.default_rng(7).normal(size=(2, net.sizes[0]))
    w = net.init_params(seed=8, scale=0.8)
    H = symnet.input_hessian(net).evaluate(X, w)
    expected = oracle.model_input_hessian(forward, X, w)     # central differences of a c.s. J
    assert H.shape == (2, net.sizes[-1], net.sizes[0], net.sizes[0])
    assert _relative(H, expected) < 1e-7


# -- symnet.check on every layered derivation, the last layer not Dense ------------------------------
CONV_LAST = (symnet.Network((1, 3, 3), [Conv2D(1, 2, "sigmoid")]), "cross_entropy")
RNN_ALL = (symnet.RNN(1, 2, 1, steps=2, outputs="all"), "sse")


@pytest.mark.parametrize("net, loss", [CONV_LAST, RNN_ALL], ids=["conv2d_last", "rnn_all"])
def test_check_passes_on_every_layered_derivation(net, loss):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3, net.sizes[0]))
    w = net.init_params(seed=10)
    T = rng.uniform(0.1, 0.9, size=(3, net.sizes[-1]))
    derivations = [symnet.input_jacobian(net), symnet.param_jacobian(net),
                   symnet.gradient(net, loss), symnet.hessian(net, loss),
                   symnet.hessian(net, loss, approx="gauss_newton"),
                   symnet.hessian_residual(net, loss), symnet.input_hessian(net)]
    for derivation in derivations:          # the default hessian_from="gradient"
        report = symnet.check(derivation, X, w, T if derivation.needs_targets else None)
        assert report.passed, (derivation.kind, str(report))
    hvp = symnet.hessian_vector_product(net, loss)
    assert symnet.check(hvp, X, w, T, v=rng.normal(size=net.n_params)).passed
    assert symnet.check(derivations[3], X, w, T, hessian_from="error").passed


def test_check_finds_a_planted_error_in_a_layered_hessian():
    net, loss = RNN_ALL
    rng = np.random.default_rng(11)
    X, w = rng.normal(size=(2, net.sizes[0])), net.init_params(seed=12)
    T = rng.normal(size=(2, net.sizes[-1]))
    H = symnet.hessian(net, loss)
    exact = H._evaluator
    planted = np.zeros((net.n_params, net.n_params))
    planted[1, 1] = 1e-4 * max(1.0, abs(exact(X, w, T)[1, 1]))   # one entry, off by 1e-4
    H._evaluator = lambda X, w, T: exact(X, w, T) + planted
    report = symnet.check(H, X, w, T)
    assert not report.passed
    assert {entry.index for entry in report.failures()} == {(1, 1)}


# -- too large, refused up front ---------------------------------------------------------------------
def test_too_large_curvature_requests_are_refused_up_front_with_the_estimate():
    wide = symnet.Network(1000, [Dense(1, "linear")])          # W = 1001 > 1000
    with pytest.raises(symnet.TooLargeError, match=r"1,002,001 symbolic entries .*minutes"):
        symnet.hessian(wide, "sse", approx="gauss_newton")
    with pytest.raises(symnet.TooLargeError, match=r"1,002,001 symbolic entries .*minutes"):
        symnet.hessian_residual(wide, "sse")
    many_inputs = symnet.Network(500, [Dense(20, "tanh"), Dense(10, "linear")])
    with pytest.raises(symnet.TooLargeError, match=r"the input Hessian .* symbolic entries .*GB"):
        symnet.input_hessian(many_inputs)
