"""Documents: every one the CLI makes compiles whole, every entry present, no box overfull.

Oracles: pdflatex and pdftotext (poppler) read the PDF back; the entry names are
built here by hand from the layer sizes (REFERENCE.md's order: layer by layer,
each layer's weights row-major w_ji, then its biases); the structural zeros of the
residual term come from the network's form (worked in comments); the sizes of the
Levenberg-Marquardt Jacobian from REFERENCE.md (3-4-2 with 5 samples: 10 x 26;
1-10-1 with 94 samples: 94 rows, W = 31).
"""
import itertools
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import symnet
from symnet import _size
from symnet.cli import main
from symnet.render.document import derivation_document, latex_document

SIZES = (3, 4, 2)
HBOX_TOLERANCE_PT = 1.0   # an overfull \hbox up to 1pt is invisible in print; anything wider fails
needs_tex = pytest.mark.skipif(
    (shutil.which("pdflatex") is None or shutil.which("pdftotext") is None)
    and not os.environ.get("CI"),
    reason="pdflatex / pdftotext not installed (CI installs them and runs these tests)")


def _params(sizes):
    """w_ji^(l) row-major, then b_j^(l), layer by layer (REFERENCE.md, README conventions).

    Indices are written together (w_21) unless one has two digits (w_10,1).
    """
    names = []
    for l in range(1, len(sizes)):
        names += [f"w_{j}{',' if max(j, i) > 9 else ''}{i}^({l})"
                  for j in range(1, sizes[l] + 1) for i in range(1, sizes[l - 1] + 1)]
        names += [f"b_{j}^({l})" for j in range(1, sizes[l] + 1)]
    return names


def _expected_names(what, sizes=SIZES):
    """Each entry's name as `symnet check` writes it, one list per entry (any one may appear)."""
    params, D, K = _params(sizes), sizes[0], sizes[-1]
    if what == "gradient":
        return [[f"dE/d{p}"] for p in params]
    if what == "input_jacobian":
        return [[f"J_{k}{i} = dy_{k}/dx_{i}"] for k in range(1, K + 1) for i in range(1, D + 1)]
    if what == "param_jacobian":
        return [[f"dy_{k}/d{p}"] for k in range(1, K + 1) for p in params]
    letter = "H" if what == "hessian" else "G"
    # symmetric: one name per unordered pair, in whichever order the document writes it
    return [[f"{letter}[{p}, {q}]", f"{letter}[{q}, {p}]"]
            for p, q in itertools.combinations_with_replacement(params, 2)]


def _overfull(log):
    """Overfull boxes in a pdflatex log: every \\vbox, and every \\hbox over the tolerance."""
    vboxes = re.findall(r"Overfull \\vbox \(([\d.]+)pt too high\)", log)
    hboxes = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    return vboxes, [x for x in hboxes if x > HBOX_TOLERANCE_PT]


def _compile_with_the_cli(tmp_path, argv, name):
    tex = tmp_path / f"{name}.tex"
    assert main(argv + ["--latex", str(tex), "--pdf"]) == 0
    log = tex.with_suffix(".log").read_text(errors="replace")
    text = subprocess.run(["pdftotext", str(tex.with_suffix(".pdf")), "-"], capture_output=True,
                          text=True, check=True, timeout=120).stdout
    return log, " ".join(text.split())


def _assert_every_name_in(text, expected):
    missing = [names[0] for names in expected if not any(n in text for n in names)]
    assert not missing, f"{len(missing)} of {len(expected)} entries are not in the PDF: {missing[:5]}"


DOCUMENTS = [(what, form) for what in ("gradient", "input_jacobian", "param_jacobian", "hessian",
                                       "gauss_newton") for form in ("entries", "matrix")]


@needs_tex
@pytest.mark.parametrize("what, form", DOCUMENTS)
def test_every_derivation_document_compiles_whole(tmp_path, capsys, what, form):
    # The 3-4-2 gradient used to be one unbreakable display: a blank page 1, and page 2
    # ran 678pt off the bottom after dE/dw_21^(1), so 22 of its 26 entries never appeared.
    log, text = _compile_with_the_cli(
        tmp_path, ["derive", "3-4-2", "--what", what, "--form", form, "--max-entries", "all"],
        f"{what}-{form}")
    assert _overfull(log) == ([], [])
    if form == "entries":
        _assert_every_name_in(text, _expected_names(what))
    else:
        heading = {"gauss_newton": "Gauss-Newton matrix", "input_jacobian": "Input Jacobian",
                   "param_jacobian": "Parameter Jacobian"}.get(what, what.capitalize())
        assert heading in text


@needs_tex
def test_the_cross_entropy_curvature_rows_fit_the_page(tmp_path, capsys):
    # the widest matrix-form rows: Lambda_n = diag(y_n) - y_n y_n^T for softmax outputs
    log, text = _compile_with_the_cli(
        tmp_path, ["derive", "2-3-3", "--output", "softmax", "--loss", "cross_entropy",
                   "--what", "hessian", "--form", "matrix"], "softmax")
    assert _overfull(log) == ([], []) and "one-hot targets" in text


@needs_tex
def test_the_whole_document_compiles_with_every_entry(tmp_path, capsys):
    log, text = _compile_with_the_cli(
        tmp_path, ["derive", "3-4-2", "--what", "all", "--max-entries", "all"], "all")
    assert _overfull(log) == ([], [])
    for what in ("gradient", "input_jacobian", "param_jacobian", "hessian"):
        _assert_every_name_in(text, _expected_names(what))


@needs_tex
def test_the_document_of_a_bigger_network_compiles_with_its_first_entries(tmp_path, capsys):
    # W = 4*20 + 20 + 20*3 + 3 = 163 > 64: the Hessian is shown as numbers only, and layers
    # wider than 6 units are not written out as matrices (the parameter vector is, in text)
    sizes = (4, 20, 3)
    log, text = _compile_with_the_cli(
        tmp_path, ["derive", "4-20-3", "--hidden", "relu", "--output", "softmax", "--loss",
                   "cross_entropy", "--what", "all", "--max-entries", "60"], "big")
    assert _overfull(log) == ([], [])
    _assert_every_name_in(text, _expected_names("gradient", sizes)[:60])
    _assert_every_name_in(text, _expected_names("input_jacobian", sizes))      # 12 <= 60
    _assert_every_name_in(text, _expected_names("param_jacobian", sizes)[:60])
    assert "103 more entries omitted" in text                                 # 163 - 60


# -- the documents' content, without TeX ----------------------------------------------------
def _tag_count(text):
    return text.count(r"\tag*{")


def test_max_entries_none_shows_every_entry():
    net = symnet.MLP(list(SIZES))
    # W = 3*4 + 4 + 4*2 + 2 = 26 (REFERENCE.md); the Hessian's upper triangle has 26 * 27 / 2
    assert _tag_count(derivation_document(symnet.gradient(net, "sse"), max_entries=None)) == 26
    hessian = derivation_document(symnet.hessian(net, "sse"), max_entries=None)
    assert _tag_count(hessian) == 351 and "omitted" not in hessian
    document = latex_document(net, "sse", max_entries=None)
    # 26 gradient + 2 * 3 input Jacobian + 2 * 26 parameter Jacobian + 351 Hessian entries
    assert _tag_count(document) == 26 + 6 + 52 + 351
    bounded = latex_document(net, "sse")                      # 12 per list by default
    assert r"\text{(14 more entries omitted)}" in bounded     # 26 - 12 gradient entries


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "all"])
def test_max_entries_must_be_positive_or_none(bad):
    net = symnet.MLP([2, 2, 1])
    with pytest.raises(symnet.SymnetError, match="max_entries"):
        latex_document(net, "sse", max_entries=bad)
    with pytest.raises(symnet.SymnetError, match="max_entries"):
        derivation_document(symnet.gradient(net, "sse"), max_entries=bad)


def test_levenberg_marquardt_layout_takes_n_and_says_where_its_default_comes_from():
    # REFERENCE.md: a 1-10-1 network has W = 31; with 94 samples its Jacobian has 94 rows
    text = symnet.param_jacobian(symnet.MLP([1, 10, 1])).latex(n_samples=94)
    assert r"N &= 94 \text{ samples: } J \text{ is } 94 \times 31" in text
    assert "default" not in text
    # without data the layout is REFERENCE.md's 3-4-2 example, N = 5: 10 x 26, said to be a default
    default = symnet.param_jacobian(symnet.MLP(list(SIZES))).latex()
    assert r"N &= 5 \text{ samples: } J \text{ is } 10 \times 26" in default
    assert r"\text{(the default } N" in default and r"\mathtt{n\_samples}" in default
    document = latex_document(symnet.MLP(list(SIZES)), "sse", n_samples=94)
    assert r"N &= 94 \text{ samples: } J \text{ is } 188 \times 26" in document   # 94 * K = 188
    with pytest.raises(symnet.SymnetError, match="n_samples"):
        symnet.param_jacobian(symnet.MLP([1, 1])).latex(n_samples=0)


@pytest.mark.parametrize("output, loss, weights", [
    # REFERENCE.md: sum-of-squares H ~ sum_n b_n b_n^T (Lambda = I, b = grad y);
    # cross-entropy with logistic outputs H ~ sum_n y_n (1 - y_n) b_n b_n^T (b = grad a)
    ("linear", "sse", r"\Lambda_n &= \frac{\partial^2 E_n}{\partial \mathbf{y}\, \partial "
                      r"\mathbf{y}^\top} = I"),
    ("sigmoid", "cross_entropy", r"= \operatorname{diag}\bigl(y_{nk} (1 - y_{nk})\bigr)"),
    ("softmax", "cross_entropy", r"= \operatorname{diag}(\mathbf{y}_n) - \mathbf{y}_n "
                                 r"\mathbf{y}_n^\top"),
])
def test_gauss_newton_matrix_form_defines_lambda_and_shows_no_residual(output, loss, weights):
    net = symnet.MLP([2, 2, 2], output=output)
    gauss = symnet.hessian(net, loss, approx="gauss_newton").latex(form="matrix")
    section = gauss[gauss.index(r"\textbf{Gauss-Newton matrix}"):]
    assert r"G &= \sum_n B_n^\top \Lambda_n B_n" in section and weights in section
    assert "residual" not in section and "R =" not in section and "H &=" not in section
    exact = symnet.hessian(net, loss).latex(form="matrix")
    assert r"H &= G + R" in exact and weights in exact and r"\nabla\nabla" in exact


def _spot_rows(text):
    """{(p, q) LaTeX pair: the residual part} of the Hessian spot checks of a document."""
    rows = re.findall(r"\\frac\{\\partial\^2 E_n\}\{\\partial (.*?)\\, \\partial (.*?)\} &= "
                      r"[^,]*, \\quad G = [^,]*, \\quad (.*?)(?: \\\\)?\n", text)
    return {(p, q): residual for p, q, residual in rows}


def test_spot_checks_print_exact_zeros_as_zero():
    # The worked example's 2-2-2 logistic network: y_1 depends on w_11^(2), w_12^(2), b_1^(2)
    # only and y_2 on w_21^(2), w_22^(2), b_2^(2), so d^2 y_k / dp dq = 0 for p of output 1 and
    # q of output 2, for both k: R = sum_k (y_k - t_k) d^2 y_k / dp dq is identically 0 there.
    # It used to print -2.17e-19, the rounding of H - G.
    net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    rows = _spot_rows(latex_document(net, "sse", max_entries=None))
    assert len(rows) == 78                                      # W = 12: 12 * 13 / 2
    first = ["w_{11}^{(2)}", "w_{12}^{(2)}", "b_{1}^{(2)}"]
    second = ["w_{21}^{(2)}", "w_{22}^{(2)}", "b_{2}^{(2)}"]
    for p, q in itertools.product(first, second):
        assert rows.get((p, q), rows.get((q, p))) == r"R = 0 \ \text{(exact)}"
    # Everything else is a value or says it is rounding: no bare number below rounding level.
    eps = np.finfo(float).eps
    for residual in rows.values():
        if residual.startswith("R = ") and "exact" not in residual:
            mantissa, _, exponent = residual[4:].partition(r" \times 10^{")
            value = float(mantissa) * 10.0 ** int(exponent.rstrip("}") or 0)
            assert abs(value) > 1e-3 * eps, residual


def test_exact_hessian_limit_is_one_number_quoted_everywhere():
    # W <= 1000: 1000^2 = 1,000,000 entries (benchmarks/bench_symbolic.py times them)
    assert _size.MAX_HESSIAN_PARAMS == 1000
    _size.check_hessian(1000)
    with pytest.raises(symnet.TooLargeError, match="W <= 1000"):
        _size.check_hessian(1001)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for path in ("README.md", "docs/benchmarks/bench_core.txt", "benchmarks/bench_core.py"):
        with open(os.path.join(root, path)) as file:
            text = file.read()
        assert not re.search(r"W (?:>|<=) 600", text), path
        # every Hessian limit these files quote is the code's one number
        quoted = re.findall(r"(?:skipped: W >|only for W <=) (\d+)", text)
        assert quoted and set(quoted) == {"1000"}, path
    with open(os.path.join(root, "README.md")) as file:
        assert "W = 1000" in file.read()
