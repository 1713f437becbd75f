"""verify's hints and notation (issue 11, section 4): a transposed index is answered with the
symbol meant, x_2 for x_1 and z for h' have their hints, equations pasted whole are read, and
formulas are echoed in the notation the user types.

Every formula here is written by hand from Bishop's equations (dE/dw_ji = delta_j z_i,
delta_j = h'(a_j) sum_k w_kj delta_k, tanh' = 1 - z^2, sigma' = z (1 - z)); the mistake each
one contains is known by construction. Counterexamples are re-checked by another route: the
reference through the NumPy engine, the formula through mpmath at 40 digits.
"""

import mpmath
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet import symbols as sym
from symnet.formulas._notation import plain
from symnet.cli import main
from symnet.formulas.mistakes import mutants
from symnet.formulas.parser import ParseError, UnknownSymbolError, parse_formula

TANH_231 = symnet.MLP([2, 3, 1], hidden="tanh")
TANH_221 = symnet.MLP([2, 2, 1], hidden="tanh")
SIGMOID_222 = symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid")


def _engine_gradient(net, point, name):
    """dE/d(name) at ``point`` by the NumPy engine (not the route verify uses)."""
    X = np.array([[float(point.get(x, 0)) for x in net.inputs]])
    w = np.array([float(point.get(p, 0)) for p in net.params])
    T = np.array([[float(point.get(t, 0)) for t in net.targets]])
    return symnet.gradient(net, "sse").evaluate(X, w, T)[net.param_index(name)]


def _mpmath_value(net, expression, point):
    """The formula at ``point`` with every named quantity written out, at 40 digits."""
    full = expression
    for _ in range(net.n_layers + 2):
        full = full.xreplace(symnet.gradient(net, "sse").definitions).xreplace(net.substitution)
    values = {s: point.get(s, 0) for s in net.inputs + net.params + net.targets}
    function = sp.lambdify(list(values), full, modules="mpmath")
    with mpmath.workdps(40):
        return float(function(*[mpmath.mpf(v.p) / v.q for v in values.values()]))


# -- a symbol the network does not have ----------------------------------------------------
def test_transposed_index_of_a_missing_weight_gets_its_hint():
    # In a 2-3-1 network layer 2 has one unit: w_21^(2) does not exist, w_12^(2) does, and
    # with it the formula is Bishop's dE/dw_21^(1) = h'(a_2^(1)) w_12^(2) delta_1^(2) x_1.
    result = symnet.verify("(1 - z_2^(1)^2)*w_21^(2)*delta_1^(2)*x_1", "dE/dw_21^(1)",
                           net=TANH_231)
    assert not result.equal and result.proven and result.method == "names"
    assert result.mistake == "transpose"
    assert "w_21^(2) does not exist in a 2-3-1 network: did you mean w_12^(2)?" in result.hint
    assert "correct" in result.hint and "transposed" in result.hint
    assert "hint: w_21^(2) does not exist" in str(result)


def test_transposed_index_and_another_mistake():
    # w_12^(2) meant, and the factor h'(a_2^(1)) = 1 - z_2^2 left out as well.
    result = symnet.verify("w_21^(2)*delta_1^(2)*x_1", "dE/dw_21^(1)", net=TANH_231)
    assert not result.equal and result.mistake == "transpose+drop_h_1"
    assert "did you mean w_12^(2)?" in result.hint and "h'(a_j^(1))" in result.hint


def test_cli_answers_the_transposed_index_as_refuted_not_as_bad_input(capsys):
    status = main(["verify", "(1 - z_2^(1)^2)*w_21^(2)*delta_1^(2)*x_1", "--of", "dE/dw_21^(1)",
                   "--net", "2-3-1"])
    assert status == 1  # refuted, with the hint; 2 would mean bad arguments
    assert "did you mean w_12^(2)?" in capsys.readouterr().out


def test_a_symbol_with_no_transposed_twin_is_still_a_parse_error():
    with pytest.raises(UnknownSymbolError, match=r"w_41\^\(1\) is not a symbol") as info:
        parse_formula("w_41^(1) x_1", TANH_231)  # layer 1 has 3 units, layer 0 has 2
    assert info.value.suggestion is None
    with pytest.raises(ParseError):
        symnet.verify("w_41^(1) x_1", "dE/dw_21^(1)", net=TANH_231)


def test_z_of_the_output_layer_suggests_y():
    with pytest.raises(UnknownSymbolError, match=r"did you mean y_1\?"):
        parse_formula("z_1^(2)", TANH_231)
    # dE/db_1^(2) = delta_1^(2) = y_1 - t_1 (linear output): z_1^(2) is y_1 misnamed
    result = symnet.verify("z_1^(2) - t_1", "dE/db_1^(2)", net=TANH_231)
    assert not result.equal and result.mistake == "misnamed"
    assert "did you mean y_1? With it your formula is correct" in result.hint


# -- new mutants -----------------------------------------------------------------------------
@pytest.mark.parametrize("net, formula, target, mistake", [
    # x_2 in place of x_1: w_21^(1) carries x_1
    (TANH_231, "(y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_2", "dE/dw_21^(1)", "wrong_input_2"),
    # z_3^(1) in place of z_1^(1) for dE/dw_11^(2) = delta_1^(2) z_1^(1)
    (TANH_231, "(y_1 - t_1) z_3^(1)", "dE/dw_11^(2)", "wrong_input_3"),
    # tanh: z_2 in place of tanh'(a_2) = 1 - z_2^2
    (TANH_231, "(y_1 - t_1) w_12^(2) z_2^(1) x_1", "dE/dw_21^(1)", "h_for_derivative_1"),
    # sigmoid hidden: z in place of z (1 - z)
    (SIGMOID_222, "z_1^(1) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2)) x_2", "dE/dw_12^(1)",
     "h_for_derivative_1"),
    # sigmoid output with E = 1/2 (y - t)^2: y in place of y (1 - y)
    (SIGMOID_222, "(y_1 - t_1) y_1", "delta_1^(2)", "h_for_derivative_2"),
    # dy_1/dx_2 written for J_11
    (symnet.MLP([2, 2, 1], hidden="tanh"), "sum_j(w_1j^(2) (1 - z_j^(1)^2) w_j2^(1))", "J_11",
     "wrong_input_2"),
])
def test_wrong_input_and_activation_for_derivative_get_hints(net, formula, target, mistake):
    result = symnet.verify(formula, target, net=net)
    assert not result.equal and result.proven
    assert result.mistake == mistake, str(result)
    assert result.hint


def test_the_counterexample_of_a_wrong_input_is_one():
    result = symnet.verify("(y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_2", "dE/dw_21^(1)",
                           net=TANH_231)
    point = result.counterexample
    correct = _engine_gradient(TANH_231, point, "w_21^(1)")
    mine = _mpmath_value(TANH_231, result.formula, point)
    assert correct == pytest.approx(float(result.reference_value), rel=1e-9, abs=1e-12)
    assert mine == pytest.approx(float(result.formula_value), rel=1e-9, abs=1e-12)
    assert abs(mine - correct) > 1e-6 * max(1.0, abs(correct))


def test_new_mutants_are_the_hand_written_expressions():
    net = symnet.MLP([2, 1, 1], hidden="tanh")
    x1, x2, y1, t1 = sym.input_symbol(1), sym.input_symbol(2), sym.output(1), sym.target(1)
    z, w2 = sym.activation_value(1, 1), sym.weight(2, 1, 1)
    found = {m.key: e for m, e in mutants(net, "sse", ("gradient", "w_11^(1)"))}
    # dE/dw_11^(1) = (y - t) w_11^(2) (1 - z^2) x_1; with z for 1 - z^2, and with x_2 for x_1
    assert sp.expand(found["h_for_derivative_1"] - (y1 - t1) * w2 * z * x1) == 0
    assert sp.expand(found["wrong_input_2"] - (y1 - t1) * w2 * (1 - z**2) * x2) == 0


# -- equations pasted whole ------------------------------------------------------------------
@pytest.mark.parametrize("formula, target", [
    ("delta_2^(1) = (1 - z_2^(1)^2) w_12^(2) (y_1 - t_1)", "delta_2^(1)"),
    ("delta_j = (1 - z_j^(1)^2) w_1j^(2) (y_1 - t_1)", "delta_2^(1)"),   # layer left out
    ("delta_j^(1) = h'(a_j^(1)) sum_k(w_kj^(2) delta_k^(2))", "delta_j^(1)"),  # whole layer
    ("dE/dw_11^(1) = (y_1 - t_1) w_11^(2) (1 - z_1^(1)^2) x_1", "dE/dw_11^(1)"),
    ("dE_n/dw_ji^(1) = delta_j^(1) x_i", "dE/dw_ji^(1)"),
    (r"\frac{\partial E}{\partial w_{11}^{(1)}} = \delta_1^{(1)} x_1", "dE/dw_11^(1)"),
    (r"\delta_2^{(1)} = \left(1 - \left(z_2^{(1)}\right)^2\right) w_{12}^{(2)} \delta_1^{(2)}",
     "delta_2^(1)"),
])
def test_an_equation_whose_left_side_names_the_target_is_read(formula, target):
    result = symnet.verify(formula, target, net=TANH_231)
    assert result.equal, str(result)


@pytest.mark.parametrize("formula, target", [
    ("delta_1^(1) = (1 - z_2^(1)^2) w_12^(2) (y_1 - t_1)", "delta_2^(1)"),
    ("delta_2^(2) = y_2 - t_2", "delta_2^(1)"),
    ("dE/dw_12^(1) = delta_1^(1) x_2", "dE/dw_21^(1)"),
    ("J_11 = x_1", "dE/dw_21^(1)"),
])
def test_an_equation_for_another_quantity_is_refused_clearly(formula, target):
    with pytest.raises(ParseError, match="names another quantity"):
        symnet.verify(formula, target, net=TANH_231)


def test_an_equation_with_an_unreadable_left_side_or_two_signs_is_refused():
    with pytest.raises(ParseError, match="not the name of an entry"):
        symnet.verify("foo = x_1", "dE/dw_11^(1)", net=TANH_231)
    with pytest.raises(ParseError, match="one '=' at most"):
        symnet.verify("delta_1^(1) = x_1 = x_2", "delta_1^(1)", net=TANH_231)


# -- the echo is in the user's notation ---------------------------------------------------
def test_formulas_are_echoed_with_carets_never_python_powers():
    result = symnet.verify("z^2".replace("z", "z_1^(1)"), "dE/dw_11^(2)", net=TANH_221)
    text = str(result)
    assert "**" not in text
    assert "your formula: z_1^(1)^2" in text
    correct = symnet.verify("delta_1^(2) w_11^(2) (1 - z_1^(1)^2) x_1", "dE/dw_11^(1)",
                            net=TANH_221)
    assert "**" not in str(correct) and "z_1^(1)^2" in str(correct)


@pytest.mark.parametrize("text", [
    "z_1^(1)^2", "(x_1 + 1)^(1/3)", "2^(3^x_1)", "x_1^(-2) + e*exp(x_1)", "-x_1^2",
    "max(x_1, 0) + abs(x_2) - min(t_1, y_1)", "sigma(a_1^(1)) (1 - sigma(a_1^(1)))",
    "Heaviside(x_1, 0) sqrt(x_2^2 + 1)", "tanh(a_1^(1))^2/cosh(x_1)",
])
def test_the_echo_reads_back_to_the_same_expression(text):
    # metamorphic: printing then parsing is the identity on what the parser builds
    expression = parse_formula(text)
    assert "**" not in plain(expression)
    assert parse_formula(plain(expression)) == expression
