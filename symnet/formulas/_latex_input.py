"""A small LaTeX -> plain-text translator for formulas, over a fixed list of commands.

SymPy's ``parse_latex`` needs the ANTLR runtime and then ``sympify``-style
evaluation; symnet only needs the notation a person writes for backprop, so it
translates a whitelisted subset to the plain form that ``symnet.formulas.parser`` reads:

    \\delta_1^{(2)} z_1^{(1)}           -> delta_1^(2) z_1^(1)
    w^{(2)}_{11}                        -> w_11^(2)        (sub- and superscript in any order)
    \\frac{a}{b}, \\sqrt{a}              -> ((a)/(b)), sqrt(a)
    \\left( ... \\right), \\cdot, \\times  -> ( ... ), *, *
    \\sigma, \\tanh, \\exp, \\log, \\ln     -> sigma, tanh, exp, log, ln
    x^{2}, \\left(z\\right)^2            -> x**(2), (z)**(2)
    \\sum_{p=1}^{4} \\delta_{1,p}^{(1)} x_{1,p+1}
                                        -> sum_(p=1)^(4) delta_1,p^(1) x_(1,p+1)
    h_j^{(t-1)}, w_{11}^{(hh)}          -> h_j^(t-1), w_11^(hh)   (a Network's or RNN's names)

Any other command is refused where it stands. Each character of the output
remembers the position in the LaTeX it came from, so errors found later point
into the text the person wrote.

>>> latex_to_plain(r"\\frac{1}{2} w^{(2)}_{11}")[0]
'((1)/(2)) w_11^(2)'
"""

import re

__all__ = ["latex_to_plain"]

_FUNCTIONS = {"sigma": "sigma", "tanh": "tanh", "exp": "exp", "log": "log", "ln": "ln",
              "cosh": "cosh", "sinh": "sinh", "sqrt": None, "delta": "delta"}
_OPERATORS = {"cdot": "*", "times": "*", "ast": "*"}
_SPACING = {",", ";", ":", "!", " ", "quad", "qquad"}
_SIZING = {"left", "right", "big", "Big", "bigl", "bigr", "Bigl", "Bigr", "bigg", "Bigg"}
_WORDS = {"operatorname", "mathrm", "text", "mathit"}
# Names whose superscript (l) is a layer, a time step (t-1) or a tag (hh), (y,3): not a power.
_LAYERED = {"w", "b", "a", "z", "delta", "h", "x", "y", "t"}
_LAYER = re.compile(r"^\(\s*([A-Za-z0-9][A-Za-z0-9+\-, ]*)\s*\)$", re.ASCII)
_INDEX_ARITHMETIC = re.compile(r"[A-Za-z0-9+\-, ]+", re.ASCII)   # x_{1,p+1}: in parentheses
_SUM_FROM = re.compile(r"^\s*([A-Za-z])\s*(?:=\s*(-?\d+)\s*)?$", re.ASCII)
_SUM_TO = re.compile(r"^\s*(-?\d+)\s*$", re.ASCII)
_COMMAND = re.compile(r"\\([A-Za-z]+|.)", re.ASCII | re.DOTALL)
_SUPPORTED = ("\\frac \\sqrt \\left \\right \\cdot \\times \\delta \\sigma \\tanh \\exp \\log "
              "\\ln \\cosh \\sinh \\sum_{p=1}^{n} \\operatorname{...} \\mathrm{...} \\, \\;")


class _Translator:
    def __init__(self, text, error):
        self.text, self.error, self.at = text, error, 0
        self.out = []  # (piece, position in the LaTeX)

    def fail(self, message, position, token):
        raise self.error(message, self.text, position, token)

    def emit(self, piece, position):
        self.out.append((piece, position))

    def peek(self):
        return self.text[self.at] if self.at < len(self.text) else ""

    def group(self, what):
        """The raw text of ``{...}`` or of one character, and where it starts."""
        while self.peek().isspace():
            self.at += 1
        start = self.at
        if self.peek() == "{":
            depth, self.at = 0, self.at + 1
            for position in range(self.at, len(self.text)):
                char = self.text[position]
                if char == "{":
                    depth += 1
                elif char == "}":
                    if depth == 0:
                        self.at = position + 1
                        return self.text[start + 1:position], start + 1
                    depth -= 1
            self.fail(f"this '{{' of {what} is never closed", start, "{")
        if self.peek() == "\\":
            match = _COMMAND.match(self.text, self.at)
            if match is None:
                self.fail("a backslash ends the text", start, "\\")
            self.at = match.end()
            return match.group(), start
        if not self.peek():
            self.fail(f"{what} is missing at the end", max(start - 1, 0), self.text[-1:])
        self.at += 1
        return self.text[start], start

    def translated(self, raw, position):
        """Translate a group's content with positions shifted into the whole text."""
        inner = _Translator(self.text, self.error)
        inner.at, inner.end = position, position + len(raw)
        inner.run(position + len(raw))
        return inner.out

    def run(self, end=None):
        end = len(self.text) if end is None else end
        while self.at < end:
            char, position = self.peek(), self.at
            if char == "\\":
                self.command(end)
            elif char.isascii() and char.isalpha():
                word = re.match(r"[A-Za-z]+", self.text[position:end]).group()
                self.at += len(word)
                self.identifier(word, position, end)
            elif char == "{":
                raw, start = self.group("a group")
                self.emit("(", position)
                self.out.extend(self.translated(raw, start))
                self.emit(")", self.at - 1)
            elif char == "^":
                self.at += 1
                self.power(position)
            elif char in "[]":
                self.emit("(" if char == "[" else ")", position)
                self.at += 1
            elif char == "}":
                self.fail("this '}' closes nothing", position, char)
            else:  # digits, operators, spaces, anything else: the plain parser judges them
                self.emit(char, position)
                self.at += 1

    def power(self, position):
        raw, start = self.group("the exponent")
        self.emit("**(", position)
        self.out.extend(self.translated(raw, start))
        self.emit(")", self.at - 1)

    def command(self, end):
        position = self.at
        match = _COMMAND.match(self.text, self.at)
        if match is None:
            self.fail("a backslash ends the text", position, "\\")
        name = match.group(1)
        self.at = match.end()
        if name in _SPACING:
            self.emit(" ", position)
        elif name in _SIZING:
            while self.peek().isspace():
                self.at += 1
            delimiter = self.peek()
            if delimiter == ".":
                self.at += 1
            elif delimiter in "()[]":
                self.emit("(" if delimiter in "([" else ")", self.at)
                self.at += 1
            elif self.text.startswith(("\\{", "\\}"), self.at):
                self.emit("(" if self.text[self.at + 1] == "{" else ")", self.at)
                self.at += 2
            else:
                self.fail(f"\\{name} must be followed by ( ) [ ] or .", position, "\\" + name)
        elif name in _OPERATORS:
            self.emit("*", position)
        elif name in ("frac", "dfrac", "tfrac"):
            numerator, n_start = self.group("the numerator of \\frac")
            denominator, d_start = self.group("the denominator of \\frac")
            self.emit("((", position)
            self.out.extend(self.translated(numerator, n_start))
            self.emit(")/(", position)
            self.out.extend(self.translated(denominator, d_start))
            self.emit("))", self.at - 1)
        elif name == "sqrt":
            if self.peek() == "[":
                self.fail("only square roots \\sqrt{...} are supported", position, "\\sqrt")
            raw, start = self.group("the argument of \\sqrt")
            self.emit("sqrt(", position)
            self.out.extend(self.translated(raw, start))
            self.emit(")", self.at - 1)
        elif name in _WORDS:
            raw, start = self.group(f"the name in \\{name}")
            if not re.fullmatch(r"[A-Za-z]+", raw):
                self.fail(f"\\{name}{{...}} holds a plain name", start, raw)
            self.identifier(raw, start, end)
        elif name == "sum":
            self.summation(position)
        elif name in _FUNCTIONS:
            self.identifier(name, position, end)
        else:
            self.fail(f"the LaTeX command \\{name} is not supported here; supported: "
                      f"{_SUPPORTED}", position, "\\" + name)

    def summation(self, position):
        """\\sum_{p=1}^{4} (limits in either order) -> sum_(p=1)^(4); \\sum_k -> sum_(k)."""
        limits = {}
        while self.peek() in ("_", "^") and self.peek() not in limits:
            mark = self.peek()
            self.at += 1
            limits[mark] = self.group("a limit of \\sum")
        low = _SUM_FROM.match(limits.get("_", ("", 0))[0])
        high = _SUM_TO.match(limits["^"][0]) if "^" in limits else None
        if low is None or (low.group(2) is None) != ("^" not in limits) or (
                "^" in limits and high is None):
            self.fail("write a sum as \\sum_{p=1}^{4} (a letter from a number to a number), "
                      "or \\sum_k", position, "\\sum")
        if low.group(2) is None:
            self.emit(f"sum_({low.group(1)})", position)
        else:
            self.emit(f"sum_({low.group(1)}={low.group(2)})^({high.group(1)})", position)

    def identifier(self, word, position, end):
        """A name with its sub- and superscripts in either order; ^{(l)} is a layer."""
        sub = sup = None
        while self.at < end and self.peek() in "_^" and (sub is None or sup is None):
            mark = self.peek()
            if (mark == "_" and sub is not None) or (mark == "^" and sup is not None):
                break
            self.at += 1
            run = re.match(r"[A-Za-z0-9]+", self.text[self.at:end])
            if mark == "_" and run:  # w_12 as symnet writes it (strict LaTeX: w_{1}2)
                raw, start = run.group(), self.at
                self.at += len(raw)
            else:
                raw, start = self.group("a subscript" if mark == "_" else "a superscript")
            if mark == "_":
                sub = (raw.strip(), start)
            else:
                sup = (raw, start)
        self.emit(word, position)
        if sub is not None:
            index = re.sub(r"\s+", "", sub[0])
            arithmetic = re.search(r"[+-]", index) and _INDEX_ARITHMETIC.fullmatch(index)
            self.emit(f"_({index})" if arithmetic else "_" + index, sub[1])
        layer = _LAYER.match(sup[0]) if sup is not None and word in _LAYERED else None
        if layer:
            self.emit(f"^({re.sub(r'[ ]+', '', layer.group(1))})", sup[1])
        elif sup is not None:
            self.emit("**(", sup[1])
            self.out.extend(self.translated(*sup))
            self.emit(")", sup[1] + len(sup[0]))
        if self.peek() == "'":
            self.emit("'", self.at)
            self.at += 1


def latex_to_plain(text, error=ValueError):
    """(plain text, origin) where ``origin[i]`` is the LaTeX position of plain character i.

    ``error(message, text, position, token)`` is raised for anything outside the subset.
    """
    translator = _Translator(text, error)
    translator.run()
    plain, origin = "", []
    for piece, position in translator.out:
        plain += piece
        origin.extend([position] * len(piece))
    return plain, origin
