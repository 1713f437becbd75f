"""The base of symnet's networks beyond the MLP: stages of named units and parameter blocks.

A ``LayeredNetwork`` is a list of *stages*: one stage per layer of units in Bishop's sense
(a_j = sum_i w_ji z_i + b_j over the units i that send to j, z_j = h(a_j)), numbered
l = 1..L, each with its named pre-activations and values, its equations and a function
computing it on NumPy or JAX arrays (``array_namespace``); its parameters come in
``ParameterBlock`` s (a weight matrix, a kernel, a bias vector).
``symnet.graph.layer_network.Network`` (layers: dense, convolution, residual) and
``symnet.graph.recurrent.RNN`` (an unrolled Elman network) build on it; both are derived by ``symnet.derive.layered_derivations``. Parts of symnet
that need the MLP's layer-by-layer matrix form raise ``NotForLayeredNetworks``.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from .._size import MAX_EXPANDED_TERMS, MAX_NETWORK_PARAMS
from .._validate import check_inputs, check_layer_values, check_params
from ..errors import SymnetError, TooLargeError
from .layers import _shape_text
from .network import MLP, substitute_in_order

__all__ = ["LayeredNetwork", "NotForLayeredNetworks", "Stage", "ParameterBlock", "unit_symbol",
           "array_namespace"]


def array_namespace(array):
    """The array functions of ``array``'s library: numpy, or jax.numpy for JAX arrays and tracers.

    Read from the type's module (as ``symnet.compiled.backends.library_of`` does), so
    nothing is imported to ask and JAX only when a JAX array is given. Code written
    against the returned namespace (``xp.pad``, ``xp.einsum``, ...) runs on both.

    >>> array_namespace(np.ones(2)) is np, array_namespace([1.0]) is np
    (True, True)
    """
    if isinstance(array, np.ndarray) or type(array).__module__.partition(".")[0] not in (
            "jax", "jaxlib"):
        return np
    import jax.numpy as jnp
    return jnp


class NotForLayeredNetworks(SymnetError, AttributeError):
    """A part of symnet written for the MLP's layer-by-layer matrix form was given a Network.

    Also an ``AttributeError`` (it is raised on attribute access), so ``hasattr`` and
    ``getattr(..., default)`` keep working.
    """


def _real(name):
    return sp.Symbol(name, real=True)


def unit_symbol(stem, layer, indices):
    """a_{c,p}^(l) and the like: indices always joined by commas (``a_1,3^(1)``)."""
    joined = ",".join(str(i) for i in indices)
    return _real(f"{stem}_{joined}" + ("" if layer is None else f"^({layer})"))


@dataclass
class ParameterBlock:
    """One weight matrix, kernel or bias vector: its columns in ``net.params`` and its shape."""

    label: str
    columns: slice
    shape: tuple
    fan_in: int
    bias: bool


@dataclass
class Stage:
    """One layer of units: its activation, named pre-activations and values, and its numbers.

    ``compute(Z, w)`` gives the pre-activations A (..., N, n) from the values Z[0..l-1]
    of the stages before it and parameters w (..., W): the stage's forward pass, written
    against the namespace of Z (``array_namespace``), with no writes into arrays (JAX's
    are immutable).
    """

    kind: str
    act: object
    pre: tuple
    post: tuple
    compute: Callable
    weights: ParameterBlock = None
    biases: ParameterBlock = None


class LayeredNetwork:
    """What ``Network`` and ``RNN`` share: stages, parameters, the forward pass, validation.

    Subclasses set ``input_shape``, ``inputs``, ``targets``, ``params``, ``blocks``,
    ``stages`` and ``equations`` (symbol -> expression in earlier symbols, in order).
    """

    input_shape = ()

    # -- structure --------------------------------------------------------------------
    @property
    def n_layers(self):
        """L, the number of stages (layers of units)."""
        return len(self.stages)

    @property
    def n_params(self):
        """W, the number of weights and biases."""
        return len(self.params)

    @property
    def sizes(self):
        """(D, n_1, ..., n_L): inputs and units per stage, flat."""
        return (len(self.inputs),) + tuple(len(stage.pre) for stage in self.stages)

    @property
    def activations(self):
        """h_l of each stage (linear for skip stages)."""
        return tuple(stage.act for stage in self.stages)

    @property
    def analytic(self):
        """True when every activation is analytic (complex-step differentiation is valid)."""
        return all(act.analytic for act in self.activations)

    def layer_pre_activations(self, layer):
        """The named pre-activations of stage ``layer`` (1..L), flat."""
        return self.stages[layer - 1].pre

    def layer_values(self, layer):
        """The named values of stage ``layer``: the inputs for 0, the outputs y for L."""
        return self.inputs if layer == 0 else self.stages[layer - 1].post

    def layer_slices(self, layer):
        """(weight columns, bias columns) of a dense stage fed by the stage before it."""
        stage = self.stages[layer - 1]
        if stage.kind != "dense":
            raise NotForLayeredNetworks(
                f"stage {layer} of {self!r} is a {stage.kind} stage, not a dense one: its "
                "parameters are not one weight matrix (n_l, n_(l-1)); this part of symnet "
                "(the MLP's layer-by-layer matrix form) needs a dense layer there")
        return stage.weights.columns, stage.biases.columns

    def __getattr__(self, name):
        # Parts of symnet written for the MLP's matrix form reach for its attributes
        # (weights, _layer_arrays, ...): say so by name instead of a bare AttributeError.
        if not name.startswith("__") and (name in ("weights", "biases") or hasattr(MLP, name)):
            raise NotForLayeredNetworks(
                f"{type(self).__name__} has no {name!r}: that part of symnet works on the MLP's "
                "layer-by-layer matrix form (a Network of Dense layers converts with "
                "net.as_mlp())")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- parameters ----------------------------------------------------------------------
    def _index(self):
        if "_param_index" not in self.__dict__:
            self.__dict__["_param_index"] = {p: n for n, p in enumerate(self.params)}
        return self.__dict__["_param_index"]

    def param_index(self, parameter):
        """The column of ``parameter`` (a Symbol or its name, e.g. ``"w_1,1,2^(1)"``)."""
        key = _real(parameter) if isinstance(parameter, str) else parameter
        if key not in self._index():
            raise SymnetError(
                f"{parameter!r} is not a parameter of {self!r}; parameters are "
                f"{self.params[0]}, ..., {self.params[-1]} (see net.params)")
        return self._index()[key]

    def param_name(self, column):
        """The name of the parameter in ``column`` (0-based)."""
        if not (isinstance(column, (int, np.integer)) and 0 <= column < self.n_params):
            raise SymnetError(f"column must be an integer in [0, {self.n_params}); got {column!r}")
        return self.params[column].name

    def init_params(self, seed=0, scale=None):
        """Random parameters: weights ~ N(0, 1/fan_in) (LeCun), biases 0.1 * N(0, 1)."""
        rng = np.random.default_rng(seed)
        w = np.empty(self.n_params)
        for block in self.blocks:
            size = int(np.prod(block.shape))
            if block.bias:
                w[block.columns] = 0.1 * rng.normal(size=size)
            else:
                std = scale if scale is not None else 1 / np.sqrt(block.fan_in)
                w[block.columns] = rng.normal(0, std, size)
        return w

    def _block_array(self, w, block):
        """The block's parameters from w (..., W) as an array (..., *block.shape)."""
        return w[..., block.columns].reshape(np.shape(w)[:-1] + block.shape)

    # -- numbers ----------------------------------------------------------------------------
    def check_inputs(self, X, allow_complex=True):
        """X as (N, D) and whether one sample was given; the expected shape named when wrong."""
        array = np.asarray(X) if not isinstance(X, np.ndarray) else X
        D = len(self.inputs)
        if array.dtype != object and array.ndim in (1, 2) and array.shape[-1] != D:
            raise SymnetError(
                f"X must have shape (N, {D}) (or ({D},) for one sample): each row one sample "
                f"{self.input_description}; got {array.shape}")
        return check_inputs(self, X, allow_complex)

    @property
    def input_description(self):
        """How one sample is laid out in a row of X."""
        if len(self.input_shape) == 1:
            return f"of {self.input_shape[0]} inputs"
        return f"of shape {_shape_text(self.input_shape)} flattened row-major"

    def forward(self, X, w):
        """Outputs y (N, K) for X (N, D), (K,) for one sample (D,); complex X, w accepted."""
        X, single = self.check_inputs(X)
        w = check_params(self, w, allow_complex=True)
        Z = self.forward_layers(X, w)[1][-1]
        return Z[0] if single else Z

    def forward_layers(self, X, w, activate=None):
        """A[l], Z[l] for l = 0..L (A[0] None, Z[0] = X), for X (N, D) or (P, N, D), w (W,) or (P, W).

        The one forward pass: ``forward``, ``symnet.check``'s perturbed points, the loss
        value and the compiled matrix form on every array library run it. Each stage is one
        vectorised step over samples in the namespace of its input (``array_namespace``: a
        convolution as a correlation over patches of its input). ``activate(l, A)`` is
        z = h_l(A) for another array library (``symnet.compiled.backends``), as for the
        MLP; NumPy's, the default, names the unit whose value overflowed.

        Examples
        --------
        >>> import symnet
        >>> from symnet.layers import Conv1D
        >>> net = symnet.Network((1, 3), [Conv1D(1, 2, "linear")])
        >>> A, Z = net.forward_layers(np.array([[1.0, 2.0, 3.0]]), np.array([1.0, 2.0, 0.5]))
        >>> A[1]                                       # x_p + 2 x_(p+1) + 1/2
        array([[5.5, 8.5]])
        """
        activate = activate or self._activate
        A, Z = [None], [X]
        for l, stage in enumerate(self.stages, start=1):
            with np.errstate(over="ignore", invalid="ignore"):  # checked, by name, in activate
                A.append(stage.compute(Z, w))
            Z.append(activate(l, A[-1]))
        return A, Z

    def _activate(self, layer, A):
        """z^(l) = h_l(A) on NumPy, refusing a non-finite a or z by unit name (as the MLP's)."""
        from .numerics import stable_softmax
        act = self.stages[layer - 1].act
        Z = act.numpy(A) if act.elementwise else stable_softmax(A, axis=-1)
        check_layer_values(self, layer, A, Z)
        return Z

    # -- the substituted graph ---------------------------------------------------------------
    def expanded_terms(self):
        """About how many leaves one fully substituted output has (paths through the graph)."""
        paths = {x: 1 for x in self.inputs}
        for name, value in self.equations.items():
            symbols = value.free_symbols
            paths[name] = sum(paths.get(s, 1) for s in symbols)
        return max(paths[y] for y in self.layer_values(self.n_layers))

    @property
    def substitution(self):
        """Every named unit -> its expression in inputs and parameters (refused when huge)."""
        if "_substitution" not in self.__dict__:
            terms = self.expanded_terms() * len(self.layer_values(self.n_layers))
            if terms > MAX_EXPANDED_TERMS:
                raise TooLargeError(
                    f"fully substituting the graph of {self!r} gives about {terms:,} terms (one "
                    f"per path from an input to an output; the limit is {MAX_EXPANDED_TERMS:,})."
                    " Use the named form (net.equations) instead.")
            full = {}
            for name, value in self.equations.items():
                full[name] = value.xreplace(full)
            self.__dict__["_substitution"] = full
        return self.__dict__["_substitution"]

    def substitute(self, definitions):
        """Network and ``definitions`` symbols -> expressions in inputs, parameters, targets."""
        return substitute_in_order(self.substitution, definitions)

    @property
    def outputs(self):
        """The outputs y_1..y_K as a K x 1 Matrix in the inputs and parameters (substituted)."""
        return sp.Matrix([self.substitution[y] for y in self.layer_values(self.n_layers)])

    def _finish(self):
        """Checks every subclass runs once its stages are built."""
        for l, stage in enumerate(self.stages[:-1], start=1):
            if not stage.act.elementwise:
                raise SymnetError(
                    f"{stage.act.name} couples the units of a layer and is allowed only in the "
                    f"output layer; stage {l} of {self!r} is hidden. Use e.g. 'tanh' there.")
        if self.n_params > MAX_NETWORK_PARAMS:
            raise TooLargeError(
                f"{self!r} has W = {self.n_params:,} parameters (the limit is "
                f"{MAX_NETWORK_PARAMS:,}): symnet derives formulas for networks small enough "
                "to read")


def _values_of(act, pre):
    """z = h(a) for a stage's pre-activations (softmax couples them)."""
    if act.elementwise:
        return [act.function(a) for a in pre]
    exps = [sp.exp(a) for a in pre]
    total = sp.Add(*exps)
    return [e / total for e in exps]
