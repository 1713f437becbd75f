"""The stacked loss kernels: softmax cross-entropy's R{delta^(L)} and Lambda_n, and E at a stack.

The references are independent of symnet: the softmax and its Jacobian evaluated in mpmath at
1000 digits (logits 2000 apart give y = e^-2000 ~ 1e-869 beside 1, so 1 - y needs ~900
digits to be formed as the textbook writes it) from the textbook formulas (Bishop 2024, eq. 5.76 and 8.1.3),

    y = exp(a) / sum_m exp(a_m),   Lambda_km = d^2 E_n / da_k da_m = (sum_m t_m) y_k (delta_km - y_m),
    R{delta}_k = sum_m Lambda_km r_m,

and compared entry by entry against an error bound rather than a blanket tolerance: an entry of
Lambda within 1e-13 of its own size, an entry of Lambda r within 1e-13 of sum_m |Lambda_km r_m|
(the size of the terms it sums), plus the smallest normal float64 (values below float64's range,
such as e^-1000, can only round to 0). The logits reach |a| = 1000, where the textbook float64
formula overflows, and a = 40, where 1 - y_k rounds to 0 and the naive diagonal y_k (1 - y_k)
loses every digit (the bound then fails: see the last test).
"""

import mpmath
import numpy as np
import pytest

import symnet

DIGITS = 1000
RTOL = 1e-13
TINY = np.finfo(float).tiny   # below this a true value can only be represented as 0


def logits(K, seed):
    """Random logits, with rows that saturate: +-1000 and 40 against 0."""
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=3.0, size=(12, K))
    A[0] = 0.0
    A[0, 0] = 1000.0                      # y = (1, e^-1000, ...): e^1000 overflows naively
    A[1] = -1000.0 * rng.random(K)        # all very negative: the shift by the maximum matters
    A[2] = 0.0
    A[2, -1] = 40.0                       # 1 - y_K = (K - 1) e^-40 / (1 + ...) rounds to 0
    A[3] = 1000.0 * rng.uniform(-1, 1, K)
    return A


def targets(K, seed, soft):
    rng = np.random.default_rng(seed + 1)
    if soft:    # not normalised: sum_m t_m != 1 scales Lambda, which the kernel must keep
        return rng.uniform(0.0, 1.0, size=(12, K))
    return np.eye(K)[rng.integers(0, K, 12)]


def mp_softmax(row):
    with mpmath.workdps(DIGITS):
        e = [mpmath.exp(mpmath.mpf(float(x))) for x in row]
        total = mpmath.fsum(e)
        return [x / total for x in e]


def mp_lambda(a_row, t_row):
    """Lambda_km = (sum t) y_k (delta_km - y_m), in mpmath (a list of K lists)."""
    with mpmath.workdps(DIGITS):
        y = mp_softmax(a_row)
        c = mpmath.fsum(mpmath.mpf(float(t)) for t in t_row)
        K = len(y)
        return [[c * y[k] * ((1 if k == m else 0) - y[m]) for m in range(K)] for k in range(K)]


def float_softmax(A):
    """The outputs as float64 (the engine's Y), shifted by the maximum."""
    E = np.exp(A - A.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def reference_weights(A, T):
    return np.array([[[float(x) for x in row] for row in mp_lambda(a, t)]
                     for a, t in zip(A, T)])


def reference_r_delta(A, T, RA):
    """(N, P, K) values and their term sizes sum_m |Lambda_km r_pm|, from mpmath."""
    values = np.empty(RA.shape)
    sizes = np.empty(RA.shape)
    with mpmath.workdps(DIGITS):
        for n, (a, t) in enumerate(zip(A, T)):
            lam = mp_lambda(a, t)
            for p, r in enumerate(RA[n]):
                for k, row in enumerate(lam):
                    terms = [row[m] * mpmath.mpf(float(r[m])) for m in range(len(r))]
                    values[n, p, k] = float(mpmath.fsum(terms))
                    sizes[n, p, k] = float(mpmath.fsum(abs(x) for x in terms))
    return values, sizes


def softmax_ce(K):
    net = symnet.MLP([2, 3, K], output="softmax")
    return symnet.get_loss("cross_entropy", net)


CASES = [(K, soft) for K in (2, 4, 7) for soft in (False, True)]


@pytest.mark.parametrize("K,soft", CASES, ids=[f"K{K}-{'soft' if s else 'onehot'}"
                                               for K, s in CASES])
def test_softmax_ce_gauss_newton_weights_match_mpmath(K, soft):
    A, T = logits(K, seed=K), targets(K, seed=K, soft=soft)
    got = softmax_ce(K).gauss_newton_weights(float_softmax(A), T, A)
    assert got.shape == (12, K, K)
    assert np.all(np.isfinite(got))
    want = reference_weights(A, T)
    error = np.abs(got - want)
    assert np.all(error <= RTOL * np.abs(want) + TINY), np.max(error / (np.abs(want) + TINY))


@pytest.mark.parametrize("K,soft", CASES, ids=[f"K{K}-{'soft' if s else 'onehot'}"
                                               for K, s in CASES])
def test_softmax_ce_r_delta_matches_mpmath(K, soft):
    A, T = logits(K, seed=10 + K), targets(K, seed=10 + K, soft=soft)
    RA = np.random.default_rng(K).normal(size=(12, 3, K))    # P = 3 directions
    got = softmax_ce(K).r_delta(A, float_softmax(A), T, None, None, RA)
    assert got.shape == (12, 3, K)
    want, sizes = reference_r_delta(A, T, RA)
    error = np.abs(got - want)
    assert np.all(error <= RTOL * sizes + TINY), np.max(error / (sizes + TINY))


def test_r_delta_along_unit_vectors_is_the_weights():
    # Along the unit vector e_p, R{delta}_k = Lambda_kp: P = K directions give Lambda itself
    # (the canonical pair: d delta/da is the Gauss-Newton weight), against mpmath.
    K = 3
    A, T = logits(K, seed=3), targets(K, seed=3, soft=True)
    loss, Y = softmax_ce(K), float_softmax(A)
    RA = np.broadcast_to(np.eye(K), (12, K, K))               # direction p = e_p
    R = loss.r_delta(A, Y, T, None, None, RA)                 # R[n, p, k] = Lambda_kp
    want = reference_weights(A, T)
    assert np.all(np.abs(np.swapaxes(R, 1, 2) - want) <= RTOL * np.abs(want) + TINY)


def test_the_bound_fails_the_textbook_diagonal():
    # The planted error: the textbook diagonal y_k (1 - y_k) in float64 at a = (0, 40),
    # where 1 - y_2 rounds to 0; the bound used above must reject it.
    A = np.array([[0.0, 40.0]])
    T = np.array([[0.0, 1.0]])
    Y = float_softmax(A)
    naive = (np.einsum("nk,km->nkm", Y, np.eye(2)) - Y[:, :, None] * Y[:, None, :])
    want = reference_weights(A, T)
    assert not np.all(np.abs(naive - want) <= RTOL * np.abs(want) + TINY)


@pytest.mark.parametrize("loss_name,output", [("cross_entropy", "softmax"), ("sse", "tanh"),
                                              ("cross_entropy", "sigmoid"),
                                              ("log_cosh", "linear")])
def test_value_of_a_stack_is_the_value_at_each_point(loss_name, output):
    # E at P points in one call equals P calls (metamorphic), and the first point's E equals
    # the textbook E of plain NumPy (independent): sum_n sum_k t_nk (logsumexp(a_n) - a_nk)
    # for softmax cross-entropy.
    K = 3
    net = symnet.MLP([2, 3, K], output=output)
    loss = symnet.get_loss(loss_name, net, weight_decay=0.1)
    rng = np.random.default_rng(5)
    A = rng.normal(scale=2.0, size=(4, 6, K))                 # P = 4 points, N = 6
    A[1, 0] = [900.0, -900.0, 0.0]
    act = {"softmax": float_softmax, "tanh": np.tanh, "linear": lambda a: a,
           "sigmoid": lambda a: 0.5 * (1 + np.tanh(a / 2))}[output]
    Y = np.array([act(a) for a in A])
    T = rng.uniform(0.0, 1.0, size=(6, K))
    W = rng.normal(size=(4, net.n_params))
    stacked = loss.value(A, Y, T, W)
    assert stacked.shape == (4,)
    single = [loss.value(a, y, T, w) for a, y, w in zip(A, Y, W)]
    np.testing.assert_allclose(stacked, single, rtol=1e-14, atol=0)
    if loss_name == "cross_entropy" and output == "softmax":
        a = A[0]
        shift = a.max(axis=1, keepdims=True)
        lse = shift + np.log(np.exp(a - shift).sum(axis=1, keepdims=True))
        textbook = np.sum(T * (lse - a)) + 0.05 * np.sum(W[0] ** 2)
        assert stacked[0] == pytest.approx(textbook, rel=1e-13)
