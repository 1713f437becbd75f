"""Networks and RNNs with their independent oracle forward passes, shared by the layered tests.

Each builder returns a function of the output activation giving (the symnet network, the
oracle's forward written out independently: its spec list for ``oracle.layered_forward``,
or ``oracle.rnn_forward``), so that nothing is read off symnet. ``problem`` draws data a
loss accepts for that output.
"""
import numpy as np

import oracle
import symnet
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual


def conv1d_strided_same(out):
    layers = [Conv1D(3, 3, "tanh", stride=2, padding="same"), Flatten(), Dense(2, out)]
    spec = [("conv1d", 3, 3, "tanh", 2, "same"), ("flatten",), ("dense", 2, out)]
    return symnet.Network((2, 7), layers), lambda X, w: oracle.layered_forward((2, 7), spec, X, w)


def conv1d_relu(out):
    # stride 3 > kernel 2: input positions 2 and 5 are read by no tap (their adjoint is 0)
    layers = [Conv1D(2, 2, "relu", stride=3), Flatten(), Dense(2, out)]
    spec = [("conv1d", 2, 2, "relu", 3), ("flatten",), ("dense", 2, out)]
    return symnet.Network((1, 8), layers), lambda X, w: oracle.layered_forward((1, 8), spec, X, w)


def residual(out):
    layers = [Conv1D(2, 3, "tanh"), Residual([Conv1D(2, 2, "sigmoid", padding="same"),
                                              Conv1D(2, 3, "tanh", padding="same")]),
              Flatten(), Residual([Dense(4, "tanh"), Dense(8, "linear")]), Dense(2, out)]
    spec = [("conv1d", 2, 3, "tanh"), ("residual", [("conv1d", 2, 2, "sigmoid", 1, "same"),
                                                    ("conv1d", 2, 3, "tanh", 1, "same")]),
            ("flatten",), ("residual", [("dense", 4, "tanh"), ("dense", 8, "linear")]),
            ("dense", 2, out)]
    return symnet.Network((1, 6), layers), lambda X, w: oracle.layered_forward((1, 6), spec, X, w)


def conv2d(hidden):
    def build(out):
        layers = [Conv2D(2, (2, 3), hidden), Flatten(), Dense(2, out)]
        spec = [("conv2d", 2, (2, 3), hidden), ("flatten",), ("dense", 2, out)]
        return (symnet.Network((2, 3, 4), layers),
                lambda X, w: oracle.layered_forward((2, 3, 4), spec, X, w))
    return build


def rnn(outputs, hidden="tanh"):
    def build(out):
        net = symnet.RNN(2, 3, 2, steps=4, hidden=hidden, output=out, outputs=outputs)
        return net, lambda X, w: oracle.rnn_forward(2, 3, 2, X, w, hidden, out, outputs)
    return build


LOSSES = [("linear", "sse"), ("sigmoid", "cross_entropy"), ("softmax", "cross_entropy")]


def pairs(cases):
    """(case, output, loss) for every case and loss row (an RNN with outputs='all' has no softmax)."""
    return [(case, out, loss) for case in cases for out, loss in LOSSES
            if not (case == "rnn_all" and out == "softmax")]   # refused by RNN (outputs='last')


def problem(cases, case, out, seed=0, n=5):
    """(net, oracle forward, X, w, T) with targets the output's loss accepts."""
    net, f = cases[case](out)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(n, net.sizes[0])), net.init_params(seed=seed + 1)
    K = net.sizes[-1]
    if out == "softmax":
        T = rng.dirichlet(np.ones(K), size=n)
    elif out == "sigmoid":
        T = rng.uniform(size=(n, K))
    else:
        T = rng.normal(size=(n, K))
    if case == "conv1d_relu_stride3":
        # the fixed data keep every ReLU unit away from its kink, where the central
        # differences would straddle it: asserted, so a change of data cannot pass silently
        first = oracle.layered_preactivations((1, 8), [("conv1d", 2, 2, "relu", 3)], X,
                                              w[:2 * 2 + 2])
        assert np.abs(first[0]).min() >= 1e-3
    return net, f, X, w, T
