"""Lesson 2's exercises: an activation's derivative, as a number and inside a network."""

import numpy as np

from ...graph.activations import activation
from ...graph.network import MLP
from ..exercises import Exercise


def exercises():
    """sigma'(2), dy_1/dx_1 of a 1-1-1 logistic network, and tanh' from z."""
    sigmoid, tanh = activation("sigmoid"), activation("tanh")
    at = 2.0
    s = float(sigmoid.numpy(at))                      # sigma(2) = 0.880797...
    logistic = MLP([1, 1, 1], hidden="sigmoid")
    z_tanh = 0.5                                    # tanh'(a) = 1 - z^2 = 0.75
    return [
        Exercise("02.1", "sigma'(2), the slope of the logistic function at a = 2 (a number)",
                 net=logistic, value=float(sigmoid.derivative_numpy(at)), wrong_values={
                     "h_for_derivative": (s, "that is sigma(2) itself; the slope is "
                                          "sigma(a) (1 - sigma(a))"),
                     "a_for_sigma": (at * (1 - at), "sigma' = sigma(a) (1 - sigma(a)) uses "
                                     "sigma(2), not a = 2"),
                     "tanh_rule": (1 - s ** 2, "1 - h^2 is tanh's rule; for sigma it is "
                                   "sigma (1 - sigma)")}),
        Exercise("02.2", "For the 1-1-1 network with a logistic hidden unit and a linear "
                 "output, J_11 = dy_1/dx_1, in z, w", net=logistic, target="J_11"),
        Exercise("02.3", "A tanh hidden unit outputs z = 0.5. Its local derivative dz/da "
                 "(a number)", net=MLP([1, 1, 1], hidden="tanh"),
                 value=float(tanh.derivative_numpy(float(np.arctanh(z_tanh)))), wrong_values={
                     "sigmoid_rule": (z_tanh * (1 - z_tanh), "z (1 - z) is the logistic "
                                      "unit's rule; tanh' = 1 - z^2"),
                     "h_for_derivative": (z_tanh, "0.5 is z itself (or 1 - z); the slope "
                                          "is 1 - z^2"),
                     "tanh_of_z": (float(tanh.derivative_numpy(z_tanh)), "that is tanh'(0.5), "
                                   "the slope at a = 0.5; here z = 0.5, so use 1 - z^2")}),
    ]
