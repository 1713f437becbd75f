"""Safe parsing: the whitelisted grammar, LaTeX input, refusals with positions, and a fuzz test.

Expected expressions are built by hand from symnet.graph.symbols, never by the parser.
"""

import os
import time

import pytest
import sympy as sp
from hypothesis import example, given, settings, strategies as st

import symnet
from symnet import symbols as sym
from symnet.graph.functions import sigmoid
from symnet.formulas.parser import MAX_DEPTH, ParseError, parse_formula

x1, x2 = sym.input_symbol(1), sym.input_symbol(2)
y1, t1 = sym.output(1), sym.target(1)
z11, a11 = sym.activation_value(1, 1), sym.pre_activation(1, 1)
w11_2, w21_1 = sym.weight(2, 1, 1), sym.weight(1, 2, 1)
d12 = sym.delta(2, 1)
NET = symnet.MLP([2, 2, 1], hidden="tanh")


@pytest.mark.parametrize("text, expected", [
    ("(y_1 - t_1)*w_11^(2)*(1 - z_1^(1)**2)*x_1", (y1 - t1) * w11_2 * (1 - z11**2) * x1),
    ("(y_1 - t_1) w_11^(2) (1 - z_1^(1)^2) x_1", (y1 - t1) * w11_2 * (1 - z11**2) * x1),
    ("w_21^(1)", w21_1),
    ("0.5*x_1^2", x1**2 / 2),               # decimals are exact rationals
    ("-x_1^2", -x1**2),                     # ^ binds tighter than unary minus
    ("2^3^2", sp.Integer(512)),             # and is right-associative: 2^(3^2)
    ("sigma(a_1^(1))(1 - sigma(a_1^(1)))", sigmoid(a11) * (1 - sigmoid(a11))),
    ("tanh'(a_1^(1))", 1 - sp.tanh(a11)**2),
    ("1/cosh(a_1^(1))^2", 1 / sp.cosh(a11)**2),
    ("Heaviside(a_1^(1), 0)", sp.Heaviside(a11, 0)),
    ("max(x_1, 0)", sp.Max(x1, 0)),
    (r"\delta_1^{(2)} z_1^{(1)}", d12 * z11),
    (r"w^{(2)}_{11} \cdot \left(1 - \left(z_1^{(1)}\right)^2\right)", w11_2 * (1 - z11**2)),
    (r"\frac{1}{2} \left(y_1 - t_1\right)^{2}", (y1 - t1)**2 / 2),
    (r"\sigma\left(a_1^{(1)}\right) \sqrt{x_1}", sigmoid(a11) * sp.sqrt(x1)),
    (r"\operatorname{softplus}(x_1)", sp.log(1 + sp.exp(x1))),
])
def test_reads_plain_text_and_latex(text, expected):
    got = parse_formula(text)
    assert sp.expand((got - expected).rewrite(sp.log).rewrite(sp.exp)) == 0


def test_network_names_indices_sums_and_h_prime():
    # h'(a_1^(1)) for tanh is 1 - tanh(a)^2; sum_k over layer 2 has one unit here.
    got = parse_formula("h'(a_1^(1)) sum_k(w_k1^(2) delta_k^(2))", NET)
    assert got == (1 - sp.tanh(a11)**2) * w11_2 * d12
    assert parse_formula("delta_j^(1) x_i", NET, indices={"j": 2, "i": 1}) == sym.delta(1, 2) * x1
    wide = symnet.MLP([3, 4, 2])
    assert parse_formula("sum_i(w_2i^(1) x_i)", wide) == sum(
        sym.weight(1, 2, i) * sym.input_symbol(i) for i in (1, 2, 3))


SENTINEL = "/tmp/symnet_parse_sentinel"


@pytest.mark.parametrize("text, token, position", [
    (f"__import__('os').system('touch {SENTINEL}')", "__import__", 0),
    ("x_1.__class__", ".", 3),
    ("x_1 + os.system('ls')", "os", 6),
    ("lambda: x_1", "lambda", 0),
    ("f'{x_1}'", "f", 0),
    ("x_1[0]", "[", 3),
    ("[x_1 for x_1 in y_1]", "[", 0),     # comprehensions need brackets or 'for'
    ("__builtins__", "__builtins__", 0),
    ("foo(x_1)", "foo", 0),
    ("x_1; x_2", ";", 3),
    ("(x_1, x_2)", "(", 0),               # a tuple is not a number
    ("x_1 +", "+", 4),
    ("(x_1", "(", 0),
    ("w_11", "w_11", 0),                  # a weight needs its layer
    ("9**9**9**9", "9", 6),               # 9**9 = 387420489 is refused as an exponent
    ("2 3", "3", 2),
    (r"\alpha + x_1", r"\alpha", 0),
    (r"\frac{x_1}{", "{", 10),
])
def test_refuses_with_the_offending_token(text, token, position):
    with pytest.raises(ParseError) as info:
        parse_formula(text)
    assert (info.value.token, info.value.position) == (token, position)
    assert isinstance(info.value, symnet.SymnetError)
    assert not os.path.exists(SENTINEL)


def test_unknown_symbol_of_a_network_lists_the_known_ones():
    with pytest.raises(ParseError, match=r"w_31\^\(1\) is not a symbol of .*w_ji\^\(1\) "
                                         r"\(j = 1\.\.2, i = 1\.\.2\)"):
        parse_formula("w_31^(1) + x_1", NET)


def test_huge_inputs_are_refused_quickly():
    started = time.process_time()
    for text in ["(" * 10_000 + "x_1" + ")" * 10_000, "x_1+" * 250_000 + "x_1",
                 "(" * (MAX_DEPTH + 1) + "x_1" + ")" * (MAX_DEPTH + 1), "((2^999)^999)^999",
                 "((x_1^999)^999)", "1" * 1000, "{" * 10_000]:
        with pytest.raises(ParseError):
            parse_formula(text)
    assert time.process_time() - started < 30  # bounded, generously (not a timing test)


_pieces = st.sampled_from(["x_1", "y_1", "t_1", "w_11^(2)", "z_1^(1)", "delta_1^(2)", "a_1^(1)",
                           "2", "0.5", "tanh(", "sigma(", "exp(", "(", ")", "+", "-", "*", "/",
                           "^", "**", " ", ",", "__import__", ".", "'", "os", "system",
                           r"\frac{", "}{", "}", r"\left(", r"\right)", "_", "9**9", "lambda"])


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_pieces, max_size=25).map("".join)))
@example(f"__import__('os').system('touch {SENTINEL}')")
@example("().__class__.__bases__[0].__subclasses__()")
@example("\\")                  # a lone backslash (found by this test)
@example("\u00c0 + x_1\u00a0")    # non-ASCII letters and spaces (found by this test)
def test_fuzz_only_expressions_or_parse_errors(text):
    try:
        result = parse_formula(text)
    except ParseError:
        pass
    else:
        assert isinstance(result, sp.Expr)
    assert not os.path.exists(SENTINEL)
