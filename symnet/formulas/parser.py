"""Safe parsing of formulas a person types: plain math text or LaTeX, never ``eval``.

A formula such as ``"(y_1 - t_1)*w_11^(2)*(1 - z_1^(1)^2)*x_1"`` or
``r"\\delta_1^{(2)} z_1^{(1)}"`` becomes a SymPy expression in symnet's symbols.
The text goes through three whitelists and nothing else:

1. a lexer (``symnet.formulas._lexer``) that accepts only numbers, symnet names
   (``w_21^(2)``, ``delta_j^(1)``, ``x_1``), known function names,
   ``+ - * / ^ ** ( ) ,`` and spaces, and refuses any other character or word
   where it stands (quotes, dots, brackets, ``lambda``, ``__import__``, ...);
   LaTeX is first translated to this plain form by a small translator that
   knows a fixed list of commands;
2. Python's ``ast.parse`` (``mode="eval"``) on a rewritten source in which every
   name is a placeholder, walked node by node: only numbers, the arithmetic
   operators and calls of known functions pass. Chains such as
   ``x_1 + x_1 + ...`` are walked in a loop, not by recursion, so their length
   is bounded only by the length of the text;
3. limits checked before any work: the length of the text, the depth of nested
   parentheses (``ast`` recursion could crash), the size of numbers, indices and
   exponents (``9**9**9**9`` is refused, not computed), and values that are not
   real (``sqrt(-1)``) or not finite (``1/0``).

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
symnet.formulas.parser.ParseError: '__import__' at position 0: names starting with '_' are never accepted
  __import__('os').system('touch /tmp/x')
  ^
"""

import ast

import sympy as sp

from ._latex_input import latex_to_plain
from ._layered_names import (UnboundIndex, activation_of, describe, find_symbol, is_layered,
                             superscript_stems)
from ._lexer import (ARITY, KNOWN_FUNCTIONS, MAX_DEPTH, ParseError, fail, index_range, lex,
                     placeholder_source, sum_terms)
from ._mlp_names import (build_symbol, describe_mlp, known_symbols, pre_activation_layer,
                         suggestion, suggestion_for)

__all__ = ["ParseError", "UnknownSymbolError", "parse_formula", "read_formula",
           "known_symbols", "suggestion", "suggestion_for", "KNOWN_FUNCTIONS", "MAX_LENGTH",
           "MAX_DEPTH"]

MAX_LENGTH = 10_000      # characters: a hand-derived formula is a few hundred at most
MAX_EXPONENT = 100       # |n| in x**n, so exact evaluation at a rational point stays small
MAX_BITS = 100_000       # bits of an exact number built from literals (2**100000 is the limit)
MAX_SUM_TERMS = 10_000   # terms written out by all the sums of one formula together


class UnknownSymbolError(ParseError):
    """A symbol the network does not have; ``suggestion`` is the one probably meant, or None.

    Examples
    --------
    >>> import symnet
    >>> try:
    ...     parse_formula("w_21^(2)", symnet.MLP([2, 3, 1]))
    ... except UnknownSymbolError as error:
    ...     print(error.symbol, "->", error.suggestion)
    w_21^(2) -> w_12^(2)
    """

    __module__ = "symnet.formulas.parser"

    def __init__(self, message, text="", position=0, token="", symbol=None, suggestion=None):
        super().__init__(message, text, position, token)
        self.symbol, self.suggestion = symbol, suggestion

    def moved(self, message, text, position, token):
        """The same error pointing into another text (the LaTeX the formula came from)."""
        return UnknownSymbolError(message, text, position, token, self.symbol, self.suggestion)


def _moved(error, message, text, position, token):
    if isinstance(error, UnknownSymbolError):
        return error.moved(message, text, position, token)
    return ParseError(message, text, position, token)


_SUM_OPS = (ast.Add, ast.Sub)
_PRODUCT_OPS = (ast.Mult, ast.Div)
# What SymPy raises when a function is given an argument it cannot take (Max of a
# complex number, a power too large for memory): each becomes a ParseError.
_SYMPY_FAILURES = (ArithmeticError, TypeError, ValueError, AttributeError, MemoryError,
                   RecursionError)


class _Builder:
    """Walks the ``ast`` of the placeholder source; only whitelisted nodes become SymPy."""

    def __init__(self, text, tokens, owners, net, on_unknown=None):
        self.text, self.tokens, self.owners, self.net = text, tokens, owners, net
        self.on_unknown = on_unknown
        self.sum_terms = 0

    def fail(self, message, node=None, token=None):
        if token is None:
            column = getattr(node, "col_offset", 0)
            token = self.owners[min(column, len(self.owners) - 1)] if self.owners else None
        fail(message, self.text, token.position if token else 0, token.text if token else "")

    def token_of(self, node):
        return self.tokens[int(node.id[1:])]

    def build(self, node, env):
        if isinstance(node, ast.Expression):
            node = node.body
        if isinstance(node, ast.BinOp) and isinstance(node.op, _SUM_OPS):
            return self.chain(node, env, _SUM_OPS)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _PRODUCT_OPS):
            return self.chain(node, env, _PRODUCT_OPS)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.tower(node, env)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            negative = False
            while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                negative ^= isinstance(node.op, ast.USub)
                node = node.operand
            value = self.build(node, env)
            return -value if negative else value
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

    def chain(self, node, env, ops):
        """``a + b - c + ...`` (or ``a * b / c ...``) in a loop over the left spine."""
        operands = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
            operands.append(node)
            node = node.left
        values = [self.build(node, env)]
        for operation in reversed(operands):
            value = self.build(operation.right, env)
            if isinstance(operation.op, ast.Sub):
                value = -value
            elif isinstance(operation.op, ast.Div):
                if value == 0:
                    self.fail("division by zero", operation.right)
                value = 1 / value
            values.append(value)
        return sp.Add(*values) if ops is _SUM_OPS else sp.Mul(*values)

    def tower(self, node, env):
        """``a ^ b ^ c`` (right-associative) in a loop over the right spine."""
        bases = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            bases.append(node)
            node = node.right
        exponent = self.build(node, env)
        for operation in reversed(bases):
            exponent = self.power(operation, self.build(operation.left, env), exponent)
        return exponent

    def power(self, node, base, exponent):
        if exponent.is_Number and abs(exponent) > MAX_EXPONENT:
            self.fail(f"exponents are limited to {MAX_EXPONENT} in size; got {exponent}", node.right)
        if base.is_Rational and exponent.is_Number:
            bits = max(abs(base.p).bit_length(), base.q.bit_length()) * abs(exponent)
            if bits > MAX_BITS:
                self.fail(f"this power would be a number of about {int(bits):,} bits (the "
                          f"limit is {MAX_BITS:,})", node.right)
        if base == 0 and exponent.is_number and exponent.is_negative:
            self.fail("division by zero (0 to a negative power)", node)
        try:
            result = base ** exponent
        except _SYMPY_FAILURES as error:
            self.fail(f"this power cannot be formed ({type(error).__name__})", node)
        if result.is_Pow and result.exp.is_Number and abs(result.exp) > MAX_EXPONENT:
            self.fail(f"exponents are limited to {MAX_EXPONENT}; this power has "
                      f"{result.exp}", node)
        self.require_real(result, "this power", node=node)
        return result

    def require_real(self, value, what, node=None, token=None):
        """Refuse a constant that is not a real number (sqrt(-1), log(-2)) or not finite."""
        if value.is_number and (value.is_real is False or value.has(sp.zoo, sp.nan)):
            self.fail(f"{what} is not a real number (it is {value}); formulas are real-valued",
                      node, token)

    def call(self, node, env):
        token = self.token_of(node.func)
        if token.kind in ("sum", "range_sum"):
            if len(node.args) != 1:
                self.fail("sum_k(...) takes one argument, the term to add up", token=token)
            letter, low, high = (token.value if token.kind == "range_sum"
                                 else (token.value, None, None))
            if low is not None:
                return self.ranged_summation(letter, low, high, node.args[0], env, token)
            return self.summation(letter, node.args[0], env, token)
        if token.kind != "function":
            self.fail("only known functions can be called", token=token)
        low, high = ARITY.get(token.value, (1, 1))
        if not low <= len(node.args) <= high or any(isinstance(a, ast.Starred) for a in node.args):
            self.fail(f"{token.text} takes {low if low == high else f'{low} or {high}'} "
                      f"argument{'s' if high > 1 else ''}", token=token)
        args = [self.build(argument, env) for argument in node.args]
        for argument in args:
            self.require_real(argument, f"an argument of {token.text}", token=token)
        if token.text == "h'":
            return self.h_prime(args[0], token)
        function = KNOWN_FUNCTIONS[token.value]
        try:
            result = (_derivative_of(token.value)(args[0]) if token.text.endswith("'")
                      else function(*args))
        except _SYMPY_FAILURES as error:
            self.fail(f"{token.text}(...) cannot take these arguments ({type(error).__name__})",
                      token=token)
        self.require_real(result, f"{token.text}(...)", token=token)
        return result

    def h_prime(self, argument, token):
        if self.net is not None and is_layered(self.net):
            act = activation_of(self.net, argument) or self.fail(
                "h'(...) takes a pre-activation of the network (a_1,2^(1), a_1^(t)); "
                "otherwise write the derivative, e.g. tanh'(u)", token=token)
            return act.derivative_at(argument)
        layer = pre_activation_layer(argument)
        if self.net is None or layer is None:
            self.fail("h'(...) needs a network and a pre-activation argument a_j^(l); "
                      "otherwise write the derivative, e.g. tanh'(u) or 1 - tanh(u)^2",
                      token=token)
        if not 1 <= layer <= self.net.n_layers:
            self.fail(f"the layers of {self.net!r} are 1..{self.net.n_layers}", token=token)
        return self.net.activations[layer - 1].derivative_at(argument)

    def ranged_summation(self, letter, low, high, body, env, token):
        if letter in env:
            self.fail(f"the index {letter} is already in use", token=token)
        self.sum_terms += max(high - low + 1, 0)
        if self.sum_terms > MAX_SUM_TERMS:
            self.fail(f"the sums write out more than {MAX_SUM_TERMS:,} terms", token=token)
        return sp.Add(*[self.build(body, {**env, letter: n}) for n in range(low, high + 1)])

    def summation(self, letter, body, env, token):
        if self.net is None:
            self.fail(f"sum_{letter} needs a network to know the range of {letter}", token=token)
        if is_layered(self.net):
            self.fail(f"in a {type(self.net).__name__} write the range of {letter}: "
                      f"sum_({letter}=1)^(4)(...) or \\sum_{{{letter}=1}}^{{4}}", token=token)
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
                        ranges.append(index_range(sizes, stem, place, layer))
        if not ranges or None in ranges:
            self.fail(f"cannot tell the range of {letter}: use it as an index of a name "
                      "with a known layer inside the sum", token=token)
        return sp.Add(*[self.build(body, {**env, letter: k}) for k in range(1, min(ranges) + 1)])

    def layered_symbol(self, token, env):
        """A name of a Network or RNN, found by its key (``symnet.formulas._layered_names``)."""
        try:
            symbol, name = find_symbol(self.net, token.value, env)
        except UnboundIndex as unbound:
            self.fail(f"the index {unbound.letter} has no value here: sum over it with its "
                      f"range, sum_({unbound.letter}=1)^(n)(...), or write a number", token=token)
        if symbol is None and self.on_unknown is not None:
            symbol = self.on_unknown(name, None, token)
        if symbol is None:
            raise UnknownSymbolError(f"{name} is not a symbol of {self.net!r}. "
                                     f"{describe(self.net)}", self.text, token.position,
                                     token.text, name, None)
        return symbol

    def symbol(self, token, env):
        if token.value[0] == "layered":
            return self.layered_symbol(token, env)
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
        symbol = build_symbol(stem, numbers)
        if self.net is not None and symbol not in known_symbols(self.net):
            meant = suggestion(self.net, stem, numbers)
            replacement = None if self.on_unknown is None else \
                self.on_unknown(symbol, meant, token)
            if replacement is not None:
                return replacement
            shape = "-".join(str(n) for n in self.net.sizes)
            guess = (f" ({symbol} does not exist in a {shape} network: did you mean "
                     f"{meant}?)" if meant is not None else "")
            raise UnknownSymbolError(f"{symbol} is not a symbol of {self.net!r}{guess}. "
                                     f"{describe_mlp(self.net)}", self.text, token.position,
                                     token.text, symbol, meant)
        return symbol


def _derivative_of(name):
    """u -> f'(u) for a known function name (``tanh'``, ``sigma'``)."""
    u = sp.Dummy("u", real=True)
    first = sp.diff(KNOWN_FUNCTIONS[name](u), u)
    return lambda argument: first.xreplace({u: argument})


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
        softplus, relu, Heaviside/H, abs, max, min, sign; ``f'(u)`` is the
        derivative of f, ``h'(a_j^(l))`` the derivative of layer l's activation
        (needs ``net``); ``sum_k(...)`` adds the term over the range of k (needs ``net``),
        ``sum_(p=1)^(3) term`` (``\\sum_{p=1}^{3}``) the product after it over p = 1..3.
        A Network's or RNN's names: ``x_(1,p+1)``, ``h_2^(t-1)``, ``w_12^(hh)``.
        Decimals are the exact rationals they denote: ``0.1`` is 1/10, ``1e-40`` is 10^-40.
    net : MLP, Network or RNN, optional
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
        With ``.position`` and ``.token`` of the first offending token;
        ``UnknownSymbolError`` (a ``ParseError``) for a symbol ``net`` does not have.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1], hidden="tanh")
    >>> parse_formula("h'(a_1^(1)) * sum_k(w_k1^(2) delta_k^(2))", net)
    delta_1^(2)*w_11^(2)*(1 - tanh(a_1^(1))**2)
    >>> parse_formula("0.5 (y_1 - t_1)^2")
    (-t_1 + y_1)**2/2
    >>> parse_formula("sum_(t=2)^(3) delta_1^(t) h_2^(t-1)", symnet.RNN(1, 2, 1, steps=3))
    delta_1^(2)*h_2^(1) + delta_1^(3)*h_2^(2)
    >>> parse_formula("w_31^(1)", net)
    Traceback (most recent call last):
    ...
    symnet.formulas.parser.UnknownSymbolError: 'w_31^(1)' at position 0: w_31^(1) is not a symbol of MLP([2, 2, 1], hidden='tanh', output='linear'). Its symbols: x_1..x_2, t_1..t_1, y_1..y_1; layer 1: w_ji^(1) (j = 1..2, i = 1..2), b_j^(1), a_j^(1), z_j^(1), delta_j^(1); layer 2: w_ji^(2) (j = 1..1, i = 1..2), b_j^(2), a_j^(2), delta_j^(2)
      w_31^(1)
      ^
    """
    return read_formula(text, net, indices)


def read_formula(text, net=None, indices=None, on_unknown=None):
    """``parse_formula`` with a hook: ``on_unknown(symbol, suggestion, token)`` is called for
    a symbol ``net`` lacks; what it returns takes the symbol's place (None: refuse it)."""
    if not isinstance(text, str):
        raise ParseError(f"a formula is a string; got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"the formula has {len(text):,} characters; the limit is "
                         f"{MAX_LENGTH:,}", text[:60], 0, "")
    _check_depth(text)
    if not text.strip():
        raise ParseError("the formula is empty", text, 0, "")
    if _is_latex(text):
        plain, origin = latex_to_plain(text, ParseError)
        try:
            return _parse_plain(plain, net, indices or {}, on_unknown)
        except ParseError as error:
            position = origin[min(error.position, len(origin) - 1)] if origin else 0
            raise _moved(error, error.reason + f" (read from the LaTeX as: {plain})", text,
                         position, text[position:position + len(error.token)]) from None
    return _parse_plain(text, net, indices or {}, on_unknown)


def _check_depth(text):
    """Refuse deep nesting of ( [ { before any recursive step (ast, the LaTeX translator)."""
    depth = 0
    for position, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                fail(f"brackets nest deeper than {MAX_DEPTH} levels", text, position, char)
        elif char in ")]}":
            depth -= 1


def _parse_plain(text, net, indices, on_unknown):
    tokens = lex(text, superscript_stems(net) if net is not None and is_layered(net) else None)
    if not tokens:
        fail("the formula is empty", text, 0, "")
    try:
        tokens = sum_terms(tokens)
        source, owners = placeholder_source(tokens)
    except ParseError as error:
        fail(error.reason, text, error.position, error.token)
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        offset = error.offset or 0
        if offset < 1 or offset > len(source):  # Python reports the end of the text as 0
            fail("the formula ends too early (an operand or ')' is missing)", text,
                 tokens[-1].position, tokens[-1].text)
        token = owners[offset - 1]
        message = {"(": "this '(' is never closed"}.get(token.text, "an operand or operator "
                                                        "is missing or extra here")
        fail(message, text, token.position, token.text)
    except (MemoryError, RecursionError):  # e.g. 3,000 nested powers or signs
        fail("the formula is too deeply nested", text, 0, "")
    builder = _Builder(text, tokens, owners, net, on_unknown)
    try:
        expression = builder.build(tree, dict(indices))
    except ParseError:
        raise
    except _SYMPY_FAILURES as error:  # SymPy's own evaluation of what was built
        fail(f"SymPy cannot form this expression ({type(error).__name__})", text, 0, "")
    if not isinstance(expression, sp.Expr):
        fail("this does not describe a number", text, 0, "")
    if expression.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        fail("the formula is not finite (a division by zero?)", text, 0, "")
    return expression
