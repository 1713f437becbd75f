"""Networks of layers (dense, convolution, residual) as SymPy graphs with named units.

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

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from . import symbols as sym
from .._size import MAX_EXPANDED_TERMS, MAX_NETWORK_PARAMS, check_entries
from .._validate import check_inputs, check_layer_values, check_params
from ..errors import SymnetError, TooLargeError
from .activations import activation
from .layers import Conv1D, Dense, Flatten, Layer, Residual, _shape_text
from .network import MLP, affine, substitute_in_order

__all__ = ["LayeredNetwork", "Network", "NotForLayeredNetworks", "Stage", "ParameterBlock"]


class NotForLayeredNetworks(SymnetError, AttributeError):
    """A part of symnet written for the MLP's layer-by-layer matrix form was given a Network.

    Also an ``AttributeError`` (it is raised on attribute access), so ``hasattr`` and
    ``getattr(..., default)`` keep working.
    """


def _real(name):
    return sp.Symbol(name, real=True)


def unit_symbol(stem, layer, indices):
    """a_{c,p}^(l) and the like: indices always joined by commas (``a_1,3^(1)``)."""
    joined = ",".join(str(i) for i in indices)
    return _real(f"{stem}_{joined}" + ("" if layer is None else f"^({layer})"))


@dataclass
class ParameterBlock:
    """One weight matrix, kernel or bias vector: its columns in ``net.params`` and its shape."""

    label: str
    columns: slice
    shape: tuple
    fan_in: int
    bias: bool


@dataclass
class Stage:
    """One layer of units: its activation, named pre-activations and values, and its numbers.

    ``compute(Z, w)`` gives the pre-activations A (..., N, n) from the values Z[0..l-1]
    of the stages before it and parameters w (..., W): the stage's forward pass.
    """

    kind: str
    act: object
    pre: tuple
    post: tuple
    compute: Callable
    weights: ParameterBlock = None
    biases: ParameterBlock = None


class LayeredNetwork:
    """What ``Network`` and ``RNN`` share: stages, parameters, the forward pass, validation.

    Subclasses set ``input_shape``, ``inputs``, ``targets``, ``params``, ``blocks``,
    ``stages`` and ``equations`` (symbol -> expression in earlier symbols, in order).
    """

    input_shape = ()

    # -- structure --------------------------------------------------------------------
    @property
    def n_layers(self):
        """L, the number of stages (layers of units)."""
        return len(self.stages)

    @property
    def n_params(self):
        """W, the number of weights and biases."""
        return len(self.params)

    @property
    def sizes(self):
        """(D, n_1, ..., n_L): inputs and units per stage, flat."""
        return (len(self.inputs),) + tuple(len(stage.pre) for stage in self.stages)

    @property
    def activations(self):
        """h_l of each stage (linear for skip stages)."""
        return tuple(stage.act for stage in self.stages)

    @property
    def analytic(self):
        """True when every activation is analytic (complex-step differentiation is valid)."""
        return all(act.analytic for act in self.activations)

    def layer_pre_activations(self, layer):
        """The named pre-activations of stage ``layer`` (1..L), flat."""
        return self.stages[layer - 1].pre

    def layer_values(self, layer):
        """The named values of stage ``layer``: the inputs for 0, the outputs y for L."""
        return self.inputs if layer == 0 else self.stages[layer - 1].post

    def layer_slices(self, layer):
        """(weight columns, bias columns) of a dense stage fed by the stage before it."""
        stage = self.stages[layer - 1]
        if stage.kind != "dense":
            raise NotForLayeredNetworks(
                f"stage {layer} of {self!r} is a {stage.kind} stage, not a dense one: its "
                "parameters are not one weight matrix (n_l, n_(l-1)). This part of symnet "
                "(the layer-by-layer matrix form; symnet.check of a Jacobian ends there) "
                "needs a dense output layer so far")
        return stage.weights.columns, stage.biases.columns

    def __getattr__(self, name):
        # Parts of symnet written for the MLP's matrix form reach for its attributes
        # (weights, _layer_arrays, ...): say so by name instead of a bare AttributeError.
        if not name.startswith("__") and (name in ("weights", "biases") or hasattr(MLP, name)):
            raise NotForLayeredNetworks(
                f"{type(self).__name__} has no {name!r}: that part of symnet works on the MLP's "
                "layer-by-layer matrix form only so far. For symnet.check of a Hessian of a "
                "Network or RNN pass hessian_from='error'")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- parameters ----------------------------------------------------------------------
    def _index(self):
        if "_param_index" not in self.__dict__:
            self.__dict__["_param_index"] = {p: n for n, p in enumerate(self.params)}
        return self.__dict__["_param_index"]

    def param_index(self, parameter):
        """The column of ``parameter`` (a Symbol or its name, e.g. ``"w_1,1,2^(1)"``)."""
        key = _real(parameter) if isinstance(parameter, str) else parameter
        if key not in self._index():
            raise SymnetError(
                f"{parameter!r} is not a parameter of {self!r}; parameters are "
                f"{self.params[0]}, ..., {self.params[-1]} (see net.params)")
        return self._index()[key]

    def param_name(self, column):
        """The name of the parameter in ``column`` (0-based)."""
        if not (isinstance(column, (int, np.integer)) and 0 <= column < self.n_params):
            raise SymnetError(f"column must be an integer in [0, {self.n_params}); got {column!r}")
        return self.params[column].name

    def init_params(self, seed=0, scale=None):
        """Random parameters: weights ~ N(0, 1/fan_in) (LeCun), biases 0.1 * N(0, 1)."""
        rng = np.random.default_rng(seed)
        w = np.empty(self.n_params)
        for block in self.blocks:
            size = int(np.prod(block.shape))
            if block.bias:
                w[block.columns] = 0.1 * rng.normal(size=size)
            else:
                std = scale if scale is not None else 1 / np.sqrt(block.fan_in)
                w[block.columns] = rng.normal(0, std, size)
        return w

    def _block_array(self, w, block):
        """The block's parameters from w (..., W) as an array (..., *block.shape)."""
        return w[..., block.columns].reshape(np.shape(w)[:-1] + block.shape)

    # -- numbers ----------------------------------------------------------------------------
    def check_inputs(self, X, allow_complex=True):
        """X as (N, D) and whether one sample was given; the expected shape named when wrong."""
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        D = len(self.inputs)
        if array.dtype != object and array.ndim in (1, 2) and array.shape[-1] != D:
            raise SymnetError(
                f"X must have shape (N, {D}) (or ({D},) for one sample): each row one sample "
                f"{self.input_description}; got {array.shape}")
        return check_inputs(self, X, allow_complex)

    @property
    def input_description(self):
        """How one sample is laid out in a row of X."""
        if len(self.input_shape) == 1:
            return f"of {self.input_shape[0]} inputs"
        return f"of shape {_shape_text(self.input_shape)} flattened row-major"

    def forward(self, X, w):
        """Outputs y (N, K) for X (N, D), (K,) for one sample (D,); complex X, w accepted."""
        X, single = self.check_inputs(X)
        w = check_params(self, w, allow_complex=True)
        Z = self.forward_layers(X, w)[1][-1]
        return Z[0] if single else Z

    def forward_layers(self, X, w):
        """A[l], Z[l] for l = 0..L (A[0] None, Z[0] = X), for X (N, D) or (P, N, D), w (W,) or (P, W).

        The one forward pass: ``forward``, ``symnet.check``'s perturbed points and the
        loss value run it. Each stage is one vectorised NumPy step over samples (a
        convolution as a correlation over patches of its input).
        """
        A, Z = [None], [X]
        for l, stage in enumerate(self.stages, start=1):
            with np.errstate(over="ignore", invalid="ignore"):  # checked, by name, just below
                A.append(stage.compute(Z, w))
            Z.append(self._activate(l, A[-1]))
        return A, Z

    def _activate(self, layer, A):
        from .numerics import stable_softmax
        act = self.stages[layer - 1].act
        Z = act.numpy(A) if act.elementwise else stable_softmax(A, axis=-1)
        check_layer_values(self, layer, A, Z)
        return Z

    # -- the substituted graph ---------------------------------------------------------------
    def expanded_terms(self):
        """About how many leaves one fully substituted output has (paths through the graph)."""
        paths = {x: 1 for x in self.inputs}
        for name, value in self.equations.items():
            symbols = value.free_symbols
            paths[name] = sum(paths.get(s, 1) for s in symbols)
        return max(paths[y] for y in self.layer_values(self.n_layers))

    @property
    def substitution(self):
        """Every named unit -> its expression in inputs and parameters (refused when huge)."""
        if "_substitution" not in self.__dict__:
            terms = self.expanded_terms() * len(self.layer_values(self.n_layers))
            if terms > MAX_EXPANDED_TERMS:
                raise TooLargeError(
                    f"fully substituting the graph of {self!r} gives about {terms:,} terms (one "
                    f"per path from an input to an output; the limit is {MAX_EXPANDED_TERMS:,})."
                    " Use the named form (net.equations) instead.")
            full = {}
            for name, value in self.equations.items():
                full[name] = value.xreplace(full)
            self.__dict__["_substitution"] = full
        return self.__dict__["_substitution"]

    def substitute(self, definitions):
        """Network and ``definitions`` symbols -> expressions in inputs, parameters, targets."""
        return substitute_in_order(self.substitution, definitions)

    @property
    def outputs(self):
        """The outputs y_1..y_K as a K x 1 Matrix in the inputs and parameters (substituted)."""
        return sp.Matrix([self.substitution[y] for y in self.layer_values(self.n_layers)])

    def _finish(self):
        """Checks every subclass runs once its stages are built."""
        for l, stage in enumerate(self.stages[:-1], start=1):
            if not stage.act.elementwise:
                raise SymnetError(
                    f"{stage.act.name} couples the units of a layer and is allowed only in the "
                    f"output layer; stage {l} of {self!r} is hidden. Use e.g. 'tanh' there.")
        if self.n_params > MAX_NETWORK_PARAMS:
            raise TooLargeError(
                f"{self!r} has W = {self.n_params:,} parameters (the limit is "
                f"{MAX_NETWORK_PARAMS:,}): symnet derives formulas for networks small enough "
                "to read")


def _values_of(act, pre):
    """z = h(a) for a stage's pre-activations (softmax couples them)."""
    if act.elementwise:
        return [act.function(a) for a in pre]
    exps = [sp.exp(a) for a in pre]
    total = sp.Add(*exps)
    return [e / total for e in exps]


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
            self._add_stage("skip", activation("linear"), pre, is_last,
                            [z_in[j] + z_f[j] for j in range(len(z_in))],
                            lambda Z, w, s=source: Z[s] + Z[-1])
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
            return affine(Z[-1], np.swapaxes(weights, -1, -2), w[..., None, b.columns])
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
        z = Z[-1].reshape(Z[-1].shape[:-1] + (c_in, length))
        if left or right:
            z = np.pad(z, [(0, 0)] * (z.ndim - 1) + [(left, right)])
        patches = z[..., index]                                 # (..., N, C_in, L_out, k)
        kernel = net._block_array(w, kernel_block)              # (..., C_out, C_in, k)
        a = np.einsum("...ncpm,...ocm->...nop", patches, kernel)
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
        a = np.einsum("...ncijmq,...ocmq->...noij", patches, kernel)
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

