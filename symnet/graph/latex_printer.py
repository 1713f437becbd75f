r"""LaTeX printing and line wrapping: symnet's symbols in Bishop notation, long sums broken.

``tex`` prints a SymPy expression or matrix as a person writes it
(``w_{21}^{(2)}``, ``\delta_{1}^{(2)}``, ``\sigma(a)``, via
``symnet.symbols.latex_name``), with positive terms first (y - t).
``signed_terms`` cuts an expression into signed pieces (``["a", "+ b", "- c"]``)
and ``wrap_row`` lays them out as one ``lhs &= ...`` row of an ``aligned``
block, continuing on the next line after ``terms_per_line`` pieces or ``width``
characters of visible math, so nothing runs off the page. The derivation blocks
built from these rows are in ``symnet.render.derivation_latex``.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> print(tex(symnet.gradient(net, "sse").definitions[symnet.symbols.delta(1, 1)]))
\delta_{1}^{(2)} w_{11}^{(2)} \left(1 - \left(z_{1}^{(1)}\right)^{2}\right)
>>> print(wrap_row("E", ["a", "+ b", "+ c"], terms_per_line=2))
E &= a + b \\ &\qquad + c
"""

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter

from . import symbols as sym
from ..errors import SymnetError

__all__ = ["tex", "wrap_row", "entry_tag", "signed_terms", "TERMS_PER_LINE", "WIDTH"]

TERMS_PER_LINE = 4   # a sum continues on a new line after this many terms
WIDTH = 64           # ... or after about this many visible characters

_GENERIC = re.compile(r"^([A-Za-z]+)_([a-z])(?:\^\(([\dL]+)\))?$")


class _BishopPrinter(LatexPrinter):
    """SymPy's LaTeX printer with positive terms first, so y - t prints as y_{1} - t_{1}."""

    def _print_Heaviside(self, expr, exp=None):
        # ReLU' with the convention h'(0) = 0 reads as the Iverson bracket [a > 0]
        if len(expr.args) == 2 and expr.args[1] == 0:
            body = rf"\left[{self._print(expr.args[0])} > 0\right]"
            return body if exp is None else rf"{body}^{{{exp}}}"
        return super()._print_Heaviside(expr, exp)

    def _as_ordered_terms(self, expr, order=None):
        terms = super()._as_ordered_terms(expr, order=order)
        return sorted(terms, key=lambda term: term.could_extract_minus_sign())  # stable


def _symbol_latex(symbol):
    generic = _GENERIC.match(symbol.name)
    if generic:  # z_j^(1) and friends, used in general index form
        stem, index, layer = generic.groups()
        stem = r"\delta" if stem == "delta" else stem
        return f"{stem}_{{{index}}}" + (f"^{{({layer})}}" if layer else "")
    return sym.latex_name(symbol)


def tex(expr):
    """The LaTeX of a SymPy expression or matrix with symnet's symbols in Bishop notation.

    >>> from symnet.graph.functions import sigmoid
    >>> print(tex(sigmoid(sym.pre_activation(1, 1)) * sym.delta(2, 1)))
    \\delta_{1}^{(2)} \\sigma\\left(a_{1}^{(1)}\\right)
    """
    expr = sp.sympify(expr, strict=True)  # strict: a string is never parsed (eval) here
    names = {s: _symbol_latex(s) for s in expr.free_symbols if isinstance(s, sp.Symbol)}
    return _BishopPrinter({"symbol_names": names, "mat_delim": "("}).doprint(expr)


def ordered_terms(expr):
    """The terms of a sum in printing order (positive first), or ``[expr]`` for a non-sum."""
    expr = sp.sympify(expr, strict=True)
    return _BishopPrinter()._as_ordered_terms(expr) if expr.is_Add else [expr]


def signed_terms(expr, width=WIDTH):
    r"""LaTeX pieces of an expression, ``["a", "+ b", "- c"]``, for ``wrap_row``.

    A sum gives one piece per term; a product too wide for one line is split at
    its bracketed sums. Factors s - 1 and s^2 - 1 print as (1 - s) and (1 - s^2),
    as in sigma' = z (1 - z) and tanh' = 1 - z^2.

    >>> x = sp.Symbol("x")
    >>> signed_terms(x - 2), signed_terms(3 * x * (x - 1))
    (['x', '- 2'], ['-3 x \\left(1 - x\\right)'])
    """
    pieces = []
    for n, term in enumerate(ordered_terms(expr)):
        negative, factors = _product(term)
        sign = ("-" if negative else "") if n == 0 else ("- " if negative else "+ ")
        pieces.extend(_product_pieces(sign, factors, width))
    return pieces


def join_signs(terms):
    """LaTeX pieces for a list of terms to be added in the given order."""
    pieces = []
    for n, term in enumerate(terms):
        negative, factors = _product(term)
        sign = ("-" if negative else "") if n == 0 else ("- " if negative else "+ ")
        pieces.extend(_product_pieces(sign, factors, WIDTH))
    return pieces


def _product(term):
    """(negative, [factor LaTeX or ("sum", Add)]) of one term, with (1 - s) factors turned round."""
    negative = term.could_extract_minus_sign()
    term = -term if negative else term
    args = list(sp.Mul.make_args(term)) if term.is_Mul else [term]
    plain, sums = [], []
    for s in [arg.args[1] if arg.args[0] == 1 else arg.args[0] for arg in args
              if arg.is_Add and len(arg.args) == 2 and 1 in arg.args]:
        if s - 1 in args and s + 1 in args:   # (s - 1)(s + 1) -> -(1 - s^2), as tanh' = 1 - z^2
            args.remove(s - 1)
            args.remove(s + 1)
            negative = not negative
            sums.append(rf"\left({tex(1 - s ** 2)}\right)")
    for arg in args:
        flipped = -arg
        if arg.is_Add and len(arg.args) == 2 and -1 in arg.args and flipped.is_Add:
            negative = not negative            # s - 1 -> -(1 - s); s^2 - 1 -> -(1 - s^2)
            sums.append(rf"\left({tex(flipped)}\right)")
        elif arg.is_Add:
            sums.append(("sum", arg))
        else:
            plain.append(arg)
    head = tex(sp.Mul(*plain)) if plain else ""
    return negative, ([head] if head and head != "1" else []) + sums


def _product_pieces(sign, factors, width):
    """A product as one piece, or, when too wide, its sums as bracketed groups."""
    def whole(item):
        return item if isinstance(item, str) else rf"\left({tex(item[1])}\right)"
    text = " ".join(whole(f) for f in factors) or "1"
    if _visible_width(text) <= width or all(isinstance(f, str) for f in factors):
        return [sign + text]
    pieces, prefix = [], sign
    for item in factors:
        if isinstance(item, str):
            prefix = f"{prefix} {item}".strip() if prefix not in ("-",) else f"-{item}"
            continue
        pieces.extend(bracket_group(prefix, signed_terms(item[1], width)))
        prefix = ""
    if prefix:
        pieces[-1] += " " + prefix
    return pieces


def _visible_width(latex):
    """A rough count of the characters a reader sees (fractions count as their numerator)."""
    latex = re.sub(r"\\frac\{\\partial ([^{}]*(?:\{[^{}]*\})*)\}\{[^{}]*(?:\{[^{}]*\})*\}",
                   r"d\1", latex)
    latex = re.sub(r"\\(left|right|bigl|bigr|Bigl|Bigr|qquad|quad)", "", latex)
    latex = re.sub(r"\\[A-Za-z]+", "x", latex)
    latex = re.sub(r"[_^]\{[^{}]*\}", "s", latex)
    return len(re.sub(r"[{}\s]", "", latex))


def bracket_group(prefix, pieces):
    """``prefix ( pieces )`` with brackets that may open and close on different lines."""
    if len(pieces) == 1:
        return [f"{prefix} {pieces[0]}".strip()]
    return [rf"{prefix} \bigl({pieces[0]}".strip(), *pieces[1:-1], pieces[-1] + r"\bigr)"]


def wrap_row(lhs, pieces, terms_per_line=TERMS_PER_LINE, width=WIDTH, relation="=", tag=""):
    """One row ``lhs &= ...`` of an aligned block, its pieces spread over lines.

    ``pieces`` are LaTeX strings, each after the first starting with its sign;
    a new line starts after ``terms_per_line`` pieces or ``width`` visible characters.
    ``tag`` (from ``entry_tag``, for ``align*`` in a document only) goes on the first line.
    """
    if not pieces:
        raise SymnetError("a row needs at least one piece")
    lines, current = [], []
    for piece in pieces:
        candidate = " ".join(current + [piece])
        if current and (len(current) >= terms_per_line or _visible_width(candidate) > width):
            lines.append(" ".join(current))
            current = []
        current.append(piece)
    lines.append(" ".join(current))
    return (f"{lhs} &{relation} {lines[0]}{tag}"
            + "".join(rf" \\ &\qquad {line}" for line in lines[1:]))


# Characters that are not themselves in typewriter text: written as the font's own glyph.
_TT_SPECIAL = set("_^\\{}~#$%&")


def entry_tag(name):
    r"""``\tag*{...}`` naming an entry in plain typewriter text, for an ``align*`` row.

    The name is the one ``symnet check`` reports (and ``symnet verify --of`` reads),
    so a reader can find an entry, and ``pdftotext`` reads it back, character for
    character. ``_`` and ``^`` are the typewriter font's own glyphs (``\char95``),
    which copy and paste as themselves.

    >>> print(entry_tag("dE/dw_21^(1)"))
     \tag*{\texttt{dE/dw\char95{}21\char94{}(1)}}
    """
    text = "".join(rf"\char{ord(c)}{{}}" if c in _TT_SPECIAL else c for c in name)
    return rf" \tag*{{\texttt{{{text}}}}}"


def omitted(count, what="entries"):
    r"""The row that stands for ``count`` rows left out of a long list.

    >>> print(omitted(3, "values"))
    &\quad\vdots\quad \text{(3 more values omitted)}
    """
    return rf"&\quad\vdots\quad \text{{({count} more {what} omitted)}}"


def take(items, max_entries):
    """(the first ``max_entries`` items, how many were left out); None keeps them all.

    >>> take("abcde", 2), take("ab", None)
    ((['a', 'b'], 3), (['a', 'b'], 0))
    """
    items = list(items)
    if max_entries is None or len(items) <= max_entries:
        return items, 0
    return items[:max_entries], len(items) - max_entries
