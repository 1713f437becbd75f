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
# # Lesson 2: Activation functions and their derivatives
#
# Backpropagation multiplies by $h'(a)$ at every unit, so the derivative table is
# the first thing to know by heart. symnet keeps one table: each activation's
# SymPy form, its derivative, its LaTeX and a numerically stable NumPy version.
#
# | $h(a)$ | $h'(a)$ | value to remember |
# |---|---|---|
# | logistic $\sigma(a)$ | $\sigma(a)(1-\sigma(a))$ | $\sigma'(0) = 0.25$, its maximum |
# | $\tanh(a)$ | $1 - \tanh^2(a)$ | $\tanh'(1) \approx 0.42$ |
# | ReLU $\max(0, a)$ | 1 for $a > 0$, 0 for $a < 0$ | at the kink $a = 0$: a convention, 0 |
# | leaky ReLU | 1 for $a > 0$, $s$ for $a < 0$ | $s = 0.01$ |
# | softplus $\log(1 + e^a)$ | $\sigma(a)$ | |
#
# Every number in this table is computed and asserted below.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import widgets
from symnet.render.derivation_latex import tex
from symnet.teach.plots import function_and_derivative

a = sp.Symbol("a", real=True)
for name in ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "linear"]:
    act = symnet.activation(name)
    display(Math(rf"{act.latex}(a) = {tex(act.function(a))}, \qquad {act.latex}'(a) = {tex(act.derivative)}"))

# %% [markdown]
# ## The values to remember, three ways
#
# Each derivative is checked symbolically (against SymPy differentiating the
# textbook formula), numerically (central differences, relative error below
# $10^{-7}$) and exactly at the point that matters.

# %%
sigmoid, tanh = symnet.activation("sigmoid"), symnet.activation("tanh")

# symbolic: the table's derivative equals SymPy's derivative of the textbook formula
textbook_sigmoid = 1 / (1 + sp.exp(-a))
assert sp.simplify(sigmoid.derivative.rewrite(sp.exp) - sp.diff(textbook_sigmoid, a)) == 0
assert sp.simplify(tanh.derivative - sp.diff(sp.tanh(a), a)) == 0

# exact values
assert sigmoid.derivative.subs(a, 0).rewrite(sp.exp).simplify() == sp.Rational(1, 4)
sigma_prime_0 = widgets.activation_view("sigmoid", 0.0)
tanh_prime_1 = widgets.activation_view("tanh", 1.0)
print(sigma_prime_0, tanh_prime_1, sep="\n")
assert sigma_prime_0.exact == 0.25
assert abs(tanh_prime_1.exact - (1 - np.tanh(1.0) ** 2)) <= 1e-15
assert round(tanh_prime_1.exact, 2) == 0.42

# numeric
for view in (sigma_prime_0, tanh_prime_1):
    assert view.relative_error < 1e-7

# sigma'(0) = 0.25 is the maximum of sigma'
grid = np.linspace(-6, 6, 1201)
assert np.all(sigmoid.derivative_numpy(grid) <= 0.25)

# %% [markdown]
# ## The curves
#
# $\sigma'$ never exceeds 0.25 and $\tanh'$ never exceeds 1: a deep chain of such
# factors shrinks gradients (lesson 9).

# %%
for name in ["sigmoid", "tanh", "relu", "softplus"]:
    act = symnet.activation(name)
    display(function_and_derivative(grid, act.numpy(grid), act.derivative_numpy(grid),
                                    name=act.name, kinks=act.kinks))

# %% [markdown]
# ## ReLU's kink is a convention
#
# $\max(0, a)$ has no derivative at $a = 0$: the slope is 0 on the left and 1 on
# the right. Any value in $[0, 1]$ is a valid *subgradient*; symnet (like Bishop
# and PyTorch) uses 0. SymPy's own `diff(Max(0, a))` is `Heaviside(a)`, which is
# 1/2 at 0, and JAX's `maximum` also gives 1/2. The central difference at the kink
# averages the two sides and gives 1/2 too: there, it does not measure a derivative,
# and the view says so.

# %%
relu = symnet.activation("relu")
print("convention:", relu.kink_convention)
at_kink = widgets.activation_view("relu", 0.0)
print(at_kink)
assert at_kink.exact == 0.0 and abs(at_kink.numeric - 0.5) < 1e-12 and at_kink.near_kink
assert sp.diff(sp.Max(0, a), a).subs(a, 0) == sp.Rational(1, 2)          # SymPy's choice
assert float(symnet.activation("relu", derivative_at_zero=0.5).derivative_numpy(0.0)) == 0.5
away = widgets.activation_view("relu", 0.3)
assert away.exact == 1.0 and away.relative_error < 1e-7 and not away.near_kink

# %% [markdown]
# Leaky ReLU keeps a small slope $s$ on the left, so a unit with $a < 0$ still
# passes gradient back:

# %%
leaky = widgets.activation_view("leaky_relu", -1.5)
print(leaky)
assert leaky.exact == 0.01 and leaky.relative_error < 1e-7
assert widgets.activation_view("leaky_relu", -1.5, slope=0.2).exact == 0.2

# %% [markdown]
# ## Try it
#
# Pick an activation and move $a$: the exact derivative, the central difference
# and their relative difference update, and the point moves on the curves. The
# next cell calls the same callback at a value no slider starts at.

# %%
panel = widgets.activation_explorer("tanh", 1.0)
panel

# %%
panel.controls["name"].value = "softplus"
panel.controls["a"].value = -2.5
softplus_view = panel.result
assert softplus_view.exact == float(sigmoid.numpy(-2.5))   # softplus' = sigma, exactly
assert softplus_view.relative_error < 1e-7
print(softplus_view)

# %% [markdown]
# **Summary.** $\sigma'(0) = 0.25$ (its maximum), $\tanh'(1) \approx 0.42$, ReLU's
# derivative at 0 is a stated convention (0 here), and away from kinks the exact
# derivative and central differences agree to better than $10^{-7}$.
