"""symnet.input_sensitivity, sensitivity_trend and their plots, against an independent reference.

The reference Jacobian is central differences of the plain NumPy forward pass in
``tests/oracle.py`` (no symnet): (f(x + h e_i) - f(x - h e_i)) / 2h with h = 1e-6,
whose error (truncation h^2 |f'''| / 6 plus rounding eps |f| / h) is below 1e-9 here.
Rankings are checked on networks whose Jacobian is written down by hand.
"""
import numpy as np
import pytest

import symnet

import oracle

STEP = 1e-6
ARCHITECTURES = [((3, 4, 2), "tanh", "linear"), ((2, 5, 3, 1), "sigmoid", "sigmoid"),
                 ((4, 3, 3), "tanh", "softmax"), ((1, 6, 2), "softplus", "tanh")]


def central_jacobian(sizes, hidden, output, X, w):
    """(N, K, D): central differences of oracle.forward, one input column at a time."""
    columns = []
    for i in range(X.shape[1]):
        e = np.zeros(X.shape[1])
        e[i] = STEP
        columns.append((oracle.forward(sizes, hidden, output, X + e, w)
                        - oracle.forward(sizes, hidden, output, X - e, w)) / (2 * STEP))
    return np.stack(columns, axis=-1)


@pytest.fixture(params=ARCHITECTURES, ids=lambda a: f"{'-'.join(map(str, a[0]))}-{a[1]}-{a[2]}")
def problem(request, rng):
    sizes, hidden, output = request.param
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    X = rng.normal(size=(7, sizes[0]))
    w = rng.normal(scale=0.8, size=net.n_params)
    return net, (sizes, hidden, output), X, w


# -- input_sensitivity -----------------------------------------------------------------------
def test_jacobian_and_scores_equal_those_of_central_differences(problem):
    net, arch, X, w = problem
    reference = central_jacobian(*arch, X, w)
    s = symnet.input_sensitivity(net, X, w)
    np.testing.assert_allclose(s.jacobian, reference, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(s.mean_abs, np.abs(reference).mean(axis=0), rtol=1e-7, atol=1e-9)
    per_sample = np.abs(reference).sum(axis=1)                        # sum_k |J_nki|
    np.testing.assert_allclose(s.sample_importance, per_sample, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(s.importance, per_sample.mean(axis=0), rtol=1e-7, atol=1e-9)
    assert s.ranking == tuple(f"x_{i + 1}" for i in np.argsort(-per_sample.mean(axis=0)))


def test_one_sample_keeps_its_axis(problem):
    net, arch, X, w = problem
    s = symnet.input_sensitivity(net, X[0], w)
    np.testing.assert_allclose(s.jacobian, central_jacobian(*arch, X[:1], w), rtol=1e-7, atol=1e-9)


def test_ranking_of_a_linear_network_by_hand():
    # y_1 = 3 x_1 - 0.5 x_2 + 2 x_3, y_2 = -x_1 + 4 x_2: J is the weight matrix everywhere,
    # importance = column sums of |W| = (3 + 1, 0.5 + 4, 2 + 0) = (4, 4.5, 2).
    net = symnet.MLP([3, 2], output="linear")
    w = net.pack([[[3.0, -0.5, 2.0], [-1.0, 4.0, 0.0]]], [[0.0, 0.0]])
    s = symnet.input_sensitivity(net, np.random.default_rng(0).normal(size=(5, 3)), w)
    np.testing.assert_array_equal(s.importance, [4.0, 4.5, 2.0])
    assert s.ranking == ("x_2", "x_1", "x_3")
    # per typical change: scales (1, 0.1, 3) give (4, 0.45, 6)
    scaled = symnet.input_sensitivity(net, np.zeros(3), w, scale=[1.0, 0.1, 3.0])
    np.testing.assert_allclose(scaled.importance, [4.0, 0.45, 6.0], rtol=1e-15)
    assert scaled.ranking == ("x_3", "x_1", "x_2")


def test_ties_keep_the_input_order():
    net = symnet.MLP([3, 1], output="linear")                  # y = x_1 + x_2 + x_3
    assert symnet.input_sensitivity(net, np.zeros(3), [1.0, 1.0, 1.0, 0.0]).ranking == (
        "x_1", "x_2", "x_3")


def test_a_saturated_tanh_unit_is_insensitive():
    # y = tanh(x_1) + tanh(x_2) at x = (0, 10): slopes 1 and sech(10)^2 = 8.2446e-9
    # (written as 1 / cosh^2: 1 - tanh(10)^2 would lose 8 digits to cancellation)
    net = symnet.MLP([2, 2, 1], hidden="tanh")
    w = net.pack([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    s = symnet.input_sensitivity(net, [0.0, 10.0], w)
    np.testing.assert_allclose(s.importance, [1.0, 1 / np.cosh(10.0) ** 2], rtol=1e-12)
    assert s.ranking == ("x_1", "x_2")


@pytest.mark.parametrize("scale", [[1.0, -1.0], [1.0, 0.0], [1.0, np.nan], "1", [1.0, 2.0, 3.0],
                                   [[1.0, 1.0]]])
def test_scale_must_be_positive_per_input(scale):
    net = symnet.MLP([2, 1])
    with pytest.raises(symnet.SymnetError, match="scale must be"):
        symnet.input_sensitivity(net, np.zeros(2), net.init_params(), scale=scale)


# -- sensitivity_trend ------------------------------------------------------------------------
def test_trend_equals_central_differences_along_the_line(problem):
    net, arch, X, w = problem
    D = arch[0][0]
    grid, base = np.linspace(-3.0, 3.0, 13), X[0]
    column = D - 1
    trend = symnet.sensitivity_trend(net, w, f"x_{D}", grid, base)
    points = np.tile(base, (grid.size, 1))
    points[:, column] = grid
    np.testing.assert_array_equal(trend.points, points)
    np.testing.assert_allclose(trend.y, oracle.forward(*arch, points, w), rtol=1e-13, atol=1e-15)
    reference = central_jacobian(*arch, points, w)
    np.testing.assert_allclose(trend.jacobian, reference, rtol=1e-7, atol=1e-9)
    for k in range(arch[0][-1]):
        np.testing.assert_allclose(trend.slope(k), reference[:, k, column], rtol=1e-7, atol=1e-9)
    assert trend.feature == f"x_{D}" and trend.column == column


def test_feature_by_name_or_column_is_the_same_line():
    net = symnet.MLP([3, 4, 2])
    w, grid, base = net.init_params(seed=2), np.linspace(-1, 1, 5), [0.1, 0.2, 0.3]
    by_name = symnet.sensitivity_trend(net, w, "x_2", grid, base)
    by_column = symnet.sensitivity_trend(net, w, 1, grid, base)
    np.testing.assert_array_equal(by_name.jacobian, by_column.jacobian)


@pytest.mark.parametrize("feature", ["x_4", "x_0", "y_1", 3, -1, True, 1.0])
def test_unknown_feature_is_refused_with_the_inputs(feature):
    net = symnet.MLP([3, 2])
    with pytest.raises(symnet.SymnetError, match="x_1, x_2, x_3"):
        symnet.sensitivity_trend(net, net.init_params(), feature, [0.0, 1.0], np.zeros(3))


@pytest.mark.parametrize("grid,base_x,match", [
    ([], np.zeros(3), "grid must be"), ([[0.0, 1.0]], np.zeros(3), "grid must be"),
    (["0", "1"], np.zeros(3), "grid must be"), ([0.0, np.inf], np.zeros(3), "finite"),
    ([0.0, 1.0], np.zeros((2, 3)), r"base_x must be one input point of shape \(3,\)"),
    ([0.0, 1.0], np.zeros(2), r"\(N, 3\)"), ([True, False], np.zeros(3), "grid must be"),
])
def test_trend_bad_grid_or_base_is_refused(grid, base_x, match):
    net = symnet.MLP([3, 2])
    with pytest.raises(symnet.SymnetError, match=match):
        symnet.sensitivity_trend(net, net.init_params(), "x_1", grid, base_x)


# -- the figures show the numbers -----------------------------------------------------------------
def test_heatmap_and_bars_show_the_scores(problem):
    net, arch, X, w = problem
    s = symnet.input_sensitivity(net, X, w)
    heat, bars = symnet.plot_sensitivity(s).axes[:2]
    np.testing.assert_array_equal(heat.images[0].get_array(), s.mean_abs)
    order = np.argsort(-s.importance, kind="stable")
    np.testing.assert_array_equal([bar.get_width() for bar in bars.patches], s.importance[order])
    assert [t.get_text() for t in bars.get_yticklabels()] == list(s.ranking)
    at_2 = symnet.plot_sensitivity(s, sample=2).axes[0]
    np.testing.assert_array_equal(at_2.images[0].get_array(), s.jacobian[2])   # signed J


def test_trend_plot_draws_every_slope():
    net = symnet.MLP([2, 3, 2])
    trend = symnet.sensitivity_trend(net, net.init_params(seed=4), "x_1", np.linspace(-2, 2, 9),
                                     [0.0, 0.5])
    lines = symnet.plot_trend(trend).axes[0].lines
    slopes = [line for line in lines if line.get_label().startswith("dy_")]
    assert [line.get_label() for line in slopes] == ["dy_1/dx_1", "dy_2/dx_1"]
    for k, line in enumerate(slopes):
        np.testing.assert_array_equal(line.get_xdata(), trend.grid)
        np.testing.assert_array_equal(line.get_ydata(), trend.slope(k))
    only_second = symnet.plot_trend(trend, outputs=[1]).axes[0].lines
    assert [line.get_label() for line in only_second if line.get_label().startswith("dy_")] == [
        "dy_2/dx_1"]


@pytest.mark.parametrize("call,match", [
    (lambda s, t: symnet.plot_sensitivity(t), "input_sensitivity"),
    (lambda s, t: symnet.plot_trend(s), "sensitivity_trend"),
    (lambda s, t: symnet.plot_sensitivity(s, sample=5), r"sample must be in \[0, 5\)"),
    (lambda s, t: symnet.plot_sensitivity(s, sample="0"), "string"),
    (lambda s, t: symnet.plot_trend(t, outputs=[2]), r"\[0, 2\)"),
])
def test_plot_bad_arguments_are_refused(call, match):
    net = symnet.MLP([2, 3, 2])
    w = net.init_params()
    s = symnet.input_sensitivity(net, np.zeros((5, 2)), w)
    t = symnet.sensitivity_trend(net, w, "x_1", [0.0, 1.0], [0.0, 0.0])
    with pytest.raises(symnet.SymnetError, match=match):
        call(s, t)


def test_the_lessons_jacobian_view_ranks_as_central_differences_do():
    net = symnet.MLP([3, 4, 2], hidden="tanh")
    w, x = net.init_params(seed=3), np.array([0.5, -0.3, 0.8])
    reference = central_jacobian((3, 4, 2), "tanh", "linear", x[None, :], w)[0]
    view = symnet.views.jacobian_view(net, w, x, dx=0.01)
    np.testing.assert_allclose(view.importance, np.abs(reference).sum(axis=0), rtol=1e-7)
    assert view.ranking[0] == f"x_{int(np.argmax(np.abs(reference).sum(axis=0))) + 1}"
