"""Hints for wrong backprop formulas, made by mutating the correct derivation.

Instead of a hand-written rule per mistake, symnet re-runs the backward recursion
with one deliberate mistake at a time (a ``Mistake``) and asks which of these
mutants equals the learner's formula. The mistakes are the common ones:

* a missing factor h'(a_j^(l)) in one layer (or an extra one where it cancels:
  cross-entropy with logistic outputs);
* a transposed weight index, w_jk^(l+1) for w_kj^(l+1) in the sum, or the entry of
  w_ij instead of w_ji;
* the sign of (y - t);
* the sum over the next layer dropped, keeping a single term;
* softmax without its cross terms (only the diagonal of dy_k/da_m);
* in the Hessian, the Gauss-Newton term alone (the residual term forgotten);

each also combined with a stray factor 2, 1/2 or -1 (checked by ``symnet.verify``).
Mutants are written in the forward quantities a_j^(l), z_j^(l), y_k, x_i, w, b, t.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> for mistake, expression in mutants(net, "sse", ("gradient", "w_11^(1)"))[:3]:
...     print(mistake.key, "|", expression)
correct | w_11^(2)*x_1*(1 - z_1^(1)**2)*(-t_1 + y_1)
drop_h_1 | w_11^(2)*x_1*(-t_1 + y_1)
flip_sign | w_11^(2)*x_1*(1 - z_1^(1)**2)*(t_1 - y_1)
"""

from dataclasses import dataclass

import sympy as sp

from . import symbols as sym
from .backprop import hidden_derivative, output_block
from .losses import get_loss

__all__ = ["Mistake", "mutants"]


@dataclass(frozen=True)
class Mistake:
    """One deliberate mistake in the backward recursion, and the hint it stands for."""

    key: str
    text: str
    drop_h: int = 0             # layer whose h'(a) factor is dropped (0: none)
    extra_h: bool = False       # an h'(a^(L)) factor where the canonical pair cancels it
    transpose: bool = False     # w_jk^(l+1) for w_kj^(l+1) in the backward sum
    flip: bool = False          # (t - y) for (y - t)
    keep: tuple = ()            # (l, k): of the sum over layer l+1 only the term k
    diagonal: bool = False      # softmax without cross terms
    swap_entry: bool = False    # the entry of w_ij^(l) instead of w_ji^(l) (J_ik for J_ki)


CORRECT = Mistake("correct", "no mistake")
_OUT_OF_RANGE = sp.Dummy("out_of_range")


class _Invalid(Exception):
    """A mistake that cannot be made here (e.g. a transposed index out of range)."""


def _mistakes(net, loss, kind):
    L = net.n_layers
    found = [CORRECT]
    for l in range(1, L + 1):
        act = net.activations[l - 1]
        if act.elementwise and act.name != "linear":
            where = "the output layer" if l == L else f"layer {l}"
            found.append(Mistake(f"drop_h_{l}", f"the factor h'(a_j^({l})) of {where} is "
                                 f"missing ({act.name}'(a) = {act.derivative})", drop_h=l))
    canonical = loss is not None and loss.name == "cross_entropy"
    if canonical and net.activations[-1].name == "sigmoid":
        found.append(Mistake("extra_h", "an extra factor h'(a^(L)) = y(1 - y): with cross-entropy "
                             "and logistic outputs it cancels, delta_k^(L) = y_k - t_k",
                             extra_h=True))
    if loss is not None and kind != "hessian":
        found.append(Mistake("flip_sign", "the sign of (y - t) is flipped: delta_k^(L) = "
                             "dE/da_k^(L) starts from y_k - t_k, not t_k - y_k", flip=True))
    if not net.activations[-1].elementwise:
        found.append(Mistake("diagonal", "softmax couples its outputs: dy_k/da_m^(L) = "
                             "y_k (delta_km - y_m) has cross terms m != k; your formula keeps "
                             "only the diagonal y_k (1 - y_k)", diagonal=True))
    if L > 1:
        found.append(Mistake("transpose", "a weight index is transposed: the backward sum "
                             "uses w_kj^(l+1) (from unit j to unit k), not w_jk", transpose=True))
    for l in range(1, L):
        for k in range(1, net.sizes[l + 1] + 1):
            if net.sizes[l + 1] > 1:
                found.append(Mistake(
                    f"keep_{l}_{k}", f"the sum over the units of layer {l + 1} is missing: "
                    f"delta_j^({l}) = h'(a_j^({l})) sum_k w_kj^({l + 1}) delta_k^({l + 1}) has a "
                    f"term for every k; your formula keeps only k = {k}", keep=(l, k)))
    if kind == "input_jacobian" and net.sizes[1] > 1:
        found.extend(Mistake(f"keep_0_{j}", "the sum over the units of layer 1 is missing: "
                             "J_ki = sum_j w_ji^(1) dy_k/da_j^(1) has a term for every j; your "
                             f"formula keeps only j = {j}", keep=(0, j))
                     for j in range(1, net.sizes[1] + 1))
    found.append(Mistake("swap_entry", "this is the entry of the transposed weight: w_ji^(l) "
                         "goes from unit i of layer l-1 to unit j of layer l", swap_entry=True))
    return found


def _h_prime(net, layer, j, mistake):
    return 1 if mistake.drop_h == layer else hidden_derivative(net, layer, j)


def _backward_sum(net, layer, j, upper, mistake, pick=lambda value: value):
    """sum_k w_kj^(l+1) upper[k] with the mistake's transposition and dropped terms."""
    W = net.weights[layer]  # W^(l+1)
    terms = []
    for k in range(net.sizes[layer + 1]):
        if mistake.keep and mistake.keep[0] == layer and mistake.keep[1] != k + 1:
            continue
        if mistake.transpose:
            # w_jk may not exist; the mutant is then dropped if the entry uses this unit
            weight = W[j, k] if j < W.shape[0] and k < W.shape[1] else _OUT_OF_RANGE
        else:
            weight = W[k, j]
        terms.append(weight * pick(upper[k]))
    return sp.Add(*terms)


def _output_deltas(net, loss, mistake):
    L = net.n_layers
    y, t = net.layer_values(L), net.targets
    deltas = list(loss.output_deltas(net))
    if mistake.drop_h == L:
        deltas = [yk - tk for yk, tk in zip(y, t)]
    if mistake.extra_h:
        deltas = [d * yk * (1 - yk) for d, yk in zip(deltas, y)]
    if mistake.diagonal:  # dE/dy_k times dy_k/da_k only
        dE_dy = [sp.diff(loss.per_sample(net), yk) for yk in y]
        deltas = [g * yk * (1 - yk) for g, yk in zip(dE_dy, y)]
    return [-d for d in deltas] if mistake.flip else deltas


def _deltas(net, loss, mistake):
    L = net.n_layers
    deltas = {L: _output_deltas(net, loss, mistake)}
    for l in range(L - 1, 0, -1):
        deltas[l] = [_h_prime(net, l, j, mistake) * _backward_sum(net, l, j, deltas[l + 1],
                                                                  mistake)
                     for j in range(net.sizes[l])]
    return deltas


def _sensitivities(net, mistake):
    """{l: K x n_l Matrix} of dy_k/da_j^(l) with the mistake made."""
    L, K = net.n_layers, net.sizes[-1]
    block = output_block(net)
    if mistake.drop_h == L:
        block = sp.eye(K)
    if mistake.diagonal:
        y = net.layer_values(L)
        block = sp.diag(*[yk * (1 - yk) for yk in y])
    G = {L: sp.Matrix(block)}
    for l in range(L - 1, 0, -1):
        G[l] = sp.Matrix(K, net.sizes[l], lambda k, j, l=l: _h_prime(net, l, j, mistake)
                         * _backward_sum(net, l, j, list(G[l + 1][k, :]), mistake))
    return G


def _parameter(net, name):
    """(layer, j, i or None) of a parameter name such as 'w_21^(2)' or 'b_1^(1)'."""
    index = net.param_index(name)
    for l in range(1, net.n_layers + 1):
        w_cols, b_cols = net.layer_slices(l)
        if w_cols.start <= index < w_cols.stop:
            j, i = divmod(index - w_cols.start, net.sizes[l - 1])
            return l, j, i
        if b_cols.start <= index < b_cols.stop:
            return l, index - b_cols.start, None
    raise AssertionError("unreachable: param_index accepted the name")


def _swapped(net, name):
    l, j, i = _parameter(net, name)
    if i is None or i == j or j >= net.sizes[l - 1] or i >= net.sizes[l]:
        raise _Invalid
    return sym.weight(l, i + 1, j + 1).name


def _entry(net, loss, target, mistake):
    kind, *fields = target
    if kind in ("gradient", "param_jacobian"):
        name = fields[-1]
        if mistake.swap_entry:
            name = _swapped(net, name)
        l, j, i = _parameter(net, name)
        z = net.layer_values(l - 1)[i] if i is not None else 1
        if kind == "gradient":
            return _deltas(net, loss, mistake)[l][j] * z
        return _sensitivities(net, mistake)[l][fields[0] - 1, j] * z
    if kind == "delta":
        l, j = fields
        return _deltas(net, loss, mistake)[l][j - 1]
    if kind == "input_jacobian":
        k, i = fields
        if mistake.swap_entry:
            if i == k or i > net.sizes[-1] or k > net.sizes[0]:
                raise _Invalid
            k, i = i, k
        G = _sensitivities(net, mistake)[1]
        W = net.weights[0]
        return sp.Add(*[W[j, i - 1] * G[k - 1, j] for j in range(net.sizes[1])
                        if not (mistake.keep and mistake.keep[0] == 0 and mistake.keep[1] != j + 1)])
    if kind == "sensitivity":
        k, l, j = fields
        return _sensitivities(net, mistake)[l][k - 1, j - 1]
    raise _Invalid


def mutants(net, loss, target):
    """[(Mistake, expression)] for a target entry; the first is the correct formula.

    ``target`` is a tuple: ``("gradient", "w_21^(1)")``, ``("delta", l, j)``,
    ``("input_jacobian", k, i)``, ``("param_jacobian", k, "b_1^(2)")``,
    ``("sensitivity", k, l, j)`` or ``("hessian", p, q)``. Mistakes that cannot
    be made for this entry are left out. Mutants of the Hessian are the
    Gauss-Newton term alone and the transposed entry.
    """
    loss = get_loss(loss, net) if loss is not None else None
    if target[0] == "hessian":
        return _hessian_mutants(net, loss, target)
    found = []
    for mistake in _mistakes(net, loss, target[0]):
        try:
            expression = sp.sympify(_entry(net, loss, target, mistake), strict=True)
        except _Invalid:
            continue
        if expression.has(_OUT_OF_RANGE):
            continue
        if found and expression == found[0][1]:
            continue  # the mistake changes nothing here (a 1 x 1 weight matrix, say)
        found.append((mistake, expression))
    return found


def _resolved(derivation, p, q):
    """Entry (p, q) of a derivation with its named intermediates replaced by their definitions."""
    named = derivation.named[p, q]
    for _ in range(len(derivation.definitions) + 1):
        resolved = named.xreplace(derivation.definitions)
        if resolved == named:
            break
        named = resolved
    return named


def _hessian_mutants(net, loss, target):
    from .hessian import hessian
    p, q = (net.param_index(name) for name in target[1:])
    exact = _resolved(hessian(net, loss), p, q)
    gauss_newton = _resolved(hessian(net, loss, approx="gauss_newton"), p, q)
    return [(CORRECT, exact), (Mistake(
        "gauss_newton", "this is the Gauss-Newton term alone: the exact Hessian adds the "
        "residual term sum_k (y_k - t_k) d^2 y_k / dw dw (zero only where y = t)"), gauss_newton)]
