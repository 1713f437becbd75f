"""Safe parsing of formulas a person types: plain math text or LaTeX, never ``eval``.

A formula such as ``"(y_1 - t_1)*w_11^(2)*(1 - z_1^(1)^2)*x_1"`` or
``r"\\delta_1^{(2)} z_1^{(1)}"`` becomes a SymPy expression in symnet's symbols.
The text goes through three whitelists and nothing else:

1. a lexer that accepts only numbers, symnet names (``w_21^(2)``, ``delta_j^(1)``,
   ``x_1``), known function names, ``+ - * / ^ ** ( ) ,`` and spaces, and refuses
   any other character or word where it stands (quotes, dots, brackets, ``lambda``,
   ``__import__``, ...); LaTeX is first translated to this plain form by a small
   translator that knows a fixed list of commands;
2. Python's ``ast.parse`` (``mode="eval"``) on a rewritten source in which every
   name is a placeholder, walked node by node: only numbers, the arithmetic
   operators and calls of known functions pass;
3. limits checked before any work: the length of the text, the depth of nested
   parentheses (``ast`` recursion could crash), the size of numbers and exponents
   (``9**9**9**9`` is refused, not computed).

Every refusal is a ``ParseError`` that points at the offending token.

Examples
--------
>>> parse_formula("(y_1 - t_1)*w_11^(2)*(1 - z_1^(1)^2)*x_1")
w_11^(2)*x_1*(1 - z_1^(1)**2)*(-t_1 + y_1)
>>> parse_formula(r"\\delta_1^{(2)} z_1^{(1)}")
delta_1^(2)*z_1^(1)
>>> parse_formula("delta_j^(1)*x_i", indices={"j": 2, "i": 1})
delta_2^(1)*x_1
>>> parse_formula("__import__('os').system('touch /tmp/x')")
Traceback (most recent call last):
...
symnet.parse.ParseError: '__import__' at position 0: names starting with '_' are never accepted
  __import__('os').system('touch /tmp/x')
  ^
"""

import ast
import re

import sympy as sp

from . import symbols as sym
from ._latex_input import latex_to_plain
from .errors import SymnetError
from .functions import relu_function, sigmoid, softplus

__all__ = ["ParseError", "parse_formula", "KNOWN_FUNCTIONS", "MAX_LENGTH", "MAX_DEPTH"]

MAX_LENGTH = 10_000      # characters: a hand-derived formula is a few hundred at most
MAX_DEPTH = 64           # nested parentheses, checked before ast.parse (which recurses)
MAX_EXPONENT = 100       # |n| in x**n, so exact evaluation at a rational point stays small
MAX_NUMBER_DIGITS = 40   # digits of one number literal
MAX_BITS = 100_000       # bits of an exact number built from literals (2**100000 is the limit)

_H = sp.Heaviside


def _derivative_of(function):
    u = sp.Dummy("u", real=True)
    first = sp.diff(function(u), u)
    return lambda argument: first.xreplace({u: argument})


# name -> SymPy builder. ``name'`` (e.g. ``tanh'``, ``sigma'``) is the derivative.
KNOWN_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt,
    "tanh": sp.tanh, "cosh": sp.cosh, "sinh": sp.sinh, "sech": sp.sech,
    "sigma": sigmoid, "sigmoid": sigmoid, "logistic": sigmoid, "softplus": softplus,
    "relu": relu_function(0), "ReLU": relu_function(0), "Heaviside": _H, "H": _H,
    "abs": sp.Abs, "max": sp.Max, "min": sp.Min,
}
_DIFFERENTIABLE = ("exp", "tanh", "cosh", "sinh", "sigma", "sigmoid", "logistic", "softplus",
                   "relu", "ReLU", "log", "ln", "sqrt")
_ARITY = {"Heaviside": (1, 2), "H": (1, 2), "max": (2, 2), "min": (2, 2)}
# Stems of symnet's symbols: number of indices, and whether a layer ^(l) follows.
_STEMS = {"x": (1, False), "y": (1, False), "t": (1, False), "w": (2, True), "b": (1, True),
          "a": (1, True), "z": (1, True), "delta": (1, True)}
_FORBIDDEN_WORDS = {"lambda", "import", "for", "in", "if", "else", "not", "and", "or", "is",
                    "await", "yield", "def", "class", "exec", "eval", "open", "os", "sys"}


class ParseError(SymnetError):
    """A formula that cannot be read; ``position`` and ``token`` say where and what.

    Examples
    --------
    >>> try:
    ...     parse_formula("x_1 + foo")
    ... except ParseError as error:
    ...     print(error.position, repr(error.token))
    6 'foo'
    """

    def __init__(self, message, text="", position=0, token=""):
        self.position, self.token, self.text, self.reason = position, token, text, message
        start = max(0, position - 30)
        snippet = text[start:position + 40].replace("\n", " ")
        pointer = " " * (position - start) + "^"
        where = f"{token!r} at position {position}: " if token else f"at position {position}: "
        super().__init__(f"{where}{message}\n  {snippet}\n  {pointer}" if text else message)


def _error(message, text, position, token):
    raise ParseError(message, text, position, token)


# -- lexer -------------------------------------------------------------------------
_DIGITS, _SPACES = "0123456789", " \t\r\n\f\v"
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_NUMBER = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?", re.ASCII)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_NAME = re.compile(r"([A-Za-z]+)_([A-Za-z0-9]+(?:,[A-Za-z0-9]+)*)", re.ASCII)
_LAYER = re.compile(r"\^\((\d+|[A-Za-z])\)", re.ASCII)
_OPERATOR = re.compile(r"\*\*|[-+*/^(),]", re.ASCII)


class _Token:
    __slots__ = ("kind", "text", "position", "value")

    def __init__(self, kind, text, position, value=None):
        self.kind, self.text, self.position, self.value = kind, text, position, value


def _split_indices(raw):
    """'21' -> ['2', '1'], 'ji' -> ['j', 'i'], '10,3' -> ['10', '3']."""
    return raw.split(",") if "," in raw else list(raw)


def _lex_word(text, position, tokens):
    """A symnet name, a function name (with ``'`` for its derivative) or ``sum_k``."""
    word = _WORD.match(text, position).group()
    if word.startswith("_") or "__" in word:
        _error("names starting with '_' are never accepted", text, position, word)
    name = _NAME.match(text, position)
    if name and name.group(1) in _STEMS:
        stem, raw = name.groups()
        n_indices, layered = _STEMS[stem]
        if n_indices == 1 and "," in raw:  # x_1,0 inside max(x_1,0): the comma separates
            raw = raw.split(",")[0]
        end = position + len(stem) + 1 + len(raw)
        indices = [raw] if n_indices == 1 and (raw.isdigit() or len(raw) == 1) else \
            _split_indices(raw)
        if len(indices) != n_indices:
            _error(f"{stem} takes {n_indices} ind{'ex' if n_indices == 1 else 'ices'} "
                   f"({'w_ji^(l)' if stem == 'w' else stem + '_j'})", text, position,
                   text[position:end])
        layer = None
        if layered:
            match = _LAYER.match(text, end)
            if not match:
                _error(f"{stem} needs its layer in parentheses, e.g. {stem}_"
                       f"{''.join(indices)}^(1)", text, position, text[position:end])
            layer, end = match.group(1), match.end()
        tokens.append(_Token("name", text[position:end], position, (stem, indices, layer)))
        return end
    if name and name.group(1) == "sum" and name.group(2).isalpha() and len(name.group(2)) == 1:
        tokens.append(_Token("sum", name.group(), position, name.group(2)))
        return name.end()
    end = position + len(word)
    if word in KNOWN_FUNCTIONS or word == "h":
        prime = text.startswith("'", end)
        if prime and word not in _DIFFERENTIABLE and word != "h":
            _error(f"{word}' is not available; write the derivative out", text, position, word)
        if word == "h" and not prime:
            _error("h is written h'(a_j^(l)) (the derivative of layer l's activation)",
                   text, position, word)
        tokens.append(_Token("function", word + "'" * prime, position, word))
        return end + prime
    if word == "e":
        tokens.append(_Token("number", word, position, sp.E))
        return end
    if word in ("pi",):
        tokens.append(_Token("number", word, position, sp.pi))
        return end
    why = ("is a Python keyword or module, not part of a formula" if word in _FORBIDDEN_WORDS
           else "is not a known name")
    _error(f"{why}. Known: x_i, t_k, y_k, w_ji^(l), b_j^(l), a_j^(l), z_j^(l), delta_j^(l) "
           f"and the functions {', '.join(sorted(set(KNOWN_FUNCTIONS)))}, h'(a_j^(l))",
           text, position, word)


def _lex(text):
    tokens, position, depth = [], 0, 0
    while position < len(text):
        char = text[position]
        if char in _SPACES:
            position = _SPACE.match(text, position).end()
        elif char in _DIGITS or (char == "." and text[position + 1:position + 2] in _DIGITS
                                 and position + 1 < len(text)):
            match = _NUMBER.match(text, position)
            digits, exponent = match.group(1), match.group(2)
            if len(digits) > MAX_NUMBER_DIGITS or (exponent and abs(int(exponent)) > 300):
                _error(f"numbers are limited to {MAX_NUMBER_DIGITS} digits and exponents "
                       "to e+-300", text, position, match.group())
            tokens.append(_Token("number", match.group(), position, sp.Rational(match.group())))
            position = match.end()
        elif char.isascii() and (char.isalpha() or char == "_"):
            position = _lex_word(text, position, tokens)
        elif _OPERATOR.match(text, position):
            op = _OPERATOR.match(text, position).group()
            depth += {"(": 1, ")": -1}.get(op, 0)
            if depth > MAX_DEPTH:
                _error(f"parentheses nest deeper than {MAX_DEPTH} levels", text, position, op)
            if depth < 0:
                _error("this ')' closes nothing", text, position, op)
            tokens.append(_Token("op", op, position))
            position += len(op)
        else:
            _error("this character is not part of a formula (allowed: numbers, names, "
                   "+ - * / ^ ** ( ) ,)", text, position, char)
    return tokens


# -- placeholders for ast ------------------------------------------------------------
def _source(tokens):
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
        if token.kind in ("function", "sum") and tokens[index + 1:index + 2] and \
                tokens[index + 1].text != "(":
            raise ParseError(f"{token.text} is a function: write {token.text}(...)", "",
                             token.position, token.text)
        piece = ("**" if token.text == "^" else token.text) if token.kind == "op" else f"_{index}"
        pieces.append((piece, token))
        previous = token
    source = "".join(piece for piece, _ in pieces)
    owners = [token for piece, token in pieces for _ in piece]
    return source, owners


class _Builder:
    """Walks the ``ast`` of the placeholder source; only whitelisted nodes become SymPy."""

    _BINARY = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b}

    def __init__(self, text, tokens, owners, net):
        self.text, self.tokens, self.owners, self.net = text, tokens, owners, net

    def fail(self, message, node=None, token=None):
        if token is None:
            column = getattr(node, "col_offset", 0)
            token = self.owners[min(column, len(self.owners) - 1)] if self.owners else None
        _error(message, self.text, token.position if token else 0, token.text if token else "")

    def token_of(self, node):
        return self.tokens[int(node.id[1:])]

    def build(self, node, env):
        if isinstance(node, ast.Expression):
            return self.build(node.body, env)
        if isinstance(node, ast.BinOp) and type(node.op) in self._BINARY:
            return self._BINARY[type(node.op)](self.build(node.left, env),
                                               self.build(node.right, env))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.power(node, self.build(node.left, env), self.build(node.right, env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, env)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            token = self.token_of(node)
            if token.kind == "number":
                return token.value
            if token.kind == "name":
                return self.symbol(token, env)
            self.fail(f"{token.text} is a function: write {token.text}(...)", token=token)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self.call(node, env)
        self.fail("this is not part of a formula (only numbers, names, + - * / ^ and "
                  "known functions)", node)

    def power(self, node, base, exponent):
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            self.fail(f"exponents are limited to {MAX_EXPONENT} in size; got {exponent}", node.right)
        if base.is_Rational and exponent.is_Number:
            bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent)
            if bits > MAX_BITS:
                self.fail(f"this power would be a number of about {int(bits):,} bits (the "
                          f"limit is {MAX_BITS:,})", node.right)
        result = base ** exponent
        if result.is_Pow and result.exp.is_Number and abs(result.exp) > MAX_EXPONENT:
            self.fail(f"exponents are limited to {MAX_EXPONENT}; this power has "
                      f"{result.exp}", node)
        return result

    def call(self, node, env):
        token = self.token_of(node.func)
        if token.kind == "sum":
            if len(node.args) != 1:
                self.fail("sum_k(...) takes one argument, the term to add up", token=token)
            return self.summation(token.value, node.args[0], env, token)
        if token.kind != "function":
            self.fail("only known functions can be called", token=token)
        low, high = _ARITY.get(token.value, (1, 1))
        if not low <= len(node.args) <= high or any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(f"{token.text} takes {low if low == high else f'{low} or {high}'} "
                      f"argument{'s' if high > 1 else ''}", token=token)
        args = [self.build(argument, env) for argument in node.args]
        if token.text == "h'":
            return self.h_prime(args[0], token)
        function = KNOWN_FUNCTIONS[token.value]
        if token.text.endswith("'"):
            return _derivative_of(function)(args[0])
        return function(*args)

    def h_prime(self, argument, token):
        match = _PRE_ACTIVATION.match(getattr(argument, "name", ""))
        if self.net is None or not match:
            self.fail("h'(...) needs a network and a pre-activation argument a_j^(l); "
                      "otherwise write the derivative, e.g. tanh'(u) or 1 - tanh(u)^2",
                      token=token)
        layer = int(match.group(1))
        return self.net.activations[layer - 1].derivative_at(argument)

    def summation(self, letter, body, env, token):
        if self.net is None:
            self.fail(f"sum_{letter} needs a network to know the range of {letter}", token=token)
        if letter in env:
            self.fail(f"the index {letter} is already in use", token=token)
        sizes = self.net.sizes
        ranges = []
        for leaf in ast.walk(body):
            if isinstance(leaf, ast.Name) and self.token_of(leaf).kind == "name":
                stem, indices, layer = self.token_of(leaf).value
                layer = env.get(layer, layer)
                for place, index in enumerate(indices):
                    if index == letter:
                        ranges.append(_index_range(sizes, stem, place, layer))
        if not ranges or None in ranges:
            self.fail(f"cannot tell the range of {letter}: use it as an index of a name "
                      "with a known layer inside the sum", token=token)
        return sp.Add(*[self.build(body, {**env, letter: k}) for k in range(1, min(ranges) + 1)])

    def symbol(self, token, env):
        stem, indices, layer = token.value
        numbers = []
        for index in indices + ([layer] if layer is not None else []):
            value = env.get(index, index)
            if isinstance(value, str) and not value.isdigit():
                self.fail(f"the index {index} has no value here: give its values (indices=...) "
                          "or write a number", token=token)
            if int(value) < 1:
                self.fail("indices and layers count from 1", token=token)
            numbers.append(int(value))
        symbol = _BUILD[stem](*numbers)
        if self.net is not None and symbol not in _known_symbols(self.net):
            self.fail(f"{symbol} is not a symbol of {self.net!r}. {_describe(self.net)}",
                      token=token)
        return symbol


_PRE_ACTIVATION = re.compile(r"^a_\d+\^\((\d+)\)$", re.ASCII)
_BUILD = {"x": sym.input_symbol, "t": sym.target, "y": sym.output,
          "w": lambda j, i, l: sym.weight(l, j, i), "b": lambda j, l: sym.bias(l, j),
          "a": lambda j, l: sym.pre_activation(l, j), "z": lambda j, l: sym.activation_value(l, j),
          "delta": lambda j, l: sym.delta(l, j)}


def _index_range(sizes, stem, place, layer):
    """How many values index ``place`` of a ``stem`` name takes in a network of ``sizes``."""
    if stem == "x":
        return sizes[0]
    if stem in ("y", "t"):
        return sizes[-1]
    if not (isinstance(layer, int) or str(layer).isdigit()) or not 1 <= int(layer) < len(sizes):
        return None
    layer = int(layer)
    return sizes[layer - 1] if stem == "w" and place == 1 else sizes[layer]


def _known_symbols(net):
    known = set(net.inputs) | set(net.targets) | set(net.params) | set(net.equations)
    known |= {sym.delta(l, j) for l in range(1, net.n_layers + 1)
              for j in range(1, net.sizes[l] + 1)}
    return known


def _describe(net):
    L, sizes = net.n_layers, net.sizes
    return (f"Its symbols: x_1..x_{sizes[0]}, t_1..t_{sizes[-1]}, y_1..y_{sizes[-1]}; "
            + "; ".join(f"layer {l}: w_ji^({l}) (j = 1..{sizes[l]}, i = 1..{sizes[l - 1]}), "
                        f"b_j^({l}), a_j^({l}), " + (f"z_j^({l}), " if l < L else "")
                        + f"delta_j^({l})" for l in range(1, L + 1)))


# -- the public function ------------------------------------------------------------
def _is_latex(text):
    return "\\" in text or "{" in text


def parse_formula(text, net=None, *, indices=None):
    """A SymPy expression from plain math text or LaTeX, through whitelists only.

    Parameters
    ----------
    text : str
        Plain text (``"delta_1^(2)*z_1^(1)"``, ``^`` or ``**`` for powers,
        juxtaposition for products) or LaTeX (``r"\\frac{1}{2} \\delta_1^{(2)}"``).
        Functions: exp, log/ln, sqrt, tanh, cosh, sinh, sech, sigma/sigmoid,
        softplus, relu, Heaviside/H, abs, max, min; ``f'(u)`` is the derivative of
        f, ``h'(a_j^(l))`` the derivative of layer l's activation (needs ``net``);
        ``sum_k(...)`` adds the term over the range of k (needs ``net``).
    net : MLP, optional
        When given, only the network's symbols are accepted.
    indices : dict, optional
        Values of letter indices, e.g. ``{"j": 2, "i": 1}`` for ``"delta_j^(1)*x_i"``.

    Returns
    -------
    sympy.Expr
        In symnet's symbols (real), exact: ``0.5`` becomes ``1/2``.

    Raises
    ------
    ParseError
        With ``.position`` and ``.token`` of the first offending token.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1], hidden="tanh")
    >>> parse_formula("h'(a_1^(1)) * sum_k(w_k1^(2) delta_k^(2))", net)
    delta_1^(2)*w_11^(2)*(1 - tanh(a_1^(1))**2)
    >>> parse_formula("0.5 (y_1 - t_1)^2")
    (-t_1 + y_1)**2/2
    >>> parse_formula("w_31^(1)", net)
    Traceback (most recent call last):
    ...
    symnet.parse.ParseError: 'w_31^(1)' at position 0: w_31^(1) is not a symbol of MLP([2, 2, 1], hidden='tanh', output='linear'). Its symbols: x_1..x_2, t_1..t_1, y_1..y_1; layer 1: w_ji^(1) (j = 1..2, i = 1..2), b_j^(1), a_j^(1), z_j^(1), delta_j^(1); layer 2: w_ji^(2) (j = 1..1, i = 1..2), b_j^(2), a_j^(2), delta_j^(2)
      w_31^(1)
      ^
    """
    if not isinstance(text, str):
        raise ParseError(f"a formula is a string; got {type(text).__name__}")
    _check_depth(text)
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula has {len(text):,} characters; the limit is "
                         f"{MAX_LENGTH:,}", text[:60], 0, "")
    if not text.strip():
        raise ParseError("the formula is empty", text, 0, "")
    if _is_latex(text):
        plain, origin = latex_to_plain(text, ParseError)
        try:
            return _parse_plain(plain, net, indices or {})
        except ParseError as error:
            position = origin[min(error.position, len(origin) - 1)] if origin else 0
            raise ParseError(error.reason + f" (read from the LaTeX as: {plain})", text,
                             position, text[position:position + len(error.token)]) from None
    return _parse_plain(text, net, indices or {})


def _check_depth(text):
    """Refuse deep nesting of ( [ { before any recursive step (ast, the LaTeX translator)."""
    depth = 0
    for position, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                _error(f"brackets nest deeper than {MAX_DEPTH} levels", text, position, char)
        elif char in ")]}":
            depth -= 1


def _parse_plain(text, net, indices):
    tokens = _lex(text)
    if not tokens:
        _error("the formula is empty", text, 0, "")
    try:
        source, owners = _source(tokens)
    except ParseError as error:
        _error(error.reason, text, error.position, error.token)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = error.offset or 0
        if offset < 1 or offset > len(source):  # Python reports the end of the text as 0
            _error("the formula ends too early (an operand or ')' is missing)", text,
                   tokens[-1].position, tokens[-1].text)
        token = owners[offset - 1]
        message = {"(": "this '(' is never closed"}.get(token.text, "an operand or operator "
                                                        "is missing or extra here")
        _error(message, text, token.position, token.text)
    except (MemoryError, RecursionError):
        _error("the formula is too deeply nested", text, 0, "")
    expression = _Builder(text, tokens, owners, net).build(tree, dict(indices))
    if not isinstance(expression, sp.Expr):
        _error("this does not describe a number", text, 0, "")
    return expression
