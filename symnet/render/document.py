r"""Standalone LaTeX documents of a network's derivatives, with numeric spot checks.

Both compile with ``pdflatex`` using only ``amsmath`` and ``geometry`` (both in
Debian's ``texlive-latex-base``), and break across pages: every block is an
``align*`` under ``\allowdisplaybreaks``, so a long derivation continues on the
next page instead of running off the bottom of one. Every entry is tagged on the
right with its plain-text name (``dE/dw_21^(1)``, ``H[w_11^(1), b_2^(2)]``), as
``symnet check`` reports it.

* ``derivation_document`` sets one derivation (``symnet derive --latex``);
* ``latex_document`` writes the whole article: the network and its notation, the
  forward pass, the deltas, the gradient, both Jacobians and the Hessian
  (Gauss-Newton and residual terms apart), each block followed by its values at a
  stated point, computed by ``derivation.evaluate``.

The default point is the worked example of ``REFERENCE.md`` for a 2-2-2 logistic
network with sum-of-squares error (E = 0.298371109); any other network gets a
seeded random point rounded to two decimals, so a reader can redo it by hand.

Examples
--------
>>> import symnet
>>> text = latex_document(symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid"), "sse")
>>> text.startswith(r"\documentclass")
True
>>> "E &= 0.298371109" in text
True
"""

from pathlib import Path

import numpy as np

from ..compiled import matrix_form as engine
from . import derivation_latex as lx
from . import layered_latex
from ..derive.first_order import gradient, input_jacobian, param_jacobian, symbolic_sensitivities
from ..derive.derivation import KINDS
from ..derive.layered_derivations import is_layered
from ..errors import SymnetError
from ..compiled.error_value import loss_value
from ..derive.second_order import hessian
from ..graph.latex_printer import omitted, take
from ..graph.losses import get_loss

__all__ = ["latex_document", "derivation_document", "default_point"]

HESSIAN_SYMBOLIC_LIMIT = 64   # W above which the document shows Hessian entries numerically only
MAX_PARAMS_LISTED = 40
# A spot-check residual R = H - G (two computed numbers) this small against max(|H|, |G|)
# is rounding, not a value of R: both are sums of O(W) float64 products.
ROUNDING_LEVEL = 64 * np.finfo(float).eps

# REFERENCE.md's worked example (Mazur's): x, t, W^(1), b^(1), W^(2), b^(2).
WORKED_EXAMPLE = {
    "x": [0.05, 0.10], "t": [0.01, 0.99],
    "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
}

_PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5ex}
"""

_TAGS_NOTE = (r"Each entry is named on the right in plain text, as \texttt{symnet check} reports "
              r"it; the names of derivatives are also the targets of \texttt{symnet verify --of}.")

def default_point(net, loss, seed=0):
    """(x, w, t, description): the worked example for the 2-2-2 logistic sse net, else seeded.

    >>> import symnet
    >>> x, w, t, where = default_point(symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid"), "sse")
    >>> x, t, where
    (array([0.05, 0.1 ]), array([0.01, 0.99]), "the worked example of symnet's REFERENCE.md")
    """
    loss = get_loss(loss, net)
    names = tuple(a.name for a in net.activations)
    if (list(net.sizes) == [2, 2, 2] and names == ("sigmoid", "sigmoid")
            and loss.rule.is_sum_of_squares and not is_layered(net)):  # the worked example
        w = net.pack(WORKED_EXAMPLE["weights"], WORKED_EXAMPLE["biases"])
        return (np.array(WORKED_EXAMPLE["x"]), w, np.array(WORKED_EXAMPLE["t"]),
                "the worked example of symnet's REFERENCE.md")
    rng = np.random.default_rng(seed)
    K = net.sizes[-1]
    x = np.round(rng.uniform(-1, 1, net.sizes[0]), 2)
    w = np.round(net.init_params(seed), 2)
    if net.activations[-1].name == "softmax":
        t = np.eye(K)[rng.integers(K)]
    elif net.activations[-1].name == "sigmoid":
        t = np.round(rng.uniform(0.05, 0.95, K), 2)
    else:
        t = np.round(rng.normal(size=K), 2)
    return x, w, t, f"a random point (seed {seed}, rounded to two decimals)"


def _given_point(net, point):
    if isinstance(point, dict):
        missing = {"x", "w", "t"} - set(point)
        if missing:
            raise SymnetError(f"point needs keys x, w, t; missing {', '.join(sorted(missing))}")
        point = (point["x"], point["w"], point["t"])
    if not isinstance(point, (tuple, list)) or len(point) != 3:
        raise SymnetError("point must be (x, w, t) or a dict with keys x, w, t; "
                          f"got {type(point).__name__}")
    x, w, t = (np.asarray(v, dtype=float) for v in point)
    if x.shape != (net.sizes[0],) or t.shape != (net.sizes[-1],) or w.shape != (net.n_params,):
        raise SymnetError(
            f"point is one sample: x of shape ({net.sizes[0]},), w of shape ({net.n_params},), "
            f"t of shape ({net.sizes[-1]},); got {x.shape}, {w.shape}, {t.shape}")
    return x, w, t, "the point given"


def number(value):
    """A float as LaTeX with 9 significant digits: ``1.5 \\times 10^{-5}`` for small ones."""
    text = f"{float(value):.9g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def _values_block(pairs, max_entries):
    """align* rows ``name &= value`` for (LaTeX name, float) pairs, bounded."""
    shown, hidden = take(pairs, max_entries)
    rows = [rf"{name} &= {number(value)}" for name, value in shown]
    if hidden:
        rows.append(omitted(hidden, "values"))
    return _align(rows)


def _align(rows):
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"


def _matrix(values):
    body = r" \\ ".join(" & ".join(number(v) for v in np.atleast_1d(row)) for row in values)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def _spot(where_text, block):
    return rf"\paragraph{{Spot check}} at {where_text}:" + "\n" + block


def derivation_document(derivation, path=None, *, form="entries", max_entries=lx.MAX_ENTRIES,
                        n_samples=None, title=None):
    r"""A standalone ``.tex`` document of one derivation, breaking across pages.

    The sections of ``derivation.latex()`` (forward pass, recursions, entries), each
    set as an ``align*`` that may break between rows, every entry tagged with its name.

    Parameters
    ----------
    derivation : Derivation
    path : str or Path, optional
        Where to write the document (it is returned either way).
    form : {"entries", "matrix"}
    max_entries : int or None
        Entries (and definitions) shown per list; None shows all.
    n_samples : int, optional
        N of a parameter Jacobian's Levenberg-Marquardt layout (default 5, stated).
    title : str, optional

    Examples
    --------
    >>> import symnet
    >>> text = derivation_document(symnet.gradient(symnet.MLP([1, 1, 1]), "sse"))
    >>> text.count(r"\begin{align*}"), r"\tag*{\texttt{dE/db\char95{}1\char94{}(2)}}" in text
    (4, True)
    """
    sections = lx.derivation_sections(derivation, form, max_entries=max_entries,
                                      n_samples=n_samples, tags=form == "entries")
    title = title or _title(derivation.net, derivation.loss, derivation.kind)
    parts = [_PREAMBLE, rf"\title{{{title}}}", r"\date{}", r"\begin{document}", r"\maketitle"]
    if form == "entries":
        parts.append(_TAGS_NOTE)
    for heading, rows in sections:
        parts += [rf"\section*{{{heading}}}", _align(rows)]
    parts.append(r"\end{document}")
    return _written("\n".join(parts) + "\n", path)


def _written(text, path):
    if path is not None:
        Path(path).write_text(text)
    return text


def latex_document(net, loss="sse", path=None, point=None, *, max_entries=12, n_samples=None,
                   seed=0, title=None, weight_decay=None):
    r"""A standalone ``.tex`` document of every derivative of ``net`` under ``loss``.

    Parameters
    ----------
    net : MLP, Network or RNN
        A Network's or RNN's document shows its sums over positions and time
        (``symnet.render.layered_latex``).
    loss : str or Loss
        A row of the loss table (``"sse"``, ``"cross_entropy"``, ``"log_cosh"``,
        ``"huber"``, or one added with ``symnet.register_loss``).
    path : str or Path, optional
        Where to write the document (it is returned either way).
    point : (x, w, t) or dict, optional
        One sample and parameter vector for the spot checks; default
        ``default_point``.
    max_entries : int or None
        Entries and values shown per list (default 12); the rest are counted as
        omitted, so a big network still gives a document of bounded size. None
        shows every entry.
    n_samples : int, optional
        N in the Levenberg-Marquardt Jacobian's shape (N K) x W; without it the
        document uses N = 5 and says that this N is the default.
    seed : int
        Seed of the random point when no point is given.
    title : str, optional
    weight_decay : float, optional
        lam of E = sum_n E_n + lam/2 ||w||^2 (default 0): the gradient gains lam w_p and
        the Hessians lam I, said in their sections and included in the numbers.

    Returns
    -------
    str
        The LaTeX source.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1, 1], hidden="tanh")
    >>> text = symnet.latex_document(net, "sse", point=([1.0], [0.5, 0.0, 2.0, 0.0], [0.0]))
    >>> # x = 1, a = 0.5, z = tanh(0.5) = 0.462117157, y = 2 z = 0.924234315,
    >>> # E = y^2 / 2 = 0.854209068 / 2 = 0.427104534
    >>> [line for line in text.splitlines() if line.startswith("E &=")]
    ['E &= 0.427104534']
    """
    loss = get_loss(loss, net, weight_decay)
    lx.check_max_entries(max_entries)
    x, w, t, where = default_point(net, loss, seed) if point is None else _given_point(net, point)
    X, T = x[None, :], t[None, :]
    wrap = {"max_entries": max_entries}
    parts = [_PREAMBLE, rf"\title{{{title or _title(net, loss)}}}", r"\date{}",
             r"\begin{document}", r"\maketitle", _TAGS_NOTE]
    if is_layered(net):  # a Network or RNN: the sections of symnet.render.layered_latex
        parts += _layered_network_section(net, loss, X, w, T, where)
        for heading, text, blocks, values in layered_latex.document_sections(
                net, loss, X, w, T, max_entries, n_samples):
            parts += [rf"\section{{{heading}}}", text, *[_align(rows) for rows in blocks]]
            parts += [_spot("the point", _values_block(values, max_entries))] if values else []
        parts.append(r"\end{document}")
        return _written("\n".join(parts) + "\n", path)
    parts += _network_section(net, loss, x, w, t, where)
    parts += _forward_section(net, loss, X, w, T, max_entries)
    grad = gradient(net, loss)
    g = grad.evaluate(X, w, T)
    parts += [r"\section{Deltas}",
              r"$\delta_j^{(l)} = \partial E_n / \partial a_j^{(l)}$, computed backwards from the outputs.",
              _align(lx.delta_rows(grad, "entries", **wrap)), "In matrix form:",
              _align(lx.delta_rows(grad, "matrix", **wrap)),
              _spot("the point (one sample, so $\\delta_j^{(l)} = \\partial E / \\partial b_j^{(l)}$)",
                    _values_block(_delta_values(net, g - loss.decay_term("gradient", w)),
                                  max_entries))]
    parts += [r"\section{Gradient}", _align(lx.entry_rows(grad, tags=True, **wrap)),
              *_decay(loss, "gradient"), "In matrix form:",
              _align(lx.GRADIENT_MATRIX),
              _spot("the point", _values_block(
                  [(lx.partial("E", p), v) for p, v in zip(net.params, g)], max_entries))]
    parts += _jacobian_sections(net, X, w, max_entries, n_samples)
    parts += _hessian_section(net, loss, X, w, T, max_entries)
    parts.append(r"\end{document}")
    return _written("\n".join(parts) + "\n", path)


def _title(net, loss, kind=None):
    """"Derivatives of a 3-4-2 network (tanh / linear, sum-of-squares error)", or of one kind."""
    names = " / ".join(dict.fromkeys(a.name for a in net.activations))
    loss_name = f"{loss.rule.title} error" if loss is not None else ""
    sizes = "-".join(str(n) for n in net.sizes)
    what = KINDS[kind].title if kind else "Derivatives"
    network = rf"\texttt{{{net!r}}}" if is_layered(net) else f"a {sizes} network"
    return f"{what} of {network} ({', '.join(filter(None, [names, loss_name]))})"


def _layered_network_section(net, loss, X, w, T, where):
    """The network, its names and parameter order, and the point of the spot checks."""
    shown = [f"${lx.tex(p)}$" for p in net.params[:MAX_PARAMS_LISTED]]
    more = net.n_params - len(shown)
    point = [rf"{lx.tex(s)} &= {number(v)}" for s, v in zip(net.inputs, X[0])]
    point += [rf"{lx.tex(s)} &= {number(v)}" for s, v in zip(net.targets, T[0])]
    return [
        r"\section{The network and its notation}",
        rf"{{\raggedright \texttt{{{net!r}}}: one sample is {net.input_description}. The "
        r"units are named "
        r"as in \texttt{net.equations} (indices from 1; a convolution's $a_{c,p}^{(l)}$ by "
        r"channel and position, an RNN's $a_j^{(t)}$, $h_j^{(t)}$ by time step). Error: "
        rf"${loss.latex}$ per sample" + (rf", plus $\tfrac{{\lambda}}{{2}} \lVert \mathbf{{w}} "
                                         rf"\rVert^2$ with $\lambda = {loss.weight_decay:g}$."
                                         if loss.weight_decay else ".") + r"\par}",
        rf"The $W = {net.n_params}$ parameters, in the order of every gradient and Jacobian "
        rf"column: {', '.join(shown)}" + (f", and {more} more." if more else "."),
        _align(layered_latex.derivative_rows(net)),
        rf"The spot checks below are at {where}:", _align(point),
        r"{\raggedright Parameter vector: $\mathbf{w} = (" + r", \allowbreak ".join(
            number(v) for v in w[:MAX_PARAMS_LISTED]) + (r", \dots" if more else "") + r")$.\par}",
        r"Numbers are printed to 9 significant digits."]


def _network_section(net, loss, x, w, t, where):
    L = net.n_layers
    params = [f"${lx.tex(p)}$" for p in net.params[:MAX_PARAMS_LISTED]]
    more = net.n_params - len(params)
    weights, biases = net.unpack(w)
    point_rows = [rf"\mathbf{{x}} &= {_matrix([x])}^\top, \quad "
                  rf"\mathbf{{t}} = {_matrix([t])}^\top"]
    for l in range(1, L + 1):
        if max(net.sizes[l], net.sizes[l - 1]) <= lx.SMALL_LAYER:
            point_rows.append(rf"W^{{({l})}} &= {_matrix(weights[l - 1])}, \quad "
                              rf"\mathbf{{b}}^{{({l})}} = {_matrix([biases[l - 1]])}^\top")
    return [
        r"\section{The network and its notation}",
        rf"Layers $l = 0, \dots, {L}$ with {', '.join(str(n) for n in net.sizes)} units: inputs "
        rf"$x_i$ ($i = 1, \dots, {net.sizes[0]}$), outputs $y_k$ ($k = 1, \dots, {net.sizes[-1]}$). "
        r"$w_{ji}^{(l)}$ is the weight from unit $i$ of layer $l-1$ to unit $j$ of layer $l$, "
        r"so $W^{(l)}$ has shape $n_l \times n_{l-1}$ and $W^{(l)}_{ji} = w_{ji}^{(l)}$ "
        r"(Bishop, \emph{Deep Learning}, 2024, ch.~8).",
        rf"Activations: {', '.join(f'layer {l}: {a.name}' for l, a in enumerate(net.activations, 1))}. "
        rf"Error: ${loss.latex}$ per sample, $E = \sum_n E_n"
        + (rf" + \tfrac{{\lambda}}{{2}} \lVert \mathbf{{w}} \rVert^2$ with weight decay "
           rf"$\lambda = {loss.weight_decay:g}$." if loss.weight_decay else "$."),
        rf"The $W = {net.n_params}$ parameters, in the order of every gradient and Jacobian "
        rf"column: {', '.join(params)}" + (f", and {more} more." if more else "."),
        _align(lx.derivative_rows(net)),
        rf"The spot checks below are at {where}:", _align(point_rows),
        r"Numbers are printed to 9 significant digits.",
        # \allowbreak: TeX breaks inline math only at relations and operators, not commas
        # ragged right, so that a line of numbers need not be stretched to the margin
        ((r"{\raggedright Parameter vector: $\mathbf{w} = (" + r", \allowbreak ".join(
            number(v) for v in w[:MAX_PARAMS_LISTED])
          + (r", \dots" if more else "") + r")$.\par}") if len(point_rows) < L + 1 else ""),
    ]


def _forward_section(net, loss, X, w, T, max_entries):
    A, Z = engine.forward_pass(net, X, w)
    pairs = []
    for l in range(1, net.n_layers + 1):
        pairs += [(lx.tex(a), A[l][0, j]) for j, a in enumerate(net.layer_pre_activations(l))]
        pairs += [(lx.tex(z), Z[l][0, j]) for j, z in enumerate(net.layer_values(l))]
    E = loss_value(net, loss, X, w, T)
    shown, hidden = take(pairs, max_entries)
    rows = [rf"{name} &= {number(value)}" for name, value in shown]
    if hidden:
        rows.append(omitted(hidden, "values"))
    rows.append(rf"E &= {number(E)}")
    return [r"\section{Forward pass}", _align(lx.forward_rows(net, "entries", max_entries)),
            "In matrix form:", _align(lx.forward_rows(net, "matrix", max_entries)),
            _spot("the point", _align(rows))]


def _decay(loss, kind):
    """The weight decay's rows for ``kind`` as one display (none without weight decay)."""
    rows = loss.decay_latex(kind)
    return [_align(rows)] if rows else []


def _delta_values(net, g):
    pairs = []
    for l in range(net.n_layers, 0, -1):
        bias_columns = net.layer_slices(l)[1]
        pairs += [(rf"\delta_{{{j + 1}}}^{{({l})}}", v) for j, v in enumerate(g[bias_columns])]
    return pairs


def _jacobian_sections(net, X, w, max_entries, n_samples):
    wrap = {"max_entries": max_entries}
    jin, jpar = input_jacobian(net), param_jacobian(net)
    J = jin.evaluate(X, w)[0]
    B = jpar.evaluate(X, w)[0]
    K, D = J.shape
    sens = lx.sensitivity_rows(net, jin.intermediates["dy/da"], jin.definitions, **wrap)
    corners = lx.lm_corners(jpar, n_samples or lx.N_SAMPLES)
    N = corners["shape"][0] // K
    corner_values = [(rf"J_{{1,1}} = {lx.partial('y_1', net.params[0])}", B[0, 0]),
                     (rf"J_{{{K},{net.n_params}}} = {lx.partial(f'y_{{{K}}}', net.params[-1])}",
                      B[-1, -1])]
    values = [(lx.partial(f"y_{{{k + 1}}}", p), B[k, c]) for k in range(K)
              for c, p in enumerate(net.params)]
    return [
        r"\section{Input Jacobian}",
        r"$J_{ki} = \partial y_k / \partial x_i$ by backpropagating $\partial y_k / \partial a_j^{(l)}$.",
        _align(sens), _align(lx.entry_rows(jin, tags=True, **wrap)), "In matrix form:",
        _align(lx.sensitivity_rows(net, None, {}, "matrix") + lx.INPUT_JACOBIAN_MATRIX),
        _spot("the point", _align([rf"J &= {_matrix(J)}"]) if max(K, D) <= lx.SMALL_LAYER
              else _values_block([(f"J_{{{k + 1},{i + 1}}}", J[k, i]) for k in range(K)
                                  for i in range(D)], max_entries)),
        r"\section{Parameter Jacobian (Levenberg-Marquardt)}",
        rf"Per sample, $B_n = \partial \mathbf{{y}}(\mathbf{{x}}_n) / \partial \mathbf{{w}}$ is "
        rf"${K} \times {net.n_params}$; its entries use the same $\partial y_k / \partial a_j^{{(l)}}$ "
        r"as the input Jacobian. Stacking $N$ samples (rows sample-major, columns in parameter order) "
        r"gives the Levenberg-Marquardt Jacobian; what goes in its corners:",
        _align(lx.lm_rows(jpar, n_samples)),
        _align(lx.entry_rows(jpar, tags=True, **wrap)), "In matrix form:",
        _align(lx.PARAM_JACOBIAN_MATRIX),
        _spot(r"the point (one sample, so $N = 1$ and $J = B_1$)", _values_block(
            corner_values + values, None if max_entries is None else max_entries + 2)),
        rf"(With $N = {N}$ the corners are the same formulas at $\mathbf{{x}}_1$ and "
        rf"$\mathbf{{x}}_{{{N}}}$; the bottom-right one is "
        rf"${lx.tex(corners['bottom_right']['entry'])}$ "
        + ("for every sample.)" if corners["bottom_right"]["entry"].is_number else "there.)"),
    ]


def _residual_value(H, G, exact_zero):
    r"""The spot value of R = H - G: "0 (exact)" where R is identically 0, rounding as such.

    >>> print(_residual_value(0.25, 0.25 + 2 ** -52, exact_zero=False))
    R \approx 0 \ \text{(rounding level: $\lvert H - G \rvert = 2 \times 10^{-16}$)}
    >>> print(_residual_value(0.25, 0.125, exact_zero=False))
    R = 0.125
    """
    if exact_zero:
        return r"R = 0 \ \text{(exact)}"
    residual = H - G
    if abs(residual) <= ROUNDING_LEVEL * max(abs(H), abs(G)):
        size = number(float(f"{abs(residual):.1g}"))
        return rf"R \approx 0 \ \text{{(rounding level: $\lvert H - G \rvert = {size}$)}}"
    return rf"R = {number(residual)}"


def _hessian_section(net, loss, X, w, T, max_entries):
    W = net.n_params
    parts = [r"\section{Hessian}"]
    if W > HESSIAN_SYMBOLIC_LIMIT:
        shown = W if max_entries is None else min(max_entries, W)
        H = engine.hessian_vector_values(net, loss, X, w, T, np.eye(W)[:, :shown])
        parts += [rf"With $W = {W}$ the symbolic Hessian has {W * W} entries; only the general "
                  r"form and numbers are shown.", _align(lx.curvature_matrix_rows(loss)),
                  *_decay(loss, "hessian"),
                  _spot("the point", _values_block(
                      [(lx.partial("E", net.params[p], 2, net.params[q]), H[p, q])
                       for q in range(H.shape[1]) for p in range(q + 1)], max_entries))]
        return parts
    exact = hessian(net, loss)
    gauss = hessian(net, loss, approx="gauss_newton")
    H, G = exact.evaluate(X, w, T), gauss.evaluate(X, w, T)
    definitions = dict(gauss.definitions)
    sens = symbolic_sensitivities(net, definitions, loss.jacobian_of)
    labels, hidden = take(lx.entry_labels(exact), max_entries)
    splits = lx.hessian_splits(exact, labels)
    rows = []
    for p, q, lhs in labels:
        residual = _residual_value(H[p, q], G[p, q], exact_zero=not splits[p, q][1])
        rows.append(rf"{lhs} &= {number(H[p, q])}, \quad G = {number(G[p, q])}, \quad {residual}")
    if hidden:
        rows.append(omitted(hidden, "values"))
    parts += [
        r"Each exact entry is the Gauss-Newton (outer-product) term $G$, which uses only first "
        r"derivatives, plus the residual term $R$, which vanishes when every residual $y_k - t_k$ "
        r"is zero. $R$ is written out in $z$, $y$, $t$, $w$, $x$; the table shows the upper "
        r"triangle ($H$ is symmetric).",
        _align(lx.sensitivity_rows(net, sens, definitions, max_entries=max_entries,
                                   of=loss.jacobian_of)),
        _align(lx.hessian_rows(exact, max_entries, tags=True, splits=splits)),
        *_decay(loss, "hessian"), "In matrix form:",
        _align(lx.curvature_matrix_rows(loss)),
        _spot(r"the point, as $H$, its Gauss-Newton term $G$ and $R = H - G$. $R$ is 0 (exact) "
              r"where the residual term above is identically zero; a computed $H - G$ smaller "
              r"than $64 \varepsilon \max(\lvert H \rvert, \lvert G \rvert)$ is rounding, not a "
              r"value of $R$, and is printed as such", _align(rows))]
    return parts
