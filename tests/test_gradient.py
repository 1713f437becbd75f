"""symnet.gradient and symnet.loss_value against published numbers, hand
working and the complex-step oracle."""
import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import ARCHS, HAND111, SMALL_SOFTMAX, MAZUR, MAZUR_STEP, arch_id, derivation, lambdify_at, make_net, random_problem


def mazur_grad():
    return derivation("gradient", (2, 2, 2), "sigmoid", "sigmoid", "sse").evaluate(
        MAZUR["X"], MAZUR["w"], MAZUR["T"])


# ------------------------------------------------------------ worked 2-2-2 example
def test_mazur_loss_value():
    net = make_net((2, 2, 2), "sigmoid", "sigmoid")
    E = symnet.loss_value(net, "sse", MAZUR["X"], MAZUR["w"], MAZUR["T"])
    assert isinstance(E, float)
    assert E == pytest.approx(0.298371109, abs=1e-9)       # REFERENCE.md


def test_mazur_published_gradients():
    g = mazur_grad()
    assert g.shape == (12,)
    assert g[6] == pytest.approx(0.082167041, abs=1e-9)    # dE/dw5 = dE/dw_11^(2) (Mazur)
    assert g[0] == pytest.approx(0.000438568, abs=1e-9)    # dE/dw1 = dE/dw_11^(1) (Mazur)


@pytest.mark.parametrize("col", sorted(MAZUR_STEP))
def test_mazur_one_step_weights(col):
    # Mazur's updated weights after one step with learning rate 0.5:
    # w5+ = 0.4 - 0.5 * 0.082167041 = 0.35891648, w1+ = 0.15 - 0.5 * 0.000438568 = 0.149780716, ...
    w_old, w_new = MAZUR_STEP[col]
    assert w_old - 0.5 * mazur_grad()[col] == pytest.approx(w_new, abs=1e-8)


def test_mazur_bias_gradients_per_unit():
    # Per-unit biases: dE/db_j^(l) = delta_j^(l).  Output deltas by hand:
    # delta_k^(2) = (y_k - t_k) y_k (1 - y_k): (0.74136507)(0.75136507)(0.24863493) = 0.138498562
    #                                          (-0.217071535)(0.772928465)(0.227071535) = -0.038098236
    g = mazur_grad()
    assert g[10] == pytest.approx(0.138498562, abs=1e-9)
    assert g[11] == pytest.approx(-0.038098236, abs=1e-9)
    # hidden deltas from the oracle (independent implementation)
    ref = o.grad((2, 2, 2), "sigmoid", "sigmoid", MAZUR["X"], MAZUR["w"], MAZUR["T"], "sse")
    np.testing.assert_allclose(g, ref, rtol=1e-12)


# ------------------------------------------------------------------ hand cases
def test_hand_111_gradient():
    H = HAND111
    net = make_net(H["sizes"], H["hidden"], H["output"])
    assert symnet.loss_value(net, "sse", H["X"], H["w"], H["T"]) == pytest.approx(0.125, rel=1e-14)
    g = symnet.gradient(net, "sse").evaluate(H["X"], H["w"], H["T"])
    np.testing.assert_allclose(g, H["grad"], rtol=1e-13)      # (0.75, 0.375, 0.25, 0.5)


def test_hand_binary_cross_entropy():
    # 1-1-1, linear hidden, sigmoid output, w = (1, 0, 2, -2), x = 1: a^(2) = 0, y = 1/2, t = 1
    # E = log 2;  delta^(2) = y - t = -1/2;  grad = (w2 delta x, w2 delta, delta z, delta) = (-1, -1, -1/2, -1/2)
    net = make_net((1, 1, 1), "linear", "sigmoid")
    X, w, T = np.array([[1.0]]), np.array([1.0, 0.0, 2.0, -2.0]), np.array([[1.0]])
    assert symnet.loss_value(net, "cross_entropy", X, w, T) == pytest.approx(np.log(2), rel=1e-14)
    np.testing.assert_allclose(symnet.gradient(net, "cross_entropy").evaluate(X, w, T),
                               [-1.0, -1.0, -0.5, -0.5], rtol=1e-13)


def test_hand_softmax_cross_entropy():
    # 1-2, softmax, w = (w_11, w_21, b_1, b_2) = (1, -1, -1, 1), x = 1: a = (0, 0), y = (1/2, 1/2)
    # t = (1, 0): E = log 2; dE/da = y - t = (-1/2, 1/2) -> grad = (-1/2, 1/2, -1/2, 1/2)
    net = make_net((1, 2), "tanh", "softmax")
    X, w, T = np.array([[1.0]]), np.array([1.0, -1.0, -1.0, 1.0]), np.array([[1.0, 0.0]])
    assert symnet.loss_value(net, "cross_entropy", X, w, T) == pytest.approx(np.log(2), rel=1e-14)
    np.testing.assert_allclose(symnet.gradient(net, "cross_entropy").evaluate(X, w, T),
                               [-0.5, 0.5, -0.5, 0.5], rtol=1e-13)


# --------------------------------------------------------------- vs the oracle
@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_gradient_matches_complex_step(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=4, output=output)
    g = derivation("gradient", sizes, hidden, output, loss).evaluate(X, w, T)
    ref = o.grad(sizes, hidden, output, X, w, T, loss)
    assert g.shape == (len(w),)
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_loss_value_matches_oracle(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=4, output=output)
    E = symnet.loss_value(make_net(sizes, hidden, output), loss, X, w, T)
    assert E == pytest.approx(float(o.loss(sizes, hidden, output, X, w, T, loss)), rel=1e-12)


CANONICAL = {("linear", "sse"), ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")}


@pytest.mark.parametrize("arch", [a for a in ARCHS if (a[2], a[3]) in CANONICAL], ids=arch_id)
def test_output_bias_gradient_is_sum_of_residuals(rng, arch):
    # Canonical pairs (sse+linear, CE+sigmoid, CE+softmax) have delta^(L) = y - t
    # (REFERENCE.md), so dE/db_k^(L) = sum_n (y_nk - t_nk): the last K columns.
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=4, output=output)
    g = derivation("gradient", sizes, hidden, output, loss).evaluate(X, w, T)
    Y = o.forward(sizes, hidden, output, X, w)
    np.testing.assert_allclose(g[-sizes[-1]:], (Y - T).sum(axis=0), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("arch", [ARCHS[0], ARCHS[2], ARCHS[4]], ids=arch_id)
def test_gradient_of_batch_is_sum_over_samples(rng, arch):
    sizes, hidden, output, loss = arch
    X, w, T = random_problem(rng, sizes, n_samples=5, output=output)
    d = derivation("gradient", sizes, hidden, output, loss)
    total = sum(d.evaluate(X[n:n + 1], w, T[n:n + 1]) for n in range(5))
    np.testing.assert_allclose(d.evaluate(X, w, T), total, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ symbolic
@pytest.mark.parametrize("arch", [ARCHS[0], ARCHS[2], SMALL_SOFTMAX], ids=arch_id)
def test_gradient_matrix_lambdified_matches_oracle(rng, arch):
    sizes, hidden, output, loss = arch
    net = make_net(sizes, hidden, output)
    M = derivation("gradient", sizes, hidden, output, loss).matrix
    assert isinstance(M, sp.MatrixBase) and M.shape in {(net.n_params, 1), (1, net.n_params)}
    X, w, T = random_problem(rng, sizes, n_samples=1, output=output)
    got = lambdify_at(net, M, X[0], w, T[0]).ravel()
    np.testing.assert_allclose(got, o.grad(sizes, hidden, output, X, w, T, loss), rtol=1e-10, atol=1e-13)


def test_named_form_with_definitions_equals_oracle(rng):
    sizes, hidden, output, loss = (2, 3, 1), "tanh", "linear", "sse"
    net = make_net(sizes, hidden, output)
    d = derivation("gradient", sizes, hidden, output, loss)
    X, w, T = random_problem(rng, sizes, n_samples=1, output=output)
    point = dict(zip(net.inputs, X[0])) | dict(zip(net.params, w)) | dict(zip(net.targets, T[0]))
    # .all_definitions (forward equations, then the derivation's own) must define every
    # intermediate .named uses, each from earlier ones
    known = set(point)
    for sym, expr in d.all_definitions.items():
        assert sp.sympify(expr).free_symbols <= known, f"{sym} uses undefined {sp.sympify(expr).free_symbols - known}"
        known.add(sym)
    assert d.named.free_symbols <= known, f"undefined in .named: {d.named.free_symbols - known}"
    # evaluate the intermediates in their stated order, each from the earlier ones
    values = dict(point)
    for sym, expr in d.all_definitions.items():
        values[sym] = sp.sympify(expr).subs(values).evalf(30)
    got = np.array(d.named.subs(values).evalf(30), dtype=float).ravel()
    np.testing.assert_allclose(got, o.grad(sizes, hidden, output, X, w, T, loss), rtol=1e-10)


def test_softmax_cross_entropy_unnormalised_targets(rng):
    # E = -sum_k t_k log y_k  =>  dE/da_k = (sum_m t_m) y_k - t_k, which is y - t only
    # when the targets sum to one: a shortcut "delta = y - t" would fail here.
    sizes, hidden, output, loss = (2, 3, 3), "tanh", "softmax", "cross_entropy"
    X, w, _ = random_problem(rng, sizes, n_samples=3, output=output)
    T = rng.uniform(0.0, 1.0, size=(3, 3))
    g = derivation("gradient", sizes, hidden, output, loss).evaluate(X, w, T)
    np.testing.assert_allclose(g, o.grad(sizes, hidden, output, X, w, T, loss), rtol=1e-10, atol=1e-13)
    E = symnet.loss_value(make_net(sizes, hidden, output), loss, X, w, T)
    assert E == pytest.approx(float(o.loss(sizes, hidden, output, X, w, T, loss)), rel=1e-12)
