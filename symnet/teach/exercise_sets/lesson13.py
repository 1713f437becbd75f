"""Lesson 13's exercises: the Jacobian as a product, integrated gradients, a Jacobian penalty."""

import sympy as sp

from ...derive.first_order import input_jacobian
from ...graph.network import MLP
from ..examples import network
from ..exercises import Exercise


def _one_unit_attribution():
    """IG_1 of y = tanh(x_1) at x = 1 against x' = 0, and the two slopes learners use instead.

    Completeness with a single input: IG_1 = f(1) - f(0) = tanh(1), exactly.
    """
    net = MLP([1, 1], output="tanh")
    w = [1.0, 0.0]                                          # y_1 = tanh(1 x_1 + 0)
    change = float(net.forward([1.0], w)[0] - net.forward([0.0], w)[0])
    slope = input_jacobian(net).evaluate
    return net, change, float(slope([1.0], w)[0, 0]), float(slope([0.0], w)[0, 0])


def _penalty_slope():
    """dOmega/dw_11^(1) for Omega = J_11^2 of a 1-1-1 tanh net, from symnet's J.matrix.

    Also the value a learner gets by holding h'(a) fixed (dropping the h'' term).
    """
    net = MLP([1, 1, 1], hidden="tanh")
    u, c, v, _ = net.params                                 # w_11^(1), b_1^(1), w_11^(2), b_1^(2)
    J11 = input_jacobian(net).matrix[0, 0]                  # v u (1 - tanh(u x + c)^2)
    point = {net.inputs[0]: 1, u: sp.Rational(1, 2), c: 0, v: 2, net.params[3]: 0}
    exact = float(sp.diff(J11 ** 2, u).xreplace(point))
    without_h2 = float((2 * J11 * (J11 / u)).xreplace(point))   # dJ/du with h'(a) held: J / u
    return net, exact, without_h2, exact / 2


def exercises():
    """A Jacobian entry as a layer product, an attribution, and a penalty gradient."""
    net = network("graph")
    one_unit, change, slope_at_x, slope_at_baseline = _one_unit_attribution()
    small, exact, without_h2, half = _penalty_slope()
    return [
        Exercise("13.1", "J_12 = dy_1/dx_2 of the 2-2-1 tanh network as the product "
                 "W^(2) diag(h'(a^(1))) W^(1), entry by entry, in the weights and z_j^(1)",
                 net=net, target="J_12"),
        Exercise("13.2", "the integrated-gradients attribution IG_1 of y_1 = tanh(x_1) at "
                 "x = 1 against the baseline x' = 0", net=one_unit, value=change,
                 wrong_values={
                     "gradient_times_input": (slope_at_x, "that is the slope at x times x: "
                                              "IG averages the slope along the whole path"),
                     "gradient_at_baseline": (slope_at_baseline, "that is the slope at the "
                                              "baseline; IG averages it from x' to x"),
                 }),
        Exercise("13.3", "dOmega/dw_11^(1) for Omega = J_11^2 of y_1 = w_11^(2) tanh(w_11^(1) "
                 "x_1 + b_1^(1)) + b_1^(2), at w_11^(1) = 0.5, b_1^(1) = 0, w_11^(2) = 2, "
                 "x_1 = 1", net=small, value=exact,
                 wrong_values={
                     "drop_second_derivative": (without_h2, "h'(a) depends on w_11^(1) too: "
                                                "its derivative brings in h''(a) x_1"),
                     "drop_factor_2": (half, "d(J^2)/dw = 2 J dJ/dw"),
                 }),
    ]
