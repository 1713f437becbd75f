"""The ``symnet`` command line, run in-process through main([...]) and once as a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import symnet
from symnet import cli
from symnet.cli import main, parse_sizes

ROOT = Path(__file__).resolve().parents[1]


def test_verify_accepts_a_correct_formula(capsys):
    # dE/dw_21^(1) = delta_2^(1) x_1 (Bishop 8.1: dE_n/dw_ji = delta_j z_i with z^(0) = x).
    status = main(["verify", "delta_2^(1)*x_1", "--of", "dE/dw_21^(1)", "--net", "3-4-2",
                   "--hidden", "tanh"])
    assert status == 0
    assert capsys.readouterr().out.startswith("verified:")


def test_verify_refutes_with_counterexample_and_hint(capsys):
    status = main(["verify", r"(y_1 - t_1) w_12^{(2)} x_1", "--of", "dE/dw_21^(1)",
                   "--net", "2-2-1"])
    out = capsys.readouterr().out
    assert status == 1
    assert "NOT equal" in out and "yours   =" in out and "hint: the factor h'(a_j^(1))" in out


def test_verify_with_weight_decay_is_exact(capsys):
    # E = E_n + (lam/2) sum_p w_p^2 with lam = 1/100: dE/dw_11^(2) = delta_1^(2) z_1^(1)
    # + w_11^(2)/100 (by hand); without the decay term the formula is refuted and named.
    assert main(["verify", "delta_1^(2) z_1^(1) + w_11^(2)/100", "--of", "dE/dw_11^(2)",
                 "--net", "2-2-1", "--weight-decay", "0.01"]) == 0
    capsys.readouterr()
    assert main(["verify", "delta_1^(2) z_1^(1)", "--of", "dE/dw_11^(2)", "--net", "2-2-1",
                 "--weight-decay", "1/100"]) == 1
    assert "weight-decay term is missing" in capsys.readouterr().out
    assert main(["verify", "x_1", "--of", "dE/dw_11^(2)", "--net", "2-2-1",
                 "--weight-decay", "-1"]) == 2


@pytest.mark.parametrize("argv, message", [
    (["verify", "__import__('os')", "--of", "dE/db_1^(2)", "--net", "2-2-1"], "'__import__'"),
    (["verify", "x_1", "--of", "dE/db_1^(2)", "--net", "2-"], "layer sizes like 3-4-2"),
    (["verify", "x_1", "--of", "dE/dv_1", "--net", "2-2-1"], "unknown target"),
    (["verify", "x_1", "--of", "J_11", "--net", "2-2-1", "--hidden", "sigmod"],
     "unknown activation 'sigmod'"),
    (["derive", "2-2-1", "--pdf"], "--pdf needs --latex"),
    (["derive", "2-2-1", "--loss", "cross_entropy"], "cross_entropy needs sigmoid"),
])
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    assert main(["verify", "x_1", "--net", "2-2-1"]) == 2  # --of is required
    assert "--of" in capsys.readouterr().err
    assert main(["derive", "2-2-1", "--what", "laplacian"]) == 2


@pytest.mark.parametrize("command", [[], ["demo"], ["derive"], ["check"], ["verify"]])
def test_help_for_each_command(command, capsys):
    assert main(command + ["--help"]) == 0
    assert "usage: symnet" in capsys.readouterr().out


def test_derive_prints_the_named_entries(capsys):
    assert main(["derive", "2-2-1", "--what", "gradient"]) == 0
    out = capsys.readouterr().out
    # Hand-derived for 2-2-1, tanh hidden, linear output, sse: delta_1^(2) = y_1 - t_1,
    # delta_1^(1) = (1 - z_1^2) w_11^(2) delta_1^(2), dE/dw_11^(1) = delta_1^(1) x_1.
    assert "delta_1^(2) = -t_1 + y_1" in out
    assert "delta_1^(1) = delta_1^(2)*w_11^(2)*(1 - z_1^(1)**2)" in out
    assert "dE/dw_11^(1) = delta_1^(1)*x_1" in out
    assert main(["derive", "2-2-1", "--what", "input_jacobian"]) == 0
    assert "J_12 = dy_1/da_1^(1)*w_12^(1) + dy_1/da_2^(1)*w_22^(1)" in capsys.readouterr().out


def test_derive_writes_latex(tmp_path, capsys):
    path = tmp_path / "gradient.tex"
    assert main(["derive", "2-2-1", "--what", "gradient", "--latex", str(path)]) == 0
    text = path.read_text()
    assert text.startswith("\\documentclass") and "\\end{document}" in text
    assert "delta" in text


def test_pdf_without_pdflatex_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli.shutil, "which", lambda name: None)
    path = tmp_path / "out.tex"
    assert main(["derive", "2-2-1", "--latex", str(path), "--pdf"]) == 2
    assert "needs pdflatex" in capsys.readouterr().err and path.exists()


@pytest.mark.skipif(not hasattr(symnet, "check"), reason="symnet.check not available")
def test_check_runs_the_numerical_cross_check(capsys):
    assert main(["check", "2-3-2", "--what", "gradient", "--seed", "1"]) == 0
    assert "PASS" in capsys.readouterr().out.upper()


def test_parse_sizes():
    assert parse_sizes("3-4-2") == [3, 4, 2] and parse_sizes("1x10x1") == [1, 10, 1]


def test_console_entry_as_a_subprocess():
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-m", "symnet", "verify", "y_1 - t_1", "--of",
                          "delta_1^(2)", "--net", "2-2-1"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("verified:")
    bad = subprocess.run([sys.executable, "-m", "symnet", "verify", "x_1 +", "--of",
                          "delta_1^(2)", "--net", "2-2-1"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "ends too early" in bad.stderr
