"""Shared fixtures.  Every random draw is seeded so failures are reproducible."""
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

# Keep hypothesis' caches/patches out of the repository (we may only write tests/).
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "symnet-tests-hypothesis")

# In CI the property tests draw the same examples every run (a red CI then means a
# change broke something, not that a new random draw was made); locally they explore.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

from helpers import MAZUR, random_problem


def pytest_configure(config):
    # The project runs with warnings as errors; enforce it here too so an overflow
    # in exp() inside the library fails the numerics tests even if the project's
    # own pytest configuration does not say so.
    config.addinivalue_line("filterwarnings", "error")
    # ...except a third-party deprecation raised inside hypothesis' own reporting
    # hook (mypy_extensions), which is not ours and would turn a failure into an
    # INTERNALERROR.
    config.addinivalue_line("filterwarnings",
                            "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


@pytest.fixture
def problem(rng):
    """problem(sizes, n_samples=3, scale=0.7, output=None) -> (X, w, T), seeded."""
    return lambda sizes, **kw: random_problem(rng, sizes, **kw)


@pytest.fixture
def mazur():
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in MAZUR.items()}


@pytest.fixture
def jax_float64():
    """JAX in float64 for a test (symnet never sets it), restored afterwards."""
    jax = pytest.importorskip("jax")
    before = jax.config.read("jax_enable_x64")
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", before)
