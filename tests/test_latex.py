"""LaTeX derivations: notation, content, wrapping, the corners answer, the document.

Oracles: hand-written strings of Bishop's notation, the published worked example
(REFERENCE.md; Mazur's step-by-step example), the independent NumPy network in
tests/oracle.py, and pdflatex itself.
"""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import MAZUR, MAZUR_STEP
from symnet import symbols as sym
from symnet.render.document import latex_document
from symnet.render.derivation_latex import derivation_latex, split_hessian_entry, lm_corners, tex, wrap_row


def _all_kinds():
    net = symnet.MLP([2, 2, 1], hidden="tanh", output="sigmoid")
    return {
        "input_jacobian": symnet.input_jacobian(net),
        "input_jacobian_direct": symnet.input_jacobian(net, method="direct"),
        "gradient": symnet.gradient(net, "cross_entropy"),
        "param_jacobian": symnet.param_jacobian(net),
        "hessian": symnet.hessian(net, "cross_entropy"),
        "gauss_newton": symnet.hessian(net, "cross_entropy", approx="gauss_newton"),
    }


KINDS = _all_kinds()


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("form", ["entries", "matrix"])
def test_every_derivation_renders_itself(name, form):
    derivation = KINDS[name]
    text = derivation.latex(form=form)
    assert text.startswith(r"\begin{aligned}") and text.endswith(r"\end{aligned}")
    for env in ("aligned", "pmatrix", "matrix"):
        assert text.count(rf"\begin{{{env}}}") == text.count(rf"\end{{{env}}}")
    assert text.count("{") == text.count("}")
    assert text.count(r"\bigl(") == text.count(r"\bigr)")
    if form == "entries":
        repr_text = derivation._repr_latex_()
        assert repr_text == f"$${text}$$"
    assert "Forward pass" in text


def test_tanh_1_1_1_delta_in_bishop_notation():
    # delta^(1) = h'(a^(1)) w_11^(2) delta^(2) with tanh' = 1 - z^2, delta^(2) = y - t (linear, sse)
    text = symnet.gradient(symnet.MLP([1, 1, 1], hidden="tanh"), "sse").latex()
    assert (r"\delta_{1}^{(1)} &= \left(1 - \left(z_{1}^{(1)}\right)^{2}\right) w_{11}^{(2)} "
            r"\delta_{1}^{(2)}") in text
    assert r"\delta_{1}^{(2)} &= y_{1} - t_{1}" in text
    assert (r"\delta_j^{(l)} &= h_l'\bigl(a_j^{(l)}\bigr) \sum_k w_{kj}^{(l+1)} \delta_k^{(l+1)}"
            in text)
    assert r"\frac{\partial E_n}{\partial w_{11}^{(2)}} &= \delta_{1}^{(2)} z_{1}^{(1)}" in text
    assert r"h_{1}'\bigl(a_j^{(1)}\bigr) &= 1 - \left(z_{j}^{(1)}\right)^{2}" in text


def test_sigmoid_and_sensitivity_notation():
    net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    text = symnet.input_jacobian(net).latex()
    assert r"z_{1}^{(1)} &= \sigma\left(a_{1}^{(1)}\right)" in text
    # dy_1/da_2^(1) = sigma'(a_2^(1)) sum_m w_m2^(2) dy_1/da_m^(2), sigma' = z (1 - z); for
    # logistic outputs dy_1/da_2^(2) = 0, so one term is left
    assert (r"\frac{\partial y_{1}}{\partial a_{2}^{(1)}} &= z_{2}^{(1)} \left(1 - z_{2}^{(1)}\right)"
            r" w_{12}^{(2)} \frac{\partial y_{1}}{\partial a_{1}^{(2)}} \\") in text
    # softmax outputs couple them: both terms, in brackets
    softmax = symnet.input_jacobian(symnet.MLP([2, 2, 2], hidden="sigmoid", output="softmax"))
    assert (r"\frac{\partial y_{1}}{\partial a_{2}^{(1)}} &= z_{2}^{(1)} \left(1 - z_{2}^{(1)}\right)"
            r" \bigl(w_{12}^{(2)} \frac{\partial y_{1}}{\partial a_{1}^{(2)}} + w_{22}^{(2)} "
            r"\frac{\partial y_{1}}{\partial a_{2}^{(2)}}\bigr)") in softmax.latex()
    assert r"J_{12} = \frac{\partial y_{1}}{\partial x_{2}}" in text


def test_matrix_form_of_the_delta_recursion():
    text = symnet.gradient(symnet.MLP([2, 3, 1]), "sse").latex(form="matrix")
    assert (r"\boldsymbol{\delta}^{(l)} &= h_l'\bigl(\mathbf{a}^{(l)}\bigr) \odot W^{(l+1)\top} "
            r"\boldsymbol{\delta}^{(l+1)}") in text
    assert r"\frac{\partial E_n}{\partial W^{(l)}} &= \boldsymbol{\delta}^{(l)} \mathbf{z}^{(l-1)\top}" in text
    # instantiated: W^(2)T is the column (w_11^(2), w_12^(2), w_13^(2))
    assert r"\left(\begin{matrix}w_{11}^{(2)}\\w_{12}^{(2)}\\w_{13}^{(2)}\end{matrix}\right)" in text


def test_corners_of_the_3_4_2_levenberg_marquardt_jacobian():
    net = symnet.MLP([3, 4, 2], hidden="tanh", output="linear")
    jacobian = symnet.param_jacobian(net)
    corners = lm_corners(jacobian, n_samples=5)
    assert corners["shape"] == (10, 26)                       # N K = 5 * 2, W = 3*4 + 4 + 4*2 + 2
    top, bottom = corners["top_left"], corners["bottom_right"]
    assert (top["row"], top["column"], top["sample"], top["output"]) == (1, 1, 1, 1)
    assert top["parameter"] == sym.weight(1, 1, 1)
    assert top["entry"] == sym.output_sensitivity(1, 1, 1) * sym.input_symbol(1)
    assert (bottom["row"], bottom["column"], bottom["sample"], bottom["output"]) == (10, 26, 5, 2)
    assert bottom["parameter"] == sym.bias(2, 2) and bottom["entry"] == 1
    text = jacobian.latex()
    assert (r"J_{10,26} &= \frac{\partial y_{2}(\mathbf{x}_{5})}{\partial b_{2}^{(2)}} = 1" in text)
    assert r"J_{1,1} &= \frac{\partial y_{1}(\mathbf{x}_{1})}{\partial w_{11}^{(1)}}" in text
    # The numbers agree with the independent oracle's complex-step Jacobian, reshaped (N K, W).
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(5, 3)), net.init_params(seed=2)
    reference = o.param_jacobian((3, 4, 2), "tanh", "linear", X, w).reshape(10, 26)
    assert reference[9, 25] == pytest.approx(1.0)
    # top-left: dy_1/da_1^(1) x_1 at sample 1, dy_1/da_1^(1) = (1 - z_1^2) w_11^(2)
    z = np.tanh(X[0] @ net.unpack(w)[0][0][0] + w[net.param_index("b_1^(1)")])
    assert reference[0, 0] == pytest.approx((1 - z ** 2) * w[net.param_index("w_11^(2)")] * X[0, 0])


def test_long_sums_wrap_and_wrapping_is_controlled():
    pieces = ["a"] + [f"+ x_{i}" for i in range(10)]
    assert wrap_row("s", pieces, terms_per_line=4, width=10 ** 6).count(r"\\") == 2
    assert r"\\" not in wrap_row("s", pieces, terms_per_line=100, width=10 ** 6)
    # a_1^(2) of a 1-7-1 net has 7 weighted terms plus the bias: two lines at 4 per line
    text = symnet.gradient(symnet.MLP([1, 7, 1]), "sse").latex(max_entries=None)
    row = next(r for r in text.split(" \\\\\n") if r.startswith("a_{1}^{(2)} &="))
    assert row.count(r"\\ &\qquad") == 1
    # the delta of a hidden unit in a 2-2-6 net sums over six output deltas
    text = symnet.gradient(symnet.MLP([2, 2, 6]), "sse").latex(max_entries=None)
    row = next(r for r in text.split(" \\\\\n") if r.startswith(r"\delta_{1}^{(1)} &="))
    assert row.count(r"\\ &\qquad") >= 1 and r"\bigl(" in row and r"\bigr)" in row


def test_named_by_default_expanded_on_request():
    grad = symnet.gradient(symnet.MLP([1, 1, 1], hidden="tanh"), "sse")
    named, expanded = grad.latex(), grad.latex(expanded=True)
    entry = r"\frac{\partial E_n}{\partial w_{11}^{(1)}} &= "
    assert entry + r"\delta_{1}^{(1)} x_{1}" in named
    row = next(r for r in expanded.split(" \\\\\n") if r.startswith(entry))
    assert r"\tanh" in row and r"\delta" not in row


def test_omitted_entries_are_counted():
    text = symnet.hessian(symnet.MLP([2, 2, 1]), "sse").latex(max_entries=5)
    # W = 9: 45 upper-triangle entries, 5 shown
    assert r"\text{(40 more entries omitted)}" in text


def _numeric_value(expr, values):
    return float(expr.xreplace(values))


@pytest.mark.parametrize("hidden, output, loss", [("tanh", "linear", "sse"),
                                                  ("sigmoid", "sigmoid", "cross_entropy"),
                                                  ("sigmoid", "sigmoid", "sse")])
def test_gauss_newton_plus_residual_is_the_exact_hessian(hidden, output, loss):
    sizes = (2, 2, 1)
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    exact = symnet.hessian(net, loss)
    gauss = symnet.hessian(net, loss, approx="gauss_newton")
    rng = np.random.default_rng(11)
    x, w, t = rng.normal(size=2), rng.normal(size=net.n_params), rng.uniform(0.1, 0.9, size=1)
    reference = o.hessian_fd_grad(sizes, hidden, output, x[None], w, t[None], loss)
    gn_reference = o.gauss_newton(sizes, hidden, output, x[None], w, t[None], loss)
    point = dict(zip(net.inputs, x)) | dict(zip(net.params, w)) | dict(zip(net.targets, t))
    full = {name: value.xreplace(point) for name, value in gauss.substitution.items()}
    for p, q in [(0, 0), (0, 5), (2, 6), (4, 8), (8, 8)]:
        g, parts = split_hessian_entry(exact, gauss, p, q)
        residual = sp.Add(*[factor * coefficient for factor, coefficient in parts.items()])
        g_value = _numeric_value(g.xreplace(full), point)
        r_value = _numeric_value(residual.xreplace(full), point)
        assert g_value == pytest.approx(gn_reference[p, q], rel=1e-9, abs=1e-12)
        assert g_value + r_value == pytest.approx(reference[p, q], rel=1e-6, abs=1e-8)


def _document_value(text, lhs):
    match = re.search(re.escape(lhs) + r" &= (-?[\d.]+(?: \\times 10\^\{-?\d+\})?)", text)
    assert match, f"no value for {lhs}"
    mantissa, _, exponent = match.group(1).partition(r" \times 10^{")
    return float(mantissa) * (10.0 ** int(exponent.rstrip("}")) if exponent else 1.0)


@pytest.fixture(scope="module")
def worked_example_document():
    net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    return latex_document(net, "sse")


def test_document_spot_checks_match_the_published_worked_example(worked_example_document):
    text = worked_example_document
    # REFERENCE.md: z = (0.593269992, 0.596884378), y = (0.75136507, 0.772928465), E = 0.298371109
    assert _document_value(text, "E") == pytest.approx(0.298371109, abs=5e-10)
    assert _document_value(text, "z_{1}^{(1)}") == pytest.approx(0.593269992, abs=5e-10)
    assert _document_value(text, "z_{2}^{(1)}") == pytest.approx(0.596884378, abs=5e-10)
    assert _document_value(text, "y_{1}") == pytest.approx(0.75136507, abs=5e-9)
    assert _document_value(text, "y_{2}") == pytest.approx(0.772928465, abs=5e-10)
    # a_1^(1) = 0.15 * 0.05 + 0.20 * 0.10 + 0.35 = 0.3775 (by hand)
    assert _document_value(text, "a_{1}^{(1)}") == pytest.approx(0.3775, abs=1e-12)
    # Mazur's published step (learning rate 0.5): dE/dw = (w_old - w_new) / 0.5
    net = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")
    for column, (old, new) in MAZUR_STEP.items():
        lhs = rf"\frac{{\partial E}}{{\partial {tex(net.params[column])}}}"
        assert _document_value(text, lhs) == pytest.approx((old - new) / 0.5, abs=2e-8)


def test_document_hessian_and_jacobians_match_the_oracle(worked_example_document):
    text, sizes = worked_example_document, MAZUR["sizes"]
    X, w, T = MAZUR["X"], MAZUR["w"], MAZUR["T"]
    net = symnet.MLP(list(sizes), hidden="sigmoid", output="sigmoid")
    H = o.hessian_fd_grad(sizes, "sigmoid", "sigmoid", X, w, T, "sse")
    first = rf"\frac{{\partial^2 E_n}}{{\partial {tex(net.params[0])}\, \partial {tex(net.params[0])}}}"
    assert _document_value(text, first) == pytest.approx(H[0, 0], rel=1e-6, abs=1e-9)
    B = o.param_jacobian(sizes, "sigmoid", "sigmoid", X, w)[0]
    corner = rf"J_{{1,1}} = \frac{{\partial y_1}}{{\partial {tex(net.params[0])}}}"
    assert _document_value(text, corner) == pytest.approx(B[0, 0], rel=1e-9)
    J = o.input_jacobian(sizes, "sigmoid", "sigmoid", X, w)[0]
    matrix = re.search(r"J &= \\begin\{pmatrix\} (.*?) \\end\{pmatrix\}", text).group(1)
    values = [float(v) for v in re.split(r" & | \\\\ ", matrix)]
    np.testing.assert_allclose(values, J.ravel(), rtol=1e-8)


def test_document_of_a_bigger_net_stays_bounded():
    net = symnet.MLP([4, 20, 3], hidden="relu", output="softmax")   # W = 163
    text = latex_document(net, "cross_entropy", max_entries=6)
    assert len(text) < 60_000
    assert "more entries omitted" in text and "more values omitted" in text
    assert "random point (seed 0" in text


def test_document_bad_input():
    net = symnet.MLP([2, 2, 1])
    with pytest.raises(symnet.SymnetError, match="one sample"):
        latex_document(net, "sse", point=([[1.0, 2.0], [3.0, 4.0]], np.zeros(9), [0.0]))
    with pytest.raises(symnet.SymnetError, match="missing"):
        latex_document(net, "sse", point={"x": [1.0, 2.0]})
    with pytest.raises(symnet.SymnetError, match="form must be"):
        symnet.gradient(net, "sse").latex(form="table")
    with pytest.raises(symnet.SymnetError, match="max_entries"):
        derivation_latex(symnet.gradient(net, "sse"), max_entries=0)
    with pytest.raises(symnet.SymnetError, match="parameter Jacobian"):
        lm_corners(symnet.gradient(net, "sse"))


@pytest.mark.skipif(shutil.which("pdflatex") is None and not os.environ.get("CI"),
                    reason="pdflatex is not installed (CI installs it and runs this test)")
@pytest.mark.parametrize("sizes, hidden, output, loss", [
    ((2, 2, 2), "sigmoid", "sigmoid", "sse"), ((3, 4, 2), "tanh", "linear", "sse"),
    ((2, 3, 3), "relu", "softmax", "cross_entropy")])
def test_document_compiles_with_pdflatex(tmp_path, sizes, hidden, output, loss):
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    latex_document(net, loss, path=tmp_path / "derivation.tex")
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "derivation.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    pdf = tmp_path / "derivation.pdf"
    assert pdf.exists() and pdf.stat().st_size > 1000
    assert "Overfull \\hbox" not in result.stdout
