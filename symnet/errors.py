"""The exceptions symnet raises for bad input.

Every message says what was received, what was expected and, where it helps,
what to do instead.
"""

__all__ = ["SymnetError", "TooLargeError", "NumericalOverflowError", "VerifyLimitError"]


class SymnetError(ValueError):
    """Bad input to symnet: an unknown name, a wrong shape, a non-finite value.

    A subclass of ``ValueError``, so ``except ValueError`` also catches it.

    Examples
    --------
    >>> import symnet
    >>> try:
    ...     symnet.MLP([2, 0, 1])
    ... except symnet.SymnetError as error:
    ...     print(error)
    sizes must be positive integers [D, n_1, ..., K]; got [2, 0, 1]
    """


class TooLargeError(SymnetError):
    """A request too large to derive symbolically, refused before any work.

    The message carries the size estimate that triggered the refusal.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([64, 64, 64, 10])
    >>> try:
    ...     symnet.hessian(net, "sse")
    ... except symnet.TooLargeError as error:
    ...     print(str(error)[:60])
    the Hessian of a network with W = 8970 parameters has 80,460
    """


class VerifyLimitError(TooLargeError):
    """``symnet.verify`` stopped at a limit instead of giving a verdict that rests on too little.

    ``limit`` names which one: ``"time"`` (processor time, ``time_limit=``),
    ``"entries"`` (a target naming too many entries), ``"switches"``, ``"precision"``
    or ``"evaluation"``; the message says what was tried. A ``TooLargeError``, so code
    that already handles refusals of too-large requests handles this one too.

    Examples
    --------
    >>> import symnet
    >>> error = symnet.VerifyLimitError("time", "the time limit of 2.5 s was reached")
    >>> error.limit, isinstance(error, symnet.TooLargeError), str(error)
    ('time', True, 'the time limit of 2.5 s was reached')
    """

    def __init__(self, limit, message):
        super().__init__(message)
        self.limit = limit


class NumericalOverflowError(SymnetError, FloatingPointError):
    """A value overflowed float64 although every input was finite: no number is returned.

    Raised when the forward pass produces an infinite or NaN pre-activation or
    unit value from finite X and w (a sum of products past 1.8e308, or inf - inf),
    or a result overflows. Such a value is not a derivative of anything: a tanh
    unit would turn it into +-1 and its slope into 0, a finite number that may
    be wrong. The message names the quantity, the layer and the sample.

    It is also a ``FloatingPointError``, the exception NumPy raises under
    ``np.errstate(over="raise")``, so code that treats overflow as a signal (a
    training loop watching for divergence) catches both alike.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 1])                          # y = w_11 x_1 + w_12 x_2 + b_1
    >>> try:                                              # 1e308 + 1e308 overflows
    ...     net.forward([1e308, 1e308], [1.0, 1.0, 0.0])
    ... except symnet.NumericalOverflowError as error:
    ...     print(str(error)[:62])
    the pre-activation a_1^(1) overflowed float64 (it is inf) at s
    """
