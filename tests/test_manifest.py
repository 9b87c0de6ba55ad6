"""The evidence bundle: manifest.json holds the SHA-256 of every file of an audit folder and
of the files the audit read; `rai-audit verify` recomputes them; an Ed25519 signature
(manifest.json.sig) proves who wrote the manifest. Hashes and signatures are checked here
with hashlib and cryptography directly, not with rai-audit's own code."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import audit

MANIFEST, SIGNATURE, LEGACY = "manifest.json", "manifest.json.sig", ".rai-audit-manifest.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _every_file(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with the SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): _sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _frame(n: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=n),
            "sex": ["f", "m"] * (n // 2),
            "y": (x + rng.normal(size=n) > 0).astype(int),
        }
    )


def _write_key_pair(folder: Path, name: str, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """An Ed25519 key pair made with cryptography (not with rai-audit), as PEM files."""
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _setup(root: Path, formats: tuple[str, ...] = ("json", "html")) -> Path:
    """data.csv and a quick audit.yaml (logistic regression, no intervals, no SHAP, no
    mitigation) in ``root``; returns the config."""
    root.mkdir(parents=True, exist_ok=True)
    _frame().to_csv(root / "data.csv", index=False)
    config = {
        "data": {"path": "data.csv", "target": "y", "sensitive": ["sex"]},
        "model": {"name": "logistic_regression"},
        "explain": {"enabled": False},
        "fairness": {"bootstrap": {"resamples": 0}},
        "mitigation": {"strategies": []},
        "output": {"formats": list(formats)},
    }
    (root / "audit.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return root / "audit.yaml"


@pytest.fixture(scope="module")
def signed_audit(tmp_path_factory) -> Path:
    """root/ holding data.csv, audit.yaml, keys/ and out/: an audit (json + html) signed
    with keys/signer.pem. Tests work on a copy of the whole tree (copy_of)."""
    root = tmp_path_factory.mktemp("signed") / "root"
    config = _setup(root)
    (root / "keys").mkdir()
    private, _ = _write_key_pair(root / "keys", "signer")
    done = run_cli("run", config, "--out", root / "out", "--sign-key", private, "--quiet")
    assert done.exit_code == 0, done.output
    return root


@pytest.fixture
def copy_of(signed_audit, tmp_path) -> Path:
    root = tmp_path / "root"
    shutil.copytree(signed_audit, root)
    return root


def _verify(root: Path, *extra: str | Path):
    return run_cli("verify", root / "out", *extra)


# -- the manifest ------------------------------------------------------------------------------


def test_the_manifest_lists_every_file_with_its_sha256(copy_of):
    out = copy_of / "out"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    on_disk = _every_file(out)
    assert {MANIFEST, SIGNATURE} <= set(on_disk)
    del on_disk[MANIFEST], on_disk[SIGNATURE]
    # Every file of the folder, and only those, each with the SHA-256 of its bytes.
    assert {name: entry["sha256"] for name, entry in manifest["files"].items()} == on_disk
    assert {"results.json", "report.html", "model.skops", "tables/group_metrics.csv"} <= set(
        on_disk
    )
    sizes = {name: (out / name).stat().st_size for name in on_disk}
    assert {name: entry["bytes"] for name, entry in manifest["files"].items()} == sizes
    roles = {name: entry["role"] for name, entry in manifest["files"].items()}
    assert roles["results.json"] == "results" and roles["report.html"] == "report"
    assert roles["model.skops"] == "model" and roles["tables/group_metrics.csv"] == "table"
    # The files the audit read: the data (path as results.json shows it) and the config.
    inputs = {entry["role"]: entry for entry in manifest["inputs"]}
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert inputs["data"]["path"] == results["provenance"]["data_file"] == "data.csv"
    assert inputs["data"]["sha256"] == _sha256(copy_of / "data.csv")
    assert inputs["data"]["location"] == "../data.csv" and inputs["data"]["in_folder"] is False
    assert inputs["config"]["sha256"] == _sha256(copy_of / "audit.yaml")
    # The resolved config as stored in results.json, hashed as canonical JSON.
    canonical = json.dumps(results["config"], sort_keys=True, separators=(",", ":"))
    assert manifest["config_sha256"] == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert manifest["manifest_version"] == 1
    assert manifest["created_by"] == f"rai-audit {audit.__version__}"
    assert manifest["created_at"].endswith("+00:00")


def test_the_signature_is_ed25519_over_the_exact_manifest_bytes(copy_of):
    public = serialization.load_pem_public_key((copy_of / "keys" / "signer.pub.pem").read_bytes())
    raw = (copy_of / "out" / MANIFEST).read_bytes()
    signature = base64.b64decode((copy_of / "out" / SIGNATURE).read_bytes().strip())
    public.verify(signature, raw)  # cryptography raises InvalidSignature if not
    named = json.loads(raw)["signature"]["public_key_sha256"]
    raw_key = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert named == hashlib.sha256(raw_key).hexdigest()


# -- verify ------------------------------------------------------------------------------------


def test_verify_passes_on_a_fresh_folder(copy_of):
    done = _verify(copy_of, "--public-key", copy_of / "keys" / "signer.pub.pem")
    assert done.exit_code == 0, done.output
    listed = len(_every_file(copy_of / "out")) - 2  # but the manifest and its signature
    assert f"Files: {listed} of {listed} match." in done.output
    assert "ok  data data.csv" in done.output and "ok  config audit.yaml" in done.output
    assert "Signature: valid" in done.output and "Verified" in done.output


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ("out/report.html", "CHANGED  report.html"),
        ("out/results.json", "CHANGED  results.json"),
        ("out/tables/group_metrics.csv", "CHANGED  tables/group_metrics.csv"),
        ("data.csv", "CHANGED  data data.csv"),
    ],
)
def test_verify_fails_after_a_one_byte_change_naming_the_file(copy_of, changed, named):
    path = copy_of / changed
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01  # one bit of one byte; the size is the same
    path.write_bytes(bytes(content))
    done = _verify(copy_of)
    assert done.exit_code == 1, done.output
    assert named in done.output and "FAILED" in done.output
    assert done.output.count("  CHANGED  ") == 1  # nothing else is reported as changed


def test_verify_fails_on_a_missing_file_and_reports_extra_ones(copy_of):
    out = copy_of / "out"
    (out / "tables" / "columns.csv").unlink()
    (out / "notes.txt").write_text("added later")
    done = _verify(copy_of)
    assert done.exit_code == 1, done.output
    assert "MISSING  tables/columns.csv" in done.output
    assert "Not in the manifest (1; it vouches for nothing about it): notes.txt" in done.output


def test_extra_files_fail_only_with_strict_and_data_out_of_reach_is_not_found(copy_of):
    (copy_of / "out" / "notes.txt").write_text("added later")
    (copy_of / "data.csv").unlink()  # e.g. the folder was sent without the data
    done = _verify(copy_of)
    assert done.exit_code == 0, done.output
    assert "not found  data data.csv" in done.output and "notes.txt" in done.output
    strict = _verify(copy_of, "--strict")
    assert strict.exit_code == 1, strict.output


def test_a_folder_moved_with_its_data_still_verifies(copy_of, tmp_path):
    moved = tmp_path / "elsewhere" / "deeper"
    shutil.move(copy_of, moved)  # data.csv is still at ../data.csv from the folder
    done = run_cli("verify", moved / "out")
    assert done.exit_code == 0, done.output
    assert "ok  data data.csv" in done.output


# -- signatures --------------------------------------------------------------------------------


def test_a_tampered_manifest_fails_the_signature(copy_of):
    path = copy_of / "out" / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    # A forger hides a changed report: the new hash in the manifest, the old signature.
    report = copy_of / "out" / "report.html"
    report.write_bytes(report.read_bytes() + b"<!-- edited -->")
    manifest["files"]["report.html"]["sha256"] = _sha256(report)
    manifest["files"]["report.html"]["bytes"] = report.stat().st_size
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    unsigned = _verify(copy_of)
    assert unsigned.exit_code == 0, unsigned.output  # the hashes alone now agree...
    assert "not checked (give --public-key)" in unsigned.output
    signed = _verify(copy_of, "--public-key", copy_of / "keys" / "signer.pub.pem")
    assert signed.exit_code == 1, signed.output  # ...the signature does not
    assert "Signature: INVALID" in signed.output


def test_a_wrong_public_key_or_a_missing_signature_fails(copy_of):
    _, other = _write_key_pair(copy_of / "keys", "someone-else")
    wrong = _verify(copy_of, "--public-key", other)
    assert wrong.exit_code == 1, wrong.output
    assert "Signature: INVALID" in wrong.output and "the manifest names the key" in wrong.output
    (copy_of / "out" / SIGNATURE).unlink()
    missing = _verify(copy_of, "--public-key", copy_of / "keys" / "signer.pub.pem")
    assert missing.exit_code == 1, missing.output
    assert "Signature: MISSING" in missing.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a key", "is not a PEM public key"),
        (b"", "is not a PEM public key"),
        (None, "Cannot read the public key"),
    ],
)
def test_a_bad_public_key_file_exits_2_with_a_message(copy_of, content, message):
    key = copy_of / "keys" / "bad.pem"
    if content is not None:
        key.write_bytes(content)
    done = _verify(copy_of, "--public-key", key)
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output


def test_a_private_key_given_as_public_key_is_named(copy_of):
    done = _verify(copy_of, "--public-key", copy_of / "keys" / "signer.pem")
    assert done.exit_code == 2, done.output
    assert "It holds a private key" in done.output


def test_a_bad_signing_key_stops_the_run_before_anything_is_written(tmp_path, monkeypatch):
    config = _setup(tmp_path, formats=("json",))
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    done = run_cli("run", config, "--out", tmp_path / "out", "--sign-key", junk)
    assert done.exit_code == 2, done.output
    assert "is not a PEM private key" in done.output and "Traceback" not in done.output
    assert not (tmp_path / "out").exists()
    # A key protected by a passphrase: a clear message without it, signed with it.
    locked, public = _write_key_pair(tmp_path, "locked", passphrase=b"open sesame")
    monkeypatch.delenv("RAI_AUDIT_SIGN_PASSPHRASE", raising=False)
    refused = run_cli("run", config, "--out", tmp_path / "out", "--sign-key", locked)
    assert refused.exit_code == 2, refused.output
    assert "RAI_AUDIT_SIGN_PASSPHRASE" in refused.output and not (tmp_path / "out").exists()
    monkeypatch.setenv("RAI_AUDIT_SIGN_PASSPHRASE", "open sesame")
    signed = run_cli("run", config, "--out", tmp_path / "out", "--sign-key", locked, "-q")
    assert signed.exit_code == 0, signed.output
    checked = run_cli("verify", tmp_path / "out", "--public-key", public)
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "No manifest.json in"),
        (b"{ not json", "is not valid JSON: line 1, column 3"),
        (b'{"files": ["results.json"]}', "is not a rai-audit manifest"),
    ],
)
def test_verify_without_a_readable_manifest_exits_2(copy_of, manifest, message):
    path = copy_of / "out" / MANIFEST
    if manifest is None:
        path.unlink()
    else:
        path.write_bytes(manifest)
    done = _verify(copy_of)
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
    path.unlink(missing_ok=True)  # conftest reads every manifest.json the suite leaves


def test_verify_of_a_file_or_a_missing_folder_exits_2(copy_of):
    for path in (copy_of / "out" / "results.json", copy_of / "nowhere"):
        done = run_cli("verify", path)
        assert done.exit_code == 2, done.output
        assert "is not a folder" in done.output and "Traceback" not in done.output


def test_a_manifest_naming_a_path_outside_the_folder_is_refused(copy_of):
    path = copy_of / "out" / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"]["../data.csv"] = {"sha256": _sha256(copy_of / "data.csv")}
    path.write_text(json.dumps(manifest), encoding="utf-8")
    done = _verify(copy_of)
    assert done.exit_code == 2, done.output
    assert "a path outside the folder" in done.output


# -- the manifest and the folder's life --------------------------------------------------------


def test_report_rerendered_beside_its_results_updates_the_manifest(copy_of):
    out = copy_of / "out"
    before = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    key = copy_of / "keys" / "signer.pem"
    done = run_cli("report", out / "results.json", "--format", "html", "--detail", "full",
                   "--sign-key", key, "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    after = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert after["files"]["report.html"]["sha256"] == _sha256(out / "report.html")
    assert after["files"]["report.html"]["sha256"] != before["files"]["report.html"]["sha256"]
    for kept in ("results.json", "model.skops"):
        assert after["files"][kept] == before["files"][kept]
    assert after["inputs"] == before["inputs"]  # the audit's inputs are carried over
    public = copy_of / "keys" / "signer.pub.pem"
    assert run_cli("verify", out, "--public-key", public).exit_code == 0
    # Re-rendered without a key: the earlier signature, of an earlier manifest, is removed.
    unsigned = run_cli("report", out / "results.json", "--format", "html", "-q")
    assert unsigned.exit_code == 0, unsigned.output
    assert not (out / SIGNATURE).exists()
    assert run_cli("verify", out).exit_code == 0
    assert run_cli("verify", out, "--public-key", public).exit_code == 1


def test_a_report_rendered_elsewhere_records_the_results_it_came_from(copy_of):
    elsewhere = copy_of / "copy"
    done = run_cli("report", copy_of / "out" / "results.json", "--out", elsewhere,
                   "--format", "html", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    manifest = json.loads((elsewhere / MANIFEST).read_text(encoding="utf-8"))
    inputs = {entry["role"]: entry for entry in manifest["inputs"]}
    assert inputs["results"]["sha256"] == _sha256(copy_of / "out" / "results.json")
    assert inputs["data"]["sha256"] == _sha256(copy_of / "data.csv")
    assert inputs["data"]["location"] == "../data.csv"
    checked = run_cli("verify", elsewhere)
    assert checked.exit_code == 0, checked.output
    assert "ok  results" in checked.output and "ok  data data.csv" in checked.output


def test_a_failed_run_leaves_the_earlier_manifest_and_signature_untouched(copy_of):
    before = _every_file(copy_of / "out")
    blocker = copy_of / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    failed = run_cli("run", copy_of / "audit.yaml", "--out", copy_of / "out",
                     "--junit", blocker / "junit.xml")  # fmt: skip
    assert failed.exit_code == 2, failed.output
    assert _every_file(copy_of / "out") == before
    assert _verify(copy_of, "--public-key", copy_of / "keys" / "signer.pub.pem").exit_code == 0


def test_a_folder_of_an_earlier_version_is_recognised_and_upgraded(copy_of):
    """Before manifest.json, the files written were listed in .rai-audit-manifest.json."""
    out = copy_of / "out"
    names = sorted(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"])
    (out / MANIFEST).unlink()
    (out / SIGNATURE).unlink()
    legacy = {"written_by": "rai-audit 0.1.0", "files": names}
    (out / LEGACY).write_text(json.dumps(legacy), encoding="utf-8")
    old = _verify(copy_of)
    assert old.exit_code == 2 and "recorded no hashes" in old.output, old.output
    # A new run with fewer formats: the folder is not refused as someone else's, and the
    # earlier run's report and tables (listed in the old manifest) are removed.
    again = run_cli("run", copy_of / "audit.yaml", "--out", out, "--format", "json", "-q")
    assert again.exit_code == 0, again.output
    assert set(_every_file(out)) == {"results.json", "model.skops", MANIFEST}
    assert run_cli("verify", out).exit_code == 0
    # The manifest of the new run records the data it read.
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["inputs"][0]
    assert data["role"] == "data" and data["sha256"] == _sha256(copy_of / "data.csv")


def test_a_legacy_folder_rerendered_records_what_its_results_say_was_read(copy_of):
    out = copy_of / "out"
    (out / MANIFEST).rename(out / LEGACY)  # its "files" keys are the names it lists
    (out / SIGNATURE).unlink()
    done = run_cli("report", out / "results.json", "--format", "html", "-q")
    assert done.exit_code == 0, done.output
    assert not (out / LEGACY).exists()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == set(_every_file(out)) - {MANIFEST}
    data = manifest["inputs"][0]
    assert (data["role"], data["path"], data["location"]) == ("data", "data.csv", None)
    assert data["sha256"] == _sha256(copy_of / "data.csv")
    checked = run_cli("verify", out)
    assert checked.exit_code == 0, checked.output
    assert "not checkable  data data.csv" in checked.output


def test_a_foreign_manifest_json_is_someone_elses_file(tmp_path):
    config = _setup(tmp_path, formats=("json",))
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text('{"files": {"package.json": {}}}', encoding="utf-8")
    refused = run_cli("run", config, "--out", out)
    assert refused.exit_code == 2, refused.output
    assert "'manifest.json'" in refused.output and "--force" in refused.output


def test_the_stale_file_logic_reads_the_manifest(copy_of):
    """A file listed in manifest.json is rai-audit's: a re-run removes it when it does not
    write it again; a file not listed is refused as someone else's."""
    out = copy_of / "out"
    again = run_cli("run", copy_of / "audit.yaml", "--out", out, "--format", "json", "-q")
    assert again.exit_code == 0, again.output
    assert set(_every_file(out)) == {"results.json", "model.skops", MANIFEST}
    assert not (out / "tables").exists() and not (out / SIGNATURE).exists()
    (out / "notes.txt").write_text("mine")
    refused = run_cli("run", copy_of / "audit.yaml", "--out", out, "-q")
    assert refused.exit_code == 2 and "'notes.txt'" in refused.output, refused.output


def test_a_loaded_model_and_checklist_answers_are_recorded_as_inputs(copy_of):
    answers = copy_of / "answers.yaml"
    assert run_cli("checklist", "init", "--out", answers).exit_code == 0
    model = copy_of / "out" / "model.skops"
    done = run_cli("run", copy_of / "audit.yaml", "--out", copy_of / "second", "--model-file",
                   model, "--checklist-answers", answers, "--format", "json", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    manifest = json.loads((copy_of / "second" / MANIFEST).read_text(encoding="utf-8"))
    inputs = {entry["role"]: entry for entry in manifest["inputs"]}
    assert set(inputs) == {"data", "model", "config", "checklist_answers"}
    assert inputs["model"]["sha256"] == _sha256(model)
    assert inputs["model"]["location"] == "../out/model.skops"
    assert inputs["checklist_answers"]["sha256"] == _sha256(answers)
    assert set(manifest["files"]) == {"results.json"}  # a loaded model is not saved again
    model.write_bytes(model.read_bytes() + b"\0")
    changed = run_cli("verify", copy_of / "second")
    assert changed.exit_code == 1, changed.output
    assert "CHANGED  model out/model.skops" in changed.output


# -- the demo, the API, keys -------------------------------------------------------------------


def test_the_demo_manifest_covers_its_data_and_config(tmp_path):
    out = tmp_path / "demo"
    done = run_cli("demo", "--out", out, "--rows", "1000", "--model", "logistic_regression",
                   "--mitigate", "none", "--format", "json", "-q")  # fmt: skip
    assert done.exit_code == 0, done.output
    files = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]
    assert files["data/credit.csv"]["sha256"] == _sha256(out / "data" / "credit.csv")
    assert files["data/credit.csv"]["role"] == "data"
    assert files["audit.yaml"]["sha256"] == _sha256(out / "audit.yaml")
    assert files["audit.yaml"]["role"] == "config"
    (out / "data" / "credit.csv").write_bytes(b"x" + (out / "data" / "credit.csv").read_bytes())
    done = run_cli("verify", out)
    assert done.exit_code == 1 and "CHANGED  data/credit.csv" in done.output, done.output


def test_result_save_writes_a_signed_manifest(tmp_path):
    config = _setup(tmp_path, formats=("json",))
    private, public = _write_key_pair(tmp_path, "api")
    result = audit.run(config)
    written = result.save(tmp_path / "saved", formats=["json"], sign_key=private)
    assert {p.name for p in written} == {"results.json", "model.skops"}
    manifest = json.loads((tmp_path / "saved" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"]["results.json"]["sha256"] == _sha256(
        tmp_path / "saved" / "results.json"
    )
    data = next(entry for entry in manifest["inputs"] if entry["role"] == "data")
    assert data["sha256"] == _sha256(tmp_path / "data.csv") and data["location"] == "../data.csv"
    done = run_cli("verify", tmp_path / "saved", "--public-key", public)
    assert done.exit_code == 0, done.output


def test_a_dataframe_given_in_memory_is_recorded_as_not_checkable(tmp_path):
    result = audit.run(
        data=_frame(), target="y", sensitive="sex", model="logistic_regression",
        explain={"enabled": False}, mitigation={"strategies": []},
        fairness={"bootstrap": {"resamples": 0}},
    )  # fmt: skip
    result.save(tmp_path / "saved", formats=["json"])
    done = run_cli("verify", tmp_path / "saved")
    assert done.exit_code == 0, done.output
    assert "not checkable  data the DataFrame given" in done.output


def test_keys_create_writes_a_private_key_only_its_owner_reads(tmp_path):
    done = run_cli("keys", "create", "--out", tmp_path / "keys")
    assert done.exit_code == 0, done.output
    private = tmp_path / "keys" / "rai-audit-signing-key.pem"
    public = tmp_path / "keys" / "rai-audit-signing-key.pub.pem"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert (
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == public.read_bytes()
    )
    again = run_cli("keys", "create", "--out", tmp_path / "keys")
    assert again.exit_code == 2 and "already exists" in again.output, again.output
    assert serialization.load_pem_private_key(private.read_bytes(), None) is not None


def test_a_report_rerendered_from_an_edited_results_json_does_not_vouch_for_it(copy_of):
    """`rai-audit report` reads results.json but never re-hashes (or signs) an edited one:
    the manifest keeps the recorded hash, the command warns, verify names the file."""
    out = copy_of / "out"
    results = out / "results.json"
    recorded = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]["results.json"]
    text = results.read_text(encoding="utf-8")
    at = text.index('"accuracy": 0.') + len('"accuracy": 0.')
    digit = "1" if text[at] != "1" else "2"
    results.write_text(text[:at] + digit + text[at + 1 :], encoding="utf-8")  # still JSON
    json.loads(results.read_text(encoding="utf-8"))
    key, public = copy_of / "keys" / "signer.pem", copy_of / "keys" / "signer.pub.pem"
    done = run_cli("report", results, "--format", "html", "--sign-key", key, "-q")
    assert done.exit_code == 0, done.output
    assert "has changed since rai-audit wrote it" in done.stderr
    after = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["files"]["results.json"]
    assert after["sha256"] == recorded["sha256"] != _sha256(results)
    checked = run_cli("verify", out, "--public-key", public)
    assert checked.exit_code == 1, checked.output
    assert "CHANGED  results.json" in checked.output and "Signature: valid" in checked.output


# -- verify: what it cannot check, it says --------------------------------------------------


def _listed(root: Path) -> int:
    return len(json.loads((root / "out" / MANIFEST).read_text(encoding="utf-8"))["files"])


def test_an_unreadable_file_is_named_and_fails_without_a_crash(copy_of, monkeypatch):
    """API level, so that it runs as root too: the hash of report.html raises
    PermissionError, as reading a chmod 000 file does for anyone but root."""
    import audit.verify

    real = audit.verify.sha256_of

    def refusing(path: Path) -> str:
        if Path(path).name == "report.html":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(audit.verify, "sha256_of", refusing)
    checked = audit.verify.verify_folder(copy_of / "out")
    assert checked.failed
    assert "  UNREADABLE  report.html: Permission denied" in checked.lines
    assert checked.lines[-1] == "FAILED."


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file")
def test_a_chmod_000_file_exits_1_naming_it(copy_of):
    report = copy_of / "out" / "report.html"
    report.chmod(0)
    try:
        done = _verify(copy_of)
    finally:
        report.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert done.exit_code == 1, done.output
    assert "UNREADABLE  report.html: Permission denied" in done.output


def test_a_listed_file_replaced_by_a_symbolic_link_is_the_folders_fault(copy_of):
    out = copy_of / "out"
    outside = copy_of / "report-elsewhere.html"
    shutil.copyfile(out / "report.html", outside)  # the same bytes, outside the folder
    (out / "report.html").unlink()
    (out / "report.html").symlink_to(outside)
    done = _verify(copy_of)
    assert done.exit_code == 1, done.output
    assert f"NOT A FILE IN THE FOLDER  report.html  (symbolic link to {outside})" in done.output
    assert "FAILED." in done.output and "Traceback" not in done.output


def test_the_last_line_counts_what_matched_and_what_was_not_checked(copy_of):
    listed = _listed(copy_of)
    fresh = _verify(copy_of)
    assert fresh.exit_code == 0, fresh.output
    # data.csv and audit.yaml lie beside out/, outside the folder.
    assert fresh.output.rstrip().endswith(f"Verified: {listed} files and 2 inputs match.")
    (copy_of / "data.csv").unlink()
    (copy_of / "audit.yaml").unlink()
    gone = _verify(copy_of)
    assert gone.exit_code == 0, gone.output
    assert gone.output.rstrip().endswith(
        f"Verified: {listed} files match; 2 inputs outside the folder were not found and "
        "not checked."
    )


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_an_unsigned_manifest_cannot_make_verify_read_system_files(copy_of):
    """A forged input location is hashed only when it is a regular file outside /proc,
    /dev and /sys: reading /proc/self/mem fails, /dev/zero never ends."""
    path = copy_of / "out" / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    forged = ["/proc/self/status", "/proc/self/mem", "/dev/null"]
    manifest["inputs"] += [
        {"role": "data", "path": f"x{i}", "sha256": "0" * 64, "location": place,
         "in_folder": False}
        for i, place in enumerate(forged)
    ]  # fmt: skip
    path.write_text(json.dumps(manifest), encoding="utf-8")
    done = _verify(copy_of)
    assert done.exit_code == 0, done.output
    for place in forged:
        assert f": {place} is not a regular file of data" in done.output
    assert "3 inputs could not be checked" in done.output


def test_a_results_json_that_is_not_json_is_named_so(copy_of):
    results = copy_of / "out" / "results.json"
    saved = results.read_bytes()
    results.write_bytes(b"{not json" + saved[9:])
    try:
        done = _verify(copy_of)
    finally:
        results.write_bytes(saved)  # conftest validates every results.json left behind
    assert done.exit_code == 1, done.output
    assert "results.json is not readable JSON; config not checked." in done.output
    assert "Config (as stored in results.json)" not in done.output
