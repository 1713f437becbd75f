"""Values of SymPy expressions at exact rational points: exact where rational, else enclosed.

``symnet.verify`` must never call two values equal or different by accident of
rounding. At a point with rational coordinates, every sum, product and integer
power of rationals is computed exactly (``fractions.Fraction``); anything else
(tanh, exp, a huge power) becomes an interval that is guaranteed to contain the
true value (mpmath's interval arithmetic, rounded outward at ``prec`` bits). So

* a difference that is an exact 0 is zero, an exact nonzero is nonzero;
* an interval that excludes 0 proves the value nonzero (a real counterexample);
* an interval that contains 0 says "not decided at this precision": the caller
  raises the precision, and at its cap reports agreement within the interval's
  width, never a proof.

Values too large for exact or floating arithmetic are enclosed, not computed:
``exp(u)`` for u beyond 2^62 is the interval [exp(2^62), +inf], so
``exp(exp(exp(exp(9))))`` is known to exceed any finite reference without being
evaluated. Where an expression has no real value (``log`` of a negative number,
``1/0``, ``sqrt(-1)``) the evaluator raises ``Undefined``; where the precision
cannot tell on which side of a branch an argument lies, ``Uncertain``.

This module is the walk: ``Point`` and the post-order evaluation of an expression at
one precision, with sums and products exact where they can be. The values it works
with and their exceptions are ``symnet.formulas._enclosures``; the rules for powers,
elementary functions and Piecewise are ``symnet.formulas._interval_rules``.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> point = Point({x: Fraction(1, 3)})
>>> point.value((x + 1)**13 - sp.expand((x + 1)**13), prec=64)  # exact: no cancellation error
Fraction(0, 1)
>>> enclosure = point.value(sp.tanh(x) - x, prec=64)
>>> enclosure.b < 0                                       # tanh(1/3) < 1/3, proven
True
"""

from fractions import Fraction

import sympy as sp
from mpmath.ctx_iv import MPIntervalContext

from ._enclosures import (Uncertain, Undefined, Unsupported, correct_digits, describe,
                          fits_exactly, is_exact, minus, sign_of)
from ._interval_rules import EXP_LIMIT, LAZY_RULES, RULES, ElementaryRules, rewritten

# The values and their exceptions are re-exported: importers of the evaluation need them too.
__all__ = ["Point", "Undefined", "Uncertain", "Unsupported", "is_exact", "sign_of",
           "describe", "minus", "correct_digits"]

MAX_NODES = 400_000        # distinct subexpressions evaluated at one point and precision
TICK = 2_000               # nodes between two calls of the caller's clock


class Point:
    """One point of exact rational coordinates; evaluates expressions there at any precision.

    Parameters
    ----------
    coordinates : dict
        Symbol -> Fraction, the free variables (x, w, b, t).
    definitions : dict, optional
        Symbol -> expression for named quantities (a, z, y, delta, ...), evaluated
        on first use, in terms of the coordinates and of each other.
    tick : callable, optional
        Called every few thousand subexpressions (a clock that may raise).
    """

    def __init__(self, coordinates, definitions=None, tick=None):
        self.coordinates = dict(coordinates)
        self.definitions = definitions or {}
        self.tick = tick
        self.exact = {}          # expression -> Fraction, valid at every precision
        self._by_precision = {}  # prec -> {expression: interval}

    def value(self, expression, prec):
        """The exact value (Fraction) or an enclosing interval of ``expression`` here."""
        return _Evaluation(self, prec).value(expression)



class _Evaluation(ElementaryRules):
    """One precision at one point: the interval context and the post-order walk."""

    def __init__(self, point, prec):
        self.point = point
        self.ctx = MPIntervalContext()
        self.ctx.prec = prec
        self.inexact = point._by_precision.setdefault(prec, {})
        self.limit = self.ctx.mpf(EXP_LIMIT)

    # -- the walk ---------------------------------------------------------------------
    def known(self, node):
        if node in self.point.exact:
            return self.point.exact[node]
        return self.inexact.get(node)

    def children(self, node):
        if node.is_Symbol:
            if node in self.point.coordinates:
                return ()
            if node in self.point.definitions:
                return (self.point.definitions[node],)
            raise Unsupported(f"the symbol {node} has no value at the point")
        if type(node) in LAZY_RULES:
            return ()  # its rule evaluates only the parts it needs
        return node.args

    def value(self, expression):
        stack, visited = [expression], 0
        while stack:
            node = stack[-1]
            if self.known(node) is not None:
                stack.pop()
                continue
            pending = [c for c in self.children(node) if self.known(c) is None]
            if pending:
                stack.extend(pending)
                if len(stack) > MAX_NODES:
                    raise Unsupported(f"more than {MAX_NODES:,} subexpressions to evaluate")
                continue
            stack.pop()
            visited += 1
            if visited % TICK == 0 and self.point.tick is not None:
                self.point.tick()
            if visited > MAX_NODES:
                raise Unsupported(f"more than {MAX_NODES:,} subexpressions to evaluate")
            result = self.compute(node)
            if is_exact(result) and not fits_exactly(result):
                result = self.enclose(result)
            if is_exact(result):
                self.point.exact[node] = result
            else:
                self.inexact[node] = result
        return self.known(expression)

    def compute(self, node):
        if node.is_Symbol:
            if node in self.point.coordinates:
                return self.point.coordinates[node]
            return self.known(self.point.definitions[node])
        if node.is_Number or node.is_NumberSymbol or node.is_number and not node.args:
            return self.number(node)
        lazy = LAZY_RULES.get(type(node))
        if lazy is not None:
            return lazy(self, node)
        args = [self.known(a) for a in node.args]
        if node.is_Add:
            return self.add(args)
        if node.is_Mul:
            return self.mul(args)
        if node.is_Pow:
            return self.power(args[0], args[1])
        rule = RULES.get(type(node))
        if rule is not None:
            return rule(self, *args)
        form = rewritten(node)
        if form is None:
            raise Unsupported(f"{type(node).__name__}(...) cannot be evaluated with error bounds")
        return self.value(form)

    # -- numbers and arithmetic ---------------------------------------------------------
    def number(self, node):
        if node.is_Rational:
            return Fraction(int(node.p), int(node.q))
        if node.is_Float:
            if not node.is_finite:
                raise Undefined(f"{node} is not a real number")
            exact = sp.Rational(node)  # the binary number the Float holds, exactly
            return Fraction(int(exact.p), int(exact.q))
        if node is sp.pi:
            return self.ctx.pi
        if node is sp.E:
            return self.ctx.e
        if node in (sp.nan, sp.zoo, sp.oo, sp.S.NegativeInfinity, sp.I):
            raise Undefined(f"{node} is not a real number")
        raise Unsupported(f"the constant {node} cannot be evaluated with error bounds")

    def enclose(self, value):
        if not is_exact(value):
            return value
        return self.ctx.mpf(value.numerator) / self.ctx.mpf(value.denominator)

    def add(self, args):
        exact, inexact = Fraction(0), None
        for value in args:
            if is_exact(value):
                exact += value
            else:
                inexact = value if inexact is None else inexact + value
        return exact if inexact is None else inexact + self.enclose(exact)

    def mul(self, args):
        exact, inexact = Fraction(1), None
        for value in args:
            if is_exact(value):
                exact *= value
            else:
                inexact = value if inexact is None else inexact * value
        if exact == 0 or inexact is None:  # 0 times a finite value is exactly 0
            return exact
        return inexact * self.enclose(exact)

    def reciprocal(self, value):
        if is_exact(value):
            if value == 0:
                raise Undefined("division by zero")
            return 1 / value
        if sign_of(value) is None:
            raise Uncertain("a divisor whose sign is not known")
        return 1 / value
