"""One Derivation interface: every kind of ``symnet.derive.derivation.KINDS`` answers the same way.

For every kind (gradient, both Jacobians, exact and Gauss-Newton Hessian, residual
term, Hessian-vector product, input Hessian) the derivation has ``named``,
``definitions``, ``evaluate``, ``evaluate_entries`` and ``latex()``; its values agree
with the independent NumPy oracle of ``tests/oracle.py`` (complex-step first
derivatives, central differences of them for second derivatives); ``symnet.check``
passes on it by every route, and fails, naming the entry, when one entry is planted
wrong. The table is the only place kinds are told apart: check, the LaTeX, the CLI
and the reports read it, and no module compares a kind with a string.
"""

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
from helpers import random_problem
from symnet import cli
from symnet.graph import activations as activations
from symnet.render import derivation_latex as latex
from symnet.render import latex_forms as latex_forms
from symnet.derive.derivation import KINDS

SIZES, HIDDEN = (2, 3, 2), "tanh"
# (loss, output activation): the canonical pairs and one non-canonical one.
LOSSES = [("sse", "linear"), ("cross_entropy", "sigmoid"), ("cross_entropy", "softmax"),
          ("sse", "sigmoid")]
ERROR_KINDS = [name for name, kind in KINDS.items() if kind.of == "error"]
OUTPUT_KINDS = [name for name, kind in KINDS.items() if kind.of == "outputs"]
CASES = ([(name, "sse", "linear") for name in OUTPUT_KINDS]
         + [(name, loss, output) for name in ERROR_KINDS for loss, output in LOSSES])
IDS = [f"{name}-{loss}-{output}" for name, loss, output in CASES]


def build(name, loss, output):
    net = symnet.MLP(list(SIZES), hidden=HIDDEN, output=output)
    return cli.DERIVE[name](net, loss)


@pytest.fixture
def problem(rng):
    def make(output):
        X, w, T = random_problem(rng, SIZES, n_samples=3, output=output)
        return X, w, T, rng.normal(size=(w.size, 2))
    return make


def arguments(derivation, X, w, T, V):
    """The evaluate arguments of a derivation: T for anything of E, v for H v."""
    args = (X, w) + ((T,) if derivation.needs_targets else ())
    return args + ((V,) if derivation.kind_info.direction else ())


def oracle_value(name, loss, output, X, w, T, V):
    """The oracle's value of a kind, in evaluate's layout (complex step, no symnet)."""
    a = (SIZES, HIDDEN, output)
    if name == "input_jacobian":
        return o.input_jacobian(*a, X, w)
    if name == "param_jacobian":
        return o.param_jacobian(*a, X, w)
    if name == "gradient":
        return o.grad(*a, X, w, T, loss)
    if name == "input_hessian":   # central differences of the complex-step input Jacobian
        h = 1e-5
        columns = [(o.input_jacobian(*a, X + h * e, w) - o.input_jacobian(*a, X - h * e, w))
                   / (2 * h) for e in np.eye(SIZES[0])]
        return np.stack(columns, axis=-1)
    H = o.hessian_fd_grad(*a, X, w, T, loss)
    G = o.gauss_newton(*a, X, w, T, loss)   # from complex-step Jacobians: exact
    return {"hessian": H, "gauss_newton": G, "hessian_residual": H - G,
            "hessian_vector_product": H @ V}[name]


# -- the interface ----------------------------------------------------------------------
@pytest.mark.parametrize("name, loss, output", CASES, ids=IDS)
def test_every_kind_has_the_interface_and_the_oracles_values(problem, name, loss, output):
    derivation = build(name, loss, output)
    X, w, T, V = problem(output)
    assert isinstance(derivation, symnet.Derivation) and derivation.kind == name
    assert derivation.kind_info is KINDS[name]
    assert derivation.named.shape == derivation.shape and derivation.definitions
    assert derivation.latex().startswith("\\begin{aligned}")
    assert derivation._repr_latex_().startswith("$$\\begin{aligned}")
    value = derivation.evaluate(*arguments(derivation, X, w, T, V))
    expected = oracle_value(name, loss, output, X, w, T, V)
    scale = np.max(np.abs(expected))
    # First derivatives and Gauss-Newton: complex step is exact, so 1e-12; second
    # derivatives come from central differences of it (truncation ~1e-10, rounding
    # ~1e-11 relative: hessian_fd_grad), so 1e-6.
    rtol = 1e-12 if KINDS[name].order == 1 or KINDS[name].approximation else 1e-6
    np.testing.assert_allclose(value, expected, rtol=rtol, atol=rtol * scale)
    # The other level: the named form lambdified entry by entry.
    np.testing.assert_allclose(derivation.evaluate_entries(*arguments(derivation, X, w, T, V)),
                               value, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("name, loss, output", CASES, ids=IDS)
def test_one_sample_drops_the_sample_axis(problem, name, loss, output):
    derivation = build(name, loss, output)
    X, w, T, V = problem(output)
    batch = derivation.evaluate(*arguments(derivation, X[:1], w, T[:1], V))
    single = derivation.evaluate(*arguments(derivation, X[0], w, T[0], V))
    np.testing.assert_array_equal(single, batch if KINDS[name].summed else batch[0])


# -- symnet.check on every kind ----------------------------------------------------------
ROUTES = [(name, loss, output, hessian_from) for name, loss, output in CASES
          for hessian_from in (("gradient", "error") if KINDS[name].order == 2 else ("gradient",))]


@pytest.mark.parametrize("name, loss, output, hessian_from", ROUTES,
                         ids=[f"{n}-{l}-{o_}-{h}" for n, l, o_, h in ROUTES])
def test_check_passes_on_every_kind_by_every_route(problem, name, loss, output, hessian_from):
    derivation = build(name, loss, output)
    X, w, T, V = problem(output)
    direction = {"v": V} if KINDS[name].direction else {}
    report = symnet.check(derivation, X, w, T if derivation.needs_targets else None,
                          hessian_from=hessian_from, **direction)
    assert report.passed, str(report)
    assert report.kind == name and report.exact.shape == report.numeric.shape
    assert KINDS[name].description in report.description


def test_check_of_a_hessian_vector_product_along_one_direction(rng):
    net = symnet.MLP([1, 1])                      # y = w x + b, E = 1/2 (y - t)^2
    hvp = symnet.hessian_vector_product(net, "sse")
    # H = [[x^2, x], [x, 1]] at x = 3: H (1, -2) = (9 - 6, 3 - 2) = (3, 1), by hand.
    report = symnet.check(hvp, [[3.0]], [0.5, 0.1], [[0.0]], v=[1.0, -2.0],
                          hessian_from="error")
    assert report.passed and report.exact.shape == (2,)
    np.testing.assert_allclose(report.numeric, [3.0, 1.0], rtol=1e-7)
    assert [report.entry((p,)).name for p in range(2)] == ["(Hv)[w_11^(1)]", "(Hv)[b_1^(1)]"]


class Planted:
    """A derivation with entry ``index`` of its result moved by 1e-3 of its largest entry."""

    def __init__(self, derivation, index):
        self._derivation, self._index = derivation, index

    def __getattr__(self, name):
        return getattr(self._derivation, name)

    def evaluate(self, *args):
        value = np.array(self._derivation.evaluate(*args), dtype=float)
        value[self._index] += 1e-3 * np.max(np.abs(value))
        return value


PLANTED = {   # kind -> (index into evaluate's result with N = 3, the name check gives it)
    "input_jacobian": ((2, 1, 0), "J_21 = dy_2/dx_1 at sample 2"),
    "gradient": ((4,), "dE/dw_31^(1)"),     # w_11 w_12 w_21 w_22 w_31 ...
    "param_jacobian": ((1, 0, 16), "dy_1/db_2^(2) at sample 1"),
    "hessian": ((0, 5), "H[w_11^(1), w_32^(1)]"),
    "gauss_newton": ((3, 3), "G[w_22^(1), w_22^(1)]"),
    "hessian_residual": ((0, 1), "R[w_11^(1), w_12^(1)]"),
    "hessian_vector_product": ((7, 1), "(Hv_2)[b_2^(1)]"),
    "input_hessian": ((0, 1, 0, 1), "d2y_2/dx_1dx_2 at sample 0"),
}


@pytest.mark.parametrize("name", list(KINDS))
def test_check_catches_a_planted_error_in_every_kind_and_names_it(problem, name):
    assert set(PLANTED) == set(KINDS)
    output = "sigmoid"
    derivation = build(name, "cross_entropy", output)
    X, w, T, V = problem(output)
    index, entry = PLANTED[name]
    direction = {"v": V} if KINDS[name].direction else {}
    report = symnet.check(Planted(derivation, index), X, w,
                          T if derivation.needs_targets else None, **direction)
    assert not report.passed
    assert [e.name for e in report.failures()] == [entry]


def test_check_asks_for_the_direction_of_a_product_and_refuses_one_elsewhere(problem):
    X, w, T, V = problem("linear")
    hvp, grad = build("hessian_vector_product", "sse", "linear"), build("gradient", "sse", "linear")
    with pytest.raises(symnet.SymnetError, match=r"needs its direction: check\(\.\.\., v="):
        symnet.check(hvp, X, w, T)
    with pytest.raises(symnet.SymnetError, match="v must be finite with shape"):
        symnet.check(hvp, X, w, T, v=np.ones(3))
    with pytest.raises(symnet.SymnetError, match="takes none"):
        symnet.check(grad, X, w, T, v=V)


@pytest.mark.parametrize("name", ["hessian_residual", "hessian_vector_product", "input_hessian"])
def test_complex_step_is_refused_for_every_second_derivative(problem, name):
    X, w, T, V = problem("linear")
    derivation = build(name, "sse", "linear")
    direction = {"v": V} if KINDS[name].direction else {}
    with pytest.raises(symnet.SymnetError, match="first derivatives only"):
        symnet.check(derivation, X, w, T if derivation.needs_targets else None,
                     method="complex", **direction)


# -- LaTeX, documents and the command line read the same table ---------------------------
@pytest.mark.parametrize("name", list(KINDS))
def test_latex_shows_the_kinds_sections_in_both_forms(name):
    derivation = build(name, "sse", "linear")
    info = KINDS[name]
    for form in latex.FORMS:
        titles = [title for title, rows in latex.derivation_sections(derivation, form)]
        expected = [latex.SECTIONS[s][0] or info.title for s in info.sections]
        assert titles == ["Forward pass", "Activation derivatives"] + expected
    first_label = latex.entry_labels(derivation)[0][-1]
    assert first_label in derivation.latex()


def test_latex_of_the_new_kinds_names_their_quantities():
    net = symnet.MLP([1, 1, 1], hidden="tanh")
    hvp = symnet.hessian_vector_product(net, "sse").latex()
    # R{a_1^(1)} = v_b + v_w x, with the R-operator's and the direction's symbols.
    assert r"\mathcal{R}\{a_{1}^{(1)}\} &= v_{b_{1}^{(1)}} + v_{w_{11}^{(1)}} x_{1}" in hvp
    assert r"\bigl(H\mathbf{v}\bigr)\bigl[w_{11}^{(2)}\bigr] &=" in hvp
    hin = symnet.input_hessian(net).latex()
    assert r"\frac{\partial^2 y_{1}}{\partial x_{1}\, \partial x_{1}} &=" in hin
    residual = symnet.hessian_residual(net, "sse").latex()
    assert r"r_{1} &= y_{1} - t_{1}" in residual and r"R\bigl[w_{11}^{(1)}, w_{11}^{(1)}\bigr]" \
        in residual


def test_every_kind_has_a_renderer_a_matrix_form_and_a_cli_builder():
    for name, info in KINDS.items():
        assert set(info.sections) <= set(latex.SECTIONS) and "entries" in info.sections
        assert name in latex_forms.MATRIX_FORMS and name in cli.DERIVE
    assert cli.WHAT == tuple(KINDS)
    for info in KINDS.values():
        for _, term in info.terms:
            assert term in KINDS
        assert info.first_derivative is None or KINDS[info.first_derivative].order == 1


@pytest.mark.parametrize("name", ["hessian_residual", "hessian_vector_product", "input_hessian"])
def test_cli_derives_and_checks_the_new_kinds(name, capsys):
    assert cli.main(["derive", "2-2-1", "--what", name, "--max-entries", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name} of MLP([2, 2, 1]")
    assert cli.main(["check", "2-2-1", "--what", name]) == 0
    assert "PASSED" in capsys.readouterr().out


MODULES = ["derive/derivation", "numdiff/checker", "numdiff/_check_reference", "numdiff/schemes",
           "numdiff/report", "render/derivation_latex", "render/latex_entries",
           "render/latex_forms", "render/document", "cli"]


@pytest.mark.parametrize("module", MODULES)
def test_no_module_compares_a_kind_with_a_string(module):
    # kind == "gradient", kind in ("hessian", ...) and derivation.kind != "..." are the
    # seven out-of-step dispatches the table replaced.
    tree = ast.parse((Path(symnet.__file__).parent / f"{module}.py").read_text())

    def is_kind(node):
        return (isinstance(node, ast.Name) and node.id == "kind") or (
            isinstance(node, ast.Attribute) and node.attr == "kind")

    def is_text(node):
        return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or (
            isinstance(node, (ast.Tuple, ast.List, ast.Set))
            and any(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts))
    found = [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, ast.Compare)
             and is_kind(node.left) and any(is_text(c) for c in node.comparators)]
    assert not found, found


# -- activations are built once ------------------------------------------------------------
def test_activation_rows_are_cached_by_name_and_exact_parameters():
    assert symnet.activation("tanh") is symnet.activation("tanh")
    assert symnet.activation("logistic") is symnet.activation("sigmoid")
    assert symnet.activation("relu") is symnet.activation("relu", derivative_at_zero=0)
    leaky = symnet.activation("leaky_relu", slope=0.1)
    assert leaky is symnet.activation("leaky_relu", slope=sp.Rational(1, 10))
    assert leaky is not symnet.activation("leaky_relu")          # the default slope is 1/100
    assert symnet.activation("relu", derivative_at_zero=1).parameters == {"derivative_at_zero": 1}
    # True == 1 in a dict key, but a bool is still refused after the row for 1 is cached.
    with pytest.raises(symnet.SymnetError, match="finite real number; got True"):
        symnet.activation("relu", derivative_at_zero=True)
    with pytest.raises(symnet.SymnetError, match="unexpected parameters"):
        symnet.activation("tanh", slope=0.1)


def test_registered_activations_are_their_stored_row(monkeypatch):
    monkeypatch.setattr(activations, "_CUSTOM", dict(activations._CUSTOM))
    u = sp.Symbol("u", real=True)
    row = symnet.register_activation("cached_swish", u / (1 + sp.exp(-u)), u)
    assert symnet.activation("cached_swish") is row


# -- the public API ----------------------------------------------------------------------------
def test_every_type_a_public_function_returns_is_public(problem):
    net = symnet.MLP([1, 2, 1], hidden="tanh")
    X, T = np.array([[0.5], [-1.0], [0.3]]), np.array([[0.2], [0.1], [-0.4]])
    w = net.init_params(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", symnet.GaussNewtonWarning)
        results = [symnet.gradient(net, "sse"), symnet.hessian_vector_product(net, "sse"),
                   symnet.input_hessian(net), symnet.hessian_split(net, "sse"),
                   symnet.curvature_report(net, "sse", X, w, T), symnet.get_loss("sse", net),
                   symnet.check(symnet.gradient(net, "sse"), X, w, T),
                   symnet.gradient(net, "sse").kind_info, symnet.activation("tanh"),
                   symnet.fit(net, X, T, method="lm", max_iter=2),
                   symnet.input_sensitivity(net, X, w)]
    for result in results:
        assert type(result).__name__ in symnet.__all__, type(result)
        assert getattr(symnet, type(result).__name__) is type(result)
    assert "curve_problem" not in symnet.__all__


def test_curve_problem_moved_to_the_examples_and_the_old_path_warns():
    with pytest.warns(DeprecationWarning, match="symnet.examples.curve_problem"):
        old = symnet.curve_problem
    assert old is symnet.examples.curve_problem
    with pytest.raises(AttributeError, match="no attribute 'curve_problems'"):
        symnet.curve_problems
