"""The ``symnet`` command line.

    symnet demo                                   derive and check a 3-4-2 network (the default)
    symnet derive 3-4-2 --hidden tanh --loss sse --what gradient [--latex out.tex] [--pdf]
    symnet check 3-4-2 --what hessian [--method central] [--seed N]
    symnet verify "delta_2^(1)*x_1" --of "dE/dw_21^(1)" --net 3-4-2 --hidden tanh

Exit status: 0 success (verified, all checks passed), 1 refuted or failed checks,
2 bad arguments (with a message saying what was expected).
"""

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

__all__ = ["main", "parse_sizes"]


def _relative_error(exact, numeric):
    scale = np.maximum(np.abs(exact), np.abs(numeric)).max()
    return float(np.abs(exact - numeric).max() / max(scale, 1e-300))


def demo(out=None):
    """Derive every derivative of a 3-4-2 tanh network and check it against central differences."""
    out = out or sys.stdout
    import symnet
    from symnet.numdiff import central_difference

    net = symnet.MLP([3, 4, 2], hidden="tanh", output="linear")
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    w = net.init_params(seed=0)
    say = lambda *parts: print(*parts, file=out)  # noqa: E731
    say(f"symnet {symnet.__version__}: {net!r}, W = {net.n_params} parameters, N = 5 samples")
    say("parameters in column order:", ", ".join(p.name for p in net.params[:6]), "...",
        net.params[-1].name)

    grad = symnet.gradient(net, "sse")
    say("\nThe delta recursion (sum-of-squares error, linear outputs):")
    for symbol, value in grad.definitions.items():
        if symbol.name.startswith("delta") and symbol.name.endswith(("_1^(1)", "_1^(2)")):
            say(f"  {symbol} = {value}")
    say(f"  dE/d{net.params[0]} = {grad.named[0]}")

    forward = lambda W_: np.array([net.forward(X, v) for v in W_])  # noqa: E731
    error = lambda W_: np.array([symnet.loss_value(net, "sse", X, v, T) for v in W_])  # noqa: E731
    rows = []
    J_back, J_direct = symnet.input_jacobian(net), symnet.input_jacobian(net, method="direct")
    same = all(e == 0 for e in (J_back.matrix - J_direct.matrix).expand())
    numeric = np.stack([central_difference(lambda V, n=n: net.forward(V, w), X[n])
                        for n in range(5)]).transpose(0, 2, 1)
    rows.append(("input Jacobian", "(5, 2, 3)", J_back.evaluate(X, w), numeric))
    rows.append(("gradient", "(26,)", grad.evaluate(X, w, T), central_difference(error, w)))
    P = symnet.param_jacobian(net).evaluate(X, w)
    rows.append(("parameter Jacobian", "(5, 2, 26) -> LM (10, 26)", P,
                 central_difference(forward, w).transpose(1, 2, 0)))
    H = symnet.hessian(net, "sse").evaluate(X, w, T)
    gradient_at = lambda W_: np.array([grad.evaluate(X, v, T) for v in W_])  # noqa: E731
    rows.append(("Hessian", "(26, 26)", H, central_difference(gradient_at, w)))
    say("\nExact (symbolic, compiled to NumPy) against central differences:")
    worst = 0.0
    for name, shape, exact, numeric in rows:
        error_ = _relative_error(exact, numeric)
        worst = max(worst, error_)
        say(f"  {name:<20} {shape:<26} max relative error {error_:.1e}")
    say(f"\nInput Jacobian by backprop equals direct differentiation symbolically: {same}")
    say(f"Hessian symmetric: {np.allclose(H, H.T, rtol=0, atol=1e-12)}")
    ok = same and worst < 1e-6
    say("All checks passed." if ok else "SOME CHECKS FAILED.")
    return 0 if ok else 1


WHAT = ("gradient", "input_jacobian", "param_jacobian", "hessian", "gauss_newton")


def parse_sizes(text):
    """``"3-4-2"`` -> ``[3, 4, 2]`` (also ``3,4,2`` and ``3x4x2``).

    >>> parse_sizes("3-4-2")
    [3, 4, 2]
    """
    from .errors import SymnetError
    parts = text.replace(",", "-").replace("x", "-").split("-")
    if len(parts) < 2 or not all(p.strip().isdigit() for p in parts):
        raise SymnetError(f"a network is written as layer sizes like 3-4-2 (inputs-hidden-"
                          f"outputs); got {text!r}")
    return [int(p) for p in parts]


def _network(args):
    import symnet
    hidden = args.hidden.split(",") if "," in args.hidden else args.hidden
    return symnet.MLP(parse_sizes(args.net), hidden=hidden, output=args.output)


def _derivation(net, what, loss):
    import symnet
    if what == "input_jacobian":
        return symnet.input_jacobian(net)
    if what == "param_jacobian":
        return symnet.param_jacobian(net)
    if what == "gradient":
        return symnet.gradient(net, loss)
    return symnet.hessian(net, loss, approx="gauss_newton" if what == "gauss_newton" else None)


def _add_network_options(parser, positional=True):
    if positional:
        parser.add_argument("net", help="layer sizes, e.g. 3-4-2 (inputs-hidden-outputs)")
    else:
        parser.add_argument("--net", required=True, help="layer sizes, e.g. 3-4-2")
    parser.add_argument("--hidden", default="tanh",
                        help="hidden activation, or one per hidden layer: tanh,relu (default tanh)")
    parser.add_argument("--output", default="linear", help="output activation (default linear)")
    parser.add_argument("--loss", default="sse", help="sse or cross_entropy (default sse)")


def _entries_text(derivation, limit):
    """Named entries and the definitions they use, as plain text lines."""
    lines = [f"{symbol} = {value}" for symbol, value in derivation.definitions.items()]
    kind = derivation.kind
    shown = 0
    for r, row in enumerate(derivation.rows):
        for c, column in enumerate(derivation.columns):
            value = derivation.named[r, c]
            if kind in ("hessian", "gauss_newton"):
                if value == 0:
                    continue
                label = f"H[{row}, {column}]"
            elif kind == "gradient":
                label = f"dE/d{row}"
            else:
                label = f"J_{row[2:]}{column[2:]}" if kind == "input_jacobian" else f"d{row}/d{column}"
            if shown == limit:
                lines.append(f"... ({derivation.shape[0] * derivation.shape[1] - limit} more "
                             "entries; --max-entries N shows more)")
                return lines
            lines.append(f"{label} = {value}")
            shown += 1
    return lines


def _standalone(body, title):
    return ("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage[margin=2cm]{geometry}\n"
            f"\\begin{{document}}\n\\section*{{{title}}}\n\\[\n{body}\n\\]\n\\end{{document}}\n")


def _pdflatex(path, out):
    if shutil.which("pdflatex") is None:
        print(f"symnet: error: --pdf needs pdflatex, which is not installed (e.g. apt-get install "
              f"texlive-latex-recommended); the LaTeX source was written to {path}", file=sys.stderr)
        return 2
    path = Path(path).resolve()
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          f"-output-directory={path.parent}", str(path)],
                         capture_output=True, text=True, cwd=path.parent, timeout=300)
    pdf = path.with_suffix(".pdf")
    if run.returncode != 0 or not pdf.exists():
        tail = "\n".join(run.stdout.splitlines()[-15:])
        print(f"symnet: error: pdflatex failed on {path}:\n{tail}", file=sys.stderr)
        return 2
    print(f"wrote {pdf}", file=out)
    return 0


def derive(args, out=None):
    """``symnet derive``: print a derivation, or write it as LaTeX (and PDF)."""
    out = out or sys.stdout
    import symnet
    net = _network(args)
    if args.pdf and not args.latex:
        raise symnet.SymnetError("--pdf needs --latex FILE.tex (where to write the source)")
    if args.what == "all" and not args.latex:
        raise symnet.SymnetError("--what all writes a whole document: give --latex FILE.tex")
    if args.latex:
        if args.what == "all" and hasattr(symnet, "latex_document"):
            text = symnet.latex_document(net, args.loss)
        else:
            derivation = _derivation(net, "gradient" if args.what == "all" else args.what,
                                     args.loss)
            body = (derivation.latex(form=args.form) if hasattr(derivation, "latex") else
                    "\\\\\n".join(line.replace("_", "\\_") for line in
                                   _entries_text(derivation, args.max_entries)))
            text = _standalone(body, f"{derivation.kind.replace('_', ' ')} of {net!r}".replace(
                "_", "\\_"))
        Path(args.latex).write_text(text)
        print(f"wrote {args.latex}", file=out)
        return _pdflatex(args.latex, out) if args.pdf else 0
    derivation = _derivation(net, args.what, args.loss)
    print(f"{derivation.kind} of {net!r}" + (f", loss {args.loss}" if derivation.loss else "")
          + f": {derivation.shape[0]} x {derivation.shape[1]}", file=out)
    for line in _entries_text(derivation, args.max_entries):
        print("  " + line, file=out)
    return 0


def _random_data(net, loss, seed, n):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.sizes[0]))
    K = net.sizes[-1]
    if loss == "cross_entropy" and net.activations[-1].name == "softmax":
        T = np.eye(K)[rng.integers(0, K, size=n)]
    elif loss == "cross_entropy":
        T = rng.integers(0, 2, size=(n, K)).astype(float)
    else:
        T = rng.normal(size=(n, K))
    return X, net.init_params(seed=seed), T


def check(args, out=None):
    """``symnet check``: compare a derivation with numerical derivatives at a random point."""
    out = out or sys.stdout
    import symnet
    if not hasattr(symnet, "check"):
        raise symnet.SymnetError("this symnet has no numerical checker (symnet.check)")
    net = _network(args)
    derivation = _derivation(net, args.what, args.loss)
    X, w, T = _random_data(net, args.loss, args.seed, args.samples)
    report = symnet.check(derivation, X, w, T if derivation.needs_targets else None,
                          method=args.method)
    print(report, file=out)
    return 0 if report.passed else 1


def verify(args, out=None):
    """``symnet verify``: is a hand-derived formula equal to a derivation entry?"""
    out = out or sys.stdout
    import symnet
    net = _network(args)
    result = symnet.verify(args.formula, args.of, net=net, loss=args.loss, seed=args.seed)
    print(result, file=out)
    return 0 if result.equal else 1


def _parser():
    parser = argparse.ArgumentParser(
        prog="symnet", description="Exact derivatives of neural networks, symbolically.",
        epilog="exit status: 0 success, 1 refuted / failed checks, 2 bad arguments")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("demo", help="derive and check a 3-4-2 network (the default)")

    p = commands.add_parser("derive", help="print a derivation or write it as LaTeX/PDF",
                            description="Derive a network's derivative symbolically.")
    _add_network_options(p)
    p.add_argument("--what", default="gradient", choices=WHAT + ("all",),
                   help="which derivative (all: the whole document, needs --latex)")
    p.add_argument("--latex", metavar="FILE.tex", help="write a standalone LaTeX document")
    p.add_argument("--pdf", action="store_true", help="also run pdflatex on it")
    p.add_argument("--form", default="entries", choices=("entries", "matrix"),
                   help="LaTeX layout: entry by entry or layer-by-layer matrices")
    p.add_argument("--max-entries", type=int, default=60, help="entries printed (default 60)")

    p = commands.add_parser("check", help="compare a derivation with numerical derivatives",
                            description="Check a derivation numerically at a random point.")
    _add_network_options(p)
    p.add_argument("--what", default="gradient", choices=WHAT)
    p.add_argument("--method", default="central", choices=("central", "richardson", "complex"))
    p.add_argument("--seed", type=int, default=0, help="seed of the random point (default 0)")
    p.add_argument("--samples", type=int, default=3, help="number of samples (default 3)")

    p = commands.add_parser(
        "verify", help="check a hand-derived formula", description=(
            "Verify a formula (plain text or LaTeX) against an entry of a derivation. "
            'Example: symnet verify "delta_2^(1)*x_1" --of "dE/dw_21^(1)" --net 3-4-2'))
    p.add_argument("formula", help='e.g. "(y_1 - t_1)*w_11^(2)*(1 - z_1^(1)^2)*x_1"')
    p.add_argument("--of", required=True, metavar="TARGET",
                   help='e.g. "dE/dw_21^(1)", "delta_1^(1)", "J_12", "H[w_11^(1), b_1^(2)]"')
    _add_network_options(p, positional=False)
    p.add_argument("--seed", type=int, default=0, help="seed of the random points (default 0)")
    return parser


def main(argv=None):
    """Entry point of the ``symnet`` console script; returns the exit status."""
    from .errors import SymnetError
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or an argparse usage error (2)
        return stop.code
    try:
        if args.command in (None, "demo"):
            return demo()
        return {"derive": derive, "check": check, "verify": verify}[args.command](args)
    except SymnetError as error:
        print(f"symnet: error: {error}", file=sys.stderr)
        return 2
