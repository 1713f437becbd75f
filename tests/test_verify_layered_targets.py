"""verify's Jacobian and Hessian targets for a Network or RNN, in the network's own names:
dy_k/dx_i (an input-Jacobian entry), dy_k/dw_p (a parameter-Jacobian entry), H[w_p, w_q].

Every formula is written by hand from the network's equations (the working is in the
comments), not from symnet's output. A refused formula's counterexample is checked by
another route: the correct value by central differences of tests/oracle.py's forward pass
(layered_forward, rnn_forward), and mixed second differences of its error for a Hessian.

The Conv1D net: a_{1,p}^(1) = w_{1,1,1}^(1) x_{1,p} + w_{1,1,2}^(1) x_{1,p+1} + b_1^(1) for
p = 1..3, z_{1,p}^(1) = tanh(a_{1,p}^(1)), y_1 = sum_p w_1p^(2) z_{1,p}^(1) + b_1^(2).

The RNN (D = 1, H = 2, K = 1, T = 2, an output at every step): a_j^(t) = w_j1^(xh) x_1^(t) +
sum_m w_jm^(hh) h_m^(t-1) + b_j^(h), h_j^(t) = tanh(a_j^(t)), h^(0) = 0, y_1^(t) =
sum_j w_1j^(hy) h_j^(t) + b_1^(y), and E = 1/2 sum_t (y_1^(t) - t_1^(t))^2.
"""

import numpy as np
import pytest

import oracle as o
import symnet
from symnet.formulas.parser import ParseError
from symnet.graph.layers import Conv1D, Dense, Flatten

CONV_SPEC = [("conv1d", 1, 2, "tanh"), ("flatten",), ("dense", 1, "linear")]
CONV = symnet.Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
RNN = symnet.RNN(1, 2, 1, steps=2, outputs="all")
STEP = 1e-6          # central differences of a first derivative
STEP_2 = 1e-4        # mixed second differences: truncation ~ STEP_2^2, rounding ~ eps/STEP_2^2


def _point(net, counterexample):
    """x, w, t of a counterexample (coordinates it leaves out do not change either side)."""
    def values(symbols):
        return np.array([float(counterexample.get(s, 0)) for s in symbols])
    return values(net.inputs), values(net.params), values(net.targets)


def _conv_forward(X, w):
    return o.layered_forward((1, 4), CONV_SPEC, X, w)


def _rnn_forward(X, w):
    return o.rnn_forward(1, 2, 1, X, w, hidden="tanh", outputs="all")   # (N, T*K), time-major


def _output_derivative(forward, x, w, output, column, of="input"):
    """d y_output / d x_column (of="input") or / d w_column, by central differences."""
    def y(v):
        X, W = (v, w) if of == "input" else (x, v)
        return forward(X[None], W)[0, output]
    v = (x if of == "input" else w).copy()
    plus, minus = v.copy(), v.copy()
    plus[column] += STEP
    minus[column] -= STEP
    return (y(plus) - y(minus)) / (2 * STEP)


def _error_hessian(forward, x, w, t, p, q):
    """d^2 E / dw_p dw_q of E = 1/2 sum (y - t)^2, by mixed second central differences."""
    def error(dp, dq):
        v = w.copy()
        v[p] += dp
        v[q] += dq
        return o.output_loss(forward(x[None], v), t[None], "sse")
    h = STEP_2
    return (error(h, h) - error(h, -h) - error(-h, h) + error(-h, -h)) / (4 * h * h)


def _refused_with(result):
    assert not result.equal and result.proven
    assert result.counterexample
    return float(result.reference_value), float(result.formula_value)


# -- the Conv1D net ----------------------------------------------------------------------
# x_{1,3} enters a_{1,2} (tap m = 2, p = 2) and a_{1,3} (tap m = 1, p = 3), so
# dy_1/dx_{1,3} = w_12^(2) (1 - z_{1,2}^2) w_{1,1,2} + w_13^(2) (1 - z_{1,3}^2) w_{1,1,1}
CONV_DY_DX = ("w_12^(2) (1 - z_1,2^(1)^2) w_1,1,2^(1) "
              "+ w_13^(2) (1 - z_1,3^(1)^2) w_1,1,1^(1)")
# the shared tap w_{1,1,2} is in every a_{1,p}, with input x_{1,p+1}:
# dy_1/dw_{1,1,2} = sum_p w_1p^(2) (1 - z_{1,p}^2) x_{1,p+1}
CONV_DY_DW = "sum_(p=1)^(3) w_1p^(2) (1 - z_1,p^(1)^2) x_(1,p+1)"
# dE/dw_12^(2) = (y_1 - t_1) z_{1,2}; its derivative in w_{1,1,2} is
# (dy_1/dw_{1,1,2}) z_{1,2} + (y_1 - t_1) dz_{1,2}/dw_{1,1,2}, dz_{1,2}/dw_{1,1,2} = (1 - z_{1,2}^2) x_{1,3}
CONV_H = f"z_1,2^(1) {CONV_DY_DW} + (y_1 - t_1) (1 - z_1,2^(1)^2) x_1,3"


@pytest.mark.parametrize("formula, target", [
    (CONV_DY_DX, "dy_1/dx_1,3"),
    (r"\frac{\partial y_1}{\partial x_{1,3}} = " + CONV_DY_DX, "dy_1/dx_1,3"),   # an equation
    (CONV_DY_DW, "dy_1/dw_1,1,2^(1)"),
    (CONV_DY_DW, "dy_1 / dw_112^(1)"),                                       # digits, no commas
    (CONV_H, "H[w_1,1,2^(1), w_12^(2)]"),
    (CONV_H, "H[w_12^(2), w_1,1,2^(1)]"),                                    # H is symmetric
])
def test_conv_jacobian_and_hessian_entries_are_verified(formula, target):
    result = symnet.verify(formula, target, net=CONV)
    assert result.equal and result.proven, str(result)


def test_conv_input_jacobian_without_h_prime_is_refused():
    wrong = symnet.verify("w_12^(2) w_1,1,2^(1) + w_13^(2) w_1,1,1^(1)", "dy_1/dx_1,3", net=CONV)
    correct, yours = _refused_with(wrong)
    x, w, _ = _point(CONV, wrong.counterexample)
    assert correct == pytest.approx(_output_derivative(_conv_forward, x, w, 0, 2),
                                    rel=1e-6, abs=1e-9)
    assert yours == pytest.approx(w[4] * w[1] + w[5] * w[0], rel=1e-12)   # the formula itself
    assert abs(correct - yours) > 1e-6


def test_conv_param_jacobian_with_the_sign_flipped_is_refused():
    wrong = symnet.verify(f"-({CONV_DY_DW})", "dy_1/dw_1,1,2^(1)", net=CONV)
    correct, yours = _refused_with(wrong)
    assert wrong.mistake == "factor_-1"
    x, w, _ = _point(CONV, wrong.counterexample)
    column = CONV.param_index("w_1,1,2^(1)")
    assert correct == pytest.approx(_output_derivative(_conv_forward, x, w, 0, column, "param"),
                                    rel=1e-6, abs=1e-9)
    assert yours == pytest.approx(-correct, rel=1e-9)


def test_conv_hessian_without_the_residual_term_is_refused():
    wrong = symnet.verify(f"z_1,2^(1) {CONV_DY_DW}", "H[w_1,1,2^(1), w_12^(2)]", net=CONV)
    correct, yours = _refused_with(wrong)
    assert wrong.mistake == "gauss_newton"
    x, w, t = _point(CONV, wrong.counterexample)
    p, q = CONV.param_index("w_1,1,2^(1)"), CONV.param_index("w_12^(2)")
    assert correct == pytest.approx(_error_hessian(_conv_forward, x, w, t, p, q),
                                    rel=1e-5, abs=1e-7)
    assert abs(correct - yours) > 1e-6


def test_conv_hessian_diagonal_with_weight_decay():
    # dE/dw_12^(2) = (y_1 - t_1) z_{1,2} + lam w_12^(2), so H[w_12^(2), w_12^(2)] = z_{1,2}^2 + lam
    target = "H[w_12^(2), w_12^(2)]"
    assert symnet.verify("z_1,2^(1)^2 + 1/10", target, net=CONV, weight_decay=0.1).proven
    forgot = symnet.verify("z_1,2^(1)^2", target, net=CONV, weight_decay=0.1)
    assert not forgot.equal and forgot.mistake == "forgot_weight_decay"


# -- the RNN, an output at every step -----------------------------------------------------
# x^(1) reaches y^(2) only through h^(1) -> a^(2):
# dy_1^(2)/dx_1^(1) = sum_j w_1j^(hy) (1 - h_j^(2)^2) sum_m w_jm^(hh) (1 - h_m^(1)^2) w_m1^(xh)
RNN_DY_DX = ("sum_(j=1)^(2) sum_(m=1)^(2) w_1j^(hy) (1 - h_j^(2)^2) w_jm^(hh) "
             "(1 - h_m^(1)^2) w_m1^(xh)")
# w_12^(hh) multiplies h_2^(1) in a_1^(2) (and h_2^(0) = 0 in a_1^(1)):
# dy_1^(2)/dw_12^(hh) = w_11^(hy) (1 - h_1^(2)^2) h_2^(1)
RNN_DY_DW = "w_11^(hy) (1 - h_1^(2)^2) h_2^(1)"
# dE/db_1^(y) = sum_t (y_1^(t) - t_1^(t)), so H[b_1^(y), b_1^(h)] = sum_t dy_1^(t)/db_1^(h):
# dy_1^(1)/db_1^(h) = w_11^(hy) (1 - h_1^(1)^2), and with da_j^(2)/db_1^(h) = [j = 1] +
# w_j1^(hh) (1 - h_1^(1)^2), dy_1^(2)/db_1^(h) = sum_j w_1j^(hy) (1 - h_j^(2)^2) da_j^(2)/db_1^(h)
RNN_STEP_2 = ("w_11^(hy) (1 - h_1^(2)^2) (1 + w_11^(hh) (1 - h_1^(1)^2)) "
              "+ w_12^(hy) (1 - h_2^(2)^2) w_21^(hh) (1 - h_1^(1)^2)")
RNN_H = f"w_11^(hy) (1 - h_1^(1)^2) + {RNN_STEP_2}"


@pytest.mark.parametrize("formula, target", [
    (RNN_DY_DX, "dy_1^(2)/dx_1^(1)"),
    ("dy_1^(2)/dx_1^(1) = " + RNN_DY_DX, "dy_1^(2)/dx_1^(1)"),
    ("0", "dy_1^(1)/dx_1^(2)"),                 # y^(1) is computed before x^(2) is read
    (RNN_DY_DW, "dy_1^(2)/dw_12^(hh)"),
    ("0", "dy_1^(1)/dw_12^(hh)"),               # h^(0) = 0: W_hh does not act at step 1
    (RNN_H, "H[b_1^(y), b_1^(h)]"),
])
def test_rnn_jacobian_and_hessian_entries_are_verified(formula, target):
    result = symnet.verify(formula, target, net=RNN)
    assert result.equal and result.proven, str(result)


def test_rnn_input_jacobian_without_the_first_step_s_h_prime_is_refused():
    wrong = symnet.verify(RNN_DY_DX.replace(" (1 - h_m^(1)^2)", ""), "dy_1^(2)/dx_1^(1)", net=RNN)
    correct, yours = _refused_with(wrong)
    x, w, _ = _point(RNN, wrong.counterexample)
    # y_1^(2) is column 1 of the oracle's time-major output, x_1^(1) column 0 of its input
    assert correct == pytest.approx(_output_derivative(_rnn_forward, x, w, 1, 0),
                                    rel=1e-6, abs=1e-9)
    assert abs(correct - yours) > 1e-6


def test_rnn_param_jacobian_with_the_state_of_the_same_step_is_refused():
    # h_2^(2) in place of h_2^(1): W_hh reads the state of the step before
    wrong = symnet.verify("w_11^(hy) (1 - h_1^(2)^2) h_2^(2)", "dy_1^(2)/dw_12^(hh)", net=RNN)
    correct, yours = _refused_with(wrong)
    x, w, _ = _point(RNN, wrong.counterexample)
    column = RNN.param_index("w_12^(hh)")
    assert correct == pytest.approx(_output_derivative(_rnn_forward, x, w, 1, column, "param"),
                                    rel=1e-6, abs=1e-9)
    assert abs(correct - yours) > 1e-6


def test_rnn_hessian_without_the_first_output_is_refused():
    # only y^(2)'s term: E sums over both steps' outputs
    wrong = symnet.verify(RNN_STEP_2, "H[b_1^(y), b_1^(h)]", net=RNN)
    correct, yours = _refused_with(wrong)
    x, w, t = _point(RNN, wrong.counterexample)
    p, q = RNN.param_index("b_1^(y)"), RNN.param_index("b_1^(h)")
    assert correct == pytest.approx(_error_hessian(_rnn_forward, x, w, t, p, q),
                                    rel=1e-5, abs=1e-7)
    assert abs(correct - yours) > 1e-6


# -- reading the targets ------------------------------------------------------------------
def test_jacobian_targets_need_no_loss():
    assert symnet.verify(RNN_DY_DW, "dy_1^(2)/dw_12^(hh)", net=RNN, loss=None).proven
    with pytest.raises(symnet.SymnetError, match="needs an error function"):
        symnet.verify(RNN_H, "H[b_1^(y), b_1^(h)]", net=RNN, loss=None)


@pytest.mark.parametrize("target, net, message", [
    ("dy_2/dx_1,1", CONV, "y_2 is not a symbol"),
    ("dy_1^(1)/dx_1^(3)", RNN, "is not a symbol"),
    ("dy_1/da_1,1^(1)", CONV, "neither an input nor a parameter"),
    ("dy_1/dx_1,p", CONV, "names one entry, with numbers"),
    ("dz_1,1^(1)/dx_1,1", CONV, "unknown target"),
    ("H[w_1,1,2^(1), x_1,1]", CONV, "H\\[p, q\\], p and q two of its parameters"),
    ("H[w_11^(1), b_1^(1)]", CONV, "two of its parameters"),
])
def test_bad_jacobian_and_hessian_targets_say_why(target, net, message):
    with pytest.raises(symnet.SymnetError, match=message):
        symnet.verify("0", target, net=net)


def test_an_equation_must_name_the_target():
    with pytest.raises(ParseError, match="is not the target"):
        symnet.verify("dy_1/dx_1,2 = " + CONV_DY_DX, "dy_1/dx_1,3", net=CONV)


def test_a_large_network_s_hessian_is_refused_up_front():
    # a Network has no one-entry R-pass: the whole W x W Hessian would be derived
    # (W = 198 here, measured at about 26 s), so the 3 s default limit refuses it before
    from symnet.formulas.verification import VerifyLimitError
    net = symnet.Network((4, 20), [Conv1D(4, 3, "tanh"), Flatten(), Dense(2, "linear")])
    with pytest.raises(VerifyLimitError, match="would take about"):
        symnet.verify("0", "H[w_1,1,2^(1), b_1^(2)]", net=net)
