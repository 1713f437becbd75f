"""Difference schemes for ``symnet.check``, each evaluated in batched forward passes.

``PointFunction`` is the function a derivation differentiates (its
``derivation.function``), evaluated at a stack of points: the network outputs
y, the error E, or an exact first derivative (the gradient for Hessians and
Hessian-vector products, the input Jacobian for the input Hessian).
``FirstOrder`` forms symmetric first differences (f(v + c h u_j) - f(v - c h u_j)) / 2ch
for every direction u_j (the variables e_j, or given directions such as the v of
a Hessian-vector product) and every multiplier c, or complex steps
Im f(v + i h u_j) / h; ``SecondDifference`` forms four-point second differences

    Q_ab ~ [f(++) - f(+-) - f(-+) + f(--)] / (4 c^2 s_a s_b),   (+-) = v + c u_a - c u_b,

for pairs of displacements u_a = s_a e_a, u_b (two parameters: H_ab; a parameter and
a direction s_b v_b: (H v_b)_a; two input columns of every sample: d^2 y / dx_a dx_b).

Each quotient comes with a bound on its round-off error: the function values
carry a rounding error of about kappa eps S, where S is the size of the terms
summed to form them (|Z^(L-1)| |W^(L)|^T + |b^(L)| and |y| for the outputs,
sum (|a^(L)| + |y| + |t|)^2 and |E| for the error) and kappa = 4 (L + 2) allows a
few roundings per layer; a first difference divides it by c h, a second one by
c^2 h_i h_j.

Examples
--------
>>> import numpy as np, symnet
>>> net = symnet.MLP([2, 2, 1], hidden="tanh")
>>> J = symnet.param_jacobian(net)
>>> w = net.init_params(seed=0)
>>> function = PointFunction(J, np.array([[0.3, -0.2]]), w, None)
>>> scheme = FirstOrder(function, np.full(net.n_params, 1e-5), "function", wrt_inputs=False)
>>> q = scheme.quotients([1.0])
>>> q.quotients[0].shape              # (directions W, N, K)
(9, 1, 1)
>>> bool(np.allclose(q.quotients[0][:, 0, 0], J.evaluate([0.3, -0.2], w)[0], atol=1e-9))
True
"""

from dataclasses import dataclass

import numpy as np

from ..compiled import matrix_form as engine
from ..derive.derivation import Derivation
from ..derive.first_order import gradient, input_jacobian
from ..derive.layered_derivations import is_layered
from .differences import EPS
from .perturbed import CHUNK_ELEMENTS, crossed_kinks, stacked_forward

__all__ = ["PointFunction", "FirstOrder", "SecondDifference", "Quotients"]


class PointFunction:
    """``derivation.function`` at a stack of points, batched; with what a check needs at the centre."""

    def __init__(self, derivation, X, w, T):
        self.derivation, self.net, self.loss = derivation, derivation.net, derivation.loss
        self.X, self.w, self.T = X, w, T
        self.notes = []
        self._first = {}   # a Network's exact first derivatives, derived once per check
        A, Z = stacked_forward(self.net, X, w)
        self.centre_pre_activations, self._centre_values = A, Z
        # The batched route must reproduce the declared function; a derivation
        # that declares another function is evaluated point by point instead.
        self.batched = _is_standard(derivation)
        if self.batched:
            declared = np.asarray(derivation.function(X, w, T))
            here = self._from_forward("function", A, Z, w)
            if not np.allclose(here, declared, rtol=1e-12, atol=0):
                self.batched = False
        if not self.batched:
            self.notes.append("the derivation declares its own function; it is evaluated "
                              "point by point (slower)")

    @property
    def n_layers(self):
        return self.net.n_layers

    def _from_forward(self, target, A, Z, w):
        if target == "jacobian":   # what B differentiates in the Gauss-Newton matrix
            return Z[-1] if self.loss.jacobian_of == "y" else A[-1]
        if self.loss is None:
            return Z[-1]
        # E with the weight decay at w: one value, or (P,) for a stack of P points in one
        # call (A[-1] (P, N, K), w (P, W) or (W,)), not one call per point
        return np.asarray(self.loss.value(A[-1], Z[-1], self.T, w))

    def exact(self, target, X, w):
        """The exact first derivative ``target`` (a key of ``EXACT_FIRST``) at one point."""
        if is_layered(self.net):   # no matrix form: the derivation's compiled named form
            if target not in self._first:
                self._first[target] = LAYERED_FIRST[target](self.net, self.loss)
            return self._first[target].evaluate(X, w, self.T)
        return EXACT_FIRST[target](self.net, self.loss, X, w, self.T)

    def values(self, target, X=None, w=None):
        """F at a stack of points (X (P, N, D) or w (P, W)), and the pre-activations there."""
        X = self.X if X is None else X
        w = self.w if w is None else w
        A, Z = stacked_forward(self.net, X, w)
        P = A[-1].shape[0]
        Xs, ws = np.broadcast_to(X, (P,) + self.X.shape), np.broadcast_to(w, (P,) + self.w.shape)
        if target in EXACT_FIRST:
            F = np.array([self.exact(target, x, v) for x, v in zip(Xs, ws)])
        elif self.batched or target == "jacobian":
            F = self._from_forward(target, A, Z, w)
        else:
            F = np.array([np.asarray(self.derivation.function(x, v, self.T))
                          for x, v in zip(Xs, ws)])
        return F, A

    def centre(self, target):
        """F at the centre point."""
        if target in EXACT_FIRST:
            return self.exact(target, self.X, self.w)
        if target == "function" and not self.batched:
            return np.asarray(self.derivation.function(self.X, self.w, self.T))
        return self._from_forward(target, self.centre_pre_activations, self._centre_values,
                                  self.w)

    def term_scale(self, target):
        """S, the size of the terms summed to form F (broadcastable to F's shape)."""
        A, Z = self.centre_pre_activations, self._centre_values
        L = self.n_layers
        if is_layered(self.net):
            # a^(L) is a sum of products w z (+ b) of any stage kind: the same stage run on
            # |z| and |w| gives sum |w| |z| + |b|, the size of the terms summed
            terms = self.net.stages[L - 1].compute([np.abs(z) for z in Z[:L]], np.abs(self.w))
        else:
            w_cols, b_cols = self.net.layer_slices(L)
            W = np.abs(self.w[w_cols]).reshape(self.net.sizes[L], self.net.sizes[L - 1])
            terms = np.abs(Z[L - 1]) @ W.T + np.abs(self.w[b_cols])
        if target in EXACT_FIRST:
            return np.max(np.abs(self.centre(target)))
        if target == "jacobian" or self.loss is None:
            return terms + np.abs(Z[L])
        size = np.abs(A[L]) + np.abs(Z[L]) + np.abs(self.T)
        return float(np.sum(size ** 2)) + float(self.loss.penalty(self.w))  # + lam/2 ||w||^2

    def gauss_newton_weights(self):
        """Lambda_n (N, K, K) at the centre."""
        return self.loss.gauss_newton_weights(self._centre_values[-1], self.T,
                                              self.centre_pre_activations[-1])


# The exact first derivatives a second derivative's check differences, by the name of
# their kind (``DerivationKind.first_derivative``): (net, loss, X, w, T) -> values.
EXACT_FIRST = {
    "gradient": lambda net, loss, X, w, T: engine.gradient_values(net, loss, X, w, T),
    "input_jacobian": lambda net, loss, X, w, T: engine.input_jacobian_values(net, X, w),
}


# The same for a Network or RNN: the derivations, evaluated from their named form.
LAYERED_FIRST = {
    "gradient": lambda net, loss: gradient(net, loss),
    "input_jacobian": lambda net, loss: input_jacobian(net),
}


def _is_standard(derivation):
    """True when ``derivation.function`` is the network's own (outputs or E)."""
    return getattr(derivation.function, "__func__", None) is Derivation.function


@dataclass
class Quotients:
    """Difference quotients per multiplier, their round-off bounds, and kink crossings."""

    quotients: list
    noise: list
    crossed: np.ndarray
    left: np.ndarray
    right: np.ndarray


class FirstOrder:
    """Symmetric first differences (or complex steps) along every variable, batched.

    ``steps`` has the shape of the variables: (W,) for parameters, (N, D) for
    inputs. Directions are the parameters, or the input columns (column i of
    every sample is moved at once: samples do not interact), or the rows of
    ``directions`` (P, W) in parameter space, with one step each (``steps`` (P,)).
    Quotients have shape (directions, *F's shape).
    """

    def __init__(self, function, steps, target, wrt_inputs, directions=None):
        self.function, self.steps, self.target = function, np.asarray(steps), target
        self.wrt_inputs = wrt_inputs
        self.directions = None if directions is None else np.asarray(directions, dtype=float)
        self.rounding_factor = 4 * (function.n_layers + 2)
        self.crossed_units = {}

    @property
    def n_directions(self):
        return self.steps.shape[-1]

    def _step_shape(self, F_shape):
        """Steps broadcast against quotients of shape (directions, *F_shape)."""
        if self.wrt_inputs:   # (N, D) -> (D, N, 1, ...)
            return self.steps.T.reshape(self.steps.T.shape + (1,) * (len(F_shape) - 1))
        return self.steps.reshape((-1,) + (1,) * len(F_shape))

    def _evaluate(self, multipliers):
        """F at v + c h_j u_j for every multiplier c and direction j: (M, directions, *F)."""
        f, M, n = self.function, len(multipliers), self.n_directions
        c = np.asarray(multipliers)
        per_point = (f.X.size if self.wrt_inputs else f.w.size) + f.X.shape[0] * sum(
            f.net.sizes) * 2
        chunk = max(1, CHUNK_ELEMENTS // (M * per_point))
        values, crossed = [], []
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            dirs = np.arange(stop - start)
            # Copies of the centre, then direction j's own variable moved by c h_j.
            if self.wrt_inputs:       # points (M, dirs, N, D): column j of every sample
                points = np.empty((M, stop - start) + f.X.shape, dtype=c.dtype)
                points[:] = f.X
                # (advanced indices split by a slice come first: the target is (dirs, M, N))
                points[:, dirs, :, start + dirs] += (c[None, :, None]
                                                     * self.steps.T[start:stop, None, :])
                F, A = f.values(self.target, X=points.reshape((-1,) + f.X.shape))
            else:                     # points (M, dirs, W)
                W = f.w.size
                points = np.empty((M, stop - start, W), dtype=c.dtype)
                points[:] = f.w
                if self.directions is None:
                    points[:, dirs, start + dirs] += c[:, None] * self.steps[None, start:stop]
                else:                 # w + c h_j u_j along the given directions
                    points += c[:, None, None] * (self.steps[start:stop, None]
                                                  * self.directions[start:stop])[None]
                F, A = f.values(self.target, w=points.reshape(-1, W))
            values.append(F.reshape((M, stop - start) + F.shape[1:]))
            flags, units = crossed_kinks(f.net, f.centre_pre_activations, A)
            crossed.append(flags.reshape(M, stop - start, -1).any(axis=0))
            for layer, mask in units.items():
                self.crossed_units[layer] = self.crossed_units.get(layer, False) | mask
        return np.concatenate(values, axis=1), np.concatenate(crossed, axis=0)

    def quotients(self, multipliers):
        """Quotients for each multiplier c (real: central differences; 1j: complex step)."""
        F0 = np.asarray(self.function.centre(self.target))
        if any(np.iscomplexobj(c) for c in multipliers):
            F, crossed = self._evaluate([1j])
            h = self._step_shape(F0.shape)
            nan = np.full(F.shape[1:], np.nan)
            return Quotients([F[0].imag / h], [np.zeros(F.shape[1:])], crossed, nan, nan)
        signed = [s * c for c in multipliers for s in (1.0, -1.0)]
        F, crossed = self._evaluate(signed)
        h = self._step_shape(F0.shape)
        scale = np.maximum(np.max(np.abs(F), axis=0), np.abs(F0)) + self.function.term_scale(
            self.target)
        rounding = self.rounding_factor * EPS * scale
        quotients = [(F[2 * k] - F[2 * k + 1]) / (2 * c * h) for k, c in enumerate(multipliers)]
        noise = [rounding / (c * h) for c in multipliers]
        left, right = self._one_sided(F, F0, h, list(multipliers))
        return Quotients(quotients, noise, crossed, left, right)

    @staticmethod
    def _one_sided(F, F0, h, multipliers):
        """Left and right derivatives from the points on each side (for kink entries).

        With the steps c h and 2 c h on one side, the second-order one-sided formula
        (-3 f(v) + 4 f(v + ch) - f(v + 2ch)) / 2ch; with one step, the first-order one.
        """
        c = min(multipliers)
        k = multipliers.index(c)
        if 2 * c in multipliers:
            k2 = multipliers.index(2 * c)
            right = (-3 * F0 + 4 * F[2 * k] - F[2 * k2]) / (2 * c * h)
            left = (3 * F0 - 4 * F[2 * k + 1] + F[2 * k2 + 1]) / (2 * c * h)
            return left, right
        return (F0 - F[2 * k + 1]) / (c * h), (F[2 * k] - F0) / (c * h)


class SecondDifference:
    """Four-point second differences of F for pairs of displacements, batched.

    Without ``directions``: every pair i <= j of variables, u_i = h_i e_i, giving a
    symmetric (n, n, *F) array (F is E for parameters; for inputs, column i of every
    sample is moved at once and F is the outputs (N, K), divided per sample by
    h_ni h_nj). With ``directions`` (P, W) and their ``direction_steps`` (P,): every
    parameter p against every direction v_b, u_b = r_b v_b, giving (W, P, *F), the
    entries (H v_b)_p.
    """

    def __init__(self, function, steps, *, wrt_inputs=False, directions=None,
                 direction_steps=None):
        self.function, self.steps = function, np.asarray(steps)
        self.wrt_inputs = wrt_inputs
        self.rounding_factor = 4 * (function.n_layers + 2)
        self.crossed_units = {}
        n = self.steps.shape[-1]
        self.rows = self._unit_displacements(self.steps)
        if directions is None:
            self.columns, self.pairs = self.rows, np.array(np.triu_indices(n))
        else:
            r = np.asarray(direction_steps, dtype=float)
            self.columns = (r[:, None] * np.asarray(directions, dtype=float),
                            r.reshape(-1, *([1] * (self.rows[1].ndim - 1))))
            self.pairs = np.array(np.meshgrid(np.arange(n), np.arange(len(r)),
                                              indexing="ij")).reshape(2, -1)
        self.symmetric = directions is None

    def _unit_displacements(self, steps):
        """(u_a (n, *variables), s_a broadcastable against F) for each variable a."""
        if self.wrt_inputs:    # steps (N, D): u_i moves column i of every sample by h_ni
            N, D = steps.shape
            u = np.zeros((D, N, D))
            u[np.arange(D), :, np.arange(D)] = steps.T
            return u, steps.T[:, :, None]            # (D, N, 1) against F (N, K)
        return np.diag(steps), steps

    def quotients(self, multipliers):
        f = self.function
        (U, s), (V, r) = self.rows, self.columns
        I, J = self.pairs
        signs = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)
        c = np.asarray(multipliers)
        centre = f.X if self.wrt_inputs else f.w
        per_point = centre.size + f.X.shape[0] * sum(f.net.sizes) * 2
        chunk = max(1, CHUNK_ELEMENTS // (4 * len(c) * per_point))
        F_all, crossed = [], []
        for start in range(0, len(I), chunk):
            i, j = I[start:start + chunk], J[start:start + chunk]
            # shift[m, sign, pair] = c_m (s1 u_i + s2 u_j)
            shift = (c[:, None, None, None] * signs[None, :, 0, None, None] * U[i].reshape(
                1, 1, len(i), -1) + c[:, None, None, None] * signs[None, :, 1, None, None]
                * V[j].reshape(1, 1, len(i), -1))
            points = (centre.reshape(1, 1, 1, -1) + shift).reshape((-1,) + centre.shape)
            F, A = (f.values("function", X=points) if self.wrt_inputs
                    else f.values("function", w=points))
            F_all.append(F.reshape((len(c), 4, len(i)) + F.shape[1:]))
            flags, units = crossed_kinks(f.net, f.centre_pre_activations, A)
            crossed.append(flags.reshape(len(c), 4, len(i), -1).any(axis=(0, 1, 3)))
            for layer, mask in units.items():
                self.crossed_units[layer] = self.crossed_units.get(layer, False) | mask
        F = np.concatenate(F_all, axis=2)
        scale = np.max(np.abs(F), axis=(0, 1, 2)) + f.term_scale("function")
        rounding = self.rounding_factor * EPS * scale
        shape = (len(U), len(V))
        quotients, noise = [], []
        for k, ck in enumerate(c):
            combined = F[k, 0] - F[k, 1] - F[k, 2] + F[k, 3]
            denominator = 4 * ck ** 2 * s[I] * r[J]
            quotients.append(self._placed(shape, combined / denominator))
            noise.append(self._placed(shape, 4 * rounding / denominator))
        flags = self._placed(shape, np.concatenate(crossed).astype(float)) > 0
        nan = np.full(quotients[0].shape, np.nan)
        return Quotients(quotients, noise, flags, nan, nan)

    def _placed(self, shape, values):
        """Values per pair -> an array (rows, columns, *F), mirrored when symmetric."""
        I, J = self.pairs
        out = np.zeros(shape + values.shape[1:])
        out[I, J] = values
        if self.symmetric:
            out[J, I] = values
        return out
