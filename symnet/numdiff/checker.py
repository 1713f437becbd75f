"""Check a derivation against numerical derivatives of the function it differentiates.

``check(derivation, X, w, T)`` differentiates ``derivation.function`` (the
network's outputs, or the error E) numerically, never the derivation itself,
and compares entry by entry with ``derivation.evaluate(X, w, T)``. The result is
always a ``symnet.numdiff.report.CheckReport``.

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
    (``symnet.numdiff.richardson``) to error O(h^8) with a numdifftools-style
    estimate (truncation from the last column, round-off from the extrapolation
    weights), and each entry keeps the window whose estimate is smallest, as
    numdifftools picks its best step.
``"complex"``
    Im f(v + i h e_j) / h with h = 1e-20: no subtraction, so no cancellation, and
    the truncation error h^2 |f'''| / 6 is below anything float64 shows. Valid
    only when f is analytic: refused for ReLU and leaky ReLU networks.

What a derivation is compared with comes from its kind's row of
``symnet.derive.derivation.KINDS``, never from its name. Second derivatives (the
Hessian, the input Hessian) are checked by central differences of the exact
first derivative, g(w + h e_j) - g(w - h e_j) column by column
(``hessian_from="gradient"``, the default; the gradient and the input Jacobian
are checked on their own), or by four-point second differences of the function
itself (``hessian_from="error"``, steps eps^(1/4) max(1, |w_j|)). A
Hessian-vector product H v is checked the same way along v: (g(w + r v) -
g(w - r v)) / 2r, or mixed second differences of E in (w_p, v) (d^2 E / dw_p dr
is (H v)_p, where d^2 E(w + r v) / dr^2 would only give v^T H v). The
Gauss-Newton matrix is not the derivative of anything; it is checked against
sum_n B_n^T Lambda_n B_n built from a numerically differentiated B (dy/dw for
sum-of-squares, da^(L)/dw for cross-entropy) and the loss's exact Lambda_n. The
residual term R = H - G, defined as that difference, is checked against the
numerical H minus that numerical G, with their error estimates added.

Verdicts: an entry fails when |exact - numeric| exceeds both
rtol * max(|exact|, |numeric|) and the numerical error estimate of the entry
(plus 4 (L + 2) eps max|exact|, the rounding of the exact values themselves).
Kinks (ReLU, leaky ReLU) are found from the pre-activations at the perturbed
points: an entry whose perturbations straddle a kink gets the verdict ``"kink"``
with its one-sided derivatives, never ``"fail"``.
"""

import numpy as np

from ._check_reference import numeric_reference
from .._validate import check_inputs, check_number, check_params, check_targets
from ..derive.derivation import KINDS
from ..errors import SymnetError
from .differences import EPS
from .perturbed import kinked_layers
from .report import CheckFailed, CheckReport, entry_name
from .schemes import PointFunction

__all__ = ["check", "CheckReport", "CheckFailed", "METHODS"]

METHODS = ("central", "richardson", "complex")
# Relative tolerances of the verdicts, per method and order of the differences.
RTOL = {("central", 1): 1e-7, ("richardson", 1): 1e-9, ("complex", 1): 1e-10,
        ("central", 2): 1e-5, ("richardson", 2): 1e-7}


def check(derivation, X, w, T=None, *, v=None, method="central", step=None, rtol=None,
          hessian_from="gradient", net=None):
    """Compare a derivation with numerical derivatives of its function, entry by entry.

    Parameters
    ----------
    derivation : Derivation
        Any derivation: from ``symnet.gradient``, ``param_jacobian``,
        ``input_jacobian``, ``hessian`` (exact or Gauss-Newton), ``hessian_residual``,
        ``hessian_vector_product`` or ``input_hessian``.
    X : array (N, D) or (D,)
    w : array (W,)
        Parameters in ``derivation.net.params`` order.
    T : array (N, K), required when the derivation comes from an error function.
    v : array (W,) or (W, P)
        The direction(s) of a Hessian-vector product (required for one, refused
        for the others).
    method : {"central", "richardson", "complex"}
    step : float or array, optional
        The (base) step per variable instead of the default rule; positive and finite.
    rtol : float, optional
        The relative tolerance of the verdicts (default per method: central 1e-7,
        richardson 1e-9, complex 1e-10; for second differences 1e-5 and 1e-7).
    hessian_from : {"gradient", "error"}
        For second derivatives: differences of the exact first derivative (the
        gradient, or the input Jacobian for the input Hessian), or second
        differences of the function itself (E, or the outputs).
    net : MLP, optional
        The network the caller means; refused if the derivation belongs to another.

    Returns
    -------
    CheckReport
        ``.passed``, ``.max_rel_error``, ``.worst``, ``.failures()``, ``.kinks``;
        ``print(report)`` shows a short table; ``report.raise_if_failed()``.

    What is compared, by the kind's row of ``symnet.derive.derivation.KINDS``: first
    derivatives with differences of the function; second derivatives with
    differences of the exact first derivative (``hessian_from="gradient"``) or
    second differences of the function; a Hessian-vector product H v with the
    same along v ((g(w + r v) - g(w - r v)) / 2r, or mixed second differences of E
    in (w_p, v)); the Gauss-Newton matrix with sum_n B_n^T Lambda_n B_n from a
    numerical B; the residual term H - G with the numerical H minus that G.

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
    >>> hvp = symnet.hessian_vector_product(net, "sse")
    >>> symnet.check(hvp, X, w, T, v=np.ones(net.n_params)).passed
    True

    See Also
    --------
    symnet.numdiff.report.CheckReport : what the report holds.
    """
    info = _check_derivation(derivation, net)
    net = derivation.net
    method = _check_method(method, derivation, info, hessian_from)
    if rtol is not None:
        rtol = check_number("rtol", rtol, positive=True, example=1e-7)
    X, single = check_inputs(net, X, allow_complex=False)
    w = check_params(net, w)
    T = check_targets(net, T, X.shape[0], single) if derivation.needs_targets else None
    if info.direction:
        if v is None:
            raise SymnetError(f"checking {info.description} needs its direction: "
                              f"check(..., v=...) with v of shape ({net.n_params},) or "
                              f"({net.n_params}, P)")
        exact = np.asarray(derivation.evaluate(X, w, T, v), dtype=float)  # validates v
        V = np.asarray(v, dtype=float)
        one_direction = V.ndim == 1
        V, exact = (V[:, None], exact[:, None]) if one_direction else (V, exact)
    else:
        if v is not None:
            raise SymnetError(f"v is the direction of a Hessian-vector product; "
                              f"{info.description} takes none")
        exact = np.asarray(derivation.evaluate(X, w, T), dtype=float)  # X is (N, D): N kept
        V, one_direction = None, False
    function = PointFunction(derivation, X, w, T)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        # Non-finite values at perturbed points are counted and reported below,
        # as failures; the warnings they would raise say less than the report.
        reference = numeric_reference(info, function, method, step, hessian_from, V, exact.shape)
    return _report(derivation, info, method, exact, reference, function,
                   rtol if rtol is not None else RTOL[(method, reference.order)], single,
                   one_direction)


# -- input checks -----------------------------------------------------------------
def _check_derivation(derivation, net):
    kind = getattr(derivation, "kind", None)
    if not isinstance(kind, str) or kind not in KINDS or not hasattr(derivation, "evaluate"):
        raise SymnetError(
            f"check needs a derivation (from symnet.gradient, param_jacobian, input_jacobian, "
            f"hessian, hessian_residual, hessian_vector_product or input_hessian); got "
            f"{type(derivation).__name__}")
    if net is not None and net is not derivation.net and not _same_network(net, derivation.net):
        raise SymnetError(
            f"this derivation belongs to {derivation.net!r}, not to {net!r}; derive it again "
            "for the network you mean")
    return KINDS[kind]


def _same_network(a, b):
    return a.sizes == b.sizes and [repr(x) for x in a.activations] == [
        repr(x) for x in b.activations]


def _check_method(method, derivation, info, hessian_from):
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
        if info.order == 2 and not info.approximation:
            first = KINDS.get(info.first_derivative)
            also = (f", and {first.description} itself with method='complex'" if first else "")
            raise SymnetError(
                f"method='complex' gives first derivatives only; check {info.description} "
                "with method='central' or 'richardson' (differences of the exact first "
                f"derivative, or second differences){also}")
    return method


def _report(derivation, info, method, exact, reference, function, rtol, single, one_direction):
    kind, shape = derivation.kind, exact.shape

    def laid_out(array, dtype=float):
        return np.broadcast_to(array, shape).astype(dtype)
    numeric, estimate = laid_out(reference.numeric), laid_out(reference.estimate)
    crossed = laid_out(reference.crossed, bool)
    left, right = laid_out(reference.left), laid_out(reference.right)
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
    per_sample = not info.summed and not single
    arrays = [exact, numeric, estimate, verdicts, left, right, nonfinite]
    if single and not info.summed:   # back to the layout evaluate gives for one sample
        arrays = [a[0] for a in arrays]
    if one_direction:                # and for one direction v (W,)
        arrays = [a[..., 0] for a in arrays]
    exact, numeric, estimate, verdicts, left, right, nonfinite = arrays
    reasons = {tuple(int(i) for i in index): "not finite at a perturbed point"
               for index in np.argwhere(nonfinite)}
    variables, outputs = _names(derivation)
    kinks = tuple(_kink_entries(kind, verdicts, exact, numeric, estimate, left, right,
                                variables, outputs, per_sample, derivation.net))
    notes = list(function.notes)
    for scheme in reference.schemes:
        notes += [note for note in _kink_notes(derivation.net, function, scheme)
                  if note not in notes]
    if nonfinite.any():
        notes.append(f"{int(nonfinite.sum())} entries could not be checked: the function is "
                     "not finite (inf or nan) at some perturbed point; they count as failures")
    description = f"{info.description} of {derivation.net!r}"
    if derivation.loss is not None:
        description += f" (loss {derivation.loss.name})"
    rule = (f"fail when |exact - numeric| > max(rtol * max(|exact|, |numeric|), estimate + "
            f"{floor:.1e}), rtol = {rtol:g} (the {floor:.1e} is 4 (L + 2) eps max|exact|)")
    return CheckReport(
        kind=kind, method=method, description=description, exact=_frozen(exact),
        numeric=_frozen(numeric), estimate=_frozen(estimate), verdicts=_frozen(verdicts),
        steps=_frozen(reference.steps), step_rule=reference.step_rule, rtol=float(rtol),
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
            name = net.layer_pre_activations(layer)[j].name
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

