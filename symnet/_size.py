"""Size estimates that refuse work too large to finish, before it starts.

Two kinds of work are estimated: symbolic derivations (below) and dense numeric
W x W curvature (``curvature_report``, Newton steps; the last section), each
refused with ``TooLargeError`` stating the estimate, the limit and what to use
instead. ``estimate_*`` functions return the estimate without refusing.

A symbolic derivation keeps one expression per entry, so the Hessian of a network
with W parameters holds W^2 expressions (9,000 parameters: 81 million, tens of
GB). Fully substituted expressions (``.matrix``, the direct Jacobian route) grow
as the product of the layer widths, since every path from an input to an output
appears once. Numbers here are limits, stated in the errors they raise.
"""

import math
from dataclasses import dataclass

from .errors import TooLargeError

MAX_ENTRIES = 2_000_000          # symbolic entries in one derivation
# The exact symbolic Hessian's limit in parameters, W <= 1000: the one number (defined here
# only) that the README, the docs and benchmarks/bench_core.py quote. Its W^2 entries are
# R-operator sums; benchmarks/bench_symbolic.py times them.
MAX_HESSIAN_PARAMS = 1000
MAX_HESSIAN_ENTRIES = MAX_HESSIAN_PARAMS ** 2
# measured on the shared 2-core machine under load: [8, 16, 4] (44,944 entries) in 1.3 s,
# [8, 16, 16, 4] (234,256) in 11 s, [8, 32, 16, 8] (906,304) in 46 s and 0.4 GB
SECONDS_PER_HESSIAN_ENTRY = 5e-5
MAX_EXPANDED_TERMS = 5_000_000   # leaves of one fully substituted entry, times entries
BYTES_PER_ENTRY = 2_000          # a measured order of magnitude for one small SymPy expression


MAX_NETWORK_PARAMS = 200_000     # one SymPy symbol per parameter, plus the graph's expressions


# Directional tensors (N, P, n_l) are cut into sample chunks of this many floats.
CHUNK_ELEMENTS = 4_000_000

def check_network_size(sizes):
    """Refuse to build the expression graph of a network with too many parameters."""
    n_params = sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    if n_params > MAX_NETWORK_PARAMS:
        gigabytes = n_params * BYTES_PER_ENTRY / 1e9
        raise TooLargeError(
            f"a network of sizes {list(sizes)} has W = {n_params:,} parameters: its expression "
            f"graph needs one SymPy symbol and expression per parameter (about {gigabytes:,.1f} "
            f"GB; the limit is {MAX_NETWORK_PARAMS:,}). symnet derives formulas for networks "
            "small enough to read; use a smaller network to study the derivatives.")


def check_hessian(n_params):
    """Refuse an exact symbolic Hessian whose W^2 entries would take more than minutes."""
    entries = n_params ** 2
    if n_params > MAX_HESSIAN_PARAMS:
        minutes = entries * SECONDS_PER_HESSIAN_ENTRY / 60
        raise TooLargeError(
            f"the Hessian of a network with W = {n_params} parameters has {entries:,} symbolic "
            f"entries (about {minutes:,.0f} minutes to derive; the limit is "
            f"{MAX_HESSIAN_ENTRIES:,} entries, W <= {MAX_HESSIAN_PARAMS}). Its "
            "products with vectors can be evaluated numerically without deriving it, or use a "
            "smaller network.")


def check_entries(what, n_entries, n_params):
    """Refuse a derivation with more than ``MAX_ENTRIES`` symbolic entries."""
    if n_entries > MAX_ENTRIES:
        gigabytes = n_entries * BYTES_PER_ENTRY / 1e9
        raise TooLargeError(
            f"{what} of a network with W = {n_params} parameters has {n_entries:,} symbolic "
            f"entries (about {gigabytes:,.0f} GB as SymPy expressions; the limit is "
            f"{MAX_ENTRIES:,}). Evaluate it numerically without deriving it symbolically, "
            "or use a smaller network.")


SECONDS_PER_DIRECT_TERM = 1.4e-4  # layered direct route: per leaf and Jacobian entry (measured)
MAX_DIRECT_SECONDS = 60.0


def check_direct_route(what, terms, n_entries):
    """Refuse differentiating fully substituted outputs (``terms`` leaves each) when slow.

    Substituting and differentiating costs about SECONDS_PER_DIRECT_TERM per leaf and
    entry (a Residual block doubles the paths through it, so 10 of them already give
    10^5 leaves per output).

    >>> check_direct_route("the direct input Jacobian", 256_000, 2)
    Traceback (most recent call last):
    ...
    symnet.errors.TooLargeError: the direct input Jacobian differentiates 2 entries of about 256,000 terms each: about 72 s to derive (the limit is 60 s). Use method="backprop": the named recursion, no substitution.
    """
    seconds = terms * n_entries * SECONDS_PER_DIRECT_TERM
    if seconds > MAX_DIRECT_SECONDS:
        raise TooLargeError(
            f"{what} differentiates {n_entries:,} entries of about {terms:,} terms each: about "
            f"{seconds:,.0f} s to derive (the limit is {MAX_DIRECT_SECONDS:.0f} s). Use "
            'method="backprop": the named recursion, no substitution.')


def expanded_terms(net):
    """Leaves of one fully substituted output: one per path from an input to an output."""
    return math.prod(net.sizes[:-1])


def check_expansion(net, n_entries=1):
    """Refuse substituting the whole graph when the expressions would be too large to use."""
    terms = expanded_terms(net) * max(n_entries, 1)
    if terms > MAX_EXPANDED_TERMS:
        raise TooLargeError(
            f"fully substituting the graph of {net!r} gives about {terms:,} terms (one per path "
            f"from an input to an output; the limit is {MAX_EXPANDED_TERMS:,}). Use the named "
            "form (derivation.named with derivation.definitions) instead.")


# -- estimates stated in seconds and bytes ------------------------------------------------
# The constants below were measured on the project's 2-core machine (float64, OpenBLAS
# with one thread: with two, other jobs on the same cores made the times vary five-fold),
# each mid-range of its measurements, so an estimate is within a factor of 2-3 of a run
# on one core (a run with more cores free is faster). Bytes are peak memory.
MAX_DENSE_BYTES = 1e9                # 1 GB of dense W x W matrices and work space
MAX_CURVATURE_SECONDS = 30.0         # one curvature_report
MAX_NEWTON_STEP_SECONDS = 5.0        # one Newton iteration (a fit takes tens of them)
MAX_INPUT_HESSIAN_SECONDS = 60.0     # deriving the input Hessian symbolically
SECONDS_PER_HVP_TERM = 2e-9          # R-operator pass: per sample, direction and parameter
HVP_TENSORS = 5.5                    # R{a}, R{z}, R{delta} and temporaries, per chunk element
SECONDS_PER_GN_TERM = 1e-10          # sum_n B_n^T Lambda_n B_n: per sample, output and W^2
SECONDS_PER_EIGVALSH = 1.5e-10       # np.linalg.eigvalsh of a Hessian, times W^3 (random: 1e-10)
SECONDS_PER_EIGH = 2.4e-10           # np.linalg.eigh (with eigenvectors): times W^3
SECONDS_PER_INPUT_HESSIAN_TERM = 2.5e-4  # measured 1.6e-4 (quiet) to 5.4e-4 (loaded) s per term
BYTES_PER_INPUT_HESSIAN_TERM = 300   # measured 210 to 350 bytes per term


@dataclass(frozen=True)
class Estimate:
    """What a computation will cost, estimated before it runs.

    Examples
    --------
    >>> print(Estimate("one Newton iteration", 12.5, 3 * 2 ** 30))
    one Newton iteration: about 12 s and 3.2 GB
    """

    what: str
    seconds: float
    bytes: float

    def __str__(self):
        return f"{self.what}: about {_duration(self.seconds)} and {_size(self.bytes)}"


def _duration(seconds):
    if seconds >= 120:
        return f"{seconds / 60:,.0f} minutes"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def _size(n_bytes):
    return f"{n_bytes / 1e9:.2g} GB" if n_bytes >= 1e8 else f"{n_bytes / 1e6:.2g} MB"


def _refuse(estimate, seconds_limit, bytes_limit, advice):
    """TooLargeError when the estimate passes either limit; the message states all four."""
    if estimate.seconds <= seconds_limit and estimate.bytes <= bytes_limit:
        return
    raise TooLargeError(
        f"{estimate} (estimated; the limits are {_duration(seconds_limit)} and "
        f"{_size(bytes_limit)}). {advice}")


def _hvp_cost(net, n_samples, n_directions):
    """(seconds, bytes) of ``engine.hessian_vector_values`` with ``n_directions`` directions."""
    W, widths = net.n_params, sum(net.sizes)
    chunk = min(n_samples, max(1, CHUNK_ELEMENTS // (max(net.sizes) * n_directions)))
    seconds = SECONDS_PER_HVP_TERM * n_samples * n_directions * W
    # the result and its running total (W x P), and per chunk of samples the directional
    # tensors of every layer (chunk, P, n_l)
    n_bytes = 8 * (2 * W * n_directions + HVP_TENSORS * chunk * n_directions * widths)
    return seconds, n_bytes


def estimate_curvature_report(net, n_samples):
    """The cost of ``curvature_report``: three dense W x W matrices, two eigendecompositions.

    H and the residual term come from W Hessian-vector products each (the columns
    of the identity), GN from the parameter Jacobian; the H and GN spectra from
    ``np.linalg.eigvalsh``. Memory: 8 W^2 bytes per matrix, three of them alive
    with the identity while the residual term is formed, plus the R-operator's
    tensors; time: 2 N W^2 (R-operator) + N K W^2 (GN) + 2 W^3 (spectra), each
    times its measured constant.

    Examples
    --------
    >>> from symnet import MLP
    >>> print(estimate_curvature_report(MLP([8, 64, 64, 4]), n_samples=94))
    curvature_report of MLP([8, 64, 64, 4], hidden='tanh', output='linear')
    (W = 4996, N = 94): about 48 s and 1.4 GB
    """
    W, K = net.n_params, net.sizes[-1]
    hvp_seconds, hvp_bytes = _hvp_cost(net, n_samples, W)
    seconds = (2 * hvp_seconds + SECONDS_PER_GN_TERM * n_samples * K * W ** 2
               + 2 * SECONDS_PER_EIGVALSH * W ** 3)
    n_bytes = max(8 * 3 * W ** 2 + hvp_bytes, 8 * 5 * W ** 2)
    return Estimate(f"curvature_report of {net!r} (W = {W}, N = {n_samples})", seconds, n_bytes)


def check_curvature_report(net, n_samples):
    """Refuse a ``curvature_report`` estimated past its time or memory limit."""
    _refuse(estimate_curvature_report(net, n_samples), MAX_CURVATURE_SECONDS, MAX_DENSE_BYTES,
            "Without forming W x W matrices: the extreme eigenvalues of H by Lanczos on "
            "Hessian-vector products (symnet.hessian_vector_product(net, loss).evaluate(X, w, "
            "T, v), O(N W) per product, in scipy.sparse.linalg.eigsh through a LinearOperator); "
            "Gauss-Newton products J^T (J v) from J = symnet.param_jacobian(net).evaluate(X, "
            "w).reshape(N * K, W); or fewer samples, or a smaller network.")


def estimate_newton_step(net, n_samples):
    """The cost of one ``fit(method="newton")`` iteration: the dense Hessian and its eigh.

    H from W Hessian-vector products, then the scaled, symmetrised H and its
    eigendecomposition (``np.linalg.eigh``, eigenvectors kept to solve for every
    damping): time N W^2 + W^3, memory about seven W x W arrays during eigh.

    Examples
    --------
    >>> from symnet import MLP
    >>> print(estimate_newton_step(MLP([8, 64, 64, 4]), n_samples=94))
    one Newton iteration on MLP([8, 64, 64, 4], hidden='tanh', output='linear')
    (W = 4996, N = 94): about 35 s and 1.4 GB
    """
    W = net.n_params
    hvp_seconds, hvp_bytes = _hvp_cost(net, n_samples, W)
    seconds = hvp_seconds + SECONDS_PER_EIGH * W ** 3
    n_bytes = max(8 * W ** 2 + hvp_bytes, 8 * 7 * W ** 2)
    return Estimate(f"one Newton iteration on {net!r} (W = {W}, N = {n_samples})", seconds,
                    n_bytes)


def check_newton_step(net, n_samples):
    """Refuse Newton iterations estimated past their time or memory limit (per iteration)."""
    _refuse(estimate_newton_step(net, n_samples), MAX_NEWTON_STEP_SECONDS, MAX_DENSE_BYTES,
            "Use a first-order method (method='adam' or 'gd'), whose iteration costs one "
            "gradient, O(N W); or Newton-CG on Hessian-vector products "
            "(symnet.hessian_vector_product, H v without forming H); or a smaller network.")


def input_hessian_terms(net):
    """Symbolic products the input Hessian's second-order forward recursion builds.

    Per layer l >= 2, each of the n_l n_(l-1) weights enters D first derivatives
    and D (D + 1) / 2 second ones; the outputs add K D^2 entries (softmax couples
    them: K^3 D^2 more).

    Examples
    --------
    >>> from symnet import MLP
    >>> input_hessian_terms(MLP([2, 3, 1]))           # 1*3*(2 + 3) + 1*2^2
    19
    """
    D, K, sizes = net.sizes[0], net.sizes[-1], net.sizes
    terms = sum(sizes[l] * sizes[l - 1] * (D + D * (D + 1) // 2) for l in range(2, len(sizes)))
    terms += K * D * D
    if not net.activations[-1].elementwise:
        terms += K ** 3 * (D * D + 1)
    return terms


def estimate_input_hessian(net):
    """The cost of deriving ``input_hessian(net)`` symbolically.

    Examples
    --------
    >>> from symnet import MLP
    >>> print(estimate_input_hessian(MLP([16, 64, 64, 4])))
    the input Hessian of MLP([16, 64, 64, 4], hidden='tanh', output='linear')
    (662,528 symbolic terms): about 3 minutes and 0.2 GB
    """
    terms = input_hessian_terms(net)
    return Estimate(f"the input Hessian of {net!r} ({terms:,} symbolic terms)",
                    SECONDS_PER_INPUT_HESSIAN_TERM * terms, BYTES_PER_INPUT_HESSIAN_TERM * terms)


def check_input_hessian(net):
    """Refuse an input Hessian whose derivation is estimated past ``MAX_INPUT_HESSIAN_SECONDS``."""
    _refuse(estimate_input_hessian(net), MAX_INPUT_HESSIAN_SECONDS, MAX_DENSE_BYTES,
            "Its numbers need no symbolic derivation: differentiate the exact input Jacobian "
            "numerically, (J(x + h e_m) - J(x - h e_m)) / 2h with J = "
            "symnet.input_jacobian(net).evaluate (error O(h^2)); or use a network with fewer "
            "inputs or narrower layers.")
