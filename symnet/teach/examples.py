"""Canonical networks and data shared by the tests, the docs and the lessons.

The zoo names each network once, with the reason it is in the zoo, so that a
lesson, a test and a docstring that say "the 3-4-2 network" mean the same one.

* ``worked_example`` is the 2-2-2 network of the step-by-step backpropagation
  example (REFERENCE.md): logistic hidden and output units, one sample, with the
  published forward values to reproduce number by number.
* ``network`` builds a zoo entry by name; ``ZOO`` lists them.
* ``regression_data``, ``xor_data`` and ``digits`` are small data sets
  made here or shipped inside a package (no download).
* ``curve_problem`` is a 1-10-1 curve fit with a stationary point built in, for
  training and curvature experiments.

Examples
--------
>>> ex = worked_example()
>>> ex.net
MLP([2, 2, 2], hidden='sigmoid', output='sigmoid')
>>> ex.published["E"]
0.298371109
>>> network("lm").n_params   # the 3-4-2 network: 3*4 + 4 + 4*2 + 2
26
"""

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..compiled import matrix_form as engine
from ..errors import SymnetError
from ..graph.network import MLP

__all__ = ["WorkedExample", "worked_example", "ZOO", "network", "regression_data",
           "xor_data", "digits", "CurveProblem", "curve_problem"]


@dataclass(frozen=True)
class WorkedExample:
    """A network, one sample, its parameters and the values published for it.

    Attributes
    ----------
    net : MLP
    X, T : ndarray, shape (1, D) and (1, K)
    w : ndarray, shape (W,), in ``net.params`` order
    loss : str
    published : dict
        The numbers as printed in the source, to the digits printed there.
    """

    net: MLP
    X: np.ndarray
    T: np.ndarray
    w: np.ndarray
    loss: str
    published: dict = field(default_factory=dict)


def worked_example():
    """The 2-2-2 worked example (Matt Mazur, "A step by step backpropagation example", 2015).

    Logistic hidden and output units, x = (0.05, 0.10), t = (0.01, 0.99),
    W^(1) = [[0.15, 0.20], [0.25, 0.30]], b^(1) = (0.35, 0.35),
    W^(2) = [[0.40, 0.45], [0.50, 0.55]], b^(2) = (0.60, 0.60), E = 1/2 sum (y - t)^2.
    Mazur's w1..w4 are w_11, w_12, w_21, w_22 of layer 1 and w5..w8 those of layer 2;
    his shared biases b1, b2 become two equal biases per layer.

    >>> ex = worked_example()
    >>> ex.net.forward(ex.X, ex.w).round(8)
    array([[0.75136507, 0.77292847]])
    """
    net = _cached_mlp((2, 2, 2), "sigmoid", "sigmoid")
    w = net.pack([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
                 [[0.35, 0.35], [0.60, 0.60]])
    published = {
        # forward pass, as printed by Mazur (his net_h1, out_h1, ..., E_total)
        "a^(1)": (0.3775, 0.3925), "z^(1)": (0.593269992, 0.596884378),
        "a^(2)": (1.105905967, 1.2249214), "y": (0.75136507, 0.772928465),
        "E": 0.298371109,
        # backward pass: his dE_total/dw5 and dE_total/dw1
        "dE/dw_11^(2)": 0.082167041, "dE/dw_11^(1)": 0.000438568,
    }
    return WorkedExample(net, np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]]), w, "sse",
                         published)


# name -> (sizes, hidden, output, loss, why it is in the zoo)
ZOO = {
    "worked": ((2, 2, 2), "sigmoid", "sigmoid", "sse",
               "the step-by-step backpropagation example, checkable by hand"),
    "tiny": ((1, 1, 1), "sigmoid", "linear", "sse",
             "one unit per layer: every derivative fits on a line"),
    "graph": ((2, 2, 1), "tanh", "linear", "sse",
              "small enough to draw with every edge and path labelled"),
    "lm": ((3, 4, 2), "tanh", "linear", "sse",
           "the Levenberg-Marquardt question: 5 samples give a 10 x 26 Jacobian"),
    "curve": ((1, 4, 1), "tanh", "linear", "sse",
              "a 1-D regression whose Hessian spectrum and training curves are quick"),
    "xor": ((2, 3, 1), "tanh", "sigmoid", "cross_entropy",
            "the smallest problem a linear model cannot solve"),
    "softmax": ((3, 3, 3), "tanh", "softmax", "cross_entropy",
                "coupled outputs: dy_k/da_m = y_k (delta_km - y_m)"),
    "relu": ((2, 3, 1), "relu", "linear", "sse",
             "kinks: where numerical derivatives stop meaning anything"),
}


@lru_cache(maxsize=None)
def _cached_mlp(sizes, hidden, output):
    return MLP(list(sizes), hidden=hidden, output=output)


def network(name):
    """The zoo network ``name`` (built once and shared; do not modify it).

    >>> network("softmax")
    MLP([3, 3, 3], hidden='tanh', output='softmax')
    """
    if name not in ZOO:
        raise SymnetError(f"unknown example network {name!r}; known: {', '.join(ZOO)}")
    sizes, hidden, output, _, _ = ZOO[name]
    return _cached_mlp(sizes, hidden, output)


def regression_data(n_samples=12, noise=0.05, seed=0):
    """Samples of t = sin(pi x) + noise on x in [-1, 1]: X (N, 1), T (N, 1).

    >>> X, T = regression_data(4, noise=0.0)
    >>> X.ravel().round(4), T.ravel().round(4)
    (array([-1.    , -0.3333,  0.3333,  1.    ]), array([-0.   , -0.866,  0.866,  0.   ]))
    """
    if not (isinstance(n_samples, (int, np.integer)) and n_samples >= 1):
        raise SymnetError(f"n_samples must be a positive integer; got {n_samples!r}")
    rng = np.random.default_rng(seed)
    X = np.linspace(-1.0, 1.0, n_samples).reshape(-1, 1)
    T = np.sin(np.pi * X) + noise * rng.normal(size=X.shape)
    return X, T


def xor_data():
    """The four XOR points: X (4, 2) in {0, 1}^2 and T (4, 1) = x_1 xor x_2."""
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([[0.0], [1.0], [1.0], [0.0]])


def digits(classes=(0, 1), n_per_class=None, seed=0):
    """scikit-learn's 8x8 handwritten digits (shipped inside the package, no download).

    Returns X (N, 64) scaled to [0, 1] (the pixel values 0..16 divided by 16), the
    labels (N,) as 0..len(classes)-1 in the order of ``classes``, and one-hot
    targets T (N, len(classes)). Samples are shuffled with ``seed``; with
    ``n_per_class`` only that many of each class are kept. Needs scikit-learn
    (``pip install symnet[lessons]``).
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise SymnetError("digits() needs scikit-learn: pip install 'symnet[lessons]'") from error
    classes = tuple(int(c) for c in classes)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not set(classes) <= set(range(10)):
        raise SymnetError(f"classes must be at least two distinct digits 0..9; got {classes}")
    data = load_digits()
    rng = np.random.default_rng(seed)
    chosen = []
    for c in classes:
        index = np.flatnonzero(data.target == c)
        rng.shuffle(index)
        chosen.append(index if n_per_class is None else index[:n_per_class])
    order = np.concatenate(chosen)
    rng.shuffle(order)
    X = data.data[order] / 16.0
    labels = np.array([classes.index(c) for c in data.target[order]])
    return X, labels, np.eye(len(classes))[labels]


@dataclass(frozen=True)
class CurveProblem:
    """A 1-D curve-fitting problem with a strict local minimum built in (see ``curve_problem``).

    ``w_star`` is that local minimum and ``min_error`` its error E(w*); it is not the
    global minimum (training from random starts finds lower errors).
    """

    net: object
    X: np.ndarray = field(repr=False)
    T: np.ndarray = field(repr=False)
    w_star: np.ndarray = field(repr=False)
    min_error: float


def curve_problem(n_samples=94, n_hidden=10, noise=0.05, slope=12.0, seed=0):
    """A noisy smooth 1-D curve with a strict local minimum w* of the least-squares error.

    Like MATLAB's ``simplefit_dataset`` (94 samples of a smooth curve), fitted by a
    1-``n_hidden``-1 tanh network. The clean curve is the network itself at weights
    w*: hidden unit j has slope ``slope`` and centre c_j evenly spaced in [-0.9, 0.9]
    (a_j = slope (x - c_j)), output weights alternate near +-0.5. The noise is Gaussian
    (standard deviation ``noise``) with its component along the columns of the
    parameter Jacobian J(w*) removed, so that J^T e = 0 at w*: w* is a stationary point
    by construction, with error E* = ||e||^2 / 2, about (N - W) noise^2 / 2. With the
    defaults the exact Hessian there is positive definite, so w* is a strict local
    minimum (tests check it), and the residual term of H is not zero.

    w* is a local minimum, found by construction, not the global one: the network has
    more freedom than the curve that made the data, and Levenberg-Marquardt from
    random starts ends lower on most of them, e.g. at E = 0.0630 from ``init_params(0)``
    against E* = 0.0707 (``benchmarks/bench_lm.py`` lists 20 starts; the old
    MATLAB-style damping reached 0.0615 from ``init_params(3)``). ``min_error`` is E(w*).

    Examples
    --------
    >>> problem = curve_problem()
    >>> problem.X.shape, problem.T.shape, problem.net.n_params, round(problem.min_error, 4)
    ((94, 1), (94, 1), 31, 0.0707)
    """
    net = MLP([1, n_hidden, 1], hidden="tanh", output="linear")
    rng = np.random.default_rng(seed)
    X = np.linspace(-1.0, 1.0, n_samples)[:, None]
    centres = np.linspace(-0.9, 0.9, n_hidden)
    signs = np.resize([1.0, -1.0], n_hidden)
    w_star = net.pack([np.full((n_hidden, 1), slope), (0.5 * signs + 0.1 * rng.normal(
        size=n_hidden))[None, :]], [-slope * centres, [0.1]])
    J = engine.param_jacobian_values(net, X, w_star).reshape(n_samples, -1)
    Q, _ = np.linalg.qr(J)
    draw = noise * rng.normal(size=n_samples)
    e = draw - Q @ (Q.T @ draw)  # orthogonal to every column of J: J^T e = 0
    T = net.forward(X, w_star) + e[:, None]
    return CurveProblem(net, X, T, w_star, float(0.5 * e @ e))
