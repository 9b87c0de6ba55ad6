"""``rai-audit verify``: check an audit folder against its manifest.json, and its signature.

Every hash is recomputed. Failures: a listed file changed or missing, an input that is
there but changed, and — when a public key is given — a signature that is missing or does
not sign the manifest's exact bytes with that key; a listed file that cannot be read, or
is not a regular file in the folder (e.g. replaced by a symbolic link). Reported without
failing (unless ``strict``): files the manifest does not list (it vouches for nothing about
them), and inputs outside the folder that are not there to check (e.g. data on another
machine); the last line counts them, so "Verified" never claims more than was checked.

An unsigned manifest is anyone's text: an input's ``location`` is only hashed when it is a
regular file outside /proc, /dev and /sys (never a device, a pipe or the process' memory).
"""

from __future__ import annotations

import json
import os
import stat
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
    is_manifest,
    located,
    plain_name,
)
from audit.outputs import files_in
from audit.signing import fingerprint, signature_matches
from audit.text import printable


@dataclass
class Verification:
    """The outcome of :func:`verify_folder`: lines to print, and whether anything failed."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False
    files_matched: int = 0
    inputs_matched: int = 0
    inputs_not_found: int = 0  # outside the folder, nothing there: not checked
    inputs_not_checkable: int = 0  # no file recorded, or not a regular file: not checked

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
        # Lexically: a listed file replaced by a symbolic link is the folder's fault, not
        # the manifest's (the file check reports it).
        if not plain_name(name):
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
    out.say("FAILED." if out.failed else _verified_line(out))
    return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _verified_line(out: Verification) -> str:
    """What matched, and what was not checked (so it never says more than was checked)."""
    matched = _count(out.files_matched, "file")
    if out.inputs_matched:
        matched += f" and {_count(out.inputs_matched, 'input')}"
    line = f"Verified: {matched} match"
    if out.inputs_not_found:
        n = out.inputs_not_found
        line += (
            f"; {_count(n, 'input')} outside the folder {'was' if n == 1 else 'were'} not "
            "found and not checked"
        )
    if out.inputs_not_checkable:
        n = out.inputs_not_checkable
        line += f"; {_count(n, 'input')} could not be checked (no regular file to hash)"
    return line + "."


def _not_a_file(directory: Path, name: str) -> str | None:
    """Why ``directory/name`` is not a regular file of the folder (a symbolic link on the
    way, a folder, a special file), or None when it is one or is not there."""
    path = directory
    for part in Path(name).parts:
        path = path / part
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            return f"symbolic link to {printable(target, 300)}"
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return "a folder" if stat.S_ISDIR(mode) else "a special file"


def _reason(exc: OSError) -> str:
    return printable(exc.strerror or str(exc))


def _check_files(directory: Path, files: dict[str, dict[str, Any]], out: Verification) -> None:
    changed, missing, other = [], [], []
    for name, entry in files.items():
        path = directory / name
        why = _not_a_file(directory, name)
        if why is not None:
            other.append(name)
            out.say(f"  NOT A FILE IN THE FOLDER  {printable(name)}  ({why})")
            continue
        if not path.is_file():
            missing.append(name)
            out.say(f"  MISSING  {printable(name)}")
            continue
        try:
            digest = sha256_of(path)
        except OSError as exc:
            other.append(name)
            out.say(f"  UNREADABLE  {printable(name)}: {_reason(exc)}")
            continue
        if digest != entry["sha256"]:
            changed.append(name)
            out.say(f"  CHANGED  {printable(name)}  (recorded SHA-256 {_short(entry['sha256'])})")
    out.failed = out.failed or bool(changed or missing or other)
    out.files_matched = len(files) - len(changed) - len(missing) - len(other)
    out.say(
        f"Files: {out.files_matched} of {len(files)} match"
        + (f", {len(changed)} changed" if changed else "")
        + (f", {len(missing)} missing" if missing else "")
        + (f", {len(other)} unreadable or not files" if other else "")
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
            if not plain_name(location):
                raise AuditError(
                    f"{directory / MANIFEST} says the input '{printable(location)}' is in the "
                    "folder, but that path leads out of it; it is not a manifest rai-audit wrote."
                )
            in_folder.add(location)
            if location in manifest["files"]:
                out.say(f"  in the folder, checked above  {label}")
                continue
        _check_input(directory, entry, label, place, out)
    return in_folder


# Never hashed, whatever a manifest says: reading them hangs, or reads no file of an audit.
SYSTEM_TREES = (Path("/proc"), Path("/dev"), Path("/sys"))


def _check_input(
    directory: Path, entry: dict[str, Any], label: str, place: Path | None, out: Verification
) -> None:
    location = entry.get("location")
    if place is None:
        out.inputs_not_checkable += 1
        out.say(f"  not checkable  {label}: no file recorded (e.g. a DataFrame in memory)")
        return
    if entry.get("in_folder") is True and isinstance(location, str):
        why = _not_a_file(directory, location)
        if why is not None:
            out.failed = True
            out.say(f"  NOT A FILE IN THE FOLDER  {label}  ({why})")
            return
    try:
        real = place.resolve()
        mode = os.stat(real).st_mode
    except (OSError, RuntimeError):  # nothing there (or a symbolic link loop)
        out.inputs_not_found += 1
        out.say(f"  not found  {label}: nothing at {printable(place)}, so not checked")
        return
    if not stat.S_ISREG(mode) or any(real.is_relative_to(tree) for tree in SYSTEM_TREES):
        out.inputs_not_checkable += 1
        out.say(f"  not checked  {label}: {printable(place)} is not a regular file of data")
        return
    try:
        digest = sha256_of(real)
    except OSError as exc:
        out.failed = True
        out.say(f"  UNREADABLE  {label}: {_reason(exc)}")
        return
    if digest == entry.get("sha256"):
        out.inputs_matched += 1
        out.say(f"  ok  {label}")
    else:
        out.failed = True
        out.say(
            f"  CHANGED  {label}: {printable(place)} is not the file the audit read "
            f"(recorded SHA-256 {_short(str(entry.get('sha256')))})"
        )


def _check_config(directory: Path, manifest: dict[str, Any], out: Verification) -> None:
    """The config as stored in results.json, against its recorded hash (a changed
    results.json fails above; this says whether its config is among the changes)."""
    recorded = manifest.get("config_sha256")
    results = directory / "results.json"
    if not isinstance(recorded, str) or "results.json" not in manifest["files"]:
        return
    if _not_a_file(directory, "results.json") is not None:
        return  # said above
    try:
        content = json.loads(results.read_bytes().decode("utf-8"))
    except OSError:
        return  # missing or unreadable: said above
    except ValueError:
        out.failed = True
        out.say("results.json is not readable JSON; config not checked.")
        return
    now = config_digest(content) if isinstance(content, dict) else None
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
    try:
        signature = path.read_bytes()
    except OSError as exc:
        out.failed = True
        out.say(f"Signature: UNREADABLE {SIGNATURE}: {_reason(exc)}")
        return
    if signature_matches(public_key, raw, signature):
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
