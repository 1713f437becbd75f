"""The checker itself is tested (autograd's test_tests.py style): planted errors are
caught and named, kinks are explained and never failed, accuracy and error
estimates hold against complex step as the truth, non-finite values are reported."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symnet
from symnet.compiled import matrix_form as engine
from helpers import derivation, make_net

EPS = np.finfo(float).eps


class Tampered:
    """A real derivation whose ``evaluate`` is changed by ``tamper``; everything else delegates."""

    def __init__(self, real, tamper):
        self._real, self._tamper = real, tamper

    def __getattr__(self, name):
        return getattr(self._real, name)

    def evaluate(self, X, w, T=None):
        return self._tamper(self._real.evaluate(X, w, T))


@pytest.fixture
def tanh_problem(rng):
    net = make_net((3, 4, 2), "tanh", "linear")
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    return net, X, net.init_params(seed=7), T


# -- planted errors ------------------------------------------------------------------
@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
def test_one_flipped_bias_sign_is_the_only_failure_and_is_named(tanh_problem, method):
    net, X, w, T = tanh_problem
    column = net.param_index("b_2^(1)")

    def flip(g):
        g = g.copy()
        g[column] = -g[column]
        return g
    report = symnet.check(Tampered(derivation("gradient", (3, 4, 2), "tanh", "linear", "sse"),
                                   flip), X, w, T, method=method)
    assert not report.passed
    assert [e.name for e in report.failures()] == ["dE/db_2^(1)"]
    assert report.worst.name == "dE/db_2^(1)"
    assert "dE/db_2^(1)" in str(report)
    with pytest.raises(symnet.CheckFailed, match=r"dE/db_2\^\(1\)") as caught:
        report.raise_if_failed()
    assert isinstance(caught.value, AssertionError) and caught.value.report is report


def _gradient_without_h_prime(net, layer, loss_name):
    """The gradient computed with h'(a^(layer)) replaced by 1: the classic slip."""
    loss = symnet.get_loss(loss_name, net)

    def wrong(X, w, T):
        A, Z = engine.forward_pass(net, X, w)
        dh, _ = engine.layer_derivatives(net, A, Z)
        dh[layer] = np.ones_like(dh[layer])
        deltas = engine._deltas(net, loss, A, Z, T, dh, w)
        return engine.gradient_from_deltas(net, deltas, Z)
    return wrong


@pytest.mark.parametrize("dropped, failing_layers", [(1, {1}), (2, {1, 2})])
def test_dropped_h_prime_fails_exactly_the_layers_below_it(rng, dropped, failing_layers):
    # delta^(l) = h'(a^(l)) (W^(l+1)T delta^(l+1)): dropping h' at layer 2 corrupts delta^(2)
    # and, through the recursion, delta^(1); the output layer's entries stay right.
    sizes = (2, 3, 3, 1)
    net = make_net(sizes, "tanh", "linear")
    real = derivation("gradient", sizes, "tanh", "linear", "sse")
    wrong = _gradient_without_h_prime(net, dropped, "sse")
    X, T = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    w = net.init_params(seed=3)
    report = symnet.check(Tampered(real, lambda g: wrong(X, w, T)), X, w, T)
    failed = {int(e.name.split("^(")[1][0]) for e in report.failures()}
    expected = sum(net.sizes[l] * (net.sizes[l - 1] + 1) for l in failing_layers)
    assert failed == failing_layers
    assert report.count("fail") == expected


# -- kinks -------------------------------------------------------------------------
@pytest.mark.parametrize("hidden, slope", [("relu", 0.0), ("leaky_relu", 0.01)])
def test_exact_zero_pre_activation_gives_kinks_with_one_sided_values(hidden, slope):
    # 2-2-1, linear output: y = w_11^(2) h(a_1) + w_12^(2) h(a_2) + b^(2).
    # x = (1, 2); a_1 = 1*1 + 0.5*2 - 2 = 0 exactly (the kink); a_2 = 0.5 + 0.5 + 0 = 1.
    # Along b_1^(1): y moves as w_11^(2) h(a_1), so dy/db_1^(1) has left s*w and right 1*w
    # with w_11^(2) = 1: left s, right 1 (s = 0 for ReLU). The same for w_11^(1) (times x_1 = 1).
    net = make_net((2, 2, 1), hidden, "linear")
    w = net.pack([[[1.0, 0.5], [0.5, 0.25]], [[1.0, -0.7]]], [[-2.0, 0.0], [0.3]])
    J = derivation("param_jacobian", (2, 2, 1), hidden, "linear")
    for method in ("central", "richardson"):
        report = symnet.check(J, [1.0, 2.0], w, method=method)
        assert report.count("fail") == 0 and report.passed
        kinks = {k.name: k for k in report.kinks}
        # exactly the parameters that move a_1: w_11^(1), w_12^(1), b_1^(1)
        assert set(kinks) == {"dy_1/dw_11^(1)", "dy_1/dw_12^(1)", "dy_1/db_1^(1)"}
        bias = kinks["dy_1/db_1^(1)"]
        assert bias.left == pytest.approx(slope, abs=1e-9)
        assert bias.right == pytest.approx(1.0, abs=1e-9)
        assert bias.exact == pytest.approx(slope)        # the convention h'(0) = s
        assert kinks["dy_1/dw_12^(1)"].right == pytest.approx(2.0, abs=1e-9)   # x_2 = 2
        assert "convention" in bias.reason
        assert "= 0 exactly" in str(report) and "kink" in str(report)


def test_kink_within_reach_but_not_at_zero_is_also_found():
    # a_1 = 1e-9 (centre on the right), the step ~6e-6 crosses to the left.
    net = make_net((1, 1, 1), "relu", "linear")
    w = net.pack([[[1.0]], [[1.0]]], [[1e-9 - 1.0], [0.0]])
    report = symnet.check(derivation("gradient", (1, 1, 1), "relu", "linear", "sse"),
                          [[1.0]], w, [[0.0]])
    assert report.passed and report.count("kink") == 2
    assert "within the step" in str(report)


def test_relu_away_from_kinks_has_no_kink_entries(rng):
    net = make_net((2, 3, 2), "relu", "sigmoid")
    X, T = rng.normal(size=(4, 2)), rng.uniform(0.1, 0.9, size=(4, 2))
    w = net.init_params(seed=2)
    A, _ = engine.forward_pass(net, X, w)
    assert np.abs(A[1]).min() > 1e-3          # precondition: every unit far from its kink
    report = symnet.check(derivation("gradient", (2, 3, 2), "relu", "sigmoid", "cross_entropy"),
                          X, w, T)
    assert report.passed and report.count("kink") == 0


# -- accuracy and honest error estimates ---------------------------------------------
SMOOTH = ["tanh", "sigmoid", "softplus"]


def _normwise_error(report, truth, values):
    """max_j |numeric_j - truth_j| / max(max_j |truth_j|, max |f|), a normwise relative error.

    A difference quotient's error is absolute: round-off eps |f| / h scales with the
    function values f, not with the entry, so entries far below the derivative's own
    size (or a derivative far below |f|, e.g. a saturated sigmoid net's input Jacobian)
    show a large per-entry relative error with no fault. Accuracy is therefore stated
    against the larger of the derivative's and the function's size; per entry the
    CS231n "good" bound 1e-7 is asserted for entries of at least 1e-2 of the largest.
    """
    scale = max(np.max(np.abs(truth)), np.max(np.abs(values)))
    return np.max(np.abs(report.numeric - truth)) / scale


def _per_entry_error(report, truth):
    big = np.abs(truth) >= 1e-2 * np.max(np.abs(truth))
    return np.max(report.rel_error[big])


@settings(max_examples=12, deadline=None)
@given(depth=st.sampled_from([1, 2]), width=st.integers(2, 4),
       hidden=st.sampled_from(SMOOTH), kind=st.sampled_from(
           ["gradient", "param_jacobian", "input_jacobian"]), seed=st.integers(0, 10_000))
def test_accuracy_and_estimates_against_complex_step(depth, width, hidden, kind, seed):
    sizes = (3,) + (width,) * depth + (2,)
    output = "linear"
    args = ("sse",) if kind == "gradient" else ()
    d = derivation(kind, sizes, hidden, output, *args)
    net = make_net(sizes, hidden, output)
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    w = net.init_params(seed=seed)
    truth = symnet.check(d, X, w, T, method="complex")
    # Complex step has no cancellation: it equals the exact values to rounding, measured
    # against the largest entry (a tiny entry carries the rounding of the large ones).
    exact = d.evaluate(X, w, T)
    assert truth.passed
    assert np.max(np.abs(truth.numeric - exact)) <= 1e-13 * np.max(np.abs(exact))
    for method, bound in (("central", 1e-9), ("richardson", 1e-11)):
        report = symnet.check(d, X, w, T, method=method)
        assert report.passed
        assert _normwise_error(report, truth.numeric, d.function(X, w, T)) <= bound
        assert _per_entry_error(report, truth.numeric) <= 1e-7
        true_error = np.abs(report.numeric - truth.numeric)
        # the estimate is above the true error in every entry (complex step's own
        # rounding, a few eps of the value, allowed for)
        assert np.all(true_error <= report.estimate + 4 * EPS * np.abs(truth.numeric))


@pytest.mark.parametrize("hessian_from", ["gradient", "error"])
@pytest.mark.parametrize("method", ["central", "richardson"])
def test_hessian_checks_pass_on_the_exact_hessian(rng, method, hessian_from):
    net = make_net((2, 2, 1), "tanh", "linear")
    H = derivation("hessian", (2, 2, 1), "tanh", "linear", "sse")
    X, T = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    report = symnet.check(H, X, w := net.init_params(seed=4), T, method=method,
                          hessian_from=hessian_from)
    assert report.passed and report.verdicts.shape == (9, 9)
    # a planted asymmetric slip in one entry is caught and named as H[row, column]
    bad = symnet.check(Tampered(H, lambda h: h + np.eye(9)[0:1].T @ np.eye(9)[4:5] * 0.1),
                       X, w, T, method=method, hessian_from=hessian_from)
    assert [e.name for e in bad.failures()] == ["H[w_11^(1), b_1^(1)]"]


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
def test_gauss_newton_against_numerical_jacobian(rng, method):
    net = make_net((2, 3, 2), "tanh", "softmax")
    G = symnet.hessian(net, "cross_entropy", approx="gauss_newton")
    X = rng.normal(size=(4, 2))
    T = np.eye(2)[[0, 1, 1, 0]]
    report = symnet.check(G, X, net.init_params(seed=5), T, method=method)
    assert report.passed and "Lambda exact" in report.step_rule


def test_a_derivation_declaring_its_own_function_is_evaluated_point_by_point(tanh_problem):
    net, X, w, T = tanh_problem
    real = derivation("gradient", (3, 4, 2), "tanh", "linear", "sse")

    class OwnFunction(Tampered):
        def function(self, X, w, T=None):       # E written out by hand: 1/2 sum (y - t)^2
            return 0.5 * np.sum((net.forward(X, w) - T) ** 2)
    report = symnet.check(OwnFunction(real, lambda g: g), X, w, T)
    assert report.passed and "point by point" in str(report)


# -- non-finite values ---------------------------------------------------------------
def test_non_finite_values_at_perturbed_points_are_failures():
    # y = w x + b with x = 1.7976e308: y is finite, but y at w + h overflows to inf.
    net = symnet.MLP([1, 1])
    report = symnet.check(symnet.param_jacobian(net), [1.7976e308], np.array([1.0, 0.0]))
    assert not report.passed and report.n_nonfinite >= 1
    entry = report.entry((0, 0))
    assert entry.verdict == "fail" and "not finite" in entry.reason
    assert "not finite" in str(report)


# -- the report ----------------------------------------------------------------------
def test_report_is_one_frozen_type_that_reads_well(tanh_problem):
    net, X, w, T = tanh_problem
    J = derivation("input_jacobian", (3, 4, 2), "tanh", "linear")
    report = symnet.check(J, X, w)
    assert type(report) is symnet.CheckReport
    with pytest.raises(AttributeError):
        report.method = "complex"
    with pytest.raises(ValueError):
        report.numeric[0, 0, 0] = 1.0
    assert report.verdicts.shape == report.exact.shape == (5, 2, 3)
    assert set(np.unique(report.verdicts)) <= {"pass", "fail", "kink"}
    text = str(report)
    assert "PASSED" in text and "rtol = 1e-07" in text and "eps^(1/3)" in text
    assert report.worst.name.startswith("J_") and " at sample " in report.worst.name
    assert "<table>" in report._repr_html_()
    assert report.raise_if_failed() is report
    single = symnet.check(J, X[0], w)
    assert single.exact.shape == (2, 3) and " at sample" not in single.worst.name


# -- bad input ---------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    (dict(step=0.0), "positive and finite"),
    (dict(step=-1e-5), "positive and finite"),
    (dict(step=np.nan), "positive and finite"),
    (dict(step=np.inf), "positive and finite"),
    (dict(step=np.ones(3)), "step must be"),
    (dict(method="forward"), "method must be one of"),
    (dict(hessian_from="gradients"), "hessian_from"),
])
def test_bad_options_are_refused(tanh_problem, kwargs, message):
    net, X, w, T = tanh_problem
    d = derivation("gradient", (3, 4, 2), "tanh", "linear", "sse")
    with pytest.raises(symnet.SymnetError, match=message):
        symnet.check(d, X, w, T, **kwargs)


def test_complex_step_is_refused_for_kinked_networks_and_hessians(rng):
    relu = derivation("gradient", (2, 3, 2), "relu", "sigmoid", "cross_entropy")
    X, T = rng.normal(size=(2, 2)), rng.uniform(size=(2, 2))
    with pytest.raises(symnet.SymnetError, match="layer 1 uses relu.*method='central'"):
        symnet.check(relu, X, np.zeros(17), T, method="complex")
    H = derivation("hessian", (2, 2, 1), "tanh", "linear", "sse")
    with pytest.raises(symnet.SymnetError, match="first derivatives only"):
        symnet.check(H, X, np.zeros(9), T[:, :1], method="complex")


def test_wrong_shapes_and_foreign_derivations_are_refused(tanh_problem):
    net, X, w, T = tanh_problem
    d = derivation("gradient", (3, 4, 2), "tanh", "linear", "sse")
    with pytest.raises(symnet.SymnetError, match=r"X must have shape \(N, 3\)"):
        symnet.check(d, X[:, :2], w, T)
    with pytest.raises(symnet.SymnetError, match=r"w must have shape \(26,\)"):
        symnet.check(d, X, w[:-1], T)
    with pytest.raises(symnet.SymnetError, match="needs targets"):
        symnet.check(d, X, w, None)
    with pytest.raises(symnet.SymnetError, match=r"T must have shape \(5, 2\)"):
        symnet.check(d, X, w, T[:3])
    other = make_net((3, 5, 2), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match="belongs to"):
        symnet.check(d, X, w, T, net=other)
    assert symnet.check(d, X, w, T, net=make_net((3, 4, 2), "tanh", "linear")).passed
    with pytest.raises(symnet.SymnetError, match="check needs a derivation"):
        symnet.check(np.eye(3), X, w, T)
