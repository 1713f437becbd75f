"""The multilayer perceptron as a SymPy expression graph with named intermediates.

Layer 0 holds the inputs x_i, layer L the outputs y_k; for l = 1..L

    a_j^(l) = sum_i w_ji^(l) z_i^(l-1) + b_j^(l),     z_j^(l) = h_l(a_j^(l)),

with z^(0) = x and y = z^(L) (Bishop, Deep Learning, 2024, eqs 6.19-6.21).
The graph keeps a_j^(l), z_j^(l), y_k as named symbols (``net.equations``); the
fully substituted outputs (``net.outputs``) are built only when asked for.

Parameter order (the columns of every parameter Jacobian and gradient): layer by
layer; within a layer, the weights row-major (w_11, w_12, ..., w_1D, w_21, ...),
then the biases b_1, ..., b_n.
"""

from functools import cached_property

import numpy as np
import sympy as sp

from . import symbols as sym
from .._size import check_network_size
from .._validate import check_inputs, check_layer_values, check_params, check_sizes
from .activations import activation
from .numerics import fits_into
from ..errors import SymnetError

__all__ = ["MLP"]


class MLP:
    """A fully connected network ``sizes = [D, n_1, ..., K]`` in Bishop's notation.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first, outputs last; at least two entries.
    hidden : str, Activation or sequence of them
        The hidden activation, or one per hidden layer. Default ``"tanh"``.
    output : str or Activation
        The output activation. Default ``"linear"``; ``"softmax"`` only here.

    Examples
    --------
    >>> net = MLP([2, 2, 1], hidden="sigmoid")
    >>> net
    MLP([2, 2, 1], hidden='sigmoid', output='linear')
    >>> net.params
    (w_11^(1), w_12^(1), w_21^(1), w_22^(1), b_1^(1), b_2^(1), w_11^(2), w_12^(2), b_1^(2))
    >>> net.equations[net.layer_pre_activations(1)[0]]
    b_1^(1) + w_11^(1)*x_1 + w_12^(1)*x_2
    >>> net.param_index("w_21^(1)"), net.param_name(8)
    (2, 'b_1^(2)')
    >>> net.forward([[0.0, 0.0]], net.pack([[[1, 1], [1, 1]], [[1, -1]]], [[0, 0], [2]]))
    array([[2.]])
    """

    def __init__(self, sizes, hidden="tanh", output="linear"):
        self.sizes = check_sizes(sizes)
        check_network_size(self.sizes)
        n_layers = len(self.sizes) - 1
        hidden_list = ([hidden] * (n_layers - 1) if isinstance(hidden, str) or not
                       _is_sequence(hidden) else list(hidden))
        if len(hidden_list) != n_layers - 1:
            raise SymnetError(
                f"hidden names one activation per hidden layer: {n_layers - 1} for sizes "
                f"{list(self.sizes)}; got {len(hidden_list)}")
        self.activations = tuple(activation(h) for h in hidden_list) + (activation(output),)
        for layer, act in enumerate(self.activations[:-1], start=1):
            if not act.elementwise:
                raise SymnetError(
                    f"{act.name} couples the units of a layer and is allowed only in the output "
                    f"layer; layer {layer} is hidden. Use e.g. 'tanh' or 'relu' there.")
        self._build_symbols()
        self._build_graph()

    # -- construction -------------------------------------------------------
    def _build_symbols(self):
        sizes, L = self.sizes, self.n_layers
        self.inputs = tuple(sym.input_symbol(i) for i in range(1, sizes[0] + 1))
        self.targets = tuple(sym.target(k) for k in range(1, sizes[-1] + 1))
        self.weights = tuple(
            sp.ImmutableMatrix(sizes[l], sizes[l - 1], lambda j, i, l=l: sym.weight(l, j + 1, i + 1))
            for l in range(1, L + 1))
        self.biases = tuple(
            sp.ImmutableMatrix([sym.bias(l, j) for j in range(1, sizes[l] + 1)])
            for l in range(1, L + 1))
        params, self._slices = [], []
        for W, b in zip(self.weights, self.biases):
            start = len(params)
            params.extend(W)  # ImmutableMatrix iterates row-major: w_11, w_12, ...
            middle = len(params)
            params.extend(b)
            self._slices.append((slice(start, middle), slice(middle, len(params))))
        self.params = tuple(params)
        self._index = {p: n for n, p in enumerate(self.params)}

    def _build_graph(self):
        L = self.n_layers
        self._pre = [()] + [tuple(sym.pre_activation(l, j) for j in range(1, self.sizes[l] + 1))
                            for l in range(1, L + 1)]
        self._post = [self.inputs] + [
            tuple(sym.activation_value(l, j) for j in range(1, self.sizes[l] + 1))
            for l in range(1, L)] + [tuple(sym.output(k) for k in range(1, self.sizes[-1] + 1))]
        equations = {}
        for l in range(1, L + 1):
            previous, W, b = self._post[l - 1], self.weights[l - 1], self.biases[l - 1]
            for j, a in enumerate(self._pre[l]):
                # One Add of all terms: SymPy's Matrix product sums pairwise, O(n^2) per row.
                equations[a] = sp.Add(*[W[j, i] * z for i, z in enumerate(previous)], b[j])
            equations.update(zip(self._post[l], self._apply(l, self._pre[l])))
        self.equations = equations

    def _apply(self, layer, arguments):
        """h_l applied to a layer's pre-activations (softmax couples them)."""
        act = self.activations[layer - 1]
        if act.elementwise:
            return [act.function(a) for a in arguments]
        exps = [sp.exp(a) for a in arguments]
        total = sp.Add(*exps)
        return [e / total for e in exps]

    # -- structure ----------------------------------------------------------
    @property
    def n_layers(self):
        """L, the number of layers of weights."""
        return len(self.sizes) - 1

    @property
    def n_params(self):
        """W, the number of weights and biases."""
        return len(self.params)

    @property
    def analytic(self):
        """True when every activation is analytic (complex-step differentiation is valid)."""
        return all(act.analytic for act in self.activations)

    def layer_pre_activations(self, layer):
        """(a_1^(l), ..., a_n^(l)) for l = 1..L."""
        return self._pre[layer]

    def layer_values(self, layer):
        """(z_1^(l), ...) for l = 0..L: the inputs for l = 0, the outputs y for l = L."""
        return self._post[layer]

    def layer_slices(self, layer):
        """(weight columns, bias columns) of layer l as slices of ``net.params``."""
        return self._slices[layer - 1]

    def __repr__(self):
        names = [_activation_text(a) for a in self.activations]
        hidden = names[:-1]
        hidden_text = hidden[0] if len(set(hidden)) == 1 else "[" + ", ".join(hidden) + "]"
        if not hidden:
            return f"MLP({list(self.sizes)}, output={names[-1]})"
        return f"MLP({list(self.sizes)}, hidden={hidden_text}, output={names[-1]})"

    # -- parameters -----------------------------------------------------------
    def param_index(self, parameter):
        """The column of ``parameter`` (a Symbol or its name, e.g. ``"w_21^(2)"``)."""
        key = sp.Symbol(parameter, real=True) if isinstance(parameter, str) else parameter
        if key not in self._index:
            raise SymnetError(
                f"{parameter!r} is not a parameter of {self!r}; parameters are "
                f"{self.params[0]}, ..., {self.params[-1]} (see net.params)")
        return self._index[key]

    def param_name(self, column):
        """The name of the parameter in ``column`` (0-based), e.g. ``'w_21^(2)'``."""
        if not (isinstance(column, (int, np.integer)) and 0 <= column < self.n_params):
            raise SymnetError(f"column must be an integer in [0, {self.n_params}); got {column!r}")
        return self.params[column].name

    def param_location(self, column):
        """Where parameter ``column`` sits: (layer, "w" or "b", j, i), units 0-based.

        (l, "w", j, i) is w_(j+1)(i+1)^(l), row j and column i of W^(l); (l, "b", j, None)
        is b_(j+1)^(l). The one locator of symnet: the inverse of the ``net.params``
        order (see the module docstring).

        >>> net = MLP([2, 3, 1])
        >>> net.param_location(net.param_index("w_32^(1)")), net.param_location(8)
        ((1, 'w', 2, 1), (1, 'b', 2, None))
        """
        if not (isinstance(column, (int, np.integer)) and 0 <= column < self.n_params):
            raise SymnetError(f"column must be an integer in [0, {self.n_params}); got {column!r}")
        return self.param_locations[column]

    @cached_property
    def param_locations(self):
        """``param_location`` of every column, in ``net.params`` order (a tuple of W tuples)."""
        places = []
        for l in range(1, self.n_layers + 1):
            places += [(l, "w", j, i) for j in range(self.sizes[l]) for i in range(self.sizes[l - 1])]
            places += [(l, "b", j, None) for j in range(self.sizes[l])]
        return tuple(places)

    def pack(self, weights, biases):
        """The flat float64 vector of length W in ``net.params`` order.

        ``weights[l]`` has shape (n_{l+1}, n_l) with ``weights[l][j, i]`` = w_(j+1)(i+1)
        of layer l+1; ``biases[l]`` has length n_{l+1}.
        """
        if len(weights) != self.n_layers or len(biases) != self.n_layers:
            raise SymnetError(f"pack needs {self.n_layers} weight matrices and "
                              f"{self.n_layers} bias vectors")
        flat = np.empty(self.n_params)
        for l, (W, b) in enumerate(zip(weights, biases), start=1):
            W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float).ravel()
            shape = (self.sizes[l], self.sizes[l - 1])
            if W.shape != shape or b.shape != (self.sizes[l],):
                raise SymnetError(f"layer {l}: weights must have shape {shape} and biases "
                                  f"({self.sizes[l]},); got {W.shape} and {b.shape}")
            w_cols, b_cols = self.layer_slices(l)
            flat[w_cols], flat[b_cols] = W.ravel(), b
        return check_params(self, flat)

    def unpack(self, w):
        """(weights, biases) lists from the flat vector; the inverse of ``pack``."""
        w = check_params(self, w)
        weights, biases = [], []
        for l in range(1, self.n_layers + 1):
            w_cols, b_cols = self.layer_slices(l)
            weights.append(w[w_cols].reshape(self.sizes[l], self.sizes[l - 1]).copy())
            biases.append(w[b_cols].copy())
        return weights, biases

    def init_params(self, seed=0, scale=None):
        """Random parameters: weights ~ N(0, 1/n_in) (LeCun), biases 0.1 * N(0, 1)."""
        rng = np.random.default_rng(seed)
        w = np.empty(self.n_params)
        for l in range(1, self.n_layers + 1):
            w_cols, b_cols = self.layer_slices(l)
            std = scale if scale is not None else 1 / np.sqrt(self.sizes[l - 1])
            w[w_cols] = rng.normal(0, std, w[w_cols].shape)
            w[b_cols] = 0.1 * rng.normal(size=self.sizes[l])
        return w

    # -- numbers ---------------------------------------------------------------
    def forward(self, X, w):
        """Outputs y for inputs X: shape (N, K) for X of shape (N, D), (K,) for X of shape (D,).

        Complex X or w are accepted (for complex-step differentiation). A value
        that overflows float64 raises ``symnet.NumericalOverflowError`` naming the
        unit (see ``_activate_numpy``).
        """
        X, single = check_inputs(self, X)
        w = check_params(self, w, allow_complex=True)
        Z = self.forward_layers(X, w)[1][-1]
        return Z[0] if single else Z

    def forward_layers(self, X, w, activate=None):
        """The forward pass: pre-activations A[l] and values Z[l] for l = 0..L (no checks).

        The one forward pass of symnet: ``forward``, the compiled matrix form and the
        numerical checker's stacked points all run it. ``A[0]`` is None and ``Z[0]`` is
        X. X is (N, D) or a stack (P, N, D); w is (W,) or a stack (P, W) of parameter
        vectors (real or complex); ``A[l]``, ``Z[l]`` are (N, n_l), or (P, N, n_l) for a
        stack: a layer is one (batched) matrix product. ``activate(l, A)`` is z = h_l(A) for
        another array library (``symnet.compiled.backends``); NumPy's is ``_activate_numpy``.
        """
        if activate is None:   # NumPy, checked: only where an overflow is still possible
            def activate(l, A):
                # the proof costs a few operations on w: worth it where A is large
                proven = A.size >= _PROOF_FROM and self._pre_activation_is_bounded(w, l)
                return self._activate_numpy(l, A, a_is_finite=proven)
        A, Z = [None], [X]
        stack = np.shape(w)[:-1]
        for l in range(1, self.n_layers + 1):
            w_cols, b_cols = self.layer_slices(l)
            weights = w[..., w_cols].reshape(stack + (self.sizes[l], self.sizes[l - 1]))
            A.append(affine(Z[-1], np.swapaxes(weights, -1, -2), w[..., None, b_cols]))
            Z.append(activate(l, A[-1]))
        return A, Z

    def _layer_arrays(self, w, layer):
        w_cols, b_cols = self.layer_slices(layer)
        return w[w_cols].reshape(self.sizes[layer], self.sizes[layer - 1]), w[b_cols]

    def _activate_numpy(self, layer, A, a_is_finite=False):
        """z^(l) = h_l(A) for pre-activations A (..., n_l); every forward pass goes through here.

        A non-finite a or z (float64 overflowed although X and w are finite) raises
        ``symnet.NumericalOverflowError`` naming the unit and the sample, unless the
        caller declared with ``np.errstate(over="ignore")`` that it inspects
        non-finite values itself (``symnet.check`` at its perturbed points). A is not
        checked where ``a_is_finite`` (proven by ``_pre_activation_is_bounded``), Z not
        where it is A (the identity) or h is bounded (``value_bound``): those cannot fail.
        """
        from .activations import value_bound
        from .numerics import stable_softmax
        act = self.activations[layer - 1]
        Z = act.numpy(A) if act.elementwise else stable_softmax(A, axis=-1)
        z_is_finite = Z is A or (act.elementwise and Z.size >= _PROOF_FROM
                                 and value_bound(act) is not None)
        check_layer_values(self, layer, None if a_is_finite else A, None if z_is_finite else Z)
        return Z

    def _pre_activation_is_bounded(self, w, layer):
        """True when a^(layer) cannot overflow, from |w| alone (real w; cheap: O(W)).

        After a bounded layer (|z_i^(l-1)| <= B, ``value_bound``), |a_j^(l)| <= sum_i
        |w_ji^(l)| B + |b_j^(l)|; far below float64's largest (1e300 here, leaving room
        for the rounding of the sum), the layer's overflow check is proven to pass.
        """
        from .activations import value_bound
        if layer < 2 or np.iscomplexobj(w):   # x is unbounded; complex tanh is not bounded by 1
            return False
        bound = value_bound(self.activations[layer - 2])
        if bound is None:
            return False
        w_cols, b_cols = self.layer_slices(layer)
        stack = np.shape(w)[:-1]
        weights = np.abs(w[..., w_cols]).reshape(stack + (self.sizes[layer], self.sizes[layer - 1]))
        with np.errstate(over="ignore"):   # a bound past float64 is inf: not proven
            largest = np.max(weights.sum(axis=-1) * bound + np.abs(w[..., b_cols]))
        return bool(largest < 1e300)

    # -- the substituted graph ----------------------------------------------------
    @cached_property
    def substitution(self):
        """Every named intermediate -> its expression in inputs and parameters only."""
        from .._size import check_expansion
        check_expansion(self)
        full = {}
        for name, value in self.equations.items():
            full[name] = value.xreplace(full)
        return full

    def substitute(self, definitions):
        """Network and ``definitions`` symbols -> expressions in inputs, parameters, targets.

        ``definitions`` (symbol -> expression in earlier symbols, in order) are the
        intermediates a derivation adds (deltas, dy/da, R-operator terms).
        """
        return substitute_in_order(self.substitution, definitions)

    @property
    def outputs(self):
        """The outputs y_1..y_K as a K x 1 Matrix in the inputs and parameters (substituted)."""
        y = self._post[-1]
        return sp.Matrix([self.substitution[k] for k in y])


_PROOF_FROM = 1 << 16   # entries of A from which proving it finite beats summing it


def affine(Z, weights_T, biases):
    """Z W^T + b for one layer, with NumPy's overflow warning left to the layer's check.

    An overflow here (a sum of products past 1.8e308) is reported by
    ``MLP._activate_numpy``, which names the unit; a RuntimeWarning before it would
    say less. Works on stacks (``symnet.numdiff.perturbed``): Z (..., N, n), weights_T (..., n, m).
    """
    if isinstance(weights_T, np.ndarray):   # BLAS takes a contiguous copy 3x faster (N = 1e4)
        weights_T = np.ascontiguousarray(weights_T)
    with np.errstate(over="ignore", invalid="ignore"):  # checked, by name, right after
        A = Z @ weights_T
        if fits_into(A, biases):
            A += biases   # A is new: the bias is added in place, without a second array
            return A
        return A + biases


def _activation_text(act):
    """'tanh', or activation('relu', derivative_at_zero=1/2) for a parameterised row."""
    if not act.parameters:
        return repr(act.name)
    options = ", ".join(f"{key}={value}" for key, value in act.parameters.items())
    return f"activation({act.name!r}, {options})"


def _is_sequence(value):
    return isinstance(value, (list, tuple))


def substitute_in_order(substitution, definitions):
    """``substitution`` (a network's names -> expressions) extended by ``definitions``.

    Each definition (symbol -> expression in earlier symbols, in order) is written out
    in what comes before it; names the network already has keep their meaning.
    """
    full = dict(substitution)
    for name, value in definitions.items():
        if name not in full:
            full[name] = value.xreplace(full)
    return full
