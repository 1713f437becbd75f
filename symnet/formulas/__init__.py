"""Formulas a person types: safe parsing, exact verification, named mistakes.

May import: ``symnet.graph``, ``symnet.compiled``, ``symnet.derive``, ``symnet.render``
and the base modules.
"""
