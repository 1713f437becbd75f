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
# # Lesson 7: The Hessian
#
# *Time: about 35 minutes.*
#
# The Hessian $H_{pq} = \partial^2 E / \partial w_p \partial w_q$ is the curvature of the error
# surface. For the sum-of-squares error it splits into two terms
# (Bishop, *Deep Learning*, 2024, sec. 8.1):
#
# $$H = \underbrace{\sum_n \nabla y_n \nabla y_n^\top}_{\text{outer product (Gauss-Newton)}}
#     + \underbrace{\sum_n (y_n - t_n)\, \nabla\nabla y_n}_{\text{residual term}}.$$
#
# The residual term vanishes when the residuals do, so the outer-product matrix
# Levenberg-Marquardt uses is good near a good fit and poor far from one. This
# lesson measures that, looks at the eigenvalue spectrum, counts the $O(W^2)$ cost,
# computes Hessian-vector products in $O(W)$, derives the Gauss-Newton matrix
# $y(1-y)\,b b^\top$ of a logistic output under cross-entropy, and verifies the prediction behind
# Distill's "Why Momentum Really Works": gradient descent converges for a step below
# $2/\lambda_{\max}$ and diverges above it.

# %%
import warnings

import numpy as np
import sympy as sp

import symnet
from symnet import examples, plots, widgets
from symnet.derive.curvature_terms import GaussNewtonWarning, curvature_report, hessian_vector_product
from symnet.train.fitting import TrainingDiverged, fit

net = examples.network("curve")                      # 1-4-1, tanh hidden, linear output
X, T = examples.regression_data(30, noise=0.1, seed=1)
print(net, "W =", net.n_params, " N =", len(X))

# %% [markdown]
# ## Exact, derived and checked
#
# symnet derives the exact Hessian symbolically (by the R-operator applied to the
# delta recursion) and evaluates it in matrix form. Checked three ways: (a) SymPy
# differentiating the written-out error twice equals every entry, on this network and
# on the smallest one; (b) central differences of the exact gradient (`symnet.check`);
# (c) the entry-by-entry evaluation of the named form equals the matrix form.

# %%
H_derivation = symnet.hessian(net, "sse")
w_far = net.init_params(seed=2)                     # random weights, far from any minimum
report = symnet.check(H_derivation, X, w_far, T)
print(report.description if hasattr(report, "description") else "", "passed:", report.passed,
      f"max rel error {report.max_rel_error:.1e}")
assert report.passed and report.max_rel_error < 1e-7                       # (b)
assert np.allclose(H_derivation.evaluate_entries(X, w_far, T), H_derivation.evaluate(X, w_far, T),
                   rtol=1e-12, atol=1e-12)                                     # (c)
E_net = H_derivation.loss.per_sample(net).xreplace(net.substitution)
for p in range(net.n_params):                                                  # (a) all 91
    for q in range(p, net.n_params):
        second = sp.diff(E_net, net.params[p], net.params[q])
        assert sp.expand(second - H_derivation.matrix[p, q]) == 0, (p, q)

tiny = examples.network("tiny")                       # 1-1-1: four parameters
H_tiny = symnet.hessian(tiny, "sse")
E_full = H_tiny.loss.per_sample(tiny).xreplace(tiny.substitution)
for p in range(4):                                    # all 16 entries
    for q in range(4):
        second = sp.diff(E_full, tiny.params[p], tiny.params[q])
        assert sp.expand(second - H_tiny.matrix[p, q]) == 0
H_tiny

# %% [markdown]
# ## Exact against outer product, far from and near a minimum
#
# Far from a minimum (the random starting weights) the residuals are large and
# the residual term is a large part of $H$; symnet warns. Then we train with
# Levenberg-Marquardt towards a true stationary point. Besides `grad_tol`, `fit`'s
# default rules also stop once $E$ or $w$ no longer change measurably (`ftol`, `xtol`,
# `gtol`), which need not be a stationary point. So we switch them off, and finish with Newton's
# method on the exact Hessian, $w \leftarrow w - H^{-1}\nabla E$ (a few steps near a
# minimum), until $\|\nabla E\| < 10^{-10}$. There every eigenvalue of $H$ is
# positive, far above the eigensolver's rounding: a strict local minimum $w^*$. The
# outer product captures nearly all of $H$ there.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    far = curvature_report(net, "sse", X, w_far, T)
print(far)
assert far.poor and any(issubclass(c.category, GaussNewtonWarning) for c in caught)

trained = fit(net, X, T, method="lm", max_iter=300, seed=3, grad_tol=1e-9, ftol=0, xtol=0, gtol=0)
print(trained)
gradient = symnet.gradient(net, "sse")
w_star, newton_norms = trained.weights.copy(), [np.linalg.norm(gradient.evaluate(X, trained.weights, T))]
while newton_norms[-1] >= 1e-10 and len(newton_norms) <= 6:          # Newton on the exact H
    w_star = w_star - np.linalg.solve(H_derivation.evaluate(X, w_star, T),
                                      gradient.evaluate(X, w_star, T))
    newton_norms.append(np.linalg.norm(gradient.evaluate(X, w_star, T)))
print("||dE/dw|| after LM, then each Newton step:", ", ".join(f"{n:.1e}" for n in newton_norms))
near = curvature_report(net, "sse", X, w_star, T)
print(near)
assert newton_norms[-1] < 1e-10 and len(newton_norms) <= 6                      # stationary
assert abs(symnet.loss_value(net, "sse", X, w_star, T) - trained.history.loss[-1]) \
    < 1e-6 * trained.history.loss[-1]                                            # same minimum
rounding = net.n_params * np.finfo(float).eps * near.hessian_eigenvalues.max()
assert near.hessian_eigenvalues.min() > 1e3 * rounding and near.hessian_zero == 0  # strict minimum
assert trained.history.grad_norm[-1] < 1e-3 * trained.history.grad_norm[0] and not near.poor
assert near.relative_difference < far.relative_difference / 5
assert near.hessian_negative == 0 and far.hessian_negative > 0   # a minimum; a saddle-ish start

# %% [markdown]
# ## The eigenvalue spectrum
#
# At the minimum every eigenvalue is positive, and they spread over many orders of
# magnitude: a few stiff directions, many flat ones. The condition number
# $\lambda_{\max}/\lambda_{\min}$ is what makes plain gradient descent slow.

# %%
lam = near.hessian_eigenvalues
plots.spectrum(lam, "Hessian eigenvalues at the minimum (dashed: lambda_max)", mark=lam.max())

# %%
print(f"lambda_max = {lam.max():.4g}, lambda_min = {lam.min():.3g}, condition {near.hessian_condition:.3g}")
assert np.all(lam > 0) and near.hessian_condition > 1e3
assert np.allclose(np.sort(np.linalg.eigvalsh(H_derivation.evaluate(X, w_star, T))), lam,
                   rtol=1e-9, atol=1e-9 * lam.max())

# %% [markdown]
# ## The cost: $O(W^2)$ entries, and Hessian-vector products in $O(W)$
#
# $H$ has $W^2$ entries ($W(W+1)/2$ distinct), each summed over samples: double the
# width of a one-hidden-layer network and the Hessian grows about fourfold. Often
# only products $Hv$ are needed (Newton-CG, the largest eigenvalue by power
# iteration); Pearlmutter's R-operator gives $Hv$ exactly, without forming $H$, for a
# fixed multiple of the cost of one gradient. We count that cost as the arithmetic
# operations (SymPy's `count_ops`) in each derivation's named form: every intermediate
# ($a$, $z$, $\delta$, and for $Hv$ the $\mathcal{R}\{\cdot\}$ quantities) plus every entry.
# A gradient is a forward and a backward pass; $Hv$ adds an R-forward and an R-backward
# pass, and counts about 3.3 gradients at every width, while the named Hessian grows
# like $W$ gradients.

# %%
for width in (4, 8, 16, 32):
    W = 1 * width + width + width * 1 + 1
    print(f"1-{width}-1: W = {W:4d}, Hessian entries W^2 = {W * W:6d}, distinct {W * (W + 1) // 2}")
assert (3 * 32 + 1) ** 2 / (3 * 16 + 1) ** 2 > 3.8


def operations(derivation):
    """Arithmetic operations in a derivation's named form: intermediates plus entries."""
    return (sum(sp.count_ops(value) for value in derivation.all_definitions.values())
            + sum(sp.count_ops(entry) for entry in derivation.named))


costs = {}
for width in (4, 8, 16):
    wide = symnet.MLP([1, width, 1], hidden="tanh", output="linear")
    costs[wide.n_params] = [operations(d) for d in (symnet.gradient(wide, "sse"),
                                                     hessian_vector_product(wide, "sse"),
                                                     symnet.hessian(wide, "sse"))]
    g_ops, hv_ops, h_ops = costs[wide.n_params]
    print(f"W = {wide.n_params:3d}: gradient {g_ops:4d} operations, Hv {hv_ops:4d} "
          f"({hv_ops / g_ops:.2f} gradients), H {h_ops:6d} ({h_ops / g_ops:.0f} gradients)")
ratios = [hv / g for g, hv, _ in costs.values()]
assert all(3 < r < 3.5 for r in ratios) and max(ratios) - min(ratios) < 0.1   # a fixed multiple
(W_small, (g_small, _, h_small)), (W_big, (g_big, _, h_big)) = list(costs.items())[::2]
assert (h_big / g_big) / (h_small / g_small) > 0.75 * W_big / W_small         # H: ~ W gradients

hvp = hessian_vector_product(net, "sse")
v = np.random.default_rng(1).normal(size=net.n_params)
Hv = hvp.evaluate(X, w_star, T, v)
H_star = near.hessian
assert np.allclose(Hv, H_star @ v, rtol=1e-10, atol=1e-12 * np.abs(H_star @ v).max())
# lambda_max by power iteration with products alone
u = v / np.linalg.norm(v)
for _ in range(200):
    u = hvp.evaluate(X, w_star, T, u)
    u /= np.linalg.norm(u)
lam_power = float(u @ hvp.evaluate(X, w_star, T, u))
print(f"power iteration with H v only: lambda_max = {lam_power:.10g} (eigvalsh {lam.max():.10g})")
assert abs(lam_power - lam.max()) <= 1e-8 * lam.max()

# %% [markdown]
# ## Cross-entropy with a logistic output: the Gauss-Newton matrix $y(1-y)\,b b^\top$
#
# For a classifier with one logistic output $y = \sigma(a)$, $a = a_1^{(2)}$, and the
# cross-entropy $E_n = -(t \ln y + (1 - t)\ln(1 - y))$, differentiate through $a$, not $y$:
# $\partial E_n/\partial a = y - t$ and $\partial^2 E_n/\partial a^2 = y(1 - y)$. With
# $b = \partial a/\partial w$ the chain rule gives
#
# $$\nabla E_n = (y - t)\, b, \qquad
#   H = \underbrace{\sum_n y_n(1 - y_n)\, b_n b_n^\top}_{\text{Gauss-Newton}}
#     + \underbrace{\sum_n (y_n - t_n)\, \nabla\nabla a_n}_{\text{residual term}}.$$
#
# The Gauss-Newton part is *not* the sum-of-squares outer product $\sum_n \nabla y_n \nabla y_n^\top$
# taken over: since $\nabla y = y(1-y)\, b$, that would be $\sum_n y_n^2(1-y_n)^2 b_n b_n^\top$,
# wrong by a factor $y(1 - y) \le 1/4$ per sample. Checked three ways: (a) symbolically, the
# two derivatives in $a$ and the split for any $a(u, v)$, then every entry of symnet's exact
# Hessian and of its Gauss-Newton part on a 1-1-1 classifier; (b) on a 1-4-1 classifier,
# symnet's exact Hessian against central differences of the gradient, and the residual
# term against central differences of $b$; (c) $y(1-y)\, b b^\top$ built from $b$ (the
# Jacobian of the same network with a linear output, which computes $a$) equal to
# symnet's Gauss-Newton part.

# %%
from symnet.derive.curvature_terms import hessian_split
from symnet.numdiff.differences import central_difference

a_, t_, u_, v_ = sp.symbols("a t u v")
sigma = 1 / (1 + sp.exp(-a_))
E_of_a = -(t_ * sp.log(sigma) + (1 - t_) * sp.log(1 - sigma))
assert sp.simplify(sp.diff(E_of_a, a_) - (sigma - t_)) == 0                     # (a) dE/da
assert sp.simplify(sp.diff(E_of_a, a_, 2) - sigma * (1 - sigma)) == 0           #     d2E/da2
a_uv = sp.Function("a")(u_, v_)                                                 # any a(w)
y_uv = sigma.subs(a_, a_uv)
split_uv = (y_uv * (1 - y_uv) * sp.diff(a_uv, u_) * sp.diff(a_uv, v_)
            + (y_uv - t_) * sp.diff(a_uv, u_, v_))
assert sp.simplify(sp.diff(E_of_a.subs(a_, a_uv), u_, v_) - split_uv) == 0

small = symnet.MLP([1, 1, 1], hidden="tanh", output="sigmoid")                  # 1-1-1
small_a = symnet.MLP([1, 1, 1], hidden="tanh", output="linear").outputs[0]     # its a_1^(2)
H_small = symnet.hessian(small, "cross_entropy")
GN_small = hessian_split(small, "cross_entropy").gauss_newton
E_small = H_small.loss.per_sample(small).xreplace(small.substitution)
y_small = small.outputs[0]
for p, first in enumerate(small.params):
    for q, second in enumerate(small.params):
        assert sp.expand(sp.diff(E_small, first, second) - H_small.matrix[p, q]) == 0
        outer = y_small * (1 - y_small) * sp.diff(small_a, first) * sp.diff(small_a, second)
        assert sp.expand(GN_small.matrix[p, q] - outer) == 0

classifier = symnet.MLP([1, 4, 1], hidden="tanh", output="sigmoid")
pre_activation = symnet.MLP([1, 4, 1], hidden="tanh", output="linear")        # y = a_1^(2)
labels = (T > 0).astype(float)                                   # is sin(pi x) + noise > 0?
w_c = classifier.init_params(seed=0)
n_c = classifier.n_params
b = symnet.param_jacobian(pre_activation).evaluate(X, w_c).reshape(len(X), n_c)  # (N, W)
numeric_b = central_difference(lambda V: np.array([pre_activation.forward(X, v).ravel() for v in V]),
                               w_c).T
assert np.abs(numeric_b - b).max() < 1e-7 * np.abs(b).max()                   # b itself, (b)
y_c = classifier.forward(X, w_c).ravel()
gauss_newton_ce = (b.T * (y_c * (1 - y_c))) @ b                               # sum_n y(1-y) b b^T
split = hessian_split(classifier, "cross_entropy")
GN_symnet = split.gauss_newton.evaluate(X, w_c, labels)
assert np.allclose(gauss_newton_ce, GN_symnet, rtol=1e-12, atol=1e-14 * np.abs(GN_symnet).max())  # (c)
H_ce = symnet.hessian(classifier, "cross_entropy")
ce_report = symnet.check(H_ce, X, w_c, labels)                                 # (b) exact H
H_exact = H_ce.evaluate(X, w_c, labels)
gradient_ce = symnet.gradient(classifier, "cross_entropy")
numeric_H = central_difference(lambda V: np.array([gradient_ce.evaluate(X, v, labels) for v in V]), w_c)
assert ce_report.passed and np.abs(numeric_H - H_exact).max() < 1e-7 * np.abs(H_exact).max()
# the rest is sum_n (y - t) d2a/dw2, with d2a/dw2 by central differences of b
jacobian_of_a = symnet.param_jacobian(pre_activation)
d2a = central_difference(lambda V: np.array([jacobian_of_a.evaluate(X, v).ravel() for v in V]),
                         w_c).reshape(n_c, len(X), n_c)                       # [p, n, q]
residual_ce = np.einsum("n,pnq->pq", y_c - labels.ravel(), d2a)
gap = np.abs(H_exact - gauss_newton_ce - residual_ce).max()
print(f"||H - GN||_F / ||H||_F = {np.linalg.norm(H_exact - GN_symnet) / np.linalg.norm(H_exact):.3f}; "
      f"residual term by central differences agrees to {gap / np.abs(residual_ce).max():.1e}")
assert gap < 1e-7 * np.abs(residual_ce).max()
# the sum-of-squares outer product taken over is wrong here, by the factor y(1 - y) per sample
dy = b * (y_c * (1 - y_c))[:, None]                                          # dy/dw = y(1-y) b
assert np.linalg.norm(dy.T @ dy - GN_symnet) > 0.5 * np.linalg.norm(GN_symnet)
#
# Near a minimum $E(w) \approx E(w^*) + \tfrac12 (w-w^*)^\top H (w-w^*)$. A gradient step
# $w \leftarrow w - \eta H (w - w^*)$ multiplies the error along eigenvector $i$ by
# $1 - \eta\lambda_i$, so descent converges exactly when $|1 - \eta\lambda_i| < 1$ for all
# $i$, i.e. $\eta < 2/\lambda_{\max}$. On the quadratic model this is a theorem; we
# check it, and then check the real network obeys it too. Above the limit `fit` stops
# the run as soon as $E$ rises steadily (`TrainingDiverged`), and the error carries
# $\lambda_{\max}$, found by power iteration with exact products $Hv$ as above.

# %%
limit = 2.0 / lam.max()
below = widgets.step_size_view(H_star, 0.95 * limit, n_steps=400)
above = widgets.step_size_view(H_star, 1.05 * limit, n_steps=400)
print(below, above, sep="\n")
assert below.converges and below.final_distance < below.distances[0]
assert not above.converges and above.final_distance > 100 * above.distances[0]

# the network itself: start 1e-3 away from w*, run plain gradient descent
w_start = w_star + 1e-3 * np.random.default_rng(2).normal(size=net.n_params)
runs = {}
for fraction in (0.9, 1.1):
    try:
        result = fit(net, X, T, method="gd", lr=fraction * limit, w0=w_start, max_iter=400,
                     grad_tol=0)
    except TrainingDiverged as error:       # 1.1 x the limit: stopped, with the numbers
        result, diverged = error.result, error
    runs[fraction] = result.history.loss
E_star = symnet.loss_value(net, "sse", X, w_star, T)
print(f"E(w*) = {E_star:.6g}; step 0.9 x limit: {runs[0.9][0]:.6g} -> {runs[0.9][-1]:.6g}; "
      f"step 1.1 x limit: {runs[1.1][0]:.6g} -> {runs[1.1][-1]:.6g}")
print(diverged)
assert runs[0.9][-1] < runs[0.9][0] and runs[0.9][-1] - E_star < 0.5 * (runs[0.9][0] - E_star)
assert len(runs[1.1]) < len(runs[0.9]) and runs[1.1][-1] - E_star > runs[1.1][0] - E_star
assert np.all(np.diff(runs[1.1][-6:]) > 0)               # E rose in each of the last 5 steps
assert abs(diverged.lambda_max - lam.max()) < 1e-2 * lam.max()   # 1e-3 away from w*
assert abs(diverged.suggested_lr - 1 / diverged.lambda_max) < 1e-12 * diverged.suggested_lr
plots.curves({"step 0.9 x 2/lambda_max": np.array(runs[0.9]) - E_star,
              "step 1.1 x 2/lambda_max": np.array(runs[1.1]) - E_star},
             "iteration", "E - E(w*) (units of t^2)", "gradient descent on the network", log=True)

# %% [markdown]
# ## Try it
#
# Slide the step as a fraction of $2/\lambda_{\max}$ and watch the distance to the
# minimum on the quadratic model: it shrinks below 1 and explodes above it.

# %%
panel = widgets.step_size_explorer(H_star, fraction=0.5)
panel

# %%
panel.controls["fraction"].value = 1.02
assert not panel.result.converges and abs(panel.result.step - 1.02 * limit) < 1e-12 * limit
panel.controls["fraction"].value = 0.98
assert panel.result.converges
print(panel.result)

# %% [markdown]
# ## Exercises
#
# Type an answer and press Enter: the box says whether it is right and, for a typical
# mistake, which one. The solutions are in `lessons/solutions/07_hessian.toml`.
#
# **Exercise 07.1.** On the lesson's 1-4-1 network (sum-of-squares, one sample), the
# entry $H[w_{21}^{(1)}, w_{12}^{(2)}]$: both terms, outer product and residual.

# %%
questions = widgets.exercises(7)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 07.2.** The same entry for the 1-1-1 classifier (tanh hidden unit, logistic
# output) under cross-entropy: apply $y(1-y)\, b b^\top + (y - t)\nabla\nabla a$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 07.3.** The largest step for which gradient descent converges on
# $E = \tfrac12 w^\top H w$ with $H = \begin{pmatrix} 3 & 1 \\ 1 & 3 \end{pmatrix}$.

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The exact Hessian equals the outer-product matrix plus a residual
# term that is large far from a minimum and small near one; at a true minimum
# ($\|\nabla E\| < 10^{-8}$) its spectrum is positive and badly conditioned; it costs
# $O(W^2)$ while $Hv$ costs a fixed multiple (about 3.3) of one gradient; for a logistic
# output under cross-entropy the Gauss-Newton matrix is $\sum_n y_n(1-y_n)\, b_n b_n^\top$;
# and gradient descent converges exactly when the step is below $2/\lambda_{\max}$.
