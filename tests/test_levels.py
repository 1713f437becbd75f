"""The two levels of every derivation agree: entry by entry (named SymPy formulas,
lambdified one entry at a time) and layer by layer (the NumPy matrix form).

The entry route and the matrix route share no code beyond the network's forward
equations, so agreement to rounding is evidence for both; the values themselves
are checked against the independent oracle in the other test modules.
"""

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.derive.first_order import layer_form

CASES = [
    ([3, 4, 2], "tanh", "linear", "sse"),
    ([2, 3, 2], "sigmoid", "sigmoid", "cross_entropy"),
    ([2, 3, 3], ["softplus"], "softmax", "cross_entropy"),
    ([2, 2, 2, 2], ["relu", "leaky_relu"], "softmax", "sse"),
    ([2, 3, 2], "tanh", "sigmoid", "sse"),
]


def _point(net, loss, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(4, net.sizes[0]))
    T = rng.random((4, net.sizes[-1]))
    if net.activations[-1].name == "softmax" and loss == "cross_entropy":
        T /= T.sum(axis=1, keepdims=True)
    return X, net.init_params(seed=seed), T


def _derivations(net, loss):
    return [symnet.input_jacobian(net), symnet.gradient(net, loss), symnet.param_jacobian(net),
            symnet.hessian(net, loss), symnet.hessian(net, loss, approx="gauss_newton")]


@pytest.mark.parametrize("sizes, hidden, output, loss", CASES)
def test_matrix_form_equals_entry_form(sizes, hidden, output, loss):
    net = symnet.MLP(sizes, hidden=hidden, output=output)
    X, w, T = _point(net, loss, seed=3)
    for derivation in _derivations(net, loss):
        fast = derivation.evaluate(X, w, T)
        slow = derivation.evaluate_entries(X, w, T)
        scale = max(1.0, np.abs(slow).max())
        assert np.abs(fast - slow).max() <= 1e-13 * scale, derivation


@pytest.mark.parametrize("sizes, hidden, output, loss", CASES)
def test_layer_form_equals_entry_definitions(sizes, hidden, output, loss):
    """delta^(l) = h'(a^(l)) o W^(l+1)T delta^(l+1), built from matrices, equals the entry formulas."""
    net = symnet.MLP(sizes, hidden=hidden, output=output)
    definitions = symnet.gradient(net, loss).definitions
    for deltas, matrix_form in layer_form(net, loss).values():
        for delta, value in zip(deltas, matrix_form):
            assert sp.expand(definitions[delta] - value) == 0


def test_bias_columns_broadcast_in_entry_route():
    """A constant entry (dy_k/db_k^(L) = 1 for linear outputs) comes back as a full column."""
    net = symnet.MLP([3, 4, 2])
    X, w, _ = _point(net, "sse", seed=0)
    jacobian = symnet.param_jacobian(net).evaluate_entries(X, w)
    last = net.param_index("b_2^(2)")
    np.testing.assert_array_equal(jacobian[:, 1, last], np.ones(4))
    np.testing.assert_array_equal(jacobian[:, 0, last], np.zeros(4))


@pytest.mark.parametrize("spelling", [
    lambda u: sp.Max(0, u),
    lambda u: (u + sp.Abs(u)) / 2,
    lambda u: sp.Piecewise((0, u < 0), (u, True)),
    lambda u: u * sp.Heaviside(u),
])
def test_relu_derivative_at_zero_is_zero_however_spelt(spelling):
    u = sp.Symbol("u", real=True)
    act = symnet.register_activation(f"relu_spelt_{abs(hash(str(spelling(u)))) % 10**6}",
                                     spelling(u), u)
    assert float(act.derivative_numpy(np.array(0.0))) == 0.0
    assert float(act.derivative_numpy(np.array(2.0))) == 1.0
    assert float(act.derivative_numpy(np.array(-2.0))) == 0.0


def test_registered_activation_in_a_network_matches_central_differences():
    u = sp.Symbol("u", real=True)
    symnet.register_activation("swish_test", u * symnet.graph.functions.sigmoid(u), u)
    net = symnet.MLP([2, 3, 1], hidden="swish_test")
    X, w, T = _point(net, "sse", seed=5)
    gradient = symnet.gradient(net, "sse").evaluate(X, w, T)
    h = 1e-6
    # Central differences of the error by hand: (E(w + h e) - E(w - h e)) / 2h per parameter.
    numeric = np.array([(symnet.loss_value(net, "sse", X, w + h * e, T)
                         - symnet.loss_value(net, "sse", X, w - h * e, T)) / (2 * h)
                        for e in np.eye(net.n_params)])
    np.testing.assert_allclose(gradient, numeric, rtol=1e-7, atol=1e-9)


def test_hessian_too_large_is_refused_with_an_estimate():
    net = symnet.MLP([30, 30, 30, 5])
    with pytest.raises(symnet.TooLargeError, match=r"W = 2015 .*4,060,225 symbolic entries"):
        symnet.hessian(net, "sse")


def test_full_expansion_too_large_is_refused():
    net = symnet.MLP([10] * 8 + [2])  # 10^8 paths from an input to an output
    gradient = symnet.gradient(net, "sse")
    with pytest.raises(symnet.TooLargeError, match="named form"):
        gradient.matrix


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear"])
@pytest.mark.parametrize("module", ["numpy", "mpmath", "math"])
def test_users_own_lambdify_of_the_outputs_matches_forward(hidden, module):
    """A user's sympy.lambdify of net.outputs (no CSE, so every argument is printed as the
    sum it is) must give the forward pass: the printers of symnet's functions bracket
    their arguments (a leaky ReLU once printed s*a + b for s*(a + b))."""
    net = symnet.MLP([2, 3, 1], hidden=hidden, output="sigmoid")
    rng = np.random.default_rng(11)
    w, x = rng.normal(size=net.n_params), rng.normal(size=2)
    function = sp.lambdify(list(net.inputs) + list(net.params), net.outputs[0], module)
    # Oracle: the forward pass by hand, h(W1 x + b1) then sigmoid(W2 z + b2).
    (W1, W2), (b1, b2) = net.unpack(w)
    a1 = W1 @ x + b1
    z1 = {"sigmoid": 1 / (1 + np.exp(-a1)), "tanh": np.tanh(a1), "relu": np.maximum(a1, 0),
          "leaky_relu": np.where(a1 > 0, a1, 0.01 * a1), "softplus": np.log1p(np.exp(a1)),
          "linear": a1}[hidden]
    expected = 1 / (1 + np.exp(-(W2 @ z1 + b2)))[0]
    assert float(function(*x, *w)) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda: symnet.activation("relu", derivative_at_zero="__import__('os').getcwd()"),
    lambda: symnet.activation("leaky_relu", slope="1/10"),
    lambda: symnet.register_activation("from_text", "__import__('os').getcwd()",
                                       sp.Symbol("u")),
])
def test_text_never_reaches_sympify(call):
    """Parameters and expressions given as text are refused, not parsed by sympify (eval)."""
    with pytest.raises(symnet.SymnetError, match="number|not text"):
        call()


def test_a_network_too_large_to_build_is_refused_with_its_size():
    with pytest.raises(symnet.TooLargeError, match="W = 16,822,282 parameters"):
        symnet.MLP([4096, 4096, 10])
