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
# computes Hessian-vector products in $O(W)$, and verifies the prediction behind
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
X, T = examples.regression_data(30, noise=0.1, seed=0)
print(net, "W =", net.n_params, " N =", len(X))

# %% [markdown]
# ## Exact, derived and checked
#
# symnet derives the exact Hessian symbolically (by the R-operator applied to the
# delta recursion) and evaluates it in matrix form. Checked against central
# differences of the exact gradient, and, on the smallest network, against SymPy
# differentiating the written-out error twice.

# %%
H_derivation = symnet.hessian(net, "sse")
w_far = net.init_params(seed=1)
report = symnet.check(H_derivation, X, w_far, T)
print(report.description if hasattr(report, "description") else "", "passed:", report.passed,
      f"max rel error {report.max_rel_error:.1e}")
assert report.passed and report.max_rel_error < 1e-7

tiny = examples.network("tiny")                       # 1-1-1: four parameters
H_tiny = symnet.hessian(tiny, "sse")
E_full = H_tiny.loss.per_sample(tiny).xreplace(tiny.substitution)
for p, q in [(0, 0), (0, 2), (1, 3), (2, 2)]:
    second = sp.diff(E_full, tiny.params[p], tiny.params[q])
    assert sp.expand(second - H_tiny.matrix[p, q]) == 0
H_tiny

# %% [markdown]
# ## Exact against outer product, far from and near a minimum
#
# Far from a minimum (the random starting weights) the residuals are large and
# the residual term is a large part of $H$; symnet warns. After training to a
# minimum with Levenberg-Marquardt, the outer product captures nearly all of $H$.

# %%
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    far = curvature_report(net, "sse", X, w_far, T)
print(far)
assert far.poor and any(issubclass(c.category, GaussNewtonWarning) for c in caught)

trained = fit(net, X, T, method="lm", max_iter=300, seed=0)
w_star = trained.weights
print(trained)
near = curvature_report(net, "sse", X, w_star, T)
print(near)
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
# iteration); Pearlmutter's R-operator gives $Hv$ exactly for the cost of about two
# gradients, without forming $H$.

# %%
for width in (4, 8, 16, 32):
    W = 1 * width + width + width * 1 + 1
    print(f"1-{width}-1: W = {W:4d}, Hessian entries W^2 = {W * W:6d}, distinct {W * (W + 1) // 2}")
assert (3 * 32 + 1) ** 2 / (3 * 16 + 1) ** 2 > 3.8

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
# ## The step-size limit $2/\lambda_{\max}$
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
# **Summary.** The exact Hessian equals the outer-product matrix plus a residual
# term that is large far from a minimum and small near one; its spectrum at a
# minimum is positive and badly conditioned; it costs $O(W^2)$ while $Hv$ costs
# $O(W)$; and gradient descent converges exactly when the step is below $2/\lambda_{\max}$.
