"""fit(): update rules one step by hand, Levenberg-Marquardt against scipy and a local
minimum built into the data, second-order against first-order, divergence,
reproducibility, progress."""
import sys

import numpy as np
import pytest

import symnet
from helpers import make_net
from symnet.compiled import matrix_form as engine
from symnet.teach.examples import curve_problem
from symnet.train.fitting import TrainingDiverged, fit

# y = w x + b on x = (1, 2), t = (1, 3), from w = b = 0: y = 0, residuals y - t = (-1, -3),
# dE/dw = sum (y - t) x = -1 - 6 = -7, dE/db = sum (y - t) = -4.
LINE_X, LINE_T, LINE_G = np.array([[1.0], [2.0]]), np.array([[1.0], [3.0]]), np.array([-7.0, -4.0])


def one_step(method, **hyper):
    net = make_net((1, 1), "tanh", "linear")
    return fit(net, LINE_X, LINE_T, method=method, w0=[0.0, 0.0], max_iter=1, **hyper)


def test_gradient_descent_one_step_by_hand():
    result = one_step("gd", lr=0.1)                     # w = -0.1 * (-7, -4)
    np.testing.assert_allclose(result.weights, [0.7, 0.4], rtol=1e-15)
    assert result.history.step_size[0] == pytest.approx(np.hypot(0.7, 0.4))
    assert result.history.grad_norm[0] == pytest.approx(np.hypot(7, 4))


def test_adam_one_step_by_hand():
    # Kingma & Ba, Algorithm 1, t = 1: m = 0.1 g, v = 0.001 g^2, m_hat = g, v_hat = g^2,
    # step = -lr g / (|g| + eps) = -1e-3 * g / (|g| + 1e-8).
    result = one_step("adam")
    expected = -1e-3 * LINE_G / (np.abs(LINE_G) + 1e-8)
    np.testing.assert_allclose(result.weights, expected, rtol=1e-15)
    assert result.options["beta1"] == 0.9 and result.options["beta2"] == 0.999


def test_rmsprop_one_step_by_hand():
    # Tieleman & Hinton: s = 0.9 * 0 + 0.1 g^2, step = -lr g / (sqrt(s) + eps)
    #                    = -1e-3 g / (sqrt(0.1) |g| + 1e-8)  ~ +3.1623e-3 for g < 0.
    result = one_step("rmsprop")
    expected = -1e-3 * LINE_G / (np.sqrt(0.1) * np.abs(LINE_G) + 1e-8)
    np.testing.assert_allclose(result.weights, expected, rtol=1e-15)
    np.testing.assert_allclose(result.weights, [0.00316227766, 0.00316227766], rtol=1e-8)


def test_momentum_two_steps_by_hand():
    # u1 = -lr g0 = (0.07, 0.04); at w1 = u1: y = (0.11, 0.18), y - t = (-0.89, -2.82),
    # g1 = (-0.89 - 5.64, -0.89 - 2.82) = (-6.53, -3.71); u2 = 0.9 u1 - 0.01 g1
    #    = (0.063 + 0.0653, 0.036 + 0.0371) = (0.1283, 0.0731); w2 = w1 + u2 = (0.1983, 0.1131).
    net = make_net((1, 1), "tanh", "linear")
    result = fit(net, LINE_X, LINE_T, method="momentum", w0=[0.0, 0.0], max_iter=2, lr=0.01)
    np.testing.assert_allclose(result.weights, [0.1983, 0.1131], rtol=1e-12)


# ------------------------------------------------------- Levenberg-Marquardt vs scipy
@pytest.fixture(scope="module")
def curve():
    problem = curve_problem()     # 1-10-1 tanh, 94 samples, a local minimum w* built in
    w0 = problem.w_star + 0.2 * np.random.default_rng(0).normal(size=problem.net.n_params)
    return problem, w0


def test_curve_minimum_is_a_strict_minimum_with_nonzero_error(curve):
    problem, _ = curve
    g = engine.gradient_values(problem.net, symnet.get_loss("sse", problem.net), problem.X,
                               problem.w_star, problem.T)
    assert np.linalg.norm(g) < 1e-12 and problem.min_error > 0.05
    report = symnet.curvature_report(problem.net, "sse", problem.X, problem.w_star, problem.T)
    assert report.hessian_negative == 0 and report.hessian_eigenvalues[0] > 0
    assert report.relative_difference > 0       # the residual term is there, just small


def test_levenberg_marquardt_matches_scipy_lm(curve):
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    problem, w0 = curve
    net, X, T = problem.net, problem.X, problem.T
    reference = least_squares(
        lambda w: (net.forward(X, w) - T).ravel(), w0, method="lm",
        jac=lambda w: engine.param_jacobian_values(net, X, w).reshape(len(X), -1),
        xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert reference.status > 0                  # scipy (MINPACK) converged from this start
    # The same tolerances on both sides (symnet's defaults are scipy's, 1e-8).
    result = fit(net, X, T, method="lm", w0=w0, max_iter=200,
                 xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert result.converged and result.history.grad_norm[-1] <= 1e-6
    assert result.loss == pytest.approx(reference.cost, rel=1e-8)
    assert result.loss == pytest.approx(problem.min_error, rel=1e-8)
    # The same minimum: H's smallest eigenvalue there is ~5e-6, so at ||g|| <= 1e-6 the
    # weights are pinned only to about ||g|| / lambda_min (measured: 2e-3).
    np.testing.assert_allclose(result.weights, reference.x, atol=1e-2)
    assert result.n_iter <= 2 * reference.njev   # comparable: 11 against scipy's 36 here
    assert np.all(np.diff(result.history.loss) < 0)   # Marquardt only takes descending steps


def test_newton_and_lm_beat_gradient_descent(curve):
    problem, w0 = curve
    args = (problem.net, problem.X, problem.T)
    newton = fit(*args, method="newton", w0=w0, max_iter=100)
    lm = fit(*args, method="lm", w0=w0, max_iter=100)
    gd = fit(*args, method="gd", w0=w0, max_iter=200, lr=1e-3)
    assert newton.converged and lm.converged and not gd.converged
    assert max(newton.n_iter, lm.n_iter) < 50 < gd.n_iter
    assert gd.loss > 1.5 * problem.min_error > newton.loss


def test_lm_at_a_minimum_stops_converged_by_its_tolerances(curve):
    # Started at the minimum w* (or 1e-5 from it) with every tolerance 0, no step can
    # lower E beyond rounding in the end: that is convergence by ftol or xtol at machine
    # precision (MINPACK's tests), not a failure. (The old MATLAB-style damping reported
    # "mu exceeded mu_max", converged=False, there.)
    problem, _ = curve
    near = problem.w_star + 1e-5 * np.random.default_rng(1).normal(size=problem.net.n_params)
    for start in (problem.w_star, near):      # tolerances 0: symnet uses eps in their place
        result = fit(problem.net, problem.X, problem.T, method="lm", w0=start, grad_tol=0,
                     gtol=0, ftol=0, xtol=0)
        assert result.converged and result.reason in ("ftol", "xtol")
        assert result.loss <= problem.min_error * (1 + 1e-12)


def test_lm_with_cross_entropy_uses_generalised_gauss_newton(rng):
    net = make_net((2, 3, 1), "tanh", "sigmoid")
    X = rng.normal(size=(20, 2))
    T = (X[:, :1] + 0.5 * X[:, 1:] > 0).astype(float) * 0.8 + 0.1
    result = fit(net, X, T, loss="cross_entropy", method="lm", max_iter=30)
    assert result.history.loss[-1] < 0.9 * result.history.loss[0]
    assert np.all(np.diff(result.history.loss) < 0)


# ------------------------------------------------------- behaviour
def test_too_large_learning_rate_stops_with_a_clear_error(curve):
    problem, w0 = curve
    with pytest.raises(TrainingDiverged, match=r"lr=100\) diverged.*2 / lambda_max") as caught:
        fit(problem.net, problem.X, problem.T, method="gd", w0=w0, lr=100.0, max_iter=500)
    partial = caught.value.result
    assert np.all(np.isfinite(partial.weights)) and np.all(np.isfinite(partial.history.loss))
    assert not partial.converged


def test_runs_are_reproducible_with_a_seed(rng):
    net = make_net((2, 3, 1), "tanh", "linear")
    X, T = rng.normal(size=(40, 2)), rng.normal(size=(40, 1))
    first = fit(net, X, T, method="sgd", seed=3, max_iter=20, batch_size=8)
    again = fit(net, X, T, method="sgd", seed=3, max_iter=20, batch_size=8)
    other = fit(net, X, T, method="sgd", seed=4, max_iter=20, batch_size=8)
    np.testing.assert_array_equal(first.weights, again.weights)
    np.testing.assert_array_equal(first.history.loss, again.history.loss)
    assert not np.array_equal(first.weights, other.weights)


def test_history_shapes_and_layer_norms(rng):
    # Per-layer norms add up (in squares) to the full gradient norm; in a deep sigmoid
    # network at initialisation the first layer's gradient is the smallest (vanishing).
    net = make_net((1, 4, 4, 4, 4, 1), "sigmoid", "linear")
    X, T = rng.normal(size=(30, 1)), rng.normal(size=(30, 1))
    result = fit(net, X, T, method="adam", max_iter=5)
    h = result.history
    assert h.loss.shape == (6,) and h.layer_grad_norms.shape == (6, 5) and h.step_size.shape == (5,)
    np.testing.assert_allclose(np.sqrt(np.sum(h.layer_grad_norms ** 2, axis=1)), h.grad_norm)
    assert h.layer_grad_norms[0, 0] < h.layer_grad_norms[0, -1]
    assert np.all(np.isnan(h.damping)) and "fit(method='adam')" in str(result)


def test_progress_bar_with_and_without_tqdm(monkeypatch, capsys):
    net = make_net((1, 1), "tanh", "linear")
    fit(net, LINE_X, LINE_T, method="gd", max_iter=3, progress=True)
    pytest.importorskip("tqdm")
    assert "fit gd" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)     # as if tqdm were not installed
    result = fit(net, LINE_X, LINE_T, method="gd", max_iter=3, progress=True)
    assert result.n_iter == 3 and capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "adamw"}, "unknown method 'adamw'; known: gd, sgd"),
    ({"method": "adam", "momentum": 0.5}, "takes lr, beta1, beta2, eps; got unknown momentum"),
    ({"method": "lm", "batch_size": 2}, "uses the whole batch"),
    ({"method": "sgd", "batch_size": 9}, r"batch_size must be an integer in \[1, 2\]"),
    ({"method": "gd", "lr": -1.0}, "lr must be a finite non-negative number"),
    ({"method": "lm", "mu": 0.0}, "mu must be a finite positive number"),
    ({"method": "lm", "mu_max": 1e10},
     "takes mu, ftol, xtol, gtol, geodesic, uphill; got unknown mu_max"),
    ({"method": "lm", "uphill": "yes"}, "uphill must be True or False; got 'yes'"),
    ({"method": "lm", "geodesic": 1}, "geodesic must be True or False; got 1"),
])
def test_bad_options_are_refused(kwargs, message):
    net = make_net((1, 1), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match=message):
        fit(net, LINE_X, LINE_T, **kwargs)
