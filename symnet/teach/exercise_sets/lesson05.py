"""Lesson 5's exercises: the best step of a central difference, Richardson, a planted slip."""

import numpy as np

from ..examples import worked_example
from ..exercises import Exercise

EPS = float(np.finfo(float).eps)       # 2^-52, the spacing of float64 numbers at 1
MICRO = 1e-6                           # 05.1 asks for h in units of 1e-6 (a number near 1)


def _tanh_central(h, a=0.5):
    """The central difference of tanh at a with step h (what the lesson calls D(h))."""
    return (np.tanh(a + h) - np.tanh(a - h)) / (2 * h)


def exercises():
    """Two number answers about difference quotients and one formula about the worked example."""
    # 05.1: minimise h^2 M / 6 + eps |f| / h with f = exp at 0 (|f| = f''' = 1): the derivative
    # h M / 3 - eps / h^2 vanishes at h^3 = 3 eps / M.
    best = (3 * EPS) ** (1 / 3)
    # 05.2: D(h) = D + c h^2 + O(h^4), so (4 D(h/2) - D(h)) / 3 = D + O(h^4).
    coarse, fine = _tanh_central(0.1), _tanh_central(0.05)
    richardson = (4 * fine - coarse) / 3
    return [
        Exercise("05.1", "The central difference of f at a errs by at most "
                 "h^2 M / 6 + eps |f(a)| / h (M = max |f'''| near a). For f = exp at a = 0 "
                 "(so M = |f(a)| = 1) and eps = 2^-52 = 2.220446e-16, which step h minimises "
                 "this bound? Give h in units of 10^-6 (e.g. 2.5 for h = 2.5e-6), to 3 "
                 "significant digits.",
                 net=worked_example().net, value=best / MICRO, rtol=5e-3,
                 wrong_values={
                     "forward_rule": (np.sqrt(EPS) / MICRO, "sqrt(eps) balances the forward "
                                      "difference's O(h) error; the central one errs as h^2"),
                     "dropped_constant": (EPS ** (1 / 3) / MICRO, "eps^(1/3) is the rule of "
                                          "thumb; set the derivative of the bound to zero "
                                          "to get its constant"),
                     "derivative_of_h2": ((6 * EPS) ** (1 / 3) / MICRO, "d/dh (h^2 M / 6) = "
                                          "h M / 3, not h M / 6")}),
        Exercise("05.2", f"Central differences of tanh at a = 0.5 give D(0.1) = {coarse:.12f} and "
                 f"D(0.05) = {fine:.12f}. Their errors are c h^2 + O(h^4). Combine the two into "
                 "one Richardson estimate of tanh'(0.5) (a number, 8 significant digits).",
                 net=worked_example().net, value=richardson, rtol=1e-7,
                 wrong_values={
                     "ratio_for_order_1": (2 * fine - coarse, "2 D(h/2) - D(h) cancels an O(h) "
                                           "term; halving h divides an h^2 term by 4"),
                     "no_extrapolation": (fine, "that is D(0.05) itself; eliminate c between "
                                          "D(0.1) and D(0.05)"),
                     "average": ((coarse + fine) / 2, "averaging keeps the h^2 error; weight "
                                 "the two so that c h^2 cancels")}),
        Exercise("05.3", "The gradient check flagged the entries through hidden unit 1 of the "
                 "worked 2-2-2 logistic example. Write the correct dE/db_1^(1) for "
                 "E = 1/2 sum_k (y_k - t_k)^2, in z, y, t and the weights.",
                 net=worked_example().net, target="dE/db_1^(1)"),
    ]
