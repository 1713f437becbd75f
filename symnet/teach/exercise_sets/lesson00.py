"""A two-exercise example set (not a lesson): the shape every lesson's set follows."""

from ..examples import network
from ..exercises import Exercise


def exercises():
    """A formula and a number about the 2-2-1 tanh network of the examples."""
    net = network("graph")
    return [
        Exercise("00.1", "dE/dw_11^(2) for the sum-of-squares error, in z and y, t",
                 net=net, target="dE/dw_11^(2)"),
        Exercise("00.2", "tanh'(0)", net=net, value=1.0,
                 wrong_values={"tanh_not_derivative": (0.0, "that is tanh(0); the slope "
                                                       "is 1 - tanh(0)^2")}),
    ]
