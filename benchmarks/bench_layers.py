#!/usr/bin/env python
"""Benchmark symnet's derivations of a convolutional net and an RNN against hand-written NumPy.

Two networks (issue 14, section 3), tanh hidden units, linear outputs, loss "sse":

    conv1d   Network((1, 32), [Conv1D(4, 5, "tanh"), Flatten(), Dense(8, "tanh"),
             Dense(1, "linear")])                                     W = 937
    rnn      RNN(2, 8, 1, steps=20, outputs="last")                   W = 97

and two derivations each, at N = 10,000 samples,

    gradient         (W,)        symnet.gradient(net, "sse").evaluate(X, w, T)
    param_jacobian   (N, 1, W)   symnet.param_jacobian(net).evaluate(X, w)

The script reports

    symnet   median wall time of ``.evaluate`` (the compiled matrix form,
             ``symnet.compiled.layered_form``);
    numpy    median wall time of the hand-written NumPy version below (written
             here, independent of symnet: a correlation by index gathering, its
             backprop by tensordot, BPTT as a loop over time), same data, same
             process, calls interleaved with symnet's;
    ratio    median over repeats of the paired ratios symnet / numpy (target: <= 2).

Before anything is timed each symnet result is compared with the hand-written one
(relative 1e-10), and the hand-written gradients with central differences of the
hand-written loss, so that a wrong answer is reported as WRONG and never timed.

Also timed, each in a fresh Python process (cold, nothing cached): building each
network, and deriving its gradient and parameter Jacobian symbolically (target for the
RNN's gradient: < 2 s).

BLAS runs on one thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS
are set: on a small shared machine BLAS threads only add noise (a (10000, 8) x (8, 8)
product measured 0.15 ms on one thread and a median of 24 ms on two busy cores), and both
sides of every ratio make the same products.

Usage:
    python benchmarks/bench_layers.py            # full run (about a minute)
    python benchmarks/bench_layers.py --quick    # smoke run: N = 1,000, 3 repeats
    python benchmarks/bench_layers.py --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")       # before NumPy loads BLAS (see above)

import numpy as np  # noqa: E402

N_EVAL = 10_000
REPEATS = 7
MIN_SAMPLE_S = 0.05          # a timing sample repeats a call until it lasts this long
TARGET_RATIO = 2.0
TARGET_RNN_DERIVE_S = 2.0
RTOL = 1e-10

# Benchmark the symnet of this checkout (benchmarks/..), not an installed copy.
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

# ------------------------------------------------------------------ the conv1d network
L_IN, C_OUT, KERNEL, HIDDEN = 32, 4, 5, 8
L_OUT = L_IN - KERNEL + 1


def conv_unpack(w):
    """kernel (C_out, 1, k), b1 (C_out,), W2 (8, C_out*L_out), b2 (8,), W3 (1, 8), b3 (1,)."""
    shapes = [(C_OUT, 1, KERNEL), (C_OUT,), (HIDDEN, C_OUT * L_OUT), (HIDDEN,), (1, HIDDEN),
              (1,)]
    out, pos = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(w[pos:pos + size].reshape(shape))
        pos += size
    return out


PATCH = np.arange(L_OUT)[:, None] + np.arange(KERNEL)[None, :]    # patches[n, p, m] = x[p + m]


def conv_forward(X, w):
    kernel, b1, W2, b2, W3, b3 = conv_unpack(w)
    patches = X[:, PATCH]                                          # (N, L_out, k)
    z1 = np.tanh(patches @ kernel[:, 0, :].T + b1).transpose(0, 2, 1).reshape(len(X), -1)
    z2 = np.tanh(z1 @ W2.T + b2)
    return patches, z1, z2, z2 @ W3.T + b3


def conv_gradient(X, w, T):
    kernel, b1, W2, b2, W3, b3 = conv_unpack(w)
    patches, z1, z2, y = conv_forward(X, w)
    d3 = y - T                                                     # sse: delta = y - t
    d2 = (1 - z2 ** 2) * (d3 @ W3)
    d1 = ((1 - z1 ** 2) * (d2 @ W2)).reshape(len(X), C_OUT, L_OUT)
    g_kernel = np.tensordot(d1, patches, axes=([0, 2], [0, 1]))  # sum_n,p d_{c,p} x_{p+m}
    return np.concatenate([g_kernel.ravel(), d1.sum(axis=(0, 2)), (d2.T @ z1).ravel(),
                           d2.sum(0), (d3.T @ z2).ravel(), d3.sum(0)])


def conv_param_jacobian(X, w):
    kernel, b1, W2, b2, W3, b3 = conv_unpack(w)
    patches, z1, z2, y = conv_forward(X, w)
    N = len(X)
    J = np.empty((N, 1, 20 + 4 + HIDDEN * C_OUT * L_OUT + HIDDEN + HIDDEN + 1))
    g2 = (1 - z2 ** 2) * W3[0]                                     # dy/da^(2) (N, 8)
    g1 = ((1 - z1 ** 2) * (g2 @ W2)).reshape(N, C_OUT, L_OUT)      # dy/da^(1)
    J[:, 0, :20] = np.einsum("ncp,npm->ncm", g1, patches).reshape(N, -1)
    J[:, 0, 20:24] = g1.sum(axis=2)
    start = 24 + HIDDEN * C_OUT * L_OUT
    np.multiply(g2[:, :, None], z1[:, None, :], out=J[:, 0, 24:start].reshape(N, HIDDEN, -1))
    J[:, 0, start:start + HIDDEN] = g2
    J[:, 0, start + HIDDEN:start + 2 * HIDDEN] = z2
    J[:, 0, -1] = 1.0
    return J


def conv_loss(X, w, T):
    return 0.5 * np.sum((conv_forward(X, w)[-1] - T) ** 2)


# ------------------------------------------------------------------ the Elman RNN
D, H, STEPS = 2, 8, 20


def rnn_unpack(w):
    """W_xh (H, D), W_hh (H, H), b_h (H,), W_hy (1, H), b_y (1,), row-major."""
    shapes = [(H, D), (H, H), (H,), (1, H), (1,)]
    out, pos = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        out.append(w[pos:pos + size].reshape(shape))
        pos += size
    return out


def rnn_forward(X, w):
    W_xh, W_hh, b_h, W_hy, b_y = rnn_unpack(w)
    hs = [np.zeros((len(X), H))]
    for t in range(STEPS):
        hs.append(np.tanh(X[:, t * D:(t + 1) * D] @ W_xh.T + hs[-1] @ W_hh.T + b_h))
    return hs, hs[-1] @ W_hy.T + b_y


def _bptt(X, w, seed, hs, per_sample):
    """Backpropagation through time from dF/dy = seed (N, 1); sums over n unless per_sample."""
    W_xh, W_hh, b_h, W_hy, b_y = rnn_unpack(w)
    outer = (lambda a, b: a[:, :, None] * b[:, None, :]) if per_sample else (lambda a, b: a.T @ b)
    total = (lambda a: a) if per_sample else (lambda a: a.sum(0))
    g_xh, g_hh, g_h = 0.0, 0.0, 0.0
    g_hy, g_y = outer(seed, hs[-1]), total(seed)
    back = seed @ W_hy                                             # dF/dh^(T)
    for t in range(STEPS, 0, -1):
        delta = (1 - hs[t] ** 2) * back
        g_xh = g_xh + outer(delta, X[:, (t - 1) * D:t * D])
        g_hh = g_hh + outer(delta, hs[t - 1])                      # h^(0) = 0 adds nothing
        g_h = g_h + total(delta)
        back = delta @ W_hh
    lead = (len(X), -1) if per_sample else (-1,)
    return np.concatenate([np.reshape(g, lead) for g in (g_xh, g_hh, g_h, g_hy, g_y)], axis=-1)


def rnn_gradient(X, w, T):
    hs, y = rnn_forward(X, w)
    return _bptt(X, w, y - T, hs, per_sample=False)


def rnn_param_jacobian(X, w):
    hs, y = rnn_forward(X, w)
    return _bptt(X, w, np.ones_like(y), hs, per_sample=True)[:, None, :]


def rnn_loss(X, w, T):
    return 0.5 * np.sum((rnn_forward(X, w)[1] - T) ** 2)


# ------------------------------------------------------------------ cases
def build(case):
    import symnet
    from symnet.layers import Conv1D, Dense, Flatten
    if case == "conv1d":
        return symnet.Network((1, L_IN), [Conv1D(C_OUT, KERNEL, "tanh"), Flatten(),
                                          Dense(HIDDEN, "tanh"), Dense(1, "linear")])
    return symnet.RNN(D, H, 1, steps=STEPS, hidden="tanh", output="linear", outputs="last")


BASELINES = {"conv1d": (conv_gradient, conv_param_jacobian, conv_loss,
                         lambda X, w: conv_forward(X, w)[-1]),
             "rnn": (rnn_gradient, rnn_param_jacobian, rnn_loss,
                     lambda X, w: rnn_forward(X, w)[1])}


def selftest(case, net, rng):
    """The hand-written gradient and parameter Jacobian against central differences of the
    hand-written loss and forward pass: the larger relative error of the two."""
    gradient, param_jacobian, loss, forward = BASELINES[case]
    X, w = rng.normal(size=(3, net.sizes[0])), net.init_params(seed=1)
    T = rng.normal(size=(3, 1))
    step = 1e-6
    shifts = step * np.eye(len(w))
    numeric_g = np.array([(loss(X, w + e, T) - loss(X, w - e, T)) / (2 * step) for e in shifts])
    numeric_J = np.stack([(forward(X, w + e) - forward(X, w - e)) / (2 * step)
                          for e in shifts], axis=-1)
    return max(relative(gradient(X, w, T), numeric_g), relative(param_jacobian(X, w), numeric_J))


def relative(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def time_pair(symnet_call, numpy_call, repeats):
    """Interleaved samples, each lasting >= MIN_SAMPLE_S: medians and the median paired ratio."""
    def once(fn):
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    counts = [max(1, int(MIN_SAMPLE_S / max(once(fn), 1e-6))) for fn in (symnet_call, numpy_call)]
    samples = ([], [])
    for _ in range(repeats):
        for fn, count, out in zip((symnet_call, numpy_call), counts, samples):
            t0 = time.perf_counter()
            for _ in range(count):
                fn()
            out.append((time.perf_counter() - t0) / count)
    return (statistics.median(samples[0]), statistics.median(samples[1]),
            statistics.median(a / b for a, b in zip(*samples)))


def run_evaluations(n, repeats):
    import symnet
    rows = []
    for case in ("conv1d", "rnn"):
        net = build(case)
        rng = np.random.default_rng(0)
        fd_error = selftest(case, net, rng)
        X, w = rng.normal(size=(n, net.sizes[0])), net.init_params(seed=2)
        T = rng.normal(size=(n, 1))
        gradient, param_jacobian, _, _ = BASELINES[case]
        derivations = {"gradient": (symnet.gradient(net, "sse"), lambda d: d.evaluate(X, w, T),
                                    lambda: gradient(X, w, T)),
                       "param_jacobian": (symnet.param_jacobian(net), lambda d: d.evaluate(X, w),
                                          lambda: param_jacobian(X, w))}
        for name, (derivation, evaluate, baseline) in derivations.items():
            row = {"case": case, "derivation": name, "W": net.n_params, "N": n,
                   "baseline_fd_error": fd_error}
            error = relative(evaluate(derivation), baseline())
            row["error"] = error
            if error > RTOL or fd_error > 1e-6:
                row["status"] = "WRONG"
            else:
                row["t_symnet"], row["t_numpy"], row["ratio"] = time_pair(
                    lambda: evaluate(derivation), baseline, repeats)
                row["status"] = "ok" if row["ratio"] <= TARGET_RATIO else "SLOW"
            rows.append(row)
    return rows


DERIVE_SCRIPT = """
import json, sys, time
sys.path.insert(0, {repo!r}); sys.path.insert(0, {here!r})
import symnet, bench_layers
t0 = time.perf_counter(); net = bench_layers.build({case!r}); t1 = time.perf_counter()
symnet.gradient(net, "sse"); t2 = time.perf_counter()
symnet.param_jacobian(net); t3 = time.perf_counter()
print(json.dumps({{"build": t1 - t0, "gradient": t2 - t1, "param_jacobian": t3 - t2}}))
"""


def run_derivations():
    rows = []
    for case in ("conv1d", "rnn"):
        script = DERIVE_SCRIPT.format(repo=REPO, here=os.path.dirname(os.path.abspath(__file__)),
                                      case=case)
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=600)
        if done.returncode != 0:
            rows.append({"case": case, "status": "FAILED", "error": done.stderr[-500:]})
            continue
        row = {"case": case, **json.loads(done.stdout.strip().splitlines()[-1])}
        row["status"] = ("ok" if case != "rnn" or row["gradient"] < TARGET_RNN_DERIVE_S
                         else "SLOW")
        rows.append(row)
    return rows


def fmt(t):
    return f"{t * 1e3:8.1f} ms" if t < 1 else f"{t:8.2f} s "


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1,000, 3 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-derive", action="store_true", help="skip the symbolic timings")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    n = 1_000 if args.quick else N_EVAL
    repeats = args.repeats or (3 if args.quick else REPEATS)
    try:
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cpus; BLAS threads: {os.environ['OPENBLAS_NUM_THREADS']}")
    except OSError:
        pass
    evaluations = run_evaluations(n, repeats)
    print(f"\nevaluate at N = {n:,}: medians of {repeats} interleaved samples; ratio = "
          f"median paired symnet / numpy (target <= {TARGET_RATIO:g})")
    print(f"{'network':8s} {'derivation':15s} {'W':>4s} {'symnet':>11s} {'numpy':>11s} "
          f"{'ratio':>6s}  {'rel. error':>10s}  status")
    for row in evaluations:
        if row["status"] == "WRONG":
            print(f"{row['case']:8s} {row['derivation']:15s} {row['W']:4d} {'-':>11s} "
                  f"{'-':>11s} {'-':>6s}  {row['error']:10.1e}  WRONG")
            continue
        print(f"{row['case']:8s} {row['derivation']:15s} {row['W']:4d} {fmt(row['t_symnet'])} "
              f"{fmt(row['t_numpy'])} {row['ratio']:6.2f}  {row['error']:10.1e}  {row['status']}")
    derivations = [] if args.no_derive else run_derivations()
    if derivations:
        print(f"\nsymbolic derivation, cold, each network in a fresh process (target: the "
              f"RNN's gradient < {TARGET_RNN_DERIVE_S:g} s)")
        print(f"{'network':8s} {'build':>11s} {'gradient':>11s} {'param_jac':>11s}  status")
        for row in derivations:
            if row["status"] == "FAILED":
                print(f"{row['case']:8s} FAILED: {row['error']}")
                continue
            print(f"{row['case']:8s} {fmt(row['build'])} {fmt(row['gradient'])} "
                  f"{fmt(row['param_jacobian'])}  {row['status']}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"evaluate": evaluations, "derive": derivations}, handle, indent=2)
    bad = [r for r in evaluations + derivations if r["status"] in ("WRONG", "FAILED")]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
