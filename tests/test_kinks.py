"""Every registered Piecewise activation takes the derivative from the left at its kinks.

The convention (symnet.graph.kinks, docs/pages/conventions.md): at a kink h'(a) is the
derivative from the left, so ReLU'(0) = 0, leaky ReLU'(0) = s, ELU'(0) = alpha e^0 = alpha
and a hard tanh has h'(-1) = 0 and h'(1) = 1. It must not depend on how the activation is
spelled (Max/Min, Abs, Piecewise with the condition on either side, an argument that
falls instead of rising). The expected values below are worked by hand from the
one-sided limits of the pieces, written next to each case.
"""

import itertools

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.graph.kinks import left_derivative

u = sp.Symbol("u", real=True)
HALF, TENTH = sp.Rational(1, 2), sp.Rational(1, 10)
_names = itertools.count()

# (spellings, {a: hand value of the left derivative h'(a-)})
RELU = ([sp.Max(0, u), (u + sp.Abs(u)) / 2, sp.Piecewise((0, u < 0), (u, True)),
         sp.Piecewise((u, u > 0), (0, True)), -sp.Min(0, -u),                # Min of a falling -u
         sp.Piecewise((0, -u > 0), (u, True)), u * sp.Heaviside(u, 1)],
        # left of 0 the piece is 0 (slope 0); right of 0 it is u (slope 1)
        {-1: 0, 0: 0, 1: 1})
LEAKY = ([sp.Max(u, u / 10), sp.Piecewise((u / 10, u < 0), (u, True)),
          sp.Piecewise((u, u >= 0), (u / 10, True)), u / 10 + 9 * sp.Max(0, u) / 10],
         # left of 0 the piece is u/10 (slope 1/10)
         {-1: TENTH, 0: TENTH, 1: 1})
ELU_1 = ([sp.Max(0, u) + sp.Min(0, sp.exp(u) - 1),                      # the spelling
          sp.Piecewise((sp.exp(u) - 1, u < 0), (u, True)),
          sp.Piecewise((u, u >= 0), (sp.exp(u) - 1, True)),
          sp.Piecewise((sp.exp(u) - 1, -u > 0), (u, True)),
          sp.Min(0, sp.exp(u) - 1) - sp.Min(0, -u)],          # arguments rising and falling
         # alpha = 1: left of 0 the piece is e^u - 1, slope e^0 = 1; at -1 it is e^-1
         {-1: sp.exp(-1), 0: 1, 1: 1})
ELU_HALF = ([sp.Piecewise((HALF * (sp.exp(u) - 1), u < 0), (u, True)),
             sp.Piecewise((u, -u <= 0), (HALF * (sp.exp(u) - 1), True)),
             sp.Max(0, u) + sp.Min(0, HALF * (sp.exp(u) - 1))],
            # alpha = 1/2: left of 0 the slope is (1/2) e^0 = 1/2 (PyTorch's ELU backward
            # takes the same alpha at 0); right of 0 it is 1
            {-1: sp.exp(-1) / 2, 0: HALF, 1: 1})
HARD_TANH = ([sp.Max(-1, sp.Min(1, u)), sp.Min(1, sp.Max(-1, u)),
              sp.Piecewise((-1, u < -1), (u, u <= 1), (1, True)),
              sp.Piecewise((1, u > 1), (-1, u < -1), (u, True)),
              (sp.Abs(u + 1) - sp.Abs(u - 1)) / 2],
             # left of -1 the piece is -1 (slope 0); left of +1 it is u (slope 1)
             {-2: 0, -1: 0, 0: 1, 1: 1, 2: 0})
BUMP = ([sp.Max(0, 1 - u ** 2), sp.Piecewise((1 - u ** 2, u ** 2 < 1), (0, True))],
        # 1 - u^2 rises through 0 at u = -1 and falls at u = +1: left of -1 the piece
        # is 0 (slope 0), left of +1 it is 1 - u^2 (slope -2u = -2)
        {-1: 0, 0: 0, 1: -2})
CASES = {"relu": RELU, "leaky_relu": LEAKY, "elu": ELU_1, "elu_half": ELU_HALF,
         "hard_tanh": HARD_TANH, "bump": BUMP}
SPELLINGS = [(name, i) for name, (forms, _) in CASES.items() for i in range(len(forms))]


@pytest.mark.parametrize("name, i", SPELLINGS, ids=[f"{n}-{i}" for n, i in SPELLINGS])
def test_symbolic_derivative_is_the_left_one_at_every_kink(name, i):
    forms, want = CASES[name]
    derivative = left_derivative(forms[i], u)
    assert not derivative.has(sp.DiracDelta)
    for point, value in want.items():
        assert sp.simplify(derivative.subs(u, point) - value) == 0, (point, derivative)


@pytest.mark.parametrize("name, i", SPELLINGS, ids=[f"{n}-{i}" for n, i in SPELLINGS])
def test_registered_activation_kernel_has_the_hand_values(name, i):
    forms, want = CASES[name]
    act = symnet.register_activation(f"kinks_{name}_{next(_names)}", forms[i], u)
    points = np.array([float(p) for p in want], dtype=float)
    expected = np.array([float(v) for v in want.values()])
    np.testing.assert_allclose(act.derivative_numpy(points), expected, rtol=1e-15, atol=0)


def test_second_derivative_is_the_left_one_too():
    # ELU (alpha = 1): h'' is e^u left of 0 and 0 right of it, so h''(0) = e^0 = 1 from the
    # left. Bump 1 - u^2: h'' = -2 inside (-1, 1) and 0 outside: left of -1 it is 0, left
    # of +1 it is -2.
    elu = symnet.register_activation(f"kinks_elu2_{next(_names)}", ELU_1[0][0], u)
    bump = symnet.register_activation(f"kinks_bump2_{next(_names)}", BUMP[0][0], u)
    np.testing.assert_array_equal(elu.second_derivative_numpy(np.array([0.0, 1.0])), [1.0, 0.0])
    np.testing.assert_array_equal(bump.second_derivative_numpy(np.array([-1.0, 1.0])), [0.0, -2.0])


def test_away_from_kinks_the_derivative_is_the_central_difference_of_numpy_elu():
    act = symnet.register_activation(f"kinks_elu3_{next(_names)}", ELU_1[0][0], u)
    a = np.array([-2.0, -0.3, 0.4, 3.0])
    elu = lambda x: np.where(x > 0, x, np.expm1(x))  # noqa: E731  (plain NumPy, no symnet)
    h = 1e-6
    central = (elu(a + h) - elu(a - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative_numpy(a), central, rtol=1e-8)


def test_a_gradient_through_an_elu_at_its_kink():
    # x = 1, w_11^(1) = 1, b_1^(1) = -1: a = 0, z = ELU(0) = 0; w_11^(2) = 2, b = 0: y = 0;
    # t = 1: delta^(2) = y - t = -1, delta^(1) = ELU'(0) * 2 * (-1) = 1 * 2 * (-1) = -2.
    # dE/dw_11^(1) = delta^(1) x = -2, dE/db^(1) = -2, dE/dw_11^(2) = delta^(2) z = 0,
    # dE/db^(2) = -1.
    act = symnet.register_activation(f"kinks_elu4_{next(_names)}", ELU_1[0][0], u)
    net = symnet.MLP([1, 1, 1], hidden=act.name)
    grad = symnet.gradient(net, "sse").evaluate([[1.0]], np.array([1.0, -1.0, 2.0, 0.0]), [[1.0]])
    np.testing.assert_array_equal(grad, [-2.0, -2.0, 0.0, -1.0])


@pytest.mark.parametrize("expression", [sp.Max(0, sp.sin(u)), sp.Piecewise((0, sp.cos(u) < 0),
                                                                          (1, True)) * u])
def test_a_kink_whose_side_cannot_be_told_is_refused(expression):
    # sin u = 0 at every multiple of pi, rising at some and falling at others: no guess
    with pytest.raises(symnet.SymnetError, match="cannot locate the kinks"):
        symnet.register_activation(f"kinks_refused_{next(_names)}", expression, u)
