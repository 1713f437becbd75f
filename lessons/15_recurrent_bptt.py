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
# # Lesson 15: Recurrent networks and backpropagation through time
#
# *Time: about 30 minutes.*
#
# An Elman network (Elman, *Finding structure in time*, 1990) reads a sequence
# $x^{(1)}, \dots, x^{(T)}$ one step at a time and carries a hidden state from step to step:
#
# $$h^{(0)} = 0, \qquad a^{(t)} = W_{xh}\, x^{(t)} + W_{hh}\, h^{(t-1)} + b_h, \qquad
#   h^{(t)} = \tanh(a^{(t)}), \qquad y^{(t)} = W_{hy}\, h^{(t)} + b_y .$$
#
# Written out for $t = 1, \dots, T$ ("unrolled"), it is a feed-forward network $T$ layers deep
# in which every layer uses the **same** matrices. The same weight stands on many connections,
# so its derivative is the sum over them (Bishop, *Deep Learning*, 2024, sec. 8.1):
# backpropagation through this graph is *backpropagation through time* (BPTT; Werbos, 1990),
#
# $$\delta^{(t)} \equiv \frac{\partial E}{\partial a^{(t)}}
#   = h'(a^{(t)}) \odot \big(W_{hh}^\top \delta^{(t+1)} + W_{hy}^\top \delta^{(y,t)}\big),
#   \qquad \frac{\partial E}{\partial W_{hh}} = \sum_{t=2}^{T} \delta^{(t)}\, h^{(t-1)\top},$$
#
# with $\delta^{(T+1)} = 0$ and $\delta^{(y,t)} = \partial E/\partial a^{(y,t)} = y^{(t)} - t^{(t)}$ for
# linear outputs and the sum-of-squares error (the $t = 1$ term of the sum vanishes since
# $h^{(0)} = 0$). The product of $T - t$ Jacobians that carries $\delta$ back from step $T$ to
# step $t$ is, for a linear RNN, a power of $W_{hh}$: it shrinks or grows geometrically with
# the spectral radius of $W_{hh}$; with tanh, whose slopes are at most 1, its norm is at most
# $\|W_{hh}\|_2^{T-t}$. These are the vanishing and exploding gradients of recurrent networks (Bengio, Simard & Frasconi, 1994), and the
# reason for gradient clipping (Pascanu, Mikolov & Bengio, 2013).

# %%
import ipywidgets
import numpy as np
import sympy as sp
from IPython.display import Math, display

import symnet
from symnet import plots, widgets
from symnet.numdiff.differences import central_difference
from symnet.render.derivation_latex import tex

D, H, K, steps = 2, 2, 1, 4          # inputs per step, hidden units, outputs per step, T
net = symnet.RNN(D, H, K, steps=steps, hidden="tanh", output="linear", outputs="all")
w = net.init_params(seed=0)
rng = np.random.default_rng(0)
X = rng.normal(size=(5, steps * D))      # 5 sequences, each x^(1)..x^(4) flattened time-major
targets = rng.normal(size=(5, steps * K))
print(net)
print("parameters:", ", ".join(p.name for p in net.params))


def S(name):
    """The symbol symnet uses for a name (every symnet symbol is real)."""
    return sp.Symbol(name, real=True)

# %% [markdown]
# ## The network, unrolled
#
# symnet names every unit of the unrolled graph: the inputs $x_i^{(t)}$, the hidden
# pre-activations $a_j^{(t)}$ and states $h_j^{(t)}$, the output pre-activations $a_k^{(y,t)}$
# and the outputs $y_k^{(t)}$. The parameters carry the name of their matrix instead of a
# layer number: $w_{ji}^{(xh)}$, $w_{jm}^{(hh)}$, $b_j^{(h)}$, $w_{kj}^{(hy)}$, $b_k^{(y)}$, in that
# order, each matrix row-major. Every time step's equation uses the same symbols, so the number
# of parameters, $HD + H^2 + H + KH + K = 13$ here, does not depend on $T$.

# %%
for a in net.layer_pre_activations(2):
    display(Math(f"{tex(a)} = {tex(net.equations[a])}"))
# a_j^(2) = sum_i w_ji^(xh) x_i^(2) + sum_m w_jm^(hh) h_m^(1) + b_j^(h)
for j in range(1, H + 1):
    by_hand = (sum(S(f"w_{j}{i}^(xh)") * S(f"x_{i}^(2)") for i in range(1, D + 1))
               + sum(S(f"w_{j}{m}^(hh)") * S(f"h_{m}^(1)") for m in range(1, H + 1))
               + S(f"b_{j}^(h)"))
    assert sp.expand(net.equations[S(f"a_{j}^(2)")] - by_hand) == 0
assert net.equations[S("h_1^(2)")] == sp.tanh(S("a_1^(2)"))
assert all(symnet.RNN(D, H, K, steps=T_).n_params == H * D + H * H + H + K * H + K == 13
           for T_ in (1, 4, 20))

# %% [markdown]
# The lesson's own forward pass, in plain NumPy, is the independent reference every number
# below is checked against: it unpacks $w$ in the documented order (conventions page) and loops
# over the time steps. symnet's forward pass equals it.

# %%
def unpack(w, D, H, K):
    """W_xh (H, D), W_hh (H, H), b_h (H,), W_hy (K, H), b_y (K,), in symnet's order."""
    sizes = [H * D, H * H, H, K * H, K]
    W_xh, W_hh, b_h, W_hy, b_y = np.split(np.asarray(w, dtype=float), np.cumsum(sizes)[:-1])
    return W_xh.reshape(H, D), W_hh.reshape(H, H), b_h, W_hy.reshape(K, H), b_y


def elman(X, w, D=D, H=H, K=K, hidden=np.tanh, W_hh_per_step=None):
    """Plain NumPy Elman network: (states (N, T, H), outputs (N, T, K)) of sequences X (N, T*D).

    ``W_hh_per_step`` (T, H, H) gives every step its own copy of W_hh (untied weights).
    """
    W_xh, W_hh, b_h, W_hy, b_y = unpack(w, D, H, K)
    X = np.atleast_2d(X)
    N, T = X.shape[0], X.shape[1] // D
    X = X.reshape(N, T, D)
    state, states = np.zeros((N, H)), []                       # h^(0) = 0
    for t in range(T):
        W = W_hh if W_hh_per_step is None else W_hh_per_step[t]
        state = hidden(X[:, t] @ W_xh.T + state @ W.T + b_h)
        states.append(state)
    states = np.stack(states, axis=1)
    return states, states @ W_hy.T + b_y


def sse(X, w, targets, **options):
    """E = 1/2 sum over samples, steps and outputs of (y_k^(t) - t_k^(t))^2."""
    _, Y = elman(X, w, **options)
    return 0.5 * np.sum((Y.reshape(len(Y), -1) - targets) ** 2)


states, Y = elman(X, w)
assert np.allclose(net.forward(X, w), Y.reshape(5, -1), rtol=1e-14, atol=1e-15)
assert np.isclose(symnet.loss_value(net, "sse", X, w, targets), sse(X, w, targets), rtol=1e-14)
print("y^(1..4) of the first sequence:", Y[0, :, 0].round(6))

# %% [markdown]
# ## Backpropagation through time, derived
#
# `symnet.gradient` runs Bishop's delta recursion over the unrolled graph and names every
# delta: $\delta_k^{(y,t)}$ at the outputs, $\delta_j^{(t)}$ at the hidden units of step $t$.
# Each hidden delta collects two terms: what step $t+1$ sends back through $W_{hh}$, and what
# the output of step $t$ sends back through $W_{hy}$. In entries,
#
# $$\delta_j^{(t)} = \big(1 - (h_j^{(t)})^2\big)\Big(\sum_m w_{mj}^{(hh)} \delta_m^{(t+1)}
#   + \sum_k w_{kj}^{(hy)} \delta_k^{(y,t)}\Big), \qquad
#   \frac{\partial E}{\partial w_{jm}^{(hh)}} = \sum_{t=2}^{T} \delta_j^{(t)} h_m^{(t-1)} .$$
#
# The cell below asserts both, symbol by symbol, for every $j$, $m$ and $t$; and the same
# sums over time for $W_{xh}$ (with $x_i^{(t)}$ for $h_m^{(t-1)}$, from $t = 1$) and $b_h$.

# %%
grad = symnet.gradient(net, "sse")
for t in (4, 3):
    for j in range(1, H + 1):
        delta = S(f"delta_{j}^({t})")
        display(Math(f"{tex(delta)} = {tex(grad.definitions[delta])}"))
display(Math(r"\frac{\partial E}{\partial w^{(hh)}_{11}} = "
             + tex(grad.named[net.param_index("w_11^(hh)")])))


def hand_delta(j, t):
    """h'(a_j^(t)) (sum_m w_mj^(hh) delta_m^(t+1) + sum_k w_kj^(hy) delta_k^(y,t))."""
    later = (sum(S(f"w_{m}{j}^(hh)") * S(f"delta_{m}^({t + 1})") for m in range(1, H + 1))
             if t < steps else 0)                                      # delta^(T+1) = 0
    output = sum(S(f"w_{k}{j}^(hy)") * S(f"delta_{k}^(y,{t})") for k in range(1, K + 1))
    return (1 - S(f"h_{j}^({t})") ** 2) * (later + output)


for t in range(1, steps + 1):
    for k in range(1, K + 1):          # linear outputs, sum of squares: y - t
        assert grad.definitions[S(f"delta_{k}^(y,{t})")] == S(f"y_{k}^({t})") - S(f"t_{k}^({t})")
    for j in range(1, H + 1):
        assert sp.expand(grad.definitions[S(f"delta_{j}^({t})")] - hand_delta(j, t)) == 0, (j, t)
for j in range(1, H + 1):
    for m in range(1, H + 1):
        through_time = sum(S(f"delta_{j}^({t})") * S(f"h_{m}^({t - 1})")
                           for t in range(2, steps + 1))
        assert sp.expand(grad.named[net.param_index(f"w_{j}{m}^(hh)")] - through_time) == 0
    for i in range(1, D + 1):
        assert sp.expand(grad.named[net.param_index(f"w_{j}{i}^(xh)")]
                         - sum(S(f"delta_{j}^({t})") * S(f"x_{i}^({t})")
                               for t in range(1, steps + 1))) == 0
    assert sp.expand(grad.named[net.param_index(f"b_{j}^(h)")]
                     - sum(S(f"delta_{j}^({t})") for t in range(1, steps + 1))) == 0

# %% [markdown]
# ## The gradient in numbers, three ways
#
# (a) **Exactly.** With tanh, the values at rational points are not rational, so the exact
# check uses the same network with linear hidden units: there SymPy's own derivative of the
# written-out error $E(x, w, t)$, taken parameter by parameter, equals symnet's named BPTT
# form evaluated in exact fractions, at a rational point. (b) **Numerically.** For the tanh
# network, the sum over time $\sum_t \delta^{(t)} h^{(t-1)\top}$ formed from symnet's named deltas
# and states equals `grad.evaluate` and the central differences of the plain NumPy error.
# (c) **The other route.** BPTT written as a NumPy loop backwards in time, from the lesson's own
# forward pass, equals `grad.evaluate` for all 13 parameters and 5 sequences.

# %%
linear = symnet.RNN(D, H, K, steps=steps, hidden="linear", outputs="all")
linear_grad = symnet.gradient(linear, "sse")
# E = 1/2 sum_t (y^(t) - t^(t))^2, y^(t) written out in x, w, b
E_written_out = sum((y - t) ** 2 for y, t in zip(linear.outputs, linear.targets)) / 2
variables = linear.inputs + linear.params + linear.targets
eighths = rng.integers(-8, 9, size=len(variables))
exact_point = {v: sp.Rational(int(n), 8) for v, n in zip(variables, eighths)}
named_values = dict(exact_point)
for name, value in linear_grad.all_definitions.items():      # forward values, then the deltas
    named_values[name] = value.xreplace(named_values)
exact_gradient = []
for p, entry in zip(linear.params, linear_grad.named):
    exact = sp.diff(E_written_out, p).xreplace(exact_point)
    assert entry.xreplace(named_values) == exact and exact.is_Rational, p           # (a)
    exact_gradient.append(exact)
# and symnet's compiled evaluation, in floats, at the same point
x_exact, w_exact, t_exact = np.split(eighths / 8, [len(linear.inputs),
                                                   len(variables) - len(linear.targets)])
assert np.allclose(linear_grad.evaluate(x_exact, w_exact, t_exact),
                   np.array(exact_gradient, dtype=float), rtol=1e-13, atol=1e-15)
print("dE/dw_11^(hh) of the linear twin at the rational point:",
      exact_gradient[linear.param_index("w_11^(hh)")])

# %%
g = grad.evaluate(X, w, targets)
numeric = central_difference(lambda V: np.array([sse(X, v, targets) for v in V]), w)
relative = np.abs(numeric - g).max() / np.abs(g).max()
print(f"central differences of the NumPy error agree to {relative:.1e}")
assert relative < 1e-7                                                                # (b)

def named_numbers(n):
    """symnet's named states h^(t) and deltas delta^(t) of sequence n, as arrays per step.

    Every forward equation and every delta definition is evaluated in order, each from the
    numbers before it; h^(0) = 0.
    """
    values = {**dict(zip(net.inputs, X[n])), **dict(zip(net.params, w)),
              **dict(zip(net.targets, targets[n]))}
    for name, value in grad.all_definitions.items():
        values[name] = float(value.xreplace(values))

    def vector(letter, t):
        return np.array([values[S(f"{letter}_{j}^({t})")] for j in range(1, H + 1)])
    h = {0: np.zeros(H), **{t: vector("h", t) for t in range(1, steps + 1)}}
    return h, {t: vector("delta", t) for t in range(1, steps + 1)}


h, delta = named_numbers(0)
dE_dW_hh = sum(np.outer(delta[t], h[t - 1]) for t in range(2, steps + 1))
one_sequence = grad.evaluate(X[:1], w, targets[:1])
W_hh_columns = net.block["W_hh"].columns
assert np.allclose(dE_dW_hh.ravel(), one_sequence[W_hh_columns], rtol=1e-12, atol=0)  # (b)
print("dE/dW_hh of sequence 1 = sum_t delta^(t) h^(t-1)T =\n", dE_dW_hh.round(6))


def bptt(X, w, targets, D=D, H=H, K=K):
    """The gradient of the tanh Elman network by BPTT, a NumPy loop from t = T down to 1."""
    W_xh, W_hh, b_h, W_hy, b_y = unpack(w, D, H, K)
    states, Y = elman(X, w, D, H, K)
    N, T, _ = states.shape
    X = np.atleast_2d(X).reshape(N, T, D)
    delta_y = Y - targets.reshape(N, T, K)                     # y^(t) - t^(t)
    parts = [np.zeros_like(p) for p in (W_xh, W_hh, b_h, W_hy, b_y)]
    later = np.zeros((N, H))                                   # delta^(T+1) = 0
    for t in reversed(range(T)):
        delta = (1 - states[:, t] ** 2) * (later @ W_hh + delta_y[:, t] @ W_hy)
        previous = states[:, t - 1] if t else np.zeros((N, H))   # h^(0) = 0
        for part, value in zip(parts, (delta.T @ X[:, t], delta.T @ previous, delta.sum(0),
                                       delta_y[:, t].T @ states[:, t], delta_y[:, t].sum(0))):
            part += value
        later = delta
    return np.concatenate([part.ravel() for part in parts])


assert np.allclose(bptt(X, w, targets), g, rtol=1e-12, atol=1e-14)                  # (c)
for name, value in zip(grad.rows, g):
    print(f"dE/d{name:10} = {value: .8f}")

# %% [markdown]
# ## Forgetting the sum over time
#
# A common slip is to write $\partial E/\partial W_{hh} = \delta^{(T)} h^{(T-1)\top}$, the term of the
# last step only, as if $W_{hh}$ stood in one place. Untie the weights to see why that is
# wrong: give every step its own copy $W_{hh}^{[t]}$ in the NumPy forward pass. The derivative
# of $E$ in copy $t$ (by central differences) is the one term $\sum_n \delta^{(t)} h^{(t-1)\top}$,
# and tying the copies back together adds them: the sum over time. The last term alone
# is far from the gradient.

# %%
W_hh = unpack(w, D, H, K)[1]
copies = np.repeat(W_hh[None], steps, axis=0)


def sse_untied(flat_copies):
    """E for each row of flattened copies (W_hh^[1], ..., W_hh^[T]), one per time step."""
    return np.array([sse(X, w, targets, W_hh_per_step=c.reshape(steps, H, H)) for c in flat_copies])


per_copy = central_difference(sse_untied, copies.ravel()).reshape(steps, H, H)
per_step = np.zeros((steps, H, H))
for n in range(len(X)):                  # each sequence's named deltas and states
    h, delta = named_numbers(n)
    for t in range(1, steps + 1):
        per_step[t - 1] += np.outer(delta[t], h[t - 1])
scale = np.abs(per_copy).max()
assert np.abs(per_copy - per_step).max() < 1e-7 * scale        # copy t: delta^(t) h^(t-1)T
assert np.abs(per_copy[0]).max() < 1e-7 * scale                # copy 1 meets h^(0) = 0
assert np.allclose(per_copy.sum(axis=0).ravel(), g[W_hh_columns], rtol=1e-7, atol=1e-7 * scale)
last_only = per_step[-1].ravel()
miss = np.linalg.norm(last_only - g[W_hh_columns]) / np.linalg.norm(g[W_hh_columns])
print(f"the last step alone misses dE/dW_hh by {miss:.0%} (relative norm)")
assert miss > 0.2

fig = plots.LessonFigure(figsize=(6, 3.2))
ax = fig.subplots()
for index, name in enumerate(["w_11^(hh)", "w_12^(hh)", "w_21^(hh)", "w_22^(hh)"]):
    ax.plot(range(1, steps + 1), per_copy[:, index // H, index % H], "o-", label=name)
ax.axhline(0.0, color="0.7", lw=0.8)
ax.set_xticks(range(1, steps + 1))
ax.set_xlabel("time step t of the copy W_hh^[t]")
ax.set_ylabel("dE/dw of copy t (units of E per w)")
ax.set_title("each step's share of dE/dW_hh; the gradient is their sum", fontsize=9)
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## One step is a multilayer perceptron
#
# With $T = 1$ the state $h^{(0)} = 0$ and $W_{hh}$ never acts: the RNN is the 2-3-1 MLP with
# $W^{(1)} = W_{xh}$, $b^{(1)} = b_h$, $W^{(2)} = W_{hy}$, $b^{(2)} = b_y$. Its output is
# symbolically the MLP's, its gradient is the MLP's with zeros for $W_{hh}$, and the numbers agree.

# %%
rnn1 = symnet.RNN(2, 3, 1, steps=1)
mlp = symnet.MLP([2, 3, 1], hidden="tanh", output="linear")
blocks = [rnn1.block[name] for name in ("W_xh", "b_h", "W_hy", "b_y")]
rnn_params = [p for block in blocks for p in rnn1.params[block.columns]]
as_mlp = {**dict(zip(rnn_params, mlp.params)), **dict(zip(rnn1.inputs, mlp.inputs))}
assert sp.expand(rnn1.outputs.xreplace(as_mlp) - mlp.outputs) == sp.zeros(1, 1)
rnn1_grad, mlp_grad = symnet.gradient(rnn1, "sse"), symnet.gradient(mlp, "sse")
for p, entry in zip(rnn1.params, rnn1_grad.matrix):
    if p in as_mlp:
        assert sp.expand(entry.xreplace(as_mlp) - mlp_grad.matrix[mlp.param_index(as_mlp[p])]) == 0
    else:
        assert entry == 0, p                                      # W_hh: h^(0) = 0
w1 = rnn1.init_params(seed=1)
w_mlp = np.concatenate([w1[block.columns] for block in blocks])
X1, T1 = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
assert np.allclose(rnn1.forward(X1, w1), mlp.forward(X1, w_mlp), rtol=1e-15, atol=1e-15)
g1 = rnn1_grad.evaluate(X1, w1, T1)
assert np.allclose(np.concatenate([g1[block.columns] for block in blocks]),
                   mlp_grad.evaluate(X1, w_mlp, T1), rtol=1e-13, atol=1e-15)
assert np.all(g1[rnn1.block["W_hh"].columns] == 0)
print("T = 1: the RNN's gradient is the MLP's, and dE/dW_hh = 0")

# %% [markdown]
# ## Gradients through time
#
# How much does the state at step $t$ still matter at step $T$? By the chain rule
#
# $$\frac{\partial h^{(T)}}{\partial h^{(t)}} = J^{(T)} J^{(T-1)} \cdots J^{(t+1)}, \qquad
#   J^{(s)} = \frac{\partial h^{(s)}}{\partial h^{(s-1)}} = \operatorname{diag}\!\big(h'(a^{(s)})\big)\, W_{hh},$$
#
# and the error's delta travels back along the transpose of the same product. First, the
# product is checked three ways on the 4-step network: (a) symbolically, against SymPy's
# derivative of $h^{(4)}$ written out in $h^{(1)}$; (b) against central differences of the NumPy
# forward pass restarted from a perturbed $h^{(1)}$; (c) against symnet's input Jacobian, whose
# block $\partial y^{(T)}/\partial x^{(t)} = W_{hy}\, \frac{\partial h^{(T)}}{\partial h^{(t)}}
# \operatorname{diag}(h'(a^{(t)}))\, W_{xh}$ holds the same product.

# %%
def through_time(W_hh, slopes):
    """[dh^(T)/dh^(T-k) for k = 0..T-1]: the products J^(T) J^(T-1) ... J^(T-k+1).

    J^(s) = diag(h'(a^(s))) W_hh, and ``slopes[s - 1]`` is h'(a^(s)) for s = 1..T.
    """
    product, products = np.eye(len(W_hh)), [np.eye(len(W_hh))]
    for slope in slopes[:0:-1]:                     # s = T, T-1, ..., 2
        product = product @ (slope[:, None] * W_hh)
        products.append(product)
    return products


# (a) symbolically: h^(4) in terms of h^(1), differentiated by SymPy, against the product
h1 = sp.Matrix([S(f"h_{j}^(1)") for j in range(1, H + 1)])
written = {}                    # a^(t), h^(t) for t >= 2 in terms of h^(1) (kept as symbols)
for t in range(2, steps + 1):
    for j in range(1, H + 1):
        a_t = net.equations[S(f"a_{j}^({t})")].xreplace(written)
        written[S(f"a_{j}^({t})")], written[S(f"h_{j}^({t})")] = a_t, sp.tanh(a_t)
h4 = sp.Matrix([written[S(f"h_{j}^(4)")] for j in range(1, H + 1)])
W_hh_symbols = sp.Matrix(H, H, list(net.params[W_hh_columns]))
symbolic_product = sp.eye(H)
for t in (4, 3, 2):
    slope = sp.diag(*[1 - written[S(f"h_{j}^({t})")] ** 2 for j in range(1, H + 1)])
    symbolic_product = symbolic_product * slope * W_hh_symbols
assert sp.expand(h4.jacobian(h1) - symbolic_product) == sp.zeros(H, H)            # (a)

# (b) and (c) in numbers, for the first sequence
W_xh, W_hh, b_h, W_hy, b_y = unpack(w, D, H, K)
slopes = 1 - states[0] ** 2                                     # h'(a^(s)), s = 1..4
products = through_time(W_hh, slopes)
x_steps = X[0].reshape(steps, D)


def h4_from_h1(H1):
    """h^(4) from the states h^(1) in the rows of H1, the inputs of the first sequence."""
    state = H1
    for t in range(1, steps):
        state = np.tanh(state @ W_hh.T + x_steps[t] @ W_xh.T + b_h)
    return state


numeric_product = central_difference(h4_from_h1, states[0, 0]).T
assert np.abs(numeric_product - products[3]).max() < 1e-7 * np.abs(products[3]).max()  # (b)
J = symnet.input_jacobian(net).evaluate(X[0], w)       # (T*K, T*D): dy_k^(t)/dx_i^(t')
last_output = J[(steps - 1) * K:steps * K]
for t in range(1, steps + 1):
    block = last_output[:, (t - 1) * D:t * D]
    predicted = W_hy @ products[steps - t] @ (slopes[t - 1][:, None] * W_xh)
    assert np.allclose(block, predicted, rtol=1e-12, atol=1e-15), t                  # (c)
print("dh^(4)/dh^(1) =\n", products[3].round(6))

# %% [markdown]
# ### The spectral radius sets the rate
#
# For a **linear** RNN every $h' = 1$ and the product is a matrix power,
# $\partial h^{(T)}/\partial h^{(T-k)} = W_{hh}^k$. Gelfand's formula says
# $\|W^k\|^{1/k} \to \rho(W)$, the spectral radius (the largest $|\lambda|$), so
# $\log \|W_{hh}^k\| \approx k \log \rho + \text{const}$: a straight line in $k$ whose slope is
# $\log\rho$, negative (vanishing) for $\rho < 1$, positive (exploding) for $\rho > 1$. Below,
# $W_{hh} = \rho M$ with a fixed random $3 \times 3$ matrix $M$ of spectral radius 1; the slope of
# $\log \|\partial h^{(T)}/\partial h^{(T-k)}\|_2$ fitted over the lags $k = 10..40$ is measured and
# compared with $\log\rho$.
#
# For a **tanh** RNN the slopes $h'(a) = 1 - \tanh^2 a$ lie in $(0, 1]$, so every factor
# $\|\operatorname{diag}(h')W_{hh}\|_2 \le \|W_{hh}\|_2$ and
# $\|\partial h^{(T)}/\partial h^{(T-k)}\|_2 \le \|W_{hh}\|_2^{\,k}$: when $\|W_{hh}\|_2 < 1$ the gradient
# through time must vanish at least that fast. (The spectral norm is at least the spectral
# radius, and can be larger: for this $M$, $\|M\|_2 = 1.21$, so $\|W_{hh}\|_2 < 1$ needs
# $\rho < 0.83$.)

# %%
tanh_view = widgets.activation_view("tanh", 0.0)
assert tanh_view.exact == 1.0                                   # h'(0) = 1, the largest slope
grid = np.linspace(-6, 6, 241)
tanh_slopes = symnet.activation("tanh").derivative_numpy(grid)
assert np.all((tanh_slopes > 0) & (tanh_slopes <= 1))
print(tanh_view)

H3, lags = 3, np.arange(41)
M = np.random.default_rng(2).normal(size=(H3, H3))
M /= np.abs(np.linalg.eigvals(M)).max()                         # spectral radius 1
assert round(np.linalg.norm(M, 2), 2) == 1.21 and round(1 / np.linalg.norm(M, 2), 2) == 0.83
W_xh3 = np.random.default_rng(5).normal(size=(H3, 1))
x_long = np.random.default_rng(6).normal(size=(1, len(lags)))   # one sequence of 41 steps
fit = lags >= 10


def gradient_through_time(rho):
    """||dh^(T)/dh^(T-k)||_2 for k = 0..40 for W_hh = rho M: linear and tanh RNNs, and the bound."""
    W = rho * M
    w3 = np.concatenate([W_xh3.ravel(), W.ravel(), np.zeros(H3), np.ones(H3), [0.0]])
    norms = {}
    for name, hidden, slope in (("linear", lambda a: a, lambda h: np.ones_like(h)),
                                ("tanh", np.tanh, lambda h: 1 - h ** 2)):
        run, _ = elman(x_long, w3, 1, H3, 1, hidden=hidden)
        products = through_time(W, slope(run[0]))
        norms[name] = np.array([np.linalg.norm(P, 2) for P in products])
        if name == "linear":        # h' = 1: the product of Jacobians is the matrix power
            assert all(np.allclose(P, np.linalg.matrix_power(W, k), rtol=1e-10,
                                   atol=1e-12 * np.linalg.norm(P)) for k, P in enumerate(products))
    norms["bound ||W_hh||^k"] = np.linalg.norm(W, 2) ** lags
    slope = np.polyfit(lags[fit], np.log(norms["linear"][fit]), 1)[0]
    return norms, slope


radii = [0.7, 0.9, 1.0, 1.1, 1.3]
measured = {rho: gradient_through_time(rho) for rho in radii}
print(f"{'rho':>5} {'log rho':>9} {'measured slope':>15} {'linear, k = 40':>15} "
      f"{'tanh, k = 40':>13} {'bound':>10}")
for rho, (norms, slope) in measured.items():
    print(f"{rho:5.2f} {np.log(rho):9.4f} {slope:15.4f} {norms['linear'][-1]:15.3e} "
          f"{norms['tanh'][-1]:13.3e} {norms['bound ||W_hh||^k'][-1]:10.3e}")
    assert abs(slope - np.log(rho)) < 1e-3, rho                    # the predicted rate
    assert np.all(norms["tanh"] <= norms["bound ||W_hh||^k"] * (1 + 1e-12))
assert measured[0.7][0]["linear"][-1] < 1e-5 < 1e3 < measured[1.3][0]["linear"][-1]
assert np.linalg.norm(0.7 * M, 2) < 1 and measured[0.7][0]["tanh"][-1] < 1e-5
across = np.polyfit(np.log(radii), [slope for _, slope in measured.values()], 1)
print(f"measured slope against log rho: slope {across[0]:.4f}, intercept {across[1]:.1e}")
assert abs(across[0] - 1) < 1e-3 and abs(across[1]) < 1e-3

# %% [markdown]
# With inputs driving it, the tanh network's units leave the region $a \approx 0$, their slopes
# fall below 1, and its gradient through time is here far below the linear network's, even for
# $\rho > 1$: saturation trades explosion for vanishing. With no input at all its state stays at
# $h = 0$, every $h'(0) = 1$, and it is exactly the linear network.

# %%
assert all(norms["tanh"][-1] < 1e-3 * norms["linear"][-1] for norms, _ in measured.values())
W_still = 1.3 * M
resting, _ = elman(np.zeros((1, 41)), np.concatenate([W_xh3.ravel(), W_still.ravel(),
                                                      np.zeros(H3), np.ones(H3), [0.0]]),
                   1, H3, 1)
assert np.all(resting == 0)
assert all(np.array_equal(P, Q) for P, Q in zip(through_time(W_still, 1 - resting[0] ** 2),
                                                through_time(W_still, np.ones((41, H3)))))

fig = plots.LessonFigure(figsize=(6.4, 3.6))
ax = fig.subplots()
for rho in (0.7, 1.0, 1.3):
    norms, _ = measured[rho]
    line, = ax.semilogy(lags, norms["linear"], label=f"linear, rho = {rho}")
    ax.semilogy(lags, norms["tanh"], "--", color=line.get_color(), label=f"tanh, rho = {rho}")
ax.set_xlabel("lag k = T - t (time steps)")
ax.set_ylabel("||dh^(T)/dh^(T-k)||_2 (dimensionless)")
ax.set_title("gradients through time: rho^k for the linear RNN", fontsize=9)
ax.legend(fontsize=7, ncol=2)
ax.grid(alpha=0.3)
fig

# %% [markdown]
# ## Try it
#
# Move the spectral radius $\rho$ of $W_{hh} = \rho M$: the panel measures the slope of
# $\log\|\partial h^{(T)}/\partial h^{(T-k)}\|$ for the linear RNN and compares it with $\log\rho$,
# and draws the linear and tanh norms with the bound $\|W_{hh}\|_2^k$. The cell after it moves
# the slider and checks the panel.

# %%
def spectral_radius_view(rho):
    """The gradient through time for W_hh = rho M, as a View for the panel."""
    norms, slope = gradient_through_time(rho)
    return widgets.View(f"W_hh = {rho:.2f} M", {
        "rho": ("spectral radius rho(W_hh)", float(rho)),
        "predicted": ("log rho", float(np.log(rho))),
        "slope": ("measured slope of log||dh_T/dh_(T-k)|| (linear)", float(slope)),
        "linear": ("||dh_T/dh_(T-40)|| linear", float(norms["linear"][-1])),
        "tanh": ("||dh_T/dh_(T-40)|| tanh", float(norms["tanh"][-1]))}, {"norms": norms})


def spectral_radius_plot(view):
    return plots.curves(view.norms, "lag k = T - t (time steps)",
                        "||dh^(T)/dh^(T-k)||_2 (dimensionless)",
                        f"rho = {view['rho']:.2f}: measured slope {view['slope']:.3f}, "
                        f"log rho = {view['predicted']:.3f}", log=True)


panel = widgets.Panel(spectral_radius_view,
                      {"rho": ipywidgets.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05,
                                                     description="rho",
                                                     continuous_update=False)},
                      plot=spectral_radius_plot)
panel

# %%
panel.controls["rho"].value = 1.2
moved = panel.result
assert moved["rho"] == 1.2 and abs(moved["slope"] - np.log(1.2)) < 1e-3
assert moved["linear"] > 1e2 and np.all(moved.norms["tanh"] <= moved.norms["bound ||W_hh||^k"]
                                        * (1 + 1e-12))
print(moved)

# %% [markdown]
# ## Gradient clipping
#
# An exploding gradient makes a gradient-descent step land far outside the region where the
# linear model of $E$ holds. Clipping by norm (Pascanu, Mikolov & Bengio, 2013) keeps the
# direction and caps the length at $c$:
#
# $$\operatorname{clip}(g) = g \cdot \min\!\Big(1, \frac{c}{\|g\|}\Big).$$
#
# A linear RNN with $W_{hh} = 1.3\,M_2$ over 12 steps ($M_2$ a random $2 \times 2$ matrix of
# spectral radius 1) has a gradient of norm in the thousands. Clipped to $c = 1$ its norm
# is exactly 1 and its direction unchanged; a gradient already shorter than $c$ is left alone.
# One step of size 0.01 along the raw gradient sends $E$ up by many orders of magnitude; the
# same step along the clipped gradient lowers it.

# %%
def clip(g, c):
    """g scaled down to length c when it is longer; unchanged otherwise."""
    return g * min(1.0, c / np.linalg.norm(g))


long_net = symnet.RNN(1, 2, 1, steps=12, hidden="linear")
long_grad = symnet.gradient(long_net, "sse")
M2 = np.random.default_rng(7).normal(size=(2, 2))
M2 /= np.abs(np.linalg.eigvals(M2)).max()
w_long = long_net.init_params(seed=2)
w_long[long_net.block["W_hh"].columns] = (1.3 * M2).ravel()
X_long, T_long = rng.normal(size=(8, 12)), rng.normal(size=(8, 1))
g_long = long_grad.evaluate(X_long, w_long, T_long)


def sse_last(X, w, targets):
    """E of the linear 1-2-1 RNN with one output, after the last step (plain NumPy)."""
    _, Y = elman(X, w, 1, 2, 1, hidden=lambda a: a)
    return 0.5 * np.sum((Y[:, -1] - targets) ** 2)


numeric_long = central_difference(lambda V: np.array([sse_last(X_long, v, T_long) for v in V]),
                                  w_long)
assert np.abs(numeric_long - g_long).max() < 1e-7 * np.abs(g_long).max()

c = 1.0
clipped = clip(g_long, c)
length = np.linalg.norm(g_long)
cosine = clipped @ g_long / (np.linalg.norm(clipped) * length)
print(f"||g|| = {length:.4g}; clipped: ||clip(g)|| = {np.linalg.norm(clipped):.15f}, "
      f"cos(clip(g), g) = {cosine:.15f}")
assert 1e3 < length < 1e4
assert abs(np.linalg.norm(clipped) - c) < 1e-12 and abs(cosine - 1) < 1e-12
assert np.all(np.sign(clipped) == np.sign(g_long))
short = g_long * (0.5 / length)                                     # length 0.5 < c
assert np.array_equal(clip(short, c), short)

rate = 0.01
E_start = symnet.loss_value(long_net, "sse", X_long, w_long, T_long)
E_raw = symnet.loss_value(long_net, "sse", X_long, w_long - rate * g_long, T_long)
E_clipped = symnet.loss_value(long_net, "sse", X_long, w_long - rate * clipped, T_long)
print(f"E = {E_start:.4g}; after a step of 0.01: raw gradient {E_raw:.4g}, clipped {E_clipped:.6g}")
assert E_raw > 1e6 * E_start and E_clipped < E_start

# %% [markdown]
# ## Exercises
#
# Type a number in the box and press Enter: the feedback says whether it is right and, when it
# is a common slip, names it. The solutions, with typical wrong answers, are in
# `lessons/solutions/15_recurrent_bptt.toml`.
#
# **15.1** A scalar linear RNN, $T = 3$, one output at the end: $h^{(t)} = w^{(xh)} x^{(t)} +
# w^{(hh)} h^{(t-1)}$, $h^{(0)} = 0$, $y = w^{(hy)} h^{(3)}$, with $w^{(xh)} = 1$, $w^{(hh)} = 1/2$,
# $w^{(hy)} = 2$, both biases 0, the sequence $x = (1, 1, 1)$, target $t = 0$ and
# $E = \tfrac12 (y - t)^2$. What is $\partial E/\partial w^{(hh)}$?

# %%
questions = widgets.exercises(15)
widgets.exercise_box(questions[0])

# %% [markdown]
# **15.2** The same network with $h = \tanh$: $w^{(xh)} = 1$, $w^{(hh)} = 0.8$, $w^{(hy)} = 1$,
# both biases 0, and $x = (0.5, 0.5, 0.5)$. How strongly does the output feel the first input:
# what is $\partial y/\partial x^{(1)}$ (to 3 significant digits)?

# %%
widgets.exercise_box(questions[1])

# %% [markdown]
# **15.3** Clip the whole gradient $(\partial E/\partial w^{(xh)}, \partial E/\partial w^{(hh)},
# \partial E/\partial b^{(h)}, \partial E/\partial w^{(hy)}, \partial E/\partial b^{(y)})$ of exercise
# 15.1 by norm to $c = 5$. What is its $w^{(hh)}$ entry after clipping (to 3 significant digits)?

# %%
widgets.exercise_box(questions[2])

# %% [markdown]
# **Summary.** Unrolled, an Elman network is a deep feed-forward network whose layers share
# $W_{xh}$, $W_{hh}$, $W_{hy}$; with $T = 1$ it is an MLP. Backpropagation through time is Bishop's
# delta recursion on that graph, $\delta^{(t)} = h'(a^{(t)}) \odot (W_{hh}^\top\delta^{(t+1)} +
# W_{hy}^\top\delta^{(y,t)})$, and a shared weight's derivative is the sum over the steps that use
# it, $\partial E/\partial W_{hh} = \sum_t \delta^{(t)} h^{(t-1)\top}$: the last step alone is wrong.
# The gradient that reaches back $k$ steps is a product of $k$ Jacobians; for a linear RNN its
# norm changes like $\rho(W_{hh})^k$, for tanh it is at most $\|W_{hh}\|_2^k$, and clipping by
# norm caps an exploding gradient's length without turning it.
