"""Derivatives at kinks, made a stated convention instead of an accident of spelling.

SymPy's derivative of a ReLU depends on how it was written: ``diff(Max(0, a))`` is
``Heaviside(a)`` (1/2 at 0), ``diff((a + Abs(a))/2)`` is ``(1 + sign(a))/2`` (1/2
at 0), and ``diff(Piecewise((0, a < 0), (a, True)))`` is 1 at 0. symnet's rule for
a registered activation is the derivative *from the left* at every kink (for ReLU
that is 0, Bishop's and PyTorch's convention; for leaky ReLU it is the slope s; for
ELU, alpha (e^a - 1) for a < 0 and a after, it is alpha e^0 = alpha, as in PyTorch),
and ``DiracDelta`` terms, which vanish away from the kink, are dropped so they never
reach numeric code.

Every kink is a zero of some argument f(a): of a step ``Heaviside(f)``, of a
``Max``/``Min``/``Abs``/``sign`` written as steps, or of a ``Piecewise`` condition
``f < 0``. Taking the left derivative means knowing, at each zero, the sign f has
just left of it. symnet decides it, in this order:

1. f never falls (its slope is >= 0 everywhere, SymPy can tell): f < 0 just left of
   every zero; f never rises: f > 0 there. This covers a, -a, 1 - a, e^a - 1, a^3.
2. Otherwise it finds the zeros (``solveset``) and reads the sign just left of each
   from the first derivative of f that does not vanish there (f(a) ~ f^(k)(z)
   (a - z)^k / k!, so the sign is that of (-1)^k f^(k)(z)): 1 - a^2 rises through
   -1 and falls through +1.
3. Where neither works (infinitely many zeros, zeros SymPy cannot find), it raises a
   ``SymnetError`` rather than guess a side.

Examples
--------
>>> import sympy as sp
>>> a = sp.Symbol("a", real=True)
>>> for relu in (sp.Max(0, a), (a + sp.Abs(a)) / 2, sp.Piecewise((0, a < 0), (a, True))):
...     print(left_derivative(relu, a).subs(a, 0))
0
0
0
>>> elu = sp.Max(0, a) + sp.Min(0, sp.exp(a) - 1)      # ELU, alpha = 1: h'(0) = e^0 = 1
>>> left_derivative(elu, a).subs(a, 0)
1
"""

import sympy as sp

from ..errors import SymnetError

__all__ = ["left_derivative"]

# How many derivatives of a kink's argument are tried before its side is called unknown.
_MAX_ORDER = 8


def _drop_dirac(expression):
    return expression.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _never_falls(slope):
    """Whether ``slope`` is >= 0 for every a; a step inside it counts as any value >= 0."""
    steps = {step: sp.Dummy(nonnegative=True) for step in slope.atoms(sp.Heaviside)}
    return slope.xreplace(steps).is_nonnegative is True


def _monotone(argument, variable):
    """+1 if ``argument`` never falls, -1 if it never rises, None when SymPy cannot tell."""
    slope = _drop_dirac(sp.diff(argument, variable))
    if _never_falls(slope):
        return 1
    if _never_falls(-slope):
        return -1
    return None


def _sign_just_left(argument, variable, zero):
    """+1 or -1: the sign of ``argument`` just left of its zero ``zero`` (Taylor's rule)."""
    derivative = argument
    for order in range(1, _MAX_ORDER + 1):
        derivative = _drop_dirac(sp.diff(derivative, variable))
        value = derivative.subs(variable, zero)
        if value.has(sp.Heaviside):  # another kink at the same point: no Taylor series
            break
        value = sp.simplify((-1) ** order * value)
        if value.is_positive:
            return 1
        if value.is_negative:
            return -1
        if not value.is_zero:
            break
    raise SymnetError(
        f"cannot tell from which side the kink of {argument} at {variable} = {zero} is "
        f"approached; write the activation with Piecewise conditions such as {variable} < 0")


def _signs_just_left(argument, variable):
    """{zero: sign of ``argument`` just left of it} for each real zero of ``argument``."""
    zeros = sp.solveset(argument, variable, sp.S.Reals)
    if not isinstance(zeros, sp.FiniteSet):
        raise SymnetError(
            f"cannot locate the kinks of {argument} = 0 (SymPy finds {zeros}), so not tell from "
            f"which side each is approached; write the activation with Piecewise conditions "
            f"such as {variable} < 0")
    return {zero: _sign_just_left(argument, variable, zero) for zero in zeros}


def _left_value(argument, variable):
    """Heaviside(argument)'s value at a zero of ``argument``: its value just left of it.

    A number when every zero is approached from the same side; otherwise a Piecewise in
    ``variable`` that gives each zero its own value (1 - a^2: 0 at -1, 1 at +1).
    """
    direction = _monotone(argument, variable)
    if direction is not None:
        return 0 if direction > 0 else 1
    signs = _signs_just_left(argument, variable)
    values = {zero: 1 if sign > 0 else 0 for zero, sign in signs.items()}
    if len(set(values.values())) <= 1:
        return next(iter(values.values()), 0)
    zeros = sorted(values, key=lambda zero: float(zero))
    # each zero owns the stretch up to the midpoint to the next one; the last one, the rest
    pieces = [(values[low], variable <= (low + high) / 2) for low, high in zip(zeros, zeros[1:])]
    return sp.Piecewise(*pieces, (values[zeros[-1]], True))


def _left_step(argument, variable):
    """Heaviside(argument) with the value at each zero its value just left of the kink."""
    return sp.Heaviside(argument, _left_value(argument, variable))


def _left_closed(condition, variable):
    """Move each boundary point of a Piecewise condition to the side it comes from on the left.

    A boundary of ``f(a) < 0`` with f rising is approached from the left inside the
    condition, so the point joins it: ``f(a) <= 0``. Where f rises through some zeros
    and falls through others, the condition keeps its strict form and gains exactly the
    zeros it is approached from: ``f(a) < 0 | Eq(a, z)``.
    """
    def close(relation):
        difference = relation.lhs - relation.rhs
        inside_is_below = isinstance(relation, (sp.StrictLessThan, sp.LessThan))
        strict = (sp.Lt if inside_is_below else sp.Gt)(difference, 0)
        direction = _monotone(difference, variable)
        if direction is not None:
            left_is_below = direction > 0
            if inside_is_below == left_is_below:
                return (sp.Le if inside_is_below else sp.Ge)(difference, 0)
            return strict
        inside_sign = -1 if inside_is_below else 1
        joining = [sp.Eq(variable, zero) for zero, sign in
                   _signs_just_left(difference, variable).items() if sign == inside_sign]
        return sp.Or(strict, *joining)
    return condition.replace(lambda e: isinstance(e, sp.core.relational.Relational)
                             and not isinstance(e, (sp.Eq, sp.Ne)), close)


def _canonical(expression, variable):
    """Write Max, Min, Abs and sign with Heaviside steps, and Piecewise with left-closed pieces.

    A step's own value at 0 is dropped first: it never changes a derivative (the value
    at the kink is given again, from the left, after differentiating).
    """
    expression = expression.replace(
        lambda e: isinstance(e, sp.Heaviside) and len(e.args) > 1,
        lambda e: sp.Heaviside(e.args[0]))
    expression = expression.rewrite(sp.Heaviside)
    expression = expression.replace(
        sp.sign, lambda arg: 2 * _left_step(arg, variable) - 1)
    expression = expression.replace(
        lambda e: isinstance(e, sp.Piecewise),
        lambda e: sp.Piecewise(*[(piece, _left_closed(cond, variable)) for piece, cond in e.args]))
    return expression


def left_derivative(expression, variable):
    """d expression / d variable, taking the left derivative at kinks and dropping DiracDelta.

    Parameters
    ----------
    expression : sympy.Expr
    variable : sympy.Symbol

    Returns
    -------
    sympy.Expr
        Free of ``DiracDelta``; every ``Heaviside`` carries its value at 0.

    Raises
    ------
    SymnetError
        Where a kink's side cannot be told (see the module docstring).

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> leaky = sp.Max(a, a / 100)
    >>> left_derivative(leaky, a).subs(a, 0)
    1/100
    >>> left_derivative(sp.tanh(a), a)
    1 - tanh(a)**2
    >>> bump = sp.Max(0, 1 - a**2)                      # kinks at -1 (rising) and +1 (falling)
    >>> [left_derivative(bump, a).subs(a, z) for z in (-1, 1)]
    [0, -2]
    """
    derivative = _drop_dirac(sp.diff(_canonical(expression, variable), variable))
    return derivative.replace(
        lambda e: isinstance(e, sp.Heaviside),
        lambda e: _left_step(e.args[0], variable))
