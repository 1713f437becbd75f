"""The compiled matrix form of a Network's or RNN's second derivatives: the R-operator over terms.

Pearlmutter's R-operator R{.} = d/dr (.)(w + r v) at r = 0, run over the same stages and
terms as the backward pass of ``symnet.compiled.layered_form``, gives H v exactly with no
H formed; the exact Hessian is H V at V = I, the residual term the same on the
pseudo-error sum_k r_k out_k (``matrix_form._ResidualPseudoLoss``), and the input Hessian
the same along the inputs (R{x} = e_m, v = 0) seeded with the output block.

Forward (for one direction): R{z^(0)} = R{x}, then per stage

    R{a} = sum over terms op_w(R{z^(source)}) + op_v(z^(source)) + v_b,   R{z} = h'(a) R{a}.

Each stage's pre-activations are bilinear in (weights, values), so both parts are the
stage's own ``compute``, the network's one forward rule: compute(R{Z}, w without its
biases) + compute(Z, v). Backward, from R{delta^(L)} (the loss's ``r_delta``): with
G = dF/dz^(l) and delta = h'(a) G,

    R{delta} = h''(a) R{a} G + h'(a) R{G},
    R{G^(source)} = sum over readers  back_w(R{delta}) + back_v(delta),
    R{dF/dW} = sum over terms  weight_gradient(R{delta}, z) + weight_gradient(delta, R{z}),

with each operator's ``back`` and ``weight_gradient`` of ``symnet.compiled.layered_terms``
(their bilinearity again: back_v is ``back`` at the weights v). Several directions are
mapped over one direction's code (``ops.map_columns``: a loop on NumPy, ``jax.vmap`` on
JAX), so there is one R-operator for every array library.

Examples
--------
>>> import numpy as np, symnet
>>> from symnet.graph.losses import get_loss
>>> net = symnet.Network(1, [symnet.layers.Dense(1, "linear")])    # a = w x + b, E = (a - t)^2 / 2
>>> H = hessian_values(net, get_loss("sse", net), np.array([[2.0]]), np.zeros(2), np.zeros((1, 1)))
>>> H                                                               # [[x^2, x], [x, 1]]
array([[4., 2.],
       [2., 1.]])
"""

import numpy as np

from ..errors import SymnetError
from ..graph.layered import array_namespace
from .backends import ops_for
from .layered_form import _Adjoints, _assembled, bias_sum
from .layered_terms import stage_terms
from .matrix_form import (_ResidualPseudoLoss, forward_pass, layer_derivatives, output_block,
                          output_curvature, sample_chunks)

__all__ = ["r_forward", "r_backward", "hessian_vector_values", "hessian_values",
           "residual_values", "input_hessian_values"]


def _linear_part(net, w):
    """w with every bias entry 0: a stage's compute(Z, w) is then linear in Z alone."""
    keep = np.ones(net.n_params)
    for block in net.blocks:
        if block.bias:
            keep[block.columns] = 0.0
    return w * keep


def _parametrised(stage_terms_l):
    """Whether a stage's terms all have weights (a part along v) or none do (a skip sum).

    A skip stage a = z + z' is compute(Z, v) = z + z' whatever v is: it is not linear in
    the weights, so its part along v is 0, not compute(Z, v).
    """
    weighted = [t.operator.weights is not None for t in stage_terms_l]
    if any(weighted) and not all(weighted):
        raise SymnetError("a stage mixes identity and weighted terms; the R-operator takes "
                          "its part along v from compute(Z, v) and needs one or the other")
    return all(weighted)


def r_forward(net, terms, Z, dh, w, v=None, RX=None):
    """R{a^(l)} and R{z^(l)} (l = 0..L; R{z^(L)} None) along v (W,) and/or R{x} = RX (N, D).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "tanh")])    # a = w x + b
    >>> Z = [np.array([[2.0]]), np.tanh(np.array([[1.0]]))]
    >>> RA, _ = r_forward(net, stage_terms(net), Z, [None, None], np.array([0.5, 0.0]),
    ...                   v=np.array([1.0, 3.0]))
    >>> RA[1]                                                         # v_w x + v_b
    array([[5.]])
    """
    xp, L = array_namespace(Z[0]), net.n_layers
    linear = _linear_part(net, w)
    RZ = [xp.zeros_like(Z[0]) if RX is None else RX]
    RA = [None]
    for l, stage in enumerate(net.stages, start=1):
        # compute reads the values of the stages before it: the lists up to l - 1
        Ra = stage.compute(RZ, linear) if RX is not None or l > 1 else None
        if v is not None and _parametrised(terms[l - 1]):
            along_v = stage.compute(Z[:l], v)
            Ra = along_v if Ra is None else Ra + along_v
        RA.append(stage.compute(RZ, linear) if Ra is None else Ra)
        RZ.append(dh[l] * Ra if l < L else None)   # hidden stages are elementwise
    return RA, RZ


def r_backward(net, terms, Z, RZ, dh, d2h, RA, w, v, top, r_top, parameters=True,
               inputs=False):
    """R{dF/dw} (R, W) summed over samples, and R{dF/dx} (N, R, D) if ``inputs``.

    ``top`` = dF/da^(L) and ``r_top`` = R{dF/da^(L)}, both (N, R, n_L); v the weights'
    direction (None along the inputs only).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.Network(1, [symnet.layers.Dense(1, "linear")])   # a = w x + b
    >>> Z, RZ = [np.array([[2.0]]), np.array([[1.0]])], [np.zeros((1, 1)), None]
    >>> # F = a^2 / 2: dF/da = a = 1, R{dF/da} = R{a} = v_w x + v_b = 2 along v = (1, 0)
    >>> r_backward(net, stage_terms(net), Z, RZ, [None, None], [None, None], None,
    ...            np.array([0.5, 0.0]), np.array([1.0, 0.0]), np.array([[[1.0]]]),
    ...            np.array([[[2.0]]]))[0]                           # (R{a} x, R{a})
    array([[4., 2.]])
    """
    N, R = top.shape[:2]
    xp = array_namespace(top)
    widths = [len(net.layer_values(l)) for l in range(net.n_layers + 1)]
    adjoints, r_adjoints = _Adjoints((N, R), widths, xp), _Adjoints((N, R), widths, xp)
    uses, biases = {}, {}
    U, RU = top, r_top
    for l in range(net.n_layers, 0, -1):
        if l < net.n_layers:
            G, RG = adjoints.take(l), r_adjoints.take(l)
            U = G * dh[l][:, None, :]
            RU = RG * dh[l][:, None, :] + G * (d2h[l] * RA[l])[:, None, :]
        for term in terms[l - 1]:
            part, r_part = U[..., term.rows], RU[..., term.rows]
            operator = term.operator
            if parameters and operator.weights is not None:
                _, _, parts, values = uses.setdefault(operator.weights.label,
                                                      (operator.weights, operator, [], []))
                parts.append(r_part)
                values.append(Z[term.source][..., term.columns])
                if term.source > 0 or inputs:   # R{z^(0)} = R{x} is 0 along the weights
                    parts.append(part)
                    values.append(RZ[term.source][..., term.columns])
            if parameters and term.bias is not None:
                total = bias_sum(r_part, term, summed=True)
                if term.bias.label in biases:
                    total = biases[term.bias.label][1] + total
                biases[term.bias.label] = (term.bias, total)
            if term.source > 0 or inputs:
                adjoints.send(term.source, operator.back(part, w), term.columns)
                r_back = operator.back(r_part, w)
                if v is not None and operator.weights is not None:
                    r_back = r_back + operator.back(part, v)   # back is linear in the weights
                r_adjoints.send(term.source, r_back, term.columns)
    result = _assembled(net, (R,), uses, biases, True, xp) if parameters else None
    return result, (r_adjoints.take(0) if inputs else None)


def hessian_vector_values(net, loss, X, w, T, V, terms=None):
    """sum_n H_n V: (W,) for one direction V (W,), (W, P) for P; + lam V with weight decay.

    Over chunks of samples, each one forward pass and, per direction, one R-forward and
    one R-backward (``r_forward``, ``r_backward``).
    """
    terms = stage_terms(net) if terms is None else terms
    ops, L = ops_for(X), net.n_layers
    directions = V[:, None] if V.ndim == 1 else V
    total = ops.xp.zeros(directions.shape)
    for part in sample_chunks(net, X.shape[0], 1, ops.max_chunks):
        A, Z = forward_pass(net, X[part], w)
        dh, d2h = layer_derivatives(net, A, Z, second=True)
        top = ops.loss_delta(loss, A[L], Z[L], T[part], dh[L])[:, None, :]

        def along(v, A=A, Z=Z, dh=dh, d2h=d2h, top=top, T=T[part]):
            RA, RZ = r_forward(net, terms, Z, dh, w, v)
            r_top = ops.loss_r_delta(loss, A[L], Z[L], T, dh[L], d2h[L], RA[L][:, None, :])
            return r_backward(net, terms, Z, RZ, dh, d2h, RA, w, v, top, r_top)[0][0]
        total = total + ops.map_columns(along, directions)
    if loss.weight_decay:  # the Hessian of lam/2 ||w||^2 is lam I
        total = total + loss.weight_decay * directions
    return total[:, 0] if V.ndim == 1 else total


def hessian_values(net, loss, X, w, T, terms=None):
    """The exact Hessian sum_n H_n (W, W): the R-operator along every w_q (V = I).

    Its two triangles come from different products (R{delta} z and delta R{z}), equal to
    rounding; the mean of H and H^T makes it exactly symmetric.
    """
    H = hessian_vector_values(net, loss, X, w, T, ops_for(X).xp.eye(net.n_params), terms)
    return (H + H.T) / 2


def residual_values(net, loss, X, w, T, terms=None):
    """sum_n sum_k r_nk d^2 out_nk / dw dw (W, W): the R-operator on the pseudo-error, V = I."""
    R = hessian_vector_values(net, _ResidualPseudoLoss(net, loss), X, w, T,
                              ops_for(X).xp.eye(net.n_params), terms)
    return (R + R.T) / 2


def input_hessian_values(net, X, w, terms=None):
    """d^2 y_k / dx_i dx_m (N, K, D, D): the input Jacobian's R-operator along each x_m.

    Seeded with the output block S = dy/da^(L) and R{S} = sum_p d^2 y / da da_p R{a_p}
    (``matrix_form.output_curvature``); the directions are the inputs, v = 0.
    """
    terms = stage_terms(net) if terms is None else terms
    ops, L = ops_for(X), net.n_layers
    N, D = X.shape
    A, Z = forward_pass(net, X, w)
    dh, d2h = layer_derivatives(net, A, Z, second=True)
    top = output_block(net, A[L], Z[L], dh[L])
    curvature = output_curvature(net, Z[L], d2h[L])

    def along(direction):
        RA, RZ = r_forward(net, terms, Z, dh, w, RX=ops.xp.broadcast_to(direction, (N, D)))
        r_top = ops.xp.einsum("nkmp,np->nkm", curvature, RA[L])
        return r_backward(net, terms, Z, RZ, dh, d2h, RA, w, None, top, r_top,
                          parameters=False, inputs=True)[1]
    # (N, K, D) per direction x_m, stacked last: (N, K, D, D) with [n, k, i, m]
    return ops.map_columns(along, ops.xp.eye(D))
