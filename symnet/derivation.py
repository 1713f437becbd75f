"""The derivation object every symnet derivation returns.

A derivation holds the exact result in three forms:

* ``named``: a SymPy matrix written with the named intermediates (delta_j^(l),
  dy_k/da_j^(l), a_j^(l), z_j^(l)), the form a student writes;
* ``definitions``: what each named intermediate stands for, in order;
* ``matrix``: the same matrix fully substituted into inputs, parameters and
  targets (built on first use; refused with an estimate when too large).

``evaluate(X, w, T)`` runs the layer-by-layer matrix form (``symnet.engine``) on
all samples at once; ``evaluate_entries`` runs the entry-by-entry named form
lambdified with SymPy, the slow route used to check the fast one.
"""

from functools import cached_property

import numpy as np
import sympy as sp

from . import rewriting
from ._size import check_expansion
from ._validate import check_finite_result, check_inputs, check_params, check_targets
from .errors import SymnetError

__all__ = ["Derivation"]

_SUMMED = {"gradient", "hessian", "gauss_newton", "hessian_residual"}
# What each kind differentiates: (with respect to, order).
_KINDS = {"input_jacobian": ("inputs", 1), "gradient": ("params", 1),
          "param_jacobian": ("params", 1), "hessian": ("params", 2),
          "gauss_newton": ("params", 2), "hessian_residual": ("params", 2)}


class Derivation:
    """An exact derivative of a network: symbolic forms, and fast batched evaluation.

    Attributes
    ----------
    kind : str
        ``"input_jacobian"``, ``"gradient"``, ``"param_jacobian"``, ``"hessian"`` or
        ``"gauss_newton"``.
    net : MLP
    loss : Loss or None
    named : sympy.ImmutableMatrix
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
        if kind not in _KINDS:
            raise SymnetError(f"unknown derivation kind {kind!r}")
        self.kind = kind
        self.net = net
        self.loss = loss
        self.named = sp.ImmutableMatrix(named)
        self.definitions = definitions
        self.rows = tuple(rows)
        self.columns = tuple(columns)
        self.intermediates = intermediates or {}
        self.method = method
        self._evaluator = evaluator

    @property
    def shape(self):
        """The shape of the symbolic matrix (per sample for Jacobians)."""
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
        return _KINDS[self.kind][0]

    @property
    def order(self):
        """1 for Jacobians and the gradient, 2 for Hessians."""
        return _KINDS[self.kind][1]

    @property
    def approximation(self):
        """True for the Gauss-Newton matrix, which is not the derivative of anything."""
        return self.kind == "gauss_newton"

    def function(self, X, w, T=None):
        """The function this derivation differentiates, evaluated (complex X or w allowed).

        The network outputs (N, K) for the Jacobians; the error E (a float, summed
        over samples) for the gradient and the Hessians. A numerical check
        differentiates this, never the derivation itself.
        """
        if self.loss is None:
            return self.net.forward(X, w)
        from .evaluate import loss_value
        return loss_value(self.net, self.loss.name, X, w, T)

    @property
    def summed(self):
        """True when ``evaluate`` sums over samples (gradient, Hessians)."""
        return self.kind in _SUMMED

    @property
    def needs_targets(self):
        """True when ``evaluate`` needs T (anything built from the error)."""
        return self.loss is not None

    def __repr__(self):
        what = f", loss={self.loss.name!r}" if self.loss else ""
        how = f", method={self.method!r}" if self.method else ""
        return f"<Derivation {self.kind} {self.shape[0]}x{self.shape[1]} of {self.net!r}{what}{how}>"

    # -- LaTeX -----------------------------------------------------------------------
    def latex(self, form="entries", expanded=False, **options):
        """The derivation as a LaTeX ``aligned`` block in Bishop's notation.

        ``form`` is ``"entries"`` (index notation) or ``"matrix"`` (layer by layer);
        ``expanded=True`` substitutes every named intermediate. Other options
        (``max_entries``, ``terms_per_line``, ``width``, ``n_samples``) are those of
        ``symnet.latex.derivation_latex``.
        """
        from .latex import derivation_latex
        return derivation_latex(self, form=form, expanded=expanded, **options)

    def _repr_latex_(self):
        return f"$${self.latex()}$$"

    # -- symbolic forms --------------------------------------------------------
    @cached_property
    def substitution(self):
        """Every named symbol (network and derivation) -> its expression in x, w, b, t.

        Softmax outputs are written ``softmax(k, a_1, ..., a_K)`` (see
        ``symnet.rewriting.substitution``), so the expanded forms print without overflow.
        """
        check_expansion(self.net, len(self.named))
        return rewriting.substitution(self.net, self.definitions)

    @cached_property
    def matrix(self):
        """The exact result fully substituted into inputs, parameters and targets."""
        return sp.ImmutableMatrix(self.named.xreplace(self.substitution))

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

    def evaluate(self, X, w, T=None):
        """The result at inputs X (N, D), parameters w (W,) and targets T (N, K).

        Returns (N, K, D) for the input Jacobian, (N, K, W) for the parameter
        Jacobian (``.reshape(N * K, W)`` is the Levenberg-Marquardt layout, rows
        sample-major), (W,) for the gradient and (W, W) for Hessians, both summed
        over samples. A single sample X of shape (D,) drops the N axis. T is
        required when the derivation comes from an error function and ignored
        otherwise.
        """
        X, w, T, single = self._arrays(X, w, T)
        # A non-finite entry from finite, validated inputs is float64 overflow, never a value.
        result = check_finite_result(f"the {self.kind.replace('_', ' ')}", self._evaluator(X, w, T))
        return result[0] if single and not self.summed else result

    @cached_property
    def _entry_functions(self):
        # Every definition, then all entries in one function with common subexpressions
        # computed once (the R-operator entries of a Hessian share most of their terms),
        # printed in stable form (symnet.rewriting).
        return rewriting.compile_named(self.net, self.definitions, list(self.named))

    def evaluate_entries(self, X, w, T=None):
        """The same as ``evaluate``, computed entry by entry from the named form.

        Slow (one lambdified expression per intermediate and per entry) and
        independent of the matrix form, so the two can be compared. Each expression
        is printed in the stable form of ``symnet.rewriting`` (1 - sigma(a) as
        sigma(-a), ...), so it keeps its digits where the textbook form would not.
        """
        X, w, T, single = self._arrays(X, w, T)
        N = X.shape[0]
        values = dict(zip(self.net.inputs, X.T))
        values.update(zip(self.net.params, w))
        if T is not None:
            values.update(zip(self.net.targets, T.T))
        out = np.empty((N,) + self.shape)
        flat = out.reshape(N, -1)
        for index, value in enumerate(self._entry_functions(values, N)):
            flat[:, index] = value
        if self.kind == "gradient":
            return out.sum(axis=0)[:, 0]
        if self.summed:
            return out.sum(axis=0)
        return out[0] if single else out
