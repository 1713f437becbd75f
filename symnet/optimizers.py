"""First-order update rules, one small class each, with their published defaults.

Each rule turns the gradient g_t = dE/dw at step t = 1, 2, ... into an update
Delta w_t (w_{t+1} = w_t + Delta w_t). E is summed over samples, as everywhere in
symnet, so the learning rate of plain gradient descent scales like 1/N.

| rule     | update                                                              | defaults |
|----------|---------------------------------------------------------------------|----------|
| gd, sgd  | Delta w = -lr g                                                     | lr = 0.01 |
| momentum | u = mu u - lr g;  Delta w = u  (Polyak's heavy ball; Sutskever 2013) | lr = 0.01, momentum = 0.9 |
| rmsprop  | s = rho s + (1 - rho) g^2;  Delta w = -lr g / (sqrt(s) + eps)       | lr = 1e-3, rho = 0.9, eps = 1e-8 (Tieleman & Hinton 2012) |
| adam     | m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;                    | lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 |
|          | Delta w = -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)       | (Kingma & Ba 2015, Algorithm 1) |

u, s, m, v start at zero; squares and roots are elementwise. eps sits outside the
square root as in both papers (and PyTorch); Keras puts a different default there.

Examples
--------
>>> import numpy as np
>>> adam = Adam(n_params=1)                  # first step: m = 0.1 g, v = 0.001 g^2,
>>> adam.update(np.array([4.0]))             # m_hat = g, v_hat = g^2: Delta w = -lr g/|g|
array([-0.001])
"""

import numpy as np

from .errors import SymnetError

__all__ = ["GradientDescent", "Momentum", "RMSprop", "Adam", "FIRST_ORDER"]


class _Rule:
    """Holds the hyperparameters (checked positive) and the running state of one rule."""

    defaults = {}

    def __init__(self, n_params, **hyper):
        unknown = set(hyper) - set(self.defaults)
        if unknown:
            raise SymnetError(f"{type(self).__name__} takes {', '.join(self.defaults)}; "
                              f"got unknown {', '.join(sorted(unknown))}")
        self.hyper = {**self.defaults, **hyper}
        for name, value in self.hyper.items():
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise SymnetError(f"{name} must be a finite non-negative number; got {value!r}")
        self.t = 0
        self.start(n_params)

    def start(self, n_params):
        """Create the state (running averages) for ``n_params`` parameters."""

    def update(self, g):
        """Delta w for gradient g (advances the step counter t)."""
        self.t += 1
        return self.rule(np.asarray(g, dtype=float), **self.hyper)


class GradientDescent(_Rule):
    """Delta w = -lr g (plain gradient descent; on a mini-batch gradient, SGD)."""

    defaults = {"lr": 0.01}

    def rule(self, g, lr):
        return -lr * g


class Momentum(_Rule):
    """u = momentum u - lr g;  Delta w = u (the heavy ball, Polyak 1964)."""

    defaults = {"lr": 0.01, "momentum": 0.9}

    def start(self, n_params):
        self.u = np.zeros(n_params)

    def rule(self, g, lr, momentum):
        self.u = momentum * self.u - lr * g
        return self.u.copy()


class RMSprop(_Rule):
    """s = rho s + (1 - rho) g^2;  Delta w = -lr g / (sqrt(s) + eps) (Tieleman & Hinton 2012)."""

    defaults = {"lr": 1e-3, "rho": 0.9, "eps": 1e-8}

    def start(self, n_params):
        self.s = np.zeros(n_params)

    def rule(self, g, lr, rho, eps):
        self.s = rho * self.s + (1 - rho) * g ** 2
        return -lr * g / (np.sqrt(self.s) + eps)


class Adam(_Rule):
    """Adam with bias correction (Kingma & Ba 2015, Algorithm 1)."""

    defaults = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}

    def start(self, n_params):
        self.m, self.v = np.zeros(n_params), np.zeros(n_params)

    def rule(self, g, lr, beta1, beta2, eps):
        self.m = beta1 * self.m + (1 - beta1) * g
        self.v = beta2 * self.v + (1 - beta2) * g ** 2
        m_hat = self.m / (1 - beta1 ** self.t)
        v_hat = self.v / (1 - beta2 ** self.t)
        return -lr * m_hat / (np.sqrt(v_hat) + eps)


FIRST_ORDER = {"gd": GradientDescent, "sgd": GradientDescent, "momentum": Momentum,
               "rmsprop": RMSprop, "adam": Adam}
