"""The ``symnet`` command line.

    symnet demo                                   derive and check a 3-4-2 network (the default)
    symnet derive 3-4-2 --hidden tanh --loss sse --what gradient [--latex out.tex] [--pdf]
    symnet check 3-4-2 --what hessian [--method central] [--seed N]
    symnet verify "delta_2^(1)*x_1" --of "dE/dw_21^(1)" --net 3-4-2 --hidden tanh

Exit status (``EXIT_STATUS``, printed by every ``--help``): 0 success, 1 refuted
(verify) or failed checks (check, demo), 2 bad arguments or input symnet refuses,
3 an internal error (a bug in symnet), 130 interrupted, 141 output pipe closed.

Everything the command line prints passes through ``printable``, so text a user
typed (a formula, a file name) is echoed with its control characters escaped and
cannot retitle or clear the terminal. Error messages of the Python API name
keyword arguments (``loss='sse'``); ``as_flags`` rewrites them as the flags the
command line has (``--loss sse``).

The command line's texts (arguments, help, examples, exit codes, ``printable``) are
``symnet._cli_text``; this module holds what each subcommand does, and ``main``.
"""

import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np

from .graph.loss_rules import loss_rule
from ._cli_text import (EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_PIPE, EXIT_REFUTED,
                        EXIT_STATUS, EXIT_USAGE, WHAT, _Printable, as_flags, parse_sizes, parser,
                        printable)

__all__ = ["main", "parse_sizes", "printable", "as_flags", "EXIT_STATUS"]

PDFLATEX_SECONDS = 300


# -- demo ------------------------------------------------------------------------------
def _relative_error(exact, numeric):
    scale = np.maximum(np.abs(exact), np.abs(numeric)).max()
    return float(np.abs(exact - numeric).max() / max(scale, 1e-300))


def demo(out=None):
    """Derive every derivative of a 3-4-2 tanh network and check it against central differences."""
    out = out or sys.stdout
    import symnet
    from symnet.numdiff.differences import central_difference

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
    return EXIT_OK if ok else EXIT_REFUTED


# -- derive ----------------------------------------------------------------------------
# How the command line derives each kind of symnet.derive.derivation.KINDS: (net, loss) -> derivation,
# through the public API (looked up when called, as every command uses the API).
DERIVE = {
    "input_jacobian": lambda net, loss: _api().input_jacobian(net),
    "gradient": lambda net, loss: _api().gradient(net, loss),
    "param_jacobian": lambda net, loss: _api().param_jacobian(net),
    "hessian": lambda net, loss: _api().hessian(net, loss),
    "gauss_newton": lambda net, loss: _api().hessian(net, loss, approx="gauss_newton"),
    "hessian_residual": lambda net, loss: _api().hessian_residual(net, loss),
    "hessian_vector_product": lambda net, loss: _api().hessian_vector_product(net, loss),
    "input_hessian": lambda net, loss: _api().input_hessian(net),
}


def _api():
    import symnet
    return symnet


def _network(args):
    import symnet
    hidden = args.hidden.split(",") if "," in args.hidden else args.hidden
    return symnet.MLP(parse_sizes(args.net), hidden=hidden, output=args.output)


def _derivation(net, what, loss):
    return DERIVE[what](net, loss)


def _entries_text(derivation, limit):
    """The definitions, then the named entries (at most ``limit``; None: all), as text lines.

    Entries are labelled as the kind names them (``dE/dw_11^(1)``, ``J_12``,
    ``H[w_11^(1), b_1^(1)]``); a symmetric kind lists its upper triangle's nonzero entries.
    """
    lines = [f"{symbol} = {value}" for symbol, value in derivation.definitions.items()]
    info, net, entries = derivation.kind_info, derivation.net, []
    variables = [v.name for v in (net.inputs if info.wrt == "inputs" else net.params)]
    outputs = [y.name for y in net.layer_values(net.n_layers)]
    for index in np.ndindex(*derivation.shape):
        value = derivation.named[index]
        if info.symmetric and (index[-2] > index[-1] or value == 0):
            continue
        label, _ = info.names.text(index[:info.entry_axes], variables, outputs)
        entries.append(f"{label} = {value}")
    shown = entries if limit is None else entries[:limit]
    lines += shown
    if len(shown) < len(entries):
        lines.append(f"... ({len(entries) - len(shown)} more entries; --max-entries N or "
                     "--max-entries all shows more)")
    return lines


def _pdflatex(path, out):
    if shutil.which("pdflatex") is None:
        print(f"symnet: error: --pdf needs pdflatex, which is not installed (e.g. apt-get install "
              f"texlive-latex-base); the LaTeX source was written to {path}", file=sys.stderr)
        return EXIT_USAGE
    path = Path(path).resolve()
    command = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
               f"-output-directory={path.parent}", str(path)]
    try:
        run = subprocess.run(command, capture_output=True, text=True, errors="replace",
                             cwd=path.parent, timeout=PDFLATEX_SECONDS)
    except subprocess.TimeoutExpired:
        print(f"symnet: error: pdflatex took more than {PDFLATEX_SECONDS} s on {path}; the LaTeX "
              "source is there (a smaller --max-entries gives a shorter document)", file=sys.stderr)
        return EXIT_USAGE
    pdf = path.with_suffix(".pdf")
    if run.returncode != 0 or not pdf.exists():
        tail = "\n".join(run.stdout.splitlines()[-15:])
        print(f"symnet: error: pdflatex failed on {path}:\n{tail}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {pdf}", file=out)
    return EXIT_OK


def derive(args, out=None):
    """``symnet derive``: print a derivation, or write it as LaTeX (and PDF)."""
    out = out or sys.stdout
    import symnet
    from symnet.render.document import derivation_document
    net = _network(args)
    if args.pdf and not args.latex:
        raise symnet.SymnetError("--pdf needs --latex FILE.tex (where to write the source)")
    if args.what == "all" and not args.latex:
        raise symnet.SymnetError("--what all writes a whole document: give --latex FILE.tex")
    if args.what == "all" and args.form is not None:
        raise symnet.SymnetError("--what all writes both forms, entries and matrices: leave out "
                                 "--form")
    if not args.latex:
        derivation = _derivation(net, args.what, args.loss)
        print(f"{derivation.kind} of {net!r}" + (f", loss {args.loss}" if derivation.loss else "")
              + f": {' x '.join(str(n) for n in derivation.shape)}", file=out)
        for line in _entries_text(derivation, args.max_entries):
            print("  " + line, file=out)
        return EXIT_OK
    if args.what == "all":
        text = symnet.latex_document(net, args.loss, max_entries=args.max_entries,
                                     n_samples=args.samples)
    else:
        text = derivation_document(_derivation(net, args.what, args.loss),
                                   form=args.form or "entries", max_entries=args.max_entries,
                                   n_samples=args.samples)
    try:
        args.latex.write_text(text)
    except OSError as error:
        raise symnet.SymnetError(f"cannot write {str(args.latex)!r}: {error.strerror}") from None
    print(f"wrote {args.latex}", file=out)
    return _pdflatex(args.latex, out) if args.pdf else EXIT_OK


# -- check and verify ------------------------------------------------------------------
def _random_data(net, loss, seed, n):
    """Inputs, weights and targets at a seeded random point; targets the loss accepts.

    Probability targets (cross-entropy) are one-hot for softmax outputs and 0 or 1
    for elementwise ones; other losses get real targets.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.sizes[0]))
    K = net.sizes[-1]
    probabilities = loss_rule(loss).probability_targets
    if probabilities and net.activations[-1].name == "softmax":   # one class per sample
        T = np.eye(K)[rng.integers(0, K, size=n)]
    elif probabilities:
        T = rng.integers(0, 2, size=(n, K)).astype(float)
    else:
        T = rng.normal(size=(n, K))
    return X, net.init_params(seed=seed), T


def check(args, out=None):
    """``symnet check``: compare a derivation with numerical derivatives at a random point."""
    out = out or sys.stdout
    import symnet
    net = _network(args)
    derivation = _derivation(net, args.what, args.loss)
    X, w, T = _random_data(net, args.loss, args.seed, args.samples)
    # A Hessian-vector product is checked along a random direction of the same seed.
    direction = ({"v": np.random.default_rng(args.seed).normal(size=net.n_params)}
                 if derivation.kind_info.direction else {})
    report = symnet.check(derivation, X, w, T if derivation.needs_targets else None,
                          method=args.method, **direction)
    print(report, file=out)
    return EXIT_OK if report.passed else EXIT_REFUTED


def verify(args, out=None):
    """``symnet verify``: is a hand-derived formula equal to a derivation entry?"""
    out = out or sys.stdout
    import symnet
    net = _network(args)
    result = symnet.verify(args.formula, args.of, net=net, loss=args.loss, seed=args.seed,
                           weight_decay=args.weight_decay)
    print(result, file=out)
    return EXIT_OK if result.equal else EXIT_REFUTED




def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's final flush meets no closed pipe.

    The recipe of the Python documentation (signal module, "Note on SIGPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):   # stdout is not a file (captured in a test): nothing to do
        pass


def main(argv=None):
    """Entry point of the ``symnet`` console script; returns the exit status (``EXIT_STATUS``)."""
    out, err = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        status = _run(argv, out, err)
        sys.stdout.flush()   # a closed pipe shows here, inside the handler below
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE


def _run(argv, out, err):
    from .errors import SymnetError
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or an argparse usage error (2)
        return stop.code
    commands = {"derive": derive, "check": check, "verify": verify}
    try:
        if args.command in (None, "demo"):
            return demo(out)
        return commands[args.command](args, out)
    except SymnetError as error:
        print(f"symnet: error: {as_flags(str(error))}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("symnet: interrupted", file=err)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        raise
    except Exception as error:  # noqa: BLE001 - anything else is a bug, and says so
        print(f"symnet: internal error, a bug in symnet: {type(error).__name__}: {error}\n"
              "Please report it with the command that caused it and this traceback:", file=err)
        print("".join(traceback.format_exception(error)), file=err, end="")
        return EXIT_BUG
