"""Derivatives at kinks, made a stated convention instead of an accident of spelling.

SymPy's derivative of a ReLU depends on how it was written: ``diff(Max(0, a))`` is
``Heaviside(a)`` (1/2 at 0), ``diff((a + Abs(a))/2)`` is ``(1 + sign(a))/2`` (1/2
at 0), and ``diff(Piecewise((0, a < 0), (a, True)))`` is 1 at 0. symnet's rule for
a registered activation is the derivative *from the left* at every kink (for ReLU
that is 0, Bishop's and PyTorch's convention; for leaky ReLU it is the slope s),
and ``DiracDelta`` terms, which vanish away from the kink, are dropped so they
never reach numeric code.

Examples
--------
>>> import sympy as sp
>>> a = sp.Symbol("a", real=True)
>>> for relu in (sp.Max(0, a), (a + sp.Abs(a)) / 2, sp.Piecewise((0, a < 0), (a, True))):
...     print(left_derivative(relu, a).subs(a, 0))
0
0
0
"""

import sympy as sp

__all__ = ["left_derivative"]


def _increasing(argument, variable):
    """Whether ``argument`` increases with ``variable`` at its zero (assumed when unknown)."""
    slope = sp.diff(argument, variable)
    return not (slope.is_number and slope.is_negative)


def _left_step(argument, variable):
    """Heaviside(argument) with the value at 0 its value just left of the kink."""
    return sp.Heaviside(argument, 0 if _increasing(argument, variable) else 1)


def _left_closed(condition, variable):
    """Move each boundary point of a Piecewise condition to the side it comes from on the left.

    A boundary of ``f(a) < 0`` with f increasing is approached from the left
    inside the condition, so the point joins it: ``f(a) <= 0``.
    """
    def close(relation):
        difference = relation.lhs - relation.rhs
        inside_is_below = isinstance(relation, (sp.StrictLessThan, sp.LessThan))
        left_is_below = _increasing(difference, variable)
        if inside_is_below == left_is_below:
            return (sp.Le if inside_is_below else sp.Ge)(difference, 0)
        return (sp.Lt if inside_is_below else sp.Gt)(difference, 0)
    return condition.replace(lambda e: isinstance(e, sp.core.relational.Relational)
                             and not isinstance(e, (sp.Eq, sp.Ne)), close)


def _canonical(expression, variable):
    """Write Max, Min, Abs and sign with Heaviside steps, and Piecewise with left-closed pieces."""
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

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> leaky = sp.Max(a, a / 100)
    >>> left_derivative(leaky, a).subs(a, 0)
    1/100
    >>> left_derivative(sp.tanh(a), a)
    1 - tanh(a)**2
    """
    derivative = sp.diff(_canonical(expression, variable), variable)
    derivative = derivative.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return derivative.replace(
        lambda e: isinstance(e, sp.Heaviside),
        lambda e: _left_step(e.args[0], variable))
