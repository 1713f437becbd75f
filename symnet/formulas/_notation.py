"""Formulas printed back in the notation a person types: ``^`` for powers, Bishop's names.

``symnet.verify`` echoes the formula it read, the correct one and their
difference; SymPy's ``str`` would show Python's ``**`` and ``Max``, which the
user never wrote. ``plain`` prints what ``symnet.formulas.parser.parse_formula`` reads back
to the same expression:

>>> import sympy as sp
>>> from symnet import symbols as sym
>>> z, x = sym.activation_value(1, 1), sym.input_symbol(1)
>>> print(plain((1 - z**2) * x / sp.sqrt(x**2 + 1) + sp.Max(x, 0) + sp.Abs(x) + sp.E**x))
x_1*(1 - z_1^(1)^2)/sqrt(x_1^2 + 1) + exp(x_1) + abs(x_1) + max(0, x_1)
"""

import sympy as sp
from sympy.printing.str import StrPrinter

__all__ = ["plain"]


class _PlainPrinter(StrPrinter):
    """SymPy's text printer with ``^`` and the parser's function names."""

    def _print_Pow(self, expr, rational=False):
        # Only this node's own '**' is replaced: its children were printed by this
        # printer already. ^ has the precedence and associativity of ** in the parser.
        return super()._print_Pow(expr, rational).replace("**", "^")

    def _print_Max(self, expr):
        return "max(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Min(self, expr):
        return "min(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_Abs(self, expr):
        return "abs(%s)" % self._print(expr.args[0])

    def _print_Exp1(self, expr):
        return "e"

    def _print_exp(self, expr):
        return "exp(%s)" % self._print(expr.args[0])


_PRINTER = _PlainPrinter({"order": None})
_UNORDERED = _PlainPrinter({"order": "none"})


def plain(expression):
    """``expression`` as text in the formula notation (``z_1^(1)^2``, never ``**``).

    Terms are ordered as SymPy orders them; where that ordering fails (it evaluates
    numeric terms, and exp(exp(exp(exp(9)))) overflows), in the order they are stored.

    >>> from symnet.formulas.parser import parse_formula
    >>> plain(parse_formula("exp(exp(exp(exp(9)))) - y_1"))
    '-y_1 + exp(exp(exp(exp(9))))'
    """
    try:
        return _PRINTER.doprint(expression)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return _UNORDERED.doprint(expression)
