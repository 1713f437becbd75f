"""The lessons' widgets, driven as a reader drives them: set a control's .value, read the result.

Oracles come from elsewhere: hand-computed values (working in comments), the
independent NumPy network of tests/oracle.py with complex-step derivatives, and
closed forms (the spectral radius of gradient descent on a quadratic).
"""
import os

import mpmath
import numpy as np
import pytest

if os.environ.get("CI"):  # CI installs the test extra: a missing package must fail, not skip
    import ipywidgets  # noqa: F401
    import matplotlib  # noqa: F401
else:
    pytest.importorskip("ipywidgets")
    pytest.importorskip("matplotlib")

import oracle  # noqa: E402
from symnet import SymnetError, examples, widgets  # noqa: E402

GRAPH_W = np.array([0.8, -0.4, 0.3, 0.9, 0.1, -0.2, 1.5, -2.0, 0.25])  # lesson 1's weights


def value_shown(panel, name):
    """The number a reader sees in the panel's HTML for ``name``."""
    marker = f"data-name='{name}'>"
    start = panel.text.value.index(marker) + len(marker)
    return float(panel.text.value[start:panel.text.value.index("<", start)])


def test_activation_slider_shows_the_exact_derivative():
    panel = widgets.activation_explorer("sigmoid", 0.0)
    assert panel.result.exact == 0.25                          # sigma'(0) = 1/4
    panel.controls["name"].value = "tanh"
    panel.controls["a"].value = 1.0
    # tanh'(1) = sech(1)^2 = 0.41997434161402606939... (mpmath at 40 digits); float64
    # formulas of it land within 2 ulps (1 - tanh(1)^2 and 4e/(1+e)^2 with e = exp(-2) alike)
    with mpmath.workdps(40):
        tanh_prime_1 = float(mpmath.sech(1) ** 2)
    assert abs(value_shown(panel, "exact") - tanh_prime_1) <= 2 * np.spacing(tanh_prime_1)
    assert panel.result.relative_error < 1e-7
    assert panel.image.value[:4] == b"\x89PNG"


def test_relu_at_the_kink_is_flagged_not_failed():
    view = widgets.activation_view("relu", 0.0)
    # convention h'(0) = 0; the central difference straddles the kink: (h - 0) / 2h = 1/2
    assert view.exact == 0.0 and view.numeric == pytest.approx(0.5, abs=1e-12)
    assert view.near_kink and "kink" in view.notes[0]


def test_forward_slider_matches_a_hand_computed_network():
    net = examples.network("graph")
    panel = widgets.forward_explorer(net, GRAPH_W, [0.5, -1.0])
    panel.controls["x1"].value = 1.2
    panel.controls["x2"].value = 0.3
    # a^(1) = (0.8*1.2 - 0.4*0.3 + 0.1, 0.3*1.2 + 0.9*0.3 - 0.2) = (0.94, 0.43)
    expected = 1.5 * np.tanh(0.94) - 2.0 * np.tanh(0.43) + 0.25
    assert value_shown(panel, "y_1") == pytest.approx(expected, rel=1e-14)
    assert panel.result.a[1] == pytest.approx([0.94, 0.43], rel=1e-14)


@pytest.mark.parametrize("x", [[0.5, -1.0], [1.2, 0.3], [-2.0, 0.7]])
def test_sum_over_paths_is_the_oracle_jacobian(x):
    net = examples.network("graph")
    f = lambda v: oracle.forward((2, 2, 1), "tanh", "linear", v[None], GRAPH_W)[0, 0]  # noqa: E731
    for i in range(2):
        e = np.zeros(2)
        e[i] = 1e-30
        reference = (f(np.asarray(x) + 1j * e)).imag / 1e-30   # complex step, no cancellation
        paths = sum(value for _, value in widgets.path_products(net, x, GRAPH_W, 0, i))
        assert paths == pytest.approx(reference, rel=1e-12)


def test_jacobian_slider_and_the_linearisation_error():
    net = examples.network("lm")
    w = net.init_params(seed=3)
    panel = widgets.jacobian_explorer(net, w, [0.5, -0.3, 0.8], dx=0.1)
    panel.controls["x3"].value = -1.0
    panel.controls["dx"].value = 0.0
    x = np.array([0.5, -0.3, -1.0])
    f = lambda v: oracle.forward((3, 4, 2), "tanh", "linear", v[None], w)[0]  # noqa: E731
    reference = np.stack([f(x + 1j * 1e-30 * e).imag / 1e-30 for e in np.eye(3)], axis=1)
    assert panel.result.J == pytest.approx(reference, rel=1e-12)
    assert value_shown(panel, "J_23") == pytest.approx(reference[1, 2], rel=1e-12)


def test_backprop_weight_slider_matches_the_oracle_gradient():
    ex = examples.worked_example()
    panel = widgets.backprop_explorer(ex.net, ex.w, ex.X[0], ex.T[0], param="w_21^(2)")
    panel.controls["weight"].value = -0.75
    w = ex.w.copy()
    w[ex.net.param_index("w_21^(2)")] = -0.75
    reference = oracle.grad((2, 2, 2), "sigmoid", "sigmoid", ex.X, w, ex.T, "sse")
    assert panel.result.gradient == pytest.approx(reference, rel=1e-12, abs=1e-15)


def test_difference_view_by_hand():
    # tanh at a = 0.5 with h = 0.1: central = (tanh(0.6) - tanh(0.4)) / 0.2
    view = widgets.difference_view("tanh", 0.5, -1.0)
    assert view.central == (np.tanh(0.6) - np.tanh(0.4)) / (2 * 0.1)
    assert view.forward == (np.tanh(0.6) - np.tanh(0.5)) / 0.1
    assert view.central_error < view.forward_error


def test_difference_view_at_a_zero_derivative_reports_the_absolute_error():
    # relu at its kink: h'(0) = 0 by convention; forward (relu(h) - 0) / h = 1, central 1/2.
    # No relative error exists there; the absolute errors are |1 - 0| and |1/2 - 0|.
    view = widgets.difference_view("relu", 0.0, -3.0)
    assert view.error_kind == "absolute"
    assert view.forward_error == 1.0 and view.central_error == 0.5
    assert "absolute" in str(view) and "relative" not in str(view)
    assert widgets.difference_view("tanh", 0.5, -3.0).error_kind == "relative"


def test_step_size_slider_on_a_diagonal_hessian():
    # H = diag(1, 4): lambda_max = 4, limit 2/4 = 0.5; factors 1 - step * lambda
    panel = widgets.step_size_explorer(np.diag([1.0, 4.0]), fraction=0.5)
    panel.controls["fraction"].value = 0.9            # step 0.45: factors 0.55, -0.8
    assert panel.result.factors == pytest.approx([0.55, -0.8])
    assert panel.result.converges and value_shown(panel, "radius") == pytest.approx(0.8)
    panel.controls["fraction"].value = 1.1            # step 0.55: factor 1 - 2.2 = -1.2
    assert not panel.result.converges and panel.result.radius == pytest.approx(1.2)


def test_step_size_view_refuses_a_non_symmetric_matrix():
    with pytest.raises(SymnetError, match="symmetric"):
        widgets.step_size_view([[1.0, 2.0], [0.0, 1.0]], 0.1)


def test_gradient_norm_slider_matches_the_oracle():
    panel = widgets.gradient_norm_explorer("sigmoid", 2)
    panel.controls["depth"].value = 3
    view = panel.result
    net = view.net
    rng = np.random.default_rng(0)                    # the view's seeded data
    X, T = rng.normal(size=(8, 1)), rng.normal(size=(8, 1))
    g = oracle.grad(tuple(net.sizes), "sigmoid", "linear", X, net.init_params(0), T, "sse")
    first = np.linalg.norm(g[net.layer_slices(1)[0]])
    assert view.first == pytest.approx(first, rel=1e-12) and len(view.norms) == 4


def test_training_slider_changes_the_run():
    net = examples.network("curve")
    X, T = examples.regression_data(10, seed=0)
    panel = widgets.training_explorer(net, X, T, "gd", -2.0, n_iter=20)
    slow = panel.result.final
    panel.controls["log10_rate"].value = -4.0
    assert panel.result.rate == pytest.approx(1e-4) and panel.result.final > slow


def test_attack_gradient_is_the_oracle_input_gradient():
    net = examples.network("softmax")
    w = net.init_params(seed=4)
    X = np.array([[0.2, 0.7, 0.1], [0.9, 0.3, 0.5]])
    T = np.eye(3)[[2, 0]]
    gradient_x = widgets.input_error_gradient(net, w, X, T)
    for n in range(2):
        E = lambda v: oracle.loss((3, 3, 3), "tanh", "softmax", v[None], w, T[n:n + 1],  # noqa: E731
                                  "cross_entropy")
        reference = [E(X[n] + 1j * 1e-30 * e).imag / 1e-30 for e in np.eye(3)]
        assert gradient_x[n] == pytest.approx(reference, rel=1e-12)
    panel = widgets.attack_explorer(net, w, X, [2, 0], epsilon=0.0)
    panel.controls["epsilon"].value = 0.3
    expected = np.clip(X + 0.3 * np.sign(gradient_x), 0, 1)
    assert panel.result.adversarial == pytest.approx(expected)


def test_verify_text_box_shows_verdicts_and_parse_errors():
    net = examples.worked_example().net
    panel = widgets.verify_explorer(net, ["dE/dw_11^(2)", "delta_1^(2)"], "delta_1^(2) z_1^(1)")
    assert panel.result.equal
    panel.controls["target"].value = "delta_1^(2)"
    panel.controls["formula"].value = "y_1 - t_1"           # missing sigma'(a) at the output
    assert not panel.result.equal and panel.result.mistake == "drop_h_2"
    panel.controls["formula"].value = "delta_1^(2) z_1^(1"  # does not parse
    assert "symnet-error" in panel.text.value


def test_views_print_and_render():
    view = widgets.activation_view("tanh", 1.0)
    assert "h'(a) exact = 0.41997434161402" in str(view)
    assert "class='symnet-value' data-name='exact'" in view._repr_html_()
    with pytest.raises(AttributeError):
        view.no_such_field
