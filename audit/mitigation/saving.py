"""Saving a mitigated model: skops bytes, written by the CLI with the other outputs.

The model is serialised in memory so the CLI can write it atomically together with
results.json and the report (all or nothing). It is loaded back by
:func:`audit.model_files.load_model`, whose allow-list includes this package's
estimators (``EXTRA_TRUSTED_TYPES`` there).
"""

from __future__ import annotations

from typing import Any

from audit import model_files


def model_bytes(model: Any) -> bytes:
    """The model as a skops file's bytes (never pickle)."""
    return model_files.model_bytes(model)
