"""Lesson 10's exercises: a hidden delta, a whole layer with letter indices, a path sum."""

from ..examples import network, worked_example
from ..exercises import Exercise


def exercises():
    """Formulas on the lesson's 2-2-2 logistic network (SSE) and its 2-2-1 tanh network."""
    net = worked_example().net           # 2-2-2, logistic hidden and output units, SSE
    graph = network("graph")             # 2-2-1, tanh hidden units, linear output
    return [
        Exercise("10.1", "delta_1^(1) for the 2-2-2 logistic network with the sum-of-squares "
                 "error, in z_1^(1), the weights w_k1^(2) and the output deltas delta_k^(2)",
                 net=net, target="delta_1^(1)"),
        Exercise("10.2", "dE/dw_ji^(1) for every j, i of the 2-2-2 network at once, with the "
                 "letters j and i (a delta times the value feeding the weight)",
                 net=net, target="dE/dw_ji^(1)"),
        Exercise("10.3", "J_11 = dy_1/dx_1 for the 2-2-1 tanh network, one term per path from "
                 "x_1 to y_1, in the weights and z_j^(1)", net=graph, target="J_11"),
    ]
