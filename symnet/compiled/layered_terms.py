"""A Network's or RNN's stages as sums of terms, and the three operators the terms apply.

Every stage of a ``LayeredNetwork`` (``symnet.graph.layered``) computes its pre-activations
as a sum of *terms*, each linear in the values of one earlier stage, plus a bias:

    a^(l) = sum over terms  op(z^(source))  (+ b),

where ``op`` is one of three operators:

* a matrix W (a dense layer, an RNN's W_xh, W_hh, W_hy):   a = z W^T;
* a correlation with a kernel w (Conv1D, Conv2D):   a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p*s+m};
* the identity (the skip of a Residual block):   a = z.

The forward pass itself is the network's own, written once (``forward_layers``, each
stage's ``compute``); backpropagation (``symnet.compiled.layered_form``) needs, per
operator, two maps, each written once here, and nothing else:

* ``back``: the adjoint dF/dz^(source) from dF/da -- W^T for a matrix; for a correlation
  the *transposed* correlation (each tap m scatters delta_{c,p} w_{c,c',m} back to input
  position p*s + m); the identity itself;
* ``weight_gradient``: dF/dW -- delta^T z for a matrix; for a correlation the correlation of
  the deltas with the inputs, summed over positions, dE/dw_{c,c',m} = sum_p delta_{c,p}
  z_{c',p*s+m} (weight sharing); a bias gets the sum of its units' deltas.

Every map runs on NumPy arrays and on JAX arrays (traced under ``jax.jit``): the array
functions come from the input's namespace (``array_namespace``, the network's own, from
``symnet.graph.layered``); a write into a NumPy array (``weight_gradient``'s ``out``, a
scatter ``+=``) becomes a returned array or ``.at[...].add`` on JAX (``added``), and a
correlation's windows, a NumPy view, are gathered by index arrays there.

Examples
--------
>>> import symnet
>>> from symnet.layers import Conv1D
>>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])   # a_p = w_1 x_p + w_2 x_(p+1) + b
>>> [[type(term.operator).__name__ for term in terms] for terms in stage_terms(net)]
[['Correlation']]
"""

from functools import reduce
from operator import add

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import SymnetError
from ..graph.layered import ParameterBlock, array_namespace
from ..graph.layers import Conv1D, Conv2D, Dense, Flatten, Residual
from ..graph.recurrent import RNN

__all__ = ["Term", "Matrix", "Correlation", "Identity", "stage_terms", "added"]


def _rows_times(U, M):
    """U (..., n) @ M (n, m) as one matrix product over all leading axes (one BLAS call)."""
    return (U.reshape(-1, U.shape[-1]) @ M).reshape(U.shape[:-1] + (M.shape[1],))


def added(array, index, value):
    """array[index] + value: in place on NumPy; a new array on JAX (``.at[index].add``).

    >>> added(np.zeros(3), slice(1, None), np.ones(2))
    array([0., 1., 1.])
    """
    if isinstance(array, np.ndarray):
        array[index] += value
        return array
    return array.at[index].add(value)   # JAX arrays are immutable


def _stored(out, value):
    """``value`` written into ``out`` (a view of the NumPy result), or returned if out is None."""
    if out is None:
        return value
    out[...] = value
    return out


def _summed(parts):
    """parts[0] + parts[1] + ... (not sum(): its 0 + parts[0] copies the first)."""
    return reduce(add, parts)


# -- the three operators ---------------------------------------------------------------------
# Each has ``back`` (dF/dz from dF/da) and, with weights,
# ``weight_gradient`` (dF/dW, into ``out`` on NumPy or returned when ``out`` is None).
class Identity:
    """a = z: the skip term of a Residual block; its adjoint passes through unchanged.

    Examples
    --------
    >>> Identity().back(np.ones((1, 1, 2)), None)
    array([[[1., 1.]]])
    """

    weights = None

    def back(self, U, w):
        """dF/dz = dF/da."""
        return U


class Matrix:
    """a = z W^T for a weight block W (n_out, n_in).

    Examples
    --------
    >>> W = ParameterBlock("W", slice(0, 2), (1, 2), 2, False)
    >>> Matrix(W).back(np.array([[[3.0]]]), np.array([1.0, -1.0]))      # delta W
    array([[[ 3., -3.]]])
    >>> out = np.empty((1, 1, 2))                            # (R, n_out, n_in)
    >>> _ = Matrix(W).weight_gradient([np.array([[[3.0]]])], [np.array([[2.0, 5.0]])], True, out)
    >>> out                                                  # delta z^T
    array([[[ 6., 15.]]])
    """

    def __init__(self, weights):
        self.weights = weights

    def _matrix(self, w):
        return w[self.weights.columns].reshape(self.weights.shape)

    def back(self, U, w):
        """dF/dz = dF/da W: (N, R, n_in)."""
        return _rows_times(U, self._matrix(w))

    def weight_gradient(self, Us, Zs, summed, out=None):
        """dF/dW = sum over the terms sharing W of dF/da^T z, into ``out`` or returned.

        ``out`` is (R, n_out, n_in) summed over samples, else (N, R, n_out, n_in). Several
        terms (an RNN's W_hh at every step) are, per sample, stacked and contracted at
        once: the sum over time is one matrix product per sample rather than T additions.
        """
        xp, R = array_namespace(Zs[0]), Us[0].shape[1]
        if summed:                          # one (R n_out, N) x (N, n_in) product per term
            parts = [U.reshape(len(U), -1).T @ Z for U, Z in zip(Us, Zs)]
            return _stored(out, _summed(parts).reshape((R,) + self.weights.shape))
        if len(Us) == 1:                    # one outer product per sample
            U, Z = Us[0][..., :, None], Zs[0][:, None, None, :]
            return U * Z if out is None else np.multiply(U, Z, out=out)   # NumPy: in place
        U, Z = xp.stack(Us), xp.stack(Zs)           # (S, N, R, n_out), (S, N, n_in)
        U, Z = U.transpose(1, 2, 3, 0), Z.transpose(1, 0, 2)[:, None]
        return xp.matmul(U, Z) if out is None else np.matmul(U, Z, out=out)


class Correlation:
    """a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p*s+m}: a Conv1D or Conv2D kernel, N-dimensional.

    ``shape`` is the input's (C_in, *spatial), ``taps`` the kernel's spatial shape, ``stride``
    and ``pads`` (left, right zeros) one entry per spatial axis. The input is padded, then
    read as windows[n, c', p, m] = z_{c', p*s+m}: on NumPy by ``sliding_window_view`` (a
    view, no copy); JAX has none, so there the same entries are gathered by index arrays
    p*s + m, and every contraction after is the same code (``lax.conv_general_dilated``
    would be a second formulation of both maps, to be kept equal to these).

    Examples
    --------
    >>> w = ParameterBlock("w", slice(0, 2), (1, 1, 2), 2, False)
    >>> conv = Correlation(w, (1, 3), (2,), (1,), ((0, 0),))
    >>> U = np.array([[[1.0, 10.0]]])                  # dF/da_1, dF/da_2
    >>> conv.back(U, np.array([1.0, 2.0]))             # (1 w1, 1 w2 + 10 w1, 10 w2)
    array([[[ 1., 12., 20.]]])
    >>> out = np.empty((1, 1, 1, 2))                         # (R, C_out, C_in, k)
    >>> _ = conv.weight_gradient([U], [np.array([[1.0, 2.0, 3.0]])], True, out)
    >>> out                                                  # sum_p U_p x_(p+m)
    array([[[[21., 32.]]]])
    """

    def __init__(self, weights, shape, taps, stride, pads):
        self.weights = weights
        self.channels_in, self.spatial = shape[0], tuple(shape[1:])
        self.taps, self.stride, self.pads = tuple(taps), tuple(stride), tuple(pads)
        padded = [n + left + right for n, (left, right) in zip(self.spatial, self.pads)]
        self.positions = tuple((n - k) // s + 1 for n, k, s in zip(padded, self.taps, stride))
        self.padded = tuple(padded)
        # for the gather: per spatial axis i the read position p_i s_i + m_i, shaped to
        # broadcast over (*positions, *taps)
        d = len(self.spatial)
        self._reads = tuple(
            (np.arange(p) * s).reshape((1,) * i + (p,) + (1,) * (2 * d - i - 1))
            + np.arange(k).reshape((1,) * (d + i) + (k,) + (1,) * (d - i - 1))
            for i, (p, k, s) in enumerate(zip(self.positions, self.taps, self.stride)))

    def _windows(self, Z):
        """(N, C_in, *positions, *taps): windows[..., p, m] = z at p*s + m (zeros outside)."""
        xp = array_namespace(Z)
        z = Z.reshape((Z.shape[0], self.channels_in) + self.spatial)
        if any(left or right for left, right in self.pads):
            z = xp.pad(z, [(0, 0), (0, 0)] + list(self.pads))
        if xp is not np:                    # gathered: (N, C_in) then the index arrays' shape
            return z[(slice(None), slice(None)) + self._reads]
        d = len(self.spatial)
        windows = sliding_window_view(z, self.taps, axis=tuple(range(2, 2 + d)))
        strided = tuple(slice(None, s * (p - 1) + 1, s) for s, p in zip(self.stride,
                                                                         self.positions))
        return windows[(slice(None), slice(None)) + strided]

    def _kernel(self, w):
        return w[self.weights.columns].reshape(self.weights.shape)    # (C_out, C_in, *taps)

    def _by_position(self, U):
        """U (N, R, C_out * positions) -> (N, R, C_out, *positions)."""
        return U.reshape(U.shape[:2] + (-1,) + self.positions)

    def back(self, U, w):
        """The transposed correlation: dF/dz_{c',q} = sum_{p*s+m=q} dF/da_{c,p} w_{c,c',m}."""
        xp = array_namespace(U)
        # every tap's share at once: (N, R, *positions, C_in, *taps)
        shares = xp.tensordot(self._by_position(U), self._kernel(w), axes=([2], [0]))
        grad = xp.zeros(U.shape[:2] + (self.channels_in,) + self.padded, dtype=shares.dtype)
        for tap in np.ndindex(*self.taps):
            # output position p reads input position p*s + m: send its share back there
            reads = tuple(slice(m, m + s * (p - 1) + 1, s)
                          for m, s, p in zip(tap, self.stride, self.positions))
            grad = added(grad, (Ellipsis,) + reads, xp.moveaxis(shares[(Ellipsis,) + tap], -1, 2))
        inside = tuple(slice(left, left + n) for (left, _), n in zip(self.pads, self.spatial))
        grad = grad[(slice(None),) * 3 + inside]
        return grad.reshape(U.shape[:2] + (-1,))

    def weight_gradient(self, Us, Zs, summed, out=None):
        """dF/dw_{c,c',m} = sum_p dF/da_{c,p} z_{c',p*s+m} (and over samples if ``summed``)."""
        xp, d = array_namespace(Zs[0]), len(self.spatial)
        positions, taps = "pqr"[:d], "ijk"[:d]
        parts = []
        for U, Z in zip(Us, Zs):
            windows, U = self._windows(Z), self._by_position(U)
            if summed:
                parts.append(xp.tensordot(U, windows, axes=([0] + list(range(3, 3 + d)),
                                                            [0] + list(range(2, 2 + d)))))
            else:
                parts.append(xp.einsum(f"nyo{positions},nc{positions}{taps}->nyoc{taps}",
                                       U, windows))
        return _stored(out, _summed(parts))


# -- stages as terms -------------------------------------------------------------------------
class Term:
    """One term of a stage's pre-activations: ``operator`` applied to values of ``source``.

    ``source`` is the stage l' whose values Z[l'] it reads (0: the inputs), ``columns`` which
    of them, ``rows`` which of the stage's pre-activations it adds to, and ``bias`` the
    block added to those rows (one bias per channel: a kernel's bias is shared by positions).

    Examples
    --------
    >>> Term(0, Identity())
    Term(source=0, Identity, columns=slice(None, None, None), rows=slice(None, None, None))
    """

    def __init__(self, source, operator, columns=slice(None), rows=slice(None), bias=None):
        self.source, self.operator, self.bias = source, operator, bias
        self.columns, self.rows = columns, rows

    def __repr__(self):
        bias = f", bias={self.bias.label}" if self.bias is not None else ""
        return (f"Term(source={self.source}, {type(self.operator).__name__}, "
                f"columns={self.columns}, rows={self.rows}{bias})")


def stage_terms(net):
    """The terms of every stage of a Network or RNN, stage 1 first (a list per stage).

    Examples
    --------
    >>> import symnet
    >>> rnn = symnet.RNN(1, 2, 1, steps=2)
    >>> [[(term.source, term.operator.weights.label) for term in terms]
    ...  for terms in stage_terms(rnn)]
    [[(0, 'W_xh')], [(0, 'W_xh'), (1, 'W_hh')], [(2, 'W_hy')]]
    """
    if isinstance(net, RNN):
        terms = _rnn_terms(net)
    else:
        terms = []
        _network_terms(net, net.layers, net.input_shape, terms)
    if len(terms) != net.n_layers:   # the layers are walked as Network unrolls them
        raise SymnetError(f"internal: {len(terms)} stages of terms for the {net.n_layers} "
                          f"stages of {net!r}")
    return terms


def _network_terms(net, layers, shape, terms):
    """Walk ``layers`` as ``Network`` does: one stage per Dense/conv layer, a skip per block."""
    for layer in layers:
        if isinstance(layer, Flatten):
            shape = layer.output_shape(shape)
            continue
        source = len(terms)                   # the values this layer reads: Z[source]
        if isinstance(layer, Residual):
            _network_terms(net, layer.layers, shape, terms)
            terms.append([Term(source, Identity()), Term(len(terms), Identity())])
            continue
        stage = net.stages[source]
        if isinstance(layer, Dense):
            operator = Matrix(stage.weights)
        elif isinstance(layer, Conv1D):
            operator = Correlation(stage.weights, shape, (layer.kernel,), (layer.stride,),
                                   (layer.pads(shape[1]),))
        elif isinstance(layer, Conv2D):       # stride 1, no padding
            operator = Correlation(stage.weights, shape, layer.kernel, (1, 1), ((0, 0), (0, 0)))
        else:
            raise SymnetError(f"{layer!r} has no matrix form yet (Dense, Conv1D, Conv2D, "
                              "Residual and Flatten have)")
        terms.append([Term(source, operator, bias=stage.biases)])
        shape = layer.output_shape(shape)


def _rnn_terms(net):
    """a^(t) = W_xh x^(t) + W_hh h^(t-1) + b_h per step; a^(y,t) = W_hy h^(t) + b_y."""
    D, K, T, block = net.input_size, net.output_size, net.steps, net.block
    terms = []
    for t in range(1, T + 1):
        step = [Term(0, Matrix(block["W_xh"]), columns=slice((t - 1) * D, t * D),
                     bias=block["b_h"])]
        if t > 1:                             # h^(0) = 0: no W_hh term at the first step
            step.append(Term(t - 1, Matrix(block["W_hh"])))
        terms.append(step)
    times = range(1, T + 1) if net.outputs_at == "all" else [T]
    terms.append([Term(t, Matrix(block["W_hy"]), rows=slice(n * K, (n + 1) * K),
                       bias=block["b_y"]) for n, t in enumerate(times)])
    return terms
