"""Lesson 7's exercises: Hessian entries with their residual term, and the step-size limit."""

import numpy as np

from ..examples import network
from ..exercises import Exercise
from ...graph.network import MLP

# 07.3: H = [[3, 1], [1, 3]] has eigenvalues 3 - 1 = 2 and 3 + 1 = 4 (eigenvectors (1, -1)
# and (1, 1)), so gradient descent converges exactly for a step below 2 / 4.
STEP_HESSIAN = np.array([[3.0, 1.0], [1.0, 3.0]])


def exercises():
    """Two Hessian entries (sum-of-squares; cross-entropy with a logistic output), one number."""
    lam = np.linalg.eigvalsh(STEP_HESSIAN)
    return [
        Exercise("07.1", "The Hessian entry H[w_21^(1), w_12^(2)] of the sum-of-squares error "
                 "E = 1/2 (y_1 - t_1)^2 of one sample for the lesson's 1-4-1 network (tanh "
                 "hidden units, linear output), in x, z, y, t and the weights.",
                 net=network("curve"), target="H[w_21^(1), w_12^(2)]"),
        Exercise("07.2", "The same entry H[w_11^(1), w_11^(2)] for a 1-1-1 network with a tanh "
                 "hidden unit and a logistic output y_1 = sigma(a_1^(2)), under the "
                 "cross-entropy error E = -(t_1 ln y_1 + (1 - t_1) ln(1 - y_1)).",
                 net=MLP([1, 1, 1], hidden="tanh", output="sigmoid"),
                 target="H[w_11^(1), w_11^(2)]", loss="cross_entropy"),
        Exercise("07.3", "Gradient descent on E(w) = 1/2 w^T H w with H = [[3, 1], [1, 3]]: "
                 "the largest fixed step eta for which it converges from every start (the "
                 "limit itself, a number).",
                 net=network("tiny"), value=2.0 / lam.max(), rtol=1e-6,
                 wrong_values={
                     "suggested_lr": (1.0 / lam.max(), "1 / lambda_max is a safe step, not "
                                      "the limit; the factor 1 - eta lambda may reach -1"),
                     "lambda_min": (2.0 / lam.min(), "the stiffest direction (the largest "
                                    "eigenvalue) sets the limit"),
                     "diagonal": (2.0 / STEP_HESSIAN[0, 0], "the diagonal entry 3 is not an "
                                  "eigenvalue; the off-diagonal 1 couples the directions")}),
    ]
