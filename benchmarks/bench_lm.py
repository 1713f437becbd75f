#!/usr/bin/env python
"""Levenberg-Marquardt: symnet's fit(method="lm") against scipy's MINPACK (least_squares "lm").

Two problems, each a 1-10-1 tanh network (W = 31) on 94 samples:

    curve   ``symnet.examples.curve_problem()``: a smooth curve plus noise (MATLAB simplefit-like)
    sine    ``symnet.examples.regression_data(94, noise=0.05)``: sin(pi x) plus noise

from the random starts ``net.init_params(seed)``, seed = 0, 1, ..., with every
setting at its default on both sides: scipy ``least_squares(method="lm")`` with the
exact Jacobian (ftol = xtol = gtol = 1e-8, at most 100 W = 3100 evaluations of the
residuals), symnet ``fit(method="lm")`` (ftol = xtol = gtol = 1e-8, grad_tol = 1e-6)
with max_iter = 3100 accepted steps. Per start it prints E, the evaluations of the
residuals (nfev) and of the Jacobian (njev), the stopping test and ||dE/dw|| of both,
and which error is lower ("=" when they agree to 1e-8 relative: the same minimum).
The summary counts converged runs (scipy: status > 0; symnet: converged), the starts
where one error is lower, and the median Jacobian evaluations.

From such starts the weights often drift for thousands of steps along a valley in
which E still decreases; two correct LM codes then end at different points, and a
small change in rounding (scipy's results are not always the same from one run to
the next) sends either to another one. The counts are statistics of that, not a
ranking of single starts.

BLAS runs single-threaded (set before NumPy loads, unless already set).

Usage: python benchmarks/bench_lm.py [--starts 40] [--problems curve,sine]
"""
import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from symnet.compiled import matrix_form as engine  # noqa: E402
from symnet.teach.examples import curve_problem, regression_data  # noqa: E402
from symnet.train.fitting import fit  # noqa: E402

MAX_EVALUATIONS = 3100   # scipy's default for method="lm" with a Jacobian: 100 W
SAME = 1e-8              # relative difference of E below which two runs found the same minimum
SCIPY_STATUS = {0: "max_nfev", 1: "gtol", 2: "ftol", 3: "xtol", 4: "ftol+xtol"}


def problems(names):
    curve = curve_problem()
    data = {"curve": (curve.X, curve.T), "sine": regression_data(94, noise=0.05, seed=0)}
    return [(name, curve.net, *data[name]) for name in names]


def run_start(net, X, T, seed):
    """(scipy row, symnet row) from the start net.init_params(seed)."""
    from scipy.optimize import least_squares
    w0 = net.init_params(seed)
    reference = least_squares(
        lambda w: (net.forward(X, w) - T).ravel(), w0, method="lm",
        jac=lambda w: engine.param_jacobian_values(net, X, w).reshape(len(X), -1))
    ours = fit(net, X, T, method="lm", w0=w0, max_iter=MAX_EVALUATIONS)
    theirs = {"E": float(reference.cost), "nfev": int(reference.nfev), "njev": int(reference.njev),
              "converged": reference.status > 0, "reason": SCIPY_STATUS[reference.status],
              "grad": float(np.linalg.norm(reference.grad))}
    mine = {"E": ours.loss, "nfev": ours.evaluations["loss"],
            "njev": ours.evaluations["curvature"], "converged": ours.converged,
            "reason": ours.reason, "grad": float(ours.history.grad_norm[-1])}
    return theirs, mine


def verdict(theirs, mine):
    if abs(mine["E"] - theirs["E"]) <= SAME * theirs["E"]:
        return "="
    return "symnet" if mine["E"] < theirs["E"] else "scipy"


def row(name, seed, theirs, mine, lower):
    def side(r):
        return (f"{r['E']:.8f} | {r['nfev']:4d} | {r['njev']:4d} | {r['reason']:>8} | "
                f"{r['grad']:7.1e}")
    return f"| {name:5} | {seed:2d} | {side(theirs)} | {side(mine)} | {lower:>6} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=40, help="seeds 0 .. starts-1")
    parser.add_argument("--problems", default="curve,sine")
    arguments = parser.parse_args()
    side = "E | nfev | njev | stop | ‖g‖"
    print(f"| problem | seed | scipy {side} | symnet {side} | lower |")
    print("|---" * 13 + "|")
    runs = []
    for name, net, X, T in problems(arguments.problems.split(",")):
        for seed in range(arguments.starts):
            theirs, mine = run_start(net, X, T, seed)
            lower = verdict(theirs, mine)
            runs.append((name, theirs, mine, lower))
            print(row(name, seed, theirs, mine, lower), flush=True)
    for name in arguments.problems.split(",") + ["all"]:
        chosen = [r for r in runs if name in ("all", r[0])]
        scipy_converged = [r for r in chosen if r[1]["converged"]]
        both = [r for r in scipy_converged if r[2]["converged"]]
        print(f"\n{name}: {len(chosen)} starts")
        print(f"  converged: scipy {len(scipy_converged)}, symnet "
              f"{sum(r[2]['converged'] for r in chosen)}; symnet converged on "
              f"{len(both)} of the {len(scipy_converged)} where scipy did")
        counts = {who: sum(r[3] == who for r in chosen) for who in ("symnet", "scipy", "=")}
        print(f"  lower E: symnet {counts['symnet']}, scipy {counts['scipy']}, "
              f"the same {counts['=']}")
        for label, subset in (("all starts", chosen), ("where both converged", both)):
            if subset:
                print(f"  median Jacobian evaluations ({label}): scipy "
                      f"{statistics.median(r[1]['njev'] for r in subset):g}, symnet "
                      f"{statistics.median(r[2]['njev'] for r in subset):g}")


if __name__ == "__main__":
    main()
