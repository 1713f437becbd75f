"""The lessons' interactive widgets: sliders and dropdowns that call ``symnet.views``.

A UI factory (``*_explorer``) builds ipywidgets controls, calls a callback from
``symnet.views`` with the controls' values on every change, and shows the
result in a ``Panel``: the numbers as HTML (each value in a
``<span class="symnet-value" data-name=...>`` that a browser test can read) and a
figure as PNG. Tests and lessons drive a panel as a reader does, by setting
``panel.controls[name].value``, and read ``panel.result``.

The callbacks are re-exported here, so ``widgets.activation_view`` and
``widgets.activation_explorer`` sit side by side. ipywidgets and matplotlib are
imported inside the factories, so ``import symnet`` needs neither.

Examples
--------
>>> panel = activation_explorer("tanh", 0.0)
>>> panel.controls["a"].value = 1.0
>>> panel.result.exact                           # tanh'(1) = 1 - tanh(1)^2
0.419974341614026
"""

import html

import numpy as np

from ..graph.activations import activation, known_activations
from ..errors import SymnetError
from .exercise_sets import exercises  # noqa: F401
from .views import (Edge, View, activation_view, attack_view, backprop_view,  # noqa: F401
                    difference_errors, difference_view, forward_view, gradient_norm_view,
                    input_error_gradient, jacobian_view, path_products, step_size_view,
                    symbolic_path_sum, training_view, verify_view)

__all__ = [
    "Panel", "forward_explorer", "activation_explorer", "jacobian_explorer",
    "backprop_explorer", "difference_explorer", "training_explorer", "verify_explorer",
    "exercise_box", "exercises",
    "step_size_explorer", "gradient_norm_explorer", "attack_explorer",
    # the callbacks, from symnet.views
    "View", "Edge", "forward_view", "path_products", "symbolic_path_sum", "activation_view",
    "jacobian_view", "backprop_view", "difference_view", "difference_errors", "training_view",
    "verify_view", "step_size_view", "gradient_norm_view", "attack_view", "input_error_gradient",
]


class Panel:
    """A built interactive view: controls, the latest result, and the widget to show.

    Parameters
    ----------
    callback : callable
        Called as ``callback(**fixed, **{name: control.value})`` on every change.
    controls : dict
        Argument name -> ipywidget with a ``value``.
    fixed : dict
        The callback's other arguments.
    plot : callable or None
        ``plot(result) -> Figure``, redrawn into an Image widget.
    """

    def __init__(self, callback, controls, fixed=None, plot=None):
        import ipywidgets as widgets
        from .plots import png

        self._png = png
        self.callback, self.controls, self.fixed, self.plot = callback, controls, fixed or {}, plot
        self.text = widgets.HTML()
        self.image = (widgets.Image(format="png", layout=widgets.Layout(max_width="640px"))
                      if plot else None)
        for control in controls.values():
            control.observe(self._update, names="value")
        self.result = None
        self._update()
        children = [widgets.HBox(list(controls.values())), self.text]
        self.widget = widgets.VBox(children + ([self.image] if plot else []))

    def _update(self, change=None):
        arguments = {name: control.value for name, control in self.controls.items()}
        try:
            self.result = self.callback(**self.fixed, **arguments)
        except SymnetError as error:  # bad slider combination: say so in the panel
            self.text.value = f"<p class='symnet-error'>{html.escape(str(error))}</p>"
            return
        self.text.value = self.result._repr_html_()
        if self.plot:
            fig = self.plot(self.result)
            self.image.value = self._png(fig)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def _slider(description, value, low, high, step=0.01):
    import ipywidgets as widgets
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, readout_format=".3f",
                               continuous_update=False)


def forward_explorer(net, w, x=None):
    """Sliders for the inputs; shows y, the network with every edge's derivative, and J."""
    x = np.zeros(net.sizes[0]) if x is None else np.asarray(x, dtype=float)
    controls = {f"x{i + 1}": _slider(f"x_{i + 1}", float(x[i]), -2.0, 2.0)
                for i in range(net.sizes[0])}

    def callback(net, w, **inputs):
        return forward_view(net, [inputs[f"x{i + 1}"] for i in range(net.sizes[0])], w)

    from .plots import network_diagram
    return Panel(callback, controls, {"net": net, "w": w}, plot=network_diagram)


def activation_explorer(name="tanh", a=1.0):
    """A dropdown of activations and a slider for a; plots h and h' with the point marked."""
    import ipywidgets as widgets
    names = [n for n in known_activations() if activation(n).elementwise]
    controls = {"name": widgets.Dropdown(options=names, value=name, description="h"),
                "a": _slider("a", a, -4.0, 4.0)}

    def plot(view):
        from .plots import function_and_derivative
        act, grid = view.activation, np.linspace(-4, 4, 401)
        return function_and_derivative(grid, act.numpy(grid), act.derivative_numpy(grid),
                                       (view.a, view["h"], view["exact"]), act.name,
                                       act.kinks)
    return Panel(activation_view, controls, plot=plot)


def jacobian_explorer(net, w, x=None, dx=0.1):
    """Sliders for the inputs and the step dx; a heatmap of J."""
    x = np.zeros(net.sizes[0]) if x is None else np.asarray(x, dtype=float)
    controls = {f"x{i + 1}": _slider(f"x_{i + 1}", float(x[i]), -2.0, 2.0)
                for i in range(net.sizes[0])}
    controls["dx"] = _slider("dx", dx, 0.0, 1.0)

    def callback(net, w, dx, **inputs):
        return jacobian_view(net, w, [inputs[f"x{i + 1}"] for i in range(net.sizes[0])], dx)

    def plot(view):
        from .plots import heatmap
        rows = [f"y_{k + 1}" for k in range(view.J.shape[0])]
        return heatmap(view.J, rows, [x.name for x in view.net.inputs],
                       "J_ki = dy_k/dx_i", "output change per unit input change")
    return Panel(callback, controls, {"net": net, "w": w}, plot=plot)


def backprop_explorer(net, w, x, t, param=None):
    """Sliders for the inputs and for one parameter (``param`` by name)."""
    x, w = np.asarray(x, dtype=float).ravel(), np.asarray(w, dtype=float)
    param = param or net.params[0].name
    column = net.param_index(param)
    controls = {f"x{i + 1}": _slider(f"x_{i + 1}", float(x[i]), -2.0, 2.0)
                for i in range(net.sizes[0])}
    controls["weight"] = _slider(param, float(w[column]), -2.0, 2.0)

    def callback(net, w, t, weight, **inputs):
        w = w.copy()
        w[column] = weight
        return backprop_view(net, w, [inputs[f"x{i + 1}"] for i in range(net.sizes[0])], t)
    return Panel(callback, controls, {"net": net, "w": w, "t": t})


def difference_explorer(name="tanh", a=0.5, log10_step=-5.0):
    """A slider for log10 of the step; the error curves with the chosen step marked."""
    import ipywidgets as widgets
    controls = {"name": widgets.Dropdown(options=["sigmoid", "tanh", "softplus", "relu"],
                                         value=name, description="h"),
                "a": _slider("a", a, -2.0, 2.0),
                "log10_step": _slider("log10 h", log10_step, -14.0, -1.0, 0.5)}

    def plot(view):
        from .plots import loglog
        steps = np.logspace(-14, -1, 27)
        forward, central = difference_errors(view.name, view.a, steps)
        return loglog(steps, {"forward": forward, "central": central},
                      "step size h (units of a)", "relative error (dimensionless)",
                      "truncation (right) against round-off (left)", mark=view["h"])
    return Panel(difference_view, controls, plot=plot)


def training_explorer(net, X, T, method="gd", log10_rate=-2.0, n_iter=100, loss="sse"):
    """A dropdown of methods and a slider for log10 of the learning rate (or damping)."""
    import ipywidgets as widgets
    from ..train.fitting import METHODS
    controls = {"method": widgets.Dropdown(options=list(METHODS), value=method,
                                           description="method"),
                "log10_rate": _slider("log10 rate", log10_rate, -5.0, 1.0, 0.25)}

    def plot(view):
        from .plots import curves
        return curves({view.title: view.losses}, "iteration",
                      "E (sum of squared errors / 2, units of t^2)", "training error", log=True)
    return Panel(training_view, controls, {"net": net, "X": X, "T": T, "n_iter": n_iter,
                                           "loss": loss}, plot=plot)


def verify_explorer(net, targets, formula="", loss="sse"):
    """A text box for the formula and a dropdown of targets; the verdict updates as you type."""
    import ipywidgets as widgets
    controls = {"target": widgets.Dropdown(options=list(targets), description="target"),
                "formula": widgets.Text(value=formula, description="formula",
                                        continuous_update=False,
                                        layout=widgets.Layout(width="60%"))}
    return Panel(verify_view, controls, {"net": net, "loss": loss})


def _exercise_feedback(exercise, answer):
    return exercise.check(answer)


def exercise_box(exercise):
    """The question of an ``Exercise`` and an empty text box; the feedback updates on Enter.

    Examples
    --------
    >>> import symnet
    >>> from symnet.teach.exercises import Exercise
    >>> box = exercise_box(Exercise("demo.1", "dE/dw_11^(2)", net=symnet.MLP([1, 1, 1]),
    ...                             target="dE/dw_11^(2)"))
    >>> box.result.status
    'empty'
    >>> box.controls["answer"].value = "(y_1 - t_1) z_1^(1)"
    >>> box.result.equal
    True
    """
    import ipywidgets as widgets
    controls = {"answer": widgets.Text(value="", placeholder="your answer, then Enter",
                                       description=f"{exercise.key}", continuous_update=False,
                                       layout=widgets.Layout(width="70%"))}
    panel = Panel(_exercise_feedback, controls, {"exercise": exercise})
    question = widgets.HTML(f"<p class='symnet-question'><b>Exercise {html.escape(exercise.key)}"
                            f"</b>: {html.escape(exercise.question)}</p>")
    panel.widget.children = (question,) + tuple(panel.widget.children)
    return panel


def step_size_explorer(hessian, fraction=0.9):
    """A slider for the step as a fraction of 2 / lambda_max; the distance to w* per step."""
    limit = 2.0 / float(np.linalg.eigvalsh(np.asarray(hessian, dtype=float)).max())
    controls = {"fraction": _slider("step / (2/lambda_max)", fraction, 0.05, 1.2)}

    def callback(hessian, fraction):
        return step_size_view(hessian, fraction * limit)

    def plot(view):
        from .plots import curves
        return curves({f"step = {view['step']:.3g}": view.distances}, "iteration",
                      "|w - w*| (units of w)", "distance to the minimum", log=True)
    return Panel(callback, controls, {"hessian": hessian}, plot=plot)


def gradient_norm_explorer(hidden="sigmoid", depth=6):
    """A dropdown for the activation and a slider for the depth; per-layer norms as bars."""
    import ipywidgets as widgets
    controls = {"hidden": widgets.Dropdown(options=["sigmoid", "tanh", "relu"], value=hidden,
                                           description="h"),
                "depth": widgets.IntSlider(value=depth, min=1, max=12, description="depth",
                                           continuous_update=False)}

    def plot(view):
        from .plots import layer_bars
        return layer_bars({view.title: view.norms}, "|dE/dW^(l)| (units of E per w)",
                          "gradient norm per layer")
    return Panel(gradient_norm_view, controls, plot=plot)


def attack_explorer(net, w, X, labels, epsilon=0.1, index=0):
    """A slider for epsilon; the accuracy and one attacked digit."""
    controls = {"epsilon": _slider("epsilon", epsilon, 0.0, 0.5)}

    def plot(view):
        from .plots import images
        # class indices: the network's output k-1 stands for the k-th of the classes it
        # was trained on (lesson 11: digits); the titles say what it predicts before and after
        return images([view.X[index], view.adversarial[index]],
                      [f"clean: label {view.labels[index]}, predicted {view.predicted[index]}",
                       f"attacked (epsilon = {view['epsilon']:.2f}): predicted "
                       f"{view.attacked_predicted[index]}"])
    return Panel(attack_view, controls, {"net": net, "w": w, "X": X, "labels": labels},
                 plot=plot)
