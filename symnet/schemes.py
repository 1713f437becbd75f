"""Difference schemes for ``symnet.check``, each evaluated in batched forward passes.

``PointFunction`` is the function a derivation differentiates (its
``derivation.function``), evaluated at a stack of points: the network outputs
y, the error E, or the exact gradient (for Hessians). ``FirstOrder`` forms
symmetric first differences (f(v + c h e_j) - f(v - c h e_j)) / 2ch for every
variable j and every multiplier c, or complex steps Im f(v + i h e_j) / h;
``SecondDifference`` forms the four-point second differences of E,

    H_ij ~ [E(++) - E(+-) - E(-+) + E(--)] / (4 c^2 h_i h_j),   (+-) = w + c h_i e_i - c h_j e_j.

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

from . import engine
from .derivation import Derivation
from .numdiff import EPS
from .perturbed import CHUNK_ELEMENTS, crossed_kinks, stacked_forward

__all__ = ["PointFunction", "FirstOrder", "SecondDifference", "Quotients"]


class PointFunction:
    """``derivation.function`` at a stack of points, batched; with what a check needs at the centre."""

    def __init__(self, derivation, X, w, T):
        self.derivation, self.net, self.loss = derivation, derivation.net, derivation.loss
        self.X, self.w, self.T = X, w, T
        self.notes = []
        A, Z = stacked_forward(self.net, X, w)
        self.centre_pre_activations, self._centre_values = A, Z
        # The batched route must reproduce the declared function; a derivation
        # that declares another function is evaluated point by point instead.
        self.batched = _is_standard(derivation)
        if self.batched:
            declared = np.asarray(derivation.function(X, w, T))
            here = self._from_forward("function", A, Z)
            if not np.allclose(here, declared, rtol=1e-12, atol=0):
                self.batched = False
        if not self.batched:
            self.notes.append("the derivation declares its own function; it is evaluated "
                              "point by point (slower)")

    @property
    def n_layers(self):
        return self.net.n_layers

    def _from_forward(self, target, A, Z):
        if target == "jacobian":   # what B differentiates in the Gauss-Newton matrix
            return Z[-1] if self.loss.jacobian_of == "y" else A[-1]
        if self.loss is None:
            return Z[-1]
        if A[-1].ndim == 2:
            return np.asarray(self.loss.value(A[-1], Z[-1], self.T))
        return np.array([self.loss.value(a, z, self.T) for a, z in zip(A[-1], Z[-1])])

    def values(self, target, X=None, w=None):
        """F at a stack of points (X (P, N, D) or w (P, W)), and the pre-activations there."""
        X = self.X if X is None else X
        w = self.w if w is None else w
        A, Z = stacked_forward(self.net, X, w)
        P = A[-1].shape[0]
        Xs, ws = np.broadcast_to(X, (P,) + self.X.shape), np.broadcast_to(w, (P,) + self.w.shape)
        if target == "gradient":
            F = np.array([engine.gradient_values(self.net, self.loss, x, v, self.T)
                          for x, v in zip(Xs, ws)])
        elif self.batched or target == "jacobian":
            F = self._from_forward(target, A, Z)
        else:
            F = np.array([np.asarray(self.derivation.function(x, v, self.T))
                          for x, v in zip(Xs, ws)])
        return F, A

    def centre(self, target):
        """F at the centre point."""
        if target == "gradient":
            return engine.gradient_values(self.net, self.loss, self.X, self.w, self.T)
        if target == "function" and not self.batched:
            return np.asarray(self.derivation.function(self.X, self.w, self.T))
        return self._from_forward(target, self.centre_pre_activations, self._centre_values)

    def term_scale(self, target):
        """S, the size of the terms summed to form F (broadcastable to F's shape)."""
        A, Z = self.centre_pre_activations, self._centre_values
        L = self.n_layers
        w_cols, b_cols = self.net.layer_slices(L)
        W = np.abs(self.w[w_cols]).reshape(self.net.sizes[L], self.net.sizes[L - 1])
        terms = np.abs(Z[L - 1]) @ W.T + np.abs(self.w[b_cols])
        if target == "gradient":
            return np.max(np.abs(self.centre(target)))
        if target == "jacobian" or self.loss is None:
            return terms + np.abs(Z[L])
        size = np.abs(A[L]) + np.abs(Z[L]) + np.abs(self.T)
        return float(np.sum(size ** 2))

    def gauss_newton_weights(self):
        """Lambda_n (N, K, K) at the centre."""
        return self.loss.gauss_newton_weights(self._centre_values[-1], self.T,
                                              self.centre_pre_activations[-1])


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
    every sample is moved at once: samples do not interact). Quotients have
    shape (directions, *F's shape).
    """

    def __init__(self, function, steps, target, wrt_inputs):
        self.function, self.steps, self.target = function, np.asarray(steps), target
        self.wrt_inputs = wrt_inputs
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
        """F at v + c h_j e_j for every multiplier c and direction j: (M, directions, *F)."""
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
                points = np.empty((M, stop - start, n), dtype=c.dtype)
                points[:] = f.w
                points[:, dirs, start + dirs] += c[:, None] * self.steps[None, start:stop]
                F, A = f.values(self.target, w=points.reshape(-1, n))
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
    """Four-point second differences of E for every pair i <= j, batched; results (W, W)."""

    def __init__(self, function, steps):
        self.function, self.steps = function, np.asarray(steps)
        self.rounding_factor = 4 * (function.n_layers + 2)
        self.crossed_units = {}
        self.pairs = np.array(np.triu_indices(len(self.steps)))

    def quotients(self, multipliers):
        f, W = self.function, len(self.steps)
        h, (I, J) = self.steps, self.pairs
        signs = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)
        c = np.asarray(multipliers)
        chunk = max(1, CHUNK_ELEMENTS // (4 * len(c) * (W + f.X.shape[0] * sum(f.net.sizes) * 2)))
        E, crossed = [], []
        for start in range(0, len(I), chunk):
            i, j = I[start:start + chunk], J[start:start + chunk]
            shift = np.zeros((len(c), 4, len(i), W))
            rows = np.arange(len(i))
            np.add.at(shift, (slice(None), slice(None), rows, i),
                      c[:, None, None] * signs[None, :, 0, None] * h[i])
            np.add.at(shift, (slice(None), slice(None), rows, j),
                      c[:, None, None] * signs[None, :, 1, None] * h[j])
            F, A = f.values("function", w=(f.w + shift).reshape(-1, W))
            E.append(F.reshape(len(c), 4, len(i)))
            flags, units = crossed_kinks(f.net, f.centre_pre_activations, A)
            crossed.append(flags.reshape(len(c), 4, len(i), -1).any(axis=(0, 1, 3)))
            for layer, mask in units.items():
                self.crossed_units[layer] = self.crossed_units.get(layer, False) | mask
        E = np.concatenate(E, axis=2)
        scale = np.max(np.abs(E)) + f.term_scale("function")
        rounding = self.rounding_factor * EPS * scale
        quotients, noise = [], []
        for k, ck in enumerate(c):
            combined = E[k, 0] - E[k, 1] - E[k, 2] + E[k, 3]
            denominator = 4 * ck ** 2 * h[I] * h[J]
            quotients.append(_symmetric(W, I, J, combined / denominator))
            noise.append(_symmetric(W, I, J, 4 * rounding / denominator))
        flags = _symmetric(W, I, J, np.concatenate(crossed).astype(float)) > 0
        nan = np.full((W, W), np.nan)
        return Quotients(quotients, noise, flags, nan, nan)


def _symmetric(W, I, J, values):
    out = np.zeros((W, W))
    out[I, J] = values
    out[J, I] = values
    return out
