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
# # Lesson 5: Numerical differentiation
#
# *Time: about 30 minutes.*
#
# A difference quotient approximates a derivative with nothing but function
# values. It is how we *check* exact derivatives, never how we compute them: a
# gradient by differences costs two forward passes per weight. Two errors
# compete in it:
#
# * **truncation**: the Taylor terms the quotient drops, $O(h)$ for the forward
#   difference $\frac{f(a+h)-f(a)}{h}$ and $O(h^2)$ for the central difference
#   $\frac{f(a+h)-f(a-h)}{2h}$;
# * **round-off**: $f$ is known only to about $\epsilon \approx 2.2\times10^{-16}$ relative,
#   and dividing by a small $h$ amplifies it, $O(\epsilon/h)$.
#
# Their sum is smallest near $h \approx \sqrt{\epsilon} \approx 10^{-8}$ (forward) and
# $h \approx \epsilon^{1/3} \approx 6\times10^{-6}$ (central) (Nocedal & Wright,
# *Numerical Optimization*, 2nd ed., sec. 8.1).

# %%
import numpy as np

import symnet
from symnet import examples, plots, widgets

eps = np.finfo(float).eps
steps = np.logspace(-14, -1, 53)
forward_errors, central_errors = widgets.difference_errors("tanh", 0.5, steps)
plots.loglog(steps, {"forward difference": forward_errors, "central difference": central_errors},
             "step size h (units of a)", "relative error of tanh'(0.5) (dimensionless)",
             "truncation error (right) against round-off error (left)")

# %% [markdown]
# The errors are measured against the exact $\tanh'(a) = 1 - \tanh^2 a$, which is itself
# checked three ways: SymPy differentiates $\tanh$ symbolically, the complex step
# $\operatorname{Im} \tanh(a + ih)/h$ (no subtraction, so no round-off from it) agrees to
# machine precision, and the best central difference agrees to better than $10^{-7}$.

# %%
import sympy as sp

a_sym = sp.Symbol("a")
tanh_prime = sp.diff(sp.tanh(a_sym), a_sym)
assert sp.simplify(tanh_prime - (1 - sp.tanh(a_sym) ** 2)) == 0           # (a) symbolic
exact_tanh_prime = float(tanh_prime.subs(a_sym, sp.Rational(1, 2)).evalf(30))
# symnet's NumPy derivative (used by the plot) is this value to rounding
assert abs(float(symnet.activation("tanh").derivative_numpy(0.5)) - exact_tanh_prime) <= 2 * eps
complex_step = np.tanh(0.5 + 1e-30j).imag / 1e-30                          # (c) another route
print(f"tanh'(0.5): SymPy {exact_tanh_prime:.16f}, complex step {complex_step:.16f}")
assert abs(complex_step - exact_tanh_prime) <= 2 * eps * exact_tanh_prime
assert central_errors.min() < 1e-7                                         # (b) central differences

# %% [markdown]
# The plot shows the V shapes the theory predicts. Every claim, asserted:

# %%
best_forward = steps[np.argmin(forward_errors)]
best_central = steps[np.argmin(central_errors)]
print(f"best forward step {best_forward:.1e} (sqrt(eps) = {np.sqrt(eps):.1e}), "
      f"error {forward_errors.min():.1e}")
print(f"best central step {best_central:.1e} (eps^(1/3) = {eps ** (1 / 3):.1e}), "
      f"error {central_errors.min():.1e}")
assert 1e-10 <= best_forward <= 1e-6 and 1e-7 <= best_central <= 1e-3
assert central_errors.min() < 1e-9 < forward_errors.min()
# slopes on the truncation side: 1 for forward, 2 for central
right = steps > 1e-3
slope_forward = np.polyfit(np.log10(steps[right]), np.log10(forward_errors[right]), 1)[0]
slope_central = np.polyfit(np.log10(steps[right]), np.log10(central_errors[right]), 1)[0]
print(f"truncation slopes: forward {slope_forward:.2f}, central {slope_central:.2f}")
assert abs(slope_forward - 1) < 0.1 and abs(slope_central - 2) < 0.1
# on the round-off side the error grows as h shrinks (about like 1/h)
assert central_errors[0] > 1e3 * central_errors.min()

# %% [markdown]
# ## Richardson extrapolation
#
# The central difference has an error expansion in even powers,
# $D(h) = D + c_1 h^2 + c_2 h^4 + \dots$, so $\frac{4 D(h/2) - D(h)}{3}$ cancels the
# $h^2$ term and leaves $O(h^4)$: a large, round-off-safe step gives a tiny error.
# Repeating it (a Richardson table) removes one more power per column.

# %%
from symnet.numdiff.richardson import extrapolate

tanh = symnet.activation("tanh")
exact = float(tanh.derivative_numpy(0.5))
D = lambda h: (np.tanh(0.5 + h) - np.tanh(0.5 - h)) / (2 * h)   # noqa: E731
h = 0.1
once = (4 * D(h / 2) - D(h)) / 3
table_value, truncation_estimate, weights = extrapolate([D(h / 2 ** k) for k in range(4)], ratio=2.0)
print(f"D(h) error {abs(D(h) - exact):.1e};  one Richardson step {abs(once - exact):.1e};  "
      f"four steps {abs(table_value - exact):.1e} (estimate {truncation_estimate:.1e})")
assert abs(once - exact) < abs(D(h) - exact) / 50
assert abs(table_value - exact) < 1e-11 and abs(table_value - exact) <= truncation_estimate

# %% [markdown]
# ## Gradient checking
#
# `symnet.check` differentiates the *function* a derivation differentiates (here
# the error $E$) numerically, and compares entry by entry, with an error estimate
# per entry. On the worked 2-2-2 example of lesson 4:

# %%
ex = examples.worked_example()
grad = symnet.gradient(ex.net, "sse")
report = symnet.check(grad, ex.X, ex.w, ex.T)
print(report)
assert report.passed and report.max_rel_error < 1e-7
richardson = symnet.check(grad, ex.X, ex.w, ex.T, method="richardson")
complex_step = symnet.check(grad, ex.X, ex.w, ex.T, method="complex")
print(f"richardson {richardson.max_rel_error:.1e}, complex step {complex_step.max_rel_error:.1e}")
assert richardson.passed and complex_step.max_rel_error < 1e-12

# %% [markdown]
# The gradient checked here is itself the other two ways: SymPy differentiating the
# written-out $E$ directly equals backpropagation's formula for all 12 parameters, and
# the entry-by-entry evaluation of the named form equals the matrix form.

# %%
E_full = grad.loss.per_sample(ex.net).xreplace(ex.net.substitution)
for p in ex.net.params:                                                     # (a) symbolic
    assert sp.expand(sp.diff(E_full, p) - grad.matrix[ex.net.param_index(p)]) == 0, p
assert np.allclose(grad.evaluate_entries(ex.X, ex.w, ex.T), grad.evaluate(ex.X, ex.w, ex.T),
                   rtol=1e-12, atol=0)                                      # (c) entries = matrix

# %% [markdown]
# A check is only worth something if it catches mistakes. Plant one: forget the
# factor $h'(a)$ in a hidden delta (a classic slip) and compare with the same
# central differences. The entries through that delta are wrong by orders of
# magnitude more than the tolerance.

#
# The check itself costs what the introduction said: two forward passes per weight,
# counted here as the points at which $E$ is evaluated.

# %%
from symnet.numdiff.differences import central_difference

net, X, T, w = ex.net, ex.X, ex.T, ex.w
forward_passes = []


def error_at(V):
    """E at each row of V (one weight vector per row), counting the forward passes."""
    forward_passes.append(len(V))
    return np.array([symnet.loss_value(net, "sse", X, v, T) for v in V])


numeric = central_difference(error_at, w)
print(f"W = {net.n_params} weights: {sum(forward_passes)} forward passes")
assert sum(forward_passes) == 2 * net.n_params
planted = grad.evaluate(X, w, T).copy()
z1 = 0.593269992                                  # h'(a) = z (1 - z) for the logistic unit
for name in ["w_11^(1)", "w_12^(1)", "b_1^(1)"]:
    planted[net.param_index(name)] /= z1 * (1 - z1)
relative = np.abs(planted - numeric) / np.maximum(np.abs(planted), np.abs(numeric))
caught = [net.param_name(int(j)) for j in np.flatnonzero(relative > 1e-7)]
print("entries flagged:", caught)
assert caught == ["w_11^(1)", "w_12^(1)", "b_1^(1)"]

# %% [markdown]
# ## What a kink does
#
# At a ReLU kink there is no derivative: a central difference straddling it
# returns the average of the two one-sided slopes, and comparing it with any
# convention would report a false failure. `symnet.check` finds the units whose
# pre-activation sits within a step of a kink and gives those entries the verdict
# `kink`, with both one-sided derivatives, instead of `fail`.

# %%
relu_net = examples.network("relu")
W, b = relu_net.unpack(relu_net.init_params(seed=2))
X_kink = np.array([[0.4, -0.7]])
b[0][0] -= (X_kink @ W[0].T + b[0])[0, 0]         # put a_1^(1) exactly at the kink
w_kink = relu_net.pack(W, b)
kink_report = symnet.check(symnet.gradient(relu_net, "sse"), X_kink, w_kink, [[0.3]])
print(kink_report)
assert kink_report.passed and kink_report.count("kink") == 3 and kink_report.count("fail") == 0
for entry in kink_report.kinks:
    assert entry.exact == 0.0                                    # the convention h'(0) = 0
    # the straddling average of the two one-sided slopes (to O(h), h ~ 6e-6)
    assert abs(entry.numeric - (entry.left + entry.right) / 2) < 1e-5 * abs(entry.left - entry.right)

# %% [markdown]
# ## Try it
#
# Move $\log_{10} h$ along the curve and watch the forward and central errors; try
# ReLU at $a = 0$ to see a difference quotient that means nothing.

# %%
panel = widgets.difference_explorer("tanh", 0.5, -5.0)
panel

# %%
panel.controls["log10_step"].value = -11.0
tiny = panel.result
assert tiny.central_error > 1e3 * widgets.difference_view("tanh", 0.5, -5.0).central_error
relu_at_kink = widgets.difference_view("relu", 0.0, -3.0)
assert relu_at_kink.central == 0.5 and relu_at_kink.exact == 0.0
print(tiny)
# At the kink a relative error means nothing: the "exact" 0 is a convention, not a
# derivative. What the quotients measure are the one-sided slopes 0 (left) and 1 (right).
relu = symnet.activation("relu")
step = relu_at_kink.h
left = (relu.numpy(0.0) - relu.numpy(-step)) / step
right = (relu.numpy(step) - relu.numpy(0.0)) / step
print(f"relu at a = 0, h = {step:g}: left slope {left:g}, right slope {right:g}, "
      f"central difference {relu_at_kink.central:g} = their average; h'(0) = "
      f"{relu_at_kink.exact:g} by convention (no derivative exists, so no relative error)")
assert left == 0.0 and right == 1.0 == relu_at_kink.forward
assert relu_at_kink.central == (left + right) / 2

# %% [markdown]
# ## Exercises
#
# Type an answer and press Enter: the box says whether it is right and, for a typical
# mistake, which one. The solutions are in `lessons/solutions/05_numerical_differentiation.toml`
# (open it only when stuck).
#
# **Exercise 05.1.** The central difference errs by at most $h^2 M/6 + \epsilon |f(a)|/h$
# with $M = \max|f'''|$. Minimise this bound for $f = \exp$ at $a = 0$: which step $h$?

# %%
questions = widgets.exercises(5)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 05.2.** Combine two central differences of $\tanh$ at $a = 0.5$, with steps
# $0.1$ and $0.05$, into one Richardson estimate of $\tanh'(0.5)$.

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 05.3.** The planted slip above broke $\partial E/\partial b_1^{(1)}$ of the
# worked example. Write the correct formula.

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The central difference's error is smallest near $h \approx \epsilon^{1/3}$,
# below $10^{-9}$ relative for $\tanh'(0.5)$ (the forward difference's best stays above
# it); Richardson extrapolation buys accuracy with large steps; a gradient check costs two
# forward passes per weight, must catch a planted error and must not cry wolf at a kink.
