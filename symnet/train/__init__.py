"""Training with the exact derivatives: optimizers, Newton and Levenberg-Marquardt.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive`` and the base modules.
"""


def __getattr__(name):
    """The names of symnet 0.1's module ``symnet.train``, now in ``symnet.train.fitting``: they warn."""
    import warnings
    from . import fitting
    if name in fitting.__all__:
        warnings.warn(f"symnet.train.{name} moved to symnet.train.fitting.{name}", DeprecationWarning,
                      stacklevel=2)
        return getattr(fitting, name)
    raise AttributeError(f"module 'symnet.train' has no attribute {name!r}")
