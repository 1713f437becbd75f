"""The lessons' callbacks: plain functions of all their inputs, returning a ``View``.

Each function here takes every input as an argument (no globals a later cell
could change) and returns a frozen ``View`` whose fields the lessons assert
on, e.g. ``activation_view("tanh", 1.0).exact``. ``symnet.widgets`` builds the
sliders that call them; nothing here needs ipywidgets. matplotlib is not needed
either (plots live in ``symnet.plots``).

The graph view of lesson 1 lives here too (``forward_view``,
``path_products``, ``symbolic_path_sum``): every edge of the network with
its local derivative, symbolic and valued, and the chain rule as a sum over paths.

Examples
--------
>>> view = activation_view("sigmoid", 0.0)
>>> view.exact, round(view.numeric, 12)
(0.25, 0.25)
"""

import html
import math
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import sympy as sp

from ..compiled import matrix_form as engine
from ..graph.activations import activation
from ..derive.first_order import hidden_derivative, output_block
from ..errors import SymnetError
from ..numdiff.differences import central_difference
from .sensitivity import input_sensitivity

__all__ = [
    "View", "Edge", "forward_view", "path_products", "symbolic_path_sum", "activation_view",
    "jacobian_view", "backprop_view", "difference_view", "difference_errors", "training_view",
    "verify_view", "step_size_view", "gradient_norm_view", "attack_view", "input_error_gradient",
]


@dataclass(frozen=True)
class View:
    """What a callback returns: named numbers to show, and the details behind them.

    ``shown`` maps a name to (label, value); ``details`` holds arrays and objects
    for lessons and plots. ``view["name"]`` is the shown value.
    """

    title: str
    shown: dict
    details: dict = field(default_factory=dict)
    notes: tuple = ()

    def __getitem__(self, name):
        return self.shown[name][1]

    def __getattr__(self, name):
        details = self.__dict__.get("details", {})
        shown = self.__dict__.get("shown", {})
        if name in details:
            return details[name]
        if name in shown:
            return shown[name][1]
        raise AttributeError(name)

    def __str__(self):
        lines = [self.title]
        lines += [f"  {label} = {_format(value)}" for label, value in self.shown.values()]
        return "\n".join(lines + [f"  {note}" for note in self.notes])

    def _repr_html_(self):
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td><td><span class='symnet-value' "
            f"data-name='{html.escape(name)}'>{html.escape(_format(value))}</span></td></tr>"
            for name, (label, value) in self.shown.items())
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self.notes)
        return f"<b>{html.escape(self.title)}</b><table>{rows}</table>{notes}"


def _format(value):
    """Full precision (repr of the float), so a browser test can compare exactly."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


@dataclass(frozen=True)
class Edge:
    """One edge of the computational graph and its local derivative.

    ``kind`` is ``"weight"`` (z_i^(l-1) -> a_j^(l), derivative w_ji^(l)) or ``"unit"``
    (a_m^(l) -> z_k^(l), derivative h'(a) or, for softmax, y_k (delta_km - y_m)).
    Units are (layer, index) pairs, 0-based index.
    """

    kind: str
    source_unit: tuple
    target_unit: tuple
    symbolic: sp.Expr
    value: float


def _graph_edges(net):
    """Symbolic edges layer by layer: weight edges, then unit edges (nonzero only)."""
    edges = []
    for l in range(1, net.n_layers + 1):
        W = net.weights[l - 1]
        for j, i in product(range(net.sizes[l]), range(net.sizes[l - 1])):
            edges.append(("weight", (l - 1, i), (l, j), W[j, i]))
        if l < net.n_layers:
            for j in range(net.sizes[l]):
                edges.append(("unit", (l, j), (l, j), hidden_derivative(net, l, j)))
        else:
            block = output_block(net)
            for k, m in product(range(net.sizes[l]), repeat=2):
                if block[k, m] != 0:
                    edges.append(("unit", (l, m), (l, k), block[k, m]))
    return edges


def _values(net, x, w):
    """Every named symbol (x, a, z, y, w, b) -> its float value at one input."""
    X = np.asarray(x, dtype=float).reshape(1, -1)
    A, Z = engine.forward_pass(net, X, w)
    values = dict(zip(net.params, map(float, w)))
    for l in range(0, net.n_layers + 1):
        values.update(zip(net.layer_values(l), map(float, Z[l][0])))
        if l:
            values.update(zip(net.layer_pre_activations(l), map(float, A[l][0])))
    return values, A, Z


def forward_view(net, x, w):
    """The forward pass at one input, and every edge's local derivative, symbolic and valued.

    Returns a ``View`` with ``a``, ``z`` (lists by layer, ``z[0]`` = x),
    ``edges`` (``Edge``), ``unit_slopes`` ((l, j) -> h'(a_j^(l))), and shows y.

    >>> from symnet.examples import network
    >>> net = network("graph")
    >>> view = forward_view(net, [0.5, -1.0], net.pack([[[1, 0], [0, 1]], [[1, 1]]], [[0, 0], [0]]))
    >>> view.edges[0].symbolic, view.edges[0].value
    (w_11^(1), 1.0)
    >>> round(view["y_1"], 6)      # tanh(0.5) + tanh(-1) = 0.462117 - 0.761594
    -0.299477
    """
    w = np.asarray(w, dtype=float)
    values, A, Z = _values(net, x, w)
    edges = []
    for kind, source, target, symbolic in _graph_edges(net):
        value = float(sp.N(symbolic.xreplace(values)))
        edges.append(Edge(kind, source, target, symbolic, value))
    slopes = {e.source_unit: e.value for e in edges
              if e.kind == "unit" and e.source_unit == e.target_unit}
    y = Z[-1][0]
    shown = {f"y_{k + 1}": (f"y_{k + 1}", float(v)) for k, v in enumerate(y)}
    return View("forward pass", shown, {
        "net": net, "a": [None] + [A[l][0] for l in range(1, net.n_layers + 1)],
        "z": [Z[l][0] for l in range(net.n_layers + 1)], "edges": edges, "unit_slopes": slopes})


def _paths(net, k, i):
    """Every path x_i -> y_k as a list of (kind, source, target) edge keys."""
    hidden = [range(n) for n in net.sizes[1:-1]]
    block = output_block(net)
    for units in product(*hidden, range(net.sizes[-1])):
        if block[k, units[-1]] == 0:
            continue
        path, previous = [], (0, i)
        for l, j in enumerate(units, start=1):
            path.append(("weight", previous, (l, j)))
            target = (l, k) if l == net.n_layers else (l, j)
            path.append(("unit", (l, j), target))
            previous = (l, j)
        yield path


def path_products(net, x, w, k, i):
    """[(path, product of edge derivatives)] over all paths from x_i to y_k (0-based k, i).

    By the chain rule their sum is the Jacobian entry J_ki = dy_k/dx_i.
    """
    view = forward_view(net, x, w)
    value = {(e.kind, e.source_unit, e.target_unit): e.value for e in view.edges}
    return [(path, math.prod(value[key] for key in path)) for path in _paths(net, k, i)]


def symbolic_path_sum(net, k, i):
    """The sum over paths x_i -> y_k of products of symbolic edge derivatives (named form)."""
    symbolic = {(kind, s, t): expr for kind, s, t, expr in _graph_edges(net)}
    return sp.Add(*[sp.Mul(*[symbolic[key] for key in path]) for path in _paths(net, k, i)])


def activation_view(name, a, **parameters):
    """h(a), the exact h'(a), its central difference and their relative difference.

    Near a kink (within the difference step) the central difference is not a
    derivative; ``near_kink`` says so and the lesson explains the convention.

    >>> view = activation_view("tanh", 1.0)
    >>> round(view.exact, 8), view.near_kink
    (0.41997434, False)
    """
    act = activation(name, **parameters)
    if not act.elementwise:
        raise SymnetError(f"{name} is not elementwise; choose one of the hidden activations")
    a = float(a)
    f = lambda values: act.numpy(values[:, 0])  # noqa: E731
    numeric = float(central_difference(f, np.array([a]))[0])
    exact = float(act.derivative_numpy(a))
    step = float(np.finfo(float).eps ** (1 / 3) * max(1.0, abs(a)))
    near = any(abs(a - float(kink)) <= step for kink in act.kinks)
    error = abs(exact - numeric) / max(abs(exact), abs(numeric), 1e-300)
    notes = (f"within {step:.1e} of a kink: the difference straddles it; "
             f"the exact value is the convention ({act.kink_convention or 'stated'})",) if near else ()
    return View(f"{name} at a = {a:g}", {
        "h": ("h(a)", float(act.numpy(a))), "exact": ("h'(a) exact", exact),
        "numeric": ("h'(a) central difference", numeric),
        "relative_error": ("relative difference", float(error))},
        {"activation": act, "a": a, "near_kink": near, "derivative": act.derivative}, notes)


def jacobian_view(net, w, x, dx):
    """J at x, the input ranking by sum_k |J_ki|, and how well y(x + dx) - y(x) ~ J dx holds.

    ``dx`` is a step added to every input; the linear prediction's relative
    error grows like |dx| for small dx (the neglected term is O(dx^2)).
    """
    x = np.asarray(x, dtype=float)
    sensitivity = input_sensitivity(net, x, w)   # J at x and the inputs ranked by sum_k |J_ki|
    J = sensitivity.jacobian[0]
    step = np.full(x.shape, float(dx))
    actual = net.forward(x + step, w) - net.forward(x, w)
    predicted = J @ step
    error = float(np.linalg.norm(actual - predicted) / max(np.linalg.norm(actual), 1e-300))
    importance, ranking = sensitivity.importance, list(sensitivity.ranking)
    shown = {f"J_{k + 1}{i + 1}": (f"dy_{k + 1}/dx_{i + 1}", float(J[k, i]))
             for k in range(J.shape[0]) for i in range(J.shape[1])}
    shown["relative_error"] = ("|dy - J dx| / |dy|", error)
    shown["most_important"] = ("largest sum_k |J_ki|", ranking[0])
    return View("input Jacobian", shown, {"J": J, "importance": importance, "ranking": ranking,
                                          "actual": actual, "predicted": predicted, "net": net})


def backprop_view(net, w, x, t, loss="sse"):
    """Every delta_j^(l), the gradient by backprop and by central differences, at one sample."""
    from ..graph.losses import get_loss
    from ..compiled.error_value import loss_value
    X, T = np.atleast_2d(np.asarray(x, dtype=float)), np.atleast_2d(np.asarray(t, dtype=float))
    w = np.asarray(w, dtype=float)
    loss_object = get_loss(loss, net)
    A, Z = engine.forward_pass(net, X, w)
    dh, _ = engine.layer_derivatives(net, A, Z)
    deltas = engine._deltas(net, loss_object, A, Z, T, dh, w)
    exact = engine.gradient_values(net, loss_object, X, w, T)
    numeric = central_difference(
        lambda V: np.array([loss_value(net, loss, X, v, T) for v in V]), w)
    error = float(np.abs(exact - numeric).max() / max(np.abs(exact).max(), 1e-300))
    shown = {"E": ("E", float(loss_value(net, loss, X, w, T)))}
    for l in range(net.n_layers, 0, -1):
        for j, value in enumerate(deltas[l][0]):
            shown[f"delta_{j + 1}^({l})"] = (f"delta_{j + 1}^({l})", float(value))
    shown["relative_error"] = ("max |backprop - central difference| / max |gradient|", error)
    return View("backpropagation", shown, {"gradient": exact, "numeric": numeric,
                                          "deltas": {l: deltas[l][0] for l in range(1, net.n_layers + 1)}})


def difference_view(name, a, log10_step):
    """Forward and central differences of h'(a) at step h = 10**log10_step, and their errors.

    >>> view = difference_view("sigmoid", 0.5, -5)
    >>> view.central_error < 1e-9 < view.forward_error
    True
    """
    act = activation(name)
    a, h = float(a), 10.0 ** float(log10_step)
    exact = float(act.derivative_numpy(a))
    f = lambda v: float(act.numpy(np.float64(v)))  # noqa: E731
    forward = (f(a + h) - f(a)) / h
    central = (f(a + h) - f(a - h)) / (2 * h)
    # relative to |h'(a)|; where h'(a) = 0 no relative error exists, so the absolute one is
    # shown and labelled so (a relative error over a tiny floor would print 1e+300)
    kind, scale = ("relative", abs(exact)) if exact != 0 else ("absolute", 1.0)
    return View(f"differences of {name}' at a = {a:g}, h = {h:.1e}", {
        "h": ("h", h), "exact": ("h'(a) exact", exact),
        "forward": ("(h(a+h) - h(a)) / h", forward),
        "central": ("(h(a+h) - h(a-h)) / 2h", central),
        "forward_error": (f"forward {kind} error", abs(forward - exact) / scale),
        "central_error": (f"central {kind} error", abs(central - exact) / scale)},
        {"name": name, "a": a, "error_kind": kind})


def difference_errors(name, a, steps):
    """(forward errors, central errors) at each step, for the log-log plot."""
    views = [difference_view(name, a, np.log10(h)) for h in steps]
    return (np.array([v.forward_error for v in views]),
            np.array([v.central_error for v in views]))


def training_view(net, X, T, method, log10_rate, n_iter=100, seed=0, loss="sse",
                  batch_size=None):
    """Train with ``symnet.train.fit`` and report the final error, or the divergence.

    ``log10_rate`` is log10 of the learning rate for first-order methods and of
    the initial damping mu for ``"lm"`` and ``"newton"``.
    """
    from ..train.fitting import TrainingDiverged, fit
    rate = 10.0 ** float(log10_rate)
    option = {"mu": rate} if method in ("lm", "newton") else {"lr": rate}
    if batch_size is not None and method not in ("lm", "newton"):
        option["batch_size"] = int(batch_size)
    try:
        result = fit(net, X, T, loss=loss, method=method, seed=seed, max_iter=int(n_iter),
                     **option)
        diverged = False
    except TrainingDiverged as error:
        result, diverged = error.result, True
    history = result.history.loss
    return View(f"{method}, {'mu' if 'mu' in option else 'lr'} = {rate:.3g}", {
        "rate": ("rate", rate), "start": ("E at the start", float(history[0])),
        "final": (f"E after {len(history) - 1} iterations", float(history[-1])),
        "diverged": ("diverged", diverged)},
        {"losses": np.asarray(history), "result": result, "method": method})


def verify_view(formula, target, net, loss="sse"):
    """``symnet.verify.verify`` of one formula, shown as a view (equal, how, the hint)."""
    from ..formulas.verification import verify
    result = verify(formula, target, net=net, loss=loss)
    shown = {"equal": ("equal", result.equal), "method": ("decided", result.method)}
    if result.mistake:
        shown["mistake"] = ("mistake", result.mistake)
    return View(f"your formula for {target}", shown, {"result": result},
                tuple(str(result).splitlines()))


def step_size_view(hessian, step, n_steps=50, start=None):
    """Gradient descent on E(w) = 1/2 (w - w*)^T H (w - w*) with step ``step``.

    Along eigenvector i the error is multiplied by (1 - step lambda_i) each step,
    so descent converges iff step < 2 / lambda_max (H positive definite). Returns
    the per-direction factors, the spectral radius, and the distance to w* per step.
    """
    H = np.asarray(hessian, dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or not np.allclose(H, H.T):
        raise SymnetError(f"hessian must be a symmetric square matrix; got shape {H.shape}")
    eigenvalues = np.linalg.eigvalsh(H)
    factors = 1.0 - float(step) * eigenvalues
    radius = float(np.abs(factors).max())
    v = np.ones(H.shape[0]) / np.sqrt(H.shape[0]) if start is None else np.asarray(start, float)
    distances = [float(np.linalg.norm(v))]
    for _ in range(int(n_steps)):
        v = v - float(step) * (H @ v)
        distances.append(float(np.linalg.norm(v)))
    limit = 2.0 / float(eigenvalues.max())
    return View(f"gradient descent, step {float(step):.4g}", {
        "step": ("step", float(step)), "limit": ("2 / lambda_max", limit),
        "radius": ("max_i |1 - step lambda_i|", radius),
        "converges": ("converges", bool(radius < 1.0)),
        "final_distance": (f"|w - w*| after {int(n_steps)} steps", distances[-1])},
        {"eigenvalues": eigenvalues, "factors": factors, "distances": np.array(distances)})


def gradient_norm_view(hidden, depth, width=4, seed=0, n_samples=8, scale=None):
    """|dE/dW^(l)| per layer for a deep network at its random initial weights.

    The network has ``depth`` hidden layers of ``width`` units, one input and one
    linear output; data and targets are seeded standard normals. Weights are
    N(0, 1/n_in) (LeCun) unless ``scale`` gives another standard deviation.
    """
    from ..graph.network import MLP
    from ..graph.losses import get_loss
    depth, width = int(depth), int(width)
    if depth < 1 or width < 1:
        raise SymnetError(f"depth and width must be positive; got {depth}, {width}")
    net = MLP([1] + [width] * depth + [1], hidden=hidden, output="linear")
    rng = np.random.default_rng(seed)
    X, T = rng.normal(size=(n_samples, 1)), rng.normal(size=(n_samples, 1))
    w = net.init_params(seed, scale=scale)
    grad = engine.gradient_values(net, get_loss("sse", net), X, w, T)
    norms = np.array([np.linalg.norm(grad[net.layer_slices(l)[0]])
                      for l in range(1, net.n_layers + 1)])
    ratio = float(norms[0] / norms[-1])
    return View(f"{hidden}, {depth} hidden layers of {width}", {
        "first": ("|dE/dW^(1)|", float(norms[0])), "last": ("|dE/dW^(L)|", float(norms[-1])),
        "ratio": ("first / last", ratio)}, {"norms": norms, "net": net})


def attack_view(net, w, X, labels, epsilon):
    """Fast gradient sign attack: x' = clip(x + epsilon sign(dE/dx), 0, 1); accuracy before/after.

    dE/dx is taken from the input Jacobian: for softmax outputs with cross-entropy,
    dE_n/dx_i = sum_k (y_k - t_k) da_k/dx_i, i.e. the Jacobian of the output
    pre-activations transposed times the output delta.
    """
    X, w = np.asarray(X, dtype=float), np.asarray(w, dtype=float)
    labels = np.asarray(labels)
    K = net.sizes[-1]
    T = np.eye(K)[labels]
    Y = net.forward(X, w)
    gradient_x = input_error_gradient(net, w, X, T)
    adversarial = np.clip(X + float(epsilon) * np.sign(gradient_x), 0.0, 1.0)
    predicted, attacked_predicted = Y.argmax(axis=1), net.forward(adversarial, w).argmax(axis=1)
    accuracy = float(np.mean(predicted == labels))
    attacked = float(np.mean(attacked_predicted == labels))
    return View(f"fast gradient sign, epsilon = {float(epsilon):.3g}", {
        "epsilon": ("epsilon (pixel intensity, 0..1)", float(epsilon)),
        "accuracy": ("accuracy on clean inputs", accuracy),
        "attacked": ("accuracy on attacked inputs", attacked)},
        {"adversarial": adversarial, "gradient_x": gradient_x, "X": X, "labels": labels,
         "predicted": predicted, "attacked_predicted": attacked_predicted})


def input_error_gradient(net, w, X, T, loss="cross_entropy"):
    """dE_n/dx for every sample (N, D): the output delta through the pre-activation Jacobian.

    dE_n/dx_i = sum_k delta_k^(L) da_k^(L)/dx_i, with delta^(L) = dE_n/da^(L) from the loss.
    """
    from ..graph.losses import get_loss
    A, Z = engine.forward_pass(net, X, w)
    dh, _ = engine.layer_derivatives(net, A, Z)
    G = engine.sensitivities(net, A, Z, dh, w, of="a")  # G[l][n, k, j] = da_k^(L)/da_j^(l)
    W1, _ = net._layer_arrays(w, 1)
    pre_activation_jacobian = G[1] @ W1                   # (N, K, D): da_k^(L)/dx_i
    delta = get_loss(loss, net).delta(A[-1], Z[-1], T, dh[-1])
    return np.einsum("nk,nkd->nd", delta, pre_activation_jacobian)
