"""Declared rewrites that make symnet's expressions print as stable NumPy code.

Derivations are shown in textbook form: sigma(a) (1 - sigma(a)), 1 - z^2,
y_k (delta_km - y_m), y - t. Evaluated naively in float64 these lose every digit
near saturation: sigma(40) rounds to 1, so 1 - sigma(40) is 0 where the truth is
4.2e-18. Each rule below is an exact identity that removes one such cancellation.
``stable_form`` applies them to every sum in an expression just before it is
printed for NumPy (``stable_lambdify``), so the forms users read keep the
textbook shape and the numbers keep their digits.

| rule          | naive                 | stable                                          |
|---------------|-----------------------|-------------------------------------------------|
| complement    | 1 - sigma(x)          | sigma(-x)                                       |
|               | 1 - tanh(x)^2         | sech2(x)                                        |
|               | 1 - y_k               | sum_{m != k} y_m            (y = softmax(a))    |
| residual      | sigma(x) - t          | sigmoid_residual(x, t) = (1 - t) sigma(x) - t sigma(-x) |
|               | tanh(x) - t           | tanh_residual(x, t)                             |
|               | y_k - t               | (1 - t) y_k - t sum_{m != k} y_m                |
| softmax_delta | y_k sum_m t_m - t_k   | y_k sum_{m != k} t_m - t_k sum_{m != k} y_m     |

Numbers multiply through: 2 - 2 sigma(x) becomes 2 sigma(-x). The residual rules
apply only to the network's target symbols t_k.

A second table, ``FUNCTION_REWRITES``, rewrites single function applications
(the derivatives of a loss written in log, cosh, sinh): sinh(x)/cosh(x) is tanh(x)
(before the sum rules, so that 1 - tanh(x)^2 is seen), and, after them,
log cosh(x) = |x| + softplus(-2|x|) - log 2 (cosh overflows past |x| = 710),
log sigma(x) = -softplus(-x) and log softmax_k(a) = log_softmax(k, a).

``compile_named`` evaluates a derivation's named form (every definition, then the
entries) this way: each value symbol z_j^(l) is replaced by its activation
h(a_j^(l)) of the named pre-activation, so that the rules see sigma(a) rather than
a rounded z, and softmax outputs are the function ``softmax(k, a^(L))``.

Examples
--------
>>> import sympy as sp
>>> from symnet.graph.functions import sigmoid, softmax
>>> a, t = sp.symbols("a t_1", real=True)
>>> stable_form(sigmoid(a) * (1 - sigmoid(a)))
sigmoid(-a)*sigmoid(a)
>>> stable_form(1 - sp.tanh(a) ** 2)
sech_squared(a)
>>> stable_form(sigmoid(a) - t, targets=[t])
sigmoid_residual(a, t_1)
>>> a1, a2 = sp.symbols("a_1 a_2", real=True)
>>> stable_form(sp.diff(softmax(1, a1, a2), a1))
softmax(1, a_1, a_2)*softmax(2, a_1, a_2)
>>> stable_lambdify([a], sigmoid(a) * (1 - sigmoid(a)))(40.0)   # the naive form gives 0.0
np.float64(4.248354255291589e-18)
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .functions import (log_softmax, sech2, sigmoid, sigmoid_residual, softmax, softplus,
                        tanh_residual)
from .numerics import NUMPY_NAMESPACE

__all__ = ["Rewrite", "REWRITES", "FunctionRewrite", "FUNCTION_REWRITES", "stable_form",
           "stable_lambdify", "tidy", "substitution", "unit_forms", "compile_named"]

MODULES = [NUMPY_NAMESPACE, "numpy"]


@dataclass(frozen=True)
class Rewrite:
    """One exact identity, applied to the terms of a sum: ``apply(terms, targets)``.

    ``apply`` returns the new list of terms, or None when the rule does not match.
    """

    name: str
    naive: str
    stable: str
    apply: Callable


def _other_outputs(output):
    """sum_{m != k} softmax_m(a) for output = softmax_k(a): 1 - softmax_k(a) without cancelling."""
    k, logits = int(output.args[0]), output.args[1:]
    return sp.Add(*[softmax(m, *logits) for m in range(1, len(logits) + 1) if m != k])


def _complement(u):
    """1 - u in a form that does not cancel when u ~ 1 (None: u is not a saturating output)."""
    if isinstance(u, sigmoid):
        return sigmoid(-u.args[0])
    if u.is_Pow and u.exp == 2 and isinstance(u.base, sp.tanh):
        return sech2(u.base.args[0])
    if isinstance(u, softmax):
        return _other_outputs(u)
    return None


def _residual(output, t):
    """output - t in a form that does not cancel for targets at the output's limits, or None."""
    if isinstance(output, sigmoid):
        return sigmoid_residual(output.args[0], t)
    if isinstance(output, sp.tanh):
        return tanh_residual(output.args[0], t)
    if isinstance(output, softmax):
        return (1 - t) * output - t * _other_outputs(output)
    return None


def _replace_pair(terms, first, second, new):
    rest = list(terms)
    rest.remove(first)
    rest.remove(second)
    return rest + [new]


def _complements(terms, targets):
    """n - n u -> n (1 - u), written stably (n is the sum's number term)."""
    numbers = [term for term in terms if term.is_Number]
    if not numbers:
        return None
    n = numbers[0]
    for term in terms:
        coefficient, u = term.as_coeff_Mul()
        stable = _complement(u) if coefficient == -n else None
        if stable is not None:
            return _replace_pair(terms, n, term, n * stable)
    return None


def _residuals(terms, targets):
    """c y - c t -> c (y - t), written stably, for y a saturating output and t a target."""
    for target_term in terms:
        c_t, t = target_term.as_coeff_Mul()
        if t not in targets:
            continue
        for term in terms:
            c, output = term.as_coeff_Mul()
            stable = _residual(output, t) if c == -c_t else None
            if stable is not None:
                return _replace_pair(terms, target_term, term, c * stable)
    return None


def _softmax_deltas(terms, targets):
    """c y_k sum_m t_m - c t_k (softmax cross-entropy's delta) without cancelling at y_k ~ 1."""
    for target_term in terms:
        c_t, t = target_term.as_coeff_Mul()
        if t not in targets:
            continue
        for term in terms:
            c, product = term.as_coeff_Mul()
            if c != -c_t or not product.is_Mul or len(product.args) != 2:
                continue
            output, total = sorted(product.args, key=lambda f: not isinstance(f, softmax))
            if not (isinstance(output, softmax) and total.is_Add
                    and set(total.args) == set(targets)
                    and targets[int(output.args[0]) - 1] == t):
                continue
            others = sp.Add(*[m for m in targets if m != t])
            return _replace_pair(terms, target_term, term,
                                 c * (output * others - t * _other_outputs(output)))
    return None


REWRITES = (
    Rewrite("softmax_delta", "y_k sum_m t_m - t_k", "y_k sum_{m!=k} t_m - t_k sum_{m!=k} y_m",
            _softmax_deltas),
    Rewrite("residual", "y - t", "sigmoid_residual, tanh_residual, (1 - t) y_k - t sum_{m!=k} y_m",
            _residuals),
    Rewrite("complement", "1 - y", "sigma(-a), sech2(a), sum_{m!=k} y_m", _complements),
)
"""The rules, tried in this order on every sum (bottom up) until none applies."""


@dataclass(frozen=True)
class FunctionRewrite:
    """One exact identity for a single function application: ``apply(e)`` or None.

    ``before_sums`` rules run before the sum rules of ``REWRITES``, the others after.
    """

    name: str
    naive: str
    stable: str
    apply: Callable
    before_sums: bool = False


def _tanh_ratios(e):
    """sinh(u)^p cosh(u)^-q -> tanh(u)^min(p, q) times the rest (the derivative of log cosh)."""
    if not e.is_Mul:
        return None
    powers = e.as_powers_dict()
    changed = False
    for base, p in list(powers.items()):
        q = powers.get(sp.cosh(base.args[0]), sp.S.Zero) if isinstance(base, sp.sinh) \
            else sp.S.Zero
        if p.is_Number and p > 0 and q.is_Number and q < 0:
            n = min(p, -q)
            u = base.args[0]
            powers[base] -= n
            powers[sp.cosh(u)] += n
            powers[sp.tanh(u)] = powers.get(sp.tanh(u), sp.S.Zero) + n
            changed = True
    return sp.Mul(*[b ** p for b, p in powers.items()]) if changed else None


def _log_of(function):
    """A rule that matches log(function(...)) and passes the inner application on."""
    def match(rewrite):
        def apply(e):
            inner = e.args[0] if isinstance(e, sp.log) else None
            return rewrite(inner) if isinstance(inner, function) else None
        return apply
    return match


@_log_of(sp.cosh)
def _log_cosh(inner):
    x = sp.Abs(inner.args[0])
    return x + softplus(-2 * x) - sp.log(2)


@_log_of(sigmoid)
def _log_sigmoid(inner):
    return -softplus(-inner.args[0])


@_log_of(softmax)
def _log_softmax(inner):
    return log_softmax(*inner.args)


FUNCTION_REWRITES = (
    FunctionRewrite("tanh_ratio", "sinh(x)/cosh(x)", "tanh(x)", _tanh_ratios, before_sums=True),
    FunctionRewrite("log_cosh", "log(cosh(x))", "|x| + softplus(-2|x|) - log 2", _log_cosh),
    FunctionRewrite("log_sigmoid", "log(sigma(x))", "-softplus(-x)", _log_sigmoid),
    FunctionRewrite("log_softmax", "log(softmax_k(a))", "log_softmax(k, a)", _log_softmax),
)
"""Rules for single applications, tried on every subexpression (bottom up)."""


def _apply_function_rewrites(expression, before_sums):
    # Only sinh ratios are rewritten before the sums, only logs after: skip the walk otherwise.
    if not expression.has(sp.sinh if before_sums else sp.log):
        return expression
    rules = [rule for rule in FUNCTION_REWRITES if rule.before_sums == before_sums]

    def rewrite(e):
        for rule in rules:
            new = rule.apply(e)
            if new is not None:
                return new
        return e
    return expression.replace(lambda e: True, rewrite)


def tidy(expression):
    """The rules that also read better in a derivation (sinh(x)/cosh(x) as tanh(x)), applied.

    >>> x = sp.Symbol("x", real=True)
    >>> tidy(sp.diff(sp.log(sp.cosh(x)), x))
    tanh(x)
    """
    return _apply_function_rewrites(sp.sympify(expression, strict=True), before_sums=True)


def stable_form(expression, targets=()):
    """``expression`` with every rule of ``REWRITES`` applied; equal to it, exactly.

    ``targets`` are the symbols the residual rules treat as targets (t_k). The single
    function rules of ``FUNCTION_REWRITES`` are applied before and after the sum rules.

    >>> x = sp.Symbol("x", real=True)
    >>> stable_form(sp.log(sp.cosh(x)))
    Abs(x) + softplus(-2*Abs(x)) - log(2)
    >>> stable_form(1 - (sp.sinh(x) / sp.cosh(x)) ** 2)
    sech_squared(x)
    """
    targets = tuple(targets)

    def rewrite(add):
        terms = list(add.args)
        changed = True
        while changed:
            changed = False
            for rule in REWRITES:
                new = rule.apply(terms, targets)
                if new is not None:
                    terms, changed = new, True
        return sp.Add(*terms)

    expression = _apply_function_rewrites(sp.sympify(expression, strict=True), before_sums=True)
    expression = expression.replace(lambda e: e.is_Add, rewrite)
    return _apply_function_rewrites(expression, before_sums=False)


def stable_lambdify(arguments, expression, targets=(), cse=False):
    """``sympy.lambdify`` to NumPy of ``stable_form(expression)`` (or of each of a list)."""
    if isinstance(expression, (list, tuple)):
        stable = [stable_form(e, targets) for e in expression]
    else:
        stable = stable_form(expression, targets)
    return sp.lambdify(arguments, stable, modules=MODULES, cse=cse)


# -- a network's named forms ------------------------------------------------------
def unit_forms(net):
    """z_j^(l) -> h_l(a_j^(l)) and y_k -> h(a_k^(L)), in the named pre-activations.

    Softmax outputs are ``softmax(k, a_1^(L), ..., a_K^(L))``: one function, printed
    shifted by the largest logit, in place of exp(a_k) / sum_m exp(a_m).
    """
    forms = {}
    for l, act in enumerate(net.activations, start=1):
        a, z = net.layer_pre_activations(l), net.layer_values(l)
        if act.elementwise:
            forms.update({zj: net.equations[zj] for zj in z})
        else:
            forms.update({yk: softmax(k, *a) for k, yk in enumerate(z, start=1)})
    return forms


def substitution(net, definitions):
    """Every named symbol -> its expression in x, w, b, t, softmax outputs as ``softmax``.

    The same as ``net.substitute(definitions)`` but for the softmax outputs, which are
    ``softmax(k, a_1, ..., a_K)`` (with each a^(L) substituted) rather than
    exp(a_k) / sum_m exp(a_m): the derivative SymPy takes of it is y_k (delta_km - y_m),
    and it prints for NumPy without overflow.
    """
    full = dict(net.substitution)
    L = net.n_layers
    if not net.activations[-1].elementwise:
        logits = [full[a] for a in net.layer_pre_activations(L)]
        full.update({y: softmax(k, *logits) for k, y in enumerate(net.layer_values(L), start=1)})
    for name, value in definitions.items():
        if name not in full:
            full[name] = value.xreplace(full)
    return full


def compile_named(net, definitions, entries):
    """Compile a named form for NumPy: ``evaluate(values, n_samples)`` -> the entries' arrays.

    ``values`` maps the inputs, parameters and targets to (N,) arrays; every forward
    equation and definition is then evaluated in order, each from the earlier ones,
    in ``stable_form`` with z_j^(l) written h(a_j^(l)) (see the module docstring), and
    the entries last, together, with common subexpressions computed once.
    """
    forms = unit_forms(net)
    steps = []
    for name, value in {**net.equations, **definitions}.items():
        if name in forms:  # z = h(a) is used in place of z everywhere; no step needed
            continue
        value = value.xreplace(forms)
        arguments = sorted(value.free_symbols, key=lambda s: s.name)
        steps.append((name, arguments, stable_lambdify(arguments, value, net.targets)))
    entries = [sp.sympify(e, strict=True).xreplace(forms) for e in entries]
    entry_arguments = sorted(set().union(*[e.free_symbols for e in entries]),
                             key=lambda s: s.name)
    entry_function = stable_lambdify(entry_arguments, entries, net.targets, cse=True)

    def evaluate(values, n_samples):
        values = dict(values)
        for name, arguments, function in steps:
            values[name] = np.broadcast_to(function(*[values[a] for a in arguments]),
                                           (n_samples,))
        results = entry_function(*[values[a] for a in entry_arguments])
        return [np.broadcast_to(r, (n_samples,)) for r in results]

    return evaluate
