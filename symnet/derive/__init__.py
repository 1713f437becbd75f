"""Derivations: exact symbolic derivatives in named intermediates (Bishop's notation).

Each derivation is a ``Derivation`` holding its named form, its definitions and the
compiled evaluator that runs it. May import: ``symnet.graph``, ``symnet.compiled`` and
the base modules.
"""
