"""The flat parameter vector in the orders MATLAB and PyTorch use, and MATLAB's de_dwb.

| convention | per layer l = 1..L | weight matrix flattened |
|---|---|---|
| symnet (``net.params``) | W^(l), then b^(l) | row-major: w_11, w_12, ..., w_21, ... |
| PyTorch ``nn.Sequential(Linear, act, Linear, ...)``, ``parameters_to_vector`` | ``weight`` (out, in), then ``bias`` | row-major (C order): the same as symnet |
| MATLAB ``getwb`` / ``setwb`` (feedforwardnet) | b{l}, then IW{1,1} (l = 1) or LW{l,l-1} | column-major: w_11, w_21, ..., w_12, ... |

MATLAB's order comes from ``nn7.netHints``, which lays out the vector layer by layer:
the bias indices first, then the input weights, then the layer weights, each
matrix as ``W(:)`` (column-major); IW and LW have shape (n_l, n_{l-1}) like W^(l).
PyTorch's ``nn.Linear.weight`` has shape (out_features, in_features) and
``parameters()`` yields weight before bias, so symnet's vector *is* PyTorch's.

MATLAB's Jacobian ``defaultderiv('de_dwb', net, x, t)`` is W x (N K): rows in getwb
order, columns sample-major (column (n-1) K + k is output k of sample n, as
``e(:)`` of the K x N error matrix), of the errors e = t - y, so de/dwb = -(dy/dw)^T.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([2, 2, 1])
>>> w = net.pack([[[1, 2], [3, 4]], [[5, 6]]], [[0.1, 0.2], [0.5]])
>>> to_matlab(net, w)                    # b{1}; IW{1,1}(:); b{2}; LW{2,1}(:)
array([0.1, 0.2, 1. , 3. , 2. , 4. , 0.5, 5. , 6. ])
>>> bool((to_pytorch(net, w) == w).all())
True
"""

import numpy as np

from .compiled import matrix_form as engine
from ._validate import check_inputs, check_params
from .errors import SymnetError
from .graph.layer_network import Network
from .graph.layers import Conv1D, Conv2D, Dense, Flatten, Residual
from .graph.recurrent import RNN

__all__ = ["matlab_permutation", "to_matlab", "from_matlab", "to_pytorch", "from_pytorch",
           "pytorch_state_dict", "matlab_de_dwb", "rnn_state_dict", "rnn_from_state_dict",
           "pytorch_modules", "network_state_dict", "network_from_state_dict"]


def matlab_permutation(net):
    """Indices p with ``w[p]`` in MATLAB getwb order (``w_matlab = w[p]``).

    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1])      # params: w_11 w_12 w_21 w_22 b_1 b_2 | w_11 w_12 b_1
    >>> matlab_permutation(net)          # b_1 b_2 w_11 w_21 w_12 w_22 | b_1 w_11 w_12
    array([4, 5, 0, 2, 1, 3, 8, 6, 7])
    """
    order = []
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        columns = np.arange(w_cols.start, w_cols.stop).reshape(net.sizes[l], net.sizes[l - 1])
        order.extend(range(b_cols.start, b_cols.stop))
        order.extend(columns.ravel(order="F"))  # column-major, as MATLAB's W(:)
    return np.array(order)


def _vector(net, values, what):
    try:
        array = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        raise SymnetError(f"{what} must be a vector of numbers; got {values!r}") from None
    if array.shape != (net.n_params,):
        raise SymnetError(f"{what} must have {net.n_params} entries for {net!r}; got {array.size}")
    return check_params(net, array)


def to_matlab(net, w):
    """symnet's parameter vector in MATLAB's ``getwb`` order (for ``setwb(net, wb)``)."""
    return check_params(net, w)[matlab_permutation(net)]


def from_matlab(net, wb):
    """symnet's parameter vector from MATLAB's ``getwb(net)`` (column or row vector).

    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1])
    >>> from_matlab(net, [0.1, 0.2, 1, 3, 2, 4, 0.5, 5, 6])   # b1; IW{1,1}(:); b2; LW{2,1}(:)
    array([1. , 2. , 3. , 4. , 0.1, 0.2, 5. , 6. , 0.5])
    """
    wb = _vector(net, wb, "wb")
    w = np.empty(net.n_params)
    w[matlab_permutation(net)] = wb
    return w


def to_pytorch(net, w):
    """The vector ``torch.nn.utils.parameters_to_vector(model.parameters())`` holds: symnet's own."""
    return check_params(net, w).copy()


def from_pytorch(net, vector):
    """symnet's parameter vector from PyTorch's ``parameters_to_vector`` (the same order)."""
    return _vector(net, vector, "the PyTorch parameter vector").copy()


def pytorch_state_dict(net, w):
    """NumPy arrays keyed as ``nn.Sequential(Linear, act, Linear, ...)``'s ``state_dict()``.

    Linear layers sit at even indices 0, 2, 4, ... with activations between them;
    load with ``{k: torch.from_numpy(v) for k, v in ...}``. For a ``Network`` this is
    ``network_state_dict``, for an ``RNN`` ``rnn_state_dict``.

    >>> import symnet
    >>> net = symnet.MLP([3, 2, 1])
    >>> {k: v.shape for k, v in pytorch_state_dict(net, net.init_params()).items()}
    {'0.weight': (2, 3), '0.bias': (2,), '2.weight': (1, 2), '2.bias': (1,)}
    """
    if isinstance(net, Network):
        return network_state_dict(net, w)
    if isinstance(net, RNN):
        return rnn_state_dict(net, w)
    weights, biases = net.unpack(w)
    state = {}
    for l, (W, b) in enumerate(zip(weights, biases)):
        state[f"{2 * l}.weight"], state[f"{2 * l}.bias"] = W, b
    return state


def matlab_de_dwb(net, X, w):
    """MATLAB's ``de_dwb``: d(t - y)/d wb, shape (W, N K), rows in getwb order.

    Column n K + k (0-based) is output k of sample n. Equal to -J^T with J the
    (N K, W) parameter Jacobian of ``symnet.param_jacobian`` reshaped, rows
    permuted to getwb order.

    >>> import symnet
    >>> net = symnet.MLP([1, 1])                # y = w x + b; getwb order (b, w)
    >>> matlab_de_dwb(net, [[2.0], [3.0]], [0.5, 0.1])   # de/db = -1, de/dw = -x
    array([[-1., -1.],
           [-2., -3.]])
    """
    X, _ = check_inputs(net, X, allow_complex=False)
    w = check_params(net, w)
    J = engine.param_jacobian_values(net, X, w).reshape(-1, net.n_params)
    return -J.T[matlab_permutation(net)]


# -- the Elman RNN and PyTorch's nn.RNN + nn.Linear ---------------------------------------
# nn.RNN(D, H, nonlinearity="tanh", batch_first=True) computes
#     h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
# with two biases where symnet has one, b_h = b_ih + b_hh; an nn.Linear(H, K) on h_t gives
# y_t. The weights have symnet's shapes (W_ih: (H, D), W_hh: (H, H), Linear: (K, H)).
RNN_KEYS = {"W_xh": "rnn.weight_ih_l0", "W_hh": "rnn.weight_hh_l0", "W_hy": "output.weight",
            "b_y": "output.bias"}


def _check_rnn(net):
    if not isinstance(net, RNN):
        raise SymnetError(f"an RNN is needed (symnet.RNN(...)); got {type(net).__name__}")


def rnn_state_dict(net, w):
    """An ``RNN``'s weights keyed as a module with ``rnn = nn.RNN(D, H, batch_first=True)`` and
    ``output = nn.Linear(H, K)``: its ``state_dict()``, as NumPy arrays.

    symnet's one hidden bias b_h goes to ``rnn.bias_ih_l0``; ``rnn.bias_hh_l0`` is zero (only
    their sum enters h_t).

    >>> import symnet
    >>> net = symnet.RNN(2, 3, 1, steps=4)
    >>> {k: v.shape for k, v in rnn_state_dict(net, net.init_params()).items()}
    {'rnn.weight_ih_l0': (3, 2), 'rnn.weight_hh_l0': (3, 3), 'rnn.bias_ih_l0': (3,), \
'rnn.bias_hh_l0': (3,), 'output.weight': (1, 3), 'output.bias': (1,)}
    """
    _check_rnn(net)
    w = check_params(net, w)
    arrays = {label: w[block.columns].reshape(block.shape) for label, block in net.block.items()}
    state = {RNN_KEYS["W_xh"]: arrays["W_xh"], RNN_KEYS["W_hh"]: arrays["W_hh"],
             "rnn.bias_ih_l0": arrays["b_h"], "rnn.bias_hh_l0": np.zeros_like(arrays["b_h"])}
    state.update({RNN_KEYS["W_hy"]: arrays["W_hy"], RNN_KEYS["b_y"]: arrays["b_y"]})
    return {key: value.copy() for key, value in state.items()}


def rnn_from_state_dict(net, state):
    """symnet's parameter vector of an ``RNN`` from such a ``state_dict`` (arrays or tensors
    converted with ``.numpy()``); b_h = bias_ih + bias_hh.

    >>> import numpy as np, symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2)
    >>> state = {"rnn.weight_ih_l0": [[2.0]], "rnn.weight_hh_l0": [[0.5]],
    ...          "rnn.bias_ih_l0": [0.25], "rnn.bias_hh_l0": [0.5],
    ...          "output.weight": [[3.0]], "output.bias": [-1.0]}
    >>> rnn_from_state_dict(net, state)      # W_xh, W_hh, b_h = 0.25 + 0.5, W_hy, b_y
    array([ 2.  ,  0.5 ,  0.75,  3.  , -1.  ])
    """
    _check_rnn(net)
    if not isinstance(state, dict):
        raise SymnetError(f"state is a dict of arrays (a state_dict); got {type(state).__name__}")
    expected = list(RNN_KEYS.values()) + ["rnn.bias_ih_l0", "rnn.bias_hh_l0"]
    missing = [key for key in expected if key not in state]
    extra = [key for key in state if key not in expected]
    if missing or extra:
        raise SymnetError(f"the state_dict of nn.RNN (one layer) + nn.Linear has the keys "
                          f"{expected}; missing {missing}, unexpected {extra}")
    arrays = {key: np.asarray(value, dtype=float) for key, value in state.items()}
    arrays["b_h"] = arrays["rnn.bias_ih_l0"] + arrays["rnn.bias_hh_l0"]
    w = np.empty(net.n_params)
    for label, block in net.block.items():
        value = arrays["b_h"] if label == "b_h" else arrays[RNN_KEYS[label]]
        if value.shape != block.shape:
            key = "rnn.bias_ih_l0 + rnn.bias_hh_l0" if label == "b_h" else RNN_KEYS[label]
            raise SymnetError(f"{key} has shape {value.shape}; {net!r} needs {block.shape}")
        w[block.columns] = value.ravel()
    return check_params(net, w)


# -- a Network of layers and PyTorch's nn.Sequential ---------------------------------------
# Each symnet layer becomes modules of one nn.Sequential, in order: Dense -> nn.Linear and
# its activation (two indices, nn.Identity() for "linear"), Conv1D / Conv2D -> nn.Conv1d /
# nn.Conv2d and its activation (two indices), Flatten -> nn.Flatten() (one index), and
# Residual -> one module (index i) whose attribute ``body`` is the nn.Sequential of its
# inner layers, computing z + body(z). PyTorch's Conv weights have symnet's kernel shape
# (C_out, C_in, k[, k]) and its bias has C_out entries, so only the keys change.
_TORCH_ACTIVATIONS = {"tanh": "nn.Tanh()", "sigmoid": "nn.Sigmoid()", "relu": "nn.ReLU()",
                      "softplus": "nn.Softplus()", "linear": "nn.Identity()",
                      "softmax": "nn.Softmax(dim=-1)", "leaky_relu": "nn.LeakyReLU({slope!r})"}


def _torch_layout(layers, shape, prefix):
    """(key prefix, layer, input shape, module text) for every module, in nn.Sequential order."""
    rows, index = [], 0
    for layer in layers:
        key = f"{prefix}{index}"
        if isinstance(layer, Residual):
            rows.append((key, layer, shape, "Residual(body=nn.Sequential(...)): z + body(z)"))
            rows.extend(_torch_layout(layer.layers, shape, f"{key}.body."))
            index += 1
        elif isinstance(layer, Flatten):
            rows.append((key, layer, shape, "nn.Flatten()"))
            index += 1
        else:
            rows.append((key, layer, shape, _torch_module_text(layer, shape)))
            act = _TORCH_ACTIVATIONS.get(layer.act.name, f"<{layer.act.name}: no PyTorch module>")
            act = act.format(**{k: float(v) for k, v in layer.act.parameters.items()})
            rows.append((f"{prefix}{index + 1}", None, None, act))
            index += 2
        shape = layer.output_shape(shape)
    return rows


def _torch_module_text(layer, shape):
    if isinstance(layer, Dense):
        return f"nn.Linear({shape[0]}, {layer.units})"
    if isinstance(layer, Conv2D):
        return f"nn.Conv2d({shape[0]}, {layer.channels}, kernel_size={layer.kernel})"
    left, right = layer.pads(shape[1])
    text = f"nn.Conv1d({shape[0]}, {layer.channels}, kernel_size={layer.kernel}"
    text += f", stride={layer.stride}" if layer.stride != 1 else ""
    if left == right and left:
        text += f", padding={left}"
    elif left != right and layer.stride == 1:  # PyTorch's "same": the extra zero on the right
        text += ', padding="same"'
    elif left != right:  # PyTorch pads both sides alike; the extra zero goes before the conv
        text += f", padding=0) after F.pad(z, ({left}, {right})"
    return text + ")"


def _check_network(net):
    if not isinstance(net, Network):
        raise SymnetError(f"a Network is needed (symnet.Network(...)); got {type(net).__name__}")


def pytorch_modules(net):
    """The ``nn.Sequential`` a ``Network`` corresponds to, one line per module: 'key: module'.

    >>> import symnet
    >>> from symnet.layers import Conv1D, Dense, Flatten, Residual
    >>> net = symnet.Network((1, 8), [Conv1D(2, 3), 
    ...     Residual([Conv1D(2, 3, padding="same")]), Flatten(), Dense(1, "linear")])
    >>> print("\\n".join(pytorch_modules(net)))
    0: nn.Conv1d(1, 2, kernel_size=3)
    1: nn.Tanh()
    2: Residual(body=nn.Sequential(...)): z + body(z)
    2.body.0: nn.Conv1d(2, 2, kernel_size=3, padding=1)
    2.body.1: nn.Tanh()
    3: nn.Flatten()
    4: nn.Linear(12, 1)
    5: nn.Identity()
    """
    _check_network(net)
    return [f"{key}: {text}" for key, _, _, text in _torch_layout(net.layers, net.input_shape, "")]


def _parameter_keys(net):
    """(state_dict key, ParameterBlock) in symnet's parameter order."""
    keyed = [key for key, layer, _, _ in _torch_layout(net.layers, net.input_shape, "")
             if isinstance(layer, (Dense, Conv1D, Conv2D))]
    blocks = iter(net.blocks)  # each layer with units adds its weights, then its biases
    return [(f"{key}.{name}", next(blocks)) for key in keyed for name in ("weight", "bias")]


def network_state_dict(net, w):
    """A ``Network``'s weights keyed as the ``state_dict()`` of its ``nn.Sequential``
    (``pytorch_modules``), as NumPy arrays: kernels (C_out, C_in, k[, k]), weights (out, in).

    >>> import symnet
    >>> from symnet.layers import Conv1D, Dense, Flatten
    >>> net = symnet.Network((2, 5), [Conv1D(3, 2), Flatten(), Dense(1, "linear")])
    >>> {k: v.shape for k, v in network_state_dict(net, net.init_params()).items()}
    {'0.weight': (3, 2, 2), '0.bias': (3,), '3.weight': (1, 12), '3.bias': (1,)}
    """
    _check_network(net)
    w = check_params(net, w)
    return {key: w[block.columns].reshape(block.shape).copy() for key, block in _parameter_keys(net)}


def network_from_state_dict(net, state):
    """symnet's parameter vector of a ``Network`` from its ``nn.Sequential``'s ``state_dict``
    (arrays, or tensors converted with ``.numpy()``).

    >>> import symnet
    >>> from symnet.layers import Conv1D, Flatten, Dense
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear"), Flatten(), Dense(1, "linear")])
    >>> network_from_state_dict(net, {"0.weight": [[[1.0, 2.0]]], "0.bias": [0.0],
    ...                               "3.weight": [[1.0, -1.0]], "3.bias": [0.5]})
    array([ 1. ,  2. ,  0. ,  1. , -1. ,  0.5])
    """
    _check_network(net)
    if not isinstance(state, dict):
        raise SymnetError(f"state is a dict of arrays (a state_dict); got {type(state).__name__}")
    keyed = _parameter_keys(net)
    expected = [key for key, _ in keyed]
    missing = [key for key in expected if key not in state]
    extra = [key for key in state if key not in expected]
    if missing or extra:
        raise SymnetError(f"the state_dict of {net!r} as nn.Sequential has the keys {expected}; "
                          f"missing {missing}, unexpected {extra}")
    w = np.empty(net.n_params)
    for key, block in keyed:
        value = np.asarray(state[key], dtype=float)
        if value.shape != block.shape:
            raise SymnetError(f"{key} has shape {value.shape}; {net!r} needs {block.shape}")
        w[block.columns] = value.ravel()
    return check_params(net, w)
