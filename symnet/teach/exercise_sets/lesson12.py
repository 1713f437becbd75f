"""Lesson 12's exercises: forward- and reverse-mode accumulation on the 2-2-1 network."""

from ..examples import network
from ..exercises import Exercise


def exercises():
    """A forward-mode tangent, a reverse-mode adjoint, and the number of sweeps a gradient needs."""
    net = network("graph")
    lm = network("lm")
    return [
        Exercise("12.1", "the tangent of y_1 after one forward-mode sweep seeded with "
                 "x_1' = 1, x_2' = 0 (that is J_11), in the weights and z_j^(1)",
                 net=net, target="J_11"),
        Exercise("12.2", "the adjoint of a_2^(1) after one backward sweep seeded with "
                 "y_1' = 1 (that is dy_1/da_2^(1)), in the weights and z_2^(1)",
                 net=net, target="dy_1/da_2^(1)"),
        Exercise("12.3", "the number of forward-mode sweeps for the whole gradient dE/dw of "
                 "the 3-4-2 network", net=lm, value=float(lm.n_params), rtol=1e-9,
                 wrong_values={
                     "reverse_mode_count": (1.0, "one sweep is reverse mode, seeded with "
                                            "dE/dy; forward mode seeds one parameter per sweep"),
                     "inputs_count": (float(lm.sizes[0]), "one sweep per input gives the "
                                      "input Jacobian dy/dx; the gradient is with respect to "
                                      "the parameters"),
                     "outputs_count": (float(lm.sizes[-1]), "one sweep per output is reverse "
                                       "mode's count for a Jacobian"),
                     "central_differences_count": (2.0 * lm.n_params, "2W is the number of "
                                                   "forward passes of central differences"),
                 }),
    ]
