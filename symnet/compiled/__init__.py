"""Compiled evaluation: the layer-by-layer matrix form, run on all samples at once.

Takes its per-layer pieces (h', h'', dz/da, the loss's delta, Lambda, R{delta}) from
the rules of ``symnet.graph``, compiled to NumPy. May import: ``symnet.graph`` and the
base modules (``errors``, ``_validate``, ``_size``).
"""
