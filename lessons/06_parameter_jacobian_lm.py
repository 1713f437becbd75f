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
# # Lesson 6: The parameter Jacobian and Levenberg-Marquardt
#
# For $N$ samples and $K$ outputs, the parameter Jacobian has one row per
# (sample, output) pair and one column per weight or bias:
# $J[(n,k), p] = \partial y_k(x_n, w) / \partial w_p$. It is what
# Levenberg-Marquardt needs, and the question people ask about it is always the
# same: *how big is it, what is in its corners, and which column is which weight?*
# This lesson answers it for a 3-4-2 network on 5 samples, then trains with
# Levenberg-Marquardt and with gradient descent.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import examples, plots, widgets
from symnet.render.derivation_latex import lm_corners, tex
from symnet.numdiff.differences import central_difference

net = examples.network("lm")                      # 3-4-2, tanh hidden, linear outputs
rng = np.random.default_rng(0)
X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
w = net.init_params(seed=0)
P = symnet.param_jacobian(net)
P

# %% [markdown]
# ## Size, corners, column order
#
# $W = 3\cdot4 + 4 + 4\cdot2 + 2 = 26$ parameters; 5 samples times 2 outputs give
# 10 rows: the Levenberg-Marquardt Jacobian is $10 \times 26$. Rows are
# sample-major ((sample 1, output 1), (sample 1, output 2), (sample 2, output 1), ...);
# columns follow `net.params`: layer 1's weights row by row, its biases, then layer 2's.

# %%
J = P.evaluate(X, w).reshape(5 * 2, net.n_params)
print("W =", net.n_params, "  J is", J.shape)
print("columns:", ", ".join(net.param_name(c) for c in range(net.n_params)))
assert net.n_params == 3 * 4 + 4 + 4 * 2 + 2 == 26 and J.shape == (10, 26)
assert net.param_name(0) == "w_11^(1)" and net.param_name(12) == "b_1^(1)"
assert net.param_name(16) == "w_11^(2)" and net.param_name(25) == "b_2^(2)"

corners = lm_corners(P, n_samples=5)
for place in ("top_left", "bottom_right"):
    c = corners[place]
    display(Math(rf"J_{{{c['row']},{c['column']}}} = \frac{{\partial y_{{{c['output']}}}(x_{c['sample']})}}"
                 rf"{{\partial {tex(c['parameter'])}}} = {tex(c['entry'])}"))
# top left: dy_1/dw_11^(1) = (dy_1/da_1^(1)) x_1 of sample 1; bottom right: dy_2/db_2^(2) = 1
assert corners["top_left"]["entry"] == symnet.symbols.output_sensitivity(1, 1, 1) * net.inputs[0]
assert corners["bottom_right"]["entry"] == 1 and corners["bottom_right"]["row"] == 10
assert J[0, 0] == P.evaluate(X[0], w)[0, 0] and np.all(J[1::2, 25] == 1.0) and np.all(J[0::2, 25] == 0.0)

# %% [markdown]
# Checked: central differences of the outputs with respect to the weights, and,
# for one column, direct symbolic differentiation of the written-out output.

# %%
numeric = central_difference(lambda V: np.array([net.forward(X, v) for v in V]), w)  # (W, N, K)
numeric = numeric.transpose(1, 2, 0).reshape(10, 26)
relative = np.abs(numeric - J).max() / np.abs(J).max()
print(f"central differences agree to {relative:.1e}")
assert relative < 1e-7
column = net.param_index("w_23^(1)")
assert sp.expand(sp.diff(net.outputs[1], net.params[column]) - P.matrix[1, column]) == 0
display(plots.heatmap(J, [f"n{n + 1},y{k + 1}" for n in range(5) for k in range(2)],
                      [f"{c}" for c in range(1, 27)], "the 10 x 26 Levenberg-Marquardt Jacobian",
                      "dy_k(x_n)/dw_p (output units per parameter unit)"))

# %% [markdown]
# ## Levenberg-Marquardt against gradient descent
#
# With residuals $e = y - t$ stacked like the rows of $J$, LM solves
# $(J^\top J + \mu D^2)\,v = -J^\top e$ with Marquardt's scaling $D^2 = \mathrm{diag}(J^\top J)$:
# a Gauss-Newton step for small $\mu$, a short scaled gradient step for large $\mu$, with
# $\mu$ adapted after every trial (Nielsen's rule: times $\max(1/3, 1 - (2\rho - 1)^3)$ after a
# step that lowers $E$, $\rho$ = actual / predicted decrease; times 2, 4, 8, ... after
# rejections in a row). symnet adds the geodesic acceleration
# $a = -(J^\top J + \mu D^2)^{-1} J^\top r_{vv}$, with $r_{vv} = d^2 y(w + t v)/dt^2$, and steps
# $v + a/2$ when $a$ is small ($2\|Da\| \le 0.75\|Dv\|$), else $v$. Here $W = 26$
# exceeds the 10 residuals, so the data can be fitted exactly, and LM gets there
# in a handful of iterations; gradient descent with its best fixed step is still
# far away after 100.

# %%
lm = widgets.training_view(net, X, T, "lm", -3, n_iter=100)
gd = widgets.training_view(net, X, T, "gd", -1, n_iter=100)
print(lm, gd, sep="\n")
display(plots.curves({"Levenberg-Marquardt": lm.losses, "gradient descent, lr = 0.1": gd.losses},
                     "iteration", "E (half the sum of squared errors, units of t^2)",
                     "training error", log=True))
assert lm.final < 1e-12 and lm.result.n_iter < 20
assert gd.final > 1e-3 and not gd.diverged
# LM's first accepted step is the formula above, solved by hand with the mu it used
# (fit starts from the same net.init_params(seed=0) = w), r_vv by central differences
e = (net.forward(X, w) - T).ravel()
first = next(trial for trial in lm.result.history.trials if trial.accepted)
mu, damped = first.mu, J.T @ J + first.mu * np.diag(np.diag(J.T @ J))
v = np.linalg.solve(damped, -J.T @ e)
h = 1e-4
r_vv = ((net.forward(X, w + h * v) - 2 * net.forward(X, w) + net.forward(X, w - h * v)) / h ** 2)
a = np.linalg.solve(damped, -J.T @ r_vv.ravel())
step = v + a / 2 if first.acceleration <= 0.75 else v
E1 = symnet.loss_value(net, "sse", X, w + step, T)
rejected = lm.result.history.trials.index(first)
print(f"first accepted mu = {mu:g}, after {rejected} rejected trials; "
      f"E after one step by hand {E1:.10g}, in fit {lm.losses[1]:.10g}")
assert abs(E1 - lm.losses[1]) <= 1e-9 * lm.losses[0]

# %% [markdown]
# ## Try it
#
# Choose a method and its rate ($\mu$ for LM, the learning rate for the others).

# %%
panel = widgets.training_explorer(net, X, T, "lm", -3.0, n_iter=60)
panel

# %%
panel.controls["method"].value = "gd"
panel.controls["log10_rate"].value = 0.5
too_big = panel.result
print(too_big)
assert too_big.diverged or too_big.final > too_big.start     # lr = 3.2: the error blows up

# %% [markdown]
# **Summary.** The 3-4-2 network on 5 samples has a $10 \times 26$ Jacobian whose
# top-left entry is $\frac{\partial y_1}{\partial a_1^{(1)}} x_1$ of sample 1 and whose
# bottom-right entry is $\partial y_2 / \partial b_2^{(2)} = 1$; LM uses it to fit in a
# few iterations what gradient descent fits slowly.
