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
# # Lesson 4: Backpropagation
#
# *Time: about 30 minutes.*
#
# The error gradient $\partial E / \partial w$ has one entry per weight, and each is
# a product of two local quantities (Bishop, *Deep Learning*, 2024, sec. 8.1):
#
# $$\frac{\partial E_n}{\partial w_{ji}^{(l)}} = \delta_j^{(l)} z_i^{(l-1)}, \qquad
# \delta_j^{(l)} \equiv \frac{\partial E_n}{\partial a_j^{(l)}} = h'(a_j^{(l)}) \sum_k w_{kj}^{(l+1)} \delta_k^{(l+1)},$$
#
# starting from the output deltas. One backward sweep gives every $\delta$, hence
# the whole gradient, for between one and two forward passes' worth of arithmetic
# (counted below), where central differences need two forward passes per weight.
#
# This lesson derives the recursion symbolically, reproduces the classic worked
# 2-2-2 example number by number (logistic units, $x = (0.05, 0.10)$,
# $t = (0.01, 0.99)$, $E = \tfrac12\sum_k (y_k - t_k)^2$; Matt Mazur, "A step by step
# backpropagation example", 2015), and shows that direct differentiation and
# backpropagation agree.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import examples, widgets
from symnet.render.derivation_latex import tex
from symnet.numdiff.differences import central_difference

ex = examples.worked_example()
net, X, T, w = ex.net, ex.X, ex.T, ex.w
print(net, "\nx =", X[0], " t =", T[0])
print({p.name: float(v) for p, v in zip(net.params, w)})


def printed(value, published):
    """True when value, rounded to the digits the source printed, is the printed number."""
    digits = len(repr(published).split(".")[1])
    return round(float(value), digits) == published

# %% [markdown]
# ## The forward pass, number by number
#
# The source prints $a^{(1)} = (0.3775, 0.3925)$, $z^{(1)} = (0.593269992, 0.596884378)$,
# $a^{(2)} = (1.105905967, 1.2249214)$, $y = (0.75136507, 0.772928465)$ and
# $E = 0.298371109$. symnet's values, rounded to the printed digits, are exactly those.

# %%
from symnet.compiled.matrix_form import forward_pass

A, Z = forward_pass(net, X, w)
E = symnet.loss_value(net, "sse", X, w, T)
ours = {"a^(1)": A[1][0], "z^(1)": Z[1][0], "a^(2)": A[2][0], "y": Z[2][0], "E": [E]}
for name, values in ours.items():
    published = ex.published[name]
    published = published if isinstance(published, tuple) else (published,)
    print(f"{name:6} symnet {np.round(values, 10)}   published {published}")
    assert all(printed(v, p) for v, p in zip(values, published)), name
assert printed(E, 0.298371109)
assert printed(Z[1][0][0], 0.593269992) and printed(Z[1][0][1], 0.596884378)
assert printed(Z[2][0][0], 0.75136507) and printed(Z[2][0][1], 0.772928465)

# %% [markdown]
# ## The deltas, derived
#
# symnet derives the gradient with named intermediates, exactly as a student
# writes it. For logistic outputs and the sum-of-squares error,
# $\delta_k^{(2)} = y_k(1 - y_k)(y_k - t_k)$; each hidden delta collects the output
# deltas through the weights out of its unit. The derivation renders itself in LaTeX:

# %%
grad = symnet.gradient(net, "sse")
grad

# %%
for symbol, value in grad.definitions.items():
    display(Math(f"{tex(symbol)} = {tex(value)}"))
d = symnet.symbols
y1, t1, z11 = d.output(1), d.target(1), d.activation_value(1, 1)
assert sp.expand(grad.definitions[d.delta(2, 1)] - y1 * (1 - y1) * (y1 - t1)) == 0
assert sp.expand(grad.definitions[d.delta(1, 1)]
                 - z11 * (1 - z11) * (d.delta(2, 1) * d.weight(2, 1, 1)
                                      + d.delta(2, 2) * d.weight(2, 2, 1))) == 0
assert grad.named[net.param_index("w_11^(2)")] == d.delta(2, 1) * z11

# %% [markdown]
# The layer-by-layer (matrix) form $\delta^{(l)} = h'(a^{(l)}) \odot (W^{(l+1)\top} \delta^{(l+1)})$
# is the same recursion, entry for entry:

# %%
form = symnet.layer_form(net, "sse")
vector, matrix_form = form[1]
for j in range(2):
    assert sp.expand(matrix_form[j] - grad.definitions[vector[j]]) == 0
display(Math(r"\delta^{(1)} = " + sp.latex(matrix_form)))

# %% [markdown]
# ## Every delta, and the gradient, in numbers
#
# The source prints $\partial E/\partial w_5 = 0.082167041$ (our $w_{11}^{(2)}$) and
# $\partial E/\partial w_1 = 0.000438568$ (our $w_{11}^{(1)}$), and after one step of
# gradient descent with learning rate 0.5 the weights $w_5 = 0.35891648$ and
# $w_1 = 0.149780716$.

# %%
view = widgets.backprop_view(net, w, X[0], T[0])
print(view)
g = grad.evaluate(X, w, T)
for name, value in zip(grad.rows, g):
    print(f"dE/d{name:9} = {value: .9f}")
assert printed(g[net.param_index("w_11^(2)")], 0.082167041)
assert printed(g[net.param_index("w_11^(1)")], 0.000438568)
stepped = w - 0.5 * g
assert printed(stepped[net.param_index("w_11^(2)")], 0.35891648)
assert printed(stepped[net.param_index("w_11^(1)")], 0.149780716)
# each weight's derivative is delta times the value feeding the weight
assert g[net.param_index("w_12^(2)")] == view["delta_1^(2)"] * Z[1][0][1]

# %% [markdown]
# ## Direct differentiation and backpropagation are equal
#
# Write $E$ out completely in $x$, $w$, $b$, $t$ and let SymPy differentiate it
# with respect to each parameter: the result equals backpropagation's, symbolically,
# for all 12 parameters. Central differences agree numerically.

# %%
E_full = grad.loss.per_sample(net).xreplace(net.substitution)
for p in net.params:
    assert sp.expand(sp.diff(E_full, p) - grad.matrix[net.param_index(p)]) == 0, p
numeric = central_difference(lambda V: np.array([symnet.loss_value(net, "sse", X, v, T) for v in V]), w)
relative = np.abs(numeric - g).max() / np.abs(g).max()
print(f"central differences agree to {relative:.1e}")
assert relative < 1e-7 and view.relative_error < 1e-7
# and the slow entry-by-entry route through the named form agrees with the matrix form
assert np.allclose(grad.evaluate_entries(X, w, T), g, rtol=1e-12, atol=0)

# %% [markdown]
# ## What the backward sweep costs, counted on the graph
#
# Count the arithmetic operations (multiplications, additions, subtractions) in
# the equations, each named intermediate once, as a program computing them in
# order would: the forward pass is `net.equations` ($a = \sum w z + b$; the
# activations $h(a)$ themselves are not arithmetic and are left out), the backward
# sweep is every $\delta$ definition plus every gradient entry $\delta_j z_i$.
#
# For the 2-2-2 network by hand: each $a_j^{(l)}$ takes 2 multiplications and 2
# additions, so the forward pass is $4 \cdot 4 = 16$. Each output delta
# $y(1-y)(y-t)$ takes 2 multiplications and 2 subtractions (8 for both), each hidden
# delta $z(1-z)(\delta w + \delta w)$ takes 4 multiplications, an addition and a
# subtraction (12 for both), and the 8 weight entries $\delta_j z_i$ one
# multiplication each (the bias entries are the deltas themselves): 28 in all,
# 1.75 forward passes. The ratio stays between 1 and 2 as the network grows,
# while central differences need $2W$ forward passes for $W$ parameters.

# %%
def arithmetic(expressions):
    """Multiplications, additions and subtractions in a list of expressions."""
    counted = sp.Add(*[sp.count_ops(e, visual=True) for e in expressions])
    return sum(int(counted.coeff(sp.Symbol(op))) for op in ("MUL", "ADD", "SUB"))


def backward_and_forward(network):
    derivation = symnet.gradient(network, "sse")
    backward = arithmetic(list(derivation.definitions.values()) + list(derivation.named))
    return backward, arithmetic(list(network.equations.values()))


backward, forward = backward_and_forward(net)
assert (forward, backward) == (16, 28)                       # the hand count above
print(f"{'network':>22} {'W':>5} {'forward':>8} {'backward':>9} {'ratio':>6} "
      f"{'differences: 2W x forward':>26}")
for sizes in ([2, 2, 2], [3, 4, 2], [4, 8, 8, 3], [10, 20, 20, 5]):
    bigger = symnet.MLP(sizes, hidden="sigmoid", output="sigmoid")
    backward, forward = backward_and_forward(bigger)
    W = bigger.n_params
    print(f"{str(sizes):>22} {W:5d} {forward:8d} {backward:9d} {backward / forward:6.2f} "
          f"{2 * W * forward:26d}")
    assert forward <= backward < 2 * forward, sizes

# %% [markdown]
# ## Try it
#
# Move an input or the weight $w_{11}^{(2)}$: every delta and the numeric check update.

# %%
panel = widgets.backprop_explorer(net, w, X[0], T[0], param="w_11^(2)")
panel

# %%
panel.controls["weight"].value = -1.0
panel.controls["x1"].value = 0.8
moved = panel.result
w_moved = w.copy()
w_moved[net.param_index("w_11^(2)")] = -1.0
assert np.allclose(moved.gradient, grad.evaluate([[0.8, 0.10]], w_moved, T), rtol=1e-12)
assert moved.relative_error < 1e-7
print(moved)

# %% [markdown]
# ## Exercises
#
# Type a formula in the network's names (`y_2`, `t_2`, `z_1^(1)`, `w_12^(2)`,
# `delta_1^(2)`, `x_2`) and press Enter: `verify` compares it with the exact
# derivative and, when it is wrong, shows a point where they differ and names the
# mistake it recognises. The solutions, with typical wrong answers, are in
# `lessons/solutions/04_backpropagation.toml`.
#
# **Exercise 04.1.** For the worked 2-2-2 network and the sum-of-squares error,
# write $\partial E / \partial w_{21}^{(2)}$.

# %%
questions = widgets.exercises(4)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 04.2.** Write the hidden delta $\delta_2^{(1)}$ (sum-of-squares error)
# in terms of the output deltas $\delta_k^{(2)}$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 04.3.** Now the cross-entropy error
# $E = -\sum_k \big(t_k \ln y_k + (1 - t_k) \ln(1 - y_k)\big)$ with the same logistic
# outputs: write $\partial E / \partial w_{12}^{(1)}$. (What is $\delta_k^{(2)}$ now?)

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** One backward sweep gives every $\delta_j^{(l)}$; each gradient entry is
# $\delta_j^{(l)} z_i^{(l-1)}$. The worked example's forward values, error, gradient
# entries and updated weights are reproduced to every printed digit, direct
# differentiation equals backpropagation symbolically, and the backward sweep costs
# between one and two forward passes of arithmetic.
