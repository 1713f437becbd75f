"""Second derivatives of the outputs with respect to the inputs, d^2 y_k / dx_i dx_m.

``input_hessian`` derives them by a second-order forward recursion (the first
and second derivatives of every a_j^(l) with respect to the inputs, layer by
layer; see ``InputHessian``) and evaluates them on batches with NumPy.
"""

from functools import cached_property

import numpy as np
import sympy as sp

from . import engine
from ._size import check_expansion, check_input_hessian
from ._validate import check_finite_result, check_inputs, check_params
from .backprop import _named, hidden_derivative, output_block
from .hvp import hidden_second_derivative
from .numerics import kronecker_minus_softmax

__all__ = ["input_hessian", "InputHessian", "input_tangent_symbol"]


def input_tangent_symbol(layer, j, i, m=None):
    """da_j^(l)/dx_i, or d2a_j^(l)/dx_idx_m with ``m``: the forward recursion's named quantities."""
    if m is None:
        return sp.Symbol(f"da_{j}^({layer})/dx_{i}", real=True)
    return sp.Symbol(f"d2a_{j}^({layer})/dx_{i}dx_{m}", real=True)


def _softmax_second(net):
    """d^2 y_k / da_p da_q (K x K x K nested lists) for softmax outputs, in y."""
    K, y = net.sizes[-1], net.layer_values(net.n_layers)
    S = output_block(net, "y")  # y_k (delta_kp - y_p)
    return [[[sp.Add(*[sp.diff(S[k, p], y[j]) * S[j, q] for j in range(K)]) for q in range(K)]
             for p in range(K)] for k in range(K)]


class InputHessian:
    """d^2 y_k / dx_i dx_m (K x D x D per sample) by a second-order forward recursion.

    With A'_ji = da_j^(l)/dx_i and A''_jim = d^2 a_j^(l)/dx_i dx_m:

        A'^(1) = W^(1),  A''^(1) = 0
        A'_ji^(l)  = sum_p w_jp^(l) h'(a_p^(l-1)) A'_pi^(l-1)
        A''_jim^(l) = sum_p w_jp^(l) [h''(a_p) A'_pi A'_pm + h'(a_p) A''_pim]^(l-1)
        d^2 y_k/dx_i dx_m = h''(a_k^(L)) A'_ki A'_km + h'(a_k^(L)) A''_kim
        (softmax: sum_p dy_k/da_p A''_pim + sum_pq d^2 y_k/da_p da_q A'_pi A'_qm)

    ``named`` is a sympy Array of shape (K, D, D); ``evaluate(X, w)`` returns (N, K, D, D).
    """

    def __init__(self, net):
        self.net = net
        L, D, sizes = net.n_layers, net.sizes[0], net.sizes
        check_input_hessian(net)  # refuse up front, with the time estimate, if too large
        definitions = {}
        first = [[net.weights[0][j, i] for i in range(D)] for j in range(sizes[1])]
        second = [[[sp.S.Zero] * D for _ in range(D)] for _ in range(sizes[1])]
        for l in range(2, L + 1):
            h1 = [hidden_derivative(net, l - 1, p) for p in range(sizes[l - 1])]
            h2 = [hidden_second_derivative(net, l - 1, p) for p in range(sizes[l - 1])]
            W = net.weights[l - 1]
            new_first = [[_named(input_tangent_symbol(l, j + 1, i + 1), sp.Add(
                *[W[j, p] * h1[p] * first[p][i] for p in range(sizes[l - 1])]), definitions)
                for i in range(D)] for j in range(sizes[l])]
            new_second = [[[None] * D for _ in range(D)] for _ in range(sizes[l])]
            for j in range(sizes[l]):
                for i in range(D):
                    for m in range(i, D):  # symmetric in (i, m): derive the upper triangle
                        value = sp.Add(*[W[j, p] * (h2[p] * first[p][i] * first[p][m]
                                                    + h1[p] * second[p][i][m])
                                         for p in range(sizes[l - 1])])
                        named = _named(input_tangent_symbol(l, j + 1, i + 1, m + 1), value,
                                       definitions)
                        new_second[j][i][m] = new_second[j][m][i] = named
            first, second = new_first, new_second
        K = sizes[-1]
        if net.activations[-1].elementwise:
            h1 = [hidden_derivative(net, L, k) for k in range(K)]
            h2 = [hidden_second_derivative(net, L, k) for k in range(K)]
            entry = lambda k, i, m: h2[k] * first[k][i] * first[k][m] + h1[k] * second[k][i][m]  # noqa: E731
        else:
            S, T = output_block(net, "y"), _softmax_second(net)
            entry = lambda k, i, m: sp.Add(*[S[k, p] * second[p][i][m] for p in range(K)]) + sp.Add(  # noqa: E731
                *[T[k][p][q] * first[p][i] * first[q][m] for p in range(K) for q in range(K)])
        self.named = sp.ImmutableDenseNDimArray(
            [[[entry(k, i, m) for m in range(D)] for i in range(D)] for k in range(K)])
        self.definitions = definitions

    def __repr__(self):
        return f"<InputHessian {self.named.shape} of {self.net!r}>"

    @cached_property
    def matrix(self):
        """The (K, D, D) array fully substituted into inputs and parameters."""
        check_expansion(self.net, len(self.named))
        full = self.net.substitute(self.definitions)
        return self.named.applyfunc(lambda e: e.xreplace(full))

    def evaluate(self, X, w):
        """d^2 y_k/dx_i dx_m at every sample: (N, K, D, D), or (K, D, D) for X of shape (D,).

        Examples
        --------
        >>> import symnet
        >>> net = symnet.MLP([2, 1], output="tanh")          # y = tanh(x_1 + 2 x_2) here
        >>> # d^2y/dx_i dx_m = tanh''(a) c_i c_m with c = (1, 2); tanh''(0) = 0, so at x = 0:
        >>> input_hessian(net).evaluate([0.0, 0.0], [1.0, 2.0, 0.0])
        array([[[0., 0.],
                [0., 0.]]])
        """
        X, single = check_inputs(self.net, X, allow_complex=False)
        w = check_params(self.net, w)
        net, D = self.net, self.net.sizes[0]
        result = np.empty((X.shape[0], net.sizes[-1], D, D))
        # The recursion holds (chunk, n_l, D, D) tensors: cut the samples into chunks.
        chunk = max(1, engine._CHUNK_ELEMENTS // (max(net.sizes) * D * D))
        for start in range(0, X.shape[0], chunk):
            part = slice(start, start + chunk)
            result[part] = _input_hessian_values(net, X[part], w)
        check_finite_result("the input Hessian d^2 y / dx^2", result)
        return result[0] if single else result


def _input_hessian_values(net, X, w):
    L = net.n_layers
    A, Z = engine.forward_pass(net, X, w)
    dh, d2h = engine.layer_derivatives(net, A, Z, second=True)
    W1 = net._layer_arrays(w, 1)[0]
    first = np.broadcast_to(W1, (X.shape[0],) + W1.shape)
    second = np.zeros(first.shape + (X.shape[1],))
    for l in range(2, L + 1):
        W = net._layer_arrays(w, l)[0]
        z_second = (d2h[l - 1][:, :, None, None] * first[:, :, :, None] * first[:, :, None, :]
                    + dh[l - 1][:, :, None, None] * second)
        first = np.einsum("jp,npi->nji", W, dh[l - 1][:, :, None] * first)
        second = np.einsum("jp,npim->njim", W, z_second)
    if net.activations[-1].elementwise:
        return (d2h[L][:, :, None, None] * first[:, :, :, None] * first[:, :, None, :]
                + dh[L][:, :, None, None] * second)
    Y = Z[L]
    E = kronecker_minus_softmax(Y)                                   # delta_kp - y_p, stable
    S = Y[:, :, None] * E                                            # dy_k/da_p
    T = (S[:, :, None, :] * E[:, :, :, None]                         # S_kq (delta_kp - y_p)
         - Y[:, :, None, None] * S[:, None, :, :])                   # - y_k S_pq
    return (np.einsum("nkp,npim->nkim", S, second)
            + np.einsum("nkpq,npi,nqm->nkim", T, first, first))


def input_hessian(net):
    """The Hessian of every output with respect to the inputs (see ``InputHessian``).

    Examples
    --------
    >>> import symnet
    >>> H = input_hessian(symnet.MLP([1, 1, 1], hidden="tanh"))
    >>> H.named[0, 0, 0]                                     # y = w_11^(2) z_1^(1) + b_1^(2)
    d2a_1^(2)/dx_1dx_1
    >>> H.definitions[input_tangent_symbol(2, 1, 1, 1)]     # w2 w1^2 tanh''(a), tanh'' = -2 z (1 - z^2)
    -w_11^(1)**2*w_11^(2)*z_1^(1)*(2 - 2*z_1^(1)**2)
    """
    return InputHessian(net)
