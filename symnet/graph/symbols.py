"""Symbols in Bishop's notation, named the way a person writes them.

Indices are written together when they are single digits (``w_21^(2)``: from
unit 1 of layer 1 to unit 2 of layer 2) and separated by a comma otherwise
(``w_10,3^(1)``), so no two names can be confused. Every symbol is real.

Examples
--------
>>> weight(2, 2, 1), weight(1, 10, 3), bias(1, 4), delta(1, 2)
(w_21^(2), w_10,3^(1), b_4^(1), delta_2^(1))
>>> latex_name(weight(2, 2, 1))
'w_{21}^{(2)}'
"""

import re

import sympy as sp

__all__ = [
    "input_symbol", "target", "weight", "bias", "pre_activation", "activation_value",
    "output", "delta", "output_sensitivity", "latex_name",
]


def _indices(*numbers):
    joined = "".join(str(n) for n in numbers)
    return joined if all(n < 10 for n in numbers) else ",".join(str(n) for n in numbers)


def _real(name):
    return sp.Symbol(name, real=True)


def input_symbol(i):
    """x_i, the i-th input (1-based)."""
    return _real(f"x_{i}")


def target(k):
    """t_k, the target of output k."""
    return _real(f"t_{k}")


def weight(layer, j, i):
    """w_ji^(l): the weight from unit i of layer l-1 to unit j of layer l."""
    return _real(f"w_{_indices(j, i)}^({layer})")


def bias(layer, j):
    """b_j^(l): the bias of unit j of layer l."""
    return _real(f"b_{j}^({layer})")


def pre_activation(layer, j):
    """a_j^(l) = sum_i w_ji^(l) z_i^(l-1) + b_j^(l)."""
    return _real(f"a_{j}^({layer})")


def activation_value(layer, j):
    """z_j^(l) = h(a_j^(l)) for a hidden layer l."""
    return _real(f"z_{j}^({layer})")


def output(k):
    """y_k, output k (the activation value of the last layer)."""
    return _real(f"y_{k}")


def delta(layer, j):
    """delta_j^(l) = dE_n / da_j^(l)."""
    return _real(f"delta_{j}^({layer})")


def output_sensitivity(k, layer, j, of="y"):
    """dy_k/da_j^(l) (or da_k^(L)/da_j^(l) with ``of="a"``), the backprop quantity of Jacobians."""
    return _real(f"d{of}_{k}/da_{j}^({layer})")


_SENSITIVITY = re.compile(r"^d([ya])_(\d+)/da_(\d+)\^\((\d+)\)$")
# layer l, time step t, or a tag with either: a_1,3^(1), h_2^(3), w_11^(hh), delta_1^(y,3)
_INDEXED = re.compile(r"^([A-Za-z]+)_([\d,]+)(?:\^\(([\w,]+)\))?$")
# d(name)/d(name) of a Network's or RNN's named quantities: dy_1/da_1,2^(1), ddelta_1^(2)/dw_11^(hh)
_NAME = r"[A-Za-z]+_[\d,]+(?:\^\([\w,]+\))?"
_DERIVATIVE = re.compile(rf"^d({_NAME})/d({_NAME})$")
_GREEK = {"delta": r"\delta"}
# The named quantities of the Hessian-vector product and the input Hessian (their
# constructors are symnet.derive.r_operator.r_symbol / direction_symbol and
# symnet.input_hessian.input_tangent_symbol): R{a_j^(l)}, v_w_ji^(l), da_j^(l)/dx_i,
# d2a_j^(l)/dx_idx_m.
_R_OPERATOR = re.compile(r"^R\{(.+)\}$")
_DIRECTION = re.compile(r"^v_([A-Za-z].*)$")
_INPUT_TANGENT = re.compile(r"^d(2?)(a_\d+\^\(\d+\))/(dx_\d+)(dx_\d+)?$")


def latex_name(symbol):
    """The LaTeX for one of symnet's symbols (``symbol_names`` for ``sympy.latex``).

    >>> latex_name(output_sensitivity(1, 2, 3))
    '\\\\frac{\\\\partial y_{1}}{\\\\partial a_{3}^{(2)}}'
    >>> latex_name(delta(3, 1))
    '\\\\delta_{1}^{(3)}'
    >>> print(latex_name(sp.Symbol("R{delta_1^(2)}")), latex_name(sp.Symbol("v_b_1^(2)")))
    \\mathcal{R}\\{\\delta_{1}^{(2)}\\} v_{b_{1}^{(2)}}
    >>> print(latex_name(sp.Symbol("d2a_1^(2)/dx_1dx_2")))
    \\frac{\\partial^2 a_{1}^{(2)}}{\\partial x_{1} \\partial x_{2}}
    >>> print(latex_name(sp.Symbol("dy_1/da_1,2^(1)")), latex_name(sp.Symbol("w_12^(hh)")))
    \\frac{\\partial y_{1}}{\\partial a_{1,2}^{(1)}} w_{12}^{(hh)}
    """
    name = symbol.name
    match = _R_OPERATOR.match(name)
    if match:   # R{a_1^(1)} -> \mathcal{R}\{a_{1}^{(1)}\}
        return rf"\mathcal{{R}}\{{{latex_name(_real(match.group(1)))}\}}"
    match = _DIRECTION.match(name)
    if match:   # v_w_21^(2) -> v_{w_{21}^{(2)}}
        return f"v_{{{latex_name(_real(match.group(1)))}}}"
    match = _INPUT_TANGENT.match(name)
    if match:   # d2a_1^(2)/dx_1dx_2 -> \frac{\partial^2 a_{1}^{(2)}}{\partial x_{1} \partial x_{2}}
        second, a, x1, x2 = match.groups()
        below = " ".join(rf"\partial {latex_name(_real(x[1:]))}" for x in (x1, x2) if x)
        return rf"\frac{{\partial{'^2' if second else ''} {latex_name(_real(a))}}}{{{below}}}"
    match = _SENSITIVITY.match(name)
    if match:
        of, k, j, layer = match.groups()
        of_latex = "y" if of == "y" else rf"a^{{(L)}}"
        return rf"\frac{{\partial {of_latex}_{{{k}}}}}{{\partial a_{{{j}}}^{{({layer})}}}}"
    match = _DERIVATIVE.match(name)
    if match:   # ddelta_1^(2)/dw_11^(hh) -> \frac{\partial \delta_{1}^{(2)}}{\partial ...}
        top, bottom = (latex_name(_real(part)) for part in match.groups())
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"
    match = _INDEXED.match(name)
    if match:
        stem, indices, layer = match.groups()
        stem = _GREEK.get(stem, stem)
        return f"{stem}_{{{indices}}}" + (f"^{{({layer})}}" if layer else "")
    return sp.latex(symbol)
