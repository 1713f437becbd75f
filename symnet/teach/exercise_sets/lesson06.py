"""Lesson 6's exercises: entries of the parameter Jacobian, and the size of MATLAB's de_dwb."""

from ..examples import network
from ..exercises import Exercise


def exercises():
    """Two Jacobian formulas on the lesson's 3-4-2 network and one count."""
    net = network("lm")                      # 3-4-2, tanh hidden, linear outputs
    # 06.3: a 2-5-3 network has W = 2*5 + 5 + 5*3 + 3 = 33 weights and biases; de_dwb is
    # W x (N K), one row per parameter.
    return [
        Exercise("06.1", "The top-left entry of the Levenberg-Marquardt Jacobian of the 3-4-2 "
                 "network (tanh hidden units, linear outputs): dy_1/dw_11^(1), in x, z and "
                 "the weights.", net=net, target="dy_1/dw_11^(1)"),
        Exercise("06.2", "Every layer-1 column of the rows for output 2 at once: dy_2/dw_ji^(1) "
                 "of the same network, with letter indices j and i (e.g. z_j^(1), x_i).",
                 net=net, target="dy_2/dw_ji^(1)"),
        Exercise("06.3", "MATLAB's defaultderiv('de_dwb', net, x, t) for a 2-5-3 network "
                 "(one hidden layer of 5) on 20 samples: how many rows does it have?",
                 net=net, value=33.0, rtol=1e-9,
                 wrong_values={
                     "forgot_biases": (25.0, "every bias is a parameter too: a row each"),
                     "rows_are_samples": (60.0, "N K = 60 is the number of columns: de_dwb "
                                          "is the transpose of J, one row per parameter"),
                     "hidden_units_only": (5.0, "a row per weight and bias, not per unit")}),
    ]
