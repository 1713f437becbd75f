"""Parameter orders of MATLAB (getwb) and PyTorch, and MATLAB's de_dwb, by hand and round trip."""
import numpy as np
import pytest

import oracle as o
import symnet
from helpers import make_net
from symnet import interop
from symnet.interop import (from_matlab, from_pytorch, matlab_de_dwb, matlab_permutation,
                            pytorch_state_dict, to_matlab, to_pytorch)

NETS = [(1, 10, 1), (2, 2, 1), (3, 4, 2), (2, 3, 3, 2)]


def hand_net():
    # 2-2-1: W1 = [[1, 2], [3, 4]] (w_ji: row j, column i), b1 = (0.1, 0.2), W2 = [[5, 6]], b2 = 0.5.
    net = make_net((2, 2, 1), "tanh", "linear")
    return net, net.pack([[[1, 2], [3, 4]], [[5, 6]]], [[0.1, 0.2], [0.5]])


def test_matlab_order_by_hand():
    # MATLAB: b{1}; IW{1,1}(:) column-major = (w_11, w_21, w_12, w_22) = (1, 3, 2, 4); b{2}; LW{2,1}(:).
    net, w = hand_net()
    np.testing.assert_array_equal(to_matlab(net, w), [0.1, 0.2, 1, 3, 2, 4, 0.5, 5, 6])


def test_pytorch_order_by_hand():
    # nn.Linear(2, 2).weight is (out, in) = W1; parameters_to_vector concatenates
    # weight.view(-1) (row-major) then bias, layer by layer: symnet's own order.
    net, w = hand_net()
    state = pytorch_state_dict(net, w)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    np.testing.assert_array_equal(state["0.weight"], [[1, 2], [3, 4]])
    flat = np.concatenate([value.reshape(-1) for value in state.values()])
    np.testing.assert_array_equal(flat, [1, 2, 3, 4, 0.1, 0.2, 5, 6, 0.5])
    np.testing.assert_array_equal(to_pytorch(net, w), flat)


@pytest.mark.parametrize("sizes", NETS, ids=lambda s: "-".join(map(str, s)))
def test_round_trips(sizes):
    net = make_net(sizes, "tanh", "linear")
    w = net.init_params(seed=7)
    np.testing.assert_array_equal(from_matlab(net, to_matlab(net, w)), w)
    np.testing.assert_array_equal(from_pytorch(net, to_pytorch(net, w)), w)
    assert sorted(matlab_permutation(net)) == list(range(net.n_params))
    # MATLAB's vector for the 1-10-1 net: 10 biases, 10 input weights, 1 bias, 10 weights.
    if sizes == (1, 10, 1):
        weights, biases = net.unpack(w)
        np.testing.assert_array_equal(to_matlab(net, w)[:10], biases[0])
        np.testing.assert_array_equal(to_matlab(net, w)[10:20], weights[0][:, 0])


def test_matlab_de_dwb_is_minus_jacobian_transposed(rng):
    sizes = (3, 4, 2)
    net = make_net(sizes, "tanh", "linear")
    X, w = rng.normal(size=(5, 3)), rng.normal(size=net.n_params)
    de_dwb = matlab_de_dwb(net, X, w)
    assert de_dwb.shape == (26, 10)
    J = o.param_jacobian(sizes, "tanh", "linear", X, w)   # complex step, (N, K, W)
    for n in range(5):
        for k in range(2):        # MATLAB's column for (sample n, output k) is n K + k
            np.testing.assert_allclose(de_dwb[:, n * 2 + k], -J[n, k, matlab_permutation(net)],
                                       rtol=1e-12, atol=1e-14)


def test_wrong_lengths_are_refused():
    net, _ = hand_net()
    with pytest.raises(symnet.SymnetError, match="wb must have 9 entries"):
        from_matlab(net, np.ones(8))
    with pytest.raises(symnet.SymnetError, match="must have 9 entries"):
        from_pytorch(net, np.ones(10))


def _torch_style_rnn(state, X, T, D):
    """nn.RNN(batch_first=True) + nn.Linear on the last step, as PyTorch documents it, in NumPy:
    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), y = h_T W^T + b (h_0 = 0)."""
    sequences = np.asarray(X, dtype=float).reshape(len(X), T, D)
    h = np.zeros((len(X), state["rnn.weight_hh_l0"].shape[0]))
    for t in range(T):
        h = np.tanh(sequences[:, t] @ state["rnn.weight_ih_l0"].T + state["rnn.bias_ih_l0"]
                    + h @ state["rnn.weight_hh_l0"].T + state["rnn.bias_hh_l0"])
    return h @ state["output.weight"].T + state["output.bias"]


def test_an_rnn_from_a_pytorch_state_dict_computes_what_pytorch_does():
    rng = np.random.default_rng(3)
    D, H, K, T = 2, 3, 2, 4
    net = symnet.RNN(D, H, K, steps=T)
    state = {"rnn.weight_ih_l0": rng.normal(size=(H, D)),
             "rnn.weight_hh_l0": rng.normal(size=(H, H)), "rnn.bias_ih_l0": rng.normal(size=H),
             "rnn.bias_hh_l0": rng.normal(size=H),
             "output.weight": rng.normal(size=(K, H)), "output.bias": rng.normal(size=K)}
    X = rng.normal(size=(5, T * D))
    w = interop.rnn_from_state_dict(net, state)
    assert np.allclose(net.forward(X, w), _torch_style_rnn(state, X, T, D), rtol=1e-13, atol=1e-14)
    # and back: the two biases are folded into one, the forward pass is unchanged
    again = interop.rnn_state_dict(net, w)
    assert np.array_equal(again["rnn.bias_ih_l0"],
                          state["rnn.bias_ih_l0"] + state["rnn.bias_hh_l0"])
    assert np.allclose(_torch_style_rnn(again, X, T, D), _torch_style_rnn(state, X, T, D),
                       rtol=1e-13, atol=1e-14)
    assert np.array_equal(interop.rnn_from_state_dict(net, again), w)


def test_rnn_state_dicts_with_wrong_keys_or_shapes_are_refused():
    net = symnet.RNN(2, 3, 1, steps=2)
    state = interop.rnn_state_dict(net, net.init_params())
    with pytest.raises(symnet.SymnetError, match="missing"):
        interop.rnn_from_state_dict(net, {k: v for k, v in state.items() if k != "output.bias"})
    with pytest.raises(symnet.SymnetError, match=r"needs \(3, 2\)"):
        interop.rnn_from_state_dict(net, {**state, "rnn.weight_ih_l0": np.zeros((2, 3))})
    with pytest.raises(symnet.SymnetError, match="an RNN is needed"):
        interop.rnn_state_dict(symnet.MLP([2, 1]), [0.0, 0.0, 0.0])
