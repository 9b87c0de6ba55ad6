"""The evidence manifest of an audit folder: what is in it, byte for byte, and what it read.

``manifest.json`` (manifest version 1) is written with every audit, in the same
all-or-nothing commit as the files it lists (audit/outputs.py). It holds:

* ``files``: every file rai-audit wrote in the folder (results, reports, tables, models,
  the demo's data and config...), by relative path, each with its SHA-256, size and role.
  These are also the files a later run may replace or remove: a file not listed here is
  not rai-audit's and is never removed;
* ``inputs``: the files the audit read (data, a loaded model, the config file, checklist
  files), each with the path shown in ``results.json``, where it was read (relative to the
  folder), whether it lies in the folder, and the SHA-256 of the bytes the audit read;
* ``config_sha256``: the SHA-256 of the resolved config as stored in ``results.json``
  (canonical JSON: sorted keys, no spaces);
* the tool version, the creation time and, when the manifest is signed, the fingerprint
  of the signing key (the signature itself is ``manifest.json.sig``: audit/signing.py).

:func:`verify` recomputes every hash. Earlier versions kept the list of files written in
``.rai-audit-manifest.json`` (names only); such a folder is still recognised, and its
first new run replaces that file by ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any

from audit import __version__
from audit.data import sha256_of
from audit.errors import AuditError
from audit.vocabulary.compliance import LL144_SUMMARY_FILES
from audit.vocabulary.report import REPORT_FILES

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.sig"
LEGACY_MANIFEST = ".rai-audit-manifest.json"  # names only, written before manifest version 1
KIND = "rai-audit evidence manifest"
MANIFEST_VERSION = 1
# One list of the report's files (audit/vocabulary/report.py) and of the LL144 summary's.
REPORT_ROLES = {
    "results.json": "results",
    **{name: "report" for name in REPORT_FILES.values()},
    **{name: "report" for name in LL144_SUMMARY_FILES.values()},
}


@dataclass(frozen=True)
class InputFile:
    """A file the audit read: its role, the path ``results.json`` shows, the SHA-256 of the
    bytes read, and where it was read (absolute; None when there is no file, e.g. a
    DataFrame given in memory)."""

    role: str
    path: str
    sha256: str
    location: str | None = None

    def record(self, directory: Path) -> dict[str, Any]:
        """The manifest's entry, the location relative to the audit folder ``directory``:
        the folder and its data verify wherever they are moved together, and the manifest
        does not show where they were (an absolute path only when there is no relative one,
        e.g. another drive)."""
        entry: dict[str, Any] = {"role": self.role, "path": self.path, "sha256": self.sha256}
        name = None if self.location is None else relative_name(Path(self.location), directory)
        if name is not None:
            entry["location"] = name
        elif self.location is not None:
            try:
                entry["location"] = Path(
                    os.path.relpath(Path(self.location).absolute(), directory.absolute())
                ).as_posix()
            except ValueError:  # another drive (Windows)
                entry["location"] = self.location
        else:
            entry["location"] = None
        entry["in_folder"] = name is not None
        return entry


@dataclass(frozen=True)
class Evidence:
    """What a manifest says about the audit beyond the folder's files."""

    inputs: tuple[InputFile, ...] = ()
    config_sha256: str | None = None


def config_digest(results: Mapping[str, Any]) -> str | None:
    """SHA-256 of the config stored in a result (canonical JSON); None when it has none."""
    config = results.get("config")
    if not isinstance(config, Mapping):
        return None
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def evidence_of(
    results_json: str,
    read_from: Mapping[str, str] | None = None,
    extra: Iterable[InputFile] = (),
) -> Evidence:
    """The evidence of a result: the files its provenance lists (located with
    ``read_from``, shown path -> absolute path), then ``extra`` inputs (config file...)."""
    results = json.loads(results_json)
    read = results.get("provenance", {}).get("files", [])
    places = read_from or {}
    inputs = [
        InputFile(f["role"], f["path"], f["sha256"], places.get(f["path"]))
        for f in read
        if isinstance(f, Mapping) and {"role", "path", "sha256"} <= set(f)
    ]
    return Evidence(tuple([*inputs, *extra]), config_digest(results))


def input_file(role: str, path: Path, shown: str | None = None) -> InputFile:
    """An input read from ``path`` now (the config file, checklist files, a results.json)."""
    try:
        digest = sha256_of(path)
    except OSError as exc:
        raise AuditError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return InputFile(role, shown or str(path), digest, str(path.absolute()))


def file_entry(path: Path) -> dict[str, Any]:
    """A ``files`` entry: SHA-256 and size of the file at ``path`` (the role is added by
    :func:`role_of`)."""
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size}


def role_of(name: str, input_roles: Mapping[str, str]) -> str:
    """What a file in the folder is, for a reader of the manifest."""
    if name in input_roles:
        return input_roles[name]
    if name in REPORT_ROLES:
        return REPORT_ROLES[name]
    if name.startswith("tables/"):
        return "table"
    if name.endswith((".skops", ".onnx")):
        return "model"
    return "output"


def build(
    files: Mapping[str, Mapping[str, Any]],
    inputs: list[dict[str, Any]],
    config_sha256: str | None,
    signer: str | None = None,
) -> bytes:
    """The bytes of ``manifest.json`` (what a signature signs)."""
    manifest: dict[str, Any] = {
        "manifest": KIND,
        "manifest_version": MANIFEST_VERSION,
        "created_by": f"rai-audit {__version__}",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": (
            "SHA-256 of every file rai-audit wrote in this folder and of the files the audit "
            "read; check with `rai-audit verify <folder>`. A later run replaces or removes "
            "only the files listed here."
        ),
        "algorithm": "sha256",
        "files": {name: dict(files[name]) for name in sorted(files)},
        "inputs": inputs,
        "config_sha256": config_sha256,
    }
    if signer is not None:
        manifest["signature"] = {
            "algorithm": "Ed25519",
            "file": SIGNATURE,
            "public_key_sha256": signer,
        }
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- reading a folder's manifest -------------------------------------------------------------


@dataclass
class Recorded:
    """What an earlier run recorded in a folder (nothing when it holds no manifest of ours)."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # {} entries: legacy
    inputs: list[dict[str, Any]] = field(default_factory=list)
    config_sha256: str | None = None
    bookkeeping: frozenset[str] = frozenset()  # manifest files of ours present in the folder
    directory: Path = Path(".")  # the folder the locations are relative to

    @property
    def evidence(self) -> Evidence:
        """The earlier inputs, to carry over when a run does not read them again."""
        inputs = tuple(
            InputFile(i["role"], i["path"], i["sha256"], self.locations().get(i["path"]))
            for i in self.inputs
            if {"role", "path", "sha256"} <= set(i)
        )
        return Evidence(inputs, self.config_sha256)

    def locations(self) -> dict[str, str]:
        """Shown path -> where it was read (absolute), of the recorded inputs."""
        return {
            i["path"]: str(located(self.directory, i["location"]))
            for i in self.inputs
            if isinstance(i.get("path"), str) and isinstance(i.get("location"), str)
        }


def located(directory: Path, location: str) -> Path:
    """Where a recorded input is: its location is relative to the audit folder."""
    return Path(os.path.normpath(directory.absolute() / location))


def relative_name(path: Path, directory: Path) -> str | None:
    """``path`` as a POSIX path relative to ``directory``, or None when it is outside."""
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside; or a symlink loop (RuntimeError < 3.13)
        return None


def inside(name: str, directory: Path) -> bool:
    """Whether ``name`` is a plain relative path that stays inside ``directory`` (a name
    that climbs out of the folder is no file of ours, whoever wrote the manifest)."""
    return bool(name) and relative_name(directory / name, directory) == name


def plain_name(name: Any) -> bool:
    """Whether ``name`` is, as text, a plain relative POSIX path inside a folder: no
    absolute path, drive, ``..``, ``.`` or empty part (what rai-audit writes; checked
    without the file system, so a file later replaced by a symbolic link is still named)."""
    if not isinstance(name, str) or not name or "\\" in name or "\x00" in name:
        return False
    parts = name.split("/")
    return (
        not name.startswith("/")
        and all(p not in ("", ".", "..") for p in parts)
        and (not PureWindowsPath(name).drive)
    )


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def is_manifest(content: Any) -> bool:
    """Whether parsed JSON is a manifest of ours (this format), not some other manifest.json."""
    return (
        isinstance(content, dict)
        and content.get("manifest") == KIND
        and isinstance(content.get("files"), dict)
    )


def read_recorded(directory: Path) -> Recorded:
    """The manifest an earlier run left in ``directory``: ``manifest.json``, else the
    names-only ``.rai-audit-manifest.json`` of earlier versions; nothing when neither is a
    readable manifest of ours (a foreign ``manifest.json`` is someone else's file)."""
    try:
        content = _load(directory / MANIFEST)
    except (OSError, ValueError):
        content = None
    if is_manifest(content):
        files = {
            name: dict(entry)
            for name, entry in content["files"].items()
            if isinstance(entry, dict) and inside(name, directory)
        }
        inputs = [i for i in content.get("inputs", []) if isinstance(i, dict)]
        present = {n for n in (MANIFEST, SIGNATURE, LEGACY_MANIFEST) if (directory / n).exists()}
        config = content.get("config_sha256")
        config = config if isinstance(config, str) else None
        return Recorded(files, inputs, config, frozenset(present), directory)
    try:
        legacy = _load(directory / LEGACY_MANIFEST)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return Recorded()
    names = {f for f in legacy if isinstance(f, str) and inside(f, directory)}
    return Recorded({name: {} for name in names}, bookkeeping=frozenset({LEGACY_MANIFEST}))
