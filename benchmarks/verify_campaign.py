"""The verify campaign of issue 11, run in full: is ``symnet.verify`` safe, right and bounded?

Four parts, each input run in a worker process limited to 1 GiB of address space
(``resource.setrlimit``) and killed after a timeout:

1. **injection**: payloads (attribute chains, dunders, lambdas, f-strings, look-alike
   letters, null bytes, LaTeX ``\\input`` / ``\\write18``) through the API and the CLI;
   a canary file must never appear and no marker may be printed;
2. **random formulas**: strings of random tokens and random expression trees of the
   grammar; each must get a verdict or a symnet error (never a raw exception);
3. **resource attacks**: inputs built to exhaust time or memory; each must be
   answered (a verdict or a named limit) within 5 s and 1 GiB, start-up included;
4. **perturbations**: true derivatives (written by hand) plus a known nonzero
   perturbation (the verdict must be "not equal") or plus an identity (it must be
   "equal"), on tanh, ReLU and softmax networks.

It prints, per part, the counts of wrong "equal", wrong "not equal", raw exceptions,
runs over 5 s and the largest time and memory. ``--quick`` runs a small sample.

    python benchmarks/verify_campaign.py            # the full run (about 20 minutes)
    python benchmarks/verify_campaign.py --quick    # a few minutes
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEMORY = 1 << 30                 # bytes of address space per worker
TIMEOUT = 5.0                    # seconds per input (a run past it counts as over)
CANARY = Path(tempfile.gettempdir()) / "symnet_campaign_canary"
MARKER = "CAMPAIGN-MARKER-7f3a"   # printed only if a payload ran: the payloads hold it in halves

# -- inputs ----------------------------------------------------------------------------------
INJECTIONS = [
    "__import__('os').system('touch {canary}')", "().__class__.__bases__[0].__subclasses__()",
    "x_1.__class__", "x_1.real", "(lambda: __import__('os'))()", "lambda x: x",
    "f'{__import__(\"os\").system(\"touch {canary}\")}'", "eval('1')", "exec('print(1)')",
    "open('{canary}', 'w')", "print('{marker_a}' + '{marker_b}')", "globals()", "__builtins__",
    "x_1 if 1 else 2", "[x for x in (1,)]", "{1: 2}", "x_1; print('{marker_a}' '{marker_b}')",
    "x_1 # comment", "x_1\n__import__('os')", "x_1\x00 + 1", "\x00", "x_1\u200b",
    "\u0445_1",                # Cyrillic x
    "w_11^(\u0661)",           # Arabic-Indic digit one
    "\uff58_1",                # fullwidth x
    "tanh\u2019(a_1^(1))",     # typographic apostrophe
    "x_1 \u2212 t_1",          # minus sign
    r"\input{/etc/passwd}", r"\write18{touch {canary}}", r"\immediate\write18{ls}",
    r"\csname x\endcsname", r"\def\x{1}\x", r"\catcode`\^=13", r"\include{x}",
    r"\openout1=x", r"\frac{\input{x}}{2}", r"\operatorname{__import__}(x_1)",
    r"\mathrm{eval}(x_1)", "sympy.core.numbers.One()", "S('x')", "Symbol('x')",
    "x_1 @ w_11^(1)", "x_1 ** ** 2", "`ls`", "$(touch {canary})", "x_1 && touch {canary}",
    "'" + "a" * 100 + "'", "\\" * 50, "{" * 100, "(" * 100 + ")" * 100,
    "x_1^(9**9**9**9)", "9**9**9**9", "sum_k(sum_j(sum_i(x_i)))",
    "h'(__import__)", "sigma'(sigma'(sigma'(x_1)))", "max(*x_1)", "max(x_1, key=abs)",
]
RESOURCE_ATTACKS = [
    ("1e300*1e300*1e300", "dE/db_1^(2)"),
    ("(x_1+x_2+w_11^(1)+w_12^(1)+b_1^(1)+b_2^(1)+w_11^(2)+w_12^(2)+b_1^(2)+t_1)^12",
     "dE/db_1^(2)"),
    ("(x_1+x_2+w_11^(1)+w_12^(1)+b_1^(1)+t_1)^100", "dE/db_1^(2)"),
    ("tanh(tanh(tanh(tanh(tanh(tanh(tanh(x_1)))))))", "dE/db_1^(2)"),
    ("tanh(tanh(x_1)+tanh(x_2))+tanh(tanh(w_11^(1))*tanh(b_1^(1)))", "dE/db_1^(2)"),
    ("x_1^(x_2*10^40)", "dE/db_1^(2)"),
    ("(1 - z_1^(1)^(2 + 1e-40))", "dE/db_1^(2)"),
    ("2^2^2^2^2^max(x_1,2)", "dE/db_1^(2)"),
    ("exp(exp(exp(exp(9))))", "dE/db_1^(2)"),
    ("exp(exp(exp(exp(exp(exp(exp(x_1)))))))", "dE/db_1^(2)"),
    ("exp(10^30 x_1)", "dE/db_1^(2)"),
    ("x_1^100^100", "dE/db_1^(2)"),
    ("+".join(["x_1"] * 1000), "dE/db_1^(2)"),
    ("*".join(["x_1"] * 1000), "dE/db_1^(2)"),
    ("+".join(f"tanh(x_1 + {k})" for k in range(300)), "dE/db_1^(2)"),
    ("+".join(f"Heaviside(x_1 - {k})" for k in range(200)), "dE/db_1^(2)"),
    ("(" * 60 + "x_1" + ")" * 60, "dE/db_1^(2)"),
    ("x_" + "1" * 5000, "dE/db_1^(2)"),
    ("1e" + "9" * 5000, "dE/db_1^(2)"),
    ("x_1 " * 2400, "dE/db_1^(2)"),
    ("sqrt(sqrt(sqrt(sqrt(sqrt(sqrt(sqrt(x_1^2+1)))))))^128", "dE/db_1^(2)"),
    ("(1 + 1e-300)^100 - 1", "dE/db_1^(2)"),
    ("(z_1^(1) + 10^4)^13 - z_1^(1)^13", "dE/db_1^(2)"),
    ("log(log(log(log(abs(x_1) + 2))))", "dE/db_1^(2)"),
    ("z_1^(1)^2", "H[w_11^(1), w_11^(2)]", "8-16-4"),
    ("z_1^(1)^2", "H[w_11^(1), w_21^(2)]", "20-25-2"),
    ("delta_1^(1) x_1", "dE/dw_11^(1)", "100-100-10"),
    ("delta_1^(1) x_2", "dE/dw_11^(1)", "60-60-10"),
    ("delta_j^(1) x_i", "dE/dw_ji^(1)", "30-30-2"),
    ("max(x_1, sqrt(-1))", "dE/db_1^(2)"),
    ("Heaviside(sqrt(x_1 - 3))", "dE/db_1^(2)"),
    ("min(x_1, log(-1))", "dE/db_1^(2)"),
    ("x_1", "dE/dw_111^(1)"), ("x_1", "dE/db_12^(1)"), ("x_1", "dE/dw_1" + "1" * 5000 + "^(1)"),
]

# True derivatives written by hand (Bishop: dE/dw_ji = delta_j z_i, tanh' = 1 - z^2) and the
# network they are true for; each perturbation is added to them.
TRUE = [
    ("2-3-1", "tanh", "sse", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_1"),
    ("2-2-1", "tanh", "sse", "dE/dw_11^(2)", "(y_1 - t_1) z_1^(1)"),
    ("3-4-2", "tanh", "sse", "delta_2^(1)",
     "(1 - z_2^(1)^2) ((y_1 - t_1) w_12^(2) + (y_2 - t_2) w_22^(2))"),
    ("2-3-3", "tanh", "cross_entropy", "delta_2^(2)", "y_2 - t_2"),
    ("2-3-1", "relu", "sse", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) Heaviside(a_2^(1), 0) x_1"),
]
NONZERO = [  # perturbations that are not the zero function (some only far outside [-2, 2])
    "relu(x_1 - 2)", "max(w_11^(1) - 2, 0)", "Heaviside(x_1 - 3)", "relu(x_1 - 1000)",
    "Heaviside(b_1^(1) - 10^6)", "max(x_1, 2) - 2", "1e-40*x_1", "10^(-38)", "1e-300",
    "1e-300*1e-300*1e-300 x_2", "tanh(a_1^(1) + 1e-300) - z_1^(1)", "abs(x_1) - x_1",
    "x_1 (sign(x_1 - 5) + 1)", "min(t_1 + 3, 0)",
    "exp(-10^6) x_1", "(y_1 - t_1) (exp(-10^6) + z_1^(1)) - (y_1 - t_1) z_1^(1)",
    "relu(-x_1 - 7)", "Heaviside(x_1 - 1e30)",
]
FACTORS = ["(1 + 1e-36)", "(1 - 10^(-50))", "(1 + Heaviside(x_1 - 4))"]
IDENTITIES = [
    "(z_1^(1) + 10^4)^13 - ({binomial})", "tanh(a_1^(1))^2 + sech(a_1^(1))^2 - 1",
    "sigma(x_1) + sigma(-x_1) - 1", "max(x_1, x_2) + min(x_1, x_2) - x_1 - x_2",
    "relu(x_1) - relu(-x_1) - x_1", "exp(log(x_1^2 + 1)) - x_1^2 - 1",
    "(w_11^(1) + b_1^(1))^2 - w_11^(1)^2 - 2 w_11^(1) b_1^(1) - b_1^(1)^2",
    "abs(x_1)^2 - x_1^2", "sqrt(x_1^2) - abs(x_1)", "0.1 + 0.2 - 0.3",
    "Heaviside(x_1 - 3) + Heaviside(3 - x_1) - 1", "cosh(x_1)^2 - sinh(x_1)^2 - 1",
]
BINOMIAL = " + ".join(f"{math.comb(13, k)}*10^{4 * (13 - k)}*z_1^(1)^{k}" for k in range(14))

TOKENS = ["x_1", "x_2", "y_1", "t_1", "w_11^(2)", "w_21^(1)", "z_1^(1)", "a_2^(1)", "delta_1^(2)",
          "b_1^(1)", "2", "0.5", "1e-40", "10", "tanh(", "sigma(", "exp(", "log(", "sqrt(", "abs(",
          "max(", "Heaviside(", "relu(", "(", ")", "+", "-", "*", "/", "^", ",", " ", "e", "pi",
          "__", ".", "'", "h'(", "sum_k(", r"\frac{", "}{", "}", r"\left(", r"\right)"]
FUNCTIONS = ["tanh", "sigma", "exp", "log", "sqrt", "abs", "relu", "Heaviside", "cosh", "softplus"]
LEAVES = ["x_1", "x_2", "t_1", "y_1", "z_1^(1)", "z_2^(1)", "a_1^(1)", "w_11^(1)", "w_12^(2)",
          "b_1^(2)", "delta_1^(2)", "2", "1/3", "0.25", "1e-30", "10^5"]


def random_tokens(rng):
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 25)))


def random_tree(rng, depth=0):
    """A random expression of the grammar: sums, products, powers, calls, leaves."""
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(LEAVES)
    kind = rng.random()
    if kind < 0.3:
        return f"({random_tree(rng, depth + 1)} {rng.choice('+-')} {random_tree(rng, depth + 1)})"
    if kind < 0.55:
        return f"{random_tree(rng, depth + 1)} {rng.choice('*/')} {random_tree(rng, depth + 1)}"
    if kind < 0.7:
        return f"({random_tree(rng, depth + 1)})^{rng.choice(['2', '3', '(1/2)', '13', '-1'])}"
    if kind < 0.8:
        return f"max({random_tree(rng, depth + 1)}, {random_tree(rng, depth + 1)})"
    return f"{rng.choice(FUNCTIONS)}({random_tree(rng, depth + 1)})"


# -- the worker ------------------------------------------------------------------------------
def _limit():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _run_one(job):
    """One verify call: its outcome class, verdict and duration (runs in the worker)."""
    import symnet
    formula, target, net_text, hidden, loss = job
    sizes = [int(n) for n in net_text.split("-")]
    output = "softmax" if loss == "cross_entropy" and sizes[-1] > 1 else "linear"
    started = built = time.monotonic()
    try:
        net = symnet.MLP(sizes, hidden=hidden, output=output)
        built = time.monotonic()
        result = symnet.verify(formula, target, net=net, loss=loss)
        outcome = {"kind": "verdict", "equal": result.equal,
                   "proven": getattr(result, "proven", None)}  # None: a symnet before issue 11
    except symnet.SymnetError as error:
        outcome = {"kind": "refused", "error": type(error).__name__, "message": str(error)[:200]}
    except BaseException as error:  # noqa: BLE001 - counting raw exceptions is the point
        outcome = {"kind": "raw", "error": type(error).__name__, "message": str(error)[:200]}
    outcome["seconds"] = time.monotonic() - built
    outcome["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return outcome


def _serve(connection):
    _limit()
    while True:
        job = connection.recv()
        if job is None:
            return
        connection.send(_run_one(job))


class Worker:
    """A process that runs jobs under the memory limit; killed and replaced on a timeout."""

    def __init__(self):
        self.start()

    def start(self):
        self.here, there = multiprocessing.Pipe()
        self.process = multiprocessing.Process(target=_serve, args=(there,), daemon=True)
        self.process.start()

    def run(self, job, timeout=4 * TIMEOUT):
        self.here.send(job)
        if self.here.poll(timeout):
            try:
                return self.here.recv()
            except EOFError:
                pass
            outcome = {"kind": "raw", "error": "died", "seconds": timeout}
        else:
            outcome = {"kind": "over", "error": "timeout", "seconds": timeout}
        self.process.kill()
        self.process.join()
        self.start()
        return outcome


def fresh_process(job):
    """One job in a new interpreter (start-up included in its time), limited to 1 GiB."""
    code = ("import json, sys; sys.path.insert(0, %r); from verify_campaign import _run_one; "
            "print(json.dumps(_run_one(json.loads(sys.argv[1]))))" % str(Path(__file__).parent))
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-c", code, json.dumps(job)], capture_output=True,
                              text=True, timeout=6 * TIMEOUT, preexec_fn=_limit,
                              env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        return {"kind": "over", "error": "timeout", "total": 6 * TIMEOUT}
    total = time.monotonic() - started
    try:
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        outcome = {"kind": "raw", "error": "crashed", "message": done.stderr[-300:]}
    outcome["total"] = total
    return outcome


# -- the parts -----------------------------------------------------------------------------
def injection_part(worker, quick):
    counts = {"inputs": 0, "raw": 0, "canary": 0, "marker": 0, "cli_bad_status": 0}
    payloads = [p.replace("{canary}", str(CANARY)).replace("{marker_a}", MARKER[:8])
                .replace("{marker_b}", MARKER[8:]) for p in INJECTIONS]
    for payload in payloads[: 12 if quick else None]:
        for target in ("dE/db_1^(2)", "dE/dw_11^(1)"):
            outcome = worker.run((payload, target, "2-2-1", "tanh", "sse"))
            counts["inputs"] += 1
            counts["raw"] += outcome["kind"] in ("raw", "over")
        done = subprocess.run([sys.executable, "-m", "symnet", "verify",
                               payload.replace("\x00", ""), "--of", "dE/db_1^(2)", "--net",
                               "2-2-1"], capture_output=True, text=True, timeout=60)
        counts["marker"] += MARKER in done.stdout + done.stderr
        counts["cli_bad_status"] += done.returncode not in (0, 1, 2) or "Traceback" in done.stderr
        counts["canary"] += CANARY.exists()
    return counts


def random_part(worker, rng, n):
    counts = {"inputs": 0, "raw": 0, "over_5s": 0, "verdicts": 0, "refused": 0, "max_s": 0.0}
    for index in range(n):
        formula = random_tokens(rng) if index % 2 else random_tree(rng)
        outcome = worker.run((formula, rng.choice(["dE/db_1^(2)", "dE/dw_11^(1)", "delta_1^(1)"]),
                              "2-2-1", rng.choice(["tanh", "relu"]), "sse"))
        counts["inputs"] += 1
        counts["raw"] += outcome["kind"] == "raw"
        counts["over_5s"] += outcome["kind"] == "over" or outcome["seconds"] > TIMEOUT
        counts["verdicts"] += outcome["kind"] == "verdict"
        counts["refused"] += outcome["kind"] == "refused"
        counts["max_s"] = max(counts["max_s"], outcome["seconds"])
        if outcome["kind"] == "raw":
            print("  raw:", repr(formula)[:100], outcome.get("error"),
                  outcome.get("message", "")[:80])
    return counts


def resource_part(quick):
    counts = {"inputs": 0, "raw": 0, "over_5s": 0, "max_total_s": 0.0, "max_rss_mb": 0.0}
    for attack in RESOURCE_ATTACKS[: 8 if quick else None]:
        formula, target, *net = attack
        outcome = fresh_process((formula, target, net[0] if net else "2-2-1", "tanh", "sse"))
        counts["inputs"] += 1
        counts["raw"] += outcome["kind"] == "raw"
        counts["over_5s"] += outcome["kind"] == "over" or outcome["total"] > TIMEOUT
        counts["max_total_s"] = max(counts["max_total_s"], outcome["total"])
        counts["max_rss_mb"] = max(counts["max_rss_mb"], outcome.get("rss_mb", 0))
        print(f"  {outcome['kind']:8s} {outcome.get('total', 0):5.2f} s "
              f"{outcome.get('rss_mb', 0):6.0f} MB  {formula[:50]!r} {target[:30]}"
              f"  {outcome.get('error', '')} {outcome.get('message', '')[:70]}")
    return counts


def perturbation_part(worker, quick):
    counts = {"inputs": 0, "wrong_equal": 0, "wrong_not_equal": 0, "raw": 0, "limit": 0,
              "over_5s": 0}
    identities = [i.format(binomial=BINOMIAL) for i in IDENTITIES]
    for net_text, hidden, loss, target, true in TRUE[: 2 if quick else None]:
        jobs = [(f"{true} + {p}", False) for p in NONZERO]
        jobs += [(f"({true}) * {f}", False) for f in FACTORS]
        jobs += [(f"{true} + {i}", True) for i in identities]
        for formula, equal in jobs:
            outcome = worker.run((formula, target, net_text, hidden, loss))
            counts["inputs"] += 1
            counts["raw"] += outcome["kind"] in ("raw", "over")
            counts["over_5s"] += outcome["kind"] == "over" or outcome["seconds"] > TIMEOUT
            counts["limit"] += outcome["kind"] == "refused"
            if outcome["kind"] == "verdict" and outcome["equal"] != equal:
                counts["wrong_equal" if outcome["equal"] else "wrong_not_equal"] += 1
                print("  WRONG:", net_text, target, formula[:90], outcome)
            elif outcome["kind"] != "verdict":
                print("  no verdict:", net_text, target, formula[:70], outcome.get("message"))
    return counts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small sample of each part")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--formulas", type=int, default=2000, help="random formulas (full run)")
    parser.add_argument("--part", choices=("injection", "random", "resource", "perturbation"),
                        help="run one part only")
    args = parser.parse_args(argv)
    CANARY.unlink(missing_ok=True)
    rng = random.Random(args.seed)
    worker = Worker()
    parts = {
        "injection": lambda: injection_part(worker, args.quick),
        "random formulas": lambda: random_part(worker, rng, 60 if args.quick else args.formulas),
        "resource attacks": lambda: resource_part(args.quick),
        "perturbations": lambda: perturbation_part(worker, args.quick),
    }
    failed = False
    for name, part in parts.items():
        if args.part and not name.startswith(args.part):
            continue
        print(f"{name}:")
        started = time.monotonic()
        counts = part()
        print(f"  {json.dumps(counts)}  ({time.monotonic() - started:.0f} s)")
        failed |= any(counts.get(k) for k in ("raw", "canary", "marker", "cli_bad_status",
                                                "wrong_equal", "wrong_not_equal", "over_5s"))
    worker.here.send(None)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
