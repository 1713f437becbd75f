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

__all__ = ["post_order", "tree_size", "expanded_terms", "reduce_difference", "shown_difference",
           "safe_replace"]

MAX_EXPANDED_TERMS = 2_000  # terms an expand may produce
SYMBOLIC_SIZE = 600         # tree size of an expression handed to expand
CANCEL_SIZE = 150           # ... and to together/cancel, with at most CANCEL_ATOMS exponentials
CANCEL_ATOMS = 4
MAX_PIECEWISE = 4           # Piecewise parts of a difference split into its branches


def post_order(expression, combine):
    """``combine(node, [results of node.args])`` for every distinct subexpression, children
    first; the result for ``expression``. Iterative (no recursion limit on deep trees), and
    each shared subexpression is combined once.

    >>> x = sp.Symbol("x")
    >>> post_order(sp.sin(x) + x**2, lambda node, parts: 1 + sum(parts))   # nodes as a tree
    6
    """
    done = {}
    stack = [expression]
    while stack:
        node = stack[-1]
        pending = [a for a in node.args if a not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        done[node] = combine(node, [done[a] for a in node.args])
    return done[expression]


def tree_size(expression, cap=10 ** 9):
    """Nodes of ``expression`` as a tree (shared subexpressions counted each time), capped."""
    return post_order(expression, lambda node, sizes: min(cap, 1 + sum(sizes)))


def expanded_terms(expression, cap=10 ** 9):
    """An upper estimate of the terms ``sympy.expand`` makes of ``expression`` (capped).

    A power of a sum of T terms to the n has binomial(T + n - 1, n) terms, a
    product the product of its factors' terms; the arguments of functions are
    expanded too and add their own terms.
    """
    def terms(node, parts):  # parts: the terms of node.args
        inner = 0
        if node.is_Add:
            count = sum(parts)
        elif node.is_Mul:
            count = math.prod(min(cap, part) for part in parts)
        elif node.is_Pow and node.exp.is_Integer:
            base, n = parts[0], abs(int(node.exp))
            count = 1 if base == 1 else math.comb(min(base, cap) + n - 1, n) if n < 10 ** 4 \
                else cap
            if node.exp < 0:
                count, inner = 1, count
        else:
            count = 1
            inner = sum(parts)
        return min(cap, count + inner)

    return post_order(expression, terms)


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
    exponentials and cancel, and for small expressions everything in x, w, b, t;
    a difference with a few Piecewise parts is also split into the branches of one
    Piecewise, each reduced by the same steps. The reduced form equals the
    difference; it is what the exact points evaluate, so terms that cancel exactly
    never have to cancel in rounded arithmetic."""
    if difference == 0:
        return True, difference
    forward = frame.forward(difference)
    if forward == 0:
        return True, forward
    if tree_size(forward, 20 * SYMBOLIC_SIZE + 1) > 20 * SYMBOLIC_SIZE:
        return False, difference  # deep networks: the written-out deltas are too large
    zero, reduced = _reduce_forward(frame, forward, budget)
    if zero or (forward.has(sp.Piecewise) and _zero_on_every_branch(frame, forward, budget)):
        return True, sp.S.Zero
    return False, reduced


def _reduce_forward(frame, forward, budget):
    """(proven zero?, reduced form) of an expression in forward quantities."""
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


def _odd_signs(expression):
    """sign(-u) written -sign(u), so that sign(y - t) and -sign(t - y) meet (an identity)."""
    return expression.replace(
        lambda node: isinstance(node, sp.sign) and node.args[0].could_extract_minus_sign(),
        lambda node: -sp.sign(-node.args[0]))


def _zero_on_every_branch(frame, forward, budget):
    """True when the difference, folded into one Piecewise, is 0 on every branch.

    Then it is 0 wherever it is defined. Only for a few Piecewise parts, each with a
    last branch for "otherwise" (a Piecewise without one is undefined where no
    condition holds, which a 0 on every branch would hide)."""
    parts = forward.atoms(sp.Piecewise)
    if len(parts) > MAX_PIECEWISE or any(p.args[-1].cond is not sp.true for p in parts) \
            or tree_size(forward, SYMBOLIC_SIZE + 1) > SYMBOLIC_SIZE:
        return False
    budget.check("splitting the difference at its Piecewise conditions")
    try:
        folded = sp.piecewise_fold(_odd_signs(forward))
    except _SYMPY_FAILURES:
        return False
    if not isinstance(folded, sp.Piecewise):  # the branches met and cancelled
        return _branch_is_zero(frame, folded, budget)
    return folded.args[-1].cond is sp.true and all(
        _branch_is_zero(frame, branch, budget) for branch, _ in folded.args)


def _branch_is_zero(frame, branch, budget):
    # Also cancelled as it stands: with y = h(a) written out, sign(y - t) would hold the
    # exponentials of h inside a function, which the cancel step refuses.
    return not branch.has(sp.Piecewise, sp.nan) and (
        _reduce_forward(frame, branch, budget)[0] or _cancels_to_zero(branch, budget))


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

    def rebuild(node, args):  # the node evaluated again, from its rebuilt arguments
        if node.is_Pow and args[0].is_Rational and args[1].is_Rational:
            base, exponent = args
            bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent.p)
            if bits > MAX_BITS:
                raise _TooLargeNumber
        return node.func(*args) if node.args else node

    try:
        return post_order(replaced, rebuild)
    except _TooLargeNumber:
        return None


class _TooLargeNumber(Exception):
    """A power of rationals past ``MAX_BITS``: ``safe_replace`` stops building."""
