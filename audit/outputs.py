"""Writing results.json, report.html, report.pdf and the model file, all or nothing.

Everything is rendered in memory first, written to hidden temporary files, and
only then renamed into place, so a failed run never leaves a half-written report
or a report that disagrees with results.json.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from audit import model_files
from audit.errors import AuditError
from audit.report.pdf import render_pdf
from audit.report.render import figures, render_html
from audit.report.tables import table_files
from audit.result import AuditResult

FILE_NAMES = {"json": "results.json", "html": "report.html", "pdf": "report.pdf"}
MODEL_FILE = "model.skops"


def render_outputs(
    result: AuditResult, formats: Iterable[str], say: Callable[[str], None] = lambda m: None
) -> dict[str, bytes]:
    """Bytes of each requested output, keyed by file name."""
    formats = list(dict.fromkeys(formats))
    rendered: dict[str, bytes] = {}
    results_json = result.to_json().encode("utf-8")
    if "json" in formats:
        rendered[FILE_NAMES["json"]] = results_json
    if "html" in formats or "pdf" in formats:
        say("Rendering report")
        # A JSON round trip gives the templates exactly what a saved results.json would,
        # so a report rendered now equals one re-rendered later from the file.
        plain = json.loads(results_json)
        figs = figures(plain)
        html = render_html(plain, figs)
        if "html" in formats:
            rendered[FILE_NAMES["html"]] = html.encode("utf-8")
            rendered.update(table_files(plain))  # the long tables, complete, beside the report
        if "pdf" in formats:
            say("Rendering PDF")
            pdf_html = render_html(plain, figs, for_pdf=True)  # same figures, fonts by name
            rendered[FILE_NAMES["pdf"]] = render_pdf(pdf_html, {FILE_NAMES["json"]: results_json})
    return rendered


def write_outputs(out_dir: Path, files: dict[str, bytes], model: Any | None = None) -> list[Path]:
    """Write all files atomically into ``out_dir``; return their final paths."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(f"Cannot create output directory {out_dir}: {exc}") from None
    staged: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():
            final = out_dir / name
            final.parent.mkdir(parents=True, exist_ok=True)  # e.g. tables/
            tmp = final.with_name(f".{final.name}.tmp")
            tmp.write_bytes(content)
            staged.append((tmp, final))
        if model is not None:
            tmp = out_dir / f".{MODEL_FILE}.tmp.skops"
            model_files.save_model(model, tmp)
            staged.append((tmp, out_dir / MODEL_FILE))
    except BaseException as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        (out_dir / f".{MODEL_FILE}.tmp.skops").unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise AuditError(f"Cannot write to {out_dir}: {exc}") from None
        raise
    for tmp, final in staged:
        tmp.replace(final)
    return [final for _, final in staged]
