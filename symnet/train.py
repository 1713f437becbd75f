"""Training with the exact derivatives: ``fit(net, X, T, method=...)``.

| method     | step                                                         | uses |
|------------|--------------------------------------------------------------|------|
| gd         | Delta w = -lr g                                              | gradient |
| sgd        | the same on a mini-batch gradient (N/B) sum_{n in batch} g_n | gradient |
| momentum, rmsprop, adam | see ``symnet.optimizers`` (published defaults) | gradient |
| newton     | (H + mu I) p = -g, H the exact Hessian                       | Hessian |
| lm         | (J^T J + mu I) p = -J^T e, J the parameter Jacobian, e = y - t | Jacobian |

Newton and Levenberg-Marquardt share Marquardt's adaptive damping, with MATLAB
``trainlm``'s defaults: start at mu = 1e-3; a step that lowers E is taken and mu
is multiplied by mu_dec = 0.1; otherwise (or when H + mu I is not positive
definite) mu is multiplied by mu_inc = 10 and the step retried; training stops when
mu exceeds mu_max = 1e10. Large mu gives a short gradient-descent step, small mu the
(Gauss-)Newton step. For cross-entropy, lm uses the generalised Gauss-Newton matrix
sum_n B_n^T Lambda_n B_n of ``symnet.hessian`` (``approx="gauss_newton"``).

E = sum_n E_n (summed over samples, as everywhere in symnet). Every iteration
records the full-batch E, ||dE/dw||, the gradient norm of each layer (to watch
gradients vanish or explode with depth) and ||Delta w||. Training stops when
||dE/dw|| <= grad_tol, after max_iter iterations, or, for a first-order method,
with ``TrainingDiverged`` as soon as E or the gradient stops being finite.
"""

from dataclasses import dataclass, field

import numpy as np

from . import engine
from ._validate import check_inputs, check_params, check_targets
from .errors import SymnetError
from .losses import get_loss
from .optimizers import FIRST_ORDER

__all__ = ["fit", "FitResult", "FitHistory", "TrainingDiverged", "METHODS", "DAMPING",
           "curve_problem", "CurveProblem"]

METHODS = ("gd", "sgd", "momentum", "rmsprop", "adam", "newton", "lm")
DAMPING = {"mu": 1e-3, "mu_dec": 0.1, "mu_inc": 10.0, "mu_max": 1e10}  # MATLAB trainlm's
SGD_BATCH = 32


class TrainingDiverged(SymnetError):
    """The loss or gradient became non-finite; ``.result`` holds the run up to the last finite point.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1])
    >>> try:
    ...     fit(net, [[1.0], [2.0]], [[1.0], [3.0]], method="gd", lr=1e3, max_iter=500)
    ... except TrainingDiverged as error:
    ...     print(str(error)[:50], error.result.n_iter)
    the loss became non-finite at iteration 40 of meth 39
    """

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class FitHistory:
    """Per-iteration records. Index 0 is the starting point.

    loss, grad_norm : (n_iter + 1,)   E and ||dE/dw|| (full batch)
    layer_grad_norms : (n_iter + 1, L)  ||dE/dW^(l), dE/db^(l)|| per layer
    step_size : (n_iter,)              ||w_{t+1} - w_t||
    damping : (n_iter,)                mu of each accepted step (newton, lm; nan otherwise)
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    layer_grad_norms: np.ndarray
    step_size: np.ndarray
    damping: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """The outcome of ``fit``: final weights, why it stopped, and the history."""

    weights: np.ndarray = field(repr=False)
    method: str
    loss: float
    n_iter: int
    converged: bool
    message: str
    history: FitHistory = field(repr=False)
    options: dict = field(default_factory=dict)

    def __str__(self):
        h = self.history
        return (f"fit(method={self.method!r}) stopped after {self.n_iter} iterations: "
                f"{self.message}\n  E: {h.loss[0]:.6g} -> {h.loss[-1]:.6g};  "
                f"||dE/dw||: {h.grad_norm[0]:.3g} -> {h.grad_norm[-1]:.3g}")


class _Problem:
    """E, gradient and curvature at w; overflow is turned into a non-finite signal."""

    def __init__(self, net, loss, X, T):
        self.net, self.loss, self.X, self.T = net, loss, X, T

    def value(self, w, rows=slice(None)):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                return engine.error_value(self.net, self.loss, self.X[rows], w, self.T[rows])
            except FloatingPointError:
                return np.inf

    def gradient(self, w, rows=slice(None)):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                return engine.gradient_values(self.net, self.loss, self.X[rows], w, self.T[rows])
            except FloatingPointError:
                return np.full(self.net.n_params, np.nan)

    def curvature(self, w, method, g):
        """(A, g) of the damped system (A + mu I) p = -g."""
        if method == "newton":
            return engine.hessian_vector_values(self.net, self.loss, self.X, w, self.T,
                                                np.eye(self.net.n_params)), g
        if self.loss.name != "sse":
            return engine.gauss_newton_values(self.net, self.loss, self.X, w, self.T), g
        J = engine.param_jacobian_values(self.net, self.X, w).reshape(-1, self.net.n_params)
        e = (self.net.forward(self.X, w) - self.T).ravel()
        return J.T @ J, J.T @ e


def _norms(net, g):
    """||g|| and the per-layer norms; inf when they overflow (a diverging run)."""
    with np.errstate(over="raise", invalid="raise"):
        try:
            layers = np.array([np.sqrt(np.sum(g[w] ** 2) + np.sum(g[b] ** 2)) for w, b in
                               (net.layer_slices(l) for l in range(1, net.n_layers + 1))])
            return float(np.sqrt(np.sum(layers ** 2))), layers
        except FloatingPointError:
            return np.inf, np.full(net.n_layers, np.inf)


def _damped_step(problem, method, w, E, g, mu, damping):
    """Marquardt's loop: (new w, new E, mu used, next mu), or None when mu passes mu_max."""
    A, rhs = problem.curvature(w, method, g)
    identity = np.eye(len(w))
    while mu <= damping["mu_max"]:
        try:
            np.linalg.cholesky(A + mu * identity)  # Newton's H may be indefinite: damp more
        except np.linalg.LinAlgError:
            mu *= damping["mu_inc"]
            continue
        trial = w - np.linalg.solve(A + mu * identity, rhs)
        E_trial = problem.value(trial)
        if E_trial < E:
            return trial, E_trial, mu, mu * damping["mu_dec"]
        mu *= damping["mu_inc"]
    return None


def _options(method, hyper):
    if method in FIRST_ORDER:
        rule = FIRST_ORDER[method]
        unknown = set(hyper) - set(rule.defaults)
        if unknown:
            raise SymnetError(f"method={method!r} takes {', '.join(rule.defaults)}; got "
                              f"unknown {', '.join(sorted(unknown))}")
        return {**rule.defaults, **hyper}
    unknown = set(hyper) - set(DAMPING)
    if unknown:
        raise SymnetError(f"method={method!r} takes {', '.join(DAMPING)}; got unknown "
                          f"{', '.join(sorted(unknown))}")
    options = {**DAMPING, **hyper}
    if not (0 < options["mu"] <= options["mu_max"] and 0 < options["mu_dec"] < 1
            < options["mu_inc"]):
        raise SymnetError(f"damping needs 0 < mu <= mu_max, 0 < mu_dec < 1 < mu_inc; got {options}")
    return options


def _progress_bar(enabled, total, method):
    """A tqdm bar (terminal or Jupyter) when asked for and installed; None otherwise."""
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional: no display without it
        return None
    return tqdm(total=total, desc=f"fit {method}", leave=False)


def fit(net, X, T, loss="sse", method="adam", *, w0=None, seed=0, max_iter=1000,
        grad_tol=1e-6, batch_size=None, progress=False, **hyper):
    """Train ``net`` on (X, T) from ``w0`` (default ``net.init_params(seed)``).

    Parameters
    ----------
    method : {"gd", "sgd", "momentum", "rmsprop", "adam", "newton", "lm"}
    seed : int
        Seeds the initial weights (when ``w0`` is None) and the mini-batch order.
    max_iter : int
        Iterations (one update each; an sgd iteration is one mini-batch).
    grad_tol : float
        Stop when ||dE/dw|| <= grad_tol (converged).
    batch_size : int or None
        Mini-batch size for the first-order methods (sgd: default 32); the batch
        gradient is scaled by N/B so that it estimates dE/dw without bias.
    progress : bool
        Show a tqdm progress bar (silently none if tqdm is not installed).
    **hyper
        lr, momentum, rho, beta1, beta2, eps (see ``symnet.optimizers``) or
        mu, mu_dec, mu_inc, mu_max for newton and lm (see the module docstring).

    Returns
    -------
    FitResult

    Raises
    ------
    TrainingDiverged
        A first-order method met a non-finite E or gradient (lr too large).

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([1, 1])                          # y = w x + b: linear least squares
    >>> X, T = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]])
    >>> result = fit(net, X, T, method="newton")          # E is quadratic: the damped step
    >>> result.weights.round(6), result.n_iter, result.converged   # (mu = 1e-3) lands close,
    (array([2., 1.]), 2, True)
    >>> result.history.damping                            # the second (mu = 1e-4) finishes
    array([0.001 , 0.0001])
    """
    if method not in METHODS:
        raise SymnetError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    loss = get_loss(loss, net)
    X, single = check_inputs(net, X, allow_complex=False)
    T = check_targets(net, T, X.shape[0], single)
    w = check_params(net, net.init_params(seed) if w0 is None else w0).copy()
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 0):
        raise SymnetError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    if not (isinstance(grad_tol, (int, float)) and grad_tol >= 0):
        raise SymnetError(f"grad_tol must be a non-negative number; got {grad_tol!r}")
    options = _options(method, hyper)
    N = X.shape[0]
    if method in ("newton", "lm") and batch_size is not None:
        raise SymnetError(f"method={method!r} uses the whole batch; drop batch_size")
    if method == "sgd" and batch_size is None:
        batch_size = min(SGD_BATCH, N)
    if batch_size is not None and not (isinstance(batch_size, (int, np.integer))
                                       and 1 <= batch_size <= N):
        raise SymnetError(f"batch_size must be an integer in [1, {N}]; got {batch_size!r}")

    problem, rng = _Problem(net, loss, X, T), np.random.default_rng(seed)
    rule = FIRST_ORDER[method](net.n_params, **options) if method in FIRST_ORDER else None
    E, g = problem.value(w), problem.gradient(w)
    norm, layers = _norms(net, g)
    if not (np.isfinite(E) and np.isfinite(norm)):
        raise SymnetError("the loss or gradient is not finite at the starting weights")
    records = {"loss": [E], "grad_norm": [norm], "layers": [layers], "step": [], "mu": []}
    mu, order = options.get("mu"), np.empty(0, dtype=int)
    message, converged = f"max_iter = {max_iter} reached", False
    bar = _progress_bar(progress, max_iter, method)

    def result(weights, why, done):
        history = FitHistory(np.array(records["loss"]), np.array(records["grad_norm"]),
                             np.array(records["layers"]).reshape(-1, net.n_layers),
                             np.array(records["step"]), np.array(records["mu"]))
        return FitResult(weights.copy(), method, float(records["loss"][-1]),
                         len(records["step"]), done, why, history,
                         {**options, "batch_size": batch_size, "seed": seed})
    try:
        for iteration in range(1, max_iter + 1):
            if records["grad_norm"][-1] <= grad_tol:
                break
            if rule is not None:
                if batch_size is None:
                    g_step = g
                else:
                    if order.size < batch_size:  # a new epoch: a fresh permutation
                        order = rng.permutation(N)
                    rows, order = order[:batch_size], order[batch_size:]
                    g_step = problem.gradient(w, rows) * (N / batch_size)
                w_new = w + rule.update(g_step)
                E_new, used = problem.value(w_new), np.nan
                g_new = problem.gradient(w_new)
                norm, layers = _norms(net, g_new)
                if not (np.isfinite(E_new) and np.isfinite(norm)):
                    raise TrainingDiverged(
                        f"the loss became non-finite at iteration {iteration} of "
                        f"method={method!r} with lr={options['lr']:g}: the steps are too large. "
                        f"Lower lr (e.g. lr={options['lr'] / 10:g}); error.result holds the "
                        "run up to the last finite weights.",
                        result(w, "diverged (non-finite loss)", False))
            else:
                step = _damped_step(problem, method, w, E, g, mu, options)
                if step is None:
                    message = (f"mu exceeded mu_max = {options['mu_max']:g}: no step lowers E "
                               "(a minimum to working precision)")
                    break
                w_new, E_new, used, mu = step
                g_new = problem.gradient(w_new)
                norm, layers = _norms(net, g_new)
            records["step"].append(np.linalg.norm(w_new - w))
            records["mu"].append(used)
            w, E, g = w_new, E_new, g_new
            records["loss"].append(E)
            records["grad_norm"].append(norm)
            records["layers"].append(layers)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(E=f"{E:.4g}", grad=f"{records['grad_norm'][-1]:.2g}")
    finally:
        if bar is not None:
            bar.close()
    if records["grad_norm"][-1] <= grad_tol:
        message, converged = (f"||dE/dw|| = {records['grad_norm'][-1]:.3g} <= grad_tol = "
                              f"{grad_tol:g}"), True
    return result(w, message, converged)


@dataclass(frozen=True)
class CurveProblem:
    """A 1-D curve-fitting problem with a known minimum (see ``curve_problem``)."""

    net: object
    X: np.ndarray = field(repr=False)
    T: np.ndarray = field(repr=False)
    w_star: np.ndarray = field(repr=False)
    min_error: float


def curve_problem(n_samples=94, n_hidden=10, noise=0.05, slope=12.0, seed=0):
    """A noisy smooth 1-D curve whose least-squares minimum is known exactly.

    Like MATLAB's ``simplefit_dataset`` (94 samples of a smooth curve), fitted by a
    1-``n_hidden``-1 tanh network. The clean curve is the network itself at weights
    w*: hidden unit j has slope ``slope`` and centre c_j evenly spaced in [-0.9, 0.9]
    (a_j = slope (x - c_j)), output weights alternate near +-0.5. The noise is Gaussian
    (standard deviation ``noise``) with its component along the columns of the
    parameter Jacobian J(w*) removed, so that J^T e = 0 at w*: w* is a stationary point
    with error E* = ||e||^2 / 2, about (N - W) noise^2 / 2, well above zero. With the
    defaults the exact Hessian there is positive definite, so w* is a strict local
    minimum (tests check it), and the residual term of H is not zero.

    Examples
    --------
    >>> problem = curve_problem()
    >>> problem.X.shape, problem.T.shape, problem.net.n_params, round(problem.min_error, 4)
    ((94, 1), (94, 1), 31, 0.0707)
    """
    from .network import MLP
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
