"""Bad input raises symnet.SymnetError (a ValueError) with a useful message.
Matches are deliberately loose: they pin the information, not the wording."""
import numpy as np
import pytest

import symnet
from helpers import derivation, make_net



def test_symnet_error_is_a_value_error():
    assert issubclass(symnet.SymnetError, ValueError)


# ---------------------------------------------------------------- construction
@pytest.mark.parametrize("kwargs", [dict(hidden="swish"), dict(output="gelu"),
                                    dict(hidden=["tanh", "bogus"])])
def test_unknown_activation_lists_known_ones(kwargs):
    sizes = [2, 3, 3, 1] if isinstance(kwargs.get("hidden"), list) else [2, 3, 1]
    with pytest.raises(symnet.SymnetError, match="sigmoid") as info:
        symnet.MLP(sizes, **kwargs)
    assert "tanh" in str(info.value) and "relu" in str(info.value)


@pytest.mark.parametrize("hidden", ["softmax", ["tanh", "softmax"]])
def test_softmax_in_hidden_layer(hidden):
    with pytest.raises(symnet.SymnetError, match="(?i)softmax"):
        symnet.MLP([2, 3, 3, 2], hidden=hidden)


@pytest.mark.parametrize("sizes", [[2, 0, 1], [2, -3, 1], [2, 1.5, 1], [0, 2, 1], [2, 3, 0],
                                   [2, "3", 1], [2, None, 1]])
def test_sizes_must_be_positive_ints(sizes):
    with pytest.raises(symnet.SymnetError):
        symnet.MLP(sizes, hidden="tanh")


@pytest.mark.parametrize("sizes", [[], [3]])
def test_sizes_need_input_and_output_layer(sizes):
    # Reading of the spec: sizes = [D, n1, ..., K] needs at least D and K.
    with pytest.raises(symnet.SymnetError):
        symnet.MLP(sizes)


def test_hidden_list_of_wrong_length():
    # "hidden: name or list (one per hidden layer)": 2 hidden layers, 1 name given.
    with pytest.raises(symnet.SymnetError):
        symnet.MLP([2, 3, 3, 1], hidden=["tanh"])


# ---------------------------------------------------------------- shapes
NET = dict(sizes=(3, 4, 2), hidden="tanh", output="linear")       # D = 3, K = 2, W = 26


@pytest.fixture
def net():
    return make_net(NET["sizes"], NET["hidden"], NET["output"])


@pytest.fixture
def good(rng):
    return rng.normal(size=(5, 3)), rng.normal(size=26), rng.normal(size=(5, 2))


def call(kind, net, X, w, T):
    if kind == "forward":
        return net.forward(X, w)
    key = (NET["sizes"], NET["hidden"], NET["output"])        # cached derivations of `net`
    if kind == "gradient":
        return derivation("gradient", *key, "sse").evaluate(X, w, T)
    if kind == "param_jacobian":
        return derivation("param_jacobian", *key).evaluate(X, w)
    if kind == "input_jacobian":
        return derivation("input_jacobian", *key, "backprop").evaluate(X, w)
    if kind == "hessian":
        return derivation("hessian", *key, "sse").evaluate(X, w, T)
    if kind == "loss_value":
        return symnet.loss_value(net, "sse", X, w, T)
    raise AssertionError(kind)


ALL = ["forward", "gradient", "param_jacobian", "input_jacobian", "hessian", "loss_value"]
WITH_T = ["gradient", "hessian", "loss_value"]


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("Xshape", [(5, 2), (5, 4), (5, 3, 1), (2,)])
def test_X_wrong_shape_names_D(net, good, kind, Xshape):
    _, w, T = good
    X = np.ones(Xshape)
    with pytest.raises(symnet.SymnetError, match=r"\b3\b"):     # expected (N, 3); no 3 in the bad shape
        call(kind, net, X, w, T[:Xshape[0]] if len(Xshape) > 1 else T[:1])


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("wshape", [(25,), (27,), (2, 13), ()])
def test_w_wrong_shape_names_W(net, good, kind, wshape):
    X, _, T = good
    with pytest.raises(symnet.SymnetError, match="26"):
        call(kind, net, X, np.ones(wshape), T)


@pytest.mark.parametrize("kind", WITH_T)
@pytest.mark.parametrize("Tshape", [(5, 3), (5, 1), (5,)])
def test_T_wrong_K_names_K(net, good, kind, Tshape):
    X, w, _ = good
    with pytest.raises(symnet.SymnetError, match=r"\b2\b"):     # expected (5, 2)
        call(kind, net, X, w, np.ones(Tshape))


@pytest.mark.parametrize("kind", WITH_T)
def test_T_wrong_number_of_samples(net, good, kind):
    X, w, _ = good
    with pytest.raises(symnet.SymnetError, match=r"\b5\b"):     # X has 5 rows, T has 4
        call(kind, net, X, w, np.ones((4, 2)))


@pytest.mark.parametrize("kind", WITH_T)
def test_T_missing(net, good, kind):
    X, w, _ = good
    with pytest.raises((symnet.SymnetError, TypeError)):
        call(kind, net, X, w, None)


NON_FINITE_CASES = [(k, where) for k in ALL for where in ("X", "w")] + [(k, "T") for k in WITH_T]


@pytest.mark.parametrize("kind,where", NON_FINITE_CASES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(net, good, kind, where, bad):
    X, w, T = (a.copy() for a in good)
    {"X": X, "w": w, "T": T}[where].flat[1] = bad
    with pytest.raises(symnet.SymnetError, match=r"(?i)finite|nan|inf"):
        call(kind, net, X, w, T)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("output", ["linear", "tanh", "relu", "softplus"])
@pytest.mark.parametrize("what", ["gradient", "hessian", "gauss_newton", "loss_value"])
def test_cross_entropy_needs_sigmoid_or_softmax_outputs(rng, output, what):
    net = make_net((2, 3, 2), "tanh", output)
    X, w, T = rng.normal(size=(2, 2)), rng.normal(size=net.n_params), np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(symnet.SymnetError, match="(?i)sigmoid|softmax|cross"):
        if what == "gradient":
            symnet.gradient(net, "cross_entropy")
        elif what == "hessian":
            symnet.hessian(net, "cross_entropy")
        elif what == "gauss_newton":
            symnet.hessian(net, "cross_entropy", approx="gauss_newton")
        else:
            symnet.loss_value(net, "cross_entropy", X, w, T)


def test_unknown_loss(rng):
    net = make_net((2, 3, 2), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match="sse"):
        symnet.gradient(net, "mae")


def test_unknown_hessian_approximation():
    net = make_net((2, 3, 2), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match="gauss_newton"):
        symnet.hessian(net, "sse", approx="bfgs")


def test_unknown_input_jacobian_method():
    net = make_net((2, 3, 2), "tanh", "linear")
    with pytest.raises(symnet.SymnetError, match="backprop"):
        symnet.input_jacobian(net, method="forward_mode")


# ---------------------------------------------------------------- names
@pytest.mark.parametrize("name", ["w_99^(1)", "w_11^(3)", "b_5^(1)", "v_11^(1)", "w_11"])
def test_param_index_unknown_name(net, name):
    with pytest.raises(symnet.SymnetError):
        net.param_index(name)


@pytest.mark.parametrize("col", [26, 100])
def test_param_name_out_of_range(net, col):
    # Reading of the spec: an out-of-range column is bad input like any other.
    with pytest.raises(symnet.SymnetError):
        net.param_name(col)
