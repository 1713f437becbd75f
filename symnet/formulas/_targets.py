"""Targets of ``symnet.verify``: read "dE/dw_21^(1)", "J_12", "H[p, q]", ... and find the entry.

A target names one entry of a derivation; letters in place of numbers
("dE/dw_ji^(1)") name a whole layer, one entry per value of the letters. Only
the entry asked for is derived where the derivation allows it: one Hessian entry
is one R-operator pass (Pearlmutter), not the whole W x W matrix.

>>> import symnet
>>> read_target("dE/dw_ji^(1)")
('gradient', {'p': 'w_ji^(1)'})
>>> net = symnet.MLP([3, 4, 2])
>>> letters_and_ranges(net, *read_target("dE/dw_ji^(1)"))
{'j': 4, 'i': 3}
>>> concrete("gradient", {"p": "w_ji^(1)"}, {"j": 2, "i": 3})
(('gradient', 'w_23^(1)'), 'dE/dw_23^(1)')
>>> read_target("dE/dw_111^(1)")
Traceback (most recent call last):
...
symnet.errors.SymnetError: dE/dw_111^(1): a weight has two indices, w_ji^(l); write them with a comma when one has two digits (w_1,11^(1) or w_11,1^(1))
"""

import numbers
import re
import weakref
from dataclasses import dataclass, field

import sympy as sp

from .._validate import check_number
from ..graph import symbols as sym
from ..errors import SymnetError
from ._layered_names import (is_layered, layered_reference, read_layered_target,
                             split_equation)

__all__ = ["read_target", "letters_and_ranges", "concrete", "reference", "derivation_of",
           "Reference", "TARGET_HELP", "check_cost", "right_hand_side", "exact_decay",
           "layered_right_hand_side"]

MAX_INDEX_DIGITS = 6
MAX_ENTRIES = 200                 # entries of one whole-layer target
SECONDS_PER_TERM = 2e-5           # measured order of one named term derived and evaluated
LAYERED_HESSIAN_TERMS = 50        # a Network's whole Hessian: ~ 50 W x (number of its units)
_P = r"[wb]_[0-9a-z,]+\^\(\d+\)"
_TARGETS = [  # (pattern, kind); index groups may hold letters for a whole layer
    (rf"dE(?:_n)?/d(?P<p>{_P})", "gradient"),
    (r"(?:delta_|dE(?:_n)?/da_)(?P<j>[0-9a-z]+)\^\((?P<l>\d+)\)", "delta"),
    (r"J_(?P<ki>[0-9a-z]{2}|[0-9a-z]+,[0-9a-z]+)", "input_jacobian"),
    (r"dy_(?P<k>[0-9a-z]+)/dx_(?P<i>[0-9a-z]+)", "input_jacobian"),
    (rf"dy_(?P<k>[0-9a-z]+)/d(?P<p>{_P})", "param_jacobian"),
    (r"dy_(?P<k>[0-9a-z]+)/da_(?P<j>[0-9a-z]+)\^\((?P<l>\d+)\)", "sensitivity"),
    (rf"H\[\s*(?P<p>{_P})\s*,\s*(?P<q>{_P})\s*\]", "hessian"),
]
TARGET_HELP = ('targets look like "dE/dw_21^(1)", "dE/db_1^(2)", "delta_1^(1)", "J_12" '
               '(dy_1/dx_2), "dy_1/dw_11^(1)", "dy_1/da_2^(1)", "H[w_11^(1), b_2^(2)]", '
               'or with letters for a whole layer, e.g. "dE/dw_ji^(1)"')


def _split(raw):
    return raw.split(",") if "," in raw else list(raw)


def _parameter_indices(raw, stem, text):
    """The index strings of a parameter name: two for w_ji, one for b_j."""
    if stem == "b":
        if "," in raw or not (raw.isdigit() or len(raw) == 1):
            raise SymnetError(f"{text}: a bias has one index, b_j^(l) (b_12^(1) is unit 12)")
        return [raw]
    indices = _split(raw)
    if len(indices) != 2 or not all(indices):
        raise SymnetError(f"{text}: a weight has two indices, w_ji^(l); write them with a comma "
                          "when one has two digits (w_1,11^(1) or w_11,1^(1))")
    return indices


def read_target(text):
    """(kind, {field: raw index strings}) of a target string, or a SymnetError."""
    if not isinstance(text, str) or len(text) > 200:
        raise SymnetError(f"a target is a short string; {TARGET_HELP}")
    compact = text.strip().replace(" ", "") if not text.startswith("H[") else text.strip()
    for pattern, kind in _TARGETS:
        match = re.fullmatch(pattern, compact)
        if match:
            fields = match.groupdict()
            for raw in fields.values():
                if raw and any(len(part) > MAX_INDEX_DIGITS
                               for part in re.findall(r"\d+", raw)):
                    raise SymnetError(f"{text!r}: indices and layers have at most "
                                      f"{MAX_INDEX_DIGITS} digits")
            for key in ("p", "q"):
                if fields.get(key):
                    stem, raw = re.fullmatch(r"([wb])_([0-9a-z,]+)\^\(\d+\)", fields[key]).groups()
                    _parameter_indices(raw, stem, text)
            return kind, fields
    raise SymnetError(f"unknown target {text!r}; {TARGET_HELP}")


def letters_and_ranges(net, kind, fields):
    """{letter: number of values} for the letter indices of a target."""
    sizes, ranges = net.sizes, {}

    def note(raw, size):
        if raw.isalpha():
            if size is None:
                raise SymnetError(f"cannot tell the range of index {raw}")
            ranges[raw] = min(size, ranges.get(raw, size))

    for key in ("p", "q"):
        if fields.get(key):
            match = re.fullmatch(r"([wb])_([0-9a-z,]+)\^\((\d+)\)", fields[key])
            stem, raw, layer = match.groups()
            layer = int(layer)
            if not 1 <= layer <= net.n_layers:
                raise SymnetError(f"{fields[key]}: layers of {net!r} are 1..{net.n_layers}")
            indices = _parameter_indices(raw, stem, fields[key])
            for place, index in enumerate(indices):
                note(index, sizes[layer - 1] if stem == "w" and place == 1 else sizes[layer])
    if fields.get("ki"):
        k, i = _split(fields["ki"])
        fields["k"], fields["i"] = k, i
    if fields.get("l"):
        layer = int(fields["l"])
        if not 1 <= layer <= net.n_layers:
            raise SymnetError(f"layers of {net!r} are 1..{net.n_layers}; got {layer}")
        note(fields["j"], sizes[layer])
    for key, size in (("k", sizes[-1]), ("i", sizes[0])):
        if fields.get(key):
            note(fields[key], size)
    return ranges


def concrete(kind, fields, env):
    """The target tuple for ``symnet.formulas.mistakes`` and its label, with letters replaced."""
    def parameter(raw):
        match = re.fullmatch(r"([wb])_([0-9a-z,]+)\^\((\d+)\)", raw)
        stem, indices, layer = match.groups()
        numbers = [int(env.get(x, x)) for x in _parameter_indices(indices, stem, raw)]
        return (sym.weight(int(layer), *numbers) if stem == "w"
                else sym.bias(int(layer), *numbers)).name

    number = lambda raw: int(env.get(raw, raw))  # noqa: E731
    if kind == "gradient":
        name = parameter(fields["p"])
        return ("gradient", name), f"dE/d{name}"
    if kind == "delta":
        j, l = number(fields["j"]), int(fields["l"])
        return ("delta", l, j), f"delta_{j}^({l})"
    if kind == "input_jacobian":
        k, i = number(fields["k"]), number(fields["i"])
        return ("input_jacobian", k, i), f"J_{k}{i}" if k < 10 and i < 10 else f"J_{k},{i}"
    if kind == "param_jacobian":
        k, name = number(fields["k"]), parameter(fields["p"])
        return ("param_jacobian", k, name), f"dy_{k}/d{name}"
    if kind == "sensitivity":
        k, j, l = number(fields["k"]), number(fields["j"]), int(fields["l"])
        return ("sensitivity", k, l, j), f"dy_{k}/da_{j}^({l})"
    p, q = parameter(fields["p"]), parameter(fields["q"])
    return ("hessian", p, q), f"H[{p}, {q}]"


def check_cost(net, kind, n_entries, seconds):
    """Refuse up front a check whose derivation and evaluation would outlast ``seconds``.

    One entry needs the deltas (or sensitivities) of the whole network, about W
    named terms (K W for Jacobian targets, a few W for a Hessian entry's R-pass),
    derived once and then evaluated at about a dozen exact points. A Network or RNN
    has no one-entry R-pass: its whole Hessian is derived, measured at about
    LAYERED_HESSIAN_TERMS W terms per unit (0.7 s for W = 40 and 28 units, 26 s for
    W = 198 and 148 units).
    """
    per_entry = {"hessian": 4, "param_jacobian": net.sizes[-1],
                 "sensitivity": net.sizes[-1], "input_jacobian": net.sizes[-1]}.get(kind, 1)
    if kind == "hessian" and is_layered(net):
        per_entry = LAYERED_HESSIAN_TERMS * len(net.equations)
    estimate = SECONDS_PER_TERM * net.n_params * (per_entry + 12 * max(1, n_entries) ** 0.5)
    from ._limits import VerifyLimitError
    if n_entries > MAX_ENTRIES:
        raise VerifyLimitError("entries", f"the target names {n_entries:,} entries (the limit "
                               f"is {MAX_ENTRIES}); check one entry or a smaller layer")
    if estimate > seconds:
        raise VerifyLimitError(
            "time", f"checking {n_entries} entr{'y' if n_entries == 1 else 'ies'} of a network "
            f"with W = {net.n_params:,} parameters would take about {estimate:,.0f} s (the time "
            f"limit is {seconds:g} s): use a smaller network, or give time_limit=...")


@dataclass(frozen=True)
class Reference:
    """The correct entry in named intermediates, and what its names stand for."""

    entry: object
    definitions: dict
    kind: str
    intermediates: dict = field(default_factory=dict)


_CACHE = weakref.WeakKeyDictionary()


def exact_decay(weight_decay, loss):
    """lam of E = sum_n E_n + lam/2 sum_p w_p^2 as an exact Rational, or a SymnetError.

    ``weight_decay`` is checked as every derivation checks it (a finite number >= 0, never
    text); an int or a Fraction is kept exactly, a float is the decimal it prints as
    (0.01 is 1/100, as decimals in a formula are). None takes the Loss's own (0 for a name).

    >>> from fractions import Fraction
    >>> exact_decay(0.01, None), exact_decay(Fraction(1, 3), None), exact_decay(None, None)
    (1/100, 1/3, 0)
    """
    if weight_decay is None:
        weight_decay = getattr(loss, "weight_decay", 0)
    try:
        check_number("weight_decay", weight_decay, nonnegative=True, example=1e-4)
    except OverflowError:  # an int past floating range
        raise SymnetError(f"weight_decay must be a finite number of floating size; got "
                          f"{weight_decay!r}") from None
    if isinstance(weight_decay, numbers.Rational):  # int, Fraction, NumPy ints, sympy Rational
        return sp.Rational(int(weight_decay.numerator), int(weight_decay.denominator))
    return sp.Rational(repr(float(weight_decay)))


def derivation_of(net, kind, loss):
    """The derivation behind targets of ``kind``, derived once per network and ``Loss``.

    Keyed by the Loss itself (its row, output and weight decay), not its name: a loss
    registered again under the same name is another loss.
    """
    from ..derive.first_order import gradient, input_jacobian, param_jacobian
    from ..derive.second_order import hessian
    store = _CACHE.setdefault(net, {})
    key = (kind, loss)
    if key not in store:
        build = {"gradient": lambda: gradient(net, loss), "delta": lambda: gradient(net, loss),
                 "input_jacobian": lambda: input_jacobian(net),
                 "sensitivity": lambda: input_jacobian(net),
                 "param_jacobian": lambda: param_jacobian(net),
                 # the whole W x W Hessian: a Network or RNN has no one-entry R-pass (an
                 # MLP's entry is _hessian_entry's)
                 "hessian": lambda: hessian(net, loss)}[kind]
        store[key] = build()
    return store[key]


def _hessian_entry(net, loss, p, q, decay):
    """H[p, q] = R_q{dE_n/dw_p} (+ lam where p = q), one R-operator pass in direction q."""
    from ..derive.second_order import exact_entry
    store = _CACHE.setdefault(net, {})
    key = ("hessian", loss, decay, p, q)
    if key not in store:
        definitions = {}
        entry = exact_entry(net, loss, net.param_index(p), net.param_index(q), definitions)
        if p == q:
            entry += decay  # the Hessian of lam/2 sum_p w_p^2 is lam I
        store[key] = Reference(entry, definitions, "hessian")
    return store[key]


def reference(net, loss, target, decay=0):
    """The ``Reference`` of a target tuple (see ``concrete``).

    ``decay`` is lam of E = sum_n E_n + lam/2 sum_p w_p^2 (an exact Rational): the gradient
    dE/dw_p gains lam w_p and the Hessian entry H[p, p] gains lam; the deltas
    dE_n/da and the Jacobians do not change.
    """
    kind, *fields = target
    if is_layered(net):   # a Network's or RNN's target, by its symbols (read_layered_target)
        derivation = derivation_of(net, "gradient" if kind == "delta" else kind, loss)
        return Reference(layered_reference(net, loss, target, decay, derivation),
                         derivation.definitions, derivation.kind, derivation.intermediates)
    if kind == "hessian":
        return _hessian_entry(net, loss, *fields, decay)
    derivation = derivation_of(net, kind, loss)
    named = derivation.named

    def found(entry):
        return Reference(entry, derivation.definitions, derivation.kind,
                         derivation.intermediates)

    if kind == "gradient":
        index = net.param_index(fields[0])
        return found(named[index] + decay * net.params[index])
    if kind == "delta":
        l, j = fields
        if not 1 <= j <= net.sizes[l]:
            raise SymnetError(f"layer {l} of {net!r} has units 1..{net.sizes[l]}; got {j}")
        return found(derivation.intermediates["delta"][l][j - 1])
    if kind in ("input_jacobian", "param_jacobian"):
        k, column = fields
        if not 1 <= k <= net.sizes[-1]:
            raise SymnetError(f"{net!r} has outputs y_1..y_{net.sizes[-1]}; got y_{k}")
        if kind == "input_jacobian":
            if not 1 <= column <= net.sizes[0]:
                raise SymnetError(f"{net!r} has inputs x_1..x_{net.sizes[0]}; got x_{column}")
            return found(named[k - 1, column - 1])
        return found(named[k - 1, net.param_index(column)])
    k, l, j = fields
    if not (1 <= k <= net.sizes[-1] and 1 <= j <= net.sizes[l]):
        raise SymnetError(f"dy_{k}/da_{j}^({l}) is not an entry of {net!r}")
    return found(derivation.intermediates["dy/da"][l][k - 1, j - 1])


# -- equations pasted whole: "delta_j^(1) = ...", "dE/dw_11^(1) = ..." -------------------
_LATEX_LHS = [(re.compile(r"\\(?:d|t)?frac\{\\partial\s*([^{}]*)\}\{\\partial\s*(.*)\}$"),
               r"d\1/d\2"),
              (re.compile(r"\\partial\s*"), "d"), (re.compile(r"\\delta"), "delta"),
              (re.compile(r"\\left|\\right|\\,|[{}\s]"), "")]


def _plain_lhs(text):
    """A left-hand side in target notation: LaTeX fractions and braces removed."""
    text = text.strip()
    for pattern, replacement in _LATEX_LHS:
        text = pattern.sub(replacement, text)
    return text


def _slots(kind, fields):
    """(slot, raw index) pairs of a target, parameter names split into their parts."""
    slots = []
    for key in sorted(fields):
        raw = fields[key]
        if raw is None or key == "ki":
            continue
        if key in ("p", "q"):
            stem, indices, layer = re.fullmatch(r"([wb])_([0-9a-z,]+)\^\((\d+)\)", raw).groups()
            slots += [(f"{key}.stem", stem), (f"{key}.layer", layer)]
            slots += [(f"{key}.{n}", index) for n, index in enumerate(_split(indices))]
        else:
            slots.append((key, raw))
    if fields.get("ki"):
        k, i = _split(fields["ki"])
        slots += [("k", k), ("i", i)]
    return dict(slots)


def right_hand_side(text, kind, fields, env, label):
    """(right-hand side, indices) of ``text``: an equation's left side must name the target.

    Letters on the left take the target's values (``delta_j^(1) = ...`` checked
    against delta_2^(1) reads the right side with j = 2); a left side that names
    another quantity is refused. A text without ``=`` is returned as it is.

    >>> right_hand_side("delta_j = h'(a_j^(1)) x_1", "delta", {"j": "2", "l": "1"}, {},
    ...                 "delta_2^(1)")
    ("h'(a_j^(1)) x_1", {'j': 2})
    """
    from .parser import ParseError
    lhs, rhs = split_equation(text)   # an '=' in brackets is a sum's range
    if lhs is None:
        return text, env
    if split_equation(rhs)[0] is not None:
        raise ParseError("one '=' at most: lhs = rhs, where lhs names the target", text,
                         len(lhs) + 1 + rhs.index("="), "=")
    written = _plain_lhs(lhs)
    layerless = re.fullmatch(r"delta_([0-9a-z]+)", written)
    try:
        lhs_kind, lhs_fields = (("delta", {"j": layerless.group(1), "l": None}) if layerless
                                else read_target(written))
    except SymnetError:
        raise ParseError(f"the left side {lhs.strip()!r} is not the name of an entry; write "
                         f"the formula alone, or '{label} = ...'", text, 0, lhs.strip()) from None
    mine, theirs = _slots(lhs_kind, lhs_fields), _slots(kind, fields)
    bound = dict(env)
    same = lhs_kind == kind
    for slot, value in mine.items():
        target_value = theirs.get(slot)
        if not same or target_value is None:
            same = False
            break
        resolved = str(env.get(target_value, target_value))
        if value.isalpha() and len(value) == 1 and slot not in ("p.stem", "q.stem"):
            if bound.get(value, int(resolved) if resolved.isdigit() else resolved) != (
                    int(resolved) if resolved.isdigit() else resolved):
                same = False
                break
            if resolved.isdigit():
                bound[value] = int(resolved)
        elif value != resolved:
            same = False
            break
    if not same:
        raise ParseError(f"the left side {lhs.strip()} names another quantity than the target "
                         f"{label}: give the formula for {label} (or check it against "
                         f"{written})", text, 0, lhs.strip())
    return rhs.strip(), bound


def layered_right_hand_side(net, text, target, label):
    """The right side of ``text``; an equation's left side must name the target."""
    from .parser import ParseError
    lhs, rhs = split_equation(text)
    if lhs is None:
        return text
    if "=" in rhs and split_equation(rhs)[0] is not None:
        raise ParseError("one '=' at most: lhs = rhs, where lhs names the target", text,
                         len(lhs) + 1 + rhs.index("="), "=")
    written = _plain_lhs(lhs)
    try:
        named, _ = read_layered_target(net, written)
    except SymnetError:
        named = None
    if named != target:
        raise ParseError(f"the left side {lhs.strip()} is not the target {label}: write the "
                         f"formula alone, or '{label} = ...'", text, 0, lhs.strip())
    return rhs.strip()
