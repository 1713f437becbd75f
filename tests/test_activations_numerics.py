"""Activation derivative conventions (ReLU kinks) and numerical stability at
huge pre-activations (finite, and no warnings: warnings are errors)."""
import warnings

import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import derivation, make_net


# --------------------------------------------------------- the derivative table
# 1-1-1 net, hidden h, linear output, w = (w1, b1, w2, b2) = (1, 0, 1, 0):
# y = h(x), so dy/dx = h'(x) reproduces the table of REFERENCE.md.
@pytest.mark.parametrize("act,a,slope", [
    ("sigmoid", 0.0, 0.25),                      # sigma'(0) = 1/4, its maximum
    ("tanh", 1.0, 0.41997434161402614),          # 1 - tanh(1)^2
    ("relu", 0.0, 0.0), ("relu", 1.5, 1.0), ("relu", -1.5, 0.0),
    ("leaky_relu", 0.0, 0.01), ("leaky_relu", -2.0, 0.01), ("leaky_relu", 2.0, 1.0),
    ("softplus", 0.0, 0.5), ("softplus", 2.0, 1 / (1 + np.exp(-2.0))),   # softplus' = sigma
    ("linear", 0.3, 1.0),
])
@pytest.mark.parametrize("method", ["backprop", "direct"])
def test_activation_derivative_table(act, a, slope, method):
    J = derivation("input_jacobian", (1, 1, 1), act, "linear", method).evaluate(
        np.array([[a]]), np.array([1.0, 0.0, 1.0, 0.0]))
    assert J[0, 0, 0] == pytest.approx(slope, rel=1e-14, abs=0)


# ------------------------------------------------------------------ ReLU at a = 0
# 1-1-1, x = 1, w = (w1, b1, w2, b2) = (1, -1, 2, 0.5): a^(1) = 1 - 1 = 0 EXACTLY,
# y = 2 h(0) + 0.5 = 0.5, t = 0 -> y - t = 0.5.
X0, W0, T0 = np.array([[1.0]]), np.array([1.0, -1.0, 2.0, 0.5]), np.array([[0.0]])
# ReLU, h'(0) = 0:   grad y = (w2 h' x, w2 h', h(0), 1) = (0, 0, 0, 1)
#   dE/dw = 0.5 * grad y = (0, 0, 0, 0.5); dy/dx = w2 h' w1 = 0
#   grad grad y: d2y/dw1dw2 = h' x = 0, d2y/db1dw2 = h' = 0, h'' taken as 0 -> H = e4 e4^T
# leaky ReLU, h'(0) = s = 0.01: grad y = (0.02, 0.02, 0, 1), dE/dw = (0.01, 0.01, 0, 0.5),
#   dy/dx = 2 * 0.01 * 1 = 0.02; d2y/dw1dw2 = d2y/db1dw2 = 0.01 ->
#   H = g g^T + 0.5 * 0.01 at (w1,w2),(b1,w2) and transposes.
_g_leaky = np.array([0.02, 0.02, 0.0, 1.0])
_H_leaky = np.outer(_g_leaky, _g_leaky)
_H_leaky[[0, 1], 2] += 0.005
_H_leaky[2, [0, 1]] += 0.005
KINK = {
    "relu": dict(grad=[0, 0, 0, 0.5], pjac=[0, 0, 0, 1], ijac=0.0, hess=np.diag([0, 0, 0, 1.0])),
    "leaky_relu": dict(grad=[0.01, 0.01, 0, 0.5], pjac=_g_leaky, ijac=0.02, hess=_H_leaky),
}


@pytest.mark.parametrize("act", sorted(KINK))
def test_kink_gradient_and_jacobians(act):
    ref = KINK[act]
    assert make_net((1, 1, 1), act, "linear").forward(X0, W0)[0, 0] == 0.5
    np.testing.assert_allclose(derivation("gradient", (1, 1, 1), act, "linear", "sse").evaluate(X0, W0, T0),
                               ref["grad"], rtol=1e-14, atol=0)
    np.testing.assert_allclose(derivation("param_jacobian", (1, 1, 1), act, "linear").evaluate(X0, W0)[0, 0],
                               ref["pjac"], rtol=1e-14, atol=0)
    for method in ("backprop", "direct"):
        J = derivation("input_jacobian", (1, 1, 1), act, "linear", method).evaluate(X0, W0)
        assert J[0, 0, 0] == pytest.approx(ref["ijac"], rel=1e-14, abs=0), method


@pytest.mark.parametrize("act", sorted(KINK))
def test_kink_hessian_finite_without_dirac_delta(act):
    d = derivation("hessian", (1, 1, 1), act, "linear", "sse")
    assert not d.matrix.has(sp.DiracDelta)
    H = d.evaluate(X0, W0, T0)
    assert np.all(np.isfinite(H))
    np.testing.assert_allclose(H, KINK[act]["hess"], rtol=1e-14, atol=1e-16)


def test_relu_kink_inside_a_bigger_network():
    # 2-2-1, unit 1 of the hidden layer sits exactly on the kink for sample 0:
    # a_1 = 1*x1 + 1*x2 - 1 = 0 at x = (0.25, 0.75);  unit 2 is active.
    sizes = (2, 2, 1)
    w = np.array([1.0, 1.0, 0.5, -0.25, -1.0, 0.3, 1.5, -2.0, 0.1])
    X = np.array([[0.25, 0.75], [1.0, 0.5]])
    T = np.array([[0.2], [-0.3]])
    g = derivation("gradient", sizes, "relu", "linear", "sse").evaluate(X, w, T)
    np.testing.assert_allclose(g, o.grad(sizes, "relu", "linear", X, w, T, "sse"), rtol=1e-12, atol=1e-15)
    J = derivation("param_jacobian", sizes, "relu", "linear").evaluate(X, w)
    assert J[0, 0, 0] == 0.0 and J[0, 0, 4] == 0.0           # dy/dw_11^(1), dy/db_1^(1) at the kink


# -------------------------------------------------------- huge pre-activations
# 1-1-K nets, X = [[1], [-1]], w1 = 1000, b1 = 0: hidden a^(1) = +-1000, so
# z = (1, 0) for sigmoid, (1, -1) for tanh, (1000, 0) for softplus.  The output
# weights/biases make the output pre-activations +-1e3 too, and the targets are
# mostly the "confidently wrong" ones, where a naive log(y) would be log(0).
# (hidden, output, K, loss, [w2 row-major..., b2...], T)
HUGE = [
    # a^(2) = 2000 z - 1000 = (1000, -1000);  T wrong both times -> E = 2000
    ("sigmoid", "sigmoid", "cross_entropy", [2000.0, -1000.0], [[0.0], [1.0]]),
    # z = 1000: a = (1000, -1000); z = 0: a = (0, 1000)
    ("softplus", "sigmoid", "cross_entropy", [1.0, -2.0, 0.0, 1000.0], [[0.0, 1.0], [1.0, 0.0]]),
    # a = (1000, -1000) and (-1000, 1000)
    ("sigmoid", "sigmoid", "sse", [2000.0, -2000.0, -1000.0, 1000.0], [[0.0, 1.0], [1.0, 0.0]]),
    # a = -2 z + 1000 = (-1000, 1000)
    ("softplus", "softplus", "sse", [-2.0, 1000.0], [[0.0], [1.0]]),
    # a = (1000, -1000, 0) and (-1000, 1000, 0); wrong one-hot classes -> E = 4000
    ("tanh", "softmax", "cross_entropy", [1000.0, -1000.0, 0.0, 0.0, 0.0, 0.0],
     [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    # a = (1000, -1000, 500) and (0, 0, 500)
    ("softplus", "softmax", "cross_entropy", [1.0, -1.0, 0.0, 0.0, 0.0, 500.0],
     [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    ("sigmoid", "linear", "sse", [3.0, -1.0], [[0.0], [1.0]]),
]
HUGE_IDS = [f"{h}-{out}-{loss}-K{len(T[0])}" for h, out, loss, _, T in HUGE]


def _huge(hidden, output, loss, out_params, T):
    K = len(T[0])
    return (1, 1, K), np.array([[1.0], [-1.0]]), np.array([1000.0, 0.0] + out_params), np.array(T)


@pytest.mark.parametrize("case", HUGE, ids=HUGE_IDS)
def test_huge_preactivations_loss_and_gradient(case):
    hidden, output, loss = case[:3]
    sizes, X, w, T = _huge(*case)
    assert np.abs(o.preactivations(sizes, hidden, output, X, w)[0]).min() >= 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # any overflow/invalid warning fails
        E = symnet.loss_value(make_net(sizes, hidden, output), loss, X, w, T)
        g = derivation("gradient", sizes, hidden, output, loss).evaluate(X, w, T)
    assert np.isfinite(E) and np.all(np.isfinite(g))
    assert E == pytest.approx(float(o.loss(sizes, hidden, output, X, w, T, loss)), rel=1e-12)
    np.testing.assert_allclose(g, o.grad(sizes, hidden, output, X, w, T, loss), rtol=1e-10, atol=1e-12)


def test_huge_cross_entropy_value_by_hand():
    # 1-1-1 sigmoid/sigmoid; w = (1000, 0, 2000, -1000): a^(2) = 2000 sigma(+-1000) - 1000 = +-1000.
    # Sample 1: y = sigma(1000), t = 0: -log(1 - y) = softplus(1000) = 1000 (to 1e-430).
    # Sample 2: y = sigma(-1000), t = 1: -log y = softplus(1000) = 1000.   E = 2000.
    # dE/db_1^(2) = sum (y - t) = (1 - 0) + (0 - 1) = 0 up to e^-1000.
    net = make_net((1, 1, 1), "sigmoid", "sigmoid")
    X, w, T = np.array([[1.0], [-1.0]]), np.array([1000.0, 0.0, 2000.0, -1000.0]), np.array([[0.0], [1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E = symnet.loss_value(net, "cross_entropy", X, w, T)
        g = symnet.gradient(net, "cross_entropy").evaluate(X, w, T)
    assert E == pytest.approx(2000.0, rel=1e-14)
    assert g[3] == pytest.approx(0.0, abs=1e-12)
    assert g[2] == pytest.approx(1.0, rel=1e-12)      # sum (y - t) z = 1*1 + (-1)*0


@pytest.mark.parametrize("case", HUGE, ids=HUGE_IDS)
def test_huge_preactivations_forward_jacobians_hessian_finite(case):
    hidden, output, loss = case[:3]
    sizes, X, w, T = _huge(*case)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Y = make_net(sizes, hidden, output).forward(X, w)
        Jp = derivation("param_jacobian", sizes, hidden, output).evaluate(X, w)
        Ji = derivation("input_jacobian", sizes, hidden, output, "backprop").evaluate(X, w)
        H = derivation("hessian", sizes, hidden, output, loss).evaluate(X, w, T)
    for arr in (Y, Jp, Ji, H):
        assert np.all(np.isfinite(arr))
    np.testing.assert_allclose(Y, o.forward(sizes, hidden, output, X, w), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(Jp, o.param_jacobian(sizes, hidden, output, X, w), rtol=1e-10, atol=1e-12)
