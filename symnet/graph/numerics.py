"""Numerically stable NumPy kernels for the activations, their slopes and the losses.

Why each form: the textbook ``1 / (1 + exp(-a))`` overflows (and warns) at
a = -1000; e / (1 + e) with e = exp(-|a|) never does. ``log(1 + exp(a))`` overflows at
a = 1000; ``logaddexp(0, a)`` does not. Softmax subtracts the row maximum before
exponentiating. Complex arrays (used by complex-step differentiation) take analytic
forms, branched on the real part so that exp never sees a large positive argument.

Near saturation a second rule matters: never subtract a rounded output from 1 or
from its target. sigma(40) rounds to 1, so 1 - sigma(40) is 0 where the truth is
4.2e-18, and every quantity built from it (sigma', y - t for t = 1, the
cross-entropy curvature y (1 - y), the loss softplus(a) - a) loses all its digits.
The kernels below take the pre-activation a (and the target t) and write each
quantity so that nothing cancels: 1 - sigma(a) = sigma(-a),
1 - tanh(a)^2 = 4 e^{-2|a|} / (1 + e^{-2|a|})^2, 1 - y_k = sum_{m != k} y_m for
softmax, and so on. They are the one implementation of each formula: the engine
calls them, and the SymPy functions of ``symnet.graph.functions`` print as calls to them.

``NUMPY_NAMESPACE`` maps the names SymPy prints for symnet's functions to these
implementations; it is the first module handed to ``sympy.lambdify``.

Examples
--------
>>> import numpy as np
>>> stable_sigmoid(np.array([-1000.0, 0.0, 1000.0]))
array([0. , 0.5, 1. ])
>>> stable_softplus(np.array([-1000.0, 1000.0]))
array([   0., 1000.])
>>> float(1 - stable_sigmoid(40.0))           # the textbook 1 - sigma(40): every digit lost
0.0
>>> float(sigmoid_slope(40.0))                # sigma'(40) = e^-40 / (1 + e^-40)^2
4.248354255291589e-18
>>> float(binary_cross_entropy(40.0, 1.0))    # -log sigma(40) = log(1 + e^-40)
4.248354255291589e-18
"""

import numpy as np

__all__ = [
    "stable_sigmoid", "stable_softplus", "stable_softmax", "log_sum_exp", "relu", "leaky_relu",
    "sigmoid_slope", "sech_squared", "fits_into", "sigmoid_residual",
    "tanh_residual",
    "binary_cross_entropy", "neg_log_softmax", "softmax_complement", "softmax_residual",
    "softmax_cross_entropy_delta", "softmax_entry",
    "NUMPY_NAMESPACE",
]


def stable_sigmoid(a):
    """Logistic sigma(a) without overflow: 1 / (1 + e) for a >= 0, e / (1 + e) below, e = exp(-|a|).

    The same formula as sigma's printed NumPy code (``symnet.graph.functions.sigmoid``)
    and its array-API kernel (``symnet.compiled.array_kernels``). e lies in (0, 1], so
    nothing overflows, and no step subtracts: within 2 ulps everywhere. (The form
    exp(-log(1 + exp(-a))) loses up to 3.4e-15 near a = -33, where log(1 + e^-a) is
    rounded to the ulp of |a|; it also takes three transcendentals where this takes one.)

    >>> float(stable_sigmoid(0.0)), float(stable_sigmoid(1e3)), float(stable_sigmoid(-1e3))
    (0.5, 1.0, 0.0)
    >>> float(stable_sigmoid(-33.0))          # mpmath: 4.6588861451033757e-15
    4.658886145103376e-15
    """
    if np.iscomplexobj(a):
        e, positive = _exp_of_minus_abs(a)
        return np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))
    values = np.atleast_1d(np.asarray(a, dtype=float))
    e = np.abs(values)                     # a new array, worked on in place
    np.negative(e, out=e)
    np.exp(e, out=e)                       # e = exp(-|a|) in (0, 1]
    numerator = np.where(values >= 0, 1.0, e)
    e += 1.0
    numerator /= e
    return numerator if np.ndim(a) else numerator[0]


def stable_softplus(a):
    """softplus(a) = log(1 + exp(a)) without overflow, accurate also where it is tiny."""
    if np.iscomplexobj(a):
        e, positive = _exp_of_minus_abs(a)
        return np.where(positive, a, 0.0) + np.log(1.0 + e)
    return np.logaddexp(0.0, a)


def _exp_of_minus_abs(a):
    """exp(-a) where Re a > 0, else exp(a), so |e| <= 1 (complex a, for complex-step).

    Each branch is analytic, so the imaginary part of a complex step is carried exactly.
    """
    positive = a.real > 0
    return np.exp(np.where(positive, -a, a)), positive


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


# -- slopes and residuals of saturating outputs, from the pre-activation a ---------------
def sigmoid_slope(a):
    """sigma'(a) = sigma(a) (1 - sigma(a)), written sigma(a) sigma(-a) so that nothing cancels.

    It is also the cross-entropy curvature d^2 E / da^2 of a logistic output.

    >>> float(sigmoid_slope(0.0)), float(sigmoid_slope(-745.0)) > 0
    (0.25, True)
    """
    return stable_sigmoid(a) * stable_sigmoid(-a)


def fits_into(fresh, other):
    """True when ``fresh op other`` can be written into fresh: its type and shape hold.

    For NumPy arrays a caller has just made (a product, a sum): writing the next
    operation into them saves a new array, whose first touch costs more than the
    arithmetic.

    >>> fits_into(np.zeros((2, 3)), np.ones(3)), fits_into(np.zeros(3), np.ones((2, 3)))
    (True, False)
    >>> fits_into(np.zeros(3), 1j)     # the result would be complex
    False
    """
    if not (isinstance(fresh, np.ndarray) and fresh.flags.writeable):
        return False
    shape = np.shape(other)   # broadcasts into fresh's shape: trailing axes equal or 1
    if len(shape) > fresh.ndim or any(n != 1 and n != m for n, m in
                                      zip(reversed(shape), reversed(fresh.shape))):
        return False
    return np.result_type(fresh, other) == fresh.dtype


def sech_squared(a):
    """tanh'(a) = 1 - tanh(a)^2, as sech(a)^2 = (1 / cosh(a))^2.

    Within a few ulps for every a: cosh is accurate to an ulp, then one reciprocal and
    one square, with no subtraction. The textbook 1 - tanh(a)^2 loses its digits where
    tanh(a) rounds towards +-1 (it is 0 from |a| = 19 on). Past |a| = 710 cosh is inf
    (its overflow is expected and silenced) and 1 / inf = 0, where sech^2 is already
    below the smallest float, so nothing warns.

    Three passes over one new array (cosh, then reciprocal and square in place): faster
    than the textbook ``1 - z * z`` with its two temporaries (measured on (100000, 16):
    4.7 ms against 7.8 ms), so the digits cost nothing. The form 4 e / (1 + e)^2 with
    e = exp(-2|a|) (the array kernel for JAX, where operations fuse) takes more passes
    on NumPy.

    >>> float(sech_squared(0.0)), float(sech_squared(20.0))   # 1 - tanh(20)^2 rounds to 0
    (1.0, 1.6993417021166355e-17)
    >>> float(sech_squared(1e3)), float(sech_squared(-400.0))   # below the smallest float
    (0.0, 0.0)
    """
    if np.iscomplexobj(a):
        return 1.0 / np.cosh(a) ** 2
    with np.errstate(over="ignore"):   # cosh is inf past |a| = 710: sech^2 is 0 there
        s = np.cosh(np.asarray(a, dtype=float))
    if np.ndim(s) == 0:
        return (1.0 / s) ** 2
    np.reciprocal(s, out=s)            # s is a new array: worked on in place
    np.multiply(s, s, out=s)
    return s


def sigmoid_residual(a, t):
    """sigma(a) - t, written (1 - t) sigma(a) - t sigma(-a): exact to rounding for t in {0, 1}.

    For t = 1 this is -sigma(-a), which keeps its digits where sigma(a) rounds to 1.
    It is the output delta of cross-entropy with a logistic output.

    >>> float(sigmoid_residual(40.0, 1.0))
    -4.248354255291589e-18
    """
    return (1 - t) * stable_sigmoid(a) - t * stable_sigmoid(-a)


def tanh_residual(a, t):
    """tanh(a) - t, exact to rounding also for t = +-1 where tanh(a) rounds to +-1.

    Away from 0 it is written (1 - t) sigma(2a) - (1 + t) sigma(-2a) (tanh(a) - 1 =
    -2 sigma(-2a)); near 0, where sigma(2a) - sigma(-2a) would cancel, as tanh(a) - t.

    >>> float(tanh_residual(20.0, 1.0))              # -2 sigma(-40)
    -8.496708510583178e-18
    """
    a, t = np.asarray(a), np.asarray(t)
    far = (1 - t) * stable_sigmoid(2 * a) - (1 + t) * stable_sigmoid(-2 * a)
    return np.where(np.abs(a) < 0.5, np.tanh(a) - t, far)


def binary_cross_entropy(a, t):
    """-[t log sigma(a) + (1 - t) log(1 - sigma(a))] = t softplus(-a) + (1 - t) softplus(a).

    The textbook softplus(a) - t a is the same number, but for t = 1 it subtracts two
    nearly equal numbers (softplus(30) - 30 keeps 2 of 16 digits); here each term is
    a non-negative softplus, accurate also where it is tiny. Elementwise.

    >>> float(binary_cross_entropy(0.0, 1.0)), float(binary_cross_entropy(-35.0, 0.0))
    (0.6931471805599453, 6.305116760146987e-16)
    """
    return t * stable_softplus(-a) + (1 - t) * stable_softplus(a)


# -- softmax ------------------------------------------------------------------------
def neg_log_softmax(a):
    """-log softmax(a) = logsumexp(a) - a along the last axis, accurate also where it is tiny.

    With M = max_m a_m it is (M - a_k) + log1p(sum_{m != argmax} exp(a_m - M)): for the
    largest logit the first term is 0 and log1p keeps every digit of the small sum.

    >>> import numpy as np
    >>> neg_log_softmax(np.array([20.0, 0.0]))        # log(1 + e^-20), 20 + log(1 + e^-20)
    array([2.06115362e-09, 2.00000000e+01])
    """
    if np.iscomplexobj(a):
        return log_sum_exp(a, axis=-1) - a
    top = np.max(a, axis=-1, keepdims=True)
    shifted = a - top
    largest = np.arange(a.shape[-1]) == np.argmax(a, axis=-1)[..., None]
    others = np.sum(np.where(largest, 0.0, np.exp(shifted)), axis=-1, keepdims=True)
    return -shifted + np.log1p(others)


def softmax_complement(y):
    """1 - y_k as sum_{m != k} y_m along the last axis (no cancellation where y_k ~ 1)."""
    K = y.shape[-1]
    return y @ (1.0 - np.eye(K))


def softmax_residual(y, t):
    """y_k - t_k = (1 - t_k) y_k - t_k sum_{m != k} y_m: exact to rounding for t_k in {0, 1}."""
    return (1 - t) * y - t * softmax_complement(y)


def softmax_cross_entropy_delta(y, t):
    """dE/da_k = y_k sum_m t_m - t_k, written y_k sum_{m != k} t_m - t_k sum_{m != k} y_m.

    For one-hot t the true class gets -sum_{m != k} y_m (tiny and exact where the
    textbook y_k - 1 rounds to 0) and the others y_k.
    """
    return y * (np.sum(t, axis=-1, keepdims=True) - t) - t * softmax_complement(y)


def softmax_entry(k, *a):
    """The k-th (1-based) softmax output of the logits a_1..a_K (arrays that broadcast).

    The kernel that ``symnet.graph.functions.softmax`` prints as: shifted by the maximum.

    >>> float(softmax_entry(2, 800.0, 0.0))           # e^-800: 0 in float64, not NaN
    0.0
    """
    stacked = np.stack(np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in a]), axis=-1)
    return stable_softmax(stacked)[..., int(k) - 1]


NUMPY_NAMESPACE = {
    "sigmoid": stable_sigmoid,
    "softplus": stable_softplus,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "Heaviside": heaviside,
}
