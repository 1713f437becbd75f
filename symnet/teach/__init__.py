"""Lessons support: canonical examples, views (widget callbacks), widgets, plots.

May import every stage above it; nothing imports it but the CLI and the lessons.
"""
