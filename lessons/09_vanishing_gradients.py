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
print(dict(zip(depths, ratios.round(10))))
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
assert 0.3 < he.ratio < 3 and he.norms.max() / he.norms.min() < 3
assert big.norms.min() > 1e9
plots.layer_bars({"relu, He init": he.norms, "relu, std 2": big.norms},
                 "|dE/dW^(l)| (units of E per w)", "the same ReLU network at two weight scales")

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
# **Summary.** Gradients are products along the network: sigmoid's $\sigma' \le 1/4$
# makes them vanish geometrically with depth, and for ReLU the weight scale decides
# between stable (He), vanishing and exploding.
