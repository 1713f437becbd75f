"""The numerical reference ``symnet.check`` compares a derivation with, chosen by its kind.

``numeric_reference`` reads the kind's row of ``symnet.derive.derivation.KINDS`` (never
its name) and picks the difference scheme of ``symnet.numdiff.schemes``:

* first derivatives (``order`` 1): first differences of the function (y or E);
* second derivatives: first differences of the exact first derivative
  (``first_derivative``: the gradient, or the input Jacobian), or with
  ``hessian_from="error"`` four-point second differences of the function; a kind
  that takes a ``direction`` (H v) is differenced along v;
* an ``approximation`` (Gauss-Newton): sum_n B_n^T Lambda_n B_n from a numerical B;
* a kind defined by ``terms`` (R = H - G): the same signed sum of their references.

Each reference carries its values, error estimates, kink crossings and one-sided
derivatives in the layout of ``evaluate`` (N axis kept, directions as a last axis),
the steps and the step rule in words.
"""

from dataclasses import dataclass

import numpy as np

from .._validate import check_steps
from ..derive.derivation import KINDS
from .differences import EPS, central_steps
from .richardson import extrapolate
from .schemes import FirstOrder, SecondDifference

__all__ = ["numeric_reference", "RICHARDSON_BASE", "COMPLEX_STEP"]

RICHARDSON_BASE = 2.0 ** -2   # h_0 / max(1, |v_j|)
RICHARDSON_STEPS = 4          # steps per extrapolation: error O(h^8)
RICHARDSON_WINDOWS = 6        # windows h_0 2^-k .. h_0 2^-(k+3), k = 0..5
RICHARDSON_RATIO = 2.0
COMPLEX_STEP = 1e-20
_STEP_RULES = {
    ("central", 1): "h_j = eps^(1/3) max(1, |v_j|) (truncation h^2 vs round-off eps/h)",
    ("central", 2): "h_j = eps^(1/4) max(1, |w_j|) (truncation h^2 vs round-off eps/h^2)",
    ("richardson", 1): "h = 2^-2 .. 2^-10 times max(1, |v_j|); Richardson to O(h^8) over 4 "
                       "consecutive steps, per entry the window with the smallest estimate",
    ("richardson", 2): "h = 2^-2 .. 2^-10 times max(1, |w_j|); Richardson to O(h^8) over 4 "
                       "consecutive steps, per entry the window with the smallest estimate",
    ("complex", 1): "complex step h = 1e-20 (no subtraction, so no round-off from h)",
}
_ALONG_V = "; along each direction v the step is max_j h_j / max|v| (the same largest move)"


def _steps(step, variables, method, order):
    """The (base) step per variable, from the rule of the method or the user's value."""
    scale = np.maximum(1.0, np.abs(variables))
    if step is None:
        if method == "complex":
            return np.full(variables.shape, COMPLEX_STEP)
        if method == "richardson":
            return RICHARDSON_BASE * scale
        return central_steps(variables) if order == 1 else EPS ** 0.25 * scale
    return check_steps(step, variables.shape)


def _direction_steps(steps, V):
    """r_b = max_j h_j / max|v_b| for each direction v_b (column of V): the same largest move."""
    size = np.max(np.abs(V), axis=0)
    return np.max(steps) / np.where(size > 0, size, 1.0)


# -- the numerical reference, chosen from the kind's row of KINDS ---------------------
@dataclass
class _Reference:
    """Numerical values in the layout of ``evaluate`` (with the N axis and a direction axis)."""

    numeric: np.ndarray
    estimate: np.ndarray
    crossed: np.ndarray
    left: np.ndarray
    right: np.ndarray
    steps: np.ndarray
    order: int
    step_rule: str
    schemes: tuple


def numeric_reference(info, function, method, step, hessian_from, V, shape):
    """What the derivation of kind ``info`` is compared with (see ``check``)."""
    if info.terms:
        return _sum_of_terms(info, function, method, step, hessian_from, shape)
    wrt_inputs = info.wrt == "inputs"
    variables = function.X if wrt_inputs else function.w
    if info.approximation:
        return _gauss_newton(function, method, _steps(step, variables, method, 1))
    if info.order == 1:
        scheme = FirstOrder(function, _steps(step, variables, method, 1), "function", wrt_inputs)
        return _first_order(scheme, method, info, shape, "")
    if hessian_from == "error":
        steps = _steps(step, variables, method, 2)
        extra = {} if V is None else dict(directions=V.T, direction_steps=_direction_steps(
            steps, V))
        scheme = SecondDifference(function, steps, wrt_inputs=wrt_inputs, **extra)
        what = (" on E, mixed second differences in (w_p, v)" + _ALONG_V if V is not None
                else f" on {'the outputs' if info.of == 'outputs' else 'E'} (four-point second "
                     "differences)")
        return _second_order(scheme, method, shape, what)
    steps = _steps(step, variables, method, 1)
    first = KINDS[info.first_derivative]
    exact_first = first.description.replace("the ", "the exact ", 1)
    if V is None:
        scheme = FirstOrder(function, steps, first.name, wrt_inputs)
        return _first_order(scheme, method, info, shape, f" on {exact_first}, column by column")
    scheme = FirstOrder(function, _direction_steps(steps, V), first.name, wrt_inputs,
                        directions=V.T)
    return _first_order(scheme, method, info, shape, f" on {exact_first} along v" + _ALONG_V)


def _first_order(scheme, method, info, shape, what):
    """First differences (directions, *F) -> evaluate's layout: the directions axis last."""
    result = _run(scheme, method)
    moved = {key: np.moveaxis(result[key], 0, -1) for key in ("numeric", "estimate", "left",
                                                               "right")}
    crossed = result["crossed"]                            # (directions, N)
    if info.summed:                                        # any sample: (1, ..., directions)
        crossed = crossed.any(axis=1).reshape((1,) * (len(shape) - 1) + (-1,))
    else:                                                  # (N, 1, ..., directions)
        crossed = crossed.T.reshape((crossed.shape[1],) + (1,) * (len(shape) - 2) + (-1,))
    return _Reference(crossed=crossed, steps=np.array(scheme.steps), order=1,
                      step_rule=_STEP_RULES[(method, 1)] + what, schemes=(scheme,), **moved)


def _second_order(scheme, method, shape, what):
    """Second differences (rows, columns, *F) -> evaluate's layout: the pair axes last."""
    result = _run(scheme, method)
    moved = {key: np.moveaxis(result[key], (0, 1), (-2, -1)) for key in ("numeric", "estimate",
                                                                         "left", "right")}
    crossed = result["crossed"].reshape((1,) * (len(shape) - 2) + result["crossed"].shape)
    return _Reference(crossed=crossed, steps=np.array(scheme.steps), order=2,
                      step_rule=_STEP_RULES[(method, 2)] + what, schemes=(scheme,), **moved)


def _gauss_newton(function, method, steps):
    """sum_n B^T Lambda B from the numerically differentiated B (W, N, K) and its error bound."""
    scheme = FirstOrder(function, steps, "jacobian", wrt_inputs=False)
    result = _run(scheme, method)
    B, dB = result["numeric"], result["estimate"]
    Lam = function.gauss_newton_weights()
    absLam = np.abs(Lam)
    G = np.einsum("pnk,nkm,qnm->pq", B, Lam, B)
    bound = (np.einsum("pnk,nkm,qnm->pq", np.abs(B), absLam, dB)
             + np.einsum("pnk,nkm,qnm->pq", dB, absLam, np.abs(B) + dB))
    crossed = result["crossed"].any(axis=1)
    nan = np.full(G.shape, np.nan)
    return _Reference(G, bound, crossed[:, None] | crossed[None, :], nan, nan,
                      np.array(scheme.steps), 1,
                      _STEP_RULES[(method, 1)] + "; B differentiated numerically, Lambda exact",
                      (scheme,))


def _sum_of_terms(info, function, method, step, hessian_from, shape):
    """A kind defined as a signed sum of other kinds (R = H - G): the same sum of references."""
    parts = [(sign, KINDS[name], numeric_reference(KINDS[name], function, method, step,
                                                   hessian_from, None, shape))
             for sign, name in info.terms]
    nan = np.full(shape, np.nan)
    return _Reference(
        numeric=sum(sign * np.broadcast_to(part.numeric, shape) for sign, _, part in parts),
        estimate=sum(np.broadcast_to(part.estimate, shape) for _, _, part in parts),
        crossed=np.logical_or.reduce([np.broadcast_to(part.crossed, shape)
                                      for _, _, part in parts]),
        left=nan, right=nan, steps=parts[0][2].steps,
        order=max(part.order for _, _, part in parts),
        step_rule="; ".join(f"{kind.title}: {part.step_rule}" for _, kind, part in parts),
        schemes=tuple(scheme for _, _, part in parts for scheme in part.schemes))


# -- the numbers ---------------------------------------------------------------------
def _run(scheme, method):
    """numeric, estimate, crossed, left, right in the scheme's (directions, *out) layout."""
    if method == "complex":
        q = scheme.quotients([1j])
        numeric = q.quotients[0]
        estimate = scheme.rounding_factor * EPS * (np.abs(numeric) + np.max(np.abs(numeric)))
        return dict(numeric=numeric, estimate=estimate, crossed=q.crossed, left=q.left,
                    right=q.right)
    if method == "central":
        q = scheme.quotients([1.0, 2.0])
        first, second = q.quotients
        truncation = np.abs(second - first) / 3
        return dict(numeric=first, estimate=2 * truncation + q.noise[0], crossed=q.crossed,
                    left=q.left, right=q.right)
    # A geometric sequence of steps; every window of RICHARDSON_STEPS consecutive steps
    # is extrapolated, and each entry keeps the window with the smallest error estimate
    # (large steps suit gently curved entries, small ones sharply curved ones).
    multipliers = RICHARDSON_RATIO ** -np.arange(RICHARDSON_STEPS + RICHARDSON_WINDOWS - 1)
    q = scheme.quotients(list(multipliers))
    best_value = best_estimate = None
    for start in range(RICHARDSON_WINDOWS):
        window = slice(start, start + RICHARDSON_STEPS)
        value, truncation, weights = extrapolate(q.quotients[window], RICHARDSON_RATIO)
        rounding = sum(abs(c) * noise for c, noise in zip(weights, q.noise[window]))
        estimate = 2 * truncation + rounding
        if best_value is None:
            best_value, best_estimate = value, estimate
        else:
            better = estimate < best_estimate
            best_value = np.where(better, value, best_value)
            best_estimate = np.where(better, estimate, best_estimate)
    return dict(numeric=best_value, estimate=best_estimate, crossed=q.crossed, left=q.left,
                right=q.right)
