"""Levenberg-Marquardt: the step against hand formulas on an independent network, and the
convergence claim against scipy's MINPACK (least_squares(method="lm")) as the reference.

The independent network is tests/oracle.py (plain NumPy, complex-step Jacobians); the
second directional derivative r_vv is checked against central differences of it.
"""
import statistics

import numpy as np
import pytest

import oracle as o
from symnet.train._damped import output_second_directional
from symnet.teach.examples import curve_problem
from symnet.train.fitting import fit

SIZES = (1, 10, 1)


@pytest.fixture(scope="module")
def curve():
    return curve_problem()


def oracle_residuals(problem, w):
    return (o.forward(SIZES, "tanh", "linear", problem.X, w).real - problem.T).ravel()


def oracle_E(problem, w):
    return 0.5 * np.sum(oracle_residuals(problem, w) ** 2)


def test_second_directional_derivative_against_central_differences(curve, rng):
    # r_vv = (y(w + h v) - 2 y(w) + y(w - h v)) / h^2 + O(h^2): with h = 1e-4 the
    # truncation is ~1e-8 |y''''| and the rounding ~eps |y| / h^2 ~ 1e-8.
    w, v = curve.net.init_params(1), rng.normal(size=curve.net.n_params)
    h = 1e-4
    y = lambda u: o.forward(SIZES, "tanh", "linear", curve.X, u).real
    central = (y(w + h * v) - 2 * y(w) + y(w - h * v)) / h ** 2
    exact = output_second_directional(curve.net, curve.X, w, v)
    np.testing.assert_allclose(exact, central, rtol=0, atol=1e-6 * np.abs(central).max())


def test_softmax_second_directional_derivative_against_central_differences(rng):
    import symnet
    net = symnet.MLP([2, 3, 3], hidden="tanh", output="softmax")
    X, w, v = rng.normal(size=(5, 2)), rng.normal(size=net.n_params), rng.normal(size=net.n_params)
    h = 1e-4
    y = lambda u: o.forward((2, 3, 3), "tanh", "softmax", X, u).real
    central = (y(w + h * v) - 2 * y(w) + y(w - h * v)) / h ** 2
    np.testing.assert_allclose(output_second_directional(net, X, w, v), central, atol=1e-6)


def marquardt_step(J, e, mu, d2):
    """(J^T J + mu diag(d2)) p = -J^T e, solved directly."""
    return np.linalg.solve(J.T @ J + mu * np.diag(d2), -J.T @ e)


@pytest.mark.parametrize("geodesic", [False, True])
def test_first_step_is_marquardts_scaled_step(curve, geodesic):
    # From w0 the first trial uses mu = 1e-3 and D^2 = diag(J^T J) (Marquardt's scaling);
    # with geodesic acceleration it adds a / 2, a = -(J^T J + mu D^2)^-1 J^T r_vv, when
    # 2 ||D a|| <= 0.75 ||D v||. J comes from the oracle (complex step), r_vv from central
    # differences of the oracle network.
    w0 = curve.w_star + 0.3 * np.random.default_rng(4).normal(size=curve.net.n_params)
    result = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=1, geodesic=geodesic)
    J = o.param_jacobian(SIZES, "tanh", "linear", curve.X, w0).real.reshape(len(curve.X), -1)
    e, d2 = oracle_residuals(curve, w0), np.sum(J ** 2, axis=0)
    first = result.history.trials[0]
    assert first.mu == 1e-3
    v = marquardt_step(J, e, 1e-3, d2)
    step = v
    if geodesic:
        h = 1e-4
        y = lambda u: o.forward(SIZES, "tanh", "linear", curve.X, u).real.ravel()
        r_vv = (y(w0 + h * v) - 2 * y(w0) + y(w0 - h * v)) / h ** 2
        a = marquardt_step(J, r_vv, 1e-3, d2)
        ratio = 2 * np.linalg.norm(np.sqrt(d2) * a) / np.linalg.norm(np.sqrt(d2) * v)
        assert first.acceleration == pytest.approx(ratio, rel=1e-5)
        if ratio <= 0.75:
            step = v + a / 2
    assert first.loss == pytest.approx(oracle_E(curve, w0 + step), rel=1e-8)
    if first.accepted:
        np.testing.assert_allclose(result.weights, w0 + step, rtol=1e-6, atol=1e-9)


def test_damping_follows_nielsens_rule(curve):
    # After each accepted trial (rho > 0): mu *= max(1/3, 1 - (2 rho - 1)^3) (Nielsen 1999).
    # After a rejection mu grows (MINPACK's cut of the step: exact values in
    # test_rejection_cuts_the_step_as_minpack below).
    w0 = curve.net.init_params(5)
    trials = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=60).history.trials
    assert any(not t.accepted for t in trials) and any(t.accepted for t in trials)
    for before, after in zip(trials, trials[1:]):
        if before.uphill:  # taken although E rose: mu is left as it was
            assert after.mu == before.mu and before.gain <= 0
        elif before.accepted:
            expected = before.mu * max(1 / 3, 1 - (2 * before.gain - 1) ** 3)
            assert after.mu == pytest.approx(expected, rel=1e-12)
        else:
            assert after.mu > before.mu
        assert before.accepted == (before.gain > 0 or before.uphill)


def _run_and_oracle_systems(curve, seed, K):
    """K lm iterations (no geodesic acceleration) from init_params(seed), and at the weights
    w_k of each iteration (the run stopped after k steps) the oracle's (w, J, e, D^2), D^2
    the running maximum of the column norms^2 of J (MINPACK's scaling)."""
    args = (curve.net, curve.X, curve.T)
    w0 = curve.net.init_params(seed)
    run = fit(*args, method="lm", w0=w0, max_iter=K, geodesic=False)
    weights = [w0] + [fit(*args, method="lm", w0=w0, max_iter=k, geodesic=False).last_weights
                      for k in range(1, K)]
    d2, systems = np.zeros(curve.net.n_params), []
    for w in weights:
        J = o.param_jacobian(SIZES, "tanh", "linear", curve.X, w).real.reshape(len(curve.X), -1)
        d2 = np.maximum(d2, np.sum(J ** 2, axis=0))
        systems.append((w, J, oracle_residuals(curve, w), d2.copy()))
    return run, systems


def test_rejection_cuts_the_step_as_minpack(curve):
    # After a trial step v that does not lower E, MINPACK's lmder makes the next step
    # t* times as long in the scaled norm ||D p||, with t* the minimum of the parabola
    # through E(0) = E, E'(0) = g^T v, E(1) = E(w + v): t* = -g^T v / (2 (E(w + v) - E -
    # g^T v)) clipped to [0.1, 0.5] (0.1 when E(w + v) >= 100 E). Checked with the oracle's
    # J, e and E at the weights of each iteration (w_k = the run stopped after k steps),
    # D^2 the running maximum of the column norms^2 of J (MINPACK's scaling).
    run, systems = _run_and_oracle_systems(curve, seed=5, K=12)
    rejected = 0
    trials = run.history.trials
    for before, after in zip(trials, trials[1:]):
        if before.accepted:
            continue
        w, J, e, d2 = systems[before.iteration - 1]
        E = oracle_E(curve, w)
        v = marquardt_step(J, e, before.mu, d2)
        E_trial = oracle_E(curve, w + v)
        assert before.loss == pytest.approx(E_trial, rel=1e-9)
        slope = (J.T @ e) @ v
        t = 0.1 if E_trial >= 100 * E else min(max(-slope / (2 * (E_trial - E - slope)), 0.1), 0.5)
        length = np.linalg.norm(np.sqrt(d2) * marquardt_step(J, e, after.mu, d2))
        assert length == pytest.approx(t * np.linalg.norm(np.sqrt(d2) * v), rel=1e-8)
        rejected += 1
    assert rejected >= 2


def test_uphill_steps_follow_transtrum_and_sethna(curve):
    # A trial that raises E is taken exactly when (1 - cos beta)^2 E(w + v) <= E(w) and
    # E(w + v) <= 1.1 E(w), beta the angle between the scaled velocity D v and the last
    # accepted one (Transtrum & Sethna 2012, b = 2). Recomputed from the oracle's J, e, E
    # at the weights of each iteration, D^2 the running maximum of the column norms^2.
    run, systems = _run_and_oracle_systems(curve, seed=1, K=15)
    last, decided = None, {True: 0, False: 0}
    for trial in run.history.trials:
        w, J, e, d2 = systems[trial.iteration - 1]
        velocity = np.sqrt(d2) * marquardt_step(J, e, trial.mu, d2)
        E, E_trial = oracle_E(curve, w), oracle_E(curve, w + marquardt_step(J, e, trial.mu, d2))
        assert trial.loss == pytest.approx(E_trial, rel=1e-9)
        if E_trial > E and last is not None:
            cosine = velocity @ last / (np.linalg.norm(velocity) * np.linalg.norm(last))
            expected = (1 - cosine) ** 2 * E_trial <= E and E_trial <= 1.1 * E
            assert trial.accepted == trial.uphill == expected, trial
            decided[expected] += 1
        if trial.accepted:
            last = velocity
    assert decided[True] >= 2 and decided[False] >= 2   # both verdicts were tested


# ------------------------------------------------------------------ against MINPACK
# Starts w* + 0.2 N(0, I) for seeds 0..7: the basin of the curve problem's minimum w*,
# where the minimum each run should reach is not in doubt. (From random starts the
# weights wander along valleys for hundreds of steps and two correct codes end at
# different minima; benchmarks/bench_lm.py compares 80 such starts.) scipy's residuals
# and Jacobian come from the oracle network, not from symnet.
SEEDS = range(8)


@pytest.fixture(scope="module")
def runs(curve):
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    results = []
    for seed in SEEDS:
        w0 = curve.w_star + 0.2 * np.random.default_rng(seed).normal(size=curve.net.n_params)
        reference = least_squares(
            lambda w: oracle_residuals(curve, w), w0, method="lm",
            jac=lambda w: o.param_jacobian(SIZES, "tanh", "linear", curve.X, w).real.reshape(
                len(curve.X), -1))
        ours = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=3100)
        results.append((reference, ours))
    return results


def test_converges_wherever_minpack_converges(runs):
    for seed, (reference, ours) in zip(SEEDS, runs):
        if reference.status > 0:                     # MINPACK converged (1-4)
            assert ours.converged and ours.reason in ("grad_tol", "gtol", "ftol", "xtol"), seed


def test_error_no_higher_than_minpack_on_at_least_as_many_starts(curve, runs):
    lower = higher = 0
    for reference, ours in runs:
        # symnet's E at its own weights, recomputed with the oracle network
        assert ours.loss == pytest.approx(oracle_E(curve, ours.weights), rel=1e-12)
        if abs(ours.loss - reference.cost) > 1e-8 * reference.cost:   # else: the same minimum
            lower += ours.loss < reference.cost
            higher += ours.loss > reference.cost
    assert lower >= higher


def test_no_more_jacobian_evaluations_than_minpack(runs):
    ours = statistics.median(result.evaluations["curvature"] for _, result in runs)
    theirs = statistics.median(reference.njev for reference, _ in runs)
    assert ours <= theirs


def test_converges_from_a_random_start_along_a_slow_valley(curve):
    # From init_params(6) MINPACK converges (ftol), and symnet's LM, before it took uphill
    # steps, crawled along a narrow valley for 3100 iterations (E falling by 2e-8 relative
    # per step) without converging. Convergence is checked with the oracle's gradient
    # J^T e (complex-step J), not symnet's.
    least_squares = pytest.importorskip("scipy.optimize").least_squares
    w0 = curve.net.init_params(6)

    def oracle_jacobian(w):
        return o.param_jacobian(SIZES, "tanh", "linear", curve.X, w).real.reshape(len(curve.X), -1)
    reference = least_squares(lambda w: oracle_residuals(curve, w), w0, method="lm",
                              jac=oracle_jacobian)
    assert reference.status > 0
    ours = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=3100)
    # Converged, by one of the two tests that certify it, not by running out of iterations.
    # Which one depends on the path along the valley's floor, and so on the last bits of
    # J (with tanh' = 1 - z^2 at most entries the run met grad_tol after 687 iterations;
    # with sech^2 at every entry it meets MINPACK's ftol after 393), so each is checked
    # with the oracle: grad_tol by J^T e, ftol by E itself, which a continued run (ftol = 0,
    # 3100 more iterations at most) lowers by less than 1e-6 relative (measured: 2.3e-7).
    assert ours.converged and ours.reason in ("grad_tol", "ftol")
    if ours.reason == "grad_tol":
        gradient = oracle_jacobian(ours.weights).T @ oracle_residuals(curve, ours.weights)
        assert np.linalg.norm(gradient) <= 1e-6 * (1 + 1e-6)      # grad_tol, to rounding
    else:
        onwards = fit(curve.net, curve.X, curve.T, method="lm", w0=ours.weights, max_iter=3100,
                      ftol=0.0)
        E_stop, E_onwards = oracle_E(curve, ours.weights), oracle_E(curve, onwards.weights)
        assert 0.0 <= E_stop - E_onwards <= 1e-6 * E_stop
    assert ours.evaluations["curvature"] < reference.njev


def test_a_run_that_ends_after_uphill_steps_returns_its_lowest_point(curve):
    # Stop the curve-6 run right after its first accepted uphill step: the last iterate's
    # E is above the one before, so the weights returned are those where E was lowest,
    # and FitResult.loss is their E (recomputed with the oracle, not taken from symnet)
    w0 = curve.net.init_params(6)
    full = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=3100)
    uphill = [t.iteration for t in full.history.trials if t.uphill and t.accepted]
    assert uphill, "the run takes uphill steps"
    stop = uphill[0]
    ours = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=stop)
    assert ours.reason == "max_iter" and not ours.converged
    last = ours.history.loss[-1]                     # E after the uphill step
    assert last > ours.history.loss[-2]
    assert oracle_E(curve, ours.weights) < last
    assert ours.loss == pytest.approx(oracle_E(curve, ours.weights), rel=1e-12)
    assert ours.loss == pytest.approx(ours.history.loss.min(), rel=1e-15)
    assert "lowest" in ours.message
    # the last iterate is kept too: its oracle E is the history's last
    assert oracle_E(curve, ours.last_weights) == pytest.approx(last, rel=1e-12)
    # one iteration fewer ends before the uphill step: the last iterate, as always
    before = fit(curve.net, curve.X, curve.T, method="lm", w0=w0, max_iter=stop - 1)
    assert before.loss == before.history.loss[-1] == before.history.loss.min()
