"""A loss bound to a network's output layer: everything derived from its row in the loss table.

The rows of ``symnet.graph.loss_rules`` give only E_n(y, t) (and, for some outputs, E_n in the
pre-activations a^(L)). For the network's output activation h and K outputs, ``Loss``
derives from the row, in the named y_k, t_k, a_k^(L) a student writes:

* the output deltas delta_k^(L) = dE_n/da_k^(L) = sum_m dE_n/dy_m dy_m/da_k^(L), through
  h's own derivative rule (diagonal h'(a) from the activation table, or the softmax
  function's derivative). Where dE_n/dy has denominators that dy/da cancels (the
  canonical pairs) the product is cancelled, so that it reads y_k - t_k; otherwise it is
  kept factored, (y_k - t_k)(1 - y_k^2) for sse with tanh;
* the Gauss-Newton weight Lambda_n = d^2 E_n/d(a^(L))^2 where the row has a stable form in
  a^(L) (``jacobian_of == "a"``: the canonical pairs), else d^2 E_n/dy^2
  (``jacobian_of == "y"``; I for sse);
* r_k = dE_n/d out_k, the weights of the Hessian's residual term.

Numerically, ``value``, ``residual``, ``delta``, ``r_delta`` and ``gauss_newton_weights``
run the same derivatives compiled in a^(L) (``symnet.graph.loss_kernels``), with division by
zero and invalid operations raising: a loss that is not defined or not differentiable
where it is evaluated gets a ``LossDomainError``, never a NaN.

L2 weight decay: ``get_loss(name, net, weight_decay=lam)`` carries lam, and the
derivations add it once where they assemble their result: E = sum_n E_n + lam/2 ||w||^2,
so the gradient gains lam w, the Hessian and the Gauss-Newton matrix lam I, H v gains lam v.

Examples
--------
>>> import numpy as np, symnet
>>> net = symnet.MLP([2, 3, 2], output="softmax")
>>> loss = get_loss("cross_entropy", net)
>>> loss.output_deltas(net)
[-t_1 + y_1*(t_1 + t_2), -t_2 + y_2*(t_1 + t_2)]
>>> loss.jacobian_of
'a'
>>> A = np.array([[40.0, 0.0]]); Y = np.exp(A - 40) / np.exp(A - 40).sum()
>>> loss.delta(A, Y, np.array([[1.0, 0.0]]))      # -e^-40 / (1 + e^-40), e^-40 / (1 + e^-40)
array([[-4.24835426e-18,  4.24835426e-18]])
"""

import numpy as np
import sympy as sp

from .._validate import check_number
from ..errors import SymnetError
from .latex_printer import tex
from .layered import array_namespace
from .loss_kernels import (activation_key, chain_rule_deltas, drop_dirac, kernels,
                           output_derivative)
from .loss_rules import LossRule, known_losses, loss_rule, output_symbols, register_loss
from .rewriting import tidy

__all__ = ["Loss", "LossDomainError", "get_loss", "LOSSES", "known_losses", "register_loss",
           "LossRule"]

LOSSES = ("sse", "cross_entropy", "log_cosh", "huber")  # the rows symnet ships


class LossDomainError(SymnetError, FloatingPointError):
    """A loss or one of its derivatives is not finite where it is evaluated.

    E.g. a registered E_n = sqrt(|y - t|) at y = t, whose derivative is infinite there, or
    a logarithm of a number <= 0. Like ``NumericalOverflowError`` it is also a
    ``FloatingPointError``, so a training loop that rejects non-finite trial steps
    rejects this one too.
    """


# -- the bound loss ------------------------------------------------------------------------
class Loss:
    """An error function bound to a network's output activation and its K outputs.

    Attributes
    ----------
    name : str
        The row of the loss table (``symnet.graph.loss_rules``).
    output : str
        The output activation's name.
    weight_decay : float
        lam of the L2 term lam/2 ||w||^2 added to E = sum_n E_n (0 by default).
    jacobian_of : {"y", "a"}
        What B_n of the Gauss-Newton term differentiates: the outputs, or the output
        pre-activations (where the loss has a stable form in them).

    Examples
    --------
    >>> import symnet
    >>> net = symnet.MLP([2, 2, 1], output="tanh")
    >>> loss = get_loss("sse", net, weight_decay=0.01)
    >>> loss, loss.output_deltas(net)
    (Loss('sse', output='tanh', weight_decay=0.01), [(1 - y_1**2)*(-t_1 + y_1)])
    """

    def __init__(self, rule, act, n_outputs, n_layers, weight_decay=0.0):
        self.rule, self.activation = rule, act
        self.n_outputs, self.n_layers = n_outputs, n_layers
        self.weight_decay = weight_decay
        self._kernels = kernels(rule, act, n_outputs)

    name = property(lambda self: self.rule.name)
    output = property(lambda self: self.activation.name)
    jacobian_of = property(lambda self: self.rule.jacobian_of(self.output))
    analytic = property(lambda self: self.rule.analytic)

    def _key(self):
        return (self.rule, activation_key(self.activation), self.n_outputs, self.n_layers,
                self.weight_decay)

    def __eq__(self, other):
        return isinstance(other, Loss) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        decay = f", weight_decay={self.weight_decay:g}" if self.weight_decay else ""
        return f"Loss({self.name!r}, output={self.output!r}{decay})"

    # -- symbolic, in the network's named symbols -------------------------------------------
    def _named(self, net=None):
        if net is not None and (net.sizes[-1], net.n_layers, activation_key(
                net.activations[-1])) != (self.n_outputs, self.n_layers,
                                          activation_key(self.activation)):
            raise SymnetError(f"this {self!r} is bound to another network's output layer; "
                              f"take symnet.get_loss({self.name!r}, net) for {net!r}")
        return _named_forms(self.rule, self.activation, self.n_outputs, self.n_layers)

    def per_sample(self, net):
        """E_n in the network's named outputs and targets (y_k, t_k for an MLP).

        >>> import symnet
        >>> rnn = symnet.RNN(1, 1, 1, steps=2, outputs="all")      # outputs y_1^(1), y_1^(2)
        >>> get_loss("sse", rnn).per_sample(rnn)
        (-t_1^(1) + y_1^(1))**2/2 + (-t_1^(2) + y_1^(2))**2/2
        """
        return _in_network_names(net, self._named(net)[0])

    def output_deltas(self, net):
        """delta_k^(L) = dE_n/da_k^(L), written in y, t (and a^(L) where h' needs it)."""
        return [_in_network_names(net, d) for d in self._named(net)[1]]

    def residual_named(self, net):
        """r_k = dE_n/d out_k (out = y or a^(L)): the weights of the residual term."""
        return [_in_network_names(net, r) for r in self._named(net)[2]]

    def gauss_newton_named(self, net):
        """Lambda_n (K x K) of the Gauss-Newton term sum_n B_n^T Lambda_n B_n, in y and t."""
        return _in_network_names(net, self._named(net)[3])

    @property
    def canonical(self):
        """True when delta_k^(L) = y_k - t_k exactly (a canonical output/loss pair)."""
        y, t = output_symbols(self.n_outputs)
        return all(sp.expand(d - (yk - tk)) == 0
                   for d, yk, tk in zip(self._named()[1], y, t))

    @property
    def latex(self):
        """E_n in LaTeX: the row's own (index form), else SymPy's for these K outputs."""
        stated = self.rule.latex.get(self.output, self.rule.latex.get(None))
        return stated or f"E_n = {tex(self._named()[0])}"

    @property
    def delta_latex(self):
        r"""delta_k^(L) in LaTeX index form: the row's, or derived (dE_n/dy_k h_L'(a_k))."""
        stated = self.rule.delta_latex.get(self.output, self.rule.delta_latex.get(None))
        if stated:
            return stated
        if self.canonical:
            return "y_k - t_k"
        if self._kernels.forms.width != 1:
            return (r"\sum_m \frac{\partial E_n}{\partial y_m} \frac{\partial y_m}"
                    r"{\partial a_k^{(L)}}")
        (y1,), (t1,) = output_symbols(1)
        first = tidy(sp.diff(self.rule.expression(self.output, [y1], [t1]), y1))
        text = tex(first).replace("y_{1}", "y_{k}").replace("t_{1}", "t_{k}")
        if self.output == "linear":
            return text
        text = rf"\left({text}\right)" if first.is_Add else text
        return text + r"\, h_L'\bigl(a_k^{(L)}\bigr)"

    def decay_latex(self, kind):
        """Rows saying what the weight decay adds to a derivation of ``kind`` ([] without it)."""
        if not self.weight_decay or kind in ("hessian_residual", "input_jacobian",
                                             "param_jacobian"):
            return []
        rows = [rf"E &= \sum_n E_n + \tfrac{{\lambda}}{{2}} \lVert \mathbf{{w}} \rVert^2, "
                rf"\qquad \lambda = {self.weight_decay:g} \quad \text{{(L2 weight decay)}}"]
        added = {"gradient": r"\frac{\partial E}{\partial w_p} &= \sum_n \frac{\partial E_n}"
                             r"{\partial w_p} + \lambda w_p",
                 "gauss_newton": r"G &= \sum_n B_n^\top \Lambda_n B_n + \lambda I",
                 "hessian_vector_product": r"H \mathbf{v} &= \sum_n H_n \mathbf{v} "
                                           r"+ \lambda \mathbf{v}"}
        return rows + [added.get(kind, r"\frac{\partial^2 E}{\partial w_p\, \partial w_q} &= "
                                       r"\sum_n \frac{\partial^2 E_n}{\partial w_p\, "
                                       r"\partial w_q} + \lambda I_{pq}")]

    # -- numeric: A (N, K) output pre-activations, Y = h(A), T targets ------------------------
    def _run(self, kernel, what, A, Y, T, dh=None, d2h=None, *directions):
        # Division by zero and invalid operations raise: a NaN or inf from finite outputs
        # and targets means the loss is not defined, or not differentiable, there.
        with np.errstate(divide="raise", invalid="raise"):
            try:
                return kernel(A, Y, T, dh, d2h, *directions)
            except FloatingPointError as error:
                raise LossDomainError(
                    f"loss {self.name!r} with {self.output} outputs: {what} is not finite "
                    f"at these outputs and targets ({error}): E_n is not defined or not "
                    "differentiable there (a log of a value <= 0, a derivative infinite at "
                    "y = t), or an output rounded to 0 or 1 in float64 (give the loss a "
                    "stable form in a^(L): register_loss(..., stable=...))") from None

    def _vector(self, results):
        """(N, K) from a width-1 kernel's one array or a width-K kernel's K columns."""
        if self._kernels.forms.width == 1:
            return results[0] if results[0].flags.writeable else np.array(results[0])
        return np.stack(results, axis=-1)

    def decay_term(self, kind, w, v=None):
        """What lam/2 ||w||^2 adds to an evaluated ``kind``: lam w, lam I, lam v, or 0.

        The term is not per sample, so it is added once, to the sum over samples.

        >>> import symnet
        >>> loss = get_loss("sse", symnet.MLP([1, 1]), weight_decay=0.5)
        >>> loss.decay_term("gradient", np.array([2.0, -4.0]))
        array([ 1., -2.])
        >>> loss.decay_term("param_jacobian", None)
        0.0
        """
        lam = self.weight_decay
        if not lam:
            return 0.0
        # in the array library of w (and v): NumPy, or JAX inside jax.jit, where
        # np.asarray of a traced array fails; a list becomes a NumPy array
        xp = array_namespace(w)
        if kind == "gradient":
            return lam * xp.asarray(w)
        if kind in ("hessian", "gauss_newton"):
            return lam * xp.eye(np.size(w))
        if kind == "hessian_vector_product":
            return lam * array_namespace(v).asarray(v)
        return 0.0  # Jacobians and the residual term have no weight decay

    def penalty(self, w):
        """lam/2 ||w||^2, for one w (W,) or a stack (P, W) (complex w kept analytic)."""
        w = np.asarray(w)
        return 0.5 * self.weight_decay * np.sum(w * w, axis=-1)

    def value(self, A, Y, T, w=None):
        """E = sum_n E_n from output pre-activations A, outputs Y and targets T (+ the decay at w).

        A, Y (N, K) give one E; a stack (P, N, K) (with w (P, W)) gives E at each of the P
        points, (P,), in one call. Complex A (complex-step differentiation) is evaluated
        through the analytic continuations of the stable forms; a loss with kinks refuses it.
        """
        if np.iscomplexobj(A) or np.iscomplexobj(Y):
            if not self.analytic:
                raise SymnetError(
                    f"loss {self.name!r} has kinks ({self.rule.convention or 'Abs, Piecewise'}"
                    "), so complex-step differentiation is wrong at them; use "
                    "method='central' or 'richardson'")
            kernel = self._kernels.value_complex
        else:
            kernel = self._kernels.value
        per_sample = self._run(kernel, "E_n", A, Y, T)[0]   # (..., N, K) or (..., N)
        total = np.sum(per_sample, axis=tuple(range(np.ndim(A) - 2, per_sample.ndim)))
        return total if w is None or not self.weight_decay else total + self.penalty(w)

    def residual(self, A, Y, T):
        """dE_n/d out_k (N, K): dE_n/dy_k (y - t for sse) for out = y, delta^(L) for out = a."""
        return self._vector(self._run(self._kernels.residual, "dE_n/d out", A, Y, T))

    def delta(self, A, Y, T, dh=None):
        """Output deltas delta^(L) = dE_n/da^(L) (N, K); ``dh`` = h'(A) if already computed."""
        return self._vector(self._run(self._kernels.delta, "delta^(L)", A, Y, T, dh))

    def r_delta(self, A, Y, T, dh, d2h, RA):
        """R{delta^(L)} = (d delta^(L)/d a^(L)) R{a^(L)} (N, P, K) for RA = R{a^(L)} (N, P, K).

        ``dh``, ``d2h`` are h'(A), h''(A) (None: computed here, or for softmax).
        """
        return self._run(self._kernels.slope, "d delta^(L)/da^(L)", A, Y, T, dh, d2h, RA)

    def gauss_newton_weights(self, Y, T, A=None):
        """Lambda_n of the Gauss-Newton term sum_n B_n^T Lambda_n B_n, shape (N, K, K).

        d^2 E_n/da^2 for ``jacobian_of == "a"`` (B_n = da^(L)/dw), d^2 E_n/dy^2 for "y"
        (B_n = dy/dw; I for sse). Pass the pre-activations A: they keep the digits that
        Y has lost where it saturates.
        """
        if A is None:
            if self.output != "linear":
                raise SymnetError("gauss_newton_weights needs the output pre-activations A")
            A = Y
        return self._run(self._kernels.weights, "Lambda_n", A, Y, T)


_NAMED = {}


def network_names(net):
    """The loss rule's y_k, t_k, a_k^(L) -> ``net``'s own outputs, targets and output units.

    An MLP's outputs are y_k, its targets t_k (unchanged, so left out of the map); an RNN
    with outputs="all" has y_k^(t), t_k^(t) (time-major), so that E_n substitutes into its
    equations. The one place this map is built (``symnet.derive`` uses it too).

    >>> import symnet
    >>> network_names(symnet.MLP([2, 1]))
    {}
    >>> network_names(symnet.RNN(1, 1, 1, steps=2, outputs="all"))   # L = 3 stages: h^(1), h^(2), y
    {y_1: y_1^(1), y_2: y_1^(2), t_1: t_1^(1), t_2: t_1^(2), a_1^(3): a_1^(y,1), a_2^(3): a_1^(y,2)}
    """
    K, L = len(net.targets), net.n_layers
    (y, t), (a, _) = output_symbols(K), output_symbols(K, layer=L)
    names = dict(zip(y, net.layer_values(L)))
    names.update(zip(t, net.targets))
    names.update(zip(a, net.layer_pre_activations(L)))
    return {generic: own for generic, own in names.items() if generic != own}


def _in_network_names(net, expression):
    """A loss form in the rule's y_k, t_k, a_k^(L) rewritten in ``net``'s own names."""
    names = network_names(net)
    return expression.xreplace(names) if names else expression


def _named_forms(rule, act, K, L):
    """(E_n, delta^(L), dE_n/d out, Lambda_n) in the named y_k, t_k, a_k^(L); built once."""
    key = (rule, activation_key(act), K, L)
    if key in _NAMED:
        return _NAMED[key]
    y, t = output_symbols(K)
    a, _ = output_symbols(K, layer=L)
    E = rule.expression(act.name, y, t)
    g = [tidy(sp.diff(E, yk)) for yk in y]
    B = output_derivative(act, y, a)  # dy_m/da_k
    deltas, _ = chain_rule_deltas(g, act, y, a)
    if rule.jacobian_of(act.name) == "a":
        # Lambda = d delta_k / d a_m^(L), through y (and a, where h' is written in it)
        weights = sp.Matrix(K, K, lambda k, m: drop_dirac(sp.diff(deltas[k], a[m]) + sp.Add(
            *[sp.diff(deltas[k], y[j]) * B[j, m] for j in range(K)])))
        residual = deltas
    else:
        weights = sp.Matrix(K, K, lambda k, m: tidy(drop_dirac(sp.diff(g[k], y[m]))))
        residual = g
    _NAMED[key] = (E, tuple(deltas), tuple(residual), sp.ImmutableMatrix(weights))
    return _NAMED[key]


def get_loss(name, net, weight_decay=None):
    """The ``Loss`` called ``name`` for ``net``'s output activation, or a clear error.

    ``name`` is a row of the loss table (``known_losses()``) or a ``Loss``, which keeps
    its weight decay unless ``weight_decay`` is given (lam >= 0, finite; default 0).

    Examples
    --------
    >>> import symnet
    >>> get_loss("cross_entropy", symnet.MLP([2, 2, 1]))
    Traceback (most recent call last):
    ...
    symnet.errors.SymnetError: cross_entropy needs sigmoid outputs (binary) or softmax outputs (multi-class); this network's output is linear. Use loss='sse', or MLP(..., output='sigmoid' or 'softmax').
    """
    given = name.weight_decay if isinstance(name, Loss) else 0.0
    rule = loss_rule(name.rule if isinstance(name, Loss) else name)
    act = net.activations[-1]
    rule.check_output(act.name)
    decay = given if weight_decay is None else check_number(
        "weight_decay", weight_decay, nonnegative=True, example=1e-4)
    return Loss(rule, act, net.sizes[-1], net.n_layers, decay)
