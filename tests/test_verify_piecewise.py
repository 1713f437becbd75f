"""verify decides Piecewise entries: Huber deltas, gradients and Hessians (issue 12, remainder 2).

Huber with delta = 1, r = y - t: E_n = r^2/2 for |r| <= 1, |r| - 1/2 otherwise, so by hand

    dE_n/dy = r if |r| <= 1 else sign(r)   (= clip(r, -1, 1) = max(-1, min(1, r))),
    d^2 E_n/dy^2 = 1 if |r| <= 1 else 0.

The network is y = w x + b (MLP([1, 1]), linear), where r = w x + b - t is rational at
the rational counterexamples, so every value there is checked exactly with Fractions.
"""
from fractions import Fraction

import mpmath
import pytest
import sympy as sp

import symnet
from symnet.formulas._certify import Point

NET = symnet.MLP([1, 1])
X, W, B, T = NET.inputs[0], *NET.params, NET.targets[0]
Y = NET.layer_values(1)[0]
R = Y - T
SLOPE = sp.Piecewise((R, sp.Abs(R) <= 1), (sp.sign(R), True))   # dE_n/dy by hand
CLIP = sp.Max(-1, sp.Min(1, R))                                  # the same, as a clip


def coordinate(result, symbol):
    value = result.counterexample[symbol]
    return Fraction(int(value.p), int(value.q))


def residual_at(result):
    return (coordinate(result, W) * coordinate(result, X) + coordinate(result, B)
            - coordinate(result, T))


def huber_slope(r):
    """dE_n/dy of Huber at r, by hand."""
    return r if abs(r) <= 1 else Fraction((r > 0) - (r < 0))


def test_the_hand_derivative_as_piecewise_is_proven():
    result = symnet.verify(SLOPE, "delta_1^(1)", net=NET, loss="huber")
    assert result.equal and result.proven
    gradient = symnet.verify(SLOPE * X, "dE/dw_11^(1)", net=NET, loss="huber")
    assert gradient.equal and gradient.proven


def test_the_hand_derivative_as_a_clip_is_equal():
    result = symnet.verify(CLIP, "delta_1^(1)", net=NET, loss="huber")
    assert result.equal and result.switches >= 2  # both sides of |r| = 1 and of r = 0
    assert symnet.verify("max(-1, min(1, y_1 - t_1)) x_1", "dE/dw_11^(1)", net=NET,
                         loss="huber").equal


def test_the_quadratic_piece_everywhere_is_refuted_where_r_exceeds_1():
    result = symnet.verify("y_1 - t_1", "delta_1^(1)", net=NET, loss="huber")
    assert not result.equal and result.proven
    r = residual_at(result)
    assert abs(r) > 1  # the two agree wherever |r| <= 1
    assert result.formula_value == sp.Rational(r)
    assert result.reference_value == sp.Rational(huber_slope(r)) == sp.sign(r)


def test_a_wrong_gradient_is_refuted_with_a_true_counterexample():
    result = symnet.verify("(y_1 - t_1) x_1", "dE/dw_11^(1)", net=NET, loss="huber")
    assert not result.equal and result.proven
    r, x = residual_at(result), coordinate(result, X)
    assert abs(r) > 1
    assert result.formula_value == sp.Rational(r * x)
    assert result.reference_value == sp.Rational(huber_slope(r) * x)


def test_a_wrong_slope_outside_is_refuted():
    # 2 sign(r) outside: right inside |r| <= 1, wrong outside
    wrong = sp.Piecewise((R, sp.Abs(R) <= 1), (2 * sp.sign(R), True))
    result = symnet.verify(wrong, "delta_1^(1)", net=NET, loss="huber")
    assert not result.equal
    r = residual_at(result)
    assert abs(r) > 1 and result.reference_value == sp.sign(r)
    assert result.formula_value == 2 * sp.sign(r)


def test_a_piecewise_without_otherwise_is_a_domain_mismatch():
    # Piecewise((r, |r| <= 1)) has no value where |r| > 1, where the correct slope is sign(r)
    result = symnet.verify(sp.Piecewise((R, sp.Abs(R) <= 1)), "delta_1^(1)", net=NET,
                           loss="huber")
    assert not result.equal and result.domain_mismatch
    r = residual_at(result)
    assert abs(r) > 1 and result.formula_value is None and result.reference_value == sp.sign(r)


def test_huber_hessian_entry():
    # H[w, w] = x^2 d^2 E_n/dy^2 = x^2 for |r| <= 1, 0 outside
    right = sp.Piecewise((X ** 2, sp.Abs(R) <= 1), (0, True))
    assert symnet.verify(right, "H[w_11^(1), w_11^(1)]", net=NET, loss="huber").equal
    wrong = symnet.verify("x_1^2", "H[w_11^(1), w_11^(1)]", net=NET, loss="huber")
    assert not wrong.equal and abs(residual_at(wrong)) > 1 and wrong.reference_value == 0


def test_huber_with_weight_decay():
    result = symnet.verify(SLOPE * X + W / 10, "dE/dw_11^(1)", net=NET, loss="huber",
                           weight_decay=Fraction(1, 10))
    assert result.equal and result.proven
    forgot = symnet.verify(SLOPE * X, "dE/dw_11^(1)", net=NET, loss="huber",
                           weight_decay=Fraction(1, 10))
    assert forgot.mistake == "forgot_weight_decay"


def test_huber_delta_through_a_tanh_output():
    # delta = dE_n/dy tanh'(a) = dE_n/dy (1 - y^2); wrong: without tanh'
    net = symnet.MLP([1, 1], output="tanh")
    y, t = net.layer_values(1)[0], net.targets[0]
    r = y - t
    slope = sp.Piecewise((r, sp.Abs(r) <= 1), (sp.sign(r), True))
    assert symnet.verify(slope * (1 - y ** 2), "delta_1^(1)", net=net, loss="huber").proven
    assert not symnet.verify(slope, "delta_1^(1)", net=net, loss="huber").equal


# -- the Piecewise rule of the evaluator, at single points ------------------------------
x = sp.Symbol("x", real=True)


@pytest.mark.parametrize("value, expected", [(Fraction(1, 2), Fraction(1, 2)),
                                             (Fraction(-3), Fraction(-1)),
                                             (Fraction(1), Fraction(1)),       # |r| = 1: r
                                             (Fraction(-1), Fraction(-1))])
def test_piecewise_takes_the_first_branch_that_holds(value, expected):
    assert Point({x: value}).value(sp.Piecewise((x, sp.Abs(x) <= 1), (sp.sign(x), True)),
                                   64) == expected


def test_a_branch_is_evaluated_only_where_its_condition_may_hold():
    # log(x) at x = -1 has no real value; the condition x > 0 fails, so it is never taken
    expression = sp.Piecewise((sp.log(x), x > 0), (0, True))
    assert Point({x: Fraction(-1)}).value(expression, 64) == 0
    enclosure = Point({x: Fraction(2)}).value(expression, 64)
    with mpmath.workdps(40):  # log 2 = 0.6931471805599453094172321..., to 40 digits
        true = mpmath.log(2)
        assert enclosure.a <= true <= enclosure.b and enclosure.b - enclosure.a < 1e-15


def test_an_undecided_condition_gives_the_hull_of_the_branches():
    # pi = 3.14159265358979323846264338327950288419716939937510582...: pi exceeds the
    # 51-digit decimal c below by 5.8e-51, which 64 bits cannot see and 1024 bits can
    # (u is a named quantity defined as pi, so SymPy does not decide u > c itself)
    u = sp.Symbol("u", real=True)
    c = sp.Rational("3.14159265358979323846264338327950288419716939937510")
    expression = sp.Piecewise((1, u > c), (2, True))
    coarse = Point({}, {u: sp.pi}).value(expression, 64)
    assert coarse.a == 1 and coarse.b == 2
    assert Point({}, {u: sp.pi}).value(expression, 1024) == 1


def test_conditions_combine_with_and_or_not():
    at = Point({x: Fraction(1, 2)})
    assert at.value(sp.Piecewise((1, sp.And(x > 0, x < 1)), (2, True)), 64) == 1
    assert at.value(sp.Piecewise((1, sp.Or(x > 1, x < 0)), (2, True)), 64) == 2
    assert at.value(sp.Piecewise((1, sp.Not(x > 1)), (2, True)), 64) == 1
    assert at.value(sp.Piecewise((1, sp.Eq(x, sp.Rational(1, 2))), (2, True)), 64) == 1
