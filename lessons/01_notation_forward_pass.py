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
# # Lesson 1: Notation and the forward pass
#
# *Time: about 25 minutes.*
#
# A multilayer perceptron is a chain of simple steps. Layer 0 holds the inputs
# $x_i$; for every later layer $l = 1, \dots, L$ and unit $j$
#
# $$a_j^{(l)} = \sum_i w_{ji}^{(l)} z_i^{(l-1)} + b_j^{(l)}, \qquad z_j^{(l)} = h_l\big(a_j^{(l)}\big),$$
#
# with $z^{(0)} = x$ and the outputs $y = z^{(L)}$ (Bishop, *Deep Learning*, 2024, ch. 6 and 8).
# $w_{ji}^{(l)}$ goes **from** unit $i$ of layer $l-1$ **to** unit $j$ of layer $l$.
#
# This lesson builds a 2-2-1 network (tanh hidden units, a linear output), writes
# its equations, evaluates them at one input, and then reads the network as a
# *graph* whose edges each carry a local derivative. Multiplying those along every
# path from an input to an output and adding the paths gives the Jacobian: the
# chain rule, drawn.

# %%
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import examples, widgets
from symnet.render.derivation_latex import tex
from symnet.numdiff.differences import central_difference

net = examples.network("graph")
net

# %% [markdown]
# The network is a SymPy expression graph with a name for every intermediate. Its
# equations, in the order they are computed:

# %%
for name, value in net.equations.items():
    display(Math(f"{tex(name)} = {tex(value)}"))

# %% [markdown]
# ## One forward pass, by hand and by symnet
#
# Take $W^{(1)} = \begin{pmatrix}0.8 & -0.4\\ 0.3 & 0.9\end{pmatrix}$, $b^{(1)} = (0.1, -0.2)$,
# $W^{(2)} = (1.5\;\; -2.0)$, $b^{(2)} = 0.25$ and the input $x = (0.5, -1)$. By hand:
# $a_1^{(1)} = 0.8 \cdot 0.5 - 0.4 \cdot (-1) + 0.1 = 0.9$ and
# $a_2^{(1)} = 0.3 \cdot 0.5 + 0.9 \cdot (-1) - 0.2 = -0.95$; then
# $y_1 = 1.5 \tanh(0.9) - 2 \tanh(-0.95) + 0.25 \approx 2.804$.

# %%
w = net.pack([[[0.8, -0.4], [0.3, 0.9]], [[1.5, -2.0]]], [[0.1, -0.2], [0.25]])
x = np.array([0.5, -1.0])
view = widgets.forward_view(net, x, w)
print(view)

by_hand_a = np.array([0.9, -0.95])
by_hand_y = 1.5 * np.tanh(0.9) - 2.0 * np.tanh(-0.95) + 0.25
assert np.allclose(view.a[1], by_hand_a, rtol=1e-12, atol=0)
assert abs(view["y_1"] - by_hand_y) <= 1e-12 * abs(by_hand_y)
assert round(view["y_1"], 3) == 2.804

# %% [markdown]
# The parameters live in one flat vector in a fixed, documented order (layer by
# layer, weights row-major, then biases), the column order of every gradient and
# parameter Jacobian symnet computes:

# %%
print([p.name for p in net.params])
assert net.param_name(2) == "w_21^(1)" and w[net.param_index("w_12^(2)")] == -2.0

# %% [markdown]
# ## The network as a graph of local derivatives
#
# Every step is an edge with a *local* derivative:
#
# * a weight edge $z_i^{(l-1)} \to a_j^{(l)}$ has $\partial a_j^{(l)} / \partial z_i^{(l-1)} = w_{ji}^{(l)}$;
# * a unit edge $a_j^{(l)} \to z_j^{(l)}$ has $\partial z_j^{(l)} / \partial a_j^{(l)} = h'(a_j^{(l)})$,
#   for tanh $1 - (z_j^{(l)})^2$.
#
# The picture shows each edge's derivative symbolically and with its value plugged in.

# %%
from symnet.teach.plots import network_diagram

network_diagram(view)

# %% [markdown]
# The list below names each edge by its two ends. symnet's `Edge` stores the ends
# as (layer, 0-based index) pairs, for code; the lesson prints the Bishop names
# ($x_i$, $a_j^{(l)}$, $z_j^{(l)}$, $y_k$, all 1-based) that the equations use.

# %%
def edge_ends(net, edge):
    """The Bishop names of an edge's two ends: z_i^(l-1) -> a_j^(l), or a_m^(l) -> z_k^(l)."""
    (source_layer, source), (target_layer, target) = edge.source_unit, edge.target_unit
    if edge.kind == "weight":                  # z^(0) is x, so layer 0 prints x_i
        return (net.layer_values(source_layer)[source],
                net.layer_pre_activations(target_layer)[target])
    return (net.layer_pre_activations(source_layer)[source],   # z^(L) is y
            net.layer_values(target_layer)[target])


for edge in view.edges:
    start, end = edge_ends(net, edge)
    print(f"{edge.kind:6} {str(start):7} -> {str(end):7}  {f'd{end}/d{start}':18} = "
          f"{str(edge.symbolic):14} = {edge.value:+.6f}")
tanh_edge = view.edges[4]
assert edge_ends(net, tanh_edge) == (symnet.symbols.pre_activation(1, 1),
                                     symnet.symbols.activation_value(1, 1))
assert tanh_edge.symbolic == 1 - symnet.symbols.activation_value(1, 1) ** 2
assert abs(tanh_edge.value - (1 - np.tanh(0.9) ** 2)) <= 1e-15

# %% [markdown]
# Each edge derivative is itself checked three ways: (a) SymPy differentiates the
# equation of the edge's end with respect to its start (with $z = \tanh(a)$ written
# out, so $1 - z^2$ must come out of `diff`), (b) a central difference of that one
# step as a plain NumPy function, (c) the value `forward_view` computed from the
# symbolic edge.

# %%
values_at_x = {**dict(zip(net.params, w)), **dict(zip(net.layer_values(0), x))}
for l in range(1, net.n_layers + 1):
    values_at_x.update(zip(net.layer_pre_activations(l), view.a[l]))
    values_at_x.update(zip(net.layer_values(l), view.z[l]))
for edge in view.edges:
    start, end = edge_ends(net, edge)
    step = net.equations[end]                  # a = sum w z + b, or z = h(a)
    by_sympy = sp.diff(step, start).doit()
    # (a) symbolic: diff of the step equals the edge's derivative, h written out as tanh
    written_out = edge.symbolic.xreplace({z: sp.tanh(a) for z, a in zip(
        net.layer_values(1), net.layer_pre_activations(1))})
    assert sp.simplify(by_sympy - written_out) == 0, (start, end)
    # (b) central difference of the step alone, in the start variable, everything else fixed
    one_step = sp.lambdify(start, step.xreplace({s: v for s, v in values_at_x.items()
                                                 if s != start}), "numpy")
    numeric_edge = central_difference(lambda V: one_step(V[:, 0]), np.array([values_at_x[start]]))
    # (c) the value forward_view computed from the symbolic edge
    assert abs(numeric_edge[0] - edge.value) <= 1e-7 * max(abs(edge.value), 1.0), (start, end)
print(f"all {len(view.edges)} edge derivatives: SymPy's diff, central differences and "
      "forward_view agree")

# %% [markdown]
# ## The chain rule as a sum over paths
#
# $\partial y_1 / \partial x_1$ collects every way a change in $x_1$ reaches $y_1$:
# through hidden unit 1 and through hidden unit 2. Along each path, multiply the
# edge derivatives; then add the paths:
#
# $$J_{11} = w_{11}^{(1)}\, h'(a_1^{(1)})\, w_{11}^{(2)} + w_{21}^{(1)}\, h'(a_2^{(1)})\, w_{12}^{(2)}.$$

# %%
paths = widgets.path_products(net, x, w, k=0, i=0)
edge_at = {(e.kind, e.source_unit, e.target_unit): e for e in view.edges}
for path, value in paths:
    names = [edge_ends(net, edge_at[key]) for key in path]
    print(" -> ".join([str(names[0][0])] + [str(end) for _, end in names]), f"= {value:+.6f}")
path_sum = sum(value for _, value in paths)

J = symnet.input_jacobian(net)                  # backpropagation
J_at_x = J.evaluate(x, w)
print("sum over paths:", path_sum, "  Jacobian entry J_11:", J_at_x[0, 0])
assert len(paths) == 2
assert abs(path_sum - J_at_x[0, 0]) <= 1e-12 * abs(J_at_x[0, 0])
# the compiled matrix form and the entry-by-entry evaluation of the named form agree too
assert np.allclose(J.evaluate_entries(x, w), J_at_x, rtol=1e-12, atol=0)

# %% [markdown]
# The same holds symbolically: the sum over paths of the products of the symbolic
# edge derivatives, with every named intermediate substituted, *is* the Jacobian
# entry symnet derives, and it matches direct differentiation of the fully written
# out output and central differences too (three independent routes).

# %%
symbolic_sum = widgets.symbolic_path_sum(net, 0, 0)
display(Math(r"J_{11} = " + tex(symbolic_sum)))
J_direct = symnet.input_jacobian(net, method="direct")
for k, i in [(0, 0), (0, 1)]:
    expanded = widgets.symbolic_path_sum(net, k, i).xreplace(net.substitution)
    assert sp.simplify(expanded - J.matrix[k, i]) == 0          # paths == backprop
    assert sp.simplify(J.matrix[k, i] - J_direct.matrix[k, i]) == 0  # backprop == direct
numeric = central_difference(lambda V: net.forward(V, w), x).T   # (K, D)
relative = np.abs(numeric - J_at_x).max() / np.abs(J_at_x).max()
print(f"central differences agree to {relative:.1e}")
assert relative < 1e-7

# %% [markdown]
# ## Try it
#
# Move the sliders: the values at every unit, the edge derivatives and y update.
# The cell after the widget calls the same callback at another input and checks
# the path sum there too (so this runs in CI, not only when you drag).

# %%
explorer = widgets.forward_explorer(net, w, x)
explorer

# %%
other = np.array([1.2, 0.3])
moved = widgets.forward_view(net, other, w)
paths_sum = sum(v for _, v in widgets.path_products(net, other, w, 0, 1))
assert moved["y_1"] != view["y_1"]
assert abs(paths_sum - J.evaluate(other, w)[0, 1]) <= 1e-12 * abs(paths_sum)
print(moved)

# %% [markdown]
# ## Exercises
#
# Type your answer in the box and press Enter: `verify` compares it with the exact
# derivative at random exact rational points and, when it is wrong, shows a point
# where the two differ and names the mistake it recognises. Write names as the
# lesson prints them: `w_12^(2)`, `z_2^(1)`, `x_1`, `a_2^(1)`; `^` for powers.
# The solutions, with typical wrong answers, are in
# `lessons/solutions/01_notation_forward_pass.toml`: open it when stuck.
#
# **Exercise 01.1.** With the lesson's weights $W^{(1)}$, $b^{(1)}$, compute the
# number $a_2^{(1)}$ at the input $x = (1.2, 0.3)$.

# %%
questions = widgets.exercises(1)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 01.2.** Write $\partial y_1 / \partial a_2^{(1)}$: the product of the
# edge derivatives along the one path from $a_2^{(1)}$ to $y_1$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 01.3.** Write $J_{12} = \partial y_1 / \partial x_2$ as the sum over paths.

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** Every unit computes $a = \sum w z + b$ then $z = h(a)$; every edge
# has a local derivative ($w$ or $h'(a)$); the Jacobian entry $\partial y_k/\partial x_i$ is the
# sum over paths of the products of edge derivatives. Lesson 3 studies that
# Jacobian, lesson 4 computes the error gradient the same way, backwards.
