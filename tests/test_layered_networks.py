"""Networks of layers and the Elman RNN against the independent NumPy oracle (tests/oracle.py).

The oracle's convolutions are loops over output positions and its RNN a loop over time,
written without symnet; derivatives of it are complex steps (exact to rounding) or
central differences. Weight sharing is never told to the oracle: it only runs forward.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import symnet
from symnet.layers import Conv1D, Conv2D, Dense, Flatten, Residual

import oracle


def _spec_layer(layer):
    """The oracle's spec entry for one symnet layer (written out, not derived from symnet)."""
    if isinstance(layer, Dense):
        return ("dense", layer.units, layer.act.name)
    if isinstance(layer, Conv1D):
        return ("conv1d", layer.channels, layer.kernel, layer.act.name, layer.stride,
                layer.padding)
    if isinstance(layer, Conv2D):
        return ("conv2d", layer.channels, layer.kernel, layer.act.name)
    if isinstance(layer, Residual):
        return ("residual", [_spec_layer(inner) for inner in layer.layers])
    return ("flatten",)


def _oracle_forward(shape, layers):
    spec = [_spec_layer(layer) for layer in layers]
    return lambda X, w: oracle.layered_forward(shape, spec, X, w), spec


def _relative(a, b):
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


CONV_NET = ((1, 6), [Conv1D(2, 3, "tanh"), Residual([Conv1D(2, 2, "sigmoid", padding="same")]),
                     Flatten(), Dense(2, "linear")])
CONV2D_NET = ((2, 3, 4), [Conv2D(2, (2, 3), "tanh"), Flatten(), Dense(1, "linear")])
STRIDED_NET = ((2, 7), [Conv1D(3, 3, "softplus", stride=2, padding="same"), Flatten(),
                        Dense(2, "softmax")])


def _case(shape, layers, seed=0, n=4):
    net = symnet.Network(shape, layers)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.sizes[0]))
    return net, X, net.init_params(seed=seed), rng


# -- forward and parameters ------------------------------------------------------------------
@pytest.mark.parametrize("shape, layers", [CONV_NET, CONV2D_NET, STRIDED_NET])
def test_forward_equals_the_oracle(shape, layers):
    net, X, w, _ = _case(shape, layers)
    f, spec = _oracle_forward(shape, layers)
    assert net.n_params == oracle.layered_n_params(shape, spec)
    np.testing.assert_allclose(net.forward(X, w), f(X, w), rtol=1e-13, atol=1e-13)


@settings(max_examples=8, deadline=None)
@given(c_in=st.integers(1, 2), c_out=st.integers(1, 3), length=st.integers(1, 7),
       kernel=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]), seed=st.integers(0, 100))
def test_conv1d_forward_on_random_shapes(c_in, c_out, length, kernel, stride, padding, seed):
    if padding == "valid" and kernel > length:
        return
    layers = [Conv1D(c_out, kernel, "tanh", stride=stride, padding=padding), Flatten(),
              Dense(1, "linear")]
    net, X, w, _ = _case((c_in, length), layers, seed, n=3)
    f, _ = _oracle_forward((c_in, length), layers)
    np.testing.assert_allclose(net.forward(X, w), f(X, w), rtol=1e-13, atol=1e-13)


def test_parameter_order_is_documented_order():
    net = symnet.Network((2, 5), [Conv1D(3, 2, "tanh"), Flatten(), Dense(1, "linear")])
    # kernel (3, 2, 2) row-major: column 0 is w_{1,1,1}, column 5 = (0, 1, 1) -> w_{1,2,2},
    # column 11 = (2, 1, 1) -> w_{3,2,2}; then the 3 biases; then Dense (1, 12) and its bias
    assert net.param_name(0) == "w_1,1,1^(1)"
    assert net.param_name(3) == "w_1,2,2^(1)"
    assert net.param_name(11) == "w_3,2,2^(1)"
    assert net.param_name(12) == "b_1^(1)" and net.param_name(14) == "b_3^(1)"
    assert net.param_name(15) == "w_11^(2)" and net.param_name(27) == "b_1^(2)"
    assert net.n_params == 3 * 2 * 2 + 3 + 12 + 1
    rnn = symnet.RNN(2, 3, 2, steps=4)
    # W_xh (3, 2): 6, W_hh (3, 3): 9, b_h: 3, W_hy (2, 3): 6, b_y: 2
    assert rnn.n_params == oracle.rnn_n_params(2, 3, 2) == 26
    assert [rnn.param_name(c) for c in (0, 5, 6, 15, 18, 24, 25)] == [
        "w_11^(xh)", "w_32^(xh)", "w_11^(hh)", "b_1^(h)", "w_11^(hy)", "b_1^(y)", "b_2^(y)"]
    assert rnn.param_index("w_23^(hh)") == 6 + 1 * 3 + 2


def test_weight_sharing_one_symbol_in_every_position():
    net = symnet.Network((1, 4), [Conv1D(1, 2, "linear")])
    w_first = net.params[0]
    uses = [a for a in net.layer_pre_activations(1) if w_first in net.equations[a].free_symbols]
    assert len(uses) == 3     # L_out = 4 - 2 + 1 positions, each uses the same kernel tap


@pytest.mark.parametrize("outputs", ["last", "all"])
def test_rnn_forward_equals_the_oracle(outputs):
    net = symnet.RNN(2, 3, 2, steps=5, outputs=outputs)
    rng = np.random.default_rng(1)
    X, w = rng.normal(size=(6, 10)), net.init_params(seed=2)
    expected = oracle.rnn_forward(2, 3, 2, X, w, outputs=outputs)
    np.testing.assert_allclose(net.forward(X, w), expected, rtol=1e-13, atol=1e-13)


# -- derivatives -----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, layers", [CONV_NET, CONV2D_NET, STRIDED_NET])
def test_first_derivatives_equal_complex_steps_of_the_oracle(shape, layers):
    net, X, w, rng = _case(shape, layers)
    f, _ = _oracle_forward(shape, layers)
    K = net.sizes[-1]
    output = net.activations[-1].name
    T = rng.dirichlet(np.ones(K), size=len(X)) if output == "softmax" else rng.normal(size=(len(X), K))
    loss = "cross_entropy" if output == "softmax" else "sse"
    assert _relative(symnet.gradient(net, loss).evaluate(X, w, T),
                     oracle.model_grad(f, X, w, T, loss, output)) < 1e-12
    assert _relative(symnet.param_jacobian(net).evaluate(X, w),
                     oracle.model_param_jacobian(f, X, w)) < 1e-12
    reference = oracle.model_input_jacobian(f, X, w)
    assert _relative(symnet.input_jacobian(net).evaluate(X, w), reference) < 1e-12
    assert _relative(symnet.input_jacobian(net, method="direct").evaluate(X, w), reference) < 1e-12


@pytest.mark.parametrize("outputs", ["last", "all"])
def test_rnn_derivatives_equal_complex_steps_of_the_oracle(outputs):
    net = symnet.RNN(2, 3, 1, steps=4, outputs=outputs)
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(5, 8)), net.init_params(seed=4)
    T = rng.normal(size=(5, net.sizes[-1]))

    def f(X, w):
        return oracle.rnn_forward(2, 3, 1, X, w, outputs=outputs)
    assert _relative(symnet.gradient(net, "sse").evaluate(X, w, T),
                     oracle.model_grad(f, X, w, T, "sse")) < 1e-12
    assert _relative(symnet.param_jacobian(net).evaluate(X, w),
                     oracle.model_param_jacobian(f, X, w)) < 1e-12
    assert _relative(symnet.input_jacobian(net).evaluate(X, w),
                     oracle.model_input_jacobian(f, X, w)) < 1e-12


def test_bptt_gradient_of_the_recurrent_weight_sums_over_time():
    net = symnet.RNN(1, 1, 1, steps=3, hidden="tanh")
    entry = symnet.gradient(net, "sse").named[net.param_index("w_11^(hh)")]
    # dE/dw_hh = sum_{t=2..3} delta^(t) h^(t-1): one term per step that uses W_hh
    d2, d3 = (symnet.symbols.delta(t, 1) for t in (2, 3))
    h1, h2 = (net.layer_values(t)[0] for t in (1, 2))
    assert entry == d2 * h1 + d3 * h2


def test_hessian_equals_central_differences_of_the_oracle():
    layers = [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")]
    net, X, w, rng = _case((1, 3), layers, seed=5, n=3)
    f, _ = _oracle_forward((1, 3), layers)
    T = rng.normal(size=(3, 1))
    H = symnet.hessian(net, "sse").evaluate(X, w, T)
    assert _relative(H, oracle.model_hessian_fd_grad(f, X, w, T, "sse")) < 1e-7


def test_rnn_hessian_equals_central_differences_of_the_oracle():
    net = symnet.RNN(1, 2, 1, steps=2)
    rng = np.random.default_rng(6)
    X, w, T = rng.normal(size=(3, 2)), net.init_params(seed=6), rng.normal(size=(3, 1))

    def f(X, w):
        return oracle.rnn_forward(1, 2, 1, X, w)
    H = symnet.hessian(net, "sse").evaluate(X, w, T)
    assert _relative(H, oracle.model_hessian_fd_grad(f, X, w, T, "sse")) < 1e-7


def test_check_passes_on_layered_derivations():
    net, X, w, rng = _case(*CONV_NET)
    T = rng.normal(size=(len(X), 2))
    assert symnet.check(symnet.gradient(net, "sse"), X, w, T).passed
    assert symnet.check(symnet.gradient(net, "sse"), X, w, T, method="complex").passed
    assert symnet.check(symnet.param_jacobian(net), X, w).passed
    assert symnet.check(symnet.input_jacobian(net), X, w).passed
    small, Xs, ws, _ = _case((1, 3), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
    assert symnet.check(symnet.hessian(small, "sse"), Xs, ws, Xs[:, :1],
                        hessian_from="error").passed


# -- identities --------------------------------------------------------------------------------
def test_residual_block_with_zero_branch_has_identity_jacobian():
    net = symnet.Network(3, [Residual([Dense(4, "tanh"), Dense(3, "linear")])])
    w = net.init_params(seed=7)
    second = [c for c in range(net.n_params) if net.param_name(c).endswith("^(2)")]
    w[second] = 0.0                         # F(z) = W^(2) tanh(...) + b^(2) = 0
    J = symnet.input_jacobian(net).evaluate(np.random.default_rng(0).normal(size=(2, 3)), w)
    np.testing.assert_array_equal(J, np.broadcast_to(np.eye(3), (2, 3, 3)))


def test_rnn_with_one_step_is_the_mlp():
    rnn, mlp = symnet.RNN(2, 3, 2, steps=1), symnet.MLP([2, 3, 2])
    w = rnn.init_params(seed=8)
    blocks = {b.label: w[b.columns] for b in rnn.blocks}
    # the MLP's order: W^(1) = W_xh, b^(1) = b_h, W^(2) = W_hy, b^(2) = b_y (W_hh unused)
    w_mlp = np.concatenate([blocks["W_xh"], blocks["b_h"], blocks["W_hy"], blocks["b_y"]])
    X = np.random.default_rng(9).normal(size=(4, 2))
    np.testing.assert_array_equal(rnn.forward(X, w), mlp.forward(X, w_mlp))
    T = X[:, ::-1]
    g = symnet.gradient(rnn, "sse").evaluate(X, w, T)
    hh = slice(6, 15)
    np.testing.assert_array_equal(g[hh], 0.0)            # W_hh multiplies h^(0) = 0
    expected = symnet.gradient(mlp, "sse").evaluate(X, w_mlp, T)   # the MLP's matrix form
    np.testing.assert_allclose(np.delete(g, np.r_[hh]), expected, rtol=1e-14,
                               atol=1e-14 * np.abs(expected).max())   # sums in another order


def test_conv1d_spanning_the_input_is_a_dense_layer():
    conv = symnet.Network((2, 3), [Conv1D(2, 3, "tanh")])
    dense = symnet.Network(6, [Dense(2, "tanh")])
    # kernel (2, 2, 3) row-major is the dense matrix (2, 6) row-major: the same vector
    w = conv.init_params(seed=10)
    X = np.random.default_rng(11).normal(size=(3, 6))
    np.testing.assert_allclose(conv.forward(X, w), dense.forward(X, w), rtol=1e-15)
    T = np.zeros((3, 2))
    np.testing.assert_allclose(symnet.gradient(conv, "sse").evaluate(X, w, T),
                               symnet.gradient(dense, "sse").evaluate(X, w, T), rtol=1e-14)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("build, expected", [
    (lambda: symnet.Network((1, 4), [Conv1D(2, 5, "tanh")]), r"\(1, 4\)"),
    (lambda: symnet.Network((1, 3, 3), [Conv2D(1, 4, "tanh")]), r"\(1, 3, 3\)"),
    (lambda: symnet.Network(12, [Conv1D(2, 3, "tanh")]), r"\(C, L\)"),
    (lambda: symnet.Network(3, [Residual([Dense(4, "tanh")])]), r"\(3,\)"),
    (lambda: symnet.Network(3, [Dense(4, "softmax"), Dense(2, "linear")]), "output"),
    (lambda: symnet.Network((1, 4), [Conv1D(2, 2, "softmax")]), "Dense output"),
    (lambda: symnet.Network((2, 4), [Dense(3, "tanh")]), r"Flatten\(\)"),
    (lambda: symnet.RNN(2, 3, 1, steps=0), "steps"),
    (lambda: symnet.RNN(2, 3, 1, steps=2, output="softmax", outputs="all"), "outputs='last'"),
])
def test_bad_networks_are_refused_naming_the_shape(build, expected):
    with pytest.raises(symnet.SymnetError, match=expected):
        build()


def test_inputs_of_the_wrong_width_are_refused_naming_the_shape():
    net = symnet.Network((2, 4), [Conv1D(1, 2, "tanh")])
    with pytest.raises(symnet.SymnetError, match=r"\(N, 8\).*\(2, 4\)"):
        net.forward(np.ones((3, 7)), net.init_params())
    rnn = symnet.RNN(2, 3, 1, steps=4)
    with pytest.raises(symnet.SymnetError, match=r"\(N, 8\).*4 steps x 2 inputs"):
        rnn.forward(np.ones((3, 6)), rnn.init_params())
    with pytest.raises(symnet.SymnetError, match="finite"):
        net.forward(np.full((1, 8), np.nan), net.init_params())


def test_too_large_symbolic_requests_are_refused_up_front():
    with pytest.raises(symnet.TooLargeError, match="paths|terms"):
        symnet.RNN(2, 8, 1, steps=20).outputs
    with pytest.raises(symnet.TooLargeError):
        symnet.hessian(symnet.Network(1000, [Dense(1, "linear")]), "sse")


def test_verify_on_a_network_of_dense_layers_points_to_the_mlp():
    net = symnet.Network(2, [symnet.layers.Dense(2, "tanh"), symnet.layers.Dense(1, "linear")])
    with pytest.raises(symnet.SymnetError, match="use symnet.MLP"):
        symnet.verify("(t_1 - y_1) z_1^(1)", "dE/dw_11^(2)", net=net)
    # the MLP it points to has the same parameters, in the same order, and verify decides there
    mlp = symnet.MLP([2, 2, 1], hidden="tanh")
    assert mlp.params == net.params
    assert symnet.verify("(y_1 - t_1) z_1^(1)", "dE/dw_11^(2)", net=mlp).equal
