"""The compiled forms of a loss: its derivatives in a^(L), lambdified once per output layer.

For a row of the loss table (``symnet.graph.loss_rules``), an output activation h and K outputs,
``_Forms`` derives in the output pre-activations a_k = a_k^(L) (with y = h(a) as functions
of a) the expressions the matrix form needs: E_n, delta_k = dE_n/da_k, d delta/da (for
R{delta^(L)}), dE_n/d out and Lambda_n. Where the row has a stable form in a (the
canonical pairs) they are its derivatives; otherwise the chain rule through h's own
derivative rule: delta_k = E'_k h'(a_k) and d delta/da = h' E'' h' + diag(E' h'') for
elementwise outputs, the softmax function's derivative for softmax. Where the chain rule
cancels to a form without denominators (y_k - t_k for a cross-entropy given in y alone),
that form is the one computed, as it is the one shown (``chain_rule_deltas``).

``_Kernel`` prints them through the stable rewrites of ``symnet.graph.rewriting`` (sigma(a) - t
as ``sigmoid_residual``, 1 - y_k as sum_{m != k} y_m, log cosh(x) as |x| + softplus(-2|x|)
- log 2, ...), replaces h(a_k) by the computed output y_k and log_softmax(k, a) by one
(N, K) array, and lambdifies. A loss that is a sum of one term per output on an
elementwise output (``separable``) is compiled for one output and applied to the (N, K)
arrays whole; the others get one column per output. The K x K forms (d delta/da and
Lambda_n) are one stacked kernel each (``_MatrixKernel``): every entry (those on and above
the diagonal, when the derived matrix is symmetric) in one lambdified function, stacked
once to (N, K, K), and R{delta^(L)} = (d delta/da) R{a^(L)} is that matrix applied to all P
directions in one batched product. ``kernels(rule, act, K)`` builds each (rule,
activation, K) once per process.

The output Jacobian dy/da^(L) itself, in the named outputs, is ``output_derivative``: the
one definition (for softmax from the SymPy function's own derivative rule) that the
entry-level derivations of ``symnet.derive`` take as well.

Examples
--------
>>> import numpy as np
>>> from symnet.graph.activations import activation
>>> from symnet.graph.loss_rules import loss_rule
>>> forms = kernels(loss_rule("cross_entropy"), activation("sigmoid"), 3).forms
>>> forms.width, forms.delta                   # one column serves all three outputs
(1, [-t_1*sigmoid(-a_1^(L)) + (1 - t_1)*sigmoid(a_1^(L))])
>>> A = np.array([[40.0, -40.0, 0.0]])
>>> bce = kernels(loss_rule("cross_entropy"), activation("sigmoid"), 3)
>>> bce.delta(A, 1 / (1 + np.exp(-A)), np.ones((1, 3)))
[array([[-4.24835426e-18, -1.00000000e+00, -5.00000000e-01]])]
"""

from functools import cached_property, lru_cache

import numpy as np
import sympy as sp

from .functions import log_softmax, sigmoid, softmax, softmax_jacobian_in, softplus
from .loss_rules import output_symbols
from .numerics import NUMPY_NAMESPACE, neg_log_softmax, stable_sigmoid, stable_softplus
from .rewriting import MODULES, stable_form, tidy

__all__ = ["kernels", "activation_key", "drop_dirac", "derivative_in_value",
           "output_derivative", "chain_rule_deltas"]


def drop_dirac(expression):
    """``expression`` without DiracDelta terms (zero away from a kink; never numeric code)."""
    return expression.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def activation_key(act):
    """What identifies an activation row (relu's convention, leaky_relu's slope included)."""
    return (act.name, act.function, tuple(sorted(act.parameters.items())))


@lru_cache(maxsize=None)
def _separable(rule, output):
    """True when E_n = sum_k e(y_k, t_k), e being E_n for one output (and so its stable form).

    Probed exactly at K = 3: such a loss is compiled for one output and applied to all.
    """
    for build, (u, t) in ((rule.expression, output_symbols(3)),
                          (rule.stable_expression, output_symbols(3, layer="L"))):
        E = build(output, u, t)
        if E is None:
            continue
        one = build(output, u[:1], t[:1])
        if sp.expand(E - sp.Add(*[one.xreplace({u[0]: uk, t[0]: tk})
                                  for uk, tk in zip(u, t)])) != 0:
            return False
    return True


def derivative_in_value(act, a, z):
    """h'(a) written in the unit's named value z = h(a) where the activation allows it.

    The form a student writes: sigma'(a) = z (1 - z), tanh'(a) = 1 - z^2; ReLU's step
    stays in a.

    >>> import sympy as sp
    >>> from symnet.graph.activations import activation
    >>> a, z = sp.symbols("a z", real=True)
    >>> derivative_in_value(activation("tanh"), a, z)
    1 - z**2
    """
    return act.derivative_at(a).xreplace({act.function(a): z})


def output_derivative(act, y, a):
    """dy_k/da_m (K x K, row k, column m) in the named outputs y: the one output Jacobian.

    Elementwise outputs: diagonal h'(a_k) written in y_k (``derivative_in_value``).
    Softmax: ``softmax_jacobian_in``, which differentiates the SymPy softmax function by its
    own derivative rule (``softmax.fdiff``), giving y_k (delta_km - y_m). The entry-level
    derivations (``symnet.derive.first_order.output_block``) and the loss rows here both
    take it from this function.

    >>> import sympy as sp
    >>> from symnet.graph.activations import activation
    >>> y, a = sp.symbols("y_1 y_2", real=True), sp.symbols("a_1 a_2", real=True)
    >>> output_derivative(activation("softmax"), y, a)
    Matrix([
    [y_1*(1 - y_1),     -y_1*y_2],
    [     -y_1*y_2, y_2*(1 - y_2)]])
    >>> output_derivative(activation("sigmoid"), y, a)
    Matrix([
    [y_1*(1 - y_1),             0],
    [            0, y_2*(1 - y_2)]])
    """
    if not act.elementwise:
        return softmax_jacobian_in(y, a)
    return sp.diag(*[derivative_in_value(act, ak, yk) for yk, ak in zip(y, a)])


def chain_rule_deltas(g, act, y, a):
    """delta_k = sum_m dE_n/dy_m dy_m/da_k in y, cancelled when that leaves no denominator.

    dE_n/dy with denominators that dy/da cancels (1/y, 1/(1 - y) of the log losses) gives
    y_k - t_k (or y_k sum_m t_m - t_k for softmax); a denominator that stays (a Cauchy
    loss) keeps the chain rule's product. Returns (deltas, cancelled?).
    """
    K = len(y)
    B = output_derivative(act, y, a)  # B[m, k] = dy_m/da_k
    deltas = [sp.Add(*[g[m] * B[m, k] for m in range(K)]) for k in range(K)]
    if any(sp.denom(sp.together(gm)) != 1 for gm in g):
        cancelled = [sp.cancel(d) for d in deltas]
        if all(sp.denom(c) == 1 for c in cancelled):
            return [sp.collect(c, y) for c in cancelled], True
    return deltas, False


def _cancelled(g, act, y, a):
    """The cancelled deltas in y (see ``chain_rule_deltas``), or None when nothing cancels."""
    deltas, cancelled = chain_rule_deltas(g, act, y, a)
    return deltas if cancelled else None


def _given(derivative, symbol):
    """h'(a) or h''(a) as the input ``symbol`` (computed by the engine), a number as itself."""
    return derivative if derivative.is_number else symbol


# -- the derivation, in a^(L) ----------------------------------------------------------------
class _Forms:
    """E_n, delta, d delta/da, dE/dout and Lambda for (rule, output activation, width).

    In the symbols a_k = a_k^(L), t_k (and y = h(a) as functions of a); ``width`` is 1 for a
    separable loss on an elementwise output (one column serves every output), else K.
    """

    def __init__(self, rule, act, K):
        self.act = act
        self.width = w = 1 if act.elementwise and _separable(rule, act.name) else K
        self.a, self.t = output_symbols(w, layer="L")
        self.y, _ = output_symbols(w)
        self.l = tuple(sp.Symbol(f"l_{k}", real=True) for k in range(1, w + 1))
        # h'(a_k), h''(a_k): the engine has them already (dh, d2h), so they are inputs
        self.d = tuple(sp.Symbol(f"d_{k}", real=True) for k in range(1, w + 1))
        self.e = tuple(sp.Symbol(f"e_{k}", real=True) for k in range(1, w + 1))
        stable = rule.stable_expression(act.name, self.a, self.t)
        if stable is not None:  # E_n in a itself: delta and Lambda are its derivatives
            self.E = stable
            self.delta = [sp.diff(stable, ak) for ak in self.a]
            self.slope = sp.Matrix(w, w, lambda k, j: drop_dirac(
                sp.diff(self.delta[k], self.a[j])))
            self.residual, self.weights = list(self.delta), self.slope
            return
        outputs = self.outputs_of_a()
        E_y = rule.expression(act.name, self.y, self.t)
        g = [tidy(sp.diff(E_y, ym)) for ym in self.y]
        H = sp.Matrix(w, w, lambda m, n: tidy(drop_dirac(sp.diff(g[m], self.y[n]))))
        at = dict(zip(self.y, outputs))
        self.E = E_y.xreplace(at)
        g_a, H_a = [gm.xreplace(at) for gm in g], H.xreplace(at)
        cancelled = _cancelled(g, act, self.y, self.a)
        if cancelled is not None:  # y_k - t_k for BCE in y: computed as shown, from y = h(a)
            self.delta = [d.xreplace(at) for d in cancelled]
            self.slope = sp.Matrix(w, w, lambda k, j: drop_dirac(
                sp.diff(self.delta[k], self.a[j])))
        elif act.elementwise:  # delta_k = E'_k h'(a_k); d delta/da = h' H h' + diag(E' h'')
            d1 = [_given(act.derivative_at(ak), dk) for ak, dk in zip(self.a, self.d)]
            d2 = [_given(act.second_derivative_at(ak), ek) for ak, ek in zip(self.a, self.e)]
            self.delta = [g_a[k] * d1[k] for k in range(w)]
            self.slope = sp.Matrix(w, w, lambda k, j: H_a[k, j] * d1[k] * d1[j]
                                   + (g_a[k] * d2[k] if k == j else 0))
        else:  # delta_k = sum_m E'_m dy_m/da_k, by the softmax function's own rule
            self.delta = [sp.Add(*[g_a[m] * sp.diff(outputs[m], ak) for m in range(w)])
                          for ak in self.a]
            self.slope = sp.Matrix(w, w, lambda k, j: drop_dirac(
                sp.diff(self.delta[k], self.a[j])))
        self.residual, self.weights = g_a, H_a

    def outputs_of_a(self):
        """y_k as functions of a: h(a_k), or softmax(k, a_1, ..., a_K)."""
        if self.act.elementwise:
            return [self.act.function(ak) for ak in self.a]
        return [softmax(k, *self.a) for k in range(1, self.width + 1)]

    def in_columns(self, expression):
        """The stable form, with h(a_k) -> y_k and log_softmax(k, a) -> l_k (computed once)."""
        forms = dict(zip(self.outputs_of_a(), self.y))
        if not self.act.elementwise:
            forms.update({log_softmax(k, *self.a): lk for k, lk in enumerate(self.l, start=1)})
        forms = {f: s for f, s in forms.items() if not f.is_Symbol}  # linear: y is a itself
        # factor_terms after the rewrites: t_1 J + t_2 J + ... becomes J (t_1 + t_2 + ...),
        # fewer operations on the (N,) columns; it only groups products, nothing cancels.
        return sp.factor_terms(stable_form(expression, self.t)).xreplace(forms)


def _analytic_abs(x):
    """|x| continued analytically for complex x (complex step): x or -x by the real part's sign."""
    return np.where(np.real(x) >= 0, x, -x)


# For complex-step differentiation of E: sigma, softplus and |x| are printed as their
# complex-analytic continuations (their usual printing calls logaddexp and abs, real only).
_COMPLEX_FORMS = {sigmoid: sp.Function("stable_sigmoid"), softplus: sp.Function("stable_softplus"),
                  sp.Abs: sp.Function("analytic_abs")}
_COMPLEX_MODULES = [{**NUMPY_NAMESPACE, "stable_sigmoid": stable_sigmoid,
                     "stable_softplus": stable_softplus, "analytic_abs": _analytic_abs}, "numpy"]


class _Kernel:
    """One compiled list of expressions: ``kernel(A, Y, T, dh, d2h)`` -> list of arrays.

    ``constants`` are the expressions' values when every one is a number (Lambda = I for
    sse), else None.
    """

    def __init__(self, forms, expressions, complex_safe=False):
        columns = [forms.in_columns(e) for e in expressions]
        modules = MODULES
        if complex_safe:
            columns = [c.replace(lambda e: type(e) in _COMPLEX_FORMS,
                                 lambda e: _COMPLEX_FORMS[type(e)](*e.args)) for c in columns]
            modules = _COMPLEX_MODULES
        self.act, self.width = forms.act, forms.width
        self.uses = {name: any(c.has(*getattr(forms, name)) for c in columns)
                     for name in ("l", "d", "e")}
        self.constants = ([float(c) for c in columns] if all(c.is_number for c in columns)
                          else None)
        # Kept so that other array libraries print the same columns (symnet.compiled.backends).
        self.arguments = forms.a + forms.y + forms.t + forms.l + forms.d + forms.e
        self.columns = columns
        self.function = sp.lambdify(self.arguments, columns, modules=modules, cse=True)

    def __call__(self, A, Y, T, dh=None, d2h=None):
        uses = self.uses
        L = -neg_log_softmax(A) if uses["l"] else A  # unused inputs are given A, not computed
        D = (self.act.derivative_numpy_az(A, Y) if dh is None else dh) if uses["d"] else A
        E = (self.act.second_derivative_numpy_az(A, Y) if d2h is None else d2h) \
            if uses["e"] else A
        split = (lambda X: [X]) if self.width == 1 else (lambda X: list(np.moveaxis(X, -1, 0)))
        shape = A.shape if self.width == 1 else A.shape[:-1]
        results = self.function(*split(A), *split(Y), *split(T), *split(L), *split(D),
                                *split(E))
        return [r if np.shape(r) == shape else np.broadcast_to(r, shape) for r in results]


class _MatrixKernel(_Kernel):
    """A K x K matrix of expressions M (Lambda_n, d delta/da) as one stacked kernel.

    ``kernel(A, Y, T, dh, d2h)`` is M at every sample, (N, K, K); with directions R
    (N, P, K), ``kernel(A, Y, T, dh, d2h, R)`` is M applied to each, sum_j M_kj R_pj,
    (N, P, K): R{delta^(L)} from R{a^(L)} when M = d delta/da. The entries are derived
    and lambdified together (``cse``: for softmax cross-entropy the sums over the other
    outputs are formed once), then stacked once; where the derived entries are
    symmetric (a Hessian of E_n is) only those on and above the diagonal are computed. A
    width-K M is applied by one batched matrix product, computed once whatever the
    number of directions. Width 1 (a separable loss on elementwise outputs): the one
    expression is the diagonal; a matrix of numbers (I for sse) is broadcast, not
    computed or copied N times.
    """

    def __init__(self, forms, matrix):
        matrix = sp.Matrix(matrix)
        K = matrix.rows
        # Entry (k, j) of the full matrix is entry ``self.place[k, j]`` of the list computed.
        if matrix == matrix.T:  # structurally: nothing is simplified to decide it
            upper = [(k, j) for k in range(K) for j in range(k, K)]
            self.place = np.empty((K, K), dtype=int)
            for i, (k, j) in enumerate(upper):
                self.place[k, j] = self.place[j, k] = i
            entries = [matrix[k, j] for k, j in upper]
        else:
            self.place, entries = np.arange(K * K).reshape(K, K), list(matrix)
        super().__init__(forms, entries)

    def __call__(self, A, Y, T, dh=None, d2h=None, R=None):
        shape, K = A.shape, A.shape[-1]
        if self.constants is not None:
            block = (self.constants[0] * np.eye(K) if self.width == 1
                     else np.asarray(self.constants)[self.place])
            return np.broadcast_to(block, shape + (K,)) if R is None else R @ block.T
        results = super().__call__(A, Y, T, dh, d2h)
        if self.width == 1:  # diagonal
            if R is not None:
                return results[0][..., None, :] * R
            full = np.zeros(shape + (K,))
            full[..., np.arange(K), np.arange(K)] = results[0]
            return full
        matrix = np.stack(results, axis=-1)[..., self.place]      # (N, K, K)
        return matrix if R is None else R @ np.swapaxes(matrix, -1, -2)


class _Kernels:
    """The compiled forms of one (rule, output activation, K), each built on first use."""

    def __init__(self, rule, act, K):
        self.forms = _Forms(rule, act, K)

    @cached_property
    def value(self):
        return _Kernel(self.forms, [self.forms.E])

    @cached_property
    def value_complex(self):
        return _Kernel(self.forms, [self.forms.E], complex_safe=True)

    @cached_property
    def delta(self):
        return _Kernel(self.forms, self.forms.delta)

    @cached_property
    def residual(self):
        return _Kernel(self.forms, self.forms.residual)

    @cached_property
    def slope(self):
        return _MatrixKernel(self.forms, self.forms.slope)

    @cached_property
    def weights(self):
        if self.forms.weights is self.forms.slope:  # Lambda = d delta/da: compiled once
            return self.slope
        return _MatrixKernel(self.forms, self.forms.weights)


_COMPILED = {}


def kernels(rule, act, K):
    """The kernels of (rule, act, K), derived and compiled once per process."""
    key = (rule, activation_key(act), K)
    if key not in _COMPILED:
        _COMPILED[key] = _Kernels(rule, act, K)
    return _COMPILED[key]
