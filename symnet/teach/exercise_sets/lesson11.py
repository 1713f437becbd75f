"""Lesson 11's exercises: the softmax Jacobian the saliency starts from, and the attack's size."""

from ...graph.network import MLP
from ..exercises import Exercise

N_PIXELS, WEIGHT_SIZE, EPSILON = 64, 0.5, 0.1


def exercises():
    """Two formulas on a small classifier like the lesson's (tanh hidden, softmax output)."""
    net = MLP([2, 2, 3], hidden="tanh", output="softmax")
    return [
        Exercise("11.1", "For softmax outputs y_k = exp(a_k) / sum_m exp(a_m) (here 3 of them), "
                 "dy_1/da_2^(2): how the first probability moves with the second output's "
                 "pre-activation, in the y_k", net=net, target="dy_1/da_2^(2)"),
        Exercise("11.2", "dy_1/da_1^(1) for the 2-2-3 classifier (tanh hidden units, softmax "
                 "outputs): one term through every output pre-activation a_m^(2), in z_1^(1), "
                 "the y_k and the weights w_m1^(2)", net=net, target="dy_1/da_1^(1)"),
        Exercise("11.3", f"A linear score a = sum_i w_i x_i over {N_PIXELS} pixels has every "
                 f"|w_i| = {WEIGHT_SIZE}. The fast gradient sign step moves every pixel by "
                 f"epsilon = {EPSILON} (no clipping). By how much does it change a?", net=net,
                 value=EPSILON * N_PIXELS * WEIGHT_SIZE,
                 wrong_values={
                     "one_pixel": (EPSILON * WEIGHT_SIZE, "every pixel moves, and each move "
                                   "adds epsilon |w_i|: the changes add up over all pixels"),
                     "l2_not_sign": (EPSILON * WEIGHT_SIZE * N_PIXELS ** 0.5,
                                     "that is a step of length epsilon sqrt(D) along w; the sign "
                                     "step gives epsilon sum_i |w_i|, growing like D")}),
    ]
