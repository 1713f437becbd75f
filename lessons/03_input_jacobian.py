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
# $J_{ki} = \partial y_k / \partial x_i$ says how much output $k$ moves per unit
# change of input $i$, *at one input*. It is a $K \times D$ matrix, derived by
# backpropagating $\partial y_k / \partial a_j^{(l)}$ from the outputs:
#
# $$J_{ki} = \sum_j w_{ji}^{(1)} \frac{\partial y_k}{\partial a_j^{(1)}}, \qquad
# \frac{\partial y_k}{\partial a_j^{(l)}} = h'(a_j^{(l)}) \sum_m w_{mj}^{(l+1)} \frac{\partial y_k}{\partial a_m^{(l+1)}}.$$
#
# This lesson uses it four ways: a heatmap, a feature-importance ranking, its
# variation across the input space, and the limit of the linear prediction
# $\Delta y \approx J\,\Delta x$.

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
# The backpropagation form equals direct differentiation of the written-out
# outputs symbolically, and central differences numerically.

# %%
J_direct = symnet.input_jacobian(net, method="direct")
x = np.array([0.5, -0.3, 0.8])
for k in range(2):
    assert sp.simplify(J.matrix[k, 0] - J_direct.matrix[k, 0]) == 0
exact = J.evaluate(x, w)
numeric = central_difference(lambda V: net.forward(V, w), x).T
relative = np.abs(exact - numeric).max() / np.abs(exact).max()
print("J(x) =\n", exact.round(6), f"\ncentral differences agree to {relative:.1e}")
assert relative < 1e-7
assert np.allclose(J_direct.evaluate(x, w), exact, rtol=1e-12, atol=1e-14)

# %% [markdown]
# ## A heatmap and a ranking
#
# A simple feature-importance score for input $i$ at $x$ is $\sum_k |J_{ki}|$: how
# much the outputs move per unit of that input. It is local: another $x$ can rank
# the inputs differently. `symnet.input_sensitivity` computes it at every sample
# given; `symnet.plot_sensitivity` draws the heatmap and the ranking side by side.

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
# **Summary.** The input Jacobian is exact and local: a heatmap of it ranks inputs
# at one point, it changes across the input space, and the linear prediction it
# gives has a relative error proportional to the step.
