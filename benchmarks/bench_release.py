#!/usr/bin/env python
"""Compare symnet's speed in this working tree with a previous release, paired, in one run.

The previous release is the git revision REV (default HEAD: before committing, this compares
the working tree with the last commit). It is exported with ``git archive REV | tar -x`` into a
temporary directory and imported from there (first on PYTHONPATH); nothing is installed and no
network is used. Each version runs in its own long-lived worker process (this script with
``--_worker``), which answers one JSON line per command. The parent sends every measurement to
the two workers alternately (old, new, new, old, ...), so that load from the rest of the machine
falls on both alike. Workers use one BLAS thread (OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1) and
PYTHONHASHSEED=0, for stable numbers.

The cases mirror benchmarks/bench_core.py: nets [3,4,2], [8,16,4], [8,16,16,4], [16,32,32,8]
(tanh hidden, linear output, sse loss); input_jacobian (backprop), gradient, param_jacobian and
the exact hessian (only for W <= 212, its derivation is slow); N = 10,000 samples (1,000 for the
Hessian). Only public API present in both versions is used.

Then the cases the sse table does not reach (``--only extra`` runs just these), timed like eval:

    softmax-CE hessian / gauss_newton  ``symnet.hessian(net, "cross_entropy"[, "gauss_newton"])``
             on [8,16,4] with softmax outputs (exact: the loss's R{delta^(L)} inside the
             R-operator; Gauss-Newton: its Lambda_n), N = 1,000; softmax-CE hvp
             ``hessian_vector_product(...).evaluate(X, w, T, v)`` on [8,16,10], one v;
    r_delta K=4, K=10  ``Loss.r_delta`` of softmax cross-entropy at N = 10,000, P = 8
             directions; gauss_newton_weights K=4, K=10 ``Loss.gauss_newton_weights`` there;
    check hessian error  ``symnet.check(H, X, w, T, hessian_from="error")`` of the exact sse
             Hessian of [3,4,2] at N = 20 (four-point second differences of E: E at 2,808
             perturbed points).

    derive   median time of ``symnet.<derivation>(net, ...)`` on a freshly built network with
             SymPy's cache cleared (the network's construction is not timed);
    eval     median time per ``.evaluate`` call at N samples, after one warm-up call; a timing
             sample repeats the call (as many times in both versions) to last >= 50 ms;
    ratio    median over the pairs of new time / old time (< 1 means the new tree is faster);
             PASS when it is <= 1.10 (the restructuring's "within 10% or better");
    agree    max |new - old| of the two versions' results on the same 64 samples, the same
             parameters and targets (fixed seeds); DIFFER if above 1e-9 * max(1, max |old|).

Usage:
    python benchmarks/bench_release.py                  # working tree vs HEAD, 7 pairs
    python benchmarks/bench_release.py --rev v0.1.0     # ... vs another revision
    python benchmarks/bench_release.py --quick          # CI smoke run: tiny sizes, 3 pairs
    python benchmarks/bench_release.py --repeat 11      # more pairs
    python benchmarks/bench_release.py --self           # working tree vs itself: the noise floor
    python benchmarks/bench_release.py --only extra     # only the softmax-CE and check cases

It reports and does not gate on timings: it exits 0 whatever the ratios, 1 if a case fails or the
versions' results differ, 2 if the old revision cannot be exported or imported.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHS = [(3, 4, 2), (8, 16, 4), (8, 16, 16, 4), (16, 32, 32, 8)]
DERIVATIONS = ["input_jacobian", "gradient", "param_jacobian", "hessian"]
TOLERANCE = 1.10            # new / old at most this: "within 10% or better"
MIN_SAMPLE_S = 0.05         # an evaluation timing sample lasts at least this long
DERIVE_BUDGET_S = 40.0      # after 3 pairs, stop deriving once the pairs took this long
N_CHECK = 64                # samples on which the two versions' results are compared
FULL = dict(archs=ARCHS, n=10_000, n_hess=1_000, hess_max_w=212, repeat=7)
QUICK = dict(archs=ARCHS[:2], n=1_000, n_hess=100, hess_max_w=26, repeat=3)
# (name, arch): the cases beyond the sse table, built by ``extra_case`` in the worker.
EXTRA = [("softmax-CE hessian", [8, 16, 4]), ("softmax-CE gauss_newton", [8, 16, 4]),
         ("softmax-CE hvp", [8, 16, 10]),
         ("r_delta K=4", [3, 5, 4]), ("r_delta K=10", [3, 5, 10]),
         ("gauss_newton_weights K=4", [3, 5, 4]), ("gauss_newton_weights K=10", [3, 5, 10]),
         ("check hessian error", [3, 4, 2])]


def n_params(sizes):
    return sum(sizes[l] * sizes[l + 1] + sizes[l + 1] for l in range(len(sizes) - 1))


def worker():
    """Serve commands from stdin with whichever symnet comes first on PYTHONPATH."""
    import symnet
    import sympy
    from sympy.core.cache import clear_cache
    out, sys.stdout = sys.stdout, sys.stderr      # stray prints must not corrupt the protocol
    derive = {"input_jacobian": lambda net: symnet.input_jacobian(net, method="backprop"),
              "gradient": lambda net: symnet.gradient(net, "sse"),
              "param_jacobian": symnet.param_jacobian,
              "hessian": lambda net: symnet.hessian(net, "sse")}
    state = {}

    def evaluate(X, T):
        if "call" in state:                        # an extra case: its own callable
            return state["call"]()
        d, w, loss_based = state["d"], state["w"], state["deriv"] in ("gradient", "hessian")
        return d.evaluate(X, w, T) if loss_based else d.evaluate(X, w)

    def extra_case(name, arch):
        """The callable timed for the extra case ``name`` (same data in both versions)."""
        rng = np.random.default_rng(0)
        if name.startswith("softmax-CE"):
            net = symnet.MLP(arch, hidden="tanh", output="softmax")
            w = 0.3 * rng.normal(size=n_params(arch))
            X = rng.normal(size=(1_000, arch[0]))
            T = np.eye(arch[-1])[rng.integers(0, arch[-1], 1_000)]
            if name.endswith("hvp"):                   # one direction: R{delta^(L)} with P = 1
                hvp, v = symnet.hessian_vector_product(net, "cross_entropy"), rng.normal(
                    size=n_params(arch))
                return lambda: hvp.evaluate(X, w, T, v)
            H = symnet.hessian(net, "cross_entropy",
                               "gauss_newton" if name.endswith("gauss_newton") else None)
            return lambda: H.evaluate(X, w, T)
        if name.startswith("check"):
            net = symnet.MLP(arch, hidden="tanh", output="linear")
            H = symnet.hessian(net, "sse")
            w = 0.3 * rng.normal(size=n_params(arch))
            X, T = rng.normal(size=(20, arch[0])), rng.normal(size=(20, arch[-1]))
            return lambda: symnet.check(H, X, w, T, hessian_from="error").numeric
        net = symnet.MLP(arch, hidden="tanh", output="softmax")
        loss, K, N = symnet.get_loss("cross_entropy", net), arch[-1], 10_000
        A = 3.0 * rng.normal(size=(N, K))          # logits; a few rows near saturation
        A[:10] *= 300.0
        Y = np.exp(A - A.max(axis=1, keepdims=True))
        Y /= Y.sum(axis=1, keepdims=True)
        T = np.eye(K)[rng.integers(0, K, N)]
        if name.startswith("r_delta"):
            RA = rng.normal(size=(N, 8, K))
            return lambda: loss.r_delta(A, Y, T, None, None, RA)
        # 9fda0bd's gauss_newton_weights(Y, T) had no A; the new one takes it (keeps digits)
        takes_a = "A" in inspect.signature(loss.gauss_newton_weights).parameters
        return (lambda: loss.gauss_newton_weights(Y, T, A)) if takes_a else (
            lambda: loss.gauss_newton_weights(Y, T))

    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] == "hello":
                reply = {"file": os.path.realpath(symnet.__file__), "sympy": sympy.__version__}
            elif cmd["cmd"] == "derive":
                net = symnet.MLP(cmd["arch"], hidden="tanh", output="linear")
                clear_cache()                          # as cold as a fresh process, minus imports
                t0 = time.perf_counter()
                state["d"] = derive[cmd["deriv"]](net)
                reply = {"t": time.perf_counter() - t0}
                state["deriv"] = cmd["deriv"]
            elif cmd["cmd"] == "extra":               # an extra case: agreement, warm-up, size
                state["call"] = extra_case(cmd["name"], cmd["arch"])
                np.save(cmd["check_path"], np.asarray(state["call"]()))
                state["call"]()
                t0 = time.perf_counter()
                state["call"]()
                reply = {"t": time.perf_counter() - t0}
            elif cmd["cmd"] == "prepare":             # data, agreement sample, warm-up call
                arch, rng = cmd["arch"], np.random.default_rng(0)
                # Parameters drawn here, not by net.init_params, so that both versions get the
                # same numbers even if the library's initialiser changes.
                state["w"] = 0.3 * rng.normal(size=n_params(arch))
                state["X"] = rng.normal(size=(cmd["n"], arch[0]))
                state["T"] = rng.normal(size=(cmd["n"], arch[-1]))
                np.save(cmd["check_path"], evaluate(state["X"][:N_CHECK], state["T"][:N_CHECK]))
                evaluate(state["X"], state["T"])       # warm-up: may compile, allocate
                t0 = time.perf_counter()               # then one call, to size the samples
                evaluate(state["X"], state["T"])
                reply = {"t": time.perf_counter() - t0}
            elif cmd["cmd"] == "eval":
                t0 = time.perf_counter()
                for _ in range(cmd["number"]):
                    evaluate(state.get("X"), state.get("T"))
                reply = {"t": (time.perf_counter() - t0) / cmd["number"]}
            else:                                  # "drop": free the arrays between cases
                state.clear()
                reply = {}
        except Exception as e:                     # reported by the parent, case marked ERROR
            reply = {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class Worker:
    """A long-lived worker process running the symnet found in `tree`."""

    def __init__(self, label, tree):
        self.label, self.tree = label, tree
        self.start()

    def start(self):
        env = dict(os.environ, PYTHONPATH=self.tree, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
                   MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--_worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=env, cwd=tempfile.gettempdir())

    def ask(self, **cmd):
        try:
            self.proc.stdin.write(json.dumps(cmd) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise RuntimeError(f"{self.label} worker died (exit code {self.proc.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.label}: {reply['error']}")
        return reply

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


def paired(old, new, pairs, budget=None, **cmd):
    """Times `cmd` on both workers in the order old, new, new, old, ...; returns the two lists."""
    t_old, t_new = [], []
    for i in range(pairs):
        if budget is not None and i >= 3 and sum(t_old) + sum(t_new) > budget:
            break
        first, second = (old, new) if i % 2 == 0 else (new, old)
        times = {first: first.ask(**cmd)["t"], second: second.ask(**cmd)["t"]}
        t_old.append(times[old])
        t_new.append(times[new])
    return t_old, t_new


def _agree_and_time(row, old, new, repeat, tmp, prepare):
    """Both versions prepare the case (``prepare(worker, path)`` -> seconds, saving the result
    at path); record how far their results differ and the paired evaluation times."""
    paths = [os.path.join(tmp, f"check_{w.label}.npy") for w in (old, new)]
    warm = [prepare(w, p) for w, p in zip((old, new), paths)]
    r_old, r_new = (np.load(p) for p in paths)
    row["diff"] = float(np.max(np.abs(r_new - r_old))) if r_old.shape == r_new.shape else None
    row["agree"] = row["diff"] is not None and row["diff"] <= 1e-9 * max(
        1.0, float(np.max(np.abs(r_old))))
    number = max(1, int(MIN_SAMPLE_S / max(min(warm), 1e-6)))
    row["eval"] = paired(old, new, repeat, cmd="eval", number=number)


def _drop(old, new):
    for w in (old, new):
        try:
            w.ask(cmd="drop")
        except RuntimeError:
            pass                                   # a dead worker holds nothing; main restarts it


def run_case(old, new, arch, deriv, n, repeat, tmp):
    row = {"arch": arch, "deriv": deriv, "W": n_params(arch), "N": n}
    try:
        row["derive"] = paired(old, new, repeat, DERIVE_BUDGET_S, cmd="derive", arch=arch,
                               deriv=deriv)
        _agree_and_time(row, old, new, repeat, tmp, lambda w, path: w.ask(
            cmd="prepare", arch=arch, n=n, check_path=path)["t"])
    except RuntimeError as e:
        row["error"] = str(e)
    _drop(old, new)
    return row


def run_extra(old, new, name, arch, repeat, tmp):
    """An extra case: no derive timing; agreement and paired timing of its callable."""
    row = {"arch": arch, "deriv": name, "W": n_params(arch), "N": "-"}
    try:
        _agree_and_time(row, old, new, repeat, tmp, lambda w, path: w.ask(
            cmd="extra", name=name, arch=arch, check_path=path)["t"])
    except RuntimeError as e:
        row["error"] = str(e)
    _drop(old, new)
    return row


def fmt_s(t):
    return f"{t:.2f} s" if t >= 1 else f"{t * 1e3:.1f} ms" if t >= 1e-3 else f"{t * 1e6:.0f} us"


def summarise(times):
    """(median old, median new, median of paired ratios new/old)."""
    t_old, t_new = times
    return (statistics.median(t_old), statistics.median(t_new),
            statistics.median(b / a for a, b in zip(t_old, t_new)))


def report(rows):
    """The table, one PASS/FAIL line per case, and a summary; returns the exit code."""
    header = ["net", "W", "derivation", "N", "old derive", "new derive", "ratio",
              "old eval", "new eval", "ratio", "agreement"]
    cells, verdicts, passed = [], [], {"eval": 0, "derive": 0}
    for r in rows:
        head = ["[" + ",".join(map(str, r["arch"])) + "]", str(r["W"]), r["deriv"],
                f"{r['N']:,}" if isinstance(r["N"], int) else r["N"]]
        label = f"{head[0]:14s} {r['deriv']:15s}"
        if "error" in r:
            cells.append(head + ["-"] * 6 + ["ERROR"])
            verdicts.append(f"  ERROR  {label} {r['error']}")
            continue
        (eo, en, er) = summarise(r["eval"])
        agree = "shape differs" if r["diff"] is None else (
            ("ok " if r["agree"] else "DIFFER ") + f"{r['diff']:.1e}")
        ratios = [("eval", er)]
        if "derive" in r:
            do, dn, dr = summarise(r["derive"])
            derive_cells = [fmt_s(do), fmt_s(dn), f"{dr:.2f}x"]
            ratios.append(("derive", dr))
            passed["derive"] += dr <= TOLERANCE
        else:                                       # extra cases time no derivation
            derive_cells = ["-"] * 3
        cells.append(head + derive_cells + [fmt_s(eo), fmt_s(en), f"{er:.2f}x", agree])
        passed["eval"] += er <= TOLERANCE
        verdicts.append(f"  {label} " + ", ".join(
            f"{kind} {'PASS' if ratio <= TOLERANCE else 'FAIL'} within 10% ({ratio:.3f}x)"
            for kind, ratio in ratios))
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    for line in [header, ["-" * w for w in widths]] + cells:
        print("  ".join(c.ljust(w) if i in (0, 2, 10) else c.rjust(w)
                        for i, (c, w) in enumerate(zip(line, widths))).rstrip())
    print(f"\nratio = median of paired new/old times; PASS when <= {TOLERANCE:.2f} "
          "(within 10% of the old release or better)")
    print("\n".join(verdicts))
    agree = sum(r.get("agree", False) and "error" not in r for r in rows)
    derived = sum("derive" in r for r in rows)
    print(f"\nsummary: eval within 10% on {passed['eval']}/{len(rows)} cases, derive within 10% "
          f"on {passed['derive']}/{derived}; results agree on {agree}/{len(rows)}; "
          f"load at end {os.getloadavg()[0]:.2f}")
    return 0 if agree == len(rows) else 1


def export_tree(rev, dest):
    """symnet/ as of `rev` into dest/symnet (git archive | tar -x); False if that fails."""
    os.mkdir(dest)
    archive = subprocess.Popen(["git", "-C", REPO, "archive", rev, "symnet"],
                               stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout)
    return archive.wait() == 0 and untar.returncode == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rev", default="HEAD", help="the previous release (git revision; HEAD)")
    ap.add_argument("--quick", action="store_true", help="CI smoke run: tiny sizes, 3 pairs")
    ap.add_argument("--repeat", type=int, help="timing pairs per case (default 7, quick 3)")
    ap.add_argument("--only", choices=("sse", "extra"),
                    help="only the sse table, or only the softmax-CE and check cases")
    ap.add_argument("--self", dest="aa", action="store_true",
                    help="run the working tree as 'old' too (an A/A run: ratios show the noise)")
    ap.add_argument("--_worker", dest="worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker()
    cfg = QUICK if args.quick else FULL
    repeat = args.repeat or cfg["repeat"]
    sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", args.rev],
                         capture_output=True, text=True)
    if sha.returncode != 0:
        print(f"cannot resolve revision {args.rev!r}: {sha.stderr.strip()}")
        return 2
    changed = subprocess.run(["git", "-C", REPO, "diff", "--quiet", args.rev, "--", "symnet"])
    with tempfile.TemporaryDirectory(prefix="symnet-release-") as tmp:
        old_tree = os.path.join(os.path.realpath(tmp), "old")
        if not export_tree(args.rev, old_tree):
            print(f"cannot export symnet/ at {args.rev} with git archive")
            return 2
        old, new = Worker("old", REPO if args.aa else old_tree), Worker("new", REPO)
        try:
            for w in (old, new):          # each must import its own tree, not the installed one
                expected = os.path.join(os.path.realpath(w.tree), "symnet", "__init__.py")
                try:
                    hello = w.ask(cmd="hello")
                except RuntimeError as e:
                    print(f"cannot start the {w.label} worker: {e}")
                    return 2
                if hello["file"] != expected:
                    print(f"{w.label} worker imported {hello['file']}, not {expected}")
                    return 2
                print(f"{w.label}: symnet from {os.path.dirname(hello['file'])}")
            print("A/A run: old = new = working tree" if args.aa else
                  f"old = {args.rev} ({sha.stdout.strip()}), new = working tree (symnet/ "
                  f"{'differs from' if changed.returncode else 'identical to'} {args.rev})")
            print(f"python {sys.version.split()[0]}, numpy {np.__version__}, sympy "
                  f"{hello['sympy']}; 1 BLAS thread per worker (OMP_NUM_THREADS="
                  f"OPENBLAS_NUM_THREADS=1); {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
            print(f"{'quick' if args.quick else 'full'} run: {repeat} interleaved pairs per case; "
                  f"tanh hidden, linear output, sse loss\n")
            rows = []
            for arch in cfg["archs"] if args.only != "extra" else []:
                for deriv in DERIVATIONS:
                    if deriv == "hessian" and n_params(arch) > cfg["hess_max_w"]:
                        continue
                    n = cfg["n_hess"] if deriv == "hessian" else cfg["n"]
                    t0 = time.perf_counter()
                    print(f"  {deriv:15s} {list(arch)} ...", end="", flush=True)
                    rows.append(run_case(old, new, list(arch), deriv, n, repeat, tmp))
                    print(f" {rows[-1].get('error', 'ok')} ({time.perf_counter() - t0:.1f} s)")
                    for w in (old, new):
                        if w.proc.poll() is not None:     # a worker died: start it afresh
                            w.start()
            for name, arch in EXTRA if args.only != "sse" else []:
                t0 = time.perf_counter()
                print(f"  {name:15s} {arch} ...", end="", flush=True)
                rows.append(run_extra(old, new, name, arch, repeat, tmp))
                print(f" {rows[-1].get('error', 'ok')} ({time.perf_counter() - t0:.1f} s)")
                for w in (old, new):
                    if w.proc.poll() is not None:
                        w.start()
        finally:
            old.close()
            new.close()
    print()
    return report(rows)


if __name__ == "__main__":
    sys.exit(main())
