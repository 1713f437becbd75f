"""MLP construction, parameter layout and the forward pass, against the spec
and the NumPy oracle."""
import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import ARCHS, HAND111, MAZUR, arch_id, lambdify_at, make_net, random_problem


# ---------------------------------------------------------------- attributes
@pytest.mark.parametrize("sizes,W", [
    ((3, 4, 2), 26),          # 3*4 + 4 + 4*2 + 2 (REFERENCE.md)
    ((1, 10, 1), 31),         # 10 + 10 + 10 + 1 (REFERENCE.md, MATLAB example)
    ((2, 2, 2), 12),          # Mazur: 8 weights + 4 per-unit biases
    ((4, 3, 3, 2), 15 + 12 + 8),
    ((5, 1), 6),
])
def test_sizes_layers_and_param_count(sizes, W):
    net = make_net(sizes, "tanh", "linear")
    assert tuple(net.sizes) == sizes
    assert net.n_layers == len(sizes) - 1
    assert net.n_params == W == len(net.params)
    assert len(set(net.params)) == W            # all distinct symbols


def test_inputs_and_targets_are_named_symbols():
    net = make_net((3, 4, 2), "tanh", "linear")
    assert [str(s) for s in net.inputs] == ["x_1", "x_2", "x_3"]
    assert [str(s) for s in net.targets] == ["t_1", "t_2"]
    assert all(isinstance(s, sp.Symbol) for s in net.inputs + net.targets + net.params)


# Documented canonical order for 3-4-2: layer 1 weights (4x3 row-major) = cols 0..11,
# layer 1 biases = 12..15, layer 2 weights (2x4) = 16..23, layer 2 biases = 24, 25.
@pytest.mark.parametrize("col,name", [
    (0, "w_11^(1)"), (1, "w_12^(1)"), (2, "w_13^(1)"), (3, "w_21^(1)"), (11, "w_43^(1)"),
    (12, "b_1^(1)"), (15, "b_4^(1)"), (16, "w_11^(2)"), (17, "w_12^(2)"), (20, "w_21^(2)"),
    (23, "w_24^(2)"), (24, "b_1^(2)"), (25, "b_2^(2)"),
])
def test_documented_param_order_342(col, name):
    net = make_net((3, 4, 2), "tanh", "linear")
    assert net.param_name(col) == name
    assert str(net.params[col]) == name
    assert net.param_index(name) == col
    assert net.param_index(net.params[col]) == col


# Indices >= 10 are comma separated.  3-10-1: w_ji^(1) at (j-1)*3 + (i-1),
# so w_10,3^(1) is col 9*3 + 2 = 29; biases b^(1) at 30..39; w_1i^(2) at 40..49; b_1^(2) = 50.
@pytest.mark.parametrize("col,name", [
    (29, "w_10,3^(1)"), (27, "w_10,1^(1)"), (26, "w_93^(1)"), (39, "b_10^(1)"),
    (40, "w_11^(2)"), (49, "w_1,10^(2)"), (50, "b_1^(2)"),
])
def test_param_names_with_two_digit_indices(col, name):
    net = make_net((3, 10, 1), "tanh", "linear")
    assert net.n_params == 51
    assert net.param_name(col) == name
    assert net.param_index(name) == col


@pytest.mark.parametrize("sizes", [(3, 4, 2), (12, 11, 2), (2, 3, 3, 2)])
def test_param_index_name_roundtrip(sizes):
    net = make_net(sizes, "tanh", "linear")
    names = [net.param_name(j) for j in range(net.n_params)]
    assert len(set(names)) == net.n_params
    assert [net.param_index(n) for n in names] == list(range(net.n_params))
    assert [net.param_index(p) for p in net.params] == list(range(net.n_params))


# ------------------------------------------------------------------ pack/unpack
@pytest.mark.parametrize("sizes", [(3, 4, 2), (2, 3, 3, 1), (4, 1)])
def test_pack_unpack_roundtrip_and_layout(rng, sizes):
    net = make_net(sizes, "tanh", "linear")
    w = rng.normal(size=net.n_params)
    weights, biases = net.unpack(w)
    assert [np.shape(Wl) for Wl in weights] == [(m, n) for n, m in zip(sizes[:-1], sizes[1:])]
    assert [np.shape(b) for b in biases] == [(m,) for m in sizes[1:]]
    # the oracle's independent unpacking gives the same matrices
    for (Wo, bo), Wl, bl in zip(o.unpack(sizes, w), weights, biases):
        np.testing.assert_array_equal(Wl, Wo)
        np.testing.assert_array_equal(bl, bo)
    packed = net.pack(weights, biases)
    assert isinstance(packed, np.ndarray) and packed.dtype == np.float64 and packed.shape == (net.n_params,)
    np.testing.assert_array_equal(packed, w)


def test_pack_puts_w_ji_in_its_named_column():
    net = make_net((3, 4, 2), "tanh", "linear")
    weights = [np.zeros((4, 3)), np.zeros((2, 4))]
    biases = [np.zeros(4), np.zeros(2)]
    weights[0][1, 2] = 7.0          # w_23^(1): j=2, i=3
    weights[1][1, 0] = 5.0          # w_21^(2)
    biases[1][1] = 3.0              # b_2^(2)
    w = net.pack(weights, biases)
    assert w[net.param_index("w_23^(1)")] == 7.0 and w[5] == 7.0        # (2-1)*3 + (3-1)
    assert w[net.param_index("w_21^(2)")] == 5.0 and w[20] == 5.0       # 16 + (2-1)*4 + 0
    assert w[25] == 3.0 and np.count_nonzero(w) == 3


def test_init_params_shape_finite_deterministic():
    net = make_net((3, 4, 2), "tanh", "linear")
    w0 = net.init_params(seed=0)
    assert w0.shape == (26,) and np.all(np.isfinite(w0))
    np.testing.assert_array_equal(w0, net.init_params(seed=0))
    assert not np.array_equal(w0, net.init_params(seed=1))


# ---------------------------------------------------------------------- forward
def test_forward_mazur():
    net = make_net((2, 2, 2), "sigmoid", "sigmoid")
    # REFERENCE.md / Mazur: y = (0.75136507, 0.772928465)
    np.testing.assert_allclose(net.forward(MAZUR["X"], MAZUR["w"]), [[0.75136507, 0.772928465]], atol=1e-8)


def test_forward_hand_111():
    net = make_net((1, 1, 1), "sigmoid", "linear")
    # y = 3 sigma(0.5*2 - 1) + 0.5 = 2 (see helpers.HAND111)
    assert net.forward(HAND111["X"], HAND111["w"])[0, 0] == pytest.approx(2.0, rel=1e-14)


@pytest.mark.parametrize("arch", ARCHS, ids=arch_id)
def test_forward_matches_oracle(rng, arch):
    sizes, hidden, output, _ = arch
    X, w, _ = random_problem(rng, sizes, n_samples=5)
    Y = make_net(sizes, hidden, output).forward(X, w)
    assert Y.shape == (5, sizes[-1])
    np.testing.assert_allclose(Y, o.forward(sizes, hidden, output, X, w), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("arch", ARCHS[:5], ids=arch_id)
def test_forward_batch_equals_single_samples(rng, arch):
    sizes, hidden, output, _ = arch
    net = make_net(sizes, hidden, output)
    X, w, _ = random_problem(rng, sizes, n_samples=4)
    Y = net.forward(X, w)
    singles = [net.forward(x, w) for x in X]           # 1-D x of length D -> (K,)
    assert all(s.shape == (sizes[-1],) for s in singles)
    np.testing.assert_allclose(Y, np.stack(singles), rtol=1e-13, atol=1e-15)


def test_softmax_outputs_sum_to_one(rng):
    sizes = (3, 3, 4)
    X, w, _ = random_problem(rng, sizes, n_samples=6, scale=3.0)
    Y = make_net(sizes, "tanh", "softmax").forward(X, w)
    np.testing.assert_allclose(Y.sum(axis=1), 1.0, rtol=1e-14)


def test_hidden_list_one_per_layer(rng):
    sizes, hidden = (2, 3, 3, 1), ("relu", "sigmoid")
    X, w, _ = random_problem(rng, sizes)
    np.testing.assert_allclose(make_net(sizes, hidden, "linear").forward(X, w),
                               o.forward(sizes, hidden, "linear", X, w), rtol=1e-13)
    # and the order matters (not the same function as the reversed list)
    assert not np.allclose(o.forward(sizes, hidden, "linear", X, w),
                           o.forward(sizes, hidden[::-1], "linear", X, w))


# -------------------------------------------------------------- symbolic outputs
@pytest.mark.parametrize("arch", [ARCHS[0], ARCHS[2], ARCHS[4], ARCHS[10]], ids=arch_id)
def test_symbolic_outputs_lambdified_match_oracle(rng, arch):
    sizes, hidden, output, _ = arch
    net = make_net(sizes, hidden, output)
    assert net.outputs.shape == (sizes[-1], 1)
    assert net.outputs.free_symbols <= set(net.inputs) | set(net.params)
    X, w, _ = random_problem(rng, sizes, n_samples=1)
    got = lambdify_at(net, net.outputs, X[0], w).ravel()
    np.testing.assert_allclose(got, o.forward(sizes, hidden, output, X, w)[0], rtol=1e-12)
