"""Which array library a value belongs to, read from its type: the one rule every stage uses.

``library_of`` names it (``"jax"``, ``"dask"`` or ``"numpy"``); ``array_namespace`` gives
its array functions (numpy, or jax.numpy for JAX arrays and tracers), for code written
once against them. Both read the type's module, so asking imports neither JAX nor Dask.

Examples
--------
>>> import numpy as np
>>> library_of(np.ones(2)), library_of([1.0]), array_namespace(np.ones(2)) is np
('numpy', 'numpy', True)
"""

import numpy as np

__all__ = ["library_of", "array_namespace"]

_LIBRARIES = {"jax": "jax", "jaxlib": "jax", "dask": "dask"}   # by the type's top module


def library_of(value):
    """``"jax"``, ``"dask"`` or ``"numpy"`` (anything else: lists, NumPy arrays, numbers).

    >>> library_of(3.0)
    'numpy'
    """
    if isinstance(value, np.ndarray):
        return "numpy"
    return _LIBRARIES.get(type(value).__module__.partition(".")[0], "numpy")


def array_namespace(array):
    """The array functions of ``array``'s library: numpy, or jax.numpy for JAX arrays and tracers.

    JAX is imported only when a JAX array is given. Code written against the returned
    namespace (``xp.pad``, ``xp.einsum``, ...) runs on both. (Dask arrays are evaluated
    chunk by chunk on NumPy, so they never reach code that asks.)

    >>> array_namespace([1.0]) is np
    True
    """
    if library_of(array) != "jax":
        return np
    import jax.numpy as jnp
    return jnp
