"""Data-quality checks run after loading and splitting, before any model is trained.

The entry points live in :mod:`audit.quality.runner` (``assess_quality``,
``stop_on_errors``); the check ids and titles are vocabulary
(:mod:`audit.vocabulary.checks`).
"""
