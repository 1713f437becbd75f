"""Validation of user input, in one place: every message names what was expected."""

import numbers

import numpy as np

from .errors import SymnetError

__all__ = ["check_sizes", "check_inputs", "check_params", "check_targets"]


def check_sizes(sizes):
    """A tuple of positive ints [D, n_1, ..., K] with at least two entries."""
    try:
        values = list(sizes)
    except TypeError:
        raise SymnetError(f"sizes must be a list [D, n_1, ..., K]; got {sizes!r}") from None
    ok = len(values) >= 2 and all(
        isinstance(n, numbers.Integral) and not isinstance(n, bool) and n > 0 for n in values)
    if not ok:
        raise SymnetError(f"sizes must be positive integers [D, n_1, ..., K]; got {values!r}")
    return tuple(int(n) for n in values)


def _as_float_array(value, what, allow_complex=False):
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise SymnetError(f"{what} must be an array of numbers; {error}") from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number)
                                     or array.dtype == bool):
        raise SymnetError(f"{what} must be an array of numbers; got dtype {array.dtype}")
    if np.iscomplexobj(array):
        if not allow_complex:
            raise SymnetError(f"{what} must be real; got a complex array")
        array = array.astype(complex)
    else:
        array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise SymnetError(f"{what} must be finite; entry {bad} is {array[bad]}")
    return array


def check_inputs(net, X, allow_complex=True):
    """X as a float (N, D) array, and whether a single (D,) sample was given."""
    X = _as_float_array(X, "X", allow_complex)
    D = net.sizes[0]
    if X.ndim == 1 and X.shape == (D,):
        return X[None, :], True
    if X.ndim != 2 or X.shape[1] != D or X.shape[0] == 0:
        raise SymnetError(f"X must have shape (N, {D}) (or ({D},) for one sample); got {X.shape}")
    return X, False


def check_params(net, w, allow_complex=False):
    """w as a float vector of length W."""
    w = _as_float_array(w, "w", allow_complex)
    if w.shape != (net.n_params,):
        raise SymnetError(
            f"w must have shape ({net.n_params},) (W = {net.n_params} parameters in net.params "
            f"order; build it with net.pack(weights, biases)); got {w.shape}")
    return w


def check_targets(net, T, n_samples, single, allow_complex=False):
    """T as a float (N, K) array matching X."""
    if T is None:
        raise SymnetError("this derivation needs targets T of shape (N, K)")
    T = _as_float_array(T, "T", allow_complex)
    K = net.sizes[-1]
    if single and T.shape == (K,):
        return T[None, :]
    if T.shape != (n_samples, K):
        raise SymnetError(f"T must have shape ({n_samples}, {K}) to match X; got {T.shape}")
    return T
