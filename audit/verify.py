"""``rai-audit verify``: check an audit folder against its manifest.json, and its signature.

Every hash is recomputed. Failures: a listed file changed or missing, an input that is
there but changed, and — when a public key is given — a signature that is missing or does
not sign the manifest's exact bytes with that key. Reported without failing (unless
``strict``): files the manifest does not list (it vouches for nothing about them), and
inputs outside the folder that are not there to check (e.g. data on another machine).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.data import sha256_of
from audit.errors import AuditError
from audit.manifest import (
    KIND,
    LEGACY_MANIFEST,
    MANIFEST,
    MANIFEST_VERSION,
    SIGNATURE,
    config_digest,
    inside,
    is_manifest,
    located,
)
from audit.outputs import files_in
from audit.signing import fingerprint, signature_matches
from audit.text import printable


@dataclass
class Verification:
    """The outcome of :func:`verify_folder`: lines to print, and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def say(self, line: str) -> None:
        self.lines.append(line)


def _short(digest: str) -> str:
    return f"{digest[:12]}…"


def read_manifest(directory: Path) -> tuple[bytes, dict[str, Any]]:
    """The bytes and content of ``directory``'s manifest.json.

    Raises
    ------
    AuditError
        When there is none, it is not JSON, or it is not a manifest this version reads.
    """
    if not directory.is_dir():
        raise AuditError(f"{directory} is not a folder. Give an audit's output folder.")
    path = directory / MANIFEST
    if not path.is_file():
        why = (
            f"it was written by an earlier rai-audit, which recorded no hashes "
            f"({LEGACY_MANIFEST}). Re-run the audit to write one"
            if (directory / LEGACY_MANIFEST).is_file()
            else "give the output folder of an audit written by rai-audit"
        )
        raise AuditError(f"No {MANIFEST} in {directory}: {why}.")
    try:
        raw = path.read_bytes()
        content = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise AuditError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    except ValueError as exc:
        where = f": line {exc.lineno}, column {exc.colno}" if hasattr(exc, "lineno") else ""
        raise AuditError(f"{path} is not valid JSON{where}; it is damaged.") from None
    if not is_manifest(content):
        raise AuditError(f"{path} is not a rai-audit manifest (no '{KIND}' marker).")
    version = content.get("manifest_version")
    if version != MANIFEST_VERSION:
        raise AuditError(
            f"{path} has manifest version {printable(version)}; this rai-audit reads version "
            f"{MANIFEST_VERSION}. Verify it with the rai-audit that wrote it "
            f"({printable(content.get('created_by'))})."
        )
    for name, entry in content["files"].items():
        if not inside(name, directory):
            raise AuditError(
                f"{path} lists '{printable(name)}', a path outside the folder: it is not a "
                "manifest rai-audit wrote."
            )
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise AuditError(f"{path} has no SHA-256 for '{printable(name)}'; it is damaged.")
    return raw, content


def verify_folder(directory: Path, public_key: Any = None, strict: bool = False) -> Verification:
    """Recompute every hash ``directory``'s manifest records; check its signature with
    ``public_key`` (an Ed25519 public key) when one is given.

    Raises
    ------
    AuditError
        When the folder has no readable manifest of ours.
    """
    raw, manifest = read_manifest(directory)
    out = Verification()
    out.say(
        f"Verifying {directory} against {MANIFEST} (written by "
        f"{printable(manifest.get('created_by'))} at {printable(manifest.get('created_at'))})"
    )
    files: dict[str, dict[str, Any]] = manifest["files"]
    _check_files(directory, files, out)
    in_folder = _check_inputs(directory, manifest, out)
    _check_config(directory, manifest, out)
    extra = sorted(files_in(directory, {MANIFEST, SIGNATURE, *files, *in_folder}))
    if extra:
        out.failed = out.failed or strict
        out.say(
            f"Not in the manifest ({len(extra)}; it vouches for nothing about "
            f"{'it' if len(extra) == 1 else 'them'}): " + ", ".join(map(printable, extra))
        )
    _check_signature(directory, raw, manifest, public_key, out)
    out.say("FAILED." if out.failed else "Verified: everything the manifest lists matches.")
    return out


def _check_files(directory: Path, files: dict[str, dict[str, Any]], out: Verification) -> None:
    changed, missing = [], []
    for name, entry in files.items():
        path = directory / name
        if not path.is_file():
            missing.append(name)
            out.say(f"  MISSING  {printable(name)}")
        elif sha256_of(path) != entry["sha256"]:
            changed.append(name)
            out.say(f"  CHANGED  {printable(name)}  (recorded SHA-256 {_short(entry['sha256'])})")
    out.failed = out.failed or bool(changed or missing)
    matching = len(files) - len(changed) - len(missing)
    out.say(
        f"Files: {matching} of {len(files)} match"
        + (f", {len(changed)} changed" if changed else "")
        + (f", {len(missing)} missing" if missing else "")
        + "."
    )


def _check_inputs(directory: Path, manifest: dict[str, Any], out: Verification) -> set[str]:
    """Check the files the audit read; return those that lie in the folder."""
    in_folder: set[str] = set()
    inputs = [i for i in manifest.get("inputs", []) if isinstance(i, dict)]
    if inputs:
        out.say("Inputs (the files the audit read):")
    for entry in inputs:
        label = f"{printable(entry.get('role', '?'))} {printable(entry.get('path', '?'))}"
        location = entry.get("location")
        place = located(directory, location) if isinstance(location, str) else None
        if entry.get("in_folder") is True and isinstance(location, str):
            if not inside(location, directory):
                raise AuditError(
                    f"{directory / MANIFEST} says the input '{printable(location)}' is in the "
                    "folder, but that path leads out of it; it is not a manifest rai-audit wrote."
                )
            in_folder.add(location)
            if location in manifest["files"]:
                out.say(f"  in the folder, checked above  {label}")
                continue
        if place is None:
            out.say(f"  not checkable  {label}: no file recorded (e.g. a DataFrame in memory)")
        elif not place.is_file():
            out.say(f"  not found  {label}: nothing at {printable(place)}, so not checked")
        elif sha256_of(place) == entry.get("sha256"):
            out.say(f"  ok  {label}")
        else:
            out.failed = True
            out.say(
                f"  CHANGED  {label}: {printable(place)} is not the file the audit read "
                f"(recorded SHA-256 {_short(str(entry.get('sha256')))})"
            )
    return in_folder


def _check_config(directory: Path, manifest: dict[str, Any], out: Verification) -> None:
    """The config as stored in results.json, against its recorded hash (a changed
    results.json fails above; this says whether its config is among the changes)."""
    recorded = manifest.get("config_sha256")
    results = directory / "results.json"
    if not isinstance(recorded, str) or "results.json" not in manifest["files"]:
        return
    try:
        now = config_digest(json.loads(results.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        now = None
    same = now == recorded
    out.say(f"Config (as stored in results.json): {'matches' if same else 'CHANGED'}.")
    out.failed = out.failed or not same


def _check_signature(
    directory: Path, raw: bytes, manifest: dict[str, Any], public_key: Any, out: Verification
) -> None:
    path = directory / SIGNATURE
    if public_key is None:
        if path.exists():
            out.say(f"Signature: {SIGNATURE} is there, not checked (give --public-key).")
        return
    if not path.is_file():
        out.failed = True
        out.say(f"Signature: MISSING ({SIGNATURE} is not there: the manifest is not signed).")
        return
    if signature_matches(public_key, raw, path.read_bytes()):
        out.say(f"Signature: valid (Ed25519, key {_short(fingerprint(public_key))}).")
        return
    out.failed = True
    signer = manifest.get("signature", {})
    named = signer.get("public_key_sha256") if isinstance(signer, dict) else None
    given = fingerprint(public_key)
    other = (
        f"; the manifest names the key {_short(named)}, not {_short(given)}"
        if isinstance(named, str) and named != given
        else ""
    )
    out.say(f"Signature: INVALID (it does not sign this manifest with this key{other}).")
