"""Enclosures of powers and elementary functions, and the table that maps SymPy functions to them.

Each rule takes the values of its arguments (exact ``Fraction`` or interval, see
``symnet.formulas._enclosures``) and returns the function's value, exactly where it is
rational (tanh(0) = 0, sqrt(4/9) = 2/3) and otherwise as an interval that contains the
true value: for a monotone function its values at the two ends of the argument's
interval, rounded outward. ``Piecewise`` is the one rule that takes its arguments
unevaluated: a branch is evaluated only where its condition may hold (log(x) for x > 0
is never evaluated at x = -1), and where the precision cannot tell whether a condition
holds, the value is the hull of every branch that may be taken.

The rules are methods of ``ElementaryRules``, which ``symnet.formulas._certify`` mixes
into its evaluation at one point and one precision: they use its interval context
``ctx`` (with ``limit`` = ``EXP_LIMIT`` in it), ``enclose``, ``reciprocal``, ``add`` and
``value`` (the walk, for the branches of a Piecewise).

>>> import sympy as sp
>>> from symnet.formulas._certify import Point
>>> x = sp.Symbol("x", real=True)
>>> huber_slope = sp.Piecewise((x, sp.Abs(x) <= 1), (sp.sign(x), True))
>>> [Point({x: Fraction(v)}).value(huber_slope, 64) for v in ("1/2", "-3", "1")]
[Fraction(1, 2), Fraction(-1, 1), Fraction(1, 1)]
>>> Point({x: Fraction(-1)}).value(sp.Piecewise((sp.log(x), x > 0), (0, True)), 64)
Fraction(0, 1)
"""

from fractions import Fraction

import mpmath

import sympy as sp
from sympy.core.relational import Relational

from ._enclosures import EXACT_BITS, Uncertain, Undefined, Unsupported, endpoint, is_exact, \
    sign_of
from ..graph.functions import sigmoid, softplus

__all__ = ["ElementaryRules", "RULES", "LAZY_RULES", "rewritten", "EXP_LIMIT"]

EXP_LIMIT = 2 ** 62        # exp(u) for |u| beyond this is bounded by a power of 2, not computed
MAX_EXPONENT_BITS = 4_096  # ... and past 2^4096, by 0 or infinity


class ElementaryRules:
    """Powers and elementary functions of exact or enclosed values (a mixin, see above)."""

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
        k = int(mpmath.floor(endpoint(bound))) if lower else int(mpmath.ceil(endpoint(bound)))
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

    # -- Piecewise: conditions decided at the point, branches evaluated lazily -----------------
    def piecewise(self, node):
        """The value of the branch taken; the hull of those that may be, where it is not certain.

        Conditions are read in order, as SymPy does: the first that holds picks its branch.
        A condition the precision cannot decide leaves its branch and the later ones
        possible; only those are evaluated (a branch where its condition certainly fails
        may be undefined there, and is never touched).
        """
        possible = []
        for expression, condition in node.args:
            holds = self.truth(condition)
            if holds is False:
                continue
            possible.append(expression)
            if holds:
                break
        else:  # no condition certainly holds
            if not possible:
                raise Undefined("no condition of the Piecewise holds")
            raise Uncertain("a Piecewise whose conditions may all fail here")
        if len(possible) == 1:
            return self.value(possible[0])
        try:
            values = [self.value(expression) for expression in possible]
        except Undefined:  # defined only on some of the branches that may be taken
            raise Uncertain("a Piecewise near a condition's boundary, with a branch "
                            "undefined there") from None
        return self.hull(values)

    def hull(self, values):
        """The smallest interval containing every value (one exact value: that value)."""
        if all(is_exact(v) for v in values) and len(set(values)) == 1:
            return values[0]
        ends = [self.enclose(v) for v in values]
        return self.ctx.mpf([min(e.a for e in ends), max(e.b for e in ends)])

    def truth(self, condition):
        """True, False, or None (not decided at this precision) for a condition at the point."""
        if condition is sp.true or condition is sp.false:
            return bool(condition)
        if isinstance(condition, Relational):
            return self.compare(condition)
        if isinstance(condition, (sp.And, sp.Or)):
            found = [self.truth(part) for part in condition.args]
            decisive = isinstance(condition, sp.Or)  # the value one part decides alone
            if decisive in found:
                return decisive
            return None if None in found else not decisive
        if isinstance(condition, sp.Not):
            inner = self.truth(condition.args[0])
            return None if inner is None else not inner
        raise Unsupported(f"the condition {condition} cannot be decided with error bounds")

    def compare(self, relation):
        """A relation lhs ? rhs, decided by the certain sign of lhs - rhs (None if unknown)."""
        left, right = (self.value(side) for side in relation.args)
        sign = sign_of(self.add([left, -right]))
        if sign is None:
            return None
        return {"<": sign < 0, "<=": sign <= 0, ">": sign > 0, ">=": sign >= 0,
                "==": sign == 0, "!=": sign != 0}[relation.rel_op]


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


def rewritten(node):
    """Functions symnet defines by rewriting (relu, leaky relu, registered ones), or None."""
    for target in (sp.Max, sp.exp):
        try:
            form = node.rewrite(target)
        except (TypeError, ValueError, AttributeError, NotImplementedError):
            continue
        if form != node:
            return form
    return None


def _heaviside(self, u, at_zero=Fraction(1, 2)):
    return self.step(u, at_zero)


RULES = {
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


# Rules that take their node unevaluated (the walk does not evaluate its arguments first).
LAZY_RULES = {sp.Piecewise: lambda self, node: self.piecewise(node)}
