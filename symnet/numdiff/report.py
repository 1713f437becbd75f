"""The result of ``symnet.check``: one frozen report type, read in a terminal or a notebook.

Every entry of the checked derivative has a verdict:

* ``"pass"``: the exact and numeric values agree within the tolerance;
* ``"fail"``: they do not, or the function was not finite at a perturbed point;
* ``"kink"``: the perturbations straddle a ReLU / leaky ReLU kink, so the
  difference quotient is not a derivative at all; the entry carries the left
  and right one-sided derivatives and the convention symnet uses there.

Entries are named the way a person writes them: ``dE/dw_21^(2)``,
``dy_2/db_1^(1) at sample 3``, ``J_12 = dy_1/dx_2 at sample 0``,
``H[w_11^(1), b_2^(2)]``.
"""

import html
from dataclasses import dataclass, field

import numpy as np

from ..derive.derivation import derivation_kind

__all__ = ["CheckReport", "CheckFailed", "Entry", "VERDICTS"]

VERDICTS = ("pass", "fail", "kink")
_SHOWN = 8  # rows of failures / kinks printed in the table


class CheckFailed(AssertionError):
    """A numerical check found wrong entries; the message is the report's text.

    A subclass of ``AssertionError``, so ``report.raise_if_failed()`` works
    in a user's own tests; the report is in ``error.report``.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([1, 1])                      # y = w_11^(1) x_1 + b_1^(1)
    >>> J = symnet.param_jacobian(net)
    >>> class Wrong:                                  # dy/db = 1, planted as -1
    ...     def __getattr__(self, name):
    ...         return getattr(J, name)
    ...     def evaluate(self, X, w, T=None):
    ...         return J.evaluate(X, w) * np.array([1.0, -1.0])
    >>> try:
    ...     symnet.check(Wrong(), [2.0], np.array([0.5, 0.0])).raise_if_failed()
    ... except AssertionError as error:
    ...     print(type(error).__name__, [e.name for e in error.report.failures()])
    CheckFailed ['dy_1/db_1^(1)']
    """

    def __init__(self, report):
        super().__init__(str(report))
        self.report = report


@dataclass(frozen=True)
class Entry:
    """One entry of a check: its name, values, error estimate and verdict."""

    index: tuple
    name: str
    exact: float
    numeric: float
    estimate: float
    verdict: str
    left: float = float("nan")
    right: float = float("nan")
    reason: str = ""

    @property
    def abs_error(self):
        """|exact - numeric|."""
        return abs(self.exact - self.numeric)

    @property
    def rel_error(self):
        """|exact - numeric| / max(|exact|, |numeric|) (0 when both are 0): the CS231n measure."""
        return _relative(self.exact, self.numeric)


def _relative(exact, numeric):
    exact, numeric = np.asarray(exact, dtype=float), np.asarray(numeric, dtype=float)
    scale = np.maximum(np.abs(exact), np.abs(numeric))
    difference = np.abs(exact - numeric)
    finite = np.isfinite(difference) & np.isfinite(scale)
    ratio = np.divide(difference, scale, out=np.zeros(np.shape(difference)),
                      where=finite & (scale > 0))  # both zero: agreement, 0
    return np.where(finite, ratio, np.inf)


def entry_name(kind, index, variables, outputs, per_sample):
    """The name of entry ``index`` of a ``kind`` derivative, as a person writes it.

    >>> entry_name("gradient", (7,), ["w_11^(1)"] * 7 + ["w_21^(2)"], ["y_1"], False)
    'dE/dw_21^(2)'
    >>> entry_name("param_jacobian", (3, 1, 0), ["b_1^(1)"], ["y_1", "y_2"], True)
    'dy_2/db_1^(1) at sample 3'
    >>> entry_name("input_jacobian", (0, 0, 1), ["x_1", "x_2"], ["y_1"], True)
    'J_12 = dy_1/dx_2 at sample 0'
    >>> entry_name("hessian", (0, 1), ["w_11^(1)", "b_2^(2)"], ["y_1"], False)
    'H[w_11^(1), b_2^(2)]'
    >>> entry_name("input_hessian", (0, 0, 0, 1), ["x_1", "x_2"], ["y_1"], True)
    'd2y_1/dx_1dx_2 at sample 0'

    The names come from the kind's row of ``symnet.derive.derivation.KINDS``.
    """
    sample = ""
    if per_sample:
        sample, index = f" at sample {index[0]}", index[1:]
    return derivation_kind(kind).entry_name(index, variables, outputs) + sample


@dataclass(frozen=True, eq=False)
class CheckReport:
    """What ``symnet.check`` found, entry by entry (always this type).

    Attributes
    ----------
    kind : str
        The derivation's kind (``"gradient"``, ``"param_jacobian"``, ...).
    method : str
        ``"central"``, ``"richardson"`` or ``"complex"``.
    exact, numeric, estimate : arrays, the derivation's ``evaluate`` layout
        The derivation's values, the numerical ones, and the estimated error of
        the numerical ones (truncation plus round-off).
    verdicts : array of str, same shape
        ``"pass"``, ``"fail"`` or ``"kink"`` per entry.
    steps : array
        The step used for each variable (the largest one for Richardson).
    step_rule, tolerance_rule : str
        How the steps were chosen, and when an entry fails, in words.
    rtol : float
        The relative tolerance of the verdicts.
    kinks : tuple of Entry
        The ``"kink"`` entries with their one-sided derivatives.
    notes : tuple of str
        Plain-words remarks (a pre-activation exactly at a kink, non-finite values, ...).
    n_nonfinite : int
        Entries whose numeric value could not be formed from finite function values.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([2, 2, 1], hidden="relu")
    >>> # x = (1, 1): a_1^(1) = 1 - 1 + 0 = 0 exactly, at ReLU's kink; a_2^(1) = 2.
    >>> w = net.pack([[[1.0, -1.0], [1.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> report = symnet.check(symnet.input_jacobian(net), [1.0, 1.0], w)
    >>> report.passed, report.count("pass"), report.count("kink")
    (True, 0, 2)
    >>> kink = report.kinks[0]
    >>> kink.name, kink.exact, kink.left, kink.right     # dy/dx_1 = 1 + (0 or 1)
    ('J_11 = dy_1/dx_1', 1.0, 1.0, 2.0)
    >>> print(str(report).splitlines()[-1].strip()[:60])
    note: sample 0: a_1^(1) = 0 exactly, at the kink of relu: it
    """

    kind: str
    method: str
    description: str
    exact: np.ndarray
    numeric: np.ndarray
    estimate: np.ndarray
    verdicts: np.ndarray
    steps: np.ndarray
    step_rule: str
    rtol: float
    tolerance_rule: str
    variables: tuple
    outputs: tuple
    per_sample: bool
    kinks: tuple = ()
    notes: tuple = ()
    n_nonfinite: int = 0
    reasons: dict = field(default_factory=dict)

    # -- summary numbers ---------------------------------------------------------
    @property
    def abs_error(self):
        """|exact - numeric| per entry."""
        return np.abs(self.exact - self.numeric)

    @property
    def rel_error(self):
        """|exact - numeric| / max(|exact|, |numeric|) per entry (0 where both are 0)."""
        return _relative(self.exact, self.numeric)

    def count(self, verdict):
        """How many entries have ``verdict``."""
        return int(np.sum(self.verdicts == verdict))

    @property
    def passed(self):
        """True when no entry failed (kinks do not fail; they are explained)."""
        return self.count("fail") == 0

    def _compared(self):
        return self.verdicts != "kink"

    @property
    def max_abs_error(self):
        """The largest |exact - numeric| over the entries that are not kinks."""
        errors = self.abs_error[self._compared()]
        return float(np.max(errors)) if errors.size else 0.0

    @property
    def max_rel_error(self):
        """The largest relative error over the entries that are not kinks."""
        errors = self.rel_error[self._compared()]
        return float(np.max(errors)) if errors.size else 0.0

    # -- entries -------------------------------------------------------------------
    def entry(self, index):
        """The ``Entry`` at ``index`` (a tuple into the ``evaluate`` layout)."""
        index = tuple(int(i) for i in np.atleast_1d(index))
        for kink in self.kinks:
            if kink.index == index:
                return kink
        return Entry(index, entry_name(self.kind, index, self.variables, self.outputs,
                                       self.per_sample),
                     float(self.exact[index]), float(self.numeric[index]),
                     float(self.estimate[index]), str(self.verdicts[index]),
                     reason=self.reasons.get(index, ""))

    def failures(self):
        """The failing entries, worst (largest error over tolerance) first."""
        return tuple(self.entry(i) for i in self._ranked("fail"))

    @property
    def worst(self):
        """The worst entry that is not a kink: a failure if there is one, else the largest error."""
        ranked = self._ranked("fail") or self._ranked("pass")
        return self.entry(ranked[0]) if ranked else None

    def _ranked(self, verdict):
        chosen = np.argwhere(self.verdicts == verdict)
        if not len(chosen):
            return []
        index = tuple(chosen.T)
        badness = np.nan_to_num(self.rel_error[index], nan=np.inf)
        return [tuple(int(i) for i in chosen[k]) for k in np.argsort(-badness, kind="stable")]

    # -- reading ---------------------------------------------------------------------
    def _rows(self):
        rows = [self.worst] if self.worst is not None and self.passed else []
        rows += list(self.failures()[:_SHOWN]) + list(self.kinks[:_SHOWN])
        return rows

    def _by_rtol(self):
        """(passes within rtol, passes outside rtol but within their numeric error estimate)."""
        passes = self.verdicts == "pass"
        within = int(np.sum(passes & (self.rel_error <= self.rtol)))
        return within, int(np.sum(passes)) - within

    def _summary_lines(self):
        # The verdict rests on the tolerance rule alone; the error summary says which part
        # of the rule each pass used, so "PASSED" and a relative error above rtol agree.
        size, fails = self.verdicts.size, self.count("fail")
        status = ("PASSED (no entry outside its tolerance)" if self.passed else
                  f"FAILED ({fails} {'entry' if fails == 1 else 'entries'} outside the tolerance)")
        within, on_estimate = self._by_rtol()
        basis = f"{within} within rtol = {self.rtol:g}"
        if on_estimate:
            basis += (f", {on_estimate} above rtol but within the error estimate of their "
                      "numeric value (the limit of the numerical method)")
        return [
            f"symnet check of {self.description} by {self.method}: {status}",
            f"  {size} entries: {self.count('pass')} pass, {fails} fail, "
            f"{self.count('kink')} kink",
            f"  tolerance: {self.tolerance_rule}",
            f"  max abs error {self.max_abs_error:.2e}, max rel error {self.max_rel_error:.2e}; "
            f"passes: {basis}",
            f"  steps: {self.step_rule}",
        ]

    def __str__(self):
        lines = self._summary_lines()
        rows = self._rows()
        if rows:
            width = max(len(r.name) for r in rows)
            lines.append(f"  {'entry':<{width}}  {'exact':>13} {'numeric':>13} "
                         f"{'estimate':>9} {'rel err':>9}  verdict")
            for r in rows:
                extra = ""
                if r.verdict == "kink":
                    extra = f" (left {r.left:.6g}, right {r.right:.6g})"
                elif r.reason:
                    extra = f" ({r.reason})"
                lines.append(f"  {r.name:<{width}}  {r.exact:>13.6g} {r.numeric:>13.6g} "
                             f"{r.estimate:>9.1e} {r.rel_error:>9.1e}  {r.verdict}{extra}")
            hidden = self.count("fail") - min(self.count("fail"), _SHOWN)
            hidden_kinks = len(self.kinks) - min(len(self.kinks), _SHOWN)
            if hidden or hidden_kinks:
                lines.append(f"  ... {hidden} more fail and {hidden_kinks} more kink entries "
                             "(see report.failures() and report.kinks)")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self):
        return (f"<CheckReport {self.kind} {self.method}: {self.count('pass')} pass, "
                f"{self.count('fail')} fail, {self.count('kink')} kink>")

    def _repr_html_(self):
        summary = "".join(f"<div>{html.escape(line.strip())}</div>"
                          for line in self._summary_lines())
        cells = ""
        for r in self._rows():
            side = (f"left {r.left:.6g}, right {r.right:.6g}" if r.verdict == "kink"
                    else r.reason)
            colour = {"pass": "#1a7f37", "fail": "#cf222e", "kink": "#9a6700"}[r.verdict]
            cells += (f"<tr><td><code>{html.escape(r.name)}</code></td><td>{r.exact:.6g}</td>"
                      f"<td>{r.numeric:.6g}</td><td>{r.estimate:.1e}</td>"
                      f"<td>{r.rel_error:.1e}</td><td style='color:{colour}'>{r.verdict}</td>"
                      f"<td>{html.escape(side)}</td></tr>")
        table = ("<table><tr><th>entry</th><th>exact</th><th>numeric</th><th>estimate</th>"
                 f"<th>rel err</th><th>verdict</th><th></th></tr>{cells}</table>" if cells else "")
        notes = "".join(f"<div><em>note:</em> {html.escape(n)}</div>" for n in self.notes)
        return f"<div class='symnet-check'>{summary}{table}{notes}</div>"

    def raise_if_failed(self):
        """Raise ``CheckFailed`` (an AssertionError) with this report's text if any entry failed.

        Returns the report otherwise, so ``check(...).raise_if_failed()`` reads as one step.
        """
        if not self.passed:
            raise CheckFailed(self)
        return self
