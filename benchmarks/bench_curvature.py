#!/usr/bin/env python
"""Cost of curvature: one Hessian-vector product against one gradient and the dense Hessian,
and Levenberg-Marquardt against scipy.optimize.least_squares(method="lm").

For a tanh [8, 16, 16, 4] network (W = 484) with linear outputs and sum-of-squares
error at N samples, the medians over repeats (interleaved, same process) of

    gradient   engine.gradient_values                 dE/dw, one backward pass
    hvp        hessian_vector_product(...).evaluate  H v by the R-operator, no H formed
    dense      the same with V = I (W directions)     the whole W x W Hessian

and the ratios hvp / gradient (target below 5x) and dense / hvp. H v is first
checked against the dense Hessian times v (rtol 1e-10).

Then the 1-10-1 curve problem of ``symnet.examples.curve_problem`` (94 samples, with a local
minimum w* built in, E* = E(w*)): symnet's fit(method="lm") and scipy's MINPACK LM from
the same start near w*, with the same tolerances (1e-15), reporting Jacobian
evaluations, final E relative to E*, and time. (benchmarks/bench_lm.py compares the
two from 40 random starts, with default settings.)

BLAS runs single-threaded (set before NumPy loads, unless already set): the
products here are small, and on a shared 2-core machine threaded BLAS made the
timings swing by 4x between runs.

Usage: python benchmarks/bench_curvature.py [--quick]
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# Run from a clone without installing: the repository's symnet first on the path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

import symnet  # noqa: E402
from symnet.compiled import matrix_form as engine  # noqa: E402
from symnet.teach.examples import curve_problem  # noqa: E402
from symnet.train.fitting import fit  # noqa: E402

SIZES = [8, 16, 16, 4]
TARGET_HVP_RATIO = 5.0


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def curvature_costs(n_samples, repeats):
    net = symnet.MLP(SIZES, hidden="tanh", output="linear")
    loss = symnet.get_loss("sse", net)
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(n_samples, SIZES[0])), rng.normal(size=(n_samples, SIZES[-1]))
    w, v = net.init_params(seed=1), rng.normal(size=(net.n_params, 1))
    dense = engine.hessian_vector_values(net, loss, X, w, T, np.eye(net.n_params))
    product = symnet.hessian_vector_product(net, "sse")
    hv = product.evaluate(X, w, T, v[:, 0])[:, None]
    if not np.allclose(hv, dense @ v, rtol=1e-10, atol=1e-10):
        raise SystemExit("WRONG: H v differs from the dense Hessian times v")
    grad, hvp, full = [], [], []
    for _ in range(repeats):  # interleaved so that drifts in machine load hit all three
        grad += timed(lambda: engine.gradient_values(net, loss, X, w, T), 3)
        hvp += timed(lambda: product.evaluate(X, w, T, v[:, 0]), 3)
        full += timed(lambda: engine.hessian_vector_values(net, loss, X, w, T,
                                                           np.eye(net.n_params)), 1)
    g, h, d = (statistics.median(t) for t in (grad, hvp, full))
    print(f"[8,16,16,4] tanh, W = {net.n_params}, N = {n_samples}; medians of "
          f"{len(grad)}/{len(hvp)}/{len(full)} runs")
    print(f"  gradient        {g * 1e3:9.3f} ms")
    print(f"  H v (R-op)      {h * 1e3:9.3f} ms   {h / g:5.2f} x gradient "
          f"(target < {TARGET_HVP_RATIO:g}x: {'met' if h / g < TARGET_HVP_RATIO else 'MISSED'})")
    print(f"  dense Hessian   {d * 1e3:9.3f} ms   {d / h:7.1f} x one H v")


def levenberg_marquardt(repeats):
    from scipy.optimize import least_squares
    problem = curve_problem()
    net, X, T = problem.net, problem.X, problem.T
    w0 = problem.w_star + 0.2 * np.random.default_rng(0).normal(size=net.n_params)
    tolerances = {"xtol": 1e-15, "ftol": 1e-15, "gtol": 1e-15}
    ours = timed(lambda: fit(net, X, T, method="lm", w0=w0, max_iter=200, **tolerances),
                 repeats)
    result = fit(net, X, T, method="lm", w0=w0, max_iter=200, **tolerances)

    def scipy_run():
        return least_squares(lambda w: (net.forward(X, w) - T).ravel(), w0, method="lm",
                             jac=lambda w: engine.param_jacobian_values(net, X, w).reshape(
                                 len(X), -1), **tolerances)
    theirs = timed(scipy_run, repeats)
    reference = scipy_run()
    E_star = problem.min_error
    print(f"1-10-1 curve, 94 samples, local minimum E* = {E_star:.10f}")
    print(f"  symnet lm   {result.evaluations['curvature']:4d} Jacobians   |E - E*|/E* = "
          f"{abs(result.loss - E_star) / E_star:.1e}  ||g|| = {result.history.grad_norm[-1]:.1e}"
          f"  ({result.reason})"
          f"  {statistics.median(ours) * 1e3:7.1f} ms")
    print(f"  scipy lm    {reference.njev:4d} Jacobians   |E - E*|/E* = "
          f"{abs(reference.cost - E_star) / E_star:.1e}  status {reference.status}"
          f"       {statistics.median(theirs) * 1e3:7.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small N, few repeats (CI)")
    arguments = parser.parse_args()
    curvature_costs(200 if arguments.quick else 1000, 3 if arguments.quick else 15)
    levenberg_marquardt(2 if arguments.quick else 7)


if __name__ == "__main__":
    main()
