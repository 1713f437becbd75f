"""An MLP is a Network of Dense layers: the same units, names, parameter order and derivatives.

References: tests/oracle.py's hand-written MLP forward pass and its complex-step derivatives
(independent of symnet), and the MLP's matrix-form route against the Network's graph-of-units
route (two derivations, one answer).
"""
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import SymnetError
from symnet.layers import Conv1D, Dense, Flatten

import oracle

CASES = [([2, 3, 1], "tanh", "linear", "sse"),
         ([3, 2, 2], "sigmoid", "sigmoid", "cross_entropy"),
         ([2, 3, 3], "softplus", "softmax", "cross_entropy")]


def _data(sizes, kind, seed=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(5, sizes[0]))
    if sizes[-1] == 3:  # softmax outputs: one-hot targets
        T = np.eye(sizes[-1])[rng.integers(sizes[-1], size=5)]
    elif kind == "cross_entropy":
        T = rng.integers(2, size=(5, sizes[-1])).astype(float)
    else:
        T = rng.normal(size=(5, sizes[-1]))
    return X, T


@pytest.mark.parametrize("sizes, hidden, output, kind", CASES)
def test_the_network_of_an_mlp_has_its_names_order_and_derivatives(sizes, hidden, output, kind):
    mlp = symnet.MLP(sizes, hidden=hidden, output=output)
    net = symnet.Network.from_mlp(mlp)
    assert [p.name for p in net.params] == [p.name for p in mlp.params]
    assert net.layer_values(1) == mlp.layer_values(1)
    assert net.as_mlp().sizes == mlp.sizes
    assert [a.name for a in net.as_mlp().activations] == [a.name for a in mlp.activations]
    X, T = _data(sizes, kind)
    w = mlp.init_params(seed=2)
    hidden_acts = [hidden] * (len(sizes) - 2)
    np.testing.assert_allclose(net.forward(X, w), oracle.forward(sizes, hidden_acts, output, X, w),
                               rtol=1e-14, atol=1e-15)
    expected = oracle.grad(sizes, hidden_acts, output, X, w, T, kind)
    for model in (mlp, net):
        g = symnet.gradient(model, kind).evaluate(X, w, T)
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-13)
    J_expected = oracle.param_jacobian(sizes, hidden_acts, output, X, w)
    for model in (mlp, net):
        J = symnet.param_jacobian(model).evaluate(X, w)
        np.testing.assert_allclose(J, J_expected, rtol=1e-12, atol=1e-13)
    H_mlp = symnet.hessian(mlp, kind).evaluate(X, w, T)
    H_net = symnet.hessian(net, kind).evaluate(X, w, T)
    H_fd = oracle.hessian_fd_grad(sizes, hidden_acts, output, X, w, T, kind)
    np.testing.assert_allclose(H_net, H_mlp, rtol=1e-11, atol=1e-12)   # the two routes
    np.testing.assert_allclose(H_net, H_fd, rtol=1e-6, atol=1e-7)


def test_the_two_gradients_are_one_expression():
    # symbolically: each entry of the Network's named gradient, with every name substituted,
    # is the MLP's entry (their difference simplifies to 0)
    mlp = symnet.MLP([2, 2, 1], hidden="tanh")
    net = symnet.Network.from_mlp(mlp)
    ours, theirs = symnet.gradient(net, "sse"), symnet.gradient(mlp, "sse")
    full_net, full_mlp = ours.matrix, theirs.matrix
    assert full_net.shape == full_mlp.shape
    for a, b in zip(full_net, full_mlp):
        assert sp.simplify(sp.expand_trig(a - b).rewrite(sp.exp)) == 0


def test_only_dense_networks_on_flat_inputs_are_mlps():
    with pytest.raises(SymnetError, match="only a Network of Dense layers"):
        symnet.Network((1, 4), [Conv1D(1, 2), Flatten(), Dense(1)]).as_mlp()
