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
# # Lesson 3: The input Jacobian
#
# *Time: about 30 minutes.*
#
# $J_{ki} = \partial y_k / \partial x_i$ says how much output $k$ moves per unit
# change of input $i$, *at one input*. It is a $K \times D$ matrix, derived by
# backpropagating $\partial y_k / \partial a_j^{(l)}$ from the outputs:
#
# $$J_{ki} = \sum_j w_{ji}^{(1)} \frac{\partial y_k}{\partial a_j^{(1)}}, \qquad
# \frac{\partial y_k}{\partial a_j^{(l)}} = h'(a_j^{(l)}) \sum_m w_{mj}^{(l+1)} \frac{\partial y_k}{\partial a_m^{(l+1)}}.$$
#
# The recursion starts at the outputs with $\partial y_k / \partial a_m^{(L)}$: for linear
# outputs that is $\delta_{km}$ (1 if $k = m$, else 0); the section after the
# checks derives the start for logistic and softmax outputs. This lesson then uses
# $J$ four ways: a heatmap, a feature-importance ranking, its variation across the
# input space, and the limit of the linear prediction $\Delta y \approx J\,\Delta x$.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import examples, plots, widgets
from symnet.render.derivation_latex import tex
from symnet.numdiff.differences import central_difference

net = examples.network("lm")          # 3-4-2, tanh hidden, linear outputs
w = net.init_params(seed=3)
J = symnet.input_jacobian(net)
print(net, "-> J is", J.shape)
display(Math(r"J_{11} = " + tex(J.named[0, 0])))

# %% [markdown]
# ## Exact, and checked
#
# Every entry of $J$ is checked three ways: (a) the backpropagation form equals
# direct differentiation of the written-out outputs symbolically, (b) central
# differences of the forward pass agree numerically, and (c) the other routes give
# the same numbers: the direct form, and the named form evaluated entry by entry.

# %%
J_direct = symnet.input_jacobian(net, method="direct")
x = np.array([0.5, -0.3, 0.8])
for k in range(2):
    for i in range(3):
        assert sp.simplify(J.matrix[k, i] - J_direct.matrix[k, i]) == 0, (k, i)
exact = J.evaluate(x, w)
numeric = central_difference(lambda V: net.forward(V, w), x).T
relative = np.abs(exact - numeric).max() / np.abs(exact).max()
print("J(x) =\n", exact.round(6), f"\ncentral differences agree to {relative:.1e}")
assert relative < 1e-7
assert np.allclose(J_direct.evaluate(x, w), exact, rtol=1e-12, atol=1e-14)
assert np.allclose(J.evaluate_entries(x, w), exact, rtol=1e-12, atol=0)

# %% [markdown]
# ## Where the recursion starts: logistic and softmax outputs
#
# Only the output block $\partial y_k / \partial a_m^{(L)}$ depends on the output
# activation; the rest of the recursion is the same.
#
# * **Logistic outputs**, $y_k = \sigma(a_k^{(L)})$: $y_k$ depends on $a_k^{(L)}$ alone, so
#   $$\frac{\partial y_k}{\partial a_m^{(L)}} = \sigma'(a_k^{(L)})\,\delta_{km}
#   = y_k(1 - y_k)\,\delta_{km}.$$
# * **Softmax outputs**, $y_k = e^{a_k}/S$ with $S = \sum_n e^{a_n}$ (layer index dropped):
#   every $y_k$ depends on every $a_m$ through $S$. The quotient rule, with
#   $\partial e^{a_k}/\partial a_m = \delta_{km} e^{a_k}$ and
#   $\partial S/\partial a_m = e^{a_m}$, gives
#   $$\frac{\partial y_k}{\partial a_m} = \frac{\delta_{km} e^{a_k} S - e^{a_k} e^{a_m}}{S^2}
#   = y_k \delta_{km} - y_k y_m = y_k(\delta_{km} - y_m).$$
#   The off-diagonal terms $-y_k y_m$ are what a learner drops most often.
#
# Then $\partial y_k / \partial a_j^{(L-1)}
# = h'(a_j^{(L-1)}) \sum_m w_{mj}^{(L)}\, \partial y_k/\partial a_m^{(L)}$:
# a sum over every output pre-activation $m$, not just $m = k$, for softmax.
#
# Checked three ways: (a) SymPy differentiates the textbook formulas, and symnet's
# own derivation starts from exactly these blocks; (b) central differences of a
# plain NumPy softmax and logistic function; (c) for whole networks with these
# outputs, backpropagation equals direct differentiation (symbolically for one
# layer, numerically for the 3-4-2 network) and central differences.

# %%
d = symnet.symbols
K = 3
a_out = sp.symbols("a_1:4", real=True)
exps = [sp.exp(v) for v in a_out]
softmax_textbook = [e / sum(exps) for e in exps]
logistic_textbook = [1 / (1 + sp.exp(-v)) for v in a_out]
for k in range(K):
    for m in range(K):
        same = 1 if k == m else 0
        y_k, y_m = softmax_textbook[k], softmax_textbook[m]
        # (a) symbolic, from the textbook formulas
        assert sp.simplify(sp.diff(y_k, a_out[m]) - y_k * (same - y_m)) == 0, (k, m)
        s_k = logistic_textbook[k]
        assert sp.simplify(sp.diff(s_k, a_out[m]) - s_k * (1 - s_k) * same) == 0, (k, m)

# symnet's derivation starts from these blocks (K = 2 outputs of 3-4-2 networks)
net_logistic = symnet.MLP([3, 4, 2], hidden="tanh", output="sigmoid")
net_softmax = symnet.MLP([3, 4, 2], hidden="tanh", output="softmax")
J_logistic, J_softmax = symnet.input_jacobian(net_logistic), symnet.input_jacobian(net_softmax)
for k in range(1, 3):
    for m in range(1, 3):
        same = 1 if k == m else 0
        y_k, y_m = d.output(k), d.output(m)
        start = d.output_sensitivity(k, 2, m)
        assert sp.expand(J_softmax.definitions[start] - y_k * (same - y_m)) == 0
        if same:
            assert sp.expand(J_logistic.definitions[start] - y_k * (1 - y_k)) == 0
        else:                          # logistic: no cross term, so no such entry at all
            assert start not in J_logistic.definitions
# linear outputs (the lesson's network): the start delta_km is folded in, no block entry
assert d.output_sensitivity(1, 2, 1) not in J.definitions
assert sp.expand(J.definitions[d.output_sensitivity(1, 1, 1)]
                 - d.weight(2, 1, 1) * (1 - d.activation_value(1, 1) ** 2)) == 0
display(Math(r"\frac{\partial y_1}{\partial a_2^{(2)}} = " + tex(J_softmax.definitions[
    d.output_sensitivity(1, 2, 2)]) + r"\quad\text{(softmax)}"))

# (b) central differences of plain NumPy functions at one point a
a_point = np.array([0.3, -1.2, 0.8])


def softmax_numpy(A):
    e = np.exp(A - A.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


y_point = softmax_numpy(a_point)
block = np.diag(y_point) - np.outer(y_point, y_point)        # y_k (delta_km - y_m)
numeric_block = central_difference(softmax_numpy, a_point).T  # [k, m]
assert np.abs(numeric_block - block).max() <= 1e-7 * np.abs(block).max()
s_point = 1 / (1 + np.exp(-a_point))
numeric_logistic = central_difference(lambda A: 1 / (1 + np.exp(-A)), a_point).T
assert np.abs(numeric_logistic - np.diag(s_point * (1 - s_point))).max() <= 1e-7 * s_point.max()
print("softmax block y_k(delta_km - y_m) at a =", a_point, "\n", block.round(6))

# (c) whole networks: backpropagation vs direct differentiation vs central differences
for one_layer in (symnet.MLP([3, 3], output="softmax"), symnet.MLP([3, 3], output="sigmoid")):
    backprop, direct = symnet.input_jacobian(one_layer), symnet.input_jacobian(one_layer,
                                                                              method="direct")
    for k in range(3):
        for i in range(3):
            assert sp.simplify((backprop.matrix[k, i] - direct.matrix[k, i]).rewrite(sp.exp)) == 0
# ... and symbolically for the 3-4-2 networks themselves: the backprop route's entries, with
# its intermediates (dy_k/da_m^(2), ...) written out, equal the matrix form written by hand,
# J = S W^(2) diag(1 - z^2) W^(1) with S = diag(y) - y y^T (softmax) or diag(y (1 - y)),
# as polynomials in the named y_k, z_j^(1) and weights: expand(difference) == 0, exactly
y_named = sp.Matrix([d.output(k) for k in (1, 2)])
W_1 = sp.Matrix(4, 3, lambda j, i: d.weight(1, j + 1, i + 1))
W_2 = sp.Matrix(2, 4, lambda k, j: d.weight(2, k + 1, j + 1))
slopes = sp.diag(*[1 - d.activation_value(1, j) ** 2 for j in range(1, 5)])
for J_out, S in ((J_softmax, sp.diag(*y_named) - y_named * y_named.T),
                 (J_logistic, sp.diag(*[y * (1 - y) for y in y_named]))):
    written_out = {}
    for symbol, definition in J_out.definitions.items():   # in order: each uses earlier ones
        written_out[symbol] = definition.xreplace(written_out)
    by_hand = S * W_2 * slopes * W_1
    for k in range(2):
        for i in range(3):
            assert sp.expand(sp.Matrix(J_out.named)[k, i].xreplace(written_out)
                             - by_hand[k, i]) == 0, (k, i)
w_output = net_softmax.init_params(seed=3)
for output_net, J_out in ((net_logistic, J_logistic), (net_softmax, J_softmax)):
    by_backprop = J_out.evaluate(x, w_output)
    by_direct = symnet.input_jacobian(output_net, method="direct").evaluate(x, w_output)
    by_differences = central_difference(lambda V: output_net.forward(V, w_output), x).T
    assert np.allclose(by_direct, by_backprop, rtol=1e-12, atol=1e-15)
    assert np.abs(by_differences - by_backprop).max() <= 1e-7 * np.abs(by_backprop).max()
# softmax outputs sum to 1, so each column of J sums to 0: moving x moves the outputs' shares
assert np.allclose(J_softmax.evaluate(x, w_output).sum(axis=0), 0, atol=1e-15)

# %% [markdown]
# ## A heatmap and a ranking
#
# A simple feature-importance score for input $i$ at $x$ is $\sum_k |J_{ki}|$: how
# much the outputs move per unit of that input. It is local: another $x$ can rank
# the inputs differently (the cell after the cloud of samples below finds one).
# `symnet.input_sensitivity` computes it at every sample given; `symnet.plot_sensitivity`
# draws the heatmap and the ranking side by side.

# %%
at_x = symnet.input_sensitivity(net, x, w)           # one sample: x
display(symnet.plot_sensitivity(at_x, sample=0))
print(at_x)
print("ranking:", at_x.ranking)
assert np.allclose(at_x.jacobian[0], exact, rtol=1e-14)
assert np.allclose(at_x.importance, np.abs(numeric).sum(axis=0), rtol=1e-7)  # from differences
assert at_x.ranking[0] == ["x_1", "x_2", "x_3"][int(np.argmax(np.abs(numeric).sum(axis=0)))]

# %% [markdown]
# Over many samples the heatmap shows the mean $|J_{ki}|$ and the ranking averages
# the per-sample scores. Inputs in different units compare fairly only per typical
# change of each input: pass `scale=X.std(axis=0)`.

# %%
X_cloud = np.random.default_rng(0).normal(size=(200, 3))
over_data = symnet.input_sensitivity(net, X_cloud, w)
display(symnet.plot_sensitivity(over_data))
print(over_data)
assert np.allclose(over_data.mean_abs, np.abs(J.evaluate(X_cloud, w)).mean(axis=0), rtol=1e-12)
assert over_data.sample_importance.shape == (200, 3)

# %% [markdown]
# The ranking is local. Among these samples, the first one whose ranking differs from
# the ranking at $x$:

# %%
rankings = [symnet.input_sensitivity(net, sample, w).ranking for sample in X_cloud[:20]]
n_other = next(n for n, ranking in enumerate(rankings) if ranking != at_x.ranking)
x_other = X_cloud[n_other]
at_other = symnet.input_sensitivity(net, x_other, w)
print(f"at x = {x.round(3)}: {at_x.ranking};  at x = {x_other.round(3)}: {at_other.ranking}")
# the reordering is real: the same scores from central differences rank the inputs so too
other_numeric = np.abs(central_difference(lambda V: net.forward(V, w), x_other)).sum(axis=1)
assert np.allclose(at_other.importance, other_numeric, rtol=1e-7)
assert at_other.ranking != at_x.ranking
assert at_other.ranking[0] == ["x_1", "x_2", "x_3"][int(np.argmax(other_numeric))]

# %% [markdown]
# ## The Jacobian changes across the input space
#
# Along the line $x = (s, -0.3, 0.8)$, $J_{11}$ is the slope of $y_1$ in $s$. Far
# from the origin the tanh units saturate ($h' \to 0$) and the sensitivity fades.
# `symnet.sensitivity_trend` sweeps one input over a grid with the others fixed.

# %%
s = np.linspace(-4, 4, 81)
trend = symnet.sensitivity_trend(net, w, "x_1", s, base_x=[0.0, -0.3, 0.8])
display(symnet.plot_trend(trend))
# the slope of y_1 along the line, by differences of y_1 itself, agrees with J_11
slope = np.gradient(trend.y[:, 0], s)
assert np.abs(slope[1:-1] - trend.slope(0)[1:-1]).max() < 0.02
# and exactly: J_11 at every grid point, by central differences in s and by J itself
along = np.column_stack([s, np.full_like(s, -0.3), np.full_like(s, 0.8)])
by_differences = np.array([central_difference(lambda V: net.forward(V, w)[:, 0], point)[0]
                           for point in along])
assert np.abs(by_differences - trend.slope(0)).max() <= 1e-7 * np.abs(trend.slope(0)).max()
assert np.allclose(J.evaluate(along, w)[:, 0, 0], trend.slope(0), rtol=1e-12, atol=1e-15)
middle = np.abs(trend.slope(0)[40])
assert abs(trend.slope(0)[0]) < middle and abs(trend.slope(0)[-1]) < middle

# %% [markdown]
# ## Where $\Delta y \approx J \Delta x$ stops being accurate
#
# The neglected term is $O(\|\Delta x\|^2)$, so the *relative* error of the linear
# prediction grows like $\|\Delta x\|$: ten times the step, ten times the error,
# until the step is large enough that no straight line describes the network.

# %%
steps = np.logspace(-4, 0.3, 15)
errors = np.array([widgets.jacobian_view(net, w, x, dx).relative_error for dx in steps])
display(plots.loglog(steps, {"|y(x+dx) - y(x) - J dx| / |y(x+dx) - y(x)|": errors},
                     "step dx added to every input (input units)",
                     "relative error of the linear prediction", "first-order accuracy"))
slope_small = np.polyfit(np.log10(steps[:6]), np.log10(errors[:6]), 1)[0]
print(f"log-log slope for small steps: {slope_small:.3f}")
assert 0.9 < slope_small < 1.1               # error proportional to dx
assert errors[0] < 1e-3 and errors[-1] > 0.05

# %% [markdown]
# ## Try it
#
# Move the input and the step: the heatmap and the linear prediction's error update.

# %%
panel = widgets.jacobian_explorer(net, w, x, dx=0.1)
panel

# %%
panel.controls["x1"].value = -1.5
panel.controls["dx"].value = 0.5
moved = panel.result
assert np.allclose(moved.J, J.evaluate([-1.5, -0.3, 0.8], w), rtol=1e-12)
assert moved.relative_error > widgets.jacobian_view(net, w, [-1.5, -0.3, 0.8], 0.05).relative_error
print(moved)

# %% [markdown]
# ## Exercises
#
# Type a formula in the network's names (`w_2j^(2)`, `z_j^(1)`, `y_1`, `^` for powers;
# `sum_j(...)` sums over the hidden units) and press Enter: `verify` compares it with
# the exact derivative and, when it is wrong, shows a point where they differ and
# names the mistake it recognises. The solutions, with typical wrong answers, are in
# `lessons/solutions/03_input_jacobian.toml`.
#
# **Exercise 03.1.** For the lesson's 3-4-2 network (tanh hidden, linear outputs),
# write $J_{21} = \partial y_2 / \partial x_1$.

# %%
questions = widgets.exercises(3)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 03.2.** The same shape with **logistic** outputs: write
# $\partial y_1 / \partial a_1^{(1)}$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 03.3.** The same shape with **softmax** outputs: write
# $\partial y_1 / \partial a_1^{(1)}$ (which output pre-activations does $a_1^{(1)}$ reach?).

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The input Jacobian is exact and local: a heatmap of it ranks inputs
# at one point (another point can rank them differently), it changes across the
# input space, and the linear prediction it gives has a relative error proportional
# to the step. Its recursion starts from $\partial y_k/\partial a_m^{(L)}$: $\delta_{km}$ for
# linear outputs, $y_k(1 - y_k)\delta_{km}$ for logistic ones and $y_k(\delta_{km} - y_m)$
# for softmax.
