#!/usr/bin/env python
"""Benchmark symnet.check against numdifftools and scipy.differentiate.

The case of the issue: the parameter Jacobian of an [8, 16, 4] tanh network
(linear outputs) at one sample, 4 x 212 entries. For each method the script
reports the median wall time over repeats (calls interleaved between the tools,
so machine load hits all alike) and the normwise error of the numerical
Jacobian, max |J_num - J_true| / max |J_true|, with J_true from complex step
(checked against symnet's exact Jacobian first).

    symnet central     symnet.check(J, x, w, method="central")     (the whole check:
    symnet richardson  symnet.check(J, x, w, method="richardson")   numeric Jacobian,
    symnet complex     symnet.check(J, x, w, method="complex")      verdicts, report)
    numdifftools       numdifftools.Jacobian(f)(w) (its default: central, Richardson)
    scipy.differentiate scipy.differentiate.jacobian(f, w) (vectorised f)

numdifftools and scipy.differentiate are benchmark-only extras: a tool that is
not installed is reported as "not installed" and skipped.

Usage:
    python benchmarks/bench_check.py            # 15 repeats
    python benchmarks/bench_check.py --quick    # 3 repeats (CI smoke run)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import symnet  # noqa: E402
from symnet.numdiff.perturbed import stacked_forward  # noqa: E402


def _tools(net, x, w):
    """name -> callable returning the numerical Jacobian (K, W), for the installed tools."""
    J = symnet.param_jacobian(net)
    tools = {m: (lambda m=m: symnet.check(J, x, w, method=m).numeric)
             for m in ("central", "richardson", "complex")}
    tools = {f"symnet {m}": f for m, f in tools.items()}

    def outputs(v):
        return net.forward(x, v)

    try:
        import numdifftools as nd
        tools["numdifftools"] = lambda: nd.Jacobian(outputs)(w)
    except ImportError:
        tools["numdifftools"] = None
    try:
        from scipy.differentiate import jacobian

        def vectorised(V):  # V (W, ...) -> (K, ...)
            flat = V.reshape(V.shape[0], -1).T
            Y = stacked_forward(net, x[None, :], flat)[1][-1][:, 0, :]
            return Y.T.reshape((Y.shape[1],) + V.shape[1:])
        tools["scipy.differentiate"] = lambda: jacobian(vectorised, w).df
    except ImportError:
        tools["scipy.differentiate"] = None
    return J, tools


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else args.repeats

    net = symnet.MLP([8, 16, 4], hidden="tanh", output="linear")
    w = net.init_params(seed=0)
    x = np.random.default_rng(1).normal(size=8)
    J, tools = _tools(net, x, w)
    truth = symnet.check(J, x, w, method="complex")
    if not truth.passed:
        sys.exit("WRONG: symnet's exact Jacobian disagrees with complex step\n" + str(truth))
    truth = truth.numeric
    scale = np.max(np.abs(truth))

    available = {name: f for name, f in tools.items() if f is not None}
    errors = {name: float(np.max(np.abs(np.asarray(f()) - truth)) / scale)
              for name, f in available.items()}          # also warms every tool up
    times = {name: [] for name in available}
    for _ in range(repeats):
        for name, f in available.items():
            start = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - start)

    print(f"parameter Jacobian of {net!r} at one sample: {truth.shape[0]} x {truth.shape[1]}, "
          f"{repeats} repeats, medians")
    print(f"{'method':<22}{'median ms':>11}{'normwise error':>16}")
    medians = {name: statistics.median(t) * 1e3 for name, t in times.items()}
    for name in tools:
        if name not in available:
            print(f"{name:<22}{'not installed':>11}")
            continue
        print(f"{name:<22}{medians[name]:>11.2f}{errors[name]:>16.1e}")
    if "numdifftools" in medians:
        ratio = medians["numdifftools"] / medians["symnet richardson"]
        print(f"numdifftools / symnet richardson: {ratio:.1f}x "
              f"(errors {errors['numdifftools']:.1e} vs {errors['symnet richardson']:.1e})")
    if "scipy.differentiate" in medians:
        ratio = medians["scipy.differentiate"] / medians["symnet richardson"]
        print(f"scipy.differentiate / symnet richardson: {ratio:.1f}x")
    print(f"targets: central < 10 ms: {'met' if medians['symnet central'] < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
