"""verify with L2 weight decay: E = E_n + lam/2 sum_p w_p^2 (issue 12, remainder 1).

The network is y = w x + b (MLP([1, 1]), linear, sse), where everything is known by hand:
E = 1/2 (w x + b - t)^2 + lam/2 (w^2 + b^2), so with r = w x + b - t

    dE/dw = r x + lam w,    dE/db = r + lam b,    delta = dE_n/da = r (no lam),
    H[w, w] = x^2 + lam,    H[w, b] = x,           H[b, b] = 1 + lam.

Counterexamples are checked at their own coordinates with exact Fractions.
"""
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.errors import SymnetError
from symnet.graph import loss_rules

NET = symnet.MLP([1, 1])
X, W, B, T = NET.inputs[0], *NET.params, NET.targets[0]
Y = NET.layer_values(1)[0]


def at(result, symbol):
    return Fraction(int(result.counterexample[symbol].p), int(result.counterexample[symbol].q))


def hand_residual(result):
    return at(result, W) * at(result, X) + at(result, B) - at(result, T)


@pytest.mark.parametrize("lam, text", [(Fraction(1, 3), "1/3"), (0.01, "0.01"), (2, "2")])
def test_gradient_with_decay_is_accepted_and_proven(lam, text):
    result = symnet.verify(f"(y_1 - t_1) x_1 + {text} w_11^(1)", "dE/dw_11^(1)", net=NET,
                           weight_decay=lam)
    assert result.equal and result.proven
    result = symnet.verify(f"y_1 - t_1 + {text} b_1^(1)", "dE/db_1^(1)", net=NET,
                           weight_decay=lam)
    assert result.equal and result.proven


def test_decay_is_taken_exactly():
    # 0.01 is 1/100 exactly, so a coefficient 0.0100001 differs by 10^-7 w: at the
    # counterexample the two sides differ by exactly that much
    result = symnet.verify("(y_1 - t_1) x_1 + 0.0100001 w_11^(1)", "dE/dw_11^(1)", net=NET,
                           weight_decay=0.01)
    assert not result.equal and result.proven
    gap = Fraction(int(result.formula_value.p), int(result.formula_value.q)) - Fraction(
        int(result.reference_value.p), int(result.reference_value.q))
    assert gap == Fraction(1, 10 ** 7) * at(result, W) != 0
    # and the reference there is r x + w / 100, by hand
    assert result.reference_value == sp.Rational(
        hand_residual(result) * at(result, X) + at(result, W) / 100)


def test_forgotten_decay_is_named_and_the_difference_is_lam_w():
    lam = Fraction(1, 4)
    result = symnet.verify("(y_1 - t_1) x_1", "dE/dw_11^(1)", net=NET, weight_decay=lam)
    assert not result.equal and result.mistake == "forgot_weight_decay"
    assert "weight-decay term is missing" in result.hint and "w_11^(1)" in result.hint
    assert sp.expand(result.difference + sp.Rational(1, 4) * W) == 0  # yours - correct = -lam w
    assert result.formula_value - result.reference_value == -sp.Rational(1, 4) * sp.Rational(
        at(result, W))
    bias = symnet.verify("y_1 - t_1", "dE/db_1^(1)", net=NET, weight_decay=lam)
    assert bias.mistake == "forgot_weight_decay"


def test_other_mistakes_are_still_named_with_decay():
    result = symnet.verify("(t_1 - y_1) x_1 + w_11^(1)/4", "dE/dw_11^(1)", net=NET,
                           weight_decay=Fraction(1, 4))
    assert result.mistake == "flip_sign"
    result = symnet.verify("2 (y_1 - t_1) x_1", "dE/dw_11^(1)", net=NET,
                           weight_decay=Fraction(1, 4))
    # 2 r x = 2 (r x + lam w without lam w): the forgotten term, and a stray factor 2
    assert not result.equal and result.mistake == "forgot_weight_decay+factor_2"


def test_deltas_and_jacobians_do_not_change():
    assert symnet.verify("y_1 - t_1", "delta_1^(1)", net=NET, weight_decay=0.5).proven
    assert symnet.verify("x_1", "dy_1/dw_11^(1)", net=NET, weight_decay=0.5).proven
    assert symnet.verify("w_11^(1)", "J_11", net=NET, weight_decay=0.5).proven


def test_hessian_gains_lam_on_the_diagonal_only():
    half = Fraction(1, 2)
    assert symnet.verify("x_1^2 + 1/2", "H[w_11^(1), w_11^(1)]", net=NET,
                         weight_decay=half).proven
    assert symnet.verify("3/2", "H[b_1^(1), b_1^(1)]", net=NET, weight_decay=half).proven
    assert symnet.verify("x_1", "H[w_11^(1), b_1^(1)]", net=NET, weight_decay=half).proven
    forgot = symnet.verify("x_1^2", "H[w_11^(1), w_11^(1)]", net=NET, weight_decay=half)
    assert forgot.mistake == "forgot_weight_decay"
    assert forgot.reference_value == sp.Rational(at(forgot, X) ** 2 + half)
    off_diagonal = symnet.verify("x_1 + 1/2", "H[w_11^(1), b_1^(1)]", net=NET,
                                 weight_decay=half)
    assert not off_diagonal.equal and off_diagonal.reference_value == sp.Rational(
        at(off_diagonal, X))


def test_the_convention_is_symnet_gradients():
    # E = sum_n E_n + lam/2 ||w||^2 over every parameter, biases included: the hand value
    # r x + lam w, r + lam b for one sample is what symnet.gradient(weight_decay=lam)
    # evaluates, and the same hand formula is what verify accepts
    lam, x, w, b, t = 0.25, 1.5, -0.5, 0.75, 2.0
    r = w * x + b - t
    hand = np.array([r * x + lam * w, r + lam * b])
    grad = symnet.gradient(NET, "sse", weight_decay=lam)
    assert np.allclose(grad.evaluate([[x]], [w, b], [[t]]).ravel(), hand, rtol=1e-15, atol=0)
    assert symnet.verify("(y_1 - t_1) x_1 + 0.25 w_11^(1)", "dE/dw_11^(1)", net=NET,
                         weight_decay=lam).proven


def test_a_loss_object_keeps_its_decay_unless_one_is_given():
    loss = symnet.get_loss("sse", NET, weight_decay=0.5)
    assert symnet.verify("y_1 - t_1 + 0.5 b_1^(1)", "dE/db_1^(1)", net=NET, loss=loss).proven
    assert symnet.verify("y_1 - t_1", "dE/db_1^(1)", net=NET, loss=loss,
                         weight_decay=0).proven


def test_cache_is_keyed_by_lam():
    # the same network and entry with two values of lam, in turn: each verdict its own
    for lam, other in ((Fraction(1, 2), Fraction(1, 4)), (Fraction(1, 4), Fraction(1, 2))):
        entry = "H[b_1^(1), b_1^(1)]"
        assert symnet.verify(f"1 + {lam}", entry, net=NET, weight_decay=lam).proven
        assert not symnet.verify(f"1 + {other}", entry, net=NET, weight_decay=lam).equal
        assert symnet.verify(f"y_1 - t_1 + {lam} b_1^(1)", "dE/db_1^(1)", net=NET,
                             weight_decay=lam).proven


@pytest.fixture
def restore_losses():
    before = dict(loss_rules._RULES)
    yield
    loss_rules._RULES.clear()
    loss_rules._RULES.update(before)


def test_cache_is_keyed_by_the_loss_not_its_name(restore_losses):
    net = symnet.MLP([1, 1])
    name = "decay_cache_example"
    symnet.register_loss(name, lambda y, t: sum((yk - tk) ** 2 for yk, tk in zip(y, t)) / 2)
    assert symnet.verify("y_1 - t_1", "delta_1^(1)", net=net, loss=name).proven
    assert symnet.verify("(y_1 - t_1) x_1", "dE/dw_11^(1)", net=net, loss=name).proven
    # the same name, another loss: E_n = (y - t)^4, delta = 4 (y - t)^3, by hand
    symnet.register_loss(name, lambda y, t: sum((yk - tk) ** 4 for yk, tk in zip(y, t)),
                         replace=True)
    assert not symnet.verify("y_1 - t_1", "delta_1^(1)", net=net, loss=name).equal
    assert symnet.verify("4 (y_1 - t_1)^3", "delta_1^(1)", net=net, loss=name).proven
    assert symnet.verify("4 (y_1 - t_1)^3 x_1", "dE/dw_11^(1)", net=net, loss=name).proven
    assert symnet.verify("12 (y_1 - t_1)^2", "H[b_1^(1), b_1^(1)]", net=net, loss=name).proven


@pytest.mark.parametrize("bad", [-0.1, -1, float("inf"), float("nan"), "0.1", True, 1j,
                                 [0.1], np.array([0.1]), 10 ** 400])
def test_bad_weight_decay_is_refused(bad):
    with pytest.raises(SymnetError, match="weight_decay"):
        symnet.verify("y_1 - t_1", "dE/db_1^(1)", net=NET, weight_decay=bad)


def test_weight_decay_needs_a_loss():
    with pytest.raises(SymnetError, match="loss"):
        symnet.verify("x_1", "J_11", net=NET, loss=None, weight_decay=0.1)
    assert symnet.verify("w_11^(1)", "J_11", net=NET, loss=None, weight_decay=0).proven
