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
# *Time: about 30 minutes.*
#
# For $N$ samples and $K$ outputs, the parameter Jacobian has one row per
# (sample, output) pair and one column per weight or bias:
# $J[(n,k), p] = \partial y_k(x_n, w) / \partial w_p$. It is what
# Levenberg-Marquardt needs, and the question people ask about it is always the
# same: *how big is it, what is in its corners, and which column is which weight?*
# This lesson answers it for a 3-4-2 network on 5 samples, then trains with
# Levenberg-Marquardt and with gradient descent, and finally lays out MATLAB's
# `defaultderiv('de_dwb', ...)` for a 1-10-1 network on 94 samples, row by row.

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
# The whole Jacobian, checked three ways: (a) SymPy differentiating the written-out outputs
# $y_1, y_2$ directly equals every one of the $2 \times 26$ symbolic entries; (b) central
# differences of the outputs with respect to the weights equal all $10 \times 26$ numbers;
# (c) the entry-by-entry evaluation of the named form (the route a student writes,
# $\partial y_k/\partial a_j^{(l)}\, z_i^{(l-1)}$) equals the matrix form.

# %%
numeric = central_difference(lambda V: np.array([net.forward(X, v) for v in V]), w)  # (W, N, K)
numeric = numeric.transpose(1, 2, 0).reshape(10, 26)
relative = np.abs(numeric - J).max() / np.abs(J).max()
print(f"central differences agree to {relative:.1e}")
assert relative < 1e-7                                                        # (b)
column = net.param_index("w_23^(1)")
assert sp.expand(sp.diff(net.outputs[1], net.params[column]) - P.matrix[1, column]) == 0
for k in range(2):                                                            # (a) every entry
    for p, parameter in enumerate(net.params):
        assert sp.expand(sp.diff(net.outputs[k], parameter) - P.matrix[k, p]) == 0, (k + 1, parameter)
by_entries = P.evaluate_entries(X, w).reshape(10, 26)                          # (c)
assert np.allclose(by_entries, J, rtol=1e-12, atol=1e-15)
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
# step that lowers $E$, $\rho$ = actual / predicted decrease; after a rejected step, MINPACK's
# rule: the next scaled step is $t^*$ times as long, $t^*$ the minimum of the parabola through
# $E$, its slope and $E$ at the trial, kept in $[0.1, 0.5]$). symnet adds the geodesic acceleration
# $a = -(J^\top J + \mu D^2)^{-1} J^\top r_{vv}$, with $r_{vv} = d^2 y(w + t v)/dt^2$, and steps
# $v + a/2$ when $a$ is small ($2\|Da\| \le 0.75\|Dv\|$), else $v$. Here $W = 26$
# exceeds the 10 residuals, so the data can be fitted exactly, and LM gets there
# in a handful of iterations; gradient descent with the best fixed step of a sweep
# ($10^{-2}$ to $1$ in steps of $10^{1/8}$) is still far away after 100. Every run of the
# sweep that ends above its start is one `fit` stopped as diverged.

# %%
lm = widgets.training_view(net, X, T, "lm", -3, n_iter=100)
sweep = {rate: widgets.training_view(net, X, T, "gd", rate, n_iter=100)
         for rate in [k / 8 for k in range(-16, 1)]}                 # log10 lr, exact eighths
for rate, run in sweep.items():
    state = "stopped: diverged" if run.diverged else "ran 100 iterations"
    print(f"gd, lr = 10^{rate:+.3f} = {10 ** rate:.3f}: E = {run.final:.4g} ({state})")
    assert run.diverged == (run.final > run.start)          # the flag says what E did
finished = {rate: run for rate, run in sweep.items() if not run.diverged}
best_rate = min(finished, key=lambda rate: finished[rate].final)
gd = finished[best_rate]
assert min(sweep) < best_rate < max(sweep) and sweep[best_rate + 1 / 8].final > gd.final  # interior
print(lm, gd, sep="\n")
display(plots.curves({"Levenberg-Marquardt": lm.losses,
                      f"gradient descent, best lr = {10 ** best_rate:.3f}": gd.losses},
                     "iteration", "E (half the sum of squared errors, units of t^2)",
                     "training error", log=True))
assert lm.final < 1e-12 and lm.result.n_iter < 20
assert gd.final > 1e-3 and not gd.diverged
assert all(run.final > 1e9 * lm.final for run in sweep.values())   # no fixed step comes close
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
# ## MATLAB's `defaultderiv('de_dwb', ...)`, row by row
#
# MATLAB's `feedforwardnet(10)` on its `simplefit_dataset` (94 samples of one input, one
# target) is a 1-10-1 network: tanh (`tansig`) hidden units and a linear (`purelin`)
# output, $W = 10 + 10 + 1 + 10 = 31$. `defaultderiv('de_dwb', net, x, t)` returns a
# $31 \times 94$ matrix: the derivative of the errors $e = t - y$, so it is $-J^\top$, with
# one **row per weight** in MATLAB's `getwb` order and one column per sample. That order
# is layer by layer, biases first, each matrix column by column: `b{1}` (rows 1-10),
# `IW{1,1}` (rows 11-20), `b{2}` (row 21), `LW{2,1}` (rows 22-31). (MATLAB also rescales
# inputs and targets with `mapminmax` unless `processFcns` are cleared; the layout is the
# same.) `symnet.interop` knows it; the table names each row's weight, and every row is
# checked against its formula written by hand on a plain NumPy forward pass
# ($\partial e/\partial b_j^{(1)} = -w_{1j}^{(2)}(1 - z_j^2)$, times $x$ for $w_{j1}^{(1)}$,
# $-1$ for $b_1^{(2)}$, $-z_j$ for $w_{1j}^{(2)}$), and against central differences of $e$ as
# a function of MATLAB's own parameter vector.

# %%
from symnet import interop

matlab_net = symnet.MLP([1, 10, 1], hidden="tanh", output="linear")
x94 = np.linspace(0.0, 10.0, 94).reshape(-1, 1)           # simplefit's inputs also span [0, 10]
t94 = np.sin(x94)                                           # e = t - y; de/dwb does not depend on t
w31 = matlab_net.init_params(seed=0)
de_dwb = interop.matlab_de_dwb(matlab_net, x94, w31)
order = interop.matlab_permutation(matlab_net)             # row r of de_dwb is parameter order[r]
blocks = ["b{1}"] * 10 + ["IW{1,1}"] * 10 + ["b{2}"] + ["LW{2,1}"] * 10
print("de_dwb is", de_dwb.shape)
print("row  MATLAB    symnet name   symnet column   de/dwb at samples 1, 2, 94")
for r in range(31):
    row = de_dwb[r]
    print(f"{r + 1:3d}  {blocks[r]:8}  {matlab_net.param_name(int(order[r])):11}  {order[r] + 1:8d}"
          "       " + "  ".join(f"{value:+.2e}" for value in (row[0], row[1], row[-1])))
assert de_dwb.shape == (31, 94) and matlab_net.n_params == 31
names = [matlab_net.param_name(int(p)) for p in order]
pair = lambda j, i: f"{j},{i}" if max(j, i) > 9 else f"{j}{i}"   # noqa: E731  w_10,1 has a comma
assert names[:10] == [f"b_{j}^(1)" for j in range(1, 11)]
assert names[10:20] == [f"w_{pair(j, 1)}^(1)" for j in range(1, 11)]
assert names[20] == "b_1^(2)" and names[21:] == [f"w_{pair(1, j)}^(2)" for j in range(1, 11)]

# every row by hand, from a plain NumPy forward pass
(W1, W2), (b1, b2) = matlab_net.unpack(w31)
z = np.tanh(x94 @ W1.T + b1)                                # (94, 10)
by_hand = np.vstack([(-W2[0] * (1 - z ** 2)).T,             # rows 1-10:  de/db_j^(1)
                     (-W2[0] * (1 - z ** 2) * x94).T,       # rows 11-20: de/dw_j1^(1)
                     -np.ones((1, 94)),                     # row 21:     de/db_1^(2)
                     -z.T])                                 # rows 22-31: de/dw_1j^(2)
assert np.allclose(de_dwb, by_hand, rtol=1e-12, atol=1e-14)
# MATLAB's getwb vector built by hand, and e(wb) differentiated numerically in that order
getwb = np.concatenate([b1, W1.ravel(order="F"), b2, W2.ravel(order="F")])
assert np.array_equal(interop.to_matlab(matlab_net, w31), getwb)


def errors(WB):
    """e = t - y at every sample, for each row of WB: a parameter vector in MATLAB's order."""
    return np.array([(t94 - matlab_net.forward(x94, interop.from_matlab(matlab_net, wb))).ravel()
                     for wb in WB])


numeric_de = central_difference(errors, getwb)             # (31, 94)
assert np.abs(numeric_de - de_dwb).max() < 1e-7 * np.abs(de_dwb).max()
# and it is -J^T of symnet's Jacobian, rows permuted
J94 = symnet.param_jacobian(matlab_net).evaluate(x94, w31).reshape(94, 31)
assert np.array_equal(de_dwb, -J94.T[order])

# %% [markdown]
# ## Exercises
#
# Type an answer and press Enter: the box says whether it is right and, for a typical
# mistake, which one. The solutions are in `lessons/solutions/06_parameter_jacobian_lm.toml`.
#
# **Exercise 06.1.** The top-left entry of the $10 \times 26$ Jacobian,
# $\partial y_1/\partial w_{11}^{(1)}$, in $x$, $z$ and the weights.

# %%
questions = widgets.exercises(6)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 06.2.** All layer-1 entries of output 2's rows at once,
# $\partial y_2/\partial w_{ji}^{(1)}$, with letter indices.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 06.3.** How many rows has MATLAB's `de_dwb` for a 2-5-3 network on 20 samples?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The 3-4-2 network on 5 samples has a $10 \times 26$ Jacobian whose
# top-left entry is $\frac{\partial y_1}{\partial a_1^{(1)}} x_1$ of sample 1 and whose
# bottom-right entry is $\partial y_2 / \partial b_2^{(2)} = 1$; LM uses it to fit in a
# few iterations what gradient descent, at the best fixed step of a sweep, fits slowly.
# MATLAB's `de_dwb` is the same matrix, negated, transposed and with rows in `getwb` order.
