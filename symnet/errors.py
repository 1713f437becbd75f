"""The exceptions symnet raises for bad input.

Every message says what was received, what was expected and, where it helps,
what to do instead.
"""

__all__ = ["SymnetError", "TooLargeError"]


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
