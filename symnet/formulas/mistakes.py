"""Hints for wrong backprop formulas, made by mutating the correct derivation.

Instead of a hand-written rule per mistake, symnet re-runs the backward recursion
with one deliberate mistake at a time (a ``Mistake``) and asks which of these
mutants equals the learner's formula. The mistakes are the common ones:

* a missing factor h'(a_j^(l)) in one layer (or an extra one where it cancels:
  cross-entropy with logistic outputs);
* the activation in place of its derivative: z_j^(l) = h(a_j^(l)) where
  h'(a_j^(l)) belongs (z for 1 - z^2, or z for z(1 - z));
* a transposed weight index, w_jk^(l+1) for w_kj^(l+1) in the sum, or the entry of
  w_ij instead of w_ji;
* the wrong input: x_2 (or z_m^(l-1)) where the weight w_ji^(l) carries x_1;
* the sign of (y - t);
* the sum over the next layer dropped, keeping a single term;
* softmax without its cross terms (only the diagonal of dy_k/da_m);
* in the Hessian, the Gauss-Newton term alone (the residual term forgotten);

each also combined with a stray factor 2, 1/2 or -1 (checked by ``symnet.verify``).
Mutants are written in the forward quantities a_j^(l), z_j^(l), y_k, x_i, w, b, t,
and only the entry asked for is derived (the recursion is followed lazily), so a
hint for one entry of a large network costs one path through it.

Examples
--------
>>> import symnet
>>> net = symnet.MLP([1, 1, 1], hidden="tanh")
>>> for mistake, expression in mutants(net, "sse", ("gradient", "w_11^(1)"))[:3]:
...     print(mistake.key, "|", expression)
correct | w_11^(2)*x_1*(1 - z_1^(1)**2)*(-t_1 + y_1)
drop_h_1 | w_11^(2)*x_1*(-t_1 + y_1)
h_for_derivative_1 | w_11^(2)*x_1*z_1^(1)*(-t_1 + y_1)
"""

from dataclasses import dataclass

import sympy as sp

from ..graph import symbols as sym
from ._notation import plain
from ..derive.first_order import backward_recursion, hidden_derivative, output_block
from ..graph.loss_kernels import derivative_in_value
from ..graph.losses import get_loss
from ._layered_names import delta_symbol, is_layered, name_key

__all__ = ["Mistake", "mutants"]

MAX_KEEP_UNITS = 16   # "kept one term of the sum" is tried for layers up to this width


@dataclass(frozen=True)
class Mistake:
    """One deliberate mistake in the backward recursion, and the hint it stands for."""

    key: str
    text: str
    drop_h: int = 0             # layer whose h'(a) factor is dropped (0: none)
    h_for_derivative: int = 0   # layer whose h'(a) is replaced by h(a) itself (z or y)
    extra_h: bool = False       # an h'(a^(L)) factor where the canonical pair cancels it
    transpose: bool = False     # w_jk^(l+1) for w_kj^(l+1) in the backward sum
    flip: bool = False          # (t - y) for (y - t)
    keep: tuple = ()            # (l, k): of the sum over layer l+1 only the term k
    diagonal: bool = False      # softmax without cross terms
    swap_entry: bool = False    # the entry of w_ij^(l) instead of w_ji^(l) (J_ik for J_ki)
    input_index: int = 0        # the input factor z_m^(l-1) (x_m) for the weight's z_i^(l-1)
    forget_decay: bool = False  # the weight-decay term lam w_p (lam on H's diagonal) left out


CORRECT = Mistake("correct", "no mistake")
_OUT_OF_RANGE = sp.Dummy("out_of_range")


class _Invalid(Exception):
    """A mistake that cannot be made here (e.g. a transposed index out of range)."""


def _h_mistakes(net, loss):
    found = []
    L = net.n_layers
    sse_output = loss is None or loss.rule.is_sum_of_squares
    for l in range(1, L + 1):
        act = net.activations[l - 1]
        if not act.elementwise or act.name == "linear":
            continue
        where = "the output layer" if l == L else f"layer {l}"
        derivative = f"{act.name}'(a) = {plain(act.derivative)}"
        found.append(Mistake(f"drop_h_{l}", f"the factor h'(a_j^({l})) of {where} is "
                             f"missing ({derivative})", drop_h=l))
        if l < L or sse_output:
            value = f"z_j^({l})" if l < L else "y_k"
            found.append(Mistake(
                f"h_for_derivative_{l}", f"the activation {value} = h(a^({l})) stands where "
                f"its derivative h'(a^({l})) belongs, in {where} ({derivative})",
                h_for_derivative=l))
    return found


def _forgot_decay(target, decay):
    """The weight-decay term left out: lam w_p of dE/dw_p (lam of H[p, p])."""
    kind, name = target[0], target[-1]
    if not decay or kind not in ("gradient", "hessian") or (kind == "hessian"
                                                            and target[1] != name):
        return []
    added = (f"dE/d{name} gains lam {name}" if kind == "gradient" else
             f"H[{name}, {name}] gains lam (the Hessian of lam/2 ||w||^2 is lam I)")
    return [Mistake("forgot_weight_decay", f"the weight-decay term is missing: with E = sum_n "
                    f"E_n + lam/2 sum_p w_p^2 (lam = {decay}), {added}", forget_decay=True)]


def _mistakes(net, loss, target, decay=0):
    kind = target[0]
    L = net.n_layers
    found = [CORRECT] + _forgot_decay(target, decay) + _h_mistakes(net, loss)
    canonical = loss is not None and loss.rule.probability_targets
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
        if 1 < net.sizes[l + 1] <= MAX_KEEP_UNITS:
            found.extend(Mistake(
                f"keep_{l}_{k}", f"the sum over the units of layer {l + 1} is missing: "
                f"delta_j^({l}) = h'(a_j^({l})) sum_k w_kj^({l + 1}) delta_k^({l + 1}) has a "
                f"term for every k; your formula keeps only k = {k}", keep=(l, k))
                for k in range(1, net.sizes[l + 1] + 1))
    if kind == "input_jacobian" and 1 < net.sizes[1] <= MAX_KEEP_UNITS:
        found.extend(Mistake(f"keep_0_{j}", "the sum over the units of layer 1 is missing: "
                             "J_ki = sum_j w_ji^(1) dy_k/da_j^(1) has a term for every j; your "
                             f"formula keeps only j = {j}", keep=(0, j))
                     for j in range(1, net.sizes[1] + 1))
    found.append(Mistake("swap_entry", "this is the entry of the transposed weight: w_ji^(l) "
                         "goes from unit i of layer l-1 to unit j of layer l", swap_entry=True))
    found.extend(_input_mistakes(net, target))
    return found


def _input_mistakes(net, target):
    """x_m (z_m^(l-1)) where the entry needs x_i: the factor of the wrong input."""
    kind = target[0]
    if kind in ("gradient", "param_jacobian"):
        l, j, i = _parameter(net, target[-1])
        if i is None:
            return []
        right = net.layer_values(l - 1)[i]
        return [Mistake(f"wrong_input_{m + 1}", f"the input factor is {wrong} but "
                        f"{target[-1]} carries {right}: dE/dw_ji^(l) = delta_j^(l) z_i^(l-1), "
                        "with i the weight's second index (the unit it comes from)",
                        input_index=m + 1)
                for m, wrong in enumerate(net.layer_values(l - 1)) if m != i]
    if kind == "input_jacobian":
        k, i = target[1:]
        return [Mistake(f"wrong_input_{m}", f"this is dy_{k}/dx_{m}, not dy_{k}/dx_{i}: "
                        f"J_ki = sum_j w_ji^(1) dy_k/da_j^(1) uses the weights from x_{i}",
                        input_index=m)
                for m in range(1, net.sizes[0] + 1) if m != i]
    return []


class _Recursion:
    """The backward recursion with one mistake, followed only as far as an entry needs."""

    def __init__(self, net, loss, mistake):
        self.net, self.loss, self.mistake = net, loss, mistake
        self._deltas = self._rows = None

    def h_prime(self, net, layer, j):
        if self.mistake.drop_h == layer:
            return 1
        if self.mistake.h_for_derivative == layer:
            return net.layer_values(layer)[j]
        return hidden_derivative(net, layer, j)

    def backward_sum(self, net, layer, j, upper):
        """sum_k w_kj^(l+1) upper_k with the mistake's transposition and dropped terms."""
        W = net.weights[layer]  # W^(l+1)
        terms = []
        for k in range(net.sizes[layer + 1]):
            if self.mistake.keep and self.mistake.keep[0] == layer and self.mistake.keep[1] != k + 1:
                continue
            if self.mistake.transpose:
                # w_jk may not exist; the mutant is then dropped if the entry uses this unit
                weight = W[j, k] if j < W.shape[0] and k < W.shape[1] else _OUT_OF_RANGE
            else:
                weight = W[k, j]
            terms.append(weight * upper[k])
        return sp.Add(*terms)

    def _backward(self, top):
        """symnet's one backward recursion, with this mistake planted in it (values inline)."""
        return backward_recursion(self.net, top, None, {}, h_prime=self.h_prime,
                                  back=self.backward_sum)

    def output_deltas(self):
        net, loss, mistake = self.net, self.loss, self.mistake
        L = net.n_layers
        y, t = net.layer_values(L), net.targets
        deltas = list(loss.output_deltas(net))
        if mistake.drop_h == L:
            deltas = [yk - tk for yk, tk in zip(y, t)]
        if mistake.h_for_derivative == L:
            deltas = [(yk - tk) * yk for yk, tk in zip(y, t)]
        if mistake.extra_h:
            deltas = [d * yk * (1 - yk) for d, yk in zip(deltas, y)]
        if mistake.diagonal:  # dE/dy_k times dy_k/da_k only
            dE_dy = [sp.diff(loss.per_sample(net), yk) for yk in y]
            deltas = [g * yk * (1 - yk) for g, yk in zip(dE_dy, y)]
        return [-d for d in deltas] if mistake.flip else deltas

    def output_block(self):
        """dy_k/da_m^(L) with the mistake made."""
        net, mistake, L = self.net, self.mistake, self.net.n_layers
        block = output_block(net)
        if mistake.drop_h == L:
            block = sp.eye(net.sizes[-1])
        if mistake.h_for_derivative == L and net.activations[-1].elementwise:
            block = sp.diag(*net.layer_values(L))
        if mistake.diagonal:
            block = sp.diag(*[yk * (1 - yk) for yk in net.layer_values(L)])
        return block

    def delta(self, layer, j):
        """delta_j^(l) (0-based j) with the mistake made."""
        if self._deltas is None:
            self._deltas = self._backward([self.output_deltas()])
        return self._deltas[layer][0][j]

    def sensitivity(self, layer, k, j):
        """dy_k/da_j^(l) (0-based k, j) with the mistake made."""
        if self._rows is None:
            self._rows = self._backward(self.output_block().tolist())
        return self._rows[layer][k][j]


def _parameter(net, name):
    """(layer, j, i or None) of a parameter name such as 'w_21^(2)' or 'b_1^(1)'."""
    l, _, j, i = net.param_location(net.param_index(name))
    return l, j, i


def _swapped(net, name):
    l, j, i = _parameter(net, name)
    if i is None or i == j or j >= net.sizes[l - 1] or i >= net.sizes[l]:
        raise _Invalid
    return sym.weight(l, i + 1, j + 1).name


def _entry(net, loss, target, mistake, decay=0):
    kind, *fields = target
    recursion = _Recursion(net, loss, mistake)
    if kind in ("gradient", "param_jacobian"):
        name = fields[-1]
        if mistake.swap_entry:
            name = _swapped(net, name)
        l, j, i = _parameter(net, name)
        if mistake.input_index:
            i = mistake.input_index - 1
        z = net.layer_values(l - 1)[i] if i is not None else 1
        if kind == "gradient":  # dE/dw_p = sum_n dE_n/dw_p + lam w_p, of the entry written
            decayed = 0 if mistake.forget_decay else decay * net.params[net.param_index(name)]
            return recursion.delta(l, j) * z + decayed
        return recursion.sensitivity(l, fields[0] - 1, j) * z
    if kind == "delta":
        l, j = fields
        return recursion.delta(l, j - 1)
    if kind == "input_jacobian":
        k, i = fields
        if mistake.swap_entry:
            if i == k or i > net.sizes[-1] or k > net.sizes[0]:
                raise _Invalid
            k, i = i, k
        if mistake.input_index:
            i = mistake.input_index
        W = net.weights[0]
        return sp.Add(*[W[j, i - 1] * recursion.sensitivity(1, k - 1, j)
                        for j in range(net.sizes[1])
                        if not (mistake.keep and mistake.keep[0] == 0 and mistake.keep[1] != j + 1)])
    if kind == "sensitivity":
        k, l, j = fields
        return recursion.sensitivity(l, k - 1, j - 1)
    raise _Invalid


def mutants(net, loss, target, reference=None, weight_decay=0):
    """[(Mistake, expression)] for a target entry; the first is the correct formula.

    ``target`` is a tuple: ``("gradient", "w_21^(1)")``, ``("delta", l, j)``,
    ``("input_jacobian", k, i)``, ``("param_jacobian", k, "b_1^(2)")``,
    ``("sensitivity", k, l, j)`` or ``("hessian", p, q)``. Mistakes that cannot
    be made for this entry are left out. Mutants of the Hessian are the
    Gauss-Newton term alone (the exact entry with every residual y - t set to 0);
    ``reference``, the exact entry in forward quantities, saves deriving it again.
    With ``weight_decay`` lam (an exact number: E = sum_n E_n + lam/2 sum_p w_p^2) the
    gradient mutants carry lam w_p, and one more leaves it out ("forgot_weight_decay";
    for H[p, p], lam).

    >>> import sympy as sp, symnet
    >>> net = symnet.MLP([1, 1])
    >>> [(m.key, e) for m, e in mutants(net, "sse", ("gradient", "b_1^(1)"),
    ...                                  weight_decay=sp.Rational(1, 10))][:2]
    [('correct', b_1^(1)/10 - t_1 + y_1), ('forgot_weight_decay', -t_1 + y_1)]
    """
    loss = get_loss(loss, net) if loss is not None else None
    decay = sp.sympify(weight_decay, strict=True)
    if target[0] == "hessian":   # an MLP's, a Network's or an RNN's
        if reference is None:
            from ._targets import reference as derive
            found = derive(net, loss, target, decay)
            reference = _resolved(found.entry, found.definitions)
        return _hessian_mutants(net, reference, _forgot_decay(target, decay), decay)
    if is_layered(net):
        return _layered_mutants(net, loss, target, decay)
    found = []
    for mistake in _mistakes(net, loss, target, decay):
        try:
            expression = sp.sympify(_entry(net, loss, target, mistake, decay), strict=True)
        except _Invalid:
            continue
        if expression.has(_OUT_OF_RANGE):
            continue
        if found and expression == found[0][1]:
            continue  # the mistake changes nothing here (a 1 x 1 weight matrix, say)
        found.append((mistake, expression))
    return found


def _resolved(named, definitions):
    """A named entry with its intermediates (deltas, ...) replaced by their definitions."""
    for _ in range(len(definitions) + 1):
        resolved = named.xreplace(definitions)
        if resolved == named:
            break
        named = resolved
    return named


def _hessian_mutants(net, exact, forgot, decay):
    # The Hessian is B^T Lambda B + sum_k (y_k - t_k) (second derivatives) (+ lam I): with
    # t = y the residual term vanishes and the Gauss-Newton term is left (lam I stays),
    # without deriving it again.
    gauss_newton = exact.xreplace(dict(zip(net.targets, net.layer_values(net.n_layers))))
    return [(CORRECT, exact)] + [(mistake, exact - decay) for mistake in forgot] + [(Mistake(
        "gauss_newton", "this is the Gauss-Newton term alone: the exact Hessian adds the "
        "residual term sum_k (y_k - t_k) d^2 y_k / dw dw (zero only where y = t)"), gauss_newton)]


# -- a Network or RNN: weight sharing's sums, the skip and the step it came from ----------
def _shared_over(net):
    """What a shared parameter's uses run over: time steps (RNN) or positions (Network)."""
    return "time" if any(stage.kind == "recurrent" for stage in net.stages) else "positions"


def _forgot_sum(net, name, entry, decayed):
    """Each single term of dE/dw = sum over the units that use w: the sum forgotten."""
    terms = sp.Add.make_args(entry)
    if len(terms) < 2:
        return []
    over = _shared_over(net)
    if over == "time":
        text = (f"the sum over time is missing: {name} is used at all {len(terms)} time steps, "
                "so dE/dw = sum_t delta^(t) (times the unit's input at step t; for W_hh, "
                "dE/dW_hh = sum_t delta^(t) h^(t-1)^T) has a term for every step")
    else:
        text = (f"the sum over positions is missing: {name} is shared by all {len(terms)} "
                "positions of its output channel, so dE/dw_(c,c',m) = sum_p delta_(c,p) "
                "z_(c',p+m-1) has a term for every position p")
    where = "p" if over == "positions" else "t"
    ordered = sorted(terms, key=lambda term: _place(net, term))
    ends = [(ordered[1:], ordered[0]), (ordered[:-1], ordered[-1])] if len(terms) > 2 else []
    return [(Mistake(f"forgot_sum_over_{over}", f"{text}; your formula keeps only "
                     f"{plain(term)}"), term + decayed) for term in terms] + [
        (Mistake("sum_range", f"the range of the sum over {over} is off: it misses the term "
                 f"{plain(left_out)}, at {where} = {_place(net, left_out)[-1]}; the sum runs "
                 f"over all {len(terms)} {'steps' if over == 'time' else 'positions'} where "
                 "the parameter is used"), sp.Add(*kept) + decayed)
        for kept, left_out in ends]


def _place(net, term):
    """The position (or time step) of a term of a shared parameter's sum, from its delta."""
    for symbol in sorted(term.free_symbols, key=str):
        key = name_key(symbol.name) if symbol.name.startswith(("delta", "dy_")) else None
        if symbol.name.startswith("dy_"):
            key = name_key(symbol.name.split("/d")[1])
        if key:   # an RNN's step is its superscript, a convolution's position its last indices
            return key[2] if _shared_over(net) == "time" else key[1][1:]
    return ()


def _wrong_tap(net, name, named, decay):
    """The gradient of another tap of the same kernel: the input shifted by the wrong m."""
    stem, indices, layer = name_key(name)
    if stem != "w" or len(indices) < 3:
        return []
    found = []
    for index, parameter in enumerate(net.params):
        other = name_key(parameter.name)
        if other[0] == "w" and other[2] == layer and other[1][:2] == indices[:2] and \
                other[1] != indices:
            found.append((Mistake("wrong_tap", f"this is dE/d{parameter.name}, the gradient of "
                                  f"another tap: in dE/dw_(c,c',m) = sum_p delta_(c,p) "
                                  f"z_(c',p+m-1) the input is m-1 positions past p, with m "
                                  f"the kernel entry's last index (here m = {indices[-1]})"),
                          named[index] + decay * net.params[net.param_index(name)]))
    return found


def _delta_parts(net, name, value):
    """Mistakes of one delta's definition h'(a) (sum of the units it feeds): h' dropped, or
    the contributions of one kind of consumer (the next step, the output, the skip) dropped."""
    stage, a = next((s, a) for s in net.stages for a in s.pre if delta_symbol(a).name == name)
    if stage is net.stages[-1]:
        return []
    slope = derivative_in_value(stage.act, a, stage.post[stage.pre.index(a)])
    back = sp.expand(value / slope) if slope != 1 else value
    found = [] if slope == 1 else [(Mistake(
        "drop_h", f"the factor h'({a}) = {plain(slope)} is missing: delta = h'(a) times the sum "
        "over the units that a's value feeds"), back)]
    by_stage = {}
    for term in sp.Add.make_args(back):
        consumer = next((i for i, s in enumerate(net.stages) for b in s.pre
                         if delta_symbol(b) in term.free_symbols), None)
        by_stage.setdefault(consumer, []).append(term)
    if len(by_stage) < 2:
        return found
    for consumer, terms in by_stage.items():
        kind = net.stages[consumer].kind if consumer is not None else ""
        rest = sp.Add(*[t for c, ts in by_stage.items() if c != consumer for t in ts])
        key, text = _MISSING_CONSUMER.get(kind, _MISSING_CONSUMER["other"])
        if _shared_over(net) == "time" and consumer == len(net.stages) - 1:
            key, text = _MISSING_CONSUMER["output"]
        found.append((Mistake(key, text), slope * rest))
    return found


# the kind of stage whose contribution to a delta is left out -> (key, text)
_MISSING_CONSUMER = {
    "recurrent": ("forgot_recurrent_term", "the term from the next time step is missing: "
                  "delta^(t) = h'(a^(t)) (W_hh^T delta^(t+1) + W_hy^T dE/dy^(t)), for h^(t) "
                  "also feeds a^(t+1)"),
    "output": ("forgot_output_term", "the output's term is missing: delta^(t) = h'(a^(t)) "
               "(W_hh^T delta^(t+1) + W_hy^T dE/dy^(t)), for h^(t) also feeds y^(t)"),
    "skip": ("forgot_skip_term", "the skip connection's term is missing: z_out = z_in + "
             "F(z_in) gives dz_out/dz_in = I + dF/dz_in, so the delta of z_in gets the skip's "
             "delta as well as F's"),
    "other": ("forgot_consumer_term", "a term of the sum is missing: delta = h'(a) sum_c "
              "(da_c/dz) delta_c has a term for every unit c that z = h(a) feeds"),
}


def _layered_mutants(net, loss, target, decay):
    """[(Mistake, expression)] for a gradient, delta or Jacobian target of a Network or RNN.

    The expressions are in the named deltas (a Point evaluates them through their
    definitions): the shared parameter's sum with one term kept ("forgot_sum_over_positions"
    or "forgot_sum_over_time"), another tap's gradient, and for a delta its h' or one
    kind of consumer (the next step, the output, the skip) left out. A Jacobian entry has
    only the correct one (the stray factors 2, -1, ... are hints still).
    """
    from ._targets import derivation_of, reference as derive
    kind, name = target[:2]
    if kind not in ("gradient", "delta"):
        return [(CORRECT, derive(net, loss, target, decay).entry)]
    gradient = derivation_of(net, "gradient", loss)
    if kind == "gradient":
        index = net.param_index(name)
        decayed = decay * net.params[index]
        entry = gradient.named[index]
        found = [(CORRECT, entry + decayed)] + [(m, entry) for m in _forgot_decay(target, decay)]
        found += _forgot_sum(net, name, entry, decayed)
        found += _wrong_tap(net, name, gradient.named, decay)
    else:
        symbol = sp.Symbol(name, real=True)
        value = gradient.definitions.get(symbol, symbol)
        found = [(CORRECT, symbol)] + _delta_parts(net, name, value)
    unique = []
    for mistake, expression in found:
        if not any(expression == e for _, e in unique):
            unique.append((mistake, expression))
    return unique
