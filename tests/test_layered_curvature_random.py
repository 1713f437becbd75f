"""Second-order derivations of Networks and RNNs on random shapes (hypothesis), against oracles.

Gauss-Newton against sum_n J^T Lambda J with J the complex step of tests/oracle.py's plain
forward and Lambda the loss's output Hessian written by hand (tests/oracle_curvature.py);
H v against central differences of the oracle's complex-step gradient along v; the input
Hessian against central differences of the oracle's complex-step input Jacobian. Bounds as in
tests/test_layered_curvature.py: 1e-11 (complex step only), 1e-7 (one central difference).
"""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import symnet
from symnet.layers import Conv1D, Dense, Flatten, Residual

import oracle
import oracle_curvature
from test_layered_networks import _oracle_forward

SETTINGS = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _relative(got, true):
    return np.linalg.norm(got - true) / np.linalg.norm(true)


def _check_curvature(net, forward, X, w, T, seed):
    G = symnet.hessian(net, "sse", approx="gauss_newton").evaluate(X, w, T)
    K = net.sizes[-1]
    weights = oracle_curvature.output_hessian("sse", "linear", forward(X, w), T)
    assert weights.shape == (len(X), K, K)
    assert _relative(G, oracle_curvature.gauss_newton(forward, X, w, weights)) < 1e-11
    v = np.random.default_rng(seed).normal(size=net.n_params)
    Hv = symnet.hessian_vector_product(net, "sse").evaluate(X, w, T, v)
    expected = oracle_curvature.hessian_vector(
        lambda u: oracle.model_grad(forward, X, u, T, "sse"), w, v)
    assert _relative(Hv, expected) < 1e-7
    H_in = symnet.input_hessian(net).evaluate(X, w)
    assert _relative(H_in, oracle.model_input_hessian(forward, X, w)) < 1e-7


@SETTINGS
@given(c_in=st.integers(1, 2), length=st.integers(3, 5), kernel=st.integers(1, 3),
       stride=st.integers(1, 2), padding=st.sampled_from(["valid", "same"]),
       residual=st.booleans(), seed=st.integers(0, 1000))
def test_conv1d_curvature_on_random_shapes(c_in, length, kernel, stride, padding, residual, seed):
    layers = [Conv1D(2, kernel, "tanh", stride=stride, padding=padding)]
    if residual:
        layers.append(Residual([Conv1D(2, 1, "sigmoid")]))
    layers += [Flatten(), Dense(2, "linear")]
    shape = (c_in, length)
    net = symnet.Network(shape, layers)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(2, c_in * length)), net.init_params(seed=seed, scale=0.8)
    forward, _ = _oracle_forward(shape, layers)
    _check_curvature(net, forward, X, w, rng.normal(size=(2, 2)), seed)


@SETTINGS
@given(D=st.integers(1, 2), H=st.integers(1, 2), steps=st.integers(1, 3),
       outputs=st.sampled_from(["last", "all"]), seed=st.integers(0, 1000))
def test_rnn_curvature_on_random_shapes(D, H, steps, outputs, seed):
    net = symnet.RNN(D, H, 1, steps=steps, outputs=outputs)
    rng = np.random.default_rng(seed)
    X, w = rng.normal(size=(2, steps * D)), net.init_params(seed=seed, scale=0.8)

    def forward(X, w):
        return oracle.rnn_forward(D, H, 1, X, w, outputs=outputs)
    _check_curvature(net, forward, X, w, rng.normal(size=(2, net.sizes[-1])), seed)
