"""Numerical differentiation and the checker that compares a derivation with it.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive`` and the base modules.
"""

from .._deprecation import forward_names as _forward_names

# symnet 0.1's module ``symnet.numdiff`` is now ``symnet.numdiff.differences``: its names warn.
__getattr__ = _forward_names(__name__, f"{__name__}.differences")
