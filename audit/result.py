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
from audit.text import parse_problem, printable, read_text

SCHEMA_VERSION = "1.0"
# What a report cannot be drawn without: the sections every audit writes and, in each, keys
# that every kind of audit (trained model, model file, predictions, regression) fills in.
# Later sections (quality, mitigation, explanations, ...) are optional as a whole.
REPORT_NEEDS = {
    "provenance": ("created_at", "data_sha256", "versions"),
    "config": (),
    "data": ("file", "n_rows", "target", "sensitive", "columns"),
    "model": ("source",),
    "performance": ("n",),
    "fairness": ("evaluated_on", "features"),
}
LIBRARIES = ("rai-audit", "fairlearn", "scikit-learn", "pandas", "numpy", "shap", "skops")


def provenance(seed: int, data_sha256: str, data_path: str) -> dict[str, Any]:
    """Who computed this, with what, from which bytes, when."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": seed,
        "data_file": data_path,
        "data_sha256": data_sha256,
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
    text = read_text(path, "Results file")
    try:
        result = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditError(f"{path} is not valid JSON: {parse_problem(exc)}.") from None
    if not isinstance(result, dict) or "schema_version" not in result:
        raise AuditError(f"{path} is not a rai-audit results file (no schema_version).")
    major = str(result["schema_version"]).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise AuditError(
            f"{path} has schema_version {printable(result['schema_version'])}; this rai-audit "
            f"reads {SCHEMA_VERSION.split('.')[0]}.x. Re-run the audit with this version."
        )
    _check_complete(result, path)
    return result


def _check_complete(result: dict[str, Any], path: Path) -> None:
    """Refuse a results file without a section (or a key of one) that the report needs."""
    for section, keys in REPORT_NEEDS.items():
        part = result.get(section)
        if not isinstance(part, dict):
            state = "has no" if part is None else "has a malformed"
            raise AuditError(
                f"{path} {state} '{section}' section, which the report needs; it is incomplete "
                "or was edited. Re-run the audit to write a complete results.json."
            )
        missing = [key for key in keys if key not in part]
        if missing:
            raise AuditError(
                f"{path}: the '{section}' section lacks {', '.join(missing)}, which the report "
                "needs. Re-run the audit to write a complete results.json."
            )
    if not isinstance(result["fairness"]["features"], list):
        raise AuditError(f"{path}: 'fairness.features' must be a list; re-run the audit.")
