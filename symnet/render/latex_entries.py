r"""LaTeX rows of a derivation's entries: labelled from the kinds table, named, tagged, split.

Each entry is labelled as its kind names it (``symnet.derive.derivation.KINDS``):
``\\frac{\\partial E_n}{\\partial w_{11}^{(1)}}``, ``J_{12} = ...``, ``G\\bigl[p, q\\bigr]``;
symmetric kinds list their upper triangle. The exact Hessian's entries can be shown
as their Gauss-Newton term plus their residual term (``hessian_rows``).
``symnet.render.derivation_latex`` assembles these rows with the recursions into sections.

Examples
--------
>>> import symnet
>>> entry_labels(symnet.gradient(symnet.MLP([1, 1]), "sse"))[1]
(1, 0, '\\frac{\\partial E_n}{\\partial b_{1}^{(1)}}')
"""

import numpy as np
import sympy as sp

from ..graph.latex_printer import (bracket_group, entry_tag, omitted, ordered_terms, signed_terms, take,
                          tex, wrap_row)

__all__ = ["entry_labels", "entry_names", "entry_rows", "definition_rows", "partial",
           "split_hessian_entry", "hessian_splits", "hessian_rows", "MAX_ENTRIES"]

MAX_ENTRIES = 24     # entries shown per list before "n more omitted"


def partial(numerator, parameter, order=1, other=None):
    r"""The LaTeX of d numerator / d parameter (or the second derivative with ``order=2``).

    >>> print(partial("E_n", sp.Symbol("b_1^(2)")))
    \frac{\partial E_n}{\partial b_{1}^{(2)}}
    """
    if order == 2:
        return (rf"\frac{{\partial^2 {numerator}}}{{\partial {tex(parameter)}\, "
                rf"\partial {tex(other)}}}")
    return rf"\frac{{\partial {numerator}}}{{\partial {tex(parameter)}}}"


def _variables_and_outputs(derivation, name):
    """The variables (inputs or parameters, by the kind's ``wrt``) and outputs, via ``name``."""
    net = derivation.net
    variables = net.inputs if derivation.kind_info.wrt == "inputs" else net.params
    return [name(v) for v in variables], [name(y) for y in net.layer_values(net.n_layers)]


def _entry_indices(derivation):
    """Every index of ``named`` in reading order; the upper triangle of symmetric kinds."""
    indices = np.ndindex(*derivation.shape)
    if derivation.kind_info.symmetric:
        return [index for index in indices if index[-2] <= index[-1]]
    return list(indices)


def entry_labels(derivation):
    """(row, column, lhs LaTeX) for every entry, in the order a reader expects.

    The index has one number per axis of ``named`` (three for the input Hessian);
    the label is the kind's (``symnet.derive.derivation.KINDS``).
    """
    info = derivation.kind_info
    variables, outputs = _variables_and_outputs(derivation, tex)
    return [(*index, info.names.latex(index[:info.entry_axes], variables, outputs))
            for index in _entry_indices(derivation)]


def entry_names(derivation):
    """{(row, column): plain-text name} of every entry, as ``symnet check`` names them.

    >>> import symnet
    >>> names = entry_names(symnet.hessian(symnet.MLP([1, 1]), "sse"))
    >>> names[0, 1]
    'H[w_11^(1), b_1^(1)]'
    """
    info = derivation.kind_info
    variables, outputs = _variables_and_outputs(derivation, lambda s: s.name)
    return {index: info.entry_name(index[:info.entry_axes], variables, outputs)
            for index in np.ndindex(*derivation.shape)}


def _tags(derivation, tags):
    """index -> the ``\\tag*`` of the entry's name, or "" everywhere without ``tags``."""
    if not tags:
        return lambda *index: ""
    names = entry_names(derivation)
    return lambda *index: entry_tag(names[index])


def entry_rows(derivation, expanded=False, max_entries=MAX_ENTRIES, tags=False, **wrap):
    """One row per entry, in named intermediates (or fully substituted with ``expanded``).

    ``tags=True`` (for a document's ``align*``, not an ``aligned`` block) names each
    entry on the right in plain text.
    """
    source = derivation.matrix if expanded else derivation.named
    labels, hidden = take(entry_labels(derivation), max_entries)
    tag = _tags(derivation, tags)
    rows = [wrap_row(lhs, signed_terms(source[tuple(index)]), tag=tag(*index), **wrap)
            for *index, lhs in labels]
    return rows + ([omitted(hidden)] if hidden else [])


def definition_rows(derivation, symbols, max_entries=MAX_ENTRIES, **wrap):
    """``symbol &= definition`` for the named ``symbols`` of a derivation, in order, bounded."""
    rows = [wrap_row(tex(symbol), signed_terms(derivation.definitions[symbol]), **wrap)
            for symbol in symbols]
    shown, hidden = take(rows, max_entries)
    return shown + ([omitted(hidden, "definitions")] if hidden else [])


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
    from ..derive.second_order import hessian
    gauss_newton = hessian(derivation.net, derivation.loss, approx="gauss_newton")  # decay kept
    return {(p, q): split_hessian_entry(derivation, gauss_newton, p, q) for p, q, *_ in labels}


def hessian_rows(derivation, max_entries=MAX_ENTRIES, tags=False, splits=None, **wrap):
    """Exact Hessian entries, each as its Gauss-Newton term plus its residual term.

    ``splits`` (from ``hessian_splits``) saves splitting the entries again when the
    caller has already done it.
    """
    loss = derivation.loss
    if loss.rule.is_sum_of_squares:  # dE_n/dy_k = y_k - t_k, Lambda_n = I
        general = (r"\frac{\partial^2 E_n}{\partial w_p\, \partial w_q} &= G_{pq} + R_{pq}, "
                   r"\quad G_{pq} = \sum_k \frac{\partial y_k}{\partial w_p} \frac{\partial y_k}"
                   r"{\partial w_q}, \quad R_{pq} = \sum_k (y_k - t_k) \frac{\partial^2 y_k}"
                   r"{\partial w_p\, \partial w_q}")
    elif loss.jacobian_of == "y":  # Lambda_n = d^2 E_n / dy^2, e.g. log_cosh, huber
        general = (r"\frac{\partial^2 E_n}{\partial w_p\, \partial w_q} &= G_{pq} + R_{pq}, "
                   r"\quad G_{pq} = \sum_{k,m} \frac{\partial y_k}{\partial w_p} "
                   r"\frac{\partial^2 E_n}{\partial y_k \partial y_m} "
                   r"\frac{\partial y_m}{\partial w_q}, \quad R_{pq} = \sum_k "
                   r"\frac{\partial E_n}{\partial y_k} \frac{\partial^2 y_k}{\partial w_p\, "
                   r"\partial w_q}")
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
