"""The audit result: one plain, JSON-ready dict, saved as ``results.json``.

Keeping the result as plain data (not live objects) is what lets a report be
re-rendered later from ``results.json`` alone, and lets CI gates and other tools
read the same numbers the report shows. Top-level keys:

``schema_version``, ``provenance``, ``config``, ``data``, ``model``,
``performance``, ``fairness``, plus one key per later stage that ran.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from audit.errors import AuditError

SCHEMA_VERSION = "1.0"
LIBRARIES = (
    "rai-audit",
    "fairlearn",
    "scikit-learn",
    "pandas",
    "numpy",
    "shap",
    "skops",
    "onnxruntime",
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


def _jsonable(value: Any) -> Any:
    """numpy types -> Python; NaN/inf -> None, so the JSON is strict (no NaN tokens)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(_jsonable(result), indent=2, ensure_ascii=False, allow_nan=False)


def load_result(path: Path) -> dict[str, Any]:
    """Read a saved results.json, checking it is one this version can render."""
    if not path.is_file():
        raise AuditError(f"Results file not found: {path}.")
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AuditError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(result, dict) or "schema_version" not in result:
        raise AuditError(f"{path} is not a rai-audit results file (no schema_version).")
    major = str(result["schema_version"]).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise AuditError(
            f"{path} has schema_version {result['schema_version']}; this rai-audit reads "
            f"{SCHEMA_VERSION.split('.')[0]}.x. Re-run the audit with this version."
        )
    return result
