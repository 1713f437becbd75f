"""Lesson 9's exercises: the product along a sigmoid chain, its bound, and He's scale."""

import math

from ...graph.network import MLP
from ..exercises import Exercise


def exercises():
    """A formula on a chain of two sigmoid units, and two numbers about depth and scale."""
    chain = MLP([1, 1, 1, 1], hidden="sigmoid")    # x -> sigmoid -> sigmoid -> linear y
    sigmoid_slope_max = 0.25                        # sigma'(0), the largest sigma' (lesson 2)
    depth, width = 10, 8
    return [
        Exercise("09.1", "dE/dw_11^(1) for the chain 1-1-1-1 (two sigmoid hidden units, a "
                 "linear output, sum-of-squares error), written out as the product along the "
                 "chain in y_1, t_1, the weights, z_1^(1), z_1^(2) and x_1",
                 net=chain, target="dE/dw_11^(1)"),
        Exercise("09.2", f"A chain of {depth} sigmoid units (one per layer) has every |w| <= 1. "
                 "dE/dw_11^(1) is (y_1 - t_1) x_1 times one factor w sigma'(a) per layer. What "
                 "is the largest that product of factors can be?", net=chain,
                 value=sigmoid_slope_max ** depth,
                 wrong_values={
                     "sum_not_product": (sigmoid_slope_max * depth, "the factors multiply, "
                                         "layer after layer; they do not add"),
                     "sigma_not_slope": (0.5 ** depth, "sigma(0) = 1/2 is the unit's value; "
                                         "the factor is its slope sigma'(a) <= 1/4")}),
        Exercise("09.3", f"He initialisation for ReLU layers of {width} inputs each: the "
                 "standard deviation of the weights?", net=chain,
                 value=math.sqrt(2 / width),
                 wrong_values={
                     "lecun_not_he": (math.sqrt(1 / width), "sqrt(1/n_in) is LeCun's scale; "
                                      "ReLU zeroes half the units, so He doubles the variance"),
                     "variance_not_std": (2 / width, "2/n_in is the variance; the standard "
                                          "deviation is its square root")}),
    ]
