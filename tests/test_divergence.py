"""fit() detects a diverging first-order run early and suggests a learning rate that works.

The oracle for the curvature is independent of symnet: for a linear model y = X a + b
the Hessian of E = 1/2 sum (y - t)^2 is exactly [X 1]^T [X 1] (a hand formula), and for
the 1-10-1 tanh network it is the central difference of the complex-step gradient of
the plain NumPy network in tests/oracle.py. lambda_max comes from np.linalg.eigvalsh.
"""
import numpy as np
import pytest

import oracle as o
from helpers import make_net
from symnet.teach.examples import curve_problem
from symnet.train.fitting import DIVERGENCE_RISES, TrainingDiverged, fit

# ------------------------------------------------------------------ a quadratic E
# y = w_1 x_1 + w_2 x_2 + w_3 x_3 + b on 40 samples; parameters (w_1, w_2, w_3, b).
_rng = np.random.default_rng(7)
LINE_X = _rng.normal(loc=1.0, size=(40, 3))
LINE_T = LINE_X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 + 0.1 * _rng.normal(size=(40, 1))
DESIGN = np.hstack([LINE_X, np.ones((40, 1))])          # [X 1]: E = 1/2 ||[X 1] w - t||^2
LINE_H = DESIGN.T @ DESIGN                              # its exact, constant Hessian
LINE_LAMBDA = np.linalg.eigvalsh(LINE_H).max()
LINE_MIN = 0.5 * np.sum((DESIGN @ np.linalg.lstsq(DESIGN, LINE_T, rcond=None)[0] - LINE_T) ** 2)
LINE_START = np.array([2.0, 1.0, -1.0, 3.0])


@pytest.fixture(scope="module")
def line():
    return make_net((3, 1), "tanh", "linear")


def test_quadratic_just_above_the_limit_is_stopped_within_a_few_dozen_steps(line):
    # lr = 1.02 x 2/lambda_max: the top eigen-direction grows by |1 - 2.04| = 1.04 a step,
    # so E grows by 8 % a step once the other directions have converged.
    with pytest.raises(TrainingDiverged) as caught:
        fit(line, LINE_X, LINE_T, method="gd", w0=LINE_START, lr=1.02 * 2 / LINE_LAMBDA,
            max_iter=2000)
    error = caught.value
    assert error.iteration <= 40
    assert error.lambda_max == pytest.approx(LINE_LAMBDA, rel=1e-6)
    assert error.stable_lr == pytest.approx(2 / LINE_LAMBDA, rel=1e-6)
    assert error.suggested_lr == pytest.approx(1 / LINE_LAMBDA, rel=1e-6)
    history = error.result.history
    assert np.all(np.diff(history.loss[-DIVERGENCE_RISES - 1:]) > 0)     # rising steadily
    assert np.all(np.isfinite(history.loss)) and np.all(np.isfinite(error.result.weights))
    assert error.result.reason == "diverged" and not error.result.converged
    assert "2 / lambda_max" in str(error) and f"{1 / LINE_LAMBDA:.4g}" in str(error)
    # The suggested lr converges to the least-squares minimum.
    result = fit(line, LINE_X, LINE_T, method="gd", w0=LINE_START, lr=error.suggested_lr,
                 max_iter=5000)
    assert result.converged and result.loss == pytest.approx(LINE_MIN, rel=1e-9)


def test_quadratic_below_the_limit_is_not_stopped(line):
    # lr = 0.9 x 2/lambda_max: every direction contracts (|1 - lr lambda| < 1), E falls.
    result = fit(line, LINE_X, LINE_T, method="gd", w0=LINE_START, lr=0.9 * 2 / LINE_LAMBDA,
                 max_iter=5000)
    assert result.converged and result.loss == pytest.approx(LINE_MIN, rel=1e-9)
    assert np.all(np.diff(result.history.loss) <= 0)


def test_momentum_states_its_own_limit(line):
    # The heavy ball is stable on a quadratic for lr lambda < 2 (1 + momentum) = 3.8.
    with pytest.raises(TrainingDiverged) as caught:
        fit(line, LINE_X, LINE_T, method="momentum", w0=LINE_START,
            lr=1.2 * 3.8 / LINE_LAMBDA, max_iter=2000)
    assert caught.value.stable_lr == pytest.approx(3.8 / LINE_LAMBDA, rel=1e-6)
    assert caught.value.suggested_lr == pytest.approx(1 / LINE_LAMBDA, rel=1e-6)
    assert "2 (1 + momentum) / lambda_max" in str(caught.value)


def test_overflow_is_reported_with_finite_weights_and_history(line):
    # One step of lr = 1e200 puts E (about (1e200 ||g||)^2) past float64.
    with pytest.raises(TrainingDiverged, match="not finite") as caught:
        fit(line, LINE_X, LINE_T, method="gd", w0=LINE_START, lr=1e200, max_iter=50)
    assert caught.value.iteration == 1 and caught.value.suggested_lr == pytest.approx(
        1 / LINE_LAMBDA, rel=1e-6)
    partial = caught.value.result
    assert np.all(np.isfinite(partial.weights)) and np.all(np.isfinite(partial.history.loss))
    assert np.all(np.isfinite(partial.history.grad_norm))


# ------------------------------------------------------------------ the 1-10-1 network
@pytest.fixture(scope="module")
def curve():
    return curve_problem()


def oracle_lambda_max(problem, w):
    """lambda_max of the oracle's central-difference Hessian of the plain NumPy network."""
    H = o.hessian_fd_grad((1, 10, 1), "tanh", "linear", problem.X, w, problem.T, "sse")
    return np.linalg.eigvalsh((H + H.T) / 2).max()


@pytest.mark.parametrize("method", ["gd", "momentum"])
def test_a_run_exploding_from_the_first_step_is_stopped_at_once(curve, method):
    # The run: lr = 0.05 from init_params(0) went 47 -> 272 -> 7063 -> 6.3e6 and
    # was only reported at iteration 91 (when E overflowed).
    net, X, T = curve.net, curve.X, curve.T
    with pytest.raises(TrainingDiverged) as caught:
        fit(net, X, T, method=method, lr=0.05, max_iter=200)
    error = caught.value
    assert error.iteration <= 3 and error.losses[0] == pytest.approx(47.3, abs=0.05)
    assert error.lambda_max == pytest.approx(oracle_lambda_max(curve, net.init_params(0)),
                                             rel=1e-4)
    # The suggested lr trains: 300 steps without a divergence, E well below its start.
    result = fit(net, X, T, method=method, lr=error.suggested_lr, max_iter=300)
    assert result.loss < 0.1 * result.history.loss[0]


@pytest.mark.parametrize("fraction, diverges", [(0.9, False), (1.1, True)])
def test_near_a_minimum_the_limit_is_two_over_lambda_max(curve, fraction, diverges):
    lam = oracle_lambda_max(curve, curve.w_star)
    start = curve.w_star + 1e-3 * np.random.default_rng(2).normal(size=curve.net.n_params)
    run = dict(method="gd", w0=start, lr=fraction * 2 / lam, max_iter=400, grad_tol=0)
    if not diverges:
        result = fit(curve.net, curve.X, curve.T, **run)
        assert result.loss < result.history.loss[0]
        return
    with pytest.raises(TrainingDiverged) as caught:
        fit(curve.net, curve.X, curve.T, **run)
    error = caught.value
    assert error.iteration <= 60
    assert error.lambda_max == pytest.approx(lam, rel=1e-2)   # at the start, 1e-3 from w*
    result = fit(curve.net, curve.X, curve.T, **{**run, "lr": error.suggested_lr})
    assert result.loss < result.history.loss[0]


def test_noisy_sgd_near_a_minimum_is_not_called_diverging(line):
    # Mini-batch noise makes E rise now and then, above the minimum it started at, even
    # several steps in a row: only a blow-up counts for sgd.
    start = np.linalg.lstsq(DESIGN, LINE_T, rcond=None)[0].ravel()
    result = fit(line, LINE_X, LINE_T, method="sgd", w0=start, lr=0.5 / LINE_LAMBDA,
                 batch_size=4, max_iter=2000, grad_tol=0)
    assert np.any(np.diff(result.history.loss) > 0) and result.n_iter == 2000
