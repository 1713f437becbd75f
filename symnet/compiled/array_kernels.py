"""The stable kernels of ``symnet.graph.numerics``, written once against the array API standard.

symnet's SymPy functions print as calls to a few named kernels (``sech_squared``,
``sigmoid_residual``, ``tanh_residual``, ``softmax_entry``, ``neg_log_softmax``); NumPy
code calls the NumPy versions in ``symnet.graph.numerics`` (tuned: in place, with
complex-step branches). Printed for another array library (JAX), the same calls are
bound to the functions below, each the same formula in the standard's functions of the
namespace ``xp`` (``xp.exp``, ``xp.logaddexp``, ``xp.where``, ...), so that every
formula keeps the form that keeps its digits:

| kernel                  | formula                                                     |
|-------------------------|-------------------------------------------------------------|
| stable_sigmoid(a)       | (1 if a >= 0 else e) / (1 + e) with e = exp(-abs(a))        |
| sech_squared(a)         | 4 e / (1 + e)^2 with e = exp(-2 abs(a))                     |
| sigmoid_residual(a, t)  | (1 - t) sigma(a) - t sigma(-a)                              |
| tanh_residual(a, t)     | tanh(a) - t near 0, (1 - t) sigma(2a) - (1 + t) sigma(-2a)  |
| stable_softmax(a)       | exp(a - max a) / sum exp(a - max a)                         |
| neg_log_softmax(a)      | (M - a_k) + log1p(sum_{m != argmax} exp(a_m - M))           |

``namespace_kernels(xp)`` is the name -> function table handed to ``sympy.lambdify``
for that namespace (``symnet.compiled.backends``).

Examples
--------
>>> import numpy as np
>>> kernels = namespace_kernels(np)
>>> float(kernels["sech_squared"](np.asarray(20.0)))     # 1 - tanh(20)^2 rounds to 0
1.6993417021166355e-17
>>> float(kernels["neg_log_softmax"](np.asarray([20.0, 0.0]))[0])   # log(1 + e^-20)
2.061153620314381e-09
"""

__all__ = ["namespace_kernels"]


def namespace_kernels(xp):
    """The kernels' name -> function table for the array namespace ``xp``.

    >>> import numpy as np
    >>> float(namespace_kernels(np)["sigmoid_residual"](np.asarray(40.0), 1.0))
    -4.248354255291589e-18
    """

    def stable_sigmoid(a):  # as symnet.graph.numerics.stable_sigmoid
        e = xp.exp(-xp.abs(a))  # in (0, 1]
        return xp.where(a >= 0, 1.0, e) / (1.0 + e)

    def sech_squared(a):  # = symnet.graph.numerics.sech_squared for real a
        # 4 e / (1 + e)^2 = (1 / cosh a)^2 with e = exp(-2|a|) in (0, 1]: one exp and no
        # subtraction, so within a few ulps (jax.numpy's cosh is off by up to 4e-15 and
        # costs two exps); e underflows only where sech^2 a is itself subnormal (|a| > 354)
        e = xp.exp(-2.0 * xp.abs(a))
        d = 1.0 + e
        return (4.0 * e) / (d * d)

    def sigmoid_residual(a, t):
        return (1 - t) * stable_sigmoid(a) - t * stable_sigmoid(-a)

    def tanh_residual(a, t):
        far = (1 - t) * stable_sigmoid(2 * a) - (1 + t) * stable_sigmoid(-2 * a)
        return xp.where(xp.abs(a) < 0.5, xp.tanh(a) - t, far)

    def stable_softmax(a):
        shifted = xp.exp(a - xp.max(a, axis=-1, keepdims=True))
        return shifted / xp.sum(shifted, axis=-1, keepdims=True)

    def neg_log_softmax(a):
        top = xp.max(a, axis=-1, keepdims=True)
        shifted = a - top
        largest = xp.arange(a.shape[-1]) == xp.argmax(a, axis=-1, keepdims=True)
        others = xp.sum(xp.where(largest, 0.0, xp.exp(shifted)), axis=-1, keepdims=True)
        return -shifted + xp.log1p(others)

    def softmax_entry(k, *a):
        stacked = xp.stack(xp.broadcast_arrays(*[xp.asarray(v) for v in a]), axis=-1)
        return stable_softmax(stacked)[..., int(k) - 1]

    return {"stable_sigmoid": stable_sigmoid, "sech_squared": sech_squared,
            "sigmoid_residual": sigmoid_residual, "tanh_residual": tanh_residual,
            "stable_softmax": stable_softmax, "neg_log_softmax": neg_log_softmax,
            "softmax_entry": softmax_entry}
