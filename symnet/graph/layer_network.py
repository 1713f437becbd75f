"""Networks of layers (dense, convolution, residual) as SymPy graphs with named units.

The stages and parameter blocks are ``symnet.graph.layered``'s.

``Network(input_size, layers)`` unrolls its layers into *stages*: one stage per layer of
units in Bishop's sense (a_j = sum_i w_ji z_i + b_j over the units i that send to j,
z_j = h(a_j)), numbered l = 1..L in order. A ``Dense`` or convolution layer is one stage,
a ``Residual`` block is its inner layers' stages followed by one *skip stage* whose units
add the block's input to F's output (a_j^(l) = z_j^(in) + z_j^(l-1), z = a), and
``Flatten`` is no stage (values are stored row-major throughout).

Names (``symnet.graph.symbols`` where they exist):

* dense stage l: a_j^(l), z_j^(l), weights w_ji^(l), biases b_j^(l) (exactly the MLP's);
* 1-D convolution stage l: units by (channel, position), a_{c,p}^(l) and z_{c,p}^(l),
  named ``a_1,3^(1)`` (always with commas); kernel w_{c,c',m}^(l) (``w_2,1,3^(1)``: output
  channel 2, input channel 1, tap 3), biases b_c^(l); 2-D: a_{c,i,j}^(l), w_{c,c',m,n}^(l);
* skip stage l: a_j^(l), z_j^(l) (flat index j);
* inputs x_i (flat), or x_{c,p} / x_{c,i,j} when ``input_size`` is a shape; outputs y_k and
  targets t_k (flat, row-major); all indices 1-based.

Weight sharing: one kernel symbol stands in every position it is used, so SymPy's
derivative in it sums over those positions, dE/dw_{c,c',m} = sum_p delta_{c,p} z_{c',p+m}.

Parameter order (the columns of every gradient and parameter Jacobian): stage by stage;
dense: weights row-major (n_out, n_in), then biases; convolution: kernel row-major
(C_out, C_in, k) or (C_out, C_in, kh, kw), then biases; a Residual's inner layers in order.

Examples
--------
>>> from symnet.graph.layers import Conv1D, Dense, Flatten
>>> net = Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
>>> net.sizes, net.n_params
((4, 3, 1), 7)
>>> net.params[:3]
(w_1,1,1^(1), w_1,1,2^(1), b_1^(1))
>>> net.equations[net.layer_pre_activations(1)[1]]
b_1^(1) + w_1,1,1^(1)*x_1,2 + w_1,1,2^(1)*x_1,3
"""

import numpy as np
import sympy as sp

from . import symbols as sym
from .._size import check_entries
from ..errors import SymnetError
from .activations import activation
from .layered import (LayeredNetwork, ParameterBlock, Stage, _real, _values_of, array_namespace,
                      unit_symbol)
from .layers import Conv1D, Dense, Flatten, Layer, Residual
from .network import MLP, affine

__all__ = ["Network"]


class Network(LayeredNetwork):
    """A feed-forward network of ``symnet.layers`` in Bishop's notation, weight sharing included.

    Parameters
    ----------
    input_size : int or tuple
        D for flat inputs, (C, L) or (C, H, W) when the first layer is a convolution;
        each row of X is one sample flattened row-major.
    layers : list of Dense, Conv1D, Conv2D, Residual, Flatten
        Softmax only in the last layer, which must then be Dense.

    Examples
    --------
    >>> import numpy as np
    >>> from symnet.graph.layers import Conv1D, Dense, Flatten
    >>> net = Network((1, 3), [Conv1D(1, 2, "linear"), Flatten(), Dense(1, "linear")])
    >>> net.param_name(0), net.param_index("b_1^(2)")
    ('w_1,1,1^(1)', 5)
    >>> # kernel (1, 2), bias 0: a = (x1 + 2 x2, x2 + 2 x3) = (5, 8); y = a1 - a2 + 0.5 = -2.5
    >>> net.forward([[1.0, 2.0, 3.0]], np.array([1.0, 2.0, 0.0, 1.0, -1.0, 0.5]))
    array([[-2.5]])
    """

    def __init__(self, input_size, layers):
        self.input_shape = _input_shape(input_size)
        if not isinstance(layers, (list, tuple)) or not layers:
            raise SymnetError(f"layers must be a non-empty list of symnet.layers; got {layers!r}")
        self.layers = tuple(layers)
        flat = isinstance(input_size, (int, np.integer))
        self.inputs = tuple(
            sym.input_symbol(i + 1) if flat else unit_symbol("x", None, np.add(index, 1))
            for i, index in enumerate(np.ndindex(*self.input_shape)))
        self._params, self.blocks, self.stages, self.equations = [], [], [], {}
        shape = self._add_layers(self.layers, self.input_shape, last=True)
        self.output_shape = shape
        self.params = tuple(self._params)
        K = len(self.stages[-1].post) if self.stages else 0
        if not self.stages:
            raise SymnetError("a Network needs at least one layer with units (Dense, Conv1D, ...)")
        self.targets = tuple(sym.target(k) for k in range(1, K + 1))
        self._finish()

    @classmethod
    def from_mlp(cls, mlp):
        """The Network of Dense layers an ``MLP`` is: the same units, names and parameter order.

        >>> import symnet
        >>> mlp = symnet.MLP([2, 3, 1], hidden="tanh")
        >>> net = Network.from_mlp(mlp)
        >>> net
        Network(2, [Dense(3, 'tanh'), Dense(1, 'linear')])
        >>> net.params == mlp.params and net.as_mlp().sizes == mlp.sizes
        True
        """
        return cls(mlp.sizes[0], [Dense(units, act)
                                  for units, act in zip(mlp.sizes[1:], mlp.activations)])

    def as_mlp(self):
        """This Network as an ``MLP`` (the MLP's matrix form and every derivation it has), when
        its input is flat and every layer is Dense; the same parameters in the same order.

        >>> from symnet.graph.layers import Conv1D, Flatten
        >>> Network((1, 3), [Conv1D(1, 2), Flatten(), Dense(1)]).as_mlp()
        Traceback (most recent call last):
        ...
        symnet.errors.SymnetError: only a Network of Dense layers on a flat input is an MLP; Network((1, 3), [Conv1D(1, 2, 'tanh'), Flatten(), Dense(1, 'tanh')]) has Conv1D(1, 2, 'tanh')
        """
        others = [layer for layer in self.layers if not isinstance(layer, Dense)]
        if others or len(self.input_shape) != 1:
            raise SymnetError(f"only a Network of Dense layers on a flat input is an MLP; {self!r} "
                              f"has {others[0] if others else 'the input shape ' + str(self.input_shape)}")
        acts = [layer.act for layer in self.layers]
        return MLP([self.input_shape[0]] + [layer.units for layer in self.layers],
                   hidden=acts[:-1], output=acts[-1])

    def __repr__(self):
        size = self.input_shape[0] if len(self.input_shape) == 1 else self.input_shape
        return f"Network({size}, [{', '.join(repr(layer) for layer in self.layers)}])"

    # -- construction --------------------------------------------------------------------------
    def _add_layers(self, layers, shape, last):
        for position, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise SymnetError(f"{layer!r} is not a layer (Dense, Conv1D, Conv2D, Residual, "
                                  "Flatten)")
            is_last = last and all(isinstance(x, Flatten) for x in layers[position + 1:])
            shape = self._add_layer(layer, shape, is_last)
        return shape

    def _current(self):
        """(stage index of the current values, their symbols): X before the first stage."""
        return len(self.stages), self.layer_values(len(self.stages))

    def _add_block(self, label, shape, fan_in, bias):
        start = len(self._params)
        block = ParameterBlock(label, slice(start, start + int(np.prod(shape))), tuple(shape),
                               fan_in, bias)
        self.blocks.append(block)
        return block

    def _add_layer(self, layer, shape, is_last):
        if isinstance(layer, Flatten):
            return layer.output_shape(shape)
        if isinstance(layer, Residual):
            out = layer.output_shape(shape)  # refuses a block whose widths differ
            source, z_in = self._current()
            self._add_layers(layer.layers, shape, last=False)
            l = len(self.stages) + 1
            _, z_f = self._current()
            pre = tuple(sym.pre_activation(l, j + 1) for j in range(len(z_in)))

            def skip(Z, w, source=source):
                """a^(l) = z^(in) + z^(l-1): the block's input added to F's output."""
                return Z[source] + Z[-1]
            self._add_stage("skip", activation("linear"), pre, is_last,
                            [z_in[j] + z_f[j] for j in range(len(z_in))], skip)
            return out
        out = layer.output_shape(shape)
        if not layer.act.elementwise and not (is_last and isinstance(layer, Dense)):
            raise SymnetError(
                f"{layer.act.name} couples the units of a layer and is allowed only in a Dense "
                f"output layer; {layer!r} is not one. Use e.g. 'tanh' there.")
        l = len(self.stages) + 1
        if isinstance(layer, Dense):
            return self._add_dense(layer, shape, out, l, is_last)
        return self._add_conv(layer, shape, out, l, is_last)

    def _add_stage(self, kind, act, pre, is_last, expressions, compute, weights=None,
                   biases=None):
        l = len(self.stages) + 1
        n = len(pre)
        if is_last:
            post = tuple(sym.output(k) for k in range(1, n + 1))
        elif kind == "dense" or kind == "skip":
            post = tuple(sym.activation_value(l, j) for j in range(1, n + 1))
        else:
            post = tuple(_real("z" + a.name[1:]) for a in pre)
        self.equations.update(zip(pre, expressions))
        self.equations.update(zip(post, _values_of(act, pre)))
        self.stages.append(Stage(kind, act, tuple(pre), post, compute, weights, biases))

    def _add_dense(self, layer, shape, out, l, is_last):
        _, previous = self._current()
        n_in, n_out = shape[0], out[0]
        W = self._add_block(f"W^({l})", (n_out, n_in), n_in, False)
        self._params += [sym.weight(l, j, i) for j in range(1, n_out + 1)
                         for i in range(1, n_in + 1)]
        b = self._add_block(f"b^({l})", (n_out,), n_in, True)
        self._params += [sym.bias(l, j) for j in range(1, n_out + 1)]
        pre = [sym.pre_activation(l, j) for j in range(1, n_out + 1)]
        expressions = [sp.Add(*[sym.weight(l, j, i + 1) * z for i, z in enumerate(previous)],
                              sym.bias(l, j)) for j in range(1, n_out + 1)]

        def compute(Z, w):
            weights = self._block_array(w, W)
            return affine(Z[-1], array_namespace(Z[-1]).swapaxes(weights, -1, -2),
                          w[..., None, b.columns])
        self._add_stage("dense", layer.act, pre, is_last, expressions, compute, W, b)
        return out

    def _add_conv(self, layer, shape, out, l, is_last):
        _, previous = self._current()
        c_in, spatial_in = shape[0], shape[1:]
        taps = (layer.kernel,) if isinstance(layer, Conv1D) else layer.kernel
        kernel_shape = (out[0], c_in) + taps
        check_entries("the expression graph", int(np.prod(out)) * c_in * int(np.prod(taps)),
                      self.n_params_so_far + int(np.prod(kernel_shape)))
        K = self._add_block(f"w^({l})", kernel_shape, c_in * int(np.prod(taps)), False)
        self._params += [unit_symbol("w", l, np.add(index, 1)) for index in np.ndindex(*kernel_shape)]
        b = self._add_block(f"b^({l})", (out[0],), c_in * int(np.prod(taps)), True)
        self._params += [sym.bias(l, c) for c in range(1, out[0] + 1)]
        z_in = np.array(previous, dtype=object).reshape(shape)
        stride = layer.stride if isinstance(layer, Conv1D) else 1
        left, _ = layer.pads(spatial_in[0]) if isinstance(layer, Conv1D) else (0, 0)
        pre, expressions = [], []
        for index in np.ndindex(*out):
            c, position = index[0], index[1:]
            terms = [sym.bias(l, c + 1)]
            for tap in np.ndindex(*((c_in,) + taps)):
                source = tuple(p * stride + m - left for p, m in zip(position, tap[1:]))
                if all(0 <= s < n for s, n in zip(source, spatial_in)):  # outside: a padded zero
                    weight = unit_symbol("w", l, np.add((c,) + tap, 1))
                    terms.append(weight * z_in[(tap[0],) + source])
            pre.append(unit_symbol("a", l, np.add(index, 1)))
            expressions.append(sp.Add(*terms))
        compute = _conv1d_compute(self, K, b, shape, layer) if isinstance(layer, Conv1D) else \
            _conv2d_compute(self, K, b, shape, layer)
        self._add_stage("conv", layer.act, pre, is_last, expressions, compute, K, b)
        return out

    @property
    def n_params_so_far(self):
        return len(self._params)


def _conv1d_compute(net, kernel_block, bias_block, shape, layer):
    c_in, length = shape
    left, right = layer.pads(length)
    n_out = (length + left + right - layer.kernel) // layer.stride + 1
    # patches[p, m] = input position p * stride + m (after padding): a correlation
    index = np.arange(n_out)[:, None] * layer.stride + np.arange(layer.kernel)[None, :]

    def compute(Z, w):
        xp = array_namespace(Z[-1])
        z = Z[-1].reshape(Z[-1].shape[:-1] + (c_in, length))
        if left or right:
            z = xp.pad(z, [(0, 0)] * (z.ndim - 1) + [(left, right)])
        patches = z[..., index]                                 # (..., N, C_in, L_out, k)
        kernel = net._block_array(w, kernel_block)              # (..., C_out, C_in, k)
        a = xp.einsum("...ncpm,...ocm->...nop", patches, kernel)
        a = a + w[..., bias_block.columns][..., None, :, None]
        return a.reshape(a.shape[:-2] + (-1,))
    return compute


def _conv2d_compute(net, kernel_block, bias_block, shape, layer):
    c_in, rows, columns = shape
    kh, kw = layer.kernel
    row_index = np.arange(rows - kh + 1)[:, None] + np.arange(kh)[None, :]      # (H_out, kh)
    col_index = np.arange(columns - kw + 1)[:, None] + np.arange(kw)[None, :]   # (W_out, kw)

    def compute(Z, w):
        z = Z[-1].reshape(Z[-1].shape[:-1] + (c_in, rows, columns))
        patches = z[..., row_index[:, None, :, None], col_index[None, :, None, :]]
        kernel = net._block_array(w, kernel_block)              # (..., C_out, C_in, kh, kw)
        a = array_namespace(z).einsum("...ncijmq,...ocmq->...noij", patches, kernel)
        a = a + w[..., bias_block.columns][..., None, :, None, None]
        return a.reshape(a.shape[:-3] + (-1,))
    return compute


def _input_shape(input_size):
    if isinstance(input_size, (int, np.integer)) and not isinstance(input_size, bool):
        shape = (int(input_size),)
    elif isinstance(input_size, tuple) and len(input_size) in (2, 3):
        shape = tuple(input_size)
    else:
        shape = None
    if shape is None or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                and n > 0 for n in shape):
        raise SymnetError(f"input_size must be a positive int D, or a shape (C, L) or (C, H, W) "
                          f"of positive ints; got {input_size!r}")
    return tuple(int(n) for n in shape)
