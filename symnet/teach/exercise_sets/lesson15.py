"""Lesson 15's exercises: a shared weight's gradient, a Jacobian through time, clipping.

Every network is a scalar Elman RNN over three steps (D = H = K = 1, one output after the
last step); the numbers are computed with symnet's RNN derivations.
"""

import numpy as np
import sympy as sp

from ...derive.first_order import gradient, input_jacobian
from ...graph.recurrent import RNN
from ..exercises import Exercise

# x = (1, 1, 1), t = 0; parameters w_11^(xh), w_11^(hh), b_1^(h), w_11^(hy), b_1^(y)
_X, _T = [[1.0, 1.0, 1.0]], [[0.0]]
_LINEAR_W = np.array([1.0, 0.5, 0.0, 2.0, 0.0])


def _named_values(derivation, x, w, t=None):
    """Every named quantity of ``derivation`` (states, deltas, slopes) at one sample."""
    net = derivation.net
    values = {**dict(zip(net.inputs, map(sp.Float, x))), **dict(zip(net.params, map(sp.Float, w)))}
    if t is not None:
        values.update(zip(net.targets, map(sp.Float, t)))
    for name, value in derivation.all_definitions.items():
        values[name] = value.xreplace(values)
    return {name: float(value) for name, value in values.items()}


def _shared_weight():
    """dE/dw^(hh) of the linear RNN, the last step's term alone, and h^(t) for h^(t-1).

    h = (1, 1.5, 1.75), y = 3.5, delta^(y) = 3.5, delta = (1.75, 3.5, 7):
    sum_t delta^(t) h^(t-1) = 3.5 * 1 + 7 * 1.5 = 14 (h^(0) = 0); the last term alone 10.5;
    with h^(t) in place of h^(t-1): 1.75 * 1 + 3.5 * 1.5 + 7 * 1.75 = 19.25.
    """
    net = RNN(1, 1, 1, steps=3, hidden="linear")
    grad = gradient(net, "sse")
    full = grad.evaluate(_X, _LINEAR_W, _T)
    named = _named_values(grad, _X[0], _LINEAR_W, _T[0])
    delta = {t: named[_symbol(f"delta_1^({t})")] for t in (1, 2, 3)}
    h = {t: named[_symbol(f"h_1^({t})")] for t in (1, 2, 3)}
    last_only = delta[3] * h[2]
    shifted = sum(delta[t] * h[t] for t in (1, 2, 3))
    return net, full, float(full[net.param_index("w_11^(hh)")]), last_only, shifted


def _symbol(name):
    return sp.Symbol(name, real=True)


def _through_time():
    """dy/dx^(1) of the tanh RNN, and the values without h' and with h in place of h'."""
    net = RNN(1, 1, 1, steps=3, hidden="tanh")
    w = np.array([1.0, 0.8, 0.0, 1.0, 0.0])
    x = [0.5, 0.5, 0.5]
    exact = float(input_jacobian(net).evaluate(x, w)[0, 0])
    states = net.forward_layers(np.array([x]), w)[1]            # states[t] = h^(t)
    h = [float(states[t][0, 0]) for t in (1, 2, 3)]
    linear_product = 1.0 * 0.8 * 0.8 * 1.0                        # w^(hy) w^(hh)^2 w^(xh)
    return net, exact, linear_product, linear_product * h[0] * h[1] * h[2]


def exercises():
    """The sum over time, a Jacobian through time, and clipping by norm."""
    linear, full, exact, last_only, shifted = _shared_weight()
    tanh_net, slope, without_h_prime, h_for_h_prime = _through_time()
    c, length = 5.0, float(np.linalg.norm(full))
    return [
        Exercise("15.1", "dE/dw^(hh) of the scalar linear RNN h^(t) = w^(xh) x^(t) + w^(hh) "
                 "h^(t-1), y = w^(hy) h^(3), with w^(xh) = 1, w^(hh) = 1/2, w^(hy) = 2, biases 0, "
                 "x = (1, 1, 1), t = 0, E = (y - t)^2 / 2", net=linear, value=exact,
                 wrong_values={
                     "forgot_sum_over_time": (last_only, "w^(hh) acts at every step: its "
                                              "derivative is the sum over t of "
                                              "delta^(t) h^(t-1), not the last step's term"),
                     "h_t_for_h_t_minus_1": (shifted, "w^(hh) multiplies the previous state: "
                                             "pair delta^(t) with h^(t-1)"),
                 }),
        Exercise("15.2", "dy/dx^(1) of the scalar tanh RNN with w^(xh) = 1, w^(hh) = 0.8, "
                 "w^(hy) = 1, biases 0, x = (0.5, 0.5, 0.5)", net=tanh_net, value=slope,
                 wrong_values={
                     "drop_h_prime": (without_h_prime, "each step's Jacobian is "
                                      "h'(a^(t)) w^(hh): the slopes of all three steps "
                                      "multiply in"),
                     "h_for_derivative": (h_for_h_prime, "the slope of tanh is "
                                          "1 - tanh(a)^2 = 1 - h^2, not h"),
                 }),
        Exercise("15.3", "the w^(hh) entry of exercise 15.1's whole gradient after clipping "
                 "by norm to c = 5", net=linear, value=float(exact * min(1.0, c / length)),
                 wrong_values={
                     "clipped_by_value": (min(exact, c), "clipping by norm scales the whole "
                                          "vector by c / ||g||; it does not cap each entry"),
                     "unit_direction": (exact / length, "g / ||g|| has length 1: scale it to "
                                        "length c"),
                 }),
    ]
