"""Lesson 4's exercises: gradient entries and a hidden delta of the worked 2-2-2 example."""

from ..examples import worked_example
from ..exercises import Exercise


def exercises():
    """dE/dw_21^(2) and delta_2^(1) (sum of squares), dE/dw_12^(1) with cross-entropy."""
    net = worked_example().net                  # 2-2-2, logistic hidden and output units
    return [
        Exercise("04.1", "dE/dw_21^(2) for the sum-of-squares error, in y, t and z",
                 net=net, target="dE/dw_21^(2)"),
        Exercise("04.2", "delta_2^(1) for the sum-of-squares error, in z, w and the output "
                 "deltas delta_k^(2)", net=net, target="delta_2^(1)"),
        Exercise("04.3", "dE/dw_12^(1) for the cross-entropy error E = -sum_k (t_k ln y_k + "
                 "(1 - t_k) ln(1 - y_k)), in y, t, z, w and x", net=net,
                 target="dE/dw_12^(1)", loss="cross_entropy"),
    ]
