"""The hint of a refuted ``symnet.verify`` check: which common mistake the formula is.

The formula is compared with the mutants of the correct derivation
(``symnet.formulas.mistakes``), each also times a stray factor (2, 1/2, -1, ...), at a
few exact points: the counterexample first, then points at moderate scale where the
formula is defined. A mutant matches when formula - factor * mutant is certainly 0, or
within its enclosure, at every point; the first that matches names the mistake.

>>> import symnet
>>> net = symnet.MLP([1, 1])
>>> result = symnet.verify("2 (y_1 - t_1)", "delta_1^(1)", net=net)   # calls ``hint``
>>> result.mistake
'factor_2'
"""

import random
from fractions import Fraction

import sympy as sp

from ._certify import Uncertain, Undefined, Unsupported, minus, sign_of
from ._limits import VerifyLimitError
from .mistakes import mutants

__all__ = ["hint"]

HINT_PRECISION = 256      # bits at which mutants are compared with the formula
HINT_POINTS = 4           # points a mutant must match (the counterexample among them)

_FACTORS = [(sp.Integer(2), "off by a factor 2 (the 1/2 in E = 1/2 sum (y - t)^2 cancels "
                            "the 2 from differentiating the square)"),
            (sp.Rational(1, 2), "off by a factor 1/2"),
            (sp.Integer(-1), "the overall sign is wrong"),
            (sp.Integer(-2), "off by a factor -2"), (sp.Rational(-1, 2), "off by a factor -1/2")]


def _hint_points(frame, formula, decision, seed, n_points, budget):
    """Points (at moderate scale) where the formula is defined, for comparing mutants."""
    # The counterexample first: a mutant that agrees with the formula only where the
    # formula agrees with the correct one (inside [-2, 2], say) is no explanation.
    points = [decision.witness.point] + [e.point for e in decision.evaluated
                                         if _in_sample_range(e.point)]
    rng = random.Random(seed + 1)
    wanted = min(n_points, HINT_POINTS)
    for _ in range(10 * wanted):
        if len(points) >= wanted:
            break
        point = frame.at(frame.point(rng), budget)
        try:
            point.value(formula, HINT_PRECISION)
        except (Undefined, Uncertain, Unsupported):
            continue
        points.append(point)
    return points


def _in_sample_range(point):
    return all(abs(v) <= 2 for v in point.coordinates.values())


def _values(points, expression):
    """The values of ``expression`` at the points, None where it has none."""
    values = []
    for point in points:
        try:
            values.append(point.value(expression, HINT_PRECISION))
        except (Uncertain, Undefined):
            values.append(None)
    return values


def hint(frame, target, formula, reference_forward, decision, seed, n_points, budget, decay):
    """(key, text) of the mutant (times a stray factor) that equals the formula everywhere.

    Each mutant is evaluated once per point, and lazily: a mutant matches when
    formula - factor * mutant is 0 (or within its enclosure) at every point, and
    the counterexample, tried first, rules out most of them."""
    if decision.domain_mismatch:
        return None, None
    try:
        candidates = mutants(frame.net, frame.loss, target, reference=reference_forward,
                             weight_decay=decay)
        points = _hint_points(frame, formula, decision, seed, n_points, budget)
        mine = _values(points, formula)
        order = [(i, sp.Integer(1)) for i in range(1, len(candidates))]
        order += [(0, factor) for factor, _ in _FACTORS]
        order += [(i, factor) for i in range(1, len(candidates)) for factor, _ in _FACTORS]
        texts = dict(_FACTORS)
        values = {}

        def matches(index, factor):
            for n, point in enumerate(points):
                if (index, n) not in values:
                    values[index, n] = _values([point], candidates[index][1])[0]
                theirs = values[index, n]
                if mine[n] is None or theirs is None or sign_of(minus(
                        mine[n], theirs, Fraction(factor.p, factor.q), HINT_PRECISION)):
                    return False
            return True

        for index, factor in order:
            budget.check("looking for a hint")
            if matches(index, factor):
                mistake = candidates[index][0]
                if index == 0:
                    return f"factor_{factor}", texts[factor]
                if factor == 1:
                    return mistake.key, mistake.text
                return f"{mistake.key}+factor_{factor}", f"{mistake.text}; and {texts[factor]}"
    except (VerifyLimitError, Unsupported):
        pass  # the verdict stands; the search for its hint ran out of time (or of means)
    return None, None
