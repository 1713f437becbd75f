"""Check a hand-derived formula against symnet's exact derivation, with a counterexample and a hint.

``verify(formula, target, net=net, loss="sse")`` decides whether ``formula`` (SymPy,
plain text or LaTeX, read by ``symnet.formulas.parser.parse_formula``; an equation
``delta_j^(1) = ...`` whose left side names the target is read too) equals the
entry ``target`` of a derivation (``symnet.formulas._decide``):

1. **proof**: both sides are written in the same variables (the named
   intermediates delta, dy/da replaced by their definitions, z = h(a), and if
   small a = sum w z + b down to x, w, b, t) and the difference is reduced by
   ``expand`` (and ``cancel`` for a few exponentials), each step run only when
   its estimated size is small. A 0 is a proof: ``proven`` is True.
2. **exact points**: otherwise both sides are evaluated at random points with
   *rational* coordinates, exactly where the values are rational and with
   rigorous error bounds elsewhere, the precision raised until the sign of the
   difference is certain. Decimals in the formula are the rationals they denote
   (``1e-40`` is 10^-40), and no tolerance is used: a nonzero difference is a
   proof of inequality and the point a real counterexample. Formulas with
   piecewise parts (Heaviside, sign, abs, max, min, relu, Piecewise, and ReLU
   networks or the Huber loss) are evaluated on both sides of every switching
   argument (for a Piecewise, lhs - rhs of each condition), far outside [-2, 2]
   when needed. Agreement at every point is the verdict "equal at N exact rational
   points, not proven" (``proven`` is False).

Every call is bounded by ``time_limit`` seconds (3 by default, the derivation
included) and by size limits checked before each step; a ``VerifyLimitError``
(a ``TooLargeError``) names the limit instead of a verdict that would rest on too
little. When the sides differ, the formula is compared with mutants of the
correct derivation (``symnet.formulas.mistakes``, compared in ``symnet.formulas._hints``)
to say which common mistake it contains;
a symbol the network lacks, such as w_21^(2) in a 2-3-1 network, is answered
with the one meant (w_12^(2)) and the check of the formula with it.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([2, 2, 1], hidden="tanh")
>>> result = verify("delta_1^(2) w_11^(2) (1 - z_1^(1)^2) x_1", "dE/dw_11^(1)", net=net)
>>> result.equal, result.proven, result.method
(True, True, 'symbolic')
>>> wrong = verify("(y_1 - t_1) w_11^(2) x_1", "dE/dw_11^(1)", net=net)
>>> wrong.equal, wrong.mistake
(False, 'drop_h_1')
>>> print(wrong.hint)
the factor h'(a_j^(1)) of layer 1 is missing (tanh'(a) = 1 - tanh(a)^2)
>>> near = verify("y_1 - t_1 + 1e-40 x_1", "dE/db_1^(2)", net=net)
>>> near.equal, near.proven
(False, True)
"""

import re
from dataclasses import dataclass, field
from itertools import product

import sympy as sp

from ._certify import correct_digits, describe, is_exact
from ._decide import decide
from ._frame import Frame
from ._hints import hint
from ._limits import TIME_LIMIT, Budget, VerifyLimitError
from ._simplify import shown_difference
from ._notation import plain
from ._targets import (TARGET_HELP, check_cost, concrete, derivation_of, exact_decay,
                       layered_right_hand_side, letters_and_ranges, read_target, reference,
                       right_hand_side)
from ..errors import SymnetError
from ..graph.layered import LayeredNetwork
from ._layered_names import dense_only, read_layered_target
from ..graph.losses import get_loss
from .parser import ParseError, parse_formula, read_formula, suggestion_for

__all__ = ["verify", "Verification", "VerifyLimitError", "parse_formula", "ParseError"]

POINTS = 7                # exact rational points of the numeric check (5 in [-2, 2], 2 wider)


@dataclass(frozen=True, repr=False)
class Verification:
    """The verdict on one formula: equal or not, how it was decided, and why not.

    Attributes
    ----------
    equal : bool
    proven : bool
        True when the verdict is a proof: the difference simplified to 0, or a
        point where the two sides certainly differ. False for "equal at N exact
        rational points", which rests on those points only.
    method : {"symbolic", "numeric", "names"}
        "names": the formula uses a symbol the network does not have.
    target : str
        The entry checked, e.g. ``'dE/dw_21^(1)'`` (the first failing entry of a layer).
    formula, reference : sympy.Expr
        The formula as read, and the correct entry in named intermediates.
    difference : sympy.Expr or None
        formula - reference in forward quantities (a, z, y, x, w, b, t), reduced by
        cheap steps; None when too large to show.
    counterexample : dict or None
        Symbol -> Rational: a point where both sides are defined and certainly
        differ (or, with ``domain_mismatch``, where only the reference is defined).
    formula_value, reference_value : sympy.Number or None
        Both sides at the counterexample: exact Rationals, or Floats at the middle
        of the interval the value is proven to lie in, with as many digits as that
        interval fixes (None beyond floating range).
    domain_mismatch : bool
        True when the sides differ only by where they are defined.
    hint, mistake : str or None
        The common mistake the formula matches (text and key, see ``symnet.formulas.mistakes``).
    points : int
        Exact rational points evaluated (0 when the symbolic step decided).
    switches : int
        Switching arguments (of Heaviside, abs, max, ReLU, ...) that took both
        signs at the points.
    entries : tuple of Verification
        One per entry for a whole-layer target (empty otherwise).
    where : tuple of (Symbol, Expr)
        What the named intermediates of ``reference`` (deltas, dy/da) stand for.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1, 1], hidden="tanh")
    >>> result = symnet.verify("(t_1 - y_1) z_1^(1)", "dE/dw_11^(2)", net=net)
    >>> bool(result), result.mistake
    (False, 'flip_sign')
    >>> print(str(result).splitlines()[0])
    NOT equal to dE/dw_11^(2)
    """

    equal: bool
    method: str
    target: str
    formula: sp.Expr
    reference: sp.Expr
    difference: sp.Expr = None
    counterexample: dict = None
    formula_value: sp.Expr = None
    reference_value: sp.Expr = None
    domain_mismatch: bool = False
    hint: str = None
    mistake: str = None
    points: int = 0
    entries: tuple = field(default=(), repr=False)
    where: tuple = field(default=(), repr=False)
    proven: bool = False
    switches: int = 0
    shown_values: tuple = field(default=(None, None), repr=False)

    def __bool__(self):
        return self.equal

    def __repr__(self):  # the formulas in the user's notation (SymPy's repr can overflow)
        return (f"Verification(equal={self.equal}, proven={self.proven}, method="
                f"{self.method!r}, target={self.target!r}, formula={plain(self.formula)!r}, "
                f"mistake={self.mistake!r})")

    def __str__(self):
        if self.entries:
            failed = [e for e in self.entries if not e.equal]
            unproven = sum(not e.proven for e in self.entries)
            head = (f"{len(self.entries)} entries checked, "
                    + (("all equal" + (f" ({unproven} not proven: equal at exact rational "
                                        "points)" if unproven else ""))
                       if not failed else f"{len(failed)} differ; first: {self.target}"))
            return head if not failed else head + "\n" + str(failed[0])
        where = [f"    where {symbol} = {plain(value)}" for symbol, value in self.where]
        if self.equal:
            if self.proven:
                how = "proven: the difference simplifies to 0"
            else:
                how = f"equal at {self.points} exact rational points, not proven"
                if self.switches:
                    how += (f"; each of the {self.switches} switching arguments was positive "
                            "at some of them and negative at others")
            return "\n".join([f"verified: {plain(self.formula)} equals {self.target} ({how})"]
                             + [f"  correct: {plain(self.reference)}"] * bool(self.where) + where)
        return "\n".join(self.why_not(reveal=True))

    def why_not(self, reveal=True):
        """The lines saying why a formula is not equal (this entry's; not for a whole layer).

        ``reveal=False`` leaves out the correct formula and the difference, which would
        give the answer away (the lessons' exercises): the counterexample, both values
        there and the hint stay.
        """
        lines = [f"NOT equal to {self.target}", f"  your formula: {plain(self.formula)}"]
        if reveal:
            lines += [f"  correct:      {plain(self.reference)}"] + [
                f"    where {symbol} = {plain(value)}" for symbol, value in self.where]
        if self.counterexample is not None:
            point = ", ".join(f"{s} = {v}" for s, v in self.counterexample.items())
            yours, correct = self.shown_values
            lines += [f"  at {point}:", f"    yours   = {yours or 'undefined'}",
                      f"    correct = {correct}"]
        if self.domain_mismatch:
            lines.append("  domain mismatch: your formula is undefined (or not real) where the "
                         "correct one is finite")
        if reveal and self.difference is not None:
            lines.append(f"  difference (yours - correct): {plain(self.difference)}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        elif not reveal and self.method == "names":
            lines.append("  it uses a name the network does not have")
        return lines

    def _repr_html_(self):
        from html import escape
        colour = "#1a7f37" if self.equal else "#cf222e"
        return (f'<pre style="border-left: 4px solid {colour}; padding-left: 8px">'
                f"{escape(str(self))}</pre>")


def _sympy_value(value):
    """An exact Rational, or the middle of an enclosure as a Float (None past overflow)."""
    if value is None:
        return None
    if is_exact(value):
        return sp.Rational(value.numerator, value.denominator)
    ctx = value.ctx
    if ctx.inf in (value.b, -value.a) or value.a == ctx.ninf:
        return None
    digits = correct_digits(value)
    return sp.Float(describe(value, digits), digits)


# -- one entry ----------------------------------------------------------------------------
def _definitions_for(net, loss, formula, found):
    """The reference's definitions, and those the formula's own named quantities need."""
    definitions = dict(found.definitions)
    names = {s.name for s in formula.free_symbols}
    if loss is not None and any(n.startswith("delta") for n in names) and \
            "delta" not in found.intermediates and found.kind != "hessian":
        definitions.update(derivation_of(net, "gradient", loss).definitions)
    if any(n.startswith("dy_") for n in names) and "dy/da" not in found.intermediates:
        definitions.update(derivation_of(net, "input_jacobian", loss).definitions)
    return definitions


def _check(formula, target, label, net, loss, decay, seed, n_points, budget):
    budget.check(f"deriving {label}")
    found = reference(net, loss, target, decay)
    frame = Frame(net, loss, _definitions_for(net, loss, formula, found))
    known = set(frame.definitions) | set(net.equations) | set(net.inputs) | set(net.params) \
        | set(net.targets)
    unknown = sorted(formula.free_symbols - known, key=str)
    meant = {s: suggestion_for(net, s) for s in unknown}
    if unknown and None in meant.values():
        missing = [s.name for s in unknown if meant[s] is None]
        raise SymnetError(f"the formula uses {', '.join(missing)}, which {label} does not define "
                          + ("(give loss=... to use the deltas)" if loss is None else ""))
    where = tuple((s, frame.definitions[s]) for s in sorted(found.entry.free_symbols, key=str)
                  if s in frame.definitions and s not in net.equations)
    common = dict(target=label, formula=formula, reference=found.entry, where=where)
    if unknown:
        return _misnamed(formula, meant, target, label, net, loss, decay, seed, n_points, budget,
                         common)
    decision = decide(frame, formula, found.entry, budget, seed, n_points)
    counted = len(decision.evaluated) + (decision.witness is not None)
    if decision.equal:
        return Verification(True, decision.method, **common, proven=decision.proven,
                            points=counted, switches=decision.switches)
    witness = decision.witness
    forward = frame.forward(found.entry) if target[0] == "hessian" else None
    key, text = hint(frame, target, formula, forward, decision, seed, n_points, budget, decay)
    values = (witness.formula, witness.reference)
    return Verification(
        False, "numeric", **common, proven=True, points=counted,
        difference=shown_difference(frame, formula - found.entry, budget),
        counterexample=_relevant(frame, witness.point.coordinates, formula, found.entry),
        formula_value=_sympy_value(values[0]), reference_value=_sympy_value(values[1]),
        shown_values=tuple(None if v is None else describe(v) for v in values),
        domain_mismatch=decision.domain_mismatch, hint=text, mistake=key,
        switches=decision.switches)


def _misnamed(formula, meant, target, label, net, loss, decay, seed, n_points, budget, common):
    """A formula with symbols the network lacks: the verdict, and the check with the one meant."""
    shape = "-".join(str(n) for n in net.sizes)
    fixed = formula.xreplace(meant)
    again = _check(fixed, target, label, net, loss, decay, seed, n_points, budget)
    names = "; ".join(f"{s} does not exist in a {shape} network: did you mean {m}?"
                      for s, m in meant.items())
    transposed = all(s.name.startswith("w_") for s in meant)
    key = "transpose" if transposed else "misnamed"
    if again.equal:
        text = (f"{names} With it your formula is correct"
                + (": the weight's indices are transposed (w_ji^(l) goes from unit i of layer "
                   "l-1 to unit j of layer l)" if transposed else
                   " (the output layer's values are y_k, not z_k^(L))"))
    elif again.hint:
        text, key = f"{names} With it, still: {again.hint}", f"{key}+{again.mistake}"
    else:
        text = f"{names} With it, the formula is still not equal to {label}"
    return Verification(False, "names", **common, proven=True, hint=text, mistake=key)


def _relevant(frame, point, *expressions):
    """The coordinates of ``point`` the two sides depend on, in the network's order."""
    used = set().union(*(frame.depends_on(e) for e in expressions))
    if frame.normalised and used & set(frame.net.targets):
        used |= set(frame.net.targets)  # probabilities: all of them, so they sum to 1
    return {s: sp.Rational(v.numerator, v.denominator) for s, v in point.items() if s in used}


# -- the public function --------------------------------------------------------------
def _exact(expression):
    """Floats in a SymPy formula as the decimals they print as (0.1 -> 1/10)."""
    floats = expression.atoms(sp.Float)
    return expression.xreplace({f: sp.Rational(str(f)) for f in floats}) if floats else expression


def _read_formula(formula, net, env, kind, fields, label):
    if callable(formula) and not isinstance(formula, sp.Basic):
        formula = formula(*env.values())
    if isinstance(formula, str):
        text, indices = right_hand_side(formula, kind, fields, env, label)
        return read_formula(text, net, indices,
                            on_unknown=lambda symbol, meant, token: symbol if meant else None)
    if isinstance(formula, sp.Expr) and not isinstance(formula, sp.MatrixBase):
        return _exact(formula)
    if isinstance(formula, (int, float)) and not isinstance(formula, bool):
        return sp.Integer(formula) if isinstance(formula, int) else sp.Rational(repr(formula))
    raise ParseError(f"a formula is a SymPy expression, a string or a function of the indices; "
                     f"got {type(formula).__name__}")


def _verify_layered(formula, target, net, loss, decay, seed, points, budget):
    """One entry of a Network's or RNN's gradient, deltas, Jacobians or Hessian
    (``symnet.formulas._layered_names``)."""
    entry, label = read_layered_target(net, target)
    if loss is None and entry[0] in ("gradient", "delta", "hessian"):
        raise SymnetError(f"{target} needs an error function: loss='sse' or 'cross_entropy'")
    check_cost(net, entry[0], 1, budget.seconds)
    if callable(formula) and not isinstance(formula, sp.Basic):
        formula = formula()
    if isinstance(formula, str):
        expression = read_formula(layered_right_hand_side(net, formula, entry, label), net)
    else:
        expression = _read_formula(formula, net, {}, entry[0], {}, label)
    return _check(expression, entry, label, net, loss, decay, seed, points, budget)


def verify(formula, target, net=None, loss="sse", *, weight_decay=None, seed=0, points=POINTS,
           time_limit=TIME_LIMIT):
    """Whether ``formula`` equals the derivation entry ``target``, with a counterexample if not.

    Parameters
    ----------
    formula : str, sympy.Expr or callable
        Plain text or LaTeX in the network's symbol names (safe: see
        ``symnet.formulas.parser.parse_formula``), or an equation whose left side names the
        target (``"delta_j^(1) = h'(a_j^(1)) sum_k(w_kj^(2) delta_k^(2))"``), a SymPy
        expression, or for a whole layer a text with letter indices
        (``"delta_j^(1)*x_i"``) or a function of the indices returning one of these
        (``lambda j, i: ...``, 1-based, in the order the letters appear in ``target``).
    target : str
        ``"dE/dw_21^(1)"``, ``"dE/db_1^(2)"``, ``"delta_1^(1)"``, ``"J_12"`` (dy_1/dx_2),
        ``"dy_1/dw_11^(1)"``, ``"dy_1/da_2^(1)"``, ``"H[w_11^(1), b_2^(2)]"``; letters
        instead of numbers (``"dE/dw_ji^(1)"``) check every entry of the layer. For a
        Network or RNN: a gradient entry or a delta by its symbol, ``"dE/dw_1,1,2^(1)"``
        (a kernel entry), ``"dE/dw_12^(hh)"``, ``"delta_1,3^(1)"``, ``"delta_2^(1)"`` (a
        time step), a Jacobian entry in its outputs' and inputs' names, ``"dy_1/dx_1,3"``,
        ``"dy_1^(2)/dx_1^(1)"`` (an RNN with outputs="all"), ``"dy_1/dw_1,1,2^(1)"``, or a
        Hessian entry ``"H[w_1,1,2^(1), w_12^(2)]"``; their formulas use the network's
        names (``x_1,2``, ``h_2^(t-1)``) and
        sums with ranges (``sum_(p=1)^(3)(...)``, ``\\sum_{p=1}^{3}``). A sum left out
        is the mistake ``forgot_sum_over_positions`` or ``forgot_sum_over_time``.
    net : MLP, Network or RNN
    loss : str, Loss or None
        The error E for gradient, delta and Hessian targets: ``"sse"``,
        ``"cross_entropy"``, ``"log_cosh"``, ``"huber"`` or a loss added with
        ``symnet.register_loss``. For softmax with cross-entropy the targets are
        taken to sum to 1 (as in Bishop), so delta_k = y_k - t_k is accepted.
    weight_decay : int, Fraction or float, optional
        lam >= 0 of E = E_n + lam/2 sum_p w_p^2 (as in ``symnet.gradient(...,
        weight_decay=lam)``), taken exactly (a float as the decimal it prints as):
        dE/dw_p gains lam w_p and H[p, p] gains lam; deltas and Jacobians are
        unchanged. Default: the Loss's own, 0 for a name.
    seed : int
        Seed of the random rational points.
    points : int
        Exact rational points of the numeric check.
    time_limit : float
        Seconds for the whole call; past it a ``VerifyLimitError`` says what was
        being done.

    Returns
    -------
    Verification

    Raises
    ------
    ParseError
        The formula cannot be read.
    VerifyLimitError
        A limit was reached (the message says which: time, size, switches, ...).
    SymnetError
        A bad target, network or loss.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 3, 1], hidden="sigmoid")
    >>> verify("delta_j^(1) x_i", "dE/dw_ji^(1)", net=net).equal
    True
    >>> verify(lambda j: "sigma(a_j^(1)) (1 - sigma(a_j^(1))) w_1j^(2) (y_1 - t_1)".replace(
    ...     "j", str(j)), "delta_j^(1)", net=net).method
    'symbolic'
    >>> result = verify("w_11^(2) delta_1^(2)", "delta_1^(1)", net=net)
    >>> result.equal, result.mistake
    (False, 'drop_h_1')
    >>> verify("delta_1^(1) = (y_1 - t_1) w_11^(2) z_1^(1) (1 - z_1^(1))", "delta_1^(1)",
    ...        net=net).proven
    True
    >>> decayed = verify("delta_1^(2) z_1^(1)", "dE/dw_11^(2)", net=net, weight_decay=0.01)
    >>> decayed.equal, decayed.mistake
    (False, 'forgot_weight_decay')
    >>> verify("delta_1^(2) z_1^(1) + 0.01 w_11^(2)", "dE/dw_11^(2)", net=net,
    ...        weight_decay=0.01).proven
    True
    >>> from symnet.graph.layers import Conv1D, Dense, Flatten
    >>> conv = symnet.Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
    >>> verify(r"\\sum_{p=1}^{3} \\delta_{1,p}^{(1)} x_{1,p+1}", "dE/dw_1,1,2^(1)", net=conv).proven
    True
    >>> verify("delta_1,2^(1) x_1,3", "dE/dw_1,1,2^(1)", net=conv).mistake
    'forgot_sum_over_positions'
    >>> verify("w_11^(2) (1 - z_1,1^(1)^2) w_1,1,1^(1)", "dy_1/dx_1,1", net=conv).proven
    True
    """
    if net is None or not hasattr(net, "equations"):
        raise SymnetError("verify needs the network: net=symnet.MLP([...], hidden=..., "
                          "output=...)")
    if isinstance(net, LayeredNetwork) and dense_only(net):
        raise SymnetError(
            f"{net!r} is a Network of Dense layers only: use symnet.MLP, which has the same "
            "parameters and verify's hints for the MLP (dropped h', transposed weights, ...)")
    if not isinstance(target, str):
        raise SymnetError(f"target is a string; {TARGET_HELP}")
    if not (isinstance(points, int) and not isinstance(points, bool) and 1 <= points <= 100):
        raise SymnetError(f"points must be an integer in 1..100; got {points!r}")
    if not (isinstance(time_limit, (int, float)) and not isinstance(time_limit, bool)
            and 0 < time_limit <= 3600):
        raise SymnetError(f"time_limit is a number of seconds in (0, 3600]; got {time_limit!r}")
    budget = Budget(time_limit)
    loss = get_loss(loss, net) if loss is not None else None
    decay = exact_decay(weight_decay, loss)
    if loss is None and decay:
        raise SymnetError("weight_decay is a term of the error E: give loss=... with it")
    if isinstance(net, LayeredNetwork):
        return _verify_layered(formula, target, net, loss, decay, seed, points, budget)
    kind, fields = read_target(target)
    if loss is None and kind in ("gradient", "delta", "hessian"):
        raise SymnetError(f"{target} needs an error function: loss='sse' or 'cross_entropy'")
    ranges = letters_and_ranges(net, kind, fields)
    groups = "".join(m.group(1) for m in re.finditer(r"_([0-9a-z,]+)", target))
    letters = sorted(ranges, key=groups.index)
    combinations = list(product(*[range(1, ranges[c] + 1) for c in letters]))
    check_cost(net, kind, len(combinations), time_limit)
    if letters and isinstance(formula, sp.Basic):
        raise SymnetError("a whole-layer target needs the formula as text with letter "
                          "indices or as a function of the indices")
    results = []
    for numbers in combinations:
        env = dict(zip(letters, numbers))
        entry, label = concrete(kind, dict(fields), env)
        expression = _read_formula(formula, net, env, kind, fields, label)
        results.append(_check(expression, entry, label, net, loss, decay, seed, points, budget))
    if not letters:
        return results[0]
    failed = [r for r in results if not r.equal]
    shown = failed[0] if failed else results[0]
    method = "numeric" if any(r.method == "numeric" for r in results) else "symbolic"
    return Verification(**{**shown.__dict__, "equal": not failed, "entries": tuple(results),
                           "method": shown.method if failed else method,
                           "proven": all(r.proven for r in results) if not failed else True})
