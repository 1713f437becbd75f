"""Lesson 3's exercises: a Jacobian entry; the recursion's start for logistic, softmax outputs."""

from ...graph.network import MLP
from ..examples import network
from ..exercises import Exercise


def exercises():
    """J_21 of the 3-4-2 network, dy_1/da_1^(1) with logistic outputs and with softmax outputs."""
    logistic = MLP([3, 4, 2], hidden="tanh", output="sigmoid")
    softmax = MLP([3, 4, 2], hidden="tanh", output="softmax")
    return [
        Exercise("03.1", "J_21 = dy_2/dx_1 of the lesson's 3-4-2 network (tanh hidden, linear "
                 "outputs), in z and w (a sum over the 4 hidden units: write sum_j(...))",
                 net=network("lm"), target="J_21"),
        Exercise("03.2", "The same 3-4-2 network with logistic outputs: dy_1/da_1^(1), in y, z "
                 "and w", net=logistic, target="dy_1/da_1^(1)"),
        Exercise("03.3", "The same 3-4-2 network with softmax outputs: dy_1/da_1^(1), in y, z "
                 "and w (both outputs' pre-activations depend on a_1^(1))",
                 net=softmax, target="dy_1/da_1^(1)"),
    ]
