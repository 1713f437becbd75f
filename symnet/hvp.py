"""Exact Hessian-vector products H v by Pearlmutter's R-operator, derived and evaluated.

The R-operator R{.} = d/dr (.)(w + r v) at r = 0 is applied to every quantity of the
forward and backward passes: R{a}, R{z} forward, R{delta} backward, and then
H v = R{dE_n/dw}. ``hessian_vector_product`` derives that recursion with symbols
v_p (named R{a_j^(l)}, R{z_j^(l)}, R{delta_j^(l)}) and evaluates it in O(W) per
sample with NumPy, without forming H. The same recursion, seeded differently,
gives the residual term of ``symnet.curvature``.

References: Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6 (1994); Schraudolph, "Fast curvature matrix-vector products for
second-order gradient descent", Neural Computation 14 (2002).
"""

from functools import cached_property

import numpy as np
import sympy as sp

from . import engine, rewriting
from ._size import check_entries, check_expansion
from ._validate import check_inputs, check_params, check_targets
from .backprop import _named, hidden_derivative, output_block, symbolic_deltas
from .errors import SymnetError
from .losses import get_loss

__all__ = ["hessian_vector_product", "HessianVectorProduct", "direction_symbol", "r_symbol"]


# -- Pearlmutter's R-operator, symbolically ------------------------------------------------
def hidden_second_derivative(net, layer, j):
    """h_l''(a_j^(l)), written in z_j^(l) where possible (ReLU's DiracDelta dropped: 0)."""
    act = net.activations[layer - 1]
    a = net.layer_pre_activations(layer)[j]
    value = act.second_derivative_at(a).xreplace({act.function(a): net.layer_values(layer)[j]})
    return value.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def _locations(net):
    """(layer, "w" or "b", j, i) of every parameter column, 0-based unit indices."""
    places = []
    for l in range(1, net.n_layers + 1):
        places += [(l, "w", j, i) for j in range(net.sizes[l]) for i in range(net.sizes[l - 1])]
        places += [(l, "b", j, None) for j in range(net.sizes[l])]
    return places


def seed_partials(net, seeds):
    """d seed_k / d a_m^(L) (K x K) through a^(L) and through y = h(a^(L)); other symbols fixed."""
    L, K = net.n_layers, net.sizes[-1]
    y, a = net.layer_values(L), net.layer_pre_activations(L)
    dy_da = output_block(net, "y")

    def partial(k, m):
        total = sp.diff(seeds[k], a[m]) + sp.Add(*[sp.diff(seeds[k], y[j]) * dy_da[j, m]
                                                  for j in range(K)])
        return total.replace(sp.DiracDelta, lambda *args: sp.S.Zero)
    return sp.Matrix(K, K, partial)


def r_operator(net, deltas, partials, direction, name=lambda kind, l, j, value: value):
    """R{.} = d/dr (.)(w + r v) at r = 0 of every quantity, and H v = R{dE_n/dw}.

    ``deltas`` {l: [delta_j^(l)]} and ``partials`` (d delta^(L)/d a^(L)) define the
    error; ``direction`` holds v in ``net.params`` order (symbols or numbers).
    ``name(kind, l, j, value)`` may replace a value by a named symbol.

        R{a_j^(l)} = sum_i w_ji R{z_i^(l-1)} + sum_i v_{w_ji} z_i^(l-1) + v_{b_j},  R{z^(0)} = 0
        R{z_j^(l)} = h'(a_j^(l)) R{a_j^(l)}
        R{delta_k^(L)} = sum_m (d delta_k^(L) / d a_m^(L)) R{a_m^(L)}
        R{delta_j^(l)} = h''(a_j) R{a_j} sum_k w_kj delta_k + h'(a_j) sum_k (w_kj R{delta_k} + v_{w_kj} delta_k)
        (H v)_{w_ji^(l)} = R{delta_j^(l)} z_i^(l-1) + delta_j^(l) R{z_i^(l-1)},  (H v)_{b_j^(l)} = R{delta_j^(l)}
    """
    L, sizes = net.n_layers, net.sizes
    v = dict(zip(net.params, direction))
    V = [None] + [net.weights[l - 1].applyfunc(lambda p: v[p]) for l in range(1, L + 1)]
    Vb = [None] + [[v[p] for p in net.biases[l - 1]] for l in range(1, L + 1)]
    R_a, R_z, R_delta = {}, {0: [sp.S.Zero] * sizes[0]}, {}
    for l in range(1, L + 1):
        W, previous = net.weights[l - 1], net.layer_values(l - 1)
        R_a[l] = [name("a", l, j, sp.Add(
            *[W[j, i] * R_z[l - 1][i] + V[l][j, i] * previous[i] for i in range(sizes[l - 1])],
            Vb[l][j])) for j in range(sizes[l])]
        if l < L:
            R_z[l] = [name("z", l, j, hidden_derivative(net, l, j) * R_a[l][j])
                      for j in range(sizes[l])]
    R_delta[L] = [name("delta", L, k, sp.Add(*[partials[k, m] * R_a[L][m] for m in range(sizes[L])]))
                  for k in range(sizes[L])]
    for l in range(L - 1, 0, -1):
        W_next, V_next = net.weights[l], V[l + 1]
        R_delta[l] = [name("delta", l, j, hidden_second_derivative(net, l, j) * R_a[l][j] * sp.Add(
            *[W_next[k, j] * deltas[l + 1][k] for k in range(sizes[l + 1])])
            + hidden_derivative(net, l, j) * sp.Add(
                *[W_next[k, j] * R_delta[l + 1][k] + V_next[k, j] * deltas[l + 1][k]
                  for k in range(sizes[l + 1])])) for j in range(sizes[l])]
    product = [R_delta[l][j] if kind == "b" else
               R_delta[l][j] * net.layer_values(l - 1)[i] + deltas[l][j] * R_z[l - 1][i]
               for l, kind, j, i in _locations(net)]
    return product, (R_a, R_z, R_delta)


# -- Hessian-vector products -------------------------------------------------------------
def direction_symbol(parameter):
    """v_p, the component of the direction v along parameter p, e.g. ``v_w_21^(2)``."""
    return sp.Symbol(f"v_{parameter.name}", real=True)


def r_symbol(kind, layer, j):
    """R{a_j^(l)}, R{z_j^(l)} or R{delta_j^(l)}: the derivative along v of that quantity."""
    return sp.Symbol(f"R{{{kind}_{j}^({layer})}}", real=True)


class HessianVectorProduct:
    """H v through Pearlmutter's R-operator: named recursion and O(W)-per-sample evaluation.

    Attributes
    ----------
    named : sympy.ImmutableMatrix
        W x 1: (H_n v)_p in delta_j^(l), z_i^(l-1), R{delta_j^(l)} and R{z_i^(l-1)}.
    definitions : dict
        delta_j^(l) first, then R{a_j^(l)}, R{z_j^(l)} (forward) and R{delta_j^(l)}
        (backward), in terms of the direction symbols ``direction``.
    direction : tuple of Symbol
        v_p for every parameter, in ``net.params`` order.
    rows : tuple of str
        Parameter names.
    """

    def __init__(self, net, loss):
        self.net, self.loss = net, get_loss(loss, net)
        check_entries("the Hessian-vector product", net.n_params, net.n_params)
        definitions = {}
        deltas = symbolic_deltas(net, self.loss, definitions)
        partials = seed_partials(net, self.loss.output_deltas(net))
        self.direction = tuple(direction_symbol(p) for p in net.params)

        def name(kind, layer, j, value):
            return _named(r_symbol(kind, layer, j + 1), value, definitions)
        product, _ = r_operator(net, deltas, partials, self.direction, name)
        self.named = sp.ImmutableMatrix(product)
        self.definitions = definitions
        self.rows = tuple(p.name for p in net.params)

    def __repr__(self):
        return f"<HessianVectorProduct of {self.net!r}, loss={self.loss.name!r}>"

    def _arrays(self, X, w, T, v):
        X, single = check_inputs(self.net, X, allow_complex=False)
        w = check_params(self.net, w)
        T = check_targets(self.net, T, X.shape[0], single)
        try:
            V = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise SymnetError(f"v must be an array of numbers; got {v!r}") from None
        W = self.net.n_params
        if V.shape[:1] != (W,) or V.ndim > 2 or not np.all(np.isfinite(V)):
            raise SymnetError(f"v must be finite with shape ({W},) or ({W}, P) (directions "
                              f"in net.params order); got shape {V.shape}")
        return X, w, T, V

    def evaluate(self, X, w, T, v):
        """sum_n H_n v (W,), or (W, P) for P directions v (W, P), without forming H.

        Examples
        --------
        >>> import symnet
        >>> net = symnet.MLP([1, 1])                        # y = w x + b, E = 1/2 (y - t)^2
        >>> hvp = hessian_vector_product(net, "sse")        # H = [[x^2, x], [x, 1]]
        >>> hvp.evaluate([[2.0]], [0.5, 0.1], [[0.0]], [1.0, -1.0])   # (4 - 2, 2 - 1)
        array([2., 1.])
        """
        X, w, T, V = self._arrays(X, w, T, v)
        if V.ndim == 1:
            return _hessian_vector_values(self.net, self.loss, X, w, T, V)
        return engine.hessian_vector_values(self.net, self.loss, X, w, T, V)

    def evaluate_named(self, X, w, T, v):
        """The same from the named recursion lambdified entry by entry (slow; the check route)."""
        X, w, T, V = self._arrays(X, w, T, v)
        if V.ndim != 1:
            raise SymnetError("evaluate_named takes one direction v of shape (W,)")
        values = dict(zip(self.net.inputs, X.T))
        values.update(zip(self.net.params, w))
        values.update(zip(self.net.targets, T.T))
        values.update(zip(self.direction, V))
        return np.array([entry.sum() for entry in self._named_function(values, X.shape[0])])

    @cached_property
    def _named_function(self):
        return rewriting.compile_named(self.net, self.definitions, list(self.named))

    @cached_property
    def matrix(self):
        """H_n v fully substituted into x, w, b, t and v (W x 1)."""
        check_expansion(self.net, self.net.n_params)
        return sp.ImmutableMatrix(self.named.xreplace(
            rewriting.substitution(self.net, self.definitions)))


def _hessian_vector_values(net, loss, X, w, T, v):
    """sum_n H_n v for one direction v (W,): the recursion above on (N, n_l) arrays.

    The same maths as ``symnet.engine.hessian_vector_values``, without its
    direction axis, so that one product costs a few gradients (see the benchmark).
    """
    L = net.n_layers
    A, Z = engine.forward_pass(net, X, w)
    dh, d2h = engine.layer_derivatives(net, A, Z, second=True)
    W = [None] + [net._layer_arrays(w, l)[0] for l in range(1, L + 1)]
    V = [None] + [net._layer_arrays(v, l) for l in range(1, L + 1)]
    deltas = [None] * (L + 1)
    deltas[L] = loss.delta(A[L], Z[L], T, dh[L])
    for l in range(L - 1, 0, -1):
        deltas[l] = dh[l] * (deltas[l + 1] @ W[l + 1])
    RA, RZ = [None] * (L + 1), [np.zeros_like(X)] + [None] * L
    for l in range(1, L + 1):  # R{a} = R{z} W^T + z V_W^T + V_b;  R{z} = h'(a) R{a}
        RA[l] = Z[l - 1] @ V[l][0].T + V[l][1] + (RZ[l - 1] @ W[l].T if l > 1 else 0)
        if l < L:
            RZ[l] = dh[l] * RA[l]
    RD = [None] * (L + 1)
    RD[L] = loss.r_delta(A[L], Z[L], T, dh[L], d2h[L], RA[L][:, None, :])[:, 0, :]
    for l in range(L - 1, 0, -1):
        RD[l] = (d2h[l] * RA[l] * (deltas[l + 1] @ W[l + 1])
                 + dh[l] * (RD[l + 1] @ W[l + 1] + deltas[l + 1] @ V[l + 1][0]))
    product = np.empty(net.n_params)
    for l in range(1, L + 1):  # R{dE/dW} = R{delta}^T z + delta^T R{z};  R{dE/db} = sum R{delta}
        w_cols, b_cols = net.layer_slices(l)
        product[w_cols] = (RD[l].T @ Z[l - 1] + deltas[l].T @ RZ[l - 1]).ravel()
        product[b_cols] = RD[l].sum(axis=0)
    return product


def hessian_vector_product(net, loss):
    """Exact Hessian-vector products H v by Pearlmutter's R-operator (see ``HessianVectorProduct``).

    Examples
    --------
    >>> import symnet
    >>> hvp = hessian_vector_product(symnet.MLP([1, 1, 1]), "sse")
    >>> hvp.definitions[r_symbol("a", 1, 1)]
    v_b_1^(1) + v_w_11^(1)*x_1
    >>> hvp.named[2]                                         # (H v) for w_11^(2)
    R{delta_1^(2)}*z_1^(1) + R{z_1^(1)}*delta_1^(2)
    """
    return HessianVectorProduct(net, loss)
