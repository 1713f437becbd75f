"""The damped second-order loop of ``fit``: Levenberg-Marquardt and damped Newton.

Each iteration builds one system (A + mu D^2) p = -g at the current weights (one new
J, Gauss-Newton matrix or H) and tries steps until one lowers E; every trial is
recorded as a ``Trial``. After a step that lowers E, Nielsen's rule sets mu from the
gain ratio; after one that does not, MINPACK's (lmder): the next step is t* times as
long in ||D p||, t* in [0.1, 0.5] the minimum of the parabola along the failed step
(``_cut``, ``damping_for_length``). Nielsen's mu * 2, 4, 8 instead barely shortened
a step whose length comes from directions with curvature lambda above mu (where mu
hardly matters): in narrow valleys two or three rejections in a row, cycle after
cycle. The stopping tests are MINPACK's (see ``symnet.train.fitting``). For lm with
sum-of-squares error the velocity v (the Levenberg-Marquardt step) gets the geodesic
acceleration of Transtrum & Sethna ("Improvements to the Levenberg-Marquardt
algorithm for nonlinear least-squares minimization", 2012):

    a = -(J^T J + mu D^2)^-1 J^T r_vv,   r_vv = d^2 y(w + t v) / dt^2 at t = 0,
    p = v + a / 2 when 2 ||D a|| <= ACCELERATION_LIMIT ||D v||, else p = v,

the second-order correction that bends the step along the curved valley of E, so
that fewer Jacobians are needed to follow it. Where the correction is not small (far
from a minimum, where the quadratic picture fails) the plain step is tried instead:
Transtrum & Sethna reject such a step and raise mu, which here made the first steps
short and led some starts into poor minima. r_vv is exact (a forward pass of second
directional derivatives, ``output_second_directional``), not a finite difference, so
it stays accurate for the tiny steps near a minimum.

For lm with sum-of-squares error, a trial that raises E is still taken, as Transtrum &
Sethna's "uphill" step, when it goes on in the direction of the last step taken and
raises E only a little:

    (1 - cos beta)^2 E(w + p) <= E(w)  and  E(w + p) <= UPHILL_LIMIT E(w),

beta the angle between the velocity v and the last accepted one (in the scaled norm
||D .||); mu is then left as it was. In a narrow curved valley a step along the
valley floor that overshoots a little is otherwise rejected, mu raised and the next
steps shortened, which is how a run crawls for thousands of iterations (the curve
problem from init_params(6): 3100 iterations without converging before, 687 with).
Over 80 random starts of ``benchmarks/bench_lm.py`` it converged wherever MINPACK did.
"""

from typing import NamedTuple

import numpy as np

from ..compiled import matrix_form as engine
from ..errors import SymnetError
from .optimizers import DampedSystem, NielsenDamping

# Initial damping mu (relative to D^2) and MINPACK's tolerances, as scipy's least_squares.
DAMPING = {"lm": {"mu": 1e-3, "ftol": 1e-8, "xtol": 1e-8, "gtol": 1e-8, "geodesic": True,
                  "uphill": True},
           "newton": {"mu": 1e-3, "ftol": 1e-8, "xtol": 1e-8}}
SWITCHES = ("geodesic", "uphill")   # the lm options that are True or False
ACCELERATION_LIMIT = 0.75   # Transtrum & Sethna's alpha (GSL's avmax)
UPHILL_POWER = 2            # Transtrum & Sethna's b in (1 - cos beta)^b E(w + p) <= E(w)
UPHILL_LIMIT = 1.1          # and an uphill step raises E by at most 10%


class Trial(NamedTuple):
    """One trial step of newton or lm: the damping tried, E there, rho, and the verdict."""

    iteration: int        # the iteration this trial belongs to (1 = the first step)
    mu: float             # damping of the system (A + mu D^2) p = -g
    loss: float           # E at w + p (nan if not evaluated: newton's H + mu c I indefinite)
    gain: float           # rho = (E - E(w + p)) / predicted reduction
    accepted: bool
    acceleration: float = np.nan   # 2 ||D a|| / ||D v||; a was added when <= 0.75 (lm, sse)
    uphill: bool = False           # accepted although E rose: an uphill step (lm)


def damped_options(method, hyper):
    """``DAMPING[method]`` updated by ``hyper``; a SymnetError naming an unknown or bad one.

    >>> damped_options("newton", {"mu": 0.1})["mu"], damped_options("lm", {})["uphill"]
    (0.1, True)
    """
    defaults = DAMPING[method]
    unknown = set(hyper) - set(defaults)
    if unknown:
        raise SymnetError(f"method={method!r} takes {', '.join(defaults)}; got unknown "
                          f"{', '.join(sorted(unknown))}")
    options = {**defaults, **hyper}
    for name in SWITCHES:
        if not isinstance(options.get(name, False), bool):
            raise SymnetError(f"{name} must be True or False; got {options[name]!r}")
    for name, value in options.items():
        if name in SWITCHES:
            continue
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0
                and (value > 0 or name != "mu")):
            kind = "positive" if name == "mu" else "non-negative"
            raise SymnetError(f"{name} must be a finite {kind} number; got {value!r}")
    return options


def output_second_directional(net, X, w, v):
    """r_vv = d^2 y(x_n; w + t v) / dt^2 at t = 0, shape (N, K), by a forward recursion.

    With dot = d/dt: a^(l) = W^(l) z^(l-1) + b^(l) gives
    a_dot = W z_dot + V z + v_b and a_ddot = W z_ddot + 2 V z_dot (V, v_b the parts of
    v for layer l). A hidden layer z = h(a) gives z_dot = h'(a) a_dot and
    z_ddot = h''(a) a_dot^2 + h'(a) a_ddot. The output layer y = h(a^(L)) uses its
    derivative blocks, whatever h is: S_km = dy_k/da_m and C_kmp = d^2 y_k/da_m da_p
    (``matrix_form.output_block`` and ``output_curvature``, softmax's from its SymPy
    rule's kernels), so y_dot = S a_dot and y_ddot = S a_ddot + sum_mp C_kmp a_dot_m a_dot_p.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([1, 1, 1], hidden="tanh")      # y = w2 tanh(w1 x + b1) + b2
    >>> w, v = np.array([0.5, 0.0, 2.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0])
    >>> # d^2/dt^2 of 2 tanh((0.5 + t) x) = 2 x^2 tanh''(0.5 x) = -4 x^2 tanh (1 - tanh^2)
    >>> x = 1.0; t = np.tanh(0.5 * x)
    >>> bool(np.isclose(output_second_directional(net, [[x]], w, v)[0, 0], -4 * t * (1 - t ** 2)))
    True
    """
    X = np.asarray(X, dtype=float)
    A, Z = engine.forward_pass(net, X, w)
    dh, d2h = engine.layer_derivatives(net, A, Z, second=True)
    L = net.n_layers
    z_dot, z_ddot = np.zeros_like(X), np.zeros_like(X)
    for l in range(1, L + 1):
        W, _ = net._layer_arrays(w, l)
        V, v_b = net._layer_arrays(v, l)
        a_dot = z_dot @ W.T + Z[l - 1] @ V.T + v_b
        a_ddot = z_ddot @ W.T + 2 * z_dot @ V.T
        if l < L:  # hidden layers are elementwise
            z_dot, z_ddot = dh[l] * a_dot, d2h[l] * a_dot ** 2 + dh[l] * a_ddot
    S = engine.output_block(net, A[L], Z[L], dh[L])
    C = engine.output_curvature(net, Z[L], d2h[L])
    return (np.einsum("nkm,nm->nk", S, a_ddot)
            + np.einsum("nkmp,nm,np->nk", C, a_dot, a_dot))


def _running_max(scale, diagonal):
    """MINPACK's scaling: D^2 = max over the run of diag(A), with 1 where it is still 0."""
    scale = np.maximum(scale, diagonal)
    return np.where(scale > 0, scale, 1.0)


def _cosine(g, columns, ee):
    """MINPACK's gtol measure max_j |J_j^T e| / (||J_j|| ||e||) (0 when e = 0)."""
    if ee == 0:
        return 0.0
    used = columns > 0
    return float(np.max(np.abs(g[used]) / np.sqrt(columns[used] * ee), initial=0.0))


def build_system(problem, w, method, g, scale):
    """(DampedSystem, new scale, gtol measure or None) at w; scale = running max of D^2."""
    problem.counts["curvature"] += 1
    net, X, T = problem.net, problem.X, problem.T
    W = net.n_params
    if method == "newton":
        H = engine.hessian_vector_values(net, problem.loss, X, w, T, np.eye(W))
        c = max(scale[0], np.max(np.abs(np.diag(H))), np.finfo(float).tiny)
        scale = np.full(W, c)
        return DampedSystem(np.sqrt(scale), curvature=H, gradient=g), scale, None
    if not problem.loss.rule.is_sum_of_squares or problem.loss.weight_decay:  # J, e: sse only
        G = engine.gauss_newton_values(net, problem.loss, X, w, T)
        scale = _running_max(scale, np.diag(G))
        return DampedSystem(np.sqrt(scale), curvature=G, gradient=g), scale, None
    J = engine.param_jacobian_values(net, X, w).reshape(-1, W)
    e = (net.forward(X, w) - T).ravel()
    columns = np.sum(J ** 2, axis=0)
    scale = _running_max(scale, columns)
    return (DampedSystem(np.sqrt(scale), jacobian=J, residuals=e), scale,
            _cosine(J.T @ e, columns, e @ e))


def run(problem, recorder, method, options, w, E, g, max_iter, grad_tol):
    """Marquardt-Nielsen iterations; (weights, message, reason), reason None at max_iter.

    At max_iter after uphill steps (E above the lowest E of the run) the weights where E
    was lowest are returned, with reason "max_iter" and a message saying so.
    """
    net, eps = problem.net, np.finfo(float).eps
    # Transtrum & Sethna's two additions are for least squares (lm, sse, no weight decay)
    least_squares = problem.loss.rule.is_sum_of_squares and not problem.loss.weight_decay
    geodesic = options.get("geodesic", False) and least_squares
    uphill_allowed = options.get("uphill", False) and least_squares
    damping = NielsenDamping(options["mu"])
    scale = np.zeros(net.n_params)
    last_velocity = None  # D v of the last step taken (for the uphill test)
    lowest = (E, w, 0)    # E, weights, iteration where E was lowest: uphill steps can leave it
    for iteration in range(1, max_iter + 1):
        if recorder.grad_norm[-1] <= grad_tol:
            return w, None, None
        system, scale, cosine = build_system(problem, w, method, g, scale)
        if cosine is not None and cosine <= options["gtol"]:
            return w, (f"gtol: max_j |cos(e, J_j)| = {cosine:.3g} <= gtol = "
                       f"{options['gtol']:g} (e is orthogonal to the columns of J)"), "gtol"
        while True:
            mu = damping.mu
            if method == "newton" and not system.positive_definite(mu):
                recorder.trials.append(Trial(iteration, mu, np.nan, np.nan, False))
                damping.update(-np.inf)  # H + mu c I is indefinite: damp more, as a rejection
                continue
            p, predicted = system.solve(mu)
            v = p  # the Levenberg-Marquardt step (the velocity, before any acceleration)
            scaled, size = np.linalg.norm(system.d * p), np.linalg.norm(system.d * w)
            if scaled <= max(options["xtol"], eps) * (size + options["xtol"]):
                return w, (f"xtol: the scaled step ||D p|| = {scaled:.3g} <= xtol "
                           f"(||D w|| + xtol) with xtol = {max(options['xtol'], eps):g}: the "
                           "weights have settled"), "xtol"
            ratio = np.nan
            if geodesic:
                ratio, a = _acceleration(problem, system, w, p, mu, scaled)
                if ratio <= ACCELERATION_LIMIT:  # else the correction is not small: plain step
                    p = p + a / 2
            E_trial = problem.value(w + p)
            actual = E - E_trial
            gain = actual / predicted if predicted > 0 else -np.inf
            accepted = damping.update(gain)
            uphill = (not accepted and uphill_allowed
                      and is_uphill_step(system.d * v, last_velocity, E, E_trial))
            if uphill:  # taken with mu as it was
                accepted, damping.mu, damping.nu = True, mu, 2.0
            elif not accepted:  # MINPACK's cut of the step bound, in place of Nielsen's mu * nu
                damping.mu = damping_for_length(system, mu, _cut(g @ v, E, E_trial) * scaled)
            recorder.trials.append(Trial(iteration, mu, float(E_trial), float(gain), accepted,
                                         ratio, uphill))
            E_before = E
            if accepted:
                last_velocity = system.d * v
                w, E, g = _accept(problem, recorder, w, w + p, E_trial, mu)
                if E < lowest[0]:
                    lowest = (E, w, iteration)
            tol = max(options["ftol"], eps)
            if abs(actual) <= tol * E_before and predicted <= tol * E_before and gain <= 2:
                return w, (f"ftol: the actual and predicted reductions of E, {actual:.3g} and "
                           f"{predicted:.3g}, are both <= ftol E with ftol = {tol:g}"), "ftol"
            if accepted:
                break
    if lowest[0] < E:   # the last steps went uphill: the run ends where E was lowest
        E_lowest, w_lowest, at = lowest
        recorder.returned_loss, recorder.last_weights = E_lowest, w
        return w_lowest, (f"max_iter = {max_iter} reached; E was lowest at iteration {at} "
                          f"({E_lowest:.6g}, against {E:.6g} after the last, uphill, steps): "
                          "the weights returned are that iteration's"), "max_iter"
    return w, None, None


def is_uphill_step(velocity, last_velocity, E, E_trial):
    """Transtrum & Sethna's test for taking a step that raised E (scaled velocities D v).

    True when (1 - cos beta)^UPHILL_POWER E_trial <= E, beta the angle between the two
    velocities, and E_trial <= UPHILL_LIMIT E: the step goes on the way the run is going
    and overshoots little. Never true for the first step or a non-finite E_trial.

    Examples
    --------
    >>> is_uphill_step(np.array([1.0, 0.1]), np.array([1.0, 0.0]), 1.0, 1.05)
    True
    >>> is_uphill_step(np.array([0.0, 1.0]), np.array([1.0, 0.0]), 1.0, 1.05)  # a turn
    False
    >>> is_uphill_step(np.array([1.0, 0.0]), np.array([1.0, 0.0]), 1.0, 1.2)   # too far up
    False
    """
    if last_velocity is None or not (np.isfinite(E_trial) and E_trial <= UPHILL_LIMIT * E):
        return False
    norms = np.linalg.norm(velocity) * np.linalg.norm(last_velocity)
    if not norms > 0:
        return False
    cosine = float(velocity @ last_velocity) / norms
    return bool((1.0 - cosine) ** UPHILL_POWER * E_trial <= E)


def _cut(slope, E, E_trial):
    """MINPACK's factor for the next step bound after a step that did not lower E (lmder).

    The parabola through E at t = 0 (value E, slope dE/dt = g^T v) and at t = 1 (E_trial)
    along the step v has its minimum at t* = -slope / (2 (E_trial - E - slope)); the next
    step is t* times as long, t* clipped to [0.1, 0.5] (0.1 when E_trial >= 100 E or is not
    finite). A step that did not lower E gives t* <= 1/2.
    """
    rise = E_trial - E - slope          # the t^2 coefficient of the parabola
    if not (np.isfinite(E_trial) and E_trial < 100 * E and rise > 0):
        return 0.1
    return min(max(-slope / (2 * rise), 0.1), 0.5)


def damping_for_length(system, mu, length):
    """The damping mu' >= mu whose scaled step has ||D p(mu')|| = length (to 1e-12 relative).

    ||D p(mu)|| = ||c / (lambda + mu)|| (``DampedSystem``) falls monotonically as mu grows,
    so the root is bracketed and found by bisection on log mu. (MINPACK's lmpar finds the
    same mu for its step bound; here it is used after a rejection.)

    Examples
    --------
    >>> from symnet.train.optimizers import DampedSystem
    >>> system = DampedSystem(np.ones(2), jacobian=np.eye(2), residuals=np.array([1.0, 1.0]))
    >>> # ||p(mu)|| = sqrt(2) / (1 + mu): half of its length at mu = 0 needs mu = 1
    >>> round(damping_for_length(system, 0.0, np.sqrt(2) / 2), 9)
    1.0
    """
    def too_long(m):
        return np.linalg.norm(system.c / (system.eigenvalues + m)) > length
    low = mu
    high = max(2 * mu, np.linalg.norm(system.c) / length, np.finfo(float).tiny)
    while too_long(high):
        low, high = high, 2 * high
    if low <= 0:  # the bisection is on log mu: start from a tiny positive mu
        low = high * np.finfo(float).eps
        if not too_long(low):
            return float(low)
    while high > low * (1 + 1e-12):
        middle = np.sqrt(low * high)
        if middle <= low or middle >= high:
            break
        low, high = (middle, high) if too_long(middle) else (low, middle)
    return float(high)


def _acceleration(problem, system, w, v, mu, scaled):
    """(2 ||D a|| / ||D v||, a) for the velocity v; (nan, None) when r_vv overflows."""
    with np.errstate(over="raise", invalid="raise"):
        try:
            r_vv = output_second_directional(problem.net, problem.X, w, v).ravel()
            a = system.solve_residuals(mu, r_vv)
            return float(2 * np.linalg.norm(system.d * a) / scaled), a
        except FloatingPointError:  # a huge trial step: take it plain, E will judge it
            return np.nan, None


def _accept(problem, recorder, w, w_new, E_new, mu):
    """Record an accepted step; (new weights, E, gradient)."""
    g_new = problem.gradient(w_new)
    norm, layers = problem.norms(g_new)
    recorder.add(w, w_new, E_new, norm, layers, mu)
    return w_new, E_new, g_new
