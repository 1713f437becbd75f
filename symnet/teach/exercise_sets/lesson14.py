"""Lesson 14's exercises: a shared weight's gradient, a banded Jacobian entry, stride.

Each value is computed with symnet (``gradient`` and ``input_jacobian`` of a one-layer
``Network``); each wrong value is what the named mistake gives, from the same deltas.
"""

import numpy as np

from ...derive.layered_derivations import gradient, input_jacobian
from ...graph.layer_network import Network
from ...graph.layers import Conv1D
from ..exercises import Exercise


def _shared_weight():
    """dE/dw_1,1,1 of y = (0.5 x_1 - x_2, 0.5 x_2 - x_3) at x = (1, 2, 3), t = (0, 1).

    y = (-1.5, -2), delta = y - t = (-1.5, -3); dE/dw_1,1,1 = delta_1 x_1 + delta_2 x_2 = -7.5.
    """
    net = Network((1, 3), [Conv1D(1, 2, "linear")])
    w, x, t = np.array([0.5, -1.0, 0.0]), np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0])
    exact = float(gradient(net, "sse").evaluate(x[None], w, t[None])[0])
    delta = net.forward(x, w) - t
    return net, exact, float(delta[0] * x[0]), float(delta @ x[1:])


def _band_entry():
    """J_2,3 = dy_2/dx_1,3 of y_p = tanh(x_1,p + 0.5 x_1,p+1) at x = (0.2, 0.4, -0.6, 0.8).

    a_1,2 = 0.4 - 0.3 = 0.1: J_2,3 = w_1,1,2 (1 - tanh(0.1)^2) = 0.5 * 0.990066 = 0.495033.
    """
    net = Network((1, 4), [Conv1D(1, 2, "tanh")])
    w, x = np.array([1.0, 0.5, 0.0]), np.array([0.2, 0.4, -0.6, 0.8])
    exact = float(input_jacobian(net).evaluate(x, w)[1, 2])
    slope = 1 - float(net.forward(x, w)[1]) ** 2                 # h'(a_1,2) = 1 - y_2^2
    return net, exact, w[1], w[0] * slope


def _strided():
    """dE/dw_1,1,2 with stride 2: y = (x_1 + x_2, x_3 + x_4) = (3, 7) at x = (1, ..., 5), t = 0.

    delta = (3, 7); dE/dw_1,1,2 = delta_1 x_2 + delta_2 x_4 = 6 + 28 = 34.
    """
    net = Network((1, 5), [Conv1D(1, 2, "linear", stride=2)])
    w, x, t = np.array([1.0, 1.0, 0.0]), np.arange(1.0, 6.0), np.zeros(2)
    exact = float(gradient(net, "sse").evaluate(x[None], w, t[None])[1])
    delta = net.forward(x, w) - t
    return net, exact, float(delta @ x[[1, 2]]), float(delta[0] * x[1])


def exercises():
    """The gradient of a shared kernel entry, an entry of the banded Jacobian, a strided sum."""
    shared, exact_1, one_position, other_tap = _shared_weight()
    banded, exact_2, no_slope, other_diagonal = _band_entry()
    strided, exact_3, no_stride, one_position_3 = _strided()
    return [
        Exercise("14.1", "dE/dw_1,1,1 of a linear convolution with kernel (0.5, -1), b_1 = 0, "
                 "over x = (1, 2, 3), targets t = (0, 1), E = 1/2 sum_p (y_p - t_p)^2",
                 net=shared, value=exact_1,
                 wrong_values={
                     "forgot_sum_over_positions": (one_position, "w_1,1,1 stands on every "
                                                   "position: sum delta_1,p x_1,p over p"),
                     "wrong_input_offset": (other_tap, "tap m = 1 meets x_1,p at position p, "
                                            "not x_1,p+1 (that is w_1,1,2's input)"),
                 }),
        Exercise("14.2", "J_2,3 = dy_2/dx_1,3 of a tanh convolution with kernel (1, 0.5), "
                 "b_1 = 0, over x = (0.2, 0.4, -0.6, 0.8)", net=banded, value=exact_2,
                 wrong_values={
                     "drop_h_1": (no_slope, "y_2 = tanh(a_1,2): the chain rule brings in "
                                  "h'(a_1,2) = 1 - y_2^2"),
                     "wrong_diagonal": (other_diagonal, "x_1,3 is the second input of "
                                        "position 2's window, so it meets w_1,1,2"),
                 }),
        Exercise("14.3", "dE/dw_1,1,2 of a linear convolution with stride 2, kernel (1, 1), "
                 "b_1 = 0, over x = (1, 2, 3, 4, 5), targets t = (0, 0), sum-of-squares error",
                 net=strided, value=exact_3,
                 wrong_values={
                     "ignored_stride": (no_stride, "with stride 2 position p reads "
                                        "x_1,2(p-1)+m: position 2 starts at x_1,3"),
                     "forgot_sum_over_positions": (one_position_3, "w_1,1,2 stands on both "
                                                   "positions: add both terms"),
                 }),
    ]
