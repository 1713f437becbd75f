"""Canonical networks and data shared by the tests, the docs and the lessons.

The zoo names each network once, with the reason it is in the zoo, so that a
lesson, a test and a docstring that say "the 3-4-2 network" mean the same one.

* ``worked_example`` is the 2-2-2 network of the step-by-step backpropagation
  example (REFERENCE.md): logistic hidden and output units, one sample, with the
  published forward values to reproduce number by number.
* ``network`` builds a zoo entry by name; ``ZOO`` lists them.
* ``regression_data``, ``xor_data`` and ``digits`` are small data sets
  made here or shipped inside a package (no download).

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

from .errors import SymnetError
from .network import MLP

__all__ = ["WorkedExample", "worked_example", "ZOO", "network", "regression_data",
           "xor_data", "digits"]


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
