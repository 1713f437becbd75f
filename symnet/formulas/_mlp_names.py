"""The names of an MLP that ``symnet.formulas.parser`` reads, and the one probably meant.

One job: from the parts of a name the lexer has read (its stem and numbers) to the MLP's
SymPy symbol, which symbols a formula about a network may use, and, for a symbol the
network lacks, the one the person probably meant (the transposed weight w_ij for w_ji,
y_k for z_k^(L)) and a list of the symbols it does have. A Network's or RNN's names are
``symnet.formulas._layered_names``'s job.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([2, 3, 1])
>>> build_symbol("w", [1, 2, 2]), build_symbol("delta", [1, 2])     # w_12^(2), delta_1^(2)
(w_12^(2), delta_1^(2))
>>> symnet.symbols.weight(2, 2, 1) in known_symbols(net)   # w_21^(2): layer 2 has one unit
False
>>> suggestion(net, "w", [2, 1, 2])                          # the transposed weight
w_12^(2)
"""

import re
import weakref

from ..graph import symbols as sym

__all__ = ["build_symbol", "pre_activation_layer", "known_symbols", "suggestion",
           "suggestion_for", "describe_mlp"]

# stem -> the symbol from the numbers as written: w_ji^(l) is (j, i, l), b_j^(l) is (j, l)
_BUILD = {"x": sym.input_symbol, "t": sym.target, "y": sym.output,
          "w": lambda j, i, l: sym.weight(l, j, i), "b": lambda j, l: sym.bias(l, j),
          "a": lambda j, l: sym.pre_activation(l, j), "z": lambda j, l: sym.activation_value(l, j),
          "delta": lambda j, l: sym.delta(l, j)}
_PRE_ACTIVATION = re.compile(r"^a_\d+\^\((\d+)\)$", re.ASCII)
_KNOWN = weakref.WeakKeyDictionary()


def build_symbol(stem, numbers):
    """The MLP symbol of a name read as ``stem`` and its indices then layer, in written order.

    >>> build_symbol("w", [2, 1, 1]), build_symbol("x", [3])
    (w_21^(1), x_3)
    """
    return _BUILD[stem](*numbers)


def pre_activation_layer(expression):
    """The layer l of an MLP pre-activation a_j^(l); None for any other expression.

    >>> import sympy as sp
    >>> pre_activation_layer(build_symbol("a", [2, 3])), pre_activation_layer(sp.Integer(1))
    (3, None)
    """
    match = _PRE_ACTIVATION.match(getattr(expression, "name", ""))
    return int(match.group(1)) if match else None


def known_symbols(net):
    """Every symbol a formula about ``net`` may use (built once per network).

    >>> import symnet
    >>> sorted(known_symbols(symnet.MLP([1, 1])), key=str)    # y_1 = a_1^(1) (linear output)
    [a_1^(1), b_1^(1), delta_1^(1), t_1, w_11^(1), x_1, y_1]
    """
    if net not in _KNOWN:
        known = set(net.inputs) | set(net.targets) | set(net.params) | set(net.equations)
        known |= {sym.delta(l, j) for l in range(1, net.n_layers + 1)
                  for j in range(1, net.sizes[l] + 1)}
        _KNOWN[net] = frozenset(known)
    return _KNOWN[net]


def suggestion(net, stem, numbers):
    """The symbol probably meant for one the network lacks: the transposed weight, y for z^(L).

    >>> import symnet
    >>> suggestion(symnet.MLP([2, 2, 1]), "z", [1, 2])      # z_1^(2) of the output layer is y_1
    y_1
    """
    known = known_symbols(net)
    if stem == "w":
        j, i, layer = numbers
        swapped = sym.weight(layer, i, j)
        return swapped if swapped in known else None
    if stem == "z" and numbers[1] == net.n_layers:
        output = sym.output(numbers[0])
        return output if output in known else None
    return None


def suggestion_for(net, symbol):
    """``suggestion`` for a SymPy symbol named as symnet names them (``w_21^(2)``).

    >>> import symnet
    >>> suggestion_for(symnet.MLP([2, 3, 1]), symnet.symbols.weight(2, 2, 1))
    w_12^(2)
    """
    match = re.fullmatch(r"([a-z]+)_(\d+(?:,\d+)*)(?:\^\((\d+)\))?", symbol.name)
    if not match or match.group(1) not in ("w", "z") or match.group(3) is None:
        return None
    stem, raw, layer = match.groups()
    indices = raw.split(",") if "," in raw else (list(raw) if stem == "w" else [raw])
    if len(indices) != (2 if stem == "w" else 1):
        return None
    return suggestion(net, stem, [int(i) for i in indices] + [int(layer)])


def describe_mlp(net):
    """The symbols of an MLP, layer by layer, for the message that refuses one it lacks.

    >>> import symnet
    >>> describe_mlp(symnet.MLP([1, 1]))
    'Its symbols: x_1..x_1, t_1..t_1, y_1..y_1; layer 1: w_ji^(1) (j = 1..1, i = 1..1), b_j^(1), a_j^(1), delta_j^(1)'
    """
    L, sizes = net.n_layers, net.sizes
    return (f"Its symbols: x_1..x_{sizes[0]}, t_1..t_{sizes[-1]}, y_1..y_{sizes[-1]}; "
            + "; ".join(f"layer {l}: w_ji^({l}) (j = 1..{sizes[l]}, i = 1..{sizes[l - 1]}), "
                        f"b_j^({l}), a_j^({l}), " + (f"z_j^({l}), " if l < L else "")
                        + f"delta_j^({l})" for l in range(1, L + 1)))
