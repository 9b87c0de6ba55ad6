"""Writing the audit's files: an output folder that holds exactly one audit, all or nothing.

Every file of a run (results.json, the reports, the CSV tables, saved models, a JUnit file
inside the folder) is first written to a staging folder inside the output folder — the same
filesystem, so the final moves are renames — and swapped in as a unit once everything is
written. The files it replaces are moved aside first and moved back if anything fails, so a
failed run leaves the earlier audit as it was and no temporary file behind.

The manifest (``manifest.json``, audit/manifest.py) records the files rai-audit wrote,
with their SHA-256, and the files the audit read; it is written, and signed when a key is
given (``manifest.json.sig``), in the same commit. A new run removes the earlier run's files
that it does not write again (a report.pdf from a run that asked for it, when this one does
not) and only those: a file rai-audit did not write is never removed, and a folder holding
such files is refused unless the user passes --force. A folder written before manifest.json
existed is recognised by its ``.rai-audit-manifest.json`` (names only), which the next run
replaces.

:func:`write_file_atomically` is the one writer of single files (a temporary file, then a
rename) used everywhere else: the JUnit file outside the output folder, exported datasets,
checklist templates.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from audit import manifest
from audit.errors import AuditError
from audit.manifest import LEGACY_MANIFEST, MANIFEST, SIGNATURE, Evidence
from audit.manifest import relative_name as _relative
from audit.text import quoted_list
from audit.vocabulary.compliance import LL144_SUMMARY_FILES
from audit.vocabulary.report import REPORT_FILES

FILE_NAMES = {"json": "results.json", **REPORT_FILES}
MODEL_FILE = "model.skops"
STAGING_PREFIX = ".rai-audit-staging-"


def render_outputs(
    results_json: str,
    formats: Iterable[str],
    say: Callable[[str], None] = lambda m: None,
    detail: str | None = None,
) -> dict[str, bytes]:
    """Bytes of each requested output, keyed by file name, from a result's JSON text (what
    ``AuditResult.to_json`` gives, or a saved results.json): the report reads plain data.

    ``detail`` (summary, standard, full) overrides the level recorded in the result's
    ``config.report.detail``."""
    formats = list(dict.fromkeys(formats))
    rendered: dict[str, bytes] = {}
    encoded = results_json.encode("utf-8")
    if "json" in formats:
        rendered[FILE_NAMES["json"]] = encoded
    if "html" in formats or "pdf" in formats:
        # Imported here: the report stack (matplotlib, WeasyPrint) takes seconds to import
        # and is not needed by a JSON-only run or the commands that only write a file.
        from audit.report.build import render_report
        from audit.report.ll144_summary import ll144_summary_files
        from audit.report.tables import table_files

        # A JSON round trip gives the templates exactly what a saved results.json would,
        # so a report rendered now equals one re-rendered later from the file.
        plain = json.loads(results_json)
        attachments = {FILE_NAMES["json"]: encoded}  # the PDF carries its own data
        rendered.update(render_report(plain, formats, detail, attachments, say))
        if "html" in formats:
            rendered.update(table_files(plain))  # the long tables, complete, beside the report
        # A Local Law 144 audit also gets its standalone summary of results.
        rendered.update(ll144_summary_files(plain, formats))
    return rendered


def write_result(
    folder: OutputFolder,
    results_json: str,
    formats: list[str],
    models: dict[str, Any] | None = None,
    junit: tuple[Path, bytes] | None = None,
    say: Callable[[str], None] = lambda m: None,
    read_from: dict[str, str] | None = None,
    inputs: Iterable[manifest.InputFile] = (),
) -> list[Path]:
    """Render a result in ``formats``, stage it with its models (skops files, by name) and
    a JUnit file (path, bytes), and swap everything into ``folder`` as one unit, with the
    manifest: the files the result's provenance lists (found at ``read_from``: shown path
    -> absolute path) and ``inputs`` (the config file...).

    Returns the paths written.
    """
    folder.record_evidence(manifest.evidence_of(results_json, read_from, inputs))
    files = render_outputs(results_json, formats, say)
    say("Writing outputs")
    for name, content in files.items():
        folder.add(name, content)
    for name, model in (models or {}).items():
        folder.add_model(name, model)
    if junit is not None:
        folder.add_outside(*junit)
    return folder.commit()


def is_report_file(name: str) -> bool:
    """Whether ``name`` (relative to the output folder) is one `rai-audit report` re-renders."""
    return name in (*REPORT_FILES.values(), *LL144_SUMMARY_FILES.values()) or name.startswith(
        "tables/"
    )


def _write_bytes(path: Path, content: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())  # the bytes are on disk before the rename makes them visible


def _cannot(what: Path, exc: OSError) -> AuditError:
    return AuditError(
        f"Cannot write {what}: {exc.strerror or exc}. Nothing was changed there; choose another "
        "path, or make its folder writable, and re-run."
    )


def write_file_atomically(path: Path, content: bytes) -> None:
    """Write ``path`` so that readers see the old file or the new one, never a part.

    Raises
    ------
    AuditError
        When the file cannot be written (no temporary file is left behind).
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_bytes(tmp, content)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # e.g. the folder is not there: neither is the temporary file
        if isinstance(exc, OSError):
            raise _cannot(path, exc) from None
        raise


def files_in(directory: Path, leave_out: Iterable[str] = ()) -> set[str]:
    """Every file (and symbolic link) below ``directory`` but staging folders and the
    names in ``leave_out`` (rai-audit's own bookkeeping)."""
    found: set[str] = set()
    for root, dirs, files in os.walk(directory):
        here = Path(root)
        if here == directory:
            dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        links = [d for d in dirs if (here / d).is_symlink()]  # os.walk does not enter them
        for name in [*files, *links]:
            found.add((here / name).relative_to(directory).as_posix())
    return found - set(leave_out)


class OutputFolder:
    """One audit's output folder, changed as a unit: use as a context manager, then commit.

    ``with OutputFolder(out) as folder:`` checks the folder (refusing one that holds files
    rai-audit did not write, unless ``force``), ``add``/``add_model`` stage files,
    ``put_now`` places a file at once (the demo's data, which the audit then reads),
    ``add_outside`` names a file to write elsewhere (a JUnit path outside the folder), and
    ``commit`` swaps everything in. Leaving the block by an exception, or without a commit,
    undoes all of it.

    Parameters
    ----------
    directory : Path
        The output folder (created if absent, and removed again on failure).
    force : bool
        Write even though the folder holds files rai-audit did not write (they are left as
        they are, unless a file of this run has the same name).
    inputs : iterable of Path
        Files this run reads (config, data, model, checklist answers, a results.json): inside
        the folder they are not someone else's files and are never removed.
    replaces : callable, optional
        Which of the earlier run's files this write replaces (by relative name); the others
        are kept. Default: all of them (a new audit). `rai-audit report` replaces the
        report files only.
    sign_key : Ed25519PrivateKey, optional
        Sign the manifest (audit/signing.py): ``manifest.json.sig`` is written with it.
    """

    def __init__(
        self,
        directory: Path,
        force: bool = False,
        inputs: Iterable[Path | None] = (),
        replaces: Callable[[str], bool] | None = None,
        sign_key: Any = None,
    ) -> None:
        self.directory = directory
        self._replaces = replaces or (lambda name: True)
        self._sign_key = sign_key
        self._created = self._create(directory)
        self._recorded = manifest.read_recorded(directory)
        self._previous = set(self._recorded.files)
        # Until a run records its own (record_evidence), the earlier inputs are carried over:
        # `rai-audit report` re-renders without reading the data again.
        self._evidence: Evidence = self._recorded.evidence
        inside = (_relative(path, directory) for path in inputs if path is not None)
        self._inputs = {name for name in inside if name is not None}
        clash = sorted(self._inputs & {MANIFEST, SIGNATURE})
        if clash:
            self._remove_created()
            raise AuditError(
                f"The input {directory / clash[0]} has the name of the manifest rai-audit writes "
                "in the output folder. Rename it, or choose another --out."
            )
        found = files_in(directory, self._recorded.bookkeeping)
        foreign = sorted(found - self._previous - self._inputs)
        if foreign and not force:
            self._remove_created()
            noun = "file" if len(foreign) == 1 else "files"
            raise AuditError(
                f"Output folder {directory} holds {len(foreign)} {noun} rai-audit did not "
                f"write ({quoted_list(foreign)}); an output folder holds one audit only. "
                "Choose a new or empty folder, or pass --force to write beside them "
                "(they are kept as they are)."
            )
        self._staging: Path | None = None
        self._staged: list[str] = []
        self._early: list[str] = []
        self._outside: list[tuple[Path, bytes]] = []
        self._undo: list[Callable[[], None]] = []
        self._made_dirs: list[Path] = []
        self._committed = False

    # -- the folder itself ---------------------------------------------------------------

    @staticmethod
    def _create(directory: Path) -> list[Path]:
        """Create the folder and missing parents; return those created, deepest first."""
        missing = []
        for path in (directory, *directory.parents):
            if path.exists() or path.is_symlink():
                break
            missing.append(path)
        choose = "Choose another --out (output.dir)."
        if directory.exists() and not directory.is_dir():
            raise AuditError(f"Output folder {directory} is a file, not a folder. {choose}")
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditError(
                f"Cannot create the output folder {directory}: {exc.strerror or exc}. {choose}"
            ) from None
        return missing

    def _remove_created(self) -> None:
        for path in self._created:  # deepest first; only if nothing else appeared in them
            try:
                path.rmdir()
            except OSError:
                break

    def _stage_path(self, name: str) -> Path:
        if self._staging is None:
            self._staging = self.directory / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
            try:
                self._staging.mkdir()
            except OSError as exc:
                raise _cannot(self.directory, exc) from None
        path = self._staging / "new" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # -- what a run adds -----------------------------------------------------------------

    def add(self, name: str, content: bytes) -> None:
        """Stage ``content`` as the file ``name`` (relative, e.g. ``tables/columns.csv``)."""
        try:
            _write_bytes(self._stage_path(name), content)
        except OSError as exc:
            raise _cannot(self.directory / name, exc) from None
        self._staged.append(name)

    def add_model(self, name: str, model: Any) -> None:
        """Stage ``model`` saved with skops as the file ``name``."""
        from audit.model_files import save_model

        try:
            save_model(model, self._stage_path(name))
        except OSError as exc:
            raise _cannot(self.directory / name, exc) from None
        self._staged.append(name)

    def put_now(self, name: str, content: bytes) -> None:
        """Place a file at once (the earlier one is restored if the run fails later)."""
        self.add(name, content)
        self._staged.remove(name)
        try:
            self._swap_in(name)
        except OSError as exc:
            raise _cannot(self.directory / name, exc) from None
        self._early.append(name)

    def record_evidence(self, evidence: Evidence) -> None:
        """What the manifest says this run read (its inputs, the config's hash)."""
        self._evidence = evidence

    def add_outside(self, path: Path, content: bytes) -> None:
        """A file to write at ``path`` with the others: inside the folder it is staged like
        them; elsewhere it is written (atomically) just before the swap and its earlier
        content restored if the swap fails."""
        name = _relative(path, self.directory)
        if name is not None:
            self.add(name, content)
        else:
            self._outside.append((path, content))

    def commit(self) -> list[Path]:
        """Swap every staged file in, remove the earlier run's other files, write the manifest.

        Returns
        -------
        list of Path
            The files written (staged ones, then those outside the folder).
        """
        kept = {name for name in self._previous if name in self._inputs or not self._replaces(name)}
        written = [*self._staged, *self._early]
        stale = sorted(self._previous - set(written) - kept)
        # The manifest and its signature are always rewritten; a signature of an earlier
        # manifest (a run signed, this one is not) and a names-only manifest go.
        bookkeeping = [n for n in (SIGNATURE, LEGACY_MANIFEST) if n in self._recorded.bookkeeping]
        try:
            for path, content in self._outside:
                self._write_outside(path, content)
            content = self._manifest(written, kept)
            self.add(MANIFEST, content)
            if self._sign_key is not None:
                from audit.signing import signature_file

                self.add(SIGNATURE, signature_file(self._sign_key, content))
            for name in self._staged:
                self._swap_in(name)
            for name in [*stale, *bookkeeping]:
                if name not in self._staged:
                    self._move_aside(name)
        except OSError as exc:
            stranded = self.rollback()
            raise AuditError(
                f"Cannot write the outputs in {self.directory}: {exc.strerror or exc}. "
                + (stranded or "The earlier files there were left as they were.")
            ) from None
        except BaseException:
            self.rollback()
            raise
        self._committed = True
        self._clean_up(stale)
        staged = [self.directory / n for n in self._staged if n not in (MANIFEST, SIGNATURE)]
        return staged + [path for path, _ in self._outside]

    def _manifest(self, written: list[str], kept: set[str]) -> bytes:
        """The bytes of manifest.json for this commit: every file of ours in the folder with
        its hash, and the evidence recorded for the run."""
        inputs = [item.record(self.directory) for item in self._evidence.inputs]
        in_folder = {i["location"]: i["role"] for i in inputs if i["in_folder"]}
        entries: dict[str, dict[str, Any]] = {}
        for name in self._staged:
            entries[name] = manifest.file_entry(self._staging_file(name))
        for name in self._early:
            entries[name] = manifest.file_entry(self.directory / name)
        # What this run's audit read in the folder (data, config...): the bytes it read.
        read_here = {i["location"]: i["sha256"] for i in inputs if i["in_folder"]}
        for name in sorted(kept - set(written)):
            path = self.directory / name
            earlier = self._recorded.files.get(name, {})
            if not path.is_file():
                continue
            if name in read_here:
                entries[name] = {**manifest.file_entry(path), "sha256": read_here[name]}
            elif "sha256" in earlier:
                # Kept as it was: its recorded hash stands. `rai-audit report` reads
                # results.json but does not vouch anew for one changed since it was written.
                entries[name] = earlier
            else:  # recorded without a hash by an earlier version
                entries[name] = manifest.file_entry(path)
        for name, entry in entries.items():
            entry["role"] = manifest.role_of(name, in_folder)
        signer = None
        if self._sign_key is not None:
            from audit.signing import fingerprint

            signer = fingerprint(self._sign_key.public_key())
        return manifest.build(entries, inputs, self._evidence.config_sha256, signer)

    def _staging_file(self, name: str) -> Path:
        assert self._staging is not None
        return self._staging / "new" / name

    # -- the swap and its undo -------------------------------------------------------------

    def _make_parents(self, path: Path) -> None:
        missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
        for directory in reversed(missing):
            directory.mkdir()
            self._made_dirs.append(directory)

    def _backup_path(self, name: str) -> Path:
        assert self._staging is not None
        backup = self._staging / "old" / name
        backup.parent.mkdir(parents=True, exist_ok=True)
        return backup

    def _swap_in(self, name: str) -> None:
        assert self._staging is not None
        final = self.directory / name
        self._make_parents(final)
        backup = None
        if final.exists() or final.is_symlink():
            backup = self._backup_path(name)
            os.replace(final, backup)
            self._undo.append(lambda: os.replace(backup, final))
        os.replace(self._staging / "new" / name, final)
        self._undo.append(lambda: final.unlink(missing_ok=True))

    def _move_aside(self, name: str) -> None:
        final = self.directory / name
        if not (final.exists() or final.is_symlink()):
            return
        backup = self._backup_path(name)
        os.replace(final, backup)
        self._undo.append(lambda: os.replace(backup, final))

    def _write_outside(self, path: Path, content: bytes) -> None:
        try:
            earlier = path.read_bytes() if path.is_file() else None
        except OSError:
            earlier = None
        write_file_atomically(path, content)
        if earlier is None:
            self._undo.append(lambda: path.unlink(missing_ok=True))
        else:
            self._undo.append(lambda: write_file_atomically(path, earlier))

    def rollback(self) -> str:
        """Undo everything done so far; remove the staging folder (and a folder we made).

        Returns "" or, when an earlier file could not be put back, a sentence saying where
        it was kept (the staging folder is then left in place rather than lose it).
        """
        stranded = False
        while self._undo:
            action = self._undo.pop()
            try:
                action()
            except (OSError, AuditError):
                stranded = True  # restore what can be restored; keep the rest
        for directory in reversed(self._made_dirs):
            try:
                directory.rmdir()
            except OSError:
                pass
        self._made_dirs.clear()
        staging, self._staging = self._staging, None
        if stranded and staging is not None:
            return f" Some earlier files could not be put back: they are in {staging}."
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        self._remove_created()
        return ""

    def _clean_up(self, stale: list[str]) -> None:
        """After a commit: drop the backups, staging folders of crashed runs, emptied folders."""
        for staging in self.directory.glob(f"{STAGING_PREFIX}*"):
            shutil.rmtree(staging, ignore_errors=True)
        self._staging = None
        for name in stale:  # e.g. tables/ when this run wrote no tables
            for parent in (self.directory / name).parents:
                if parent == self.directory or _relative(parent, self.directory) is None:
                    break
                try:
                    parent.rmdir()
                except OSError:
                    break

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.rollback()
