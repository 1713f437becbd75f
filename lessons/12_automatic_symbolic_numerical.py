# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lesson 12: Automatic, symbolic and numerical differentiation
#
# Time: about 25 minutes.
#
# There are three ways to get the derivatives of a network (Bishop, *Deep Learning*,
# 2024, sec. 8.2, which sets them side by side):
#
# * **numerical** (sec. 8.1.4 and lesson 5): difference quotients of the forward pass;
#   $2W$ forward passes per gradient, and only about 10 correct digits;
# * **symbolic**: differentiate the formula; exact, but the written-out formula *swells*
#   as the network grows;
# * **automatic** (secs. 8.2.1 and 8.2.2): apply the chain rule to *numbers*, one primitive
#   operation at a time, along the *evaluation trace* of the forward pass: in
#   **forward mode** each variable carries its tangent $\dot v = \partial v/\partial x$, in
#   **reverse mode** each carries its adjoint $\bar v = \partial y/\partial v$.
#
# You write both modes of automatic differentiation here, in a few dozen lines, on the
# trace of a symnet network, check all three ways against each other, and count what each
# costs.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import examples, plots, widgets
from symnet.render.derivation_latex import tex
from symnet.numdiff.differences import central_difference

net = examples.network("graph")       # 2-2-1, tanh hidden units, a linear output (lesson 1)
w = net.pack([[[0.8, -0.4], [0.3, 0.9]], [[1.5, -2.0]]], [[0.1, -0.2], [0.25]])
x = np.array([0.5, -1.0])
for name, value in net.equations.items():
    display(Math(f"{tex(name)} = {tex(value)}"))

# %% [markdown]
# ## The evaluation trace, read from the network's equations
#
# Every equation of `net.equations` is made of three primitives: a product of two
# values, a sum, and a unit's activation $h$. `trace` breaks each equation into them, in
# the order the forward pass computes them, naming every product $v_n$ as Bishop's
# evaluation traces do. Each primitive has a local derivative: $\partial(uv)/\partial u = v$,
# $\partial(\sum u)/\partial u = 1$, $\partial h(a)/\partial a = h'(a)$.

# %%
def trace(net):
    """The evaluation trace: (result, operation, arguments), one line per primitive."""
    tape, products = [], iter(sp.symbols("v_1:1000"))

    def record(expression, name=None):
        """Append the primitives of ``expression`` to the tape; return the symbol holding it."""
        if expression.is_Symbol:
            return expression
        arguments = tuple(record(part) for part in expression.args)
        if expression.is_Add:
            operation = "add"
        elif expression.is_Mul and len(arguments) == 2:
            operation = "mul"
        else:
            raise NotImplementedError(f"not a primitive of this trace: {expression}")
        result = next(products) if name is None else name
        tape.append((result, operation, arguments))
        return result

    for l in range(1, net.n_layers + 1):
        h = net.activations[l - 1]
        for a, z in zip(net.layer_pre_activations(l), net.layer_values(l)):
            record(net.equations[a], name=a)            # a = b + w x + w x: products, a sum
            assert net.equations[z] == h.function(a)    # z = h(a), read from the equations
            tape.append((z, h, (a,)))
    return tape


tape = trace(net)
for result, operation, arguments in tape:
    what = operation if isinstance(operation, str) else operation.name
    print(f"{str(result):8} = {what:6} {', '.join(map(str, arguments))}")
assert len(tape) == 12         # per hidden unit 2 products, 1 sum, 1 h; the output 2 + 1 + 1

# %% [markdown]
# One interpreter runs the trace with any *arithmetic*: plain numbers (counting every
# operation), dual numbers, or SymPy symbols. Run on symbols it rebuilds the
# written-out output: the trace *is* the formula, with every intermediate named once.

# %%
class Numbers:
    """Floating-point arithmetic that counts its operations (a flop: one +, x or h)."""

    def __init__(self):
        self.flops = 0

    def mul(self, u, v):
        self.flops += 1
        return u * v

    def add(self, terms):
        self.flops += len(terms) - 1
        return sum(terms[1:], terms[0])

    def h(self, h, a):
        self.flops += 1
        return h.numpy(a)


class Symbols:
    """SymPy arithmetic: the same trace, run on symbols, gives the formula."""

    def mul(self, u, v):
        return u * v

    def add(self, terms):
        return sp.Add(*terms)

    def h(self, h, a):
        return h.function(a)


def run(tape, start, arithmetic):
    """Every value of the trace, from the start values (inputs and parameters)."""
    values = dict(start)
    for result, operation, arguments in tape:
        given = [values[argument] for argument in arguments]
        if operation == "mul":
            values[result] = arithmetic.mul(*given)
        elif operation == "add":
            values[result] = arithmetic.add(given)
        else:
            values[result] = arithmetic.h(operation, given[0])
    return values


def leaves(net, x, w):
    """The trace's start values: the inputs x_i and every weight and bias."""
    return {**dict(zip(net.inputs, x)), **dict(zip(net.params, w))}


plain = Numbers()
values = run(tape, leaves(net, x, w), plain)
y1 = net.layer_values(net.n_layers)[0]
print(f"y_1 = {values[y1]:.6f} in {plain.flops} flops")
assert abs(values[y1] - net.forward(x, w)[0]) <= 1e-15 * abs(values[y1])
assert plain.flops == 6 * 1 + 3 * 2 + 3 * 1  # 6 products, 3 sums of 3 terms, 3 h
symbolic = run(tape, leaves(net, net.inputs, net.params), Symbols())
assert sp.expand(symbolic[y1] - net.substitution[y1]) == 0

# %% [markdown]
# ## Forward mode: dual numbers
#
# A dual number $(v, \dot v)$ carries a value and its tangent $\dot v = \partial v/\partial s$
# for one chosen direction $s$. Each primitive updates both:
# $(u, \dot u)(w, \dot w) = (uw,\ \dot u w + u \dot w)$, sums add tangents, and
# $h(a, \dot a) = (h(a),\ h'(a)\,\dot a)$. Seed $\dot x_1 = 1$ and every other leaf 0:
# one sweep gives $\dot y_1 = \partial y_1/\partial x_1 = J_{11}$, the sum over paths of
# lesson 1. A full Jacobian needs one sweep per input.

# %%
class Duals(Numbers):
    """Dual-number arithmetic on (value, tangent) pairs, counting flops."""

    def mul(self, u, v):
        self.flops += 4                 # u v, and u' v + u v' (2 x, 1 +)
        return u[0] * v[0], u[1] * v[0] + u[0] * v[1]

    def add(self, terms):
        self.flops += 2 * (len(terms) - 1)
        return sum(t[0] for t in terms), sum(t[1] for t in terms)

    def h(self, h, a):
        self.flops += 3                 # h(a), h'(a) and h'(a) a'
        return h.numpy(a[0]), h.derivative_numpy(a[0]) * a[1]


def forward_mode(tape, start, seed, arithmetic):
    """Every (value, tangent) of one sweep; ``seed`` maps leaves to their tangents (else 0)."""
    return run(tape, {v: (value, seed.get(v, 0.0)) for v, value in start.items()}, arithmetic)


duals = Duals()
x1, x2 = net.inputs
sweep = forward_mode(tape, leaves(net, x, w), {x1: 1.0}, duals)
paths = widgets.path_products(net, x, w, k=0, i=0)
print(f"one forward sweep: dy_1/dx_1 = {sweep[y1][1]:.12f} in {duals.flops} flops; "
      f"sum over the {len(paths)} paths = {sum(v for _, v in paths):.12f}")
assert abs(sweep[y1][1] - sum(v for _, v in paths)) <= 1e-14
assert sweep[y1][0] == values[y1] and duals.flops == 6 * 4 + 3 * 4 + 3 * 3

# %% [markdown]
# ## Reverse mode: a tape swept backwards
#
# Reverse mode runs the trace forward once, keeping every value, then walks it
# backwards with the adjoints $\bar v = \partial y_1/\partial v$, starting from
# $\bar y_1 = 1$: each primitive passes its result's adjoint, times its local derivative, to
# its arguments, $\bar u \mathrel{+}= \bar r\,\partial r/\partial u$. One backward sweep gives
# $\partial y_1/\partial v$ for *every* leaf: both inputs and all nine parameters. The
# adjoints of the pre-activations are exactly the $\partial y_1/\partial a_j^{(1)}$ symnet's
# Jacobian derivation names: reverse mode *is* backpropagation.

# %%
def reverse_mode(tape, values, seed, counter):
    """The adjoints d(seeded output)/dv of every value; ``seed`` maps outputs to their bars."""
    adjoint = dict(seed)
    for result, operation, arguments in reversed(tape):
        bar = adjoint.get(result)
        if bar is None:                 # this value does not reach a seeded output
            continue
        if operation == "mul":
            u, v = arguments
            locals_ = [values[v], values[u]]
        elif operation == "add":
            locals_ = [1.0] * len(arguments)
        else:
            counter.flops += 1          # h'(a)
            locals_ = [operation.derivative_numpy(values[arguments[0]])]
        for argument, local in zip(arguments, locals_):
            contribution = bar if operation == "add" else bar * local
            counter.flops += operation != "add"
            if argument in adjoint:
                counter.flops += 1
                adjoint[argument] = adjoint[argument] + contribution
            else:
                adjoint[argument] = contribution
    return adjoint


backward = Numbers()
bars = reverse_mode(tape, values, {y1: 1.0}, backward)
print(f"one backward sweep ({backward.flops} flops) gives all "
      f"{sum(v in bars for v in leaves(net, x, w))} leaf adjoints:")
print({str(v): round(float(bars[v]), 6) for v in leaves(net, x, w)})
J = symnet.input_jacobian(net)
for j, a in enumerate(net.layer_pre_activations(1), start=1):
    named = symnet.symbols.output_sensitivity(1, 1, j)     # dy_1/da_j^(1), as J names it
    formula = J.definitions[named]                         # w_1j^(2) (1 - z_j^(1)^2)
    assert abs(bars[a] - float(formula.xreplace(values))) <= 1e-15, named
assert abs(bars[x1] - sweep[y1][1]) <= 1e-15      # reverse == forward, at J_11
assert all(v in bars for v in leaves(net, x, w))

# %% [markdown]
# ## All three agree, three ways
#
# On the 3-4-2 network of lesson 6 ($D = 3$ inputs, $K = 2$ outputs, $W = 26$
# parameters), with $E = \tfrac12 \sum_k (y_k - t_k)^2$:
#
# * **automatic**: the gradient by forward mode (one sweep per parameter, $\dot y$ times
#   $y - t$) and by reverse mode (one sweep, seeded $\bar y_k = y_k - t_k$); the input
#   Jacobian by forward mode (3 sweeps, one per input) and by reverse mode (2 sweeps, one
#   per output);
# * **symbolic**: symnet's derivation, whose exact formula equals SymPy's differentiation of
#   the written-out $E$ (and of $y$), evaluated by its matrix form and entry by entry;
# * **numerical**: central differences of the plain forward pass.

# %%
big = examples.network("lm")
w_big = big.init_params(seed=3)
x_big, t_big = np.array([0.5, -0.3, 0.8]), np.array([0.2, -0.1])
tape_big = trace(big)
start = leaves(big, x_big, w_big)
outputs = big.layer_values(big.n_layers)
values_big = run(tape_big, start, Numbers())
residual = {y: values_big[y] - t for y, t in zip(outputs, t_big)}

forward_gradient = np.array([
    sum(residual[y] * sweep[y][1] for y in outputs)
    for sweep in (forward_mode(tape_big, start, {p: 1.0}, Duals()) for p in big.params)])
reverse_bars = reverse_mode(tape_big, values_big, residual, Numbers())
reverse_gradient = np.array([reverse_bars[p] for p in big.params])

grad = symnet.gradient(big, "sse")
symbolic_gradient = grad.evaluate(x_big, w_big, t_big)
passes = []                             # the parameter vectors central differences try


def error(V):
    """E at each row of V: a plain NumPy forward pass per parameter vector."""
    passes.extend(V)
    return np.array([0.5 * np.sum((big.forward(x_big, v) - t_big) ** 2) for v in V])


numeric_gradient = central_difference(error, w_big)
assert len(passes) == 2 * big.n_params  # two forward passes per parameter

for name, other in [("reverse mode", reverse_gradient), ("symbolic", symbolic_gradient),
                    ("central differences", numeric_gradient)]:
    relative = np.abs(other - forward_gradient).max() / np.abs(forward_gradient).max()
    print(f"gradient: forward mode vs {name:20s} relative difference {relative:.1e}")
    assert relative < (1e-7 if name == "central differences" else 1e-13), name
    if name == "central differences":   # about ten digits, not sixteen
        assert 1e-13 < relative < 1e-9
assert np.allclose(grad.evaluate_entries(x_big, w_big, t_big), symbolic_gradient,
                   rtol=1e-12, atol=0)
E_full = grad.loss.per_sample(big).xreplace(big.substitution)
for p in big.params:                 # backpropagation's formula == SymPy's diff of E
    assert sp.expand(sp.diff(E_full, p) - grad.matrix[big.param_index(p)]) == 0, p

# %%
J_big = symnet.input_jacobian(big)
J_forward = np.array([[forward_mode(tape_big, start, {xi: 1.0}, Duals())[y][1]
                       for xi in big.inputs] for y in outputs])           # 3 sweeps
J_reverse = np.array([[reverse_mode(tape_big, values_big, {y: 1.0}, Numbers())[xi]
                       for xi in big.inputs] for y in outputs])           # 2 sweeps
J_numeric = central_difference(lambda V: big.forward(V, w_big), x_big).T
print("J by forward mode:\n", J_forward.round(6))
assert np.allclose(J_reverse, J_forward, rtol=1e-13, atol=1e-15)
assert np.allclose(J_big.evaluate(x_big, w_big), J_forward, rtol=1e-13, atol=1e-15)
assert np.abs(J_numeric - J_forward).max() / np.abs(J_forward).max() < 1e-7
J_direct = symnet.input_jacobian(big, method="direct")
for k in range(2):
    for i in range(3):
        assert sp.simplify(J_big.matrix[k, i] - J_direct.matrix[k, i]) == 0

# %% [markdown]
# ## Expression swell
#
# Symbolic differentiation is exact, but *how* the result is written decides what it
# costs. Count the operations (`sympy.count_ops`) of symnet's gradient three ways as the
# network gets deeper (width 2, one to four hidden layers):
#
# * **named**: the gradient entries in named intermediates ($\delta_j^{(l)} z_i^{(l-1)}$)
#   with the equations and deltas that define them: the program an evaluation runs;
# * **`.matrix`**: every intermediate substituted, the formula written out;
# * **CSE**: `sympy.cse` of the written-out formula, which finds the repeated parts again.
#
# The named program grows by the same amount per layer; the written-out formula grows by
# a factor of more than four per layer, because every $z^{(l)}$ appears, written out
# in full, in each unit of the next layer; CSE brings it back to the named size exactly.

# %%
def operation_counts(net):
    """count_ops of the gradient: entries alone, the named program, written out, after CSE."""
    g = symnet.gradient(net, "sse")
    entries = sp.count_ops(g.named)
    program = entries + sum(sp.count_ops(v) for v in g.all_definitions.values())
    written = sp.count_ops(g.matrix)
    replacements, reduced = sp.cse(list(g.matrix))
    shared = sum(sp.count_ops(v) for _, v in replacements) + sum(map(sp.count_ops, reduced))
    return entries, program, written, shared


depths = [1, 2, 3, 4]
counts = np.array([operation_counts(symnet.MLP([2] + [2] * n + [1], hidden="tanh"))
                   for n in depths])
print(" hidden layers   entries   named program   .matrix   after CSE")
for n, row in zip(depths, counts):
    print(f"{n:14d}" + "".join(f"{c:>{width}d}" for c, width in zip(row, (10, 16, 10, 12))))
entries, program, written, shared = counts.T
assert np.all(np.diff(program) == program[1] - program[0])            # linear in depth
assert np.all(written[1:] / written[:-1] > 4)                         # x4 or more per layer
assert np.all(shared == program) and written[-1] > 200 * shared[-1]

fig = plots.LessonFigure(figsize=(6, 3.5))
ax = fig.subplots()
for label, series in [("written out (.matrix)", written), ("named program", program),
                      ("after sympy.cse", shared), ("gradient entries (.named)", entries)]:
    ax.semilogy(depths, series, "o-", label=label)
ax.set_xticks(depths)
ax.set_xlabel("hidden layers (2 tanh units each)")
ax.set_ylabel("operations (sympy.count_ops)")
ax.set_title("expression swell of the gradient dE/dw", fontsize=9)
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## The cost of each as $W$ grows
#
# Widen the hidden layer of a 3-$n$-2 network and count the flops each method spends on
# one gradient, against $F$, the flops of one forward pass:
#
# * forward mode: $W$ sweeps of dual numbers, each a small multiple of $F$: grows like $W F$;
# * reverse mode: one forward pass and one backward sweep: a small multiple of $F$,
#   *whatever* $W$ (the "cheap gradient principle");
# * central differences: exactly $2W$ forward passes;
# * the written-out formula: `count_ops(.matrix)`, which grows like $W^2$ (each entry
#   repeats most of the network); after CSE, like $W$.

# %%
widths = [1, 2, 4, 8, 16]
rows = []
for n in widths:
    net_n = symnet.MLP([3, n, 2], hidden="tanh")
    w_n = net_n.init_params(seed=0)
    tape_n, start_n = trace(net_n), leaves(net_n, x_big, w_n)
    once = Numbers()
    values_n = run(tape_n, start_n, once)
    tangents = Duals()
    for p in net_n.params:
        forward_mode(tape_n, start_n, {p: 1.0}, tangents)
    adjoints = Numbers()
    outputs_n = net_n.layer_values(net_n.n_layers)
    run(tape_n, start_n, adjoints)      # reverse mode's forward pass, then its backward sweep
    reverse_mode(tape_n, values_n, {y: values_n[y] - t for y, t in zip(outputs_n, t_big)},
                 adjoints)
    _, _, written_n, shared_n = operation_counts(net_n)
    rows.append((net_n.n_params, once.flops, tangents.flops, adjoints.flops,
                 2 * net_n.n_params * once.flops, written_n, shared_n))
W_, F_, forward_cost, reverse_cost, central_cost, written_cost, shared_cost = np.array(rows).T
print("   W     F   forward mode   reverse mode   central diff.   .matrix   after CSE")
for row in rows:
    print("".join(f"{c:>{width}d}" for c, width in zip(row, (4, 6, 15, 15, 16, 10, 12))))

assert np.all(reverse_cost <= 3 * F_)                       # a constant multiple of F
assert np.all(forward_cost >= W_ * F_)                      # at least W forward passes
ratio = forward_cost / (W_ * F_)
assert np.all((2.5 < ratio) & (ratio < 4))                  # forward mode ~ 3 W F
slope = lambda y: np.polyfit(np.log(W_), np.log(y), 1)[0]   # noqa: E731
print(f"log-log slopes in W: forward mode {slope(forward_cost):.2f}, reverse "
      f"{slope(reverse_cost):.2f}, .matrix {slope(written_cost):.2f}, CSE {slope(shared_cost):.2f}")
assert 1.8 < slope(forward_cost) < 2.2 and 0.8 < slope(reverse_cost) < 1.2   # F itself ~ W
assert 1.7 < slope(written_cost) < 2.2 and 0.8 < slope(shared_cost) < 1.2

plots.loglog(W_, {"forward mode (W sweeps)": forward_cost, "reverse mode (1 sweep)": reverse_cost,
                  "central differences (2W passes)": central_cost,
                  "written-out formula (.matrix)": written_cost, "after CSE": shared_cost},
             "W (weights and biases of a 3-n-2 network)", "operations per gradient (flops)",
             "the cost of one gradient")

# %% [markdown]
# Which mode wins depends on the shape: forward mode needs one sweep per *input* of the
# quantity differentiated, reverse mode one per *output*. For the input Jacobian of a
# 1-4-6 network (1 input, 6 outputs) forward mode is cheaper; for a 6-4-1 network (6
# inputs, 1 output) reverse mode is.

# %%
def jacobian_costs(net_s):
    """Flops for the whole input Jacobian: forward mode (D sweeps), reverse mode (K sweeps)."""
    w_s = net_s.init_params(seed=1)
    tape_s, start_s = trace(net_s), leaves(net_s, np.linspace(-0.5, 0.5, net_s.sizes[0]), w_s)
    forward, reverse = Duals(), Numbers()
    for xi in net_s.inputs:
        forward_mode(tape_s, start_s, {xi: 1.0}, forward)
    values_s = run(tape_s, start_s, reverse)
    for y in net_s.layer_values(net_s.n_layers):
        reverse_mode(tape_s, values_s, {y: 1.0}, reverse)
    return forward.flops, reverse.flops


wide_out, wide_in = jacobian_costs(symnet.MLP([1, 4, 6])), jacobian_costs(symnet.MLP([6, 4, 1]))
print(f"1-4-6: forward mode {wide_out[0]} flops, reverse mode {wide_out[1]} flops")
print(f"6-4-1: forward mode {wide_in[0]} flops, reverse mode {wide_in[1]} flops")
assert wide_out[0] < wide_out[1] and wide_in[1] < wide_in[0]

# %% [markdown]
# ## Try it
#
# The network of the first sections, with its edges' local derivatives: the numbers the
# trace multiplies. Move the inputs; the cell after the widget moves them too and checks
# that one forward sweep and one backward sweep still give the slider's output and its
# sum over paths.

# %%
panel = widgets.forward_explorer(net, w, x)
panel

# %%
panel.controls["x1"].value = 1.2
panel.controls["x2"].value = 0.3
moved = panel.result
x_moved = np.array([1.2, 0.3])
start_moved = leaves(net, x_moved, w)
values_moved = run(tape, start_moved, Numbers())
tangent = forward_mode(tape, start_moved, {x2: 1.0}, Duals())[y1][1]
adjoint = reverse_mode(tape, values_moved, {y1: 1.0}, Numbers())[x2]
path_sum = sum(v for _, v in widgets.path_products(net, x_moved, w, 0, 1))
assert abs(moved["y_1"] - values_moved[y1]) <= 1e-14 * abs(values_moved[y1])
assert abs(tangent - path_sum) <= 1e-14 and abs(adjoint - path_sum) <= 1e-14
print(moved, f"\ndy_1/dx_2: forward {tangent:.12f}, reverse {adjoint:.12f}")

# %% [markdown]
# ## Exercises
#
# Type your answer in the box and press Enter: the feedback says whether it is right and,
# if not, shows a point where your formula differs and names the mistake when it is a
# common one. The solutions are in `lessons/solutions/12_automatic_symbolic_numerical.toml`.
#
# **12.1** For the 2-2-1 network above, one forward-mode sweep seeded with
# $\dot x = (1, 0)$ ends with the tangent $\dot y_1$. Write it in the weights and
# $z_j^{(1)}$ (target $J_{11}$).

# %%
questions = widgets.exercises(12)
widgets.exercise_box(questions[0])

# %% [markdown]
# **12.2** After one backward sweep seeded with $\bar y_1 = 1$, what is the adjoint
# $\bar a_2^{(1)} = \partial y_1/\partial a_2^{(1)}$? Write it in the weights and $z_2^{(1)}$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **12.3** How many forward-mode sweeps does the whole gradient $\partial E/\partial w$ of the
# 3-4-2 network need (a number)?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** Automatic differentiation applies the chain rule to numbers along the
# evaluation trace: forward mode carries one tangent per sweep (one sweep per input or
# parameter), reverse mode one adjoint per sweep (one sweep per output), so a gradient
# costs a small multiple of a forward pass whatever $W$. Symbolic differentiation gives
# the same numbers exactly, and kept in named intermediates (or after CSE) it is as
# compact as the trace; written out, it swells by a factor of four or more per layer.
# Central differences agree to about ten digits at the cost of $2W$ forward passes.
