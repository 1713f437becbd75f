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
# # Lesson 9: Vanishing and exploding gradients
#
# Time: about 25 minutes.
#
# The delta recursion multiplies, layer after layer, by a weight matrix and by
# $h'(a)$:
#
# $$\delta^{(l)} = h'(a^{(l)}) \odot \big(W^{(l+1)\top} \delta^{(l+1)}\big), \qquad
# \frac{\partial E}{\partial W^{(l)}} = \delta^{(l)} z^{(l-1)\top}.$$
#
# Over many layers a product of factors below 1 vanishes and a product of factors
# above 1 explodes. The logistic sigmoid has $\sigma' \le 1/4$ (lesson 2), so with
# ordinary weights every sigmoid layer shrinks the gradient. We measure
# $\|\partial E / \partial W^{(l)}\|$ for every layer of deep, narrow networks at
# their random starting weights.

# %%
import numpy as np

import symnet
from symnet import plots, widgets

depth, width = 10, 8
lecun = {h: widgets.gradient_norm_view(h, depth, width=width) for h in ["sigmoid", "tanh", "relu"]}
for h, view in lecun.items():
    print(f"{h:8} first layer {view.first:.2e}, last layer {view.last:.2e}, ratio {view.ratio:.1e}")
plots.layer_bars({h: v.norms for h, v in lecun.items()}, "|dE/dW^(l)| (units of E per w)",
                 f"{depth} hidden layers of {width}, weights N(0, 1/n_in)")

# %% [markdown]
# With weights drawn as $N(0, 1/n_{\mathrm{in}})$ (LeCun), the sigmoid network's first-layer
# gradient is about seven orders of magnitude smaller than its last layer's, and it
# shrinks layer by layer toward the inputs. tanh ($\tanh'(0) = 1$) loses far less.

# %%
sig = lecun["sigmoid"]
assert sig.ratio < 1e-6 and np.all(np.diff(sig.norms) > 0)
assert lecun["tanh"].ratio > 1e4 * sig.ratio
# these tiny gradients are real, not round-off: complex-step differentiation agrees
net6 = widgets.gradient_norm_view("sigmoid", 6, width=4).net
rng = np.random.default_rng(0)
X6, T6 = rng.normal(size=(8, 1)), rng.normal(size=(8, 1))
report = symnet.check(symnet.gradient(net6, "sse"), X6, net6.init_params(0), T6, method="complex")
print(f"complex-step check of the 6-layer sigmoid gradient: max rel error {report.max_rel_error:.1e}")
assert report.passed and report.max_rel_error < 1e-10

# %% [markdown]
# ## The gradient these norms come from, checked three ways
#
# (a) Symbolically, on a chain of three sigmoid units (one unit per layer): backpropagation's
# $\partial E/\partial w_{11}^{(1)}$ equals SymPy differentiating the written-out error, and
# both equal the product along the chain,
#
# $$\frac{\partial E}{\partial w_{11}^{(1)}} = (y_1 - t_1)\, w_{11}^{(4)} \sigma'(a^{(3)})\, w_{11}^{(3)}
# \sigma'(a^{(2)})\, w_{11}^{(2)} \sigma'(a^{(1)})\, x_1, \qquad \sigma' = z(1 - z),$$
#
# one factor $w\,\sigma'(a) \le |w|/4$ per layer: the vanishing, in one line.
# (b) Central differences of $E$ agree with the whole gradient of the 10-layer sigmoid network
# (relative to its largest entry; the first layer's entries are below what differences in
# float64 resolve, which is why complex step checked them above). (c) The norms per layer
# from the matrix form equal those from symnet's named entry-by-entry route.

# %%
import sympy as sp

from symnet.numdiff.differences import central_difference

d = symnet.symbols
chain = symnet.MLP([1, 1, 1, 1, 1], hidden="sigmoid")
chain_grad = symnet.gradient(chain, "sse")
E_full = chain_grad.loss.per_sample(chain).xreplace(chain.substitution)
for p in chain.params:                                   # backprop = direct, every parameter
    assert sp.expand(sp.diff(E_full, p) - chain_grad.matrix[chain.param_index(p)]) == 0, p
z = [d.activation_value(l, 1) for l in (1, 2, 3)]
product = (d.output(1) - d.target(1)) * d.input_symbol(1)
for l in (1, 2, 3):
    product *= d.weight(l + 1, 1, 1) * z[l - 1] * (1 - z[l - 1])
for _ in range(chain.n_layers):                          # write every z and y out in x and w
    product = product.xreplace(chain.substitution)
assert sp.expand(product - sp.diff(E_full, d.weight(1, 1, 1))) == 0

deep = lecun["sigmoid"].net
rng10 = np.random.default_rng(0)                         # the data gradient_norm_view uses
X10, T10 = rng10.normal(size=(8, 1)), rng10.normal(size=(8, 1))
w10 = deep.init_params(0)
g10 = symnet.gradient(deep, "sse").evaluate(X10, w10, T10)
norms10 = [np.linalg.norm(g10[deep.layer_slices(l)[0]]) for l in range(1, deep.n_layers + 1)]
assert np.allclose(norms10, lecun["sigmoid"].norms, rtol=1e-12, atol=0)
numeric = central_difference(lambda V: np.array([symnet.loss_value(deep, "sse", X10, v, T10)
                                                 for v in V]), w10)
relative = np.abs(numeric - g10).max() / np.abs(g10).max()
print(f"10-layer sigmoid gradient ({deep.n_params} entries) vs central differences: {relative:.1e}")
assert relative < 1e-7

grad6 = symnet.gradient(net6, "sse")
w6 = net6.init_params(0)
by_entries = grad6.evaluate_entries(X6, w6, T6)
assert np.allclose(by_entries, grad6.evaluate(X6, w6, T6), rtol=1e-12, atol=1e-300)
norms6 = [np.linalg.norm(by_entries[net6.layer_slices(l)[0]]) for l in range(1, net6.n_layers + 1)]
assert np.allclose(norms6, widgets.gradient_norm_view("sigmoid", 6, width=4).norms, rtol=1e-12)

# %% [markdown]
# ## Deeper is worse, geometrically
#
# Each extra sigmoid layer multiplies the first layer's gradient by roughly the
# same factor below 1, so $\log$ of the ratio falls about linearly with depth. One
# random network is noisy, so we take the geometric mean over six seeds.

# %%
depths = [2, 4, 6, 8, 10]
ratios = np.array([np.exp(np.mean([np.log(widgets.gradient_norm_view("sigmoid", d, width=width,
                                                                     seed=s).ratio)
                                   for s in range(6)])) for d in depths])
print({d: f"{r:.2e}" for d, r in zip(depths, ratios)})
assert np.all(np.diff(ratios) < 0)
per_layer = np.exp(np.polyfit(depths, np.log(ratios), 1)[0])
print(f"about x{per_layer:.2f} per sigmoid layer")
assert per_layer < 0.5

# %% [markdown]
# ## ReLU: the scale of the weights decides
#
# ReLU's derivative is 0 or 1, so it neither shrinks nor grows what passes, and
# the weights' scale takes over. He initialisation, standard deviation
# $\sqrt{2/n_{\mathrm{in}}}$ (here $\sqrt{2/8} = 0.5$), keeps the per-layer norms of the same
# order; a standard deviation of 2 makes activations and gradients explode.

# %%
he = widgets.gradient_norm_view("relu", depth, width=width, scale=np.sqrt(2 / width))
big = widgets.gradient_norm_view("relu", depth, width=width, scale=2.0)
print(f"He:    {np.array2string(he.norms, precision=2)}")
print(f"std 2: {np.array2string(big.norms, precision=2)}")
small = widgets.gradient_norm_view("relu", depth, width=width, scale=0.1)
print(f"std 0.1: {np.array2string(small.norms, precision=2)}")
assert 0.3 < he.ratio < 3 and he.norms.max() / he.norms.min() < 3
assert big.norms.min() > 1e9
assert small.ratio < 1e-6                   # too small a scale: ReLU gradients vanish too
plots.layer_bars({"relu, He init": he.norms, "relu, std 2": big.norms, "relu, std 0.1": small.norms},
                 "|dE/dW^(l)| (units of E per w)", "the same ReLU network at three weight scales")

# %% [markdown]
# With standard deviation 0.1 each layer multiplies the signal by about
# $0.1\sqrt{n_{\mathrm{in}}/2} = 0.2$, and the first layer's gradient is over six orders of
# magnitude below the last one's: ReLU vanishes too when the weights are small.
#
# ReLU has a second way to lose gradient: **dead units**. A unit whose pre-activation is
# $a \le 0$ on every sample has $h'(a) = 0$ there, so its delta is 0 and every weight and
# bias into it gets $\partial E / \partial w = 0$ *exactly*; gradient descent never moves
# them again. Even at He initialisation many units of this deep, narrow network are dead on
# our 8 samples, more of them deeper down.

# %%
from symnet.compiled.matrix_form import forward_pass

w_he = he.net.init_params(0, scale=np.sqrt(2 / width))
X8, T8 = (lambda r: (r.normal(size=(8, 1)), r.normal(size=(8, 1))))(np.random.default_rng(0))
A_he, _ = forward_pass(he.net, X8, w_he)
g_he = symnet.gradient(he.net, "sse").evaluate(X8, w_he, T8)
dead_per_layer = []
for l in range(1, he.net.n_layers):
    dead = np.all(A_he[l] <= 0, axis=0)               # never active on any of the 8 samples
    dead_per_layer.append(int(dead.sum()))
    weights, biases = he.net.layer_slices(l)
    into = g_he[weights].reshape(he.net.sizes[l], he.net.sizes[l - 1])
    assert np.all(into[dead] == 0) and np.all(g_he[biases][dead] == 0)   # exactly zero
    assert np.all(np.abs(into[~dead]).sum(axis=1) > 0)                     # the live ones learn
print(f"dead units per hidden layer (of {width}): {dead_per_layer}")
assert sum(dead_per_layer) > 0.25 * depth * width and dead_per_layer[-1] > dead_per_layer[0]

# %% [markdown]
# ## Try it
#
# Choose the activation and the depth.

# %%
panel = widgets.gradient_norm_explorer("sigmoid", 6)
panel

# %%
panel.controls["depth"].value = 3
panel.controls["hidden"].value = "tanh"
shallow = panel.result
assert shallow.net.n_layers == 4 and shallow.ratio > widgets.gradient_norm_view("sigmoid", 3).ratio
print(shallow)

# %% [markdown]
# ## Exercises
#
# Type your answer and press Enter; the box says right or not, and names a typical slip.
# (Solutions: `lessons/solutions/09_vanishing_gradients.toml`.)
#
# **Exercise 9.1.** For the chain $x \to$ sigmoid $\to$ sigmoid $\to$ linear $y$ with the
# sum-of-squares error, write $\partial E / \partial w_{11}^{(1)}$ out as the product along the
# chain (in $y_1, t_1$, the weights, $z_1^{(1)}, z_1^{(2)}$ and $x_1$).

# %%
questions = widgets.exercises(9)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 9.2.** A chain of 10 sigmoid units has every $|w| \le 1$. Its
# $\partial E/\partial w_{11}^{(1)}$ is $(y_1 - t_1) x_1$ times one factor $w\,\sigma'(a)$ per layer.
# What is the largest that product of factors can be?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 9.3.** He initialisation for ReLU layers with 8 inputs each: which standard
# deviation?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** Gradients are products along the network: sigmoid's $\sigma' \le 1/4$
# makes them vanish geometrically with depth, and for ReLU the weight scale decides
# between stable (He), vanishing (std 0.1) and exploding (std 2); dead ReLU units get
# exactly zero gradient.
