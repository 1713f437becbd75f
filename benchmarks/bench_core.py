#!/usr/bin/env python
"""Benchmark symnet's core derivations against hand-written NumPy backprop.

For each architecture (tanh hidden units, linear outputs, sum-of-squares loss)
and each derivation

    input_jacobian (method="backprop")  -> (N, K, D)
    gradient       (loss="sse")         -> (W,)
    param_jacobian                      -> (N, K, W)
    hessian        (exact, loss="sse")  -> (W, W)   only for W <= 1000 (O(W^2)), symnet's limit

the script reports

    derive   wall time of the ``symnet.xxx(net, ...)`` call (the network is
             built beforehand and timed separately); the first call is cold,
             in a fresh Python process; up to 2 more calls on a freshly built
             network with sympy's cache cleared, while the total stays under
             5 s; the median is reported;
    compile  time of the first ``.evaluate`` call minus the median of later
             calls, both on the same small batch (8 samples), i.e. the one-off
             cost of turning the expression into a NumPy function.  If the
             library compiles inside the derivation call this is ~0;
    symnet   median wall time of ``.evaluate`` at N = 10,000 samples
             (N = 1,000 for the exact Hessian);
    numpy    median wall time of the hand-written NumPy baseline below, same
             data, same process, calls interleaved with symnet's;
    ratio    median over repeats of symnet time / numpy time (paired); a
             repeat times enough back-to-back calls to last >= 50 ms.

Before anything is timed, every symnet result is compared with the baseline
(``np.allclose``, rtol=1e-7) so that a wrong answer is reported as WRONG and
never timed.  The baselines themselves are checked against central finite
differences at start-up (``--selftest`` runs only that).

Also timed (full run only): plain ``sympy.Matrix.jacobian`` of the fully
substituted outputs of an [8,16,4] network with respect to its 212 parameters,
built directly with sympy (no symnet) -- the reference the issue quotes
(3.6 s measured elsewhere).

Each (architecture, derivation) case runs in its own subprocess with a
timeout, so a derivation that hangs is reported as TIMEOUT instead of stalling
the whole benchmark.

Usage:
    python benchmarks/bench_core.py            # full run (a few minutes, 2 cores)
    python benchmarks/bench_core.py --quick    # CI smoke run: 2 smallest nets, 3 repeats
    python benchmarks/bench_core.py --markdown # also print the table as markdown
    python benchmarks/bench_core.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ARCHS = [(3, 4, 2), (8, 16, 4), (8, 16, 16, 4), (16, 32, 32, 8)]
DERIVATIONS = ["input_jacobian", "gradient", "param_jacobian", "hessian"]
HESSIAN_MAX_W_QUICK = 100
N_EVAL = 10_000
N_HESS = 1_000
N_COMPILE = 8
RTOL = 1e-7
SYMBOLIC_CHECK_MAX_W = 30   # also evaluate the symbolic .matrix for nets this small
TIME_BUDGET_S = 15.0        # per case, for the evaluation timing loop
MIN_SAMPLE_S = 0.05         # a timing sample repeats a call until it lasts this long

# Targets from the issue.
TARGET_DERIVE_ARCH = (8, 16, 16, 4)
TARGET_DERIVE_S = 1.0
TARGET_HESS_ARCH = (3, 4, 2)
TARGET_HESS_S = 0.5
TARGET_EVAL_RATIO = 2.0
SYMPY_REF_ARCH = (8, 16, 4)
SYMPY_REF_QUOTED_S = 3.6

RESULT_TAG = "BENCH_RESULT_JSON:"

# Benchmark the symnet of this checkout (benchmarks/..), not an installed copy.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from symnet._size import MAX_HESSIAN_PARAMS as HESSIAN_MAX_W  # noqa: E402  (the library's limit)


# --------------------------------------------------------------------------
# Parameter layout (symnet canonical order): layer 1..L, each layer its
# weights row-major W^(l)[j, i] = w_ji^(l), shape (n_l, n_{l-1}), then biases.
# --------------------------------------------------------------------------
def n_params(sizes):
    return sum(sizes[l + 1] * sizes[l] + sizes[l + 1] for l in range(len(sizes) - 1))


def layer_slices(sizes):
    """[(w_offset, b_offset, n_out, n_in)] for each weight layer."""
    out, off = [], 0
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        out.append((off, off + n_out * n_in, n_out, n_in))
        off += n_out * n_in + n_out
    return out


def pack(Ws, bs):
    return np.concatenate([np.concatenate([W.ravel(), b.ravel()]) for W, b in zip(Ws, bs)])


def unpack(w, sizes):
    Ws, bs = [], []
    for wo, bo, n_out, n_in in layer_slices(sizes):
        Ws.append(w[wo:bo].reshape(n_out, n_in))
        bs.append(w[bo:bo + n_out])
    return Ws, bs


def make_problem(sizes, n, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(0.0, 1.0 / np.sqrt(sizes[l]), size=(sizes[l + 1], sizes[l]))
          for l in range(len(sizes) - 1)]
    bs = [rng.normal(0.0, 0.5, size=sizes[l + 1]) for l in range(len(sizes) - 1)]
    X = rng.normal(size=(n, sizes[0]))
    T = rng.normal(size=(n, sizes[-1]))
    return X, T, Ws, bs


# --------------------------------------------------------------------------
# Hand-written NumPy baselines (tanh hidden, linear output, sse loss).
# --------------------------------------------------------------------------
def np_forward(X, Ws, bs):
    """Returns zs = [z^(0) = X, z^(1), ..., z^(L) = y]."""
    zs = [X]
    L = len(Ws)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        a = zs[-1] @ W.T + b
        zs.append(np.tanh(a) if l < L - 1 else a)
    return zs


def np_gradient(X, T, Ws, bs):
    """dE/dw summed over samples, E = 1/2 sum (y - t)^2; delta recursion."""
    zs = np_forward(X, Ws, bs)
    L = len(Ws)
    delta = zs[L] - T                                   # delta^(L) = y - t
    parts = [None] * L
    for l in range(L - 1, -1, -1):
        gW = delta.T @ zs[l]
        gb = delta.sum(axis=0)
        parts[l] = (gW, gb)
        if l > 0:
            z = zs[l]
            delta = (delta @ Ws[l]) * (1.0 - z * z)
    return np.concatenate([np.concatenate([gW.ravel(), gb]) for gW, gb in parts])


def np_input_jacobian(X, Ws, bs):
    """J[n, k, i] = dy_k/dx_i, backprop batched over the K outputs."""
    zs = np_forward(X, Ws, bs)
    L = len(Ws)
    # dy/da^(L) = I (linear outputs), so dy/dz^(L-1) = W^(L) for every sample.
    G = Ws[L - 1]                                       # (K, n_{L-1})
    for l in range(L - 1, 0, -1):
        z = zs[l]
        G = G * (1.0 - z * z)[:, None, :]               # dy/da^(l): (N, K, n_l)
        G = G @ Ws[l - 1]                               # dy/dz^(l-1)
    if G.ndim == 2:                                     # single-layer net
        G = np.broadcast_to(G, (X.shape[0],) + G.shape).copy()
    return G


def np_param_jacobian(X, Ws, bs, out=None):
    """J[n, k, j] = dy_k(x_n)/dw_j, per-output backprop batched over K,
    written block by block into a preallocated (N, K, W) array."""
    zs = np_forward(X, Ws, bs)
    L = len(Ws)
    N = X.shape[0]
    K = Ws[-1].shape[0]
    sizes = [X.shape[1]] + [W.shape[0] for W in Ws]
    slices = layer_slices(sizes)
    Wtot = slices[-1][1] + K
    if out is None:
        out = np.empty((N, K, Wtot))
    # Output layer: dy_k/dw_ki^(L) = delta_kj z_i^(L-1), dy_k/db_j^(L) = delta_kj.
    # Only this block has structural zeros; every other entry is overwritten.
    wo, bo, n_out, n_in = slices[L - 1]
    blk = out[:, :, wo:bo].reshape(N, K, K, n_in)
    assert np.shares_memory(blk, out)
    blk[...] = 0.0
    out[:, :, bo:bo + K] = 0.0
    for k in range(K):
        blk[:, k, k, :] = zs[L - 1]
        out[:, k, bo + k] = 1.0
    # Hidden layers: delta_kj^(l) = dy_k/da_j^(l), shape (N, K, n_l).
    G = Ws[L - 1]                                       # dy/dz^(L-1): (K, n_{L-1})
    for l in range(L - 1, 0, -1):
        z = zs[l]
        delta = G * (1.0 - z * z)[:, None, :]           # (N, K, n_l)
        wo, bo, n_out, n_in = slices[l - 1]
        blk = out[:, :, wo:bo].reshape(N, K, n_out, n_in)
        assert np.shares_memory(blk, out)               # must be a view
        np.multiply(delta[:, :, :, None], zs[l - 1][:, None, None, :], out=blk)
        out[:, :, bo:bo + n_out] = delta
        if l > 1:
            G = delta @ Ws[l - 1]
    return out


def np_hessian(X, T, Ws, bs, chunk=128):
    """Exact Hessian of E = 1/2 sum (y - t)^2 via Pearlmutter's R-operator
    (forward-over-reverse), one Hessian-vector product per unit direction e_j,
    batched over directions (chunks of `chunk`)."""
    zs = np_forward(X, Ws, bs)
    L = len(Ws)
    sizes = [X.shape[1]] + [W.shape[0] for W in Ws]
    slices = layer_slices(sizes)
    Wtot = n_params(sizes)
    hp = [None] + [1.0 - zs[l] ** 2 for l in range(1, L)]          # h'(a^(l))
    hpp = [None] + [-2.0 * zs[l] * hp[l] for l in range(1, L)]     # h''(a^(l))
    # ordinary backward pass
    deltas = [None] * (L + 1)
    deltas[L] = zs[L] - T
    for l in range(L, 1, -1):
        deltas[l - 1] = (deltas[l] @ Ws[l - 1]) * hp[l - 1]
    H = np.empty((Wtot, Wtot))
    for c0 in range(0, Wtot, chunk):
        E = np.eye(Wtot)[c0:c0 + chunk]                             # directions (P, W)
        P = E.shape[0]
        V, vb = unpack_batch(E, slices)
        # R-forward
        Ra = [None] * (L + 1)
        Rz = [None] * (L + 1)                                       # Rz[0] = 0
        for l in range(1, L + 1):
            r = np.matmul(V[l - 1], zs[l - 1].T).transpose(0, 2, 1) + vb[l - 1][:, None, :]
            if l > 1:
                r += Rz[l - 1] @ Ws[l - 1].T
            Ra[l] = r
            Rz[l] = hp[l] * r if l < L else r
        # R-backward
        Rdelta = Rz[L]                                              # R{y - t} = R{y}
        Hc = np.empty((P, Wtot))
        for l in range(L, 0, -1):
            wo, bo, n_out, n_in = slices[l - 1]
            RgW = np.matmul(Rdelta.transpose(0, 2, 1), zs[l - 1])
            if l > 1:
                RgW += np.matmul(deltas[l].T, Rz[l - 1])
            Hc[:, wo:bo] = RgW.reshape(P, -1)
            Hc[:, bo:bo + n_out] = Rdelta.sum(axis=1)
            if l > 1:
                back = deltas[l] @ Ws[l - 1]                        # (N, n_{l-1})
                Rback = Rdelta @ Ws[l - 1] + np.matmul(deltas[l], V[l - 1])
                Rdelta = hpp[l - 1] * Ra[l - 1] * back + hp[l - 1] * Rback
        H[c0:c0 + P] = Hc
    return H


def unpack_batch(E, slices):
    V, vb = [], []
    P = E.shape[0]
    for wo, bo, n_out, n_in in slices:
        V.append(E[:, wo:bo].reshape(P, n_out, n_in))
        vb.append(E[:, bo:bo + n_out])
    return V, vb


def np_loss(X, T, Ws, bs):
    y = np_forward(X, Ws, bs)[-1]
    return 0.5 * np.sum((y - T) ** 2)


# --------------------------------------------------------------------------
# Self-test of the baselines against central finite differences.
# --------------------------------------------------------------------------
def selftest(verbose=True):
    sizes = (3, 4, 5, 2)
    X, T, Ws, bs = make_problem(sizes, 7, seed=1)
    w0 = pack(Ws, bs)
    W = w0.size
    h = 1e-5

    def loss(w):
        a, b = unpack(w, sizes)
        return np_loss(X, T, a, b)

    def fwd(w, Xa=X):
        a, b = unpack(w, sizes)
        return np_forward(Xa, a, b)[-1]

    def grad(w):
        a, b = unpack(w, sizes)
        return np_gradient(X, T, a, b)

    eye = np.eye(W)
    g_fd = np.array([(loss(w0 + h * e) - loss(w0 - h * e)) / (2 * h) for e in eye])
    Jp_fd = np.stack([(fwd(w0 + h * e) - fwd(w0 - h * e)) / (2 * h) for e in eye], axis=-1)
    H_fd = np.stack([(grad(w0 + h * e) - grad(w0 - h * e)) / (2 * h) for e in eye], axis=-1)
    Ji_fd = np.stack([(fwd(w0, X + h * e) - fwd(w0, X - h * e)) / (2 * h)
                      for e in np.eye(sizes[0])], axis=-1)
    checks = {
        "gradient": (np_gradient(X, T, Ws, bs), g_fd),
        "param_jacobian": (np_param_jacobian(X, Ws, bs), Jp_fd),
        "input_jacobian": (np_input_jacobian(X, Ws, bs), Ji_fd),
        "hessian": (np_hessian(X, T, Ws, bs, chunk=11), H_fd),
    }
    ok = True
    for name, (a, b) in checks.items():
        err = np.max(np.abs(a - b)) / max(1.0, np.max(np.abs(b)))
        good = err < 1e-7
        ok &= good
        if verbose or not good:
            print(f"  baseline self-test {name:15s} max rel err vs finite differences {err:.1e} "
                  f"{'ok' if good else 'FAILED'}")
    H = checks["hessian"][0]
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12):
        print("  baseline self-test hessian not symmetric FAILED")
        ok = False
    # packing layout is what the spec says: first block is W^(1) row-major
    a, b = unpack(np.arange(W, dtype=float), sizes)
    if not (a[0][1, 0] == sizes[0] and b[0][0] == sizes[0] * sizes[1]):
        print("  baseline self-test packing layout FAILED")
        ok = False
    return ok


# --------------------------------------------------------------------------
# One benchmark case (runs in a child process).
# --------------------------------------------------------------------------
def median_time(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def compare(a, b):
    a = np.asarray(a)
    scale = max(1.0, float(np.max(np.abs(b))))
    if a.shape != b.shape:
        return False, f"shape {a.shape} != expected {b.shape}"
    if not np.all(np.isfinite(a)):
        return False, "non-finite values"
    err = float(np.max(np.abs(a - b))) / scale
    ok = bool(np.allclose(a, b, rtol=RTOL, atol=1e-12 * scale))
    return ok, f"max err/scale {err:.1e}"


def run_case(arch, deriv, repeats, n_eval, n_hess, derive_repeats=1):
    res = {"arch": list(arch), "deriv": deriv, "W": n_params(arch)}
    import symnet  # noqa: F401  (import time not counted)

    n = n_hess if deriv == "hessian" else n_eval
    res["N"] = n
    X, T, Ws, bs = make_problem(arch, n, seed=0)
    w = pack(Ws, bs)

    t0 = time.perf_counter()
    net = symnet.MLP(list(arch), hidden="tanh", output="linear")
    res["t_net"] = time.perf_counter() - t0

    notes = []
    # layout / forward sanity (cheap, tells apart "wrong order" from "wrong maths")
    try:
        wn = np.asarray(net.pack([W.copy() for W in Ws], [b.copy() for b in bs]), dtype=float)
        if wn.shape != w.shape or not np.array_equal(wn, w):
            notes.append("net.pack order differs from spec")
        yf = np.asarray(net.forward(X[:50], w))
        if not np.allclose(yf, np_forward(X[:50], Ws, bs)[-1], rtol=1e-10, atol=1e-12):
            notes.append("net.forward differs from baseline")
    except Exception as e:  # report, do not hide
        notes.append(f"pack/forward raised {type(e).__name__}: {e}")

    if deriv == "input_jacobian":
        make = lambda: symnet.input_jacobian(net, method="backprop")
        sym_eval = lambda d, Xa, Ta: d.evaluate(Xa, w)
        base = lambda Xa, Ta: np_input_jacobian(Xa, Ws, bs)
    elif deriv == "gradient":
        make = lambda: symnet.gradient(net, "sse")
        sym_eval = lambda d, Xa, Ta: d.evaluate(Xa, w, Ta)
        base = lambda Xa, Ta: np_gradient(Xa, Ta, Ws, bs)
    elif deriv == "param_jacobian":
        make = lambda: symnet.param_jacobian(net)
        sym_eval = lambda d, Xa, Ta: d.evaluate(Xa, w)
        buf = np.empty((n, arch[-1], n_params(arch)))

        def base(Xa, Ta):
            return np_param_jacobian(Xa, Ws, bs, out=buf if Xa.shape[0] == n else None)
    elif deriv == "hessian":
        make = lambda: symnet.hessian(net, "sse")
        sym_eval = lambda d, Xa, Ta: d.evaluate(Xa, w, Ta)
        base = lambda Xa, Ta: np_hessian(Xa, Ta, Ws, bs)
    else:
        raise ValueError(deriv)

    t0 = time.perf_counter()
    d = make()
    derive_times = [time.perf_counter() - t0]
    # Further derivations on a fresh network with sympy's cache cleared, while
    # the total stays small; the reported value is the median (first = cold).
    from sympy.core.cache import clear_cache
    while len(derive_times) < derive_repeats and sum(derive_times) < 5.0:
        net = symnet.MLP(list(arch), hidden="tanh", output="linear")
        clear_cache()
        t0 = time.perf_counter()
        d = make()
        derive_times.append(time.perf_counter() - t0)
    res["t_derive_all"] = derive_times
    res["t_derive"] = statistics.median(derive_times)

    # compile: first evaluate call minus the median of later calls, small batch
    Xs, Ts = X[:N_COMPILE], T[:N_COMPILE]
    t0 = time.perf_counter()
    r_small = sym_eval(d, Xs, Ts)
    t_first = time.perf_counter() - t0
    t_later = median_time(lambda: sym_eval(d, Xs, Ts), 5)
    res["t_first"] = t_first
    res["t_compile"] = max(0.0, t_first - t_later)

    ok_s, msg_s = compare(r_small, base(Xs, Ts))
    # correctness at the timed size, before timing
    expected = base(X, T).copy()
    r = sym_eval(d, X, T)
    ok, msg = compare(r, expected)
    res["check"] = msg if ok_s else f"small batch: {msg_s}; full: {msg}"
    if not (ok and ok_s):
        res["status"] = "WRONG"
        res["notes"] = notes
        return res
    del r, expected, r_small
    # The symbolic result itself (.matrix, fully substituted in x, w, t), lambdified
    # and evaluated per sample, must agree too -- only for tiny nets (it is slow).
    if n_params(arch) <= SYMBOLIC_CHECK_MAX_W:
        try:
            res["check_symbolic"] = symbolic_check(net, d, deriv, Xs, Ts, w, base(Xs, Ts))
        except Exception as e:
            res["check_symbolic"] = f"FAILED {type(e).__name__}: {e}"
        if not res["check_symbolic"].startswith("ok"):
            notes.append(f"{deriv}: symbolic .matrix check {res['check_symbolic']}")

    # Interleave symnet and baseline calls so that load from other processes on
    # the machine hits both alike; the ratio is the median of the paired ratios.
    # Each sample times `number` back-to-back calls (timeit-style, so that a
    # sample lasts >= MIN_SAMPLE_S) and reports the time per call.
    # At least 3 samples; stop early once they have taken TIME_BUDGET_S.
    def per_call(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    n_sym = max(1, int(MIN_SAMPLE_S / max(per_call(lambda: sym_eval(d, X, T)), 1e-6)))
    n_np = max(1, int(MIN_SAMPLE_S / max(per_call(lambda: base(X, T)), 1e-6)))
    t_sym, t_np = [], []
    for rep in range(repeats):
        if rep >= 3 and sum(t_sym) * n_sym + sum(t_np) * n_np > TIME_BUDGET_S:
            break
        t0 = time.perf_counter()
        for _ in range(n_sym):
            sym_eval(d, X, T)
        t1 = time.perf_counter()
        for _ in range(n_np):
            base(X, T)
        t2 = time.perf_counter()
        t_sym.append((t1 - t0) / n_sym)
        t_np.append((t2 - t1) / n_np)
    res["t_sym"] = statistics.median(t_sym)
    res["t_np"] = statistics.median(t_np)
    res["ratio"] = statistics.median(a / b for a, b in zip(t_sym, t_np))
    res["repeats"] = len(t_sym)
    res["t_sym_min"], res["t_np_min"] = min(t_sym), min(t_np)
    res["ratio_best"] = min(t_sym) / min(t_np)
    if deriv == "param_jacobian":
        # for reference: the same baseline allocating a fresh (N, K, W) array per
        # call, as any function returning a new array must
        res["t_np_alloc"] = median_time(lambda: np_param_jacobian(X, Ws, bs), min(3, repeats))
    res["status"] = "ok"
    res["notes"] = notes
    return res


def symbolic_check(net, d, deriv, Xs, Ts, w, expected):
    import sympy as sp
    args = list(net.inputs) + list(net.params) + list(net.targets)
    f = sp.lambdify(args, d.matrix, "numpy", cse=True)
    V = np.array([np.array(f(*Xs[n], *w, *Ts[n]), dtype=float) for n in range(Xs.shape[0])])
    if deriv == "gradient":
        V = V.sum(axis=0)[:, 0]
    elif deriv == "hessian":
        V = V.sum(axis=0)
    ok, msg = compare(V.reshape(expected.shape) if V.size == expected.size else V, expected)
    return ("ok " if ok else "WRONG ") + msg


def run_sympy_reference(arch):
    """Plain sympy: Matrix.jacobian of the fully substituted outputs w.r.t. all params."""
    import sympy as sp
    D, *hidden, K = arch
    x = sp.Matrix(sp.symbols(f"x_1:{D + 1}"))
    params = []
    z = x
    sizes = list(arch)
    L = len(sizes) - 1
    t_build0 = time.perf_counter()
    for l in range(1, L + 1):
        n_in, n_out = sizes[l - 1], sizes[l]
        W = sp.Matrix(n_out, n_in, lambda j, i: sp.Symbol(f"w_{j + 1},{i + 1}^({l})"))
        b = sp.Matrix(n_out, 1, lambda j, _: sp.Symbol(f"b_{j + 1}^({l})"))
        params += list(W) + list(b)             # row-major weights then biases
        a = W * z + b
        z = a.applyfunc(sp.tanh) if l < L else a
    t_build = time.perf_counter() - t_build0
    t0 = time.perf_counter()
    J = z.jacobian(params)
    t_jac = time.perf_counter() - t0
    return {"arch": list(arch), "W": len(params), "t_build": t_build,
            "t_jacobian": t_jac, "shape": list(J.shape), "status": "ok"}


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------
def child_main(args):
    try:
        if args.case == "sympy_ref":
            res = run_sympy_reference(tuple(int(s) for s in args.arch.split(",")))
        else:
            res = run_case(tuple(int(s) for s in args.arch.split(",")), args.case,
                           args.repeats, args.n, args.n_hess, args.derive_repeats)
    except Exception as e:
        import traceback
        tb = traceback.format_exc().strip().splitlines()
        res = {"status": "ERROR", "error": f"{type(e).__name__}: {e}", "traceback": tb[-6:]}
    print(RESULT_TAG + json.dumps(res), flush=True)


def spawn(case, arch, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--_case", case,
           "--_arch", ",".join(map(str, arch)), "--repeats", str(args.repeats),
           "--n", str(args.n), "--n-hess", str(args.n_hess),
           "--derive-repeats", str(args.derive_repeats)]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                           cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"arch": list(arch), "deriv": case, "W": n_params(arch),
                "status": "TIMEOUT", "error": f"> {args.timeout:.0f} s (whole case)",
                "wall": time.perf_counter() - t0}
    wall = time.perf_counter() - t0
    for line in p.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG):])
            res.setdefault("arch", list(arch))
            res.setdefault("deriv", case)
            res.setdefault("W", n_params(arch))
            res["wall"] = wall
            return res
    return {"arch": list(arch), "deriv": case, "W": n_params(arch), "status": "ERROR",
            "error": f"child exited {p.returncode}: " + (p.stderr.strip().splitlines() or [""])[-1]}


def load_avg():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def warn_load():
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        return
    if load1 > 0.75 * (os.cpu_count() or 1):
        print(f"WARNING: machine busy (1-min load {load1:.1f} on {os.cpu_count()} cpus): "
              "timings are inflated and noisy; ratios are paired to limit the damage")


def fmt_s(t):
    if t is None:
        return "-"
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} us"


def build_rows(results):
    rows = []
    for r in results:
        arch = "[" + ",".join(map(str, r["arch"])) + "]"
        name = r["deriv"] + (" (exact)" if r["deriv"] == "hessian" else "")
        st = r.get("status")
        if st == "ok":
            ratio = r.get("ratio", r["t_sym"] / r["t_np"])
            rows.append([arch, str(r["W"]), name, f"{r['N']:,}", fmt_s(r["t_derive"]),
                         fmt_s(r["t_compile"]), fmt_s(r["t_sym"]), fmt_s(r["t_np"]),
                         f"{ratio:.2f}x", "ok " + r.get("check", "").replace("max err/scale ", "")
                         + (", .matrix " + r["check_symbolic"].replace("max err/scale ", "")
                            if r.get("check_symbolic") else "")])
        elif st == "SKIP":
            rows.append([arch, str(r["W"]), name, "-", "-", "-", "-", "-", "-", r["error"]])
        elif st == "WRONG":
            rows.append([arch, str(r["W"]), name, f"{r['N']:,}", fmt_s(r.get("t_derive")),
                         fmt_s(r.get("t_compile")), "-", "-", "-", "WRONG " + r.get("check", "")])
        else:
            rows.append([arch, str(r["W"]), name, "-", "-", "-", "-", "-", "-",
                         f"{st}: {r.get('error', '')}"])
    return rows


HEADER = ["net", "W", "derivation", "N", "derive", "compile", "symnet eval",
          "numpy eval", "ratio", "check"]


def print_table(rows, markdown=False):
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "|".join("---" if i in (0, 2, 9) else "---:" for i in range(len(HEADER))) + "|")
        for row in rows:
            print("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        return
    widths = [max(len(HEADER[i]), *(len(row[i]) for row in rows)) for i in range(len(HEADER))]
    right = {1, 3, 4, 5, 6, 7, 8}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    print(line(HEADER))
    print("  ".join("-" * w for w in widths))
    prev = None
    for row in rows:
        if prev is not None and row[0] != prev:
            print()
        prev = row[0]
        print(line(row))


def targets(results):
    by = {(tuple(r["arch"]), r["deriv"]): r for r in results}
    out = []

    def verdict(cond):
        return "PASS" if cond else "MISS"

    for deriv in ("gradient", "param_jacobian"):
        r = by.get((TARGET_DERIVE_ARCH, deriv))
        label = f"{deriv} of {list(TARGET_DERIVE_ARCH)} derives < {TARGET_DERIVE_S:g} s"
        if r is None:
            out.append((label, "n/a", "not run (use the full run)"))
        elif r.get("t_derive") is None:
            out.append((label, "MISS", r.get("status", "?") + " " + r.get("error", "")))
        else:
            extra = "" if r["status"] == "ok" else f" (but result {r['status']})"
            out.append((label, verdict(r["t_derive"] < TARGET_DERIVE_S and r["status"] == "ok"),
                        fmt_s(r["t_derive"]) + extra))
    r = by.get((TARGET_HESS_ARCH, "hessian"))
    label = f"exact hessian of {list(TARGET_HESS_ARCH)} derives < {TARGET_HESS_S:g} s"
    if r is None:
        out.append((label, "n/a", "not run"))
    elif r.get("t_derive") is None:
        out.append((label, "MISS", r.get("status", "?") + " " + r.get("error", "")))
    else:
        extra = "" if r["status"] == "ok" else f" (but result {r['status']})"
        out.append((label, verdict(r["t_derive"] < TARGET_HESS_S and r["status"] == "ok"),
                    fmt_s(r["t_derive"]) + extra))
    for deriv in ("gradient", "param_jacobian"):
        for r in results:
            if r["deriv"] != deriv:
                continue
            label = (f"{deriv} eval of {r['arch']} at N={N_EVAL:,} within "
                     f"{TARGET_EVAL_RATIO:g}x of numpy")
            if r.get("status") != "ok":
                out.append((label, "MISS", r.get("status", "?")))
                continue
            ratio = r.get("ratio", r["t_sym"] / r["t_np"])
            note = f"{ratio:.2f}x"
            if "ratio_best" in r:
                note += f" (best-of-{r['repeats']} ratio {r['ratio_best']:.2f}x)"
            if r["N"] != N_EVAL:
                note += f" (measured at N={r['N']:,}, not {N_EVAL:,})"
            out.append((label, verdict(ratio <= TARGET_EVAL_RATIO), note))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="CI smoke run: two smallest nets, 3 repeats, no sympy reference")
    ap.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    ap.add_argument("--repeats", type=int, default=None, help="timing repeats (default 7, quick 3)")
    ap.add_argument("--derive-repeats", type=int, default=None,
                    help="derivations per case (fresh net, sympy cache cleared; stops once they "
                         "total 5 s); default 3, quick 1")
    ap.add_argument("--n", type=int, default=N_EVAL, help="samples for evaluation timing")
    ap.add_argument("--n-hess", type=int, default=N_HESS, help="samples for the exact Hessian")
    ap.add_argument("--timeout", type=float, default=None,
                    help="per-case timeout in seconds (default 400, quick 60)")
    ap.add_argument("--arch", action="append", default=None,
                    help="architecture like 8,16,4 (repeatable; overrides the default list)")
    ap.add_argument("--only", action="append", choices=DERIVATIONS, default=None,
                    help="run only these derivations (repeatable)")
    ap.add_argument("--no-sympy-ref", action="store_true", help="skip the plain sympy reference")
    ap.add_argument("--selftest", action="store_true", help="only check the baselines and exit")
    ap.add_argument("--json", metavar="PATH", help="write raw results as JSON")
    ap.add_argument("--_case", dest="case", help=argparse.SUPPRESS)
    ap.add_argument("--_arch", dest="arch_child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.case:
        args.arch = args.arch_child
        args.repeats = args.repeats or 9
        args.derive_repeats = args.derive_repeats or 1
        return child_main(args)

    args.repeats = args.repeats or (3 if args.quick else 9)
    args.derive_repeats = args.derive_repeats or (1 if args.quick else 3)
    args.timeout = args.timeout or (60.0 if args.quick else 400.0)
    archs = ([tuple(int(s) for s in a.split(",")) for a in args.arch] if args.arch
             else (ARCHS[:2] if args.quick else ARCHS))
    derivs = args.only or DERIVATIONS

    import sympy
    print(f"symnet core benchmark  ({'quick' if args.quick else 'full'} run)")
    print(f"python {platform.python_version()}, numpy {np.__version__}, sympy {sympy.__version__}, "
          f"{os.cpu_count()} cpus, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"tanh hidden, linear output, sse loss; evaluation at N={args.n:,} "
          f"(exact hessian at N={args.n_hess:,}); eval = median of {args.repeats} interleaved "
          f"symnet/numpy repeats; derive = median of up to {args.derive_repeats} calls "
          f"(first one cold, in a fresh process)")
    print(f"load average at start: {load_avg()}")
    warn_load()
    t_start = time.perf_counter()
    ok = selftest(verbose=args.selftest)
    print(f"baseline self-test vs finite differences: {'ok' if ok else 'FAILED'}")
    if args.selftest or not ok:
        return 0 if ok else 1

    p = subprocess.run([sys.executable, "-c", "import symnet; symnet.MLP; print(symnet.__file__)"],
                       capture_output=True, text=True, cwd=REPO)
    if p.returncode != 0:
        print("cannot import symnet: " + (p.stderr.strip().splitlines() or ["?"])[-1])
        return 2
    print(f"symnet from {p.stdout.strip()}")

    # The exact Hessian is O(W^2); in --quick only the smallest net's (the [8,16,4]
    # one takes ~10 s to derive, too slow for a smoke run).
    hess_max_w = HESSIAN_MAX_W_QUICK if args.quick else HESSIAN_MAX_W
    results = []
    notes = set()
    for arch in archs:
        for deriv in derivs:
            if deriv == "hessian" and n_params(arch) > hess_max_w:
                why = f"skipped: W > {hess_max_w}" + (" in --quick" if args.quick else "")
                results.append({"arch": list(arch), "deriv": deriv, "W": n_params(arch),
                                "status": "SKIP", "error": why})
                continue
            print(f"  running {deriv:15s} {list(arch)} ...", end="", flush=True)
            r = spawn(deriv, arch, args)
            results.append(r)
            print(f" {r.get('status')} ({r.get('wall', 0):.1f} s)", flush=True)
            for n_ in r.get("notes", []) or []:
                notes.add(f"{list(arch)}: {n_}")
            if r.get("status") in ("ERROR",) and r.get("traceback"):
                print("    " + "\n    ".join(r["traceback"]))

    sym_ref = None
    if not args.quick and not args.no_sympy_ref:
        print(f"  running plain sympy Matrix.jacobian {list(SYMPY_REF_ARCH)} ...", end="", flush=True)
        sym_ref = spawn("sympy_ref", SYMPY_REF_ARCH, args)
        print(f" {sym_ref.get('status')} ({sym_ref.get('wall', 0):.1f} s)", flush=True)

    print()
    rows = build_rows(results)
    print_table(rows)
    nets = {}
    for r in results:
        if r.get("t_net") is not None:
            nets.setdefault(tuple(r["arch"]), []).append(r["t_net"])
    if nets:
        print("\nsymnet.MLP(...) construction (median over cases): " + ", ".join(
            f"{list(a)} {fmt_s(statistics.median(t))}" for a, t in nets.items()))
    for r in results:
        if r.get("t_np_alloc"):
            print(f"param_jacobian {r['arch']}: numpy baseline allocating a fresh output array "
                  f"each call {fmt_s(r['t_np_alloc'])} (vs {fmt_s(r['t_np'])} preallocated; "
                  f"symnet {fmt_s(r['t_sym'])})")
    if sym_ref is not None:
        if sym_ref.get("status") == "ok":
            print(f"plain sympy reference {list(SYMPY_REF_ARCH)} (W={sym_ref['W']}): "
                  f"Matrix.jacobian of substituted outputs {fmt_s(sym_ref['t_jacobian'])} "
                  f"(expression build {fmt_s(sym_ref['t_build'])}; issue quotes "
                  f"{SYMPY_REF_QUOTED_S} s measured elsewhere)")
            r = next((r for r in results if tuple(r["arch"]) == SYMPY_REF_ARCH
                      and r["deriv"] == "param_jacobian" and r.get("t_derive")), None)
            if r:
                print(f"  symnet.param_jacobian {list(SYMPY_REF_ARCH)} derive {fmt_s(r['t_derive'])}"
                      f" = {sym_ref['t_jacobian'] / r['t_derive']:.1f}x faster than plain sympy")
        else:
            print(f"plain sympy reference: {sym_ref.get('status')} {sym_ref.get('error', '')}")
    print("check = max |symnet - numpy| / max(1, max |numpy|); .matrix = the symbolic result "
          "lambdified, on 8 samples (nets with W <= 30)")
    print("compile = first .evaluate call minus median later call, on "
          f"{N_COMPILE} samples; ratio = median of paired symnet/numpy times; exact hessian baseline = R-operator "
          "(forward-over-reverse), one Hv product per parameter")

    print("\ntargets")
    tg = targets(results)
    wl = max(len(t[0]) for t in tg)
    for label, v, note in tg:
        print(f"  {v:4s}  {label.ljust(wl)}  {note}")
    if notes:
        print("\nproblems noticed")
        for n_ in sorted(notes):
            print("  " + n_)
    bad = [r for r in results if r.get("status") in ("WRONG", "ERROR", "TIMEOUT")]
    if bad:
        print("\nFAILED CASES: " + ", ".join(f"{r['deriv']} {r['arch']} {r['status']}" for r in bad))
    if args.markdown:
        print()
        print_table(rows, markdown=True)
        print()
        print("| target | result | measured |\n|---|---|---|")
        for label, v, note in tg:
            print(f"| {label} | {v} | {note} |")
    print(f"\nload average at end: {load_avg()}")
    warn_load()
    print(f"total benchmark time {time.perf_counter() - t_start:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "sympy_ref": sym_ref, "targets": tg}, f, indent=1)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
