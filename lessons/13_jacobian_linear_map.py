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
# # Lesson 13: The Jacobian as a linear map
#
# Time: about 30 minutes.
#
# Near an input $x$ the network acts as the linear map $\Delta y \approx J\,\Delta x$
# (lesson 3). A linear map is read best through its singular value decomposition
# $J = U \Sigma V^\top$: it stretches the input direction $v_r$ by $\sigma_r$ into the output
# direction $u_r$, and sends the directions past its rank to zero. The chain rule makes $J$ a
# product of one linear map per layer,
#
# $$J = J^{(L)} \cdots J^{(1)}, \qquad J^{(l)} = \frac{\partial z^{(l)}}{\partial z^{(l-1)}}
#   = \operatorname{diag}\!\big(h_l'(a^{(l)})\big)\, W^{(l)}.$$
#
# This lesson reads singular values and rank per layer, follows them over the input
# space, splits $f(x) - f(x')$ among the inputs with *integrated gradients*, and adds the
# penalty $\|J\|_F^2$ to the loss, deriving its gradient with SymPy.

# %%
import numpy as np
import sympy as sp
from IPython.display import display

import symnet
from symnet import examples, plots, widgets
from symnet.numdiff.differences import central_difference

net = examples.network("lm")          # 3-4-2, tanh hidden, linear outputs (lessons 3 and 6)
w = net.init_params(seed=3)
x = np.array([0.5, -0.3, 0.8])
J = symnet.input_jacobian(net)


def layer_jacobians(net, x, w):
    """J^(l) = diag(h_l'(a^(l))) W^(l) at x, for l = 1..L (plain NumPy)."""
    A, _ = net.forward_layers(np.atleast_2d(x), w)
    weights, _ = net.unpack(w)
    factors = []
    for l in range(1, net.n_layers + 1):
        slope = net.activations[l - 1].derivative_numpy(A[l][0])     # h_l'(a^(l))
        factors.append(slope[:, None] * np.asarray(weights[l - 1]))  # its rows scale W^(l)
    return factors


J1, J2 = layer_jacobians(net, x, w)
print("J^(1) (4 x 3) =\n", J1.round(4), "\nJ^(2) (2 x 4) =\n", J2.round(4))

# %% [markdown]
# ## The product of the layer Jacobians is the Jacobian, three ways
#
# (a) symbolically: $\operatorname{diag}(h'(a^{(l)}))\,W^{(l)}$ built from the symbols, multiplied
# and written out, equals symnet's backpropagated $J$ entry by entry; (b) numerically: each
# layer's factor equals central differences of that layer's map $z^{(l-1)} \mapsto z^{(l)}$, and
# their product equals central differences of the whole network; (c) the product equals
# symnet's matrix-form evaluation.

# %%
symbolic_factors = []
for l in range(1, net.n_layers + 1):
    h = net.activations[l - 1]
    slopes = [h.derivative.subs(h.variable, a) for a in net.layer_pre_activations(l)]
    symbolic_factors.append(sp.diag(*slopes) * sp.Matrix(net.weights[l - 1]))
product = (symbolic_factors[1] * symbolic_factors[0]).xreplace(net.substitution)
assert product.shape == J.matrix.shape == (2, 3)
for k in range(2):
    for i in range(3):
        assert sp.expand(product[k, i] - J.matrix[k, i]) == 0            # (a)

A, Z = net.forward_layers(np.atleast_2d(x), w)
weights, biases = net.unpack(w)
for l, factor in enumerate((J1, J2), start=1):
    h = net.activations[l - 1]
    layer = lambda V, l=l, h=h: h.numpy(V @ np.asarray(weights[l - 1]).T   # noqa: E731
                                        + np.asarray(biases[l - 1]))
    numeric = central_difference(layer, Z[l - 1][0]).T
    assert np.abs(numeric - factor).max() / np.abs(factor).max() < 1e-7, l  # (b), per layer
numeric_J = central_difference(lambda V: net.forward(V, w), x).T
exact_J = J.evaluate(x, w)
assert np.abs(numeric_J - J2 @ J1).max() / np.abs(exact_J).max() < 1e-7     # (b)
assert np.allclose(J2 @ J1, exact_J, rtol=1e-13, atol=1e-15)                # (c)
print("J = J^(2) J^(1) =\n", exact_J.round(6))

# %% [markdown]
# ## Singular values and rank, layer by layer
#
# The rank of a product is at most the smallest rank of its factors, and its largest
# singular value (its largest stretch) at most the product of theirs. Here $J^{(1)}$ is
# $4 \times 3$ of rank 3 and $J^{(2)}$ is $2 \times 4$ of rank 2, so $J$ has rank 2: one input
# direction, $v_3$, is invisible to the outputs to first order.

# %%
def singular_values(matrix):
    return np.linalg.svd(matrix, compute_uv=False)


def rank(matrix):
    """The numerical rank: singular values above a relative 1e-10."""
    s = singular_values(matrix)
    return int(np.sum(s > 1e-10 * max(s.max(), 1e-300)))


for name, matrix in [("J^(1)", J1), ("J^(2)", J2), ("J", exact_J)]:
    print(f"{name:6} singular values {singular_values(matrix).round(4)}  rank {rank(matrix)}")
assert (rank(J1), rank(J2), rank(exact_J)) == (3, 2, 2)
assert rank(exact_J) <= min(rank(J1), rank(J2))
assert singular_values(exact_J)[0] <= singular_values(J2)[0] * singular_values(J1)[0]

U, sigma, Vt = np.linalg.svd(exact_J)
v1, v3 = Vt[0], Vt[2]
epsilon = 1e-4
along_v1 = net.forward(x + epsilon * v1, w) - net.forward(x, w)
along_v3 = net.forward(x + epsilon * v3, w) - net.forward(x, w)
print(f"step {epsilon} along v_1 moves y by {np.linalg.norm(along_v1):.3e} "
      f"(sigma_1 epsilon = {sigma[0] * epsilon:.3e}); along v_3 by {np.linalg.norm(along_v3):.1e}")
assert np.linalg.norm(along_v1 - epsilon * sigma[0] * U[:, 0]) < 1e-3 * epsilon * sigma[0]
assert np.linalg.norm(along_v3) < 1e-3 * epsilon * sigma[0]                 # second order only

# %% [markdown]
# Every input step $\Delta x$ of length 1 lands inside the ellipse with semi-axes
# $\sigma_1 u_1$ and $\sigma_2 u_2$: the image of the unit sphere of input steps.

# %%
steps = np.random.default_rng(0).normal(size=(2000, 3))
steps /= np.linalg.norm(steps, axis=1, keepdims=True)
images = steps @ exact_J.T
coordinates = images @ U / sigma                 # in the (u_1, u_2) frame, per sigma
assert np.all(np.sum(coordinates ** 2, axis=1) <= 1 + 1e-12)
assert np.linalg.norm(images, axis=1).max() <= sigma[0] * (1 + 1e-12)

angle = np.linspace(0, 2 * np.pi, 200)
ellipse = (U * sigma) @ np.vstack([np.cos(angle), np.sin(angle)])
fig = plots.LessonFigure(figsize=(4.8, 4.2))
ax = fig.subplots()
ax.plot(images[:, 0], images[:, 1], ".", ms=2, color="0.6", label="J dx for |dx| = 1")
ax.plot(ellipse[0], ellipse[1], "k-", lw=1, label="semi-axes sigma_1 u_1, sigma_2 u_2")
for r in range(2):
    ax.annotate("", xy=sigma[r] * U[:, r], xytext=(0, 0), arrowprops={"arrowstyle": "->"})
ax.set_aspect("equal")
ax.set_xlabel("change of y_1 (output units per unit input step)")
ax.set_ylabel("change of y_2 (output units per unit input step)")
ax.set_title("the image of the unit sphere of input steps", fontsize=9)
ax.legend(fontsize=7, loc="lower right")
fig

# %% [markdown]
# ## The rank changes over the input space
#
# A tanh unit's slope $h'(a) = 1 - \tanh^2 a$ fades but stays positive; a ReLU unit's is exactly
# 0 when the unit is off, which deletes its row of $J^{(1)}$. In a 2-3-2 ReLU network the rank
# of $J$ is therefore the number of active hidden units, capped at 2: it is piecewise constant, and
# changes where a unit switches on. Hidden unit 1 is on for $x_1 > 0$, unit 2 for $x_2 > 0$,
# unit 3 for $x_1 + x_2 < -3/2$.

# %%
assert np.all(symnet.activation("tanh").derivative_numpy(np.linspace(-15, 15, 61)) > 0)
relu_net = symnet.MLP([2, 3, 2], hidden="relu")
relu_w = relu_net.pack([[[1, 0], [0, 1], [-1, -1]], [[1, 2, -1], [0.5, -1, 1]]],
                       [[0, 0, -1.5], [0, 0]])
relu_J = symnet.input_jacobian(relu_net)
grid = np.linspace(-2, 2, 81) + 0.0125         # off the kinks x_1 = 0, x_2 = 0
X1, X2 = np.meshgrid(grid, grid)
points = np.column_stack([X1.ravel(), X2.ravel()])
jacobians = relu_J.evaluate(points, relu_w)
ranks = np.array([rank(Jn) for Jn in jacobians])
active = np.column_stack([points[:, 0] > 0, points[:, 1] > 0,
                          points[:, 0] + points[:, 1] < -1.5]).sum(axis=1)
assert np.array_equal(ranks, np.minimum(active, 2))
assert set(ranks) == {0, 1, 2}
print({r: int(np.sum(ranks == r)) for r in (0, 1, 2)}, "grid points of rank 0, 1, 2")

fig = plots.LessonFigure(figsize=(4.8, 4.0))
ax = fig.subplots()
image = ax.pcolormesh(X1, X2, ranks.reshape(X1.shape), shading="nearest", cmap="viridis",
                      vmin=0, vmax=2)
fig.colorbar(image, ax=ax, ticks=[0, 1, 2], label="rank of J(x)")
ax.set_xlabel("x_1 (input units)")
ax.set_ylabel("x_2 (input units)")
ax.set_title("rank of the 2-3-2 ReLU network's Jacobian", fontsize=9)
fig

# %% [markdown]
# This Jacobian, too, is checked three ways at a point with two active units: symbolically
# (its formula, with $\mathrm{Heaviside}(a, 0)$ for ReLU$'$, at exact rational inputs equals the
# hand product $W^{(2)} \operatorname{diag}(\text{active}) W^{(1)}$ in exact fractions), by central
# differences (the point is farther than the step from every kink), and by the layer product.

# %%
at = [sp.Rational(3, 4), sp.Rational(1, 2)]                    # units 1 and 2 on, unit 3 off
exact_point = {**dict(zip(relu_net.inputs, at)),
               **dict(zip(relu_net.params, map(sp.nsimplify, relu_w)))}
by_hand = (sp.Matrix([[1, 2, -1], [sp.Rational(1, 2), -1, 1]]) * sp.diag(1, 1, 0)
           * sp.Matrix([[1, 0], [0, 1], [-1, -1]]))
assert relu_J.matrix.xreplace(exact_point) == by_hand                         # (a)
x_relu = np.array([0.75, 0.5])
relu_numeric = central_difference(lambda V: relu_net.forward(V, relu_w), x_relu).T
relu_exact = relu_J.evaluate(x_relu, relu_w)
assert np.abs(relu_numeric - relu_exact).max() < 1e-7 * np.abs(relu_exact).max()  # (b)
R1, R2 = layer_jacobians(relu_net, x_relu, relu_w)
assert np.array_equal(R2 @ R1, relu_exact) and rank(relu_exact) == 2           # (c)

# %% [markdown]
# ## The trend of sensitivity along the input space
#
# Back to the tanh network. Along the line $x = (s, -0.3, 0.8)$, `symnet.sensitivity_trend`
# gives $J$ at every $s$ and `symnet.plot_trend` draws $\partial y_k/\partial x_1$. The largest
# singular value $\sigma_1(J)$ is the most any unit input step can move the outputs; it bounds
# every entry $|J_{ki}|$, and $\sum_r \sigma_r^2 = \|J\|_F^2$. Far out, the hidden units saturate
# and $\sigma_1$ falls, but the rank stays 2 all along the line (tanh slopes never vanish).

# %%
s = np.linspace(-4, 4, 81)
trend = symnet.sensitivity_trend(net, w, "x_1", s, base_x=[0.0, -0.3, 0.8])
display(symnet.plot_trend(trend))
spectra = np.array([singular_values(Jn) for Jn in trend.jacobian])
assert np.all(spectra[:, 0] >= np.abs(trend.jacobian).max(axis=(1, 2)) * (1 - 1e-12))
assert np.allclose((spectra ** 2).sum(axis=1), (trend.jacobian ** 2).sum(axis=(1, 2)),
                   rtol=1e-12)
peak = spectra[:, 0].max()
assert all(rank(Jn) == 2 for Jn in trend.jacobian)
assert spectra[0, 0] < 0.5 * peak and spectra[-1, 0] < 0.5 * peak
print(f"sigma_1 along the line: {spectra[0, 0]:.3f} at s = -4, peak {peak:.3f} at "
      f"s = {s[spectra[:, 0].argmax()]:.1f}, {spectra[-1, 0]:.3f} at s = 4")

fig = plots.trend_figure(s, {"sigma_1(J)": spectra[:, 0], "sigma_2(J)": spectra[:, 1]},
                         "x_1 (input units; x_2 = -0.3, x_3 = 0.8)",
                         "singular value (output units per input unit)",
                         "how far a unit input step can move y, along x_1")
fig

# %% [markdown]
# ## Integrated gradients: completeness
#
# A local slope does not say how much of $f(x) - f(x')$ each input is responsible for.
# Integrated gradients (Sundararajan, Taly & Yan, *Axiomatic attribution for deep
# networks*, ICML 2017) average the gradient along the straight path from a baseline $x'$ to $x$:
#
# $$\mathrm{IG}_i(x) = (x_i - x'_i) \int_0^1 \frac{\partial f}{\partial x_i}\big(x' + \alpha (x - x')\big)\, d\alpha .$$
#
# By the chain rule $\frac{d}{d\alpha} f(x' + \alpha(x - x')) = \sum_i J_i\,(x_i - x'_i)$, so the
# attributions add up exactly to $f(x) - f(x')$: **completeness**. Computed with $m$ steps the
# integral is a sum, whose error shrinks like $1/m$ for the left Riemann sum and like $1/m^2$ for
# the trapezoid rule. Here $f = y_1$, $x = (1.5, -1, 2)$ and the baseline is $x' = 0$.

# %%
x_ig, baseline = np.array([1.5, -1.0, 2.0]), np.zeros(3)
change = (net.forward(x_ig, w) - net.forward(baseline, w))[0]


def integrated_gradients(alphas, weights):
    """IG for y_1 with the quadrature rule (alphas, weights) on [0, 1]."""
    path = baseline + alphas[:, None] * (x_ig - baseline)
    slopes = J.evaluate(path, w)[:, 0, :]                      # dy_1/dx_i along the path
    return (x_ig - baseline) * (weights @ slopes)


nodes, gauss = np.polynomial.legendre.leggauss(30)             # reference: Gauss-Legendre
reference = integrated_gradients((nodes + 1) / 2, gauss / 2)
print("attributions", reference.round(6), " sum", reference.sum().round(12),
      " f(x) - f(x')", round(change, 12))
assert abs(reference.sum() - change) < 1e-12 * abs(change)

rules = {"left Riemann": lambda m: (np.arange(m) / m, np.full(m, 1 / m)),
         "trapezoid": lambda m: (np.linspace(0, 1, m + 1),
                                 np.r_[0.5, np.ones(m - 1), 0.5] / m)}
ms = 2 ** np.arange(1, 11)
errors = {name: np.array([abs(integrated_gradients(*rule(m)).sum() - change) for m in ms])
          for name, rule in rules.items()}
orders = {name: -np.polyfit(np.log(ms[3:]), np.log(e[3:]), 1)[0] for name, e in errors.items()}
print({name: f"{order:.2f}" for name, order in orders.items()}, "orders of convergence")
assert all(np.all(np.diff(e[2:]) < 0) for e in errors.values())    # shrinks as m grows
assert abs(orders["left Riemann"] - 1) < 0.1 and abs(orders["trapezoid"] - 2) < 0.1
assert errors["trapezoid"][-1] < 1e-5 * abs(change)
plots.loglog(ms, {f"{name} (order {orders[name]:.2f})": e for name, e in errors.items()},
             "steps m along the path from x' to x",
             "|sum of attributions - (f(x) - f(x'))| (units of y_1)",
             "completeness of integrated gradients, by quadrature rule")

# %% [markdown]
# ## A Jacobian penalty, and its gradient derived with SymPy
#
# Adding $\lambda\,\Omega(w)$, $\Omega = \sum_n \|J(x_n; w)\|_F^2 = \sum_n \sum_{k,i} J_{ki}(x_n)^2$,
# to the error rewards a network whose outputs change slowly with its inputs (a
# "contractive" penalty; Rifai et al., ICML 2011). Its gradient $\partial\Omega/\partial w$ is a derivative of a
# derivative, so it needs $h''$. SymPy gets it from symnet's written-out Jacobian `.matrix`
# by differentiating the sum of squares. A hand derivation in matrix form for the
# 3-4-2 network, with $J = W^{(2)} D W^{(1)}$, $D = \operatorname{diag}(h'(a^{(1)}))$ and
# $G = W^{(2)\top} J\, W^{(1)\top}$, is the second route:
#
# $$\frac{\partial \Omega}{\partial W^{(2)}} = 2 J\, W^{(1)\top} D, \quad
#   \frac{\partial \Omega}{\partial W^{(1)}} = 2 D W^{(2)\top} J + 2\,\operatorname{diag}(G)\, h''(a^{(1)})\, x^\top, \quad
#   \frac{\partial \Omega}{\partial b^{(1)}} = 2\,\operatorname{diag}(G)\, h''(a^{(1)}), \quad
#   \frac{\partial \Omega}{\partial b^{(2)}} = 0 .$$
#
# Both are checked three ways: (a) symbolically, the hand form written in SymPy minus
# SymPy's derivative expands to 0; (b) against central differences of a plain NumPy $\Omega$;
# (c) the hand form in NumPy against the lambdified SymPy gradient.

# %%
def penalty_gradient(net):
    """Omega_n = ||J(x_n)||_F^2 and its gradient in w, from input_jacobian(net).matrix."""
    entries = symnet.input_jacobian(net).matrix
    omega = sp.Add(*[entry ** 2 for entry in entries])
    gradient = [sp.diff(omega, p) for p in net.params]
    return omega, gradient, sp.lambdify([net.inputs, net.params], gradient, "numpy", cse=True)


omega, omega_gradient, omega_gradient_at = penalty_gradient(net)
print(f"d Omega/dw: {len(omega_gradient)} entries, {sp.count_ops(omega_gradient[0])} operations "
      "in the first")

# (a) the hand matrix form, in symbols
h = net.activations[0]
a1 = sp.Matrix(net.layer_pre_activations(1)).xreplace(net.substitution)
D = sp.diag(*[h.derivative.subs(h.variable, a) for a in a1])
h2 = sp.Matrix([h.second_derivative.subs(h.variable, a) for a in a1])
W1, W2, x_col = sp.Matrix(net.weights[0]), sp.Matrix(net.weights[1]), sp.Matrix(net.inputs)
J_sym = W2 * D * W1
G = W2.T * J_sym * W1.T
G_h2 = sp.Matrix([G[j, j] * h2[j] for j in range(4)])
hand = {**dict(zip(net.weights[1], 2 * J_sym * W1.T * D)),
        **dict(zip(net.weights[0], 2 * D * W2.T * J_sym + 2 * G_h2 * x_col.T)),
        **dict(zip(net.biases[0], 2 * G_h2)), **dict(zip(net.biases[1], [0, 0]))}
for p, derived in zip(net.params, omega_gradient):
    assert sp.expand(hand[p] - derived) == 0, p


def omega_numpy(net, X, w):
    """Sum over samples of ||W2 diag(h'(a)) W1||_F^2, in NumPy only (a 3-4-2 tanh network)."""
    weights, biases = net.unpack(w)
    W1, W2, b1 = np.asarray(weights[0]), np.asarray(weights[1]), np.asarray(biases[0])
    total = 0.0
    for xn in np.atleast_2d(X):
        slope = 1 - np.tanh(W1 @ xn + b1) ** 2
        total += np.sum((W2 @ (slope[:, None] * W1)) ** 2)
    return total


def hand_gradient(net, X, w):
    """The hand matrix form of d Omega/dw in NumPy, in net.params order."""
    weights, biases = net.unpack(w)
    W1, W2, b1 = np.asarray(weights[0]), np.asarray(weights[1]), np.asarray(biases[0])
    total = np.zeros(net.n_params)
    for xn in np.atleast_2d(X):
        z = np.tanh(W1 @ xn + b1)
        d, d2 = 1 - z ** 2, -2 * z * (1 - z ** 2)
        Jn = W2 @ (d[:, None] * W1)
        diag_G = np.einsum("kj,ki,ji->j", W2, Jn, W1)
        dW1 = 2 * d[:, None] * (W2.T @ Jn) + 2 * np.outer(diag_G * d2, xn)
        dW2 = 2 * Jn @ W1.T * d
        total += np.concatenate([dW1.ravel(), 2 * diag_G * d2, dW2.ravel(), np.zeros(2)])
    return total


X5 = np.random.default_rng(1).normal(size=(5, 3))
derived = np.sum([omega_gradient_at(xn, w) for xn in X5], axis=0)
numeric = central_difference(lambda V: np.array([omega_numpy(net, X5, v) for v in V]), w)
assert np.abs(numeric - derived).max() / np.abs(derived).max() < 1e-7                   # (b)
assert np.allclose(hand_gradient(net, X5, w), derived, rtol=1e-12, atol=1e-13)          # (c)
assert np.all(derived[net.layer_slices(2)[1]] == 0)             # b^(2) does not enter J
omega_at = sum(float(omega.xreplace({**dict(zip(net.inputs, xn)), **dict(zip(net.params, w))}))
               for xn in X5)
assert abs(omega_at - omega_numpy(net, X5, w)) < 1e-12 * omega_at
print(f"Omega over 5 samples = {omega_at:.6f}; its gradient agrees with central differences "
      f"and with the hand form")

# %% [markdown]
# Trained with the penalty, a network fits the data with smaller slopes. Fit the 1-4-1
# curve network to 12 samples of $\sin(\pi x)$ by gradient descent on
# $E + \lambda\,\Omega$ (the same 3000 steps of size 0.05 from the same start), with
# $\lambda = 0$ and $\lambda = 0.02$: the penalised fit has the smaller $\Omega$ and the larger
# $E$, since it trades fit for flatness.

# %%
curve = examples.network("curve")
X, T = examples.regression_data()
grad_E = symnet.gradient(curve, "sse")
_, _, curve_penalty_at = penalty_gradient(curve)
J_curve = symnet.input_jacobian(curve)


def train(strength, steps=3000, rate=0.05):
    v = curve.init_params(seed=0)
    for _ in range(steps):
        penalty = np.sum([curve_penalty_at(xn, v) for xn in X], axis=0)
        v = v - rate * (grad_E.evaluate(X, v, T) + strength * penalty)
    return v


fits = {strength: train(strength) for strength in (0.0, 0.02)}
summary = {strength: (symnet.loss_value(curve, "sse", X, v, T),
                      float(np.sum(J_curve.evaluate(X, v) ** 2))) for strength, v in fits.items()}
for strength, (E, Omega) in summary.items():
    print(f"lambda = {strength}: E = {E:.4f}, Omega = {Omega:.4f}")
assert summary[0.02][1] < summary[0.0][1] and summary[0.02][0] > summary[0.0][0]

x_line = np.linspace(-1, 1, 200)[:, None]
fig = plots.LessonFigure(figsize=(6, 3.5))
ax = fig.subplots()
ax.plot(X[:, 0], T[:, 0], "ko", ms=4, label="data t = sin(pi x) + noise")
for strength, v in fits.items():
    ax.plot(x_line[:, 0], curve.forward(x_line, v)[:, 0], label=f"fit, lambda = {strength}")
ax.set_xlabel("x_1 (input units)")
ax.set_ylabel("y_1 (output units)")
ax.set_title("the Jacobian penalty flattens the fit", fontsize=9)
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## Try it
#
# Move the inputs of the 3-4-2 network and the step: the Jacobian and the linear
# prediction's error update. The cell after the widget moves them and checks the panel's $J$
# against the layer product, and its rank and largest stretch against the SVD.

# %%
panel = widgets.jacobian_explorer(net, w, x, dx=0.1)
panel

# %%
panel.controls["x1"].value = -1.5
panel.controls["x3"].value = 1.2
moved = panel.result
x_moved = np.array([-1.5, -0.3, 1.2])
M1, M2 = layer_jacobians(net, x_moved, w)
assert np.allclose(moved.J, M2 @ M1, rtol=1e-12, atol=1e-15)
assert rank(moved.J) == 2 and singular_values(moved.J)[0] <= (singular_values(M2)[0]
                                                             * singular_values(M1)[0])
print(moved, "\nsingular values", singular_values(moved.J).round(4))

# %% [markdown]
# ## Exercises
#
# Type your answer in the box and press Enter: the feedback says whether it is right and,
# if not, shows a point where your formula differs and names the mistake when it is a
# common one. The solutions are in `lessons/solutions/13_jacobian_linear_map.toml`.
#
# **13.1** For the 2-2-1 tanh network of lesson 1, write $J_{12} = \partial y_1/\partial x_2$ as
# the product $W^{(2)} \operatorname{diag}(h'(a^{(1)}))\, W^{(1)}$ taken entry by entry, in the
# weights and $z_j^{(1)}$.

# %%
questions = widgets.exercises(13)
widgets.exercise_box(questions[0])

# %% [markdown]
# **13.2** For the one-unit network $y_1 = \tanh(x_1)$, what is the integrated-gradients
# attribution $\mathrm{IG}_1$ of $x = 1$ against the baseline $x' = 0$ (a number, to 3 digits)?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **13.3** For the 1-1-1 network $y_1 = w_{11}^{(2)} \tanh(w_{11}^{(1)} x_1 + b_1^{(1)}) + b_1^{(2)}$
# with $w_{11}^{(1)} = 0.5$, $b_1^{(1)} = 0$, $w_{11}^{(2)} = 2$ and one sample $x_1 = 1$, what is
# $\partial\Omega/\partial w_{11}^{(1)}$ for $\Omega = J_{11}^2$ (a number, to 3 digits)?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** The Jacobian is a product of one linear map per layer,
# $\operatorname{diag}(h'(a^{(l)}))\,W^{(l)}$; its rank is at most each factor's and its largest
# stretch at most the product of theirs. Its singular values say how far unit input steps
# move the outputs, and they change over the input space: ReLU units switch the rank, tanh
# units fade it. Integrated gradients split $f(x) - f(x')$ exactly among the inputs (the
# quadrature error shrinks like $1/m$ or $1/m^2$), and the penalty $\|J\|_F^2$ has a gradient
# SymPy derives from the Jacobian's formula, which needs $h''$.
