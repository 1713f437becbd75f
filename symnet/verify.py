"""Check a hand-derived formula against symnet's exact derivation, with a counterexample and a hint.

``verify(formula, target, net=net, loss="sse")`` decides whether ``formula`` (SymPy,
plain text or LaTeX, read by ``symnet.parse.parse_formula``) equals the entry
``target`` of a derivation, in two steps:

1. **symbolic**: both sides are written in the same variables (the named
   intermediates delta, dy/da replaced by their definitions, z = h(a), and if
   needed a = sum w z + b down to x, w, b, t) and the difference is reduced with
   cheap steps only (expand; exponential rewrite and cancel), each run only on
   expressions below a size limit, so simplification never hangs;
2. **numeric**: otherwise both sides are evaluated at random *exact rational*
   points (x, w, b, t) with 50 significant digits; differing values there are a
   proof of inequality (the counterexample), agreement at every point is the
   verdict "equal" (a nonzero analytic difference does not vanish at random points).

The answer is never "unknown". When the sides differ, the formula is compared with
mutants of the correct derivation (``symnet.hints``) to say which common mistake
it contains.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([2, 2, 1], hidden="tanh")
>>> result = verify("delta_1^(2) w_11^(2) (1 - z_1^(1)^2) x_1", "dE/dw_11^(1)", net=net)
>>> result.equal, result.method
(True, 'symbolic')
>>> wrong = verify("(y_1 - t_1) w_11^(2) x_1", "dE/dw_11^(1)", net=net)
>>> wrong.equal, wrong.mistake
(False, 'drop_h_1')
>>> print(wrong.hint)
the factor h'(a_j^(1)) of layer 1 is missing (tanh'(a) = 1 - tanh(a)**2)
"""

import random
import re
from dataclasses import dataclass, field
from itertools import product

import sympy as sp

from ._targets import (TARGET_HELP, concrete, derivation_of, letters_and_ranges, read_target,
                       reference)
from .errors import SymnetError
from .hints import mutants
from .losses import get_loss
from .parse import ParseError, parse_formula

__all__ = ["verify", "Verification"]

PRECISION = 50            # significant digits of the numeric check
AGREE = sp.Float(10) ** -35   # relative difference below which two values agree
POINTS = 5                # random rational points
SYMBOLIC_SIZE = 300       # operations above which a symbolic step is skipped (numeric decides)

@dataclass(frozen=True)
class Verification:
    """The verdict on one formula: equal or not, how it was decided, and why not.

    Attributes
    ----------
    equal : bool
    method : {"symbolic", "numeric"}
    target : str
        The entry checked, e.g. ``'dE/dw_21^(1)'`` (the first failing entry of a layer).
    formula, reference : sympy.Expr
        The formula as read, and the correct entry in named intermediates.
    difference : sympy.Expr or None
        formula - reference in forward quantities (a, z, y, x, w, b, t), reduced by
        cheap steps; None when too large to show.
    counterexample : dict or None
        Symbol -> Rational: a point where both sides are finite and differ (or, with
        ``domain_mismatch``, where only one side is finite).
    formula_value, reference_value : sympy.Number or None
        Both sides at the counterexample (50 digits, or exact).
    domain_mismatch : bool
        True when the sides differ only by where they are defined.
    hint, mistake : str or None
        The common mistake the formula matches (text and key, see ``symnet.hints``).
    points : int
        Points evaluated by the numeric check (0 when the symbolic step decided).
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

    def __bool__(self):
        return self.equal

    def __str__(self):
        how = {"symbolic": "the difference simplifies to 0",
               "numeric": f"equal values at {self.points} random exact rational points"}
        if self.entries:
            failed = [e for e in self.entries if not e.equal]
            head = (f"{len(self.entries)} entries checked, "
                    + ("all equal" if not failed else f"{len(failed)} differ; first: {self.target}"))
            return head if not failed else head + "\n" + str(failed[0])
        if self.equal:
            return "\n".join([f"verified: {self.formula} equals {self.target} ({how[self.method]})"]
                             + [f"  correct: {self.reference}"] * bool(self.where)
                             + [f"    where {symbol} = {value}" for symbol, value in self.where])
        lines = [f"NOT equal to {self.target}",
                 f"  your formula: {self.formula}", f"  correct:      {self.reference}"]
        lines += [f"    where {symbol} = {value}" for symbol, value in self.where]
        if self.counterexample is not None:
            point = ", ".join(f"{s} = {v}" for s, v in self.counterexample.items())
            lines.append(f"  at {point}:")
            lines.append(f"    yours   = {_short(self.formula_value)}")
            lines.append(f"    correct = {_short(self.reference_value)}")
        if self.domain_mismatch:
            lines.append("  domain mismatch: one side is undefined (or not real) where the "
                         "other is finite")
        if self.difference is not None:
            lines.append(f"  difference (yours - correct): {self.difference}")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def _repr_html_(self):
        from html import escape
        colour = "#1a7f37" if self.equal else "#cf222e"
        return (f'<pre style="border-left: 4px solid {colour}; padding-left: 8px">'
                f"{escape(str(self))}</pre>")


def _short(value):
    return "undefined" if value is None else sp.sstr(sp.N(value, 15))


# -- both sides in the same variables -----------------------------------------------
class _Frame:
    """The substitutions and the random points shared by both sides of one check."""

    def __init__(self, net, loss, derivations):
        self.net, self.loss = net, loss
        self.definitions = {}
        for derivation in derivations:
            self.definitions.update(derivation.definitions)
        self.derived = {}
        for name, value in self.definitions.items():  # definitions refer to earlier ones
            self.derived[name] = value.xreplace(self.derived)
        pre = {a for l in range(1, net.n_layers + 1) for a in net.layer_pre_activations(l)}
        self.activated = {s: v for s, v in net.equations.items() if s not in pre}
        self.normalised = {}
        if loss is not None and loss.name == "cross_entropy" and net.activations[-1].name == "softmax":
            t = net.targets  # softmax targets are probabilities: t_K = 1 - sum of the others
            self.normalised = {t[-1]: 1 - sp.Add(*t[:-1])}

    def forward(self, expression):
        """Named intermediates (delta, dy/da) replaced: a, z, y, x, w, b, t remain."""
        for _ in range(3):
            expression = expression.xreplace(self.derived)
        return expression.xreplace(self.normalised)

    def pre_activations(self, expression):
        """z = h(a) and y = h(a^(L)) too: a, x, w, b, t remain."""
        return self.forward(expression).xreplace(self.activated).xreplace(self.normalised)

    def base(self, expression):
        """Everything in x, w, b, t."""
        return self.pre_activations(expression).xreplace(self.net.substitution)

    def point(self, rng):
        """Random exact rationals for x, w, b (in [-2, 2]) and t (probabilities for CE)."""
        def rational():  # nonzero, so no term of either side vanishes by accident
            q = rng.randint(1, 8)
            return sp.Rational(rng.choice([-1, 1]) * rng.randint(1, 2 * q), q)
        net = self.net
        point = {s: rational() for s in net.inputs + net.params}
        if self.loss is not None and self.loss.name == "cross_entropy":
            weights = [sp.Rational(rng.randint(1, 9), rng.randint(1, 9)) for _ in net.targets]
            if net.activations[-1].name == "sigmoid":
                targets = [w / (1 + w) for w in weights]
            else:
                targets = [w / sum(weights) for w in weights]
        else:
            targets = [rational() for _ in net.targets]
        point.update(zip(net.targets, targets))
        return point

    def values(self, point):
        """Every named quantity at ``point`` (exact where rational, else 50 digits)."""
        values = dict(point)
        for name, value in {**self.net.equations, **self.definitions}.items():
            values[name] = _number(value.xreplace(values))
        return values

    def smooth_at(self, values):
        """False when a pre-activation sits exactly at a kink (ReLU at a = 0)."""
        return all(values[a] != 0 for l, act in enumerate(self.net.activations, start=1)
                   if act.kinks for a in self.net.layer_pre_activations(l))


def _number(expression):
    """Exact when rational, else 50 digits; NaN when the value is beyond evaluation."""
    if expression.is_Rational:
        return expression
    try:
        return expression.evalf(PRECISION)
    except (OverflowError, ValueError, ArithmeticError):  # e.g. exp(exp(exp(exp(9))))
        return sp.nan


def _finite(value):
    return value is not None and value.is_number and value.is_real is True \
        and value.is_finite is True


def _agree(left, right):
    if left.is_Rational and right.is_Rational:
        return left == right
    return abs(left - right) <= AGREE * max(1, abs(left), abs(right))


def _expandable(expression):
    """False when polynomial algebra would blow up: powers of sums like (x + w)^100, or
    huge numbers in exponents like exp(10^30 x) (a polynomial of degree 10^30 in e^x)."""
    for power in expression.atoms(sp.Pow):
        if power.exp.is_Number and abs(power.exp) > (12 if power.base.is_Add else 100):
            return False
    exponents = [p.exp for p in expression.atoms(sp.Pow)] + [
        f.args[0] for f in expression.atoms(sp.exp, sp.tanh, sp.cosh, sp.sinh, sp.sech)]
    return all(abs(n) <= 100 for e in exponents for n in e.atoms(sp.Number) if n.is_finite)


def _cheap_zero(expression, rewrite=True):
    """True when cheap steps reduce ``expression`` to 0 (False means: not shown).

    The steps are bounded by size, not by a clock: ``expand`` on expressions of at
    most ``SYMBOLIC_SIZE`` operations without large powers of sums, then (``rewrite``)
    tanh, cosh, sech and sigma written with exp and ``cancel``, only for a few
    distinct exponentials (cancel's cost grows fast with them: tens of seconds for
    a dozen). Numbers too large for SymPy's arithmetic leave the decision to the
    numeric step.
    """
    if expression == 0:
        return True
    if sp.count_ops(expression) > SYMBOLIC_SIZE or not _expandable(expression):
        return False
    try:
        if sp.expand(expression) == 0:
            return True
        if not rewrite:
            return False
        rewritten = expression.rewrite(sp.exp)  # tanh, cosh, sech, sigma in exp
        if (len(rewritten.atoms(sp.exp)) > 4 or sp.count_ops(rewritten) > SYMBOLIC_SIZE // 2
                or not _expandable(rewritten)):
            return False
        return sp.cancel(sp.together(rewritten)) == 0
    except (OverflowError, ValueError, ArithmeticError, RecursionError):
        return False


def _shown_difference(expression):
    if sp.count_ops(expression) > SYMBOLIC_SIZE or not _expandable(expression):
        return None
    try:
        expanded = sp.expand(expression)
        return sp.factor(expanded) if sp.count_ops(expanded) < SYMBOLIC_SIZE // 2 else expanded
    except (OverflowError, ValueError, ArithmeticError, RecursionError):
        return None


_FACTORS = [(sp.Integer(2), "off by a factor 2 (the 1/2 in E = 1/2 sum (y - t)^2 cancels "
                            "the 2 from differentiating the square)"),
            (sp.Rational(1, 2), "off by a factor 1/2"),
            (sp.Integer(-1), "the overall sign is wrong"),
            (sp.Integer(-2), "off by a factor -2"), (sp.Rational(-1, 2), "off by a factor -1/2")]


def _hint(frame, target, formula_values, evaluated):
    """(key, text) of the mutant (times a stray factor) that equals the formula everywhere."""
    candidates = mutants(frame.net, frame.loss, target)
    mutant_values = [[_number(expression.xreplace(values)) for values in evaluated]
                     for _, expression in candidates]

    def matches(index, factor):
        return all(_finite(m) and _agree(f, factor * m)
                   for f, m in zip(formula_values, mutant_values[index]))

    order = [(i, sp.Integer(1)) for i in range(1, len(candidates))]
    order += [(0, factor) for factor, _ in _FACTORS]
    order += [(i, factor) for i in range(1, len(candidates)) for factor, _ in _FACTORS]
    texts = dict(_FACTORS)
    for index, factor in order:
        if matches(index, factor):
            mistake = candidates[index][0]
            if index == 0:
                return f"factor_{factor}", texts[factor]
            if factor == 1:
                return mistake.key, mistake.text
            return f"{mistake.key}+factor_{factor}", f"{mistake.text}; and {texts[factor]}"
    return None, None


def _check(formula, target, label, net, loss, seed, n_points):
    correct_entry, derivation = reference(net, loss, target)
    derivations = [derivation]
    names = {s.name for s in formula.free_symbols}
    if loss is not None and any(n.startswith("delta") for n in names) and derivation.kind != "gradient":
        derivations.append(derivation_of(net, "gradient", loss))
    if any(n.startswith("dy_") for n in names) and "dy/da" not in derivation.intermediates:
        derivations.append(derivation_of(net, "input_jacobian", loss))
    frame = _Frame(net, loss, derivations)
    known = set(frame.definitions) | set(net.equations) | set(net.inputs) | set(net.params) \
        | set(net.targets)
    unknown = sorted(s.name for s in formula.free_symbols - known)
    if unknown:
        raise SymnetError(f"the formula uses {', '.join(unknown)}, which {label} does not define "
                          + ("(give loss=... to use the deltas)" if loss is None else ""))
    where = tuple((s, frame.definitions[s]) for s in sorted(correct_entry.free_symbols, key=str)
                  if s in frame.definitions and s not in net.equations)
    common = dict(target=label, formula=formula, reference=correct_entry, where=where)
    difference = frame.forward(formula) - frame.forward(correct_entry)
    if _cheap_zero(frame.pre_activations(difference)):
        return Verification(True, "symbolic", **common)
    if sp.count_ops(difference) <= SYMBOLIC_SIZE // 3 and _cheap_zero(frame.base(difference),
                                                                       rewrite=False):
        return Verification(True, "symbolic", **common)

    rng = random.Random(seed)
    evaluated, formula_values, mismatch = [], [], None
    for _ in range(20 * n_points):
        if len(evaluated) == n_points:
            break
        point = frame.point(rng)
        values = frame.values(point)
        if not frame.smooth_at(values):
            continue
        mine, correct = _number(formula.xreplace(values)), _number(correct_entry.xreplace(values))
        if not _finite(correct):
            continue
        if not _finite(mine):
            mismatch = mismatch or (point, mine, correct)
            continue
        evaluated.append(values)
        formula_values.append(mine)
        if not _agree(mine, correct):
            return _refuted(frame, target, common, difference, point, mine, correct,
                            evaluated, formula_values, rng, n_points, formula)
    if mismatch is not None:
        point, mine, correct = mismatch
        return Verification(False, "numeric", **common, difference=_shown_difference(difference),
                            counterexample=_relevant(frame, point, formula, correct_entry),
                            formula_value=None, reference_value=correct, domain_mismatch=True,
                            points=len(evaluated) + 1)
    if not evaluated:
        raise SymnetError(f"could not find a point where {label} is finite to check against")
    return Verification(True, "numeric", **common, points=len(evaluated))


def _refuted(frame, target, common, difference, point, mine, correct, evaluated,
             formula_values, rng, n_points, formula):
    """The 'not equal' verdict; more points first, so the hint rests on several values."""
    for _ in range(20 * n_points):
        if len(evaluated) >= n_points:
            break
        values = frame.values(frame.point(rng))
        value = _number(formula.xreplace(values))
        if frame.smooth_at(values) and _finite(value):
            evaluated.append(values)
            formula_values.append(value)
    key, text = _hint(frame, target, formula_values, evaluated)
    return Verification(False, "numeric", **common, difference=_shown_difference(difference),
                        counterexample=_relevant(frame, point, common["formula"],
                                                 common["reference"]),
                        formula_value=mine, reference_value=correct, hint=text, mistake=key,
                        points=len(evaluated))


def _relevant(frame, point, *expressions):
    """The coordinates of ``point`` the two sides depend on, in the network's order."""
    used = set()
    for expression in expressions:
        for symbol in frame.pre_activations(expression).free_symbols:
            used |= frame.net.substitution.get(symbol, symbol).free_symbols
    if frame.normalised and used & set(frame.net.targets):
        used |= set(frame.net.targets)  # probabilities: all of them, so they sum to 1
    return {s: v for s, v in point.items() if s in used}


# -- the public function --------------------------------------------------------------
def _read_formula(formula, net, env):
    if callable(formula) and not isinstance(formula, sp.Basic):
        formula = formula(*env.values())
    if isinstance(formula, str):
        return parse_formula(formula, net, indices=env)
    if isinstance(formula, sp.Basic) and not isinstance(formula, sp.MatrixBase):
        return formula
    if isinstance(formula, (int, float)) and not isinstance(formula, bool):
        return sp.nsimplify(formula)
    raise ParseError(f"a formula is a SymPy expression, a string or a function of the indices; "
                     f"got {type(formula).__name__}")


def verify(formula, target, net=None, loss="sse", *, seed=0, points=POINTS):
    """Whether ``formula`` equals the derivation entry ``target``, with a counterexample if not.

    Parameters
    ----------
    formula : str, sympy.Expr or callable
        Plain text or LaTeX in the network's symbol names (safe: see
        ``symnet.parse.parse_formula``), a SymPy expression, or for a whole
        layer a text with letter indices (``"delta_j^(1)*x_i"``) or a function of
        the indices returning one of these (``lambda j, i: ...``, 1-based, in the
        order the letters appear in ``target``).
    target : str
        ``"dE/dw_21^(1)"``, ``"dE/db_1^(2)"``, ``"delta_1^(1)"``, ``"J_12"`` (dy_1/dx_2),
        ``"dy_1/dw_11^(1)"``, ``"dy_1/da_2^(1)"``, ``"H[w_11^(1), b_2^(2)]"``; letters
        instead of numbers (``"dE/dw_ji^(1)"``) check every entry of the layer.
    net : MLP
    loss : {"sse", "cross_entropy"} or None
        The error E for gradient, delta and Hessian targets. For softmax with
        cross-entropy the targets are taken to sum to 1 (as in Bishop), so
        delta_k = y_k - t_k is accepted.
    seed : int
        Seed of the random rational points.
    points : int
        Points of the numeric check.

    Returns
    -------
    Verification

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
    """
    if net is None or not hasattr(net, "equations"):
        raise SymnetError("verify needs the network: net=symnet.MLP([...], hidden=..., "
                          "output=...)")
    if not isinstance(target, str):
        raise SymnetError(f"target is a string; {TARGET_HELP}")
    if not (isinstance(points, int) and points >= 1):
        raise SymnetError(f"points must be a positive integer; got {points!r}")
    loss = get_loss(loss, net) if loss is not None else None
    kind, fields = read_target(target)
    if loss is None and kind in ("gradient", "delta", "hessian"):
        raise SymnetError(f"{target} needs an error function: loss='sse' or 'cross_entropy'")
    ranges = letters_and_ranges(net, kind, fields)
    groups = "".join(m.group(1) for m in re.finditer(r"_([0-9a-z,]+)", target))
    letters = sorted(ranges, key=groups.index)
    results = []
    for numbers in product(*[range(1, ranges[c] + 1) for c in letters]):
        env = dict(zip(letters, numbers))
        entry, label = concrete(kind, dict(fields), env)
        if letters and isinstance(formula, sp.Basic):
            raise SymnetError("a whole-layer target needs the formula as text with letter "
                              "indices or as a function of the indices")
        expression = _read_formula(formula, net, env)
        results.append(_check(expression, entry, label, net, loss, seed, points))
    if not letters:
        return results[0]
    failed = [r for r in results if not r.equal]
    shown = failed[0] if failed else results[0]
    method = "numeric" if any(r.method == "numeric" for r in results) else "symbolic"
    return Verification(**{**shown.__dict__, "equal": not failed, "entries": tuple(results),
                           "method": shown.method if failed else method})
