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
# # Lesson 11: Saliency and adversarial inputs
#
# The input Jacobian of a classifier says which pixels the prediction is most
# sensitive to (a *saliency map*), and the gradient of the error with respect to
# the input says which way to push every pixel to hurt the prediction most: the
# **fast gradient sign method** (Goodfellow, Shlens & Szegedy, 2015),
#
# $$x' = \mathrm{clip}\big(x + \epsilon\, \mathrm{sign}(\nabla_x E),\ 0,\ 1\big).$$
#
# We train a small network on real data that ships inside scikit-learn (the 8x8
# handwritten digits, no download), draw saliency maps, and measure how the
# accuracy falls as $\epsilon$ grows.

# %%
import numpy as np

import symnet
from symnet import examples, plots, widgets
from symnet.numdiff.differences import central_difference
from symnet.train.fitting import fit

X, labels, T = examples.digits(classes=range(10), seed=0)   # pixels scaled to [0, 1]
n_train = 1000
X_train, T_train = X[:n_train], T[:n_train]
X_test, labels_test = X[n_train:], labels[n_train:]
print(f"{len(X)} digits of 8x8 pixels: {n_train} to train on, {len(X_test)} to test on")

net = symnet.MLP([64, 12, 10], hidden="tanh", output="softmax")
trained = fit(net, X_train, T_train, loss="cross_entropy", method="adam", max_iter=150, lr=0.02,
              seed=0)
w = trained.weights
print(trained)
clean = widgets.attack_view(net, w, X_test, labels_test, 0.0)
print(f"test accuracy {clean.accuracy:.3f}")
assert clean.accuracy > 0.9

# %% [markdown]
# ## Saliency maps
#
# For a test digit predicted as class $k$, the saliency of pixel $i$ is $|J_{ki}| =
# |\partial y_k / \partial x_i|$: how much the predicted probability moves per unit of
# brightness of that pixel. Red pixels would raise $y_k$ if brightened, blue would
# lower it.

# %%
J = symnet.input_jacobian(net)
samples = X_test[:4]
predicted = net.forward(samples, w).argmax(axis=1)
Jx = J.evaluate(samples, w)                                    # (4, 10, 64)
maps = [Jx[n, predicted[n]] for n in range(4)]
plots.images(list(samples), [f"test digit, predicted {p}" for p in predicted])

# %%
plots.images(maps, [f"dy_{p}/dx_i (probability per unit brightness)" for p in predicted],
             symmetric=True)

# %% [markdown]
# Checked: the Jacobian of one sample against central differences (64 inputs, 10
# outputs), and the input gradient of the error that the attack uses against
# central differences of $E$ itself.

# %%
numeric = central_difference(lambda V: net.forward(V, w), samples[0]).T    # (10, 64)
relative = np.abs(numeric - Jx[0]).max() / np.abs(Jx[0]).max()
print(f"input Jacobian vs central differences: {relative:.1e}")
assert relative < 1e-7
grad_x = widgets.input_error_gradient(net, w, samples[:1], T[n_train:n_train + 1])[0]
E_of_x = lambda V: np.array([symnet.loss_value(net, "cross_entropy", v[None], w,  # noqa: E731
                                               T[n_train:n_train + 1]) for v in V])
numeric_grad = central_difference(E_of_x, samples[0])
relative = np.abs(numeric_grad - grad_x).max() / np.abs(grad_x).max()
print(f"dE/dx vs central differences: {relative:.1e}")
assert relative < 1e-7

# %% [markdown]
# ## The attack
#
# Pushing every pixel by $\epsilon$ in the direction of the sign of $\nabla_x E$ lowers
# the accuracy much faster than pushing by the same amount in random directions:
# it is the gradient's direction that does the damage.

# %%
epsilons = np.array([0.0, 0.02, 0.05, 0.1, 0.15, 0.2])
attacked = np.array([widgets.attack_view(net, w, X_test, labels_test, e).attacked for e in epsilons])
rng = np.random.default_rng(0)
random_signs = np.sign(rng.normal(size=X_test.shape))
noisy = np.array([np.mean(net.forward(np.clip(X_test + e * random_signs, 0, 1), w).argmax(1)
                          == labels_test) for e in epsilons])
for e, a, r in zip(epsilons, attacked, noisy):
    print(f"epsilon {e:.2f}: accuracy {a:.3f} under attack, {r:.3f} with random signs")
plots.curves({"fast gradient sign": attacked, "random signs": noisy},
             "epsilon index (0, 0.02, 0.05, 0.1, 0.15, 0.2 in pixel intensity)",
             "test accuracy (fraction correct)", "accuracy against the attack's epsilon")

# %%
assert attacked[0] == clean.accuracy and np.all(np.diff(attacked) <= 0)
assert attacked[3] < clean.accuracy - 0.3            # epsilon = 0.1 costs over 30 points
assert np.all(noisy[1:] > attacked[1:])              # random directions hurt less

# %% [markdown]
# ## Try it
#
# Slide $\epsilon$ and watch the accuracy and one attacked digit.

# %%
panel = widgets.attack_explorer(net, w, X_test, labels_test, epsilon=0.05)
panel

# %%
panel.controls["epsilon"].value = 0.15
strong = panel.result
assert strong.attacked == attacked[4]
assert np.abs(strong.adversarial - X_test).max() <= 0.15 + 1e-12
print(strong)

# %% [markdown]
# **Summary.** The input Jacobian of a trained classifier is a saliency map; the
# input gradient of its error, pushed through a sign, is an attack that with
# $\epsilon = 0.1$ (a tenth of full brightness) removes most of the accuracy, far more
# than random noise of the same size.
