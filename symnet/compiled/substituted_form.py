"""Entries written in the inputs and weights alone, evaluated on the array library of X.

The direct input Jacobian differentiates the fully substituted outputs y_k(x, w): its
entries are expressions in x and w only, with no named intermediates and no recursion.
Evaluating them is printing them: each entry in the stable form of
``symnet.graph.rewriting`` (softmax as the shifted ``softmax_entry``, 1 - sigma(a) as
sigma(-a), ...), lambdified once per array library by that library's ops (NumPy's
``symnet.graph.numerics`` kernels, or the same kernels written for JAX,
``symnet.compiled.array_kernels``), with common subexpressions computed once, so that
the route keeps the digits the backprop route keeps on every library.

Examples
--------
>>> import numpy as np, symnet
>>> net = symnet.MLP([1, 2], output="softmax")           # the issue's large logits
>>> J = symnet.input_jacobian(net, method="direct")
>>> # a = (400, 400): y = (1/2, 1/2), dy_1/dx = y_1 y_2 (400 - 400) = 0 exactly
>>> substituted_values(J, np.array([[1.0]]), np.array([400.0, 400.0, 0.0, 0.0])).ravel() == 0
array([ True,  True])
"""

import sympy as sp

from ..errors import SymnetError
from ..graph.rewriting import stable_form, unit_forms
from .backends import ops_for

__all__ = ["substituted_values"]


def _compiled(derivation, ops):
    """The entries as one function of (x_1..x_D, w_1..w_W) for ``ops``' library, cached."""
    cache = derivation.__dict__.setdefault("_substituted_functions", {})
    if ops.name not in cache:
        net = derivation.net
        forms = unit_forms(net)   # a z_j^(l) left in an entry is written h(a_j^(l))
        entries = [stable_form(sp.sympify(e, strict=True).xreplace(forms), net.targets)
                   for e in derivation.entries]
        arguments = list(net.inputs) + list(net.params)
        named = set().union(*[e.free_symbols for e in entries]) - set(arguments)
        if named:
            raise SymnetError(f"the entries of {derivation!r} are not in x and w alone: "
                              f"{', '.join(sorted(s.name for s in named))} remain")
        cache[ops.name] = ops.lambdify(arguments, entries)
    return cache[ops.name]


def substituted_values(derivation, X, w):
    """Every entry at every sample: (N, *derivation.shape), on the library of X."""
    ops = ops_for(X)
    xp, (N, D) = ops.xp, X.shape
    columns = _compiled(derivation, ops)(*[X[:, i] for i in range(D)],
                                         *[w[p] for p in range(w.shape[0])])
    stacked = xp.stack([xp.broadcast_to(xp.asarray(c, dtype=xp.float64), (N,))
                        for c in columns], axis=-1)
    return xp.reshape(stacked, (N,) + tuple(derivation.shape))
