"""The derivation object every symnet derivation returns, and the table of its kinds.

A derivation holds the exact result in three forms:

* ``named``: a SymPy matrix (an array for the input Hessian) written with the
  named intermediates (delta_j^(l), dy_k/da_j^(l), R{a_j^(l)}, ...), the form a
  student writes;
* ``definitions``: what each named intermediate stands for, in order;
* ``matrix``: the same fully substituted into inputs, parameters and targets
  (built on first use; refused with an estimate when too large).

``evaluate(X, w, T)`` runs the layer-by-layer matrix form (``symnet.compiled.matrix_form``) on
all samples at once; ``evaluate_entries`` runs the entry-by-entry named form
lambdified with SymPy, the slow route used to check the fast one.

``KINDS`` is the one table of the kinds of derivation: what each differentiates,
with respect to what, to which order, whether ``evaluate`` sums over samples, how
its entries are named, which sections its LaTeX shows. ``symnet.check``, the
LaTeX, the documents, the reports and the command line read it; none of them
branches on a kind's name.

Examples
--------
>>> KINDS["hessian"].title, KINDS["hessian"].wrt, KINDS["hessian"].order
('Hessian', 'params', 2)
>>> [name for name, kind in KINDS.items() if kind.of == "outputs"]
['input_jacobian', 'param_jacobian', 'input_hessian']
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np
import sympy as sp

from ..compiled.backends import evaluate_jax, foreign_library
from ..compiled.source import derivation_source
from ..graph import rewriting
from .._size import check_expansion
from .._validate import check_finite_result, check_inputs, check_params, check_targets
from ..errors import SymnetError

__all__ = ["Derivation", "DerivationKind", "EntryNames", "KINDS", "derivation_kind",
           "evaluate_on"]


def evaluate_on(derivation, X, w, T=None, V=None):
    """``derivation.evaluate`` for JAX or Dask arrays (``symnet.compiled.backends``).

    JAX: one jit-compiled function, a JAX array back; Dask: chunk by chunk over samples,
    a lazy Dask array back. V is a Hessian-vector product's direction(s), else None.
    """
    if foreign_library(X, w, T, V) == "dask":
        from ..compiled.dask_backend import evaluate_dask
        return evaluate_dask(derivation, X, w, T, V)
    return evaluate_jax(derivation, X, w, T, V)


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


# -- the derivation ------------------------------------------------------------------------
# LaTeX is a later stage (symnet.render) than derivations: it registers its renderer here
# when it is imported, so this module never imports it and the stages keep one direction.
_LATEX_RENDERER = None


def set_latex_renderer(renderer):
    """Called by ``symnet.render.derivation_latex``: ``renderer(derivation, **options)``."""
    global _LATEX_RENDERER
    _LATEX_RENDERER = renderer


class Derivation:
    """An exact derivative of a network: symbolic forms, and fast batched evaluation.

    Attributes
    ----------
    kind : str
        A key of ``KINDS``: ``"input_jacobian"``, ``"gradient"``, ``"param_jacobian"``,
        ``"hessian"``, ``"gauss_newton"``, ``"hessian_residual"``,
        ``"hessian_vector_product"`` or ``"input_hessian"``; ``kind_info`` is its row.
    net : MLP
    loss : Loss or None
    named : sympy.ImmutableMatrix (sympy.ImmutableDenseNDimArray for the input Hessian)
        The result in named intermediates.
    definitions : dict
        The named intermediates this derivation introduces (deltas, dy/da, ...) -> their
        expressions in earlier names. The forward equations (a_j^(l), z_j^(l), y_k) are
        ``net.equations``; ``all_definitions`` has both, forward first.
    rows, columns : tuple of str
        What each row and column of ``named`` is, e.g. ``'y_1'`` and ``'w_21^(2)'``.
    intermediates : dict
        The quantities that produced the result, by kind then layer, e.g.
        ``intermediates["delta"][l]`` the column of delta_j^(l).
    wrt : {"inputs", "params"}
        What it differentiates with respect to.
    order : int
        1 for Jacobians and gradients, 2 for Hessians.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1, 1], hidden="tanh")
    >>> grad = symnet.gradient(net, "sse")
    >>> grad.named.T
    Matrix([[delta_1^(1)*x_1, delta_1^(1), delta_1^(2)*z_1^(1), delta_1^(2)]])
    >>> grad.definitions[symnet.symbols.delta(1, 1)]
    delta_1^(2)*w_11^(2)*(1 - z_1^(1)**2)
    >>> # x = 1, a = 0.5, z = tanh(0.5) = 0.462117, y = 2 z = 0.924234 = delta^(2) (t = 0),
    >>> # delta^(1) = 2 (1 - z^2) delta^(2) = 1.453724
    >>> w = net.pack([[[0.5]], [[2.0]]], [[0.0], [0.0]])
    >>> grad.evaluate([[1.0]], w, [[0.0]]).round(6)
    array([1.453724, 1.453724, 0.427105, 0.924234])
    """

    def __init__(self, kind, net, named, definitions, *, rows, columns, evaluator, loss=None,
                 intermediates=None, method=None):
        self.kind_info = derivation_kind(kind)
        self.kind = kind
        self.net = net
        self.loss = loss
        self.named = (sp.ImmutableDenseNDimArray(named) if isinstance(named, sp.NDimArray)
                      and named.rank() > 2 else sp.ImmutableMatrix(named))
        self.definitions = definitions
        self.rows = tuple(rows)
        self.columns = tuple(columns)
        self.intermediates = intermediates or {}
        self.method = method
        self._evaluator = evaluator

    @property
    def shape(self):
        """The shape of the symbolic result (per sample for Jacobians)."""
        return self.named.shape

    @property
    def all_definitions(self):
        """Every named symbol in ``named`` -> its expression, forward equations first.

        Evaluating them in order, each from the earlier ones, gives every entry.
        """
        return {**self.net.equations, **self.definitions}

    @property
    def wrt(self):
        """``"inputs"`` or ``"params"``: the variables of differentiation."""
        return self.kind_info.wrt

    @property
    def order(self):
        """1 for Jacobians and the gradient, 2 for Hessians."""
        return self.kind_info.order

    @property
    def approximation(self):
        """True for the Gauss-Newton matrix, which is not the derivative of anything."""
        return self.kind_info.approximation

    @property
    def summed(self):
        """True when ``evaluate`` sums over samples (gradient, Hessians)."""
        return self.kind_info.summed

    @property
    def needs_targets(self):
        """True when ``evaluate`` needs T (anything built from the error)."""
        return self.loss is not None

    def function(self, X, w, T=None):
        """The function this derivation differentiates, evaluated (complex X or w allowed).

        The network outputs (N, K) for the Jacobians and the input Hessian; the
        error E (a float, summed over samples) for the gradient and the Hessians. A
        numerical check differentiates this, never the derivation itself.
        """
        if self.kind_info.of == "outputs":
            return self.net.forward(X, w)
        from ..compiled.error_value import loss_value
        return loss_value(self.net, self.loss, X, w, T)  # the Loss: its weight decay too

    def __repr__(self):
        what = f", loss={self.loss.name!r}" if self.loss else ""
        how = f", method={self.method!r}" if self.method else ""
        size = "x".join(str(n) for n in self.shape)
        return f"<Derivation {self.kind} {size} of {self.net!r}{what}{how}>"

    # -- LaTeX -----------------------------------------------------------------------
    def latex(self, form="entries", expanded=False, **options):
        """The derivation as a LaTeX ``aligned`` block in Bishop's notation.

        ``form`` is ``"entries"`` (index notation) or ``"matrix"`` (layer by layer);
        ``expanded=True`` substitutes every named intermediate. Other options
        (``max_entries``, ``terms_per_line``, ``width``, ``n_samples``) are those of
        ``symnet.render.derivation_latex.derivation_latex``.
        """
        if _LATEX_RENDERER is None:  # symnet/__init__ imports symnet.render, which sets it
            raise SymnetError("LaTeX needs symnet.render: import symnet first")
        return _LATEX_RENDERER(self, form=form, expanded=expanded, **options)

    def _repr_latex_(self):
        return f"$${self.latex()}$$"

    # -- symbolic forms --------------------------------------------------------
    @property
    def entries(self):
        """Every entry of ``named``, flattened row-major (last index fastest)."""
        return list(self.named) if isinstance(self.named, sp.MatrixBase) else list(
            sp.flatten(self.named.tolist()))

    @cached_property
    def substitution(self):
        """Every named symbol (network and derivation) -> its expression in x, w, b, t.

        Softmax outputs are written ``softmax(k, a_1, ..., a_K)`` (see
        ``symnet.graph.rewriting.substitution``), so the expanded forms print without overflow.
        """
        check_expansion(self.net, len(self.entries))
        return rewriting.substitution(self.net, self.definitions)

    @cached_property
    def matrix(self):
        """The exact result fully substituted into inputs, parameters and targets."""
        full = self.substitution
        if isinstance(self.named, sp.MatrixBase):
            return sp.ImmutableMatrix(self.named.xreplace(full))
        return self.named.applyfunc(lambda entry: entry.xreplace(full))

    def expanded(self, symbol):
        """One named intermediate fully substituted, e.g. ``d.expanded(delta(1, 2))``."""
        if symbol not in self.substitution:
            raise SymnetError(f"{symbol} is not a named intermediate of this derivation")
        return self.substitution[symbol]

    # -- numbers -------------------------------------------------------------------
    def _arrays(self, X, w, T):
        X, single = check_inputs(self.net, X, allow_complex=False)
        w = check_params(self.net, w)
        if self.needs_targets:
            T = check_targets(self.net, T, X.shape[0], single)
        return X, w, T, single

    def _finished(self, result, single):
        """``result`` after the overflow check, without the N axis for one sample."""
        # A non-finite entry from finite, validated inputs is float64 overflow, never a value.
        result = check_finite_result(self.kind_info.description, result)
        return result[0] if single and not self.summed else result

    def evaluate(self, X, w, T=None):
        """The result at inputs X (N, D), parameters w (W,) and targets T (N, K).

        Returns (N, K, D) for the input Jacobian, (N, K, W) for the parameter
        Jacobian (``.reshape(N * K, W)`` is the Levenberg-Marquardt layout, rows
        sample-major), (W,) for the gradient and (W, W) for Hessians, both summed
        over samples (``kind_info.layout``). A single sample X of shape (D,) drops
        the N axis. T is required when the derivation comes from an error function
        and ignored otherwise.
        """
        if foreign_library(X, w, T):  # JAX or Dask arrays: the same matrix form
            return evaluate_on(self, X, w, T)
        X, w, T, single = self._arrays(X, w, T)
        return self._finished(self._evaluator(X, w, T), single)

    def source(self, backend="numpy"):
        """The Python source of what ``evaluate`` runs on ``backend`` ("numpy" or "jax").

        The matrix-form functions it calls, in call order, and the kernels printed from
        this network's SymPy rules (h, h', h'' per layer, the loss's columns): the formula
        become code (``symnet.compiled.source``).

        Examples
        --------
        >>> import symnet
        >>> text = symnet.gradient(symnet.MLP([1, 2, 1]), "sse").source()
        >>> "def gradient_values(net, loss, X, w, T):" in text
        True
        >>> print(text.split("# h_1'(a, z) =")[1].splitlines()[0])   # tanh' in stable form
         sech_squared(a)
        """
        return derivation_source(self, backend)

    @cached_property
    def _entry_functions(self):
        # Every definition, then all entries in one function with common subexpressions
        # computed once (the R-operator entries of a Hessian share most of their terms),
        # printed in stable form (symnet.graph.rewriting).
        return rewriting.compile_named(self.net, self.definitions, self.entries)

    def _entry_values(self, values, N, single):
        """The lambdified named form at ``values`` (symbol -> (N,) array), in evaluate's layout."""
        out = np.empty((N,) + tuple(self.shape))
        flat = out.reshape(N, -1)
        for index, value in enumerate(self._entry_functions(values, N)):
            flat[:, index] = value
        if self.summed:
            out = out.sum(axis=0)
            # named is W x 1 for a vector result (the gradient): drop the column axis
            return out.reshape(out.shape[:self.kind_info.entry_axes])
        return out[0] if single else out

    def evaluate_entries(self, X, w, T=None):
        """The same as ``evaluate``, computed entry by entry from the named form.

        Slow (one lambdified expression per intermediate and per entry) and
        independent of the matrix form, so the two can be compared. Each expression
        is printed in the stable form of ``symnet.graph.rewriting`` (1 - sigma(a) as
        sigma(-a), ...), so it keeps its digits where the textbook form would not.
        """
        X, w, T, single = self._arrays(X, w, T)
        values = dict(zip(self.net.inputs, X.T))
        values.update(zip(self.net.params, w))
        if T is not None:
            values.update(zip(self.net.targets, T.T))
        result = self._entry_values(values, X.shape[0], single)
        # lam/2 ||w||^2 is not a per-sample term: added once, to the sum (lam w, lam I)
        return result if self.loss is None else result + self.loss.decay_term(self.kind, w)
