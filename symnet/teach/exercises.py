"""Exercises a learner answers in a lesson: a question, an empty box, and an answer at once.

An ``Exercise`` names what to derive: an entry that ``symnet.verify`` knows
(``"dE/dw_11^(2)"``, ``"delta_1^(1)"``, ``"J_12"``, ``"H[w_11^(2), w_11^(2)]"``, ...)
on a network, or a number the lesson computed exactly. ``Exercise.check(answer)``
returns ``Feedback``: equal or not, a counterexample (a point where the learner's
formula and the correct one differ, with both values) and, when the answer is a
common mistake, its name and a hint. The feedback never prints the correct
formula: the solutions live apart, in ``lessons/solutions/``, for a learner to
open when stuck.

``symnet.widgets.exercise_box(exercise)`` shows the question with an empty text
box that calls ``check`` on every answer.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> exercise = Exercise("demo.1", "dE/dw_11^(2) for the sum-of-squares error",
...                     net=net, target="dE/dw_11^(2)")
>>> exercise.check("").status
'empty'
>>> exercise.check("(y_1 - t_1) z_1^(1)").equal
True
>>> wrong = exercise.check("(t_1 - y_1) z_1^(1)")
>>> wrong.equal, wrong.mistake
(False, 'flip_sign')
>>> "y_1 - t_1" in str(wrong)           # the correct formula is not given away
False
"""

import html
import math
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import SymnetError
from ..formulas._lexer import ParseError

__all__ = ["Exercise", "Feedback", "read_number"]


@dataclass(frozen=True)
class Feedback:
    """The answer to one attempt.

    Attributes
    ----------
    status : {"empty", "equal", "not_equal", "unreadable"}
    equal : bool
    mistake : str or None
        The name of the common mistake the answer matches (see ``symnet.formulas.mistakes``
        for formulas; the exercise's own ``wrong_values`` for numbers).
    lines : tuple of str
        What the learner reads.
    verification : symnet.Verification or None
        verify's full verdict for a formula answer.
    """

    status: str
    lines: tuple
    mistake: str = None
    verification: object = field(default=None, repr=False)

    @property
    def equal(self):
        return self.status == "equal"

    def __bool__(self):
        return self.equal

    def __str__(self):
        return "\n".join(self.lines)

    def _repr_html_(self):
        colour = {"equal": "#1a7f37", "empty": "#57606a"}.get(self.status, "#cf222e")
        return (f"<pre class='symnet-feedback' data-status='{self.status}' "
                f"style='border-left: 4px solid {colour}; padding-left: 8px'>"
                f"{html.escape(str(self))}</pre>")


def read_number(text):
    """A number typed by a learner: decimal, fraction or scientific notation, never evaluated.

    Examples
    --------
    >>> read_number("0.25"), read_number("1/4"), read_number(" -2.5e-1 ")
    (0.25, 0.25, -0.25)
    >>> read_number("2**3")
    Traceback (most recent call last):
        ...
    symnet.formulas.parser.ParseError: '2**3' is not a number (write e.g. 0.25, 1/4 or 2.5e-1)
    """
    cleaned = text.strip().replace("\u2212", "-")
    try:
        value = float(Fraction(cleaned))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ParseError(f"{text.strip()!r} is not a number (write e.g. 0.25, 1/4 or 2.5e-1)")
    if not math.isfinite(value):
        raise ParseError(f"{text.strip()!r} is not a finite number")
    return value


@dataclass(frozen=True)
class Exercise:
    """One question of a lesson.

    Parameters
    ----------
    key : str
        ``"LL.k"``: lesson LL, exercise k (the key of its solution in ``lessons/solutions``).
    question : str
        What to derive, in words and the lesson's notation.
    net : MLP
        The network the question is about.
    target : str or None
        A ``symnet.verify`` target for a formula answer; None for a number answer.
    loss : str
        The error function for gradient, delta and Hessian targets.
    value : float or None
        For a number answer: the exact value (the lesson computes it with symnet).
    rtol : float
        For a number answer: the relative tolerance (learners round).
    atol : float
        For a number answer: an absolute tolerance, 0 unless the answer is 0 or
        compared with 0 (then say how close counts).
    wrong_values : dict
        For a number answer: mistake name -> (the value that mistake gives, a hint).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1, 1], hidden="tanh")
    >>> q = Exercise("demo.2", "tanh'(0)", net=net, value=1.0,
    ...              wrong_values={"forgot_square": (0.0, "tanh' = 1 - tanh^2")})
    >>> q.check("1").equal, q.check("0").mistake
    (True, 'forgot_square')
    """

    key: str
    question: str
    net: object
    target: str = None
    loss: str = "sse"
    value: float = None
    rtol: float = 1e-3
    atol: float = 0.0
    wrong_values: dict = field(default_factory=dict)

    def __post_init__(self):
        if (self.target is None) == (self.value is None):
            raise SymnetError(f"exercise {self.key}: give a verify target or a value, not "
                              "both or neither")

    def check(self, answer):
        """The ``Feedback`` on one answer (a string as typed)."""
        if not isinstance(answer, str):
            raise SymnetError(f"an answer is the text typed; got {type(answer).__name__}")
        if not answer.strip():
            return Feedback("empty", (f"Exercise {self.key}: type your answer in the box.",))
        try:
            return self._check_number(answer) if self.target is None else self._check_formula(
                answer)
        except ParseError as error:
            return Feedback("unreadable", (f"could not read your answer: {error}",))

    def _close(self, typed, value):
        # relative only: an absolute floor would accept any tiny number for a tiny answer
        return math.isclose(typed, value, rel_tol=self.rtol, abs_tol=self.atol)

    def _check_number(self, answer):
        typed = read_number(answer)
        if self._close(typed, self.value):
            return Feedback("equal", (f"right: {typed!r} (to a relative {self.rtol:g})",))
        for name, (wrong, hint) in self.wrong_values.items():
            if self._close(typed, wrong):
                return Feedback("not_equal", (f"not right: {typed!r}", f"  hint: {hint}"),
                                mistake=name)
        return Feedback("not_equal", (f"not right: {typed!r}",
                                      "  check each factor of the chain rule"))

    def _check_formula(self, answer):
        from ..formulas.verification import verify
        result = verify(answer, self.target, net=self.net, loss=self.loss)
        if result.equal:
            how = "proven" if result.proven else f"equal at {result.points} exact rational points"
            return Feedback("equal", (f"right: your formula equals {self.target} ({how})",),
                            verification=result)
        return Feedback("not_equal", _hidden_answer_lines(result), mistake=result.mistake,
                        verification=result)


def _hidden_answer_lines(result):
    """verify's verdict without the correct formula or the difference (they give it away)."""
    shown = next((entry for entry in result.entries if not entry.equal), result)
    return tuple(shown.why_not(reveal=False))
