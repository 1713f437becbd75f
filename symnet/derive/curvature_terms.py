"""Curvature taken apart: H = Gauss-Newton term + residual term, and their spectra at a point.

Write the per-sample error through the quantity the loss acts on, out = y for
sum-of-squares and out = a^(L) for cross-entropy (the canonical pairs). The chain
rule gives the exact Hessian as two terms (Bishop, 2024, sec. 8.1; Schraudolph 2002):

    H = sum_n B_n^T Lambda_n B_n  +  sum_n sum_k r_nk  d^2 out_nk / dw dw
        (Gauss-Newton term)          (residual term)

with B_n = d out / dw, Lambda_n = d^2 E_n / d out^2 and r_k = dE_n / d out_k (y_k - t_k
in the canonical pairs). The residual term is the exact Hessian of the *pseudo-error*
sum_k r_k out_k with r held fixed, so it is derived by the same R-operator recursion,
seeded with s_k^(L) = sum_m r_m d out_m / d a_k^(L) instead of delta_k^(L):

    s_j^(l) = h'(a_j^(l)) sum_k w_kj^(l+1) s_k^(l+1),   residual[p, q] = R_q{s_j^(l) z_i^(l-1)}.

It vanishes where every residual r is zero, and is small near a good fit: that is
why the outer-product (Levenberg-Marquardt) matrix works near a minimum and fails
away from it. ``curvature_report`` measures ||H - GN||_F / ||H||_F and warns
with ``GaussNewtonWarning`` above ``POOR_GAUSS_NEWTON`` (0.1).

The residual term is derived by the R-operator recursion of ``symnet.derive.r_operator``
and evaluated by the engine's one R-operator run on the pseudo-error
(``symnet.compiled.matrix_form.residual_values``), on NumPy or JAX arrays.
Hessian-vector products (``hessian_vector_product``, in ``symnet.derive.r_operator``) and
the input Hessian (``input_hessian``, in ``symnet.input_hessian``) are
re-exported here, so ``from symnet.derive.curvature_terms import ...`` keeps working.

References: Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6 (1994); Schraudolph, "Fast curvature matrix-vector products for
second-order gradient descent", Neural Computation 14 (2002).
"""

from dataclasses import dataclass, field
import warnings

import numpy as np
import sympy as sp

from ..compiled import matrix_form as engine
from .._size import check_curvature_report, check_entries
from .._validate import check_inputs, check_number, check_params, check_targets
from .first_order import _named, backward_recursion, output_block
from .derivation import Derivation
from ..errors import SymnetError
from .second_order import hessian, hessian_from_deltas
from .r_operator import (HessianVectorProduct, direction_symbol, hessian_vector_product, r_symbol,
                  seed_partials)
from .input_curvature import InputHessian, input_hessian, input_tangent_symbol
from ..graph.losses import get_loss
from . import layered_curvature, layered_derivations as layered

__all__ = ["GaussNewtonWarning", "POOR_GAUSS_NEWTON", "hessian_residual", "hessian_split",
           "HessianSplit", "CurvatureReport", "curvature_report", "hessian_vector_product",
           "HessianVectorProduct", "input_hessian", "InputHessian", "direction_symbol",
           "r_symbol", "residual_symbol", "seed_symbol", "input_tangent_symbol"]

POOR_GAUSS_NEWTON = 0.1  # ||H - GN||_F / ||H||_F above this: GN misses a tenth of the curvature


class GaussNewtonWarning(UserWarning):
    """The Gauss-Newton matrix is far from the exact Hessian at this point.

    Raised by ``curvature_report`` when ||H - GN||_F / ||H||_F exceeds
    ``POOR_GAUSS_NEWTON``: the residuals are large, or the network is far from a minimum.

    Examples
    --------
    >>> import warnings, symnet
    >>> net = symnet.MLP([1, 1], output="tanh")           # y = tanh(w x + b), target far away
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     report = curvature_report(net, "sse", [[1.0]], [2.0, 0.0], [[-5.0]])
    >>> caught[0].category.__name__, report.poor
    ('GaussNewtonWarning', True)
    """


# -- the residual term, symbolically ---------------------------------------------------
def residual_symbol(k):
    """r_k = dE_n / d out_k, the weight of d^2 out_k / dw dw in the residual term."""
    return sp.Symbol(f"r_{k}", real=True)


def seed_symbol(layer, j):
    """s_j^(l) = sum_k r_k d out_k / d a_j^(l) with r held fixed (the residual's 'delta')."""
    return sp.Symbol(f"s_{j}^({layer})", real=True)


def _residual_named(net, loss, definitions):
    K = net.sizes[-1]
    # dE_n/dout_k, derived from the loss's row: y_k - t_k for sse (out = y), the output
    # delta for cross-entropy (out = a), tanh(y_k - t_k) for log_cosh, ...
    r_values = loss.residual_named(net)
    r = [_named(residual_symbol(k + 1), value, definitions) for k, value in enumerate(r_values)]
    block = output_block(net, loss.jacobian_of)  # d out_k / d a_m^(L)
    raw = [sp.Add(*[r[k] * block[k, m] for k in range(K)]) for m in range(K)]
    partials = seed_partials(net, raw)  # r_k are symbols, so they stay fixed
    rows = backward_recursion(net, [raw], lambda l, _, j: seed_symbol(l, j + 1), definitions)
    s = {l: row for l, (row,) in rows.items()}  # the delta recursion, run on s
    return hessian_from_deltas(net, s, partials), s


def hessian_residual(net, loss):
    """The residual term sum_n sum_k r_nk d^2 out_nk / dw dw (W x W) that Gauss-Newton drops.

    ``named`` is written in r_k = dE_n/dout_k and s_j^(l) (the delta recursion run on
    the pseudo-error sum_k r_k out_k); ``evaluate`` sums over samples (NumPy or JAX
    arrays; the residual term has no weight decay).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1], output="tanh")          # y = tanh(w x + b)
    >>> R = hessian_residual(net, "sse")
    >>> R.named
    Matrix([
    [-2*r_1*x_1**2*y_1*(1 - y_1**2), -2*r_1*x_1*y_1*(1 - y_1**2)],
    [   -2*r_1*x_1*y_1*(1 - y_1**2),    -2*r_1*y_1*(1 - y_1**2)]])
    >>> R.definitions[residual_symbol(1)]
    -t_1 + y_1
    """
    if layered.is_layered(net):  # a Network or RNN: over its graph of named units
        return layered_curvature.hessian_residual(net, loss, residual_symbol)
    loss = get_loss(loss, net)
    check_entries("the residual term", net.n_params ** 2, net.n_params)
    definitions = {}
    named, s = _residual_named(net, loss, definitions)
    labels = [p.name for p in net.params]
    return Derivation("hessian_residual", net, named, definitions, rows=labels, columns=labels,
                      loss=loss, method="residual",
                      evaluator=lambda X, w, T: engine.residual_values(net, loss, X, w, T),
                      intermediates={"s": {l: sp.Matrix(v) for l, v in s.items()}})


# -- numbers at a point -----------------------------------------------------------------
@dataclass(frozen=True)
class _Spectrum:
    values: np.ndarray
    condition: float
    negative: int
    zero: int
    tolerance: float


def _spectrum(matrix):
    """Ascending eigenvalues of the symmetric part, and what can be told apart from 0.

    A symmetric eigensolver returns each eigenvalue with an error up to about
    W eps ||H||_2 (backward stable: the eigenvalues of H + E with ||E||_2 <= p(W) eps
    ||H||_2, Golub and Van Loan, sec. 8.4), so an eigenvalue with |lambda| below
    that tolerance is 0 within rounding: neither negative nor positive. A
    rank-deficient positive semidefinite matrix shows such eigenvalues of either
    sign. Below -tolerance an eigenvalue is negative; the condition number is
    inf when any eigenvalue is 0 within rounding (singular).
    """
    values = np.linalg.eigvalsh(0.5 * (matrix + matrix.T))
    largest = float(np.max(np.abs(values))) if values.size else 0.0  # ||H||_2
    tolerance = matrix.shape[0] * np.finfo(float).eps * largest
    zero = np.abs(values) <= tolerance
    condition = np.inf if zero.any() else largest / float(np.min(np.abs(values)))
    return _Spectrum(values, float(condition), int(np.sum(values < -tolerance)),
                     int(np.sum(zero)), float(tolerance))


@dataclass(frozen=True)
class CurvatureReport:
    """Exact Hessian, Gauss-Newton matrix and residual term at one point, with their spectra.

    ``relative_difference`` is ||H - GN||_F / ||H||_F; eigenvalues are ascending.
    ``*_tolerance`` is the eigensolver's rounding error W eps ||.||_2; ``*_zero``
    counts the eigenvalues with |lambda| within it (0 within rounding: a
    rank-deficient Gauss-Newton matrix has W - rank of them), ``*_negative`` those
    below -tolerance (a saddle has some; a Gauss-Newton matrix never does).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1])                    # y = w x + b: H = GN = [[x^2, x], [x, 1]]
    >>> report = curvature_report(net, "sse", [[2.0]], [0.5, 0.0], [[1.0]])
    >>> type(report).__name__, report.hessian_zero, report.relative_difference  # rank 1: one 0
    ('CurvatureReport', 1, 0.0)
    """

    hessian: np.ndarray = field(repr=False)
    gauss_newton: np.ndarray = field(repr=False)
    residual: np.ndarray = field(repr=False)
    relative_difference: float
    hessian_eigenvalues: np.ndarray = field(repr=False)
    gauss_newton_eigenvalues: np.ndarray = field(repr=False)
    hessian_condition: float
    gauss_newton_condition: float
    hessian_negative: int
    gauss_newton_negative: int
    hessian_zero: int
    gauss_newton_zero: int
    hessian_tolerance: float
    gauss_newton_tolerance: float
    threshold: float = POOR_GAUSS_NEWTON

    @property
    def poor(self):
        """True when the Gauss-Newton matrix misses more than ``threshold`` of H."""
        return self.relative_difference > self.threshold

    def __str__(self):
        H, G = self.hessian_eigenvalues, self.gauss_newton_eigenvalues
        rows = [("smallest eigenvalue", f"{H[0]: .4g}", f"{G[0]: .4g}"),
                ("largest eigenvalue", f"{H[-1]: .4g}", f"{G[-1]: .4g}"),
                ("condition number", f"{self.hessian_condition: .4g}",
                 f"{self.gauss_newton_condition: .4g}"),
                ("negative eigenvalues", f" {self.hessian_negative}",
                 f" {self.gauss_newton_negative}"),
                ("zero within rounding", f" {self.hessian_zero}", f" {self.gauss_newton_zero}"),
                ("  |lambda| <=", f"{self.hessian_tolerance: .2g}",
                 f"{self.gauss_newton_tolerance: .2g}")]
        verdict = ("poor: the residual term matters here" if self.poor
                   else "good: the residual term is small here")
        lines = [f"Curvature at a point (W = {len(H)})",
                 f"  {'':22s}{'exact H':>14s}{'Gauss-Newton':>14s}"]
        lines += [f"  {name:22s}{a:>14s}{b:>14s}" for name, a, b in rows]
        lines.append(f"  ||H - GN||_F / ||H||_F = {self.relative_difference:.3g} "
                     f"(threshold {self.threshold:g}; {verdict})")
        lines.append("  (0 within rounding: |lambda| <= W eps ||.||_2, the eigensolver's error)")
        return "\n".join(lines)

    def __repr__(self):
        return (f"<CurvatureReport W={len(self.hessian_eigenvalues)}: H negative "
                f"{self.hessian_negative}, zero {self.hessian_zero} "
                f"(|lambda| <= {self.hessian_tolerance:.2g}); GN negative "
                f"{self.gauss_newton_negative}, zero {self.gauss_newton_zero} "
                f"(|lambda| <= {self.gauss_newton_tolerance:.2g}); ||H - GN||_F / ||H||_F = "
                f"{self.relative_difference:.3g}>")


def curvature_report(net, loss, X, w, T, threshold=POOR_GAUSS_NEWTON, *, weight_decay=None):
    """H, GN and H - GN at (X, w, T), summed over samples, with spectra; warns when GN is poor.

    Evaluates the matrix forms (no symbolic derivation). Warns with
    ``GaussNewtonWarning`` when ||H - GN||_F / ||H||_F > ``threshold``. With
    ``weight_decay`` lam, H and GN both gain lam I (the residual term none).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1], output="linear")          # y = w x + b: H = GN exactly
    >>> report = curvature_report(net, "sse", [[1.0], [2.0]], [0.5, 0.0], [[3.0], [-1.0]])
    >>> report.hessian                                     # sum_n [x^2, x; x, 1]
    array([[5., 3.],
           [3., 2.]])
    >>> report.relative_difference, report.hessian_negative
    (0.0, 0)
    """
    loss = get_loss(loss, net, weight_decay)
    X, single = check_inputs(net, X, allow_complex=False)
    w = check_params(net, w)
    T = check_targets(net, T, X.shape[0], single)
    threshold = check_number("threshold", threshold, nonnegative=True, example=POOR_GAUSS_NEWTON)
    check_curvature_report(net, X.shape[0])  # dense W x W matrices: refuse up front if too large
    if layered.is_layered(net):  # no matrix form of these yet: the three derivations' own
        H = hessian(net, loss).evaluate(X, w, T)
        GN = hessian(net, loss, approx="gauss_newton").evaluate(X, w, T)
        residual = hessian_residual(net, loss).evaluate(X, w, T)
    else:
        H = engine.hessian_vector_values(net, loss, X, w, T, np.eye(net.n_params))
        GN = engine.gauss_newton_values(net, loss, X, w, T)
        residual = engine.residual_values(net, loss, X, w, T)
    norm = np.linalg.norm(H)
    difference = np.linalg.norm(H - GN)
    relative = float(difference / norm) if norm > 0 else (0.0 if difference == 0 else np.inf)
    H_spectrum, G_spectrum = _spectrum(H), _spectrum(GN)
    report = CurvatureReport(
        H, GN, residual, relative, H_spectrum.values, G_spectrum.values, H_spectrum.condition,
        G_spectrum.condition, H_spectrum.negative, G_spectrum.negative, H_spectrum.zero,
        G_spectrum.zero, H_spectrum.tolerance, G_spectrum.tolerance, threshold)
    if report.poor:
        warnings.warn(f"the Gauss-Newton matrix differs from the exact Hessian by "
                      f"{relative:.3g} of its size (||H - GN||_F / ||H||_F > {threshold:g}); "
                      "the residual term sum_k r_k d^2 out_k/dw dw matters at this point",
                      GaussNewtonWarning, stacklevel=2)
    return report


class HessianSplit:
    """H = GN + residual as three derivations, each derived on first use.

    Examples
    --------
    >>> import symnet
    >>> split = hessian_split(symnet.MLP([1, 1], output="tanh"), "sse")
    >>> (split.exact.matrix - split.gauss_newton.matrix - split.residual.matrix).simplify()
    Matrix([
    [0, 0],
    [0, 0]])
    """

    def __init__(self, net, loss, weight_decay=None):
        self.net, self.loss = net, get_loss(loss, net, weight_decay)
        self._cache = {}

    def _get(self, name, build):
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    @property
    def exact(self):
        """The exact Hessian (``symnet.hessian``)."""
        return self._get("exact", lambda: hessian(self.net, self.loss))

    @property
    def gauss_newton(self):
        """The Gauss-Newton term (``symnet.hessian`` with ``approx="gauss_newton"``)."""
        return self._get("gn", lambda: hessian(self.net, self.loss, approx="gauss_newton"))

    @property
    def residual(self):
        """The residual term (``hessian_residual``)."""
        return self._get("residual", lambda: hessian_residual(self.net, self.loss))

    def evaluate(self, X, w, T, threshold=POOR_GAUSS_NEWTON):
        """The ``CurvatureReport`` at (X, w, T) (warns when GN is poor)."""
        return curvature_report(self.net, self.loss, X, w, T, threshold)

    def __repr__(self):
        return f"<HessianSplit of {self.net!r}, loss={self.loss.name!r}>"


def hessian_split(net, loss, *, weight_decay=None):
    """The exact Hessian taken apart as Gauss-Newton term + residual term (see the module).

    With ``weight_decay`` lam (E = sum_n E_n + lam/2 ||w||^2) the exact Hessian and the
    Gauss-Newton term gain lam I; the residual term has none.

    Examples
    --------
    >>> import symnet
    >>> split = hessian_split(symnet.MLP([1, 1], output="tanh"), "sse")
    >>> split.residual.named[1, 1]                        # r_1 tanh''(a) with r_1 = y_1 - t_1
    -2*r_1*y_1*(1 - y_1**2)
    >>> split.evaluate([[0.0]], [1.0, 0.0], [[0.3]]).relative_difference   # tanh''(0) = 0
    0.0
    """
    if net is None or not hasattr(net, "n_params"):
        raise SymnetError(f"hessian_split needs an MLP; got {net!r}")
    return HessianSplit(net, loss, weight_decay)

