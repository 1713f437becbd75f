"""Lesson 16's exercises: the identity in a residual block's slope, two blocks, a gradient.

Every network is a chain of width-1 residual blocks z_out = z_in + tanh(w z_in + b) with
w = 0.5, b = 0, fed x = 1. Each value is computed with symnet (``input_jacobian`` and
``gradient`` of the ``Network``); each wrong value is what the named mistake gives,
written out by hand from the block's slopes J_F = w (1 - tanh(w z_in)^2).
"""

import math

import numpy as np

from ...derive.layered_derivations import gradient, input_jacobian
from ...graph.layer_network import Network
from ...graph.layers import Dense, Residual
from ..exercises import Exercise

_W = 0.5      # every block's weight; every bias is 0; the input is x = 1


def _blocks(n):
    """n width-1 tanh residual blocks in a row, its parameters (w, b) per block, x = 1."""
    net = Network(1, [Residual([Dense(1, "tanh")]) for _ in range(n)])
    return net, np.tile([_W, 0.0], n), np.array([[1.0]])


def _slope_of_F(z_in):
    """dF/dz_in = w tanh'(w z_in) for F(z) = tanh(w z)."""
    return _W * (1 - math.tanh(_W * z_in) ** 2)


def _one_block():
    """dz_out/dz_in at z_in = 1: 1 + 0.5 (1 - tanh(0.5)^2) = 1 + 0.39322 = 1.39322."""
    net, w, x = _blocks(1)
    exact = float(input_jacobian(net).evaluate(x, w)[0, 0, 0])
    J_F = _slope_of_F(1.0)
    return net, exact, J_F, 1 + J_F / _W


def _two_blocks():
    """dy/dx through two blocks: (1 + J_F1)(1 + J_F2), J_F2 at z_1 = 1 + tanh(0.5)."""
    net, w, x = _blocks(2)
    exact = float(input_jacobian(net).evaluate(x, w)[0, 0, 0])
    J1, J2 = _slope_of_F(1.0), _slope_of_F(1.0 + math.tanh(_W))
    return net, exact, J1 * J2, 1 + J1 + J2, (1 + J1) ** 2


def _first_weight():
    """dE/dw_11^(1) of the two blocks, E = 1/2 (y - 0)^2: (y - t) (1 + J_F2) h'(a^(1)) x."""
    net, w, x = _blocks(2)
    exact = float(gradient(net, "sse").evaluate(x, w, [[0.0]])[net.param_index("w_11^(1)")])
    z1 = 1.0 + math.tanh(_W)
    y = z1 + math.tanh(_W * z1)
    slope = 1 - math.tanh(_W) ** 2                      # h'(a^(1)), a^(1) = 0.5 x
    through_F = y * _slope_of_F(z1) * slope * 1.0       # only the path through block 2's F
    skip_only = y * 1.0 * slope * 1.0                   # only the skip around block 2
    return net, exact, through_F, skip_only


def exercises():
    """A block's slope, the slope of two blocks, and the gradient of the first block's weight."""
    one, exact_1, F_only, no_weight = _one_block()
    two, exact_2, plain_product, summed, same_slope = _two_blocks()
    _, exact_3, through_F, skip_only = _first_weight()
    return [
        Exercise("16.1", "dz_out/dz_in of the residual block z_out = z_in + tanh(w z_in + b) "
                 "with w = 0.5, b = 0, at z_in = 1", net=one, value=exact_1,
                 wrong_values={
                     "forgot_identity": (F_only, "z_out contains z_in itself: its slope "
                                         "adds 1 to F's"),
                     "dropped_weight": (no_weight, "F(z) = tanh(w z): the chain rule brings "
                                        "the factor w"),
                 }),
        Exercise("16.2", "dy/dx of two such blocks in a row (w = 0.5, b = 0 in each), "
                 "y = z_2, z_2 = z_1 + tanh(0.5 z_1), z_1 = x + tanh(0.5 x), at x = 1",
                 net=two, value=exact_2,
                 wrong_values={
                     "forgot_identity": (plain_product, "that is the plain net's product "
                                         "J_F2 J_F1: each block's slope is 1 + J_F"),
                     "sum_instead_of_product": (summed, "slopes of a chain multiply: "
                                                "(1 + J_F2)(1 + J_F1) also has J_F2 J_F1"),
                     "slope_at_wrong_input": (same_slope, "block 2's F is evaluated at its "
                                              "own input z_1, not at x"),
                 }),
        Exercise("16.3", "dE/dw_11^(1) of the same two blocks (w_11^(1) is the weight inside "
                 "the first block) for E = 1/2 (y - t)^2 with t = 0, at x = 1",
                 net=two, value=exact_3,
                 wrong_values={
                     "forgot_skip_path": (through_F, "the error also reaches block 1 along "
                                          "block 2's skip: the factor is 1 + J_F2"),
                     "skip_path_only": (skip_only, "block 2's F also passes the error back: "
                                        "the factor is 1 + J_F2, not 1"),
                 }),
    ]
