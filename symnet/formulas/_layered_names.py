"""Names and targets of ``symnet.verify`` for a ``Network`` or ``RNN`` (not an MLP).

A Network's units carry several indices (a convolution's a_{c,p}^(l), its kernel
w_{c,c',m}^(l), inputs x_{c,p}) and an RNN's a superscript that is a time step or a tag
(x_i^(t), h_j^(t), delta_k^(y,t), w_jm^(hh), b_j^(h)). A name is looked up by its *key*,
(stem, indices, superscript parts), so ``w_1,1,2^(1)`` and ``w_112^(1)`` are the same
kernel entry, and ``x_1,p+1`` inside a sum over p is found once p has its value.

A key is read the way symnet writes its names: indices with commas are split at the
commas; without commas a weight's run of digits is one index per digit (w_jm), any
other stem's run of digits is one index (a_12^(1) is unit 12), and a run that mixes
letters and digits is one index per character.

Examples
--------
>>> name_key("w_1,1,2^(1)"), name_key("w_11^(hh)"), name_key("delta_1^(y,3)")
(('w', (1, 1, 2), (1,)), ('w', (1, 1), ('hh',)), ('delta', (1,), ('y', 3)))
>>> import symnet
>>> rnn = symnet.RNN(1, 2, 1, steps=3)
>>> read_layered_target(rnn, "dE/dw_12^(hh)")
(('gradient', 'w_12^(hh)'), 'dE/dw_12^(hh)')
>>> read_layered_target(rnn, "delta_2^(1)")
(('delta', 'delta_2^(1)'), 'delta_2^(1)')
>>> read_layered_target(rnn, "dy_1 / dx_1^(2)")     # one output, at the last step: y_1
(('input_jacobian', 'y_1', 'x_1^(2)'), 'dy_1/dx_1^(2)')
>>> read_layered_target(rnn, "H[w_12^(hh), b_1^(y)]")
(('hessian', 'w_12^(hh)', 'b_1^(y)'), 'H[w_12^(hh), b_1^(y)]')
"""

import re
import weakref

import sympy as sp

from ..derive.layered_derivations import _delta_symbol as delta_symbol
from ..errors import SymnetError
from ..graph.layered import LayeredNetwork

__all__ = ["name_key", "symbol_table", "superscript_stems", "describe", "read_layered_target",
           "layered_reference", "split_equation", "dense_only", "is_layered",
           "find_symbol", "UnboundIndex", "superscript_tags", "activation_of", "delta_symbol"]

_SYMBOL = re.compile(r"([A-Za-z]+)_([0-9A-Za-z,]+)(?:\^\(([^()]*)\))?")
LAYERED_TARGET_HELP = (
    'targets of a Network or RNN name one entry by its symbol: "dE/dw_1,1,2^(1)" (a kernel '
    'entry), "dE/db_1^(1)", "dE/dw_12^(hh)" (an RNN weight), "delta_1,3^(1)", '
    '"delta_2^(1)" (an RNN step), "delta_1^(y,3)", "dy_1/dx_1,3" or "dy_1^(2)/dx_1^(1)" (an '
    'input-Jacobian entry, in the outputs\' and inputs\' own names), "dy_1/dw_1,1,2^(1)", '
    '"H[w_1,1,2^(1), b_1^(1)]"')


def is_layered(net):
    """True for a Network or RNN."""
    return isinstance(net, LayeredNetwork)


def dense_only(net):
    """True for a Network of Dense layers only: the MLP it equals has the richer hints."""
    layers = getattr(net, "layers", None)
    return layers is not None and all(type(layer).__name__ in ("Dense", "Flatten")
                                      for layer in layers)


def split_indices(stem, raw):
    """Index strings of a subscript run, as symnet writes them (see the module docstring)."""
    if "," in raw:
        return raw.split(",")
    if raw.isdigit() and stem != "w":
        return [raw]
    return list(raw) if len(raw) > 1 else [raw]


def _part(text):
    return int(text) if text.lstrip("-").isdigit() else text


def name_key(name):
    """(stem, indices, superscript parts) of a symnet name, or None if it has no subscript."""
    match = _SYMBOL.fullmatch(name)
    if match is None:
        return None
    stem, raw, sup = match.groups()
    indices = tuple(_part(i) for i in split_indices(stem, raw))
    parts = () if sup is None else tuple(_part(p.strip()) for p in sup.split(","))
    return stem, indices, parts


def _delta_of(pre):
    return delta_symbol(pre)   # the derivation's own name for dE_n/da: a_1,3^(1) -> delta_1,3^(1)


_TABLES = weakref.WeakKeyDictionary()


def symbol_table(net):
    """{key: Symbol} of every name a formula about ``net`` may use (built once per network).

    An RNN's boundary values are the number 0, as its equations make them: h_j^(0) (the
    state before the first step), delta_j^(T+1) (after the last) and, with outputs only at
    the last step, delta_k^(y,t) for t < T; so a learner's sum may run over every t.
    """
    if net not in _TABLES:
        symbols = set(net.inputs) | set(net.targets) | set(net.params) | set(net.equations)
        symbols |= {_delta_of(a) for stage in net.stages for a in stage.pre}
        table = {name_key(s.name): s for s in symbols if name_key(s.name)}
        if hasattr(net, "steps"):
            H, K, T = net.hidden_size, net.output_size, net.steps
            zeros = [("h", (j,), (0,)) for j in range(1, H + 1)]
            zeros += [("delta", (j,), (T + 1,)) for j in range(1, H + 1)]
            if net.outputs_at == "last":
                zeros += [("delta", (k,), ("y", t)) for k in range(1, K + 1) for t in range(1, T)]
            table.update(dict.fromkeys(zeros, sp.S.Zero))
        _TABLES[net] = table
    return _TABLES[net]


class UnboundIndex(Exception):
    """A letter used as an index where it has no value (``letter``)."""

    def __init__(self, letter):
        super().__init__(letter)
        self.letter = letter


def _index_number(index, env):
    """The number an index [(sign, atom)] stands for, the letters taken from ``env``."""
    total = 0
    for sign, atom in index:
        value = env.get(atom, atom)
        if isinstance(value, str) and not value.isdigit():
            raise UnboundIndex(atom)
        total += sign * int(value)
    return total


def find_symbol(net, value, env):
    """(Symbol or None, the name asked for) of a lexed name ("layered", stem, indices, parts).

    Letters take their values from ``env``; a letter without one raises ``UnboundIndex``,
    except that a lone letter in a superscript may be a tag (b_1^(h), b_1^(y)).
    """
    _, stem, indices, parts = value
    numbers = tuple(_index_number(index, env) for index in indices)
    superscript, letters = [], []
    for part in parts or []:
        if isinstance(part, str):
            superscript.append(part)                    # a tag: hh, xh
        elif len(part) == 1 and part[0][1].isalpha() and part[0][1] not in env:
            superscript.append(part[0][1])              # a one-letter tag (h, y), or unbound
            letters.append(part[0][1])
        else:
            superscript.append(_index_number(part, env))
    key = (stem, numbers, tuple(superscript))
    symbol = symbol_table(net).get(key)
    untagged = [letter for letter in letters if letter not in superscript_tags(net)]
    if symbol is None and untagged:
        raise UnboundIndex(untagged[0])
    return symbol, key_name(key, parts is not None)


def key_name(key, superscripted=True):
    """A symbol named by ``key`` as symnet would write it (for a name it does not have)."""
    stem, numbers, superscript = key
    return sp.Symbol(f"{stem}_{','.join(map(str, numbers))}" + (
        f"^({','.join(map(str, superscript))})" if superscripted else ""), real=True)


def superscript_tags(net):
    """The words standing in superscripts of ``net`` (hh, xh, h, y, ...), not indices."""
    return frozenset(p for key in symbol_table(net) for p in key[2] if isinstance(p, str))


def activation_of(net, pre):
    """The activation h of the unit whose pre-activation is ``pre`` (None if there is none)."""
    return next((stage.act for stage in net.stages if pre in stage.pre), None)


def superscript_stems(net):
    """The stems whose names carry a superscript in ``net`` (for an RNN x^(t) too)."""
    return frozenset(key[0] for key in symbol_table(net) if key[2])


def describe(net):
    """The names of ``net`` in brief, for an error message."""
    groups = {}
    for key, symbol in symbol_table(net).items():
        if not isinstance(symbol, sp.Symbol):
            continue   # an RNN's boundary zeros
        groups.setdefault((key[0], len(key[1]), tuple(type(p) for p in key[2])), []).append(symbol)
    shown = []
    for _, symbols in sorted(groups.items(), key=lambda item: str(item[0])):
        ordered = sorted(symbols, key=lambda s: _sort_key(name_key(s.name)))  # 2 before 10
        first, last = ordered[0].name, ordered[-1].name
        shown.append(first if len(ordered) == 1 else f"{first} .. {last}")
    return "Its symbols: " + ", ".join(shown)


def _sort_key(key):
    stem, indices, parts = key
    return stem, tuple(str(p).zfill(9) for p in parts), indices


# -- targets --------------------------------------------------------------------------
def _target_symbol(net, name, text):
    key = name_key(name)
    if key and any(isinstance(i, str) for i in key[1]):
        raise SymnetError(f"{text!r}: a target of a {type(net).__name__} names one entry, with "
                          f"numbers for its indices (letters for a whole layer are for the MLP)")
    symbol = symbol_table(net).get(key) if key else None
    if symbol is None:
        raise SymnetError(f"{text!r}: {name} is not a symbol of {net!r}. {describe(net)}")
    return symbol


def read_layered_target(net, text):
    """(target tuple, label) of a target of a Network or RNN, or a SymnetError.

    The tuple is ``("gradient", parameter name)``, ``("delta", delta name)``,
    ``("input_jacobian", output, input)``, ``("param_jacobian", output, parameter)`` or
    ``("hessian", parameter, parameter)``.
    """
    if not isinstance(text, str) or len(text) > 200:
        raise SymnetError(f"a target is a short string; {LAYERED_TARGET_HELP}")
    compact = re.sub(r"\s+", "", text)
    jacobian = re.fullmatch(r"dy_([^/]+)/d([^/]+)", compact)
    if jacobian:
        return _jacobian_target(net, "y_" + jacobian.group(1), jacobian.group(2), text)
    hessian = re.fullmatch(r"H\[(.+)\]", compact)
    if hessian:
        return _hessian_target(net, hessian.group(1), text)
    gradient = re.fullmatch(r"dE(?:_n)?/d(.+)", compact)
    if gradient and not gradient.group(1).startswith("a_"):
        symbol = _target_symbol(net, gradient.group(1), text)
        if symbol not in net.params:
            raise SymnetError(f"{text!r}: {symbol} is not a parameter of {net!r}; "
                              f"{LAYERED_TARGET_HELP}")
        return ("gradient", symbol.name), f"dE/d{symbol.name}"
    delta = re.fullmatch(r"(?:delta_|dE(?:_n)?/da_)(.+)", compact)
    if delta:
        symbol = _target_symbol(net, "delta_" + delta.group(1), text)
        if not symbol.name.startswith("delta"):
            raise SymnetError(f"{text!r} is not a delta; {LAYERED_TARGET_HELP}")
        return ("delta", symbol.name), symbol.name
    raise SymnetError(f"unknown target {text!r} for {net!r}; {LAYERED_TARGET_HELP}")


def _jacobian_target(net, output_name, column_name, text):
    """The target dy_k/dx_i (an input) or dy_k/dw_p (a parameter) of ``read_layered_target``."""
    output = _target_symbol(net, output_name, text)
    if output not in net.layer_values(net.n_layers):
        raise SymnetError(f"{text!r}: {output} is not an output of {net!r}; its outputs are "
                          f"{', '.join(s.name for s in net.layer_values(net.n_layers))}")
    column = _target_symbol(net, column_name, text)
    kind = ("input_jacobian" if column in net.inputs else
            "param_jacobian" if column in net.params else None)
    if kind is None:
        raise SymnetError(f"{text!r}: {column} is neither an input nor a parameter of {net!r}; "
                          f"{LAYERED_TARGET_HELP}")
    return (kind, output.name, column.name), f"d{output.name}/d{column.name}"


def _hessian_target(net, inside, text):
    """The target H[p, q] of ``read_layered_target``: the comma between two parameters.

    A name may hold commas itself (w_1,1,2^(1)), so each comma is tried in turn.
    """
    table = symbol_table(net)
    for comma in (m.start() for m in re.finditer(",", inside)):
        pair = [table.get(name_key(part)) if name_key(part) else None
                for part in (inside[:comma], inside[comma + 1:])]
        if all(symbol in net.params for symbol in pair):
            p, q = pair
            return ("hessian", p.name, q.name), f"H[{p.name}, {q.name}]"
    raise SymnetError(f"{text!r}: a Hessian entry of {net!r} is H[p, q], p and q two of its "
                      f"parameters (each with numbers for its indices). {describe(net)}")


def split_equation(text):
    """(left side or None, right side): the first '=' outside brackets splits an equation.

    An '=' inside brackets belongs to a sum's range (``\\sum_{p=1}^{4}``, ``sum_(p=1)^(4)``).

    >>> split_equation("delta_1^(2) = sum_(t=1)^(2)(x_1^(t))")
    ('delta_1^(2) ', ' sum_(t=1)^(2)(x_1^(t))')
    >>> split_equation(r"\\sum_{p=1}^{2} x_{1,p}")
    (None, '\\\\sum_{p=1}^{2} x_{1,p}')
    """
    depth = 0
    for position, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char == "=" and depth == 0:
            return text[:position], text[position + 1:]
    return None, text


def layered_reference(net, loss, target, decay, derivation):
    """The entry of a layered target in its ``derivation`` (the gradient for a delta).

    Rows of a Jacobian are the outputs net.layer_values(net.n_layers), its columns the
    inputs net.inputs or the parameters net.params, in their order.
    """
    kind, name = target[:2]
    if kind == "gradient":
        index = net.param_index(name)
        return derivation.named[index] + decay * net.params[index]
    if kind == "hessian":
        p, q = net.param_index(name), net.param_index(target[2])
        return derivation.named[p, q] + (decay if p == q else 0)  # lam/2 ||w||^2 adds lam I
    if kind in ("input_jacobian", "param_jacobian"):
        row = [s.name for s in net.layer_values(net.n_layers)].index(name)
        column = ([s.name for s in net.inputs].index(target[2]) if kind == "input_jacobian"
                  else net.param_index(target[2]))
        return derivation.named[row, column]
    for pre, adjoint in derivation.intermediates["delta"].items():
        if _delta_of(pre).name == name:
            return sp.sympify(adjoint, strict=True)
    raise SymnetError(f"{name} is not a delta of {net!r}")  # pragma: no cover - read checks it
