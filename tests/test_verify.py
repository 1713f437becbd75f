"""verify(): planted mistakes are caught with a real counterexample and the right hint;
equivalent forms of correct formulas are accepted.

The formulas are written by hand from Bishop's equations (REFERENCE.md), never produced
by symnet. A counterexample is re-checked by another route: the reference through the
NumPy engine (derivation.evaluate), the formula through full substitution into x, w, b, t.
"""

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.formulas.mistakes import CORRECT, mutants

NETS = {
    "2-2-1 tanh": lambda: symnet.MLP([2, 2, 1], hidden="tanh", output="linear"),
    "3-4-2 tanh": lambda: symnet.MLP([3, 4, 2], hidden="tanh", output="linear"),
    "2-2-2 sigmoid": lambda: symnet.MLP([2, 2, 2], hidden="sigmoid", output="sigmoid"),
    "2-3-3 softmax": lambda: symnet.MLP([2, 3, 3], hidden="tanh", output="softmax"),
    "2-2-1 sigmoid ce": lambda: symnet.MLP([2, 2, 1], hidden="tanh", output="sigmoid"),
}
_BUILT = {}


def net_of(key):
    if key not in _BUILT:
        _BUILT[key] = NETS[key]()
    return _BUILT[key]


LOSS = {"2-3-3 softmax": "cross_entropy", "2-2-1 sigmoid ce": "cross_entropy"}

# (network, target, correct formula written by hand)
CORRECT_FORMULAS = [
    ("2-2-1 tanh", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_1"),
    ("2-2-1 tanh", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) x_1 / cosh(a_2^(1))^2"),
    ("2-2-1 tanh", "dE/dw_21^(1)",  # expanded product
     "y_1 w_12^(2) x_1 - t_1 w_12^(2) x_1 - y_1 w_12^(2) z_2^(1)^2 x_1 + t_1 w_12^(2) z_2^(1)^2 x_1"),
    ("2-2-1 tanh", "dE/dw_21^(1)",  # in x and w instead of z and y
     "(w_11^(2) tanh(w_11^(1) x_1 + w_12^(1) x_2 + b_1^(1)) + w_12^(2) tanh(w_21^(1) x_1 "
     "+ w_22^(1) x_2 + b_2^(1)) + b_1^(2) - t_1) w_12^(2) (1 - tanh(w_21^(1) x_1 + w_22^(1) x_2 "
     "+ b_2^(1))^2) x_1"),
    ("2-2-1 tanh", "dE/dw_21^(1)",
     r"\left(y_1 - t_1\right) w_{12}^{(2)} \left(1 - \left(z_2^{(1)}\right)^2\right) x_1"),
    ("2-2-1 tanh", "dE/db_1^(2)", "y_1 - t_1"),
    ("2-2-1 tanh", "H[w_11^(2), w_11^(2)]", "z_1^(1)^2"),
    ("2-2-1 tanh", "H[w_11^(1), w_11^(2)]",  # Gauss-Newton term + residual term
     "w_11^(2) (1 - z_1^(1)^2) x_1 z_1^(1) + (y_1 - t_1) (1 - z_1^(1)^2) x_1"),
    ("3-4-2 tanh", "delta_2^(1)", "(1 - z_2^(1)^2) ((y_1 - t_1) w_12^(2) + (y_2 - t_2) w_22^(2))"),
    ("3-4-2 tanh", "delta_2^(1)", "h'(a_2^(1)) sum_k(w_k2^(2) delta_k^(2))"),
    ("3-4-2 tanh", "J_23", "sum_j(w_2j^(2) (1 - z_j^(1)^2) w_j3^(1))"),
    ("2-2-2 sigmoid", "delta_1^(2)", "(y_1 - t_1) y_1 (1 - y_1)"),
    ("2-2-2 sigmoid", "delta_1^(2)", "(y_1 - t_1) sigma(a_1^(2)) (1 - sigma(a_1^(2)))"),
    ("2-2-2 sigmoid", "dE/dw_12^(1)",
     "z_1^(1) (1 - z_1^(1)) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2)) x_2"),
    ("2-2-2 sigmoid", "dE/dw_12^(1)",
     "sigma(a_1^(1)) (1 - sigma(a_1^(1))) (w_11^(2) (y_1 - t_1) y_1 (1 - y_1) "
     "+ w_21^(2) (y_2 - t_2) y_2 (1 - y_2)) x_2"),
    ("2-3-3 softmax", "delta_2^(2)", "y_2 - t_2"),  # targets are probabilities
    ("2-3-3 softmax", "dy_1/da_2^(2)", "-y_1 y_2"),
    ("2-3-3 softmax", "dy_1/da_1^(1)",
     "(1 - z_1^(1)^2) (w_11^(2) y_1 (1 - y_1) - w_21^(2) y_1 y_2 - w_31^(2) y_1 y_3)"),
    ("2-2-1 sigmoid ce", "delta_1^(2)", "y_1 - t_1"),
]


@pytest.mark.parametrize("key, target, formula", CORRECT_FORMULAS)
def test_equivalent_correct_formulas_are_accepted(key, target, formula):
    result = symnet.verify(formula, target, net=net_of(key), loss=LOSS.get(key, "sse"))
    assert result.equal, str(result)
    assert result.method in ("symbolic", "numeric") and result.counterexample is None


# (network, target, formula with one planted mistake, the hint expected)
MISTAKES = [
    ("2-2-1 tanh", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) x_1", "drop_h_1"),
    ("2-2-1 tanh", "dE/dw_21^(1)", "(t_1 - y_1) w_12^(2) (1 - z_2^(1)^2) x_1", "flip_sign"),
    ("2-2-1 tanh", "dE/dw_21^(1)", "(y_1 - t_1) w_11^(2) (1 - z_1^(1)^2) x_2", "swap_entry"),
    ("2-2-1 tanh", "dE/dw_21^(1)", "2 (y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_1", "factor_2"),
    ("2-2-1 tanh", "dE/dw_21^(1)", "(y_1 - t_1) w_12^(2) (1 - z_2^(1)^2) x_1 / 2", "factor_1/2"),
    ("2-2-1 tanh", "dE/dw_11^(2)", "(t_1 - y_1) z_1^(1)", "flip_sign"),
    ("2-2-1 tanh", "H[w_11^(1), w_11^(2)]", "w_11^(2) (1 - z_1^(1)^2) x_1 z_1^(1)", "gauss_newton"),
    ("3-4-2 tanh", "delta_2^(1)", "(1 - z_2^(1)^2) (y_1 - t_1) w_12^(2)", "keep_1_1"),
    ("3-4-2 tanh", "delta_2^(1)", "(1 - z_2^(1)^2) ((y_1 - t_1) w_21^(2) + (y_2 - t_2) w_22^(2))",
     "transpose"),
    ("3-4-2 tanh", "delta_2^(1)", "(y_1 - t_1) w_12^(2) + (y_2 - t_2) w_22^(2)", "drop_h_1"),
    ("3-4-2 tanh", "J_23", "sum_j(w_2j^(2) w_j3^(1))", "drop_h_1"),
    ("3-4-2 tanh", "J_23", "w_21^(2) (1 - z_1^(1)^2) w_13^(1)", "keep_0_1"),
    ("2-2-2 sigmoid", "delta_1^(2)", "y_1 - t_1", "drop_h_2"),
    ("2-2-2 sigmoid", "dE/dw_12^(1)",
     "z_1^(1) (1 - z_1^(1)) (w_11^(2) delta_1^(2) + w_12^(2) delta_2^(2)) x_2", "transpose"),
    ("2-2-2 sigmoid", "dE/dw_12^(1)", "(w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2)) x_2",
     "drop_h_1"),
    ("2-2-2 sigmoid", "dE/dw_12^(1)",
     "z_1^(1) (1 - z_1^(1)) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2)) x_2 / 2", "factor_1/2"),
    ("2-3-3 softmax", "delta_2^(2)", "y_2 t_2 - t_2", "diagonal"),
    ("2-3-3 softmax", "delta_2^(2)", "t_2 - y_2", "flip_sign"),
    ("2-3-3 softmax", "dy_1/da_1^(1)", "(1 - z_1^(1)^2) w_11^(2) y_1 (1 - y_1)", "diagonal"),
    ("2-2-1 sigmoid ce", "delta_1^(2)", "(y_1 - t_1) y_1 (1 - y_1)", "extra_h"),
]


def _independent(net, loss, target, formula, point):
    """(formula, reference) at ``point`` by routes verify does not use."""
    full = {s: point.get(s, sp.Rational(1, 3))
            for s in net.inputs + net.params + net.targets}
    X = np.array([[float(full[x]) for x in net.inputs]])
    w = np.array([float(full[p]) for p in net.params])
    T = np.array([[float(full[t]) for t in net.targets]])
    grad = symnet.gradient(net, loss)
    mine = float(formula.xreplace(grad.substitution).xreplace(
        symnet.input_jacobian(net).substitution).xreplace(full).evalf(30))
    if target.startswith("dE/d"):
        correct = grad.evaluate(X, w, T)[net.param_index(target[4:])]
    elif target.startswith("delta_"):
        correct = grad.evaluate(X, w, T)[net.param_index("b_" + target[6:])]
    elif target.startswith("J_"):
        correct = symnet.input_jacobian(net).evaluate(X, w)[0, int(target[2]) - 1, int(target[3]) - 1]
    elif target.startswith("H["):
        p, q = target[2:-1].split(", ")
        correct = symnet.hessian(net, loss).evaluate(X, w, T)[net.param_index(p), net.param_index(q)]
    else:  # dy_k/da_j^(l): the sensitivity, by SymPy differentiation of y_k in a_j^(l)
        return mine, None
    return mine, float(correct)


@pytest.mark.parametrize("key, target, formula, mistake", MISTAKES)
def test_planted_mistakes_are_caught_with_counterexample_and_hint(key, target, formula, mistake):
    net, loss = net_of(key), LOSS.get(key, "sse")
    result = symnet.verify(formula, target, net=net, loss=loss)
    assert not result.equal
    assert result.mistake == mistake, str(result)
    assert result.hint and not result.domain_mismatch
    point = result.counterexample
    assert point and all(isinstance(v, sp.Rational) for v in point.values())
    if loss == "cross_entropy" and net.activations[-1].name == "softmax" and net.targets[0] in point:
        # the targets of the point are a probability vector, all of them given
        assert sum(point[t] for t in net.targets) == 1
    mine, correct = _independent(net, loss, target, result.formula, point)
    assert mine == pytest.approx(float(result.formula_value), rel=1e-9, abs=1e-12)
    if correct is not None:
        assert correct == pytest.approx(float(result.reference_value), rel=1e-9, abs=1e-12)
        assert abs(mine - correct) > 1e-9 * max(1.0, abs(correct))
    text = str(result)
    assert "NOT equal" in text and "hint:" in text and target in text
    assert "<pre" in result._repr_html_()


@pytest.mark.parametrize("key, loss, target", [
    ("2-2-1 tanh", "sse", ("gradient", "w_21^(1)")),
    ("3-4-2 tanh", "sse", ("delta", 1, 3)),
    ("3-4-2 tanh", None, ("input_jacobian", 2, 1)),
    ("2-2-2 sigmoid", "sse", ("gradient", "b_2^(1)")),
    ("2-3-3 softmax", "cross_entropy", ("delta", 1, 2)),
    ("2-3-3 softmax", None, ("param_jacobian", 3, "w_12^(1)")),
])
def test_the_unmutated_recursion_equals_symnets_derivation(key, loss, target):
    # The mutation machinery re-runs backprop by itself: with no mistake it must agree
    # with symnet's own derivation (two implementations of the same equations).
    net = net_of(key)
    mistake, expression = mutants(net, loss, target)[0]
    assert mistake is CORRECT
    kind, *fields = target
    label = (f"dE/d{fields[0]}" if kind == "gradient" else
             f"delta_{fields[1]}^({fields[0]})" if kind == "delta" else
             f"J_{fields[0]}{fields[1]}" if kind == "input_jacobian" else
             f"dy_{fields[0]}/d{fields[1]}")
    assert symnet.verify(expression, label, net=net, loss=loss).equal


def test_whole_layer_by_text_and_by_function():
    net = net_of("3-4-2 tanh")
    assert symnet.verify("delta_j^(1) x_i", "dE/dw_ji^(1)", net=net).equal
    good = symnet.verify(lambda j: f"(1 - z_{j}^(1)^2) sum_k(w_k{j}^(2) (y_k - t_k))",
                         "delta_j^(1)", net=net)
    assert good.equal and len(good.entries) == 4
    bad = symnet.verify("sum_k(w_kj^(2) (y_k - t_k))", "delta_j^(1)", net=net)
    assert not bad.equal and bad.mistake == "drop_h_1" and len(bad.entries) == 4
    assert bad.target == "delta_1^(1)" and "4 entries checked, 4 differ" in str(bad)


def test_domain_mismatch_is_said_apart():
    net = net_of("2-2-1 tanh")
    # log(-t_1^2) is undefined (not real) everywhere t_1 != 0, y_1 - t_1 is finite.
    result = symnet.verify("y_1 - t_1 + log(-t_1^2)", "dE/db_1^(2)", net=net)
    assert not result.equal and result.domain_mismatch
    assert "domain mismatch" in str(result)


@pytest.mark.parametrize("kwargs, message", [
    ({"target": "dE/dq_1"}, "unknown target"),
    ({"target": "dE/dw_31^(1)"}, "not a parameter"),
    ({"target": "J_13"}, "inputs x_1..x_2"),
    ({"target": "delta_1^(3)"}, "layers of"),
    ({"target": "dE/db_1^(2)", "net": None}, "needs the network"),
    ({"target": "dE/db_1^(2)", "loss": None}, "needs an error function"),
    ({"target": "dE/db_1^(2)", "formula": "x_1 +"}, "ends too early"),
])
def test_bad_input_is_a_clear_error(kwargs, message):
    arguments = {"formula": "y_1 - t_1", "net": net_of("2-2-1 tanh"), "loss": "sse", **kwargs}
    with pytest.raises(symnet.SymnetError, match=message):
        symnet.verify(arguments.pop("formula"), arguments.pop("target"), **arguments)


@pytest.mark.parametrize("formula", [
    "exp(exp(exp(exp(9))))",                     # beyond evaluation: undefined, not a crash
    "(x_1 + w_11^(1) + b_1^(1) + t_1)^100",      # would expand into 176,851 terms
    "exp(10^30 x_1)",                            # a polynomial of degree 10^30 to cancel
])
def test_adversarial_formulas_get_a_verdict_without_hanging(formula):
    result = symnet.verify(formula, "dE/db_1^(2)", net=net_of("2-2-1 tanh"))
    assert not result.equal and result.counterexample is not None
