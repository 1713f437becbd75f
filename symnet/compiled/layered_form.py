"""The compiled matrix form of a Network's or RNN's first derivatives, vectorised over samples.

Every stage of a ``LayeredNetwork`` (``symnet.graph.layered``) computes its pre-activations
as a sum of *terms*, each linear in the values of one earlier stage, plus a bias:

    a^(l) = sum over terms  op(z^(source))  (+ b),

where ``op`` is one of three operators, each written once here:

* a matrix W (a dense layer, an RNN's W_xh, W_hh, W_hy):   a = z W^T;
* a correlation with a kernel w (Conv1D, Conv2D):   a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p*s+m};
* the identity (the skip of a Residual block):   a = z.

Backpropagation needs, per operator, two more maps, and nothing else:

* ``back``: the adjoint dF/dz^(source) from dF/da -- W^T for a matrix; for a correlation
  the *transposed* correlation (each tap m scatters delta_{c,p} w_{c,c',m} back to input
  position p*s + m); the identity itself;
* ``weight_gradient``: dF/dW -- delta^T z for a matrix; for a correlation the correlation of
  the deltas with the inputs, summed over positions, dE/dw_{c,c',m} = sum_p delta_{c,p}
  z_{c',p*s+m} (weight sharing); a bias gets the sum of its units' deltas.

A stage may feed several later ones (the input of a Residual block feeds the block and its
skip; h^(t) feeds h^(t+1) and, with ``outputs="all"``, y^(t)): its adjoint is the sum of
what they send back. The backward pass runs the stages from L down to 1 -- for an RNN
that is the loop over time steps, backpropagation through time -- and is the same loop
for the gradient (seeded with the loss's deltas, ``symnet.graph.losses``), the parameter
Jacobian and the input Jacobian (seeded with the output block dy_k/da_m^(L) of
``symnet.compiled.matrix_form``). h'(a) is each activation's own derived, stable kernel
(``derivative_numpy_az``); the forward pass is the network's own (``forward_layers``).

Shapes: values Z[l] (N, n_l); adjoints U (N, R, n_l) with R = 1 for the gradient and R = K
(one recursion per output) for the Jacobians; a sum over samples for the gradient only.

Examples
--------
>>> import numpy as np, symnet
>>> from symnet.layers import Conv1D
>>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])   # a_p = w_1 x_p + w_2 x_(p+1) + b
>>> [[type(term.operator).__name__ for term in terms] for terms in stage_terms(net)]
[['Correlation']]
>>> # dy_p/dw_m = x_(p+m-1), dy_p/db = 1 at x = (1, 2, 3)
>>> param_jacobian_values(net, np.array([[1.0, 2.0, 3.0]]), np.zeros(3))
array([[[1., 2., 1.],
        [2., 3., 1.]]])
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import SymnetError
from ..graph.layered import ParameterBlock
from ..graph.layers import Conv1D, Conv2D, Dense, Flatten, Residual
from ..graph.recurrent import RNN
from .matrix_form import layer_derivatives, output_block

__all__ = ["Term", "Matrix", "Correlation", "Identity", "stage_terms", "gradient_values",
           "param_jacobian_values", "input_jacobian_values"]


def _rows_times(U, M):
    """U (..., n) @ M (n, m) as one matrix product over all leading axes (one BLAS call)."""
    return (U.reshape(-1, U.shape[-1]) @ M).reshape(U.shape[:-1] + (M.shape[1],))


# -- the three operators ---------------------------------------------------------------------
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
    >>> Matrix(W).weight_gradient([np.array([[[3.0]]])], [np.array([[2.0, 5.0]])], True, out)
    >>> out                                                  # delta z^T
    array([[[ 6., 15.]]])
    """

    def __init__(self, weights):
        self.weights = weights

    def back(self, U, w):
        """dF/dz = dF/da W: (N, R, n_in)."""
        return _rows_times(U, w[self.weights.columns].reshape(self.weights.shape))

    def weight_gradient(self, Us, Zs, summed, out):
        """dF/dW = sum over the terms sharing W of dF/da^T z, written into ``out``.

        ``out`` is (R, n_out, n_in) summed over samples, else (N, R, n_out, n_in). Several
        terms (an RNN's W_hh at every step) are, per sample, stacked and contracted at
        once: the sum over time is one matrix product per sample rather than T additions.
        """
        if summed:                          # one (R n_out, N) x (N, n_in) product per term
            out[...] = 0.0
            for U, Z in zip(Us, Zs):
                out += (U.reshape(len(U), -1).T @ Z).reshape(out.shape)
        elif len(Us) == 1:                  # one outer product per sample, in place
            np.multiply(Us[0][..., :, None], Zs[0][:, None, None, :], out=out)
        else:
            U, Z = np.stack(Us), np.stack(Zs)           # (S, N, R, n_out), (S, N, n_in)
            np.matmul(U.transpose(1, 2, 3, 0), Z.transpose(1, 0, 2)[:, None], out=out)


class Correlation:
    """a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p*s+m}: a Conv1D or Conv2D kernel, N-dimensional.

    ``shape`` is the input's (C_in, *spatial), ``taps`` the kernel's spatial shape, ``stride``
    and ``pads`` (left, right zeros) one entry per spatial axis. The input is padded, then
    read through ``sliding_window_view``: windows[n, c', p, m] = z_{c', p*s+m} (no copy).

    Examples
    --------
    >>> w = ParameterBlock("w", slice(0, 2), (1, 1, 2), 2, False)
    >>> conv = Correlation(w, (1, 3), (2,), (1,), ((0, 0),))
    >>> U = np.array([[[1.0, 10.0]]])                  # dF/da_1, dF/da_2
    >>> conv.back(U, np.array([1.0, 2.0]))             # (1 w1, 1 w2 + 10 w1, 10 w2)
    array([[[ 1., 12., 20.]]])
    >>> out = np.empty((1, 1, 1, 2))                         # (R, C_out, C_in, k)
    >>> conv.weight_gradient([U], [np.array([[1.0, 2.0, 3.0]])], True, out)
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

    def _windows(self, Z):
        """(N, C_in, *positions, *taps): windows[..., p, m] = z at p*s + m (zeros outside)."""
        z = Z.reshape((Z.shape[0], self.channels_in) + self.spatial)
        if any(left or right for left, right in self.pads):
            z = np.pad(z, [(0, 0), (0, 0)] + list(self.pads))
        d = len(self.spatial)
        windows = sliding_window_view(z, self.taps, axis=tuple(range(2, 2 + d)))
        strided = tuple(slice(None, s * (p - 1) + 1, s) for s, p in zip(self.stride,
                                                                         self.positions))
        return windows[(slice(None), slice(None)) + strided]

    def _by_position(self, U):
        """U (N, R, C_out * positions) -> (N, R, C_out, *positions)."""
        return U.reshape(U.shape[:2] + (-1,) + self.positions)

    def back(self, U, w):
        """The transposed correlation: dF/dz_{c',q} = sum_{p*s+m=q} dF/da_{c,p} w_{c,c',m}."""
        kernel = w[self.weights.columns].reshape(self.weights.shape)    # (C_out, C_in, *taps)
        # every tap's share at once: (N, R, *positions, C_in, *taps)
        shares = np.tensordot(self._by_position(U), kernel, axes=([2], [0]))
        grad = np.zeros(U.shape[:2] + (self.channels_in,) + self.padded, dtype=shares.dtype)
        for tap in np.ndindex(*self.taps):
            # output position p reads input position p*s + m: send its share back there
            reads = tuple(slice(m, m + s * (p - 1) + 1, s)
                          for m, s, p in zip(tap, self.stride, self.positions))
            grad[(Ellipsis,) + reads] += np.moveaxis(shares[(Ellipsis,) + tap], -1, 2)
        inside = tuple(slice(left, left + n) for (left, _), n in zip(self.pads, self.spatial))
        grad = grad[(slice(None),) * 3 + inside]
        return grad.reshape(U.shape[:2] + (-1,))

    def weight_gradient(self, Us, Zs, summed, out):
        """dF/dw_{c,c',m} = sum_p dF/da_{c,p} z_{c',p*s+m} (and over samples if ``summed``)."""
        d = len(self.spatial)
        positions, taps = "pqr"[:d], "ijk"[:d]
        out[...] = 0.0
        for U, Z in zip(Us, Zs):
            windows, U = self._windows(Z), self._by_position(U)
            if summed:
                out += np.tensordot(U, windows, axes=([0] + list(range(3, 3 + d)),
                                                      [0] + list(range(2, 2 + d))))
            else:
                out += np.einsum(f"nyo{positions},nc{positions}{taps}->nyoc{taps}", U, windows)


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


# -- the one backward pass ---------------------------------------------------------------------
class _Adjoints:
    """dF/dz^(l) of each stage's values, summed over the terms that read them."""

    def __init__(self, lead, widths):
        self.lead, self.widths = lead, widths
        self.values, self.owned = {}, set()   # owned: a fresh array, safe to add into

    def send(self, source, value, columns):
        """Add ``value`` to the adjoint of Z[source] (only its ``columns``, if a slice)."""
        if columns == slice(None):
            if source in self.values:
                self.values[source] = self.values[source] + value
                self.owned.add(source)
            else:
                self.values[source] = value   # may be another stage's array: not owned
            return
        if source not in self.owned:
            buffer = np.zeros(self.lead + (self.widths[source],))
            if source in self.values:
                buffer += self.values[source]
            self.values[source], self.owned = buffer, self.owned | {source}
        self.values[source][..., columns] += value

    def take(self, source):
        """The finished adjoint of stage ``source`` (every reader is a later stage)."""
        if source not in self.values:         # values nobody reads
            return np.zeros(self.lead + (self.widths[source],))
        return self.values.pop(source)


def _block_view(result, block):
    """result[..., block columns] seen in the block's own shape (a view: writes go through)."""
    lead = result.shape[:-1]
    return result[..., block.columns].reshape(lead + block.shape, copy=False)


def backward(net, terms, Z, dh, w, top, summed=False, inputs=False):
    """From ``top`` = dF/da^(L) (N, R, n_L): every parameter's dF/dw, and dF/dx if ``inputs``.

    The one backward pass: U^(l) = h'(a^(l)) o (sum of what the terms reading z^(l) send
    back), stage L down to 1 (for an RNN the loop over time). Each block's gradient is
    formed once at the end from every term that uses it (weight sharing: the sum over
    positions or time steps). Returns the parameter part, (R, W) summed over samples or
    (N, R, W), and dF/dx (N, R, D) (None unless ``inputs``).

    Examples
    --------
    >>> import symnet
    >>> from symnet.layers import Dense
    >>> net = symnet.Network(1, [Dense(1, "linear")])          # a = w x + b
    >>> Z = [np.array([[2.0]]), np.array([[0.0]])]
    >>> parameters, dx = backward(net, stage_terms(net), Z, None, np.array([3.0, 0.0]),
    ...                           np.array([[[1.0]]]), inputs=True)
    >>> parameters, dx                                         # (x, 1) and w
    (array([[[2., 1.]]]), array([[[3.]]]))
    """
    N, R = top.shape[:2]
    widths = [len(net.layer_values(l)) for l in range(net.n_layers + 1)]
    adjoints = _Adjoints((N, R), widths)
    uses = {}                       # block label -> (block, operator, [dF/da parts], [values])
    biases = {}                     # block label -> (block, sum of dF/db over its terms)
    U = top
    for l in range(net.n_layers, 0, -1):
        if l < net.n_layers:
            U = adjoints.take(l) * dh[l][:, None, :]         # delta = h'(a) o dF/dz
        for term in terms[l - 1]:
            part = U[..., term.rows]
            if term.operator.weights is not None:
                block = term.operator.weights
                _, _, parts, values = uses.setdefault(block.label,
                                                      (block, term.operator, [], []))
                parts.append(part)
                values.append(Z[term.source][..., term.columns])
            if term.bias is not None:  # a kernel's bias: summed over positions too
                if summed:                     # the sum over samples as one product
                    per_bias = (np.ones(N) @ part.reshape(N, -1)).reshape(
                        (R, term.bias.shape[0], -1)).sum(axis=-1)
                else:
                    per_bias = part.reshape((N, R, term.bias.shape[0], -1)).sum(axis=-1)
                if term.bias.label in biases:
                    per_bias = biases[term.bias.label][1] + per_bias
                biases[term.bias.label] = (term.bias, per_bias)
            if term.source > 0 or inputs:
                adjoints.send(term.source, term.operator.back(part, w), term.columns)
    result = np.empty(((R,) if summed else (N, R)) + (net.n_params,))
    written = set()
    for label, (block, operator, parts, values) in uses.items():
        operator.weight_gradient(parts, values, summed, _block_view(result, block))
        written.add(label)
    for label, (block, total) in biases.items():
        _block_view(result, block)[...] = total
        written.add(label)
    for block in net.blocks:        # a block no term uses (W_hh of a one-step RNN): 0
        if block.label not in written:
            _block_view(result, block)[...] = 0.0
    return result, (adjoints.take(0) if inputs else None)


# -- the derivations ---------------------------------------------------------------------------
def _forward(net, X, w):
    A, Z = net.forward_layers(X, w)
    dh, _ = layer_derivatives(net, A, Z)
    return A, Z, dh


def gradient_values(net, loss, X, w, T, terms=None):
    """dE/dw (W,) summed over samples, seeded with the loss's deltas delta^(L) (+ lam w).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="linear")
    >>> loss = symnet.graph.losses.get_loss("sse", net)
    >>> # h1 = x1, h2 = x2 + h1 = 3, y = h2 = 3, delta = y - t = 3 (w_xh = w_hh = w_hy = 1)
    >>> gradient_values(net, loss, np.array([[1.0, 2.0]]), np.array([1., 1, 0, 1, 0]),
    ...                 np.array([[0.0]]))
    array([9., 3., 6., 9., 3.])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh = _forward(net, X, w)
    L = net.n_layers
    top = loss.delta(A[L], Z[L], T, dh[L])[:, None, :]
    result, _ = backward(net, terms, Z, dh, w, top, summed=True)
    return result[0] + loss.decay_term("gradient", w)


def param_jacobian_values(net, X, w, terms=None):
    """(N, K, W): dy_k(x_n)/dw_p, seeded with the output block dy_k/da_m^(L).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="linear")
    >>> # y = w_hy (w_xh x2 + w_hh w_xh x1 + b_h (1 + w_hh)) + b_y at w = (1, 1, 0, 1, 0)
    >>> param_jacobian_values(net, np.array([[1.0, 2.0]]), np.array([1., 1, 0, 1, 0]))
    array([[[3., 1., 2., 3., 1.]]])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh = _forward(net, X, w)
    L = net.n_layers
    result, _ = backward(net, terms, Z, dh, w, output_block(net, A[L], Z[L], dh[L]))
    return result


def input_jacobian_values(net, X, w, terms=None):
    """(N, K, D): dy_k/dx_i at each sample, the same backward pass carried to the inputs.

    Examples
    --------
    >>> import symnet
    >>> from symnet.layers import Conv1D
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])
    >>> input_jacobian_values(net, np.zeros((1, 3)), np.array([1.0, 2.0, 0.0]))  # banded
    array([[[1., 2., 0.],
            [0., 1., 2.]]])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh = _forward(net, X, w)
    L = net.n_layers
    _, jacobian = backward(net, terms, Z, dh, w, output_block(net, A[L], Z[L], dh[L]),
                           inputs=True)
    return jacobian
