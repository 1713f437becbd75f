"""Curvature of a Network or RNN: Gauss-Newton, residual term, H v and the input Hessian.

Everything here is derived over the network's graph of named units, as the gradient and
the exact Hessian of ``symnet.derive.layered_derivations`` are, so weight sharing (a
kernel at every position, an RNN's matrices at every step) needs no special case:

* Gauss-Newton: G = sum_n B_n^T Lambda_n B_n with B = d out/dw, out = y or a^(L) as the
  loss's row says (``loss.jacobian_of``; the canonical pairs in a^(L)). The rows of B are
  the sensitivities dout_k/da backpropagated over the graph, seeded by the output block
  (out = y) or the identity (out = a), each entry named dout_k/dw_p; Lambda_n is the
  loss's own, derived from its row (softmax with cross-entropy: not diagonal).
* Residual term: sum_n sum_k r_k d^2 out_k/dw dw, the exact Hessian of the pseudo-error
  sum_k r_k out_k with r_k = dE_n/dout_k held fixed: its "deltas" s are backpropagated
  from s^(L) = sum_k r_k dout_k/da^(L), then differentiated forward along each w_q.
* Hessian-vector product: forward mode over the gradient's named definitions along v
  (each tangent named R{.}), one gradient-sized pass: (H v)_p = R{dE_n/dw_p}.
* Input Hessian: forward mode along each input x_m over the backpropagated input
  Jacobian's named form: d^2 y_k/dx_i dx_m = d(J_ki)/dx_m.

The forward mode is ``layered_derivations.ForwardMode``, the one the exact Hessian runs.
``evaluate`` runs the matrix form (the R-operator over the stages' terms,
``symnet.compiled.layered_curvature_form``; Gauss-Newton's B by the backward pass of
``symnet.compiled.layered_form``) on NumPy, JAX or Dask; ``evaluate_entries`` the named
form compiled to one straight-line NumPy function, the route that checks it.
"""

from functools import cached_property

import numpy as np
import sympy as sp

from .._size import check_entries, check_hessian
from ..compiled import layered_curvature_form, layered_form
from ..compiled.backends import foreign_library, refuse_jax_arrays
from ..errors import SymnetError
from ..graph.loss_kernels import output_derivative
from ..graph.canonical import weighted_gram
from ..graph.losses import get_loss
from . import layered_derivations as layered
from .derivation import evaluate_on
from .layered_derivations import ForwardMode, LayeredDerivation, tangent_symbol

__all__ = ["gauss_newton", "hessian_residual", "LayeredHessianVectorProduct", "input_hessian",
           "DirectionalEntries"]


def _labels(net):
    names = [p.name for p in net.params]
    return dict(rows=names, columns=names)


def _outputs_of(net, of):
    """The quantities B differentiates: the outputs y (``of="y"``) or the a^(L) (``"a"``)."""
    L = net.n_layers
    return net.layer_pre_activations(L) if of == "a" else net.layer_values(L)


# -- Gauss-Newton ------------------------------------------------------------------------------
def gauss_newton(net, loss, *, weight_decay=None):
    """G = sum_n B_n^T Lambda_n B_n (W x W) of a Network or RNN; ``evaluate`` sums over samples.

    B_n = d out/dw with out = y, or a^(L) where the loss has a stable form there (the
    canonical pairs), and Lambda_n = d^2 E_n/d out^2 from the loss's row. Each entry
    of B is named dout_k/dw_p (a sum over the units that share w_p).

    Examples
    --------
    >>> import symnet
    >>> from symnet.graph.layers import Conv1D
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])   # y_p = w1 x_p + w2 x_(p+1) + b
    >>> G = gauss_newton(net, "sse")                             # Lambda = I: G = B^T B
    >>> G.named[0, 0], G.definitions[G.named[0, 0].args[0].args[0]]
    (dy_1/dw_1,1,1^(1)**2 + dy_2/dw_1,1,1^(1)**2, x_1,1)
    >>> G.evaluate([[1.0, 2.0, 3.0]], net.init_params(), [[0.0, 0.0]])[0]   # x1^2 + x2^2, ...
    array([5., 8., 3.])
    """
    loss = get_loss(loss, net, weight_decay)
    W, K = net.n_params, len(net.targets)
    check_hessian(W)
    layered._size_check("the Gauss-Newton matrix", net, K + W)
    graph, definitions = layered._Graph(net), {}
    rows = layered._sensitivities(net, graph, definitions, of=loss.jacobian_of)
    B = [[layered._named(tangent_symbol(out, p), entry, definitions)
          for p, entry in zip(net.params, graph.parameter_entries(adjoint))]
         for out, (adjoint, _) in zip(_outputs_of(net, loss.jacobian_of), rows)]
    # Lambda_n from the loss's row, in this network's y, t and a^(L)
    weights = loss.gauss_newton_named(net).xreplace(layered._loss_symbols(net, loss))
    named = weighted_gram([[B[k][p] for k in range(K)] for p in range(W)], weights)
    # evaluated in matrix form: B by the one backward pass over the terms, then sum B^T Lambda B
    return layered._matrix_route("gauss_newton", net, named, definitions,
                                 layered_form.gauss_newton_values, loss=loss,
                                 method="gauss_newton", **_labels(net))


# -- the residual term -------------------------------------------------------------------------
def _seed_symbol(a):
    return sp.Symbol("s" + a.name[1:], real=True)   # a_1,3^(1) -> s_1,3^(1), as delta's


def hessian_residual(net, loss, residual_symbol):
    """sum_n sum_k r_k d^2 out_k/dw dw (W x W) of a Network or RNN: the term Gauss-Newton drops.

    ``residual_symbol(k)`` names r_k = dE_n/dout_k (held fixed). The exact Hessian of the
    pseudo-error sum_k r_k out_k: s backpropagated from s_m^(L) = sum_k r_k dout_k/da_m^(L),
    the pseudo-gradient differentiated forward along each w_q.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "tanh")])      # y = tanh(w x + b)
    >>> R = symnet.hessian_residual(net, "sse")                        # r_1 = y_1 - t_1
    >>> R.definitions[sp.Symbol("s_1^(1)", real=True)]
    r_1*(1 - y_1**2)
    >>> # [b, b]: r tanh''(a) at a = 0.5, y = tanh(0.5) = 0.462117 = r (t = 0),
    >>> # tanh''(a) = -2 y (1 - y^2) = -0.726862: 0.462117 * -0.726862 = -0.335895
    >>> round(float(R.evaluate([[0.5]], [1.0, 0.0], [[0.0]])[1, 1]), 6)
    -0.335895
    """
    loss = get_loss(loss, net)      # no weight decay: lam I is all in the Gauss-Newton term
    W, K, L = net.n_params, len(net.targets), net.n_layers
    check_hessian(W)
    layered._size_check("the residual term", net, W + 1)
    definitions = {}
    mapping = layered._loss_symbols(net, loss)
    r = [layered._named(residual_symbol(k + 1), value.xreplace(mapping), definitions)
         for k, value in enumerate(loss.residual_named(net))]
    pre = net.layer_pre_activations(L)
    block = (sp.eye(K) if loss.jacobian_of == "a" else
             output_derivative(net.activations[-1], net.layer_values(L), pre))
    seeds = [sp.Add(*[r[k] * block[k, m] for k in range(K)]) for m in range(K)]
    graph, s_definitions = layered._Graph(net), {}
    adjoint, _ = graph.backward(seeds, _seed_symbol, s_definitions)
    definitions.update(s_definitions)
    # r_k are not in the forward mode's definitions: they stay fixed, as the term says
    mode = ForwardMode({**net.equations, **s_definitions}, graph.parameter_entries(adjoint),
                       net.params)
    columns = [mode.along({w_q: 1}, lambda s, w_q=w_q: tangent_symbol(s, w_q), definitions)
               for w_q in net.params]
    named = sp.ImmutableMatrix(W, W, lambda p, q: columns[q][p])
    return layered._matrix_route("hessian_residual", net, named, definitions,
                                 layered_curvature_form.residual_values, loss=loss,
                                 method="residual", intermediates={"s": dict(adjoint)},
                                 **_labels(net))


# -- Hessian-vector products -------------------------------------------------------------------
def direction_matrix(net, v):
    """v as a float array (W,) or (W, P), finite; a SymnetError naming the shape otherwise.

    >>> import symnet
    >>> direction_matrix(symnet.MLP([1, 1]), [1, 2]).tolist()
    [1.0, 2.0]
    """
    try:
        V = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise SymnetError(f"v must be an array of numbers; got {v!r}") from None
    W = net.n_params
    if V.shape[:1] != (W,) or V.ndim > 2 or not np.all(np.isfinite(V)):
        raise SymnetError(f"v must be finite with shape ({W},) or ({W}, P) (directions "
                          f"in net.params order); got shape {V.shape}")
    return V


class DirectionalEntries:
    """``evaluate_entries(X, w, T, v)`` of a derivation whose named form has direction symbols.

    Shared by the MLP's ``HessianVectorProduct`` and ``LayeredHessianVectorProduct``: the
    named form is evaluated once per direction v (column of V), the symbols
    ``self.direction`` set to its components, plus lam v of the weight decay.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=1, hidden="linear")   # y = w_hy (w_xh x + b_h) + b_y
    >>> hvp = symnet.hessian_vector_product(net, "sse")
    >>> isinstance(hvp, DirectionalEntries)
    True
    >>> # E = 1/2 (y - t)^2 at x = 1, every weight 1 and biases 0: y = 1, t = 1, so
    >>> # H = J^T J (residual 0) with J = dy/dw = (w_hy x, 0, w_hy, w_xh x + b_h, 1) = (1, 0, 1, 1, 1)
    >>> hvp.evaluate_entries([[1.0]], [1.0, 1.0, 0.0, 1.0, 0.0], [[1.0]], [1, 0, 0, 0, 0])
    array([1., 0., 1., 1., 1.])
    """

    def _directions(self, v):
        return direction_matrix(self.net, v)

    def evaluate_entries(self, X, w, T, v):
        """sum_n H_n v from the named form, entry by entry (the MLP's check route)."""
        refuse_jax_arrays(self, v)   # as X, w, T are refused: this route runs on NumPy
        X, w, T, single = self._arrays(X, w, T)
        V = self._directions(v)
        values = dict(zip(self.net.inputs, X.T))
        values.update(zip(self.net.params, w))
        values.update(zip(self.net.targets, T.T))
        columns = []
        for column in (V[:, None] if V.ndim == 1 else V).T:
            values.update(zip(self.direction, column))
            columns.append(self._entry_values(values, X.shape[0], single)
                           + self.loss.decay_term(self.kind, w, column))  # + lam v
        return columns[0] if V.ndim == 1 else np.stack(columns, axis=-1)

    def evaluate_named(self, X, w, T, v):
        """``evaluate_entries`` under its earlier name."""
        return self.evaluate_entries(X, w, T, v)


def _along_v(s):
    return sp.Symbol(f"R{{{s.name}}}", real=True)   # R{a_1,3^(1)}: ds/dr along v


class LayeredHessianVectorProduct(DirectionalEntries, LayeredDerivation):
    """H v of a Network or RNN: forward mode along v over the gradient's named form.

    R{s} = sum_u (d value_s/du) R{u} with R{w_p} = v_p, for every forward equation and
    delta in order, and (H_n v)_p = R{dE_n/dw_p}: one pass the size of the gradient's,
    not W of them. ``direction`` holds the symbols v_p; ``evaluate(X, w, T, v)`` takes v
    (W,) or (W, P) after the targets.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "linear")])   # H = sum_n [[x^2, x], [x, 1]]
    >>> hvp = symnet.hessian_vector_product(net, "sse")
    >>> hvp.named.T
    Matrix([[R{delta_1^(1)}*x_1, R{delta_1^(1)}]])
    >>> hvp.evaluate([[2.0]], [0.5, 0.1], [[0.0]], [1.0, -1.0])       # (4 - 2, 2 - 1)
    array([2., 1.])
    """

    def __init__(self, net, loss, direction, weight_decay=None):
        loss = get_loss(loss, net, weight_decay)
        check_entries("the Hessian-vector product", 2 * (len(net.equations) + net.n_params),
                      net.n_params)
        grad = layered.gradient(net, loss)
        definitions = dict(grad.definitions)
        self.direction = tuple(direction)
        mode = ForwardMode({**net.equations, **grad.definitions}, grad.named, net.params)
        product = mode.along(dict(zip(net.params, self.direction)), _along_v, definitions)
        terms, values = layered_form.stage_terms(net), layered_curvature_form.hessian_vector_values
        super().__init__("hessian_vector_product", net, sp.Matrix(product), definitions,
                         rows=[p.name for p in net.params], columns=["Hv"], loss=loss,
                         evaluator=lambda X, w, T, V: values(net, loss, X, w, T, V, terms),
                         method="forward_mode",
                         intermediates={"delta": grad.intermediates["delta"]})

    def __repr__(self):
        return f"<HessianVectorProduct of {self.net!r}, loss={self.loss.name!r}>"

    @cached_property
    def _entry_functions(self):
        return layered.compile_straight_line(self.net, self.definitions, self.entries,
                                             extra=self.direction)

    def evaluate(self, X, w, T, v):
        """sum_n H_n v (W,), or (W, P) for P directions v (W, P), without forming H: the
        R-operator of ``symnet.compiled.layered_curvature_form`` on NumPy, JAX or Dask."""
        if foreign_library(X, w, T, v):  # JAX or Dask arrays (symnet.compiled.backends)
            return evaluate_on(self, X, w, T, self._directions(v))
        X, w, T, single = self._arrays(X, w, T)
        return self._finished(self._evaluator(X, w, T, self._directions(v)), single)


# -- the input Hessian ---------------------------------------------------------------------------
def input_hessian(net):
    """d^2 y_k/dx_i dx_m (K x D x D per sample) of a Network or RNN; ``evaluate``: (N, K, D, D).

    The backpropagated input Jacobian J_ki (named sensitivities dy_k/da) differentiated
    forward along each input x_m, every tangent named d(.)/dx_m.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "tanh")])      # y = tanh(w x + b)
    >>> H = symnet.input_hessian(net)
    >>> H.named[0, 0, 0], H.definitions[H.named[0, 0, 0].args[0]]      # w d(dy/da)/dx
    (ddy_1/da_1^(1)/dx_1*w_11^(1), -2*dy_1/dx_1*y_1)
    >>> # w^2 tanh''(0.5) with w = 1: -2 y (1 - y^2), y = tanh(0.5) = 0.462117
    >>> round(float(H.evaluate([[0.5]], [1.0, 0.0])[0, 0, 0, 0]), 6)
    -0.726862
    """
    D, K = len(net.inputs), len(net.layer_values(net.n_layers))
    check_entries("the input Hessian", D * (K + 1) * len(net.equations) + K * D * D,
                  net.n_params)
    jacobian = layered.input_jacobian(net)
    definitions = dict(jacobian.definitions)
    mode = ForwardMode({**net.equations, **jacobian.definitions}, jacobian.entries, net.inputs)
    columns = [mode.along({x_m: 1}, lambda s, x_m=x_m: tangent_symbol(s, x_m), definitions)
               for x_m in net.inputs]
    named = sp.ImmutableDenseNDimArray(
        [[[columns[m][k * D + i] for m in range(D)] for i in range(D)] for k in range(K)])
    return layered._matrix_route("input_hessian", net, named, definitions,
                                 layered_curvature_form.input_hessian_values, method="forward",
                                 rows=[y.name for y in net.layer_values(net.n_layers)],
                                 columns=[x.name for x in net.inputs])
