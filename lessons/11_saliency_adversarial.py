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
# Time: about 30 minutes.
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
# Two more routes. **The matrix form by hand**: for tanh hidden units and softmax outputs,
# $J = (\mathrm{diag}(y) - y y^\top)\, W^{(2)} \mathrm{diag}(1 - z^{(1)2})\, W^{(1)}$, and for the
# cross-entropy $E = -\sum_k t_k \ln y_k$ the input gradient is $\nabla_x E = -J^\top (t / y)$:
# a different path from the attack's (the output delta through the pre-activation Jacobian).
# **Exactly, at a rational point**: the digit's pixels are multiples of 1/16 and every float
# weight is an exact binary fraction, so SymPy can differentiate the written-out
# $y_k = e^{a_k} / \sum_m e^{a_m}$ with respect to a pixel and evaluate it to 40 digits; symnet's
# named derivation ($J_{ki} = \sum_j w_{ji}^{(1)} \partial y_k/\partial a_j^{(1)}$ with its intermediates)
# evaluated at the same point must agree to those 40 digits. **Symbolically**, for every entry:
# symnet's named entries, written out, equal the hand matrix form above as polynomials.

# %%
import sympy as sp


def layer(l, weights):
    """(W^(l), b^(l)) of the weight vector, W^(l)[j, i] = w_ji^(l)."""
    rows, cols = net.sizes[l], net.sizes[l - 1]
    weight_part, bias_part = net.layer_slices(l)
    return weights[weight_part].reshape(rows, cols), weights[bias_part]


(W1, b1), (W2, b2) = layer(1, w), layer(2, w)
x0 = samples[0]
z1 = np.tanh(W1 @ x0 + b1)
y0 = net.forward(x0[None], w)[0]
J_by_hand = (np.diag(y0) - np.outer(y0, y0)) @ W2 @ np.diag(1 - z1 ** 2) @ W1
assert np.allclose(J_by_hand, Jx[0], rtol=1e-12, atol=1e-15)
t0 = T[n_train]
assert np.allclose(-J_by_hand.T @ (t0 / y0), grad_x, rtol=1e-10, atol=1e-13)

exact = {p: sp.Rational(float(v)) for p, v in zip(net.params, w)}       # exact binary fractions
pixels = [sp.Rational(int(16 * v), 16) for v in x0]
assert all(float(p) == v for p, v in zip(pixels, x0))
digits = 40
d = symnet.symbols
k = int(predicted[0])
values = {d.input_symbol(i + 1): pixels[i] for i in range(64)} | exact
a1 = [sum(exact[d.weight(1, j, i)] * pixels[i - 1] for i in range(1, 65)) + exact[d.bias(1, j)]
      for j in range(1, 13)]
for j in range(1, 13):
    values[d.activation_value(1, j)] = sp.tanh(a1[j - 1]).evalf(digits + 10)
a2 = [sum(exact[d.weight(2, m, j)] * values[d.activation_value(1, j)] for j in range(1, 13))
      + exact[d.bias(2, m)] for m in range(1, 11)]
softmax_sum = sum(sp.exp(a) for a in a2)
for m in range(1, 11):
    values[d.output(m)] = (sp.exp(a2[m - 1]) / softmax_sum).evalf(digits + 10)
for symbol, definition in J.definitions.items():               # in the order they depend
    values[symbol] = definition.xreplace(values).evalf(digits + 10)

s_ = sp.Symbol("s")                                             # the one pixel that moves
for i in np.argsort(-np.abs(Jx[0, k]))[:3]:
    moved = list(pixels)
    moved[i] = s_
    a1_s = [sum(exact[d.weight(1, j, c + 1)] * moved[c] for c in range(64)) + exact[d.bias(1, j)]
            for j in range(1, 13)]
    a2_s = [sum(exact[d.weight(2, m, j)] * sp.tanh(a1_s[j - 1]) for j in range(1, 13))
            + exact[d.bias(2, m)] for m in range(1, 11)]
    y_k = sp.exp(a2_s[k]) / sum(sp.exp(a) for a in a2_s)
    by_sympy = sp.diff(y_k, s_).subs(s_, pixels[i]).evalf(digits)
    by_symnet = J.named[k, i].xreplace(values).evalf(digits)
    print(f"J_{k + 1},{i + 1}: SymPy {by_sympy:.25e}, symnet named {by_symnet:.25e}")
    assert abs(by_sympy - by_symnet) < sp.Float(10) ** (5 - digits) * abs(by_sympy)
    assert abs(float(by_sympy) - Jx[0, k, i]) < 1e-12 * abs(float(by_sympy))

# Symbolically, for all 10 x 64 entries: symnet's named entries, their intermediates written
# out, equal the hand matrix form as polynomials in the named y_k, z_j^(1) and the weights
# (expand of each difference is 0: an identity, true at every point, not only this digit)
y_named = sp.Matrix([d.output(m) for m in range(1, 11)])
by_hand = ((sp.diag(*y_named) - y_named * y_named.T)
           * sp.Matrix(10, 12, lambda m, j: d.weight(2, m + 1, j + 1))
           * sp.diag(*[1 - d.activation_value(1, j) ** 2 for j in range(1, 13)])
           * sp.Matrix(12, 64, lambda j, i: d.weight(1, j + 1, i + 1)))
written_out = {}
for symbol, definition in J.definitions.items():             # in order: each uses earlier ones
    written_out[symbol] = definition.xreplace(written_out)
named = sp.Matrix(J.named)
assert all(sp.expand(named[m, i].xreplace(written_out) - by_hand[m, i]) == 0
           for m in range(10) for i in range(64))

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
plots.trend_figure(epsilons, {"fast gradient sign": attacked, "random signs": noisy},
                   "epsilon (pixel intensity, 0..1)", "test accuracy (fraction correct)",
                   "accuracy against the attack's epsilon")

# %% [markdown]
# At $\epsilon = 0.1$ the attack removes most of the accuracy: more than half of it
# (from 0.97 to about 0.37), while random signs of the same size cost under ten points.

# %%
assert attacked[0] == clean.accuracy and np.all(np.diff(attacked) <= 0)
assert attacked[3] < clean.accuracy - 0.3            # epsilon = 0.1 costs over 30 points
assert attacked[3] < clean.accuracy / 2              # ... and more than half the accuracy
assert clean.accuracy - noisy[3] < 0.1               # random signs: under 10 points
assert np.all(noisy[1:] > attacked[1:])              # random directions hurt less

# %% [markdown]
# What the attack does to single digits, at $\epsilon = 0.1$: the first test digits it turns
# into another class, each shown clean and attacked with both predictions. The change is a
# faint haze over the whole image, and the network now reads another digit.

# %%
at_01 = widgets.attack_view(net, w, X_test, labels_test, 0.1)
before = net.forward(X_test, w).argmax(axis=1)
after = net.forward(at_01.adversarial, w).argmax(axis=1)
flipped = np.flatnonzero((before == labels_test) & (after != labels_test))[:4]
shown, titles = [], []
for n in flipped:
    shown += [X_test[n], at_01.adversarial[n]]
    titles += [f"clean: predicted {before[n]}", f"attacked: predicted {after[n]}"]
assert len(flipped) == 4 and np.all(after[flipped] != before[flipped])
assert np.abs(at_01.adversarial[flipped] - X_test[flipped]).max() <= 0.1 + 1e-12
print("true labels:", labels_test[flipped], " predictions after the attack:", after[flipped])
plots.images(shown, titles)

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
# ## Exercises
#
# Type your answer and press Enter; the box says right or not, and names a typical slip.
# (Solutions: `lessons/solutions/11_saliency_adversarial.toml`.) The first two are about a
# small classifier of the lesson's kind: 2 inputs, 2 tanh hidden units, 3 softmax outputs.
#
# **Exercise 11.1.** The saliency's recursion starts at the softmax: what is
# $\partial y_1 / \partial a_2^{(2)}$, in the $y_k$?

# %%
questions = widgets.exercises(11)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 11.2.** One step back: $\partial y_1/\partial a_1^{(1)}$, with one term through every
# output pre-activation $a_m^{(2)}$ (in $z_1^{(1)}$, the $y_k$ and the weights $w_{m1}^{(2)}$).

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 11.3.** Why does a faint haze fool the network? Take a linear score
# $a = \sum_i w_i x_i$ over 64 pixels with every $|w_i| = 0.5$, and move every pixel by
# $\epsilon = 0.1$ in the direction of $\mathrm{sign}(w_i)$. By how much does $a$ change?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The input Jacobian of a trained classifier is a saliency map; the
# input gradient of its error, pushed through a sign, is an attack that with
# $\epsilon = 0.1$ (a tenth of full brightness) removes more than half of the accuracy,
# far more than random noise of the same size.
