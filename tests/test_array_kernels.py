"""The array-API kernels (printed for JAX) and NumPy's kernels are one formula each.

``symnet.compiled.array_kernels`` restates the stable kernels of ``symnet.graph.numerics``
in the array API's functions; both must give the same numbers (to a few ulps) everywhere,
including the extremes where a naive form loses its digits, and both must match mpmath.
"""
import mpmath
import numpy as np
import pytest

from symnet.compiled.array_kernels import namespace_kernels
from symnet.graph import numerics

ARRAY = namespace_kernels(np)
POINTS = np.concatenate([np.linspace(-40, 40, 801), [0.0, 1e-300, -1e-8, 19.5, 354.0, 360.0,
                                                      400.0, 709.0, 711.0, -1e3, 1e3]])


def _relative(got, want):
    scale = np.maximum(np.abs(want), np.finfo(float).tiny)
    return np.max(np.abs(got - want) / scale)


@pytest.mark.parametrize("name", ["stable_sigmoid", "sech_squared"])
def test_one_argument_kernels_agree_with_numpy_and_mpmath(name):
    a = POINTS
    got_array, got_numpy = ARRAY[name](a), getattr(numerics, name)(a)
    mpmath.mp.dps = 50
    exact = {"stable_sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
             "sech_squared": lambda x: mpmath.sech(x) ** 2}[name]
    want = np.array([float(exact(mpmath.mpf(float(x)))) for x in a])
    normal = want > np.finfo(float).tiny  # subnormal results have fewer digits by nature
    # a few ulps (sigma as e / (1 + e): the old exp(-logaddexp(0, -a)) lost 3.4e-15 at a = -33)
    bound = 1e-15
    assert _relative(got_array[normal], want[normal]) < bound
    assert _relative(got_numpy[normal], want[normal]) < bound
    if name == "stable_sigmoid":  # the very same formula on both: the same numbers
        assert np.array_equal(got_array, got_numpy)
    assert np.all(np.abs(got_array[~normal] - want[~normal]) <= 1e-320)


@pytest.mark.parametrize("name", ["sigmoid_residual", "tanh_residual"])
def test_residual_kernels_agree_with_numpy(name):
    a = POINTS[:, None]
    t = np.array([[0.0, 0.25, 1.0]]) if name == "sigmoid_residual" else np.array([[-1.0, 0.3, 1.0]])
    got_array, got_numpy = ARRAY[name](a, t), getattr(numerics, name)(a, t)
    assert np.allclose(got_array, got_numpy, rtol=4e-15, atol=1e-300)


def test_softmax_kernels_agree_with_numpy():
    a = np.array([[1e3, 0.0, -1e3], [0.5, 0.25, -0.75], [-40.0, -40.0, 2.0]])
    assert np.allclose(ARRAY["stable_softmax"](a), numerics.stable_softmax(a), rtol=4e-16, atol=0)
    assert np.allclose(ARRAY["neg_log_softmax"](a), numerics.neg_log_softmax(a), rtol=4e-15,
                       atol=0)


def test_tanh_slope_in_value_form_keeps_every_digit():
    # tanh'(a) as the engine runs it, from (a, z = tanh a), against mpmath's sech(a)^2 at 50
    # digits: densely around 0 and |z| = 0.8 (a = atanh 0.8 = 1.0986, where a slope that
    # switched to 1 - z^2 would show its seam) and out to where the textbook 1 - z^2 has
    # lost every digit (|a| >= 19); the engine's NumPy slope and the array kernel on NumPy
    switch = float(mpmath.atanh(0.8))
    a = np.concatenate([POINTS, np.linspace(-1.5, 1.5, 3001),
                        switch + np.linspace(-1e-6, 1e-6, 201), [-switch, 1e-12, 0.7, 0.81]])
    z = np.tanh(a)
    from symnet.graph.activations import activation
    got = activation("tanh").derivative_numpy_az(a, z)
    mpmath.mp.dps = 50
    want = np.array([float(mpmath.sech(mpmath.mpf(float(x))) ** 2) for x in a])
    normal = want > np.finfo(float).tiny
    assert _relative(got[normal], want[normal]) < 1e-15
    assert np.all(np.abs(got[~normal] - want[~normal]) <= 1e-320)
    textbook = 1 - z * z
    assert _relative(textbook[normal], want[normal]) > 1e-3    # the form it replaces does not
    assert _relative(ARRAY["sech_squared"](a)[normal], want[normal]) < 1e-15


def test_tanh_slope_on_jax_keeps_every_digit(jax_float64):
    # the array kernel printed for JAX, against mpmath (jax.numpy's own cosh is off by up
    # to 4e-15, so the kernel does not use it)
    import jax.numpy as jnp
    a = np.concatenate([POINTS, np.linspace(-1.5, 1.5, 3001)])
    mpmath.mp.dps = 50
    want = np.array([float(mpmath.sech(mpmath.mpf(float(x))) ** 2) for x in a])
    normal = want > np.finfo(float).tiny
    on_jax = np.asarray(namespace_kernels(jnp)["sech_squared"](jnp.asarray(a)))
    assert on_jax.dtype == np.float64
    assert _relative(on_jax[normal], want[normal]) < 1e-15
    # XLA on CPU flushes subnormal results to zero (as it did 1 / cosh(360)^2): below the
    # smallest normal float, never above it
    assert np.all(np.abs(on_jax[~normal] - want[~normal]) <= np.finfo(float).tiny)
