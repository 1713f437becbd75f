"""The network evaluated at many perturbed points at once, and the kinks those points cross.

A numerical check needs the network at v + c h_j e_j for every variable j and a
few multipliers c. Instead of one forward pass per point, the points are stacked
along a leading axis P and the forward pass runs on the whole stack: a layer is
one batched matrix product ``Z (P, N, n_{l-1}) @ W^T (P, n_{l-1}, n_l)``, so the
only Python loop is over layers (and over chunks of the stack, to bound memory).

The pre-activations at the perturbed points also tell where a ReLU kink was
crossed: if the sign of a_j^(l) - kink differs between the centre and a
perturbed point, the difference quotient along that direction straddles the
kink and says nothing about the derivative at the centre.

Examples
--------
>>> import numpy as np, symnet
>>> net = symnet.MLP([2, 3, 1], hidden="relu")
>>> w = net.init_params(seed=0)
>>> stack = np.stack([w, 2 * w])                      # two parameter vectors
>>> A, Z = stacked_forward(net, np.ones((4, 2)), stack)
>>> Z[-1].shape                                        # (P, N, K)
(2, 4, 1)
>>> np.allclose(Z[-1][1], net.forward(np.ones((4, 2)), 2 * w))
True
"""

import numpy as np

__all__ = ["stacked_forward", "kinked_layers", "crossed_kinks", "CHUNK_ELEMENTS"]

CHUNK_ELEMENTS = 2_000_000  # floats per batched forward; larger stacks are cut in chunks


def stacked_forward(net, X, w):
    """Pre-activations A[l] and values Z[l] (l = 0..L) for stacks of inputs or parameters.

    Parameters
    ----------
    X : array (N, D) or (P, N, D)
    w : array (W,) or (P, W)
        Real or complex (complex step). At least one of X and w may carry the stack axis P.

    Returns
    -------
    A, Z : lists
        ``A[l]`` and ``Z[l]`` of shape (P, N, n_l) (or (N, n_l) without a stack);
        ``A[0]`` is None and ``Z[0]`` is X.
    """
    return net.forward_layers(X, w)  # the network's one forward pass, run on the stack


def kinked_layers(net):
    """[(layer, activation, kink points)] for layers whose activation has numeric kinks.

    Registered activations whose kinks symnet cannot place (``kinks == ("see
    expression",)``) are listed with no points; the caller says so in its report.
    """
    found = []
    for l, act in enumerate(net.activations, start=1):
        if act.kinks:
            points = tuple(float(k) for k in act.kinks if isinstance(k, (int, float)))
            found.append((l, act, points))
    return found


def crossed_kinks(net, A_centre, A_points):
    """Which perturbed points straddle a kink, per sample, and which units did it.

    Parameters
    ----------
    A_centre : list of (N, n_l) arrays, the pre-activations at the centre.
    A_points : list of (P, N, n_l) arrays, at the perturbed points (real parts used).

    Returns
    -------
    crossed : bool array (P, N)
        True where some unit of sample n has a pre-activation on the other side
        of a kink (or leaves / reaches it exactly) at point p.
    units : dict
        ``{layer: bool array (N, n_l)}``: the units crossed by some point.
    """
    P, N = A_points[-1].shape[:2]
    crossed = np.zeros((P, N), dtype=bool)
    units = {}
    for l, _act, points in kinked_layers(net):
        for kink in points:
            side_centre = np.sign(A_centre[l] - kink)
            side_point = np.sign(A_points[l].real - kink)
            flips = side_point != side_centre[None]
            crossed |= flips.any(axis=2)
            units[l] = units.get(l, np.zeros(side_centre.shape, dtype=bool)) | flips.any(axis=0)
    return crossed, units
