"""The network's side of a ``symnet.verify`` check: substitutions, definitions, points.

A ``Frame`` holds what both sides of one check share: the definitions of the named
intermediates (deltas, dy/da), the substitutions that write a formula in forward
quantities, the random rational points, and the switching arguments (of Heaviside,
abs, max, ReLU) the formula and the network have.

>>> import random, sympy as sp, symnet
>>> net = symnet.MLP([2, 2, 1], hidden="relu")
>>> frame = Frame(net, None, {})
>>> x_1 = net.inputs[0]
>>> switching_arguments(frame, sp.Heaviside(x_1 - 3))   # its own, and the kinks it sees
[x_1 - 3, a_1^(1), a_2^(1)]
>>> point = frame.point(random.Random(0))
>>> sorted(point.items(), key=str)[:2]
[(b_1^(1), Fraction(-3, 2)), (b_1^(2), Fraction(-9, 5))]
"""

import math
from fractions import Fraction

import sympy as sp
from sympy.core.relational import Relational

from ._certify import Point

__all__ = ["Frame", "switching_arguments"]

SMALL_GRAPH = 400   # paths input -> output of a network whose whole graph may be substituted


class Frame:
    """The substitutions, definitions and random points shared by both sides of one check."""

    def __init__(self, net, loss, definitions):
        self.net, self.loss = net, loss
        self.definitions = dict(definitions)
        self.normalised = {}
        self.probabilities = loss is not None and loss.rule.probability_targets
        if self.probabilities and net.activations[-1].name == "softmax":
            t = net.targets  # softmax targets are probabilities: t_K = 1 - sum of the others
            self.normalised = {t[-1]: 1 - sp.Add(*t[:-1])}
        # Each substitution is one xreplace of the expression asked about: the values put in
        # are complete already (a second pass would walk every copy of every shared subtree).
        self.derived = dict(self.normalised)
        for name, value in self.definitions.items():  # definitions refer to earlier ones
            self.derived[name] = value.xreplace(self.derived)
        pre = {a for l in range(1, net.n_layers + 1) for a in net.layer_pre_activations(l)}
        self.activated = {s: v.xreplace(self.normalised) if self.normalised else v
                          for s, v in net.equations.items() if s not in pre}
        self.named = {**_stable_equations(net), **self.definitions}
        self.coordinates = tuple(net.inputs) + tuple(net.params) + tuple(net.targets)
        self.kinks = tuple(a for l, act in enumerate(net.activations, start=1) if act.kinks
                           for a in net.layer_pre_activations(l))
        self._depends = {}

    def forward(self, expression):
        """Named intermediates (delta, dy/da) replaced: a, z, y, x, w, b, t remain."""
        return expression.xreplace(self.derived)

    def pre_activations(self, expression):
        """z = h(a) and y = h(a^(L)) too: a, x, w, b, t remain."""
        return self.forward(expression).xreplace(self.activated)

    def base(self, expression):
        """Everything in x, w, b, t; None when that substitution would be large (the whole
        graph of a wide network: one term per path from an input to an output)."""
        activated = self.pre_activations(expression)
        first = set(self.net.layer_pre_activations(1))
        deeper = [s for s in activated.free_symbols if s in self.net.equations and s not in first]
        if not deeper:  # a^(1) = sum_i w_ji^(1) x_i + b_j^(1): cheap to write out
            return activated.xreplace({a: self.net.equations[a] for a in first})
        if math.prod(self.net.sizes[:-1]) > SMALL_GRAPH:
            return None
        return activated.xreplace(self.net.substitution)

    def depends_on(self, expression):
        """The coordinates (x, w, b, t) ``expression`` depends on, through every definition."""
        found = set()
        for symbol in expression.free_symbols:
            if symbol not in self._depends:
                self._depends[symbol] = self._coordinates_of(symbol)
            found |= self._depends[symbol]
        return found

    def _coordinates_of(self, symbol):
        if symbol not in self.named:
            return {symbol}
        found = set()
        for inner in self.named[symbol].free_symbols:
            if inner not in self._depends:
                self._depends[inner] = self._coordinates_of(inner)
            found |= self._depends[inner]
        return found

    def point(self, rng, scale=2):
        """Random nonzero rationals for x, w, b in [-scale, scale], t likewise (or
        probabilities for cross-entropy)."""
        def rational():
            q = rng.randint(1, 8)
            return Fraction(rng.choice([-1, 1]) * rng.randint(1, int(scale * q)), q)
        net = self.net
        point = {s: rational() for s in net.inputs + net.params}
        if self.probabilities:
            weights = [Fraction(rng.randint(1, 9), rng.randint(1, 9)) for _ in net.targets]
            if net.activations[-1].name == "sigmoid":
                targets = [w / (1 + w) for w in weights]
            else:
                targets = [w / sum(weights) for w in weights]
        else:
            targets = [rational() for _ in net.targets]
        point.update(zip(net.targets, targets))
        return point

    def at(self, coordinates, budget):
        """The ``Point`` of these coordinates, evaluating the network's definitions."""
        return Point(coordinates, self.named, tick=budget.check)

    def movable(self):
        """Coordinates a search may move freely (targets stay probabilities for cross-entropy)."""
        fixed = set(self.net.targets) if self.probabilities else set()
        return [c for c in self.coordinates if c not in fixed]


def _stable_equations(net):
    """The network's equations, softmax written as 1 / sum_m exp(a_m - a_k): the same
    value, with tight error bounds when the a are large."""
    equations = dict(net.equations)
    if not net.activations[-1].elementwise:
        a = net.layer_pre_activations(net.n_layers)
        for k, y in enumerate(net.layer_values(net.n_layers)):
            equations[y] = 1 / sp.Add(*[sp.exp(am - a[k]) if m != k else sp.S.One
                                        for m, am in enumerate(a)])
    return equations


def switching_arguments(frame, *expressions):
    """The arguments whose sign selects a branch: of Heaviside, sign, abs, relu-like
    functions, the differences of max/min arguments, lhs - rhs of the conditions of a
    Piecewise, and the network's kinks used."""
    found = []
    seen_definitions = set()
    stack = list(expressions)
    while stack:
        expression = stack.pop()
        for node in sp.preorder_traversal(expression):
            if isinstance(node, (sp.Heaviside, sp.sign, sp.Abs)):
                found.append(node.args[0])
            elif isinstance(node, (sp.Max, sp.Min)):
                found.extend(a - b for i, a in enumerate(node.args) for b in node.args[i + 1:])
            elif isinstance(node, sp.Function) and hasattr(node, "_eval_rewrite_as_Max"):
                found.append(node.args[0])
            elif isinstance(node, Relational):  # a Piecewise condition: lhs - rhs changes sign
                found.append(node.lhs - node.rhs)
            elif node.is_Symbol and node in frame.definitions and node not in seen_definitions:
                seen_definitions.add(node)
                stack.append(frame.definitions[node])
    used = set().union(*(frame.depends_on(e) for e in expressions)) if expressions else set()
    for kink in frame.kinks:
        if frame.depends_on(kink) & used:
            found.append(kink)
    unique = []
    for g in found:
        if g.is_number:
            continue
        if g not in unique and -g not in unique:
            unique.append(g)
    return unique
