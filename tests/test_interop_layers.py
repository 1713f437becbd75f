"""A Network's weights as the state_dict of the nn.Sequential PyTorch builds for it.

The reference is PyTorch's semantics written here in plain NumPy with loops (torch is not a
test dependency): nn.Conv1d / nn.Conv2d are cross-correlations with weight (C_out, C_in, k[, k])
and bias (C_out,), nn.Linear is x W^T + b, nn.Flatten keeps row-major order, a residual module
adds its body's output to its input. A random state_dict loaded into symnet must compute what
that module computes.
"""
import numpy as np
import pytest

import symnet
from symnet import interop
from symnet.errors import SymnetError
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

def conv1d_torch(z, weight, bias, stride, pads):
    """nn.Conv1d on one sample z (C_in, L), after zero padding (left, right)."""
    z = np.pad(z, ((0, 0), pads))
    c_out, c_in, k = weight.shape
    L_out = (z.shape[1] - k) // stride + 1
    out = np.empty((c_out, L_out))
    for c in range(c_out):
        for p in range(L_out):
            out[c, p] = bias[c] + sum(weight[c, i, m] * z[i, p * stride + m]
                                      for i in range(c_in) for m in range(k))
    return out


def conv2d_torch(z, weight, bias):
    c_out, c_in, kh, kw = weight.shape
    rows, cols = z.shape[1] - kh + 1, z.shape[2] - kw + 1
    out = np.empty((c_out, rows, cols))
    for c in range(c_out):
        for i in range(rows):
            for j in range(cols):
                out[c, i, j] = bias[c] + np.sum(weight[c] * z[:, i:i + kh, j:j + kw])
    return out


def run_modules(layers, z, state, prefix=""):
    """PyTorch's forward of one sample through the modules pytorch_modules lists."""
    index = 0
    for layer in layers:
        key = f"{prefix}{index}"
        if isinstance(layer, Residual):
            z = z + run_modules(layer.layers, z, state, f"{key}.body.")
            index += 1
            continue
        if isinstance(layer, Flatten):
            z = z.reshape(-1)
            index += 1
            continue
        W, b = state[f"{key}.weight"], state[f"{key}.bias"]
        if isinstance(layer, Dense):
            a = W @ z + b
        elif isinstance(layer, Conv2D):
            a = conv2d_torch(z, W, b)
        else:
            a = conv1d_torch(z, W, b, layer.stride, layer.pads(z.shape[1]))
        z = {"tanh": np.tanh, "linear": lambda v: v, "relu": lambda v: np.maximum(v, 0)}[
            layer.act.name](a)
        index += 2
    return z


CASES = {
    "conv1d": ((1, 9), [Conv1D(2, 3), Flatten(), Dense(2, "linear")]),
    "conv1d_stride_same": ((2, 7), [Conv1D(3, 2, stride=2, padding="same"), Flatten(),
                                    Dense(1, "linear")]),
    "conv2d": ((1, 4, 5), [Conv2D(2, (2, 3), "relu"), Flatten(), Dense(2, "tanh")]),
    "residual": ((2, 6), [Conv1D(2, 3, padding="same"),
                          Residual([Conv1D(3, 3, padding="same"), Conv1D(2, 1, "linear")]),
                          Flatten(), Dense(3, "tanh"), Residual([Dense(3, "linear")]),
                          Dense(1, "linear")]),
}


@pytest.mark.parametrize("case", CASES)
def test_a_pytorch_state_dict_computes_in_symnet_what_pytorch_computes(case):
    shape, layers = CASES[case]
    net = symnet.Network(shape, layers)
    rng = np.random.default_rng(11)
    keys = interop.network_state_dict(net, np.zeros(net.n_params))
    state = {key: rng.normal(size=value.shape) for key, value in keys.items()}
    w = interop.network_from_state_dict(net, state)
    X = rng.normal(size=(3, int(np.prod(shape))))
    expected = np.array([run_modules(net.layers, x.reshape(shape), state).ravel() for x in X])
    np.testing.assert_allclose(net.forward(X, w), expected, rtol=1e-13, atol=1e-14)
    again = interop.network_state_dict(net, w)
    assert list(again) == list(state)
    assert all(np.array_equal(again[k], state[k]) for k in state)
    assert np.array_equal(interop.pytorch_state_dict(net, w)["0.weight"], state["0.weight"])


def test_the_module_list_of_a_residual_network_by_hand():
    net = symnet.Network((1, 6), [Conv1D(2, 3), Residual([Conv1D(2, 3, "relu", padding="same")]),
                                  Flatten(), Dense(1, "linear")])
    assert interop.pytorch_modules(net) == [
        "0: nn.Conv1d(1, 2, kernel_size=3)", "1: nn.Tanh()",
        "2: Residual(body=nn.Sequential(...)): z + body(z)",
        "2.body.0: nn.Conv1d(2, 2, kernel_size=3, padding=1)", "2.body.1: nn.ReLU()",
        "3: nn.Flatten()", "4: nn.Linear(8, 1)", "5: nn.Identity()"]
    even = symnet.Network((1, 6), [Conv1D(1, 4, padding="same")])   # pads (1, 2), as PyTorch
    assert interop.pytorch_modules(even)[0] == '0: nn.Conv1d(1, 1, kernel_size=4, padding="same")'
    # kernel (2, 1, 3): 6 entries, then 2 biases; the residual kernel (2, 2, 3) and 2 biases
    state = interop.network_state_dict(net, np.arange(net.n_params, dtype=float))
    assert list(state) == ["0.weight", "0.bias", "2.body.0.weight", "2.body.0.bias",
                           "4.weight", "4.bias"]
    np.testing.assert_array_equal(state["0.bias"], [6.0, 7.0])
    np.testing.assert_array_equal(state["2.body.0.weight"][1, 0], [14.0, 15.0, 16.0])


def test_bad_state_dicts_are_refused_with_the_expected_keys_and_shapes():
    net = symnet.Network((1, 5), [Conv1D(2, 2), Flatten(), Dense(1, "linear")])
    state = interop.network_state_dict(net, net.init_params())
    with pytest.raises(SymnetError, match=r"missing \['3.bias'\]"):
        interop.network_from_state_dict(net, {k: v for k, v in state.items() if k != "3.bias"})
    with pytest.raises(SymnetError, match=r"0.weight has shape \(2, 2\); .* needs \(2, 1, 2\)"):
        interop.network_from_state_dict(net, {**state, "0.weight": np.zeros((2, 2))})
    with pytest.raises(SymnetError, match="a Network is needed"):
        interop.network_state_dict(symnet.MLP([2, 1]), [0.0, 0.0, 0.0])
    with pytest.raises(SymnetError, match="dict of arrays"):
        interop.network_from_state_dict(net, [1.0, 2.0])
