"""Refusals and bad input (issue 11, section 5): refused up front with a clear symnet error.

* Work too large for its limits (the input Hessian's derivation, ``curvature_report``'s
  dense W x W matrices, a Newton iteration) is refused with ``TooLargeError`` before
  any of it runs, stating the estimate, the limit and what to use instead. Memory
  estimates are compared with tracemalloc's peak of real runs (time estimates were
  measured against runs by hand: no wall clock in unit tests).
* Bad input (a dict for sizes, boolean arrays, text for a number) gets a SymnetError.
* An overflow of float64 from finite inputs raises ``NumericalOverflowError``: never a
  finite number that may be wrong. Where no intermediate overflows, the numbers agree
  with mpmath at 50 digits, even at X = 1e308.
"""
import tracemalloc
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import _size
from symnet.compiled import matrix_form as engine

from helpers import random_problem


# -- size: refused up front ---------------------------------------------------------------
@pytest.fixture(scope="module")
def wide():
    """W = 4,996 (about the issue's W = 5,045): too large for dense curvature at N = 94."""
    net = symnet.MLP([8, 64, 64, 4])
    rng = np.random.default_rng(0)
    return net, rng.normal(size=(94, 8)), net.init_params(seed=0), rng.normal(size=(94, 4))


@pytest.fixture
def nothing_dense_runs(monkeypatch):
    """Fail if a dense W x W computation starts: a refusal must come before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError("dense curvature work started before the size check")
    for name in ("hessian_vector_values", "gauss_newton_values"):
        monkeypatch.setattr(engine, name, refuse)


def test_curvature_report_of_a_wide_network_is_refused_with_its_estimate(wide, nothing_dense_runs):
    net, X, w, T = wide
    with pytest.raises(symnet.TooLargeError) as info:
        symnet.curvature_report(net, "sse", X, w, T)
    message = str(info.value)
    estimate = _size.estimate_curvature_report(net, 94)
    # 8 W^2 bytes per matrix: five W x W arrays alone are 5 * 8 * 4996^2 = 0.998e9 bytes
    assert estimate.bytes >= 5 * 8 * 4996 ** 2
    assert "W = 4996" in message and "GB" in message and "limits are 30 s and 1 GB" in message
    assert "hessian_vector_product" in message and "param_jacobian" in message


def test_newton_on_a_wide_network_is_refused_before_its_first_iteration(wide, nothing_dense_runs):
    net, X, w, T = wide
    with pytest.raises(symnet.TooLargeError) as info:
        symnet.fit(net, X, T, method="newton", max_iter=1)
    message = str(info.value)
    assert "one Newton iteration" in message and "limits are 5 s and 1 GB" in message
    assert "method='adam'" in message and "hessian_vector_product" in message


def test_input_hessian_of_a_large_network_is_refused_with_its_time():
    net = symnet.MLP([16, 64, 64, 4])     # W = 5,508: measured 160 s to derive (estimate 166 s)
    # terms: 64*64*(16 + 136) + 4*64*(16 + 136) + 4*16^2 = 622,592 + 38,912 + 1,024
    assert _size.input_hessian_terms(net) == 662_528
    with pytest.raises(symnet.TooLargeError, match=r"about 3 minutes .* the limits are 60 s"):
        symnet.input_hessian(net)


@pytest.mark.parametrize("sizes", [(2, 3, 1), (3, 4, 4, 2), (2, 5, 3, 1)])
def test_input_hessian_term_count_is_the_derivations(sizes):
    # The estimate counts n_l n_(l-1) (D + D (D + 1) / 2) products per layer l >= 2; the
    # derivation's named intermediates hold exactly that many top-level terms (one per
    # weight w_jp^(l) in each first- and upper-triangle second-derivative sum).
    net = symnet.MLP(list(sizes))
    derived = symnet.input_hessian(net)
    counted = sum(len(v.args) if isinstance(v, sp.Add) else 1 for v in derived.definitions.values())
    D, K = sizes[0], sizes[-1]
    assert counted == _size.input_hessian_terms(net) - K * D * D


def _peak_bytes(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("sizes,n_samples", [((8, 24, 8, 2), 40), ((3, 16, 16, 1), 200)])
def test_dense_memory_estimates_are_within_a_factor_three_of_the_peak(sizes, n_samples):
    net = symnet.MLP(list(sizes))
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(n_samples, sizes[0])), rng.normal(size=(n_samples, sizes[-1]))
    w = net.init_params(seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", symnet.GaussNewtonWarning)  # a random point: GN is poor
        report = _peak_bytes(lambda: symnet.curvature_report(net, "sse", X, w, T))
    newton = _peak_bytes(lambda: symnet.fit(net, X, T, method="newton", max_iter=1))
    for peak, estimate in [(report, _size.estimate_curvature_report(net, n_samples)),
                           (newton, _size.estimate_newton_step(net, n_samples))]:
        assert estimate.bytes / 3 <= peak <= 3 * estimate.bytes, (peak, estimate)


def test_small_problems_are_not_refused(rng):
    net = symnet.MLP([3, 4, 2])
    X, w, T = random_problem(rng, (3, 4, 2), n_samples=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", symnet.GaussNewtonWarning)
        assert symnet.curvature_report(net, "sse", X, w, T).hessian.shape == (26, 26)
    assert symnet.fit(net, X, T, method="newton", max_iter=2).n_iter <= 2
    assert symnet.input_hessian(net).evaluate(X, w).shape == (5, 2, 3, 3)


# -- sizes -------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [{2: 1, 3: 1}, {2, 3}, "23", "2-3-1", b"\x02\x03", 3, 3.0, True,
                                   None, (n for n in (2, 3)), np.array([[2, 3]]),
                                   [2, True, 1], [2, 3.0, 1], [2, np.float64(3), 1]])
def test_sizes_must_be_a_sequence_of_positive_ints(sizes):
    with pytest.raises(symnet.SymnetError, match="sizes must be"):
        symnet.MLP(sizes)


@pytest.mark.parametrize("sizes", [(2, 3, 1), [2, 3, 1], range(2, 5), np.array([2, 3, 1]),
                                   [np.int64(2), 3, np.int32(1)]])
def test_sizes_as_a_tuple_list_range_or_int_array(sizes):
    assert symnet.MLP(sizes).sizes == tuple(int(n) for n in sizes)


# -- boolean arrays -------------------------------------------------------------------------
@pytest.fixture
def net_231():
    return symnet.MLP([2, 3, 1])


@pytest.mark.parametrize("call", [
    lambda net, X, w, T: net.forward(X, w),
    lambda net, X, w, T: symnet.gradient(net, "sse").evaluate(X, w, T),
    lambda net, X, w, T: symnet.input_jacobian(net).evaluate(X, w),
    lambda net, X, w, T: symnet.check(symnet.input_jacobian(net), X, w),
    lambda net, X, w, T: symnet.fit(net, X, T, method="gd", max_iter=1),
    lambda net, X, w, T: symnet.input_sensitivity(net, X, w),
], ids=["forward", "gradient", "input_jacobian", "check", "fit", "input_sensitivity"])
def test_boolean_X_is_refused_with_the_conversion_to_use(net_231, call):
    X, T = np.array([[True, False], [False, True]]), np.zeros((2, 1))
    with pytest.raises(symnet.SymnetError, match=r"X has dtype bool; convert it with X\.astype"):
        call(net_231, X, net_231.init_params(), T)


@pytest.mark.parametrize("where", ["w", "T"])
def test_boolean_w_and_T_are_refused(net_231, where):
    X, w, T = np.zeros((2, 2)), net_231.init_params(), np.zeros((2, 1))
    arrays = {"w": w, "T": T}
    arrays[where] = arrays[where] > 0
    with pytest.raises(symnet.SymnetError, match=f"{where} has dtype bool"):
        symnet.gradient(net_231, "sse").evaluate(X, arrays["w"], arrays["T"])


# -- overflow ------------------------------------------------------------------------------
def _refused_as_overflow(call, match):
    """The call raises NumericalOverflowError; NumPy may have warned about it first."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(symnet.NumericalOverflowError, match=match) as info:
            call()
    assert all(issubclass(w.category, RuntimeWarning) for w in seen), [str(w) for w in seen]
    return info.value


@pytest.fixture
def wrong_sign():
    """y = tanh(2 x_1 - 1.5 x_2 - 1.5 x_3) at x = (1e308, 1e308, 1e308).

    Exactly, a = (2 - 1.5 - 1.5) 1e308 = -1e308, so y = tanh(a) = -1 (mpmath below).
    In float64, 2 x_1 = 2e308 overflows to inf, inf - 1.5e308 - 1.5e308 = inf, and
    tanh(inf) = +1: the wrong sign, returned as a finite number before this fix.
    """
    net = symnet.MLP([3, 1, 1], hidden="tanh")
    w = net.pack([[[2.0, -1.5, -1.5]], [[1.0]]], [[0.0], [0.0]])
    return net, np.full((1, 3), 1e308), w


def test_the_exact_value_behind_the_overflow_has_the_other_sign(wrong_sign):
    _, X, _ = wrong_sign
    mpmath.mp.dps = 50
    a = 2 * mpmath.mpf(X[0, 0]) - mpmath.mpf(1.5) * X[0, 1] - mpmath.mpf(1.5) * X[0, 2]
    assert float(mpmath.tanh(a)) == -1.0


@pytest.mark.parametrize("call", [
    lambda net, X, w: net.forward(X, w),
    lambda net, X, w: symnet.gradient(net, "sse").evaluate(X, w, [[0.0]]),
    lambda net, X, w: symnet.input_jacobian(net).evaluate(X, w),
    lambda net, X, w: symnet.param_jacobian(net).evaluate(X, w),
    lambda net, X, w: symnet.input_hessian(net).evaluate(X, w),
    lambda net, X, w: symnet.input_sensitivity(net, X, w),
    lambda net, X, w: symnet.loss_value(net, "sse", X, w, [[0.0]]),
], ids=["forward", "gradient", "input_jacobian", "param_jacobian", "input_hessian",
        "input_sensitivity", "loss_value"])
def test_an_overflowing_pre_activation_is_refused_by_name(wrong_sign, call):
    net, X, w = wrong_sign
    error = _refused_as_overflow(lambda: call(net, X, w), r"pre-activation a_1\^\(1\)")
    assert "sample 0" in str(error) and "rescale" in str(error)


def test_an_overflowing_output_is_refused():
    net = symnet.MLP([1, 1])                       # y = w x + b = 2e308: inf
    with pytest.raises(symnet.NumericalOverflowError, match=r"a_1\^\(1\)"):
        net.forward([1e308], [2.0, 0.0])


@pytest.mark.parametrize("n_samples", [1, 70_000])   # 70,000: A is large enough for the proof
@pytest.mark.parametrize("hidden", ["tanh", "sigmoid"])
def test_an_overflow_after_a_bounded_layer_is_still_refused(hidden, n_samples):
    # |z^(1)| <= 1, but w^(2) = b^(2) = 1e308 puts a^(2) = 1e308 z + 1e308 past float64:
    # the check a bounded layer lets the forward pass skip is kept where the weights allow
    # an overflow (sum |w| + |b| = 2e308 here); the last sample is the one that overflows
    net = symnet.MLP([1, 1, 1], hidden=hidden)
    w = np.array([30.0, 0.0, 1e308, 1e308])        # z^(1) = h(30 x)
    X = np.full((n_samples, 1), -1.0)               # a^(2) = 1e308 (h(-30) + 1): finite
    X[-1] = 1.0                                     # a^(2) = 1e308 (h(30) + 1) ~ 2e308: inf
    with pytest.raises(symnet.NumericalOverflowError,
                       match=rf"a_1\^\(2\).*sample {n_samples - 1}"):
        net.forward(X, w)
    with pytest.raises(symnet.NumericalOverflowError, match=r"a_1\^\(2\)"):
        symnet.gradient(net, "sse").evaluate(X, w, np.zeros((n_samples, 1)))


def test_a_proven_bound_skips_no_check_that_could_fail():
    # a large batch (the proof runs) with moderate weights: every value is finite and the
    # gradient is the oracle's complex-step one
    import oracle as o
    net = symnet.MLP([2, 3, 3, 1], hidden="tanh")
    rng = np.random.default_rng(7)
    X, T = rng.normal(size=(30_000, 2)), rng.normal(size=(30_000, 1))
    w = net.init_params(seed=2)
    assert net._pre_activation_is_bounded(w, 2) and net._pre_activation_is_bounded(w, 3)
    assert not net._pre_activation_is_bounded(w, 1)             # x is not bounded
    residuals = o.forward((2, 3, 3, 1), "tanh", "linear", X, w).real - T
    J = o.param_jacobian((2, 3, 3, 1), "tanh", "linear", X, w).real    # (N, K, W)
    want = np.einsum("nkp,nk->p", J, residuals)                       # sum_n J_n^T e_n
    got = symnet.gradient(net, "sse").evaluate(X, w, T)
    assert np.allclose(got, want, rtol=1e-11, atol=1e-11 * np.abs(want).max())


def test_an_overflowing_parameter_jacobian_entry_is_refused():
    # y = w2 (w1 x + b1) + b2 (linear hidden unit) at x = 1e200, w1 = 1e-300, w2 = 1e200:
    # a^(1) = 1e-100 and y = 1e100 are finite, but dy/dw1 = w2 x = 1e400 is not; the
    # factors' bound fails, so the result is read and the entry named
    net = symnet.MLP([1, 1, 1], hidden="linear")
    J = symnet.param_jacobian(net)
    w = np.array([1e-300, 0.0, 1e200, 0.0])
    with pytest.raises(symnet.NumericalOverflowError, match=r"parameter Jacobian.*\(0, 0, 0\)"):
        J.evaluate([[1e200]], w)
    # at x = 1e100 every entry is finite: dy/dw = (w2 x, w2, w1 x ... ) by hand
    assert np.array_equal(J.evaluate([[1e100]], w)[0],
                          [[1e200 * 1e100, 1e200, 1e-300 * 1e100 + 0.0, 1.0]])


def test_value_bounds_are_derived_from_the_expression():
    # sup |h| over the reals: 1 for tanh and sigmoid, pi / 2 for a registered arctan;
    # None (always checked) where h is unbounded or SymPy cannot tell
    import sympy as sp
    from symnet.graph.activations import activation, value_bound
    assert value_bound(activation("tanh")) == 1.0 and value_bound(activation("sigmoid")) == 1.0
    assert value_bound(activation("relu")) is None and value_bound(activation("linear")) is None
    assert value_bound(activation("softplus")) is None
    u = sp.Symbol("u", real=True)
    if "arctan_bounded_test" not in symnet.known_activations():
        symnet.register_activation("arctan_bounded_test", sp.atan(u), u)
    arctan = activation("arctan_bounded_test")
    assert value_bound(arctan) == pytest.approx(np.pi / 2, rel=1e-15)


def test_overflow_error_is_a_symnet_error_and_a_floating_point_error():
    # FloatingPointError: code that watches for overflow with np.errstate(over="raise")
    # (the training loop's divergence test) catches it as it catches NumPy's own.
    assert issubclass(symnet.NumericalOverflowError, symnet.SymnetError)
    assert issubclass(symnet.NumericalOverflowError, FloatingPointError)


def test_check_still_counts_overflow_at_perturbed_points_as_failures():
    # y = w x at x = 1.7976e308 is finite, y at w + h is not: a failed entry, not an error.
    net = symnet.MLP([1, 1])
    report = symnet.check(symnet.param_jacobian(net), [1.7976e308], np.array([1.0, 0.0]))
    assert not report.passed and report.n_nonfinite >= 1


def test_huge_inputs_without_overflow_give_the_exact_numbers():
    # The X = 1e308 on a 2-3-1 tanh net: no pre-activation overflows (|a| <= 5.3e307),
    # the tanh units saturate, and dE/dw^(1) is exactly 0 in float64. mpmath at 50 digits:
    # sech(a)^2 = 4 exp(-2|a|) ~ 10^(-4e307), times x = 1e308, rounds to 0.0.
    net = symnet.MLP([2, 3, 1], hidden="tanh")
    w = net.init_params(seed=0)
    X, t = np.array([[1e308, 1e308]]), 0.0
    mpmath.mp.dps = 50
    (W1, W2), (b1, b2) = net.unpack(w)
    x = [mpmath.mpf(v) for v in X[0]]
    a = [sum(mpmath.mpf(W1[j, i]) * x[i] for i in range(2)) + mpmath.mpf(b1[j]) for j in range(3)]
    z = [mpmath.tanh(v) for v in a]
    y = sum(mpmath.mpf(W2[0, j]) * z[j] for j in range(3)) + mpmath.mpf(b2[0])
    r = y - t                                                       # dE/dy for E = (y - t)^2 / 2
    slope = [mpmath.sech(v) ** 2 for v in a]                        # tanh'(a), no cancellation
    expected = [r * W2[0, j] * slope[j] * x[i] for j in range(3) for i in range(2)]
    expected += [r * W2[0, j] * slope[j] for j in range(3)] + [r * z[j] for j in range(3)] + [r]
    got = symnet.gradient(net, "sse").evaluate(X, w, [[t]])
    np.testing.assert_allclose(got, [float(v) for v in expected], rtol=1e-14, atol=0)
    assert np.all(got[:9] == 0.0)


# -- numeric keywords ---------------------------------------------------------------------
@pytest.fixture
def checked(rng):
    net = symnet.MLP([2, 3, 1])
    X, w, T = random_problem(rng, (2, 3, 1), n_samples=2)
    return symnet.gradient(net, "sse"), X, w, T


@pytest.mark.parametrize("keyword,value,match", [
    ("rtol", "a", "rtol must be a positive and finite number; got the string 'a'"),
    ("rtol", "1e-7", "got the string"),
    ("rtol", -1, "rtol must be a positive and finite number; got -1"),
    ("rtol", 0.0, "positive"), ("rtol", np.nan, "positive"), ("rtol", np.inf, "positive"),
    ("rtol", True, "got bool"), ("rtol", 1j, "got complex"), ("rtol", [1e-7], "got list"),
    ("step", "1e-5", "step must be a positive and finite number; got the string '1e-5'"),
    ("step", -1e-5, "positive"), ("step", 0.0, "positive"), ("step", np.inf, "positive"),
    ("step", True, "got bool"), ("step", [1e-5] * 12 + [-1e-5], "positive"),
    ("step", np.array(["1e-5"] * 13), "dtype"), ("step", [1e-5] * 3, "shape"),
])
def test_check_keywords_are_real_finite_numbers_of_the_right_sign(checked, keyword, value, match):
    grad, X, w, T = checked
    with pytest.raises(symnet.SymnetError, match=match.replace("(", r"\(")):
        symnet.check(grad, X, w, T, **{keyword: value})


def test_check_keywords_accept_numbers_and_arrays(checked):
    grad, X, w, T = checked
    assert symnet.check(grad, X, w, T, rtol=np.float32(1e-6), step=1e-5).passed
    assert symnet.check(grad, X, w, T, step=np.full(13, 2e-6)).passed


@pytest.mark.parametrize("keyword,value", [
    ("max_iter", "10"), ("max_iter", 1.5), ("max_iter", -1), ("max_iter", True),
    ("grad_tol", "1e-6"), ("grad_tol", -1.0), ("grad_tol", np.nan), ("grad_tol", None)])
def test_fit_keywords_are_validated(rng, keyword, value):
    net = symnet.MLP([1, 1])
    with pytest.raises(symnet.SymnetError, match=f"{keyword} must be a non-negative"):
        symnet.fit(net, [[0.0], [1.0]], [[1.0], [3.0]], method="gd", **{keyword: value})


@pytest.mark.parametrize("value", ["0.1", -0.1, np.nan, None])
def test_curvature_report_threshold_is_validated(value):
    net = symnet.MLP([1, 1])
    with pytest.raises(symnet.SymnetError,
                       match="threshold must be a non-negative and finite number"):
        symnet.curvature_report(net, "sse", [[1.0]], [0.5, 0.0], [[1.0]], threshold=value)
