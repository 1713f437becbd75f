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

import mpmath

import sympy as sp
from mpmath.ctx_iv import MPIntervalContext

from ..graph.functions import sigmoid, softplus

__all__ = ["Point", "Undefined", "Uncertain", "Unsupported", "is_exact", "sign_of",
           "describe", "minus", "correct_digits"]

EXACT_BITS = 20_000        # exact rationals past this size are enclosed instead (memory, time)
EXP_LIMIT = 2 ** 62        # exp(u) for |u| beyond this is bounded by a power of 2, not computed
MAX_EXPONENT_BITS = 4_096  # ... and past 2^4096, by 0 or infinity
MAX_NODES = 400_000        # distinct subexpressions evaluated at one point and precision
TICK = 2_000               # nodes between two calls of the caller's clock


class Undefined(Exception):
    """The expression has no real value at this point (log of a negative number, 1/0)."""


class Uncertain(Exception):
    """At this precision it cannot be told on which side of 0 an argument lies."""


class Unsupported(Exception):
    """A function or number the evaluator cannot bound (the message names it)."""


def is_exact(value):
    return isinstance(value, Fraction)


def _small(value):
    return max(value.numerator.bit_length(), value.denominator.bit_length()) <= EXACT_BITS


def sign_of(value):
    """+1, -1 or 0 when certain; None when an interval contains 0."""
    if is_exact(value):
        return (value > 0) - (value < 0)
    if value.a > 0:
        return 1
    if value.b < 0:
        return -1
    return None


def minus(left, right, factor=Fraction(1), prec=256):
    """left - factor * right, exactly or enclosed (for values from ``Point.value``)."""
    if is_exact(left) and is_exact(right):
        return left - factor * right
    ctx = MPIntervalContext()
    ctx.prec = prec

    def enclosed(value):
        if is_exact(value):
            return ctx.mpf(value.numerator) / ctx.mpf(value.denominator)
        return ctx.mpf([value.a, value.b])
    return enclosed(left) - enclosed(Fraction(factor)) * enclosed(right)


def correct_digits(value, most=30):
    """Significant digits an enclosure fixes (3 to ``most``; ``most`` for exact values)."""
    if is_exact(value):
        return most
    ctx = value.ctx
    middle = abs((value.a + value.b) / 2)
    width = value.b - value.a
    if width.b == 0:
        return most
    if middle.a == 0:
        return 3
    bits = ctx.mag(middle) - ctx.mag(width)
    return max(3, min(most, int(bits * 0.30103)))


def describe(value, digits=15):
    """A value as text: exact rationals as they are, enclosures by their midpoint (or a bound)."""
    if is_exact(value):
        if value.denominator.bit_length() < 64 and value.numerator.bit_length() < 200:
            return str(sp.Rational(value.numerator, value.denominator))
        with mpmath.workprec(4 * digits + 16):
            return mpmath.nstr(mpmath.mpf(value.numerator) / value.denominator, digits)
    ctx = value.ctx
    if value.b == ctx.inf:
        return f"greater than {mpmath.nstr(_real(value.a), 3)}"
    if value.a == ctx.ninf:
        return f"less than {mpmath.nstr(_real(value.b), 3)}"
    with mpmath.workprec(ctx.prec):
        return mpmath.nstr((_real(value.a) + _real(value.b)) / 2, digits)


def _real(end):
    """An interval's endpoint as an mpmath number."""
    return mpmath.mpf(end._mpi_[0])


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


class _Evaluation:
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
            if is_exact(result) and not _small(result):
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
        args = [self.known(a) for a in node.args]
        if node.is_Add:
            return self.add(args)
        if node.is_Mul:
            return self.mul(args)
        if node.is_Pow:
            return self.power(args[0], args[1])
        rule = _RULES.get(type(node))
        if rule is not None:
            return rule(self, *args)
        rewritten = _rewritten(node)
        if rewritten is None:
            raise Unsupported(f"{type(node).__name__}(...) cannot be evaluated with error bounds")
        return self.value(rewritten)

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

    def power(self, base, exponent):
        if is_exact(exponent) and exponent.denominator == 1:
            return self.integer_power(base, int(exponent))
        if is_exact(exponent) and exponent == Fraction(1, 2):
            return self.sqrt(base)
        if is_exact(base) and base == 0:
            if sign_of(exponent) == 1:
                return Fraction(0)
            raise Undefined("0 to a power that is not positive")
        if is_exact(base) and is_exact(exponent) and base > 0:
            root = _exact_root(base, exponent)
            if root is not None:
                return root
        sign = sign_of(base)
        if sign == -1:
            raise Undefined("a negative number to a fractional power")
        if sign is None:
            raise Uncertain("a fractional power of a number whose sign is not known")
        return self.exp(self.enclose(exponent) * self.log(base))

    def integer_power(self, base, n):
        if n == 0:
            return Fraction(1)
        if n < 0:
            return self.reciprocal(self.integer_power(base, -n))
        if is_exact(base):
            bits = max(base.numerator.bit_length(), base.denominator.bit_length())
            if bits * n <= EXACT_BITS:
                return base ** n
            base = self.enclose(base)
        top = max(abs(base.a), abs(base.b))
        if top == 0:
            return Fraction(0)
        magnitude = EXP_LIMIT if top == self.ctx.inf else abs(self.ctx.mag(top))
        if magnitude * n < EXP_LIMIT:
            return base ** n
        # |base|^n = exp(n log |base|), with the sign of base^n for odd n
        size = self.exp(self.ctx.mpf(n) * self.log_abs(base))
        sign = sign_of(base)
        if n % 2 == 0 or sign == 1:
            return size
        if sign == -1:
            return -size
        raise Uncertain("an odd power of a number whose sign is not known")

    def log_abs(self, value):
        magnitude = self.abs(value)
        if sign_of(magnitude) != 1:
            raise Uncertain("the logarithm of a number that may be 0")
        return self.ctx.log(magnitude)

    # -- elementary functions --------------------------------------------------------
    def exp(self, u):
        if is_exact(u):
            if u == 0:
                return Fraction(1)
            u = self.enclose(u)
        return self.ctx.mpf([self.exp_bound(u.a, lower=True), self.exp_bound(u.b, lower=False)])

    def exp_bound(self, v, lower):
        """A bound of exp(v): mpmath's for moderate v; beyond 2^62, a power of 2 (or 0, inf)."""
        ctx = self.ctx
        if -self.limit <= v <= self.limit:
            value = ctx.exp(v)
            return value.a if lower else value.b
        if v in (ctx.inf, ctx.ninf) or ctx.mag(v) > MAX_EXPONENT_BITS:
            return (ctx.zero if v < 0 else ctx.exp(self.limit).a) if lower else \
                (ctx.exp(-self.limit).b if v < 0 else ctx.inf)
        # exp(v) = 2^(v log2 e): 2^floor(...) below it, 2^ceil(...) above it
        power = ctx.mpf(v) / ctx.ln2
        bound = power.a if lower else power.b
        k = int(mpmath.floor(_real(bound))) if lower else int(mpmath.ceil(_real(bound)))
        return ctx.ldexp(ctx.one, k)

    def log(self, u):
        if is_exact(u):
            if u <= 0:
                raise Undefined("the logarithm of a number that is not positive")
            if u == 1:
                return Fraction(0)
            u = self.enclose(u)
        if u.b <= 0:
            raise Undefined("the logarithm of a number that is not positive")
        if not u.a > 0:
            raise Uncertain("the logarithm of a number that may be 0 or negative")
        return self.ctx.log(u)

    def sqrt(self, u):
        if is_exact(u):
            if u < 0:
                raise Undefined("the square root of a negative number")
            root = _exact_root(u, Fraction(1, 2))
            if root is not None:
                return root
            u = self.enclose(u)
        if u.b < 0:
            raise Undefined("the square root of a negative number")
        if u.a < 0:
            raise Uncertain("the square root of a number that may be negative")
        return self.ctx.sqrt(u)

    def increasing(self, f, u, at_zero):
        """f(u) for an increasing f: its values at the two ends enclose the rest."""
        if is_exact(u):
            if u == 0 and at_zero is not None:
                return at_zero
            u = self.enclose(u)
        return self.ctx.mpf([f(self.ctx.mpf(u.a)).a, f(self.ctx.mpf(u.b)).b])

    def _tanh(self, v):
        if v >= 0:
            return 1 - 2 / (self.exp(2 * v) + 1)
        return 2 / (self.exp(-2 * v) + 1) - 1

    def _softplus(self, v):
        """log(1 + e^v), as v + log(1 + e^-v) for v >= 0; for v < 0 with e^v = t small,
        log(1 + t) lies in [t - t^2/2, t] (1 + t would round to 1)."""
        if v >= 0:
            return v + self.log(1 + self.exp(-v))
        t = self.exp(v)
        if t.b < 2 ** -20:
            return self.ctx.mpf([(t - t * t / 2).a, t.b])
        return self.log(1 + t)

    def _cosh_point(self, v):
        return (self.exp(v) + self.exp(-v)) / 2

    def cosh(self, u):
        if is_exact(u):
            if u == 0:
                return Fraction(1)
            u = self.enclose(u)
        ends = [self._cosh_point(self.ctx.mpf(u.a)), self._cosh_point(self.ctx.mpf(u.b))]
        lower = min(e.a for e in ends) if (u.a >= 0 or u.b <= 0) else self.ctx.one
        return self.ctx.mpf([lower, max(e.b for e in ends)])

    def abs(self, u):
        if is_exact(u):
            return abs(u)
        if u.a >= 0:
            return u
        if u.b <= 0:
            return -u
        return self.ctx.mpf([0, max(-u.a, u.b)])

    def step(self, u, at_zero=Fraction(1, 2)):
        """Heaviside(u): exact when the sign of u is known, [0, 1] when it is not."""
        sign = sign_of(u)
        if sign == 0:
            return at_zero
        if sign is None:
            return self.ctx.mpf([0, 1])
        return Fraction(int(sign > 0))

    def signum(self, u):
        sign = sign_of(u)
        return self.ctx.mpf([-1, 1]) if sign is None else Fraction(sign)

    def extreme(self, args, pick):
        if all(is_exact(a) for a in args):
            return pick(args)
        ends = [self.enclose(a) for a in args]
        return self.ctx.mpf([pick(e.a for e in ends), pick(e.b for e in ends)])


def _exact_root(value, exponent):
    """value ** exponent exactly when it is rational (a perfect power), else None."""
    p, q = exponent.numerator, exponent.denominator
    if q > 64 or value < 0 or abs(p) > 64:
        return None
    roots = []
    for part in (value.numerator, value.denominator):
        root = _integer_root(part, q)
        if root is None:
            return None
        roots.append(root)
    root = Fraction(roots[0], roots[1])
    return root ** p if p >= 0 else 1 / root ** -p


def _integer_root(n, q):
    if n.bit_length() > EXACT_BITS:
        return None
    root = round(n ** (1 / q)) if n.bit_length() < 1000 else _newton_root(n, q)
    for candidate in (root - 1, root, root + 1):
        if candidate >= 0 and candidate ** q == n:
            return candidate
    return None


def _newton_root(n, q):
    x = 1 << (n.bit_length() // q + 1)
    while True:
        y = ((q - 1) * x + n // x ** (q - 1)) // q
        if y >= x:
            return x
        x = y


def _rewritten(node):
    """Functions symnet defines by rewriting (relu, leaky relu, registered ones), or None."""
    for target in (sp.Max, sp.exp):
        try:
            rewritten = node.rewrite(target)
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            continue
        if rewritten != node:
            return rewritten
    return None


def _heaviside(self, u, at_zero=Fraction(1, 2)):
    return self.step(u, at_zero)


_RULES = {
    sp.exp: lambda self, u: self.exp(u),
    sp.log: lambda self, u, *base: self.log(u) if not base else _unsupported("log with a base"),
    sp.tanh: lambda self, u: self.increasing(self._tanh, u, Fraction(0)),
    sp.sinh: lambda self, u: self.increasing(lambda v: (self.exp(v) - self.exp(-v)) / 2, u,
                                             Fraction(0)),
    sp.cosh: lambda self, u: self.cosh(u),
    sp.sech: lambda self, u: self.reciprocal(self.cosh(u)),
    sp.csch: lambda self, u: self.reciprocal(self.increasing(
        lambda v: (self.exp(v) - self.exp(-v)) / 2, u, Fraction(0))),
    sp.coth: lambda self, u: self.reciprocal(self.increasing(self._tanh, u, Fraction(0))),
    sigmoid: lambda self, u: self.increasing(lambda v: 1 / (1 + self.exp(-v)), u,
                                             Fraction(1, 2)),
    softplus: lambda self, u: self.increasing(self._softplus, u, None),
    sp.Abs: lambda self, u: self.abs(u),
    sp.Heaviside: _heaviside,
    sp.sign: lambda self, u: self.signum(u),
    sp.Max: lambda self, *args: self.extreme(args, max),
    sp.Min: lambda self, *args: self.extreme(args, min),
    sp.sin: lambda self, u: Fraction(0) if is_exact(u) and u == 0 else self.ctx.sin(
        self.enclose(u)),
    sp.cos: lambda self, u: Fraction(1) if is_exact(u) and u == 0 else self.ctx.cos(
        self.enclose(u)),
}


def _unsupported(what):
    raise Unsupported(f"{what} cannot be evaluated with error bounds")
