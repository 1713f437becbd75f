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
# # Lesson 16: Residual connections: why a skip keeps gradients alive
#
# Time: about 25 minutes.
#
# Lesson 9 showed the gradient of a deep plain network shrinking layer by layer toward the
# inputs: the delta recursion multiplies, once per layer, by $W^{(l)\top}$ and by $h'(a)$.
# A *residual block* (He, Zhang, Ren & Sun, *Deep residual learning for image recognition*,
# CVPR 2016) adds its input to what its layers compute,
#
# $$z_\text{out} = z_\text{in} + F(z_\text{in}), \qquad
#   \frac{\partial z_\text{out}}{\partial z_\text{in}} = I + \frac{\partial F}{\partial z_\text{in}},$$
#
# so the backward pass through it is $g_\text{in} = g_\text{out} + (\partial F/\partial z_\text{in})^\top
# g_\text{out}$: the error reaches $z_\text{in}$ once unchanged along the skip, whatever $F$ does.
# Through $L$ blocks the Jacobian is a product of factors $I + J_F$ rather than of factors $J_F$.
#
# This lesson reads the identity term in symnet's input Jacobian of one block, then measures
# the gradient norm of every layer of a 10-layer plain tanh network against the same network
# with skip connections, and checks each derivative three ways: symbolically, by central
# differences of a plain NumPy forward pass written here, and by a second route.

# %%
import itertools

import ipywidgets
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import layers, plots, widgets
from symnet.numdiff.differences import central_difference
from symnet.render.derivation_latex import tex

block = symnet.Network(2, [layers.Residual([layers.Dense(2, "tanh")])])   # z + tanh(W z + b)
F_only = symnet.Network(2, [layers.Dense(2, "tanh")])                    # tanh(W z + b)
w_block = block.init_params(seed=1)
x = np.array([0.5, -0.3])
print(block, "\nparameters:", ", ".join(p.name for p in block.params))
# both networks name their parameters alike, in the same order: W^(1) row-major, then b^(1)
assert block.params == F_only.params

# %% [markdown]
# ## A forward pass in plain NumPy
#
# The reference for the numeric checks is this forward pass, written with NumPy only. The
# parameter vector is in symnet's order (README, "networks of layers"): layer by layer, the
# weights $W^{(l)}$ row-major $(n_l, n_{l-1})$, then the biases $b^{(l)}$. A layer marked
# `skip` adds its input to its output. It equals symnet's forward pass.

# %%
def layer_arrays(w, sizes):
    """[(W^(l), b^(l)), ...] from a parameter vector in symnet's order (W row-major, then b)."""
    arrays, start = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = np.asarray(w[start:start + n_out * n_in]).reshape(n_out, n_in)
        start += n_out * n_in
        arrays.append((W, np.asarray(w[start:start + n_out])))
        start += n_out
    assert start == len(w), "the sizes do not match the parameter vector"
    return arrays


def numpy_forward(X, w, sizes, skips, linear_output):
    """y for X (N, D): tanh layers, z <- z + tanh(W z + b) where skips[l], then a linear layer."""
    arrays = layer_arrays(w, sizes)
    hidden = arrays[:-1] if linear_output else arrays
    z = np.atleast_2d(X)
    for (W, b), skip in zip(hidden, skips):
        f = np.tanh(z @ W.T + b)
        z = z + f if skip else f
    if linear_output:
        W, b = arrays[-1]
        z = z @ W.T + b
    return z


def block_forward(X, w):
    return numpy_forward(X, w, [2, 2], [True], linear_output=False)


def F_forward(X, w):
    return numpy_forward(X, w, [2, 2], [False], linear_output=False)


X_probe = np.random.default_rng(5).normal(size=(6, 2))
assert np.allclose(block_forward(X_probe, w_block), block.forward(X_probe, w_block),
                   rtol=1e-14, atol=1e-15)
assert np.allclose(F_forward(X_probe, w_block), F_only.forward(X_probe, w_block),
                   rtol=1e-14, atol=1e-15)

# %% [markdown]
# ## The identity in the Jacobian of a block
#
# symnet unrolls the block into two stages: stage 1 is $F$'s units $a_j^{(1)} = \sum_i w_{ji}^{(1)}
# x_i + b_j^{(1)}$, $z_j^{(1)} = \tanh a_j^{(1)}$; stage 2 is the *skip stage*, whose units add
# the block's input: $y_j = a_j^{(2)} = x_j + z_j^{(1)}$. Backpropagating the input Jacobian
# through that graph, each diagonal entry gets a $+1$ from the path along the skip:

# %%
J = symnet.input_jacobian(block)                          # backprop over the graph
for symbol, value in J.definitions.items():
    display(Math(f"{tex(symbol)} = {tex(value)}"))
display(Math(r"J = " + tex(J.named)))
d = symnet.symbols
x1, x2 = block.inputs
# the skip stage: y_j = a_j^(2) = x_j + z_j^(1)
for j, x_j in ((1, x1), (2, x2)):
    assert block.equations[d.pre_activation(2, j)] == x_j + d.activation_value(1, j)
    assert block.equations[d.output(j)] == d.pre_activation(2, j)
# the skip's path: dy_j/dx_j = 1 + (path through F); off the diagonal only F's path
slopes = [sp.Symbol(f"dy_{j}/da_{j}^(1)", real=True) for j in (1, 2)]
assert sp.expand(J.named[0, 0] - (1 + slopes[0] * d.weight(1, 1, 1))) == 0
assert sp.expand(J.named[0, 1] - slopes[0] * d.weight(1, 1, 2)) == 0
assert sp.expand(J.named[1, 1] - (1 + slopes[1] * d.weight(1, 2, 2))) == 0

# %% [markdown]
# **Jacobian minus $I$ is exactly $F$'s Jacobian**, three ways: (a) symbolically, symnet's $J$
# written out in $x$ and $w$ (`.matrix`), minus $I$, equals SymPy's Jacobian of $F$ typed here
# by hand, $\tanh(Wx + b)$; (b) $J$ equals central differences of the NumPy block, and $J - I$
# central differences of the NumPy $F$ alone (relative $10^{-7}$); (c) backpropagation equals
# direct differentiation of the written-out outputs (`method="direct"`).

# %%
W_sym = sp.Matrix(2, 2, block.params[:4])
b_sym = sp.Matrix(block.params[4:])
F_by_hand = (W_sym * sp.Matrix([x1, x2]) + b_sym).applyfunc(sp.tanh)
difference = J.matrix - sp.eye(2) - F_by_hand.jacobian([x1, x2])
assert all(sp.simplify(entry) == 0 for entry in difference)                      # (a)

J_at_x = J.evaluate(x, w_block)
numeric_block = central_difference(lambda V: block_forward(V, w_block), x).T
numeric_F = central_difference(lambda V: F_forward(V, w_block), x).T
assert np.abs(numeric_block - J_at_x).max() < 1e-7 * np.abs(J_at_x).max()        # (b)
assert np.abs(numeric_F - (J_at_x - np.eye(2))).max() < 1e-7 * np.abs(numeric_F).max()
direct = symnet.input_jacobian(block, method="direct")
assert np.allclose(direct.evaluate(X_probe, w_block), J.evaluate(X_probe, w_block),
                   rtol=1e-13, atol=1e-15)                                        # (c)
print("J at x =\n", J_at_x.round(6), "\nJ - I =\n", (J_at_x - np.eye(2)).round(6))

# %% [markdown]
# ## A block whose $F$ is zero gives exactly $I$
#
# With every weight of $F$ zero, $F(z) = \tanh(b)$ is a constant: the block shifts its input
# but does not stretch it, so its Jacobian is exactly the identity, at every input, in exact
# arithmetic (the symbols set to 0) and in floating point (no rounding at all). With the
# biases zero as well the block is the identity map. A *plain* layer with zero weights, by
# contrast, has the Jacobian exactly 0: it passes nothing back.

# %%
weights_zero = {p: 0 for p in block.params[:4]}
assert J.matrix.xreplace(weights_zero) == sp.eye(2)
w_zero_F = w_block.copy()
w_zero_F[:4] = 0.0                                   # W^(1) = 0, b^(1) as before
assert np.array_equal(J.evaluate(X_probe, w_zero_F), np.broadcast_to(np.eye(2), (6, 2, 2)))
assert np.array_equal(block.forward(X_probe, np.zeros(6)), X_probe)      # F = 0: y = x
J_plain = symnet.input_jacobian(F_only)
assert np.array_equal(J_plain.evaluate(X_probe, w_zero_F), np.zeros((6, 2, 2)))
print("zero weights: block Jacobian = I exactly; plain layer Jacobian = 0 exactly")

# %% [markdown]
# ## Ten layers, with and without skips
#
# Now two networks with one input, ten tanh layers of width 2 and a linear output unit:
#
# * **plain**: $z^{(l)} = \tanh(W^{(l)} z^{(l-1)} + b^{(l)})$ for $l = 1..10$;
# * **with skips**: layer 1 is the same, and each of layers $2..10$ is a residual block
#   $z^{(l)} = z^{(l-1)} + \tanh(W^{(l)} z^{(l-1)} + b^{(l)})$.
#
# Both have the same 61 parameters in the same order, so one parameter vector sets both: every
# weight drawn from $N(0, 0.5^2)$ (seed 0), the biases from $0.1\,N(0, 1)$; eight samples $x$ and
# targets $t$ from $N(0, 1)$, $E = \tfrac12 \sum_n (y_n - t_n)^2$. symnet numbers the stages of
# the skip network as the graph has them (layer 1 is stage 1, block $l$ is stages $2l - 2$ (its
# $F$) and $2l - 1$ (its skip), the output stage 20); below, *layer $l$* is the $l$-th dense
# layer in both networks (layer 11 is the output layer), and $\|\partial E/\partial W^{(l)}\|$ its
# weights' gradient norm.

# %%
def networks(depth, width=2):
    """The plain net and the same net with skips: 1 input, depth tanh layers, 1 linear output."""
    plain = symnet.Network(1, [layers.Dense(width, "tanh") for _ in range(depth)]
                           + [layers.Dense(1, "linear")])
    skip = symnet.Network(1, [layers.Dense(width, "tanh")]
                          + [layers.Residual([layers.Dense(width, "tanh")])
                             for _ in range(depth - 1)]
                          + [layers.Dense(1, "linear")])
    return plain, skip


def sizes_of(depth, width=2):
    return [1] + [width] * depth + [1]


def layer_norms(g, depth, width=2):
    """|dE/dW^(l)| for l = 1..depth+1 (the output layer last), from g in symnet's order."""
    return np.array([np.linalg.norm(dW) for dW, _ in layer_arrays(g, sizes_of(depth, width))])


def data(seed=0, n_samples=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, 1)), rng.normal(size=(n_samples, 1))


depth, scale = 10, 0.5
plain, skip = networks(depth)
assert plain.n_params == skip.n_params == 61
assert [b.shape for b in plain.blocks] == [b.shape for b in skip.blocks]   # W, b of each layer
assert [stage.kind for stage in skip.stages][:5] == ["dense", "dense", "skip", "dense", "skip"]
assert skip.n_layers == 20 and plain.n_layers == 11
assert [skip.param_name(n) for n in (0, 2, 4, 8, 58)] == \
    ["w_11^(1)", "b_1^(1)", "w_11^(2)", "b_1^(2)", "w_11^(20)"]
grad_plain, grad_skip = symnet.gradient(plain, "sse"), symnet.gradient(skip, "sse")
X, T = data(0)
w = plain.init_params(seed=0, scale=scale)
g_plain, g_skip = grad_plain.evaluate(X, w, T), grad_skip.evaluate(X, w, T)
norms = {"plain": layer_norms(g_plain, depth), "with skips": layer_norms(g_skip, depth)}
ratio = {name: n[0] / n[-1] for name, n in norms.items()}
for name, n in norms.items():
    print(f"{name:10} |dE/dW^(1)| = {n[0]:.2e}, |dE/dW^(11)| = {n[-1]:.2e}, "
          f"first / last = {ratio[name]:.2e}")
plots.layer_bars(norms, "|dE/dW^(l)| (units of E per unit weight)",
                 "10 tanh layers of width 2, weights N(0, 0.5^2): plain against skips")

# %% [markdown]
# The plain network's first-layer gradient is below one hundredth of its last layer's; with
# skips it is not vanishing: above half of it (here it is even larger). The first layer's
# gradient of the skip network is more than a thousand times the plain one's, at the same
# weights.

# %%
assert ratio["plain"] < 0.01 and ratio["with skips"] > 0.5
assert ratio["with skips"] > 1                          # here even larger than the last layer's
assert norms["with skips"][0] > 1000 * norms["plain"][0]

# %% [markdown]
# One draw could be lucky. Over 20 draws of weights and data (seeds 0..19), the plain
# network's ratio is below 1 every time and its median below 0.01; the skip network's median
# is above 0.5, and in every draw its first-layer gradient is at least 10 times the plain
# network's.

# %%
draws = {"plain": [], "with skips": [], "first-layer factor": []}
for seed in range(20):
    X_s, T_s = data(seed)
    w_s = plain.init_params(seed=seed, scale=scale)
    n_plain = layer_norms(grad_plain.evaluate(X_s, w_s, T_s), depth)
    n_skip = layer_norms(grad_skip.evaluate(X_s, w_s, T_s), depth)
    draws["plain"].append(n_plain[0] / n_plain[-1])
    draws["with skips"].append(n_skip[0] / n_skip[-1])
    draws["first-layer factor"].append(n_skip[0] / n_plain[0])
draws = {name: np.array(values) for name, values in draws.items()}
for name, values in draws.items():
    print(f"{name:18} median {np.median(values):.3g}, min {values.min():.3g}, "
          f"max {values.max():.3g}")
assert draws["plain"].max() < 1 and np.median(draws["plain"]) < 0.01
assert np.median(draws["with skips"]) > 0.5
assert draws["first-layer factor"].min() > 10

# %% [markdown]
# ## The gradient, checked three ways
#
# (a) **Symbolically.** The deltas symnet derives for the skip network show the identity
# term: a skip stage's delta is the next block's $F$ path *plus the next skip's delta
# unchanged*, $\delta_j^{(s)} = \sum_k w_{kj}^{(s+1)} \delta_k^{(s+1)} + \delta_j^{(s+2)}$ (stage $s$
# a skip, $s + 1$ the next block's $F$, $s + 2$ its skip); the lesson builds that sum from the
# symbols and compares. And for a short version of the network (layer 1, two blocks, the
# output) SymPy's derivative of the written-out $E$ equals the backpropagated gradient,
# entry by entry.

# %%
for s in range(3, 18, 2):                           # the skip stages 3, 5, ..., 17
    for j in (1, 2):
        expected = sum(d.weight(s + 1, k, j) * d.delta(s + 1, k) for k in (1, 2)) \
            + d.delta(s + 2, j)
        assert sp.expand(grad_skip.definitions[d.delta(s, j)] - expected) == 0, (s, j)
display(Math(f"{tex(d.delta(17, 1))} = {tex(grad_skip.definitions[d.delta(17, 1)])}"))

_, short = networks(3)
grad_short = symnet.gradient(short, "sse")
E_short = grad_short.loss.per_sample(short).xreplace(short.substitution)
for n, p in enumerate(short.params):
    assert sp.expand(sp.diff(E_short, p) - grad_short.matrix[n]) == 0, p           # (a)
print(f"the {short.n_params} entries of dE/dw for the short skip network: equal symbolically")

# %% [markdown]
# (b) **Central differences** of the NumPy $E$ agree with the whole gradient of both
# networks to a relative $10^{-7}$ of the largest entry, and the first layer's entries,
# however small, to a relative $10^{-7}$ of that layer's largest entry.
#
# (c) **A second route.** For the plain network, `widgets.gradient_norm_view` (lesson 9's view,
# on an `MLP` of the same sizes, the same draw of weights and data, through the MLP's compiled
# matrix form) gives the same per-layer norms. For the skip network, the gradient built from
# the parameter Jacobian, $\partial E/\partial w = \sum_n (\partial y_n/\partial w)^\top (y_n - t_n)$,
# equals the backpropagated one.

# %%
def numpy_error(V, skips):
    """E at each parameter vector of V (P, W): NumPy only."""
    return np.array([0.5 * np.sum((numpy_forward(X, v, sizes_of(depth), skips, True) - T) ** 2)
                     for v in V])


skips_of = {"plain": [False] * depth, "with skips": [False] + [True] * (depth - 1)}
first = slice(0, 4)                                 # w_11^(1), w_21^(1), b_1^(1), b_2^(1)
for name, g in [("plain", g_plain), ("with skips", g_skip)]:
    numeric = central_difference(lambda V, s=skips_of[name]: numpy_error(V, s), w)
    whole = np.abs(numeric - g).max() / np.abs(g).max()
    in_first = np.abs(numeric[first] - g[first]).max() / np.abs(g[first]).max()
    print(f"{name:10} central differences: whole gradient {whole:.1e}, first layer {in_first:.1e}")
    assert whole < 1e-7 and in_first < 1e-7                                        # (b)

view = widgets.gradient_norm_view("tanh", depth, width=2, scale=scale)
assert np.allclose(view.norms, norms["plain"], rtol=1e-12, atol=0)                 # (c)
print(view)
param_J = symnet.param_jacobian(skip).evaluate(X, w)                # (N, 1, W)
residuals = skip.forward(X, w) - T
assert np.allclose(np.einsum("nkw,nk->w", param_J, residuals), g_skip, rtol=1e-12,
                   atol=1e-14)                                                      # (c)

# %% [markdown]
# ## Why: a product of $I + J_F$ instead of a product of $J$
#
# The first layer's gradient is $\partial E/\partial W^{(1)} = \sum_n \delta_n^{(1)} x_n^\top$ with
#
# $$\delta_n^{(1)} = h'(a_n^{(1)}) \odot \Big(P_n^\top\, W^{(11)\top} (y_n - t_n)\Big), \qquad
#   P_n = \frac{\partial z^{(10)}}{\partial z^{(1)}} = J^{(10)} \cdots J^{(2)},$$
#
# where each layer's factor is $J^{(l)} = \operatorname{diag}(h'(a^{(l)}))\,W^{(l)}$ in the plain
# network and $J^{(l)} = I + J_F^{(l)}$, $J_F^{(l)} = \operatorname{diag}(h'(a^{(l)}))\,W^{(l)}$, in the
# skip network. Some single plain factors stretch (weights of size 0.5, slopes $h' \le 1$), but
# their product over nine layers is tiny: at every sample its largest singular value is below
# 0.01. Multiplied out, the skip network's product is a sum of $2^9 = 512$ terms, one per
# choice of blocks whose $F$ the path goes through, $P = \sum_{S} \prod_{l \in S} J_F^{(l)}$; one
# of them is $I$ itself, the path that skips every block. Here the sum stretches some direction
# (largest singular value above 1 at every sample), and the error comes back through it.
# Below, $P_n$ is built in NumPy from the forward pass and checked against central
# differences of the map $z^{(1)} \mapsto z^{(10)}$ and against its 512-term expansion; the
# formula for $\partial E/\partial W^{(1)}$ and $\partial E/\partial b^{(1)}$ built from it equals
# symnet's gradient.

# %%
def chain_product(x, w, skips):
    """a^(1), P = dz^(10)/dz^(1), z^(1), y and the factors diag(h'(a^(l))) W^(l), l = 2..10."""
    arrays = layer_arrays(w, sizes_of(depth))
    W1, b1 = arrays[0]
    a1 = W1 @ x + b1
    z = z1 = np.tanh(a1)
    P, factors = np.eye(2), []
    for (W, b), skip_here in zip(arrays[1:-1], skips[1:]):
        a = W @ z + b
        factors.append((1 - np.tanh(a) ** 2)[:, None] * W)
        P = (np.eye(2) + factors[-1] if skip_here else factors[-1]) @ P
        z = z + np.tanh(a) if skip_here else np.tanh(a)
    W_out, b_out = arrays[-1]
    return a1, P, z1, W_out @ z + b_out, factors


def expanded(factors):
    """sum over subsets S of the blocks of prod_{l in S} J_F^(l), later layers on the left."""
    total = np.zeros((2, 2))
    for chosen in itertools.product([False, True], repeat=len(factors)):
        term = np.eye(2)
        for factor, through_F in zip(factors, chosen):
            term = (factor if through_F else np.eye(2)) @ term
        total += term
    return total


def upper_map(z1, w, skips):
    """z^(1) -> z^(10): layers 2..10 alone, NumPy only (for central differences of P)."""
    arrays = layer_arrays(w, sizes_of(depth))[1:-1]
    z = np.atleast_2d(z1)
    for (W, b), skip_here in zip(arrays, skips[1:]):
        f = np.tanh(z @ W.T + b)
        z = z + f if skip_here else f
    return z


largest, single = {}, 0.0
for name, g in [("plain", g_plain), ("with skips", g_skip)]:
    skips, W_out = skips_of[name], layer_arrays(w, sizes_of(depth))[-1][0]
    dW1, db1, stretch = np.zeros((2, 1)), np.zeros(2), []
    for x_n, t_n in zip(X, T):
        a1, P, z1, y, factors = chain_product(x_n, w, skips)
        numeric_P = central_difference(lambda V: upper_map(V, w, skips), z1).T
        assert np.abs(numeric_P - P).max() < 1e-7 * np.abs(P).max()             # (b)
        if name == "with skips":                    # the 512 paths add up to P
            assert np.allclose(expanded(factors), P, rtol=1e-12, atol=1e-12)
        else:                                       # single plain factors may stretch
            single = max(single, max(np.linalg.svd(f, compute_uv=False)[0] for f in factors))
        delta1 = (1 - np.tanh(a1) ** 2) * (P.T @ W_out.T @ (y - t_n))
        dW1 += np.outer(delta1, x_n)
        db1 += delta1
        stretch.append(np.linalg.svd(P, compute_uv=False)[0])
    largest[name] = np.array(stretch)
    assert np.allclose(np.r_[dW1.ravel(), db1], g[first], rtol=1e-10, atol=0)      # (c)
    print(f"{name:10} largest singular value of P_n over the 8 samples: "
          f"{largest[name].min():.3g} .. {largest[name].max():.3g}")
print(f"the largest singular value of a single plain factor: {single:.3g}")
assert largest["plain"].max() < 0.01 and largest["with skips"].min() > 1 and single > 1

# %% [markdown]
# ## Try it
#
# The sliders set the weight scale (the standard deviation of every weight) and the number of
# tanh layers; the bars show $\|\partial E/\partial W^{(l)}\|$ of both networks. At a scale of 1.5
# the plain network's gradient *grows* toward the inputs instead (first / last above 1: the
# exploding side of lesson 9). With 6 layers at a scale of 0.25 the plain network's ratio is
# below 0.01 and the skip network's above 0.1. The cell after the panel moves the sliders and
# checks the panel against a fresh computation and against central differences of the NumPy
# forward pass.

# %%
derived = {}


def derivations(depth):
    """The two networks of this depth and their gradients, derived once."""
    if depth not in derived:
        plain_d, skip_d = networks(depth)
        derived[depth] = {"plain": (plain_d, symnet.gradient(plain_d, "sse")),
                          "with skips": (skip_d, symnet.gradient(skip_d, "sse"))}
    return derived[depth]


def skip_view(scale, depth):
    """Per-layer |dE/dW^(l)| of the plain and the skip network (seed 0) as a symnet View."""
    X_v, T_v = data(0)
    found = derivations(depth)
    w_v = found["plain"][0].init_params(seed=0, scale=scale)
    norms_v = {name: layer_norms(g.evaluate(X_v, w_v, T_v), depth)
               for name, (_, g) in found.items()}
    shown = {f"{key}_ratio": (f"{name}: |dE/dW^(1)| / |dE/dW^(L)|", float(n[0] / n[-1]))
             for key, (name, n) in zip(("plain", "skip"), norms_v.items())}
    return widgets.View(f"{depth} tanh layers of width 2, weights N(0, {scale:.2f}^2)", shown,
                        {"norms": norms_v, "w": w_v})


def skip_plot(result):
    return plots.layer_bars(result.norms, "|dE/dW^(l)| (units of E per unit weight)",
                            "gradient norm per layer: plain against skips")


panel = widgets.Panel(skip_view, {
    "scale": ipywidgets.FloatSlider(value=0.5, min=0.1, max=1.5, step=0.05,
                                    description="weight scale", continuous_update=False),
    "depth": ipywidgets.IntSlider(value=10, min=2, max=12, description="layers",
                                  continuous_update=False)}, plot=skip_plot)
panel

# %%
assert np.allclose(panel.result.norms["plain"], norms["plain"], rtol=1e-13)
panel.controls["scale"].value = 1.5
assert panel.result["plain_ratio"] > 1                  # exploding instead of vanishing
panel.controls["scale"].value = 0.25
panel.controls["depth"].value = 6
moved = panel.result
X6, T6 = data(0)
plain6, skip6 = networks(6)
w6 = plain6.init_params(seed=0, scale=0.25)
assert np.array_equal(moved.w, w6)
for name, net6, skips6 in [("plain", plain6, [False] * 6),
                           ("with skips", skip6, [False] + [True] * 5)]:
    exact = symnet.gradient(net6, "sse").evaluate(X6, w6, T6)
    assert np.allclose(moved.norms[name], layer_norms(exact, 6), rtol=1e-12, atol=0)
    numeric = central_difference(lambda V, s=skips6: np.array(
        [0.5 * np.sum((numpy_forward(X6, v, sizes_of(6), s, True) - T6) ** 2) for v in V]), w6)
    assert np.abs(numeric - exact).max() < 1e-7 * np.abs(exact).max()
assert moved["plain_ratio"] < 0.01 and moved["skip_ratio"] > 0.1
print(moved)

# %% [markdown]
# ## Exercises
#
# Type a number (to 3 or 4 significant digits) in the box and press Enter: the feedback says
# whether it is right and, if not, names the mistake when it is a common one. Every block is
# of width 1, $z_\text{out} = z_\text{in} + \tanh(w z_\text{in} + b)$ with $w = 0.5$ and $b = 0$.
# The solutions, with typical wrong answers, are in `lessons/solutions/16_residual.toml`.
#
# **Exercise 16.1.** What is $\partial z_\text{out}/\partial z_\text{in}$ of one block at
# $z_\text{in} = 1$?

# %%
questions = widgets.exercises(16)
widgets.exercise_box(questions[0])

# %% [markdown]
# **Exercise 16.2.** Two such blocks in a row, $z_1 = x + \tanh(0.5 x)$,
# $y = z_1 + \tanh(0.5 z_1)$: what is $dy/dx$ at $x = 1$?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **Exercise 16.3.** For the same two blocks, $E = \tfrac12 (y - t)^2$ with $t = 0$ and $x = 1$:
# what is $\partial E/\partial w_{11}^{(1)}$, the derivative by the weight inside the *first*
# block? (Along which paths does the error reach it?)

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** A residual block's Jacobian is $I + \partial F/\partial z_\text{in}$: symnet's
# backpropagated Jacobian minus $I$ is exactly $F$'s, and a block whose $F$ has zero weights
# has Jacobian exactly $I$, where a plain layer's would be 0. Through many layers the
# backward pass multiplies factors $I + J_F$ instead of $J_F$; in a 10-layer tanh network
# with weights of size 0.5 that keeps the first layer's gradient comparable to the last
# layer's, where the plain network's falls below a hundredth of it.
