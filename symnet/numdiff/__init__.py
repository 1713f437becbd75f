"""Numerical differentiation and the checker that compares a derivation with it.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive`` and the base modules.
"""


def __getattr__(name):
    """The names of symnet 0.1's module ``symnet.numdiff``, now in ``symnet.numdiff.differences``: they warn."""
    import warnings
    from . import differences
    if name in differences.__all__:
        warnings.warn(f"symnet.numdiff.{name} moved to symnet.numdiff.differences.{name}", DeprecationWarning,
                      stacklevel=2)
        return getattr(differences, name)
    raise AttributeError(f"module 'symnet.numdiff' has no attribute {name!r}")
