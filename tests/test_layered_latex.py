"""LaTeX of a Network's and an RNN's derivations (issue 14, section 2): weight sharing shown as a
student writes it, and documents that compile with Debian's TeX.

The expected rows are written here by hand from the equations, not taken from symnet:

* Conv1D (1, 4) -> 1 channel, k = 2, then Dense(1): a_{1,p} = w_{1,1,1} x_{1,p} + w_{1,1,2}
  x_{1,p+1} + b_1 for p = 1..3, so the kernel entry w_{1,1,2} is on all 3 positions and
  dE/dw_{1,1,2} = delta_{1,1} x_{1,2} + delta_{1,2} x_{1,3} + delta_{1,3} x_{1,4};
* RNN (D = 1, H = 2, T = 3): a^(t) = W_xh x^(t) + W_hh h^(t-1) + b_h, so dE/dw_12^(hh) =
  delta_1^(2) h_2^(1) + delta_1^(3) h_2^(2) (no term at t = 1: h^(0) = 0), and BPTT
  delta^(t) = h'(a^(t)) o (W_hh^T delta^(t+1) + W_hy^T delta^(y,t));
* Residual: z^(3) = z^(1) + z^(2) gives dz^(3)/dz^(1) = I + dF/dz^(1), so delta_1^(1)
  carries delta_1^(3) next to F's terms.

The documents' spot checks are compared with central differences of tests/oracle.py's
forward pass at the point given.
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

import oracle as o
import symnet
from symnet.graph.latex_printer import tex
from symnet.graph.layers import Conv1D, Conv2D, Dense, Flatten, Residual
from symnet.render.document import derivation_document

CONV = symnet.Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
CONV_SPEC = [("conv1d", 1, 2, "tanh"), ("flatten",), ("dense", 1, "linear")]
RNN = symnet.RNN(1, 2, 1, steps=3)
RESIDUAL = symnet.Network(2, [Dense(2, "tanh"), Residual([Dense(2, "tanh")]),
                              Dense(1, "linear")])
needs_tex = pytest.mark.skipif(
    (shutil.which("pdflatex") is None or shutil.which("pdftotext") is None)
    and not os.environ.get("CI"),
    reason="pdflatex / pdftotext not installed (CI installs them and runs these tests)")


def _rows(text):
    return [row.strip().rstrip("\\").strip() for row in text.splitlines()]


# -- convolution -------------------------------------------------------------------------------
def test_a_kernel_entry_is_a_sum_over_positions():
    text = symnet.gradient(CONV, "sse").latex(max_entries=None)
    # the general rule, with the sum sign and its range (P = 3 positions), x for stage 0
    assert (r"\frac{\partial E_n}{\partial w_{c,c',m}^{(1)}} &= \sum_{p=1}^{3} "
            r"\delta_{c,p}^{(1)} x_{c',p+m-1}") in text
    assert r"\frac{\partial E_n}{\partial b_c^{(1)}} = \sum_{p=1}^{3} \delta_{c,p}^{(1)}" in text
    # and the entry itself, every position's term
    assert (r"\frac{\partial E_n}{\partial w_{1,1,2}^{(1)}} &= \delta_{1,1}^{(1)} x_{1,2} + "
            r"\delta_{1,2}^{(1)} x_{1,3} + \delta_{1,3}^{(1)} x_{1,4}") in _rows(text)
    # the forward equations the sum comes from
    assert r"a_{1,2}^{(1)} &= b_{1}^{(1)} + w_{1,1,1}^{(1)} x_{1,2} + w_{1,1,2}^{(1)} x_{1,3}" \
        in _rows(text)
    # delta of a convolution unit that feeds the dense layer: (y - t) w_1p^(2) tanh'
    assert (r"\delta_{1,2}^{(1)} &= \delta_{1}^{(2)} w_{12}^{(2)} \left(1 - \left("
            r"z_{1,2}^{(1)}\right)^{2}\right)") in _rows(text)


def test_a_convolution_below_another_backpropagates_by_the_transposed_correlation():
    net = symnet.Network((1, 5), [Conv1D(2, 2, "tanh"), Conv1D(1, 2, "tanh"), Flatten(),
                                  Dense(1, "linear")])
    text = symnet.gradient(net, "sse").latex(max_entries=4)
    # a_{c,p}^(2) = sum_{c',m} w_{c,c',m}^(2) z_{c',p+m-1}^(1): z_{c',q} is read by p = q-m+1
    assert (r"\delta_{c',q}^{(1)} &= h_{1}'\bigl(a_{c',q}^{(1)}\bigr) \sum_c \sum_{m=1}^{2} "
            r"w_{c,c',m}^{(2)} \delta_{c,q-m+1}^{(2)}") in text
    assert (r"\frac{\partial E_n}{\partial w_{c,c',m}^{(2)}} &= \sum_{p=1}^{3} "
            r"\delta_{c,p}^{(2)} z_{c',p+m-1}^{(1)}") in text


def test_stride_padding_and_two_dimensions_in_the_index():
    strided = symnet.Network((1, 5), [Conv1D(1, 2, "tanh", stride=2), Flatten(),
                                      Dense(1, "linear")])
    # positions p = 1, 2 read x_{2(p-1)+1}, x_{2(p-1)+2}: x_1,x_2 and x_3,x_4
    assert r"x_{c',2(p-1)+m}" in symnet.gradient(strided, "sse").latex()
    same = symnet.Network((1, 3), [Conv1D(1, 3, "tanh", padding="same"), Flatten(),
                                   Dense(1, "linear")])
    # one zero on the left (k = 3): position p reads x_{p+m-2}
    assert r"x_{c',p+m-2}" in symnet.gradient(same, "sse").latex()
    image = symnet.Network((1, 3, 3), [Conv2D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
    text = symnet.gradient(image, "sse").latex()
    assert (r"\sum_{i=1}^{2} \sum_{j=1}^{2} \delta_{c,i,j}^{(1)} x_{c',i+m-1,j+n-1}") in text


# -- RNN: backpropagation through time -------------------------------------------------------
def test_bptt_recursion_and_the_sum_over_time():
    text = symnet.gradient(RNN, "sse").latex(max_entries=None)
    assert (r"\boldsymbol{\delta}^{(t)} &= h'\bigl(\mathbf{a}^{(t)}\bigr) \odot \Bigl(W_{hh}^\top "
            r"\boldsymbol{\delta}^{(t+1)} + W_{hy}^\top \boldsymbol{\delta}^{(y,t)}\Bigr)") in text
    assert (r"\frac{\partial E_n}{\partial W_{hh}} = \sum_{t=2}^{3} \boldsymbol{\delta}^{(t)} "
            r"\mathbf{h}^{(t-1)\top}") in text
    assert (r"\frac{\partial E_n}{\partial w_{12}^{(hh)}} &= \delta_{1}^{(2)} h_{2}^{(1)} + "
            r"\delta_{1}^{(3)} h_{2}^{(2)}") in _rows(text)
    # delta_1^(2) = (1 - h_1^(2)^2) (w_11^(hh) delta_1^(3) + w_21^(hh) delta_2^(3)): the
    # recurrent terms (outputs="last": no output term before T)
    delta = [row for row in _rows(text) if row.startswith(r"\delta_{1}^{(2)} &=")]
    assert len(delta) == 1
    for part in (r"w_{11}^{(hh)}", r"\delta_{1}^{(3)}", r"w_{21}^{(hh)}", r"\delta_{2}^{(3)}",
                 r"1 - \left(h_{1}^{(2)}\right)^{2}"):
        assert part in delta[0]
    assert "hy" not in delta[0]


def test_rnn_matrix_form():
    text = symnet.gradient(RNN, "sse").latex(form="matrix")
    assert r"\mathbf{a}^{(t)} &= W_{xh} \mathbf{x}^{(t)} + W_{hh} \mathbf{h}^{(t-1)}" in text
    assert r"\sum_{t=2}^{3} \boldsymbol{\delta}^{(t)} \mathbf{h}^{(t-1)\top}" in text
    assert r"\delta_{1}^{(2)} &=" not in text   # no entries in matrix form


# -- residual: the identity term ---------------------------------------------------------------
def test_the_skip_adds_the_identity():
    text = symnet.gradient(RESIDUAL, "sse").latex(max_entries=None)
    assert (r"\frac{\partial \mathbf{z}^{(3)}}{\partial \mathbf{z}^{(1)}} &= I + "
            r"\frac{\partial F}{\partial \mathbf{z}^{(1)}}") in text
    delta = [row for row in _rows(text) if row.startswith(r"\delta_{1}^{(1)} &=")]
    assert len(delta) == 1 and r"\delta_{1}^{(3)}" in delta[0] and r"w_{11}^{(2)}" in delta[0]
    jacobian = symnet.input_jacobian(RESIDUAL).latex()
    assert r"&= I + \frac{\partial F}{\partial \mathbf{z}^{(1)}}" in jacobian


def test_every_kind_renders_with_its_entries_tagged_in_a_document():
    for derivation in (symnet.input_jacobian(RNN), symnet.param_jacobian(CONV),
                       symnet.hessian(symnet.RNN(1, 1, 1, steps=2), "sse")):
        text = derivation_document(derivation, max_entries=3)
        assert text.count(r"\tag*{") == 3, derivation.kind
        assert r"\begin{document}" in text and r"\end{document}" in text


# -- documents compile, and their numbers are the oracle's -----------------------------------
def _compiled(tmp_path, name, text):
    (tmp_path / f"{name}.tex").write_text(text)
    run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                          f"{name}.tex"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    log = (tmp_path / f"{name}.log").read_text(errors="replace")
    assert "Overfull \\vbox" not in log
    # as tests/test_documents.py: an overfull \hbox up to 1pt is invisible, wider is a defect
    wide = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt", log)]
    assert all(x <= 1.0 for x in wide), wide
    return subprocess.run(["pdftotext", str(tmp_path / f"{name}.pdf"), "-"],
                          capture_output=True, text=True, check=True, timeout=120).stdout


def _spot(text, lhs):
    """The number a document prints for ``lhs &= number``."""
    match = re.search(re.escape(lhs) + r" &= (-?[0-9.]+)(?: \\times 10\^\{(-?\d+)\})?", text)
    assert match, lhs
    return float(match.group(1)) * 10.0 ** int(match.group(2) or 0)


@needs_tex
def test_convolution_document_compiles_and_its_gradient_is_the_oracle_s(tmp_path):
    x, w, t = [0.3, -0.5, 0.8, 0.1], [0.4, -0.7, 0.1, 0.9, -0.3, 0.5, 0.2], [0.25]
    text = symnet.latex_document(CONV, "sse", point=(x, w, t), max_entries=None)
    pdf = _compiled(tmp_path, "conv", text)
    assert "Gradient" in pdf and "dE/dw_1,1,2^(1)" in pdf
    forward = lambda X, v: o.layered_forward((1, 4), CONV_SPEC, X, v)  # noqa: E731
    expected = o.model_grad_fd(forward, np.array([x]), np.array(w), np.array([t]), "sse")
    for p, value in zip(CONV.params, expected):
        lhs = rf"\frac{{\partial E}}{{\partial {tex(p)}}}"
        assert _spot(text, lhs) == pytest.approx(value, rel=1e-6, abs=1e-9), p


@needs_tex
def test_rnn_and_residual_documents_compile(tmp_path):
    x, w, t = [0.5, -0.2, 0.7], list(np.round(RNN.init_params(3), 2)), [0.4]
    pdf = _compiled(tmp_path, "rnn", symnet.latex_document(RNN, "sse", point=(x, w, t)))
    assert "backpropagation through time" in pdf
    text = symnet.latex_document(RNN, "sse", point=(x, w, t), max_entries=None)
    forward = lambda X, v: o.rnn_forward(1, 2, 1, X, v)  # noqa: E731
    expected = o.model_grad_fd(forward, np.array([x]), np.array(w), np.array([t]), "sse")
    column = RNN.param_index("w_12^(hh)")
    assert _spot(text, r"\frac{\partial E}{\partial w_{12}^{(hh)}}") == pytest.approx(
        expected[column], rel=1e-6, abs=1e-9)
    # the residual net with weight decay: E = E_n + lam/2 ||w||^2, so dE/dw gains lam w
    spec = [("dense", 2, "tanh"), ("residual", [("dense", 2, "tanh")]), ("dense", 1, "linear")]
    x, w, t = [0.6, -0.4], list(np.round(RESIDUAL.init_params(1), 2)), [0.3]
    text = symnet.latex_document(RESIDUAL, "sse", point=(x, w, t), weight_decay=0.01,
                                 max_entries=None)
    pdf = _compiled(tmp_path, "residual", text)
    assert "identity term" in pdf and "λ = 0.01" in pdf
    forward = lambda X, v: o.layered_forward(2, spec, X, v)  # noqa: E731
    expected = o.model_grad_fd(forward, np.array([x]), np.array(w), np.array([t]), "sse")
    expected = expected + 0.01 * np.array(w)
    for p, value in zip(RESIDUAL.params, expected):
        lhs = rf"\frac{{\partial E}}{{\partial {tex(p)}}}"
        assert _spot(text, lhs) == pytest.approx(value, rel=1e-6, abs=1e-9), p
    strided = symnet.Network((2, 6), [Conv1D(2, 3, "tanh", stride=2),
                                      Conv1D(1, 2, "relu", padding="same"), Flatten(),
                                      Dense(2, "linear")])
    _compiled(tmp_path, "strided", symnet.latex_document(strided, "sse"))
    softmax = symnet.RNN(1, 2, 2, steps=2, output="softmax")
    _compiled(tmp_path, "softmax", symnet.latex_document(softmax, "cross_entropy"))
    _compiled(tmp_path, "matrix", derivation_document(symnet.gradient(RNN, "sse"),
                                                      form="matrix"))
