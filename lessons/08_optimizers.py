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
# # Lesson 8: Optimizers and learning rates
#
# Every optimizer below uses the same exact gradient $g = \partial E/\partial w$; they
# differ in what they do with it (update rules in `symnet.optimizers`, published
# defaults):
#
# | method | update |
# |---|---|
# | gradient descent | $\Delta w = -\eta g$ |
# | SGD | the same, with $g$ from a random mini-batch (scaled by $N/B$) |
# | momentum | $u \leftarrow \mu u - \eta g$, $\Delta w = u$ |
# | RMSprop | $s \leftarrow \rho s + (1-\rho) g^2$, $\Delta w = -\eta g / (\sqrt{s} + \epsilon)$ |
# | Adam | bias-corrected running means of $g$ and $g^2$: $\Delta w = -\eta \hat m / (\sqrt{\hat v} + \epsilon)$ |
#
# We train the same 1-4-1 network on the same 30 noisy samples of $\sin(\pi x)$
# from the same starting weights, then look at learning rates that are too high
# and too low.

# %%
import numpy as np

from symnet import examples, plots, widgets
from symnet.train.optimizers import Adam, Momentum

net = examples.network("curve")
X, T = examples.regression_data(30, noise=0.1, seed=0)
settings = {"gd": -2.0, "sgd": -2.0, "momentum": -2.5, "rmsprop": -2.0, "adam": -1.5}
runs = {m: widgets.training_view(net, X, T, m, rate, n_iter=300,
                                 batch_size=8 if m == "sgd" else None)
        for m, rate in settings.items()}
for m, run in runs.items():
    print(f"{m:9} lr = {run.rate:<8.3g} E: {run.start:.4f} -> {run.final:.4f}")
plots.curves({f"{m} (lr {r.rate:.3g})": r.losses for m, r in runs.items()}, "iteration",
             "E (half the sum of squared errors, units of t^2)", "same problem, same start", log=True)

# %% [markdown]
# All five reduce the error from the same start; with these rates momentum, RMSprop
# and Adam end well below plain gradient descent after 300 steps; SGD's curve is
# noisy because each step sees only 8 of the 30 samples.

# %%
start = runs["gd"].start
assert all(r.start == start and r.final < 0.1 * start and not r.diverged for r in runs.values())
assert runs["momentum"].final < runs["gd"].final
assert runs["adam"].final < runs["gd"].final and runs["rmsprop"].final < runs["gd"].final
sgd_steps = np.diff(runs["sgd"].losses)
assert np.any(sgd_steps > 0)            # mini-batch noise: E sometimes goes up
assert np.all(np.diff(runs["gd"].losses) <= 0)   # full batch at this rate: it never does

# %% [markdown]
# ## The update rules, checked by hand
#
# Adam's first step is $-\eta\,\mathrm{sign}(g)$ in every coordinate, whatever the size of $g$
# (the bias corrections make $\hat m = g$ and $\hat v = g^2$). Momentum's second step
# is $\mu(-\eta g_1) - \eta g_2$.

# %%
g1, g2 = np.array([4.0, -0.01, 250.0]), np.array([1.0, 1.0, -2.0])
adam = Adam(n_params=3, lr=0.01)
first = adam.update(g1)
assert np.allclose(first, -0.01 * np.sign(g1), rtol=1e-5)
momentum = Momentum(n_params=3, lr=0.1, momentum=0.9)
momentum.update(g1)
second = momentum.update(g2)
assert np.allclose(second, 0.9 * (-0.1 * g1) - 0.1 * g2, rtol=1e-15)
print("Adam first step:", first, "  momentum second step:", second)

# %% [markdown]
# ## Too high, too low
#
# Lesson 7 showed that plain gradient descent needs $\eta < 2/\lambda_{\max}$. Far above
# it the error explodes within a few steps, and `fit` stops the run as soon as $E$ passes
# 1000 times its start (`TrainingDiverged`, with $\lambda_{\max}$ and a rate below the
# limit); far below it nothing happens in the time we can afford.

# %%
from symnet.compiled.matrix_form import hessian_vector_values
from symnet.graph.losses import get_loss

H0 = hessian_vector_values(net, get_loss("sse", net), X, net.init_params(0), T, np.eye(net.n_params))
print(f"2 / lambda_max at the start = {2 / np.linalg.eigvalsh(H0).max():.3g}")
too_high = widgets.training_view(net, X, T, "gd", -1.0, n_iter=20)     # lr = 0.1
too_low = widgets.training_view(net, X, T, "gd", -5.0, n_iter=300)     # lr = 1e-5
print(too_high, too_low, sep="\n")
assert 0.1 > 2 / np.linalg.eigvalsh(H0).max()
assert too_high.diverged and too_high.final > 1e3 * too_high.start and too_high.result.n_iter < 20
assert too_low.final > 0.9 * too_low.start
plots.curves({"lr = 0.1 (too high)": too_high.losses, "lr = 0.01": runs["gd"].losses[:300],
              "lr = 1e-5 (too low)": too_low.losses}, "iteration",
             "E (units of t^2)", "gradient descent at three learning rates", log=True)

# %% [markdown]
# ## Try it
#
# Choose an optimizer and slide $\log_{10}$ of its learning rate.

# %%
panel = widgets.training_explorer(net, X, T, "adam", -1.5, n_iter=200)
panel

# %%
panel.controls["method"].value = "momentum"
panel.controls["log10_rate"].value = -3.0
slow = panel.result
assert slow.final > runs["momentum"].final and slow.final < slow.start
print(slow)

# %% [markdown]
# **Summary.** Same gradient, five update rules: momentum and the adaptive methods
# get further than plain gradient descent in the same number of steps here; a rate
# above the stability limit explodes, and one far below it barely moves.
