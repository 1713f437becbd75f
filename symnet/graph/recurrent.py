"""The Elman recurrent network, unrolled over its time steps into a graph of named units.

    h^(0) = 0,   a^(t) = W_xh x^(t) + W_hh h^(t-1) + b_h,   h^(t) = h(a^(t)),
    a^(y,t) = W_hy h^(t) + b_y,   y^(t) = g(a^(y,t)),         t = 1..T

One sample is the sequence x^(1)..x^(T) flattened time-major (T*D inputs: x_1^(1), ...,
x_D^(1), x_1^(2), ...). Every time step uses the same W_xh, W_hh, b_h, W_hy, b_y: one
symbol each, so a derivative in a weight sums over the time steps (backpropagation
through time is weight sharing across time).

Names: inputs x_i^(t), hidden pre-activations a_j^(t), hidden states h_j^(t), output
pre-activations a_k^(y,t); outputs y_k (``outputs="last"``: y^(T) only) or y_k^(t)
(``outputs="all"``, time-major), targets t_k or t_k^(t) alike. Parameters, in this order,
each row-major: W_xh (H, D) as w_ji^(xh), W_hh (H, H) as w_jm^(hh), b_h as b_j^(h),
W_hy (K, H) as w_kj^(hy), b_y as b_k^(y). In the unrolled graph each time step is a stage
(l = t), and the outputs are stage T + 1.

Examples
--------
>>> net = RNN(1, 1, 1, steps=2, hidden="linear")
>>> net.params
(w_11^(xh), w_11^(hh), b_1^(h), w_11^(hy), b_1^(y))
>>> net.equations[net.layer_pre_activations(2)[0]]
b_1^(h) + h_1^(1)*w_11^(hh) + w_11^(xh)*x_1^(2)
>>> # h1 = 2 x1 = 2, h2 = 2 x2 + 3 h1 = 8, y = 0.5 h2 = 4
>>> net.forward([[1.0, 1.0]], [2.0, 3.0, 0.0, 0.5, 0.0])
array([[4.]])
"""

import numbers

import numpy as np
import sympy as sp

from ..errors import SymnetError
from .activations import activation
from .layered import LayeredNetwork, ParameterBlock, Stage, _values_of, array_namespace
from .network import affine

__all__ = ["RNN"]


def _real(name):
    return sp.Symbol(name, real=True)


def _joined(*numbers):
    return "".join(map(str, numbers)) if max(numbers) < 10 else ",".join(map(str, numbers))


def _positive(value, name):
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1):
        raise SymnetError(f"RNN: {name} must be a positive integer (at least 1); got {value!r}")
    return int(value)


class RNN(LayeredNetwork):
    """An Elman network unrolled over ``steps`` time steps (see the module docstring).

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        D, H and K.
    steps : int
        T, the length of every sequence (at least 1).
    hidden, output : str or Activation
        h and g; softmax only as g with ``outputs="last"``.
    outputs : {"last", "all"}
        y^(T) (K outputs), or y^(1)..y^(T) (T*K outputs, time-major).

    Examples
    --------
    >>> net = RNN(2, 3, 1, steps=4)
    >>> net.n_params, net.sizes[0], net.param_name(net.n_params - 1)
    (22, 8, 'b_1^(y)')
    >>> RNN(2, 3, 1, steps=0)
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: RNN: steps must be a positive integer (at least 1); got 0
    """

    def __init__(self, input_size, hidden_size, output_size, steps, hidden="tanh",
                 output="linear", outputs="last"):
        D, H, K = (_positive(input_size, "input_size"), _positive(hidden_size, "hidden_size"),
                   _positive(output_size, "output_size"))
        T = _positive(steps, "steps")
        if outputs not in ("last", "all"):
            raise SymnetError(f"RNN: outputs must be 'last' or 'all'; got {outputs!r}")
        self.input_size, self.hidden_size, self.output_size, self.steps = D, H, K, T
        self.outputs_at = outputs
        self.hidden_act, self.output_act = activation(hidden), activation(output)
        if not self.hidden_act.elementwise:
            raise SymnetError(f"{self.hidden_act.name} couples the units of a layer: the hidden "
                              "activation of an RNN must be elementwise (e.g. 'tanh')")
        if not self.output_act.elementwise and outputs == "all":
            raise SymnetError("softmax outputs at every step (outputs='all') are not supported "
                              "yet; use outputs='last' or an elementwise output")
        self.input_shape = (T, D)
        self.inputs = tuple(_real(f"x_{i}^({t})") for t in range(1, T + 1)
                            for i in range(1, D + 1))
        self._build_params()
        self.stages, self.equations = [], {}
        for t in range(1, T + 1):
            self._add_hidden_step(t)
        self._add_outputs()
        times = range(1, T + 1) if outputs == "all" else [None]
        self.targets = tuple(_real(f"t_{k}" + (f"^({t})" if t else "")) for t in times
                             for k in range(1, K + 1))
        self._finish()

    def __repr__(self):
        extra = "" if self.outputs_at == "last" else ", outputs='all'"
        return (f"RNN({self.input_size}, {self.hidden_size}, {self.output_size}, "
                f"steps={self.steps}, hidden={self.hidden_act.name!r}, "
                f"output={self.output_act.name!r}{extra})")

    @property
    def input_description(self):
        return (f"of {self.steps} steps x {self.input_size} inputs, flattened time-major "
                f"(T*D = {self.steps * self.input_size})")

    # -- construction -------------------------------------------------------------------
    def _build_params(self):
        D, H, K = self.input_size, self.hidden_size, self.output_size
        specs = [("W_xh", (H, D), D, lambda j, i: f"w_{_joined(j, i)}^(xh)"),
                 ("W_hh", (H, H), H, lambda j, m: f"w_{_joined(j, m)}^(hh)"),
                 ("b_h", (H,), D, lambda j: f"b_{j}^(h)"),
                 ("W_hy", (K, H), H, lambda k, j: f"w_{_joined(k, j)}^(hy)"),
                 ("b_y", (K,), H, lambda k: f"b_{k}^(y)")]
        params, self.blocks, self.block = [], [], {}
        for label, shape, fan_in, name in specs:
            start = len(params)
            params += [_real(name(*np.add(index, 1))) for index in np.ndindex(*shape)]
            block = ParameterBlock(label, slice(start, len(params)), shape, fan_in,
                                   label.startswith("b"))
            self.blocks.append(block)
            self.block[label] = block
        self.params = tuple(params)
        symbols = {label: sp.Matrix(*block.shape, list(self.params[block.columns])) if len(
            block.shape) == 2 else list(self.params[block.columns])
            for label, block in self.block.items()}
        self._symbols = symbols

    def _add_hidden_step(self, t):
        D, H = self.input_size, self.hidden_size
        S = self._symbols
        x = self.inputs[(t - 1) * D:t * D]
        previous = self.stages[-1].post if t > 1 else ()
        pre = tuple(_real(f"a_{j}^({t})") for j in range(1, H + 1))
        post = tuple(_real(f"h_{j}^({t})") for j in range(1, H + 1))
        for j, a in enumerate(pre):
            terms = [S["W_xh"][j, i] * x[i] for i in range(D)]
            terms += [S["W_hh"][j, m] * previous[m] for m in range(len(previous))]
            self.equations[a] = sp.Add(*terms, S["b_h"][j])
        self.equations.update(zip(post, _values_of(self.hidden_act, pre)))
        B = self.block

        def compute(Z, w, t=t):
            xp = array_namespace(Z[0])
            x_t = Z[0][..., (t - 1) * D:t * D]
            a = affine(x_t, xp.swapaxes(self._block_array(w, B["W_xh"]), -1, -2),
                       w[..., None, B["b_h"].columns])
            if t > 1:
                a = a + Z[t - 1] @ xp.swapaxes(self._block_array(w, B["W_hh"]), -1, -2)
            return a
        self.stages.append(Stage("recurrent", self.hidden_act, pre, post, compute))

    def _add_outputs(self):
        K, T = self.output_size, self.steps
        S, B = self._symbols, self.block
        times = range(1, T + 1) if self.outputs_at == "all" else [T]
        pre, post = [], []
        for t in times:
            h = self.stages[t - 1].post
            for k in range(K):
                a = _real(f"a_{k + 1}^(y,{t})")
                self.equations[a] = sp.Add(*[S["W_hy"][k, j] * h[j] for j in range(len(h))],
                                           S["b_y"][k])
                pre.append(a)
                post.append(_real(f"y_{k + 1}" + (f"^({t})" if self.outputs_at == "all" else "")))
        self.equations.update(zip(post, _values_of(self.output_act, pre)))
        last = self.outputs_at == "last"

        def compute(Z, w):
            xp = array_namespace(Z[0])
            W_T = xp.swapaxes(self._block_array(w, B["W_hy"]), -1, -2)
            b = w[..., None, B["b_y"].columns]
            return xp.concatenate([affine(Z[t], W_T, b) for t in times], axis=-1)
        # With outputs="last" the output stage is an ordinary dense layer on h^(T)
        self.stages.append(Stage("dense" if last else "outputs", self.output_act, tuple(pre),
                                 tuple(post), compute, B["W_hy"] if last else None,
                                 B["b_y"] if last else None))
