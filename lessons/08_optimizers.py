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
# Time: about 35 minutes.
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


def status(run):
    """One line per run, from fit's own verdict: stopped as diverging, E rose, or E fell."""
    if run.diverged:
        return (f"DIVERGED: fit stopped it at iteration {run.result.n_iter}, "
                f"E = {run.final:.3g} (start {run.start:.3g})")
    if run.final > run.start:
        return f"NOT CONVERGING: E rose from {run.start:.3g} to {run.final:.3g}"
    return f"E fell from {run.start:.4g} to {run.final:.4g} in {len(run.losses) - 1} steps"


print("lr = 0.1: ", status(too_high))
print("lr = 1e-5:", status(too_low))
assert 0.1 > 2 / np.linalg.eigvalsh(H0).max()
assert too_high.diverged and too_high.final > 1e3 * too_high.start and too_high.result.n_iter < 20
assert too_low.final > 0.9 * too_low.start
plots.curves({"lr = 0.1 (too high)": too_high.losses, "lr = 0.01": runs["gd"].losses[:300],
              "lr = 1e-5 (too low)": too_low.losses}, "iteration",
             "E (units of t^2)", "gradient descent at three learning rates", log=True)

# %% [markdown]
# ## Learning-rate and batch-size sweeps, for every optimizer
#
# The same 200 steps at four learning rates, $10^{-3}$ to $1$, for each optimizer (sgd on
# mini-batches of 8). Each row's first panel holds the runs whose error fell; every run
# whose error blew up or rose gets a panel of its own, so that its scale does not flatten
# the others. The status of each run is fit's own verdict, printed beside it.

# %%
from symnet.teach.plots import LessonFigure


def sweep_figure(rows, title):
    """rows: {optimizer: {label: run}}. One row per optimizer: the converging runs together,
    then each diverging (or rising) run on its own axes."""
    failing = {m: [k for k, r in runs.items() if r.diverged or r.final > r.start]
               for m, runs in rows.items()}
    n_cols = 1 + max(len(f) for f in failing.values())
    fig = LessonFigure(figsize=(3.1 * n_cols, 2.3 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for row, (m, runs) in zip(axes, rows.items()):
        for label, run in runs.items():
            if label not in failing[m]:
                row[0].semilogy(run.losses, label=label)
        row[0].set_title(f"{m}: E fell", fontsize=8)
        for ax, label in zip(row[1:], failing[m]):
            run = runs[label]
            ax.semilogy(run.losses, "r.-")
            verdict = "stopped by fit" if run.diverged else "E rose"
            ax.set_title(f"{m}, {label}: {verdict}", fontsize=8)
        for ax in row[1 + len(failing[m]):]:
            ax.set_axis_off()
        for ax in row[:1 + len(failing[m])]:
            ax.set_xlabel("iteration", fontsize=8)
            ax.set_ylabel("E (units of t^2)", fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return fig, sum(len(f) for f in failing.values())


rates = [1e-3, 1e-2, 1e-1, 1.0]
lr_sweep = {m: {f"lr {r:g}": widgets.training_view(net, X, T, m, np.log10(r), n_iter=200,
                                                  batch_size=8 if m == "sgd" else None)
                for r in rates} for m in settings}
for m, sweep in lr_sweep.items():
    for label, run in sweep.items():
        print(f"{m:9} {label:9} {status(run)}")
figure, n_failing = sweep_figure(lr_sweep, "learning-rate sweep, 200 steps from the same start")
assert len([ax for ax in figure.axes if ax.axison]) == len(lr_sweep) + n_failing
figure

# %% [markdown]
# Plain gradient descent, SGD and momentum are stable at $10^{-3}$ and $10^{-2}$ and are
# stopped as diverging at $0.1$ and $1$ (above $2/\lambda_{\max} = 0.04$ for gd; momentum's
# limit $2(1+\mu)/\lambda_{\max} = 0.077$). The adaptive methods divide the step by a running
# size of the gradient, so they survive larger rates: Adam reduces $E$ at every rate here,
# and RMSprop at $\eta = 1$ ends *above* its start without being stopped (fit stops a run
# only when $E$ passes 1000 times its start, or rises steadily on a full-batch gd or
# momentum run), so it is reported as not converging, not as a success.

# %%
limit = 2 / np.linalg.eigvalsh(H0).max()
for m in ["gd", "sgd", "momentum"]:
    runs_m = lr_sweep[m]
    assert all(runs_m[f"lr {r:g}"].final < runs_m[f"lr {r:g}"].start for r in [1e-3, 1e-2])
    assert all(runs_m[f"lr {r:g}"].diverged for r in [1e-1, 1.0])
assert 1e-2 < limit < 1e-1 and 1e-2 < 1.9 * limit < 1e-1      # gd's and momentum's limits
assert all(r.final < r.start and not r.diverged for r in lr_sweep["adam"].values())
rms_one = lr_sweep["rmsprop"]["lr 1"]
assert not rms_one.diverged and rms_one.final > rms_one.start
assert "NOT CONVERGING" in status(rms_one)

# %% [markdown]
# Now the batch: every optimizer at its rate from the first cell, with mini-batches of
# 3, 10 and all 30 samples (gd on mini-batches *is* SGD, so they share a row). Smaller
# batches give noisier gradients: $E$ (always measured on all 30 samples) goes up on more
# of the steps, and after the same number of *updates* it is higher.

# %%
batch_sweep = {m: {f"batch {b}": widgets.training_view(net, X, T, m, settings[m], n_iter=200,
                                                      batch_size=b)
                   for b in [3, 10, 30]} for m in ["sgd", "momentum", "rmsprop", "adam"]}
rising = {m: [float(np.mean(np.diff(r.losses) > 0)) for r in sweep.values()]
          for m, sweep in batch_sweep.items()}
for m, sweep in batch_sweep.items():
    for (label, run), up in zip(sweep.items(), rising[m]):
        print(f"{m:9} {label:9} {status(run)}; E rose on {up:.0%} of the steps")
figure, n_failing = sweep_figure(batch_sweep, "batch-size sweep, 200 updates at each "
                                              "optimizer's rate")
assert n_failing == 0
figure

# %%
for m, sweep in batch_sweep.items():
    finals = [r.final for r in sweep.values()]
    assert np.all(np.diff(rising[m]) < 0), m          # larger batch: fewer steps up
    assert finals[-1] == min(finals), m               # the full batch gets furthest per update
assert rising["sgd"][-1] == 0.0                       # full-batch gd never goes up at this rate

# %% [markdown]
# ## Momentum on the exact Hessian
#
# Why does momentum help? Near a minimum $w^\star$ the error is a quadratic with the exact
# Hessian $H$, and in the eigenbasis of $H$ every direction is its own one-dimensional
# problem (Goh, "Why Momentum Really Works", *Distill* 2017). For the heavy ball with step
# $\alpha$ and momentum $\beta$, the coordinate $c$ along an eigenvector with eigenvalue
# $\lambda$ and its velocity $u$ evolve as
#
# $$\begin{pmatrix} c_{k+1} \\ u_{k+1} \end{pmatrix} = R_\lambda \begin{pmatrix} c_k \\ u_k \end{pmatrix},
# \qquad R_\lambda = \begin{pmatrix} 1 - \alpha\lambda & \beta \\ -\alpha\lambda & \beta \end{pmatrix},$$
#
# so that direction shrinks by the spectral radius $\rho(R_\lambda)$ per step (for $\beta = 0$,
# gradient descent, that is $|1 - \alpha\lambda|$). The best choice from the extreme eigenvalues
# alone is
#
# $$\alpha^\star = \Big(\frac{2}{\sqrt{\lambda_{\min}} + \sqrt{\lambda_{\max}}}\Big)^2, \qquad
# \beta^\star = \Big(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\Big)^2, \qquad \kappa = \frac{\lambda_{\max}}{\lambda_{\min}},$$
#
# which makes *every* direction converge at the same rate $\sqrt{\beta^\star} = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)$,
# against $(\kappa - 1)/(\kappa + 1)$ for gradient descent at its best step $2/(\lambda_{\min} + \lambda_{\max})$.
#
# The network's plain error has a Hessian that is singular to rounding at its minimum
# (lesson 7), so there $\kappa$ is useless; with weight decay, $E + \tfrac{0.1}{2}\|w\|^2$,
# the minimum is strict. We train to it with Levenberg-Marquardt, polish it with three
# Newton steps on the exact Hessian, and check that Hessian three ways.

# %%
import sympy as sp

import symnet
from symnet.derive.curvature_terms import hessian_vector_product
from symnet.numdiff.differences import central_difference
from symnet.train.fitting import fit

decay = symnet.get_loss("sse", net, 0.1)                     # E + 0.1/2 ||w||^2
grad_decay, hess_decay = symnet.gradient(net, decay), symnet.hessian(net, decay)
w_star = fit(net, X, T, method="lm", max_iter=500, seed=0, weight_decay=0.1).weights
for _ in range(3):
    w_star = w_star - np.linalg.solve(hess_decay.evaluate(X, w_star, T),
                                      grad_decay.evaluate(X, w_star, T))
g_star = np.linalg.norm(grad_decay.evaluate(X, w_star, T))
H = hess_decay.evaluate(X, w_star, T)
print(f"||dE/dw|| at w* = {g_star:.1e}")
assert g_star < 1e-10

# (a) symbolic: SymPy differentiates one sample's written-out error twice; the decay adds 0.1 I
H_sse = symnet.hessian(net, "sse")
E_full = H_sse.loss.per_sample(net).xreplace(net.substitution)
for p in range(net.n_params):
    for q in range(p, net.n_params):
        second = sp.diff(E_full, net.params[p], net.params[q])
        assert sp.expand(second - H_sse.matrix[p, q]) == 0, (net.params[p], net.params[q])
assert np.allclose(H, H_sse.evaluate(X, w_star, T) + 0.1 * np.eye(net.n_params),
                   rtol=0, atol=1e-12 * np.abs(H).max())
# (b) central differences of the exact gradient, column by column
numeric_H = central_difference(lambda V: np.array([grad_decay.evaluate(X, v, T) for v in V]),
                               w_star)
relative = np.abs(numeric_H - H).max() / np.abs(H).max()
print(f"Hessian vs central differences of the gradient: {relative:.1e}")
assert relative < 1e-7
# (c) the other routes: the named entries, and Hessian-vector products (R-operator)
assert np.allclose(hess_decay.evaluate_entries(X, w_star, T), H, rtol=1e-10, atol=1e-12)
hvp = hessian_vector_product(net, decay)
columns = np.column_stack([hvp.evaluate(X, w_star, T, e) for e in np.eye(net.n_params)])
assert np.allclose(columns, H, rtol=1e-10, atol=1e-12)

# %% [markdown]
# From $\lambda_{\min}$ and $\lambda_{\max}$ alone: the optimal step and momentum, and the
# rate of every direction for three settings, each computed from its $2\times 2$ matrix.

# %%
lam, Q = np.linalg.eigh(H)
lam_min, lam_max = lam[0], lam[-1]
kappa = lam_max / lam_min
alpha = (2 / (np.sqrt(lam_min) + np.sqrt(lam_max))) ** 2
beta = ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
print(f"lambda_min = {lam_min:.4g}, lambda_max = {lam_max:.4g}, kappa = {kappa:.4g}")
print(f"alpha* = {alpha:.4g}, beta* = {beta:.4g}, rate sqrt(beta*) = {np.sqrt(beta):.4f}; "
      f"gd at 2/(lambda_min + lambda_max): rate {(kappa - 1) / (kappa + 1):.5f}")


def direction_rates(step, momentum):
    """rho(R_lambda) for every eigenvalue of H."""
    return np.array([np.abs(np.linalg.eigvals([[1 - step * l, momentum],
                                               [-step * l, momentum]])).max() for l in lam])


choices = {"gd, best step": (2 / (lam_min + lam_max), 0.0),
           "momentum, alpha* and beta*": (alpha, beta),
           "momentum, alpha*/2 and beta*": (alpha / 2, beta)}
predicted = {name: direction_rates(*c) for name, c in choices.items()}
assert np.allclose(predicted["momentum, alpha* and beta*"], np.sqrt(beta), rtol=1e-6)
assert np.allclose(predicted["gd, best step"][[0, -1]], (kappa - 1) / (kappa + 1), rtol=1e-12)
# optimal: no nearby (step, momentum) has a smaller worst-direction rate
worst = direction_rates(alpha, beta).max()
assert all(direction_rates(alpha * f, min(beta * m, 0.999)).max() >= worst - 1e-9
           for f in [0.8, 0.95, 1.05, 1.2] for m in [0.9, 0.98, 1.02, 1.05])

# %% [markdown]
# Run the heavy ball (symnet's `Momentum` rule) in the eigenbasis, where the gradient of the
# quadratic is $\lambda \odot c$, from $c = 1$ in every direction, and measure each
# direction's rate as $(s_{400}/s_{200})^{1/200}$ with $s_k = \sqrt{c_k^2 + c_{k-1}^2}$ (the
# size of the direction's state; $c_k$ alone oscillates through zero).

# %%
def eigenbasis_run(step, momentum, n_steps=400):
    rule = Momentum(n_params=len(lam), lr=step, momentum=momentum)
    c = np.ones(len(lam))
    path = [c]
    for _ in range(n_steps):
        c = c + rule.update(lam * c)
        path.append(c)
    path = np.array(path)
    size = np.hypot(path[1:], path[:-1])
    return (size[-1] / size[len(size) // 2]) ** (1 / (len(size) - 1 - len(size) // 2))


measured = {name: eigenbasis_run(*c) for name, c in choices.items()}
for name in choices:
    print(f"{name:30} worst predicted {predicted[name].max():.5f}, "
          f"largest |measured - predicted| {np.abs(measured[name] - predicted[name]).max():.1e}")
    assert np.abs(measured[name] - predicted[name]).max() < 5e-3, name
fig = LessonFigure(figsize=(6, 3.5))
ax = fig.subplots()
for name in choices:
    line, = ax.semilogx(lam, predicted[name], label=f"{name} (predicted)")
    ax.semilogx(lam, measured[name], "o", color=line.get_color(), ms=4)
ax.set_xlabel("eigenvalue lambda_i of H (units of E per w^2)")
ax.set_ylabel("rate per step (factor, 1 = no progress)")
ax.set_title("each eigendirection's rate: lines predicted, dots measured", fontsize=9)
ax.legend(fontsize=7)
fig

# %% [markdown]
# The same on the network itself: start $10^{-3}$ away from $w^\star$ in a random direction and
# train with the exact gradient. Momentum at $(\alpha^\star, \beta^\star)$ closes the distance at
# $\sqrt{\beta^\star}$ per step, as the quadratic predicts; gradient descent at its best step
# has barely started after the same 400 steps. To shrink the distance by $10^6$ it needs
# about $\ln 10^6 / \ln\frac{\kappa + 1}{\kappa - 1} \approx 11\,000$ steps against momentum's
# $\ln 10^6 / \ln\frac{\sqrt\kappa + 1}{\sqrt\kappa - 1} \approx 280$: about $\sqrt\kappa \approx 40$
# times fewer.

# %%
w_start = w_star + 1e-3 * np.random.default_rng(0).normal(size=net.n_params)


def distances(step, momentum, n_steps=400):
    """||w_k - w*|| for the heavy ball on the network's regularised error."""
    rule = Momentum(n_params=net.n_params, lr=step, momentum=momentum)
    w, out = w_start.copy(), [np.linalg.norm(w_start - w_star)]
    for _ in range(n_steps):
        w = w + rule.update(grad_decay.evaluate(X, w, T))
        out.append(np.linalg.norm(w - w_star))
    return np.array(out)


heavy, plain = distances(alpha, beta), distances(2 / (lam_min + lam_max), 0.0)
late = np.arange(100, 401)
rate_heavy = np.exp(np.polyfit(late, np.log(heavy[late]), 1)[0])
rate_plain = np.exp(np.polyfit(late, np.log(plain[late]), 1)[0])
print(f"momentum: measured rate {rate_heavy:.4f} (predicted {np.sqrt(beta):.4f}); "
      f"distance {heavy[0]:.2e} -> {heavy[-1]:.2e}")
print(f"gd:       measured rate {rate_plain:.5f} (predicted {(kappa - 1) / (kappa + 1):.5f}); "
      f"distance {plain[0]:.2e} -> {plain[-1]:.2e}")
steps_needed = {name: np.log(1e-6) / np.log(r) for name, r in
                [("gd", (kappa - 1) / (kappa + 1)), ("momentum", np.sqrt(beta))]}
print({k: round(v) for k, v in steps_needed.items()})
assert abs(rate_heavy - np.sqrt(beta)) < 5e-3
assert (kappa - 1) / (kappa + 1) - 2e-3 < rate_plain < 1 and plain[-1] > 0.3 * plain[0]
assert heavy[-1] < 1e-6 * heavy[0]
assert abs(steps_needed["gd"] / steps_needed["momentum"] / np.sqrt(kappa) - 1) < 0.01
plots.curves({"momentum, alpha*, beta*": heavy, "gd, 2/(lambda_min + lambda_max)": plain},
             "iteration", "||w - w*|| (units of w)", "the network near its minimum", log=True)

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
print(status(slow))

# %% [markdown]
# ## Exercises
#
# Type a number and press Enter; the box says right or not, and names a typical slip.
# (The solutions, with the working, are in `lessons/solutions/08_optimizers.toml`.)
#
# **Exercise 8.1.** Adam with $\eta = 0.001$ starts from $m = v = 0$ and receives
# $g = (-3, 0.5, 10^{-4})$. What is its first update $\Delta w_3$? (The third gradient is tiny.)

# %%
questions = widgets.exercises(8)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 8.2.** A quadratic error has Hessian eigenvalues from $\lambda_{\min} = 1$ to
# $\lambda_{\max} = 100$. Which momentum $\beta$ makes every eigendirection converge at the
# same, fastest rate?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 8.3.** For the same quadratic, which step $\alpha$ goes with that momentum?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** Same gradient, five update rules: momentum and the adaptive methods
# get further than plain gradient descent in the same number of steps here; a rate
# above the stability limit explodes, and one far below it barely moves; adaptive methods
# survive larger rates, and smaller batches make every method noisier per update. Near a
# minimum the exact Hessian tells the whole story: each eigendirection converges at the
# spectral radius of its $2 \times 2$ matrix, and $\alpha^\star, \beta^\star$ from $\lambda_{\min}$
# and $\lambda_{\max}$ make momentum about $\sqrt\kappa$ times faster than gradient descent.
