"""The table of the kinds of derivation, ``KINDS``: one row a kind, read by every stage.

A row (``DerivationKind``) says what a kind differentiates, with respect to what, to which
order, whether ``evaluate`` sums over samples, how its entries are named (``EntryNames``:
``dE/dw_21^(2)``, ``J_12``, ``H[p, q]``), which sections its LaTeX shows. ``symnet.check``,
the LaTeX, the documents, the reports and the command line read it; none of them
branches on a kind's name. ``symnet.derive.derivation`` builds the derivations themselves
(and re-exports these names).

Examples
--------
>>> KINDS["hessian"].title, KINDS["hessian"].wrt, KINDS["hessian"].order
('Hessian', 'params', 2)
>>> [name for name, kind in KINDS.items() if kind.of == "outputs"]
['input_jacobian', 'param_jacobian', 'input_hessian']
>>> KINDS["input_jacobian"].entry_name((0, 1), ["x_1", "x_2"], ["y_1"])
'J_12 = dy_1/dx_2'
"""

from dataclasses import dataclass
from typing import Callable

from ..errors import SymnetError

__all__ = ["DerivationKind", "EntryNames", "KINDS", "derivation_kind"]


# -- how entries are named -------------------------------------------------------------
def _joined(*numbers):
    """"12" for single digits, "1,12" otherwise (as ``symnet.symbols`` joins indices)."""
    return "".join(map(str, numbers)) if max(numbers) < 10 else ",".join(map(str, numbers))


@dataclass(frozen=True)
class EntryNames:
    """How the entries of one kind are named, in plain text and in LaTeX.

    ``text(index, variables, outputs)`` returns ``(label, meaning)``: the label is
    what a person writes (``dE/dw_21^(2)``, ``J_12``, ``H[w_11^(1), b_1^(2)]``), the
    meaning what a short label stands for (``dy_1/dx_2`` for ``J_12``; None when the
    label says it). ``latex(index, variables, outputs)`` takes the LaTeX of the
    variables and outputs. ``index`` runs over one sample's result (no sample axis).
    """

    text: Callable
    latex: Callable

    def name(self, index, variables, outputs):
        """The plain-text name: the label, with its meaning when it has one."""
        label, meaning = self.text(index, variables, outputs)
        return label if meaning is None else f"{label} = {meaning}"


def _derivative_of_error():
    return EntryNames(
        text=lambda i, v, y: (f"dE/d{v[i[0]]}", None),
        latex=lambda i, v, y: rf"\frac{{\partial E_n}}{{\partial {v[i[0]]}}}")


def _derivative_of_outputs():
    return EntryNames(
        text=lambda i, v, y: (f"d{y[i[0]]}/d{v[i[1]]}", None),
        latex=lambda i, v, y: rf"\frac{{\partial {y[i[0]]}}}{{\partial {v[i[1]]}}}")


def _jacobian(letter):
    return EntryNames(
        text=lambda i, v, y: (f"{letter}_{_joined(i[0] + 1, i[1] + 1)}", f"d{y[i[0]]}/d{v[i[1]]}"),
        latex=lambda i, v, y: (rf"{letter}_{{{_joined(i[0] + 1, i[1] + 1)}}} = "
                               rf"\frac{{\partial {y[i[0]]}}}{{\partial {v[i[1]]}}}"))


def _second_derivative_of_error():
    return EntryNames(
        text=lambda i, v, y: (f"H[{v[i[0]]}, {v[i[1]]}]", None),
        latex=lambda i, v, y: (rf"\frac{{\partial^2 E_n}}{{\partial {v[i[0]]}\, "
                               rf"\partial {v[i[1]]}}}"))


def _bracket(letter):
    """G[p, q], R[p, q]: matrices that are not a derivative written as one."""
    return EntryNames(
        text=lambda i, v, y: (f"{letter}[{v[i[0]]}, {v[i[1]]}]", None),
        latex=lambda i, v, y: rf"{letter}\bigl[{v[i[0]]}, {v[i[1]]}\bigr]")


def _product_name(i):
    return "Hv" if len(i) == 1 else f"Hv_{i[1] + 1}"   # column j of H V for P directions


def _hessian_vector():
    return EntryNames(
        text=lambda i, v, y: (f"({_product_name(i)})[{v[i[0]]}]", None),
        latex=lambda i, v, y: rf"\bigl(H\mathbf{{v}}\bigr)\bigl[{v[i[0]]}\bigr]")


def _second_derivative_of_outputs():
    return EntryNames(
        text=lambda i, v, y: (f"d2{y[i[0]]}/d{v[i[1]]}d{v[i[2]]}", None),
        latex=lambda i, v, y: (rf"\frac{{\partial^2 {y[i[0]]}}}{{\partial {v[i[1]]}\, "
                               rf"\partial {v[i[2]]}}}"))


# -- the table ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DerivationKind:
    """One kind of derivation: what it differentiates, how it is shown and checked.

    Attributes
    ----------
    name : str
        The key in ``KINDS`` and ``Derivation.kind``.
    title, description : str
        A heading ("Gradient") and a phrase ("the gradient dE/dw").
    of : {"outputs", "error"}
        The function differentiated: the network's outputs y, or the error E.
    wrt : {"inputs", "params"}
        The variables of differentiation.
    order : int
        1 for Jacobians and the gradient, 2 for Hessians and their relatives.
    summed : bool
        ``evaluate`` sums over samples (anything of E), else keeps the sample axis.
    layout : str
        The shape of ``evaluate``'s result.
    entry_axes : int
        Axes of one sample's result (the gradient is a vector, ``named`` W x 1).
    names : EntryNames
        How entries are named (``dE/dw_21^(2)``, ``J_12``, ``H[p, q]``).
    symmetric : bool
        Symmetric in its last two axes: listings show the upper triangle.
    approximation : bool
        Not the derivative of anything (Gauss-Newton): checked against the same
        formula built from numerical first derivatives.
    direction : bool
        ``evaluate`` takes a direction v after T (Hessian-vector product).
    first_derivative : str or None
        For second derivatives: the kind that is their first derivative, whose
        exact values ``check`` differences by default (``hessian_from="gradient"``).
    terms : tuple of (sign, kind name)
        For a kind defined as a sum of others (the residual term H - G): ``check``
        compares it with the same sum of their numerical references.
    split : bool
        The LaTeX shows each entry as its Gauss-Newton term plus its residual term.
    sections : tuple of str
        The blocks of its LaTeX after the forward pass, in order (``"entries"``
        is the result itself; the renderers are ``symnet.render.derivation_latex.SECTIONS``).

    Examples
    --------
    >>> import symnet
    >>> kind = symnet.hessian_vector_product(symnet.MLP([1, 1]), "sse").kind_info
    >>> kind.of, kind.wrt, kind.order, kind.direction, kind.first_derivative
    ('error', 'params', 2, True, 'gradient')
    >>> kind.entry_name((1,), ["w_11^(1)", "b_1^(1)"], ["y_1"])
    '(Hv)[b_1^(1)]'
    """

    name: str
    title: str
    description: str
    of: str
    wrt: str
    order: int
    summed: bool
    layout: str
    entry_axes: int
    names: EntryNames
    symmetric: bool = False
    approximation: bool = False
    direction: bool = False
    first_derivative: str = None
    terms: tuple = ()
    split: bool = False
    sections: tuple = ("entries",)

    def entry_name(self, index, variables, outputs):
        """The plain-text name of entry ``index`` (one sample's result)."""
        return self.names.name(tuple(index), variables, outputs)


KINDS = {kind.name: kind for kind in (
    DerivationKind("input_jacobian", "Input Jacobian", "the input Jacobian dy/dx", "outputs",
                   "inputs", 1, False, "(N, K, D)", 2, _jacobian("J"),
                   sections=("sensitivities", "entries")),
    DerivationKind("gradient", "Gradient", "the gradient dE/dw", "error", "params", 1, True,
                   "(W,)", 1, _derivative_of_error(), sections=("deltas", "entries")),
    DerivationKind("param_jacobian", "Parameter Jacobian", "the parameter Jacobian dy/dw",
                   "outputs", "params", 1, False, "(N, K, W)", 2, _derivative_of_outputs(),
                   sections=("sensitivities", "entries", "levenberg_marquardt")),
    DerivationKind("hessian", "Hessian", "the Hessian d2E/dw2", "error", "params", 2, True,
                   "(W, W)", 2, _second_derivative_of_error(), symmetric=True,
                   first_derivative="gradient", split=True,
                   sections=("deltas", "sensitivities", "entries")),
    DerivationKind("gauss_newton", "Gauss-Newton matrix", "the Gauss-Newton matrix", "error",
                   "params", 2, True, "(W, W)", 2, _bracket("G"), symmetric=True,
                   approximation=True, sections=("sensitivities", "entries")),
    DerivationKind("hessian_residual", "Residual term", "the residual term R = H - G", "error",
                   "params", 2, True, "(W, W)", 2, _bracket("R"), symmetric=True,
                   terms=((1, "hessian"), (-1, "gauss_newton")),
                   sections=("residual_seeds", "entries")),
    DerivationKind("hessian_vector_product", "Hessian-vector product",
                   "the Hessian-vector product H v", "error", "params", 2, True,
                   "(W,) for v of shape (W,); (W, P) for P directions (W, P)", 1,
                   _hessian_vector(), direction=True, first_derivative="gradient",
                   sections=("deltas", "r_operator", "entries")),
    DerivationKind("input_hessian", "Input Hessian", "the input Hessian d2y/dx2", "outputs",
                   "inputs", 2, False, "(N, K, D, D)", 3, _second_derivative_of_outputs(),
                   symmetric=True, first_derivative="input_jacobian",
                   sections=("input_tangents", "entries")),
)}


def derivation_kind(name):
    """The ``DerivationKind`` called ``name``; a SymnetError naming the known ones otherwise.

    >>> derivation_kind("gradient").summed
    True
    """
    if name not in KINDS:
        raise SymnetError(f"unknown derivation kind {name!r}; known: {', '.join(KINDS)}")
    return KINDS[name]
