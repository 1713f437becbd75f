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
# *Time: about 25 minutes.*
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
# The textbook definitions, written out here (not taken from symnet): symnet's table
# keeps sigma(a), ReLU(a), ... as named functions, so its own form would print as
# sigma(a) = sigma(a). The cell after this one checks the table against them.
textbook = {"sigmoid": 1 / (1 + sp.exp(-a)),
            "tanh": (sp.exp(a) - sp.exp(-a)) / (sp.exp(a) + sp.exp(-a)),
            "relu": sp.Max(0, a), "leaky_relu": sp.Max(a / 100, a),
            "softplus": sp.log(1 + sp.exp(a)), "linear": a}
for name, definition in textbook.items():
    act = symnet.activation(name)
    display(Math(rf"{act.latex}(a) = {sp.latex(definition)}, \qquad "
                 rf"{act.latex}'(a) = {tex(act.derivative)}"))

# %% [markdown]
# ## Every derivative in the table, three ways
#
# For each activation: (a) symbolically, symnet's $h'(a)$ equals SymPy's `diff` of
# the textbook definition above (at exact rational points for ReLU and leaky ReLU,
# whose `diff` is a Heaviside step); (b) numerically, a central difference of the
# textbook definition as a plain NumPy function agrees with symnet's stable NumPy
# $h'$ to $10^{-7}$; (c) by the other route, the input Jacobian $dy_1/dx_1$ of a
# 1-1-1 network with this hidden unit, $w_{11}^{(1)} = w_{11}^{(2)} = 1$ and zero
# biases, *is* $h'(x_1)$, by backpropagation and by direct differentiation.

# %%
from symnet.numdiff.differences import central_difference

plain_numpy = {"sigmoid": lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh,
               "relu": lambda v: np.maximum(0, v), "leaky_relu": lambda v: np.maximum(v / 100, v),
               "softplus": lambda v: np.log1p(np.exp(v)), "linear": lambda v: v}
points = [sp.Rational(-7, 3), sp.Rational(-1, 2), sp.Rational(2, 5), sp.Rational(9, 4)]  # no kink
for name, definition in textbook.items():
    act = symnet.activation(name)
    # the table's h, with its named function rewritten, is the textbook h
    written_out = act.function(a).rewrite(sp.exp).rewrite(sp.log).rewrite(sp.Max)
    assert sp.simplify(written_out - definition) == 0, name
    # (a) symbolic
    difference = act.derivative.rewrite(sp.exp) - sp.diff(definition, a)
    if act.kinks:
        assert all(sp.simplify(difference.subs(a, p)) == 0 for p in points), name
    else:
        assert sp.simplify(difference) == 0, name
    one_unit = symnet.MLP([1, 1, 1], hidden=name)
    w_identity = one_unit.pack([[[1.0]], [[1.0]]], [[0.0], [0.0]])
    for p in points:
        exact = float(act.derivative_numpy(float(p)))
        # (b) central difference of the plain NumPy textbook function
        numeric = central_difference(lambda V: plain_numpy[name](V[:, 0]), np.array([float(p)]))[0]
        assert abs(numeric - exact) <= 1e-7 * max(abs(exact), 1e-3), (name, p)
        # (c) the other route: dy_1/dx_1 of the 1-1-1 network, backprop and direct
        for method in ("backprop", "direct"):
            route = symnet.input_jacobian(one_unit, method=method).evaluate([float(p)], w_identity)
            assert abs(route[0, 0] - exact) <= 1e-12 * max(abs(exact), 1e-3), (name, p, method)
print("h' of all six: SymPy's diff, central differences and the network's Jacobian agree")

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
# ## The curves, and two bounds
#
# $\sigma'$ never exceeds 0.25 and $\tanh'$ never exceeds 1, for every real $a$:
# $\sigma(1 - \sigma) = \tfrac14 - (\sigma - \tfrac12)^2$ and $\tanh' = 1 - \tanh^2$,
# each a constant minus a square, equal to the bound only at $a = 0$. So a chain
# of $n$ logistic units multiplies a gradient by $n$ factors of at most $\tfrac14$
# (times the weights): at most $4^{-n}$ when the weights are at most 1 in size
# (lesson 9 follows this into deep networks).

# %%
sigma_value = sp.Symbol("sigma", real=True)
quarter, half = sp.Rational(1, 4), sp.Rational(1, 2)
assert sp.expand(quarter - (sigma_value - half) ** 2 - sigma_value * (1 - sigma_value)) == 0
assert sp.expand(1 - tanh.derivative - sp.tanh(a) ** 2) == 0      # 1 - tanh' is a square
assert (sp.tanh(a) ** 2).is_nonnegative                            # ... of a real number
assert tanh.derivative.subs(a, 0) == 1 and sp.solve(sp.tanh(a), a) == [0]   # equal only at 0
assert np.all(tanh.derivative_numpy(grid) <= 1.0) and tanh.derivative_numpy(0.0) == 1.0
# the chain: n = 10 logistic units in a row, weights 1, biases 0: the gradient is <= 4^-10
chain = symnet.MLP([1] * 11 + [1], hidden="sigmoid")
ones = chain.pack([[[1.0]]] * 11, [[0.0]] * 11)
dy_dx = symnet.input_jacobian(chain).evaluate([0.0], ones)[0, 0]
print(f"d y / d x through 10 logistic units: {dy_dx:.3e}  <=  4^-10 = {4.0 ** -10:.3e}")
assert 0 < dy_dx <= 4.0 ** -10

# %%
for name in ["sigmoid", "tanh", "relu", "softplus"]:
    act = symnet.activation(name)
    display(function_and_derivative(grid, act.numpy(grid), act.derivative_numpy(grid),
                                    name=act.name, kinks=act.kinks))

# %% [markdown]
# ## ReLU's kink is a convention
#
# $\max(0, a)$ has no derivative at $a = 0$: the slope is 0 on the left and 1 on
# the right. Any value in $[0, 1]$ is a valid *subgradient*; symnet uses 0 by
# default, and `activation("relu", derivative_at_zero=0.5)` chooses another.
# SymPy's own `diff(Max(0, a))` is `Heaviside(a)`, which is 1/2 at 0. The central
# difference at the kink averages the two sides and gives 1/2 too: there, it does
# not measure a derivative, and the view says so.

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
# ## Exercises
#
# Type your answer in the box and press Enter: a number to a relative $10^{-3}$,
# or a formula in the network's names (`w_11^(2)`, `z_1^(1)`, `x_1`, `^` for powers),
# which `verify` compares with the exact derivative; when it is wrong you see where
# it differs and, when recognised, the mistake. The solutions, with typical wrong
# answers, are in `lessons/solutions/02_activations.toml`.
#
# **Exercise 02.1.** The number $\sigma'(2)$.

# %%
questions = widgets.exercises(2)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 02.2.** A 1-1-1 network with a logistic hidden unit and a linear output:
# write $J_{11} = \partial y_1 / \partial x_1$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 02.3.** A tanh hidden unit outputs $z = 0.5$. What is its local
# derivative $\partial z / \partial a$ (a number)? Backpropagation needs $h'$ in
# terms of the values the forward pass stored.

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** $\sigma'(0) = 0.25$ (its maximum), $\tanh'(1) \approx 0.42$, ReLU's
# derivative at 0 is a stated convention (0 here), and away from kinks the exact
# derivative and central differences agree to better than $10^{-7}$.
