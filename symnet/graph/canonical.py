"""SymPy's own products and sums, built directly when there is nothing to combine.

The exact Hessian builds about 2 W^2 products and sums of large expressions (the
R-operator's R{delta_j^(l)} times z_i^(l-1), w_kj times R{delta_k}, h' times a
back-sum). ``sp.Mul(a, b)`` runs SymPy's general ``flatten`` on each: it gathers
powers of equal bases, folds numbers, handles infinities, then sorts the factors
into SymPy's canonical order. Most of these products have nothing to gather: every
factor has a base of its own, so the result is just the factors in canonical order.
``mul`` and ``add`` build exactly that result (the same SymPy object: the same args
in the same order, so ``==`` and ``srepr`` agree) in a fraction of the time, and
hand every other case to ``sp.Mul`` / ``sp.Add`` unchanged:

    mul(*factors) is sp.Mul(*factors) when the factors (Muls opened) are a rational
    coefficient times factors with distinct bases, each a Symbol, a sum, a
    non-numeric power or a function application;
    add(*terms) is sp.Add(*terms) when the terms (Adds opened) are rational numbers
    and terms with distinct non-numeric parts.

Anything else -- a repeated base (x * x = x^2), a number times a single sum (the
2-arg rule 2 (x + 1) = 2 x + 2), like terms (x + x = 2 x), floats, infinities,
numeric powers, exp (whose base is E), non-commutative or matrix objects -- goes to
SymPy. The canonical order is SymPy's own: ``Basic.compare`` through
``sympy.core.basic._args_sortkey``, the key ``Mul.flatten`` and ``Add.flatten`` sort by.
tests/test_symbolic_scale.py checks both against ``sp.Mul`` / ``sp.Add`` on every
product and sum the Hessian of several networks builds, and on random expressions.

Examples
--------
>>> import sympy as sp
>>> x, y, z = sp.symbols("x y z")
>>> mul(2 * x * (y + 1), z), sp.Mul(2 * x * (y + 1), z)        # nothing to gather
(2*x*z*(y + 1), 2*x*z*(y + 1))
>>> mul(x * y, x), add(x * y, z, -3)                            # x * x goes to SymPy
(x**2*y, x*y + z - 3)
"""

import sympy as sp
from sympy.core.basic import _args_sortkey  # the key Mul.flatten and Add.flatten sort by

__all__ = ["mul", "add", "weighted_gram"]

_ONE, _ZERO = sp.S.One, sp.S.Zero
_PLAIN = (sp.Symbol, sp.Add, sp.Pow, sp.Function)  # kinds of factor with nothing hidden


def _factor_base(factor):
    """The base ``Mul.flatten`` gathers ``factor`` under, or None when SymPy must decide."""
    if not isinstance(factor, _PLAIN) or not factor.is_commutative:
        return None
    base, exponent = factor.as_base_exp()
    if factor.is_Pow:
        # numeric bases are folded into the coefficient; a base that is itself a power
        # may be re-evaluated when the power is rebuilt
        unevaluated = exponent is _ONE or exponent is _ZERO  # x**1 built with evaluate=False
        return None if base.is_Number or base.is_Pow or unevaluated else base
    return base if exponent is _ONE else None  # exp(a) is E**a: it gathers with E**b


def mul(*factors):
    """Exactly ``sp.Mul(*factors)``, without SymPy's general flatten when it would change nothing.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b, w = sp.symbols("a b w")
    >>> product = mul(1 - a ** 2, w * (a + b))
    >>> product, product == sp.Mul(1 - a ** 2, w * (a + b))
    (w*(1 - a**2)*(a + b), True)
    """
    if not all(isinstance(factor, sp.Expr) for factor in factors):
        return sp.Mul(*factors)  # Python numbers are sympified, other objects refused
    factors = [factor for factor in factors if factor is not _ONE]  # as sp.Mul drops them
    if len(factors) < 2:
        return factors[0] if factors else _ONE
    coefficient, parts, bases = _ONE, [], set()
    for factor in factors:
        if factor.is_Number:  # 2 (x + 1) = 2 x + 2 by SymPy's 2-arg rule
            return sp.Mul(*factors)
        for part in (factor.args if factor.is_Mul else (factor,)):
            if part.is_Rational:
                coefficient *= part
                continue
            base = _factor_base(part)
            if base is None or base in bases:
                return sp.Mul(*factors)
            bases.add(base)
            parts.append(part)
    if coefficient is _ZERO or (coefficient is not _ONE and len(parts) == 1 and parts[0].is_Add):
        return sp.Mul(*factors)  # 0 * (x + oo) and c * (x + 1) are SymPy's
    if not parts:
        return coefficient
    parts.sort(key=_args_sortkey)
    if coefficient is not _ONE:
        parts.insert(0, coefficient)
    return sp.Mul._from_args(parts, True) if len(parts) > 1 else parts[0]


def _term_key(term):
    """What ``Add.flatten`` collects ``term`` under (its factors without the coefficient)."""
    if term.is_Mul:
        args = term.args
        return args[1:] if args[0].is_Number else args
    return (term,)


def add(*terms):
    """Exactly ``sp.Add(*terms)``, without SymPy's general flatten when there are no like terms.

    Examples
    --------
    >>> import sympy as sp
    >>> a, b, w = sp.symbols("a b w")
    >>> total = add(w * a, 2 * b, (a + 1) * w, 3)
    >>> total, total == sp.Add(w * a, 2 * b, (a + 1) * w, 3)
    (a*w + 2*b + w*(a + 1) + 3, True)
    """
    if not all(isinstance(term, sp.Expr) for term in terms):
        return sp.Add(*terms)  # Python numbers are sympified, other objects refused
    terms = [term for term in terms if term is not _ZERO]  # as sp.Add drops them
    if len(terms) < 2:
        return terms[0] if terms else _ZERO
    if len(terms) == 2 and (terms[0].is_Rational or terms[1].is_Rational):
        return sp.Add(*terms)  # SymPy's 2-arg path keeps a number and a product as they come
    constant, kept, keys = _ZERO, [], set()
    pending = list(terms)
    for term in pending:
        if term.is_Add:
            pending.extend(term.args)
            continue
        if term.is_Rational:
            constant += term
            continue
        if not isinstance(term, (sp.Mul, *_PLAIN)) or not term.is_commutative or (
                term.is_Pow and term.base.is_Number):
            return sp.Add(*terms)
        if term.is_Mul and term.args[0].is_Number and not term.args[0].is_Rational:
            return sp.Add(*terms)  # a float coefficient: SymPy's
        key = _term_key(term)
        if key in keys:
            return sp.Add(*terms)  # like terms are collected: x + 2 x = 3 x
        keys.add(key)
        kept.append(term)
    if not kept:
        return constant
    kept.sort(key=_args_sortkey)
    if constant is not _ZERO:
        kept.insert(0, constant)
    return sp.Add._from_args(kept, True) if len(kept) > 1 else kept[0]


def weighted_gram(columns, weights):
    """The symmetric matrix G_pq = sum_km B_kp Lambda_km B_mq from B's columns, in named form.

    ``columns[p]`` is column p of B (its K entries), ``weights`` the K x K SymPy matrix
    Lambda: the Gauss-Newton matrix B^T Lambda B of any network. Lambda B is formed
    first (nothing to do for Lambda = I), then each entry of the upper triangle once
    (G is symmetric), with ``mul`` and ``add`` and no product by a zero: SymPy's
    ``B.T * Lambda * B`` builds all K^2 W + K W^2 products with its general flatten.

    Examples
    --------
    >>> import sympy as sp
    >>> b11, b12, b21, b22, l = sp.symbols("b11 b12 b21 b22 l")
    >>> G = weighted_gram([[b11, b21], [b12, b22]], sp.Matrix([[1, 0], [0, l]]))
    >>> G[0, 1], G[1, 0] == G[0, 1]
    (b11*b12 + b21*b22*l, True)
    """
    K = len(columns[0]) if columns else 0
    if weights == sp.eye(K):
        weighted = columns
    else:
        weighted = [[add(*[mul(weights[k, m], column[m]) for m in range(K)
                           if weights[k, m] != 0 and column[m] != 0]) for k in range(K)]
                    for column in columns]
    W, upper = len(columns), {}
    for p in range(W):
        for q in range(p, W):
            upper[p, q] = add(*[mul(b, c) for b, c in zip(columns[p], weighted[q])
                                if b != 0 and c != 0])
    return sp.ImmutableMatrix(W, W, [upper[min(p, q), max(p, q)]
                                     for p in range(W) for q in range(W)])

