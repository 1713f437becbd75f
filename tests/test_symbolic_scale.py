"""The exact Hessian at scale: the same SymPy expressions, built faster, and one size limit.

References: SymPy's own ``sp.Mul`` / ``sp.Add`` (for ``symnet.graph.canonical``), SymPy's
expansion of a difference to 0 (an identity of polynomials in the named symbols), and the
oracle's central differences of its complex-step gradient (tests/oracle.py).
"""
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import oracle as o
import symnet
import symnet.derive.r_operator as r_operator_module
from helpers import random_problem
from symnet import _size
from symnet.derive.second_order import exact_entry
from symnet.graph import canonical

ROOT = Path(__file__).resolve().parents[1]

# (sizes, hidden, output, loss): every kind of output block and second derivative
NETS = [((2, 3, 2), "tanh", "linear", "sse"),
        ((2, 3, 3), "sigmoid", "softmax", "cross_entropy"),
        ((2, 2, 2, 2), "softplus", "sigmoid", "cross_entropy"),
        ((3, 2, 2), "relu", "linear", "log_cosh"),
        ((2, 2, 1), "tanh", "tanh", "huber")]


def _same(fast, sympys):
    """One SymPy object: the same class and the same args in the same order, all the way down."""
    return type(fast) is type(sympys) and fast == sympys and sp.srepr(fast) == sp.srepr(sympys)


# -- mul and add are sp.Mul and sp.Add --------------------------------------------------------
@pytest.fixture
def spied(monkeypatch):
    """Every mul / add the R-operator calls, checked against sp.Mul / sp.Add on the spot."""
    seen = {"mul": 0, "add": 0, "fast": 0}

    def checked(name, fast, reference):
        def spy(*args):
            result, expected = fast(*args), reference(*args)
            assert result == expected and type(result) is type(expected), (name, args)
            assert result.args == expected.args, (name, args)   # the same order of args
            seen[name] += 1
            return result
        return spy

    monkeypatch.setattr(r_operator_module, "mul", checked("mul", canonical.mul, sp.Mul))
    monkeypatch.setattr(r_operator_module, "add", checked("add", canonical.add, sp.Add))
    return seen


@pytest.mark.parametrize("sizes, hidden, output, loss", NETS)
def test_every_product_and_sum_of_the_hessian_is_sympys_own(spied, sizes, hidden, output, loss):
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    symnet.hessian(net, loss)
    symnet.hessian_residual(net, loss)
    symnet.hessian_vector_product(net, loss)        # the same recursion along symbols v_p
    assert spied["mul"] > 10 * net.n_params and spied["add"] > net.n_params


x, y, z = sp.symbols("x y z", real=True)
a, b = sp.symbols("a b")
A, B = sp.symbols("A B", commutative=False)
M = sp.MatrixSymbol("M", 2, 2)


@pytest.mark.parametrize("factors", [
    (x * y, x),                        # a repeated base: x**2*y
    (x ** 2, 1 / x),                   # powers of one base cancel
    (sp.Integer(2), x + 1),            # the 2-arg rule distributes: 2*x + 2
    (sp.Integer(-1), x - y),
    (2 * x, y + 1),                    # 2*x*(y + 1): nothing to gather
    (sp.exp(a), sp.exp(b)),            # exp is E**a: exp(a + b)
    (sp.Float(0.5), x + 1),
    (sp.sqrt(2), sp.sqrt(2) * x),      # numeric powers fold: 2*x
    (sp.Integer(0), x + sp.oo),        # nan
    (sp.zoo, x),
    (A, B), (x, A),                    # non-commutative
    (x + 1, x + 1),                    # (x + 1)**2
    (1 - z ** 2, z, (1 - z ** 2) * y),
    (sp.Pow(x, 1, evaluate=False), y),  # an unevaluated power is evaluated by Mul
    (sp.Integer(3), sp.Rational(1, 3)),
    (x, sp.Integer(1)), (x,), (),
])
def test_mul_is_sp_mul_in_the_cases_it_hands_to_sympy(factors):
    assert _same(canonical.mul(*factors), sp.Mul(*factors))


@pytest.mark.parametrize("terms", [
    (x, x),                            # like terms: 2*x
    (2 * x * y, -x * y),               # cancel to x*y
    (sp.Integer(2), x * y),            # the 2-arg path
    (x + 1, -1),
    (sp.Float(1.5) * x, x),
    (sp.oo, x), (sp.nan, x), (A, B),
    (x, y + x * y, 3 * z, sp.Rational(1, 2)),
    (sp.Integer(2) ** x, y), (sp.Integer(0), x), (x,), (),
])
def test_add_is_sp_add_in_the_cases_it_hands_to_sympy(terms):
    assert _same(canonical.add(*terms), sp.Add(*terms))


def test_mul_and_add_refuse_no_python_numbers_and_matrices():
    assert _same(canonical.mul(2, x + 1), sp.Mul(2, x + 1))
    assert _same(canonical.add(x, 3), sp.Add(x, 3))
    assert canonical.mul(M, x) == sp.Mul(M, x)


def _random_expression(rng, depth):
    """A random sum or product of symbols, sums, powers, functions and small rationals."""
    atoms = [x, y, z, a, b, 1 - z ** 2, x + y, sp.tanh(a), x ** 2, sp.Rational(-2, 3),
             sp.Integer(2), y * (x + 1)]
    if depth == 0:
        return atoms[rng.integers(len(atoms))]
    parts = [_random_expression(rng, depth - 1) for _ in range(rng.integers(1, 4))]
    return sp.Add(*parts) if rng.random() < 0.5 else sp.Mul(*parts)


@pytest.mark.parametrize("seed", range(4))
def test_mul_and_add_are_sympys_own_on_random_expressions(seed):
    rng = np.random.default_rng(seed)
    for _ in range(150):
        parts = [_random_expression(rng, rng.integers(0, 3)) for _ in range(rng.integers(1, 4))]
        assert _same(canonical.mul(*parts), sp.Mul(*parts)), parts
        assert _same(canonical.add(*parts), sp.Add(*parts)), parts


# -- the Hessian: one triangle built, the other the same entries ------------------------------
@pytest.mark.parametrize("sizes, hidden, output, loss", [NETS[0], NETS[1], NETS[3]])
def test_lower_triangle_mirrors_the_upper_and_equals_the_r_operator_along_the_other_w(
        sizes, hidden, output, loss):
    """H[p, q] for p > q is H[q, p]; the R-operator along w_q (the entry before the
    triangle was mirrored) differs from it by 0 as a polynomial in x, w, z, y, t, delta."""
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    named = symnet.hessian(net, loss).named
    W = net.n_params
    assert all(named[p, q] is named[q, p] for p in range(W) for q in range(p))
    rule = symnet.get_loss(loss, net)
    for p in range(W):
        for q in range(p):
            along_q = exact_entry(net, rule, p, q, {})
            assert sp.expand(named[p, q] - along_q) == 0, (p, q)


@pytest.mark.parametrize("sizes, hidden, output, loss",
                         [n for n in NETS if n[1] != "relu"])  # no kinks for differences
def test_hessian_and_residual_entries_match_the_oracle(rng, sizes, hidden, output, loss):
    """evaluate_entries lambdifies every named entry, the mirrored ones included."""
    X, w, T = random_problem(rng, sizes, n_samples=3, output=output)
    net = symnet.MLP(list(sizes), hidden=hidden, output=output)
    H = symnet.hessian(net, loss).evaluate_entries(X, w, T)
    reference = o.hessian_fd_grad(sizes, hidden, output, X, w, T, loss)
    scale = np.abs(reference).max()
    np.testing.assert_allclose(H, reference, rtol=1e-6, atol=1e-7 * scale)
    if loss in ("sse", "cross_entropy"):   # the oracle's Gauss-Newton covers these two
        residual = symnet.hessian_residual(net, loss).evaluate_entries(X, w, T)
        expected = reference - o.gauss_newton(sizes, hidden, output, X, w, T, loss)
        np.testing.assert_allclose(residual, expected, rtol=1e-6, atol=1e-7 * scale)


# -- the size limit: one number, stated in the README -------------------------------------------
def test_the_exact_hessian_limit_is_one_number_and_the_readme_states_it():
    limit = _size.MAX_HESSIAN_PARAMS
    source = (ROOT / "symnet" / "_size.py").read_text()
    assert len(re.findall(r"^MAX_HESSIAN_PARAMS\s*=", source, flags=re.M)) == 1
    assert _size.MAX_HESSIAN_ENTRIES == limit ** 2
    _size.check_hessian(limit)
    with pytest.raises(symnet.TooLargeError, match=f"W <= {limit}"):
        _size.check_hessian(limit + 1)
    readme = (ROOT / "README.md").read_text()
    stated = re.search(r"exact symbolic Hessian is refused\s+above W = ([\d,]+) parameters",
                       readme)
    assert stated and int(stated.group(1).replace(",", "")) == limit
