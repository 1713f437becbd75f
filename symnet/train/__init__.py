"""Training with the exact derivatives: optimizers, Newton and Levenberg-Marquardt.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive`` and the base modules.
"""

from .._deprecation import forward_names as _forward_names

# symnet 0.1's module ``symnet.train`` is now ``symnet.train.fitting``: its names warn.
__getattr__ = _forward_names(__name__, f"{__name__}.fitting")
