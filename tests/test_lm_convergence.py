"""Levenberg-Marquardt: r_vv through the output layer's derivative blocks, and the stopping
tests a run reports, checked against independent references.

r_vv = d^2 y(w + t v)/dt^2 at t = 0 is checked against mpmath: the network written out in
50-digit arithmetic (no symnet code) and differentiated twice in t by ``mpmath.diff``. At
softmax logits ~50 apart the outputs near 0 carry their whole value in exp(-50): a textbook
forward formula z (a_dot - <z, a_dot>) loses it to cancellation, the derived blocks keep it.
"""
import mpmath
import numpy as np
import pytest

import symnet
from symnet.teach.examples import curve_problem
from symnet.train._damped import output_second_directional
from symnet.train.fitting import fit

mpmath.mp.dps = 50


def mp_forward(sizes, output, x, w):
    """y(x; w) in mpmath: tanh hidden layers, the output 'linear', 'sigmoid' or 'softmax'."""
    z, pos = [mpmath.mpf(value) for value in x], 0
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = [[w[pos + j * n_in + i] for i in range(n_in)] for j in range(n_out)]
        pos += n_out * n_in
        b = w[pos:pos + n_out]
        pos += n_out
        a = [sum(W[j][i] * z[i] for i in range(n_in)) + b[j] for j in range(n_out)]
        if l < len(sizes) - 1:
            z = [mpmath.tanh(value) for value in a]
        elif output == "softmax":
            total = sum(mpmath.exp(value) for value in a)
            z = [mpmath.exp(value) / total for value in a]
        elif output == "sigmoid":
            z = [1 / (1 + mpmath.exp(-value)) for value in a]
        else:
            z = a
    return z


def mp_second_directional(sizes, output, X, w, v):
    """d^2/dt^2 y(x_n; w + t v) at t = 0 by mpmath.diff, shape (N, K), as floats."""
    w = [mpmath.mpf(float(value)) for value in w]
    v = [mpmath.mpf(float(value)) for value in v]
    K = sizes[-1]
    out = np.empty((len(X), K))
    for n, x in enumerate(X):
        for k in range(K):
            out[n, k] = float(mpmath.diff(
                lambda t: mp_forward(sizes, output, x,
                                     [wi + t * vi for wi, vi in zip(w, v)])[k], 0, 2))
    return out


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_second_directional_against_mpmath(output, rng):
    # Output weights of size ~20 put the logits tens apart: softmax outputs near 0 and 1.
    sizes = (2, 3, 3) if output == "softmax" else (2, 3, 1)
    net = symnet.MLP(list(sizes), hidden="tanh", output=output)
    w = rng.normal(size=net.n_params)
    w[-(sizes[-1] * 3 + sizes[-1]):] *= 20
    v, X = rng.normal(size=net.n_params), rng.normal(size=(4, 2))
    exact = mp_second_directional(sizes, output, X, w, v)
    ours = output_second_directional(net, X, w, v)
    # Relative to each entry, the tiny ones too (rounding of the kernels: a few eps;
    # 1e-9 leaves room for the sums over units).
    np.testing.assert_allclose(ours, exact, rtol=1e-9, atol=0)


def test_softmax_second_directional_keeps_tiny_outputs(rng):
    # Logits 50 apart: y_2, y_3 ~ exp(-50) ~ 2e-22, and r_vv of every output is of that
    # size (the row sums to 0: sum_k y_k = 1 for every t). For y_1 ~ 1 the centred forward
    # formula z_1 (a_dot_1 - <z, a_dot>) subtracts numbers of size 1 and loses it whole
    # (it gave 3.5e-23 for -1.24e-21); the derived blocks keep every entry.
    net = symnet.MLP([1, 3], output="softmax")
    w = np.array([0.0, 0.0, 0.0, 50.0, 0.0, 0.0])        # a = (50, 0, 0) + x W
    v, X = rng.normal(size=net.n_params), np.array([[0.3], [-0.7]])
    exact = mp_second_directional((1, 3), "softmax", X, w, v)
    assert np.all(np.abs(exact) < 1e-19)                 # every entry is tiny indeed
    np.testing.assert_allclose(output_second_directional(net, X, w, v), exact, rtol=1e-9, atol=0)


# ------------------------------------------------------------------ the stopping tests
def test_reported_ftol_stop_is_met_by_the_recorded_trial():
    # From a start near w* of the curve problem the run stops by ftol: the last trial's
    # actual and predicted reductions of E are both <= ftol E (MINPACK's test). They are
    # recomputed here from the recorded trial: actual = E_before - E_trial, predicted =
    # actual / rho, with E_before the E of the iteration's start.
    problem = curve_problem()
    w0 = problem.w_star + 0.05 * np.random.default_rng(0).normal(size=problem.net.n_params)
    result = fit(problem.net, problem.X, problem.T, method="lm", w0=w0, max_iter=50)
    assert result.converged and result.reason == "ftol"
    last = result.history.trials[-1]
    E_before = result.history.loss[last.iteration - 1]
    actual = E_before - last.loss
    predicted = actual / last.gain
    assert abs(actual) <= 1e-8 * E_before and 0 < predicted <= 1e-8 * E_before
    assert last.gain <= 2


def test_minpack_tests_alone_stop_a_linear_problem_at_the_solution():
    # Linear least squares y = w x + b on four noisy points of y = 2x + 1, grad_tol = 0 so
    # that only MINPACK's gtol / ftol / xtol can stop symnet: both codes end at the
    # normal-equations solution (lstsq), scipy with status > 0 and symnet converged, each
    # with E within ftol = 1e-8 (relative) of the least E (a step then changes E by less).
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    T = np.array([[1.1], [2.9], [5.2], [6.8]])
    A = np.hstack([X, np.ones_like(X)])
    solution = np.linalg.lstsq(A, T[:, 0], rcond=None)[0]
    reference = least_squares(lambda w: A @ w - T[:, 0], np.zeros(2), method="lm",
                              jac=lambda w: A)
    result = fit(symnet.MLP([1, 1]), X, T, method="lm", w0=np.zeros(2), grad_tol=0)
    assert reference.status > 0 and result.converged
    assert result.reason in ("gtol", "ftol", "xtol")
    least = 0.5 * np.sum((A @ solution - T[:, 0]) ** 2)
    for weights in (result.weights, reference.x):
        E = 0.5 * np.sum((A @ weights - T[:, 0]) ** 2)
        assert least * (1 - 1e-14) <= E <= least * (1 + 1e-8)   # 1e-14: rounding of the sums
        np.testing.assert_allclose(weights, solution, rtol=1e-6)
