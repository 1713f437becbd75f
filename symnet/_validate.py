"""Validation of user input, in one place: every message names what was expected.

* ``check_sizes``: the layer sizes [D, n_1, ..., K] of a network;
* ``check_inputs``, ``check_params``, ``check_targets``: the arrays X, w, T;
* ``check_number``, ``check_steps``: the numeric keywords of ``check``,
  ``fit`` and ``curvature_report`` (a real, finite number of the right sign;
  strings are refused, never converted);
* ``check_layer_values``, ``check_finite_result``: overflow, i.e. non-finite
  values computed from finite inputs, refused with ``NumericalOverflowError``.

Examples
--------
>>> check_number("rtol", 1e-7, positive=True)
1e-07
>>> try:
...     check_number("rtol", "a", positive=True, example=1e-7)
... except SymnetError as error:
...     print(error)
rtol must be a positive and finite number; got the string 'a' (pass a number, e.g.
    rtol=1e-07, not text)
"""

import numbers
from collections.abc import Sequence

import numpy as np

from .errors import NumericalOverflowError, SymnetError

__all__ = ["check_sizes", "check_inputs", "check_params", "check_targets", "check_number",
           "check_steps", "check_layer_values", "check_finite_result"]

FLOAT_MAX = np.finfo(float).max  # 1.8e308: a float64 result past this is inf


# -- the shape of a network ----------------------------------------------------------
def check_sizes(sizes):
    """A tuple of positive ints [D, n_1, ..., K] with at least two entries.

    A list, tuple, range or 1-D integer array; a dict, set or string is refused
    rather than read (``list({2: 1, 3: 1})`` would silently be [2, 3]), and so is
    each entry that is not a positive int (a bool, a float such as 3.0, a string).
    """
    if isinstance(sizes, np.ndarray):
        if sizes.ndim != 1:
            raise SymnetError(f"sizes must be a 1-D list [D, n_1, ..., K]; got an array of "
                              f"shape {sizes.shape}")
        values = list(sizes)
    elif isinstance(sizes, Sequence) and not isinstance(sizes, (str, bytes)):
        values = list(sizes)
    else:
        raise SymnetError(
            f"sizes must be a list [D, n_1, ..., K] of positive integers (units per layer, "
            f"inputs first); got {type(sizes).__name__} {sizes!r}")
    ok = len(values) >= 2 and all(
        isinstance(n, numbers.Integral) and not isinstance(n, (bool, np.bool_)) and n > 0
        for n in values)
    if not ok:
        raise SymnetError(f"sizes must be positive integers [D, n_1, ..., K]; got {values!r}")
    return tuple(int(n) for n in values)


# -- arrays ----------------------------------------------------------------------------
def all_finite(values):
    """True when every entry of ``values`` is finite: one summing pass, the entry-wise test only if needed.

    A NaN or an infinity makes the sum NaN or infinite, so a finite sum proves every
    entry finite; a non-finite sum (also when finite entries add past 1.8e308) falls
    back to the entry-wise test, which decides.

    >>> all_finite(np.array([1e308, 1e308])), all_finite(np.array([1.0, np.nan]))
    (True, False)
    """
    values = np.asarray(values)
    if values.size < 4096:  # small: the entry-wise test costs less than entering errstate
        return bool(np.isfinite(values).all())
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(values)
    return bool(np.isfinite(total)) or bool(np.isfinite(values).all())


def _as_float_array(value, what, allow_complex=False):
    try:
        array = np.asarray(value)
    except Exception as error:  # ragged lists and the like
        raise SymnetError(f"{what} must be an array of numbers; {error}") from None
    if array.dtype == bool:
        # True/False are not measurements: a mask passed by mistake reads as 1.0/0.0.
        raise SymnetError(f"{what} has dtype bool; convert it with {what}.astype(float) "
                          "if 1.0 and 0.0 are the values you mean")
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise SymnetError(f"{what} must be an array of numbers; got dtype {array.dtype}")
    if np.iscomplexobj(array):
        if not allow_complex:
            raise SymnetError(f"{what} must be real; got a complex array")
        array = array.astype(complex, copy=False)
    else:
        array = array.astype(np.float64, copy=False)
    if not all_finite(array):
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


# -- numeric keywords -------------------------------------------------------------------
def _sign_words(positive, nonnegative, integer):
    kind = "integer" if integer else "and finite number"
    if positive:
        return f"a positive {kind}"
    if nonnegative:
        return f"a non-negative {kind}"
    return "an integer" if integer else "a finite number"


def check_number(name, value, *, positive=False, nonnegative=False, integer=False,
                 example=None):
    """``value`` as a float (an int with ``integer``), or a SymnetError that says why not.

    Accepted: Python and NumPy ints and floats that are finite and have the sign
    asked for. Refused: strings (even "1e-5": text is never converted to a number),
    bools, None, complex numbers, arrays, inf and nan.

    Examples
    --------
    >>> check_number("max_iter", 10, nonnegative=True, integer=True)
    10
    >>> try:
    ...     check_number("step", -1e-5, positive=True)
    ... except SymnetError as error:
    ...     print(error)
    step must be a positive and finite number; got -1e-05
    """
    expected = _sign_words(positive, nonnegative, integer)
    if isinstance(value, (str, bytes)):
        hint = f", e.g. {name}={example!r}" if example is not None else ""
        raise SymnetError(f"{name} must be {expected}; got the string {value!r} (pass a "
                          f"number{hint}, not text)")
    real = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    if integer:
        real = real and isinstance(value, numbers.Integral)
    if not real:
        raise SymnetError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    number = int(value) if integer else float(value)
    if not np.isfinite(number) or (positive and not number > 0) or (
            nonnegative and not number >= 0):
        raise SymnetError(f"{name} must be {expected}; got {value!r}")
    return number


def check_steps(step, shape, name="step"):
    """A positive, finite step per variable: a number, or an array broadcastable to ``shape``.

    Examples
    --------
    >>> check_steps(1e-3, (2,))
    array([0.001, 0.001])
    """
    if isinstance(step, (numbers.Number, str, bytes)) or step is None:
        return np.full(shape, check_number(name, step, positive=True))
    array = np.asarray(step)
    if array.dtype.kind not in "iuf":   # no strings, bools, objects or complex numbers
        raise SymnetError(f"{name} must be a positive number or an array of positive numbers "
                          f"of shape {shape}; got an array of dtype {array.dtype}")
    try:
        steps = np.broadcast_to(array.astype(float), shape).copy()
    except ValueError:
        raise SymnetError(f"{name} must be a positive number or an array of shape {shape}; "
                          f"got shape {array.shape}") from None
    if not (np.all(np.isfinite(steps)) and np.all(steps > 0)):
        raise SymnetError(f"{name} must be positive and finite; got {step!r}")
    return steps


# -- overflow ---------------------------------------------------------------------------
def _overflow_is_handled():
    """True inside ``np.errstate(over="ignore")``: the caller inspects non-finite values itself.

    ``symnet.check`` does so at its perturbed points (a non-finite value there is
    counted as a failed entry). Everywhere else (NumPy's default, ``"warn"``, or
    ``"raise"``) an overflow is an error: a warning beside a wrong number is not enough.
    """
    return np.geterr()["over"] == "ignore"


def _first_bad(array):
    return tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])


def check_layer_values(net, layer, A, Z):
    """Refuse a layer whose pre-activations A or values Z are inf or NaN (finite X and w).

    X and w are checked finite on entry, so a non-finite a_j^(l) means float64
    overflowed (a sum of products past 1.8e308, or inf - inf), and a non-finite
    z_j^(l) from a finite a means the activation did. A tanh or sigmoid unit would
    turn inf into a finite 1 and its slope into 0, so the error is raised here,
    where the overflow happens, before it becomes a plausible number.
    """
    if _overflow_is_handled():
        return
    output = layer == net.n_layers
    for quantity, letter, values in (("pre-activation", "a", A),
                                     ("output" if output else "unit value", "y" if output else "z",
                                      Z)):
        if values is None or all_finite(values):
            continue
        index = _first_bad(values)
        *leading, unit = index                      # (..., sample, unit)
        sample, stack = (leading[-1], leading[:-1]) if leading else (0, [])
        symbol = f"{letter}_{unit + 1}" + ("" if letter == "y" else f"^({layer})")
        where = f"sample {sample}" + (f" of perturbed point {stack[0]}" if stack else "")
        raise NumericalOverflowError(
            f"the {quantity} {symbol} overflowed float64 (it is {values[index]}) at {where}, "
            f"from finite inputs and parameters (|values| past {FLOAT_MAX:.3g}, or inf - inf). "
            "Nothing computed from it would be a number you can trust: rescale the inputs "
            "(e.g. standardise each column of X) or the weights.")


def check_finite_result(what, values):
    """``values`` unchanged when finite; NumericalOverflowError naming ``what`` otherwise.

    For results computed from finite, validated inputs: a non-finite entry there
    is an overflow of float64 (|value| past 1.8e308), never a derivative.

    Examples
    --------
    >>> check_finite_result("the input Hessian", np.zeros(2))
    array([0., 0.])
    """
    if _overflow_is_handled() or all_finite(values):
        return values
    index = _first_bad(values)
    raise NumericalOverflowError(
        f"{what} overflowed float64: entry {index} is {values[index]}, from finite inputs and "
        f"parameters (|values| past {FLOAT_MAX:.3g}). Rescale the inputs (e.g. standardise "
        "each column of X) or the weights.")
