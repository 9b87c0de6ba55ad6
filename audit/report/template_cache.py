"""The report templates' compiled code, kept as Python keeps its modules' bytecode.

Compiling the report's templates costs 0.4-0.7 s of each report rendered in a new process
(`rai-audit run`, `demo`, `report`), and at detail standard both of the processes that lay
the PDFs out pay it. The compiled code is kept in memory for the life of the process and, for
the next process, in a cache folder, as matplotlib keeps its font list:
``$RAI_AUDIT_CACHE_DIR/templates`` if that is set (set to nothing: no folder), else
``$XDG_CACHE_HOME/rai-audit/templates``, else ``~/.cache/rai-audit/templates``.

An entry is used only when it was compiled from the same template source by the same Jinja
and Python versions (Jinja checks all three); one that cannot be read (truncated, damaged, not
ours) is compiled again and replaced, never an error; a folder that cannot be written only
means the next process compiles again. Writes go through a temporary file renamed into place,
so two audits at once never read a half-written entry.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


def cache_folder() -> Path | None:
    """Where compiled templates are kept between processes; None for nowhere."""
    if (chosen := os.environ.get("RAI_AUDIT_CACHE_DIR")) is not None:
        return Path(chosen) / "templates" if chosen else None
    root = os.environ.get("XDG_CACHE_HOME")
    if not root:
        try:
            root = str(Path.home() / ".cache")
        except RuntimeError:  # no home folder to be found
            return None
    return Path(root) / "rai-audit" / "templates"


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, in memory and in :func:`cache_folder`.

    Compiled code does not depend on an environment's finalizer (each report makes its own:
    it knows the result's labels), except for constant ``{{ "..." }}`` outputs, and no
    template prints a label as a constant.
    """

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], Any] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        bucket.code = self._code.get((bucket.key, bucket.checksum))
        if bucket.code is None:
            self._read(bucket)
            if bucket.code is not None:
                self._code[(bucket.key, bucket.checksum)] = bucket.code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(bucket.key, bucket.checksum)] = bucket.code
        self._write(bucket)

    def clear(self) -> None:
        """Forget the compiled code held in memory (the cache folder keeps its copy)."""
        self._code.clear()

    @staticmethod
    def _read(bucket: Bucket) -> None:
        folder = cache_folder()
        if folder is None:
            return
        try:
            with open(folder / f"{bucket.key}.jinja", "rb") as file:
                # Resets the bucket when the source, Jinja or Python differ.
                bucket.load_bytecode(file)
        except Exception:  # noqa: BLE001 (missing, unreadable or damaged: compile anew)
            bucket.reset()

    @staticmethod
    def _write(bucket: Bucket) -> None:
        folder = cache_folder()
        if folder is None:
            return
        temporary = None
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as file:
                temporary = file.name
                bucket.write_bytecode(file)
            os.replace(temporary, folder / f"{bucket.key}.jinja")
        except OSError:  # a read-only or full disk: the next process compiles again
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
