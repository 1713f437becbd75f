"""The decision behind ``symnet.verify``: is formula - reference zero, and how sure is it?

Two steps, each bounded before it starts (an estimate of its size) and by a clock
(``symnet.formulas._limits``):

1. **proof**: the difference is reduced by bounded symbolic steps
   (``symnet.formulas._simplify``); a 0 proves equality.
2. **exact points**: the reduced difference is evaluated at points with rational
   coordinates, exactly where the values are rational and otherwise with rigorous
   error bounds (``symnet.formulas._certify``), the precision raised until its sign is
   certain. A nonzero value is a proof of inequality (the point is a real
   counterexample); agreement at every point is reported as such, "not proven".

Piecewise parts are handled in two ways. Switches the formula has and the correct
entry lacks (``Heaviside(x_1 - 4)``, ``relu(x_1 - 2)``, up to ``MAX_FORCED`` of them)
are decided branch by branch: on each side the switch is replaced by its branch
(1 or 0, g or -g, ...) and that expression is checked; where a branch differs, a
point on that side is searched, moving one coordinate at a time far outside
[-2, 2] if needed, for the counterexample. If the branch differs only off that
side (where the correct entry switches too: a Huber Piecewise), agreement of the
formula at points on the side decides it; a side the branches themselves rule out
(-min(1, u) - 1 > 0 where min(1, u) = 1) is skipped. The other switches (the
network's ReLU kinks, switches shared with the correct entry) are covered by points
on both of their sides. When a side cannot be reached, or another limit is met, a
``VerifyLimitError`` names the limit, so "equal" is never said without grounds.

>>> import sympy as sp, symnet
>>> from symnet.formulas._limits import Budget
>>> net = symnet.MLP([1, 1])                               # y = w x + b
>>> frame = Frame(net, symnet.get_loss("sse", net), {})
>>> x, y, t = net.inputs[0], net.layer_values(1)[0], net.targets[0]
>>> wrong = decide(frame, y - t + sp.Heaviside(x - 3), y - t, Budget(30))
>>> wrong.equal, wrong.proven, wrong.witness.point.coordinates[x] > 3
(False, True, True)
"""

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain, product

import sympy as sp

from ._certify import Point, Uncertain, Undefined, Unsupported, is_exact, sign_of
from ._frame import Frame, switching_arguments  # noqa: F401 (Frame: used in the doctest)
from ._limits import VerifyLimitError
from ._notation import plain
from ._simplify import reduce_difference, safe_replace

__all__ = ["Decision", "decide"]

MAX_SWITCHES = 128          # distinct switching arguments covered on both sides
SEARCH_TRIES = 300          # points tried to put one switching argument on one side
SIDE_POINTS = 12            # ... of which at most this many evaluated in full
REGION_POINTS = 3           # agreeing points that decide one branch's side by sampling
SIDE_DRAWS = 60             # random points drawn to find that side
MAX_FORCED = 4              # switches of the formula's own decided branch by branch (2^4)
PRECISIONS = (64, 256, 1024, 4096, 16384)  # bits; the cap depends on the formula's constants
SCALES = (2, 2, 2, 2, 2, 16, 1000)         # |coordinates| of the base points
FAR = (4, 64, 2 ** 10, 2 ** 20, 2 ** 40, 2 ** 80, 2 ** 160, 2 ** 320, 2 ** 640)


# -- one point ----------------------------------------------------------------------
@dataclass
class Evaluated:
    """The values at one point: of the formula, the reference and their difference."""

    point: Point
    prec: int
    formula: object = None      # Fraction or interval
    reference: object = None
    verdict: str = "agree"      # agree, differ, undefined (formula), skip


def _cap(expressions):
    """The highest precision worth trying: enough to see the formula's smallest constant.

    Rational constants of b bits, and constants such as exp(-10^6) (about 2^-1442695),
    can change a value by 2^-b; a difference that small is only visible above b bits.
    Past the highest precision the check can use, the formula is refused rather than
    called equal at a precision that cannot see its smallest part."""
    bits = 0
    for expression in expressions:
        for number in expression.atoms(sp.Rational):
            bits = max(bits, abs(number.p).bit_length(), number.q.bit_length())
        constants = [node for node in sp.preorder_traversal(expression)
                     if node.is_number and node.args and not node.is_Rational]
        for constant in constants[:50]:
            try:
                value = Point({}).value(constant, PRECISIONS[0])
            except (Undefined, Uncertain, Unsupported):
                continue
            size = _magnitude(value)
            if size is not None and value != 0 and (is_exact(value) or sign_of(value)):
                bits = max(bits, -size)
    needed = 4 * bits + 256
    shortfall = None
    if needed > 4 * PRECISIONS[-1]:
        shortfall = (f"the formula holds a number near 2^-{bits:,}; telling whether it changes "
                     f"the value needs more than the {PRECISIONS[-1]:,} bits this check works with")
    return max(1024, min(PRECISIONS[-1], needed)), shortfall


def _magnitude(value):
    """About log2 |value| (None for an unbounded enclosure)."""
    if is_exact(value):
        return value.numerator.bit_length() - value.denominator.bit_length() if value else -10 ** 9
    ctx = value.ctx
    if ctx.inf in (value.b, -value.a) or value.a == ctx.ninf:
        return None
    return ctx.mag(max(abs(value.a), abs(value.b)))


def _width_magnitude(gap):
    width = gap.b - gap.a
    return -10 ** 9 if width.b == 0 else _magnitude(width)


def _tight(gap, mine, correct, prec):
    """Agreement worth counting: the difference's enclosure is tiny against the values."""
    if is_exact(gap):
        return gap == 0
    sizes = [_magnitude(mine), _magnitude(correct)]
    width = _width_magnitude(gap)
    if None in sizes or width is None:
        return False
    return width <= max(sizes) - prec // 2  # relative to the values, never absolute


def evaluate_at(point, formula, reference, difference, cap, budget):
    """Certified values at one point: the difference's sign decides (see ``Evaluated``).

    The precision rises until the sign is certain, the cap is reached, or the
    enclosure stops shrinking (values beyond floating range: more bits do not help).
    """
    precisions = [p for p in PRECISIONS if p <= cap]
    previous_width = None
    for prec in precisions:
        budget.check("evaluating at exact rational points")
        try:
            correct = point.value(reference, prec)
        except (Undefined, Uncertain):
            continue
        try:
            mine = point.value(formula, prec)
        except Undefined:
            return Evaluated(point, prec, reference=correct, verdict="undefined")
        except Uncertain:
            continue
        try:
            gap = point.value(difference, prec)
        except (Undefined, Uncertain):
            continue
        result = Evaluated(point, prec, mine, correct)
        sign = sign_of(gap)
        if sign:
            result.verdict = "differ"
            return result
        if sign == 0:
            return result  # an exact zero
        width = _width_magnitude(gap)
        stalled = None not in (width, previous_width) and width > previous_width - 16
        if prec == precisions[-1] or stalled:
            result.verdict = "agree" if _tight(gap, mine, correct, prec) else "skip"
            return result
        previous_width = width
    return Evaluated(point, precisions[-1], verdict="skip")


def signs_at(point, arguments, budget):
    """{g: +1 / -1 / 0 / None} of the switching arguments at a point (None: too close to 0)."""
    signs = {}
    for g in arguments:
        sign = None
        for prec in PRECISIONS[:3]:
            budget.check("locating the switching arguments")
            try:
                sign = sign_of(point.value(g, prec))
            except (Uncertain, Undefined):
                sign = None
                continue
            if sign is not None:
                break
        signs[g] = sign
    return signs


# -- the decision ---------------------------------------------------------------------
@dataclass
class Decision:
    equal: bool
    proven: bool
    method: str
    evaluated: list = field(default_factory=list)   # Evaluated at the agreeing points
    witness: Evaluated = None                       # the counterexample, when not equal
    domain_mismatch: bool = False
    switches: int = 0


def decide(frame, formula, reference, budget, seed=0, n_points=len(SCALES)):
    """``Decision`` on formula == reference (named forms) for the network of ``frame``.

    Switches the formula has and the correct entry lacks (``Heaviside(x_1 - 4)``) are
    decided branch by branch: for each choice of their sides the formula is an
    expression without them, checked against the reference; where a branch differs,
    a point on that side of the switches is searched for the counterexample. Other
    switches (the network's kinks) are covered by points on both of their sides.
    """
    budget.check("simplifying the difference")
    zero, difference = reduce_difference(frame, formula - reference, budget)
    if zero:
        return Decision(True, True, "symbolic")
    try:
        shared = switching_arguments(frame, reference)
        own = [g for g in switching_arguments(frame, formula)
               if g not in shared and -g not in shared]
        branches = _branches(formula, own)
        if branches is not None and own:
            return _by_branches(frame, formula, reference, difference, own, shared, branches,
                                budget, seed, n_points)
        return _sample(frame, formula, reference, difference, shared + own, budget, seed,
                       n_points)
    except Unsupported as error:
        raise VerifyLimitError("evaluation", f"cannot evaluate the formula with error bounds: "
                               f"{error}") from None


def _check_switches(arguments):
    if len(arguments) > MAX_SWITCHES:
        raise VerifyLimitError("switches", f"the formula and the network switch branches at "
                               f"{len(arguments)} arguments (the limit is {MAX_SWITCHES}); "
                               "each must be checked on both sides")


def _branches(formula, own):
    """For each sign pattern of the formula's own switching arguments, the replacements
    that put every switch on that side ({atom: branch}); None when there are too many
    or a switch cannot be put on a side (a max of three arguments)."""
    if len(own) > MAX_FORCED:
        return None
    atoms = {}
    for node in sp.preorder_traversal(formula):
        if isinstance(node, (sp.Heaviside, sp.sign, sp.Abs, sp.Max, sp.Min)) or (
                isinstance(node, sp.Function) and hasattr(node, "_eval_rewrite_as_Max")):
            atoms[node] = None
    patterns = []
    for signs in product((1, -1), repeat=len(own)):
        side = dict(zip(own, signs))
        replacements = {}
        for atom in atoms:
            branch = _branch(atom, side)
            if branch is False:
                return None
            if branch is not None:
                replacements[atom] = branch
        for _ in range(len(replacements)):  # a switch inside another's branch: put it too
            replacements = {atom: branch.xreplace(replacements)
                            for atom, branch in replacements.items()}
        if not _empty(side, replacements):
            patterns.append((side, replacements))
    return patterns


def _empty(side, replacements):
    """True when no point has these signs: on that side every switch is its branch, so a
    switching argument made of switches (-min(1, u) - 1 with min(1, u) = 1) is the number
    it becomes there, and a number of the wrong sign rules the side out."""
    for g, sign in side.items():
        value = g.xreplace(replacements)
        if value.is_number and value.is_comparable and sp.sign(value) != sign:
            return True
    return False


def _branch(atom, side):
    """The value of a switch on one side: None if its argument is not one of ``side``'s."""
    if isinstance(atom, sp.Function) and hasattr(atom, "_eval_rewrite_as_Max"):
        atom = atom.rewrite(sp.Max)
        if not isinstance(atom, sp.Max):
            return False
    if isinstance(atom, (sp.Max, sp.Min)):
        if len(atom.args) != 2:
            return False
        a, b = atom.args
        g = a - b
    else:
        g = atom.args[0]
    sign = side.get(g, -side[-g] if -g in side else None)
    if sign is None:
        return None
    if isinstance(atom, sp.Heaviside):
        return sp.S.One if sign > 0 else sp.S.Zero
    if isinstance(atom, sp.sign):
        return sp.Integer(sign)
    if isinstance(atom, sp.Abs):
        return g if sign > 0 else -g
    if isinstance(atom, sp.Max):
        return a if sign > 0 else b
    return b if sign > 0 else a


def _by_branches(frame, formula, reference, difference, own, shared, branches, budget, seed,
                 n_points):
    evaluated, proven = [], True
    arguments = shared + own
    _check_switches(arguments)
    cap, _ = _cap((formula, reference, difference))
    for index, (side, replacements) in enumerate(branches):
        budget.check("checking the formula branch by branch")
        branch = safe_replace(formula, replacements)
        if branch is None:  # a branch folds into a number too large to form: sample instead
            return _sample(frame, formula, reference, difference, arguments, budget, seed,
                           n_points)
        zero, reduced = reduce_difference(frame, branch - reference, budget)
        if zero:
            continue  # equal on this side of the switches, by the symbolic steps
        proven = False
        inner = _sample(frame, branch, reference, reduced, switching_arguments(frame, branch)
                        + [g for g in shared if g not in switching_arguments(frame, branch)],
                        budget, seed + index, n_points)
        if inner.equal:
            evaluated += inner.evaluated
            continue
        # The branch differs at some point p; look for a point on this side of the switches
        # (and on p's side of the others), where the formula itself is that branch.
        # The formula's own switches are put on their side first; the others (kinks, which
        # biases move) are then brought back to where the branch was seen to differ.
        p = inner.witness.point
        here = signs_at(p, shared, budget)
        starts = [dict(p.coordinates)] + [dict(e.point.coordinates) for e in evaluated[:2]]
        regions = [{**side, **{g: s for g, s in here.items() if s}}, side]
        # Points the branch agreed at that lie on this side come first: there the formula is
        # the branch, so they are points of this side found already.
        # Then random points at moderate scale on this side (a bounded side, -1 < u < 1, is
        # rarely met by moving one coordinate far), then the search from the counterexample.
        rng = random.Random(seed + index)
        known = (e.point for e in inner.evaluated
                 if signs_at(e.point, list(side), budget) == side)
        drawn = (q for q in (frame.at(frame.point(rng), budget) for _ in range(SIDE_DRAWS))
                 if signs_at(q, list(side), budget) == side)
        searched = (q for n, constraints in enumerate(regions) for q in _points_in_region(
            frame, constraints, starts, random.Random(seed), budget, far=n > 0))
        tried, agreeing = 0, []
        for point in chain(known, drawn, searched):
            if tried >= SIDE_POINTS:
                break
            tried += 1
            if any(not s for s in signs_at(point, arguments, budget).values()):
                continue
            result = evaluate_at(point, formula, reference, difference, cap, budget)
            if result.verdict == "differ":
                return Decision(False, True, "numeric", evaluated, result,
                                switches=len(arguments))
            if result.verdict == "undefined":
                return Decision(False, True, "numeric", evaluated, result, domain_mismatch=True,
                                switches=len(arguments))
            if result.verdict == "agree":
                agreeing.append(result)
        # The branch differs from the correct entry only where the formula is not that branch
        # (where the correct entry switches too: a Piecewise, a kink): on this side the formula
        # itself agreed at every point evaluated, which counts as agreement there.
        if len(agreeing) >= min(n_points, REGION_POINTS):
            evaluated += agreeing
            continue
        where = ", ".join(f"{plain(g)} {'> 0' if s > 0 else '< 0'}" for g, s in side.items())
        raise VerifyLimitError(
            "switches", f"could not decide: where {where} the formula differs from the correct "
            "one, but too few points were found there where both sides could be evaluated "
            "(it may be empty)")
    if proven:
        return Decision(True, True, "symbolic", switches=len(own))
    return Decision(True, False, "numeric", evaluated, switches=len(arguments))


def _sample(frame, formula, reference, difference, arguments, budget, seed, n_points):
    _check_switches(arguments)
    cap, shortfall = _cap((formula, reference, difference))
    rng = random.Random(seed)
    sides = {(g, s) for g in arguments for s in (1, -1)}
    agreeing, mismatch = [], None

    def consider(point):
        nonlocal mismatch
        signs = signs_at(point, arguments, budget)
        if any(s is None or s == 0 for s in signs.values()):
            return None  # on (or too near) a switching surface: its convention would decide
        result = evaluate_at(point, formula, reference, difference, cap, budget)
        if result.verdict == "agree":
            if shortfall:
                raise VerifyLimitError("precision", shortfall)
            agreeing.append(result)
            sides.difference_update(signs.items())
        elif result.verdict == "undefined" and mismatch is None:
            mismatch = result
        return result

    def refuted(result):
        return Decision(False, True, "numeric", agreeing, result, switches=len(arguments))

    scales = [SCALES[min(i, len(SCALES) - 1)] for i in range(n_points)]
    for tries in range(20 * n_points):
        if len(agreeing) >= n_points:
            break
        scale = scales[len(agreeing)] if tries < 10 * n_points else 2
        result = consider(frame.at(frame.point(rng, scale), budget))
        if result is not None and result.verdict == "differ":
            return refuted(result)
    for g, s in sorted(sides, key=lambda side: (str(side[0]), side[1])):
        considered = 0
        starts = [dict(e.point.coordinates) for e in agreeing[:3] if _moderate(e.point)]
        for point in _points_in_region(frame, {g: s}, starts or [frame.point(rng)], rng, budget,
                                       far=True):
            if (g, s) not in sides or considered >= SIDE_POINTS:
                break
            considered += 1
            result = consider(point)
            if result is not None and result.verdict == "differ":
                return refuted(result)
        if (g, s) in sides and mismatch is not None:
            break  # the formula is undefined where the correct entry is not: decided below
        if (g, s) in sides:
            raise VerifyLimitError(
                "switches", f"could not decide: no point was found where {plain(g)} is "
                f"{'positive' if s > 0 else 'negative'} and both sides can be evaluated with "
                f"certainty ({SEARCH_TRIES} points tried, coordinates up to "
                f"2^{int(math.log2(FAR[-1]))}), so that side of its switch is unchecked")
    if mismatch is not None:
        return Decision(False, True, "numeric", agreeing, mismatch, domain_mismatch=True,
                        switches=len(arguments))
    if not agreeing:
        raise VerifyLimitError("evaluation", "found no point where both sides could be "
                               "evaluated with certainty")
    return Decision(True, False, "numeric", agreeing, switches=len(arguments))


def _coordinates_for(frame, g):
    """The coordinates that move ``g``: its own first, then biases below it, then the rest."""
    direct = [c for c in frame.movable() if c in g.free_symbols]
    through = [c for c in frame.movable() if c in frame.depends_on(g) and c not in direct]
    biases = [c for c in through if c.name.startswith("b_")]
    return direct + biases + [c for c in through if c not in biases]


def _points_in_region(frame, constraints, starts, rng, budget, far=False):
    """Points where every ``g`` of ``constraints`` has its sign: from each start, one
    coordinate at a time is moved (through growing magnitudes) until the next constraint,
    in order, holds without breaking the ones before it; with ``far``, random points at
    growing scales follow. The other coordinates stay where they were, so the values stay
    well conditioned."""
    wanted = list(constraints)
    budget.check("searching points on each side of the switches")
    tries = 0

    def signs(coordinates):
        nonlocal tries
        tries += 1
        point = frame.at(coordinates, budget)
        return point, signs_at(point, wanted, budget)

    for start in starts:
        coordinates = dict(start)
        point, now = signs(coordinates)
        for position, g in enumerate(wanted):
            if now[g] == constraints[g]:
                continue
            held = wanted[:position]  # those put right so far stay right; later ones follow
            for coordinate, magnitude, sign in product(_coordinates_for(frame, g), FAR, (1, -1)):
                if tries >= SEARCH_TRIES:
                    return
                moved = dict(coordinates)
                moved[coordinate] = Fraction(sign * magnitude) + Fraction(rng.randint(1, 7), 8)
                candidate, after = signs(moved)
                if after[g] == constraints[g] and all(after[h] == constraints[h] for h in held):
                    coordinates, point, now = moved, candidate, after
                    break
            else:
                break
        if all(now[g] == constraints[g] for g in wanted):
            yield point
    if not far:
        return
    for scale in FAR:
        for _ in range(3):
            if tries >= SEARCH_TRIES:
                return
            point, now = signs(frame.point(rng, scale))
            if all(now[g] == constraints[g] for g in wanted):
                yield point


def _moderate(point):
    return all(abs(v) <= 16 for v in point.coordinates.values())
