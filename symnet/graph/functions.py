"""SymPy functions for the activations SymPy does not have, each with its derivative.

Each class is a ``sympy.Function`` with the derivative written in terms of
the function itself (``fdiff``), so a derivation shows sigma(a)(1 - sigma(a)) rather
than a tangle of exponentials; a textbook rewrite (used to verify the class, and
for ``evalf``); and LaTeX. Their stable NumPy implementations live in
``symnet.graph.numerics``.

``softmax(k, a_1, ..., a_K)`` is the k-th softmax output as one function (not
exp(a_k) / sum_m exp(a_m), which overflows to NaN past a_k = 709), so the direct
route differentiates it by its own rule y_k (delta_km - y_m) and prints it shifted
by the maximum logit. ``sech2``, ``sigmoid_residual`` and ``tanh_residual`` are
the stable forms the rewrites of ``symnet.graph.rewriting`` put in place of
1 - tanh(a)^2, sigma(a) - t and tanh(a) - t just before printing: each prints as
a call to its kernel in ``symnet.graph.numerics`` and means its textbook form elsewhere.

ReLU and leaky ReLU are not differentiable at 0. Their derivative is a Heaviside
step with an explicit value at 0 (``Heaviside(a, H0)``): 0 for ReLU by default,
the slope s for leaky ReLU. Their second derivative is taken as 0 everywhere (the
``DiracDelta`` at the kink never reaches numeric code).
"""

from functools import lru_cache

import sympy as sp
from sympy.core.function import ArgumentIndexError

__all__ = ["sigmoid", "softplus", "softmax", "log_softmax", "softmax_jacobian_in", "relu_function",
           "leaky_relu_function",
           "sech2", "sigmoid_residual", "tanh_residual"]


def _textbook_code(rewrite_to):
    """A printer method printing the textbook rewrite (for the math and mpmath printers)."""
    def print_rewritten(self, printer):
        # Parenthesised: the printer places this text as one atom (softmax(...)**2 would
        # otherwise print as exp(a)/(exp(a) + exp(b))**2, squaring the denominator only).
        return "(" + printer._print(self.rewrite(rewrite_to)) + ")"
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
        # the stable kernel (e / (1 + e) with e = exp(-|a|)), so a user's own lambdify of
        # a symnet expression neither overflows nor warns at a = -1000
        return "{0}({1})".format(printer._module_format("symnet.graph.numerics.stable_sigmoid"),
                                 printer._print(self.args[0]))

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


class _PerClass(sp.Function):
    """f(k, a_1, ..., a_K): a function of the class index k and the K logits, as softmax is.

    What softmax and log_softmax share, declared once: k must be an integer 1..K, one
    class gives the constant ``one_class``, and the derivative in a_m is
    ``derivative_factor`` times (delta_km - softmax_m(a)) (y_k for softmax, 1 for its log).
    """

    one_class = None

    @classmethod
    def eval(cls, k, *logits):
        if not (k.is_Integer and 1 <= k <= len(logits)):
            raise ValueError(f"{cls.__name__}(k, a_1, ..., a_K) needs an integer 1 <= k <= K; "
                             f"got {k}")
        if len(logits) == 1:
            return cls.one_class

    def derivative_factor(self):
        raise NotImplementedError

    def fdiff(self, argindex=1):
        if argindex == 1:  # the index k is not a variable
            raise ArgumentIndexError(self, argindex)
        k, logits = self.args[0], self.args[1:]
        m = argindex - 1
        return self.derivative_factor() * (int(k == m) - softmax(m, *logits))

    def _eval_evalf(self, prec):
        return self.rewrite(sp.exp)._eval_evalf(prec)

    def _eval_is_real(self):
        if all(a.is_real for a in self.args[1:]):
            return True

    _pythoncode = _mpmathcode = _textbook_code(sp.exp)


class softmax(_PerClass):
    """The k-th softmax output softmax(k, a_1, ..., a_K) = exp(a_k) / sum_m exp(a_m).

    Its derivative is written in terms of itself, y_k (delta_km - y_m); for NumPy it
    prints as ``symnet.graph.numerics.softmax_entry``, which shifts by the largest logit, so
    it neither overflows nor returns NaN at a_k = 800.

    Examples
    --------
    >>> import sympy as sp
    >>> a1, a2 = sp.symbols("a_1 a_2", real=True)
    >>> sp.diff(softmax(1, a1, a2), a1)
    (1 - softmax(1, a_1, a_2))*softmax(1, a_1, a_2)
    >>> sp.diff(softmax(1, a1, a2), a2)
    -softmax(1, a_1, a_2)*softmax(2, a_1, a_2)
    >>> softmax(1, a1, a2).rewrite(sp.exp)
    exp(a_1)/(exp(a_1) + exp(a_2))
    >>> softmax(1, a1)                                  # one class: always 1
    1
    """

    one_class = sp.S.One

    def derivative_factor(self):
        return self

    def _eval_rewrite_as_exp(self, k, *logits, **hints):
        return sp.exp(logits[int(k) - 1]) / sp.Add(*[sp.exp(a) for a in logits])

    def _eval_is_positive(self):
        if all(a.is_real for a in self.args[1:]):
            return True

    def _numpycode(self, printer):
        return "{0}({1})".format(printer._module_format("symnet.graph.numerics.softmax_entry"),
                                 ", ".join(printer._print(a) for a in self.args))

    _scipycode = _numpycode

    def _latex(self, printer, exp=None):
        body = r"\operatorname{softmax}_{%s}\left(%s\right)" % (
            printer._print(self.args[0]), ", ".join(printer._print(a) for a in self.args[1:]))
        return body if exp is None else r"{%s}^{%s}" % (body, exp)


class log_softmax(_PerClass):
    """log softmax_k(a_1, ..., a_K) = a_k - log sum_m exp(a_m), as one function.

    Cross-entropy with softmax outputs is sum_k t_k (-log_softmax(k, a)): written with
    this function it never forms log(y_k) of a y_k that underflows to 0. Its derivative
    is delta_km - softmax_m(a); for NumPy it prints as ``-symnet.graph.numerics.neg_log_softmax``
    of the stacked logits (shifted by the largest one).

    Examples
    --------
    >>> import sympy as sp
    >>> a1, a2 = sp.symbols("a_1 a_2", real=True)
    >>> sp.diff(log_softmax(1, a1, a2), a1)
    1 - softmax(1, a_1, a_2)
    >>> sp.diff(log_softmax(1, a1, a2), a2)
    -softmax(2, a_1, a_2)
    >>> float(sp.lambdify([a1, a2], log_softmax(2, a1, a2), "numpy")(800.0, 0.0))   # -800
    -800.0
    """

    one_class = sp.S.Zero

    def derivative_factor(self):
        return sp.S.One

    def _eval_rewrite_as_exp(self, k, *logits, **hints):
        return logits[int(k) - 1] - sp.log(sp.Add(*[sp.exp(a) for a in logits]))

    def _numpycode(self, printer):
        numpy = printer._module
        stacked = "{0}({1}(*({2},)), axis=-1)".format(
            printer._module_format(numpy + ".stack"),
            printer._module_format(numpy + ".broadcast_arrays"),
            ", ".join(f"{printer._module_format(numpy + '.asarray')}({printer._print(a)}, "
                      f"dtype=float)" for a in self.args[1:]))
        return "(-{0}({1})[..., {2}])".format(
            printer._module_format("symnet.graph.numerics.neg_log_softmax"), stacked,
            int(self.args[0]) - 1)

    _scipycode = _numpycode

    def _latex(self, printer, exp=None):
        body = r"\log \operatorname{softmax}_{%s}\left(%s\right)" % (
            printer._print(self.args[0]), ", ".join(printer._print(a) for a in self.args[1:]))
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


def softmax_jacobian_in(outputs, logits):
    """dy_k/da_m = y_k (delta_km - y_m) (K x K), softmax's own rule written in named outputs y.

    Examples
    --------
    >>> import sympy as sp
    >>> y, a = sp.symbols("y_1 y_2"), sp.symbols("a_1 a_2")
    >>> softmax_jacobian_in(y, a)
    Matrix([
    [y_1*(1 - y_1),     -y_1*y_2],
    [     -y_1*y_2, y_2*(1 - y_2)]])
    """
    named = {softmax(k, *logits): y for k, y in enumerate(outputs, start=1)}
    K = len(logits)
    return sp.Matrix(K, K, lambda k, m: sp.diff(softmax(k + 1, *logits), logits[m]).xreplace(named))


def _kernel_function(name, textbook, latex, doc):
    """A SymPy function printed for NumPy as ``symnet.graph.numerics.<name>(...)``, else as ``textbook``.

    ``textbook(*args)`` is the expression it stands for: its derivative, ``evalf`` and
    the mpmath and math printers use it, so it is exact everywhere and stable in NumPy.
    """
    def _numpycode(self, printer):
        return "{0}({1})".format(printer._module_format("symnet.graph.numerics." + name),
                                 ", ".join(printer._print(a) for a in self.args))

    def textbook_form(self):
        return textbook(*self.args)

    def fdiff(self, argindex=1):
        dummies = [sp.Dummy() for _ in self.args]
        derivative = sp.diff(textbook(*dummies), dummies[argindex - 1])
        return derivative.xreplace(dict(zip(dummies, self.args)))

    def _print_textbook(self, printer):
        return printer._print(textbook(*self.args))

    def _latex(self, printer, exp=None):
        body = r"%s\left(%s\right)" % (latex, ", ".join(printer._print(a) for a in self.args))
        return body if exp is None else r"{%s}^{%s}" % (body, exp)

    return type(name, (sp.Function,), {
        "__doc__": doc, "__module__": __name__, "nargs": textbook.__code__.co_argcount,
        "textbook": textbook_form, "fdiff": fdiff, "_latex": _latex,
        "_eval_evalf": lambda self, prec: textbook(*self.args)._eval_evalf(prec),
        "_eval_is_real": lambda self: True if all(a.is_real for a in self.args) else None,
        "_numpycode": _numpycode, "_scipycode": _numpycode,
        "_pythoncode": _print_textbook, "_mpmathcode": _print_textbook,
    })


sech2 = _kernel_function(
    "sech_squared", lambda a: 1 - sp.tanh(a) ** 2, r"\operatorname{sech}^2",
    """tanh'(a) = 1 - tanh(a)^2, printed as ``symnet.graph.numerics.sech_squared``.

    >>> import sympy as sp
    >>> a = sp.Symbol("a", real=True)
    >>> sech2(a).textbook()
    1 - tanh(a)**2
    >>> float(sp.lambdify(a, sech2(a), "numpy")(20.0))      # 1 - tanh(20)**2 gives 0.0
    1.6993417021166355e-17
    """)
sigmoid_residual = _kernel_function(
    "sigmoid_residual", lambda a, t: sigmoid(a) - t, r"r_{\sigma}",
    """sigma(a) - t, printed as ``symnet.graph.numerics.sigmoid_residual`` (exact for t = 0 or 1).

    >>> import sympy as sp
    >>> a, t = sp.symbols("a t", real=True)
    >>> sigmoid_residual(a, t).textbook()
    -t + sigmoid(a)
    >>> float(sp.lambdify((a, t), sigmoid_residual(a, t), "numpy")(40.0, 1.0))
    -4.248354255291589e-18
    """)
tanh_residual = _kernel_function(
    "tanh_residual", lambda a, t: sp.tanh(a) - t, r"r_{\tanh}",
    """tanh(a) - t, printed as ``symnet.graph.numerics.tanh_residual`` (exact for t = +-1).

    >>> import sympy as sp
    >>> a, t = sp.symbols("a t", real=True)
    >>> tanh_residual(a, t).textbook()
    -t + tanh(a)
    """)


def _kinked_class(name, latex_name, textbook, derivative, numpycode, at_number=None, **constants):
    """The SymPy class of a kinked activation (ReLU, leaky ReLU), declared once for both.

    ``textbook(a)`` is its ``Max`` form (for ``rewrite(Max)``, ``evalf`` and the math and
    mpmath printers), ``at_number(a)`` its value at a real number (``textbook`` by
    default), ``derivative(a)`` its derivative (a Heaviside step carrying its value at
    0), ``numpycode(arg)`` the NumPy text for the printed argument ``arg``; ``constants``
    become class attributes (the convention it was built with).
    """
    at_number = at_number or textbook

    def eval(cls, a):
        if a.is_number and a.is_real:
            return at_number(a)

    def _latex(self, printer, exp=None):
        body = r"%s\left(%s\right)" % (latex_name, printer._print(self.args[0]))
        return body if exp is None else r"{%s}^{%s}" % (body, exp)

    def _numpycode(self, printer):
        return numpycode(printer, printer._print(self.args[0]))

    return type(name, (sp.Function,), {
        "_numpycode": _numpycode, "_scipycode": _numpycode,
        "_pythoncode": _textbook_code(sp.Max), "_mpmathcode": _textbook_code(sp.Max),
        "nargs": 1, "eval": classmethod(eval),
        "fdiff": lambda self, argindex=1: derivative(self.args[0]),
        "_eval_rewrite_as_Max": lambda self, a, **hints: textbook(a),
        "_eval_evalf": lambda self, prec: textbook(self.args[0])._eval_evalf(prec),
        "_eval_is_real": lambda self: self.args[0].is_real, "_latex": _latex,
        "__module__": __name__, **constants,
    })


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
    return _kinked_class(
        "relu", r"\operatorname{ReLU}", lambda a: sp.Max(0, a),
        lambda a: sp.Heaviside(a, at_zero),
        lambda printer, arg: "{0}({1}, 0)".format(
            printer._module_format(printer._module + ".maximum"), arg),
        derivative_at_zero=at_zero)


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
    return _kinked_class(
        "leaky_relu", r"\operatorname{LReLU}", lambda a: sp.Max(a, s * a),
        # 1 for a > 0 and s for a <= 0, written as s + (1 - s) H(a) with H(0) = 0.
        lambda a: s + (1 - s) * sp.Heaviside(a, 0),
        lambda printer, arg: "{0}(({1}) > 0, ({1}), ({2})*({1}))".format(
            printer._module_format(printer._module + ".where"), arg, printer._print(s)),
        at_number=lambda a: a if a > 0 else s * a, slope=s)
