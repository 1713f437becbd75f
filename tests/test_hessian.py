"""Exact Hessian and Gauss-Newton approximation against finite differences of
the oracle, hand values and the oracle's J^T J / B^T Lambda B."""
import numpy as np
import sympy as sp
import pytest

import symnet

import oracle as o
from helpers import ARCHS, HAND111, arch_id, derivation, lambdify_at, make_net, random_problem, relu_margin

# The two deep architectures have W = 34 and 27; include one of them in the exact
# Hessian comparison so that depth is exercised, keep the rest small.
HESS_ARCHS = [a for a in ARCHS if a[0] != (1, 3, 3, 3, 1)]


def check_kinks(sizes, hidden, output, X, w, step=1e-5):
    # Finite differences are meaningless within a step of a ReLU kink (REFERENCE.md);
    # make sure the seeded point is far from any, rather than report a false failure.
    a = o.preactivations(sizes, hidden, output, X, w)
    assert relu_margin(a[:-1], hidden, len(sizes) - 2) > 100 * step


@pytest.mark.parametrize("arch", HESS_ARCHS, ids=arch_id)
def test_exact_hessian_matches_fd_of_oracle_gradient(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=3, output=output)
    check_kinks(sizes, hidden, output, X, w)
    H = derivation("hessian", sizes, hidden, output, loss).evaluate(X, w, T)
    assert H.shape == (len(w), len(w))
    ref = o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
    np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("arch", [ARCHS[0], ARCHS[2], ARCHS[4]], ids=arch_id)
def test_exact_hessian_matches_second_difference_of_loss(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=2, output=output)
    H = derivation("hessian", sizes, hidden, output, loss).evaluate(X, w, T)
    np.testing.assert_allclose(H, o.hessian_fd_loss(sizes, hidden, output, X, w, T, loss),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("approx", [None, "gauss_newton"])
@pytest.mark.parametrize("arch", HESS_ARCHS, ids=arch_id)
def test_hessians_are_symmetric(rng, arch, approx):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=3, output=output)
    H = derivation("hessian", sizes, hidden, output, loss, approx).evaluate(X, w, T)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)


def test_hand_111_hessian_and_gauss_newton():
    # Worked in helpers.HAND111: H = grad y grad y^T + (y - t) grad grad y.
    Hd = HAND111
    args = (Hd["X"], Hd["w"], Hd["T"])
    H = derivation("hessian", Hd["sizes"], Hd["hidden"], Hd["output"], "sse").evaluate(*args)
    np.testing.assert_allclose(H, Hd["hessian"], rtol=1e-13, atol=1e-15)
    G = derivation("hessian", Hd["sizes"], Hd["hidden"], Hd["output"], "sse", "gauss_newton").evaluate(*args)
    np.testing.assert_allclose(G, Hd["gauss_newton"], rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------ Gauss-Newton
@pytest.mark.parametrize("arch", [
    ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 3, 1), ("softplus", "tanh"), "linear", "sse"),
    ((2, 3, 2), "tanh", "sigmoid", "sse"),              # H = GN exactly when y = t, any outputs
    ((2, 3, 2), "tanh", "sigmoid", "cross_entropy"),    # canonical pair, soft targets t = y
    ((3, 3, 3), "sigmoid", "softmax", "cross_entropy"),  # t = y (rows sum to 1)
], ids=arch_id)
def test_gauss_newton_equals_exact_hessian_at_zero_residual(rng, arch):
    # With T = forward(X, w) every residual y - t vanishes, so the second-derivative
    # term sum (y - t) grad grad a drops out and the exact Hessian IS the (generalised)
    # Gauss-Newton matrix.
    sizes, hidden, output, loss = arch
    X, w, _ = random_problem(rng, sizes, n_samples=4)
    T = o.forward(sizes, hidden, output, X, w)
    H = derivation("hessian", sizes, hidden, output, loss).evaluate(X, w, T)
    G = derivation("hessian", sizes, hidden, output, loss, "gauss_newton").evaluate(X, w, T)
    np.testing.assert_allclose(G, H, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_gauss_newton_matches_oracle(rng, arch):
    # sse: sum_n J_n^T J_n from the oracle's complex-step parameter Jacobian;
    # cross_entropy: sum_n B_n^T Lambda_n B_n from the oracle's d a^(L)/dw.
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=4, output=output)
    G = derivation("hessian", sizes, hidden, output, loss, "gauss_newton").evaluate(X, w, T)
    np.testing.assert_allclose(G, o.gauss_newton(sizes, hidden, output, X, w, T, loss), rtol=1e-10, atol=1e-13)


def test_sse_gauss_newton_is_jtj_of_lm_jacobian(rng):
    # The LM layout: J reshaped (N*K, W); GN = J^T J, positive semi-definite.
    sizes = (3, 4, 2)
    X, w, T = random_problem(rng, sizes, n_samples=5)
    J = o.param_jacobian(sizes, "tanh", "linear", X, w).reshape(10, 26)
    G = derivation("hessian", sizes, "tanh", "linear", "sse", "gauss_newton").evaluate(X, w, T)
    np.testing.assert_allclose(G, J.T @ J, rtol=1e-10, atol=1e-13)
    assert np.linalg.eigvalsh(G).min() > -1e-10


@pytest.mark.parametrize("approx", [None, "gauss_newton"])
def test_hessian_of_batch_is_sum_over_samples(rng, approx):
    sizes, hidden, output, loss = (2, 3, 2), "softplus", "sigmoid", "cross_entropy"
    X, w, T = random_problem(rng, sizes, n_samples=3, output=output)
    d = derivation("hessian", sizes, hidden, output, loss, approx)
    total = sum(d.evaluate(X[n:n + 1], w, T[n:n + 1]) for n in range(3))
    np.testing.assert_allclose(d.evaluate(X, w, T), total, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("arch", [((2, 2, 1), "tanh", "linear", "sse"),
                                  ((2, 2, 2), "sigmoid", "softmax", "cross_entropy")], ids=arch_id)
def test_hessian_matrix_lambdified_matches_oracle(rng, arch):
    sizes, hidden, output, loss = arch
    net = make_net(sizes, hidden, output)
    M = derivation("hessian", sizes, hidden, output, loss).matrix
    assert M.shape == (net.n_params, net.n_params)
    X, w, T = random_problem(rng, sizes, n_samples=1, output=output)
    got = lambdify_at(net, M, X[0], w, T[0])
    np.testing.assert_allclose(got, o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("approx,key", [(None, "hessian"), ("gauss_newton", "gauss_newton")])
def test_hand_binary_cross_entropy_curvature(approx, key):
    # Worked in helpers.HAND_CE: Lambda = y(1-y) = 1/4, B = (2, 2, 1, 1), delta = -1/2.
    from helpers import HAND_CE as C
    d = derivation("hessian", C["sizes"], C["hidden"], C["output"], "cross_entropy", approx)
    np.testing.assert_allclose(d.evaluate(C["X"], C["w"], C["T"]), C[key], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("approx", [None, "gauss_newton"])
def test_softmax_unnormalised_targets(rng, approx):
    # Spec: Lambda = (sum_k t_k)(diag y - y y^T) for softmax, so targets that do not
    # sum to one must scale the curvature (E = -sum t_k log y_k is still well defined).
    sizes, hidden, output, loss = (2, 3, 3), "tanh", "softmax", "cross_entropy"
    X, w, _ = random_problem(rng, sizes, n_samples=3, output=output)
    T = rng.uniform(0.0, 1.0, size=(3, 3))                 # row sums in (0, 3), not 1
    H = derivation("hessian", sizes, hidden, output, loss, approx).evaluate(X, w, T)
    if approx is None:
        ref = o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
        np.testing.assert_allclose(H, ref, rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_allclose(H, o.gauss_newton(sizes, hidden, output, X, w, T, loss), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("sizes, output, loss", [([2, 3, 2], "linear", "sse"),
                                                 ([2, 3, 3], "softmax", "cross_entropy"),
                                                 ([2, 2, 2], "sigmoid", "cross_entropy"),
                                                 ([2, 3, 1], "tanh", "log_cosh")])
def test_gauss_newton_named_form_is_sympys_own_product(sizes, output, loss):
    # The named Gauss-Newton matrix is built entry by entry (upper triangle, canonical
    # products, zero factors skipped); SymPy's own matrix product B^T Lambda B of the same
    # named B and Lambda is the independent route: every entry must expand to the same.
    from symnet.derive.first_order import param_jacobian_named
    from symnet.graph.losses import get_loss
    net = symnet.MLP(sizes, hidden="tanh", output=output)
    rule = get_loss(loss, net)
    B, _ = param_jacobian_named(net, {}, of=rule.jacobian_of)
    want = B.T * rule.gauss_newton_named(net) * B
    got = symnet.hessian(net, loss, approx="gauss_newton").named
    assert got.shape == want.shape
    assert all(sp.expand(got[i] - want[i]) == 0 for i in range(len(want)))
