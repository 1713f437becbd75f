"""Which array library runs the matrix form: NumPy, JAX (jit-compiled) or Dask (chunked).

The matrix form (``symnet.compiled.matrix_form``) is written once; what differs per
array library is only where its per-layer pieces come from. ``ops_for(X)`` gives them:

* ``NUMPY``: the NumPy kernels of ``symnet.graph`` as they are (the default path, unchanged);
* ``ArrayOps("jax")``: the SAME SymPy expressions (h(a), h'(a) and h''(a) in (a, z), the
  loss's delta, Lambda, d delta/da and dE_n/d out columns, softmax's derivative blocks)
  printed for ``jax.numpy`` by SymPy's JAX printer, with symnet's functions printed by
  their own NumPy rules (``sigmoid`` as the kernel e / (1 + e) with e = exp(-|a|), ...)
  and the named kernels bound to their array-API versions (``symnet.compiled.array_kernels``).

``evaluate_jax`` runs a derivation on JAX arrays: the whole evaluation is one
``jax.jit``-compiled function per derivation (JAX recompiles it per input shape) that
returns a JAX array. symnet computes in float64 only and never changes JAX's settings:
JAX arrays must be float64, which needs ``jax.config.update("jax_enable_x64", True)`` at
the start of the program (before the arrays are made). A float32 JAX array is refused
with that advice rather than converted: its lost digits cannot be brought back.
Integer arrays are converted to float64 (exact below 2^53). NumPy arrays or lists passed
with JAX arrays are validated as usual and moved to JAX.

Dask arrays are evaluated chunk by chunk on NumPy (``symnet.compiled.dask_backend``).
Importing symnet imports neither JAX nor Dask: they are imported here on first use.

Examples
--------
>>> import numpy as np
>>> ops_for(np.zeros(2)) is NUMPY, library_of([1.0]), library_of(np.zeros(1))
(True, 'numpy', 'numpy')
"""

from functools import lru_cache

import numpy as np
import sympy as sp

from .._validate import check_finite_result
from ..errors import SymnetError
from ..graph.activations import value_form
from ..graph.loss_kernels import activation_key
from ..graph.losses import Loss
from ..graph.numerics import fits_into
from ..graph.rewriting import MODULES
from ..graph.output_kernels import (block_entries, softmax_curvature_values,
                                    softmax_jacobian_values)
from .array_kernels import namespace_kernels

__all__ = ["library_of", "foreign_library", "ops_for", "NUMPY", "ArrayOps", "evaluate_jax",
           "JAX_KINDS"]

# The kinds whose evaluator is the MLP's matrix form alone (the residual term: its
# R-operator on the pseudo-error, whose pieces come from the ops too): these run on JAX.
JAX_KINDS = frozenset({"gradient", "input_jacobian", "param_jacobian", "hessian",
                       "gauss_newton", "hessian_residual", "hessian_vector_product",
                       "input_hessian"})
# A Network's or RNN's kinds: its matrix form (symnet.compiled.layered_form and
# layered_curvature_form), the direct input Jacobian its substituted entries printed for JAX.
LAYERED_JAX_KINDS = frozenset({"gradient", "input_jacobian", "param_jacobian", "gauss_newton",
                               "hessian", "hessian_residual", "hessian_vector_product",
                               "input_hessian"})


def library_of(value):
    """``"jax"``, ``"dask"`` or ``"numpy"`` (anything else: lists, NumPy arrays, numbers).

    Read from the type's module, so neither library is imported to ask.
    """
    root = type(value).__module__.partition(".")[0]
    return {"jax": "jax", "jaxlib": "jax", "dask": "dask"}.get(root, "numpy")


def foreign_library(*values):
    """The one non-NumPy library among ``values`` (None if all are NumPy); mixing is refused.

    >>> foreign_library([1.0], np.ones(2), None) is None
    True
    """
    found = {library_of(v) for v in values if v is not None} - {"numpy"}
    if len(found) > 1:
        raise SymnetError(f"X, w, T mix {' and '.join(sorted(found))} arrays; pass one array "
                          "library (w may stay a NumPy array)")
    return found.pop() if found else None


class _NumpyOps:
    """The per-layer pieces on NumPy: the kernels of ``symnet.graph`` as they are."""

    name = "numpy"
    xp = np
    max_chunks = None  # chunks of samples are a loop, as many as memory needs

    def activate(self, net):
        return None  # MLP.forward_layers' own NumPy activation, with its overflow check

    def slope(self, act, A, Z):
        return act.derivative_numpy_az(A, Z)

    def curvature(self, act, A, Z, slope=None):
        """h''(A); from the slope h'(A) already computed where h'' is written in it (tanh)."""
        if slope is not None and act.second_derivative_numpy_azs is not None:
            return act.second_derivative_numpy_azs(A, Z, slope)
        return act.second_derivative_numpy_az(A, Z)

    def lambdify(self, arguments, expressions):
        """``sympy.lambdify`` to NumPy with symnet's kernels (``symnet.graph.numerics``)."""
        return sp.lambdify(arguments, expressions, modules=MODULES, cse=True)

    def map_columns(self, along, V):
        """along(V[:, p]) for every column p, stacked on a last axis (a loop)."""
        return np.stack([along(V[:, p]) for p in range(V.shape[1])], axis=-1)

    def matmul(self, U, M):
        """U @ M for U (..., n) and a matrix M (n, m), as one product of all U's rows.

        NumPy runs a stack (N, K, n) @ (n, m) as N small products; its rows are one
        (N K, n) matrix, one BLAS call (a third faster for (100000, 8, 32) @ (32, 32)).
        """
        if U.ndim > 2 and M.ndim == 2 and U.flags.c_contiguous:
            return (U.reshape(-1, U.shape[-1]) @ M).reshape(U.shape[:-1] + (M.shape[-1],))
        return U @ M

    def times(self, fresh, factor):
        """fresh * factor, written into ``fresh``: an array the caller has just made and owns.

        A new array of fresh's size costs more than the multiply (its pages are first
        touched); where the product's type or shape differs from fresh's, a new one it is.
        """
        if fits_into(fresh, factor):
            return np.multiply(fresh, factor, out=fresh)
        return fresh * factor

    def sample_sum(self, values):
        """The sum over samples (axis -2) of values (..., N, n): one BLAS product with ones.

        NumPy's reduction down the rows of a (N, n) array with few columns strides across
        memory (164 us against 46 us for (10000, 4)); the weights' sums delta^T Z are BLAS
        products already, and the bias sums are now summed the same way.
        """
        if values.dtype.kind != "f" or values.ndim < 2:
            return values.sum(axis=-2)
        return np.ones(values.shape[-2]) @ values

    def plus(self, fresh, term):
        """fresh + term, written into ``fresh`` where it can be (as ``times``)."""
        if fits_into(fresh, term):
            return np.add(fresh, term, out=fresh)
        return fresh + term

    def loss_delta(self, loss, A, Y, T, dh):
        return loss.delta(A, Y, T, dh)

    def loss_r_delta(self, loss, A, Y, T, dh, d2h, RA):
        return loss.r_delta(A, Y, T, dh, d2h, RA)

    def loss_residual(self, loss, A, Y, T):
        return loss.residual(A, Y, T)

    def loss_weights(self, loss, Y, T, A):
        return loss.gauss_newton_weights(Y, T, A)

    def softmax_jacobian(self, Y):
        return softmax_jacobian_values(Y)

    def softmax_curvature(self, Y):
        return softmax_curvature_values(Y)


NUMPY = _NumpyOps()


def _printer():
    """SymPy's JAX printer reading symnet's ``_numpycode`` rules (sigmoid, softplus, relu, ...)."""
    from sympy.printing.numpy import JaxPrinter

    class ArrayPrinter(JaxPrinter):
        def __init__(self, settings=None):
            super().__init__(settings)
            self.printmethod = "_numpycode"  # the stable forms symnet prints for NumPy
    return ArrayPrinter


class ArrayOps:
    """The per-layer pieces for the array library ``name``, printed from the same SymPy rules.

    Each kernel is printed once per expression and cached; the engine calls them exactly
    where it calls the NumPy kernels.
    """

    max_chunks = 8  # inside jax.jit a loop over chunks is unrolled: a few large chunks

    def __init__(self, name):
        if name != "jax":
            raise SymnetError(f"no array backend {name!r}; symnet runs on numpy, jax and dask")
        import jax.numpy as jnp
        self.name, self.xp = name, jnp
        self._modules = [namespace_kernels(jnp), "jax"]
        self._printer = _printer()
        self._compiled = {}

    def lambdify(self, arguments, expressions):
        """``sympy.lambdify`` of ``expressions`` for this namespace (the same printed forms)."""
        printer = self._printer({"fully_qualified_modules": False, "inline": True,
                                 "allow_unknown_functions": True, "user_functions": {}})
        return sp.lambdify(arguments, expressions, modules=self._modules, printer=printer,
                           cse=True)

    def map_columns(self, along, V):
        """along(V[:, p]) for every column p, stacked on a last axis: ``jax.vmap`` of one
        column's code (traced once, batched by XLA), not P copies of it."""
        import jax
        return jax.vmap(along, in_axes=1, out_axes=-1)(V)

    def matmul(self, U, M):
        """U @ M (XLA makes a stack's rows one product itself)."""
        return U @ M

    def times(self, fresh, factor):
        """fresh * factor (arrays are immutable; XLA fuses the product)."""
        return fresh * factor

    def plus(self, fresh, term):
        """fresh + term."""
        return fresh + term

    def sample_sum(self, values):
        """The sum over samples (axis -2) of values (..., N, n)."""
        return values.sum(axis=-2)

    def _cached(self, key, build):
        if key not in self._compiled:
            self._compiled[key] = build()
        return self._compiled[key]

    # -- activations -----------------------------------------------------------------
    def _elementwise(self, act, which):
        a = act.variable
        if which == "h":
            expression, arguments = act.function(a), (a,)
        else:
            expression = value_form(act.derivative if which == "dh" else act.second_derivative,
                                    act.function)
            arguments = (a, sp.Symbol("z", real=True))
        if expression.is_number:
            value = float(expression)
            return lambda *arrays: self.xp.full(arrays[0].shape, value)
        function = self.lambdify(arguments, expression)
        return lambda *arrays: function(*arrays[:len(arguments)])

    def _activation(self, act, which):
        return self._cached((activation_key(act), which), lambda: self._elementwise(act, which))

    def activate(self, net):
        def activate(layer, A):
            act = net.activations[layer - 1]
            if act.elementwise:
                return self._activation(act, "h")(A)
            return self._kernels["stable_softmax"](A)
        return activate

    @property
    def _kernels(self):
        return self._modules[0]

    def slope(self, act, A, Z):
        return self._activation(act, "dh")(A, Z)

    def curvature(self, act, A, Z, slope=None):
        # the slope is not passed on: inside one jax.jit, XLA computes a repeated
        # subexpression such as sech^2(a) once
        return self._activation(act, "d2h")(A, Z)

    # -- the loss's kernels (symnet.graph.loss_kernels), their columns printed again ----------
    def _loss_columns(self, kernel, A, Y, T, dh=None, d2h=None):
        """What ``_Kernel.__call__`` computes, in this namespace: a list of arrays."""
        xp, uses = self.xp, kernel.uses
        function = self._cached(("loss", id(kernel)),
                                lambda: (kernel, self.lambdify(kernel.arguments, kernel.columns)))[1]
        L = -self._kernels["neg_log_softmax"](A) if uses["l"] else A
        D = (self.slope(kernel.act, A, Y) if dh is None else dh) if uses["d"] else A
        E = (self.curvature(kernel.act, A, Y) if d2h is None else d2h) if uses["e"] else A
        width = kernel.width
        split = (lambda X: [X]) if width == 1 else (lambda X: [X[..., k] for k in range(width)])
        shape = A.shape if width == 1 else A.shape[:-1]
        results = function(*split(A), *split(Y), *split(T), *split(L), *split(D), *split(E))
        return [xp.broadcast_to(xp.asarray(r, dtype=xp.float64), shape) for r in results]

    def _vector(self, kernel, columns):
        return columns[0] if kernel.width == 1 else self.xp.stack(columns, axis=-1)

    def _matrix(self, kernel, A, Y, T, dh=None, d2h=None, R=None):
        """What ``_MatrixKernel.__call__`` computes: M (N, K, K), or M applied to R (N, P, K)."""
        xp, shape, K = self.xp, A.shape, A.shape[-1]
        if kernel.constants is not None:
            block = (kernel.constants[0] * xp.eye(K) if kernel.width == 1
                     else xp.asarray(np.asarray(kernel.constants)[kernel.place]))
            return xp.broadcast_to(block, shape + (K,)) if R is None else R @ block.T
        columns = self._loss_columns(kernel, A, Y, T, dh, d2h)
        if kernel.width == 1:  # diagonal
            return columns[0][..., None, :] * R if R is not None else \
                columns[0][..., :, None] * xp.eye(K)
        matrix = xp.stack(columns, axis=-1)[..., kernel.place]
        return matrix if R is None else R @ xp.swapaxes(matrix, -1, -2)

    # A loss of the table (``Loss``) is its SymPy kernels, printed here. The one other loss
    # the engine is given, the residual term's pseudo-error (``matrix_form``), has no
    # kernels of its own: its delta and R{delta} are written against the namespace of
    # their inputs, from the pieces below (``loss_residual``, the output blocks), so they
    # run as they are, here as on NumPy. Told apart by type: a pseudo-loss needs no
    # marker, and a table loss can never take that path by accident.
    def loss_delta(self, loss, A, Y, T, dh):
        if not isinstance(loss, Loss):
            return loss.delta(A, Y, T, dh)
        kernel = loss._kernels.delta
        return self._vector(kernel, self._loss_columns(kernel, A, Y, T, dh))

    def loss_r_delta(self, loss, A, Y, T, dh, d2h, RA):
        if not isinstance(loss, Loss):
            return loss.r_delta(A, Y, T, dh, d2h, RA)
        return self._matrix(loss._kernels.slope, A, Y, T, dh, d2h, RA)

    def loss_residual(self, loss, A, Y, T):
        """r = dE_n/d out (N, K): the loss's ``residual`` kernel (y - t for sse), printed."""
        kernel = loss._kernels.residual
        return self._vector(kernel, self._loss_columns(kernel, A, Y, T))

    def loss_weights(self, loss, Y, T, A):
        return self._matrix(loss._kernels.weights, A, Y, T)

    # -- softmax's derivative blocks (symnet.graph.output_kernels) -------------------------
    def _softmax_block(self, Y, order):
        K = Y.shape[-1]

        def build():
            outputs, entries, shape = block_entries(K, order)
            return self.lambdify([outputs], entries), shape
        function, shape = self._cached(("softmax", K, order), build)
        columns = [self.xp.broadcast_to(self.xp.asarray(v, dtype=self.xp.float64), Y.shape[:-1])
                   for v in function([Y[..., k] for k in range(K)])]
        return self.xp.reshape(self.xp.stack(columns, axis=-1), Y.shape[:-1] + shape)

    def softmax_jacobian(self, Y):
        return self._softmax_block(Y, 1)

    def softmax_curvature(self, Y):
        return self._softmax_block(Y, 2)


@lru_cache(maxsize=None)
def _array_ops(name):
    return ArrayOps(name)


def ops_for(X):
    """The per-layer pieces for the library of X: ``NUMPY`` for NumPy arrays (and anything else)."""
    if isinstance(X, np.ndarray):
        return NUMPY
    return _array_ops("jax") if library_of(X) == "jax" else NUMPY


# -- evaluating a derivation on JAX arrays ---------------------------------------------------
def _refuse_unsupported(derivation, library):
    """SymnetError, before anything is traced, unless ``derivation``'s kind runs on ``library``.

    Every kind does today (``JAX_KINDS`` for an MLP, ``LAYERED_JAX_KINDS`` for a Network
    or RNN, the direct input Jacobian by its substituted entries printed for JAX); a kind
    added without a namespace-agnostic evaluator is refused here, by name.
    """
    from ..graph.layered import LayeredNetwork
    layered = isinstance(derivation.net, LayeredNetwork)
    kinds = LAYERED_JAX_KINDS if layered else JAX_KINDS
    if derivation.kind in kinds:
        return
    raise SymnetError(
        f"{derivation.kind_info.description} (kind {derivation.kind!r}) of "
        f"{'a' if layered else 'an'} {type(derivation.net).__name__} is evaluated on NumPy "
        f"only; {library} runs, for an MLP: {', '.join(sorted(JAX_KINDS))}; for a Network "
        f"or RNN: {', '.join(sorted(LAYERED_JAX_KINDS))}. Pass NumPy arrays "
        "(numpy.asarray(X)).")


def refuse_jax_arrays(derivation, *arrays):
    """For a route that evaluates on NumPy by itself (``evaluate_entries``: the named form
    compiled to NumPy): JAX arrays among ``arrays`` are refused with what runs on JAX.

    Such a route would otherwise convert them with ``numpy.asarray``: a NumPy array back
    for JAX input, and float32 taken without the user asking.

    >>> import symnet
    >>> grad = symnet.gradient(symnet.MLP([1, 1]), "sse")
    >>> refuse_jax_arrays(grad, np.ones((1, 1)), None) is None     # NumPy: nothing to refuse
    True
    """
    if any(library_of(array) == "jax" for array in arrays):
        raise SymnetError(
            f"evaluate_entries of {derivation.kind_info.description} evaluates the named "
            "form compiled to NumPy, and takes NumPy arrays (numpy.asarray(X)); evaluate "
            "runs on JAX arrays")


def _jax_array(jnp, name, value, shape_text):
    """``value`` as a float64 JAX array: JAX float64 kept, NumPy/lists validated, float32 refused."""
    if library_of(value) != "jax":
        from .._validate import _as_float_array
        return jnp.asarray(_as_float_array(value, name))
    dtype = np.dtype(value.dtype)
    if dtype == np.float64:
        return value
    if np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating):
        raise SymnetError(
            f"{name} is a JAX array of {dtype}; symnet evaluates in float64 and does not "
            f"convert lower precision silently (its lost digits cannot be restored). Create "
            f"{name} as float64 (jax.config.update('jax_enable_x64', True) at the start of the "
            f"program, then jnp.asarray(..., dtype=jnp.float64)), or convert explicitly with "
            f"{name}.astype(jnp.float64) if {dtype} inputs are what you mean")
    if dtype == bool or not np.issubdtype(dtype, np.integer):
        raise SymnetError(f"{name} must be a JAX array of numbers {shape_text}; got {dtype}")
    return value.astype(jnp.float64)  # integers: exact in float64 below 2^53


def _jax_inputs(jnp, derivation, X, w, T):
    net = derivation.net
    D, K, W = net.sizes[0], net.sizes[-1], net.n_params
    X = _jax_array(jnp, "X", X, f"of shape (N, {D})")
    single = X.ndim == 1 and X.shape == (D,)
    X = X[None, :] if single else X
    if X.ndim != 2 or X.shape[1] != D or X.shape[0] == 0:
        raise SymnetError(f"X must have shape (N, {D}) (or ({D},) for one sample); got {X.shape}")
    w = _jax_array(jnp, "w", w, f"of shape ({W},)")
    if w.shape != (W,):
        raise SymnetError(f"w must have shape ({W},) (W = {W} parameters in net.params order); "
                          f"got {w.shape}")
    arrays = [X, w]
    if derivation.needs_targets:
        if T is None:
            raise SymnetError("this derivation needs targets T of shape (N, K)")
        T = _jax_array(jnp, "T", T, f"of shape (N, {K})")
        T = T[None, :] if single and T.shape == (K,) else T
        if T.shape != (X.shape[0], K):
            raise SymnetError(f"T must have shape ({X.shape[0]}, {K}) to match X; got {T.shape}")
        arrays.append(T)
    return X, w, T, single


def _checked(evaluator):
    """``evaluator`` with the finiteness of its inputs and of its result, in one compiled call."""
    import jax.numpy as jnp

    def run(*arrays):
        result = evaluator(*arrays)
        finite = [jnp.all(jnp.isfinite(a)) for a in arrays if a is not None]
        return result, jnp.stack(finite + [jnp.all(jnp.isfinite(result))])
    return run


def evaluate_jax(derivation, X, w, T=None, V=None):
    """``derivation.evaluate`` on JAX: one jit-compiled function per derivation, a JAX array back.

    V is the direction (W,) or directions (W, P) of a Hessian-vector product, else None.
    """
    import jax
    import jax.numpy as jnp
    _refuse_unsupported(derivation, "JAX")
    if not jax.config.read("jax_enable_x64"):
        raise SymnetError(
            "symnet evaluates in float64, and JAX is in its default float32 mode: call "
            "jax.config.update('jax_enable_x64', True) at the start of the program, before "
            "any JAX array is made (symnet does not change JAX's settings for you), or pass "
            "NumPy arrays")
    X, w, T, single = _jax_inputs(jnp, derivation, X, w, T)
    compiled = derivation.__dict__.get("_jax_function")
    if compiled is None:  # jax.jit caches one compilation per input shape
        compiled = derivation.__dict__["_jax_function"] = jax.jit(_checked(derivation._evaluator))
    arguments = (X, w, T) if V is None else (X, w, T, _jax_array(jnp, "v", V, "(W,) or (W, P)"))
    result, finite = compiled(*arguments)
    finite = np.asarray(finite)  # waits for the result: one transfer of a few booleans
    names = [name for name, array in zip("XwTv", arguments + (None,)) if array is not None]
    for name, ok in zip(names, finite[:-1]):
        if not ok:
            raise SymnetError(f"{name} must be finite; it has inf or nan entries")
    if not finite[-1]:
        check_finite_result(derivation.kind_info.description, np.asarray(result))
    return result[0] if single and not derivation.summed else result
