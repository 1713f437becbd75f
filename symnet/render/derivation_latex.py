r"""LaTeX for derivations, in Bishop's notation: the blocks a derivation is shown as.

Every ``symnet.derive.derivation.Derivation`` renders itself through this module
(``derivation.latex()`` and, in Jupyter, ``_repr_latex_``). A rendering is a list
of sections (forward pass, delta recursion, entries, ...), each a list of rows
``lhs &= rhs`` of an ``aligned`` (or, in a document, ``align*``) environment:

* recursions are shown twice: in general index form and instantiated per layer;
* entries stay in named intermediates unless ``expanded=True`` (their rows, labels
  and the Hessian's split into Gauss-Newton and residual terms are in
  ``symnet.render.latex_entries``);
* rows are printed and wrapped by ``symnet.graph.latex_printer`` (whose ``tex``,
  ``wrap_row`` and ``signed_terms`` are re-exported here), so a long sum
  continues on the next line instead of running off the page;
* the matrix-form and Levenberg-Marquardt rows are in ``symnet.render.latex_forms``.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> [title for title, rows in derivation_sections(symnet.gradient(net, "sse"))]
['Forward pass', 'Activation derivatives', 'Deltas', 'Gradient']
"""

import sympy as sp

from ..derive.first_order import hidden_derivative, symbolic_sensitivities
from ..derive.derivation import set_latex_renderer
from ..derive.layered_derivations import is_layered
from .layered_latex import layered_sections
from ..errors import SymnetError
from .latex_entries import (MAX_ENTRIES, definition_rows, entry_labels, entry_names,  # noqa: F401
                            entry_rows, hessian_rows, hessian_splits, partial,
                            split_hessian_entry)
from ..graph.latex_printer import (TERMS_PER_LINE, WIDTH, bracket_group, join_signs, omitted,
                          signed_terms, take, tex, wrap_row)
from .latex_forms import (GRADIENT_MATRIX, HESSIAN_VECTOR_MATRIX,  # noqa: F401
                          INPUT_JACOBIAN_MATRIX, INPUT_TANGENT_MATRIX, INPUT_TANGENT_ROWS,
                          MATRIX_FORMS, N_SAMPLES, PARAM_JACOBIAN_MATRIX, R_OPERATOR_ROWS,
                          curvature_matrix_rows, lm_corners, lm_rows, residual_seed_rows)

__all__ = ["tex", "wrap_row", "signed_terms", "derivation_latex", "derivation_sections",
           "lm_corners", "entry_names", "FORMS", "N_SAMPLES"]

FORMS = ("entries", "matrix")
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
    # both from the loss's row: canonical when delta^(L) = y - t (Bishop's canonical pairs)
    canonical, start = derivation.loss.canonical, derivation.loss.delta_latex
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


# -- assembling --------------------------------------------------------------------
def check_max_entries(max_entries):
    """Refuse a ``max_entries`` that is not a positive integer or None (None: show all)."""
    if max_entries is not None and (isinstance(max_entries, bool) or not isinstance(
            max_entries, int) or max_entries < 1):
        raise SymnetError(f"max_entries must be a positive integer, or None for all entries; "
                          f"got {max_entries!r}")


def _sensitivities(d, form, max_entries, wrap, **_):
    net = d.net
    of = d.loss.jacobian_of if d.loss else "y"
    definitions = dict(d.definitions)
    G = d.intermediates.get("dy/da") or symbolic_sensitivities(net, definitions, of)
    return sensitivity_rows(net, G, definitions, form, max_entries, of, **wrap)


def _named_quantities(d, form, max_entries, wrap, general, matrix, skip=()):
    """General rows (index or matrix form), then every definition not shown elsewhere."""
    if form == "matrix":
        return list(matrix)
    symbols = [symbol for symbol in d.definitions if symbol not in skip]
    return list(general) + definition_rows(d, symbols, max_entries, **wrap)


def _r_operator(d, form, max_entries, wrap, **_):
    deltas = {symbol for column in d.intermediates.get("delta", {}).values() for symbol in column}
    return _named_quantities(d, form, max_entries, wrap, R_OPERATOR_ROWS, HESSIAN_VECTOR_MATRIX,
                             skip=deltas)


def _input_tangents(d, form, max_entries, wrap, **_):
    return _named_quantities(d, form, max_entries, wrap, INPUT_TANGENT_ROWS,
                             INPUT_TANGENT_MATRIX)


def _residual_seeds(d, form, max_entries, wrap, **_):
    return _named_quantities(d, form, max_entries, wrap, residual_seed_rows(d.loss),
                             residual_seed_rows(d.loss, "matrix"))


def _entries(d, form, max_entries, wrap, expanded, tags, **_):
    if form == "matrix":
        return list(MATRIX_FORMS[d.kind](d.loss))
    if d.kind_info.split and not expanded:
        return hessian_rows(d, max_entries, tags, **wrap)
    return entry_rows(d, expanded, max_entries, tags, **wrap)


def _levenberg_marquardt(d, n_samples, **_):
    return lm_rows(d, n_samples)


# The blocks a derivation is shown in, named by ``DerivationKind.sections``:
# name -> (heading, or None for the kind's title; renderer).
SECTIONS = {
    "deltas": ("Deltas", lambda d, form, max_entries, wrap, **_: delta_rows(
        d, form, max_entries, **wrap)),
    "sensitivities": ("Output sensitivities", _sensitivities),
    "r_operator": ("R-operator", _r_operator),
    "input_tangents": ("Input derivatives of the pre-activations", _input_tangents),
    "residual_seeds": ("Residual weights and seeds", _residual_seeds),
    "entries": (None, _entries),
    "levenberg_marquardt": ("Levenberg-Marquardt layout", _levenberg_marquardt),
}


def derivation_sections(derivation, form="entries", expanded=False, max_entries=MAX_ENTRIES,
                        terms_per_line=TERMS_PER_LINE, width=WIDTH, n_samples=None, tags=False):
    """[(title, rows)] for a derivation: forward pass, recursions, entries.

    The blocks after the forward pass are the kind's ``sections`` (a row of
    ``symnet.derive.derivation.KINDS``), each drawn by its renderer in ``SECTIONS``. The
    options are those of ``derivation_latex``; ``tags=True`` names every entry on
    the right (``\\tag*``), for rows set in a document's ``align*``.
    """
    if form not in FORMS:
        raise SymnetError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    check_max_entries(max_entries)
    wrap = {"terms_per_line": terms_per_line, "width": width}
    net, info = derivation.net, derivation.kind_info
    if is_layered(net):  # a Network or RNN: weight sharing's sums, BPTT, the skip's identity
        return layered_sections(derivation, form, expanded, max_entries, wrap, n_samples, tags)
    sections = [("Forward pass", forward_rows(net, form, max_entries, **wrap)),
                ("Activation derivatives", derivative_rows(net))]
    for name in info.sections:
        title, render = SECTIONS[name]
        sections.append((title or info.title, render(
            derivation, form=form, max_entries=max_entries, wrap=wrap, expanded=expanded,
            tags=tags, n_samples=n_samples)))
    decay = derivation.loss.decay_latex(derivation.kind) if derivation.loss else []
    if decay:  # E = sum_n E_n + lam/2 ||w||^2: "+ lambda w_p", "+ lambda I", "+ lambda v"
        sections.append(("Weight decay", decay))
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
    long derivation use ``symnet.render.document.derivation_document``, which sets each section as
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


set_latex_renderer(derivation_latex)  # Derivation.latex() renders through it
