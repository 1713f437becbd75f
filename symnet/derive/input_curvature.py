"""Second derivatives of the outputs with respect to the inputs, d^2 y_k / dx_i dx_m.

``input_hessian`` derives them by a second-order forward recursion (the first
and second derivatives of every a_j^(l) with respect to the inputs, layer by
layer; see ``InputHessian``) and evaluates them on batches with NumPy or JAX. For a
Network or RNN it is forward mode along each input over the backpropagated input
Jacobian (``symnet.derive.layered_curvature.input_hessian``).
"""

from functools import cached_property

import numpy as np
import sympy as sp

from ..compiled import matrix_form as engine
from ..compiled.backends import ops_for
from .._size import check_expansion, check_input_hessian
from .first_order import _named, hidden_derivative, hidden_second_derivative, output_block
from .derivation import Derivation
from . import layered_curvature, layered_derivations as layered

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


class InputHessian(Derivation):
    """d^2 y_k / dx_i dx_m (K x D x D per sample) by a second-order forward recursion.

    A ``Derivation`` of kind ``"input_hessian"`` (``symnet.derive.derivation.KINDS``):
    ``named``, ``definitions``, ``evaluate``, ``latex()`` and ``symnet.check`` work
    as for every derivation.

    With A'_ji = da_j^(l)/dx_i and A''_jim = d^2 a_j^(l)/dx_i dx_m:

        A'^(1) = W^(1),  A''^(1) = 0
        A'_ji^(l)  = sum_p w_jp^(l) h'(a_p^(l-1)) A'_pi^(l-1)
        A''_jim^(l) = sum_p w_jp^(l) [h''(a_p) A'_pi A'_pm + h'(a_p) A''_pim]^(l-1)
        d^2 y_k/dx_i dx_m = h''(a_k^(L)) A'_ki A'_km + h'(a_k^(L)) A''_kim
        (softmax: sum_p dy_k/da_p A''_pim + sum_pq d^2 y_k/da_p da_q A'_pi A'_qm)

    ``named`` is a sympy Array of shape (K, D, D); ``evaluate(X, w)`` returns (N, K, D, D).

    Examples
    --------
    >>> import symnet
    >>> H = input_hessian(symnet.MLP([1, 1], output="tanh"))   # y = tanh(w x + b)
    >>> H.kind, H.named[0, 0, 0]                               # tanh'' = -2 y (1 - y^2)
    ('input_hessian', -w_11^(1)**2*y_1*(2 - 2*y_1**2))
    """

    def __init__(self, net):
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
        named = sp.ImmutableDenseNDimArray(
            [[[entry(k, i, m) for m in range(D)] for i in range(D)] for k in range(K)])
        super().__init__("input_hessian", net, named, definitions,
                         rows=[y.name for y in net.layer_values(L)],
                         columns=[x.name for x in net.inputs], evaluator=self._values,
                         method="forward")

    def __repr__(self):
        return f"<InputHessian {self.named.shape} of {self.net!r}>"

    @cached_property
    def substitution(self):
        """Every named symbol -> its expression in x, w, b, with softmax outputs as exponentials.

        (The other derivations write softmax outputs as the ``softmax`` function; the
        input Hessian keeps the exponential form it has always been expanded in.)
        """
        check_expansion(self.net, len(self.entries))
        return self.net.substitute(self.definitions)

    def evaluate(self, X, w, T=None):
        """d^2 y_k/dx_i dx_m at every sample: (N, K, D, D), or (K, D, D) for X of shape (D,).

        T is not needed (the outputs do not depend on the targets) and is ignored.

        Examples
        --------
        >>> import symnet
        >>> net = symnet.MLP([2, 1], output="tanh")          # y = tanh(x_1 + 2 x_2) here
        >>> # d^2y/dx_i dx_m = tanh''(a) c_i c_m with c = (1, 2); tanh''(0) = 0, so at x = 0:
        >>> input_hessian(net).evaluate([0.0, 0.0], [1.0, 2.0, 0.0])
        array([[[0., 0.],
                [0., 0.]]])
        """
        return super().evaluate(X, w, T)

    def _values(self, X, w, T):
        net, D = self.net, self.net.sizes[0]
        ops = ops_for(X)
        # The recursion holds (chunk, n_l, D, D) tensors: cut the samples into chunks
        # (under jax.jit a few large ones, joined: JAX arrays are written by no one).
        parts = engine.sample_chunks(net, X.shape[0], D * D, ops.max_chunks)
        if ops.xp is not np:
            return ops.xp.concatenate([_input_hessian_values(net, X[part], w) for part in parts])
        result = np.empty((X.shape[0], net.sizes[-1], D, D))
        for part in parts:
            result[part] = _input_hessian_values(net, X[part], w)
        return result


def _input_hessian_values(net, X, w):
    """(N, K, D, D) by the forward recursion of ``InputHessian``, layer by layer on arrays.

    first[n, j, i] = da_j/dx_i and second[n, j, i, m] = d^2 a_j/dx_i dx_m; a layer's map
    z = h(a) turns them into dz/dx = S first, d^2 z/dx^2 = S second + T(first, first)
    with S = dz/da and T = d^2 z/da^2: diagonal h', h'' for elementwise layers, the
    output blocks of ``symnet.compiled.matrix_form`` for a softmax output.
    """
    L, xp = net.n_layers, ops_for(X).xp   # NumPy, or JAX traced under jax.jit
    A, Z = engine.forward_pass(net, X, w)
    dh, d2h = engine.layer_derivatives(net, A, Z, second=True)
    W1 = net._layer_arrays(w, 1)[0]
    first = xp.broadcast_to(W1, (X.shape[0],) + W1.shape)
    second = xp.zeros(first.shape + (X.shape[1],))
    for l in range(1, L + 1):
        if l > 1:  # a^(l) = W^(l) z^(l-1) + b^(l): linear in the z
            W = net._layer_arrays(w, l)[0]
            first = xp.einsum("jp,npi->nji", W, z_first)
            second = xp.einsum("jp,npim->njim", W, z_second)
        if net.activations[l - 1].elementwise:
            z_first = dh[l][:, :, None] * first
            z_second = (d2h[l][:, :, None, None] * first[:, :, :, None] * first[:, :, None, :]
                        + dh[l][:, :, None, None] * second)
        else:  # softmax output: sum_p S_kp A''_pim + sum_pq T_kpq A'_pi A'_qm
            S = engine.output_block(net, A[l], Z[l], dh[l])
            T = engine.output_curvature(net, Z[l], d2h[l])
            z_second = (xp.einsum("nkp,npim->nkim", S, second)
                        + xp.einsum("nkpq,npi,nqm->nkim", T, first, first))
    return z_second


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
    if layered.is_layered(net):  # a Network or RNN: forward mode over its input Jacobian
        return layered_curvature.input_hessian(net)
    return InputHessian(net)
