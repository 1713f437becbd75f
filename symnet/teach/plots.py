"""Figures for the lessons and widgets: built without pyplot, shown as PNG anywhere.

Every function returns a ``LessonFigure``, a matplotlib ``Figure`` that
draws itself as PNG in Jupyter (``_repr_png_``) whatever the backend, and keeps
no global pyplot state, so a widget can redraw one on every slider move and a
test can render one under any backend. Axes are labelled with what is plotted
and its unit ("relative error (dimensionless)", "step size h").

matplotlib is imported on first use, so ``import symnet`` does not need it.

Examples
--------
>>> fig = curves({"gd": [1.0, 0.5, 0.25]}, xlabel="iteration", ylabel="E")
>>> png(fig)[:4]
b'\\x89PNG'
"""

import io

import textwrap

import numpy as np

__all__ = ["LessonFigure", "png", "network_diagram", "function_and_derivative", "heatmap",
           "ranking", "sensitivity_figure", "trend_figure", "loglog", "curves", "spectrum",
           "layer_bars", "images"]


def _figure_class():
    from matplotlib.figure import Figure

    class LessonFigure(Figure):
        """A Figure that Jupyter shows as PNG (``_repr_png_``) without pyplot."""

        def _repr_png_(self):
            return png(self)

    return LessonFigure


def LessonFigure(**kwargs):  # noqa: N802 - behaves as the class it builds
    """A new figure (``figsize`` etc. as for ``matplotlib.figure.Figure``)."""
    kwargs.setdefault("layout", "constrained")
    return _figure_class()(**kwargs)


def png(fig, dpi=80):
    """The figure rendered to PNG bytes (Agg)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def network_diagram(view, title=None):
    """The network of a ``symnet.widgets.forward_view``: units, values, edge derivatives.

    Each unit shows a_j^(l) and z_j^(l) (y_k at the outputs) with its value; each
    weight edge is labelled with its local derivative da/dz = w and its value, and
    each unit's h'(a) is written under it.
    """
    sizes = view.net.sizes
    fig = LessonFigure(figsize=(2.6 * len(sizes) + 1, 1.4 * max(sizes) + 1.2))
    ax = fig.subplots()
    ax.set_axis_off()
    units = {e.source_unit: e for e in view.edges
             if e.kind == "unit" and e.source_unit == e.target_unit}
    position = {}
    for l, n in enumerate(sizes):
        for j in range(n):
            position[(l, j)] = (2.6 * l, (n - 1) / 2 - j * 1.4 / 1.0)
    for edge in view.edges:
        if edge.kind != "weight":
            continue
        (x0, y0), (x1, y1) = position[edge.source_unit], position[edge.target_unit]
        ax.annotate("", xy=(x1 - 0.35, y1), xytext=(x0 + 0.35, y0),
                    arrowprops=dict(arrowstyle="->", color="0.5", lw=1))
        t = 0.3 if edge.target_unit[1] % 2 == 0 else 0.62
        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0) + 0.1,
                f"${_tex(edge.symbolic)}$={edge.value:.3g}", fontsize=8, ha="center",
                color="tab:blue", bbox=dict(fc="white", ec="none", pad=0.5))
    for (l, j), (x, y) in position.items():
        ax.add_patch(_circle((x, y), 0.35))
        if l == 0:
            label = f"$x_{{{j + 1}}}$\n{view.z[0][j]:.3g}"
        else:
            name = f"y_{{{j + 1}}}" if l == len(sizes) - 1 else f"z_{{{j + 1}}}^{{({l})}}"
            label = (f"$a_{{{j + 1}}}^{{({l})}}$={view.a[l][j]:.3g}\n"
                     f"${name}$={view.z[l][j]:.3g}")
            slope = units.get((l, j))
            if slope is not None:
                ax.text(x, y - 0.5, f"$h'={_tex(slope.symbolic)}$={slope.value:.3g}",
                        fontsize=8, ha="center", color="tab:red")
        ax.text(x, y, label, ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.8, 2.6 * (len(sizes) - 1) + 0.8)
    ax.set_ylim(min(y for _, y in position.values()) - 0.9,
                max(y for _, y in position.values()) + 0.6)
    ax.set_title(title or "forward values (blue: da/dz = w on each edge, red: dz/da = h'(a) at each unit)",
                 fontsize=9)
    return fig


def _circle(center, radius):
    from matplotlib.patches import Circle
    return Circle(center, radius, fc="#f4f4f4", ec="0.3")


def _tex(expr):
    from ..render.derivation_latex import tex
    return tex(expr)


def function_and_derivative(a, h, dh, point=None, name="h", kinks=()):
    """h(a) and h'(a) on a grid, with the point (a, h(a), h'(a)) marked."""
    fig = LessonFigure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot(a, h, label=f"{name}(a)")
    ax.plot(a, dh, label=f"{name}'(a)")
    for kink in kinks:
        ax.axvline(float(kink), color="0.7", ls=":", label="kink")
    if point is not None:
        ax.plot([point[0]] * 2, point[1:], "ko", ms=4)
    ax.set_xlabel("pre-activation a (dimensionless)")
    ax.set_ylabel("value (dimensionless)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def heatmap(matrix, rows, columns, title, colorbar="value"):
    """A matrix with its entries written in, rows and columns labelled."""
    matrix = np.asarray(matrix, dtype=float)
    fig = LessonFigure(figsize=(1.0 + 0.9 * matrix.shape[1], 1.0 + 0.6 * matrix.shape[0]))
    ax = fig.subplots()
    _annotated_heatmap(fig, ax, matrix, rows, columns, colorbar)
    ax.set_title(title, fontsize=9)
    return fig


def ranking(values, labels, xlabel, title):
    """Horizontal bars sorted largest first."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(-values)
    fig = LessonFigure(figsize=(5, 0.5 + 0.35 * len(values)))
    ax = fig.subplots()
    ax.barh(range(len(values)), values[order])
    ax.set_yticks(range(len(values)), [labels[i] for i in order])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)
    return fig


def _annotated_heatmap(fig, ax, matrix, rows, columns, colorbar):
    bound = max(np.abs(matrix).max(), 1e-12)
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto")
    ax.set_xticks(range(len(columns)), columns)
    ax.set_yticks(range(len(rows)), rows)
    if matrix.size <= 64:
        for (r, c), value in np.ndenumerate(matrix):
            ax.text(c, r, f"{value:.3g}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label=colorbar)


def sensitivity_figure(matrix, importance, rows, columns, title, unit):
    """A K x D Jacobian heatmap (axes 0, colour bar axes 1) and the inputs ranked (axes 2).

    The bars are sorted largest first; ``unit`` labels the colour bar and the bars.
    """
    matrix, importance = np.asarray(matrix, dtype=float), np.asarray(importance, dtype=float)
    fig = LessonFigure(figsize=(3.0 + 0.9 * matrix.shape[1] + 4.0,
                                1.5 + max(0.6 * matrix.shape[0], 0.35 * len(importance))))
    heat, bars = fig.subplots(1, 2, width_ratios=[1.0 + 0.9 * matrix.shape[1], 4.0])
    _annotated_heatmap(fig, heat, matrix, rows, columns, unit)
    heat.set_title(title, fontsize=9)
    order = np.argsort(-importance, kind="stable")
    bars.barh(range(len(importance)), importance[order])
    bars.set_yticks(range(len(importance)), [columns[i] for i in order])
    bars.invert_yaxis()
    bars.set_xlabel(f"sum_k |dy_k/dx_i| ({unit})")
    bars.set_title("inputs ranked", fontsize=9)
    return fig


def trend_figure(x, series, xlabel, ylabel, title=""):
    """Several series against the values x (e.g. slopes along a line in input space)."""
    fig = LessonFigure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, y in series.items():
        ax.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), label=name)
    ax.axhline(0.0, color="0.7", lw=0.8)
    _label(ax, xlabel, ylabel, title)
    return fig


def loglog(x, series, xlabel, ylabel, title="", mark=None):
    """Several positive series against x on log-log axes; ``mark`` draws a vertical line."""
    fig = LessonFigure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, y in series.items():
        ax.loglog(x, np.maximum(np.asarray(y, dtype=float), 1e-300), "o-", ms=3, label=name)
    if mark is not None:
        ax.axvline(mark, color="0.5", ls="--")
    _label(ax, xlabel, ylabel, title, which="both")
    return fig


def curves(series, xlabel, ylabel, title="", log=False):
    """Loss curves (or any sequences) against their step number (``xlabel`` names it)."""
    fig = LessonFigure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, y in series.items():
        y = np.asarray(y, dtype=float)
        (ax.semilogy if log else ax.plot)(np.arange(len(y)), y, label=name)
    _label(ax, xlabel, ylabel, title)
    return fig


def spectrum(eigenvalues, title, mark=None):
    """Sorted eigenvalues (symmetric log scale: they may be negative)."""
    values = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    fig = LessonFigure(figsize=(6, 3))
    ax = fig.subplots()
    ax.plot(range(1, len(values) + 1), values, "o", ms=4)
    ax.set_yscale("symlog", linthresh=1e-6)
    if mark is not None:
        ax.axhline(mark, color="0.5", ls="--")
    ax.set_xlabel("rank of the eigenvalue (1 = largest)")
    ax.set_ylabel("eigenvalue of the Hessian (units of E per w^2)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def layer_bars(series, ylabel, title):
    """Per-layer values (e.g. gradient norms) for several networks, log scale."""
    fig = LessonFigure(figsize=(6, 3.5))
    ax = fig.subplots()
    width = 0.8 / max(len(series), 1)
    for n, (name, values) in enumerate(series.items()):
        values = np.asarray(values, dtype=float)
        ax.bar(np.arange(1, len(values) + 1) + n * width - 0.4 + width / 2,
               np.maximum(values, 1e-300), width, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("layer l (1 = next to the inputs)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    return fig


def images(arrays, titles, shape=None, cmap="gray_r", symmetric=False):
    """Small images side by side (e.g. 8x8 digits, saliency maps).

    ``shape`` defaults to a square when the size is a perfect square, else one row.
    """
    # titles wrap at 24 characters so that neighbours never overlap; the figure grows with them
    titles = [textwrap.fill(str(title), 24) for title in titles]
    lines = max((title.count("\n") + 1 for title in titles), default=1)
    fig = LessonFigure(figsize=(1.9 * len(arrays), 1.6 + 0.18 * lines))
    axes = np.atleast_1d(fig.subplots(1, len(arrays)))
    for ax, array, title in zip(axes, arrays, titles):
        array = np.asarray(array, dtype=float)
        side = int(round(np.sqrt(array.size)))
        array = array.reshape(shape or ((side, side) if side * side == array.size
                                        else (1, array.size)))
        if symmetric:
            bound = max(np.abs(array).max(), 1e-12)
            ax.imshow(array, cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            ax.imshow(array, cmap=cmap)
        ax.set_title(title, fontsize=8)
        ax.set_axis_off()
    return fig


def _label(ax, xlabel, ylabel, title, which="major"):
    """Axis labels in real units, a small title, the legend and a light grid."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which=which)
