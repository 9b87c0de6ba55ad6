"""Saving a mitigated model: skops bytes, written by the CLI with the other outputs.

The model is serialised in memory so the CLI can write it atomically together with
results.json and the report (all or nothing). It is loaded back by
:func:`audit.models.load_model`, whose trusted types include this package's
estimators (see ``TRUSTED_PREFIXES`` there).
"""

from __future__ import annotations

from typing import Any

import skops.io as sio


def model_bytes(model: Any) -> bytes:
    """The model as a skops file's bytes (never pickle)."""
    return sio.dumps(model)
