"""The error function itself, evaluated: the quantity the gradient and Hessian differentiate."""

import numpy as np

from . import matrix_form as engine
from .._validate import check_finite_result, check_inputs, check_params, check_targets
from ..graph.losses import get_loss

__all__ = ["loss_value"]


def loss_value(net, loss, X, w, T, *, weight_decay=None):
    """E = sum_n E_n at inputs X (N, D), parameters w (W,) and targets T (N, K), in stable form.

    ``loss`` is a row of the loss table or a ``Loss``; with ``weight_decay`` lam,
    E = sum_n E_n + lam/2 ||w||^2. Complex X or w give a complex E (for complex-step
    differentiation); real ones a float.

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    >>> w = net.pack([[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
    ...              [[0.35, 0.35], [0.60, 0.60]])
    >>> round(loss_value(net, "sse", [[0.05, 0.10]], w, [[0.01, 0.99]]), 9)
    0.298371109
    >>> # + lam/2 ||w||^2 = 0.01/2 (0.215 + 0.915 + 0.965) = 0.010475 (weights, then biases)
    >>> round(loss_value(net, "sse", [[0.05, 0.10]], w, [[0.01, 0.99]], weight_decay=0.01), 9)
    0.308846109
    """
    loss = get_loss(loss, net, weight_decay)
    X, single = check_inputs(net, X, allow_complex=True)
    w = check_params(net, w, allow_complex=True)
    T = check_targets(net, T, X.shape[0], single)
    value = engine.error_value(net, loss, X, w, T)
    if isinstance(value, complex):  # complex step: its own checks judge the imaginary part
        return value
    return float(check_finite_result("the error E", np.asarray(value)))
