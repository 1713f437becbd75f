"""Old paths that still work: one warning and one forwarder for every name that moved.

A base module (it imports nothing from symnet), so any stage may use it: a package
whose names moved into one of its modules sets ``__getattr__ = forward_names(...)``,
and ``symnet._moved`` warns with ``warn_moved`` for the module paths of symnet 0.1.

Examples
--------
>>> import warnings
>>> getter = forward_names("symnet.numdiff", "symnet.numdiff.differences")
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     step = getter("central_difference")
>>> str(caught[0].message).split(";")[0]
'symnet.numdiff.central_difference moved to symnet.numdiff.differences.central_difference'
"""

import importlib
import warnings

__all__ = ["forward_names", "warn_moved"]


def warn_moved(old, new, stacklevel=3, advice="import it from there"):
    """Warn (``DeprecationWarning``) that ``old`` is now ``new``, from the caller's caller.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_moved("symnet.old", "symnet.new.old")
    >>> caught[0].category.__name__, str(caught[0].message)
    ('DeprecationWarning', 'symnet.old moved to symnet.new.old; import it from there')
    """
    warnings.warn(f"{old} moved to {new}; {advice}", DeprecationWarning, stacklevel=stacklevel)


def forward_names(package, home, names=None):
    """A module ``__getattr__`` for ``package`` that finds moved names in the module ``home``.

    Parameters
    ----------
    package : str
        The old place, e.g. ``"symnet.train"`` (pass ``__name__``).
    home : str
        The module the names live in now, imported on first use (never at import time,
        so a package may forward to one of its own modules).
    names : collection of str, optional
        The names that moved; by default every name of ``home.__all__``.

    Returns
    -------
    callable
        ``__getattr__(name)``: the moved object, with a ``DeprecationWarning``, or
        ``AttributeError`` for any other name.

    Examples
    --------
    >>> getter = forward_names("symnet.train", "symnet.train.fitting")
    >>> getter("no_such_name")
    Traceback (most recent call last):
    ...
    AttributeError: module 'symnet.train' has no attribute 'no_such_name'
    """
    def __getattr__(name):
        module = importlib.import_module(home)
        if name in (module.__all__ if names is None else names):
            warn_moved(f"{package}.{name}", f"{home}.{name}")
            return getattr(module, name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    __getattr__.__doc__ = f"The names that moved from ``{package}`` to ``{home}``: they warn."
    return __getattr__
