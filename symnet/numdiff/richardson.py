"""Richardson extrapolation of symmetric difference quotients, with an error estimate.

A symmetric difference quotient (central first difference, or the four-point
second difference) has an error expansion in even powers of the step:

    D(h) = D + c_1 h^2 + c_2 h^4 + c_3 h^6 + ...

With steps h_k = h_0 / r^k (k = 0..m-1), each column of the Richardson table
removes one more power:

    R[k, i] = R[k, i-1] + (R[k, i-1] - R[k-1, i-1]) / (r^(2i) - 1),

and R[m-1, m-1] has error O(h^(2m)). Its error estimate has two parts, as in
numdifftools (Brodtkorb, ``extrapolation.py``):

* truncation: the larger of |R[m-1, m-1] - R[m-1, m-2]| (the change made by the
  last column) and |R[m-1, m-1] - R[m-2, m-2]| (the change made by the smallest
  step); each is asymptotically the error of a lower-order result, so an upper
  bound on the error of the final one, and the larger one stays honest when the
  steps are still too large for the expansion to hold;
* round-off: sum_k |c_k| noise_k, where R[m-1, m-1] = sum_k c_k D(h_k) and
  noise_k bounds the rounding error of D(h_k) (about eps |f| / h_k).

Examples
--------
>>> import numpy as np
>>> steps = 0.1 / 2.0 ** np.arange(3)
>>> D = [(np.sin(1 + h) - np.sin(1 - h)) / (2 * h) for h in steps]
>>> value, truncation, weights = extrapolate(D, ratio=2.0)
>>> error = abs(value - np.cos(1))
>>> bool(error < truncation), bool(error < 1e-11)
(True, True)
>>> weights.round(6).tolist()             # R = sum_k c_k D(h_k); the c_k sum to 1
[0.022222, -0.444444, 1.422222]
"""

import numpy as np

__all__ = ["extrapolate"]


def extrapolate(quotients, ratio):
    """Richardson-extrapolate difference quotients taken at steps h_0 / ratio**k.

    Parameters
    ----------
    quotients : sequence of arrays (at least two), all of one shape
        D(h_0), D(h_0 / ratio), D(h_0 / ratio^2), ...
    ratio : float > 1

    Returns
    -------
    value : array
        The extrapolated result R[m-1, m-1].
    truncation : array
        max(|R[m-1, m-1] - R[m-1, m-2]|, |R[m-1, m-1] - R[m-2, m-2]|), the estimate
        of the truncation error.
    weights : array (m,)
        c_k with value = sum_k c_k D(h_k), for the round-off bound sum_k |c_k| noise_k.
    """
    m = len(quotients)
    if m < 2:
        raise ValueError("Richardson extrapolation needs at least two step sizes")
    # Run the table on the quotients and, alongside, on unit vectors for the weights.
    column = [np.asarray(q) for q in quotients]
    unit = list(np.eye(m))
    for i in range(1, m):
        factor = ratio ** (2 * i) - 1
        previous = column
        column = [column[k] + (column[k] - column[k - 1]) / factor for k in range(1, len(column))]
        unit = [unit[k] + (unit[k] - unit[k - 1]) / factor for k in range(1, len(unit))]
    value = column[-1]
    # previous[-1] is R[m-1, m-2] (same steps, one order less); previous[-2] is
    # R[m-2, m-2] (the best result without the smallest step). Far from the
    # asymptotic regime either can be small by accident; the larger is kept.
    truncation = np.maximum(np.abs(value - previous[-1]), np.abs(value - previous[-2]))
    return value, truncation, unit[-1]
