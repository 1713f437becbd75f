"""Checks of the NumPy oracle itself, against hand-worked and published numbers.
If these fail, nothing else in the suite can be trusted."""
import warnings

import numpy as np
import pytest

import oracle as o
from helpers import HAND111, MAZUR, MAZUR_STEP, random_problem


def mz(f, *extra):
    return f(MAZUR["sizes"], "sigmoid", "sigmoid", MAZUR["X"], MAZUR["w"], *extra)


# ------------------------------------------------------------ worked 2-2-2 example
def test_mazur_hidden_outputs():
    z = o.sigmoid(o.preactivations(MAZUR["sizes"], "sigmoid", "sigmoid", MAZUR["X"], MAZUR["w"])[0])
    # a_1 = 0.15*0.05 + 0.20*0.10 + 0.35 = 0.3775 -> sigma = 0.593269992
    np.testing.assert_allclose(z, [[0.593269992, 0.596884378]], atol=1e-9)


def test_mazur_outputs_and_error():
    np.testing.assert_allclose(mz(o.forward), [[0.75136507, 0.772928465]], atol=1e-8)
    E = mz(o.loss, MAZUR["T"], "sse")
    assert E == pytest.approx(0.298371109, abs=1e-9)


@pytest.mark.parametrize("col", sorted(MAZUR_STEP))
def test_mazur_gradient_matches_published_step(col):
    g = mz(o.grad, MAZUR["T"], "sse")
    w_old, w_new = MAZUR_STEP[col]
    assert w_old - 0.5 * g[col] == pytest.approx(w_new, abs=1e-8)


def test_mazur_published_gradients():
    g = mz(o.grad, MAZUR["T"], "sse")
    assert g[6] == pytest.approx(0.082167041, abs=1e-9)
    assert g[0] == pytest.approx(0.000438568, abs=1e-9)
    # output bias: dE/db_1^(2) = delta_o1 = (y1 - t1) y1 (1 - y1) = 0.138498562 (Mazur's delta)
    assert g[10] == pytest.approx(0.138498562, abs=1e-9)


# --------------------------------------------------------------- hand 1-1-1 case
H = HAND111


def hand(f, *extra):
    return f(H["sizes"], H["hidden"], H["output"], H["X"], H["w"], *extra)


def test_hand111_forward_loss():
    assert hand(o.forward)[0, 0] == pytest.approx(H["y"], rel=1e-15)
    assert hand(o.loss, H["T"], "sse") == pytest.approx(H["E"], rel=1e-15)


def test_hand111_first_derivatives():
    np.testing.assert_allclose(hand(o.grad, H["T"], "sse"), H["grad"], rtol=1e-14)
    np.testing.assert_allclose(hand(o.param_jacobian)[0, 0], H["param_jac"], rtol=1e-14)
    assert hand(o.input_jacobian)[0, 0, 0] == pytest.approx(H["input_jac"], rel=1e-14)


@pytest.mark.parametrize("method,tol", [(o.hessian_fd_grad, 1e-8), (o.hessian_fd_loss, 1e-6)])
def test_hand111_hessians(method, tol):
    np.testing.assert_allclose(hand(method, H["T"], "sse"), H["hessian"], rtol=tol, atol=tol)


def test_hand111_gauss_newton():
    np.testing.assert_allclose(hand(o.gauss_newton, H["T"], "sse"), H["gauss_newton"], rtol=1e-14)


def test_cross_entropy_hand_values():
    # 1-1-1, linear hidden, sigmoid output; w = (w1, b1, w2, b2) = (1, 0, 2, -2), x = 1
    # -> a^(2) = 2*1 - 2 = 0, y = 0.5; t = 1: E = -log 0.5 = log 2,
    # dE/db2 = y - t = -0.5, dE/dw2 = (y - t) z = -0.5, dE/dw1 = (y-t) w2 x = -1, dE/db1 = -1.
    args = ((1, 1, 1), "linear", "sigmoid", np.array([[1.0]]), np.array([1.0, 0.0, 2.0, -2.0]))
    assert o.loss(*args, np.array([[1.0]]), "cross_entropy") == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(o.grad(*args, np.array([[1.0]]), "cross_entropy"),
                               [-1.0, -1.0, -0.5, -0.5], rtol=1e-14)
    # softmax 1-2 (no hidden layer): a = (w1 x + b1, w2 x + b2) = (0, 0) -> y = (1/2, 1/2),
    # t = (1, 0): E = log 2, dE/da = y - t = (-1/2, 1/2) -> dE/dw = (-1/2, -1/2, 1/2, 1/2)
    # in order (w_11, w_21, b_1, b_2).
    args = ((1, 2), [], "softmax", np.array([[1.0]]), np.array([1.0, -1.0, -1.0, 1.0]))
    T = np.array([[1.0, 0.0]])
    assert o.loss(*args, T, "cross_entropy") == pytest.approx(np.log(2), rel=1e-15)
    np.testing.assert_allclose(o.grad(*args, T, "cross_entropy"), [-0.5, 0.5, -0.5, 0.5], rtol=1e-14)


# --------------------------------------------------------------- activations
@pytest.mark.parametrize("name,a,value,slope", [
    ("sigmoid", 0.0, 0.5, 0.25),                                # sigma'(0) = 1/4
    ("tanh", 1.0, np.tanh(1.0), 0.41997434161402614),           # 1 - tanh(1)^2
    ("relu", 0.0, 0.0, 0.0),                                    # convention at 0
    ("relu", 2.0, 2.0, 1.0),
    ("leaky_relu", 0.0, 0.0, 0.01),                             # slope at a <= 0
    ("leaky_relu", -3.0, -0.03, 0.01),
    ("softplus", 0.0, np.log(2.0), 0.5),                        # softplus' = sigma
    ("linear", -1.7, -1.7, 1.0),
])
def test_activation_table(name, a, value, slope):
    out = o.ACTS[name](np.array([a + 1j * o.H_CS]))
    assert out.real[0] == pytest.approx(value, rel=1e-15, abs=1e-300)
    assert out.imag[0] / o.H_CS == pytest.approx(slope, rel=1e-15)


@pytest.mark.parametrize("name,ref", [
    ("sigmoid", lambda a: 1 / (1 + np.exp(-a))),
    ("tanh", np.tanh),
    ("softplus", lambda a: np.log1p(np.exp(a))),
])
def test_stable_forms_equal_naive_forms_in_safe_range(name, ref, rng):
    a = rng.uniform(-20, 20, size=200)
    np.testing.assert_allclose(o.ACTS[name](a), ref(a), rtol=1e-13, atol=1e-300)


# ------------------------------------------------------ complex step vs real FD
@pytest.mark.parametrize("hidden,output,kind", [
    ("tanh", "linear", "sse"), ("softplus", "sigmoid", "cross_entropy"),
    (["sigmoid", "tanh"], "softmax", "cross_entropy"),
])
def test_complex_step_agrees_with_real_central_difference(rng, hidden, output, kind):
    sizes = (3, 4, 2) if isinstance(hidden, str) else (2, 3, 3, 3)
    X, w, T = random_problem(rng, sizes, output=output)
    g = o.grad(sizes, hidden, output, X, w, T, kind)
    h = 1e-6
    E = lambda v: o.loss(sizes, hidden, output, X, v, T, kind)
    fd = np.array([(E(w + h * e) - E(w - h * e)) / (2 * h) for e in np.eye(w.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # and the input Jacobian against differences of the forward pass
    J = o.input_jacobian(sizes, hidden, output, X, w)
    Y = lambda Z: o.forward(sizes, hidden, output, Z, w)
    fdx = np.stack([(Y(X + h * e) - Y(X - h * e)) / (2 * h) for e in np.eye(X.shape[1])], -1)
    np.testing.assert_allclose(J, fdx, rtol=1e-6, atol=1e-8)


def test_two_oracle_hessians_agree_and_are_symmetric(rng):
    sizes, hidden, output = (2, 3, 2), "tanh", "softmax"
    X, w, T = random_problem(rng, sizes, output=output)
    H1 = o.hessian_fd_grad(sizes, hidden, output, X, w, T, "cross_entropy")
    H2 = o.hessian_fd_loss(sizes, hidden, output, X, w, T, "cross_entropy")
    np.testing.assert_allclose(H1, H1.T, atol=1e-8)
    np.testing.assert_allclose(H1, H2, atol=1e-6)


def test_gauss_newton_equals_hessian_at_zero_residual(rng):
    sizes, hidden, output = (2, 3, 1), "tanh", "linear"
    X, w, _ = random_problem(rng, sizes)
    T = o.forward(sizes, hidden, output, X, w)
    np.testing.assert_allclose(o.gauss_newton(sizes, hidden, output, X, w, T, "sse"),
                               o.hessian_fd_grad(sizes, hidden, output, X, w, T, "sse"), atol=1e-8)


def test_pack_unpack_roundtrip(rng):
    sizes = (3, 4, 2)
    w = rng.normal(size=o.n_params(sizes))
    assert o.n_params(sizes) == 26
    layers = o.unpack(sizes, w)
    assert [L[0].shape for L in layers] == [(4, 3), (2, 4)]
    assert layers[0][0][0, 1] == w[1] and layers[0][1][0] == w[12] and layers[1][0][0, 0] == w[16]
    np.testing.assert_array_equal(o.pack(layers), w)


def test_oracle_is_stable_for_huge_preactivations():
    # a^(1) = +-1000, a^(2) = +-1000: finite everywhere, no overflow warnings.
    X = np.array([[1.0], [-1.0]])
    for hidden, output, kind, T in [("sigmoid", "sigmoid", "cross_entropy", [[0.0], [1.0]]),
                                    ("softplus", "sigmoid", "sse", [[0.0], [1.0]]),
                                    ("tanh", "softmax", "cross_entropy", [[1, 0], [0, 1]])]:
        K = len(T[0])
        sizes = (1, 1, K)
        w = np.concatenate([[1000.0, 0.0], 1000.0 * np.arange(1, K + 1) * (-1) ** np.arange(K), np.zeros(K)])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            E = o.loss(sizes, hidden, output, X, w, np.array(T, float), kind)
            g = o.grad(sizes, hidden, output, X, w, np.array(T, float), kind)
        assert np.isfinite(E) and np.all(np.isfinite(g))


def test_hand_cross_entropy_curvature():
    from helpers import HAND_CE as C
    args = (C["sizes"], C["hidden"], C["output"], C["X"], C["w"], C["T"], "cross_entropy")
    assert o.loss(*args) == pytest.approx(C["E"], rel=1e-15)
    np.testing.assert_allclose(o.grad(*args), C["grad"], rtol=1e-14)
    np.testing.assert_allclose(o.gauss_newton(*args), C["gauss_newton"], rtol=1e-14)
    np.testing.assert_allclose(o.hessian_fd_grad(*args), C["hessian"], atol=1e-9)
    np.testing.assert_allclose(o.hessian_fd_loss(*args), C["hessian"], atol=1e-6)
