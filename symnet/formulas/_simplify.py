"""The bounded symbolic steps of ``symnet.verify``: reduce formula - reference, never hang.

Each step runs only when an estimate of its result is small: ``expand`` when the
expanded expression has at most ``MAX_EXPANDED_TERMS`` terms (a power of a sum of T
terms to the n has binomial(T + n - 1, n)), ``cancel`` only for a few non-nested
exponentials and exponents with small numerators and denominators (z^(2 + 1e-40)
would be a polynomial of degree 10^40). ``factor`` is never used: factoring the
integer 10^900 alone takes seconds.

>>> import sympy as sp
>>> x = sp.Symbol("x", real=True)
>>> expanded_terms((x + 1)**12), expanded_terms(sp.Add(*sp.symbols("a:10"))**12)
(13, 293930)
"""

import math

import sympy as sp

from ..errors import TooLargeError
from ..graph.functions import sigmoid

__all__ = ["tree_size", "expanded_terms", "reduce_difference", "shown_difference",
           "safe_replace"]

MAX_EXPANDED_TERMS = 2_000  # terms an expand may produce
SYMBOLIC_SIZE = 600         # tree size of an expression handed to expand
CANCEL_SIZE = 150           # ... and to together/cancel, with at most CANCEL_ATOMS exponentials
CANCEL_ATOMS = 4


def tree_size(expression, cap=10 ** 9):
    """Nodes of ``expression`` as a tree (shared subexpressions counted each time), capped."""
    memo = {}
    stack = [expression]
    while stack:
        node = stack[-1]
        pending = [a for a in node.args if a not in memo]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[node] = min(cap, 1 + sum(memo[a] for a in node.args))
    return memo[expression]


def expanded_terms(expression, cap=10 ** 9):
    """An upper estimate of the terms ``sympy.expand`` makes of ``expression`` (capped).

    A power of a sum of T terms to the n has binomial(T + n - 1, n) terms, a
    product the product of its factors' terms; the arguments of functions are
    expanded too and add their own terms.
    """
    memo = {}

    def terms(node):
        if node in memo:
            return memo[node]
        inner = 0
        if node.is_Add:
            count = sum(terms(a) for a in node.args)
        elif node.is_Mul:
            count = math.prod(min(cap, terms(a)) for a in node.args)
        elif node.is_Pow and node.exp.is_Integer:
            base, n = terms(node.base), abs(int(node.exp))
            count = 1 if base == 1 else math.comb(min(base, cap) + n - 1, n) if n < 10 ** 4 \
                else cap
            if node.exp < 0:
                count, inner = 1, count
        else:
            count = 1
            inner = sum(terms(a) for a in node.args) if node.args else 0
        memo[node] = min(cap, count + inner)
        return memo[node]

    return terms(expression)


def _polynomial_safe(expression):
    """False when polynomial algebra (cancel, together) could blow up: a power with a
    large or finely divided exponent (z^(2 + 1e-40) has 10^40 as a degree), or large
    numbers inside exponents (exp(10^30 x) is a polynomial of degree 10^30 in e^x)."""
    for power in expression.atoms(sp.Pow):
        exponent = power.exp
        if exponent.is_Rational and (abs(exponent.p) > 100 or exponent.q > 100):
            return False
    arguments = [p.exp for p in expression.atoms(sp.Pow) if not p.exp.is_Number] + [
        f.args[0] for f in expression.atoms(sp.exp, sp.tanh, sp.cosh, sp.sinh, sp.sech)]
    return all(abs(n.p) <= 100 and n.q <= 100 for a in arguments for n in a.atoms(sp.Rational))


_HYPERBOLIC = [sp.tanh, sp.cosh, sp.sinh, sp.sech, sigmoid]
_SYMPY_FAILURES = (OverflowError, ValueError, ArithmeticError, RecursionError, TypeError,
                   MemoryError)


def _expanded(expression, budget):
    """``expand(expression)`` when its estimated size is small, else None."""
    if tree_size(expression, SYMBOLIC_SIZE + 1) > SYMBOLIC_SIZE or \
            expanded_terms(expression, MAX_EXPANDED_TERMS + 1) > MAX_EXPANDED_TERMS:
        return None
    budget.check("expanding the difference")
    try:
        return sp.expand(expression)
    except _SYMPY_FAILURES:
        return None


def _cancels_to_zero(expression, budget):
    """tanh, cosh, sech, sigma written with exp, then cancel: only for small expressions of
    a few non-nested exponentials (cancel's cost grows fast with them)."""
    transcendental = expression.atoms(sp.exp, sp.tanh, sp.cosh, sp.sinh, sp.sech, sp.Function)
    if len(transcendental) > CANCEL_ATOMS or tree_size(expression, CANCEL_SIZE + 1) > CANCEL_SIZE \
            or expanded_terms(expression, MAX_EXPANDED_TERMS + 1) > MAX_EXPANDED_TERMS \
            or not _polynomial_safe(expression):
        return False
    if any(f.args[0].atoms(sp.Function) or f.args[0].has(sp.exp) for f in transcendental
           if f.args):
        return False  # nested: tanh(tanh(x)) rewritten is exponential in size
    budget.check("rewriting the difference with exponentials")
    try:
        # Only the hyperbolic functions and sigma: Pow.rewrite(exp) would turn x^100 into
        # exp(100 log x), which cancel expands back into all its terms.
        rewritten = expression.rewrite(_HYPERBOLIC, sp.exp)
        if len(rewritten.atoms(sp.exp)) > CANCEL_ATOMS or \
                tree_size(rewritten, CANCEL_SIZE + 1) > CANCEL_SIZE or \
                expanded_terms(rewritten, MAX_EXPANDED_TERMS + 1) > MAX_EXPANDED_TERMS or \
                not _polynomial_safe(rewritten):
            return False
        budget.check("cancelling the difference")
        return sp.cancel(sp.together(rewritten)) == 0
    except _SYMPY_FAILURES:
        return False


def reduce_difference(frame, difference, budget):
    """(proven zero?, the most reduced form of ``difference`` found) by bounded steps.

    The steps: named intermediates written out (sums of like terms cancel as they
    are built), expand, z = h(a) written out and expand, hyperbolic functions as
    exponentials and cancel, and for small expressions everything in x, w, b, t.
    The reduced form equals the difference; it is what the exact points evaluate,
    so terms that cancel exactly never have to cancel in rounded arithmetic."""
    if difference == 0:
        return True, difference
    reduced = difference
    forward = frame.forward(difference)
    if forward == 0:
        return True, forward
    if tree_size(forward, 20 * SYMBOLIC_SIZE + 1) > 20 * SYMBOLIC_SIZE:
        return False, difference  # deep networks: the written-out deltas are too large
    reduced = forward
    expanded = _expanded(forward, budget)
    if expanded is not None:
        if expanded == 0:
            return True, expanded
        reduced = expanded
    activated = frame.pre_activations(forward)
    expanded = _expanded(activated, budget)
    if expanded == 0 or _cancels_to_zero(activated, budget):
        return True, sp.S.Zero
    if tree_size(activated, SYMBOLIC_SIZE + 1) <= SYMBOLIC_SIZE // 3:
        try:
            base = frame.base(activated)
        except TooLargeError:
            base = None
        if base is not None and _expanded(base, budget) == 0:
            return True, sp.S.Zero
    return False, reduced


def shown_difference(frame, difference, budget):
    """formula - reference in forward quantities, expanded and with common factors pulled
    out (never ``factor``: factoring 10^900 alone takes seconds); None when too large."""
    forward = frame.forward(difference)
    if tree_size(forward, SYMBOLIC_SIZE + 1) > SYMBOLIC_SIZE or not _polynomial_safe(forward) \
            or expanded_terms(forward, 201) > 200 or budget.left() < 0.2:
        return None
    try:
        shown = sp.factor_terms(sp.expand(forward))
    except _SYMPY_FAILURES:
        return None
    return shown if tree_size(shown, 401) <= 400 else None


MAX_BITS = 100_000  # of a number formed when a branch is put in (as symnet.formulas.parser allows)


def safe_replace(expression, rule):
    """``expression.xreplace(rule)``, or None when SymPy would fold the result into a number
    too large to form: with max(x_1, 2) -> 2, 2^2^2^2^2^max(x_1, 2) is 2^(2^65536)."""
    with sp.evaluate(False):
        replaced = expression.xreplace(rule)
    built = {}
    stack = [replaced]
    while stack:
        node = stack[-1]
        pending = [a for a in node.args if a not in built]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        args = [built[a] for a in node.args]
        if node.is_Pow and args[0].is_Rational and args[1].is_Rational:
            base, exponent = args
            bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p)
            if bits > MAX_BITS:
                return None
        built[node] = node.func(*args) if node.args else node
    return built[replaced]
