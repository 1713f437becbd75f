"""Error functions, symbolically and in stable NumPy, with their output deltas.

| loss          | output  | E_n                                   | delta_k^(L) = dE_n/da_k^(L)        |
|---------------|---------|---------------------------------------|------------------------------------|
| sse           | any h   | 1/2 sum_k (y_k - t_k)^2               | (y_k - t_k) h'(a_k)                |
| sse           | softmax | 1/2 sum_k (y_k - t_k)^2               | y_k ((y_k - t_k) - sum_m (y_m - t_m) y_m) |
| cross_entropy | sigmoid | -sum_k [t_k ln y_k + (1-t_k) ln(1-y_k)] | y_k - t_k                        |
| cross_entropy | softmax | -sum_k t_k ln y_k                     | y_k sum_m t_m - t_k                |

For linear outputs with sse, logistic outputs with cross-entropy and softmax with
one-hot (or any probability-vector) targets these are the canonical pairs of
Bishop (2024, sec. 5.4.3 and 8.1.3): delta_k^(L) = y_k - t_k. The softmax entry keeps
sum_m t_m so that it stays exact for targets that do not sum to one.

Numerically, cross-entropy is computed from the output pre-activations:
softplus(a) - t a for logistic outputs and t (logsumexp(a) - a) for softmax, so
y = 0 or 1 in floating point never produces log(0).
"""

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .errors import SymnetError
from .numerics import log_sum_exp, stable_softplus

__all__ = ["Loss", "get_loss", "LOSSES"]

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
        if self.output == "softmax":
            weighted = sp.Add(*[(ym - tm) * ym for ym, tm in zip(y, t)])
            return [yk * ((yk - tk) - weighted) for yk, tk in zip(y, t)]
        return [(yk - tk) * act.derivative_at(ak).xreplace({act.function(ak): yk})
                for yk, tk, ak in zip(y, t, a)]

    # -- numeric ---------------------------------------------------------------
    def value(self, A, Y, T):
        """E summed over samples, from output pre-activations A, outputs Y and targets T."""
        if self.name == "sse":
            return 0.5 * np.sum((Y - T) ** 2)
        if self.output == "softmax":
            return np.sum(T * (log_sum_exp(A, axis=1) - A))
        return np.sum(stable_softplus(A) - T * A)

    def delta(self, A, Y, T, dh):
        """Output deltas (N, K); ``dh`` is h'(A) for elementwise outputs."""
        if self.name == "cross_entropy":
            if self.output == "softmax":
                return Y * T.sum(axis=1, keepdims=True) - T
            return Y - T
        if self.output == "softmax":
            residual = Y - T
            return Y * (residual - np.sum(residual * Y, axis=1, keepdims=True))
        return (Y - T) * dh

    def r_delta(self, A, Y, T, dh, d2h, RA):
        """R{delta^(L)} (N, P, K) for directional derivatives RA = R{a^(L)} of shape (N, P, K)."""
        if self.output == "softmax":
            Yp = Y[:, None, :]
            RY = Yp * (RA - np.sum(Yp * RA, axis=2, keepdims=True))
            if self.name == "cross_entropy":
                return T.sum(axis=1)[:, None, None] * RY
            residual = (Y - T)[:, None, :]
            weighted = np.sum(residual * Yp, axis=2, keepdims=True)
            r_weighted = np.sum(RY * Yp + residual * RY, axis=2, keepdims=True)
            return RY * (residual - weighted) + Yp * (RY - r_weighted)
        if self.name == "cross_entropy":  # delta = y - t with y = sigma(a)
            return (Y * (1 - Y))[:, None, :] * RA
        curvature = dh ** 2 + (Y - T) * d2h  # d/da [(y - t) h'(a)]
        return curvature[:, None, :] * RA

    def gauss_newton_weights(self, Y, T):
        """Lambda_n of the Gauss-Newton term sum_n B_n^T Lambda_n B_n, shape (N, K, K).

        For sse B_n = dy/dw and Lambda = I; for cross-entropy B_n = da^(L)/dw and
        Lambda = d^2 E_n / da^(L)^2.
        """
        N, K = Y.shape
        if self.name == "sse":
            return np.broadcast_to(np.eye(K), (N, K, K))
        if self.output == "softmax":
            weights = np.einsum("nk,kl->nkl", Y, np.eye(K)) - Y[:, :, None] * Y[:, None, :]
            return T.sum(axis=1)[:, None, None] * weights
        return np.einsum("nk,kl->nkl", Y * (1 - Y), np.eye(K))

    @property
    def jacobian_of(self):
        """What B_n in the Gauss-Newton term differentiates: outputs y or pre-activations a."""
        return "y" if self.name == "sse" else "a"


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
