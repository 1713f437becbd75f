"""The compiled matrix form of a Network's or RNN's first derivatives, vectorised over samples.

A stage's pre-activations are a sum of terms op(z^(source)) (+ b), each operator (a
matrix, a correlation, the identity) with its ``back`` and ``weight_gradient`` maps
(``symnet.compiled.layered_terms``). A stage may feed several later ones (the input of a
Residual block feeds the block and its skip; h^(t) feeds h^(t+1) and, with
``outputs="all"``, y^(t)): its adjoint is the sum of what they send back. The backward
pass runs the stages from L down to 1 -- for an RNN that is the loop over time steps,
backpropagation through time -- and is the same loop for the gradient (seeded with the
loss's deltas, ``symnet.graph.losses``), the parameter Jacobian and the input Jacobian
(seeded with the output block dy_k/da_m^(L) of ``symnet.compiled.matrix_form``). h'(a)
is each activation's own derived, stable kernel (``derivative_numpy_az``); the forward
pass is the network's own (``forward_layers``).

Shapes: values Z[l] (N, n_l); adjoints U (N, R, n_l) with R = 1 for the gradient and R = K
(one recursion per output) for the Jacobians; a sum over samples for the gradient only.

Array libraries: the same code runs on NumPy arrays and on JAX arrays traced under
``jax.jit`` (``symnet.compiled.backends``): h'(a) and the loss's delta come from
``ops_for(X)``, printed from the same SymPy rules. The forward pass is the network's
one ``forward_layers`` on every library (``matrix_form.forward_pass``: on NumPy its
overflow named by unit, on JAX with h(a) printed for JAX), as for an MLP. Two things
branch on the library: a write into a NumPy array becomes ``.at[...].add`` or a join
(``added``, ``_assembled``: JAX arrays are immutable), and a correlation's windows, a
NumPy view, are gathered by index arrays.

Examples
--------
>>> import numpy as np, symnet
>>> from symnet.layers import Conv1D
>>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])   # a_p = w_1 x_p + w_2 x_(p+1) + b
>>> # dy_p/dw_m = x_(p+m-1), dy_p/db = 1 at x = (1, 2, 3)
>>> param_jacobian_values(net, np.array([[1.0, 2.0, 3.0]]), np.zeros(3))
array([[[1., 2., 1.],
        [2., 3., 1.]]])
"""

import numpy as np

from ..graph.layered import array_namespace
from .backends import ops_for
from .layered_terms import Correlation, Identity, Matrix, Term, added, stage_terms
from .matrix_form import forward_pass, layer_derivatives, output_block, sample_chunks

__all__ = ["Term", "Matrix", "Correlation", "Identity", "stage_terms", "gradient_values",
           "param_jacobian_values", "input_jacobian_values", "gauss_newton_values"]


# -- the one backward pass ---------------------------------------------------------------------
class _Adjoints:
    """dF/dz^(l) of each stage's values, summed over the terms that read them."""

    def __init__(self, lead, widths, xp):
        self.lead, self.widths, self.xp = lead, widths, xp
        self.values, self.owned = {}, set()   # owned: a fresh array, safe to add into

    def send(self, source, value, columns):
        """Add ``value`` to the adjoint of Z[source] (only its ``columns``, if a slice)."""
        if columns == slice(None):
            if source in self.values:
                self.values[source] = self.values[source] + value
                self.owned.add(source)
            else:
                self.values[source] = value   # may be another stage's array: not owned
            return
        if source not in self.owned:
            buffer = self.xp.zeros(self.lead + (self.widths[source],))
            if source in self.values:
                buffer = added(buffer, Ellipsis, self.values[source])
            self.values[source], self.owned = buffer, self.owned | {source}
        self.values[source] = added(self.values[source], (Ellipsis, columns), value)

    def take(self, source):
        """The finished adjoint of stage ``source`` (every reader is a later stage)."""
        if source not in self.values:         # values nobody reads
            return self.xp.zeros(self.lead + (self.widths[source],))
        return self.values.pop(source)


def _block_view(result, block):
    """result[..., block columns] seen in the block's own shape (a view: writes go through)."""
    lead = result.shape[:-1]
    return result[..., block.columns].reshape(lead + block.shape, copy=False)


def _set(result, block, value):
    """result[..., block's columns] = value (in the block's shape): in place on NumPy, a new
    array on JAX, where XLA does ``.at[].set`` in place under jit (a join by
    ``concatenate`` measured twice as slow on a 75 MB parameter Jacobian)."""
    if isinstance(result, np.ndarray):
        _block_view(result, block)[...] = value
        return result
    lead = result.shape[:-1]
    value = array_namespace(result).broadcast_to(value, lead + block.shape)
    return result.at[..., block.columns].set(value.reshape(lead + (-1,)))


def _assembled(net, lead, uses, biases, summed, xp):
    """Every block's dF/dw in ``net.params`` order, (*lead, W), each formed once."""
    result = (np.empty if xp is np else xp.zeros)(lead + (net.n_params,))
    for block, operator, parts, values in uses.values():
        if xp is np:    # straight into the result's view: no temporary of its size
            operator.weight_gradient(parts, values, summed, _block_view(result, block))
        else:
            result = _set(result, block, operator.weight_gradient(parts, values, summed))
    for block, total in biases.values():
        result = _set(result, block, total)
    for block in net.blocks:        # a block no term uses (W_hh of a one-step RNN): 0
        if block.label not in uses and block.label not in biases:
            result = _set(result, block, 0.0)
    return result


def bias_sum(part, term, summed):
    """dF/db of ``term``'s bias from its rows' dF/da (N, R, n): (R, n_b) summed over samples,
    else (N, R, n_b); a kernel's bias is summed over its positions too (weight sharing).

    >>> from symnet.compiled.layered_terms import Term, Identity
    >>> from symnet.graph.layered import ParameterBlock
    >>> term = Term(0, Identity(), bias=ParameterBlock("b", slice(0, 1), (1,), 1, True))
    >>> bias_sum(np.array([[[1.0, 2.0]], [[3.0, 4.0]]]), term, summed=True)   # 1 + 2 + 3 + 4
    array([[10.]])
    """
    N, R = part.shape[:2]
    if summed:                     # the sum over samples as one product
        xp = array_namespace(part)
        return (xp.ones(N) @ part.reshape(N, -1)).reshape((R, term.bias.shape[0], -1)).sum(axis=-1)
    return part.reshape((N, R, term.bias.shape[0], -1)).sum(axis=-1)


def backward(net, terms, Z, dh, w, top, summed=False, inputs=False):
    """From ``top`` = dF/da^(L) (N, R, n_L): every parameter's dF/dw, and dF/dx if ``inputs``.

    The one backward pass: U^(l) = h'(a^(l)) o (sum of what the terms reading z^(l) send
    back), stage L down to 1 (for an RNN the loop over time). Each block's gradient is
    formed once at the end from every term that uses it (weight sharing: the sum over
    positions or time steps). Returns the parameter part, (R, W) summed over samples or
    (N, R, W), and dF/dx (N, R, D) (None unless ``inputs``).

    Examples
    --------
    >>> import symnet
    >>> from symnet.layers import Dense
    >>> net = symnet.Network(1, [Dense(1, "linear")])          # a = w x + b
    >>> Z = [np.array([[2.0]]), np.array([[0.0]])]
    >>> parameters, dx = backward(net, stage_terms(net), Z, None, np.array([3.0, 0.0]),
    ...                           np.array([[[1.0]]]), inputs=True)
    >>> parameters, dx                                         # (x, 1) and w
    (array([[[2., 1.]]]), array([[[3.]]]))
    """
    N, R = top.shape[:2]
    xp = array_namespace(top)
    widths = [len(net.layer_values(l)) for l in range(net.n_layers + 1)]
    adjoints = _Adjoints((N, R), widths, xp)
    uses = {}                       # block label -> (block, operator, [dF/da parts], [values])
    biases = {}                     # block label -> (block, sum of dF/db over its terms)
    U = top
    for l in range(net.n_layers, 0, -1):
        if l < net.n_layers:
            U = adjoints.take(l) * dh[l][:, None, :]         # delta = h'(a) o dF/dz
        for term in terms[l - 1]:
            part = U[..., term.rows]
            if term.operator.weights is not None:
                block = term.operator.weights
                _, _, parts, values = uses.setdefault(block.label,
                                                      (block, term.operator, [], []))
                parts.append(part)
                values.append(Z[term.source][..., term.columns])
            if term.bias is not None:
                per_bias = bias_sum(part, term, summed)
                if term.bias.label in biases:
                    per_bias = biases[term.bias.label][1] + per_bias
                biases[term.bias.label] = (term.bias, per_bias)
            if term.source > 0 or inputs:
                adjoints.send(term.source, term.operator.back(part, w), term.columns)
    result = _assembled(net, (R,) if summed else (N, R), uses, biases, summed, xp)
    return result, (adjoints.take(0) if inputs else None)


# -- the derivations ---------------------------------------------------------------------------
def _forward(net, X, w):
    """A, Z by the network's own forward pass (``forward_pass``: on NumPy, its overflow named
    by unit; on JAX with h printed for it), h'(A) and the array library's pieces."""
    A, Z = forward_pass(net, X, w)
    dh, _ = layer_derivatives(net, A, Z)
    return A, Z, dh, ops_for(X)


def gradient_values(net, loss, X, w, T, terms=None):
    """dE/dw (W,) summed over samples, seeded with the loss's deltas delta^(L) (+ lam w).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="linear")
    >>> loss = symnet.graph.losses.get_loss("sse", net)
    >>> # h1 = x1, h2 = x2 + h1 = 3, y = h2 = 3, delta = y - t = 3 (w_xh = w_hh = w_hy = 1)
    >>> gradient_values(net, loss, np.array([[1.0, 2.0]]), np.array([1., 1, 0, 1, 0]),
    ...                 np.array([[0.0]]))
    array([9., 3., 6., 9., 3.])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh, ops = _forward(net, X, w)
    L = net.n_layers
    top = ops.loss_delta(loss, A[L], Z[L], T, dh[L])[:, None, :]
    result, _ = backward(net, terms, Z, dh, w, top, summed=True)
    return result[0] + loss.decay_term("gradient", w)     # + lam w (0 without decay)


def param_jacobian_values(net, X, w, terms=None):
    """(N, K, W): dy_k(x_n)/dw_p, seeded with the output block dy_k/da_m^(L).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.RNN(1, 1, 1, steps=2, hidden="linear")
    >>> # y = w_hy (w_xh x2 + w_hh w_xh x1 + b_h (1 + w_hh)) + b_y at w = (1, 1, 0, 1, 0)
    >>> param_jacobian_values(net, np.array([[1.0, 2.0]]), np.array([1., 1, 0, 1, 0]))
    array([[[3., 1., 2., 3., 1.]]])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh, _ = _forward(net, X, w)
    L = net.n_layers
    result, _ = backward(net, terms, Z, dh, w, output_block(net, A[L], Z[L], dh[L]))
    return result


def input_jacobian_values(net, X, w, terms=None):
    """(N, K, D): dy_k/dx_i at each sample, the same backward pass carried to the inputs.

    Examples
    --------
    >>> import symnet
    >>> from symnet.layers import Conv1D
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])
    >>> input_jacobian_values(net, np.zeros((1, 3)), np.array([1.0, 2.0, 0.0]))  # banded
    array([[[1., 2., 0.],
            [0., 1., 2.]]])
    """
    terms = stage_terms(net) if terms is None else terms
    A, Z, dh, _ = _forward(net, X, w)
    L = net.n_layers
    _, jacobian = backward(net, terms, Z, dh, w, output_block(net, A[L], Z[L], dh[L]),
                           inputs=True)
    return jacobian


def gauss_newton_values(net, loss, X, w, T, terms=None):
    """sum_n B_n^T Lambda_n B_n (W, W): B = dout/dw by the same backward pass, seeded with
    dout/da^(L) (out = y, or a^(L) for the canonical pairs: ``loss.jacobian_of``), and
    Lambda_n = d^2 E_n/dout^2 from the loss's row; + lam I with weight decay.

    Over chunks of samples, as ``matrix_form.gauss_newton_values``: B is (N, K, W).

    Examples
    --------
    >>> import symnet
    >>> from symnet.layers import Conv1D
    >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])    # sse: Lambda = I, G = B^T B
    >>> loss = symnet.graph.losses.get_loss("sse", net)
    >>> # B = [[x1, x2, 1], [x2, x3, 1]] at x = (1, 2, 3): G = B^T B
    >>> gauss_newton_values(net, loss, np.array([[1.0, 2.0, 3.0]]), np.zeros(3), np.zeros((1, 2)))
    array([[ 5.,  8.,  3.],
           [ 8., 13.,  5.],
           [ 3.,  5.,  2.]])
    """
    terms = stage_terms(net) if terms is None else terms
    ops, L, W = ops_for(X), net.n_layers, net.n_params
    total = ops.xp.zeros((W, W))
    width = net.sizes[-1] * W // max(net.sizes)   # B's K W floats a sample, per max n_l
    for part in sample_chunks(net, X.shape[0], width, ops.max_chunks):
        A, Z, dh, _ = _forward(net, X[part], w)
        B, _ = backward(net, terms, Z, dh, w, output_block(net, A[L], Z[L], dh[L],
                                                           of=loss.jacobian_of))
        weights = ops.loss_weights(loss, Z[L], T[part], A[L])
        total = total + ops.xp.einsum("nkp,nkm,nmq->pq", B, weights, B, optimize=True)
    return total + loss.decay_term("gauss_newton", w)   # lam/2 ||w||^2 is quadratic: lam I
