"""Layers of a ``symnet.Network``: each knows its output shape and refuses bad input by name.

A layer is a description, not a computation: ``output_shape(input_shape)`` says what it
makes of an input of that shape, or raises ``SymnetError`` naming the shape it expected.
``symnet.graph.layer_network.Network`` turns a list of them into named units and equations.

Shapes are tuples: ``(n,)`` for a flat layer, ``(C, L)`` for channels by positions,
``(C, H, W)`` for channels by rows by columns; values are flattened row-major.

| layer                               | input        | output                          |
|-------------------------------------|--------------|---------------------------------|
| Dense(units, act)                   | (n,)         | (units,)                        |
| Conv1D(C_out, k, act, stride, pad)  | (C_in, L)    | (C_out, L_out)                  |
| Conv2D(C_out, (kh, kw), act)        | (C_in, H, W) | (C_out, H - kh + 1, W - kw + 1) |
| Residual([layers])                  | s            | s (z_out = z_in + F(z_in))      |
| Flatten()                           | any          | (product,)                      |

L_out = (L - k) // stride + 1 for ``padding="valid"``; ``padding="same"`` pads with zeros
so that L_out = ceil(L / stride) (``Conv1D.pads``: (k - 1) // 2 on the left and k // 2 on
the right for stride 1, as PyTorch).

Examples
--------
>>> Conv1D(4, 5, "tanh").output_shape((1, 32))
(4, 28)
>>> Conv1D(2, 3, "relu", padding="same").output_shape((1, 7))
(2, 7)
>>> Conv1D(2, 9, "tanh").output_shape((1, 7))
Traceback (most recent call last):
...
symnet.errors.SymnetError: Conv1D: a kernel of length 9 is longer than its input (1, 7) (channels, positions); use a kernel of at most 7 positions, or padding='same'
"""

import math
import numbers

from ..errors import SymnetError
from .activations import activation

__all__ = ["Dense", "Conv1D", "Conv2D", "Residual", "Flatten", "Layer"]


def _positive_int(value, what, layer):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0):
        raise SymnetError(f"{layer}: {what} must be a positive integer; got {value!r}")
    return int(value)


def _shape_text(shape):
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


class Layer:
    """The base of every layer: ``output_shape(input_shape)`` and the activation it applies."""

    act = None

    def output_shape(self, input_shape):  # pragma: no cover - every layer defines it
        raise NotImplementedError

    def n_params(self, input_shape):
        """The number of weights and biases this layer has for an input of ``input_shape``."""
        return 0

    def _activation(self, name):
        act = activation(name)
        return act


class Dense(Layer):
    """A fully connected layer: a_j = sum_i w_ji z_i + b_j, z_j = h(a_j); flat input.

    Examples
    --------
    >>> Dense(3, "tanh").output_shape((5,)), Dense(3, "tanh").n_params((5,))
    ((3,), 18)
    >>> Dense(3, "tanh").output_shape((2, 4))
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: Dense needs a flat input (n,); got shape (2, 4): put Flatten() before it
    """

    def __init__(self, units, activation="tanh"):
        self.units = _positive_int(units, "units", "Dense")
        self.act = self._activation(activation)

    def output_shape(self, input_shape):
        if len(input_shape) != 1:
            raise SymnetError(f"Dense needs a flat input (n,); got shape "
                              f"{_shape_text(input_shape)}: put Flatten() before it")
        return (self.units,)

    def n_params(self, input_shape):
        return self.units * (input_shape[0] + 1)

    def __repr__(self):
        return f"Dense({self.units}, {self.act.name!r})"


class Conv1D(Layer):
    """A 1-D convolution (a correlation, as PyTorch's ``Conv1d``) over (C_in, L) inputs.

    a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p*stride+m} + b_c with the kernel w of shape
    (C_out, C_in, k); ``padding="same"`` reads zeros outside the input.

    Examples
    --------
    >>> Conv1D(4, 5, "tanh").n_params((2, 10))                # 4*2*5 + 4
    44
    >>> Conv1D(1, 2, "linear", stride=2).output_shape((1, 7))  # positions 0, 2, 4
    (1, 3)
    """

    def __init__(self, channels, kernel, activation="tanh", stride=1, padding="valid"):
        self.channels = _positive_int(channels, "channels", "Conv1D")
        self.kernel = _positive_int(kernel, "kernel", "Conv1D")
        self.stride = _positive_int(stride, "stride", "Conv1D")
        if padding not in ("valid", "same"):
            raise SymnetError(f"Conv1D: padding must be 'valid' or 'same'; got {padding!r}")
        self.padding = padding
        self.act = self._activation(activation)

    def pads(self, length):
        """(left, right) zeros added to each channel of ``length`` positions: (0, 0) for valid.

        "same": total = max((L_out - 1) stride + k - L, 0) with L_out = ceil(L / stride),
        left = total // 2 and the rest on the right (PyTorch's for stride 1, TensorFlow's
        "SAME" otherwise).

        >>> Conv1D(1, 4, padding="same").pads(6), Conv1D(1, 3, stride=2, padding="same").pads(6)
        ((1, 2), (0, 1))
        """
        if self.padding == "valid":
            return 0, 0
        total = max((math.ceil(length / self.stride) - 1) * self.stride + self.kernel - length, 0)
        return total // 2, total - total // 2

    def output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise SymnetError(f"Conv1D needs an input of shape (C, L) (channels, positions); got "
                              f"{_shape_text(input_shape)}" + (
                                  ": give Network(input_size=(1, n)) for one channel"
                                  if len(input_shape) == 1 else ""))
        _, length = input_shape
        if self.padding == "same":
            return (self.channels, math.ceil(length / self.stride))
        if self.kernel > length:
            raise SymnetError(
                f"Conv1D: a kernel of length {self.kernel} is longer than its input "
                f"{_shape_text(input_shape)} (channels, positions); use a kernel of at most "
                f"{length} positions, or padding='same'")
        return (self.channels, (length - self.kernel) // self.stride + 1)

    def n_params(self, input_shape):
        return self.channels * (input_shape[0] * self.kernel + 1)

    def __repr__(self):
        extra = (f", stride={self.stride}" if self.stride != 1 else "") + (
            f", padding={self.padding!r}" if self.padding != "valid" else "")
        return f"Conv1D({self.channels}, {self.kernel}, {self.act.name!r}{extra})"


class Conv2D(Layer):
    """A 2-D convolution (valid, stride 1) over (C_in, H, W) inputs; kernel (C_out, C_in, kh, kw).

    a_{c,i,j} = sum_{c',m,n} w_{c,c',m,n} z_{c',i+m,j+n} + b_c.

    Examples
    --------
    >>> Conv2D(2, 3, "relu").output_shape((1, 5, 4)), Conv2D(2, (2, 3), "relu").n_params((3, 4, 4))
    ((2, 3, 2), 38)
    """

    def __init__(self, channels, kernel, activation="tanh"):
        self.channels = _positive_int(channels, "channels", "Conv2D")
        if isinstance(kernel, (tuple, list)):
            if len(kernel) != 2:
                raise SymnetError(f"Conv2D: kernel is an int or (kh, kw); got {kernel!r}")
            self.kernel = tuple(_positive_int(k, "kernel", "Conv2D") for k in kernel)
        else:
            k = _positive_int(kernel, "kernel", "Conv2D")
            self.kernel = (k, k)
        self.act = self._activation(activation)

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise SymnetError(f"Conv2D needs an input of shape (C, H, W) (channels, rows, "
                              f"columns); got {_shape_text(input_shape)}")
        _, rows, columns = input_shape
        kh, kw = self.kernel
        if kh > rows or kw > columns:
            raise SymnetError(
                f"Conv2D: a kernel of {kh} x {kw} is larger than its input "
                f"{_shape_text(input_shape)} (channels, rows, columns); use at most "
                f"{rows} x {columns}")
        return (self.channels, rows - kh + 1, columns - kw + 1)

    def n_params(self, input_shape):
        return self.channels * (input_shape[0] * self.kernel[0] * self.kernel[1] + 1)

    def __repr__(self):
        return f"Conv2D({self.channels}, {self.kernel}, {self.act.name!r})"


class Residual(Layer):
    """A skip connection around ``layers``: z_out = z_in + F(z_in); F must keep the shape.

    Examples
    --------
    >>> Residual([Dense(4, "tanh"), Dense(3, "linear")]).output_shape((3,))
    (3,)
    >>> Residual([Dense(4, "tanh")]).output_shape((3,))
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: Residual: its layers map an input of shape (3,) to (4,); z_in + F(z_in) needs F to give the input's shape (3,)
    """

    def __init__(self, layers):
        if not isinstance(layers, (list, tuple)) or not layers:
            raise SymnetError(f"Residual takes a non-empty list of layers; got {layers!r}")
        for layer in layers:
            if not isinstance(layer, Layer):
                raise SymnetError(f"Residual: {layer!r} is not a layer (Dense, Conv1D, ...)")
        self.layers = tuple(layers)

    def inner_shapes(self, input_shape):
        """The shape after each inner layer."""
        shapes, shape = [], tuple(input_shape)
        for layer in self.layers:
            shape = layer.output_shape(shape)
            shapes.append(shape)
        return shapes

    def output_shape(self, input_shape):
        final = self.inner_shapes(input_shape)[-1]
        if tuple(final) != tuple(input_shape):
            raise SymnetError(
                f"Residual: its layers map an input of shape {_shape_text(input_shape)} to "
                f"{_shape_text(final)}; z_in + F(z_in) needs F to give the input's shape "
                f"{_shape_text(input_shape)}")
        return tuple(input_shape)

    def n_params(self, input_shape):
        total, shape = 0, tuple(input_shape)
        for layer in self.layers:
            total += layer.n_params(shape)
            shape = layer.output_shape(shape)
        return total

    def __repr__(self):
        return f"Residual([{', '.join(repr(layer) for layer in self.layers)}])"


class Flatten(Layer):
    """Reshape to a flat (n,) vector (values already are stored row-major: no computation).

    Examples
    --------
    >>> Flatten().output_shape((4, 28))
    (112,)
    """

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def __repr__(self):
        return "Flatten()"
