"""A user's own lambdify of symnet's functions, with the math and mpmath printers.

Reference: the textbook formulas evaluated directly in mpmath (50 digits).
"""
import mpmath
import pytest
import sympy as sp

from symnet.graph.functions import sigmoid, softmax, softplus

a, b = sp.symbols("a b", real=True)


@pytest.mark.parametrize("module", ["math", "mpmath"])
def test_powers_of_printed_functions_apply_to_the_whole_function(module):
    with mpmath.workdps(50):
        y1 = mpmath.exp(0.3) / (mpmath.exp(0.3) + mpmath.exp(0.1))
        expected = [y1 ** 2, 2 * (1 / (1 + mpmath.exp(-0.3))) ** 3, mpmath.log(1 + mpmath.exp(0.3)) ** 2]
        expressions = [softmax(1, a, b) ** 2, 2 * sigmoid(a) ** 3, softplus(a) ** 2]
        for expression, value in zip(expressions, expected):
            got = sp.lambdify((a, b), expression, module)(0.3, 0.1)
            assert abs(float(got) - float(value)) <= 1e-15 * abs(float(value))
