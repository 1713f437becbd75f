"""Update rules: first-order steps, their stability limits, and the damped second-order step.

First order. Each rule turns the gradient g_t = dE/dw at step t = 1, 2, ... into an
update Delta w_t (w_{t+1} = w_t + Delta w_t). E is summed over samples, as everywhere
in symnet, so the learning rate of plain gradient descent scales like 1/N.

| rule     | update                                                              | defaults |
|----------|---------------------------------------------------------------------|----------|
| gd, sgd  | Delta w = -lr g                                                     | lr = 0.01 |
| momentum | u = mu u - lr g;  Delta w = u  (Polyak's heavy ball; Sutskever 2013) | lr = 0.01, momentum = 0.9 |
| rmsprop  | s = rho s + (1 - rho) g^2;  Delta w = -lr g / (sqrt(s) + eps)       | lr = 1e-3, rho = 0.9, eps = 1e-8 (Tieleman & Hinton 2012) |
| adam     | m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;                    | lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8 |
|          | Delta w = -lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)       | (Kingma & Ba 2015, Algorithm 1) |

u, s, m, v start at zero; squares and roots are elementwise. eps sits outside the
square root as in both papers (and PyTorch); Keras puts a different default there.

Stability. Near a minimum E is a quadratic with Hessian H, and gradient descent
multiplies the error along an eigenvector of H with eigenvalue lambda by 1 - lr lambda
per step: it converges only for lr < 2 / lambda_max. Each rule states its limit as
lr lambda_max(P H) < ``stability_limit``, with P the diagonal ``preconditioner`` of
its step (1 for gd and momentum; 1 / (sqrt(s) + eps) and its Adam analogue, frozen at
their current values): 2 for gd and rmsprop, 2 (1 + momentum) for the heavy ball,
2 (1 + beta1) / (1 - beta1) for Adam (Cohen et al., "Adaptive gradient methods at the
edge of stability", 2022). ``largest_eigenvalue`` estimates lambda_max from
Hessian-vector products by power iteration.

Second order. ``DampedSystem`` solves the Levenberg-Marquardt / damped Newton system
(A + mu D^2) p = -g for any damping mu from one decomposition, and gives the reduction
of E that the quadratic model predicts; ``NielsenDamping`` adapts mu from the gain
ratio rho = actual / predicted reduction (Nielsen 1999).

Examples
--------
>>> import numpy as np
>>> adam = Adam(n_params=1)                  # first step: m = 0.1 g, v = 0.001 g^2,
>>> adam.update(np.array([4.0]))             # m_hat = g, v_hat = g^2: Delta w = -lr g/|g|
array([-0.001])
"""

import numpy as np

from ..errors import SymnetError

__all__ = ["GradientDescent", "Momentum", "RMSprop", "Adam", "FIRST_ORDER",
           "largest_eigenvalue", "DampedSystem", "NielsenDamping"]


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
        self.n_params = n_params
        self.start(n_params)

    def start(self, n_params):
        """Create the state (running averages) for ``n_params`` parameters."""

    def update(self, g):
        """Delta w for gradient g (advances the step counter t)."""
        self.t += 1
        return self.rule(np.asarray(g, dtype=float), **self.hyper)

    def preconditioner(self):
        """The diagonal P (W,) of the step -lr P g at the current state (ones: plain gradient)."""
        return np.ones(self.n_params)

    @property
    def stability_limit(self):
        """c in the quadratic stability condition lr lambda_max(P H) < c."""
        return 2.0


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

    @property
    def stability_limit(self):
        # On a quadratic the heavy ball is stable for 0 < lr lambda < 2 (1 + momentum).
        return 2.0 * (1.0 + self.hyper["momentum"])


class RMSprop(_Rule):
    """s = rho s + (1 - rho) g^2;  Delta w = -lr g / (sqrt(s) + eps) (Tieleman & Hinton 2012)."""

    defaults = {"lr": 1e-3, "rho": 0.9, "eps": 1e-8}

    def start(self, n_params):
        self.s = np.zeros(n_params)

    def rule(self, g, lr, rho, eps):
        self.s = rho * self.s + (1 - rho) * g ** 2
        return -lr * g / (np.sqrt(self.s) + eps)

    def preconditioner(self):
        return 1.0 / (np.sqrt(self.s) + self.hyper["eps"])


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

    def preconditioner(self):
        v_hat = self.v / (1 - self.hyper["beta2"] ** max(self.t, 1))
        return 1.0 / (np.sqrt(v_hat) + self.hyper["eps"])

    @property
    def stability_limit(self):
        beta1 = self.hyper["beta1"]
        return 2.0 * (1.0 + beta1) / (1.0 - beta1) if beta1 < 1 else np.inf


FIRST_ORDER = {"gd": GradientDescent, "sgd": GradientDescent, "momentum": Momentum,
               "rmsprop": RMSprop, "adam": Adam}


def largest_eigenvalue(matvec, n, seed=0, max_iter=300, rtol=1e-6):
    """lambda_max of a symmetric W x W operator given only v -> A v, by power iteration.

    Power iteration converges to the eigenvalue of largest magnitude; when that one is
    negative (an indefinite Hessian), it is run again on A - lambda I, whose largest
    eigenvalue lambda_max - lambda is then the dominant one. The Rayleigh quotient
    v^T A v never exceeds lambda_max, and approaches it quadratically in the angle
    between v and the top eigenvector; iteration stops when it changes by less than
    ``rtol`` relative (or after ``max_iter`` products).

    Examples
    --------
    >>> A = np.diag([3.0, -5.0, 1.0])       # dominant |lambda| = 5 is negative
    >>> round(largest_eigenvalue(lambda v: A @ v, 3), 6)
    3.0
    """
    rng = np.random.default_rng(seed)

    def power(operator):
        v = rng.normal(size=n)
        v /= np.linalg.norm(v)
        quotient = np.nan
        for _ in range(max_iter):
            u = operator(v)
            previous, quotient = quotient, float(v @ u)
            size = np.linalg.norm(u)
            if size == 0:
                return 0.0
            v = u / size
            if abs(quotient - previous) <= rtol * abs(quotient):
                break
        return quotient

    dominant = power(matvec)
    if dominant >= 0:
        return dominant
    return dominant + power(lambda v: matvec(v) - dominant * v)


class DampedSystem:
    """(A + mu D^2) p = -g for every mu from one eigendecomposition; D = diag(d).

    In scaled coordinates p_s = D p the system is (A_s + mu I) p_s = -g_s with
    A_s = D^-1 A D^-1 = Q diag(lambda) Q^T and g_s = D^-1 g, so with c = Q^T g_s

        p_s = -Q (c / (lambda + mu)),
        predicted reduction  E - m(p) = -g^T p - p^T A p / 2
                                      = sum c^2 (lambda + 2 mu) / (2 (lambda + mu)^2),

    a sum of positive terms (no cancellation) whenever A_s + mu I is positive definite.
    For sum-of-squares pass the Jacobian J (rows: residuals) and the residuals e instead
    of A = J^T J and g = J^T e: then Q, lambda come from the SVD J D^-1 = U S Q^T
    (lambda = S^2, c = S U^T e), which never squares J's condition number.

    Examples
    --------
    >>> J, e = np.array([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]]), np.array([1.0, 1.0, 1.0])
    >>> system = DampedSystem(np.ones(2), jacobian=J, residuals=e)
    >>> step, predicted = system.solve(0.0)   # Gauss-Newton: J p = -e where it can
    >>> step, predicted                       # E = 3/2 -> 1/2: predicted reduction 1
    (array([-1. , -0.5]), 1.0)
    """

    def __init__(self, d, *, curvature=None, gradient=None, jacobian=None, residuals=None):
        self.d = np.asarray(d, dtype=float)
        if jacobian is not None:
            self.U, s, Qt = np.linalg.svd(jacobian / self.d, full_matrices=False)
            self.eigenvalues, self.Q, self.c = s ** 2, Qt.T, s * (self.U.T @ residuals)
        else:
            scaled = curvature / np.outer(self.d, self.d)
            self.eigenvalues, self.Q = np.linalg.eigh((scaled + scaled.T) / 2)
            self.c = self.Q.T @ (gradient / self.d)

    def positive_definite(self, mu):
        """True when A_s + mu I is positive definite beyond rounding (the step descends)."""
        scale = max(np.max(np.abs(self.eigenvalues)), mu)
        return bool(np.min(self.eigenvalues) + mu > 64 * np.finfo(float).eps * scale)

    def solve(self, mu):
        """(p, predicted reduction of E) for damping mu (p = 0 for mu = inf)."""
        if not np.isfinite(mu):
            return np.zeros_like(self.d), 0.0
        shifted = self.eigenvalues + mu
        # Directions with lambda + mu == 0 (mu = 0 on a rank-deficient J) carry c = 0
        # in exact arithmetic: take the minimum-norm step there, as a pseudo-inverse does.
        inverse = np.divide(1.0, shifted, out=np.zeros_like(shifted), where=shifted > 0)
        step = -(self.Q @ (self.c * inverse)) / self.d
        predicted = float(np.sum(self.c ** 2 * (self.eigenvalues + 2 * mu) * inverse ** 2) / 2)
        return step, predicted

    def solve_residuals(self, mu, r):
        """-(J^T J + mu D^2)^-1 J^T r: the step for residuals r in place of e (Jacobian form)."""
        singular = np.sqrt(self.eigenvalues)
        return -(self.Q @ (singular * (self.U.T @ r) / (self.eigenvalues + mu))) / self.d


class NielsenDamping:
    """Nielsen's damping update (Nielsen 1999; Madsen, Nielsen & Tingleff 2004, Alg. 3.16).

    After a step with gain ratio rho = (actual reduction) / (predicted reduction):
    rho > 0 (accepted): mu *= max(1/3, 1 - (2 rho - 1)^3), nu = 2;
    otherwise (rejected): mu *= nu, nu *= 2.
    A good model (rho near 1) divides mu by up to 3; rho = 1/2 leaves it; each rejection
    in a row multiplies it by 2, 4, 8, ... so that the damping recovers fast.

    Examples
    --------
    >>> damping = NielsenDamping(1e-3)
    >>> damping.update(1.0), damping.update(-0.2), damping.update(-0.1)
    (True, False, False)
    >>> round(damping.mu / (1e-3 / 3), 6), damping.nu    # x 2, then x 4; nu doubled twice
    (8.0, 8.0)
    """

    def __init__(self, mu):
        if not (isinstance(mu, (int, float)) and np.isfinite(mu) and mu > 0):
            raise SymnetError(f"the initial damping mu must be a positive finite number; "
                              f"got {mu!r}")
        self.mu, self.nu = float(mu), 2.0

    def update(self, rho):
        """Adapt mu to the gain ratio rho; True when the step is accepted."""
        if rho > 0:
            self.mu *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
            self.nu = 2.0
            return True
        self.mu *= self.nu   # Python floats: overflow to inf is silent, and the step is then 0
        self.nu *= 2.0
        return False
