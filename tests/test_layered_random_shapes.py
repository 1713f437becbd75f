"""Every first derivation of a Network or RNN on random shapes (hypothesis) against the oracle.

The reference is tests/oracle.py's plain NumPy forward pass (convolutions as loops over output
positions, the RNN as a loop over time, never told about weight sharing) and its complex steps,
exact to rounding. Both input-Jacobian routes (backprop and direct) must agree with it.
"""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import symnet
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

import oracle
from test_layered_networks import _oracle_forward, _relative

ACTIVATIONS = st.sampled_from(["tanh", "sigmoid", "softplus", "linear"])
SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_first_derivatives(net, f, X, w, T):
    assert _relative(symnet.gradient(net, "sse").evaluate(X, w, T),
                     oracle.model_grad(f, X, w, T, "sse")) < 1e-11
    assert _relative(symnet.param_jacobian(net).evaluate(X, w),
                     oracle.model_param_jacobian(f, X, w)) < 1e-11
    reference = oracle.model_input_jacobian(f, X, w)
    for method in ("backprop", "direct"):
        assert _relative(symnet.input_jacobian(net, method=method).evaluate(X, w),
                         reference) < 1e-11, method


@SETTINGS
@given(c_in=st.integers(1, 2), c_out=st.integers(1, 2), length=st.integers(2, 6),
       kernel=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), act=ACTIVATIONS, residual=st.booleans(),
       seed=st.integers(0, 1000))
def test_conv1d_networks_of_random_shape(c_in, c_out, length, kernel, stride, padding, act,
                                         residual, seed):
    if padding == "valid" and kernel > length:
        kernel = length
    layers = [Conv1D(c_out, kernel, act, stride=stride, padding=padding)]
    if residual:  # a skip around a same-padded convolution keeps the shape
        layers.append(Residual([Conv1D(c_out, min(kernel, 2), "tanh", padding="same")]))
    layers += [Flatten(), Dense(2, "linear")]
    shape = (c_in, length)
    net = symnet.Network(shape, layers)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(3, c_in * length)), net.init_params(seed=seed)
    f, _ = _oracle_forward(shape, layers)
    _check_first_derivatives(net, f, X, w, rng.normal(size=(3, 2)))


@SETTINGS
@given(c_in=st.integers(1, 2), rows=st.integers(2, 4), cols=st.integers(2, 4),
       kh=st.integers(1, 2), kw=st.integers(1, 2), act=ACTIVATIONS, seed=st.integers(0, 1000))
def test_conv2d_networks_of_random_shape(c_in, rows, cols, kh, kw, act, seed):
    shape = (c_in, rows, cols)
    layers = [Conv2D(2, (kh, kw), act), Flatten(), Dense(1, "linear")]
    net = symnet.Network(shape, layers)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(3, c_in * rows * cols)), net.init_params(seed=seed)
    f, _ = _oracle_forward(shape, layers)
    _check_first_derivatives(net, f, X, w, rng.normal(size=(3, 1)))


@SETTINGS
@given(D=st.integers(1, 2), H=st.integers(1, 3), K=st.integers(1, 2), steps=st.integers(1, 4),
       outputs=st.sampled_from(["last", "all"]), seed=st.integers(0, 1000))
def test_rnns_of_random_shape(D, H, K, steps, outputs, seed):
    net = symnet.RNN(D, H, K, steps=steps, outputs=outputs)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(3, steps * D)), net.init_params(seed=seed)

    def f(X, w):
        return oracle.rnn_forward(D, H, K, X, w, outputs=outputs)
    _check_first_derivatives(net, f, X, w, rng.normal(size=(3, net.sizes[-1])))
