"""Central-difference derivatives of a plain function, vectorised over the perturbations.

The step for variable j is h_j = eps^(1/3) * max(1, |v_j|): the central difference
has truncation error O(h^2 f''') and round-off error O(eps f / h); their sum is
smallest near h ~ eps^(1/3) times the variable's scale (Nocedal & Wright,
Numerical Optimization, 2nd ed., sec. 8.1), about 6e-6 for float64, leaving a
relative error near 1e-10.

Examples
--------
>>> import numpy as np
>>> f = lambda V: np.sin(V[:, 0]) * V[:, 1]          # rows of V are points
>>> central_difference(f, np.array([0.5, 2.0])).round(8)
array([1.75516512, 0.47942554])
"""

import numpy as np

__all__ = ["central_steps", "central_difference"]

EPS = np.finfo(np.float64).eps


def central_steps(values):
    """h_j = eps^(1/3) max(1, |v_j|), rounded so that v + h - v is exactly h."""
    steps = EPS ** (1 / 3) * np.maximum(1.0, np.abs(values))
    return (values + steps) - values


def central_difference(function, values, steps=None):
    """(f(v + h_j e_j) - f(v - h_j e_j)) / (2 h_j) for every j, in two batched calls.

    ``function`` takes a (P, n) array of points and returns (P, ...) values.
    Returns an array of shape (n, ...).
    """
    values = np.asarray(values, dtype=float)
    steps = central_steps(values) if steps is None else np.asarray(steps, dtype=float)
    shifts = np.diag(steps)
    plus = function(values + shifts)
    minus = function(values - shifts)
    scale = (2 * steps).reshape((-1,) + (1,) * (np.ndim(plus) - 1))
    return (plus - minus) / scale
