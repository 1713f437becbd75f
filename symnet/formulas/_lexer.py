"""The first whitelist of ``symnet.formulas.parser``: text -> tokens, and tokens -> placeholder source.

Only numbers, symnet names (``w_21^(2)``, ``delta_j^(1)``, ``x_1``; for a Network or
RNN also ``x_(1,p+1)``, ``w_1,1,2^(1)``, ``h_2^(t-1)``), known function names, sums
(``sum_k``, ``sum_(p=1)^(3)``), ``+ - * / ^ ** ( ) ,`` and spaces are tokens; any other
character or word is refused where it stands. Sizes are checked here, before any number is
built: digits of a number, digits of an index, the exponent of ``1e300``.

>>> [token.text for token in lex("2 w_21^(2) tanh'(a_1^(1))")]
['2', 'w_21^(2)', "tanh'", '(', 'a_1^(1)', ')']
>>> lex("x_1 @ 2")
Traceback (most recent call last):
...
symnet.formulas.parser.ParseError: '@' at position 4: this character is not part of a formula (allowed: numbers, names, + - * / ^ ** ( ) ,)
  x_1 @ 2
      ^
"""

import re

import sympy as sp

from ..errors import SymnetError
from ..graph.functions import relu_function, sigmoid, softplus
from ._layered_names import split_indices

__all__ = ["ParseError", "KNOWN_FUNCTIONS", "lex", "placeholder_source", "sum_terms",
           "index_expression", "index_range", "LAYERED_STEMS"]

MAX_DEPTH = 64           # nested parentheses, checked before ast.parse (which recurses)
MAX_NUMBER_DIGITS = 40   # digits of one number literal
MAX_DECIMAL_EXPONENT = 300   # |e| in 1e300
MAX_INDEX_DIGITS = 6     # digits of one index or layer: w_123456,1^(1) is the largest name


class ParseError(SymnetError):
    """A formula that cannot be read; ``position`` and ``token`` say where and what.

    Examples
    --------
    >>> from symnet.formulas.parser import parse_formula
    >>> try:
    ...     parse_formula("x_1 + foo")
    ... except ParseError as error:
    ...     print(error.position, repr(error.token))
    6 'foo'
    """

    __module__ = "symnet.formulas.parser"  # where users import it from, and what tracebacks show

    def __init__(self, message, text="", position=0, token=""):
        self.position, self.token, self.text, self.reason = position, token, text, message
        start = max(0, position - 30)
        snippet = text[start:position + 40].replace("\n", " ")
        pointer = " " * (position - start) + "^"
        where = f"{token!r} at position {position}: " if token else f"at position {position}: "
        super().__init__(f"{where}{message}\n  {snippet}\n  {pointer}" if text else message)


def fail(message, text, position, token):
    raise ParseError(message, text, position, token)


_H = sp.Heaviside


# name -> SymPy builder. ``name'`` (e.g. ``tanh'``, ``sigma'``) is the derivative.
KNOWN_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt,
    "tanh": sp.tanh, "cosh": sp.cosh, "sinh": sp.sinh, "sech": sp.sech,
    "sigma": sigmoid, "sigmoid": sigmoid, "logistic": sigmoid, "softplus": softplus,
    "relu": relu_function(0), "ReLU": relu_function(0), "Heaviside": _H, "H": _H,
    "abs": sp.Abs, "max": sp.Max, "min": sp.Min, "sign": sp.sign,
}
DIFFERENTIABLE = ("exp", "tanh", "cosh", "sinh", "sigma", "sigmoid", "logistic", "softplus",
                  "relu", "ReLU", "log", "ln", "sqrt")
ARITY = {"Heaviside": (1, 2), "H": (1, 2), "max": (2, 2), "min": (2, 2)}
# Stems of symnet's symbols: number of indices, and whether a layer ^(l) follows.
STEMS = {"x": (1, False), "y": (1, False), "t": (1, False), "w": (2, True), "b": (1, True),
         "a": (1, True), "z": (1, True), "delta": (1, True)}


def index_range(sizes, stem, place, layer):
    """How many values index ``place`` of a ``stem`` name takes in a network of ``sizes``."""
    if stem == "x":
        return sizes[0]
    if stem in ("y", "t"):
        return sizes[-1]
    if not (isinstance(layer, int) or str(layer).isdigit()) or not 1 <= int(layer) < len(sizes):
        return None
    layer = int(layer)
    return sizes[layer - 1] if stem == "w" and place == 1 else sizes[layer]


_FORBIDDEN_WORDS = {"lambda", "import", "for", "in", "if", "else", "not", "and", "or", "is",
                    "await", "yield", "def", "class", "exec", "eval", "open", "os", "sys"}


class Token:
    """One token: ``kind`` is number, name, function, sum or op; ``value`` what it stands for."""

    __slots__ = ("kind", "text", "position", "value")

    def __init__(self, kind, text, position, value=None):
        self.kind, self.text, self.position, self.value = kind, text, position, value


_DIGITS, _SPACES = "0123456789", " \t\r\n\f\v"
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?", re.ASCII)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_NAME = re.compile(r"([A-Za-z]+)_([A-Za-z0-9]+(?:,[A-Za-z0-9]+)*)", re.ASCII)
_LAYER = re.compile(r"\^\((\d+|[A-Za-z])\)", re.ASCII)
_OPERATOR = re.compile(r"\*\*|[-+*/^(),]", re.ASCII)
# A sum with its range written out, sum_(p=1)^(4) (LaTeX \sum_{p=1}^{4}), or sum_(p) without
# one; its term is the product that follows it, as in LaTeX (``sum_terms`` brackets it).
_RANGE_SUM = re.compile(r"sum_\(\s*([A-Za-z])\s*(?:=\s*(-?\d+)\s*\)\s*\^\s*\(\s*(-?\d+)\s*)?\)",
                        re.ASCII)
# A Network's or RNN's names (symnet.formulas._layered_names): any number of indices, as a
# run (x_12, w_1,1,2) or in parentheses with index arithmetic (x_(1,p+1)), then a
# superscript for the stems that carry one in that network (a^(t-1), w^(hh), delta^(y,3)).
LAYERED_STEMS = ("delta", "x", "y", "t", "w", "b", "a", "z", "h")
_LAYERED_NAME = re.compile(r"(delta|[A-Za-z])_(?:\(([A-Za-z0-9+\-, ]*)\)|"
                           r"([A-Za-z0-9]+(?:,[A-Za-z0-9]+)*))", re.ASCII)
_SUPERSCRIPT = re.compile(r"\^\(([A-Za-z0-9+\-, ]*)\)", re.ASCII)
_INDEX_PART = re.compile(r"\s*([+-]?)\s*(\d+|[A-Za-z])", re.ASCII)


def _split_indices(raw):
    """'21' -> ['2', '1'], 'ji' -> ['j', 'i'], '10,3' -> ['10', '3']."""
    return raw.split(",") if "," in raw else list(raw)


def _check_index_sizes(indices, layer, text, position, token):
    for index in indices + ([layer] if layer else []):
        if len(index) > MAX_INDEX_DIGITS:
            fail(f"an index or layer has at most {MAX_INDEX_DIGITS} digits; this one has "
                 f"{len(index):,}", text, position, token[:40])


def _lex_name(text, position, tokens, name):
    stem, raw = name.groups()
    n_indices, layered = STEMS[stem]
    if n_indices == 1 and "," in raw:  # x_1,0 inside max(x_1,0): the comma separates
        raw = raw.split(",")[0]
    end = position + len(stem) + 1 + len(raw)
    indices = [raw] if n_indices == 1 and (raw.isdigit() or len(raw) == 1) else \
        _split_indices(raw)
    if len(indices) != n_indices:
        fail(f"{stem} takes {n_indices} ind{'ex' if n_indices == 1 else 'ices'} "
             f"({'w_ji^(l)' if stem == 'w' else stem + '_j'})", text, position,
             text[position:end][:40])
    layer = None
    if layered:
        match = _LAYER.match(text, end)
        if not match:
            fail(f"{stem} needs its layer in parentheses, e.g. {stem}_"
                 f"{''.join(indices)[:12]}^(1)", text, position, text[position:end][:40])
        layer, end = match.group(1), match.end()
    _check_index_sizes(indices, layer, text, position, text[position:end])
    tokens.append(Token("name", text[position:end], position, (stem, indices, layer)))
    return end


def index_expression(part, text, position):
    """[(sign, atom)] of an index such as ``p+1`` or ``t-1`` (atoms: digits or one letter)."""
    terms, at = [], 0
    while at < len(part.rstrip()):
        match = _INDEX_PART.match(part, at)
        if match is None or (terms and not match.group(1)):
            fail("an index is a number, a letter, or a sum of them such as p+1 or t-1", text,
                 position, part[:40])
        terms.append((-1 if match.group(1) == "-" else 1, match.group(2)))
        at = match.end()
    if not terms:
        fail("an index is missing here", text, position, part[:40])
    return terms


def _lex_layered_name(text, position, tokens, superscripted):
    """A name of a Network or RNN: ("layered", stem, [index], [superscript part] or None)."""
    match = _LAYERED_NAME.match(text, position)
    if match is None or match.group(1) not in LAYERED_STEMS:
        return None
    stem, inside, run = match.groups()
    if run is not None:
        indices = [[(1, index)] for index in split_indices(stem, run)]
    else:
        indices = [index_expression(part, text, position) for part in inside.split(",")]
    end, parts = match.end(), None
    superscript = _SUPERSCRIPT.match(text, end) if stem in superscripted else None
    if superscript:   # a tag (hh, xh, y) or an index expression (t, t-1, 3)
        end = superscript.end()
        parts = [part.strip() if re.fullmatch(r"\s*[A-Za-z]{2,}\s*", part)
                 else index_expression(part, text, position)
                 for part in superscript.group(1).split(",")]
    atoms = [atom for index in indices + [p for p in parts or [] if not isinstance(p, str)]
             for _, atom in index]
    _check_index_sizes(atoms, None, text, position, text[position:end])
    tokens.append(Token("name", text[position:end], position, ("layered", stem, indices, parts)))
    return end


def _lex_word(text, position, tokens, superscripted=None):
    """A symnet name, a function name (with ``'`` for its derivative) or ``sum_k``.

    ``superscripted`` (for a Network or RNN) is the set of stems whose names carry a
    superscript there; None reads the MLP's names.
    """
    word = _WORD.match(text, position).group()
    if word.startswith("_") or "__" in word:
        fail("names starting with '_' are never accepted", text, position, word[:40])
    ranged = _RANGE_SUM.match(text, position)
    if ranged:
        letter, low, high = ranged.groups()
        tokens.append(Token("range_sum", ranged.group(), position, (
            letter, None if low is None else int(low), None if high is None else int(high))))
        return ranged.end()
    if superscripted is not None:
        end = _lex_layered_name(text, position, tokens, superscripted)
        if end is not None:
            return end
    name = _NAME.match(text, position)
    if name and name.group(1) in STEMS:
        return _lex_name(text, position, tokens, name)
    if name and name.group(1) == "sum" and name.group(2).isalpha() and len(name.group(2)) == 1:
        tokens.append(Token("sum", name.group(), position, name.group(2)))
        return name.end()
    end = position + len(word)
    if word in KNOWN_FUNCTIONS or word == "h":
        prime = text.startswith("'", end)
        if prime and word not in DIFFERENTIABLE and word != "h":
            fail(f"{word}' is not available; write the derivative out", text, position, word)
        if word == "h" and not prime:
            fail("h is written h'(a_j^(l)) (the derivative of layer l's activation)",
                 text, position, word)
        tokens.append(Token("function", word + "'" * prime, position, word))
        return end + prime
    if word == "e":
        tokens.append(Token("number", word, position, sp.E))
        return end
    if word in ("pi",):
        tokens.append(Token("number", word, position, sp.pi))
        return end
    why = ("is a Python keyword or module, not part of a formula" if word in _FORBIDDEN_WORDS
           else "is not a known name")
    fail(f"{why}. Known: x_i, t_k, y_k, w_ji^(l), b_j^(l), a_j^(l), z_j^(l), delta_j^(l) "
         f"and the functions {', '.join(sorted(set(KNOWN_FUNCTIONS)))}, h'(a_j^(l))",
         text, position, word[:40])


def _lex_number(text, position, tokens):
    match = _NUMBER.match(text, position)
    digits, exponent = match.group(1), match.group(2)
    # The exponent's length first: int() of a 5,000-digit string is itself refused by Python.
    if len(digits) > MAX_NUMBER_DIGITS or (exponent and (
            len(exponent.lstrip("+-")) > 4 or abs(int(exponent)) > MAX_DECIMAL_EXPONENT)):
        fail(f"numbers are limited to {MAX_NUMBER_DIGITS} digits and exponents "
             f"to e+-{MAX_DECIMAL_EXPONENT}", text, position, match.group()[:40])
    # The exact rational the decimal denotes (0.1 is 1/10, not the double nearest it).
    tokens.append(Token("number", match.group(), position, sp.Rational(match.group())))
    return match.end()


def lex(text, superscripted=None):
    """The tokens of plain formula text, or a ``ParseError`` at the first character refused.

    ``superscripted``: for a Network or RNN, the stems whose names carry a superscript.
    """
    tokens, position, depth = [], 0, 0
    while position < len(text):
        char = text[position]
        if char in _SPACES:
            position = _SPACE.match(text, position).end()
        elif char in _DIGITS or (char == "." and text[position + 1:position + 2] in _DIGITS
                                 and position + 1 < len(text)):
            position = _lex_number(text, position, tokens)
        elif char.isascii() and (char.isalpha() or char == "_"):
            position = _lex_word(text, position, tokens, superscripted)
        elif _OPERATOR.match(text, position):
            op = _OPERATOR.match(text, position).group()
            depth += {"(": 1, ")": -1}.get(op, 0)
            if depth > MAX_DEPTH:
                fail(f"parentheses nest deeper than {MAX_DEPTH} levels", text, position, op)
            if depth < 0:
                fail("this ')' closes nothing", text, position, op)
            tokens.append(Token("op", op, position))
            position += len(op)
        elif char == "=":
            fail("a formula is one expression; for an equation 'lhs = rhs' pass it to "
                 "symnet.verify, which checks that lhs names the target", text, position, char)
        else:
            fail("this character is not part of a formula (allowed: numbers, names, "
                 "+ - * / ^ ** ( ) ,)", text, position, char)
    return tokens


def sum_terms(tokens):
    """The tokens with each ranged sum's term in brackets: the product that follows it.

    As in LaTeX, ``sum_(p=1)^(2) delta_p x_p + b`` adds up ``delta_p x_p`` only: the term
    ends at the first + or - (not a sign after an operator), ``,`` or unmatched ``)`` at
    its own depth. A sum inside the term is bracketed when the loop reaches it.
    """
    out, index = list(tokens), 0
    while index < len(out):
        if out[index].kind == "range_sum":
            end, depth = index + 1, 0
            if end < len(out) and out[end].text in ("+", "-") and out[end].kind == "op":
                end += 1   # the term's own sign
            while end < len(out):
                token = out[end]
                if token.kind == "op" and token.text == "(":
                    depth += 1
                elif token.kind == "op" and token.text == ")":
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and token.kind == "op" and token.text in ("+", "-", ","):
                    before = out[end - 1]
                    if not (before.kind == "op" and before.text != ")"):
                        break
                end += 1
            if end == index + 1:
                raise ParseError(f"{out[index].text} needs a term to add up", "",
                                 out[index].position, out[index].text)
            at = out[end - 1].position
            out.insert(end, Token("op", ")", at))
            out.insert(index + 1, Token("op", "(", out[index].position))
        index += 1
    return out


def placeholder_source(tokens):
    """Python source with every operand a placeholder ``_<n>``, and the token of each character.

    Juxtaposition is multiplication (``2 x_1``, ``delta_1^(2) z_1^(1)``) as in
    LaTeX; ``^`` is the power. Function names are followed by their call.
    """
    pieces, previous = [], None
    for index, token in enumerate(tokens):
        starts_operand = token.kind != "op" or token.text == "("
        ends_operand = previous is not None and (
            previous.kind in ("number", "name") or previous.text == ")")
        if starts_operand and ends_operand:
            if token.kind == "number":
                raise ParseError("a number right after another operand: write * or an "
                                 "operator between them", "", token.position, token.text)
            pieces.append(("*", token))
        if token.kind in ("function", "sum", "range_sum") and tokens[index + 1:index + 2] and \
                tokens[index + 1].text != "(":
            raise ParseError(f"{token.text} is a function: write {token.text}(...)", "",
                             token.position, token.text)
        piece = ("**" if token.text == "^" else token.text) if token.kind == "op" else f"_{index}"
        pieces.append((piece, token))
        previous = token
    source = "".join(piece for piece, _ in pieces)
    owners = [token for piece, token in pieces for _ in piece]
    return source, owners
