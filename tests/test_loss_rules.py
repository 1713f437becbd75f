"""The loss table (issue 12, section 1): a loss is one SymPy expression, the rest is derived.

For every row and output activation: the derived output delta equals its textbook form
symbolically (y - t for the canonical pairs, (y - t)(1 - y^2) kept factored for sse with
tanh), and delta, R{delta^(L)} (the slope d delta/da), the Gauss-Newton weight Lambda_n
and E itself agree numerically with central differences of a plain NumPy E_n written
here from the textbook. Then register_loss's refusals (section 6) and L2 weight decay.

Tolerances: first central differences with step 1e-5 have truncation h^2 E'''/6 ~ 1e-10
and rounding eps |E| / h ~ 1e-11, so 1e-8 relative to the largest entry; four-point
second differences with step 1e-4 have h^2 E''''/12 ~ 1e-9 and eps |E| / h^2 ~ 2e-8, so
1e-6.
"""
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.graph import loss_rules as loss_rules
from symnet.graph.losses import LossDomainError, get_loss

import oracle

@pytest.fixture(autouse=True)
def loss_table_as_it_was(monkeypatch):
    """Losses a test registers stay in that test: later tests see the table as it was."""
    monkeypatch.setattr(loss_rules, "_RULES", dict(loss_rules._RULES))


# -- plain NumPy: the textbook outputs and E_n(y, t), per sample (last axis = outputs) -----
OUTPUTS = {
    "linear": lambda a: a,
    "tanh": np.tanh,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "softmax": lambda a: np.exp(a - a.max(-1, keepdims=True))
    / np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True),
}


def textbook_E(loss, output):
    """E_n(y, t) as the textbook writes it (moderate a only: nothing here is stabilised)."""
    if loss == "sse":
        return lambda y, t: 0.5 * np.sum((y - t) ** 2, axis=-1)
    if loss == "cross_entropy" and output == "softmax":
        return lambda y, t: -np.sum(t * np.log(y), axis=-1)
    if loss == "cross_entropy":
        return lambda y, t: -np.sum(t * np.log(y) + (1 - t) * np.log(1 - y), axis=-1)
    if loss == "log_cosh":
        return lambda y, t: np.sum(np.log(np.cosh(y - t)), axis=-1)
    if loss == "huber":
        return lambda y, t: np.sum(np.where(np.abs(y - t) <= 1, (y - t) ** 2 / 2,
                                            np.abs(y - t) - 0.5), axis=-1)
    raise ValueError(loss)


PAIRS = [("sse", "linear"), ("sse", "tanh"), ("sse", "sigmoid"), ("sse", "softmax"),
         ("cross_entropy", "sigmoid"), ("cross_entropy", "softmax"),
         ("log_cosh", "linear"), ("log_cosh", "tanh"), ("log_cosh", "softmax"),
         ("huber", "linear"), ("huber", "tanh")]


def data(loss, output, seed=0, N=6, K=3):
    """A (N, K), T (N, K) with targets in the loss's domain and Huber kept off its switch."""
    rng = np.random.default_rng(seed)
    A = rng.normal(scale=1.5, size=(N, K))
    if output == "softmax":
        T = rng.dirichlet(np.ones(K), size=N)
    elif output == "sigmoid":
        T = rng.uniform(0.05, 0.95, size=(N, K))
    else:
        T = rng.normal(size=(N, K))
    if loss == "huber":  # keep |y - t| at least 0.1 away from the switching point 1
        Y = OUTPUTS[output](A)
        x = Y - T
        near = np.abs(np.abs(x) - 1) < 0.1
        T = np.where(near, Y - np.sign(x) * 0.5, T)
    return A, T


def central_first(f, A, h=1e-5):
    """df/da[n, k] for f: (N, K) -> (N,), by central differences."""
    out = np.empty_like(A)
    for k in range(A.shape[1]):
        e = np.zeros_like(A)
        e[:, k] = h
        out[:, k] = (f(A + e) - f(A - e)) / (2 * h)
    return out


def central_second(f, A, h=1e-4):
    """d^2 f / da_k da_j [n, k, j] by four-point second differences."""
    N, K = A.shape
    out = np.empty((N, K, K))
    for k in range(K):
        for j in range(K):
            ek, ej = np.zeros_like(A), np.zeros_like(A)
            ek[:, k], ej[:, j] = h, h
            out[:, k, j] = (f(A + ek + ej) - f(A + ek - ej) - f(A - ek + ej)
                            + f(A - ek - ej)) / (4 * h * h)
    return out


def assert_near(got, want, rtol, what):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    assert got.shape == want.shape, what
    scale = max(np.max(np.abs(want)), 1e-300)
    err = np.max(np.abs(got - want)) / scale
    assert err <= rtol, f"{what}: max error {err:.2e} of the largest entry (tol {rtol:.0e})"


def bound(loss, output, K=3):
    net = symnet.MLP([2, K], output=output)
    return net, get_loss(loss, net)


# -- symbolic: the derived delta is the textbook one ---------------------------------------
def test_canonical_pairs_give_y_minus_t():
    for loss, output in [("sse", "linear"), ("cross_entropy", "sigmoid")]:
        net, bound_loss = bound(loss, output, K=2)
        y, t = net.layer_values(1), net.targets
        assert bound_loss.output_deltas(net) == [y[0] - t[0], y[1] - t[1]], (loss, output)
        assert bound_loss.canonical


def test_softmax_cross_entropy_delta_keeps_the_sum_of_targets():
    net, loss = bound("cross_entropy", "softmax")
    y, t = net.layer_values(1), net.targets
    # -sum_m t_m/y_m * y_m (I_mk - y_k) = y_k sum_m t_m - t_k (Bishop 2024, sec. 5.4.4)
    assert loss.output_deltas(net) == [y[k] * (t[0] + t[1] + t[2]) - t[k] for k in range(3)]
    assert not loss.canonical


def test_sse_with_tanh_stays_factored():
    net, loss = bound("sse", "tanh", K=1)
    (y,), (t,) = net.layer_values(1), net.targets
    (delta,) = loss.output_deltas(net)
    assert delta == (y - t) * (1 - y ** 2) and delta.is_Mul  # not expanded


def test_sse_with_sigmoid_and_relu_are_the_residual_times_h_prime():
    net, loss = bound("sse", "sigmoid", K=1)
    (y,), (t,), (a,) = net.layer_values(1), net.targets, net.layer_pre_activations(1)
    assert loss.output_deltas(net) == [(y - t) * y * (1 - y)]
    net, loss = bound("sse", "relu", K=1)
    assert loss.output_deltas(net) == [(y - t) * sp.Heaviside(a, 0)]  # ReLU'(0) = 0 kept


def test_log_cosh_and_huber_deltas_are_their_textbook_derivatives():
    net, loss = bound("log_cosh", "linear", K=1)
    (y,), (t,) = net.layer_values(1), net.targets
    assert sp.simplify(loss.output_deltas(net)[0] - sp.tanh(y - t)) == 0   # (log cosh)' = tanh
    net, loss = bound("huber", "linear", K=1)
    (delta,) = loss.output_deltas(net)
    # x for |x| <= 1 (the convention: the quadratic piece at |x| = 1), sign(x) beyond
    half, quarter = sp.Rational(1, 2), sp.Rational(1, 4)
    for x, want in [(half, half), (-quarter, -quarter), (1, 1), (-1, -1), (3, 1), (-2, -1)]:
        assert delta.subs({y: x, t: 0}) == want, x
    (Lambda,) = loss.gauss_newton_named(net)
    for x, want in [(half, 1), (1, 1), (-1, 1), (sp.Rational(3, 2), 0), (-7, 0)]:
        assert Lambda.subs({y: x, t: 0}) == want, x


def test_gauss_newton_weights_are_derived_where_textbooks_state_them():
    net, loss = bound("sse", "tanh")
    assert loss.jacobian_of == "y" and loss.gauss_newton_named(net) == sp.eye(3)
    net, loss = bound("cross_entropy", "sigmoid")
    y = net.layer_values(1)
    assert loss.jacobian_of == "a"
    assert loss.gauss_newton_named(net) == sp.diag(*[yk * (1 - yk) for yk in y])
    net, loss = bound("cross_entropy", "softmax")
    y, t = net.layer_values(1), net.targets
    want = sp.Add(*t) * (sp.diag(*y) - sp.Matrix(y) * sp.Matrix(y).T)
    assert sp.expand(loss.gauss_newton_named(net) - want) == sp.zeros(3, 3)
    net, loss = bound("log_cosh", "tanh", K=1)
    (y,), (t,) = net.layer_values(1), net.targets
    assert loss.jacobian_of == "y"
    # (log cosh)'' = 1 / cosh^2
    assert sp.simplify((loss.gauss_newton_named(net)[0, 0] - 1 / sp.cosh(y - t) ** 2)
                       .rewrite(sp.exp)) == 0


def test_shipped_stable_forms_equal_the_textbook_expression():
    # The same check register_loss makes for a user's stable form (rational points, 30 digits).
    for output in ("sigmoid", "softmax"):
        loss_rules._check_stable(loss_rules.loss_rule("cross_entropy"), output)
    rule = loss_rules.loss_rule("cross_entropy")
    (a,), (t,) = loss_rules.output_symbols(1, layer=2)
    # -t log sigma(a) - (1 - t) log(1 - sigma(a)) = t softplus(-a) + (1 - t) softplus(a)
    stable = rule.stable_expression("sigmoid", [a], [t])
    naive = -(t * sp.log(1 / (1 + sp.exp(-a))) + (1 - t) * sp.log(1 - 1 / (1 + sp.exp(-a))))
    for point in [{a: sp.Rational(-3, 2), t: sp.Rational(1, 4)}, {a: 4, t: 1}]:
        assert abs(sp.N((stable.rewrite(sp.log) - naive).subs(point), 40)) < 1e-35


# -- numeric: kernels against central differences of plain NumPy E_n -----------------------
@pytest.mark.parametrize("loss_name,output", PAIRS, ids=[f"{l}-{o}" for l, o in PAIRS])
def test_kernels_match_central_differences(loss_name, output):
    net, loss = bound(loss_name, output)
    A, T = data(loss_name, output)
    E_y = textbook_E(loss_name, output)
    h = OUTPUTS[output]
    Y = h(A)

    def E_a(a):
        return E_y(h(a), T)
    assert loss.value(A, Y, T) == pytest.approx(np.sum(E_a(A)), rel=1e-13)
    delta = loss.delta(A, Y, T)
    assert_near(delta, central_first(E_a, A), 1e-8, "delta")
    slope = central_second(E_a, A)
    RA = np.broadcast_to(np.eye(3), (A.shape[0], 3, 3))   # R{a} along each unit vector
    # R{delta}[n, p, k] = sum_j (d delta_k/da_j) RA[n, p, j] = d^2 E_n / da_k da_p
    assert_near(np.swapaxes(loss.r_delta(A, Y, T, None, None, RA), 1, 2), slope, 1e-6,
                "R{delta}")
    if loss.jacobian_of == "a":
        assert_near(loss.gauss_newton_weights(Y, T, A), slope, 1e-6, "Lambda in a")
        assert_near(loss.residual(A, Y, T), delta, 1e-15, "residual = delta")
    else:
        def E_of_y(y):
            return E_y(y, T)
        assert_near(loss.gauss_newton_weights(Y, T, A), central_second(E_of_y, Y), 1e-6,
                    "Lambda in y")
        assert_near(loss.residual(A, Y, T), central_first(E_of_y, Y), 1e-8, "dE/dy")


def test_engine_slopes_are_used_as_given():
    # The engine passes h'(A), h''(A) it has computed; the result is the same as without them.
    net, loss = bound("log_cosh", "tanh")
    A, T = data("log_cosh", "tanh")
    Y = np.tanh(A)
    dh, d2h = 1 - Y ** 2, -2 * Y * (1 - Y ** 2)
    RA = np.ones((A.shape[0], 1, 3))
    assert_near(loss.delta(A, Y, T, dh), loss.delta(A, Y, T), 1e-15, "delta")
    assert_near(loss.r_delta(A, Y, T, dh, d2h, RA), loss.r_delta(A, Y, T, None, None, RA),
                1e-14, "R{delta}")


def test_log_cosh_is_stable_far_out():
    # log cosh(x) = |x| - log 2 + log(1 + e^-2|x|): for x = 800 that is 800 - log 2 + e^-1600;
    # cosh(800) overflows. The declared rewrite keeps it finite, without a warning.
    net, loss = bound("log_cosh", "linear", K=1)
    A, T = np.array([[800.0], [-1e3]]), np.array([[0.0], [0.0]])
    assert loss.value(A, A, T) == pytest.approx(1800 - 2 * np.log(2.0), rel=1e-15)
    np.testing.assert_array_equal(loss.delta(A, A, T), [[1.0], [-1.0]])     # tanh(+-800)


# -- register_loss: refusals (section 6) ---------------------------------------------------
def l1(y, t):
    return sum(sp.Abs(yk - tk) for yk, tk in zip(y, t))


@pytest.mark.parametrize("per_sample, message", [
    ("(y - t)**2", "text"),
    (lambda y, t: "(y_1 - t_1)**2", "text"),
    (lambda y, t: sp.Matrix(y) - sp.Matrix(t), "scalar"),
    (lambda y, t: [yk - tk for yk, tk in zip(y, t)], "SymPy expression|scalar"),
    (lambda y, t: (y[0] - t[0] - sp.Symbol("s")) ** 2, r"only the symbols.*\bs\b"),
    (lambda y, t: sp.Function("f")(y[0] - t[0]), "undefined function"),
    (lambda y, t: t[0] ** 2, "does not depend on the outputs"),
    (lambda y, t: y[0] > t[0], "scalar|SymPy expression"),
    (lambda y, t: 1 / 0, "ZeroDivisionError"),
    (42, "function of the symbol lists"),
])
def test_register_loss_refuses_bad_expressions(per_sample, message):
    with pytest.raises(symnet.SymnetError, match=message):
        symnet.register_loss("bad_loss_example", per_sample)
    assert "bad_loss_example" not in loss_rules.known_losses()


def test_register_loss_refuses_taken_names_unless_replaced():
    symnet.register_loss("l1_example", l1)
    with pytest.raises(symnet.SymnetError, match="registered already.*replace=True"):
        symnet.register_loss("l1_example", l1)
    net = symnet.MLP([1, 1])
    before = get_loss("l1_example", net)
    symnet.register_loss("l1_example", lambda y, t: 2 * l1(y, t), replace=True)
    after = get_loss("l1_example", net)
    A, T = np.array([[3.0]]), np.array([[1.0]])
    assert before.value(A, A, T) == 2.0 and after.value(A, A, T) == 4.0  # |3 - 1|, twice that
    for shipped in ("sse", "cross_entropy", "log_cosh", "huber", "mse", "CE"):
        with pytest.raises(symnet.SymnetError, match="ships"):
            symnet.register_loss(shipped, l1, replace=True)
    for name in ("2fast", "with space", "_private", None):
        with pytest.raises(symnet.SymnetError, match="identifier"):
            symnet.register_loss(name, l1)


def test_register_loss_checks_stable_forms():
    with pytest.raises(symnet.SymnetError, match="output activation's name"):
        symnet.register_loss("stable_example", l1, stable={"sigmod": lambda a, t: a[0]})
    with pytest.raises(symnet.SymnetError, match="not E_n"):      # softplus(a) is not |y - t|
        symnet.register_loss("stable_example", l1,
                             stable={"sigmoid": lambda a, t: symnet.graph.functions.softplus(a[0])})
    with pytest.raises(symnet.SymnetError, match="symbols a and t"):
        symnet.register_loss("stable_example", l1, stable={"linear": lambda a, t: sp.Symbol("y")})
    with pytest.raises(symnet.SymnetError, match="dict"):
        symnet.register_loss("stable_example", l1, stable=[lambda a, t: a[0]])


def test_a_stable_form_puts_gauss_newton_in_a():
    # BCE registered in y only, then again with its stable form: the second takes Lambda in a.
    def bce(y, t):
        return -sum(tk * sp.log(yk) + (1 - tk) * sp.log(1 - yk) for yk, tk in zip(y, t))

    def bce_in_a(a, t):
        return sum(tk * symnet.graph.functions.softplus(-ak) + (1 - tk) * symnet.graph.functions.softplus(ak)
                   for ak, tk in zip(a, t))
    symnet.register_loss("bce_y_example", bce)
    symnet.register_loss("bce_a_example", bce, stable={"sigmoid": bce_in_a})
    net = symnet.MLP([2, 2], output="sigmoid")
    in_y, in_a = get_loss("bce_y_example", net), get_loss("bce_a_example", net)
    assert (in_y.jacobian_of, in_a.jacobian_of) == ("y", "a")
    y, t = net.layer_values(1), net.targets
    assert in_a.output_deltas(net) == in_y.output_deltas(net) == [y[0] - t[0], y[1] - t[1]]
    # Lambda in y is t/y^2 + (1 - t)/(1 - y)^2; in a it is y (1 - y)
    assert sp.simplify(in_y.gauss_newton_named(net)[0, 0]
                       - (t[0] / y[0] ** 2 + (1 - t[0]) / (1 - y[0]) ** 2)) == 0
    assert in_a.gauss_newton_named(net)[0, 0] == y[0] * (1 - y[0])


def test_not_differentiable_where_evaluated_is_a_clear_error():
    # sqrt|y - t|: its derivative sign(x) / (2 sqrt|x|) is 0/0 at y = t.
    symnet.register_loss("sqrt_abs_example",
                         lambda y, t: sum(sp.sqrt(sp.Abs(yk - tk)) for yk, tk in zip(y, t)))
    net = symnet.MLP([1, 1])                               # y = w x + b
    grad = symnet.gradient(net, "sqrt_abs_example")
    X, w = np.array([[1.0]]), np.array([2.0, 0.5])         # y = 2.5
    assert np.all(np.isfinite(grad.evaluate(X, w, [[1.0]])))
    with pytest.raises(LossDomainError, match="sqrt_abs_example.*not finite.*differentiable"):
        grad.evaluate(X, w, [[2.5]])
    # a log of a negative output: E_n is not defined there
    symnet.register_loss("log_example", lambda y, t: -sum(tk * sp.log(yk) for yk, tk in zip(y, t)))
    with pytest.raises(symnet.SymnetError, match="log_example.*not finite"):
        symnet.loss_value(net, "log_example", X, [-1.0, 0.0], [[1.0]])


def test_dirac_delta_of_a_kink_is_dropped():
    # |y - t| has E'' = 2 DiracDelta(y - t): dropped, as for ReLU, so the Hessian of
    # E = |w x + b - t| is 0 away from the kink (and finite at it).
    net = symnet.MLP([1, 1])
    symnet.register_loss("l1_kink_example", l1)
    H = symnet.hessian(net, "l1_kink_example")
    np.testing.assert_array_equal(H.evaluate([[1.0]], [2.0, 0.5], [[1.0]]), np.zeros((2, 2)))
    np.testing.assert_array_equal(H.evaluate([[1.0]], [2.0, 0.5], [[2.5]]), np.zeros((2, 2)))
    assert not get_loss("l1_kink_example", net).analytic


def test_complex_step_is_refused_for_a_kinked_loss():
    net = symnet.MLP([2, 1])
    X, w, T = np.array([[0.5, -1.0]]), np.array([0.3, 0.2, 0.1]), np.array([[2.0]])
    with pytest.raises(symnet.SymnetError, match="kink"):
        symnet.check(symnet.gradient(net, "huber"), X, w, T, method="complex")
    report = symnet.check(symnet.gradient(net, "log_cosh"), X, w, T, method="complex")
    assert report.passed


def test_unknown_loss_names_register_loss():
    with pytest.raises(symnet.SymnetError, match="register_loss"):
        symnet.gradient(symnet.MLP([1, 1]), "mae")


@pytest.mark.parametrize("bad", [-0.1, "0.1", float("nan"), float("inf"), True, [0.1], 1j])
def test_weight_decay_must_be_a_finite_nonnegative_number(bad):
    with pytest.raises(symnet.SymnetError, match="weight_decay"):
        get_loss("sse", symnet.MLP([1, 1]), weight_decay=bad)


# -- L2 weight decay: E = sum_n E_n + lam/2 ||w||^2 -------------------------------------------
# The truth is tests/oracle.py's plain NumPy E plus lam/2 w.w, differentiated by complex step
# (first derivatives, exact to rounding) and by Richardson-extrapolated central differences
# of the complex-step gradient (second: truncation O(h^4) ~ 1e-12 with h = 1e-3).
LAM = 0.3
DECAY_CASES = [((2, 3, 2), "tanh", "linear", "sse"), ((2, 3, 1), "tanh", "sigmoid",
                                                        "cross_entropy"),
               ((2, 3, 2), "tanh", "linear", "log_cosh")]


class Regularised:
    def __init__(self, sizes, hidden, output, kind, seed=3):
        rng = np.random.default_rng(seed)
        self.net = symnet.MLP(sizes, hidden=hidden, output=output)
        self.args, self.kind = (sizes, hidden, output), kind
        self.X = rng.normal(size=(4, sizes[0]))
        self.w = rng.normal(scale=0.7, size=self.net.n_params)
        self.T = (rng.uniform(0.1, 0.9, size=(4, sizes[-1])) if output == "sigmoid"
                  else rng.normal(size=(4, sizes[-1])))

    def E(self, w):
        return oracle.loss(*self.args, self.X, w, self.T, self.kind) + LAM / 2 * np.sum(w * w)

    def gradient(self, w=None):
        return oracle._cs_columns(self.E, self.w if w is None else w)

    def hessian(self, h=1e-3):
        def columns(step):
            return np.stack([(self.gradient(self.w + step * e) - self.gradient(self.w - step * e))
                             / (2 * step) for e in np.eye(self.w.size)], axis=1)
        return (4 * columns(h / 2) - columns(h)) / 3

    def gauss_newton(self):  # the oracle's GN of sum_n E_n; lam/2 ||w||^2 is quadratic: + lam I
        if self.kind == "log_cosh":
            J = oracle.param_jacobian(*self.args, self.X, self.w)
            Y = oracle.forward(*self.args, self.X, self.w)
            Lam = oracle.per_output_curvature(self.kind, Y, self.T)
            G = np.einsum("nkp,nk,nkq->pq", J, Lam, J)
        else:
            G = oracle.gauss_newton(*self.args, self.X, self.w, self.T, self.kind)
        return G + LAM * np.eye(self.w.size)


def rel(got, true):
    return np.linalg.norm(np.asarray(got) - true) / np.linalg.norm(true)


@pytest.fixture(scope="module", params=DECAY_CASES, ids=[c[3] for c in DECAY_CASES])
def regularised(request):
    problem = Regularised(*request.param)
    problem.H = problem.hessian()
    return problem


def test_weight_decay_value_and_gradient(regularised):
    p = regularised
    assert symnet.loss_value(p.net, p.kind, p.X, p.w, p.T, weight_decay=LAM) == \
        pytest.approx(p.E(p.w), rel=1e-13)
    grad = symnet.gradient(p.net, p.kind, weight_decay=LAM)
    assert rel(grad.evaluate(p.X, p.w, p.T), p.gradient()) <= 1e-12
    assert rel(grad.evaluate_entries(p.X, p.w, p.T), p.gradient()) <= 1e-12
    plain = symnet.gradient(p.net, p.kind).evaluate(p.X, p.w, p.T)
    np.testing.assert_allclose(grad.evaluate(p.X, p.w, p.T) - plain, LAM * p.w, rtol=1e-12,
                               atol=1e-15)       # + lam w, nothing else
    assert symnet.check(grad, p.X, p.w, p.T).passed   # differentiates the regularised E


def test_weight_decay_hessians_and_products(regularised):
    p = regularised
    W = p.net.n_params
    H = symnet.hessian(p.net, p.kind, weight_decay=LAM)
    assert rel(H.evaluate(p.X, p.w, p.T), p.H) <= 1e-9
    assert rel(H.evaluate_entries(p.X, p.w, p.T), p.H) <= 1e-9
    GN = symnet.hessian(p.net, p.kind, approx="gauss_newton", weight_decay=LAM)
    assert rel(GN.evaluate(p.X, p.w, p.T), p.gauss_newton()) <= 1e-12
    assert rel(GN.evaluate_entries(p.X, p.w, p.T), p.gauss_newton()) <= 1e-12
    v = np.linspace(-1, 1, W)
    hvp = symnet.hessian_vector_product(p.net, p.kind, weight_decay=LAM)
    assert rel(hvp.evaluate(p.X, p.w, p.T, v), p.H @ v) <= 1e-9
    assert rel(hvp.evaluate_named(p.X, p.w, p.T, v), p.H @ v) <= 1e-9
    split = symnet.hessian_split(p.net, p.kind, weight_decay=LAM)
    residual = symnet.hessian_split(p.net, p.kind).residual.evaluate(p.X, p.w, p.T)
    np.testing.assert_allclose(split.residual.evaluate(p.X, p.w, p.T), residual, rtol=1e-13,
                               atol=1e-15)                             # no decay in R
    assert np.linalg.norm(split.exact.evaluate(p.X, p.w, p.T) - split.gauss_newton.evaluate(
        p.X, p.w, p.T) - residual) <= 1e-12 * np.linalg.norm(p.H)    # H = GN + R, lam I in both
    report = symnet.curvature_report(p.net, p.kind, p.X, p.w, p.T, threshold=1e300,
                                     weight_decay=LAM)           # 1e300: no GN verdict here
    assert rel(report.hessian, p.H) <= 1e-9
    assert rel(report.gauss_newton, p.gauss_newton()) <= 1e-12
    assert symnet.check(H, p.X, p.w, p.T).passed


def test_weight_decay_is_shown_in_the_latex():
    net = symnet.MLP([1, 2, 1])
    assert r"+ \lambda w_p" in symnet.gradient(net, "sse", weight_decay=0.01).latex()
    assert r"+ \lambda I" in symnet.hessian(net, "sse", weight_decay=0.01).latex()
    assert r"+ \lambda I" in symnet.hessian(net, "sse", approx="gauss_newton",
                                            weight_decay=0.01).latex()
    assert r"+ \lambda \mathbf{v}" in symnet.hessian_vector_product(
        net, "sse", weight_decay=0.01).latex()
    assert "lambda" not in symnet.gradient(net, "sse").latex()
    # x = 1, w = (0.5, 0, 2, 0): E = 0.427104534 (the latex_document example) + 0.01/2 (0.25 + 4)
    text = symnet.latex_document(net, "sse", point=([1.0], [0.5, 0.2, 0.0, 0.0, 2.0, 1.0, 0.0],
                                                    [0.0]), weight_decay=0.01)
    assert r"\lambda = 0.01" in text and r"+ \lambda w_p" in text and r"+ \lambda I" in text
    w = np.array([0.5, 0.2, 0.0, 0.0, 2.0, 1.0, 0.0])
    E = oracle.loss((1, 2, 1), "tanh", "linear", [[1.0]], w, [[0.0]], "sse") + 0.005 * w @ w
    assert [line for line in text.splitlines() if re.match(r"E &= [-\d]", line)] == \
        [f"E &= {E:.9g}"]


def test_fit_with_weight_decay_is_ridge_regression():
    # y = w x + b with E = 1/2 sum_n (w x_n + b - t_n)^2 + lam/2 (w^2 + b^2): the minimiser
    # solves (A^T A + lam I) theta = A^T t with A = [x, 1] (ridge regression, by hand).
    net = symnet.MLP([1, 1])
    X, T = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[1.2], [2.9], [5.1], [7.0]])
    A = np.hstack([X, np.ones_like(X)])
    ridge = np.linalg.solve(A.T @ A + LAM * np.eye(2), A.T @ T[:, 0])
    for method in ("lm", "newton"):
        # runs until E stops changing in float64 (MINPACK's ftol at eps): ||g|| ~ 1e-8 there,
        # so the weights are within ~1e-8 of the minimiser (the curvature is ~1)
        result = symnet.fit(net, X, T, method=method, weight_decay=LAM, grad_tol=1e-12,
                            ftol=1e-15, xtol=1e-15)
        np.testing.assert_allclose(result.weights, ridge, rtol=1e-7)
    plain = symnet.fit(net, X, T, method="lm").weights
    assert np.linalg.norm(plain - ridge) > 1e-3                # the decay changed the answer


def test_a_loss_keeps_its_weight_decay():
    net = symnet.MLP([1, 1])
    decayed = get_loss("sse", net, weight_decay=0.2)
    assert get_loss(decayed, net).weight_decay == 0.2
    assert get_loss(decayed, net, weight_decay=0).weight_decay == 0.0
    assert symnet.gradient(net, decayed).loss.weight_decay == 0.2


@pytest.mark.skipif(shutil.which("pdflatex") is None and not os.environ.get("CI"),
                    reason="pdflatex is not installed (CI installs it and runs this test)")
@pytest.mark.parametrize("output, loss, decay", [("linear", "log_cosh", 0.01),
                                                 ("tanh", "huber", 0.0),
                                                 ("sigmoid", "cross_entropy", 1e-3)])
def test_documents_of_other_losses_and_weight_decay_compile(tmp_path, output, loss, decay):
    net = symnet.MLP([2, 3, 2], hidden="tanh", output=output)
    symnet.latex_document(net, loss, path=tmp_path / "derivation.tex", weight_decay=decay)
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "derivation.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Overfull \\hbox" not in result.stdout
