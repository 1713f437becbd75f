"""Numerically stable NumPy implementations of the activations and losses.

Why each form: the textbook ``1 / (1 + exp(-a))`` overflows (and warns) at
a = -1000; ``exp(-logaddexp(0, -a))`` never does. ``log(1 + exp(a))`` overflows at
a = 1000; ``logaddexp(0, a)`` does not. Softmax subtracts the row maximum before
exponentiating. Complex arrays (used by complex-step differentiation) take the
textbook form, which is analytic and accurate for the moderate arguments
complex-step checks use.

``NUMPY_NAMESPACE`` maps the names SymPy prints for symnet's functions to these
implementations; it is the first module handed to ``sympy.lambdify``.

Examples
--------
>>> import numpy as np
>>> stable_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
array([0. , 0.5, 1. ])
>>> stable_softplus(np.array([-1000.0, 1000.0]))
array([   0., 1000.])
"""

import numpy as np

__all__ = [
    "stable_sigmoid", "stable_softplus", "stable_softmax", "log_sum_exp",
    "relu", "leaky_relu", "NUMPY_NAMESPACE",
]


def stable_sigmoid(a):
    """Logistic sigma(a) without overflow: exp(-log(1 + exp(-a)))."""
    if np.iscomplexobj(a):
        return 1.0 / (1.0 + np.exp(-a))
    return np.exp(-np.logaddexp(0.0, -a))


def stable_softplus(a):
    """softplus(a) = log(1 + exp(a)) without overflow."""
    if np.iscomplexobj(a):
        return np.log(1.0 + np.exp(a))
    return np.logaddexp(0.0, a)


def log_sum_exp(a, axis=-1):
    """log(sum(exp(a))) along ``axis`` (kept), shifted by the maximum so it never overflows."""
    shift = np.max(a.real, axis=axis, keepdims=True)
    return shift + np.log(np.sum(np.exp(a - shift), axis=axis, keepdims=True))


def stable_softmax(a, axis=-1):
    """Softmax along ``axis``, shifted by the maximum so it never overflows."""
    shifted = np.exp(a - np.max(a.real, axis=axis, keepdims=True))
    return shifted / np.sum(shifted, axis=axis, keepdims=True)


def relu(a):
    """max(0, a), elementwise."""
    return np.maximum(a, 0.0)


def leaky_relu(a, slope):
    """a for a > 0, slope * a otherwise."""
    return np.where(a > 0, a, slope * a)


def heaviside(a, value_at_zero):
    """The step function with a stated value at 0 (float64 result)."""
    return np.heaviside(a, value_at_zero)


NUMPY_NAMESPACE = {
    "sigmoid": stable_sigmoid,
    "softplus": stable_softplus,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "Heaviside": heaviside,
}
