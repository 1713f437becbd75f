"""Check a derivation against numerical derivatives of the function it differentiates.

``check(derivation, X, w, T)`` differentiates ``derivation.function`` (the
network's outputs, or the error E) numerically, never the derivation itself,
and compares entry by entry with ``derivation.evaluate(X, w, T)``. The result is
always a ``symnet.report.CheckReport``.

Methods
-------
``"central"``
    D(h) = (f(v + h e_j) - f(v - h e_j)) / 2h with h_j = eps^(1/3) max(1, |v_j|).
    The truncation error is h^2 |f'''| / 6 and the round-off error about
    eps |f| / h; their sum is smallest near h ~ eps^(1/3) times the scale of v_j
    (Nocedal & Wright, Numerical Optimization, 2nd ed., sec. 8.1), leaving a
    relative error near 1e-10 in float64. The quotient at 2h is also formed, and
    |D(2h) - D(h)| / 3 (which is c h^2 when D(h) = D + c h^2) estimates the
    truncation error.
``"richardson"``
    Central differences at h_0 2^-k (k = 0..8) with h_0 = 2^-2 max(1, |v_j|);
    each window of four consecutive steps is Richardson-extrapolated
    (``symnet.richardson``) to error O(h^8) with a numdifftools-style
    estimate (truncation from the last column, round-off from the extrapolation
    weights), and each entry keeps the window whose estimate is smallest, as
    numdifftools picks its best step.
``"complex"``
    Im f(v + i h e_j) / h with h = 1e-20: no subtraction, so no cancellation, and
    the truncation error h^2 |f'''| / 6 is below anything float64 shows. Valid
    only when f is analytic: refused for ReLU and leaky ReLU networks.

Second derivatives (``kind="hessian"``) are checked by central differences of
the exact gradient, g(w + h e_j) - g(w - h e_j), column by column
(``hessian_from="gradient"``, the default; the gradient is checked on its own
by ``check(symnet.gradient(net, loss), ...)``), or by second differences of E
(``hessian_from="error"``, steps eps^(1/4) max(1, |w_j|)). The Gauss-Newton
matrix is not the derivative of anything; it is checked against
sum_n B_n^T Lambda_n B_n built from a numerically differentiated B (dy/dw for
sum-of-squares, da^(L)/dw for cross-entropy) and the loss's exact Lambda_n.

Verdicts: an entry fails when |exact - numeric| exceeds both
rtol * max(|exact|, |numeric|) and the numerical error estimate of the entry
(plus 4 (L + 2) eps max|exact|, the rounding of the exact values themselves).
Kinks (ReLU, leaky ReLU) are found from the pre-activations at the perturbed
points: an entry whose perturbations straddle a kink gets the verdict ``"kink"``
with its one-sided derivatives, never ``"fail"``.
"""

import numpy as np

from ._validate import check_inputs, check_number, check_params, check_steps, check_targets
from .errors import SymnetError
from .numdiff import EPS, central_steps
from .richardson import extrapolate
from .perturbed import kinked_layers
from .report import CheckFailed, CheckReport, entry_name
from .schemes import FirstOrder, PointFunction, SecondDifference

__all__ = ["check", "CheckReport", "CheckFailed", "METHODS"]

METHODS = ("central", "richardson", "complex")
RICHARDSON_BASE = 2.0 ** -2   # h_0 / max(1, |v_j|)
RICHARDSON_STEPS = 4          # steps per extrapolation: error O(h^8)
RICHARDSON_WINDOWS = 6        # windows h_0 2^-k .. h_0 2^-(k+3), k = 0..5
RICHARDSON_RATIO = 2.0
COMPLEX_STEP = 1e-20
# Relative tolerances of the verdicts, per method and order of the differences.
RTOL = {("central", 1): 1e-7, ("richardson", 1): 1e-9, ("complex", 1): 1e-10,
        ("central", 2): 1e-5, ("richardson", 2): 1e-7}
_KINDS = ("input_jacobian", "gradient", "param_jacobian", "hessian", "gauss_newton")
_DESCRIPTIONS = {"input_jacobian": "the input Jacobian dy/dx", "gradient": "the gradient dE/dw",
                 "param_jacobian": "the parameter Jacobian dy/dw",
                 "hessian": "the Hessian d2E/dw2", "gauss_newton": "the Gauss-Newton matrix"}
_STEP_RULES = {
    ("central", 1): "h_j = eps^(1/3) max(1, |v_j|) (truncation h^2 vs round-off eps/h)",
    ("central", 2): "h_j = eps^(1/4) max(1, |w_j|) (truncation h^2 vs round-off eps/h^2)",
    ("richardson", 1): "h = 2^-2 .. 2^-10 times max(1, |v_j|); Richardson to O(h^8) over 4 "
                       "consecutive steps, per entry the window with the smallest estimate",
    ("richardson", 2): "h = 2^-2 .. 2^-10 times max(1, |w_j|); Richardson to O(h^8) over 4 "
                       "consecutive steps, per entry the window with the smallest estimate",
    ("complex", 1): "complex step h = 1e-20 (no subtraction, so no round-off from h)",
}


def check(derivation, X, w, T=None, *, method="central", step=None, rtol=None,
          hessian_from="gradient", net=None):
    """Compare a derivation with numerical derivatives of its function, entry by entry.

    Parameters
    ----------
    derivation : Derivation
        From ``symnet.gradient``, ``symnet.param_jacobian``,
        ``symnet.input_jacobian`` or ``symnet.hessian``.
    X : array (N, D) or (D,)
    w : array (W,)
        Parameters in ``derivation.net.params`` order.
    T : array (N, K), required when the derivation comes from an error function.
    method : {"central", "richardson", "complex"}
    step : float or array, optional
        The (base) step per variable instead of the default rule; positive and finite.
    rtol : float, optional
        The relative tolerance of the verdicts (default per method: central 1e-7,
        richardson 1e-9, complex 1e-10; for second differences of E 1e-5 and 1e-7).
    hessian_from : {"gradient", "error"}
        For Hessians: differences of the exact gradient, or second differences of E.
    net : MLP, optional
        The network the caller means; refused if the derivation belongs to another.

    Returns
    -------
    CheckReport
        ``.passed``, ``.max_rel_error``, ``.worst``, ``.failures()``, ``.kinks``;
        ``print(report)`` shows a short table; ``report.raise_if_failed()``.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([2, 3, 1], hidden="tanh")
    >>> grad = symnet.gradient(net, "sse")
    >>> w = net.init_params(seed=1)
    >>> X, T = np.array([[0.5, -1.0], [1.5, 0.2]]), np.array([[0.3], [-0.4]])
    >>> report = symnet.check(grad, X, w, T)
    >>> report.passed, report.count("pass"), bool(report.max_rel_error < 1e-8)
    (True, 13, True)
    >>> print(report.worst.name[:5])
    dE/dw
    >>> symnet.check(grad, X, w, T, method="complex").max_rel_error < 1e-12
    True

    See Also
    --------
    symnet.report.CheckReport : what the report holds.
    """
    _check_derivation(derivation, net)
    net = derivation.net
    method = _check_method(method, derivation, hessian_from)
    if rtol is not None:
        rtol = check_number("rtol", rtol, positive=True, example=1e-7)
    X, single = check_inputs(net, X, allow_complex=False)
    w = check_params(net, w)
    if derivation.needs_targets:
        T = check_targets(net, T, X.shape[0], single)
    else:
        T = None
    exact = np.asarray(derivation.evaluate(X, w, T), dtype=float)  # X is (N, D): N axis kept
    function = PointFunction(derivation, X, w, T)
    order = 2 if derivation.kind == "hessian" and hessian_from == "error" else 1
    if derivation.kind == "hessian" and hessian_from == "error":
        scheme = SecondDifference(function, _steps(step, w, method, 2))
    else:
        wrt_inputs = derivation.wrt == "inputs"
        variables = X if wrt_inputs else w
        target = {"hessian": "gradient", "gauss_newton": "jacobian"}.get(derivation.kind,
                                                                           "function")
        scheme = FirstOrder(function, _steps(step, variables, method, 1), target, wrt_inputs)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # Non-finite values at perturbed points are counted and reported below,
        # as failures; the warnings they would raise say less than the report.
        result = _run(scheme, method)
    if derivation.kind == "gauss_newton":
        result = _gauss_newton(result, function)
    return _report(derivation, method, order, exact, result, scheme, function,
                   rtol if rtol is not None else RTOL[(method, order)], single)


# -- input checks -----------------------------------------------------------------
def _check_derivation(derivation, net):
    kind = getattr(derivation, "kind", None)
    if kind not in _KINDS or not hasattr(derivation, "evaluate"):
        raise SymnetError(
            f"check needs a derivation (from symnet.gradient, param_jacobian, input_jacobian or "
            f"hessian); got {type(derivation).__name__}")
    if net is not None and net is not derivation.net and not _same_network(net, derivation.net):
        raise SymnetError(
            f"this derivation belongs to {derivation.net!r}, not to {net!r}; derive it again "
            "for the network you mean")


def _same_network(a, b):
    return a.sizes == b.sizes and [repr(x) for x in a.activations] == [
        repr(x) for x in b.activations]


def _check_method(method, derivation, hessian_from):
    if method not in METHODS:
        raise SymnetError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if hessian_from not in ("gradient", "error"):
        raise SymnetError(f"hessian_from must be 'gradient' or 'error'; got {hessian_from!r}")
    if method == "complex":
        kinked = [f"layer {l} uses {act.name}" for l, act in
                  enumerate(derivation.net.activations, start=1) if not act.analytic]
        if kinked:
            raise SymnetError(
                "method='complex' needs every activation analytic (complex-step differentiation "
                f"is wrong at kinks), but {', '.join(kinked)}; use method='central' or "
                "'richardson', which mark the entries near a kink")
        if derivation.kind == "hessian":
            raise SymnetError(
                "method='complex' gives first derivatives only; check a Hessian with "
                "method='central' or 'richardson' (differences of the exact gradient), and the "
                "gradient itself with method='complex'")
    return method


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


def _gauss_newton(result, function):
    """sum_n B^T Lambda B from the numerically differentiated B (W, N, K) and its error bound."""
    B, dB = result["numeric"], result["estimate"]
    Lam = function.gauss_newton_weights()
    absLam = np.abs(Lam)
    G = np.einsum("pnk,nkm,qnm->pq", B, Lam, B)
    bound = (np.einsum("pnk,nkm,qnm->pq", np.abs(B), absLam, dB)
             + np.einsum("pnk,nkm,qnm->pq", dB, absLam, np.abs(B) + dB))
    crossed = result["crossed"].any(axis=1)
    nan = np.full(G.shape, np.nan)
    return dict(numeric=G, estimate=bound, crossed=crossed[:, None] | crossed[None, :],
                left=nan, right=nan, gauss_newton=True)


def _layout(kind, array, per_sample_crossing=False):
    """(directions, *out) -> the derivation's evaluate layout (with the N axis)."""
    if kind in ("param_jacobian", "input_jacobian"):
        if per_sample_crossing:          # (directions, N) -> (N, 1, directions)
            return array.T[:, None, :]
        return np.moveaxis(array, 0, -1)  # (dirs, N, K) -> (N, K, dirs)
    if kind == "gradient":
        return array.any(axis=1) if per_sample_crossing else array
    if kind == "hessian":                 # column j holds the differences along e_j
        if per_sample_crossing:
            return array.any(axis=1)[None, :] if array.ndim == 2 else array
        return array.T
    return array                          # gauss_newton and second differences: (W, W) already


def _report(derivation, method, order, exact, result, scheme, function, rtol, single):
    kind = derivation.kind
    done = result.get("gauss_newton") or isinstance(scheme, SecondDifference)
    shape = exact.shape
    pick = (lambda a: a) if done else (lambda a: _layout(kind, a))
    numeric = np.broadcast_to(pick(result["numeric"]), shape).astype(float)
    estimate = np.broadcast_to(pick(result["estimate"]), shape).astype(float)
    crossed = result["crossed"] if done else _layout(kind, result["crossed"], True)
    crossed = np.broadcast_to(crossed, shape)
    left = np.broadcast_to(pick(result["left"]), shape)
    right = np.broadcast_to(pick(result["right"]), shape)
    nonfinite = ~(np.isfinite(numeric) & np.isfinite(estimate))
    error = np.abs(exact - numeric)
    # The exact values are rounded too: about kappa eps times the derivative's size
    # (e.g. sigma'(a) = y (1 - y) loses digits when y is near 1); no smaller
    # disagreement means anything.
    floor = 4 * (derivation.net.n_layers + 2) * EPS * np.max(np.abs(exact), initial=0.0)
    tolerance = np.maximum(rtol * np.maximum(np.abs(exact), np.abs(numeric)), estimate + floor)
    verdicts = np.where(error <= tolerance, "pass", "fail").astype("<U4")
    verdicts[crossed & ~nonfinite] = "kink"
    verdicts[nonfinite] = "fail"
    per_sample = kind in ("param_jacobian", "input_jacobian") and not single
    if single and not derivation.summed:   # back to the layout evaluate gives for one sample
        exact, numeric, estimate, verdicts = exact[0], numeric[0], estimate[0], verdicts[0]
        left, right, nonfinite = left[0], right[0], nonfinite[0]
    reasons = {tuple(int(i) for i in index): "not finite at a perturbed point"
               for index in np.argwhere(nonfinite)}
    variables, outputs = _names(derivation)
    kinks = tuple(_kink_entries(kind, verdicts, exact, numeric, estimate, left, right,
                                variables, outputs, per_sample, derivation.net))
    notes = list(function.notes) + _kink_notes(derivation.net, function, scheme)
    if nonfinite.any():
        notes.append(f"{int(nonfinite.sum())} entries could not be checked: the function is "
                     "not finite (inf or nan) at some perturbed point; they count as failures")
    description = f"{_DESCRIPTIONS[kind]} of {derivation.net!r}"
    if derivation.loss is not None:
        description += f" (loss {derivation.loss.name})"
    rule = (f"fail when |exact - numeric| > max(rtol * max(|exact|, |numeric|), estimate + "
            f"{floor:.1e}), rtol = {rtol:g} (the {floor:.1e} is 4 (L + 2) eps max|exact|)")
    step_rule = _STEP_RULES[(method, order)]
    if kind == "hessian":
        step_rule += (" on the exact gradient, column by column" if order == 1
                      else " on E (four-point second differences)")
    if kind == "gauss_newton":
        step_rule += "; B differentiated numerically, Lambda exact"
    return CheckReport(
        kind=kind, method=method, description=description, exact=_frozen(exact),
        numeric=_frozen(numeric), estimate=_frozen(estimate), verdicts=_frozen(verdicts),
        steps=_frozen(np.array(scheme.steps)), step_rule=step_rule, rtol=float(rtol),
        tolerance_rule=rule, variables=variables, outputs=outputs,
        per_sample=per_sample, kinks=kinks, notes=tuple(notes),
        n_nonfinite=int(nonfinite.sum()), reasons=reasons)


def _frozen(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


def _names(derivation):
    net = derivation.net
    variables = (tuple(x.name for x in net.inputs) if derivation.wrt == "inputs"
                 else tuple(p.name for p in net.params))
    return variables, tuple(y.name for y in net.layer_values(net.n_layers))


def _kink_entries(kind, verdicts, exact, numeric, estimate, left, right, variables, outputs,
                  per_sample, net):
    from .report import Entry
    conventions = "; ".join(f"{act.name}: {act.kink_convention}"
                            for _, act, _ in kinked_layers(net))
    for index in np.argwhere(verdicts == "kink"):
        index = tuple(int(i) for i in index)
        yield Entry(index, entry_name(kind, index, variables, outputs, per_sample),
                    float(exact[index]), float(numeric[index]), float(estimate[index]), "kink",
                    left=float(left[index]), right=float(right[index]),
                    reason=f"convention {conventions}")


def _kink_notes(net, function, scheme):
    notes = []
    for layer, act, points in kinked_layers(net):
        if not points:
            notes.append(f"layer {layer}'s activation {act.name} has kinks symnet cannot place; "
                         "its entries are not screened for them")
    units = scheme.crossed_units
    A = function.centre_pre_activations
    shown = 0
    for layer, mask in sorted(units.items()):
        act = net.activations[layer - 1]
        for n, j in np.argwhere(mask):
            a = A[layer][n, j]
            name = f"a_{j + 1}^({layer})"
            if shown < 5:
                if a == 0:
                    notes.append(
                        f"sample {n}: {name} = 0 exactly, at the kink of {act.name}: it has no "
                        f"derivative there; symnet uses the convention {act.kink_convention}, and "
                        "the entries through this unit are marked kink with their left and "
                        "right derivatives")
                else:
                    notes.append(f"sample {n}: {name} = {a:.3g} lies within the step of "
                                 f"{act.name}'s kink at 0; the entries it touches are marked kink")
            shown += 1
    if shown > 5:
        notes.append(f"... and {shown - 5} more units near a kink")
    return notes

