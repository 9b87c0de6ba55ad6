"""Data-quality checks run after loading and splitting, before any model is trained.

The entry points live in :mod:`audit.quality.runner` (``assess_quality``,
``stop_on_errors``); this package file imports nothing so that
:mod:`audit.config` can read the check catalogue without an import cycle.
"""
