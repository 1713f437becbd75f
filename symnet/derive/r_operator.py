"""Exact Hessian-vector products H v by Pearlmutter's R-operator, derived and evaluated.

The R-operator R{.} = d/dr (.)(w + r v) at r = 0 is applied to every quantity of the
forward and backward passes: R{a}, R{z} forward, R{delta} backward, and then
H v = R{dE_n/dw}. ``hessian_vector_product`` derives that recursion with symbols
v_p (named R{a_j^(l)}, R{z_j^(l)}, R{delta_j^(l)}) and evaluates it in O(W) per
sample with NumPy, without forming H. The same recursion, seeded differently,
gives the residual term of ``symnet.derive.curvature_terms``. A Network or RNN has no
layer-by-layer weight matrices: its H v is forward mode along v over its gradient's
named form (``symnet.derive.layered_curvature``).

References: Pearlmutter, "Fast exact multiplication by the Hessian", Neural
Computation 6 (1994); Schraudolph, "Fast curvature matrix-vector products for
second-order gradient descent", Neural Computation 14 (2002).
"""

import sympy as sp

from ..compiled import matrix_form as engine
from .._size import check_entries
from .first_order import (_named, _weighted_sum, hidden_derivative, hidden_second_derivative,
                       output_block, symbolic_deltas)
from .derivation import Derivation, evaluate_on
from ..compiled.backends import foreign_library
from ..graph.canonical import add, mul
from ..graph.losses import get_loss
from . import layered_derivations as layered
from .layered_curvature import DirectionalEntries, LayeredHessianVectorProduct

__all__ = ["hessian_vector_product", "HessianVectorProduct", "direction_symbol", "r_symbol"]


# -- Pearlmutter's R-operator, symbolically ------------------------------------------------
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


class LayerFactors:
    """h'(a_j^(l)), h''(a_j^(l)) and sum_k w_kj delta_k^(l+1) for l < L, built once.

    They do not depend on the direction: the exact Hessian runs ``r_operator`` along
    each of the W parameters and passes the same factors to every run.
    """

    def __init__(self, net, deltas):
        L = net.n_layers
        self.first = {l: [hidden_derivative(net, l, j) for j in range(net.sizes[l])]
                      for l in range(1, L)}
        self.second = {l: [hidden_second_derivative(net, l, j) for j in range(net.sizes[l])]
                       for l in range(1, L)}
        self.back = {l: [_weighted_sum(net, l, j, deltas[l + 1]) for j in range(net.sizes[l])]
                     for l in range(1, L)}


def _keep_value(kind, layer, j, value):
    return value


def _direction_parts(net, direction):
    """The non-zero components of v per layer, indexed as the recursion reads them.

    rows[l][j] = [(i, v_{w_ji})], columns[l][i] = [(j, v_{w_ji})], biases[l][j] = v_{b_j};
    ``lowest`` is the first layer v touches (R{a^(l)} = 0 below it).
    """
    items = direction.items() if isinstance(direction, dict) else enumerate(direction)
    rows, columns, biases = ({l: {} for l in range(1, net.n_layers + 1)} for _ in range(3))
    lowest = net.n_layers + 1
    for column, value in items:
        if value == 0:
            continue
        l, kind, j, i = net.param_location(column)
        lowest = min(lowest, l)
        if kind == "b":
            biases[l][j] = value
        else:
            rows[l].setdefault(j, []).append((i, value))
            columns[l].setdefault(i, []).append((j, value))
    return rows, columns, biases, lowest


def r_operator(net, deltas, partials, direction, name=None, factors=None, entries=None):
    """R{.} = d/dr (.)(w + r v) at r = 0 of every quantity, and H v = R{dE_n/dw}.

    The one entry-level R-operator: ``hessian_vector_product`` runs it along symbols
    v_p, the exact Hessian along each parameter (column q of H is v = e_q), the
    residual term of ``symnet.derive.curvature_terms`` on the pseudo-error's s_j^(l).

    Parameters
    ----------
    deltas : dict
        {l: [delta_j^(l)]} of the error (or s_j^(l) of the pseudo-error).
    partials : Matrix
        d delta_k^(L) / d a_m^(L) (K x K, ``seed_partials``).
    direction : sequence or dict
        v in ``net.params`` order (symbols or numbers), or {column: v_p} of its non-zero
        components; zero components add no terms, and R{a^(l)} = 0 below the
        lowest layer v touches.
    name : callable, optional
        ``name(kind, l, j, value)`` may replace a value by a named symbol.
    factors : LayerFactors, optional
        h', h'' and the back-sums, when the caller runs many directions.
    entries : int, optional
        Build only (H v)_p for p < ``entries`` (the recursion itself is whole): the exact
        Hessian takes column q's upper triangle, p <= q, and mirrors it.

    The recursion, forward then backward:

        R{a_j^(l)} = sum_i w_ji R{z_i^(l-1)} + sum_i v_{w_ji} z_i^(l-1) + v_{b_j},  R{z^(0)} = 0
        R{z_j^(l)} = h'(a_j^(l)) R{a_j^(l)}
        R{delta_k^(L)} = sum_m (d delta_k^(L) / d a_m^(L)) R{a_m^(L)}
        R{delta_j^(l)} = h''(a_j) R{a_j} sum_k w_kj delta_k + h'(a_j) sum_k (w_kj R{delta_k} + v_{w_kj} delta_k)
        (H v)_{w_ji^(l)} = R{delta_j^(l)} z_i^(l-1) + delta_j^(l) R{z_i^(l-1)},  (H v)_{b_j^(l)} = R{delta_j^(l)}

    Returns
    -------
    product, (R_a, R_z, R_delta)
        ``product`` lists (H_n v)_p in ``net.params`` order; the dicts hold each layer's terms.

    Examples
    --------
    >>> import symnet
    >>> from symnet.derive.first_order import symbolic_deltas
    >>> net = symnet.MLP([1, 1])                  # y = w x + b, E_n = 1/2 (y - t)^2
    >>> loss = symnet.get_loss("sse", net)
    >>> deltas = symbolic_deltas(net, loss, {})
    >>> partials = seed_partials(net, loss.output_deltas(net))
    >>> r_operator(net, deltas, partials, {0: 1})[0]    # column w of H = [[x^2, x], [x, 1]]
    [x_1**2, x_1]
    """
    L, sizes = net.n_layers, net.sizes
    name = name or _keep_value
    factors = factors or LayerFactors(net, deltas)
    rows, columns, biases, lowest = _direction_parts(net, direction)
    R_a, R_z, R_delta = {}, {0: [sp.S.Zero] * sizes[0]}, {}
    for l in range(1, L + 1):
        if l < lowest:  # nothing below the direction's lowest layer moves
            R_a[l] = [sp.S.Zero] * sizes[l]
        else:
            W, previous, below = net.weights[l - 1], net.layer_values(l - 1), R_z[l - 1]
            R_a[l] = [name("a", l, j, add(
                *[mul(W[j, i], below[i]) for i in range(sizes[l - 1]) if below[i] != 0],
                *[v * previous[i] for i, v in rows[l].get(j, ())], biases[l].get(j, sp.S.Zero)))
                for j in range(sizes[l])]
        if l < L:
            R_z[l] = [name("z", l, j, mul(factors.first[l][j], R_a[l][j]))  # h' 0 = 0 skipped
                      if R_a[l][j] != 0 else sp.S.Zero for j in range(sizes[l])]
    R_delta[L] = [name("delta", L, k, add(*[mul(partials[k, m], R_a[L][m])
                                            for m in range(sizes[L])
                                            if R_a[L][m] != 0 and partials[k, m] != 0]))
                  for k in range(sizes[L])]
    for l in range(L - 1, 0, -1):
        W_next, above = net.weights[l], R_delta[l + 1]
        values = []
        for j in range(sizes[l]):
            r_back = add(
                *[mul(W_next[k, j], above[k]) for k in range(sizes[l + 1]) if above[k] != 0],
                *[v * deltas[l + 1][k] for k, v in columns[l + 1].get(j, ())])
            curvature = (mul(mul(factors.second[l][j], R_a[l][j]), factors.back[l][j])
                         if R_a[l][j] != 0 else sp.S.Zero)
            values.append(name("delta", l, j, add(curvature, mul(factors.first[l][j], r_back))))
        R_delta[l] = values
    product = [R_delta[l][j] if kind == "b" else
               _entry(R_delta[l][j], net.layer_values(l - 1)[i], deltas[l][j], R_z[l - 1][i])
               for l, kind, j, i in net.param_locations[:entries]]
    return product, (R_a, R_z, R_delta)


def _entry(r_delta, z, delta, r_z):
    """(H v)_{w_ji} = R{delta_j} z_i + delta_j R{z_i}, leaving out a term that is 0."""
    first = mul(r_delta, z) if r_delta != 0 else sp.S.Zero
    second = mul(delta, r_z) if r_z != 0 else sp.S.Zero  # R{z_i} = 0 below v's lowest layer
    return add(first, second)


# -- Hessian-vector products -------------------------------------------------------------
def direction_symbol(parameter):
    """v_p, the component of the direction v along parameter p, e.g. ``v_w_21^(2)``."""
    return sp.Symbol(f"v_{parameter.name}", real=True)


def r_symbol(kind, layer, j):
    """R{a_j^(l)}, R{z_j^(l)} or R{delta_j^(l)}: the derivative along v of that quantity."""
    return sp.Symbol(f"R{{{kind}_{j}^({layer})}}", real=True)


class HessianVectorProduct(DirectionalEntries, Derivation):
    """H v through Pearlmutter's R-operator: a ``Derivation`` whose ``evaluate`` takes v.

    Kind ``"hessian_vector_product"`` (``symnet.derive.derivation.KINDS``): ``named``,
    ``definitions``, ``latex()``, ``matrix`` and ``symnet.check`` work as for every
    derivation; ``evaluate(X, w, T, v)`` and ``evaluate_entries(X, w, T, v)`` take the
    direction v after the targets.

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

    Examples
    --------
    >>> import symnet
    >>> hvp = hessian_vector_product(symnet.MLP([1, 1]), "sse")   # H = [[x^2, x], [x, 1]]
    >>> hvp.kind, hvp.named.T
    ('hessian_vector_product', Matrix([[R{delta_1^(1)}*x_1, R{delta_1^(1)}]]))
    >>> hvp.evaluate([[3.0]], [0.5, 0.1], [[0.0]], [1.0, 0.0])   # the first column: (9, 3)
    array([9., 3.])
    """

    def __init__(self, net, loss, weight_decay=None):
        loss = get_loss(loss, net, weight_decay)
        check_entries("the Hessian-vector product", net.n_params, net.n_params)
        definitions = {}
        deltas = symbolic_deltas(net, loss, definitions)
        partials = seed_partials(net, loss.output_deltas(net))
        self.direction = tuple(direction_symbol(p) for p in net.params)

        def name(kind, layer, j, value):
            return _named(r_symbol(kind, layer, j + 1), value, definitions)
        product, (R_a, R_z, R_delta) = r_operator(net, deltas, partials, self.direction, name)
        super().__init__(
            "hessian_vector_product", net, sp.Matrix(product), definitions,
            rows=[p.name for p in net.params], columns=["Hv"], loss=loss,
            evaluator=lambda X, w, T, V: engine.hessian_vector_values(net, loss, X, w, T, V),
            intermediates={"delta": {l: sp.Matrix(d) for l, d in deltas.items()},
                           "R": {"a": R_a, "z": R_z, "delta": R_delta}},
            method="r_operator")

    def __repr__(self):
        return f"<HessianVectorProduct of {self.net!r}, loss={self.loss.name!r}>"

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
        if foreign_library(X, w, T, v):  # JAX or Dask arrays (symnet.compiled.backends)
            return evaluate_on(self, X, w, T, self._directions(v))
        X, w, T, single = self._arrays(X, w, T)
        V = self._directions(v)
        return self._finished(self._evaluator(X, w, T, V), single)



def hessian_vector_product(net, loss, *, weight_decay=None):
    """Exact Hessian-vector products H v by Pearlmutter's R-operator (see ``HessianVectorProduct``).

    ``weight_decay`` lam (E = sum_n E_n + lam/2 ||w||^2) adds lam v to every product.

    Examples
    --------
    >>> import symnet
    >>> hvp = hessian_vector_product(symnet.MLP([1, 1, 1]), "sse")
    >>> hvp.definitions[r_symbol("a", 1, 1)]
    v_b_1^(1) + v_w_11^(1)*x_1
    >>> hvp.named[2]                                         # (H v) for w_11^(2)
    R{delta_1^(2)}*z_1^(1) + R{z_1^(1)}*delta_1^(2)
    """
    if layered.is_layered(net):  # a Network or RNN: forward mode along v over its gradient
        return LayeredHessianVectorProduct(net, loss, [direction_symbol(p) for p in net.params],
                                           weight_decay)
    return HessianVectorProduct(net, loss, weight_decay)
