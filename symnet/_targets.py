"""Targets of ``symnet.verify``: read "dE/dw_21^(1)", "J_12", "H[p, q]", ... and find the entry.

A target names one entry of a derivation; letters in place of numbers
("dE/dw_ji^(1)") name a whole layer, one entry per value of the letters.

>>> import symnet
>>> read_target("dE/dw_ji^(1)")
('gradient', {'p': 'w_ji^(1)'})
>>> net = symnet.MLP([3, 4, 2])
>>> letters_and_ranges(net, *read_target("dE/dw_ji^(1)"))
{'j': 4, 'i': 3}
>>> concrete("gradient", {"p": "w_ji^(1)"}, {"j": 2, "i": 3})
(('gradient', 'w_23^(1)'), 'dE/dw_23^(1)')
"""

import re
import weakref

from . import symbols as sym
from .errors import SymnetError

__all__ = ["read_target", "letters_and_ranges", "concrete", "reference", "derivation_of",
           "TARGET_HELP"]

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


def read_target(text):
    """(kind, {field: raw index strings}) of a target string, or a SymnetError."""
    compact = text.strip().replace(" ", "") if not text.startswith("H[") else text.strip()
    for pattern, kind in _TARGETS:
        match = re.fullmatch(pattern, compact)
        if match:
            return kind, match.groupdict()
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
            indices = _split(raw)
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
    """The target tuple for ``symnet.hints`` and its label, with letters replaced."""
    def parameter(raw):
        match = re.fullmatch(r"([wb])_([0-9a-z,]+)\^\((\d+)\)", raw)
        stem, indices, layer = match.groups()
        numbers = [int(env.get(x, x)) for x in _split(indices)]
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


_CACHE = weakref.WeakKeyDictionary()


def derivation_of(net, kind, loss):
    from .backprop import gradient, input_jacobian, param_jacobian
    from .hessian import hessian
    store = _CACHE.setdefault(net, {})
    key = (kind, loss.name if loss else None)
    if key not in store:
        build = {"gradient": lambda: gradient(net, loss), "delta": lambda: gradient(net, loss),
                 "input_jacobian": lambda: input_jacobian(net),
                 "sensitivity": lambda: input_jacobian(net),
                 "param_jacobian": lambda: param_jacobian(net),
                 "hessian": lambda: hessian(net, loss)}[kind]
        store[key] = build()
    return store[key]


def reference(net, loss, target):
    """(correct entry in named intermediates, the derivation that defines its names)."""
    kind, *fields = target
    derivation = derivation_of(net, kind, loss)
    if kind in ("gradient",):
        return derivation.named[net.param_index(fields[0])], derivation
    if kind == "delta":
        l, j = fields
        if not 1 <= j <= net.sizes[l]:
            raise SymnetError(f"layer {l} of {net!r} has units 1..{net.sizes[l]}; got {j}")
        return derivation.intermediates["delta"][l][j - 1], derivation
    if kind in ("input_jacobian", "param_jacobian"):
        k, column = fields
        if not 1 <= k <= net.sizes[-1]:
            raise SymnetError(f"{net!r} has outputs y_1..y_{net.sizes[-1]}; got y_{k}")
        if kind == "input_jacobian":
            if not 1 <= column <= net.sizes[0]:
                raise SymnetError(f"{net!r} has inputs x_1..x_{net.sizes[0]}; got x_{column}")
            return derivation.named[k - 1, column - 1], derivation
        return derivation.named[k - 1, net.param_index(column)], derivation
    if kind == "sensitivity":
        k, l, j = fields
        return derivation.intermediates["dy/da"][l][k - 1, j - 1], derivation
    p, q = fields
    return derivation.named[net.param_index(p), net.param_index(q)], derivation
