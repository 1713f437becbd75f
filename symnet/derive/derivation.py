"""The derivation object every symnet derivation returns.

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

Each derivation's ``kind`` is a row of ``KINDS``, the one table of the kinds of
derivation (``symnet.derive.kinds``, whose names this module re-exports).

Examples
--------
>>> import symnet
>>> grad = symnet.gradient(symnet.MLP([1, 1]), "sse")          # y_1 = w_11^(1) x_1 + b_1^(1)
>>> grad.kind_info is KINDS["gradient"], grad.named
(True, Matrix([
[delta_1^(1)*x_1],
[    delta_1^(1)]]))
>>> # x = 2, w = 3, b = 1, t = 4: y = 7, delta = y - t = 3, dE/dw = delta x = 6, dE/db = 3
>>> grad.evaluate([[2.0]], [3.0, 1.0], [[4.0]])
array([6., 3.])
"""

from functools import cached_property

import numpy as np
import sympy as sp

from ..compiled.backends import evaluate_jax, foreign_library, refuse_jax_arrays
from ..compiled.source import derivation_source
from ..graph import rewriting
from .._size import check_expansion
from .._validate import check_finite_result, check_inputs, check_params, check_targets
from ..errors import SymnetError
from .kinds import KINDS, DerivationKind, EntryNames, derivation_kind

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
                 intermediates=None, method=None, checks_result=False):
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
        self._checks_result = checks_result   # the evaluator refuses an overflow itself

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
        # evaluate sends JAX and Dask arrays elsewhere first: here every route runs on
        # NumPy, and JAX arrays are refused rather than converted (float32 taken silently)
        refuse_jax_arrays(self, X, w, T)
        X, single = check_inputs(self.net, X, allow_complex=False)
        w = check_params(self.net, w)
        if self.needs_targets:
            T = check_targets(self.net, T, X.shape[0], single)
        return X, w, T, single

    def _finished(self, result, single):
        """``result`` after the overflow check, without the N axis for one sample."""
        # A non-finite entry from finite, validated inputs is float64 overflow, never a value.
        if not self._checks_result:
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
