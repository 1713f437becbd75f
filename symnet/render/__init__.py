"""LaTeX: derivations shown in Bishop's notation, and standalone documents.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive`` and the base modules.
"""
