"""One definition (issue 12, section 5): a loss and an activation given as SymPy expressions
alone go through every derivation and agree with the hand-written NumPy oracle.

The losses (log-cosh, Huber with delta = 1) are registered here with ``symnet.register_loss``
and the activations (ELU with alpha = 1 via Max, Min and exp, and swish x sigma(x)) with
``symnet.register_activation``, from their SymPy expressions only: no NumPy code is
written for them in the library. The truth is ``tests/oracle.py``, which knows nothing of
symnet: complex-step derivatives of its plain NumPy forward pass and losses (exact to
rounding) for first derivatives, and for Hessians Richardson-extrapolated central
differences of the complex-step gradient, (4 D(h/2) - D(h)) / 3 with h = 1e-3: truncation
O(h^4) ~ 1e-12 and rounding ~ eps |g| / h ~ 1e-13, relative.

Bounds (normwise, ||got - true|| / ||true||): first derivatives 1e-12, second 1e-9. The
data keep every ELU pre-activation and every Huber residual y - t at least 0.05 from its
kink, so that the differences never straddle one.
"""
import numpy as np
import pytest
import sympy as sp

import symnet
from symnet.graph import activations as activations
from symnet.compiled import matrix_form as engine
from symnet.graph import loss_rules as loss_rules

import oracle

u = sp.Symbol("u", real=True)
ELU, SWISH = "elu_one_definition", "swish_one_definition"
LOG_COSH, HUBER = "log_cosh_one_definition", "huber_one_definition"


def _log_cosh(y, t):
    return sum(sp.log(sp.cosh(yk - tk)) for yk, tk in zip(y, t))


def _huber(y, t):
    return sum(sp.Piecewise(((yk - tk) ** 2 / 2, sp.Abs(yk - tk) <= 1),
                            (sp.Abs(yk - tk) - sp.Rational(1, 2), True))
               for yk, tk in zip(y, t))


@pytest.fixture(scope="module", autouse=True)
def registered():
    """The two activations and two losses, from their SymPy expressions alone (then removed)."""
    activations_before, losses_before = dict(activations._CUSTOM), dict(loss_rules._RULES)
    # ELU (alpha = 1) with Max and Min: u for u > 0, e^u - 1 otherwise (e^u - 1 < 0 iff u < 0)
    symnet.register_activation(ELU, sp.Max(0, u) + sp.Min(0, sp.exp(u) - 1), u)
    symnet.register_activation(SWISH, u / (1 + sp.exp(-u)), u)          # x sigma(x)
    symnet.register_loss(LOG_COSH, _log_cosh)
    symnet.register_loss(HUBER, _huber)
    yield
    activations._CUSTOM.clear()
    activations._CUSTOM.update(activations_before)
    loss_rules._RULES.clear()
    loss_rules._RULES.update(losses_before)


ORACLE_NAME = {ELU: "elu", SWISH: "swish", "linear": "linear",
               LOG_COSH: "log_cosh", HUBER: "huber"}
SIZES = (2, 3, 2)
CASES = [(ELU, "linear", LOG_COSH), (SWISH, "linear", LOG_COSH),   # hidden, output, loss
         (ELU, SWISH, HUBER), (SWISH, "linear", HUBER)]
IDS = ["elu-log_cosh", "swish-log_cosh", "elu-swish-huber", "swish-huber"]
N = 5


def relative(got, true):
    return np.linalg.norm(np.asarray(got) - true) / np.linalg.norm(true)


class Problem:
    """A network, a point away from every kink, and the oracle's answers there."""

    def __init__(self, hidden, output, loss):
        self.net = symnet.MLP(SIZES, hidden=hidden, output=output)
        self.loss = loss
        self.args = (SIZES, ORACLE_NAME[hidden], ORACLE_NAME[output])
        self.kind = ORACLE_NAME[loss]
        for seed in range(100):  # the first seeded point with every kink 0.05 away
            rng = np.random.default_rng(seed)
            X = rng.normal(size=(N, SIZES[0]))
            w = rng.normal(scale=0.8, size=self.net.n_params)
            T = oracle.forward(*self.args, X, w) + rng.normal(scale=1.2, size=(N, SIZES[-1]))
            hidden_a = oracle.preactivations(*self.args, X, w)[0]
            residual = oracle.forward(*self.args, X, w) - T
            if np.min(np.abs(hidden_a)) > 0.05 and np.min(np.abs(np.abs(residual) - 1)) > 0.05:
                break
        self.X, self.w, self.T = X, w, T

    def E(self, w):
        return oracle.loss(*self.args, self.X, w, self.T, self.kind)

    def gradient(self, w=None):
        return oracle.grad(*self.args, self.X, self.w if w is None else w, self.T, self.kind)

    def hessian(self, h=1e-3):
        def columns(step):
            H = np.empty((self.w.size, self.w.size))
            for j in range(self.w.size):
                e = np.zeros_like(self.w)
                e[j] = step
                H[:, j] = (self.gradient(self.w + e) - self.gradient(self.w - e)) / (2 * step)
            return H
        return (4 * columns(h / 2) - columns(h)) / 3

    def gauss_newton(self):
        J = oracle.param_jacobian(*self.args, self.X, self.w)       # dy/dw: Lambda in y
        Y = oracle.forward(*self.args, self.X, self.w)
        Lam = oracle.per_output_curvature(self.kind, Y, self.T)     # d^2 E_n / dy_k^2
        return np.einsum("nkp,nk,nkq->pq", J, Lam, J)


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def problem(request):
    problem = Problem(*request.param)
    problem.H = problem.hessian()
    return problem


def test_no_numpy_code_was_written_for_them(problem):
    loss = symnet.get_loss(problem.loss, problem.net)
    assert loss.rule.per_sample in (_log_cosh, _huber) and not loss.rule.stable
    assert loss.jacobian_of == "y"            # no stable form in a: Lambda is d^2 E_n / dy^2


def test_input_jacobian_both_methods(problem):
    net, X, w = problem.net, problem.X, problem.w
    true = oracle.input_jacobian(*problem.args, X, w)
    for method in ("backprop", "direct"):
        J = symnet.input_jacobian(net, method=method)
        assert relative(J.evaluate(X, w), true) <= 1e-12, method
    assert relative(symnet.input_jacobian(net).evaluate_entries(X, w), true) <= 1e-12


def test_gradient_and_param_jacobian(problem):
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    grad = symnet.gradient(net, problem.loss)
    true = problem.gradient()
    assert relative(grad.evaluate(X, w, T), true) <= 1e-12
    assert relative(grad.evaluate_entries(X, w, T), true) <= 1e-12
    assert symnet.loss_value(net, problem.loss, X, w, T) == pytest.approx(problem.E(w),
                                                                          rel=1e-13)
    J = symnet.param_jacobian(net)
    assert relative(J.evaluate(X, w), oracle.param_jacobian(*problem.args, X, w)) <= 1e-12


def test_hessian_exact_gauss_newton_and_residual(problem):
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    H = symnet.hessian(net, problem.loss)
    assert relative(H.evaluate(X, w, T), problem.H) <= 1e-9
    assert relative(H.evaluate_entries(X, w, T), problem.H) <= 1e-9
    GN = problem.gauss_newton()
    gauss = symnet.hessian(net, problem.loss, approx="gauss_newton")
    assert relative(gauss.evaluate(X, w, T), GN) <= 1e-12
    assert relative(gauss.evaluate_entries(X, w, T), GN) <= 1e-12
    split = symnet.hessian_split(net, problem.loss)
    residual = split.residual.evaluate(X, w, T)
    assert np.linalg.norm(residual - (problem.H - GN)) <= 1e-9 * np.linalg.norm(problem.H)


def test_hessian_vector_product(problem):
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    v = np.random.default_rng(7).normal(size=net.n_params)
    hvp = symnet.hessian_vector_product(net, problem.loss)
    assert relative(hvp.evaluate(X, w, T, v), problem.H @ v) <= 1e-9
    assert relative(hvp.evaluate_named(X, w, T, v), problem.H @ v) <= 1e-9


def test_check_passes(problem):
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    assert symnet.check(symnet.gradient(net, problem.loss), X, w, T).passed
    assert symnet.check(symnet.hessian(net, problem.loss), X, w, T).passed
    analytic = all(a.analytic for a in net.activations) and \
        symnet.get_loss(problem.loss, net).analytic
    if analytic:  # complex step needs the loss and every activation analytic
        report = symnet.check(symnet.gradient(net, problem.loss), X, w, T, method="complex")
        assert report.passed and report.max_rel_error < 1e-12


def test_latex_and_document(problem):
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    text = symnet.gradient(net, problem.loss).latex()
    assert r"\delta_{1}^{(2)}" in text and (r"\tanh" in text or r"\begin{cases}" in text)
    assert r"\frac{\partial^2 E_n}" in symnet.hessian(net, problem.loss).latex()
    document = symnet.latex_document(net, problem.loss, point=(X[0], w, T[0]))
    E_line = [line for line in document.splitlines() if line.startswith("E &=")]
    # one sample: E = E_n(x_1), printed to 9 significant digits
    E_true = oracle.loss(*problem.args, X[:1], w, T[:1], problem.kind)
    assert E_line == [f"E &= {E_true:.9g}"]
    assert r"\begin{document}" in document and r"\end{document}" in document


def _delta_formulas(problem):
    """delta_1^(2) by hand (right, wrong), from the losses' and activations' definitions.

    log-cosh with a linear output: (log cosh)' = tanh, so delta = tanh(y - t); wrong: y - t.
    Huber (delta = 1), r = y - t: E_n = r^2/2 for |r| <= 1 and |r| - 1/2 otherwise, so
    dE_n/dy = r for |r| <= 1 and sign(r) otherwise; delta = dE_n/dy h'(a^(2)), with
    h' = 1 for a linear output and, for swish h(a) = a s(a), s = 1 / (1 + e^-a),
    h'(a) = s + a s (1 - s). Wrong: r h'(a), the quadratic piece everywhere.
    """
    net = problem.net
    y, t = net.layer_values(net.n_layers), net.targets
    a = net.layer_pre_activations(net.n_layers)[0]
    r = y[0] - t[0]
    if problem.kind == "log_cosh":
        assert net.activations[-1].name == "linear"
        return sp.tanh(r), r
    s = 1 / (1 + sp.exp(-a))
    h_prime = {"linear": sp.S.One, SWISH: s + a * s * (1 - s)}[net.activations[-1].name]
    return sp.Piecewise((r, sp.Abs(r) <= 1), (sp.sign(r), True)) * h_prime, r * h_prime


def test_verify_one_entry(problem):
    right, _ = _delta_formulas(problem)
    result = symnet.verify(right, "delta_1^(2)", net=problem.net, loss=problem.loss)
    assert result.equal and result.proven


def test_verify_refuses_a_wrong_entry(problem):
    _, wrong = _delta_formulas(problem)
    assert not symnet.verify(wrong, "delta_1^(2)", net=problem.net, loss=problem.loss).equal


def test_fit_a_few_steps(problem):
    net, X, T = problem.net, problem.X, problem.T
    for method in ("adam", "lm"):
        result = symnet.fit(net, X, T, loss=problem.loss, method=method, w0=problem.w,
                            max_iter=5)
        # E at the weights it returns is the oracle's E there, and lower than at the start
        assert result.loss == pytest.approx(problem.E(result.weights), rel=1e-12), method
        assert result.loss < problem.E(problem.w), method


def test_the_engine_takes_the_loss_pieces_from_the_rule(problem):
    # delta^(L) at the output: the oracle's dE_n/da^(L) by complex step through the output map
    net, X, w, T = problem.net, problem.X, problem.w, problem.T
    loss = symnet.get_loss(problem.loss, net)
    A, Z = engine.forward_pass(net, X, w)
    out = oracle.ACTS[problem.args[2]]
    a = A[-1]
    true = np.stack([np.imag(np.sum(oracle.PER_OUTPUT_LOSSES[problem.kind](
        out(a + 1j * 1e-30 * (np.arange(a.shape[1]) == k)) - T), axis=1)) / 1e-30
        for k in range(a.shape[1])], axis=1)
    assert relative(loss.delta(A[-1], Z[-1], T), true) <= 1e-12
