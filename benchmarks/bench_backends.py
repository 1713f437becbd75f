#!/usr/bin/env python
"""symnet on NumPy and on JAX against hand-written NumPy and JAX's own autodiff.

For [3,4,2], [8,16,16,4] and [16,32,32,8] (tanh hidden units, linear outputs,
sum-of-squares, float64) at N = 1,000, 100,000 and 1,000,000 samples (a row is skipped
where one result would pass --max-bytes), for the gradient, the parameter Jacobian,
the input Jacobian and one Hessian-vector product, six implementations:

    symnet numpy   derivation.evaluate(X, w, T) on NumPy arrays
    symnet jax     the same call on JAX arrays (jit-compiled by symnet; float64)
    numpy          hand-written NumPy backprop (below), tanh'(a) = 1 - z^2
    jax autodiff   jax.grad / vmap(jacrev) / jvp-of-grad of a plain JAX forward pass, jit
    numpy sech2    the hand-written NumPy with tanh'(a) = (1 / cosh a)^2
    jax sech2      JAX's autodiff with tanh'(a) = 4 e / (1 + e)^2, e = exp(-2|a|) (a custom_jvp)

The first baselines are what the issue names; they compute tanh' as 1 - z^2 from the
rounded z = tanh(a) (as JAX's and PyTorch's autodiff do), which has no relative accuracy
where |z| is near 1 (it is 0 from |a| = 19 on, where tanh' = 4e-17). symnet's tanh' is
accurate to 1e-15 everywhere: on NumPy (1 / cosh a)^2, computed in place (cheaper than
the textbook 1 - z * z with its temporaries); on JAX 4 e / (1 + e)^2 with e = exp(-2|a|)
(one exp; jax.numpy's cosh costs two and is off by up to 4e-15). The "sech2" baselines
are the same hand-written and autodiff code with those accurate slopes: the ratios
against them measure symnet's engine alone.

Every result is checked against the hand-written NumPy one (rtol 1e-9) before it is
timed. Calls are interleaved (one of each per round, order rotated), each timing the
median over rounds; ratios are symnet numpy / numpy and symnet jax / jax autodiff.
Targets (issue 15): symnet numpy <= 1.2x numpy; symnet jax <= 1.0x jax autodiff at
N >= 100,000.

Usage:
    python benchmarks/bench_backends.py            # full run (minutes; N = 1e6 rows)
    python benchmarks/bench_backends.py --quick    # N = 1,000 and 100,000, [3,4,2] and [8,16,16,4]
    python benchmarks/bench_backends.py --markdown
"""
import argparse
import statistics
import time

import numpy as np

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)  # a benchmark script: float64 is what it compares

import symnet  # noqa: E402

ARCHS = [(3, 4, 2), (8, 16, 16, 4), (16, 32, 32, 8)]
KINDS = ["gradient", "param_jacobian", "input_jacobian", "hvp"]


# -- hand-written NumPy ---------------------------------------------------------------
def layers(sizes, w):
    out, start = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = w[start:start + n_in * n_out].reshape(n_out, n_in)
        start += n_in * n_out
        out.append((W, w[start:start + n_out]))
        start += n_out
    return out


def tanh_slope(z, a, accurate):
    """tanh'(a): 1 - z^2 from z = tanh(a), or (1 / cosh a)^2 (|a| clipped where cosh overflows)."""
    if not accurate:
        return 1.0 - z * z
    s = 1.0 / np.cosh(np.minimum(np.abs(a), 710.0))
    return s * s


def np_forward(X, Ws, with_a=False):
    zs, As = [X], [None]
    for l, (W, b) in enumerate(Ws):
        a = zs[-1] @ W.T + b
        As.append(a)
        zs.append(a if l == len(Ws) - 1 else np.tanh(a))
    return (zs, As) if with_a else zs


def np_backward(Ws, zs, top, As=None):
    """U[l] for l = L..1 from U[L] = top, (N, n) or (N, K, n): U[l] = (U[l+1] W) tanh'(a).

    tanh' is 1 - z^2, or (1 / cosh a)^2 when the pre-activations As are given.
    """
    U = [top]
    for l in range(len(Ws) - 1, 0, -1):
        slope = tanh_slope(zs[l], None if As is None else As[l], As is not None)
        U.insert(0, (U[0] @ Ws[l][0]) * (slope if top.ndim == 2 else slope[:, None, :]))
    return U


def np_gradient(X, w, T, sizes, accurate=False):
    Ws = layers(sizes, w)
    zs, As = np_forward(X, Ws, with_a=True)
    deltas = np_backward(Ws, zs, zs[-1] - T, As if accurate else None)
    return np.concatenate([part for l, d in enumerate(deltas)
                           for part in ((d.T @ zs[l]).ravel(), d.sum(axis=0))])


def np_input_jacobian(X, w, sizes, accurate=False):
    Ws = layers(sizes, w)
    zs, As = np_forward(X, Ws, with_a=True)
    G = np_backward(Ws, zs, np.broadcast_to(np.eye(sizes[-1]), (X.shape[0],) + (sizes[-1],) * 2),
                    As if accurate else None)
    return G[0] @ Ws[0][0]


def np_param_jacobian(X, w, sizes, accurate=False):
    Ws = layers(sizes, w)
    zs, As = np_forward(X, Ws, with_a=True)
    N, K = X.shape[0], sizes[-1]
    G = np_backward(Ws, zs, np.broadcast_to(np.eye(K), (N, K, K)), As if accurate else None)
    return np.concatenate([part for l, g in enumerate(G) for part in (
        (g[:, :, :, None] * zs[l][:, None, None, :]).reshape(N, K, -1), g)], axis=-1)


def np_hvp(X, w, T, v, sizes, accurate=False):
    """Pearlmutter's R-operator for tanh hidden units, linear outputs, sse."""
    Ws, Vs = layers(sizes, w), layers(sizes, v)
    zs, As = np_forward(X, Ws, with_a=True)
    L = len(Ws)
    slopes = [None] + [tanh_slope(zs[l], As[l], accurate) for l in range(1, L)]
    deltas = np_backward(Ws, zs, zs[-1] - T, As if accurate else None)
    RZ, Ra = [np.zeros_like(X)], []
    for l in range(L):
        ra = RZ[l] @ Ws[l][0].T + zs[l] @ Vs[l][0].T + Vs[l][1]
        Ra.append(ra)
        RZ.append(ra if l == L - 1 else slopes[l + 1] * ra)
    RD = [None] * L
    RD[L - 1] = Ra[L - 1]
    for l in range(L - 2, -1, -1):
        z, slope = zs[l + 1], slopes[l + 1]
        back = deltas[l + 1] @ Ws[l + 1][0]
        RD[l] = (-2 * z * slope) * Ra[l] * back + slope * (
            RD[l + 1] @ Ws[l + 1][0] + deltas[l + 1] @ Vs[l + 1][0])
    return np.concatenate([part for l in range(L) for part in (
        (RD[l].T @ zs[l] + deltas[l].T @ RZ[l]).ravel(), RD[l].sum(axis=0))])


# -- JAX's autodiff of a plain JAX forward pass ------------------------------------------
@jax.custom_jvp
def tanh_sech2(a):
    """tanh whose derivative JAX takes as sech^2 a = 4 e / (1 + e)^2 (e = exp(-2|a|)), not 1 - tanh(a)^2."""
    return jnp.tanh(a)


@tanh_sech2.defjvp
def _tanh_sech2_jvp(primals, tangents):
    (a,), (da,) = primals, tangents
    e = jnp.exp(-2.0 * jnp.abs(a))
    return tanh_sech2(a), 4.0 * e / ((1.0 + e) * (1.0 + e)) * da


def jax_functions(sizes, tanh=jnp.tanh):
    def forward(x, w):
        z = x
        for l, (W, b) in enumerate(layers(sizes, w)):
            a = z @ W.T + b
            z = a if l == len(sizes) - 2 else tanh(a)
        return z

    def loss(w, X, T):
        return 0.5 * jnp.sum((forward(X, w) - T) ** 2)

    grad = jax.jit(jax.grad(loss))
    return {
        "gradient": lambda X, w, T, v: grad(w, X, T),
        "param_jacobian": jax.jit(lambda X, w, T, v: jax.vmap(
            jax.jacrev(forward, argnums=1), in_axes=(0, None))(X, w)),
        "input_jacobian": jax.jit(lambda X, w, T, v: jax.vmap(
            jax.jacrev(forward, argnums=0), in_axes=(0, None))(X, w)),
        "hvp": jax.jit(lambda X, w, T, v: jax.jvp(lambda u: jax.grad(loss)(u, X, T),
                                                   (w,), (v,))[1]),
    }


def implementations(sizes):
    net = symnet.MLP(list(sizes), hidden="tanh")
    derivations = {"gradient": symnet.gradient(net, "sse"),
                   "param_jacobian": symnet.param_jacobian(net),
                   "input_jacobian": symnet.input_jacobian(net),
                   "hvp": symnet.hessian_vector_product(net, "sse")}

    def symnet_call(kind):
        d = derivations[kind]
        if kind == "hvp":
            return lambda X, w, T, v: d.evaluate(X, w, T, v)
        if kind == "gradient":
            return lambda X, w, T, v: d.evaluate(X, w, T)
        return lambda X, w, T, v: d.evaluate(X, w)
    def hand(accurate):
        return {"gradient": lambda X, w, T, v: np_gradient(X, w, T, sizes, accurate),
                "param_jacobian": lambda X, w, T, v: np_param_jacobian(X, w, sizes, accurate),
                "input_jacobian": lambda X, w, T, v: np_input_jacobian(X, w, sizes, accurate),
                "hvp": lambda X, w, T, v: np_hvp(X, w, T, v, sizes, accurate)}
    plain, accurate = hand(False), hand(True)
    autodiff, autodiff_sech2 = jax_functions(sizes), jax_functions(sizes, tanh_sech2)
    return net, {kind: {"symnet numpy": (symnet_call(kind), False),
                        "symnet jax": (symnet_call(kind), True),
                        "numpy": (plain[kind], False),
                        "jax autodiff": (autodiff[kind], True),
                        "numpy sech2": (accurate[kind], False),
                        "jax sech2": (autodiff_sech2[kind], True)} for kind in KINDS}


def result_bytes(kind, sizes, N, W):
    K, D = sizes[-1], sizes[0]
    return 8 * {"gradient": W, "hvp": W, "param_jacobian": N * K * W,
                "input_jacobian": N * K * D}[kind]


def run_row(calls, data, rounds, min_seconds):
    numpy_args, jax_args = data
    reference = np.asarray(calls["numpy"][0](*numpy_args))
    for name, (call, on_jax) in calls.items():  # checked (and compiled) before timing
        got = np.asarray(call(*(jax_args if on_jax else numpy_args)))
        if not np.allclose(got, reference, rtol=1e-9, atol=1e-12 * np.abs(reference).max()):
            raise SystemExit(f"WRONG: {name} differs from hand-written NumPy")
    times = {name: [] for name in calls}
    names = list(calls)
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            call, on_jax = calls[name]
            args = jax_args if on_jax else numpy_args
            repeats, elapsed = 0, 0.0
            while elapsed < min_seconds or repeats == 0:
                start = time.perf_counter()
                out = call(*args)
                if on_jax:
                    out.block_until_ready()
                elapsed += time.perf_counter() - start
                repeats += 1
            times[name].append(elapsed / repeats)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--max-bytes", type=float, default=1e9)
    args = parser.parse_args(argv)
    archs = ARCHS[:2] if args.quick else ARCHS
    sizes_n = (1_000, 100_000) if args.quick else (1_000, 100_000, 1_000_000)
    rounds = args.rounds or (3 if args.quick else 5)
    rows = []
    for sizes in archs:
        net, calls = implementations(sizes)
        W = net.n_params
        for N in sizes_n:
            rng = np.random.default_rng(0)
            X, T = rng.normal(size=(N, sizes[0])), rng.normal(size=(N, sizes[-1]))
            w, v = net.init_params(seed=1), rng.normal(size=W)
            data = ((X, w, T, v), tuple(jnp.asarray(a) for a in (X, w, T, v)))
            for kind in KINDS:
                if result_bytes(kind, sizes, N, W) > args.max_bytes:
                    rows.append((sizes, N, kind, None))
                    continue
                rows.append((sizes, N, kind, run_row(calls[kind], data, rounds,
                                                     0.02 if args.quick else 0.05)))
                print_row(rows[-1], args.markdown, flush=True)
    print_targets(rows)


HEADER = ("net", "N", "derivation", "symnet numpy", "numpy", "ratio", "numpy sech2", "ratio",
          "symnet jax", "jax autodiff", "ratio", "jax sech2", "ratio")


def _ms(t):
    return f"{t * 1e3:.3g} ms" if t >= 1e-3 else f"{t * 1e6:.3g} us"


def print_row(row, markdown, flush=False, _printed=[]):
    sizes, N, kind, t = row
    if not _printed:
        line = " | ".join(HEADER)
        print(f"| {line} |" if markdown else line)
        if markdown:
            print("|" + "---|" * len(HEADER))
        _printed.append(True)
    net = "[" + ",".join(map(str, sizes)) + "]"
    if t is None:
        cells = (net, f"{N:,}", kind) + ("-",) * 9 + ("skipped: result too large",)
    else:
        cells = (net, f"{N:,}", kind, _ms(t["symnet numpy"]), _ms(t["numpy"]),
                 f"{t['symnet numpy'] / t['numpy']:.2f}x", _ms(t["numpy sech2"]),
                 f"{t['symnet numpy'] / t['numpy sech2']:.2f}x", _ms(t["symnet jax"]),
                 _ms(t["jax autodiff"]), f"{t['symnet jax'] / t['jax autodiff']:.2f}x",
                 _ms(t["jax sech2"]), f"{t['symnet jax'] / t['jax sech2']:.2f}x")
    line = " | ".join(cells)
    print(f"| {line} |" if markdown else line, flush=flush)


def print_targets(rows):
    timed = [r for r in rows if r[3] is not None]
    large = [r for r in timed if r[1] >= 100_000]
    for numpy_name, jax_name in (("numpy", "jax autodiff"), ("numpy sech2", "jax sech2")):
        numpy_ok = [r for r in timed if r[3]["symnet numpy"] <= 1.2 * r[3][numpy_name]]
        jax_ok = [r for r in large if r[3]["symnet jax"] <= r[3][jax_name]]
        print(f"\nsymnet numpy <= 1.2x {numpy_name}: {len(numpy_ok)}/{len(timed)} rows")
        print(f"symnet jax <= 1.0x {jax_name} at N >= 100,000: {len(jax_ok)}/{len(large)} rows")
    for sizes, N, kind, t in large:
        if t["symnet jax"] > t["jax autodiff"]:
            print(f"  missed: {list(sizes)} N={N:,} {kind} "
                  f"{t['symnet jax'] / t['jax autodiff']:.2f}x")


if __name__ == "__main__":
    main()
