"""SymPy functions for the activations SymPy does not have, each with its derivative.

Each class is a ``sympy.Function`` with the derivative written in terms of
the function itself (``fdiff``), so a derivation shows sigma(a)(1 - sigma(a)) rather
than a tangle of exponentials; a textbook rewrite (used to verify the class, and
for ``evalf``); and LaTeX. Their stable NumPy implementations live in
``symnet.numerics``.

ReLU and leaky ReLU are not differentiable at 0. Their derivative is a Heaviside
step with an explicit value at 0 (``Heaviside(a, H0)``): 0 for ReLU by default,
the slope s for leaky ReLU. Their second derivative is taken as 0 everywhere (the
``DiracDelta`` at the kink never reaches numeric code).
"""

from functools import lru_cache

import sympy as sp

__all__ = ["sigmoid", "softplus", "relu_function", "leaky_relu_function"]


def _textbook_code(rewrite_to):
    """A printer method printing the textbook rewrite (for the math and mpmath printers)."""
    def print_rewritten(self, printer):
        return printer._print(self.rewrite(rewrite_to))
    return print_rewritten


class sigmoid(sp.Function):
    """The logistic function sigma(a) = 1 / (1 + exp(-a)).

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> sp.diff(sigmoid(a), a)
    (1 - sigmoid(a))*sigmoid(a)
    >>> sigmoid(0)
    1/2
    >>> sp.diff(sigmoid(a), a).subs(a, 0)
    1/4
    """

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.S.Half

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, a, **hints):
        return 1 / (1 + sp.exp(-a))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        if self.args[0].is_real:
            return True

    def _numpycode(self, printer):
        # exp(-log(1 + exp(-a))): the stable form, so a user's own lambdify of a
        # symnet expression neither overflows nor warns at a = -1000.
        arg = printer._print(self.args[0])
        return "{0}(-{1}(0, -({2})))".format(
            printer._module_format(printer._module + ".exp"),
            printer._module_format(printer._module + ".logaddexp"), arg)

    _scipycode = _numpycode
    _pythoncode = _mpmathcode = _textbook_code(sp.exp)

    def _latex(self, printer, exp=None):
        body = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\sigma^{%s}\left(%s\right)" % (
            exp, printer._print(self.args[0]))


class softplus(sp.Function):
    """softplus(a) = log(1 + exp(a)), whose derivative is the logistic sigma(a).

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> sp.diff(softplus(a), a)
    sigmoid(a)
    >>> softplus(0)
    log(2)
    """

    nargs = 1

    @classmethod
    def eval(cls, a):
        if a.is_zero:
            return sp.log(2)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, a, **hints):
        return sp.log(1 + sp.exp(a))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.log)._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _numpycode(self, printer):
        return "{0}(0, {1})".format(printer._module_format(printer._module + ".logaddexp"),
                                    printer._print(self.args[0]))

    _scipycode = _numpycode
    _pythoncode = _mpmathcode = _textbook_code(sp.log)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"{%s}^{%s}" % (body, exp)


@lru_cache(maxsize=None)
def relu_function(derivative_at_zero=0):
    """The ReLU class whose derivative at 0 is ``derivative_at_zero`` (0 by default).

    A separate class per convention keeps the convention inside every expression
    that contains the function, so SymPy's own ``diff`` honours it.

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> relu = relu_function()
    >>> sp.diff(relu(a), a)
    Heaviside(a, 0)
    >>> sp.diff(relu(a), a).subs(a, 0)
    0
    >>> relu(-3), relu(2)
    (0, 2)
    """
    at_zero = sp.nsimplify(derivative_at_zero)

    def eval(cls, a):
        if a.is_number and a.is_real:
            return sp.Max(0, a)

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], at_zero)

    def _eval_rewrite_as_Max(self, a, **hints):
        return sp.Max(0, a)

    def _eval_evalf(self, prec):
        return self.rewrite(sp.Max)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"{%s}^{%s}" % (body, exp)

    def _numpycode(self, printer):
        return "{0}({1}, 0)".format(printer._module_format(printer._module + ".maximum"),
                                    printer._print(self.args[0]))

    return type("relu", (sp.Function,), {
        "_numpycode": _numpycode, "_scipycode": _numpycode,
        "_pythoncode": _textbook_code(sp.Max), "_mpmathcode": _textbook_code(sp.Max),
        "nargs": 1, "eval": classmethod(eval), "fdiff": fdiff,
        "_eval_rewrite_as_Max": _eval_rewrite_as_Max, "_eval_evalf": _eval_evalf,
        "_eval_is_real": lambda self: self.args[0].is_real, "_latex": _latex,
        "derivative_at_zero": at_zero, "__module__": __name__,
    })


@lru_cache(maxsize=None)
def leaky_relu_function(slope=0.01):
    """The leaky ReLU class with the given slope for a < 0 (and derivative s at 0).

    Examples
    --------
    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> leaky = leaky_relu_function(0.25)
    >>> sp.diff(leaky(a), a)
    3*Heaviside(a, 0)/4 + 1/4
    >>> leaky(-4), leaky(4)
    (-1, 4)
    """
    s = sp.nsimplify(slope)

    def eval(cls, a):
        if a.is_number and a.is_real:
            return a if a > 0 else s * a

    def fdiff(self, argindex=1):
        # 1 for a > 0 and s for a <= 0, written as s + (1 - s) H(a) with H(0) = 0.
        return s + (1 - s) * sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, a, **hints):
        return sp.Max(a, s * a)

    def _eval_evalf(self, prec):
        return self.rewrite(sp.Max)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{LReLU}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"{%s}^{%s}" % (body, exp)

    def _numpycode(self, printer):
        arg = printer._print(self.args[0])
        return "{0}(({1}) > 0, ({1}), ({2})*({1}))".format(
            printer._module_format(printer._module + ".where"), arg, printer._print(s))

    return type("leaky_relu", (sp.Function,), {
        "_numpycode": _numpycode, "_scipycode": _numpycode,
        "_pythoncode": _textbook_code(sp.Max), "_mpmathcode": _textbook_code(sp.Max),
        "nargs": 1, "eval": classmethod(eval), "fdiff": fdiff,
        "_eval_rewrite_as_Max": _eval_rewrite_as_Max, "_eval_evalf": _eval_evalf,
        "_eval_is_real": lambda self: self.args[0].is_real, "_latex": _latex,
        "slope": s, "__module__": __name__,
    })
