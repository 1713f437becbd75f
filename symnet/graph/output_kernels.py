"""Softmax outputs' Jacobian and second derivatives as NumPy kernels, derived from its rule.

The one rule is ``symnet.graph.functions.softmax``'s derivative, y_k (delta_km - y_m)
(``softmax.fdiff``). Differentiating the SymPy function once or twice, writing each
entry in its stable form (``symnet.graph.rewriting``: 1 - y_k as the sum of the other
outputs, so a saturated y_k ~ 1 keeps its relative accuracy), and naming softmax_k(a)
y_k gives K x K (and K x K x K) expressions in y, lambdified together once per K
with common subexpressions shared. No entry of these matrices is typed here.

Examples
--------
>>> import numpy as np
>>> Y = np.array([[0.25, 0.75]])
>>> softmax_jacobian_values(Y)                  # y_k (delta_km - y_m)
array([[[ 0.1875, -0.1875],
        [-0.1875,  0.1875]]])
>>> float(softmax_curvature_values(Y)[0, 0, 0, 0])   # y(1 - y)(1 - 2y) at y = 1/4
0.09375
"""

from functools import lru_cache

import numpy as np
import sympy as sp

from .functions import softmax
from .rewriting import MODULES, stable_form

__all__ = ["softmax_jacobian_values", "softmax_curvature_values"]


@lru_cache(maxsize=None)
def _kernel(K, order):
    """(function of y_1..y_K returning the entries, shape): the order-th derivative block."""
    outputs, entries, shape = block_entries(K, order)
    return sp.lambdify([outputs], entries, modules=MODULES, cse=True), shape


@lru_cache(maxsize=None)
def block_entries(K, order):
    """(y_1..y_K, the entries in y, shape) of the order-th derivative block, row-major.

    >>> block_entries(2, 1)[1]
    [y_1*y_2, -y_1*y_2, -y_1*y_2, y_1*y_2]
    """
    logits = sp.symbols(f"a_1:{K + 1}", real=True)
    outputs = sp.symbols(f"y_1:{K + 1}", positive=True)
    named = {softmax(k, *logits): y for k, y in enumerate(outputs, start=1)}
    shape = (K,) * (order + 1)
    entries = []
    for index in np.ndindex(*shape):  # (k, m[, p]): d^order y_k / da_m [da_p]
        k, *wrt = index
        derivative = sp.diff(softmax(k + 1, *logits), *[logits[i] for i in wrt])
        entries.append(stable_form(derivative).xreplace(named))
    return outputs, entries, shape


def _values(Y, order):
    Y = np.asarray(Y, dtype=float)
    function, shape = _kernel(Y.shape[-1], order)
    columns = [np.broadcast_to(v, Y.shape[:-1]) for v in function(np.moveaxis(Y, -1, 0))]
    return np.stack(columns, axis=-1).reshape(Y.shape[:-1] + shape)


def softmax_jacobian_values(Y):
    """dy_k/da_m (..., K, K) at softmax outputs Y (..., K), from softmax's derivative rule."""
    return _values(Y, 1)


def softmax_curvature_values(Y):
    """d^2 y_k / da_m da_p (..., K, K, K) at softmax outputs Y, from the same rule."""
    return _values(Y, 2)
