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
# # Lesson 10: Check your own derivation
#
# Time: about 25 minutes.
#
# You have derived a formula on paper. Is it right? `symnet.verify` compares it
# with symnet's exact derivation: symbolically first, and otherwise at random
# exact rational points. If it is wrong you get a **counterexample** (a point where
# your formula and the correct one differ, with both values) and, when the error
# is a common one, a **hint** saying which.
#
# Formulas are written in the network's names as plain text (`delta_1^(2) z_1^(1)`,
# `(y_1 - t_1) y_1 (1 - y_1)`) or LaTeX; they are parsed with a whitelist, never
# evaluated as code.
#
# **How to use this lesson:** three worked examples show what verify answers to a right
# formula and to a slip; then three exercises start with an empty box. Type your
# formula, press Enter, and read the verdict. The solutions are in
# `lessons/solutions/10_check_your_derivation.toml`: open it only when stuck.

# %%
import numpy as np

import symnet
from symnet import examples, widgets
from symnet.compiled.matrix_form import forward_pass
from symnet.numdiff.differences import central_difference

ex = examples.worked_example()
net, X, T, w = ex.net, ex.X, ex.T, ex.w        # 2-2-2, logistic hidden and output units, SSE
graph = examples.network("graph")             # 2-2-1, tanh hidden units, linear output


# %% [markdown]
# ## Worked example 1: a weight of the output layer
#
# $\partial E / \partial w_{11}^{(2)} = \delta_1^{(2)} z_1^{(1)}$: the delta of the unit the
# weight feeds times the value it carries.

# %%
example = "delta_1^(2) z_1^(1)"
verdict = widgets.verify_view(example, "dE/dw_11^(2)", net)
verdict

# %% [markdown]
# verify decided it symbolically. The same number three ways at Mazur's point: the
# formula evaluated from the forward pass, central differences of $E$, and the gradient
# by both of symnet's routes (matrix form and named entries).

# %%
assert verdict.equal and verdict.result.proven
A, Z = forward_pass(net, X, w)
y, z = Z[2][0], Z[1][0]
delta_out = (y - T[0]) * y * (1 - y)          # delta_k^(2) for logistic outputs and SSE
by_formula = delta_out[0] * z[0]
k = net.param_index("w_11^(2)")


def E_along(k):
    """E as a function of parameter k alone (the others at Mazur's values)."""
    def E(V):
        out = []
        for v in V[:, 0]:
            moved = w.copy()
            moved[k] = v
            out.append(symnet.loss_value(net, "sse", X, moved, T))
        return np.array(out)
    return E


numeric = central_difference(E_along(k), w[k:k + 1])[0]
grad = symnet.gradient(net, "sse")
print(f"formula {by_formula:.12f}, central differences {float(numeric):.12f}, "
      f"symnet {grad.evaluate(X, w, T)[k]:.12f}")
assert abs(numeric - by_formula) < 1e-7 * abs(by_formula)
assert np.isclose(grad.evaluate(X, w, T)[k], by_formula, rtol=1e-12, atol=0)
assert np.isclose(grad.evaluate_entries(X, w, T)[k], by_formula, rtol=1e-12, atol=0)

# %% [markdown]
# ## Worked example 2: a slip, and its counterexample
#
# $\delta_1^{(2)} = \partial E_n / \partial a_1^{(2)}$ for a logistic output and the
# sum-of-squares error. A frequent slip is $y_1 - t_1$, which is right only for
# linear outputs, or for logistic outputs with the cross-entropy error. verify shows a
# point where it differs, with both values, and names the slip.

# %%
slip = widgets.verify_view("y_1 - t_1", "delta_1^(2)", net)
print(slip)
assert not slip.equal and slip.mistake == "drop_h_2" and slip.result.counterexample is not None
# the counterexample is real: both sides evaluated there differ
assert slip.result.formula_value != slip.result.reference_value

# %% [markdown]
# The right form keeps the slope $h'(a_1^{(2)}) = y_1(1 - y_1)$. Since
# $\partial E/\partial b_1^{(2)} = \delta_1^{(2)}$, it is checked by central differences in
# $b_1^{(2)}$ and by both gradient routes.

# %%
fixed = widgets.verify_view("(y_1 - t_1) y_1 (1 - y_1)", "delta_1^(2)", net)
fixed

# %%
assert fixed.equal
kb = net.param_index("b_1^(2)")
numeric = central_difference(E_along(kb), w[kb:kb + 1])[0]
assert abs(numeric - delta_out[0]) < 1e-7 * abs(delta_out[0])
assert np.isclose(grad.evaluate(X, w, T)[kb], delta_out[0], rtol=1e-12, atol=0)
assert np.isclose(grad.evaluate_entries(X, w, T)[kb], delta_out[0], rtol=1e-12, atol=0)

# %% [markdown]
# ## Worked example 3: a Hessian entry, and letter indices
#
# $\partial^2 E / \partial (w_{11}^{(2)})^2$ for the linear-output 2-2-1 network with the
# sum-of-squares error: $y_1$ is linear in $w_{11}^{(2)}$ with slope $z_1^{(1)}$, so the
# entry is $(z_1^{(1)})^2$. Checked at one sample by central differences of the exact
# gradient and by both Hessian routes.

# %%
hessian_entry = widgets.verify_view("z_1^(1)^2", "H[w_11^(2), w_11^(2)]", graph)
hessian_entry

# %%
assert hessian_entry.equal
x_g, t_g, w_g = np.array([[0.5, -0.3]]), np.array([[0.2]]), graph.init_params(0)
z_g = forward_pass(graph, x_g, w_g)[1][1][0]
m = graph.param_index("w_11^(2)")
grad_g, hess_g = symnet.gradient(graph, "sse"), symnet.hessian(graph, "sse")


def slope_along(V):
    out = []
    for v in V[:, 0]:
        moved = w_g.copy()
        moved[m] = v
        out.append(grad_g.evaluate(x_g, moved, t_g)[m])
    return np.array(out)


numeric = central_difference(slope_along, w_g[m:m + 1])[0]
assert abs(numeric - z_g[0] ** 2) < 1e-7 * z_g[0] ** 2
assert np.isclose(hess_g.evaluate(x_g, w_g, t_g)[m, m], z_g[0] ** 2, rtol=1e-12, atol=0)
assert np.isclose(hess_g.evaluate_entries(x_g, w_g, t_g)[m, m], z_g[0] ** 2, rtol=1e-12, atol=0)

# %% [markdown]
# A whole layer can be written at once with letters: $j, i$ or $k, j$ stand for every
# index. A classic slip is to swap them: $w_{kj}^{(2)}$ goes *from* unit $j$ *to* unit $k$,
# so its derivative is the delta of unit $k$ times $z_j^{(1)}$, not the other way round.
# verify checks all four entries and names the slip:

# %%
swapped = widgets.verify_view("delta_j^(2) z_k^(1)", "dE/dw_kj^(2)", net)
assert not swapped.equal and swapped.mistake == "swap_entry"
assert len(swapped.result.entries) == 4
print(swapped.result.hint)

# %% [markdown]
# ## Exercises
#
# **Exercise 10.1: a hidden delta.** $\delta_1^{(1)}$ for the 2-2-2 logistic network: the
# local slope times the deltas it feeds, summed over *all* output units. Write it in
# $z_1^{(1)}$, the weights $w_{k1}^{(2)}$ and the output deltas $\delta_k^{(2)}$.

# %%
questions = widgets.exercises(10)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 10.2: a whole layer at once.** $\partial E / \partial w_{ji}^{(1)}$ for every
# $j, i$, with the letters $j$ and $i$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 10.3: the Jacobian as a sum over paths (lesson 1).**
# $J_{11} = \partial y_1/\partial x_1$ for the 2-2-1 tanh network: one term per path from
# $x_1$ to $y_1$, each the product of the weights and the slopes $h'(a)$ along it.

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# Stuck on 10.3? Here is what the box says to a typical slip, the linear network's answer
# (each path's weights, without the slopes of the hidden units):

# %%
hint = questions[2].check("w_11^(2) w_11^(1) + w_12^(2) w_21^(1)")
print(hint)
assert not hint.equal and hint.mistake == "drop_h_1"

# %% [markdown]
# ## Try it
#
# Type a formula, press Enter, and choose the target. A formula that does not parse
# gets a message pointing at the spot.

# %%
panel = widgets.verify_explorer(net, ["dE/dw_11^(2)", "delta_1^(2)", "delta_1^(1)", "dE/dw_ji^(1)"],
                                formula="delta_1^(2) z_1^(1)")
panel

# %%
panel.controls["target"].value = "delta_1^(1)"
panel.controls["formula"].value = "w_11^(2) delta_1^(2)"
assert not panel.result.equal
panel.controls["formula"].value = "delta_1^(2) z_1^(1"          # unbalanced: a parse error
assert "z needs its layer in parentheses" in panel.text.value
print(panel.text.value)

# %% [markdown]
# **Summary.** `symnet.verify` turns "is my derivation right?" into a verdict with
# evidence: equal (symbolically, or at random exact points), or not equal with a
# counterexample and, for the common slips, the name of the slip.
