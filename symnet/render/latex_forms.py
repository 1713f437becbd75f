r"""LaTeX of the layouts beside the entries: layer-by-layer matrix form, Levenberg-Marquardt.

Rows ``lhs &= rhs`` in vector notation (Bishop 2024, ch. 8) for the matrix form of
each kind of derivation (``MATRIX_FORMS``, read by ``derivation.latex(form="matrix")``),
the Gauss-Newton matrix and the exact Hessian with B_n and Lambda_n defined for the
loss, the general rows of the R-operator, of the input Hessian's forward recursion
and of the residual term's seeds, and the corners of the (N K) x W
Levenberg-Marquardt Jacobian. ``symnet.render.derivation_latex`` assembles them with the
entry rows; ``symnet.render.document`` sets them in a document.

Examples
--------
>>> import symnet
>>> lm_corners(symnet.param_jacobian(symnet.MLP([3, 4, 2])))["shape"]   # N = 5 by default
(10, 26)
"""

from ..errors import SymnetError
from ..graph.latex_printer import tex

__all__ = ["lm_corners", "lm_rows", "curvature_matrix_rows", "residual_seed_rows", "N_SAMPLES",
           "GRADIENT_MATRIX", "INPUT_JACOBIAN_MATRIX", "PARAM_JACOBIAN_MATRIX",
           "HESSIAN_VECTOR_MATRIX", "R_OPERATOR_ROWS", "INPUT_TANGENT_ROWS",
           "INPUT_TANGENT_MATRIX", "INPUT_HESSIAN_MATRIX", "MATRIX_FORMS"]

N_SAMPLES = 5        # N of the Levenberg-Marquardt layout when no n_samples is given
                     # (REFERENCE.md's 3-4-2 example: 5 samples give a 10 x 26 Jacobian)


# -- the Levenberg-Marquardt layout ----------------------------------------------------
def lm_corners(derivation, n_samples=N_SAMPLES):
    """What goes in the corners of the (N K) x W Levenberg-Marquardt Jacobian.

    Rows are (sample n, output k), sample-major; columns follow ``net.params``.
    Returns ``{"shape": (N*K, W), "top_left": corner, "bottom_right": corner}``,
    each corner a dict with the 1-based ``row``, ``column``, ``sample``, ``output``,
    the ``parameter`` symbol and the named ``entry``.

    >>> import symnet
    >>> corners = lm_corners(symnet.param_jacobian(symnet.MLP([3, 4, 2])), n_samples=5)
    >>> corners["shape"], corners["bottom_right"]["parameter"], corners["bottom_right"]["entry"]
    ((10, 26), b_2^(2), 1)
    """
    if "levenberg_marquardt" not in derivation.kind_info.sections:   # the parameter Jacobian
        raise SymnetError(f"lm_corners needs a parameter Jacobian; got a {derivation.kind}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise SymnetError(f"n_samples must be a positive integer; got {n_samples!r}")
    K, W = derivation.shape
    params = derivation.net.params

    def corner(sample, output, column):
        return {"row": (sample - 1) * K + output, "column": column + 1, "sample": sample,
                "output": output, "parameter": params[column],
                "entry": derivation.named[output - 1, column]}
    return {"shape": (n_samples * K, W), "top_left": corner(1, 1, 0),
            "bottom_right": corner(n_samples, K, W - 1)}


def lm_rows(derivation, n_samples=None):
    """The corners answer as aligned rows, for ``n_samples`` samples (default ``N_SAMPLES``).

    The derivation holds no data, so N is a parameter: the rows say whether it was
    given or is the default.
    """
    given = n_samples is not None
    n_samples = n_samples if given else N_SAMPLES
    corners = lm_corners(derivation, n_samples)
    rows_count, W = corners["shape"]
    K = derivation.shape[0]
    # math-mode \mathtt and \_ render the same in pdflatex and in Jupyter's MathJax
    source = "" if given else (r" \quad \text{(the default } N \text{; the option } "
                               r"\mathtt{n\_samples} \text{ sets it)}")
    rows = [rf"J &= \begin{{pmatrix}} B_1 \\ \vdots \\ B_N \end{{pmatrix}}, \quad "
            rf"B_n = \frac{{\partial \mathbf{{y}}(\mathbf{{x}}_n)}}{{\partial \mathbf{{w}}}} "
            rf"\ ({K} \times {W})",
            rf"N &= {n_samples} \text{{ samples: }} J \text{{ is }} {rows_count} \times {W}{source}"]
    for name in ("top_left", "bottom_right"):
        c = corners[name]
        entry = c["entry"]
        value = tex(entry) if entry.is_number else (
            rf"\Bigl[{tex(entry)}\Bigr]_{{\mathbf{{x}} = \mathbf{{x}}_{{{c['sample']}}}}}")
        where = name.replace("_", "-")
        rows.append(rf"J_{{{c['row']},{c['column']}}} &= \frac{{\partial y_{{{c['output']}}}"
                    rf"(\mathbf{{x}}_{{{c['sample']}}})}}{{\partial {tex(c['parameter'])}}} = {value}"
                    rf" \quad \text{{({where} corner)}}")
    return rows


# -- layer-by-layer matrix form --------------------------------------------------------
# Rows in vector notation, shared with symnet.render.document's article.
GRADIENT_MATRIX = [
    r"\frac{\partial E_n}{\partial W^{(l)}} &= \boldsymbol{\delta}^{(l)} \mathbf{z}^{(l-1)\top}, "
    r"\qquad \frac{\partial E_n}{\partial \mathbf{b}^{(l)}} = \boldsymbol{\delta}^{(l)}"]
INPUT_JACOBIAN_MATRIX = [
    r"J &= \frac{\partial \mathbf{y}}{\partial \mathbf{x}} = \frac{\partial \mathbf{y}}"
    r"{\partial \mathbf{a}^{(1)}} W^{(1)}"]
PARAM_JACOBIAN_MATRIX = [
    r"\frac{\partial y_k}{\partial W^{(l)}} &= \mathbf{g}_k^{(l)} \mathbf{z}^{(l-1)\top}, \qquad "
    r"\frac{\partial y_k}{\partial \mathbf{b}^{(l)}} = \mathbf{g}_k^{(l)}, \qquad "
    r"\mathbf{g}_k^{(l)} = \Bigl(\frac{\partial y_k}{\partial \mathbf{a}^{(l)}}\Bigr)^{\!\top}"]
HESSIAN_VECTOR_MATRIX = [
    r"H\mathbf{v} &= \mathcal{R}\{\nabla E\}: \quad \mathcal{R}\{\mathbf{a}^{(l)}\} = W^{(l)} "
    r"\mathcal{R}\{\mathbf{z}^{(l-1)}\} + V^{(l)} \mathbf{z}^{(l-1)} + \mathbf{v}_b^{(l)}, \quad "
    r"\mathcal{R}\{\mathbf{z}^{(l)}\} = h_l'(\mathbf{a}^{(l)}) \odot \mathcal{R}\{\mathbf{a}^{(l)}\}",
    r"\mathcal{R}\{\boldsymbol{\delta}^{(l)}\} &= h_l''(\mathbf{a}^{(l)}) \odot "
    r"\mathcal{R}\{\mathbf{a}^{(l)}\} \odot W^{(l+1)\top} \boldsymbol{\delta}^{(l+1)} + "
    r"h_l'(\mathbf{a}^{(l)}) \odot \bigl(W^{(l+1)\top} \mathcal{R}\{\boldsymbol{\delta}^{(l+1)}\} "
    r"+ V^{(l+1)\top} \boldsymbol{\delta}^{(l+1)}\bigr)",
    r"\mathcal{R}\Bigl\{\frac{\partial E_n}{\partial W^{(l)}}\Bigr\} &= "
    r"\mathcal{R}\{\boldsymbol{\delta}^{(l)}\} \mathbf{z}^{(l-1)\top} + \boldsymbol{\delta}^{(l)} "
    r"\mathcal{R}\{\mathbf{z}^{(l-1)}\}^\top"]


def _curvature_parts(loss):
    """(residual rows, Gauss-Newton rows) of the matrix form, with B_n and Lambda_n for ``loss``."""
    squares = loss.rule.is_sum_of_squares  # then dE_n/dy_k = y_k - t_k and Lambda_n = I
    if loss.jacobian_of == "y":  # r_nk = dE_n/dy_k: y - t for sum-of-squares, else as derived
        factor = r"y_{nk} - t_{nk}" if squares else r"\partial E_n / \partial y_{nk}"
        out, residual = r"\mathbf{y}", r"(" + factor + r")\, \nabla\nabla y_{nk}"
        curved, of_w = r"y_{nk}", r"y_k(\mathbf{x}_n)"
        weights = r" = I" if squares else ""
    else:
        out, residual = r"\mathbf{a}^{(L)}", r"\delta_{nk}^{(L)} \nabla\nabla a_{nk}^{(L)}"
        curved, of_w = r"a_{nk}^{(L)}", r"a_k^{(L)}(\mathbf{x}_n)"
        factor = r"\delta_{nk}^{(L)} = \partial E_n / \partial a_k^{(L)}"
        weights = (r" = \operatorname{diag}(\mathbf{y}_n) - \mathbf{y}_n \mathbf{y}_n^\top \quad "
                   r"\text{(times $\sum_m t_{nm}$, which is 1 for one-hot targets)}"
                   if loss.output == "softmax" else
                   r" = \operatorname{diag}\bigl(y_{nk} (1 - y_{nk})\bigr)")
    transposed = out.replace(r"^{(L)}", r"^{(L)\top}") if "(L)" in out else out + r"^\top"
    gauss_newton = [
        r"G &= \sum_n B_n^\top \Lambda_n B_n \quad \text{(Gauss-Newton matrix: first derivatives "
        r"only)}, \qquad B_n = \frac{\partial " + out + r"(\mathbf{x}_n)}{\partial \mathbf{w}} "
        r"\ (K \times W)",
        r"\Lambda_n &= \frac{\partial^2 E_n}{\partial " + out + r"\, \partial " + transposed + "}"
        + weights]
    residual_rows = [
        r"H &= G + R, \qquad R = \sum_n \sum_k " + residual
        + r" \quad \text{(exact: Gauss-Newton term + residual term)}",
        rf"\nabla\nabla {curved} &= \frac{{\partial^2 {of_w}}}{{\partial \mathbf{{w}}\, "
        rf"\partial \mathbf{{w}}^\top}} \ (W \times W), \quad \text{{weighted in $R$ by }} "
        rf"{factor}"]
    return residual_rows, gauss_newton


def curvature_matrix_rows(loss, kind="hessian"):
    r"""The Gauss-Newton matrix in matrix form, with its B_n and Lambda_n defined for ``loss``.

    ``kind="gauss_newton"`` gives G = sum_n B_n^T Lambda_n B_n alone; ``"hessian"``
    gives the exact H = G + residual term first (Bishop 2024, sec. 8.1), then G, then
    the R-operator rows of exact Hessian-vector products. B_n and Lambda_n are those of
    ``symnet.hessian(..., approx="gauss_newton")``: B_n = dy/dw with Lambda_n = I for
    sum-of-squares, B_n = da^(L)/dw with Lambda_n = d^2 E_n / da^(L) da^(L)^T for
    cross-entropy. Any other kind gives its rows in ``MATRIX_FORMS``.

    >>> import symnet
    >>> loss = symnet.gradient(symnet.MLP([2, 1], output="sigmoid"), "cross_entropy").loss
    >>> print(curvature_matrix_rows(loss, "gauss_newton")[1])
    \Lambda_n &= \frac{\partial^2 E_n}{\partial \mathbf{a}^{(L)}\, \partial \mathbf{a}^{(L)\top}} = \operatorname{diag}\bigl(y_{nk} (1 - y_{nk})\bigr)
    """
    if kind not in MATRIX_FORMS:
        raise SymnetError(f"no matrix form for {kind!r}; known: {', '.join(MATRIX_FORMS)}")
    return MATRIX_FORMS[kind](loss)


# -- the R-operator, the input Hessian's forward recursion, the residual's seeds ----------
R_OPERATOR_ROWS = [
    r"\mathcal{R}\{\cdot\} &= \frac{d}{dr} (\cdot)(\mathbf{w} + r\mathbf{v}) \Big|_{r = 0} "
    r"\quad \text{(Pearlmutter's R-operator; } v_p \text{ the components of } \mathbf{v})",
    r"\mathcal{R}\{a_j^{(l)}\} &= \sum_i w_{ji}^{(l)} \mathcal{R}\{z_i^{(l-1)}\} + \sum_i "
    r"v_{w_{ji}^{(l)}} z_i^{(l-1)} + v_{b_j^{(l)}}, \qquad \mathcal{R}\{z_j^{(l)}\} = "
    r"h_l'\bigl(a_j^{(l)}\bigr) \mathcal{R}\{a_j^{(l)}\}, \quad \mathcal{R}\{z_i^{(0)}\} = 0",
    r"\mathcal{R}\{\delta_k^{(L)}\} &= \sum_m \frac{\partial \delta_k^{(L)}}{\partial a_m^{(L)}} "
    r"\mathcal{R}\{a_m^{(L)}\}",
    r"\mathcal{R}\{\delta_j^{(l)}\} &= h_l''\bigl(a_j^{(l)}\bigr) \mathcal{R}\{a_j^{(l)}\} \sum_k "
    r"w_{kj}^{(l+1)} \delta_k^{(l+1)} + h_l'\bigl(a_j^{(l)}\bigr) \sum_k \bigl(w_{kj}^{(l+1)} "
    r"\mathcal{R}\{\delta_k^{(l+1)}\} + v_{w_{kj}^{(l+1)}} \delta_k^{(l+1)}\bigr)",
    r"\bigl(H\mathbf{v}\bigr)\bigl[w_{ji}^{(l)}\bigr] &= \mathcal{R}\{\delta_j^{(l)}\} z_i^{(l-1)} "
    r"+ \delta_j^{(l)} \mathcal{R}\{z_i^{(l-1)}\}, \qquad \bigl(H\mathbf{v}\bigr)\bigl[b_j^{(l)}"
    r"\bigr] = \mathcal{R}\{\delta_j^{(l)}\} \quad \text{(per sample; summed over } n)"]
HESSIAN_VECTOR_ENTRIES = [
    r"H\mathbf{v} &= \sum_n \mathcal{R}\{\nabla E_n\} = \sum_n \frac{d}{dr} \nabla E_n(\mathbf{w} "
    r"+ r\mathbf{v}) \Big|_{r = 0} \quad \text{(exact, } O(W) \text{ per sample; no } W \times W "
    r"\text{ matrix is formed)}"]
INPUT_TANGENT_ROWS = [
    r"\frac{\partial a_j^{(1)}}{\partial x_i} &= w_{ji}^{(1)}, \qquad \frac{\partial^2 a_j^{(1)}}"
    r"{\partial x_i\, \partial x_m} = 0",
    r"\frac{\partial a_j^{(l)}}{\partial x_i} &= \sum_p w_{jp}^{(l)} h_{l-1}'\bigl(a_p^{(l-1)}"
    r"\bigr) \frac{\partial a_p^{(l-1)}}{\partial x_i}",
    r"\frac{\partial^2 a_j^{(l)}}{\partial x_i\, \partial x_m} &= \sum_p w_{jp}^{(l)} \Bigl["
    r"h_{l-1}''\bigl(a_p^{(l-1)}\bigr) \frac{\partial a_p^{(l-1)}}{\partial x_i} \frac{\partial "
    r"a_p^{(l-1)}}{\partial x_m} + h_{l-1}'\bigl(a_p^{(l-1)}\bigr) \frac{\partial^2 a_p^{(l-1)}}"
    r"{\partial x_i\, \partial x_m}\Bigr]",
    r"\frac{\partial^2 y_k}{\partial x_i\, \partial x_m} &= h_L''\bigl(a_k^{(L)}\bigr) "
    r"\frac{\partial a_k^{(L)}}{\partial x_i} \frac{\partial a_k^{(L)}}{\partial x_m} + "
    r"h_L'\bigl(a_k^{(L)}\bigr) \frac{\partial^2 a_k^{(L)}}{\partial x_i\, \partial x_m} \quad "
    r"\text{(softmax: through } \partial y_k / \partial a_p^{(L)} \text{ and } \partial^2 y_k / "
    r"\partial a_p^{(L)} \partial a_q^{(L)})"]
INPUT_TANGENT_MATRIX = [
    r"\frac{\partial \mathbf{a}^{(1)}}{\partial \mathbf{x}} &= W^{(1)}, \qquad "
    r"\frac{\partial \mathbf{a}^{(l)}}{\partial \mathbf{x}} = W^{(l)} \operatorname{diag}\bigl("
    r"h_{l-1}'(\mathbf{a}^{(l-1)})\bigr) \frac{\partial \mathbf{a}^{(l-1)}}{\partial \mathbf{x}}",
    r"\nabla\nabla_{\mathbf{x}} a_j^{(l)} &= \sum_p w_{jp}^{(l)} \Bigl[h_{l-1}''(a_p^{(l-1)})\, "
    r"\nabla_{\mathbf{x}} a_p^{(l-1)} \nabla_{\mathbf{x}} a_p^{(l-1)\top} "
    r"+ h_{l-1}'(a_p^{(l-1)})\, \nabla\nabla_{\mathbf{x}} a_p^{(l-1)}\Bigr] \ (D \times D)"]
INPUT_HESSIAN_MATRIX = [
    r"\nabla\nabla_{\mathbf{x}}\, y_k &= h_L''(a_k^{(L)})\, \nabla_{\mathbf{x}} a_k^{(L)} "
    r"\nabla_{\mathbf{x}} a_k^{(L)\top} + h_L'(a_k^{(L)})\, \nabla\nabla_{\mathbf{x}}\, a_k^{(L)} "
    r"\ (D \times D \text{ per output and sample})"]


def residual_seed_rows(loss, form="entries"):
    r"""The residual term's general rows: r_k, the seeds s^(L), their recursion, R[p, q].

    >>> import symnet
    >>> rows = residual_seed_rows(symnet.gradient(symnet.MLP([1, 1]), "sse").loss)
    >>> print(rows[0][:52])
    r_k &= \frac{\partial E_n}{\partial y_k}, \qquad s_m
    """
    out = "y_k" if loss.jacobian_of == "y" else "a_k^{(L)}"
    if form == "matrix":
        return _curvature_parts(loss)[0]
    return [
        rf"r_k &= \frac{{\partial E_n}}{{\partial {out}}}, \qquad s_m^{{(L)}} = \sum_k r_k "
        rf"\frac{{\partial {out}}}{{\partial a_m^{{(L)}}}}",
        r"s_j^{(l)} &= h_l'\bigl(a_j^{(l)}\bigr) \sum_k w_{kj}^{(l+1)} s_k^{(l+1)}, \qquad "
        r"l = L-1, \dots, 1 \quad \text{(the delta recursion, seeded with } s^{(L)})",
        rf"R[p, q] &= \mathcal{{R}}_q\Bigl\{{\frac{{\partial}}{{\partial w_p}} \sum_k r_k "
        rf"{out}\Bigr\}} \quad \text{{with every }} r_k \text{{ held fixed (the R-operator "
        r"along } w_q)"]


# The matrix form of each kind's result (``symnet.derive.derivation.KINDS``): loss -> rows.
MATRIX_FORMS = {
    "input_jacobian": lambda loss: INPUT_JACOBIAN_MATRIX,
    "gradient": lambda loss: GRADIENT_MATRIX,
    "param_jacobian": lambda loss: PARAM_JACOBIAN_MATRIX,
    "hessian": lambda loss: sum(_curvature_parts(loss), []) + HESSIAN_VECTOR_MATRIX,
    "gauss_newton": lambda loss: _curvature_parts(loss)[1],
    "hessian_residual": lambda loss: _curvature_parts(loss)[0],
    "hessian_vector_product": lambda loss: HESSIAN_VECTOR_ENTRIES,
    "input_hessian": lambda loss: INPUT_HESSIAN_MATRIX,
}
