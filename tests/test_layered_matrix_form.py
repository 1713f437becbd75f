"""The compiled matrix form of Network and RNN derivations (symnet.compiled.layered_form).

``evaluate`` of the gradient and both Jacobians now runs the matrix form (correlations,
their transposes, a loop over time); ``evaluate_entries`` still runs the named form, one
lambdified line per named unit. Each is checked against the other (two routes that share
nothing after the forward pass) and against the independent NumPy oracle of tests/oracle.py
(complex steps of a forward pass written with loops, exact to rounding), for the loss rows
sse, cross-entropy with sigmoid outputs and cross-entropy with softmax outputs.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symnet
from symnet.compiled import layered_form
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

import layered_cases as cases
import oracle


def _relative(a, b):
    return np.max(np.abs(np.asarray(a) - b)) / np.max(np.abs(b))


# The cases (symnet network, independent oracle forward) are shared with
# tests/test_backends_layered.py: tests/layered_cases.py.
CASES = {"conv1d_stride2_same": cases.conv1d_strided_same, "conv2d": cases.conv2d("softplus"),
         "residual": cases.residual, "rnn_last": cases.rnn("last"), "rnn_all": cases.rnn("all")}
PAIRS = cases.pairs(CASES)


def _problem(case, out, seed=0, n=5):
    return cases.problem(CASES, case, out, seed, n)


@pytest.mark.parametrize("case, out, loss", PAIRS)
def test_gradient_matrix_form_equals_entries_route_and_oracle(case, out, loss):
    net, f, X, w, T = _problem(case, out)
    grad = symnet.gradient(net, loss)
    fast = grad.evaluate(X, w, T)
    assert _relative(fast, grad.evaluate_entries(X, w, T)) <= 1e-12
    assert _relative(fast, oracle.model_grad(f, X, w, T, loss, out)) <= 1e-12


@pytest.mark.parametrize("case, out", [(case, out) for case in CASES
                                       for out in ("linear", "sigmoid", "softmax")
                                       if not (case == "rnn_all" and out == "softmax")])
def test_jacobians_matrix_form_equal_entries_route_and_oracle(case, out):
    net, f, X, w, _ = _problem(case, out, seed=3)
    P, J = symnet.param_jacobian(net), symnet.input_jacobian(net)
    fast_P, fast_J = P.evaluate(X, w), J.evaluate(X, w)
    assert fast_P.shape == (len(X), net.sizes[-1], net.n_params)
    assert fast_J.shape == (len(X), net.sizes[-1], net.sizes[0])
    assert _relative(fast_P, P.evaluate_entries(X, w)) <= 1e-12
    assert _relative(fast_J, J.evaluate_entries(X, w)) <= 1e-12
    assert _relative(fast_P, oracle.model_param_jacobian(f, X, w)) <= 1e-12
    assert _relative(fast_J, oracle.model_input_jacobian(f, X, w)) <= 1e-12


def test_evaluate_runs_the_matrix_form_and_evaluate_entries_the_named_form(monkeypatch):
    net, _, X, w, T = _problem("rnn_last", "linear", n=2)
    calls = []
    original = layered_form.backward
    monkeypatch.setattr(layered_form, "backward",
                        lambda *args, **kw: calls.append(1) or original(*args, **kw))
    grad, P, J = symnet.gradient(net, "sse"), symnet.param_jacobian(net), symnet.input_jacobian(net)
    grad.evaluate_entries(X, w, T), P.evaluate_entries(X, w), J.evaluate_entries(X, w)
    assert calls == []                                  # the other route: no matrix form
    grad.evaluate(X, w, T), P.evaluate(X, w), J.evaluate(X, w)
    assert len(calls) == 3


# -- weight sharing, by hand --------------------------------------------------------------------
def test_strided_same_padded_kernel_gradient_is_a_sum_over_positions_by_hand():
    # L = 4, k = 3, stride 2, "same": L_out = ceil(4/2) = 2, total padding (2-1)*2 + 3 - 4 = 1,
    # left 0, right 1 (oracle.same_padding). Padded x = (x1, x2, x3, x4, 0); linear unit
    # a_p = sum_m w_m xpad_{2(p-1)+m} + b, so a_1 reads (x1, x2, x3) and a_2 (x3, x4, 0).
    net = symnet.Network((1, 4), [Conv1D(1, 3, "linear", stride=2, padding="same")])
    assert oracle.same_padding(4, 3, 2) == (0, 1)
    X = np.array([[1.0, 2.0, 3.0, 4.0]])
    w = np.array([0.5, -1.0, 2.0, 0.25])              # w_1, w_2, w_3, b
    P = symnet.param_jacobian(net).evaluate(X, w)
    np.testing.assert_array_equal(P, [[[1.0, 2.0, 3.0, 1.0], [3.0, 4.0, 0.0, 1.0]]])
    # a = (0.5 - 2 + 6 + 0.25, 1.5 - 4 + 0 + 0.25) = (4.75, -2.25); sse with t = 0 gives
    # delta = a, so dE/dw_m = sum_p delta_p xpad_{2(p-1)+m} = 4.75 (1, 2, 3) - 2.25 (3, 4, 0)
    g = symnet.gradient(net, "sse").evaluate(X, w, np.zeros((1, 2)))
    np.testing.assert_allclose(g, [4.75 - 6.75, 9.5 - 9.0, 14.25, 4.75 - 2.25], rtol=1e-15)
    # the input Jacobian is the banded kernel: row p holds w at 2(p-1)+m (the last tap
    # of row 2 falls on the padding)
    J = symnet.input_jacobian(net).evaluate(X, w)
    np.testing.assert_array_equal(J, [[[0.5, -1.0, 2.0, 0.0], [0.0, 0.0, 0.5, -1.0]]])


def test_one_step_rnn_has_an_exactly_zero_recurrent_block():
    # h^(0) = 0, so W_hh multiplies zero at the only step: its columns are exactly 0 in
    # every derivation (no term of the matrix form uses the block)
    net = symnet.RNN(2, 3, 2, steps=1)
    rng = np.random.default_rng(4)
    X, w, T = rng.normal(size=(3, 2)), net.init_params(seed=4), rng.normal(size=(3, 2))
    hh = net.blocks[1].columns
    assert net.blocks[1].label == "W_hh"
    np.testing.assert_array_equal(symnet.param_jacobian(net).evaluate(X, w)[..., hh], 0.0)
    np.testing.assert_array_equal(symnet.gradient(net, "sse").evaluate(X, w, T)[hh], 0.0)


def test_weight_decay_adds_lambda_w_once():
    net, f, X, w, T = _problem("conv1d_stride2_same", "linear")
    grad = symnet.gradient(net, "sse", weight_decay=0.3)
    expected = oracle.model_grad(f, X, w, T, "sse") + 0.3 * w     # E + 0.3/2 ||w||^2
    assert _relative(grad.evaluate(X, w, T), expected) <= 1e-12
    assert _relative(grad.evaluate(X, w, T), grad.evaluate_entries(X, w, T)) <= 1e-12


def test_one_sample_drops_the_sample_axis():
    net, f, X, w, T = _problem("rnn_all", "linear", n=1)
    J = symnet.param_jacobian(net).evaluate(X[0], w)
    assert J.shape == (net.sizes[-1], net.n_params)
    assert _relative(J, oracle.model_param_jacobian(f, X, w)[0]) <= 1e-12
    g = symnet.gradient(net, "sse").evaluate(X[0], w, T[0])
    assert _relative(g, oracle.model_grad(f, X, w, T, "sse")) <= 1e-12


# -- random shapes --------------------------------------------------------------------------------
@settings(max_examples=10, deadline=None)
@given(c_in=st.integers(1, 2), c_out=st.integers(1, 3), length=st.integers(1, 8),
       kernel=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 100))
def test_conv1d_on_random_shapes_equals_the_oracle(c_in, c_out, length, kernel, stride,
                                                   padding, seed):
    if padding == "valid" and kernel > length:
        return
    net = symnet.Network((c_in, length), [Conv1D(c_out, kernel, "tanh", stride=stride,
                                                 padding=padding), Flatten(), Dense(2, "linear")])
    spec = [("conv1d", c_out, kernel, "tanh", stride, padding), ("flatten",),
            ("dense", 2, "linear")]

    def f(X, w):
        return oracle.layered_forward((c_in, length), spec, X, w)
    rng = np.random.default_rng(seed)
    X, w, T = rng.normal(size=(3, c_in * length)), net.init_params(seed=seed), rng.normal(
        size=(3, 2))
    assert _relative(symnet.gradient(net, "sse").evaluate(X, w, T),
                     oracle.model_grad(f, X, w, T, "sse")) <= 1e-12
    assert _relative(symnet.input_jacobian(net).evaluate(X, w),
                     oracle.model_input_jacobian(f, X, w)) <= 1e-12
    assert _relative(symnet.param_jacobian(net).evaluate(X, w),
                     oracle.model_param_jacobian(f, X, w)) <= 1e-12


@settings(max_examples=6, deadline=None)
@given(c_in=st.integers(1, 2), rows=st.integers(2, 4), columns=st.integers(2, 4),
       kh=st.integers(1, 2), kw=st.integers(1, 2), seed=st.integers(0, 100))
def test_conv2d_on_random_shapes_equals_the_oracle(c_in, rows, columns, kh, kw, seed):
    net = symnet.Network((c_in, rows, columns), [Conv2D(2, (kh, kw), "tanh"), Flatten(),
                                                 Dense(1, "linear")])
    spec = [("conv2d", 2, (kh, kw), "tanh"), ("flatten",), ("dense", 1, "linear")]

    def f(X, w):
        return oracle.layered_forward((c_in, rows, columns), spec, X, w)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(2, c_in * rows * columns)), net.init_params(seed=seed)
    T = rng.normal(size=(2, 1))
    assert _relative(symnet.gradient(net, "sse").evaluate(X, w, T),
                     oracle.model_grad(f, X, w, T, "sse")) <= 1e-12
    assert _relative(symnet.input_jacobian(net).evaluate(X, w),
                     oracle.model_input_jacobian(f, X, w)) <= 1e-12


# -- overflow -------------------------------------------------------------------------------------
def _refused_as_overflow(call, match):
    """The call raises NumericalOverflowError; NumPy may have warned about it first."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(symnet.NumericalOverflowError, match=match):
            call()
    assert all(issubclass(w.category, RuntimeWarning) for w in seen), [str(w) for w in seen]


def test_overflow_in_the_backward_pass_is_refused_not_returned():
    # y = w2 (w1 x1 + w2' x2) + b with w1 = 1e200, w2 = 1e250, x1 = 1e-300: the forward
    # pass is finite (z = 1e-100, y = 1e150), but delta^(1) = w2 delta^(2) = 1e400 and
    # dy/dx_1 = w2 w1 = 1e450 overflow float64
    net = symnet.Network((1, 2), [Conv1D(1, 2, "linear"), Flatten(), Dense(1, "linear")])
    w = np.array([1e200, 0.0, 0.0, 1e250, 0.0])
    X, T = np.array([[1e-300, 0.0]]), np.zeros((1, 1))
    assert np.isfinite(net.forward(X, w)).all()
    _refused_as_overflow(lambda: symnet.gradient(net, "sse").evaluate(X, w, T), "gradient")
    _refused_as_overflow(lambda: symnet.input_jacobian(net).evaluate(X, w), "input Jacobian")
