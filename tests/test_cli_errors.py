"""The command line's exit statuses, messages, escaping, closed pipes and --help examples.

Oracles: the exit statuses the CLI documents (0 success, 1 refuted / failed, 2 bad
arguments, 3 a bug, 141 a closed pipe, as a shell reports 128 + SIGPIPE), real
subprocesses with real pipes, and the bytes of the terminal control sequences.
"""
import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import symnet
from symnet.cli import as_flags, main, printable

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
# OSC 0 (set the window title), BEL, then CSI 2J (clear the screen)
ATTACK = "x_1 \x1b]0;T\x07\x1b[2J"


def _one_line_error(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith(("symnet: error:", "symnet derive: error:",
                                 "symnet check: error:", "symnet verify: error:")), err
    return lines[-1]


@pytest.mark.parametrize("argv, message", [
    (["derive", "3-4-2", "--latex", "/nonexistent/out.tex"], "does not exist"),
    (["derive", "3-4-2", "--latex", "out.txt"], "ending in .tex"),
    (["derive", "3-4-2", "--max-entries", "-1"], "positive integer or 'all'"),
    (["derive", "3-4-2", "--max-entries", "0"], "positive integer or 'all'"),
    (["derive", "3-4-2", "--samples", "0"], "positive integer"),
    (["derive", "3-0-2"], "at least one unit"),
    (["derive", "3-4-2", "--what", "all", "--latex", "a.tex", "--form", "matrix"], "--form"),
    (["check", "3-4-2", "--samples", "-1"], "positive integer"),
    (["check", "3-4-2", "--seed", "-1"], "non-negative integer"),
    (["check", "3-4-2", "--seed", "1.5"], "non-negative integer"),
    (["verify", "x_1", "--of", "dE/db_1^(2)", "--net", "2-2-1", "--seed", "-1"],
     "non-negative integer"),
])
def test_bad_arguments_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in _one_line_error(captured.err) and captured.out == ""


def test_a_directory_as_latex_exits_2(tmp_path, capsys):
    assert main(["derive", "2-2-1", "--latex", str(tmp_path)]) == 2
    assert "is a directory" in _one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, flag, api", [
    (["derive", "2-2-1", "--loss", "cross_entropy"], "--output sigmoid or --output softmax",
     "output="),
    (["check", "2-2-1", "--hidden", "relu", "--method", "complex"],
     "use --method central or --method richardson", "method="),
])
def test_messages_name_the_flags_not_the_python_api(argv, flag, api, capsys):
    assert main(argv) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert flag in line and api not in line and "MLP(" not in line


def test_as_flags_rewrites_keywords_it_knows_only():
    assert as_flags("use method='central', seed=3 or rtol=1e-7") == (
        "use --method central, --seed 3 or rtol=1e-7")


def test_an_internal_error_says_it_is_a_bug_and_exits_3(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise TypeError("planted")
    monkeypatch.setattr(symnet, "gradient", broken)
    assert main(["derive", "2-2-1"]) == 3
    err = capsys.readouterr().err
    assert "a bug in symnet" in err and "TypeError: planted" in err and "Traceback" in err


def test_refuted_is_1_and_verified_is_0(capsys):
    assert main(["verify", "delta_2^(1)*x_1", "--of", "dE/dw_21^(1)", "--net", "3-4-2"]) == 0
    assert main(["verify", "delta_2^(1)*x_2", "--of", "dE/dw_21^(1)", "--net", "3-4-2"]) == 1


def test_printable_escapes_every_control_character():
    assert printable(ATTACK) == r"x_1 \x1b]0;T\x07\x1b[2J"
    assert printable("a\u202eb\u200bc\x00d\x7fe\udcff") == r"a\u202eb\u200bc\x00d\x7fe\udcff"
    assert printable("w_21^(1) ∂E/∂w δ\n") == "w_21^(1) ∂E/∂w δ\n"   # printable text is kept


@pytest.mark.parametrize("argv", [
    ["verify", ATTACK, "--of", "dE/db_1^(2)", "--net", "2-2-1"],
    ["verify", "x_1", "--of", ATTACK, "--net", "2-2-1"],
    ["verify", "x_1", "--of", "dE/db_1^(2)", "--net", ATTACK],
    ["derive", "2-2-1", "--what", ATTACK],
    ["derive", "2-2-1", "--hidden", ATTACK],
])
def test_user_text_is_echoed_without_control_bytes(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    echoed = captured.out + captured.err
    assert status == 2 and r"\x1b" in echoed
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", echoed)


def test_control_bytes_and_undecodable_bytes_through_a_real_terminal_stream():
    # argv bytes that are not UTF-8 reach Python as lone surrogates, which stdout cannot encode
    for formula in (ATTACK.encode(), b"x_1 \xff"):
        run = subprocess.run([sys.executable, "-m", "symnet", "verify", formula, "--of",
                              "dE/db_1^(2)", "--net", "2-2-1"], capture_output=True, env=ENV,
                             cwd=ROOT, timeout=300)
        assert run.returncode == 2, run.stderr
        assert b"Traceback" not in run.stderr
        assert not re.search(rb"[\x00-\x08\x0b-\x1f\x7f]", run.stdout + run.stderr)


@pytest.mark.parametrize("argv", [["derive", "3-4-2"], ["check", "3-4-2"], ["demo"]])
def test_a_closed_pipe_ends_silently_with_141(argv):
    # `symnet derive 3-4-2 | head -1` once ended in a BrokenPipeError traceback. Closing the
    # only reading end before the child writes makes its first write fail, every time.
    with subprocess.Popen([sys.executable, "-m", "symnet", *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=ENV, cwd=ROOT) as child:
        child.stdout.close()
        err = child.stderr.read()
        assert child.wait(timeout=300) == 141
    assert err == b""


# -- every example in every --help runs as it says -------------------------------------------
def _examples():
    """Every line under "examples:" in the output of each `symnet ... --help`."""
    examples = []
    for command in ([], ["demo"], ["derive"], ["check"], ["verify"]):
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            assert main(command + ["--help"]) == 0
        text = text.getvalue()
        assert "exit status:" in text and "3    internal error" in text
        block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
        examples += [line.strip() for line in block.splitlines()]
    return sorted(set(examples))


EXAMPLES = _examples()


def test_help_texts_have_examples():
    assert len(EXAMPLES) >= 10 and all(e.startswith("symnet ") for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_help_example_runs_as_it_says(example, tmp_path, monkeypatch, capsys):
    if "--pdf" in example and shutil.which("pdflatex") is None and not os.environ.get("CI"):
        pytest.skip("pdflatex is not installed (CI installs it and runs this example)")
    monkeypatch.chdir(tmp_path)
    stated = re.search(r"#.*exit (\d+)", example)
    argv = shlex.split(example, comments=True)
    assert argv[0] == "symnet"
    status = main(argv[1:])
    captured = capsys.readouterr()
    assert status == (int(stated.group(1)) if stated else 0), captured.out + captured.err
    assert "Traceback" not in captured.err
    for name in re.findall(r"--latex (\S+)", example):
        assert (tmp_path / name).read_text().startswith(r"\documentclass")
