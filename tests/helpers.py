"""Helpers shared by the test modules (no symnet import here)."""
import numpy as np


def random_problem(rng, sizes, n_samples=3, scale=0.7, output=None):
    """(X, w, T) for a network of the given sizes.  T is one-hot for softmax
    outputs, in (0, 1) for sigmoid outputs, arbitrary reals otherwise."""
    D, K = sizes[0], sizes[-1]
    W = sum(m * n + m for n, m in zip(sizes[:-1], sizes[1:]))
    X = rng.normal(size=(n_samples, D))
    w = rng.normal(scale=scale, size=W)
    if output == "softmax":
        T = np.eye(K)[rng.integers(0, K, size=n_samples)]
    elif output == "sigmoid":
        T = rng.uniform(0.05, 0.95, size=(n_samples, K))
    else:
        T = rng.normal(size=(n_samples, K))
    return X, w, T


def relu_margin(a_list, hidden, n_hidden):
    """Smallest |a| over ReLU-type hidden units (inf if none): finite differences
    are meaningless within a step of a kink, so tests check this first."""
    acts = [hidden] * n_hidden if isinstance(hidden, str) else list(hidden)
    m = np.inf
    for a, act in zip(a_list, acts):
        if act in ("relu", "leaky_relu"):
            m = min(m, np.abs(a).min())
    return m


# The worked example of REFERENCE.md (Matt Mazur, "A step by step backpropagation
# example"): 2-2-2, logistic hidden and output units, E = 1/2 sum (y - t)^2.
MAZUR = dict(
    sizes=(2, 2, 2),
    X=np.array([[0.05, 0.10]]),
    T=np.array([[0.01, 0.99]]),
    # canonical order: w_11 w_12 w_21 w_22 b_1 b_2 (layer 1), then the same for layer 2.
    # Mazur: w1=w_11^(1), w2=w_12^(1), w3=w_21^(1), w4=w_22^(1), b1 shared -> b_1=b_2=0.35;
    #        w5=w_11^(2), w6=w_12^(2), w7=w_21^(2), w8=w_22^(2), b2 shared -> 0.60.
    w=np.array([0.15, 0.20, 0.25, 0.30, 0.35, 0.35,
                0.40, 0.45, 0.50, 0.55, 0.60, 0.60]),
)

# Published (Mazur) weights after ONE gradient step with learning rate 0.5, so
# dE/dw = (w_old - w_new) / 0.5.  Only weights compare (Mazur never updates biases).
# Canonical column -> (w_old, w_new published)
MAZUR_STEP = {
    0: (0.15, 0.149780716),   # w1 = w_11^(1); dE/dw1 = 0.000438568 (published)
    1: (0.20, 0.19956143),    # w2 = w_12^(1)
    2: (0.25, 0.24975114),    # w3 = w_21^(1)
    3: (0.30, 0.29950229),    # w4 = w_22^(1)
    6: (0.40, 0.35891648),    # w5 = w_11^(2); dE/dw5 = 0.082167041 (published)
    7: (0.45, 0.408666186),   # w6 = w_12^(2)
    8: (0.50, 0.511301270),   # w7 = w_21^(2)
    9: (0.55, 0.561370121),   # w8 = w_22^(2)
}

# Hand-computed 1-1-1 case (sigmoid hidden, linear output), used by test_oracle and
# as an independent check of the library.  Working:
#   x = 2, w_11^(1) = 0.5, b_1^(1) = -1   ->  a1 = 0.5*2 - 1 = 0,  z = sigma(0) = 0.5,
#   sigma'(0) = 0.25, sigma''(0) = sigma'(1 - 2 sigma) = 0.
#   w_11^(2) = 3, b_1^(2) = 0.5           ->  y = 3*0.5 + 0.5 = 2;   t = 1.5
#   E = 1/2 (2 - 1.5)^2 = 0.125.
#   Param order (w1, b1, w2, b2).  grad y = (w2 sigma' x, w2 sigma', z, 1) = (1.5, 0.75, 0.5, 1)
#   dE/dw = (y - t) grad y = 0.5 * (1.5, 0.75, 0.5, 1) = (0.75, 0.375, 0.25, 0.5)
#   dy/dx = w2 sigma' w1 = 3 * 0.25 * 0.5 = 0.375
#   Second derivatives of y: d2y/dw1^2 = w2 sigma'' x^2 = 0, d2y/dw1db1 = 0, d2y/db1^2 = 0,
#     d2y/dw1dw2 = sigma' x = 0.5, d2y/db1dw2 = sigma' = 0.25, all others 0.
#   H = grad y grad y^T + (y - t) grad grad y:
#     gg^T = [[2.25, 1.125, 0.75, 1.5], [1.125, 0.5625, 0.375, 0.75],
#             [0.75, 0.375, 0.25, 0.5], [1.5, 0.75, 0.5, 1.0]]
#     + 0.5 * 0.5 = 0.25 at (w1,w2), + 0.5 * 0.25 = 0.125 at (b1,w2)  (and transposes)
HAND111 = dict(
    sizes=(1, 1, 1), hidden="sigmoid", output="linear",
    X=np.array([[2.0]]), w=np.array([0.5, -1.0, 3.0, 0.5]), T=np.array([[1.5]]),
    y=2.0, E=0.125,
    grad=np.array([0.75, 0.375, 0.25, 0.5]),
    param_jac=np.array([1.5, 0.75, 0.5, 1.0]),
    input_jac=0.375,
    hessian=np.array([[2.25, 1.125, 1.0, 1.5],
                      [1.125, 0.5625, 0.5, 0.75],
                      [1.0, 0.5, 0.25, 0.5],
                      [1.5, 0.75, 0.5, 1.0]]),
    gauss_newton=np.outer([1.5, 0.75, 0.5, 1.0], [1.5, 0.75, 0.5, 1.0]),
)


# ------------------------------------------------------------ cached networks
# Building symbolic networks/derivations costs sympy time; tests share them.
# `hidden` is a str or a tuple (hashable); the oracle accepts either.
import functools  # noqa: E402


@functools.lru_cache(maxsize=None)
def make_net(sizes, hidden, output):
    import symnet
    h = list(hidden) if isinstance(hidden, tuple) else hidden
    return symnet.MLP(list(sizes), hidden=h, output=output)


@functools.lru_cache(maxsize=None)
def derivation(kind, sizes, hidden, output, *args):
    """kind in gradient / param_jacobian / input_jacobian / hessian, args as in symnet."""
    import symnet
    return getattr(symnet, kind)(make_net(sizes, hidden, output), *args)


# Architectures used across the core tests: (sizes, hidden, output, loss).
# T is one-hot for softmax, in (0,1) for sigmoid outputs (see random_problem).
ARCHS = [
    ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 1), "sigmoid", "sigmoid", "sse"),
    ((2, 3, 1), "softplus", "sigmoid", "cross_entropy"),
    ((2, 3, 2), "relu", "sigmoid", "cross_entropy"),
    ((3, 3, 3), "tanh", "softmax", "cross_entropy"),
    ((3, 2, 2), "tanh", "tanh", "sse"),
    ((2, 3, 2), "sigmoid", "softplus", "sse"),
    ((2, 3, 3, 2), ("relu", "tanh"), "linear", "sse"),
    ((2, 2), "tanh", "softmax", "cross_entropy"),                 # no hidden layer
    ((1, 3, 3, 3, 1), "leaky_relu", "linear", "sse"),              # deep
    ((2, 2, 2, 2, 3), ("sigmoid", "tanh", "softplus"), "softmax", "cross_entropy"),  # deep
]

# The fully substituted .matrix of a softmax net grows fast; symbolic tests use this one.
SMALL_SOFTMAX = ((2, 2, 2), "tanh", "softmax", "cross_entropy")


def arch_id(a):
    sizes, hidden, output, loss = a
    h = hidden if isinstance(hidden, str) else "+".join(hidden)
    return "-".join(map(str, sizes)) + f"_{h}_{output}_{loss}"


def lambdify_at(net, M, x, w, t=()):
    """Evaluate a sympy Matrix in (inputs, params, targets) at one point by
    sympy.lambdify (cse=True: printing large softmax expressions without common
    subexpression elimination takes tens of seconds)."""
    import sympy as sp
    syms = list(net.inputs) + list(net.params) + list(net.targets)
    assert M.free_symbols <= set(syms), f"stray symbols {M.free_symbols - set(syms)}"
    t = list(t) + [0.0] * (len(net.targets) - len(t))          # targets unused by y, J
    return np.asarray(sp.lambdify(syms, M, modules="numpy", cse=True)(*x, *w, *t), dtype=float)


# Hand-computed binary cross-entropy case: 1-1-1, linear hidden, sigmoid output,
# w = (w1, b1, w2, b2) = (1, 0, 2, -2), x = 1, t = 1.
#   z = 1, a^(2) = 2*1 - 2 = 0, y = 1/2, E = -log(1/2) = log 2, delta = y - t = -1/2.
#   B = d a^(2)/dw = (w2 x, w2, z, 1) = (2, 2, 1, 1); grad = delta B = (-1, -1, -1/2, -1/2).
#   Lambda = y(1 - y) = 1/4: GN = B B^T / 4 = [[1,1,.5,.5],[1,1,.5,.5],[.5,.5,.25,.25],[.5,.5,.25,.25]].
#   d2a/dw1dw2 = x = 1, d2a/db1dw2 = 1, others 0, so the exact H = GN + delta * those:
#   H[w1,w2] = H[b1,w2] = 0.5 - 0.5 = 0.
HAND_CE = dict(
    sizes=(1, 1, 1), hidden="linear", output="sigmoid",
    X=np.array([[1.0]]), w=np.array([1.0, 0.0, 2.0, -2.0]), T=np.array([[1.0]]),
    E=np.log(2.0), grad=np.array([-1.0, -1.0, -0.5, -0.5]),
    gauss_newton=np.outer([2.0, 2.0, 1.0, 1.0], [2.0, 2.0, 1.0, 1.0]) / 4,
    hessian=np.array([[1.0, 1.0, 0.0, 0.5],
                      [1.0, 1.0, 0.0, 0.5],
                      [0.0, 0.0, 0.25, 0.25],
                      [0.5, 0.5, 0.25, 0.25]]),
)
