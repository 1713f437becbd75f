"""Derivations on Dask arrays: chunk by chunk over the samples, lazily, on any Dask scheduler.

The matrix form needs every feature of a sample at once and nothing of the other
samples, so a Dask array is split over its rows only: each chunk of samples is a NumPy
block that ``derivation.evaluate`` handles as it handles any NumPy input (validated,
the same kernels, the same overflow checks). Per-sample results (the Jacobians, the
input Hessian) come back as a Dask array with the same row chunks
(``dask.array.map_blocks``); summed results (the gradient, the Hessians, Gauss-Newton,
H v) are each chunk's sum, added over the chunks by ``dask.array.sum``. Nothing is
computed until ``.compute()``, so the same graph runs on the threads of one machine
or on a ``dask.distributed`` cluster (``Client(address)``), one chunk per task.

The weight decay lam/2 ||w||^2 is not per sample: each chunk's evaluation adds its
term once, so (chunks - 1) copies of it are taken off the total.

A Dask array split along its features (more than one chunk in axis 1) is refused with
the fix, ``X.rechunk({1: -1})``. T may be a NumPy array or a Dask array (its rows are
rechunked to X's); w (and v) are NumPy (a Dask w is computed: it is small).

Examples
--------
>>> import numpy as np, symnet
>>> import dask.array as da                                   # doctest: +SKIP
>>> net = symnet.MLP([2, 3, 1])                               # doctest: +SKIP
>>> X = da.from_array(np.ones((6, 2)), chunks=(3, 2))         # doctest: +SKIP
>>> g = symnet.gradient(net, "sse").evaluate(X, net.init_params(), np.zeros((6, 1)))  # doctest: +SKIP
>>> g.compute().shape                                         # doctest: +SKIP
(13,)
"""

import numpy as np

from .._validate import check_finite_result, check_inputs, check_params, check_targets
from ..errors import SymnetError
from .backends import library_of

__all__ = ["evaluate_dask", "check_sample_chunks"]


def check_sample_chunks(name, array, width):
    """Refuse a Dask array that is not (N, width) with one chunk along axis 1.

    >>> check_sample_chunks("X", np.ones((2, 3)), 3) is None   # NumPy: nothing to check
    True
    """
    if library_of(array) != "dask":
        return None
    if array.ndim != 2 or array.shape[1] != width:
        raise SymnetError(f"{name} must be a 2-D Dask array of shape (N, {width}) (samples in "
                          f"rows); got shape {array.shape}")
    if len(array.chunks[1]) > 1:
        raise SymnetError(
            f"{name} is chunked along its features (axis 1 chunks {array.chunks[1]}): symnet "
            f"splits the samples only, since each sample needs all of its {width} features. "
            f"Rechunk it with {name} = {name}.rechunk({{1: -1}}) (chunks of rows, all columns)")
    return None


def _rows_like(da, name, array, chunks, width):
    """``array`` (NumPy or Dask, (N, width)) as a Dask array with the row chunks ``chunks``."""
    if library_of(array) == "dask":
        check_sample_chunks(name, array, width)
        return array if array.chunks[0] == chunks else array.rechunk({0: chunks})
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != width:
        raise SymnetError(f"{name} must have shape (N, {width}); got {array.shape}")
    return da.from_array(array, chunks=(chunks, width))


def evaluate_dask(derivation, X, w, T=None, V=None):
    """``derivation.evaluate`` on Dask arrays: a lazy Dask array, per sample or summed."""
    import dask.array as da
    net = derivation.net
    D, K = net.sizes[0], net.sizes[-1]
    if library_of(X) != "dask":  # T (or w) is the Dask array: split X as T is split
        if library_of(T) != "dask":
            raise SymnetError("pass the samples X (and T) as Dask arrays; w and v are NumPy")
        check_sample_chunks("T", T, K)
        X = _rows_like(da, "X", X, T.chunks[0], D)
    check_sample_chunks("X", X, D)
    rows = X.chunks[0]
    w = check_params(net, w.compute() if library_of(w) == "dask" else w)
    arrays = [X]
    if derivation.needs_targets:
        if T is None:
            raise SymnetError("this derivation needs targets T of shape (N, K)")
        T = _rows_like(da, "T", T, rows, K)
        if T.shape[0] != X.shape[0]:
            raise SymnetError(f"T must have {X.shape[0]} rows to match X; got {T.shape[0]}")
        arrays.append(T)
    extra = () if V is None else (V,)
    block = _ChunkEvaluation(derivation, w, extra)

    tail = _result_tail(derivation, extra)
    if not derivation.summed:  # (N, ...) with X's row chunks
        return da.map_blocks(block, *arrays, dtype=np.float64,
                             chunks=(rows,) + tuple((n,) for n in tail),
                             new_axis=list(range(2, 1 + len(tail))) or None)

    def partial_sum(X_block, T_block=None):
        return block(X_block, T_block)[None]
    chunks = ((1,) * len(rows),) + tuple((n,) for n in tail)
    partials = da.map_blocks(partial_sum, *arrays, dtype=np.float64, chunks=chunks,
                             new_axis=list(range(2, 1 + len(tail))) or None)
    total = partials.sum(axis=0)
    if derivation.loss is not None and derivation.loss.weight_decay and len(rows) > 1:
        # each chunk's evaluation added lam w (lam I, lam v) once: keep one of them
        total = total - (len(rows) - 1) * derivation.loss.decay_term(derivation.kind, w, *extra)
    return total


class _ChunkEvaluation:
    """``derivation.evaluate(X_chunk, w, T_chunk)`` without the derivation's symbolic forms.

    Each task carries this (pickled into the graph): the network, the compiled
    evaluator and the checks, not the W x W SymPy expressions of a Hessian's ``named``.
    """

    def __init__(self, derivation, w, extra):
        self.net, self.evaluator, self.w, self.extra = derivation.net, derivation._evaluator, w, extra
        self.what, self.needs_targets = derivation.kind_info.description, derivation.needs_targets

    def __call__(self, X_block, T_block=None):
        X, single = check_inputs(self.net, X_block, allow_complex=False)
        T = check_targets(self.net, T_block, X.shape[0], single) if self.needs_targets else None
        return check_finite_result(self.what, self.evaluator(X, self.w, T, *self.extra))


def _result_tail(derivation, extra):
    """The result's shape without the sample axis: one sample's (or the sum's) shape."""
    net, kind = derivation.net, derivation.kind_info
    if derivation.summed:
        if kind.direction:
            return extra[0].shape  # (W,) or (W, P)
        return (net.n_params,) * kind.entry_axes  # (W,) or (W, W)
    return tuple(derivation.shape)  # (K, D), (K, W), (K, D, D)
