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
# **How to use this lesson:** each exercise has a cell `answer = "..."`. Write
# your own answer there, run the cell below it, and read the verdict. The answers
# filled in are correct, so the lesson runs through; try wrong ones too.

# %%
from symnet import examples, widgets

ex = examples.worked_example()
net = ex.net                                  # 2-2-2, logistic hidden and output units, SSE
graph = examples.network("graph")             # 2-2-1, tanh hidden units, linear output

# %% [markdown]
# ## Exercise 1: a weight of the output layer
#
# $\partial E / \partial w_{11}^{(2)}$ in terms of a delta and a unit value.

# %%
answer = "delta_1^(2) z_1^(1)"

# %%
verdict = widgets.verify_view(answer, "dE/dw_11^(2)", net)
verdict

# %%
assert verdict.equal

# %% [markdown]
# ## Exercise 2: the output delta
#
# $\delta_1^{(2)} = \partial E_n / \partial a_1^{(2)}$ for a logistic output and the
# sum-of-squares error. (A frequent slip: $y_1 - t_1$, which is right only for
# linear outputs, or for logistic outputs with the cross-entropy error.)

# %%
answer = "(y_1 - t_1) y_1 (1 - y_1)"

# %%
verdict = widgets.verify_view(answer, "delta_1^(2)", net)
verdict

# %%
assert verdict.equal
slip = widgets.verify_view("y_1 - t_1", "delta_1^(2)", net)
print(slip)
assert not slip.equal and slip.mistake == "drop_h_2" and slip.result.counterexample is not None
# the counterexample is real: both sides evaluated there differ
assert slip.result.formula_value != slip.result.reference_value

# %% [markdown]
# ## Exercise 3: a hidden delta
#
# $\delta_1^{(1)}$: the local slope times the deltas it feeds, summed over *all*
# output units.

# %%
answer = "z_1^(1) (1 - z_1^(1)) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2))"

# %%
verdict = widgets.verify_view(answer, "delta_1^(1)", net)
verdict

# %%
assert verdict.equal
one_term = widgets.verify_view("z_1^(1) (1 - z_1^(1)) w_11^(2) delta_1^(2)", "delta_1^(1)", net)
print(one_term)
assert not one_term.equal and one_term.mistake == "keep_1_1"

# %% [markdown]
# ## Exercise 4: a whole layer at once, with letter indices
#
# $\partial E / \partial w_{ji}^{(1)}$ for every $j, i$. A classic slip is to swap the
# indices: $w_{ji}$ goes *from* unit $i$ *to* unit $j$.

# %%
answer = "delta_j^(1) x_i"

# %%
verdict = widgets.verify_view(answer, "dE/dw_ji^(1)", net)
verdict

# %%
assert verdict.equal and len(verdict.result.entries) == 4
swapped = widgets.verify_view("delta_i^(1) x_j", "dE/dw_ji^(1)", net)
assert not swapped.equal and swapped.mistake == "swap_entry"
print(swapped.result.hint)

# %% [markdown]
# ## Exercise 5: the Jacobian as a sum over paths (lesson 1)
#
# $J_{11} = \partial y_1/\partial x_1$ for the 2-2-1 tanh network: one term per path.

# %%
answer = "w_11^(2) (1 - z_1^(1)^2) w_11^(1) + w_12^(2) (1 - z_2^(1)^2) w_21^(1)"

# %%
verdict = widgets.verify_view(answer, "J_11", graph)
verdict

# %%
assert verdict.equal
wrong_edge = widgets.verify_view(answer.replace("w_21^(1)", "w_12^(1)"), "J_11", graph)
assert not wrong_edge.equal
print(wrong_edge)

# %% [markdown]
# ## Exercise 6: a Hessian entry
#
# $\partial^2 E / \partial (w_{11}^{(2)})^2$ for the linear-output network with the
# sum-of-squares error. ($y_1$ is linear in $w_{11}^{(2)}$ with slope $z_1^{(1)}$.)

# %%
answer = "z_1^(1)^2"

# %%
verdict = widgets.verify_view(answer, "H[w_11^(2), w_11^(2)]", graph)
verdict

# %%
assert verdict.equal

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
