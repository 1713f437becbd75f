"""Input sensitivity: which inputs move which outputs, per sample and across the input space.

Everything here reads the exact input Jacobian J_ki(x) = dy_k / dx_i, evaluated by
its backpropagation matrix form (``symnet.input_jacobian``; the K x D block per
sample, in output units per input unit):

* ``input_sensitivity(net, X, w)``: J at every sample, the mean |J_ki| over the
  samples, and the inputs ranked by importance_i = sum_k mean_n |J_nki| (a local,
  gradient-based score, sometimes called saliency: how far the outputs move per
  unit change of x_i near the data);
* ``sensitivity_trend(net, w, feature, grid, base_x)``: J along a line through the
  input space, x = base_x with one input swept over ``grid``: how dy_k/dx_i
  changes with x_i (tanh units saturate far out and the slope fades);
* ``plot_sensitivity`` and ``plot_trend``: the heatmap with the ranking beside it,
  and the slopes along the line (matplotlib, imported on first use).

The score is local and in the inputs' units: multiply by a typical change of each
input (``scale=X.std(axis=0)``) to compare inputs measured in different units.

Examples
--------
>>> import numpy as np, symnet
>>> net = symnet.MLP([3, 1], output="linear")        # y = 3 x_1 - 0.5 x_2 + 2 x_3
>>> result = input_sensitivity(net, np.zeros((4, 3)), [3.0, -0.5, 2.0, 0.0])
>>> result.importance, result.ranking
(array([3. , 0.5, 2. ]), ('x_1', 'x_3', 'x_2'))
"""

from dataclasses import dataclass, field

import numpy as np

from ..compiled import matrix_form as engine
from .._validate import check_finite_result, check_inputs, check_number, check_params
from ..errors import SymnetError

__all__ = ["Sensitivity", "SensitivityTrend", "input_sensitivity", "sensitivity_trend",
           "plot_sensitivity", "plot_trend"]


def _jacobian(net, X, w):
    """J (N, K, D) at validated X (N, D) and w (W,), refused if it overflowed."""
    return check_finite_result("the input Jacobian dy/dx", engine.input_jacobian_values(net, X, w))


@dataclass(frozen=True)
class Sensitivity:
    """The input Jacobian at a set of samples and the inputs ranked by it.

    Attributes
    ----------
    jacobian : ndarray (N, K, D)
        J[n, k, i] = dy_k/dx_i at sample n (output units per input unit).
    mean_abs : ndarray (K, D)
        mean_n |J[n, k, i]|: the heatmap of ``plot_sensitivity``.
    sample_importance : ndarray (N, D)
        sum_k |J[n, k, i]| times ``scale``: a saliency map, one row per sample.
    importance : ndarray (D,)
        The mean of ``sample_importance`` over the samples.
    ranking : tuple of str
        The input names, most important first (ties keep the input order).
    inputs, outputs : tuple of str
        ("x_1", ..., "x_D") and ("y_1", ..., "y_K").
    scale : ndarray (D,)
        The per-input factor of the importance (ones unless given).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 1], output="linear")        # y = 2 x_1 - x_2 + 1
    >>> s = input_sensitivity(net, [[0.0, 0.0], [5.0, 1.0]], [2.0, -1.0, 1.0])
    >>> s.jacobian[1], s.mean_abs                         # J is constant for a linear net
    (array([[ 2., -1.]]), array([[2., 1.]]))
    >>> print(s)
    input sensitivity over 2 samples (mean |dy_k/dx_i|, output units per input unit)
             x_1       x_2
    y_1        2         1
    importance: x_1 2, x_2 1
    """

    jacobian: np.ndarray = field(repr=False)
    mean_abs: np.ndarray
    sample_importance: np.ndarray = field(repr=False)
    importance: np.ndarray
    ranking: tuple
    inputs: tuple
    outputs: tuple
    scale: np.ndarray = field(repr=False)

    def __str__(self):
        width = max(9, *(len(name) + 2 for name in self.inputs))
        lines = [f"input sensitivity over {self.jacobian.shape[0]} samples (mean |dy_k/dx_i|, "
                 "output units per input unit)",
                 " " * 5 + "".join(f"{name:>{width}s}" for name in self.inputs)]
        for name, row in zip(self.outputs, self.mean_abs):
            lines.append(f"{name:5s}" + "".join(f"{value:>{width}.4g}" for value in row))
        order = [self.inputs.index(name) for name in self.ranking]
        lines.append("importance: " + ", ".join(
            f"{self.inputs[i]} {self.importance[i]:.4g}" for i in order))
        return "\n".join(lines)


def _scale(net, scale):
    D = net.sizes[0]
    if scale is None:
        return np.ones(D)
    values = np.asarray(scale)
    if values.dtype.kind not in "iuf" or values.shape not in ((), (D,)):
        raise SymnetError(f"scale must be a number or an array of {D} positive numbers (one "
                          f"per input, e.g. X.std(axis=0)); got {scale!r}")
    values = np.broadcast_to(values.astype(float), (D,)).copy()
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise SymnetError(f"scale must be positive and finite (one per input); got {scale!r}")
    return values


def input_sensitivity(net, X, w, scale=None):
    """The input Jacobian at every sample of X, and the inputs ranked by its size.

    Parameters
    ----------
    net : MLP
    X : array (N, D) or (D,)
        The samples where the sensitivity is measured (the data, typically).
    w : array (W,)
        Parameters in ``net.params`` order.
    scale : array (D,) or number, optional
        A typical change of each input, e.g. ``X.std(axis=0)``: the importance is
        then sum_k |J_ki| scale_i, in output units per typical change (unit-free
        across inputs). Default 1: per unit of each input.

    Returns
    -------
    Sensitivity
        ``.jacobian`` (N, K, D), ``.mean_abs`` (K, D), ``.sample_importance`` (N, D),
        ``.importance`` (D,), ``.ranking`` (input names, most important first).

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([2, 2, 1], hidden="tanh")
    >>> w = net.pack([[[1.0, 0.0], [0.0, 0.1]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> s = input_sensitivity(net, [[0.0, 0.0]], w)     # y = tanh(x_1) + tanh(0.1 x_2)
    >>> s.importance, s.ranking                          # tanh'(0) = 1: slopes 1 and 0.1
    (array([1. , 0.1]), ('x_1', 'x_2'))
    >>> bool(np.allclose(input_sensitivity(net, [[0.0, 0.0]], w, scale=[1.0, 10.0]).importance,
    ...                  [1.0, 1.0]))                    # per typical change: equally important
    True

    See Also
    --------
    sensitivity_trend : how J changes along one input.
    plot_sensitivity : the heatmap of ``mean_abs`` and the ranking.
    """
    X, _ = check_inputs(net, X, allow_complex=False)
    w = check_params(net, w)
    scale = _scale(net, scale)
    J = _jacobian(net, X, w)
    sample_importance = np.abs(J).sum(axis=1) * scale
    importance = sample_importance.mean(axis=0)
    inputs = tuple(x.name for x in net.inputs)
    ranking = tuple(inputs[i] for i in np.argsort(-importance, kind="stable"))
    return Sensitivity(J, np.abs(J).mean(axis=0), sample_importance, importance, ranking,
                       inputs, tuple(y.name for y in net.layer_values(net.n_layers)), scale)


@dataclass(frozen=True)
class SensitivityTrend:
    """The input Jacobian along a line through the input space (``sensitivity_trend``).

    Attributes
    ----------
    feature : str
        The input swept, e.g. "x_1"; ``column`` is its 0-based index.
    grid : ndarray (G,)
        Its values along the line.
    points : ndarray (G, D)
        The inputs at each grid value: ``base_x`` with ``feature`` replaced.
    y : ndarray (G, K)
        The outputs at each point.
    jacobian : ndarray (G, K, D)
        J at each point.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1], output="tanh")           # y = tanh(x_1)
    >>> trend = sensitivity_trend(net, [1.0, 0.0], "x_1", [0.0, 1.0], [0.0])
    >>> trend.slope(0).round(6)                           # tanh'(x) = 1 - tanh(x)^2
    array([1.      , 0.419974])
    """

    feature: str
    column: int
    grid: np.ndarray
    points: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    jacobian: np.ndarray = field(repr=False)

    def slope(self, k):
        """dy_k/dx_feature at each grid value (G,), for output k (0-based)."""
        return self.jacobian[:, k, self.column]


def _column(net, feature):
    names = [x.name for x in net.inputs]
    if isinstance(feature, str):
        if feature not in names:
            raise SymnetError(f"feature {feature!r} is not an input of {net!r}; inputs are "
                              f"{', '.join(names)} (or their 0-based columns 0..{len(names) - 1})")
        return names.index(feature)
    if isinstance(feature, (int, np.integer)) and not isinstance(feature, bool) and (
            0 <= feature < len(names)):
        return int(feature)
    raise SymnetError(f"feature must be an input name ({', '.join(names)}) or a 0-based column "
                      f"0..{len(names) - 1}; got {feature!r}")


def sensitivity_trend(net, w, feature, grid, base_x):
    """J = dy/dx along a line through the input space: one input swept, the others fixed.

    Parameters
    ----------
    net : MLP
    w : array (W,)
    feature : str or int
        The input to sweep, by name ("x_2") or 0-based column (1).
    grid : array (G,)
        The values it takes.
    base_x : array (D,)
        The other inputs' values (its ``feature`` entry is replaced by each grid value).

    Returns
    -------
    SensitivityTrend
        ``.jacobian`` (G, K, D), ``.y`` (G, K), ``.points`` (G, D) and
        ``.slope(k)`` = dy_k/dx_feature along the line.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([2, 1, 1], hidden="tanh")        # y = tanh(x_1 + x_2)
    >>> w = net.pack([[[1.0, 1.0]], [[1.0]]], [[0.0], [0.0]])
    >>> trend = sensitivity_trend(net, w, "x_1", np.linspace(-3, 3, 7), base_x=[0.0, 0.0])
    >>> trend.slope(0).round(3)                           # 1 - tanh(x_1)^2: fades far out
    array([0.01 , 0.071, 0.42 , 1.   , 0.42 , 0.071, 0.01 ])
    >>> trend.jacobian.shape, trend.points[0]
    ((7, 1, 2), array([-3.,  0.]))

    See Also
    --------
    input_sensitivity : J at a set of samples, and the ranking.
    plot_trend : the slopes along the line.
    """
    w = check_params(net, w)
    column = _column(net, feature)
    base, single = check_inputs(net, base_x, allow_complex=False)
    if not single:
        raise SymnetError(f"base_x must be one input point of shape ({net.sizes[0]},); got "
                          f"{np.shape(base_x)}")
    values = np.asarray(grid)
    if values.dtype.kind not in "iuf" or values.ndim != 1 or values.size == 0:
        raise SymnetError(f"grid must be a non-empty 1-D array of numbers (the values of "
                          f"{net.inputs[column].name}); got {grid!r}")
    values = values.astype(float)
    if not np.all(np.isfinite(values)):
        raise SymnetError(f"grid must be finite; got {grid!r}")
    points = np.repeat(base, values.size, axis=0)
    points[:, column] = values
    J = _jacobian(net, points, w)
    return SensitivityTrend(net.inputs[column].name, column, values, points,
                            net.forward(points, w), J)


def plot_sensitivity(result, sample=None):
    """Heatmap of the Jacobian with the inputs' ranking beside it (a matplotlib Figure).

    Parameters
    ----------
    result : Sensitivity
        From ``input_sensitivity``.
    sample : int, optional
        Show the signed J at that sample (0-based) and its importance; by default
        mean |J| over the samples and the overall importance.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([3, 4, 2], hidden="tanh")
    >>> s = input_sensitivity(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                       net.init_params(seed=3))
    >>> fig = plot_sensitivity(s)
    >>> heat, bars = fig.axes[:2]                         # then the colour bar
    >>> bool(np.allclose(heat.images[0].get_array(), s.mean_abs))
    True
    >>> [label.get_text() for label in bars.get_yticklabels()] == list(s.ranking)
    True
    """
    from .plots import sensitivity_figure
    if not isinstance(result, Sensitivity):
        raise SymnetError(f"plot_sensitivity needs the result of input_sensitivity; got "
                          f"{type(result).__name__}")
    if sample is None:
        matrix, importance = result.mean_abs, result.importance
        title = f"mean |dy_k/dx_i| over {result.jacobian.shape[0]} samples"
    else:
        n = check_number("sample", sample, nonnegative=True, integer=True)
        if n >= result.jacobian.shape[0]:
            raise SymnetError(f"sample must be in [0, {result.jacobian.shape[0]}); got {sample}")
        matrix, importance = result.jacobian[n], result.sample_importance[n]
        title = f"dy_k/dx_i at sample {n}"
    unit = ("output units per input unit" if np.all(result.scale == 1)
            else "output units per typical input change")
    return sensitivity_figure(matrix, importance, result.outputs, result.inputs, title, unit)


def plot_trend(trend, outputs=None):
    """dy_k/dx_feature against the feature's value along the line (a matplotlib Figure).

    Parameters
    ----------
    trend : SensitivityTrend
        From ``sensitivity_trend``.
    outputs : sequence of int, optional
        The outputs k (0-based) to draw; all by default.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([2, 3, 2], hidden="tanh")
    >>> trend = sensitivity_trend(net, net.init_params(seed=1), "x_2", np.linspace(-4, 4, 41),
    ...                           base_x=[0.5, 0.0])
    >>> fig = plot_trend(trend)
    >>> line = fig.axes[0].lines[0]
    >>> bool(np.allclose(line.get_xdata(), trend.grid) and np.allclose(line.get_ydata(),
    ...                                                                   trend.slope(0)))
    True
    """
    from .plots import trend_figure
    if not isinstance(trend, SensitivityTrend):
        raise SymnetError(f"plot_trend needs the result of sensitivity_trend; got "
                          f"{type(trend).__name__}")
    K = trend.jacobian.shape[1]
    chosen = range(K) if outputs is None else list(outputs)
    if not all(isinstance(k, (int, np.integer)) and 0 <= k < K for k in chosen):
        raise SymnetError(f"outputs must be 0-based output indices in [0, {K}); got {outputs!r}")
    series = {f"dy_{k + 1}/d{trend.feature}": trend.slope(k) for k in chosen}
    return trend_figure(trend.grid, series, f"{trend.feature} (the other inputs fixed)",
                        "sensitivity (output units per input unit)",
                        f"the input Jacobian along {trend.feature}")
