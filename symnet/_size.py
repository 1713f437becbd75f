"""Size estimates that refuse symbolic work too large to finish, before it starts.

A symbolic derivation keeps one expression per entry, so the Hessian of a network
with W parameters holds W^2 expressions (9,000 parameters: 81 million, tens of
GB). Fully substituted expressions (``.matrix``, the direct Jacobian route) grow
as the product of the layer widths, since every path from an input to an output
appears once. Numbers here are limits, stated in the errors they raise.
"""

import math

from .errors import TooLargeError

MAX_ENTRIES = 2_000_000          # symbolic entries in one derivation
MAX_HESSIAN_ENTRIES = 300_000    # W^2 for the exact Hessian (W <= 547): each entry is an R-operator sum
SECONDS_PER_HESSIAN_ENTRY = 2.5e-4  # measured: [8, 16, 4] (W = 212, 44,944 entries) in about 11 s
MAX_EXPANDED_TERMS = 5_000_000   # leaves of one fully substituted entry, times entries
BYTES_PER_ENTRY = 2_000          # a measured order of magnitude for one small SymPy expression


MAX_NETWORK_PARAMS = 200_000     # one SymPy symbol per parameter, plus the graph's expressions


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
    if entries > MAX_HESSIAN_ENTRIES:
        minutes = entries * SECONDS_PER_HESSIAN_ENTRY / 60
        raise TooLargeError(
            f"the Hessian of a network with W = {n_params} parameters has {entries:,} symbolic "
            f"entries (about {minutes:,.0f} minutes to derive; the limit is "
            f"{MAX_HESSIAN_ENTRIES:,} entries, W <= {int(MAX_HESSIAN_ENTRIES ** 0.5)}). Its "
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
