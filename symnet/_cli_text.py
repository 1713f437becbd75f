"""What the ``symnet`` command line reads and prints: its arguments, help texts and exit codes.

The parser (``parser()``) with every subcommand's options, the argument types whose
bad values are argparse errors (exit 2), the examples each ``--help`` shows (each one
run by tests/test_cli_errors.py), the exit codes and ``EXIT_STATUS`` that states them,
and ``printable`` / ``as_flags``, through which every message passes. What each
subcommand does is ``symnet.cli``.

Examples
--------
>>> args = parser().parse_args(["check", "3-4-2", "--what", "hessian"])
>>> args.command, parse_sizes(args.net), args.what, args.loss
('check', [3, 4, 2], 'hessian', 'sse')
"""

import argparse
import re
import sys
from fractions import Fraction
from pathlib import Path

from .derive.derivation import KINDS

__all__ = ["parser", "parse_sizes", "printable", "as_flags", "EXIT_STATUS", "WHAT",
           "EXIT_OK", "EXIT_REFUTED", "EXIT_USAGE", "EXIT_BUG", "EXIT_INTERRUPTED", "EXIT_PIPE"]

EXIT_OK, EXIT_REFUTED, EXIT_USAGE, EXIT_BUG = 0, 1, 2, 3
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141   # 128 + SIGINT, 128 + SIGPIPE, as a shell reports them
EXIT_STATUS = """exit status:
  0    success: verified, every check passed, the document written
  1    refuted (verify) or some check failed (check, demo)
  2    bad arguments, or input symnet refuses (the message says what was expected)
  3    internal error: a bug in symnet (please report it with the command)
  130  interrupted (Ctrl-C);  141  the output pipe closed early (e.g. | head), silently"""
WHAT = tuple(KINDS)  # what derive and check can derive: every kind of derivation


# -- what the command line prints ------------------------------------------------------
def printable(text):
    r"""``text`` with every control or other non-printable character escaped; newlines kept.

    >>> printable("x_1 \x1b]0;T\x07\x1b[2J")
    'x_1 \\x1b]0;T\\x07\\x1b[2J'
    >>> printable("a\u202eb\tc\n")
    'a\\u202eb\\tc\n'
    """
    return "".join(c if c.isprintable() or c == "\n" else ascii(c)[1:-1] for c in text)


class _Printable:
    """A text stream that writes everything through ``printable``."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        return self._stream.write(printable(text))

    def flush(self):
        self._stream.flush()


_FLAGS = {"loss": "--loss", "output": "--output", "hidden": "--hidden", "method": "--method",
          "seed": "--seed", "n_samples": "--samples", "max_entries": "--max-entries",
          "form": "--form"}
_API_CALL = re.compile(r"MLP\(\.\.\., (\w+=[^()]*)\)")
_API_KEYWORD = re.compile(rf"\b({'|'.join(_FLAGS)})=('[^']*'(?: or '[^']*')*|[\w.+-]+)")
_API_NAME_FIRST = re.compile(rf"^({'|'.join(_FLAGS)}) ")   # "hidden names one activation ..."


def as_flags(message):
    """An API error message with its keyword arguments written as command-line flags.

    >>> as_flags("Use loss='sse', or MLP(..., output='sigmoid' or 'softmax').")
    'Use --loss sse, or --output sigmoid or --output softmax.'
    >>> as_flags("hidden names one activation per hidden layer")
    '--hidden names one activation per hidden layer'
    """
    def flag(match):
        name, values = match.groups()
        values = re.findall(r"'([^']*)'", values) or [values]
        return " or ".join(f"{_FLAGS[name]} {value}" for value in values)
    message = _API_KEYWORD.sub(flag, _API_CALL.sub(r"\1", message))
    return _API_NAME_FIRST.sub(lambda match: _FLAGS[match.group(1)] + " ", message)


# -- argument types: a bad value is an argparse error (exit 2) ---------------------------
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:  # NumPy's generators take non-negative seeds
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text!r}")
    return value


def _decay(text):
    """A weight-decay coefficient as typed: an exact fraction or decimal >= 0 (never evaluated)."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a number >= 0 such as 0.01 or 1/100; got {text!r}")
    return value


def _max_entries(text):
    if text.strip().lower() == "all":
        return None
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer or 'all'; got {text!r}") from None


def _tex_path(text):
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name such as "
                                         f"{str(path / 'derivation.tex')!r}")
    if path.suffix != ".tex":
        raise argparse.ArgumentTypeError(f"expected a file name ending in .tex; got {text!r}")
    if not path.resolve().parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"the directory {str(path.parent)!r} of {text!r} does not exist")
    return path


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
    sizes = [int(p) for p in parts]
    if min(sizes) < 1:
        raise SymnetError(f"every layer needs at least one unit; got {text!r}")
    return sizes



# -- the parser ------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with its error messages (which quote what the user typed) made printable."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {printable(message)}\n")


def _epilog(*examples):
    lines = ["examples:"] + [f"  {example}" for example in examples]
    return "\n".join(lines) + "\n\n" + EXIT_STATUS


# Every example below is run by tests/test_cli_errors.py; "# exit N" states its status.
DERIVE_EXAMPLES = (
    "symnet derive 3-4-2 --what gradient",
    "symnet derive 3-4-2 --what hessian --max-entries 5",
    "symnet derive 3-4-2 --what gradient --latex gradient.tex --pdf",
    "symnet derive 3-4-2 --what param_jacobian --samples 94 --latex lm.tex",
    "symnet derive 2-2-2 --hidden sigmoid --output sigmoid --what all --max-entries all "
    "--latex net.tex",
)
CHECK_EXAMPLES = (
    "symnet check 3-4-2 --what hessian",
    "symnet check 2-3-1 --hidden relu --what param_jacobian --method richardson --seed 1",
    "symnet check 2-2-1 --output sigmoid --loss cross_entropy --method complex",
)
VERIFY_EXAMPLES = (
    'symnet verify "delta_2^(1)*x_1" --of "dE/dw_21^(1)" --net 3-4-2',
    'symnet verify "(1 - z_2^(1)^2)*(w_12^(2)*(y_1 - t_1) + w_22^(2)*(y_2 - t_2))*x_1" '
    '--of "dE/dw_21^(1)" --net 3-4-2',
    'symnet verify "y_1 - t_1" --of "delta_1^(2)" --net 2-2-1',
    'symnet verify "delta_2^(1)*x_2" --of "dE/dw_21^(1)" --net 3-4-2   # refuted: exit 1',
)


def _add_network_options(parser, positional=True):
    if positional:
        parser.add_argument("net", help="layer sizes, e.g. 3-4-2 (inputs-hidden-outputs)")
    else:
        parser.add_argument("--net", required=True, help="layer sizes, e.g. 3-4-2")
    parser.add_argument("--hidden", default="tanh",
                        help="hidden activation, or one per hidden layer: tanh,relu (default tanh)")
    parser.add_argument("--output", default="linear", help="output activation (default linear)")
    parser.add_argument("--loss", default="sse",
                        help="sse, cross_entropy, log_cosh, huber or a registered loss "
                             "(default sse)")


def parser():
    """The ``symnet`` argument parser, every subcommand with its options, help and examples."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="symnet", description="Exact derivatives of neural networks, symbolically.",
        epilog=_epilog("symnet demo", DERIVE_EXAMPLES[0], CHECK_EXAMPLES[0], VERIFY_EXAMPLES[0]),
        formatter_class=raw)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("demo", help="derive and check a 3-4-2 network (the default)",
                        description="Derive every derivative of a 3-4-2 tanh network and check "
                                    "it against central differences.",
                        epilog=_epilog("symnet demo"), formatter_class=raw)

    p = commands.add_parser("derive", help="print a derivation or write it as LaTeX/PDF",
                            description="Derive a network's derivative symbolically.",
                            epilog=_epilog(*DERIVE_EXAMPLES), formatter_class=raw)
    _add_network_options(p)
    p.add_argument("--what", default="gradient", choices=WHAT + ("all",),
                   help="which derivative (all: the whole document, needs --latex)")
    p.add_argument("--latex", metavar="FILE.tex", type=_tex_path,
                   help="write a standalone LaTeX document (it breaks across pages)")
    p.add_argument("--pdf", action="store_true", help="also run pdflatex on it")
    p.add_argument("--form", choices=("entries", "matrix"),
                   help="LaTeX layout: entry by entry (default) or layer-by-layer matrices")
    p.add_argument("--max-entries", type=_max_entries, default=60, metavar="N|all",
                   help="entries shown per list (default 60; all: every entry)")
    p.add_argument("--samples", type=_positive_int, metavar="N",
                   help="N of the Levenberg-Marquardt layout (N K) x W of param_jacobian "
                        "and all (default 5, stated in the document)")

    p = commands.add_parser("check", help="compare a derivation with numerical derivatives",
                            description="Check a derivation numerically at a random point.",
                            epilog=_epilog(*CHECK_EXAMPLES), formatter_class=raw)
    _add_network_options(p)
    p.add_argument("--what", default="gradient", choices=WHAT)
    p.add_argument("--method", default="central", choices=("central", "richardson", "complex"))
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random point (default 0)")
    p.add_argument("--samples", type=_positive_int, default=3,
                   help="number of samples (default 3)")

    p = commands.add_parser(
        "verify", help="check a hand-derived formula",
        description="Verify a formula (plain text or LaTeX) against an entry of a derivation.",
        epilog=_epilog(*VERIFY_EXAMPLES), formatter_class=raw)
    p.add_argument("formula", help='plain text or LaTeX, e.g. "delta_2^(1)*x_1"')
    p.add_argument("--of", required=True, metavar="TARGET",
                   help='e.g. "dE/dw_21^(1)", "delta_1^(1)", "J_12", "H[w_11^(1), b_1^(2)]"')
    _add_network_options(p, positional=False)
    p.add_argument("--seed", type=_seed, default=0, help="seed of the random points (default 0)")
    p.add_argument("--weight-decay", type=_decay, default=None, metavar="LAMBDA",
                   help="E = sum_n E_n + LAMBDA/2 sum_p w_p^2, kept exact (e.g. 0.01 or 1/100)")
    return parser

