"""Provenance: who computed a result, with which library versions, from which bytes, when."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

LIBRARIES = (
    "rai-audit",
    "fairlearn",
    "scikit-learn",
    "pandas",
    "numpy",
    "shap",
    "skops",
    "onnxruntime",
    "duckdb",
)


def provenance(seed: int, files: list[dict[str, str]]) -> dict[str, Any]:
    """Who computed this, with what, from which bytes, when.

    ``files`` lists every file the audit read, each ``{role, path, sha256}`` with the
    path relative to the config file's folder or the working directory; the first is
    the data.
    """
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "data_file": files[0]["path"],
        "data_sha256": files[0]["sha256"],
        "files": files,
        "python": platform.python_version(),
        "versions": versions,
    }
