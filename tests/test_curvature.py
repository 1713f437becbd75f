"""H = Gauss-Newton + residual, spectra, Hessian-vector products and d^2 y/dx^2, each
checked against the oracle (complex-step gradients, central differences) or by hand."""
import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import HAND111, make_net, random_problem
from symnet.derive.curvature_terms import (GaussNewtonWarning, curvature_report, hessian_residual,
                              hessian_split, hessian_vector_product, input_hessian)

ARCHS = [
    ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 2), "sigmoid", "sigmoid", "sse"),
    ((2, 3, 2), "tanh", "softmax", "sse"),
    ((2, 3, 1), "softplus", "sigmoid", "cross_entropy"),
    ((3, 3, 3), "tanh", "softmax", "cross_entropy"),
    ((2, 3, 3, 2), ("relu", "tanh"), "linear", "sse"),
]
IDS = ["3-4-2-tanh-sse", "sigmoid-out-sse", "softmax-sse", "sigmoid-ce", "softmax-ce",
       "relu-tanh-deep"]


def high_precision_value(expression, values):
    """|expression| at exact rational ``values``, in 30-digit arithmetic (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    symbols = sorted(expression.free_symbols, key=lambda s: s.name)
    with mpmath.workdps(30):
        return abs(sp.lambdify(symbols, expression, "mpmath")(
            *[mpmath.mpf(values[s].p) / values[s].q for s in symbols]))


def net_of(arch):
    sizes, hidden, output, _ = arch
    return make_net(sizes, hidden, output)


def point(rng, arch, n_samples=3):
    sizes, hidden, output, _ = arch
    X, w, T = random_problem(rng, sizes, n_samples=n_samples, output=output)
    a = o.preactivations(sizes, hidden, output, X, w)
    assert min(np.abs(layer).min() for layer in a[:-1]) > 1e-3  # away from ReLU kinks
    return X, w, T


# ----------------------------------------------------------------- H = GN + residual
@pytest.mark.parametrize("arch", ARCHS, ids=IDS)
def test_residual_is_exact_hessian_minus_gauss_newton_of_oracle(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = point(rng, arch)
    residual = hessian_residual(net_of(arch), loss)
    # Oracle: central differences of the complex-step gradient minus J^T Lambda J.
    expected = (o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
                - o.gauss_newton(sizes, hidden, output, X, w, T, loss))
    np.testing.assert_allclose(residual.evaluate(X, w, T), expected, atol=1e-7)
    # The named form, lambdified entry by entry, gives the same numbers (small W: it is slow).
    if len(w) < 30:
        np.testing.assert_allclose(residual.evaluate_entries(X, w, T), residual.evaluate(X, w, T),
                                   rtol=1e-10, atol=1e-12)


def test_residual_by_hand_111():
    # helpers.HAND111: r = y - t = 0.5 and d^2 y/dw1 dw2 = 0.5, d^2 y/db1 dw2 = 0.25,
    # so the residual term is 0.25 at (w1, w2) and 0.125 at (b1, w2), 0 elsewhere.
    h = HAND111
    net = make_net(h["sizes"], h["hidden"], h["output"])
    expected = np.zeros((4, 4))
    expected[0, 2] = expected[2, 0] = 0.25
    expected[1, 2] = expected[2, 1] = 0.125
    R = hessian_residual(net, "sse")
    np.testing.assert_allclose(R.evaluate(h["X"], h["w"], h["T"]), expected, atol=1e-15)
    report = curvature_report(net, "sse", h["X"], h["w"], h["T"])
    np.testing.assert_allclose(report.hessian, h["hessian"], atol=1e-14)
    np.testing.assert_allclose(report.gauss_newton, h["gauss_newton"], atol=1e-14)


def test_split_adds_up_symbolically():
    # Fully substituted, H - GN - residual must vanish identically: check it at a
    # random point with 30 significant digits (mpmath).
    net = make_net((1, 2, 1), "tanh", "linear")
    split = hessian_split(net, "sse")
    difference = split.exact.matrix - split.gauss_newton.matrix - split.residual.matrix
    values = dict(zip(net.params, [sp.Rational(n, 7) for n in (3, -2, 5, 1, -4, 6, 2)]))
    values.update({net.inputs[0]: sp.Rational(4, 5), net.targets[0]: sp.Rational(-1, 3)})
    assert max(high_precision_value(e, values) for e in difference) < 1e-25


def test_residual_vanishes_at_zero_residual(rng):
    arch = ARCHS[1]
    sizes, hidden, output, loss = arch
    X, w, _ = point(rng, arch)
    T = o.forward(sizes, hidden, output, X, w)
    np.testing.assert_allclose(hessian_residual(net_of(arch), loss).evaluate(X, w, T), 0,
                               atol=1e-15)


# ----------------------------------------------------------------- report and spectra
def test_report_warns_when_gauss_newton_is_poor():
    # Hand 1-1-1 with t = -10: r = y - t = 12, so the residual term (12 * 0.5 at (w1, w2),
    # 12 * 0.25 at (b1, w2)) is larger than the outer product: a saddle.
    h = HAND111
    net = make_net(h["sizes"], h["hidden"], h["output"])
    T = np.array([[-10.0]])
    with pytest.warns(GaussNewtonWarning, match="differs from the exact Hessian"):
        report = curvature_report(net, "sse", h["X"], h["w"], T)
    H = o.hessian_fd_grad(h["sizes"], h["hidden"], h["output"], h["X"], h["w"], T, "sse")
    eigenvalues = np.linalg.eigvalsh((H + H.T) / 2)
    np.testing.assert_allclose(report.hessian_eigenvalues, eigenvalues, atol=1e-7)
    assert report.hessian_negative == np.sum(eigenvalues < -1e-6) >= 1
    assert report.gauss_newton_negative == 0          # an outer product: never negative
    assert report.poor and "negative eigenvalues" in str(report)
    expected = np.linalg.norm(H - h["gauss_newton"]) / np.linalg.norm(H)
    assert report.relative_difference == pytest.approx(expected, rel=1e-6)


def test_spectrum_of_linear_least_squares_by_hand():
    # y = w x + b, x = (1, 2): H = GN = [[5, 3], [3, 2]]; eigenvalues (7 -+ sqrt(45)) / 2,
    # condition number (7 + sqrt 45) / (7 - sqrt 45) = 46.98...; no warning (H = GN).
    net = make_net((1, 1), "tanh", "linear")
    report = curvature_report(net, "sse", [[1.0], [2.0]], [0.3, -0.2], [[1.0], [0.0]])
    root = np.sqrt(45.0)
    np.testing.assert_allclose(report.hessian_eigenvalues, [(7 - root) / 2, (7 + root) / 2])
    assert report.hessian_condition == pytest.approx((7 + root) / (7 - root))
    assert report.relative_difference == 0 and not report.poor
    assert report.hessian_negative == report.gauss_newton_negative == 0


def test_singular_gauss_newton_has_infinite_condition():
    # One sample, two parameters: J^T J has rank 1.
    net = make_net((1, 1), "tanh", "linear")
    report = curvature_report(net, "sse", [[2.0]], [0.5, 0.1], [[1.1]])
    assert report.gauss_newton_condition == np.inf


# ----------------------------------------------------------------- Hessian-vector products
@pytest.mark.parametrize("arch", ARCHS, ids=IDS)
def test_hvp_equals_dense_hessian_and_gradient_differences(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = point(rng, arch)
    v = rng.normal(size=w.size)
    hvp = hessian_vector_product(net_of(arch), loss)
    Hv = hvp.evaluate(X, w, T, v)
    dense = o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
    np.testing.assert_allclose(Hv, dense @ v, rtol=1e-6, atol=1e-7)
    # Central difference of the oracle's exact (complex-step) gradient along v.
    h = 1e-5
    g = lambda u: o.grad(sizes, hidden, output, X, u, T, loss)  # noqa: E731
    np.testing.assert_allclose(Hv, (g(w + h * v) - g(w - h * v)) / (2 * h), rtol=1e-6, atol=1e-7)
    # The named recursion, lambdified, and several directions at once.
    np.testing.assert_allclose(hvp.evaluate_named(X, w, T, v), Hv, rtol=1e-10, atol=1e-12)
    V = rng.normal(size=(w.size, 3))
    np.testing.assert_allclose(hvp.evaluate(X, w, T, V), dense @ V, rtol=1e-6, atol=1e-6)


def test_hvp_symbolically_equals_hessian_times_v():
    net = make_net((1, 1, 1), "tanh", "linear")
    hvp = hessian_vector_product(net, "sse")
    E = sp.Rational(1, 2) * (net.outputs[0] - net.targets[0]) ** 2
    expected = sp.hessian(E, net.params) * sp.Matrix(hvp.direction)
    values = dict(zip(net.params + hvp.direction,
                      [sp.Rational(n, 5) for n in (2, -1, 3, 1, 4, -3, 2, 7)]))
    values.update({net.inputs[0]: sp.Rational(3, 4), net.targets[0]: sp.Rational(1, 2)})
    assert max(high_precision_value(e, values) for e in hvp.matrix - expected) < 1e-25
    assert hvp.direction[0].name == "v_w_11^(1)"
    assert str(hvp.definitions[sp.Symbol("R{z_1^(1)}", real=True)]) == "R{a_1^(1)}*(1 - z_1^(1)**2)"


def test_hvp_rejects_bad_direction(rng):
    net = make_net((1, 1, 1), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match=r"v must be finite with shape \(4,\)"):
        hessian_vector_product(net, "sse").evaluate([[1.0]], np.ones(4), [[0.0]], np.ones(3))


# ----------------------------------------------------------------- d^2 y / dx dx
@pytest.mark.parametrize("arch", ARCHS, ids=IDS)
def test_input_hessian_equals_differences_of_input_jacobian(rng, arch):
    sizes, hidden, output, _ = arch
    X, w, _ = point(rng, arch, n_samples=4)
    H = input_hessian(net_of(arch)).evaluate(X, w)
    assert H.shape == (4, sizes[-1], sizes[0], sizes[0])
    h = 1e-5
    columns = [(o.input_jacobian(sizes, hidden, output, X + h * e, w)
                - o.input_jacobian(sizes, hidden, output, X - h * e, w)) / (2 * h)
               for e in np.eye(sizes[0])]
    np.testing.assert_allclose(H, np.stack(columns, axis=-1), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(H, H.transpose(0, 1, 3, 2), atol=1e-14)


def test_input_hessian_symbolically_equals_sympy_diff():
    net = make_net((2, 1, 2), "sigmoid", "softmax")
    H = input_hessian(net)
    values = dict(zip(net.params, [sp.Rational(n, 5) for n in (2, -1, 3, 1, 4, -3, 2)]))
    values.update(zip(net.inputs, [sp.Rational(1, 3), sp.Rational(-2, 3)]))
    y = net.outputs[1]
    for i in range(2):
        first = sp.diff(y, net.inputs[i])
        for m in range(i, 2):
            direct = sp.diff(first, net.inputs[m])
            assert high_precision_value(H.matrix[1, i, m] - direct, values) < 1e-25
    single = H.evaluate([0.1, 0.2], np.linspace(-1, 1, net.n_params))
    assert single.shape == (2, 2, 2)
