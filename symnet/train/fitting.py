"""Training with the exact derivatives: ``fit(net, X, T, method=...)``.

| method     | step                                                         | uses |
|------------|--------------------------------------------------------------|------|
| gd         | Delta w = -lr g                                              | gradient |
| sgd        | the same on a mini-batch gradient (N/B) sum_{n in batch} g_n | gradient |
| momentum, rmsprop, adam | see ``symnet.optimizers`` (published defaults) | gradient |
| newton     | (H + mu c I) p = -g, H the exact Hessian                     | Hessian |
| lm         | (J^T J + mu D^2) p = -J^T e, J the parameter Jacobian, e = y - t | Jacobian |

Levenberg-Marquardt is Marquardt's scaled form with MINPACK's scaling and stopping
rules (More 1978) and Nielsen's damping update (as GSL's ``multifit_nlinear``): D^2 is
the running maximum of diag(J^T J) (a column of zeros gets 1), so mu is relative to
the curvature of each weight and the step does not depend on the units of the weights.
A trial step is taken when it lowers E (lm with sse: or is an uphill step, below); the
gain ratio rho = (actual reduction of E) / (reduction predicted by the model) then
sets mu for the next step (``symnet.optimizers.NielsenDamping``: divided by up to 3
when the model is good). After a trial that does not lower E, mu is set so that the
next scaled step ||D p|| is t* times as long, t* in [0.1, 0.5] the minimum of the
parabola through E and its slope at the start and E at the trial (MINPACK's lmder;
``symnet.train._damped``). Newton's method damps the exact Hessian the same way with
an isotropic D^2 = c I, c the largest |H_jj| seen, and rejects a damping that leaves
H + mu c I indefinite (mu * 2, 4, 8, ... then). For cross-entropy, lm uses the
generalised Gauss-Newton matrix sum_n B_n^T Lambda_n B_n of ``symnet.hessian``
(``approx="gauss_newton"``) in place of J^T J. For sum-of-squares, lm adds the
geodesic acceleration of Transtrum & Sethna (2012) to the step, a / 2 with
a = -(J^T J + mu D^2)^-1 J^T r_vv and r_vv the exact second directional derivative
of the outputs, when it is small (``geodesic=False`` turns it off; see
``symnet.train._damped``). For sum-of-squares, lm also takes a trial that raised E
by at most 10% when it goes on in the direction of the last step (Transtrum &
Sethna's uphill step, test ``symnet.train._damped.is_uphill_step``; ``uphill=False``
turns it off), with mu unchanged; a run that reaches max_iter above the lowest E it
has seen returns the weights where E was lowest (``FitResult.loss`` is their E; the
message says so). Tolerances 0 are replaced by machine epsilon.

A second-order run stops, converged, when the first of these holds (MINPACK's tests):

* grad_tol: ||dE/dw|| <= grad_tol (every method);
* gtol (lm with sse): max_j |cos(e, column j of J)| <= gtol, the residual is orthogonal
  to every column of J to that precision (E = 0 meets it too);
* ftol: the actual and the predicted reduction of E of a step are both <= ftol E (and
  rho <= 2): no step changes E by more than ftol relative, so E is known to that
  precision (a step that ends here is kept when it was taken);
* xtol: the scaled step ||D p|| <= xtol (||D w|| + xtol): the weights move by less than
  xtol relative. Rejections in a row raise mu without bound, so a point where no step
  lowers E (a minimum to working precision) always ends here or at ftol.

E = sum_n E_n (summed over samples, as everywhere in symnet). Every iteration
records the full-batch E, ||dE/dw||, the gradient norm of each layer (to watch
gradients vanish or explode with depth) and ||Delta w||; newton and lm also record
every trial step, rejected ones included (``FitHistory.trials``).

A first-order run raises ``TrainingDiverged`` as soon as it is evidently diverging:
E or the gradient is not finite, E exceeds DIVERGENCE_FACTOR = 1000 times its start,
or (full-batch gd and momentum, which never rise steadily while stable) E has risen
in each of the last DIVERGENCE_RISES = 5 steps, with ||dE/dw|| growing too, to above
its start. Mini-batch noise and the adaptive rules' steps of about lr per weight make
E rise now and then in a stable run, so for sgd, rmsprop and adam only the first two
count. The error suggests a learning rate from the curvature: the
largest eigenvalue lambda_max of the exact Hessian (power iteration on Hessian-vector
products) at the start and where E was lowest, and the rule's stability limit.
"""

from dataclasses import dataclass, field

import numpy as np

from ..compiled import matrix_form as engine
from ._damped import DAMPING, Trial, damped_options
from ._damped import run as _second_order_run
from .._size import check_newton_step
from .._validate import check_inputs, check_number, check_params, check_targets
from ..errors import SymnetError
from ..graph.losses import get_loss
from .optimizers import FIRST_ORDER, largest_eigenvalue

__all__ = ["fit", "FitResult", "FitHistory", "Trial", "TrainingDiverged", "METHODS",
           "DAMPING"]

METHODS = ("gd", "sgd", "momentum", "rmsprop", "adam", "newton", "lm")
SGD_BATCH = 32
DIVERGENCE_FACTOR = 1e3   # E above this many times its start: diverging
DIVERGENCE_RISES = 5      # or E and ||dE/dw|| rising this many steps in a row, above the start
HEAD = 10                 # values of E kept in TrainingDiverged.losses


class TrainingDiverged(SymnetError):
    """A first-order run diverged: the numbers, a safe learning rate, and the run so far.

    Attributes
    ----------
    result : FitResult
        The run up to the step where the divergence was detected (finite weights).
    iteration : int
        That step.
    losses : ndarray
        E at iterations 0, 1, ... (at most the first 10).
    lambda_max : float or None
        Largest eigenvalue of the exact Hessian (preconditioned by the rule's P for
        rmsprop and adam), the larger of its values at the start and where E was lowest.
    stable_lr, suggested_lr : float or None
        The rule's stability limit on that curvature (2 / lambda_max for gd,
        2 (1 + momentum) / lambda_max for the heavy ball) and 1 / lambda_max, at most
        half of every limit.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1])          # y = w x + b: E is quadratic with H = [[5, 3], [3, 2]]
    >>> X, T = [[1.0], [2.0]], [[1.0], [3.0]]
    >>> try:                              # lambda_max = (7 + sqrt(45)) / 2 = 6.854: 2 / it = 0.2918
    ...     fit(net, X, T, method="gd", lr=0.3, max_iter=500)
    ... except TrainingDiverged as error:
    ...     print(error.iteration, error.losses.round(1), round(error.lambda_max, 4))
    ...     print(round(error.stable_lr, 4), round(error.suggested_lr, 4))
    ...     suggested = error.suggested_lr
    5 [4.2 4.6 5.1 5.7 6.3 7. ] 6.8541
    0.2918 0.1459
    >>> fit(net, X, T, method="gd", lr=suggested).converged
    True
    """

    def __init__(self, message, result, *, iteration, losses, lambda_max=None,
                 stable_lr=None, suggested_lr=None):
        super().__init__(message)
        self.result, self.iteration, self.losses = result, iteration, losses
        self.lambda_max, self.stable_lr, self.suggested_lr = lambda_max, stable_lr, suggested_lr


@dataclass(frozen=True)
class FitHistory:
    """Per-iteration records. Index 0 is the starting point.

    loss, grad_norm : (n_iter + 1,)   E and ||dE/dw|| (full batch)
    layer_grad_norms : (n_iter + 1, L)  ||dE/dW^(l), dE/db^(l)|| per layer
    step_size : (n_iter,)              ||w_{t+1} - w_t||
    damping : (n_iter,)                mu of each accepted step (newton, lm; nan otherwise)
    trials : tuple of Trial            every trial step of newton and lm, rejected ones too
    """

    loss: np.ndarray
    grad_norm: np.ndarray
    layer_grad_norms: np.ndarray
    step_size: np.ndarray
    damping: np.ndarray
    trials: tuple = ()


@dataclass(frozen=True)
class FitResult:
    """The outcome of ``fit``: final weights, why it stopped, and the history.

    ``reason`` names the test that stopped the run ("grad_tol", "gtol", "ftol", "xtol",
    "max_iter", "diverged"); ``evaluations`` counts E, gradient and curvature (J, the
    Gauss-Newton matrix or H) evaluations. ``last_weights`` are the last iterate's: the
    same as ``weights`` unless an lm run reached max_iter above the lowest E it had seen
    (after uphill steps), when ``weights`` are those where E was lowest.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([1, 1])                          # y = w x + b; the data lie on y = 2x + 1
    >>> X, T = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]])
    >>> result = symnet.fit(net, X, T, method="lm")
    >>> type(result).__name__, result.converged, result.weights.round(6)
    ('FitResult', True, array([2., 1.]))
    """

    weights: np.ndarray = field(repr=False)
    method: str
    loss: float
    n_iter: int
    converged: bool
    message: str
    history: FitHistory = field(repr=False)
    options: dict = field(default_factory=dict)
    reason: str = ""
    evaluations: dict = field(default_factory=dict)
    last_weights: np.ndarray = field(default=None, repr=False)

    def __str__(self):
        h = self.history
        return (f"fit(method={self.method!r}) stopped after {self.n_iter} iterations: "
                f"{self.message}\n  E: {h.loss[0]:.6g} -> {h.loss[-1]:.6g};  "
                f"||dE/dw||: {h.grad_norm[0]:.3g} -> {h.grad_norm[-1]:.3g}")


class _Problem:
    """E, gradient and curvature at w, counted; overflow is turned into a non-finite signal."""

    def __init__(self, net, loss, X, T):
        self.net, self.loss, self.X, self.T = net, loss, X, T
        self.counts = {"loss": 0, "gradient": 0, "curvature": 0}

    def value(self, w, rows=slice(None)):
        self.counts["loss"] += 1
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                return engine.error_value(self.net, self.loss, self.X[rows], w, self.T[rows])
            except FloatingPointError:
                return np.inf

    def gradient(self, w, rows=slice(None), scale=1.0):
        """dE/dw at w; for a mini-batch ``rows``, ``scale`` = N/B times its data term.

        The weight decay lam w is not a sum over samples: it is added once, unscaled.
        """
        self.counts["gradient"] += 1
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                g = engine.gradient_values(self.net, self.loss, self.X[rows], w, self.T[rows])
            except FloatingPointError:
                return np.full(self.net.n_params, np.nan)
        decay = self.loss.weight_decay * w
        return g if scale == 1 else scale * (g - decay) + decay

    def hessian_times(self, w, v):
        """H v (exact, by the R-operator) at w."""
        V = v[:, None]
        return engine.hessian_vector_values(self.net, self.loss, self.X, w, self.T, V)[:, 0]

    def norms(self, g):
        return _norms(self.net, g)


def _norms(net, g):
    """||g|| and the per-layer norms; inf when they overflow (a diverging run)."""
    with np.errstate(over="raise", invalid="raise"):
        try:
            layers = np.array([np.sqrt(np.sum(g[w] ** 2) + np.sum(g[b] ** 2)) for w, b in
                               (net.layer_slices(l) for l in range(1, net.n_layers + 1))])
            return float(np.sqrt(np.sum(layers ** 2))), layers
        except FloatingPointError:
            return np.inf, np.full(net.n_layers, np.inf)


class _Recorder:
    """The growing history of one run, and the FitResult made from it."""

    def __init__(self, net, method, options, E, norm, layers, bar=None):
        self.net, self.method, self.options, self.bar = net, method, options, bar
        self.loss, self.grad_norm, self.layers = [E], [norm], [layers]
        self.step, self.mu, self.trials = [], [], []
        self.returned_loss = None   # E of the weights returned, when not the last iterate's
        self.last_weights = None    # the last iterate, when it is not the weights returned

    def add(self, w_old, w_new, E, norm, layers, mu=np.nan):
        self.step.append(float(np.linalg.norm(w_new - w_old)))
        self.mu.append(mu)
        self.loss.append(E)
        self.grad_norm.append(norm)
        self.layers.append(layers)
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(E=f"{E:.4g}", grad=f"{norm:.2g}")

    def result(self, weights, message, converged, reason, counts):
        history = FitHistory(np.array(self.loss), np.array(self.grad_norm),
                             np.array(self.layers).reshape(-1, self.net.n_layers),
                             np.array(self.step), np.array(self.mu), tuple(self.trials))
        loss = self.loss[-1] if self.returned_loss is None else self.returned_loss
        last = weights if self.last_weights is None else self.last_weights
        return FitResult(weights.copy(), self.method, float(loss), len(self.step),
                         converged, message, history, self.options, reason, dict(counts),
                         last.copy())


def _options(method, hyper):
    if method in FIRST_ORDER:
        rule = FIRST_ORDER[method]
        unknown = set(hyper) - set(rule.defaults)
        if unknown:
            raise SymnetError(f"method={method!r} takes {', '.join(rule.defaults)}; got "
                              f"unknown {', '.join(sorted(unknown))}")
        return {**rule.defaults, **hyper}
    return damped_options(method, hyper)


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
        grad_tol=1e-6, batch_size=None, progress=False, weight_decay=None, **hyper):
    """Train ``net`` on (X, T) from ``w0`` (default ``net.init_params(seed)``).

    Parameters
    ----------
    method : {"gd", "sgd", "momentum", "rmsprop", "adam", "newton", "lm"}
    seed : int
        Seeds the initial weights (when ``w0`` is None) and the mini-batch order.
    max_iter : int
        Iterations (one update each; an sgd iteration is one mini-batch; for newton
        and lm an iteration is one accepted step, i.e. one new J or H).
    grad_tol : float
        Stop when ||dE/dw|| <= grad_tol (converged).
    batch_size : int or None
        Mini-batch size for the first-order methods (sgd: default 32); the batch
        gradient is scaled by N/B so that it estimates dE/dw without bias.
    progress : bool
        Show a tqdm progress bar (silently none if tqdm is not installed).
    weight_decay : float, optional
        lam >= 0: minimise E = sum_n E_n + lam/2 ||w||^2 (L2 weight decay; default 0).
    **hyper
        lr, momentum, rho, beta1, beta2, eps (see ``symnet.optimizers``); for lm the
        initial damping mu, ftol, xtol, gtol, geodesic (True: geodesic acceleration) and
        uphill (True: take Transtrum & Sethna's uphill steps);
        for newton mu, ftol, xtol (see the module docstring and ``DAMPING``).

    Returns
    -------
    FitResult

    Raises
    ------
    TrainingDiverged
        A first-order run diverged (lr too large); the error suggests a stable lr.

    Examples
    --------
    >>> import numpy as np, symnet
    >>> net = symnet.MLP([1, 1])                          # y = w x + b: linear least squares
    >>> X, T = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [3.0], [5.0]])
    >>> result = fit(net, X, T, method="lm")              # residuals linear in w: each step is
    >>> result.weights.round(6), result.n_iter, result.reason   # almost Gauss-Newton's
    (array([2., 1.]), 3, 'grad_tol')
    >>> result.history.damping          # the model is exact (rho = 1): mu divided by 3 each time
    array([0.001     , 0.00033333, 0.00011111])
    >>> [round(trial.gain, 6) for trial in result.history.trials]
    [1.0, 1.0, 1.0]
    """
    if method not in METHODS:
        raise SymnetError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    loss = get_loss(loss, net, weight_decay)
    X, single = check_inputs(net, X, allow_complex=False)
    T = check_targets(net, T, X.shape[0], single)
    w = check_params(net, net.init_params(seed) if w0 is None else w0).copy()
    max_iter = check_number("max_iter", max_iter, nonnegative=True, integer=True, example=100)
    grad_tol = check_number("grad_tol", grad_tol, nonnegative=True, example=1e-6)
    options = _options(method, hyper)
    N = X.shape[0]
    if method == "newton":
        check_newton_step(net, N)  # a dense W x W Hessian and its eigh per iteration
    if method in ("newton", "lm") and batch_size is not None:
        raise SymnetError(f"method={method!r} uses the whole batch; drop batch_size")
    if method == "sgd" and batch_size is None:
        batch_size = min(SGD_BATCH, N)
    if batch_size is not None and not (isinstance(batch_size, (int, np.integer))
                                       and 1 <= batch_size <= N):
        raise SymnetError(f"batch_size must be an integer in [1, {N}]; got {batch_size!r}")

    problem = _Problem(net, loss, X, T)
    E, g = problem.value(w), problem.gradient(w)
    norm, layers = _norms(net, g)
    if not (np.isfinite(E) and np.isfinite(norm)):
        raise SymnetError("the loss or gradient is not finite at the starting weights")
    bar = _progress_bar(progress, max_iter, method)
    recorder = _Recorder(net, method, {**options, "batch_size": batch_size, "seed": seed},
                         E, norm, layers, bar)
    try:
        if method in FIRST_ORDER:
            w, message, reason = _first_order(problem, recorder, method, options, w, E, g,
                                              max_iter, grad_tol, batch_size, seed)
        else:
            w, message, reason = _second_order_run(problem, recorder, method, options, w, E, g,
                                                   max_iter, grad_tol)
    finally:
        if bar is not None:
            bar.close()
    if reason is None and recorder.grad_norm[-1] <= grad_tol:
        message, reason = (f"||dE/dw|| = {recorder.grad_norm[-1]:.3g} <= grad_tol = "
                           f"{grad_tol:g}"), "grad_tol"
    if reason is None:
        message, reason = f"max_iter = {max_iter} reached", "max_iter"
    return recorder.result(w, message, reason != "max_iter", reason, problem.counts)


# ------------------------------------------------------------------ first-order methods
def _first_order(problem, recorder, method, options, w, E, g, max_iter, grad_tol,
                 batch_size, seed):
    """The first-order loop; (weights, None, None) at max_iter or grad_tol."""
    net, N = problem.net, problem.X.shape[0]
    rule = FIRST_ORDER[method](net.n_params, **options)
    rng, order = np.random.default_rng(seed), np.empty(0, dtype=int)
    lowest = {"loss": E, "weights": w.copy(), "preconditioner": None, "iteration": 0}
    w_start = w.copy()
    # Only full-batch gd and momentum never rise steadily when stable (E, or E plus the
    # heavy ball's kinetic term, decreases); mini-batch noise and adaptive steps can.
    steady = batch_size is None and method in ("gd", "momentum")
    for iteration in range(1, max_iter + 1):
        if recorder.grad_norm[-1] <= grad_tol:
            break
        if batch_size is None:
            g_step = g
        else:
            if order.size < batch_size:  # a new epoch: a fresh permutation
                order = rng.permutation(N)
            rows, order = order[:batch_size], order[batch_size:]
            g_step = problem.gradient(w, rows, scale=N / batch_size)
        w_new = w + rule.update(g_step)
        if lowest["preconditioner"] is None:  # the start: the rule's first preconditioner
            lowest["preconditioner"] = rule.preconditioner()
        E_new = problem.value(w_new)
        g_new = problem.gradient(w_new)
        norm, layers = _norms(net, g_new)
        if not (np.isfinite(E_new) and np.isfinite(norm)):
            raise _diverged(problem, recorder, rule, method, options, w, w_start, lowest,
                            iteration, "E or its gradient overflowed (not finite)")
        recorder.add(w, w_new, E_new, norm, layers)
        w, E, g = w_new, E_new, g_new
        if E < lowest["loss"]:
            lowest.update(loss=E, weights=w.copy(), preconditioner=rule.preconditioner(),
                          iteration=iteration)
        why = _diverging(recorder.loss, recorder.grad_norm, steady)
        if why:
            raise _diverged(problem, recorder, rule, method, options, w, w_start, lowest,
                            iteration, why)
    return w, None, None


def _diverging(losses, grad_norms, steady=True):
    """Why the run is evidently diverging, or None (``steady``: test steady growth too)."""
    start, now = losses[0], losses[-1]
    if now > DIVERGENCE_FACTOR * start:
        return (f"E rose from {start:.4g} to {now:.4g}, more than {DIVERGENCE_FACTOR:g} "
                "times its start")
    k = DIVERGENCE_RISES
    if (steady and len(losses) > k and now > start and np.all(np.diff(losses[-k - 1:]) > 0)
            and np.all(np.diff(grad_norms[-k - 1:]) > 0)):
        return (f"E rose in each of the last {k} steps, to {now:.4g} (above its start "
                f"{start:.4g}), and ||dE/dw|| grew with it")
    return None


_LIMIT_TEXT = {"gd": "2 / lambda_max", "sgd": "2 / lambda_max",
          "momentum": "2 (1 + momentum) / lambda_max", "rmsprop": "2 / lambda_max(P H)",
          "adam": "2 (1 + beta1) / (1 - beta1) / lambda_max(P H)"}


def _curvature(problem, w, preconditioner):
    """lambda_max of P H at w (P = 1 for plain gradient steps), and the products used."""
    root = np.sqrt(preconditioner)  # P H has the eigenvalues of P^1/2 H P^1/2 (symmetric)
    products = [0]

    def times(v):
        products[0] += 1
        return root * problem.hessian_times(w, root * v)
    with np.errstate(over="raise", invalid="raise"):
        try:
            value = largest_eigenvalue(times, problem.net.n_params)
        except FloatingPointError:
            value = np.nan
    return value, products[0]


def _diverged(problem, recorder, rule, method, options, w, w_start, lowest, iteration, why):
    """The TrainingDiverged for a run detected diverging at ``iteration``."""
    P = lowest["preconditioner"] if lowest["preconditioner"] is not None else np.ones_like(w)
    points = [("the start", w_start)]
    if lowest["iteration"] > 0:
        points.append((f"iteration {lowest['iteration']} (where E was lowest)", lowest["weights"]))
    estimates = [(*_curvature(problem, point, P), name) for name, point in points]
    finite = [item for item in estimates if np.isfinite(item[0]) and item[0] > 0]
    lr = options["lr"]
    text = (f"fit(method={method!r}, lr={lr:g}) diverged at iteration {iteration}: {why}. ")
    lambda_max = stable = suggested = None
    if finite:
        lambda_max, products, where = max(finite)
        stable = rule.stability_limit / lambda_max
        # 1 / lambda_max: half the gd limit, a quarter or less of the others', a margin for
        # the curvature growing along the path (the heavy ball at half its limit was not)
        suggested = 1 / lambda_max
        text += (f"The exact Hessian at {where} has lambda_max"
                 f"{'(P H)' if method in ('rmsprop', 'adam') else ''} = {lambda_max:.4g} "
                 f"(power iteration, {products} Hessian-vector products), so "
                 f"method={method!r} is stable only for lr < {_LIMIT_TEXT[method]} = "
                 f"{stable:.4g}. "
                 f"Try lr = 1 / lambda_max = {suggested:.4g}. ")
    else:
        text += ("The exact Hessian has no positive eigenvalue at the start or where E was "
                 "lowest, so the curvature gives no step-size limit: lower lr. ")
    text += "error.result holds the run up to here."
    result = recorder.result(w, f"diverged at iteration {iteration}: {why}", False, "diverged",
                             problem.counts)
    return TrainingDiverged(text, result, iteration=iteration,
                            losses=np.array(recorder.loss[:HEAD]), lambda_max=lambda_max,
                            stable_lr=stable, suggested_lr=suggested)
