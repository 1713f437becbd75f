"""Error functions, symbolically and in stable NumPy, with their output deltas.

| loss          | output  | E_n                                   | delta_k^(L) = dE_n/da_k^(L)        |
|---------------|---------|---------------------------------------|------------------------------------|
| sse           | any h   | 1/2 sum_k (y_k - t_k)^2               | (y_k - t_k) h'(a_k)                |
| sse           | softmax | 1/2 sum_k (y_k - t_k)^2               | sum_m y_m (delta_mk - y_k) (y_m - t_m) |
| cross_entropy | sigmoid | -sum_k [t_k ln y_k + (1-t_k) ln(1-y_k)] | y_k - t_k                        |
| cross_entropy | softmax | -sum_k t_k ln y_k                     | y_k sum_m t_m - t_k                |

For linear outputs with sse, logistic outputs with cross-entropy and softmax with
one-hot (or any probability-vector) targets these are the canonical pairs of
Bishop (2024, sec. 5.4.3 and 8.1.3): delta_k^(L) = y_k - t_k. The softmax entry keeps
sum_m t_m so that it stays exact for targets that do not sum to one.

Numerically, every quantity is computed from the output pre-activations a, so that
y = 0 or 1 in floating point neither produces log(0) nor loses the digits of a
small loss, delta or curvature: cross-entropy is t softplus(-a) + (1 - t) softplus(a)
for logistic outputs and t_k (-log softmax_k(a)) for softmax; y - t, 1 - y and
y (1 - y) are formed by the kernels of ``symnet.numerics`` (sigma(a) - t =
(1 - t) sigma(a) - t sigma(-a), sigma'(a) = sigma(a) sigma(-a), 1 - y_k =
sum_{m != k} y_m), each accurate to a few ulps for |a| up to 700.
"""

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .errors import SymnetError
from .functions import softmax_jacobian_in
from .numerics import (binary_cross_entropy, neg_log_softmax, sigmoid_residual, sigmoid_slope,
                       softmax_centred, softmax_cross_entropy_delta, softmax_jacobian,
                       softmax_residual, tanh_residual)

__all__ = ["Loss", "get_loss", "LOSSES", "softmax_jacobian_derivative"]

LOSSES = ("sse", "cross_entropy")
_ALIASES = {"sum_of_squares": "sse", "mse": "sse", "ce": "cross_entropy",
            "crossentropy": "cross_entropy"}


@dataclass(frozen=True)
class Loss:
    """An error function bound to a network's output activation.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 3, 2], output="softmax")
    >>> loss = get_loss("cross_entropy", net)
    >>> loss.output_deltas(net)
    [-t_1 + y_1*(t_1 + t_2), -t_2 + y_2*(t_1 + t_2)]
    """

    name: str
    output: str  # the output activation's name

    # -- symbolic ------------------------------------------------------------
    def per_sample(self, net):
        """E_n in the named outputs y_k and targets t_k."""
        y, t = net.layer_values(net.n_layers), net.targets
        if self.name == "sse":
            return sp.Rational(1, 2) * sp.Add(*[(yk - tk) ** 2 for yk, tk in zip(y, t)])
        if self.output == "softmax":
            return -sp.Add(*[tk * sp.log(yk) for yk, tk in zip(y, t)])
        return -sp.Add(*[tk * sp.log(yk) + (1 - tk) * sp.log(1 - yk) for yk, tk in zip(y, t)])

    def output_deltas(self, net):
        """delta_k^(L) = dE_n/da_k^(L), written in y, t (and a^(L) where h' needs it)."""
        L = net.n_layers
        y, t, a = net.layer_values(L), net.targets, net.layer_pre_activations(L)
        act = net.activations[-1]
        if self.name == "cross_entropy":
            if self.output == "softmax":
                total = sp.Add(*t)
                return [yk * total - tk for yk, tk in zip(y, t)]
            return [yk - tk for yk, tk in zip(y, t)]
        if self.output == "softmax":  # delta_k = sum_m (dy_m/da_k) (y_m - t_m)
            J = softmax_jacobian_in(y, a)
            return [sp.Add(*[J[m, k] * (y[m] - t[m]) for m in range(len(y))])
                    for k in range(len(y))]
        return [(yk - tk) * act.derivative_at(ak).xreplace({act.function(ak): yk})
                for yk, tk, ak in zip(y, t, a)]

    # -- numeric ---------------------------------------------------------------
    # Every quantity is formed from the output pre-activations A (and the targets),
    # never by subtracting a rounded output from 1 or from its target: see the
    # kernels of symnet.numerics. A are (N, K), Y = h(A), T the targets.
    def value(self, A, Y, T):
        """E summed over samples, from output pre-activations A, outputs Y and targets T.

        Cross-entropy is t softplus(-a) + (1 - t) softplus(a) for logistic outputs and
        sum_k t_k (-log softmax_k(a)) for softmax, each accurate where it is tiny.
        """
        if self.name == "sse":
            return 0.5 * np.sum(self.residual(A, Y, T) ** 2)
        if self.output == "softmax":
            return np.sum(T * neg_log_softmax(A))
        return np.sum(binary_cross_entropy(A, T))

    def residual(self, A, Y, T):
        """dE_n/d out_k (N, K): y - t for sse (out = y), delta^(L) for cross-entropy (out = a).

        y - t keeps its digits for targets at an output's limits (t = 1 for a logistic
        output whose y rounds to 1; t = +-1 for tanh; one-hot t for softmax).
        """
        if self.name == "cross_entropy":
            return self.delta(A, Y, T, None)
        if self.output == "sigmoid":
            return sigmoid_residual(A, T)
        if self.output == "tanh":
            return tanh_residual(A, T)
        if self.output == "softmax":
            return softmax_residual(Y, T)
        return Y - T

    def delta(self, A, Y, T, dh):
        """Output deltas (N, K); ``dh`` is h'(A) for elementwise outputs."""
        if self.name == "cross_entropy":
            if self.output == "softmax":
                return softmax_cross_entropy_delta(Y, T)
            return sigmoid_residual(A, T)
        residual = self.residual(A, Y, T)
        if self.output == "softmax":  # delta = J^T (y - t), J the softmax Jacobian
            return np.einsum("nmk,nm->nk", softmax_jacobian(Y), residual)
        return residual * dh

    def r_delta(self, A, Y, T, dh, d2h, RA):
        """R{delta^(L)} (N, P, K) for directional derivatives RA = R{a^(L)} of shape (N, P, K)."""
        if self.output == "softmax":
            J = softmax_jacobian(Y)
            RY = np.einsum("nkm,npm->npk", J, RA)  # R{y} = J R{a}
            if self.name == "cross_entropy":
                return T.sum(axis=1)[:, None, None] * RY
            # delta = J r with r = y - t (J is symmetric): R{delta} = R{J} r + J R{y}.
            return softmax_jacobian_derivative(Y, self.residual(A, Y, T), RY) + \
                np.einsum("nkm,npm->npk", J, RY)
        if self.name == "cross_entropy":  # delta = sigma(a) - t: d delta/da = sigma'(a)
            return sigmoid_slope(A)[:, None, :] * RA
        curvature = dh ** 2 + self.residual(A, Y, T) * d2h  # d/da [(y - t) h'(a)]
        return curvature[:, None, :] * RA

    def gauss_newton_weights(self, Y, T, A=None):
        """Lambda_n of the Gauss-Newton term sum_n B_n^T Lambda_n B_n, shape (N, K, K).

        For sse B_n = dy/dw and Lambda = I; for cross-entropy B_n = da^(L)/dw and
        Lambda = d^2 E_n / da^(L)^2: sigma(a) sigma(-a) on the diagonal for logistic
        outputs (pass the pre-activations A: from Y alone, y (1 - y) is 0 wherever y
        rounds to 1), (diag(y) - y y^T) sum_m t_m for softmax.
        """
        N, K = Y.shape
        if self.name == "sse":
            return np.broadcast_to(np.eye(K), (N, K, K))
        if self.output == "softmax":
            return T.sum(axis=1)[:, None, None] * softmax_jacobian(Y)
        slope = Y * (1 - Y) if A is None else sigmoid_slope(A)
        return np.einsum("nk,kl->nkl", slope, np.eye(K))

    @property
    def jacobian_of(self):
        """What B_n in the Gauss-Newton term differentiates: outputs y or pre-activations a."""
        return "y" if self.name == "sse" else "a"


def softmax_jacobian_derivative(Y, r, RY):
    """R{J} r (N, P, K) for the softmax Jacobian J = diag(y) - y y^T, r (N, K) held fixed.

    R{J_km} = R{y_k} (delta_km - y_m) - y_k R{y_m}, so
    (R{J} r)_k = R{y_k} (r_k - sum_m y_m r_m) - y_k sum_m R{y_m} r_m, with the bracket
    formed by ``softmax_centred`` (no cancellation where y_k ~ 1).
    """
    centred = softmax_centred(Y, r)[:, None, :]
    return RY * centred - Y[:, None, :] * np.sum(RY * r[:, None, :], axis=2, keepdims=True)


def get_loss(name, net):
    """The ``Loss`` called ``name`` for ``net``'s output activation, or a clear error.

    Examples
    --------
    >>> import symnet
    >>> get_loss("cross_entropy", symnet.MLP([2, 2, 1]))
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: cross_entropy needs sigmoid outputs (binary) or softmax outputs (multi-class); this network's output is linear. Use loss='sse', or MLP(..., output='sigmoid' or 'softmax').
    """
    if isinstance(name, Loss):
        name = name.name
    if not isinstance(name, str):
        raise SymnetError(f"loss must be one of {', '.join(LOSSES)}; got {name!r}")
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in LOSSES:
        raise SymnetError(f"unknown loss {name!r}; known: {', '.join(LOSSES)}")
    output = net.activations[-1].name
    if key == "cross_entropy" and output not in ("sigmoid", "softmax"):
        raise SymnetError(
            "cross_entropy needs sigmoid outputs (binary) or softmax outputs (multi-class); "
            f"this network's output is {output}. Use loss='sse', or MLP(..., output='sigmoid' "
            "or 'softmax').")
    return Loss(key, output)
