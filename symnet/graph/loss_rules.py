"""The loss table: one row per error function, each declared once as a SymPy expression.

A row holds the per-sample error E_n(y, t) as a function of the K output symbols y_k
and the K target symbols t_k, and optionally *stable forms* in the output
pre-activations a_k^(L), keyed by the output activation they belong to. Nothing else
is written by hand: ``symnet.graph.losses`` derives from the row the output deltas
delta_k^(L) = dE_n/da_k^(L), the Gauss-Newton weight Lambda_n and R{delta^(L)},
symbolically, and compiles them to NumPy.

| loss          | E_n(y, t)                                   | stable form, in a = a^(L)      |
|---------------|---------------------------------------------|--------------------------------|
| sse           | 1/2 sum_k (y_k - t_k)^2                     |                                |
| cross_entropy | -sum_k [t_k ln y_k + (1 - t_k) ln(1 - y_k)] | sigmoid: sum_k t_k softplus(-a_k) + (1 - t_k) softplus(a_k) |
|               | softmax outputs: -sum_k t_k ln y_k          | softmax: -sum_k t_k log_softmax(k, a) |
| log_cosh      | sum_k ln cosh(y_k - t_k)                    |                                |
| huber         | sum_k x^2/2 (abs(x) <= 1), abs(x) - 1/2, x = y_k - t_k |                     |

A stable form is the same function written so that float64 keeps its digits where the
outputs saturate (y = sigma(40) rounds to 1, so ln(1 - y) is -inf where the truth is -40);
where one exists, the Gauss-Newton matrix is taken in a^(L) (Lambda_n = d^2 E_n/da^2,
the canonical pairs of Bishop 2024, sec. 5.4.3), otherwise in y (Lambda_n = d^2 E_n/dy^2).

Huber's convention: at the switching point abs(y_k - t_k) = 1 the quadratic piece is
used, so dE_n/dy_k = y_k - t_k (= +-1, equal to the linear piece's sign there) and
d^2 E_n/dy_k^2 = 1, the value from inside; it is 0 outside (the DiracDelta at the
switch, zero away from it, is dropped, as for ReLU).

``register_loss(name, per_sample, stable=..., replace=..., latex=...)`` adds a row from a
SymPy expression alone; text never reaches ``sympify`` (only ``sympify(strict=True)``).

Examples
--------
>>> import sympy as sp
>>> y, t = sp.symbols("y_1 y_2", real=True), sp.symbols("t_1 t_2", real=True)
>>> loss_rule("huber").per_sample(y[:1], t[:1])
Piecewise(((-t_1 + y_1)**2/2, Abs(t_1 - y_1) <= 1), (Abs(t_1 - y_1) - 1/2, True))
>>> known_losses()[:4]                        # the shipped rows, then any registered ones
('sse', 'cross_entropy', 'log_cosh', 'huber')
"""

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

import sympy as sp
from sympy.core.function import AppliedUndef

from . import symbols as sym
from .activations import activation, known_activations
from ..errors import SymnetError
from .functions import log_softmax, softmax, softplus

__all__ = ["LossRule", "register_loss", "loss_rule", "known_losses", "output_symbols",
           "KINKED"]

# Functions whose derivative jumps: a loss that contains one is not analytic, so
# complex-step differentiation of it is refused.
KINKED = (sp.Abs, sp.Piecewise, sp.sign, sp.Max, sp.Min, sp.Heaviside)


@dataclass(frozen=True, eq=False)
class LossRule:
    """One row of the loss table.

    Attributes
    ----------
    name : str
    per_sample : callable
        ``per_sample(y, t) -> E_n``: lists of K output and K target symbols to a SymPy scalar.
    by_output : dict
        Output activation name -> another ``per_sample`` for that output (cross-entropy is
        -sum_k t_k ln y_k for softmax outputs).
    stable : dict
        Output activation name -> ``stable(a, t) -> E_n`` in the output pre-activations.
    outputs : tuple or None
        The output activations the loss is defined for (None: any).
    refusal : str
        Why another output is refused (with ``{output}`` for its name).
    latex : dict
        Output name (or None, for any) -> the LaTeX of E_n in index form.
    delta_latex : dict
        Output name (or None) -> the LaTeX of delta_k^(L), where the row states it.
    convention : str
        What the derivatives are at a kink of E_n (empty for smooth losses).
    shipped : bool
        True for the rows symnet ships (they cannot be replaced).
    title : str
        The loss in prose, as a title names it ("sum-of-squares"); by default the name
        with spaces for underscores ("log cosh").
    probability_targets : bool
        True when the targets t_k are probabilities, class labels or soft ones (as for
        cross-entropy); random targets for it are drawn in [0, 1].

    Examples
    --------
    >>> rule = loss_rule("sse")
    >>> rule.name, rule.analytic, rule.outputs, rule.title, rule.is_sum_of_squares
    ('sse', True, None, 'sum-of-squares', True)
    >>> loss_rule("log_cosh").title, loss_rule("log_cosh").is_sum_of_squares
    ('log cosh', False)
    """

    name: str
    per_sample: Callable
    by_output: dict = field(default_factory=dict)
    stable: dict = field(default_factory=dict)
    outputs: tuple = None
    refusal: str = ""
    latex: dict = field(default_factory=dict)
    delta_latex: dict = field(default_factory=dict)
    convention: str = ""
    shipped: bool = False
    title: str = ""
    probability_targets: bool = False

    def __post_init__(self):
        if not self.title:
            object.__setattr__(self, "title", self.name.replace("_", " "))

    def expression(self, output, y, t):
        """E_n(y, t) for outputs ``output``: a checked SymPy scalar in the symbols y and t."""
        build = self.by_output.get(output, self.per_sample)
        return _scalar(_call(build, y, t, self.name, "per_sample(y, t)"), set(y) | set(t),
                       self.name, "per_sample(y, t)", "y and t")

    def stable_expression(self, output, a, t):
        """The stable form in the pre-activations a for outputs ``output``, or None."""
        build = self.stable.get(output)
        if build is None:
            return None
        return _scalar(_call(build, a, t, self.name, f"stable[{output!r}](a, t)"),
                       set(a) | set(t), self.name, f"stable[{output!r}](a, t)", "a and t")

    def jacobian_of(self, output):
        """``"a"`` where the row has a stable form for ``output`` (Lambda_n in a^(L)), else "y"."""
        return "a" if output in self.stable else "y"

    @cached_property
    def analytic(self):
        """True when E_n has no kink (no Abs, Piecewise, sign, Max, Min, Heaviside)."""
        y, t = output_symbols(2)
        forms = [self.expression(output, y, t) for output in (None, *self.by_output)]
        return not any(form.has(*KINKED) for form in forms)

    @cached_property
    def is_sum_of_squares(self):
        """True when E_n is 1/2 sum_k (y_k - t_k)^2 for every output (derived from the row).

        Then dE_n/dy_k = y_k - t_k and Lambda_n = I in y: the Gauss-Newton matrix is
        J^T J, the one Levenberg-Marquardt takes from the residuals e = y - t.
        """
        y, t = output_symbols(2)
        forms = [self.expression(output, y, t) for output in (None, *self.by_output)]
        return all(sp.expand(form - _sse(y, t)) == 0 for form in forms)

    def check_output(self, output):
        """Refuse an output activation the loss is not defined for."""
        if self.outputs is not None and output not in self.outputs:
            raise SymnetError(self.refusal.format(output=output))

    def __repr__(self):
        return f"LossRule({self.name!r})"


def output_symbols(K, layer=None):
    """(y_1..y_K, t_1..t_K), or with ``layer`` (a_1^(L)..a_K^(L), t_1..t_K): the rule's arguments.

    >>> output_symbols(2)
    ((y_1, y_2), (t_1, t_2))
    """
    outputs = (tuple(sym.pre_activation(layer, k) for k in range(1, K + 1)) if layer
               else tuple(sym.output(k) for k in range(1, K + 1)))
    return outputs, tuple(sym.target(k) for k in range(1, K + 1))


# -- checking what a user gives ----------------------------------------------------------
def _call(build, first, second, name, what):
    """``build(list(first), list(second))``, its own errors reported as the loss's."""
    if isinstance(build, str) or not callable(build):
        raise SymnetError(
            f"loss {name!r}: {what} must be a function of the symbol lists returning a SymPy "
            f"expression, e.g. lambda y, t: sum(sympy.log(sympy.cosh(yk - tk)) for yk, tk in "
            f"zip(y, t)); got {type(build).__name__} {build!r}" + (
                " (text is never parsed here)" if isinstance(build, str) else ""))
    try:
        return build(list(first), list(second))
    except SymnetError:
        raise
    except Exception as error:  # the user's function failed: say which one, and how
        raise SymnetError(f"loss {name!r}: {what} raised {type(error).__name__}: {error}") \
            from error


def _scalar(value, allowed, name, what, names):
    """``value`` as a SymPy scalar expression in ``allowed`` symbols, or a clear refusal."""
    if isinstance(value, str):
        raise SymnetError(f"loss {name!r}: {what} returned text {value!r}; return a SymPy "
                          "expression (text never reaches sympify)")
    try:  # strict: numbers and SymPy objects only, a string is never parsed (eval) here
        value = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError):
        raise SymnetError(f"loss {name!r}: {what} must return a SymPy expression; got "
                          f"{type(value).__name__} {value!r}") from None
    if getattr(value, "is_Matrix", False) or not isinstance(value, sp.Expr):
        raise SymnetError(f"loss {name!r}: {what} must return one scalar SymPy expression "
                          f"(E_n of one sample); got {type(value).__name__} {value}")
    extra = value.free_symbols - allowed
    if extra:
        raise SymnetError(f"loss {name!r}: {what} may use only the symbols {names} it is "
                          f"given; it also has {', '.join(sorted(map(str, extra)))}")
    undefined = value.atoms(AppliedUndef)
    if undefined:
        raise SymnetError(f"loss {name!r}: {what} uses the undefined function(s) "
                          f"{', '.join(sorted(map(str, undefined)))}, which cannot be "
                          "differentiated or evaluated")
    return value


def _drop_dirac(expression):
    return expression.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _check_derivatives(rule, output):
    """E_n must depend on y and have first and second derivatives SymPy can form."""
    y, t = output_symbols(2)
    E = rule.expression(output, y, t)
    if not E.free_symbols & set(y):
        raise SymnetError(f"loss {rule.name!r}: E_n does not depend on the outputs y; got {E}")
    for yk in y:
        first = sp.diff(E, yk)
        second = _drop_dirac(sp.diff(first, yk))
        if first.has(sp.Derivative) or second.has(sp.Derivative):
            raise SymnetError(f"loss {rule.name!r}: SymPy cannot differentiate E_n = {E} with "
                              f"respect to {yk} (it is left as a Derivative)")


def _check_stable(rule, output):
    """The stable form must be E_n(h(a), t): compared at rational points to 30 digits."""
    act = activation(output)
    a, t = output_symbols(2, layer=1)
    stable = rule.stable_expression(output, a, t)
    y, _ = output_symbols(2)
    outputs = ([softmax(k, *a) for k in range(1, 3)] if not act.elementwise
               else [act.function(ak) for ak in a])
    naive = rule.expression(output, y, t).xreplace(dict(zip(y, outputs)))
    for point in ((sp.Rational(-7, 5), sp.Rational(1, 3), sp.Rational(1, 4), sp.Rational(3, 5)),
                  (sp.Rational(5, 2), sp.Rational(-2, 7), sp.Rational(1), sp.Rational(0))):
        values = dict(zip(a + t, point))
        got, want = (sp.N(e.xreplace(values), 30) for e in (stable, naive))
        if not abs(got - want) <= sp.Float(1e-20) * (1 + abs(want)):
            raise SymnetError(
                f"loss {rule.name!r}: the stable form for {output} outputs is not E_n(h(a), t): "
                f"at a = {point[:2]}, t = {point[2:]} it is {float(got):.12g}, E_n is "
                f"{float(want):.12g}")


# -- the table ---------------------------------------------------------------------------
def _sse(y, t):
    return sp.Rational(1, 2) * sp.Add(*[(yk - tk) ** 2 for yk, tk in zip(y, t)])


def _binary_cross_entropy(y, t):
    return -sp.Add(*[tk * sp.log(yk) + (1 - tk) * sp.log(1 - yk) for yk, tk in zip(y, t)])


def _categorical_cross_entropy(y, t):
    return -sp.Add(*[tk * sp.log(yk) for yk, tk in zip(y, t)])


def _binary_cross_entropy_in_a(a, t):
    # -ln sigma(a) = softplus(-a), -ln(1 - sigma(a)) = softplus(a): no log of a rounded y
    return sp.Add(*[tk * softplus(-ak) + (1 - tk) * softplus(ak) for ak, tk in zip(a, t)])


def _categorical_cross_entropy_in_a(a, t):
    return -sp.Add(*[tk * log_softmax(k, *a) for k, tk in enumerate(t, start=1)])


def _log_cosh(y, t):
    return sp.Add(*[sp.log(sp.cosh(yk - tk)) for yk, tk in zip(y, t)])


def _huber(y, t):
    # delta = 1; the quadratic piece holds at |x| = 1 (see the module docstring)
    pieces = [sp.Piecewise(((yk - tk) ** 2 / 2, sp.Abs(yk - tk) <= 1),
                           (sp.Abs(yk - tk) - sp.Rational(1, 2), True))
              for yk, tk in zip(y, t)]
    return sp.Add(*pieces)


_CANONICAL = "y_k - t_k"
_RULES = {}
_ALIASES = {"sum_of_squares": "sse", "mse": "sse", "ce": "cross_entropy",
            "crossentropy": "cross_entropy"}


def known_losses():
    """The names ``get_loss`` accepts, shipped rows first, then registered ones.

    >>> known_losses()[:2]
    ('sse', 'cross_entropy')
    """
    return tuple(_RULES)


def loss_rule(name):
    """The row called ``name`` (aliases such as ``"mse"`` and ``"ce"`` accepted), or a clear error.

    >>> loss_rule("mse").name
    'sse'
    """
    if isinstance(name, LossRule):
        return name
    if not isinstance(name, str):
        raise SymnetError(f"loss must be one of {', '.join(_RULES)}; got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _RULES:
        raise SymnetError(f"unknown loss {name!r}; known: {', '.join(_RULES)} (or register "
                          "your own with symnet.register_loss)")
    return _RULES[key]


def register_loss(name, per_sample, *, stable=None, replace=False, latex=None):
    r"""Add a loss given by its per-sample SymPy expression E_n(y, t).

    From then on every derivation accepts ``name``: its output deltas, Gauss-Newton weights
    and R{delta^(L)} are derived by SymPy from ``per_sample`` and compiled to stable NumPy
    (see ``symnet.graph.losses``); no NumPy code is needed.

    Parameters
    ----------
    name : str
        A new name (a Python identifier); a registered name again only with ``replace=True``.
    per_sample : callable
        ``per_sample(y, t)`` takes the lists of K output symbols y_k and K target symbols
        t_k and returns E_n as one SymPy expression in them (for any K).
    stable : dict, optional
        Output activation name -> ``stable(a, t)``, E_n written in the output
        pre-activations a_k^(L) in a form that keeps its digits (checked equal to
        ``per_sample(h(a), t)``). With it the Gauss-Newton matrix is taken in a^(L).
    replace : bool
        Replace a loss registered before under ``name`` (never a shipped one).
    latex : str, optional
        The right-hand side of E_n in index form, e.g. ``r"\sum_k |y_k - t_k|"``;
        by default SymPy's LaTeX of E_n for the network's K outputs.

    Returns
    -------
    LossRule

    Examples
    --------
    >>> import sympy as sp, symnet
    >>> rule = register_loss("quartic_example",
    ...                      lambda y, t: sum((yk - tk) ** 4 for yk, tk in zip(y, t)))
    >>> net = symnet.MLP([1, 1])
    >>> symnet.get_loss("quartic_example", net).output_deltas(net)
    [4*(-t_1 + y_1)**3]
    >>> register_loss("quartic_example", lambda y, t: y[0])
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: loss 'quartic_example' is registered already; pass replace=True to replace it
    """
    if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
        raise SymnetError(f"a loss name is a Python identifier; got {name!r}")
    key = name.lower()
    if key in _ALIASES or (key in _RULES and _RULES[key].shipped):
        raise SymnetError(f"{name!r} is a loss symnet ships; choose another name")
    if key in _RULES and not replace:
        raise SymnetError(f"loss {name!r} is registered already; pass replace=True to "
                          "replace it")
    if stable is not None and not isinstance(stable, dict):
        raise SymnetError("stable is a dict mapping output activation names to functions "
                          f"(a, t) -> E_n; got {type(stable).__name__}")
    if latex is not None and not isinstance(latex, str):
        raise SymnetError(f"latex is a string of LaTeX; got {type(latex).__name__}")
    return _add(LossRule(key, per_sample, stable=dict(stable or {}),
                         latex={None: f"E_n = {latex}"} if latex else {}))


def _add(rule, check=True):
    """Check a row (symbols, scalar, derivatives, stable forms) and put it in the table.

    The two textbook rows are not checked at import (it takes a third of a second);
    tests/test_loss_rules.py checks them the same way.
    """
    if not check:
        _RULES[rule.name] = rule
        return rule
    for output in rule.stable:
        if output not in known_activations():
            raise SymnetError(f"loss {rule.name!r}: stable forms are keyed by an output "
                              f"activation's name, one of {', '.join(known_activations())}; "
                              f"got {output!r}")
    for output in (None, *rule.by_output):
        _check_derivatives(rule, output)
    for output in rule.stable:
        _check_stable(rule, output)
    _RULES[rule.name] = rule
    return rule


def _ship(rule, **fields):
    """Mark a registered row as shipped (it cannot be replaced), with extra fields."""
    _RULES[rule.name] = replace(rule, shipped=True, **fields)


# The shipped rows: sse and cross_entropy with the LaTeX textbooks print, log_cosh and
# huber registered from their SymPy expression alone, as any user's loss is.
_add(LossRule(
    "sse", _sse, shipped=True, title="sum-of-squares",
    latex={None: r"E_n = \tfrac{1}{2} \sum_k (y_k - t_k)^2"},
    delta_latex={"linear": _CANONICAL,
                 "softmax": r"y_k \Bigl(y_k - t_k - \sum_m (y_m - t_m)\, y_m\Bigr)",
                 None: r"(y_k - t_k)\, h_L'\bigl(a_k^{(L)}\bigr)"}), check=False)
_add(LossRule(
    "cross_entropy", _binary_cross_entropy, shipped=True, title="cross-entropy",
    probability_targets=True,
    by_output={"softmax": _categorical_cross_entropy},
    stable={"sigmoid": _binary_cross_entropy_in_a, "softmax": _categorical_cross_entropy_in_a},
    outputs=("sigmoid", "softmax"),
    refusal=("cross_entropy needs sigmoid outputs (binary) or softmax outputs (multi-class); "
             "this network's output is {output}. Use loss='sse', or MLP(..., output='sigmoid' "
             "or 'softmax')."),
    latex={None: r"E_n = -\sum_k \bigl[t_k \ln y_k + (1 - t_k) \ln(1 - y_k)\bigr]",
           "softmax": r"E_n = -\sum_k t_k \ln y_k"},
    delta_latex={"sigmoid": _CANONICAL,
                 "softmax": r"y_k \sum_m t_m - t_k \quad \text{($= y_k - t_k$ for one-hot "
                            r"targets)}"}), check=False)
_ship(register_loss("log_cosh", _log_cosh, latex=r"\sum_k \ln\cosh(y_k - t_k)"))
_ship(register_loss("huber", _huber, latex=(
    r"\sum_k \begin{cases} \tfrac{1}{2} (y_k - t_k)^2 & |y_k - t_k| \le 1 \\ "
    r"|y_k - t_k| - \tfrac{1}{2} & \text{otherwise} \end{cases}")),
    convention="at |y_k - t_k| = 1 the quadratic piece: dE_n/dy_k = y_k - t_k, "
               "d^2 E_n/dy_k^2 = 1")
