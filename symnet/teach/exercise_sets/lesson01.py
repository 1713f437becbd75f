"""Lesson 1's exercises: the index convention w_ji^(l), and the chain rule along paths."""

from ..examples import network
from ..exercises import Exercise

# The lesson's weights: W^(1) = [[0.8, -0.4], [0.3, 0.9]], b^(1) = (0.1, -0.2).
_W1 = ((0.8, -0.4), (0.3, 0.9))
_B1 = (0.1, -0.2)
_X = (1.2, 0.3)                       # the lesson's second input


def _pre_activation(rows, bias, x):
    return sum(w * v for w, v in zip(rows, x)) + bias


def exercises():
    """Three questions on the 2-2-1 tanh network of lesson 1 (``examples.network("graph")``)."""
    net = network("graph")
    # a_2^(1) = w_21 x_1 + w_22 x_2 + b_2 = 0.3*1.2 + 0.9*0.3 - 0.2 = 0.43
    right = _pre_activation(_W1[1], _B1[1], _X)
    transposed = _pre_activation((_W1[0][1], _W1[1][0]), _B1[1], _X)  # column 2 of W: -0.59
    first_row = _pre_activation(_W1[0], _B1[0], _X)                     # a_1^(1) = 0.94
    no_bias = _pre_activation(_W1[1], 0.0, _X)                          # 0.63
    return [
        Exercise("01.1", "With the lesson's weights, a_2^(1) at the input x = (1.2, 0.3) "
                 "(a number)", net=net, value=right, wrong_values={
                     "transpose": (transposed, "w_ji^(1) goes from x_i to unit j: a_2^(1) "
                                   "uses row 2 of W^(1), (w_21^(1), w_22^(1))"),
                     "wrong_unit": (first_row, "that is a_1^(1); a_2^(1) uses w_2i^(1) "
                                    "and b_2^(1)"),
                     "drop_bias": (no_bias, "a_j^(l) includes the bias b_j^(l)")}),
        Exercise("01.2", "dy_1/da_2^(1): the product of the edge derivatives on the path "
                 "from a_2^(1) to y_1, in z and w", net=net, target="dy_1/da_2^(1)"),
        Exercise("01.3", "J_12 = dy_1/dx_2 as the sum over paths, in z and w",
                 net=net, target="J_12"),
    ]
