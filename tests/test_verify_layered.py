"""verify for convolutions, recurrent nets and skips (issue 14, section 2): a learner's
convolution or backprop-through-time formula, in the network's own names, is checked, and a
forgotten sum over positions or over time is a named mistake.

Every formula here is written by hand from the equations, not from symnet's output:

* Conv1D, a_{c,p} = sum_{c',m} w_{c,c',m} z_{c',p+m-1} + b_c (1-based p, m): the kernel entry
  w_{c,c',m} is on every position, so dE/dw_{c,c',m} = sum_p delta_{c,p} z_{c',p+m-1} and
  dE/db_c = sum_p delta_{c,p};
* Elman RNN, a^(t) = W_xh x^(t) + W_hh h^(t-1) + b_h, h^(t) = tanh(a^(t)): dE/dw_jm^(hh) =
  sum_{t=2}^T delta_j^(t) h_m^(t-1), dE/dw_ji^(xh) = sum_t delta_j^(t) x_i^(t), and BPTT,
  delta_j^(t) = h'(a_j^(t)) (sum_k w_kj^(hh) delta_k^(t+1) + sum_k w_kj^(hy) delta_k^(y,t));
* Residual, z_out = z_in + F(z_in): the delta of z_in gets the skip's delta as well as F's.

The counterexamples are re-checked by another route: the correct value by central
differences of tests/oracle.py's forward pass (layered_forward, rnn_forward), the formula's
value by the hand formula evaluated in NumPy on the oracle's pre-activations.
"""

import numpy as np
import pytest

import oracle as o
import symnet
from symnet.formulas.parser import ParseError, UnknownSymbolError, parse_formula
from symnet.graph.layers import Conv1D, Dense, Flatten, Residual

CONV_SPEC = [("conv1d", 1, 2, "tanh"), ("flatten",), ("dense", 1, "linear")]
CONV = symnet.Network((1, 4), [Conv1D(1, 2, "tanh"), Flatten(), Dense(1, "linear")])
CHANNELS = symnet.Network((2, 4), [Conv1D(2, 2, "tanh"), Flatten(), Dense(1, "linear")])
RNN = symnet.RNN(1, 2, 1, steps=3)
STEP = 1e-6


def _point(net, counterexample):
    """x, w, t of a counterexample (coordinates it leaves out do not change either side)."""
    def values(symbols):
        return np.array([float(counterexample.get(s, 0)) for s in symbols])
    return values(net.inputs), values(net.params), values(net.targets)


def _central(f, v, column):
    """d f / d v[column] by central differences."""
    plus, minus = v.copy(), v.copy()
    plus[column] += STEP
    minus[column] -= STEP
    return (f(plus) - f(minus)) / (2 * STEP)


def _oracle_gradient(forward, x, w, t, column):
    """dE/dw_column of E = 1/2 (y - t)^2, by central differences of the oracle's forward."""
    return _central(lambda v: o.output_loss(forward(x[None], v), t[None], "sse"), w, column)


def _oracle_input_gradient(forward, x, w, t, column):
    """dE/dx_column, by central differences of the oracle's forward."""
    return _central(lambda v: o.output_loss(forward(v[None], w), t[None], "sse"), x, column)


def _conv_forward(x, w):
    return o.layered_forward((1, 4), CONV_SPEC, x, w)


def _conv_deltas(x, w, t):
    """delta_{1,p}^(1) = (y - t) w_1p^(2) (1 - tanh(a_{1,p})^2) from the oracle's a, and y."""
    a = o.layered_preactivations((1, 4), CONV_SPEC, x[None], w)[0][0]
    y = _conv_forward(x[None], w)[0, 0]
    return (y - t[0]) * w[3:6] * (1 - np.tanh(a) ** 2)


# -- convolution: the sum over positions -----------------------------------------------------
@pytest.mark.parametrize("formula", [
    r"\sum_{p=1}^{3} \delta_{1,p}^{(1)} x_{1,p+1}",                       # LaTeX
    "sum_(p=1)^(3)(delta_1,p^(1) x_(1,p+1))",                               # plain
    r"\frac{\partial E_n}{\partial w_{1,1,2}^{(1)}} = \sum_{p=1}^{3} \delta_{1,p}^{(1)} x_{1,p+1}",
    # the deltas written out: delta_{1,p} = (y - t) w_1p^(2) (1 - z_{1,p}^2)
    "sum_(p=1)^(3) (y_1 - t_1) w_1p^(2) (1 - z_1,p^(1)^2) x_(1,p+1)",
    "delta_1,1^(1) x_1,2 + delta_1,2^(1) x_1,3 + delta_1,3^(1) x_1,4",      # written out
])
def test_the_shared_kernel_tap_is_the_sum_over_positions(formula):
    result = symnet.verify(formula, "dE/dw_1,1,2^(1)", net=CONV)
    assert result.equal and result.proven, str(result)


def test_a_single_position_is_the_forgotten_sum_over_positions():
    result = symnet.verify(r"\delta_{1,2}^{(1)} x_{1,3}", "dE/dw_1,1,2^(1)", net=CONV)
    assert not result.equal and result.proven
    assert result.mistake == "forgot_sum_over_positions"
    assert "sum_p delta_(c,p) z_(c',p+m-1)" in result.hint and "delta_1,2^(1)" in result.hint
    # the counterexample, by another route: the correct value is dE/dw_1,1,2^(1) by central
    # differences of the oracle, the formula's is delta_{1,2} x_{1,3} by the hand formula
    x, w, t = _point(CONV, result.counterexample)
    correct = _oracle_gradient(_conv_forward, x, w, t, CONV.param_index("w_1,1,2^(1)"))
    assert float(result.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)
    assert float(result.formula_value) == pytest.approx(_conv_deltas(x, w, t)[1] * x[2],
                                                        rel=1e-9, abs=1e-12)
    assert abs(correct - float(result.formula_value)) > 1e-6


def test_the_bias_of_a_channel_sums_its_deltas_over_positions():
    assert symnet.verify("sum_(p=1)^(3) delta_1,p^(1)", "dE/db_1^(1)", net=CONV).proven
    wrong = symnet.verify("delta_1,3^(1)", "dE/db_1^(1)", net=CONV)
    assert not wrong.equal and wrong.mistake == "forgot_sum_over_positions"
    x, w, t = _point(CONV, wrong.counterexample)
    correct = _oracle_gradient(_conv_forward, x, w, t, CONV.param_index("b_1^(1)"))
    assert float(wrong.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)
    assert float(wrong.formula_value) == pytest.approx(_conv_deltas(x, w, t)[2], rel=1e-9,
                                                       abs=1e-12)


def test_the_input_of_the_wrong_tap_is_named():
    # x_{1,p} instead of x_{1,p+1}: this is the gradient of tap 1, not of tap 2
    result = symnet.verify(r"\sum_{p=1}^{3} \delta_{1,p}^{(1)} x_{1,p}", "dE/dw_1,1,2^(1)",
                           net=CONV)
    assert not result.equal and result.mistake == "wrong_tap"
    assert "dE/dw_1,1,1^(1)" in result.hint
    x, w, t = _point(CONV, result.counterexample)
    correct = _oracle_gradient(_conv_forward, x, w, t, CONV.param_index("w_1,1,2^(1)"))
    assert float(result.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)
    assert float(result.formula_value) == pytest.approx(_conv_deltas(x, w, t) @ x[:3],
                                                        rel=1e-9, abs=1e-12)


def test_a_sum_over_the_wrong_range_is_named():
    # P = 3 positions: p = 1..2 misses delta_{1,3} x_{1,4}
    result = symnet.verify(r"\sum_{p=1}^{2} \delta_{1,p}^{(1)} x_{1,p+1}", "dE/dw_1,1,2^(1)",
                           net=CONV)
    assert not result.equal and result.mistake == "sum_range"
    assert "p = 3" in result.hint
    x, w, t = _point(CONV, result.counterexample)
    deltas = _conv_deltas(x, w, t)
    assert float(result.formula_value) == pytest.approx(deltas[0] * x[1] + deltas[1] * x[2],
                                                        rel=1e-9, abs=1e-12)
    # through time: dE/dw_jm^(hh) starts at t = 2 (h^(0) = 0); t = 3..4 misses t = 2
    rnn = symnet.RNN(1, 2, 1, steps=4)
    late = symnet.verify(r"\sum_{t=3}^{4} \delta_1^{(t)} h_2^{(t-1)}", "dE/dw_12^(hh)", net=rnn)
    assert late.mistake == "sum_range" and "t = 2" in late.hint


def test_two_channels_in_and_out():
    # w_{2,1,2}: output channel 2 reads input channel 1 one position on; input x_{c',q}
    result = symnet.verify(r"\sum_{p=1}^{3} \delta_{2,p}^{(1)} x_{1,p+1}", "dE/dw_2,1,2^(1)",
                           net=CHANNELS)
    assert result.equal and result.proven
    other_channel = symnet.verify(r"\sum_{p=1}^{3} \delta_{2,p}^{(1)} x_{2,p+1}",
                                  "dE/dw_2,1,2^(1)", net=CHANNELS)
    assert not other_channel.equal   # that is dE/dw_{2,2,2}: the input channel is c' = 1
    single = symnet.verify(r"\delta_{2,3}^{(1)} x_{1,4}", "dE/dw_2,1,2^(1)", net=CHANNELS)
    assert single.mistake == "forgot_sum_over_positions"


def test_weight_decay_on_a_kernel_entry():
    # E = E_n + lam/2 ||w||^2 adds lam w_{1,1,2} to the shared tap's sum
    good = symnet.verify(r"\sum_{p=1}^{3} \delta_{1,p}^{(1)} x_{1,p+1} + 0.1 w_{1,1,2}^{(1)}",
                         "dE/dw_1,1,2^(1)", net=CONV, weight_decay=0.1)
    assert good.equal and good.proven
    forgot = symnet.verify(r"\sum_{p=1}^{3} \delta_{1,p}^{(1)} x_{1,p+1}", "dE/dw_1,1,2^(1)",
                           net=CONV, weight_decay=0.1)
    assert forgot.mistake == "forgot_weight_decay"


# -- the RNN: backpropagation through time ---------------------------------------------------
def _rnn_forward(net):
    D, H, K = net.input_size, net.hidden_size, net.output_size
    return lambda X, w: o.rnn_forward(D, H, K, X, w, hidden="tanh", outputs=net.outputs_at)


@pytest.mark.parametrize("formula", [
    r"\sum_{t=2}^{3} \delta_1^{(t)} h_2^{(t-1)}",
    "sum_(t=2)^(3) delta_1^(t) h_2^(t-1)",
    "dE/dw_12^(hh) = delta_1^(2) h_2^(1) + delta_1^(3) h_2^(2)",
])
def test_the_recurrent_weight_is_the_sum_over_time(formula):
    result = symnet.verify(formula, "dE/dw_12^(hh)", net=RNN)
    assert result.equal and result.proven, str(result)


def test_the_boundaries_of_time_are_zero():
    # h^(0) = 0, delta^(T+1) = 0 and (outputs at T only) delta^(y,t) = 0 for t < T, so the
    # textbook formulas may run over every step
    assert symnet.verify("sum_(t=1)^(3) delta_1^(t) h_2^(t-1)", "dE/dw_12^(hh)", net=RNN).proven
    bptt = ("(1 - h_1^(2)^2) (sum_(k=1)^(2) w_k1^(hh) delta_k^(3) "
            "+ w_11^(hy) delta_1^(y,2))")
    assert symnet.verify(bptt, "delta_1^(2)", net=RNN).proven
    last = "(1 - h_1^(3)^2) (sum_(k=1)^(2) w_k1^(hh) delta_k^(4) + w_11^(hy) delta_1^(y,3))"
    assert symnet.verify(last, "delta_1^(3)", net=RNN).proven


def test_a_single_step_is_the_forgotten_sum_over_time():
    result = symnet.verify(r"\delta_1^{(3)} h_2^{(2)}", "dE/dw_12^(hh)", net=RNN)
    assert not result.equal and result.proven
    assert result.mistake == "forgot_sum_over_time"
    assert "h^(t-1)" in result.hint and "delta_1^(3)*h_2^(2)" in result.hint
    x, w, t = _point(RNN, result.counterexample)
    correct = _oracle_gradient(_rnn_forward(RNN), x, w, t, RNN.param_index("w_12^(hh)"))
    assert float(result.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)


def test_the_input_weight_sums_over_every_step():
    good = symnet.verify(r"\sum_{t=1}^{3} \delta_2^{(t)} x_1^{(t)}", "dE/dw_21^(xh)", net=RNN)
    assert good.equal and good.proven
    wrong = symnet.verify(r"\delta_2^{(3)} x_1^{(3)}", "dE/dw_21^(xh)", net=RNN)
    assert wrong.mistake == "forgot_sum_over_time"


def test_bptt_recursion_and_its_missing_derivative():
    # one hidden unit, so delta^(t) = dE/da^(t) = (dE/dx^(t)) / w_11^(xh): central differences
    # of the oracle in the input give the correct value independently
    net = symnet.RNN(1, 1, 1, steps=3)
    assert symnet.verify("(1 - h_1^(2)^2) w_11^(hh) delta_1^(3)", "delta_1^(2)", net=net).proven
    wrong = symnet.verify("w_11^(hh) delta_1^(3)", "delta_1^(2)", net=net)
    assert not wrong.equal and wrong.mistake == "drop_h"
    x, w, t = _point(net, wrong.counterexample)
    correct = _oracle_input_gradient(_rnn_forward(net), x, w, t, 1) / w[0]
    assert float(wrong.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)


def test_bptt_with_an_output_at_every_step():
    # outputs="all": h^(t) feeds a^(t+1) and y^(t), so delta^(t) has both terms
    net = symnet.RNN(1, 2, 1, steps=3, outputs="all")
    both = ("(1 - h_1^(2)^2) (w_11^(hh) delta_1^(3) + w_21^(hh) delta_2^(3) "
            "+ w_11^(hy) delta_1^(y,2))")
    assert symnet.verify(both, "delta_1^(2)", net=net).proven
    no_output = symnet.verify("(1 - h_1^(2)^2) (w_11^(hh) delta_1^(3) + w_21^(hh) delta_2^(3))",
                              "delta_1^(2)", net=net)
    assert no_output.mistake == "forgot_output_term"
    no_recurrence = symnet.verify("(1 - h_1^(2)^2) w_11^(hy) delta_1^(y,2)", "delta_1^(2)",
                                  net=net)
    assert no_recurrence.mistake == "forgot_recurrent_term"


def test_bptt_counterexample_with_an_output_at_every_step():
    # one hidden unit: delta^(t) = (dE/dx^(t)) / w_11^(xh), by central differences of the oracle
    net = symnet.RNN(1, 1, 1, steps=3, outputs="all")
    wrong = symnet.verify("(1 - h_1^(2)^2) w_11^(hy) delta_1^(y,2)", "delta_1^(2)", net=net)
    assert wrong.mistake == "forgot_recurrent_term"
    x, w, t = _point(net, wrong.counterexample)
    correct = _oracle_input_gradient(_rnn_forward(net), x, w, t, 1) / w[0]
    assert float(wrong.reference_value) == pytest.approx(correct, rel=1e-6, abs=1e-9)


# -- residual: the identity term ------------------------------------------------------------
def test_the_skip_connection_adds_its_delta():
    net = symnet.Network(2, [Dense(2, "tanh"), Residual([Dense(2, "tanh")]), Dense(1, "linear")])
    spec = [("dense", 2, "tanh"), ("residual", [("dense", 2, "tanh")]), ("dense", 1, "linear")]
    # z^(3) = z^(1) + z^(2) (the skip stage), so delta_1^(1) = h'(a_1^(1)) (sum_k w_k1^(2)
    # delta_k^(2) + delta_1^(3)), the last term the identity's
    good = "(1 - z_1^(1)^2) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2) + delta_1^(3))"
    assert symnet.verify(good, "delta_1^(1)", net=net).proven
    wrong = symnet.verify("(1 - z_1^(1)^2) (w_11^(2) delta_1^(2) + w_21^(2) delta_2^(2))",
                          "delta_1^(1)", net=net)
    assert not wrong.equal and wrong.mistake == "forgot_skip_term"
    # delta^(1) = W1^{-T} dE/dx (a^(1) = W1 x + b1): central differences of the oracle in x
    x, w, t = _point(net, wrong.counterexample)
    forward = lambda X, v: o.layered_forward(2, spec, X, v)  # noqa: E731
    dE_dx = np.array([_oracle_input_gradient(forward, x, w, t, i) for i in range(2)])
    delta = np.linalg.solve(w[:4].reshape(2, 2).T, dE_dx)
    assert float(wrong.reference_value) == pytest.approx(delta[0], rel=1e-5, abs=1e-8)


# -- reading the formula: what is refused, and how ------------------------------------------
def test_names_and_sums_are_read_by_the_network_s_own_names():
    # x_{1,p+1} at p = 1..3 is x_1,2 .. x_1,4; without commas a weight's digits are indices
    assert parse_formula("sum_(p=1)^(3) x_(1,p+1)", CONV) == sum(CONV.inputs[1:])
    assert parse_formula("w_112^(1)", CONV) == CONV.params[1]
    assert parse_formula(r"w_{12}^{(hh)} + b_{2}^{(h)}", RNN) == (
        RNN.params[RNN.param_index("w_12^(hh)")] + RNN.params[RNN.param_index("b_2^(h)")])


def test_latex_sums_read_as_latex_for_the_mlp_too():
    # \sum_k without a range takes the MLP's layer width (3 units of layer 2 here); the sum's
    # term is the product after it, so "+ b" stays outside
    mlp = symnet.MLP([2, 3, 2], hidden="tanh")
    delta_1 = sum(symnet.symbols.weight(2, k, 1) * symnet.symbols.delta(2, k) for k in (1, 2))
    assert parse_formula(r"\sum_k w_{k1}^{(2)} \delta_k^{(2)}", mlp) == delta_1
    assert parse_formula(r"\sum_{k=1}^{2} w_{k1}^{(2)} \delta_k^{(2)} + b_1^{(1)}", mlp) == (
        delta_1 + symnet.symbols.bias(1, 1))


@pytest.mark.parametrize("formula, net, message", [
    ("sum_k(delta_1,k^(1))", CONV, "write the range"),
    (r"\sum_p \delta_{1,p}^{(1)}", CONV, "write the range"),
    ("delta_1,p^(1)", CONV, "the index p has no value"),
    ("x_1^(t)", RNN, "the index t has no value"),
    (r"\sum_{p=1}^{4} x_{1,p+1}", CONV, "x_1,5 is not a symbol"),   # past the input's end
    ("w_11^(hx)", RNN, "is not a symbol"),
    (r"\sum_{p=1} x_{1,p}", CONV, "write a sum as"),
])
def test_formulas_that_cannot_be_read_say_why(formula, net, message):
    with pytest.raises(ParseError, match=message):
        parse_formula(formula, net)


def test_an_unknown_symbol_is_an_unknown_symbol_error():
    with pytest.raises(UnknownSymbolError) as error:
        symnet.verify("x_1,9", "dE/db_1^(1)", net=CONV)
    assert error.value.symbol.name == "x_1,9"


def test_targets_of_a_network_name_its_own_symbols():
    # moved from test_layered_networks (verify refused these networks before): the MLP's
    # names w_11^(1) are not parameters of a convolution or an RNN, and the error lists theirs
    for net, listed in ((CONV, "w_1,1,1^(1)"), (symnet.RNN(1, 2, 1, steps=2), "w_11^(hh)")):
        with pytest.raises(symnet.SymnetError, match="is not a symbol") as error:
            symnet.verify("x_1", "dE/dw_11^(1)", net=net)
        assert listed in str(error.value)
    with pytest.raises(symnet.SymnetError, match="names one entry, with numbers"):
        symnet.verify("x_1,1", "dE/dw_1,1,m^(1)", net=CONV)
    with pytest.raises(symnet.SymnetError, match="not a parameter"):
        symnet.verify("x_1,1", "dE/dz_1,1^(1)", net=CONV)
    with pytest.raises(ParseError, match="is not the target"):
        symnet.verify("delta_1,1^(1) = x_1,1", "dE/db_1^(1)", net=CONV)
    with pytest.raises(symnet.SymnetError, match="needs an error function"):
        symnet.verify("x_1,1", "dE/db_1^(1)", net=CONV, loss=None)
