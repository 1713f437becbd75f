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
# # Lesson 14: Convolution: weight sharing and its gradient
#
# Time: about 25 minutes.
#
# A 1-D convolution layer is a layer of units in Bishop's sense, $a_j = \sum_i w_{ji} z_i + b_j$
# (Bishop, *Deep Learning*, 2024, chapter 10), with two restrictions: each unit sees only a
# window of $k$ neighbouring positions, and every unit of one channel uses the same kernel.
# Its units are indexed by output channel $c$ and position $p$; its kernel $w_{c,c',m}$
# (output channel $c$, input channel $c'$, tap $m$) has the shape $(C_\text{out}, C_\text{in}, k)$
# of PyTorch's `Conv1d.weight`. With stride $s$ and every index 1-based,
#
# $$a_{c,p}^{(l)} = \sum_{c'=1}^{C_\text{in}} \sum_{m=1}^{k} w_{c,c',m}^{(l)}\,
#   z_{c',(p-1)s+m}^{(l-1)} + b_c^{(l)}, \qquad z_{c,p}^{(l)} = h\big(a_{c,p}^{(l)}\big)$$
#
# (PyTorch's 0-based form reads $z_{c',ps+m}$). One kernel entry $w_{c,c',m}$ stands in the
# equation of *every* position $p$: that is weight sharing. By the chain rule its derivative
# is therefore a sum over the positions, with $\delta_{c,p} = \partial E_n / \partial a_{c,p}$:
#
# $$\frac{\partial E_n}{\partial w_{c,c',m}^{(l)}} = \sum_{p} \delta_{c,p}^{(l)}\,
#   z_{c',(p-1)s+m}^{(l-1)} .$$
#
# This lesson reads the named equations of a convolution, shows that its input Jacobian is a
# banded (Toeplitz) matrix, derives the gradient of a shared weight as that sum, and checks
# each claim three ways: symbolically, by central differences of a plain NumPy forward pass
# written here, and by a second route.

# %%
import ipywidgets
import numpy as np
import sympy as sp

import symnet
from symnet import layers, plots, widgets
from symnet.numdiff.differences import central_difference

net = symnet.Network((1, 6), [layers.Conv1D(2, 3, "tanh"), layers.Flatten(),
                              layers.Dense(1, "linear")])
w = net.init_params(seed=2)
rng = np.random.default_rng(0)
X = rng.normal(size=(5, 6))                 # 5 samples: one channel of 6 positions each
T = rng.normal(size=(5, 1))
print(net, f"\n{net.n_params} parameters:", ", ".join(p.name for p in net.params))


def named(stem, *indices, layer=1):
    """symnet's name of a convolution unit or kernel entry: named("a", 1, 2) is a_1,2^(1)."""
    return sp.Symbol(f"{stem}_{','.join(map(str, indices))}^({layer})", real=True)


def x_(p):
    """The input at position p of channel 1: x_1,p."""
    return sp.Symbol(f"x_1,{p}", real=True)


# %% [markdown]
# ## A forward pass in plain NumPy
#
# The reference for every numeric check below is this forward pass, written with explicit
# loops and nothing from symnet: a correlation (PyTorch's "convolution"), then tanh, then the
# dense output layer on the flattened (channel-major) values. It equals symnet's forward pass.
# The parameter vector is in `net.params` order: the kernel row-major (2, 1, 3), $b^{(1)}$,
# $W^{(2)}$ (1, 8), $b^{(2)}$.

# %%
def correlate(z, kernel, bias, stride=1, pad=(0, 0)):
    """a[c, p] = sum_{c', m} kernel[c, c', m] z[c', p * stride + m] + bias[c], 0-based, by loops.

    z is (C_in, L); pad = (zeros on the left, zeros on the right) of every channel.
    """
    z = np.pad(np.asarray(z, dtype=float), [(0, 0), pad])
    C_out, C_in, k = kernel.shape
    L_out = (z.shape[1] - k) // stride + 1
    a = np.zeros((C_out, L_out))
    for c in range(C_out):
        for p in range(L_out):
            a[c, p] = np.sum(kernel[c] * z[:, p * stride:p * stride + k]) + bias[c]
    return a


def unpack(w):
    """kernel (2, 1, 3), b^(1) (2,), W^(2) (1, 8), b^(2) (1,) from w in net.params order."""
    return w[:6].reshape(2, 1, 3), w[6:8], w[8:16].reshape(1, 8), w[16:]


def forward_numpy(x, w):
    kernel, b1, W2, b2 = unpack(w)
    z1 = np.tanh(correlate(x.reshape(1, 6), kernel, b1))     # (2 channels, 4 positions)
    return W2 @ z1.ravel() + b2                              # Flatten: channel by channel


def error_numpy(X, w, T):
    """E = 1/2 sum_n (y_n - t_n)^2 from the plain forward pass."""
    return 0.5 * sum(float(np.sum((forward_numpy(x, w) - t) ** 2)) for x, t in zip(X, T))


assert np.allclose([forward_numpy(x, w) for x in X], net.forward(X, w), rtol=1e-13, atol=0)
assert abs(error_numpy(X, w, T) - symnet.loss_value(net, "sse", X, w, T)) < 1e-13
print("y =", net.forward(X, w).ravel().round(6))

# %% [markdown]
# ## The named equations, and weight sharing
#
# symnet names a convolution's units by channel and position, always with commas:
# `a_1,2^(1)` is $a_{1,2}^{(1)}$, and the kernel entry `w_1,1,2^(1)` is $w_{1,1,2}^{(1)}$. The
# equation of $a_{1,2}^{(1)}$ is the sum above with $p = 2$:
# $b_1^{(1)} + w_{1,1,1}^{(1)} x_{1,2} + w_{1,1,2}^{(1)} x_{1,3} + w_{1,1,3}^{(1)} x_{1,4}$.
#
# Each kernel entry of channel $c$ stands in the equations of all 4 positions of channel $c$
# and of no other unit: the 8 hidden units have $8 \times 3 = 24$ weighted connections but only
# 6 kernel weights, each on 4 of them. A dense layer from 6 inputs to 8 units would have 48.

# %%
kernel_symbols = [named("w", c, 1, m) for c in (1, 2) for m in (1, 2, 3)]
assert list(net.params[:6]) == kernel_symbols
hand = named("b", 1) + sum(named("w", 1, 1, m) * x_(1 + m) for m in (1, 2, 3))
assert sp.expand(net.equations[named("a", 1, 2)] - hand) == 0
print(named("a", 1, 2), "=", net.equations[named("a", 1, 2)])

users = {weight: [unit for unit, equation in net.equations.items()
                  if weight in equation.free_symbols] for weight in kernel_symbols}
for weight, units in users.items():
    channel = int(weight.name[2])
    assert units == [named("a", channel, p) for p in (1, 2, 3, 4)], weight
    print(f"{weight.name} stands in {', '.join(u.name for u in units)}")
connections = sum(len(units) for units in users.values())
assert connections == 24 and len(kernel_symbols) == 6
assert layers.Dense(8).n_params((6,)) - 8 == 48          # a dense layer's weights, biases aside

# %% [markdown]
# ## The input Jacobian of a convolution is banded
#
# Take one convolution layer alone: 1 channel of 8 positions, a kernel of 3 taps, tanh, so
# $y_p = \tanh(a_{1,p}^{(1)})$ for $p = 1..6$. Output $p$ depends only on the inputs
# $x_{1,p}, x_{1,p+1}, x_{1,p+2}$, with
#
# $$J_{p,i} = \frac{\partial y_p}{\partial x_{1,i}} = h'(a_{1,p})\, w_{1,1,i-p+1}
#   \quad (0 \le i - p \le 2), \qquad J_{p,i} = 0 \text{ otherwise.}$$
#
# Every entry off the band of width 3 is exactly 0, and along each diagonal $i - p = m - 1$
# stands the same kernel weight $w_{1,1,m}$, times the slope $h'(a_{1,p}) = 1 - y_p^2$ of its
# row. So $J = \operatorname{diag}(h'(a))\, T$ with $T$ a Toeplitz matrix (constant along each
# diagonal) built from the kernel: 18 of its 48 entries are nonzero, and they carry 3 weights.
#
# symnet derives $J$ by backpropagation with the slopes named `dy_p/da_1,p^(1)`. Checked three
# ways: (a) symbolically, the backprop form and SymPy's direct differentiation of $y$ written
# out each equal the hand form above, entry by entry; (b) numerically, equal to central
# differences of the plain NumPy correlation; (c) the backprop route equals the direct route.

# %%
band = symnet.Network((1, 8), [layers.Conv1D(1, 3, "tanh")])
J = symnet.input_jacobian(band)                              # backprop, named slopes
J_direct = symnet.input_jacobian(band, method="direct")      # SymPy differentiates y
kernel = [named("w", 1, 1, m) for m in (1, 2, 3)]
slopes = [sp.Symbol(f"dy_{p}/da_1,{p}^(1)", real=True) for p in range(1, 7)]   # h'(a_1,p)
assert J.named.shape == (6, 8)
for p, slope in enumerate(slopes, start=1):
    assert J.definitions[slope] == 1 - sp.Symbol(f"y_{p}", real=True) ** 2
    a_p = band.substitution[named("a", 1, p)]                    # in x and w, written out
    for i in range(1, 9):
        m = i - p + 1                                           # the tap that meets x_1,i
        if 1 <= m <= 3:
            assert J.named[p - 1, i - 1] == slope * kernel[m - 1], (p, i)     # the band
            by_hand = kernel[m - 1] * (1 - sp.tanh(a_p) ** 2)
        else:
            assert J.named[p - 1, i - 1] == 0 and J_direct.named[p - 1, i - 1] == 0, (p, i)
            by_hand = sp.S.Zero
        assert sp.expand(J_direct.named[p - 1, i - 1] - by_hand) == 0, (p, i)   # (a)
        assert sp.expand(J.matrix[p - 1, i - 1] - by_hand) == 0, (p, i)         # (a)
# exactly one kernel weight per diagonal, whatever the row: the Toeplitz part
for offset in range(-5, 8):
    diagonal = {J.named[p, p + offset] / slopes[p] for p in range(6) if 0 <= p + offset < 8}
    assert diagonal == ({kernel[offset]} if 0 <= offset <= 2 else {0}), offset

band_w = band.init_params(seed=4)
x0 = np.array([0.3, -0.8, 1.1, 0.5, -0.2, 0.9, -1.3, 0.4])
band_kernel, band_bias = band_w[:3].reshape(1, 1, 3), band_w[3:]
J_values = J.evaluate(x0, band_w)
numeric = central_difference(
    lambda V: np.array([np.tanh(correlate(v.reshape(1, 8), band_kernel, band_bias)).ravel()
                        for v in V]), x0).T
assert np.abs(numeric - J_values).max() < 1e-7 * np.abs(J_values).max()                 # (b)
assert np.allclose(J_direct.evaluate(x0, band_w), J_values, rtol=1e-13, atol=0)        # (c)

a0 = correlate(x0.reshape(1, 8), band_kernel, band_bias).ravel()
toeplitz = sum(band_w[m] * np.eye(6, 8, k=m) for m in range(3))      # T[p, p + m] = w_1,1,m+1
assert np.allclose(J_values, (1 - np.tanh(a0) ** 2)[:, None] * toeplitz, rtol=1e-13, atol=0)
assert np.all(J_values[toeplitz == 0] == 0) and np.count_nonzero(J_values) == 18
print("J / h'(a) row by row (the Toeplitz part):\n", (J_values / (1 - np.tanh(a0) ** 2)[:, None])
      .round(4))

# %% [markdown]
# The slope of row $p$ is $h'(a_{1,p})$; `widgets.activation_view` computes tanh's slope at a
# pre-activation. At $a_{1,3}$ it equals $J_{3,4} / w_{1,1,2}$, the band's entry divided by its
# kernel weight. The heatmap shows the band: three diagonals, zeros elsewhere.

# %%
slope_view = widgets.activation_view("tanh", float(a0[2]))
print(slope_view)
assert abs(slope_view.exact - J_values[2, 3] / band_w[1]) < 1e-13 * slope_view.exact
plots.heatmap(J_values, [f"y_{p}" for p in range(1, 7)], [x.name for x in band.inputs],
              "input Jacobian of a 3-tap convolution: a band", "dy_p/dx_1,i (dimensionless)")

# %% [markdown]
# ## The gradient of a shared weight is a sum over positions
#
# Back to the 2-channel network. symnet's named gradient shows the sum as a student writes it:
# for each kernel entry,
# $\partial E / \partial w_{c,1,m}^{(1)} = \sum_{p=1}^{4} \delta_{c,p}^{(1)} x_{1,p+m-1}$, with
# the hidden deltas $\delta_{c,p}^{(1)} = h'(a_{c,p}^{(1)})\, w_{1,j}^{(2)}\, \delta_1^{(2)}$, where
# $j = 4(c - 1) + p$ is the unit's place after `Flatten`.

# %%
grad = symnet.gradient(net, "sse")
d = symnet.symbols
for c in (1, 2):
    for m in (1, 2, 3):
        hand = sum(named("delta", c, p) * x_(p + m - 1) for p in (1, 2, 3, 4))
        assert sp.expand(grad.named[net.param_index(named("w", c, 1, m))] - hand) == 0, (c, m)
    for p in (1, 2, 3, 4):
        hand = (1 - named("z", c, p) ** 2) * d.weight(2, 1, 4 * (c - 1) + p) * d.delta(2, 1)
        assert sp.expand(grad.definitions[named("delta", c, p)] - hand) == 0, (c, p)
print("dE/dw_1,1,2^(1) =", grad.named[net.param_index("w_1,1,2^(1)")])
print("delta_1,3^(1) =", grad.definitions[named("delta", 1, 3)])

# %% [markdown]
# Three ways again. (a) Symbolically, at an exact rational point (inputs, weights and target
# fractions): SymPy differentiates $E_n$ written out in $x, w, t$ (no backpropagation), and the
# sum over positions is computed with deltas from the recursion in exact arithmetic; the two,
# and symnet's gradient, are equal exactly. (b) Central differences of the plain NumPy error
# equal symnet's gradient. (c) A hand backward pass in NumPy: the deltas, then
# $\sum_p \delta_{c,p} x_{1,p+m-1}$ for $m = 1, 2, 3$, which is the correlation of the input with
# the delta map (`np.correlate(x, delta_c, "valid")`), equals symnet's gradient.

# %%
E_n = grad.loss.per_sample(net).xreplace(net.substitution)     # E_n in x, w, t
point = dict(zip(net.inputs, map(sp.Rational, ["1/2", "-3/4", "1/3", "1", "-1/5", "2/3"])))
point.update({p: sp.Rational((-1) ** k * (k * k % 7 + 1), 8) for k, p in enumerate(net.params)})
point[net.targets[0]] = sp.Rational(1, 3)
exact = {s: value.xreplace(point) for s, value in net.substitution.items()}
delta_2 = exact[d.output(1)] - point[net.targets[0]]
for c in (1, 2):
    for m in (1, 2, 3):
        weight = named("w", c, 1, m)
        position_sum = sum((1 - exact[named("z", c, p)] ** 2)
                           * point[d.weight(2, 1, 4 * (c - 1) + p)] * delta_2
                           * point[x_(p + m - 1)] for p in (1, 2, 3, 4))
        assert sp.expand(sp.diff(E_n, weight).xreplace(point) - position_sum) == 0, weight  # (a)
        assert sp.expand(grad.matrix[net.param_index(weight)].xreplace(point)
                         - position_sum) == 0, weight                                     # (a)
        assert abs(float(position_sum)) > 1e-3, weight          # not a trivial 0 = 0
print(f"at the exact point dE_n/dw_2,1,3^(1) = {float(position_sum):.12f}: the same exact "
      f"expression in tanh of fractions ({len(position_sum.atoms(sp.tanh))} of them) from SymPy's\n"
      "diff, from symnet's gradient and from the sum over positions")

g = grad.evaluate(X, w, T)
numeric = central_difference(lambda V: np.array([error_numpy(X, v, T) for v in V]), w)
assert np.abs(numeric - g).max() < 1e-7 * np.abs(g).max()                              # (b)


def hand_backward(x, t, w):
    """Plain NumPy: the hidden deltas (2, 4) and the kernel gradient (2, 3) of one sample."""
    kernel, b1, W2, b2 = unpack(w)
    z1 = np.tanh(correlate(x.reshape(1, 6), kernel, b1))
    delta_out = W2 @ z1.ravel() + b2 - t                       # delta^(2) = y - t
    deltas = (1 - z1 ** 2) * W2.reshape(2, 4) * delta_out       # delta_c,p^(1)
    kernel_gradient = np.array([np.correlate(x, deltas[c], "valid") for c in range(2)])
    return deltas, kernel_gradient


kernel_g = sum(hand_backward(x, t, w)[1] for x, t in zip(X, T))
assert np.allclose(kernel_g.ravel(), g[:6], rtol=1e-12, atol=1e-15)                    # (c)
print("dE/dw kernel (symnet)    ", g[:6].round(6), "\ndE/dw kernel (hand NumPy)", kernel_g.ravel()
      .round(6))

# %% [markdown]
# ## Forgetting the sum
#
# The typical mistake takes the derivative of a shared weight at one position only, as if
# it stood on one connection: $\delta_{c,1} x_{1,m}$. Each position contributes a term and only
# their sum is the derivative: for every kernel entry, the four position terms (summed over the
# samples) add up to symnet's gradient, and no single one of them equals it (each is more than
# 1% away). The bars show the four terms of $\partial E / \partial w_{1,1,2}^{(1)}$.

# %%
terms = np.zeros((2, 3, 4))                     # (channel, tap, position)
for x, t in zip(X, T):
    deltas, _ = hand_backward(x, t, w)
    for c in range(2):
        for m in range(3):
            terms[c, m] += deltas[c] * x[m:m + 4]                # delta_c,p x_1,p+m, p = 1..4
kernel_gradient = g[:6].reshape(2, 3)
assert np.allclose(terms.sum(axis=2), kernel_gradient, rtol=1e-12, atol=1e-15)
relative_miss = np.abs(terms - kernel_gradient[..., None]) / np.abs(kernel_gradient[..., None])
assert relative_miss.min() > 0.01
one_position = terms[..., 0]                                    # "forgot the sum": p = 1 only
print("one position only:", one_position.ravel().round(4), "\nthe gradient:     ",
      kernel_gradient.ravel().round(4))

fig = plots.LessonFigure(figsize=(6.0, 3.6))
ax = fig.subplots()
ax.bar([f"p = {p}" for p in (1, 2, 3, 4)], terms[0, 1], color="0.6",
       label="delta_1,p^(1) x_1,p+1 (summed over samples)")
ax.axhline(kernel_gradient[0, 1], color="C3", label="their sum = dE/dw_1,1,2^(1)")
ax.axhline(0, color="k", lw=0.5)
ax.set_xlabel("position p of channel 1")
ax.set_ylabel("term of dE/dw_1,1,2^(1)\n(units of E per unit weight)")
ax.set_title("a shared weight's derivative: one term per position", fontsize=9)
ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
fig

# %% [markdown]
# The same sum runs the other way into the input: $\partial E / \partial x_{1,i} =
# \sum_{c,p} \delta_{c,p} w_{c,1,i-p+1}$ (over the positions whose window holds $x_{1,i}$), the
# transposed correlation, which is a full convolution of each delta map with its kernel
# (`np.convolve(delta_c, kernel_c, "full")`). Three ways: (a) at the exact rational point, this
# sum with exact deltas equals SymPy's $\partial E_n / \partial x_{1,i}$ exactly; (b) central
# differences of the plain error in $x$ equal the NumPy convolution; (c) so does
# $\delta_1^{(2)} J$ from symnet's input Jacobian of the network.

# %%
exact_deltas = {(c, p): (1 - exact[named("z", c, p)] ** 2)
                * point[d.weight(2, 1, 4 * (c - 1) + p)] * delta_2
                for c in (1, 2) for p in (1, 2, 3, 4)}
for i in range(1, 7):
    transposed = sum(exact_deltas[c, p] * point[named("w", c, 1, i - p + 1)]
                     for c in (1, 2) for p in (1, 2, 3, 4) if 1 <= i - p + 1 <= 3)
    assert sp.expand(sp.diff(E_n, x_(i)).xreplace(point) - transposed) == 0, i           # (a)

x1, t1 = X[0], T[0]
deltas, _ = hand_backward(x1, t1, w)
kernel_values = unpack(w)[0]
input_gradient = sum(np.convolve(deltas[c], kernel_values[c, 0], "full") for c in range(2))
J_net = symnet.input_jacobian(net).evaluate(x1, w)                    # (1, 6)
delta_out = net.forward(x1, w) - t1
numeric = central_difference(lambda V: np.array([error_numpy([v], w, [t1]) for v in V]), x1)
assert np.abs(numeric - input_gradient).max() < 1e-7 * np.abs(input_gradient).max()   # (b)
assert np.allclose(input_gradient, delta_out @ J_net, rtol=1e-12, atol=1e-15)          # (c)
print("dE/dx =", ", ".join(f"{value:.6f}" for value in input_gradient))

# %% [markdown]
# ## A kernel that spans the whole input is a dense layer
#
# With $k = L$ there is one position, $a_{c,1} = \sum_i w_{c,1,i} x_{1,i} + b_c$: a dense
# layer with $w_{ci} = w_{c,1,i}$, and nothing is shared. The parameter orders coincide (kernel
# row-major (3, 1, 4) and weights row-major (3, 4), then biases), so the same vector $w$ gives
# the same outputs; renamed, the equations are the dense layer's; each kernel entry's gradient
# is a single term $\delta_{c,1} x_{1,i}$ (a sum over one position), and the gradients agree.

# %%
wide = symnet.Network((1, 4), [layers.Conv1D(3, 4, "tanh")])
dense = symnet.Network(4, [layers.Dense(3, "tanh")])
assert wide.n_params == dense.n_params == 15
rename = {named("w", c, 1, i): d.weight(1, c, i) for c in (1, 2, 3) for i in (1, 2, 3, 4)}
rename.update({x_(i): d.input_symbol(i) for i in (1, 2, 3, 4)})
assert [rename.get(p, p) for p in wide.params] == list(dense.params)
for c in (1, 2, 3):
    assert sp.expand(wide.equations[named("a", c, 1)].xreplace(rename)
                     - dense.equations[d.pre_activation(1, c)]) == 0
v = wide.init_params(seed=5)
X4, T3 = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
assert np.allclose(wide.forward(X4, v), dense.forward(X4, v), rtol=1e-14, atol=0)
g_wide, g_dense = symnet.gradient(wide, "sse"), symnet.gradient(dense, "sse")
assert all(len(sp.Add.make_args(entry)) == 1 for entry in g_wide.named[:12])
assert all(sp.expand(a.xreplace(rename) - b) == 0
           for a, b in zip(g_wide.matrix, g_dense.matrix))
assert np.allclose(g_wide.evaluate(X4, v, T3), g_dense.evaluate(X4, v, T3), rtol=1e-12, atol=0)
print("dE/dw_2,1,3^(1) =", g_wide.named[wide.param_index("w_2,1,3^(1)")], " (one position)")

# %% [markdown]
# ## Stride and "same" padding, briefly
#
# With stride $s = 2$ the window moves two inputs per output: row $p$ of $J$ is row $p - 1$
# shifted by two, $J_{p,i} = w_{1,1,i-2(p-1)}$ for a linear layer, and the gradient sums over
# the positions read, $\partial E / \partial w_{1,1,m} = \sum_p \delta_{1,p} x_{1,2(p-1)+m}$.
# With `padding="same"` and $k = 3$, one zero is read before the input and one after it, so
# $L_\text{out} = L$ and output $p$ reads $x_{1,p+m-2}$: the first row of $J$ lacks $w_{1,1,1}$
# (it meets the padded zero), the last lacks $w_{1,1,3}$, and $\partial E / \partial w_{1,1,1}$
# has 4 terms for 5 positions. Checked: (a) the named Jacobians and gradients equal these hand
# forms; (b) both Jacobians and both gradients equal central differences of the NumPy
# correlation with stride or padding; (c) the direct route equals the backprop route for $J$,
# and the hand sum $\sum_p \delta_{1,p} x_{1,(p-1)s+m}$ (padded zeros included) in NumPy equals
# symnet's gradient.

# %%
strided = symnet.Network((1, 7), [layers.Conv1D(1, 3, "linear", stride=2)])
padded = symnet.Network((1, 5), [layers.Conv1D(1, 3, "linear", padding="same")])
checks = [(strided, 2, (0, 0), (1, 7)), (padded, 1, (1, 1), (1, 5))]  # net, stride, zeros, shape
for conv, stride, pad, shape in checks:
    left = pad[0]
    L_out = len(conv.layer_values(1))
    J_conv, grad_conv = symnet.input_jacobian(conv), symnet.gradient(conv, "sse")
    for p in range(1, L_out + 1):
        for i in range(1, shape[1] + 1):
            m = i - (p - 1) * stride + left                     # the tap that meets x_1,i
            assert J_conv.named[p - 1, i - 1] == (kernel[m - 1] if 1 <= m <= 3 else 0)  # (a)
    for m in (1, 2, 3):
        reads = [(p, (p - 1) * stride + m - left) for p in range(1, L_out + 1)]
        hand = sum(named("delta", 1, p) * x_(i) for p, i in reads if 1 <= i <= shape[1])
        assert sp.expand(grad_conv.named[m - 1] - hand) == 0, (conv, m)                  # (a)
    cw = conv.init_params(seed=6)
    xs = rng.normal(size=shape[1])
    numeric = central_difference(lambda V: np.array([
        correlate(u.reshape(shape), cw[:3].reshape(1, 1, 3), cw[3:], stride, pad).ravel()
        for u in V]), xs).T
    values = J_conv.evaluate(xs, cw)
    assert np.abs(numeric - values).max() < 1e-7 * np.abs(values).max()                  # (b)
    assert np.allclose(symnet.input_jacobian(conv, method="direct").evaluate(xs, cw), values,
                       rtol=1e-13, atol=0)                                                # (c)
    Xs, Ts = rng.normal(size=(3, shape[1])), rng.normal(size=(3, L_out))

    def conv_error(v, conv_pad=pad, conv_stride=stride, conv_shape=shape):
        return 0.5 * sum(np.sum((correlate(u.reshape(conv_shape), v[:3].reshape(1, 1, 3), v[3:],
                                           conv_stride, conv_pad).ravel() - t) ** 2)
                         for u, t in zip(Xs, Ts))
    g_conv = grad_conv.evaluate(Xs, cw, Ts)
    numeric = central_difference(lambda V: np.array([conv_error(v) for v in V]), cw)
    assert np.abs(numeric - g_conv).max() < 1e-7 * np.abs(g_conv).max()                  # (b)
    hand_sum = np.zeros(3)
    for u, t in zip(Xs, Ts):
        delta_map = conv.forward(u, cw) - t                     # linear output: delta = y - t
        read = np.pad(u, pad)                                   # the zeros the window meets
        for m in range(3):
            hand_sum[m] += sum(delta_map[p] * read[p * stride + m] for p in range(L_out))
    assert np.allclose(hand_sum, g_conv[:3], rtol=1e-12, atol=1e-14)                      # (c)
assert strided.output_shape == (1, 3) and padded.output_shape == (1, 5)
assert layers.Conv1D(1, 3, padding="same").pads(5) == (1, 1)
padded_J = symnet.input_jacobian(padded).named
assert kernel[0] not in padded_J.row(0).free_symbols and kernel[2] in padded_J.row(0).free_symbols
assert kernel[2] not in padded_J.row(4).free_symbols and kernel[0] in padded_J.row(4).free_symbols
padded_grad = symnet.gradient(padded, "sse").named
assert len(sp.Add.make_args(padded_grad[0])) == 4 and len(sp.Add.make_args(padded_grad[1])) == 5
for title, matrix in [("stride 2", symnet.input_jacobian(strided).named), ("same padding",
                                                                          padded_J)]:
    print(f"J, {title}:")
    for row in matrix.tolist():
        print("  " + " ".join(f"{str(entry):>11}" for entry in row))

# %% [markdown]
# ## Try it
#
# Move the three kernel taps and shift the input of the 8-position tanh convolution: the heatmap
# of $J$ keeps its band, and $J / h'(a)$ keeps one kernel weight per diagonal. The panel's
# numbers are the three diagonals of $J / h'(a)$ (each the same along its diagonal). The cell
# after it moves the sliders and checks the panel against symnet's $J$ and the Toeplitz form.

# %%
def band_view(jacobian, x_base, bias, w1, w2, w3, shift):
    """J of the 8-position tanh convolution, kernel (w1, w2, w3), at x_base + shift."""
    taps = np.array([w1, w2, w3])
    x = x_base + shift
    values = jacobian.evaluate(x, np.concatenate([taps, bias]))
    slopes = 1 - np.tanh(correlate(x.reshape(1, 8), taps.reshape(1, 1, 3), bias)).ravel() ** 2
    scaled = values / slopes[:, None]
    shown = {f"diagonal_{m + 1}": (f"J / h'(a) along the diagonal i - p = {m} (mean)",
                                   float(np.diagonal(scaled, m).mean()))
             for m in range(3)}
    shown["spread"] = ("largest spread along a diagonal", float(max(np.ptp(np.diagonal(scaled, m))
                                                                    for m in range(3))))
    return widgets.View("banded input Jacobian", shown, {"J": values, "scaled": scaled})


def band_plot(view):
    return plots.heatmap(view.J, [f"y_{p}" for p in range(1, 7)], [x.name for x in band.inputs],
                         "J_p,i = dy_p/dx_1,i", "dimensionless")


controls = {f"w{m}": ipywidgets.FloatSlider(value=float(band_w[m - 1]), min=-2, max=2, step=0.05,
                                            description=f"w_1,1,{m}", continuous_update=False)
            for m in (1, 2, 3)}
controls["shift"] = ipywidgets.FloatSlider(value=0.0, min=-2, max=2, step=0.05,
                                           description="x shift", continuous_update=False)
panel = widgets.Panel(band_view, controls, {"jacobian": J, "x_base": x0, "bias": band_bias},
                      plot=band_plot)
panel

# %%
panel.controls["w2"].value = -1.0
panel.controls["shift"].value = 0.5
moved = panel.result
taps = np.array([band_w[0], -1.0, band_w[2]])
expected = J.evaluate(x0 + 0.5, np.concatenate([taps, band_bias]))
assert np.array_equal(moved.J, expected)
assert np.allclose(moved.scaled, sum(taps[m] * np.eye(6, 8, k=m) for m in range(3)),
                   rtol=1e-12, atol=1e-15)
assert abs(moved["diagonal_2"] + 1.0) < 1e-12            # the tap w_1,1,2 set to -1
assert moved["spread"] < 1e-12
print(moved)

# %% [markdown]
# ## Exercises
#
# Type a number and press Enter: the feedback says whether it is right and, when it is a
# common mistake, names it. The solutions, with typical wrong answers, are in
# `lessons/solutions/14_convolution.toml`.
#
# **14.1** A linear convolution of one channel with kernel $(w_{1,1,1}, w_{1,1,2}) = (0.5, -1)$,
# $b_1 = 0$, over $x = (1, 2, 3)$ gives $y = (a_{1,1}, a_{1,2})$. With the targets $t = (0, 1)$
# and $E = \frac12 \sum_p (y_p - t_p)^2$, what is $\partial E / \partial w_{1,1,1}$?

# %%
questions = widgets.exercises(14)
widgets.exercise_box(questions[0])

# %% [markdown]
# **14.2** A tanh convolution of one channel with kernel $(w_{1,1,1}, w_{1,1,2}) = (1, 0.5)$,
# $b_1 = 0$, over $x = (0.2, 0.4, -0.6, 0.8)$: what is the Jacobian entry
# $J_{2,3} = \partial y_2 / \partial x_{1,3}$ (to 3 digits)?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **14.3** A linear convolution with stride 2, kernel $(w_{1,1,1}, w_{1,1,2}) = (1, 1)$, $b_1 = 0$,
# over $x = (1, 2, 3, 4, 5)$ gives $y = (y_1, y_2)$. With $t = (0, 0)$ and the sum-of-squares
# error, what is $\partial E / \partial w_{1,1,2}$?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** A convolution is a layer of units whose weights are shared along the positions:
# the kernel entry $w_{c,c',m}$ stands in the equation of every position. Its input Jacobian is
# banded, $\operatorname{diag}(h'(a))$ times a Toeplitz matrix of kernel weights, with exact zeros
# off the band. The derivative of a shared weight is the sum over the positions it stands on,
# $\sum_p \delta_{c,p} z_{c',p+m-1}$ (the correlation of the input with the delta map), and no
# single position's term is it. A kernel as long as the input is a dense layer; stride and
# "same" padding change which inputs each position reads, and so which terms the sum has.
