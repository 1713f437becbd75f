"""Lesson 8's exercises: Adam's first step, and momentum tuned from the Hessian's extremes."""

import math

import numpy as np

from ...train.optimizers import Adam
from ..examples import network
from ..exercises import Exercise

# A quadratic with lambda_min = 1 and lambda_max = 100 (kappa = 100, sqrt(kappa) = 10).
LAMBDA_MIN, LAMBDA_MAX = 1.0, 100.0
KAPPA = LAMBDA_MAX / LAMBDA_MIN


def _adam_first_step():
    """Adam's first update of w_3 for g = (-3, 0.5, 1e-4) and lr = 0.001, by symnet's rule."""
    return float(Adam(n_params=3, lr=0.001).update(np.array([-3.0, 0.5, 1e-4]))[2])


def exercises():
    """Three numbers on the lesson's 1-4-1 network and on a quadratic with kappa = 100."""
    net = network("curve")
    root = math.sqrt(KAPPA)
    return [
        Exercise("08.1", "Adam (lr = 0.001, beta1 = 0.9, beta2 = 0.999, eps = 1e-8) starts from "
                 "m = v = 0 and receives the gradient g = (-3, 0.5, 1e-4). What is its first "
                 "update Delta w_3 of the third weight?", net=net, value=_adam_first_step(),
                 wrong_values={
                     "no_normalisation": (-0.001 * 1e-4, "that is gradient descent's step "
                                          "-lr g; Adam divides by sqrt(v_hat) = |g| at t = 1"),
                     "flip_sign": (0.001, "the step goes against the gradient"),
                     "no_bias_correction": (-0.001 * 0.1e-4 / (math.sqrt(0.001) * 1e-4),
                                            "without the bias corrections m = 0.1 g and "
                                            "v = 0.001 g^2; Adam divides them by 1 - beta^t")}),
        Exercise("08.2", "A quadratic error has Hessian eigenvalues from lambda_min = 1 to "
                 "lambda_max = 100. Which momentum beta (heavy ball) makes every "
                 "eigendirection converge at the same, fastest rate?", net=net,
                 value=((root - 1) / (root + 1)) ** 2,
                 wrong_values={
                     "rate_not_momentum": ((root - 1) / (root + 1), "that is the rate "
                                           "sqrt(beta*) it achieves; beta* is its square"),
                     "gd_rate": ((KAPPA - 1) / (KAPPA + 1), "that is plain gradient descent's "
                                 "best rate (kappa - 1)/(kappa + 1); momentum uses sqrt(kappa)")}),
        Exercise("08.3", "For the same quadratic (lambda_min = 1, lambda_max = 100), what step "
                 "alpha goes with that optimal momentum?", net=net,
                 value=(2 / (math.sqrt(LAMBDA_MIN) + math.sqrt(LAMBDA_MAX))) ** 2,
                 wrong_values={
                     "gd_best_step": (2 / (LAMBDA_MIN + LAMBDA_MAX), "2/(lambda_min + "
                                      "lambda_max) is gradient descent's best step; with "
                                      "momentum the square roots enter"),
                     "stability_limit": (2 / LAMBDA_MAX, "2/lambda_max is gradient descent's "
                                         "stability limit, not the optimal step")}),
    ]
