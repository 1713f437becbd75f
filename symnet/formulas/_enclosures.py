"""The values ``symnet.verify`` computes with: exact rationals, or intervals that enclose the truth.

A value at an exact rational point is a ``fractions.Fraction`` where it is rational and
small, otherwise an mpmath interval guaranteed to contain the true value (rounded
outward). This module says how to read them: ``sign_of`` is certain or None,
``minus`` subtracts either kind, ``describe`` and ``correct_digits`` print them; and
the three ways an evaluation can fail (``Undefined``, ``Uncertain``, ``Unsupported``).
The evaluation itself is ``symnet.formulas._certify``.

>>> sign_of(Fraction(-1, 3)), sign_of(minus(Fraction(1, 3), Fraction(1, 3)))
(-1, 0)
>>> describe(Fraction(2, 6))
'1/3'
"""

from fractions import Fraction

import mpmath

import sympy as sp
from mpmath.ctx_iv import MPIntervalContext

__all__ = ["Undefined", "Uncertain", "Unsupported", "is_exact", "sign_of", "minus",
           "correct_digits", "describe", "fits_exactly", "endpoint", "EXACT_BITS"]

EXACT_BITS = 20_000        # exact rationals past this size are enclosed instead (memory, time)


class Undefined(Exception):
    """The expression has no real value at this point (log of a negative number, 1/0)."""


class Uncertain(Exception):
    """At this precision it cannot be told on which side of 0 an argument lies."""


class Unsupported(Exception):
    """A function or number the evaluator cannot bound (the message names it)."""


def is_exact(value):
    return isinstance(value, Fraction)


def fits_exactly(value):
    """True for a Fraction small enough to keep exact (else it is enclosed)."""
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
        return f"greater than {mpmath.nstr(endpoint(value.a), 3)}"
    if value.a == ctx.ninf:
        return f"less than {mpmath.nstr(endpoint(value.b), 3)}"
    with mpmath.workprec(ctx.prec):
        return mpmath.nstr((endpoint(value.a) + endpoint(value.b)) / 2, digits)


def endpoint(end):
    """An interval's endpoint as an mpmath number."""
    return mpmath.mpf(end._mpi_[0])
