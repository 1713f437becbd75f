"""Parameter Jacobian (Levenberg-Marquardt) and input-output Jacobian (both
derivation methods) against the complex-step oracle and hand values."""
import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import ARCHS, HAND111, SMALL_SOFTMAX, arch_id, derivation, lambdify_at, make_net, random_problem

METHODS = ["backprop", "direct"]


# ---------------------------------------------------------------- param Jacobian
@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_param_jacobian_matches_complex_step(rng, arch):
    sizes, hidden, output, _ = arch
    X, w, _ = random_problem(rng, sizes, n_samples=4)
    J = derivation("param_jacobian", sizes, hidden, output).evaluate(X, w)
    assert J.shape == (4, sizes[-1], len(w))
    np.testing.assert_allclose(J, o.param_jacobian(sizes, hidden, output, X, w), rtol=1e-10, atol=1e-13)


def test_param_jacobian_shape_342_five_samples(rng):
    # REFERENCE.md: 3-4-2 with 5 samples -> LM Jacobian 10 x 26.
    sizes = (3, 4, 2)
    X, w, _ = random_problem(rng, sizes, n_samples=5)
    J = derivation("param_jacobian", sizes, "tanh", "linear").evaluate(X, w)
    assert J.shape == (5, 2, 26)
    lm = J.reshape(5 * 2, 26)
    assert lm.shape == (10, 26)
    # rows are sample-major: row 2n + k is d y_k(x_n) / dw
    ref = o.param_jacobian(sizes, "tanh", "linear", X, w)
    np.testing.assert_allclose(lm[3], ref[1, 1], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(lm[4], ref[2, 0], rtol=1e-10, atol=1e-13)


def test_param_jacobian_shape_1_10_1(rng):
    # REFERENCE.md: 1-10-1 has W = 31; 94 samples -> 94 x 31 (MATLAB prints 31 x 94).
    sizes = (1, 10, 1)
    X, w, _ = random_problem(rng, sizes, n_samples=94)
    J = derivation("param_jacobian", sizes, "tanh", "linear").evaluate(X, w)
    assert J.reshape(94, -1).shape == (94, 31)
    np.testing.assert_allclose(J, o.param_jacobian(sizes, "tanh", "linear", X, w), rtol=1e-10, atol=1e-13)


def test_param_jacobian_hand_111():
    H = HAND111
    J = derivation("param_jacobian", H["sizes"], H["hidden"], H["output"]).evaluate(H["X"], H["w"])
    np.testing.assert_allclose(J[0, 0], H["param_jac"], rtol=1e-13)     # (1.5, 0.75, 0.5, 1)


def test_linear_output_bias_columns_are_identity(rng):
    # y_k = ... + b_k^(L) for linear outputs: d y_k / d b_m^(L) = delta_km, for every sample.
    sizes = (3, 4, 2)
    X, w, _ = random_problem(rng, sizes, n_samples=3)
    J = derivation("param_jacobian", sizes, "tanh", "linear").evaluate(X, w)
    np.testing.assert_array_equal(J[:, :, -2:], np.broadcast_to(np.eye(2), (3, 2, 2)))


def test_param_jacobian_batch_equals_singles(rng):
    sizes = (2, 3, 2)
    X, w, _ = random_problem(rng, sizes, n_samples=4)
    d = derivation("param_jacobian", sizes, "sigmoid", "softplus")
    singles = np.concatenate([d.evaluate(X[n:n + 1], w) for n in range(4)])
    np.testing.assert_allclose(d.evaluate(X, w), singles, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------- input Jacobian
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_input_jacobian_matches_complex_step(rng, arch, method):
    sizes, hidden, output, _ = arch
    X, w, _ = random_problem(rng, sizes, n_samples=4)
    J = derivation("input_jacobian", sizes, hidden, output, method).evaluate(X, w)
    assert J.shape == (4, sizes[-1], sizes[0])
    np.testing.assert_allclose(J, o.input_jacobian(sizes, hidden, output, X, w), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("method", METHODS)
def test_input_jacobian_hand_111(method):
    H = HAND111
    J = derivation("input_jacobian", H["sizes"], H["hidden"], H["output"], method).evaluate(H["X"], H["w"])
    assert J[0, 0, 0] == pytest.approx(0.375, rel=1e-13)               # w2 sigma'(0) w1 = 3 * 1/4 * 1/2


@pytest.mark.parametrize("method", METHODS)
def test_input_jacobian_mazur(method):
    # By hand (Bishop's recursion, logistic outputs):
    # J_ki = sum_j y_k(1-y_k) w_kj^(2) z_j(1-z_j) w_ji^(1); checked against the oracle.
    from helpers import MAZUR
    J = derivation("input_jacobian", (2, 2, 2), "sigmoid", "sigmoid", method).evaluate(MAZUR["X"], MAZUR["w"])
    z = np.array([0.593269992, 0.596884378]); y = np.array([0.75136507, 0.772928465])
    W1 = MAZUR["w"][:4].reshape(2, 2); W2 = MAZUR["w"][6:10].reshape(2, 2)
    by_hand = (y * (1 - y))[:, None] * W2 @ ((z * (1 - z))[:, None] * W1)
    np.testing.assert_allclose(J[0], by_hand, rtol=1e-7)                # z, y given to 9 digits


@pytest.mark.parametrize("method", METHODS)
def test_softmax_input_jacobian_columns_sum_to_zero(rng, method):
    # sum_k y_k = 1 for every x, so sum_k dy_k/dx_i = 0.
    sizes = (3, 3, 3)
    X, w, _ = random_problem(rng, sizes, n_samples=3)
    J = derivation("input_jacobian", sizes, "tanh", "softmax", method).evaluate(X, w)
    np.testing.assert_allclose(J.sum(axis=1), 0.0, atol=1e-14)


@pytest.mark.parametrize("method", METHODS)
def test_input_jacobian_1d_x(rng, method):
    sizes = (3, 4, 2)
    X, w, _ = random_problem(rng, sizes, n_samples=2)
    d = derivation("input_jacobian", sizes, "tanh", "linear", method)
    full = d.evaluate(X, w)
    for n in range(2):
        single = d.evaluate(X[n:n + 1], w)
        np.testing.assert_allclose(single.reshape(full[n].shape), full[n], rtol=1e-13)


# --------------------------------------------------------------------- symbolic
@pytest.mark.parametrize("sizes,hidden,output", [((2, 2, 1), "tanh", "linear"),
                                                 ((1, 2, 1), "sigmoid", "sigmoid")])
def test_direct_minus_backprop_simplifies_to_zero(sizes, hidden, output):
    net = make_net(sizes, hidden, output)
    diff = (symnet.input_jacobian(net, "direct").matrix - symnet.input_jacobian(net, "backprop").matrix)
    assert diff.shape == (sizes[-1], sizes[0])
    assert sp.simplify(diff) == sp.zeros(*diff.shape)


@pytest.mark.parametrize("kind,method", [("param_jacobian", None), ("input_jacobian", "backprop"),
                                         ("input_jacobian", "direct")])
@pytest.mark.parametrize("arch", [ARCHS[0], SMALL_SOFTMAX, ARCHS[6]], ids=arch_id)
def test_matrix_lambdified_matches_oracle(rng, arch, kind, method):
    sizes, hidden, output, _ = arch
    net = make_net(sizes, hidden, output)
    M = derivation(kind, sizes, hidden, output, *([method] if method else [])).matrix
    ncols = net.n_params if kind == "param_jacobian" else sizes[0]
    assert M.shape == (sizes[-1], ncols)
    X, w, _ = random_problem(rng, sizes, n_samples=1, output=output)
    got = lambdify_at(net, M, X[0], w)
    ref = (o.param_jacobian if kind == "param_jacobian" else o.input_jacobian)(sizes, hidden, output, X, w)[0]
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-13)
