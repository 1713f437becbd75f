r"""LaTeX for derivations, in Bishop's notation: the blocks a derivation is shown as.

Every ``symnet.derivation.Derivation`` renders itself through this module
(``derivation.latex()`` and, in Jupyter, ``_repr_latex_``). A rendering is a list
of sections (forward pass, delta recursion, entries, ...), each a list of rows
``lhs &= rhs`` of an ``aligned`` (or, in a document, ``align*``) environment:

* recursions are shown twice: in general index form and instantiated per layer;
* entries stay in named intermediates unless ``expanded=True``;
* rows are printed and wrapped by ``symnet.latex_print`` (whose ``tex``,
  ``wrap_row`` and ``signed_terms`` are re-exported here), so a long sum
  continues on the next line instead of running off the page;
* the matrix-form and Levenberg-Marquardt rows are in ``symnet.latex_forms``.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> [title for title, rows in derivation_sections(symnet.gradient(net, "sse"))]
['Forward pass', 'Activation derivatives', 'Deltas', 'Gradient']
"""

import sympy as sp

from .backprop import hidden_derivative, symbolic_sensitivities
from .errors import SymnetError
from .latex_print import (TERMS_PER_LINE, WIDTH, bracket_group, entry_tag, join_signs, omitted,
                          ordered_terms, signed_terms, take, tex, wrap_row)
from .latex_forms import (GRADIENT_MATRIX, INPUT_JACOBIAN_MATRIX, N_SAMPLES,  # noqa: F401
                          PARAM_JACOBIAN_MATRIX, curvature_matrix_rows, lm_corners, lm_rows)
from .report import entry_name

__all__ = ["tex", "wrap_row", "signed_terms", "derivation_latex", "derivation_sections",
           "lm_corners", "entry_names", "FORMS", "N_SAMPLES"]

FORMS = ("entries", "matrix")
MAX_ENTRIES = 24     # entries shown per list before "n more omitted"
SMALL_LAYER = 6      # layers up to this width are also written out as explicit matrices


# -- the network -------------------------------------------------------------------
def _activation_latex(net, layer, argument):
    act = net.activations[layer - 1]
    if not act.elementwise:
        return r"\operatorname{softmax}"
    return tex(act.function(argument))


def forward_rows(net, form="entries", max_entries=MAX_ENTRIES, **wrap):
    """a_j^(l) and z_j^(l): the general equations, then every unit of every layer."""
    if form == "matrix":
        rows = [r"\mathbf{a}^{(l)} &= W^{(l)} \mathbf{z}^{(l-1)} + \mathbf{b}^{(l)}, \qquad "
                r"\mathbf{z}^{(l)} = h_l\bigl(\mathbf{a}^{(l)}\bigr), \qquad \mathbf{z}^{(0)} = "
                r"\mathbf{x}, \quad \mathbf{y} = \mathbf{z}^{(L)}"]
        for l in range(1, net.n_layers + 1):
            if max(net.sizes[l - 1], net.sizes[l]) <= SMALL_LAYER:
                a = sp.Matrix(net.layer_pre_activations(l))
                rows.append(f"{tex(a)} &= {tex(net.weights[l - 1])} "
                            f"{tex(sp.Matrix(net.layer_values(l - 1)))} + {tex(net.biases[l - 1])}")
        return rows
    rows = [r"a_j^{(l)} &= \sum_i w_{ji}^{(l)} z_i^{(l-1)} + b_j^{(l)}, \qquad "
            r"z_j^{(l)} = h_l\bigl(a_j^{(l)}\bigr), \qquad z_i^{(0)} = x_i, \quad y_k = z_k^{(L)}"]
    equations = []
    for l in range(1, net.n_layers + 1):
        previous, W = net.layer_values(l - 1), net.weights[l - 1]
        for j, a in enumerate(net.layer_pre_activations(l)):
            pieces = join_signs([W[j, i] * z for i, z in enumerate(previous)]
                                 + [net.biases[l - 1][j]])
            equations.append(wrap_row(tex(a), pieces, **wrap))
        for z in net.layer_values(l):
            equations.append(f"{tex(z)} &= {tex(net.equations[z])}")
    shown, hidden = take(equations, max_entries)
    return rows + shown + ([omitted(hidden, "equations")] if hidden else [])


def derivative_rows(net):
    """h_l'(a) for each layer, written in z = h(a) where the activation allows."""
    rows = []
    for l in range(1, net.n_layers + 1):
        act = net.activations[l - 1]
        if not act.elementwise:
            rows.append(rf"\frac{{\partial y_k}}{{\partial a_m^{{({l})}}}} &= y_k (I_{{km}} - y_m)"
                        r" \quad \text{(softmax)}")
            continue
        a, z = sp.Symbol(f"a_j^({l})", real=True), sp.Symbol(f"z_j^({l})", real=True)
        generic = hidden_derivative(net, l, 0).xreplace(
            {net.layer_values(l)[0]: z, net.layer_pre_activations(l)[0]: a})
        name = rf"h_{{{l}}}'\bigl(a_j^{{({l})}}\bigr)"
        note = "; $[\\cdot]$ is 1 if true, else 0" if generic.has(sp.Heaviside) else ""
        rows.append(rf"{name} &= {tex(generic)} \quad \text{{({act.name}{note})}}")
    return rows


# -- recursions --------------------------------------------------------------------
def _recursion_rows(net, values, named, max_entries, wrap):
    """Instantiated rows ``q_rj^(l) = h'(a_j^(l)) (sum_k w_kj^(l+1) q_rk^(l+1))`` for l < L.

    ``values[l]`` is a matrix of named quantities of layer l, one column per unit
    (a single row for deltas, row k for dy_k/da); ``named`` maps a symbol to its
    definition, which is shown as it is for the output layer.
    """
    rows, L = [], net.n_layers
    for l in range(L, 0, -1):
        matrix = values[l]
        for r in range(matrix.rows):
            for j in range(matrix.cols):
                symbol = matrix[r, j]
                if symbol not in named:
                    continue  # a number (dy_k/da_m^(L) = 0 or 1), shown in the general form
                if l == L:
                    rows.append(wrap_row(tex(symbol), signed_terms(named[symbol]), **wrap))
                    continue
                # w_kj^(l+1) q_k^(l+1), in the textbook's order (weight first)
                terms = [tex(net.weights[l][k, j]) + ("" if values[l + 1][r, k] == 1
                                                      else " " + tex(values[l + 1][r, k]))
                         for k in range(net.sizes[l + 1]) if values[l + 1][r, k] != 0]
                terms = [terms[0]] + ["+ " + t for t in terms[1:]] if terms else []
                h_prime = hidden_derivative(net, l, j)
                factor = rf"\left({tex(h_prime)}\right)" if h_prime.is_Add else tex(h_prime)
                pieces = bracket_group(factor, terms) if terms else ["0"]
                rows.append(wrap_row(tex(symbol), pieces, **wrap))
    shown, hidden = take(rows, max_entries)
    return shown + ([omitted(hidden, "definitions")] if hidden else [])


def delta_rows(derivation, form="entries", max_entries=MAX_ENTRIES, **wrap):
    """The delta recursion: general index form, then instantiated per layer."""
    net, L = derivation.net, derivation.net.n_layers
    canonical = _is_canonical(derivation)
    start = _OUTPUT_DELTAS.get((derivation.loss.name, net.activations[-1].name),
                               r"(y_k - t_k)\, h_L'\bigl(a_k^{(L)}\bigr)")
    if form == "matrix":
        rows = [rf"\boldsymbol{{\delta}}^{{(L)}} &= \frac{{\partial E_n}}{{\partial \mathbf{{a}}^{{(L)}}}}"
                + (r" = \mathbf{y} - \mathbf{t}" if canonical else ""),
                r"\boldsymbol{\delta}^{(l)} &= h_l'\bigl(\mathbf{a}^{(l)}\bigr) \odot "
                r"W^{(l+1)\top} \boldsymbol{\delta}^{(l+1)}, \qquad l = L-1, \dots, 1"]
        for l in range(L - 1, 0, -1):
            if max(net.sizes[l], net.sizes[l + 1]) <= SMALL_LAYER:
                h_prime = sp.Matrix([hidden_derivative(net, l, j) for j in range(net.sizes[l])])
                rows.append(rf"\boldsymbol{{\delta}}^{{({l})}} &= {tex(h_prime)} \odot "
                            rf"{tex(net.weights[l].T)} {tex(sp.Matrix(derivation.intermediates['delta'][l + 1]))}")
        return rows
    rows = [rf"\delta_k^{{(L)}} &= \frac{{\partial E_n}}{{\partial a_k^{{(L)}}}}"
            + f" = {start}",
            r"\delta_j^{(l)} &= h_l'\bigl(a_j^{(l)}\bigr) \sum_k w_{kj}^{(l+1)} \delta_k^{(l+1)},"
            r" \qquad l = L-1, \dots, 1"]
    deltas = {l: sp.Matrix(m).T for l, m in derivation.intermediates["delta"].items()}
    return rows + _recursion_rows(net, deltas, derivation.definitions, max_entries, wrap)


def sensitivity_rows(net, G, definitions, form="entries", max_entries=MAX_ENTRIES, of="y", **wrap):
    """dy_k/da_j^(l) (or da_k^(L)/da_j^(l)): general index form (Bishop 8.1.5), then per layer."""
    act = net.activations[-1]
    if of == "a" or act.name == "linear":
        start = r"I_{km}"
    elif not act.elementwise:
        start = r"y_k \bigl(I_{km} - y_m\bigr)"
    else:
        start = r"I_{km}\, h_L'\bigl(a_m^{(L)}\bigr)"
    out = "y_k" if of == "y" else "a_k^{(L)}"
    if form == "matrix":
        return [r"\frac{\partial \mathbf{y}}{\partial \mathbf{a}^{(L)}} &= "
                + (r"\operatorname{diag}(\mathbf{y}) - \mathbf{y}\mathbf{y}^\top" if not act.elementwise
                   else r"\operatorname{diag}\bigl(h_L'(\mathbf{a}^{(L)})\bigr)"),
                r"\frac{\partial \mathbf{y}}{\partial \mathbf{a}^{(l)}} &= "
                r"\frac{\partial \mathbf{y}}{\partial \mathbf{a}^{(l+1)}} W^{(l+1)} "
                r"\operatorname{diag}\bigl(h_l'(\mathbf{a}^{(l)})\bigr), \qquad l = L-1, \dots, 1"]
    rows = [rf"\frac{{\partial {out}}}{{\partial a_m^{{(L)}}}} &= {start} \quad "
            r"\text{($I_{km}$: 1 if $k = m$, else 0)}",
            rf"\frac{{\partial {out}}}{{\partial a_j^{{(l)}}}} &= h_l'\bigl(a_j^{{(l)}}\bigr) \sum_m "
            rf"w_{{mj}}^{{(l+1)}} \frac{{\partial {out}}}{{\partial a_m^{{(l+1)}}}}, \qquad l = L-1, \dots, 1"]
    return rows + _recursion_rows(net, G, definitions, max_entries, wrap)


_OUTPUT_DELTAS = {
    ("sse", "linear"): "y_k - t_k", ("cross_entropy", "sigmoid"): "y_k - t_k",
    ("cross_entropy", "softmax"): r"y_k \sum_m t_m - t_k \quad \text{($= y_k - t_k$ for one-hot "
                                  r"targets)}",
    ("sse", "softmax"): r"y_k \Bigl(y_k - t_k - \sum_m (y_m - t_m)\, y_m\Bigr)"}


def _is_canonical(derivation):
    """True when delta_k^(L) = y_k - t_k (Bishop's canonical output/loss pairs)."""
    net, loss = derivation.net, derivation.loss
    return loss is not None and (loss.name, net.activations[-1].name) in {
        ("sse", "linear"), ("cross_entropy", "sigmoid")}


# -- entries -------------------------------------------------------------------------
def partial(numerator, parameter, order=1, other=None):
    r"""The LaTeX of d numerator / d parameter (or the second derivative with ``order=2``).

    >>> print(partial("E_n", sp.Symbol("b_1^(2)")))
    \frac{\partial E_n}{\partial b_{1}^{(2)}}
    """
    if order == 2:
        return (rf"\frac{{\partial^2 {numerator}}}{{\partial {tex(parameter)}\, "
                rf"\partial {tex(other)}}}")
    return rf"\frac{{\partial {numerator}}}{{\partial {tex(parameter)}}}"


def entry_labels(derivation):
    """(row, column, lhs LaTeX) for every entry, in the order a reader expects."""
    net, kind = derivation.net, derivation.kind
    rows, cols = derivation.shape
    if kind == "gradient":
        return [(p, 0, partial("E_n", q)) for p, q in enumerate(net.params)]
    if kind == "input_jacobian":
        return [(k, i, rf"J_{{{k + 1}{i + 1}}} = \frac{{\partial y_{{{k + 1}}}}}{{\partial x_{{{i + 1}}}}}")
                for k in range(rows) for i in range(cols)]
    if kind == "param_jacobian":
        return [(k, p, partial(f"y_{{{k + 1}}}", q))
                for k in range(rows) for p, q in enumerate(net.params)]
    if kind == "gauss_newton":   # an approximation, not a derivative: name it G
        return [(p, q, rf"G\bigl[{tex(net.params[p])}, {tex(net.params[q])}\bigr]")
                for p in range(rows) for q in range(p, cols)]
    return [(p, q, partial("E_n", net.params[p], 2, net.params[q]))   # symmetric: upper triangle
            for p in range(rows) for q in range(p, cols)]


def entry_names(derivation):
    """{(row, column): plain-text name} of every entry, as ``symnet check`` names them.

    >>> import symnet
    >>> names = entry_names(symnet.hessian(symnet.MLP([1, 1]), "sse"))
    >>> names[0, 1]
    'H[w_11^(1), b_1^(1)]'
    """
    net, kind = derivation.net, derivation.kind
    variables = [s.name for s in (net.inputs if kind == "input_jacobian" else net.params)]
    outputs = [s.name for s in net.layer_values(net.n_layers)]
    rows, cols = derivation.shape
    return {(r, c): entry_name(kind, (r,) if kind == "gradient" else (r, c), variables, outputs,
                               per_sample=False)
            for r in range(rows) for c in range(cols)}


def _tags(derivation, tags):
    """(row, column) -> the ``\\tag*`` of the entry's name, or "" everywhere without ``tags``."""
    if not tags:
        return lambda r, c: ""
    names = entry_names(derivation)
    return lambda r, c: entry_tag(names[r, c])


def entry_rows(derivation, expanded=False, max_entries=MAX_ENTRIES, tags=False, **wrap):
    """One row per entry, in named intermediates (or fully substituted with ``expanded``).

    ``tags=True`` (for a document's ``align*``, not an ``aligned`` block) names each
    entry on the right in plain text.
    """
    source = derivation.matrix if expanded else derivation.named
    labels, hidden = take(entry_labels(derivation), max_entries)
    tag = _tags(derivation, tags)
    rows = [wrap_row(lhs, signed_terms(source[r, c]), tag=tag(r, c), **wrap)
            for r, c, lhs in labels]
    return rows + ([omitted(hidden)] if hidden else [])


def _residuals(net):
    """e_k standing for y_k - t_k while collecting the residual term."""
    return [sp.Symbol(f"e_{k}", real=True) for k in range(1, net.sizes[-1] + 1)]


def _resolved(definitions):
    """Each named intermediate in terms of the network's z, y, t, w, x (not a, z substituted)."""
    full = {}
    for name, value in definitions.items():
        full[name] = value.xreplace(full)
    return full


def split_hessian_entry(derivation, gauss_newton, p, q):
    """(Gauss-Newton term, residual parts) of H[p, q].

    The Gauss-Newton term is ``gauss_newton.named[p, q]`` (in dy_k/da_j^(l)); the
    residual term is the exact entry minus it, with every delta and dy/da written
    out in z, y, t, w, x and collected in the residuals: ``parts`` maps y_k - t_k
    (or 1, for anything left over) to its coefficient, so that
    ``sum(factor * c for factor, c in parts.items())`` is the residual term, and the
    two terms add up to the exact entry.
    """
    exact = derivation.named[p, q].xreplace(_resolved(derivation.definitions))
    gauss = gauss_newton.named[p, q].xreplace(_resolved(gauss_newton.definitions))
    net = derivation.net
    residuals = _residuals(net)
    y = net.layer_values(net.n_layers)
    to_residual = {t: yk - e for t, yk, e in zip(net.targets, y, residuals)}
    difference = sp.expand((exact - gauss).xreplace(to_residual))
    collected = sp.collect(difference, residuals, evaluate=False)
    back = {e: yk - t for e, yk, t in zip(residuals, y, net.targets)}
    parts = {}
    for key, coefficient in collected.items():
        if coefficient != 0:
            parts[key.xreplace(back)] = _tidy(coefficient.xreplace(back))
    return gauss_newton.named[p, q], parts


def _tidy(expr):
    """Factor a coefficient when that is cheap, so it reads as a product."""
    return sp.factor(expr) if sp.count_ops(expr) < 150 else expr


def _residual_pieces(parts):
    """LaTeX pieces ``c_k (y_k - t_k)``, one per output, then anything left over."""
    pieces = []
    for factor, coefficient in parts.items():
        if coefficient == 1 and factor != 1:
            group = [rf"\left({tex(factor)}\right)"]
        else:
            group = signed_terms(coefficient)
            if len(ordered_terms(coefficient)) > 1 and factor != 1:   # a sum times (y - t): bracket it
                group = bracket_group("", group)
            if factor != 1:
                group[-1] += rf" \left({tex(factor)}\right)"
        if pieces and group[0].startswith("-") and not group[0].startswith("- "):
            group[0] = "- " + group[0][1:]
        elif pieces and not group[0].startswith(("-", "+")):
            group[0] = "+ " + group[0]
        pieces.extend(group)
    return pieces or ["0"]


def hessian_splits(derivation, labels):
    """{(p, q): (Gauss-Newton term, residual parts)} of the entries ``labels`` (p, q, ...)."""
    from .hessian import hessian
    gauss_newton = hessian(derivation.net, derivation.loss.name, approx="gauss_newton")
    return {(p, q): split_hessian_entry(derivation, gauss_newton, p, q) for p, q, *_ in labels}


def hessian_rows(derivation, max_entries=MAX_ENTRIES, tags=False, splits=None, **wrap):
    """Exact Hessian entries, each as its Gauss-Newton term plus its residual term.

    ``splits`` (from ``hessian_splits``) saves splitting the entries again when the
    caller has already done it.
    """
    loss = derivation.loss
    if loss.name == "sse":
        general = (r"\frac{\partial^2 E_n}{\partial w_p\, \partial w_q} &= G_{pq} + R_{pq}, "
                   r"\quad G_{pq} = \sum_k \frac{\partial y_k}{\partial w_p} \frac{\partial y_k}"
                   r"{\partial w_q}, \quad R_{pq} = \sum_k (y_k - t_k) \frac{\partial^2 y_k}"
                   r"{\partial w_p\, \partial w_q}")
    else:
        general = (r"\frac{\partial^2 E_n}{\partial w_p\, \partial w_q} &= G_{pq} + R_{pq}, "
                   r"\quad G_{pq} = \sum_{k,m} \frac{\partial a_k^{(L)}}{\partial w_p} "
                   r"\frac{\partial^2 E_n}{\partial a_k^{(L)} \partial a_m^{(L)}} "
                   r"\frac{\partial a_m^{(L)}}{\partial w_q}, \quad R_{pq} = \sum_k \delta_k^{(L)}"
                   r" \frac{\partial^2 a_k^{(L)}}{\partial w_p\, \partial w_q}")
    rows = [general]
    labels, hidden = take(entry_labels(derivation), max_entries)
    splits = splits or hessian_splits(derivation, labels)
    tag = _tags(derivation, tags)
    for p, q, lhs in labels:
        gauss, residual = splits[p, q]
        rows.append(rf"{lhs} &= G + R \quad \text{{with}}{tag(p, q)}")
        rows.append(wrap_row(r"G", signed_terms(gauss), **wrap))
        rows.append(wrap_row(r"R", _residual_pieces(residual), **wrap))
    return rows + ([omitted(hidden)] if hidden else [])


# -- assembling --------------------------------------------------------------------
def check_max_entries(max_entries):
    """Refuse a ``max_entries`` that is not a positive integer or None (None: show all)."""
    if max_entries is not None and (isinstance(max_entries, bool) or not isinstance(
            max_entries, int) or max_entries < 1):
        raise SymnetError(f"max_entries must be a positive integer, or None for all entries; "
                          f"got {max_entries!r}")


def derivation_sections(derivation, form="entries", expanded=False, max_entries=MAX_ENTRIES,
                        terms_per_line=TERMS_PER_LINE, width=WIDTH, n_samples=None, tags=False):
    """[(title, rows)] for a derivation: forward pass, recursions, entries.

    The options are those of ``derivation_latex``; ``tags=True`` names every entry on
    the right (``\\tag*``), for rows set in a document's ``align*``.
    """
    if form not in FORMS:
        raise SymnetError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    check_max_entries(max_entries)
    wrap = {"terms_per_line": terms_per_line, "width": width}
    net, kind = derivation.net, derivation.kind
    sections = [("Forward pass", forward_rows(net, form, max_entries, **wrap)),
                ("Activation derivatives", derivative_rows(net))]
    if "delta" in derivation.intermediates:
        sections.append(("Deltas", delta_rows(derivation, form, max_entries, **wrap)))
    if "dy/da" in derivation.intermediates or kind in ("hessian", "gauss_newton"):
        of = derivation.loss.jacobian_of if derivation.loss else "y"
        definitions = dict(derivation.definitions)
        G = derivation.intermediates.get("dy/da") or symbolic_sensitivities(net, definitions, of)
        sections.append(("Output sensitivities", sensitivity_rows(
            net, G, definitions, form, max_entries, of, **wrap)))
    titles = {"gradient": "Gradient", "input_jacobian": "Input Jacobian",
              "param_jacobian": "Parameter Jacobian", "hessian": "Hessian",
              "gauss_newton": "Gauss-Newton matrix"}
    if form == "matrix":
        matrix = ({"gradient": GRADIENT_MATRIX, "input_jacobian": INPUT_JACOBIAN_MATRIX,
                   "param_jacobian": PARAM_JACOBIAN_MATRIX}.get(kind)
                  or curvature_matrix_rows(derivation.loss, kind))
        sections.append((titles[kind], list(matrix)))
    elif kind == "hessian" and not expanded:
        sections.append((titles[kind], hessian_rows(derivation, max_entries, tags, **wrap)))
    else:
        sections.append((titles[kind], entry_rows(derivation, expanded, max_entries, tags,
                                                  **wrap)))
    if kind == "param_jacobian":
        sections.append(("Levenberg-Marquardt layout", lm_rows(derivation, n_samples)))
    return sections


def derivation_latex(derivation, form="entries", expanded=False, max_entries=MAX_ENTRIES,
                     terms_per_line=TERMS_PER_LINE, width=WIDTH, n_samples=None):
    r"""The derivation as one ``aligned`` block (put it inside ``$$ ... $$`` or an equation).

    Parameters
    ----------
    form : {"entries", "matrix"}
        Entry by entry in index notation, or layer by layer as matrices.
    expanded : bool
        Show entries fully substituted into x, w, b, t instead of named intermediates.
    max_entries : int or None
        Entries (and definitions) shown per list before "n more omitted"; None shows all.
    terms_per_line, width : int
        Where a long sum continues on the next line.
    n_samples : int, optional
        N of a parameter Jacobian's Levenberg-Marquardt layout, (N K) x W: the
        derivation holds no data, so give your data's N; without it the layout is
        shown for ``N_SAMPLES`` = 5 and says that this N is the default.

    One ``aligned`` block cannot break across pages: for a printable document of a
    long derivation use ``symnet.document.derivation_document``, which sets each section as
    an ``align*`` that breaks between rows.

    Examples
    --------
    >>> import symnet
    >>> text = symnet.gradient(symnet.MLP([1, 1, 1], hidden="tanh"), "sse").latex()
    >>> r"\delta_{1}^{(1)} &= \left(1 - \left(z_{1}^{(1)}\right)^{2}\right) w_{11}^{(2)} \delta_{1}^{(2)}" in text
    True
    """
    sections = derivation_sections(derivation, form, expanded, max_entries, terms_per_line,
                                   width, n_samples)
    lines = []
    for title, rows in sections:
        lines.append(rf"&\textbf{{{title}}}")
        lines.extend(rows)
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"
