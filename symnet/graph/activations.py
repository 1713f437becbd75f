"""The activation table: one entry per activation, declared once.

Each ``Activation`` holds the four faces of an activation h: its SymPy form
h(a), its derivative h'(a) (and h''(a)), its LaTeX name, and a numerically stable
NumPy implementation of all three. Everything else in symnet (the expression
graph, the delta recursion, the compiled code, the checks) reads this table.

| name        | h(a)              | h'(a)                      | at a kink            |
|-------------|-------------------|----------------------------|----------------------|
| sigmoid     | 1 / (1 + e^-a)    | sigma(a) (1 - sigma(a))    |                      |
| tanh        | tanh(a)           | 1 - tanh(a)^2              |                      |
| relu        | max(0, a)         | 1 for a > 0, 0 for a < 0   | h'(0) = 0 (settable) |
| leaky_relu  | a or s a          | 1 for a > 0, s for a < 0   | h'(0) = s            |
| softplus    | log(1 + e^a)      | sigma(a)                   |                      |
| linear      | a                 | 1                          |                      |
| softmax     | e^a_k / sum e^a_m | y_k (delta_km - y_m)       | output layer only    |

Why ReLU'(0) = 0: it is Bishop's convention and PyTorch's; ``jnp.maximum`` gives
1/2 and SymPy's ``diff(Max(0, a))`` is ``Heaviside(a)``, which is 1/2 at 0. Choose
another value with ``activation("relu", derivative_at_zero=0.5)``.

Examples
--------
>>> act = activation("tanh")
>>> act.name, act.latex
('tanh', '\\\\tanh')
>>> float(act.derivative_numpy(1.0))  # tanh'(1)
0.419974341614026
>>> float(activation("relu").derivative_numpy(0.0))
0.0
>>> float(activation("relu", derivative_at_zero=0.5).derivative_numpy(0.0))
0.5
"""

import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import sympy as sp

from ..errors import SymnetError
from .functions import (leaky_relu_function, relu_function, sech2, sigmoid,
                        softplus)
from .kinks import left_derivative
from .numerics import leaky_relu, relu, stable_sigmoid, stable_softplus
from .rewriting import stable_form, stable_lambdify

__all__ = ["Activation", "activation", "register_activation", "known_activations", "value_bound"]

_A = sp.Symbol("a", real=True)
_Z = sp.Symbol("z", real=True)
_S = sp.Symbol("s", real=True)   # the slope h'(a), where h'' is written in it


@dataclass(frozen=True)
class Activation:
    """One row of the activation table.

    Attributes
    ----------
    name : str
        The name used in ``MLP(..., hidden=name)``.
    function : callable
        SymPy expression builder, ``function(a) -> h(a)``; SymPy's ``diff`` of it
        gives the same derivative as ``derivative``.
    derivative, second_derivative : sympy.Expr
        h'(a) and h''(a) in the variable ``a`` (h'' is 0 away from kinks for ReLU).
    latex : str
        The LaTeX name of h.
    numpy, derivative_numpy, second_derivative_numpy : callable
        Stable NumPy implementations of h, h', h''.
    kinks : tuple
        Points where h is not differentiable (empty for smooth activations).
    analytic : bool
        True when h is analytic, so complex-step differentiation is valid.
    elementwise : bool
        False only for softmax, which couples the units of its layer.

    Examples
    --------
    >>> sig = activation("sigmoid")
    >>> sig.derivative                      # written in terms of itself
    (1 - sigmoid(a))*sigmoid(a)
    >>> float(sig.derivative_numpy(0.0))    # sigma'(0) = 1/4, its maximum
    0.25
    >>> relu = activation("relu")
    >>> relu.kinks, relu.kink_convention, relu.analytic
    ((0,), "h'(0) = 0", False)
    """

    name: str
    function: Callable
    derivative: sp.Expr
    second_derivative: sp.Expr
    latex: str
    numpy: Callable
    derivative_numpy: Callable
    second_derivative_numpy: Callable
    kinks: tuple = ()
    kink_convention: str = ""
    analytic: bool = True
    elementwise: bool = True
    parameters: dict = field(default_factory=dict)
    derivative_numpy_az: Callable = None
    second_derivative_numpy_az: Callable = None
    second_derivative_numpy_azs: Callable = None   # of (a, z, s = h'(a)), or None

    @property
    def variable(self):
        """The SymPy symbol ``a`` in which ``derivative`` is written."""
        return _A

    def derivative_at(self, a):
        """h'(a) as a SymPy expression of the argument ``a``.

        >>> import sympy as sp
        >>> z = sp.Symbol("z")
        >>> activation("sigmoid").derivative_at(z)
        (1 - sigmoid(z))*sigmoid(z)
        """
        return self.derivative.xreplace({_A: a})

    def second_derivative_at(self, a):
        """h''(a) as a SymPy expression of the argument ``a``."""
        return self.second_derivative.xreplace({_A: a})

    def __repr__(self):
        extra = "".join(f", {k}={v}" for k, v in self.parameters.items())
        return f"Activation({self.name!r}{extra})"


_BOUNDS = {}   # id(row) -> (row, bound): rows are cached, so each is derived once
_BOUND_MAX_OPS = 12   # tanh, sigmoid and their kin; larger expressions are always checked


def value_bound(act):
    """sup |h(a)| over the reals when SymPy proves it finite (tanh: 1, sigmoid: 1), else None.

    Derived from the row's SymPy expression (``sympy.calculus.util.function_range``) the
    first time it is asked for. The forward pass uses it to skip overflow checks that
    cannot fail: a bounded h of a finite a is finite, and the next layer's pre-activation
    is then at most sum_i |w_ji| sup|h| + |b_j| in magnitude.

    >>> value_bound(activation("tanh")), value_bound(activation("relu"))
    (1.0, None)
    """
    known = _BOUNDS.get(id(act))
    if known is not None and known[0] is act:
        return known[1]
    bound = None
    h = act.function(_A) if act.elementwise else None
    # SymPy's range finding can take long on a large expression: the bound is an
    # optimisation (without it every check runs), so only small expressions are tried
    if h is not None and sp.count_ops(h) <= _BOUND_MAX_OPS:
        from sympy.calculus.util import function_range
        for form in (h, h.rewrite(sp.exp)):
            try:
                values = function_range(form, _A, sp.S.Reals)
            except Exception:   # SymPy could not decide (NotImplementedError and others)
                continue
            ends = (abs(values.inf), abs(values.sup)) if isinstance(values, sp.Interval) else ()
            if ends and all(end.is_finite for end in ends):
                bound = float(max(ends))
            break
    _BOUNDS[id(act)] = (act, bound)
    return bound


def _lambdified(expr):
    """A NumPy function of ``a`` for a SymPy expression, with float64 output of a's shape.

    Printed in stable form (``symnet.graph.rewriting``): sigma(a)(1 - sigma(a)) as
    sigma(a) sigma(-a), 1 - tanh(a)^2 as sech2(a), so slopes keep their digits where
    the output saturates.
    """
    if expr.is_number:  # lambdify returns a scalar for a constant: broadcast it
        value = float(expr)
        return lambda a: np.full(np.shape(a), value)
    return stable_lambdify(_A, expr)


def value_form(expr, h):
    """``expr`` (h' or h'') in stable form with h(a) named z: the (a, z) form the engine runs.

    >>> value_form(activation("sigmoid").derivative, sigmoid)
    z*sigmoid(-a)
    """
    return stable_form(expr).xreplace({h(_A): _Z})


def _lambdified_az(expr, h):
    """A NumPy function of (a, z = h(a)): h' and h'' reuse z where that keeps every digit.

    The stable form is taken first, then h(a) is replaced by z: sigma' = z sigma(-a),
    tanh' = sech2(a) (not 1 - z**2, which is 0 wherever tanh(a) rounds to +-1; computed
    in place, sech2 costs less than the textbook form's temporaries), tanh'' = -2 z sech2(a).
    """
    in_z = value_form(expr, h)
    if in_z.is_number:
        value = float(in_z)
        return lambda a, z: np.full(np.shape(a), value)
    fn = stable_lambdify((_A, _Z), in_z)
    if _A in in_z.free_symbols and _Z in in_z.free_symbols:
        return fn
    return (lambda a, z: fn(a, None)) if _A in in_z.free_symbols else (lambda a, z: fn(None, z))


def _lambdified_azs(first, second, h):
    """h''(a) as a NumPy function of (a, z, s) with s = h'(a), where h'' contains h'; else None.

    The engine computes h'(a) before h''(a); where the stable form of h'' has the stable
    form of h' as a factor (tanh'' = -2 z sech2(a), the slope sech2(a) itself), h'' is
    written in the slope s already computed, not evaluated again (for tanh: one cosh,
    not two). Derived from the two SymPy derivatives, so a registered activation gets
    it too where it applies.

    >>> fn = _lambdified_azs(activation("tanh").derivative, activation("tanh").second_derivative,
    ...                      sp.tanh)
    >>> float(fn(np.array(0.5), np.array(0.25), np.array(2.0)))    # -2 z s
    -1.0
    """
    slope, curvature = value_form(first, h), value_form(second, h)
    if slope.is_number or slope.is_Symbol:  # nothing to reuse: h' is a constant, a or z
        return None
    in_slope = curvature.xreplace({slope: _S})
    if _S not in in_slope.free_symbols:
        return None
    return stable_lambdify((_A, _Z, _S), in_slope)


def _from_sympy(name, h, latex, numpy_h, *, kinks=(), convention="", analytic=True,
                parameters=None):
    """Build a table row from a SymPy function class (or builder) and its NumPy form."""
    first = sp.diff(h(_A), _A)
    second = sp.diff(first, _A).replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return Activation(
        name=name, function=h, derivative=first, second_derivative=second, latex=latex,
        numpy=numpy_h, derivative_numpy=_lambdified(first),
        second_derivative_numpy=_lambdified(second), kinks=kinks,
        kink_convention=convention, analytic=analytic, parameters=parameters or {},
        derivative_numpy_az=_lambdified_az(first, h),
        second_derivative_numpy_az=_lambdified_az(second, h),
        second_derivative_numpy_azs=_lambdified_azs(first, second, h),
    )


def _identity(a):
    return a


def _softmax_not_elementwise(*_):
    raise SymnetError("softmax couples the units of a layer; it has no elementwise form")


def _exact_number(value, what):
    """A real number as an exact SymPy number; text is refused (nsimplify would parse it)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, sp.Number)) \
            or not np.isfinite(float(value)):
        raise SymnetError(f"{what} must be a finite real number; got {value!r}")
    return sp.nsimplify(value)


def _make_relu(derivative_at_zero=0):
    value = _exact_number(derivative_at_zero, "relu's derivative at 0")
    if not (0 <= value <= 1):
        raise SymnetError(f"relu's derivative at 0 must lie in [0, 1]; got {derivative_at_zero}")
    return _from_sympy(
        "relu", relu_function(value), r"\operatorname{ReLU}", relu, kinks=(0,),
        convention=f"h'(0) = {value}", analytic=False,
        parameters={"derivative_at_zero": value} if value != 0 else {},
    )


def _make_leaky_relu(slope=0.01):
    s = _exact_number(slope, "leaky_relu's slope")
    if not (0 <= s < 1):
        raise SymnetError(f"leaky_relu's slope must lie in [0, 1); got {slope}")
    return _from_sympy(
        "leaky_relu", leaky_relu_function(s), r"\operatorname{LReLU}",
        lambda a: leaky_relu(a, float(s)), kinks=(0,), convention=f"h'(0) = {s} (the slope)",
        analytic=False, parameters={"slope": s},
    )


def _make_softmax():
    return Activation(
        name="softmax", function=_softmax_not_elementwise, derivative=sp.nan,
        second_derivative=sp.nan, latex=r"\operatorname{softmax}", numpy=_softmax_not_elementwise,
        derivative_numpy=_softmax_not_elementwise,
        second_derivative_numpy=_softmax_not_elementwise, elementwise=False,
    )


# The table. A builder per name, so parameterised rows (relu's convention,
# leaky_relu's slope) are made on request; fixed rows are built once.
_BUILDERS = {
    "sigmoid": lambda: _from_sympy("sigmoid", sigmoid, r"\sigma", stable_sigmoid),
    "tanh": lambda: _from_sympy("tanh", sp.tanh, r"\tanh", np.tanh),
    "relu": _make_relu,
    "leaky_relu": _make_leaky_relu,
    "softplus": lambda: _from_sympy("softplus", softplus, r"\operatorname{softplus}",
                                    stable_softplus),
    "linear": lambda: _from_sympy("linear", _identity, r"\operatorname{id}",
                                  lambda a: a),
    "softmax": _make_softmax,
}
_ALIASES = {"logistic": "sigmoid", "identity": "linear", "lrelu": "leaky_relu"}
_CUSTOM = {}


def known_activations():
    """The names ``activation`` accepts, built-in first, then registered ones.

    Examples
    --------
    >>> known_activations()[:4]
    ('sigmoid', 'tanh', 'relu', 'leaky_relu')
    """
    return tuple(_BUILDERS) + tuple(_CUSTOM)


def activation(name, **parameters):
    """The table row for ``name``; ``parameters`` for relu and leaky_relu.

    Parameters
    ----------
    name : str or Activation
        One of ``known_activations`` (``"logistic"`` and ``"identity"`` are
        accepted as aliases), or an ``Activation``, returned as it is.
    **parameters
        ``derivative_at_zero`` (relu only): the value used for ReLU'(0), in [0, 1];
        0 by default (Bishop, PyTorch). ``slope`` (leaky_relu only): the slope s
        for a < 0, in [0, 1); 0.01 by default. The derivative at 0 is s.

    Examples
    --------
    >>> activation("leaky_relu", slope=0.1)
    Activation('leaky_relu', slope=1/10)
    >>> activation("tanh") is activation("tanh")     # rows are built once, then cached
    True
    >>> activation("sigmod")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: unknown activation 'sigmod'; known: sigmoid, tanh, relu, leaky_relu, softplus, linear, softmax... (or register your own with symnet.register_activation)
    """
    if isinstance(name, Activation):
        if parameters:
            raise SymnetError("parameters are given with a name, not with an Activation")
        return name
    if not isinstance(name, str):
        raise SymnetError(f"an activation is a name or an Activation; got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key in _CUSTOM:
        if parameters:
            raise SymnetError(f"activation {name!r} takes no parameters")
        return _CUSTOM[key]
    if key not in _BUILDERS:
        raise SymnetError(
            f"unknown activation {name!r}; known: {', '.join(known_activations())} "
            "(or register your own with symnet.register_activation)")
    return _cached_row(key, parameters)


# Built rows, so that a row is derived and lambdified once: keyed by the parameters as
# given (with their types: True is not 1 here) and by the row's exact parameter values,
# so activation("leaky_relu", slope=0.1) is activation("leaky_relu", slope=sympy.Rational(1, 10)).
_ROWS = {}


def _cached_row(key, parameters):
    given = (key, tuple(sorted((p, type(v).__name__, v) for p, v in parameters.items())))
    try:
        if given in _ROWS:
            return _ROWS[given]
    except TypeError:        # an unhashable value: build the row, which judges the value
        given = None
    try:
        row = _BUILDERS[key](**parameters)
    except TypeError:
        raise SymnetError(
            f"activation {key!r} got unexpected parameters {sorted(parameters)}") from None
    row = _ROWS.setdefault((key, tuple(sorted(row.parameters.items()))), row)
    if given is not None:
        _ROWS[given] = row
    return row


def register_activation(name, expression, variable, *, latex=None):
    """Add an activation given as a SymPy expression of one variable.

    The derivative is SymPy's, made safe for numeric code: at a kink (a Heaviside
    step, a ``sign``, a ``Max``/``Min`` or ``Piecewise`` boundary) it takes the
    derivative from the left, so a ReLU written any way has derivative 0 at 0,
    as the built-in one does; ``DiracDelta`` terms (zero away from the kink) are
    dropped.

    Parameters
    ----------
    name : str
        A new name (not a built-in one), made of letters, digits and underscores.
    expression : sympy.Expr
        h written in ``variable``.
    variable : sympy.Symbol
    latex : str, optional
        The LaTeX name; ``\\operatorname{name}`` by default.

    Examples
    --------
    >>> import sympy as sp
    >>> u = sp.Symbol("u", real=True)
    >>> swish = register_activation("swish_example", u * sp.exp(u) / (1 + sp.exp(u)), u)
    >>> round(float(swish.derivative_numpy(0.0)), 6)
    0.5
    >>> my_relu = register_activation("relu_example", sp.Max(0, u), u)
    >>> float(my_relu.derivative_numpy(0.0)), float(my_relu.derivative_numpy(2.0))
    (0.0, 1.0)
    """
    if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
        raise SymnetError(f"an activation name is a Python identifier; got {name!r}")
    if name.lower() in _BUILDERS or name.lower() in _ALIASES:
        raise SymnetError(f"{name!r} is a built-in activation; choose another name")
    if not isinstance(variable, sp.Symbol):
        raise SymnetError(f"variable must be a sympy Symbol; got {variable!r}")
    if isinstance(expression, str):
        raise SymnetError("register_activation takes a SymPy expression, not text; build it with "
                          "sympy (e.g. u * sympy.exp(u)), or read text safely with "
                          "symnet.parse_formula")
    try:  # strict: numbers and SymPy objects only, a string is never parsed (eval) here
        expression = sp.sympify(expression, strict=True)
    except sp.SympifyError:
        raise SymnetError(f"expression must be a SymPy expression; got {expression!r}") from None
    if not isinstance(expression, sp.Expr) or expression.free_symbols - {variable}:
        raise SymnetError(
            f"the expression must depend on {variable} only; it has "
            f"{sorted(map(str, expression.free_symbols - {variable}))}")
    body = expression.xreplace({variable: _A})
    first = left_derivative(body, _A)
    second = left_derivative(first, _A)
    kinked = body.has(sp.Heaviside, sp.sign, sp.Max, sp.Min, sp.Piecewise, sp.Abs)

    def fdiff(self, argindex=1):
        return first.xreplace({_A: self.args[0]})

    latex_name = latex or r"\operatorname{%s}" % name.replace("_", r"\_")

    def _latex(self, printer, exp=None):
        body = r"%s\left(%s\right)" % (latex_name, printer._print(self.args[0]))
        return body if exp is None else r"{%s}^{%s}" % (body, exp)

    def _as_expression(self, *args, **hints):  # h(x) as the registered expression of x
        return body.xreplace({_A: self.args[0]})

    def _numpycode(self, printer):  # lambdify of a named form prints h as its expression
        return "(%s)" % printer._print(stable_form(_as_expression(self)))

    function = type(name, (sp.Function,), {"nargs": 1, "fdiff": fdiff, "_latex": _latex,
                                           "_eval_is_real": lambda self: self.args[0].is_real,
                                           "_numpycode": _numpycode, "_scipycode": _numpycode,
                                           # evalf, and verify's bounds (via rewrite):
                                           "_eval_rewrite_as_exp": _as_expression,
                                           "_eval_rewrite_as_Max": _as_expression,
                                           "_eval_evalf": lambda self, prec: _as_expression(
                                               self)._eval_evalf(prec),
                                           "__module__": __name__})
    entry = Activation(
        name=name, function=function, derivative=first.xreplace({}),
        second_derivative=second, latex=latex_name,
        numpy=_lambdified(body), derivative_numpy=_lambdified(first),
        second_derivative_numpy=_lambdified(second), kinks=("see expression",) if kinked else (),
        kink_convention="left derivative" if kinked else "", analytic=not kinked,
        derivative_numpy_az=_lambdified_az(first, function),
        second_derivative_numpy_az=_lambdified_az(second, function),
        second_derivative_numpy_azs=_lambdified_azs(first, second, function),
    )
    # h'(a) is shown as function'(a), written from the registered expression.
    _CUSTOM[name.lower()] = entry
    return entry
