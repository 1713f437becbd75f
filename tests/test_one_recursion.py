"""The pieces that make each recursion exist once: the parameter locator, the entry-level
R-operator along one parameter or along any v, and the matrix-level R-operator for one
direction (W,) or many (W, P) -- each checked against an independent source."""
import re

import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from symnet.compiled import matrix_form as engine
from symnet.derive.first_order import symbolic_deltas
from symnet.errors import SymnetError
from symnet.derive.r_operator import r_operator, seed_partials

NAME = re.compile(r"^(w|b)_(\d)(\d)?\^\((\d)\)$")  # w_ji^(l) / b_j^(l), one-digit indices


@pytest.mark.parametrize("sizes", [[1, 1], [2, 3, 1], [3, 2, 4, 2]])
def test_param_location_reads_the_parameter_names(sizes):
    """The location of column c is what the name of net.params[c] says (w_ji^(l): row j, column i)."""
    net = symnet.MLP(sizes)
    for column, parameter in enumerate(net.params):
        kind, j, i, layer = NAME.match(parameter.name).groups()
        expected = (int(layer), kind, int(j) - 1, None if i is None else int(i) - 1)
        assert net.param_location(column) == expected
    assert net.param_locations == tuple(net.param_location(c) for c in range(net.n_params))


@pytest.mark.parametrize("column", [-1, 9, 1.5, "w_11^(1)", None])
def test_param_location_refuses_what_is_not_a_column(column):
    net = symnet.MLP([2, 2, 1])  # W = 9
    with pytest.raises(SymnetError, match=r"column must be an integer in \[0, 9\)"):
        net.param_location(column)


CASES = [([2, 2, 1], "tanh", "linear", "sse"),
         ([2, 2, 2], "sigmoid", "softmax", "cross_entropy")]


def _direct_hessian(net, loss):
    """SymPy's own Hessian of E_n, fully substituted into x, w, b and t (no recursion)."""
    t = net.targets
    if loss == "sse":
        y = net.outputs
        error = sp.Rational(1, 2) * sp.Add(*[(y[k] - t[k]) ** 2 for k in range(len(t))])
    else:  # softmax cross-entropy -sum_k t_k log y_k = -sum_k t_k a_k + (sum_k t_k) log sum_m e^a_m
        a = [net.substitution[s] for s in net.layer_pre_activations(net.n_layers)]
        error = (-sp.Add(*[tk * ak for tk, ak in zip(t, a)])
                 + sp.Add(*t) * sp.log(sp.Add(*[sp.exp(ak) for ak in a])))
    return sp.hessian(error, net.params)


def _at(net, expressions, x, w, t):
    """The expressions at (x, w, t), evaluated by SymPy in 30-digit arithmetic."""
    symbols = list(net.inputs) + list(net.params) + list(net.targets)
    values = {s: sp.Float(v, 30) for s, v in zip(symbols, [*x, *w, *t])}
    return np.array(sp.Matrix(expressions).xreplace(values).evalf(30), dtype=float).ravel()


@pytest.mark.parametrize("sizes, hidden, output, loss", CASES)
def test_r_operator_along_a_parameter_and_along_v_is_sympys_hessian(sizes, hidden, output, loss):
    """Column q of H (v = e_q, given as {q: 1}) and H v for a numeric v with zero entries."""
    net = symnet.MLP(sizes, hidden=hidden, output=output)
    rule = symnet.get_loss(loss, net)
    rng = np.random.default_rng(5)
    x, w, t = rng.normal(size=sizes[0]), rng.normal(size=net.n_params), rng.random(sizes[-1])
    truth = _at(net, _direct_hessian(net, loss), x, w, t).reshape(net.n_params, net.n_params)
    definitions = {}
    deltas = symbolic_deltas(net, rule, definitions)
    partials = seed_partials(net, rule.output_deltas(net))
    full = net.substitute(definitions)

    def evaluated(direction):
        product, _ = r_operator(net, deltas, partials, direction)
        return _at(net, [sp.sympify(p).xreplace(full) for p in product], x, w, t)

    for q in (0, net.n_params - 1):  # a first-layer weight, the last bias
        np.testing.assert_allclose(evaluated({q: 1}), truth[:, q], rtol=1e-12, atol=1e-13)
    v = rng.normal(size=net.n_params)
    v[::3] = 0.0  # zero components add no terms
    np.testing.assert_allclose(evaluated(list(v)), truth @ v, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("sizes, hidden, output, loss", [
    ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 3), "softplus", "softmax", "cross_entropy"),
    ((2, 3, 3), "tanh", "softmax", "sse"),
])
def test_matrix_r_operator_one_or_many_directions_equals_central_differences(
        sizes, hidden, output, loss):
    """engine.hessian_vector_values with V (W,) and V (W, P) against central differences
    of the oracle's complex-step gradient (good to ~1e-8 relative)."""
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    rng = np.random.default_rng(11)
    X, T = rng.normal(size=(5, sizes[0])), rng.random((5, sizes[-1]))
    w, V = 0.7 * rng.normal(size=net.n_params), rng.normal(size=(net.n_params, 3))
    H = o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
    rule = symnet.get_loss(loss, net)
    scale = np.abs(H).max() * np.abs(V).sum(axis=0).max()
    np.testing.assert_allclose(engine.hessian_vector_values(net, rule, X, w, T, V), H @ V,
                               rtol=0, atol=1e-7 * scale)
    one = engine.hessian_vector_values(net, rule, X, w, T, V[:, 1])
    assert one.shape == (net.n_params,)
    np.testing.assert_allclose(one, H @ V[:, 1], rtol=0, atol=1e-7 * scale)
