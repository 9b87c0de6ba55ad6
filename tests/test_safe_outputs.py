"""Safe by construction: files are never echoed, terminals and spreadsheets get no live
control text, long labels stay readable, and an output folder holds exactly one audit."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli
from PIL import Image

from audit import outputs
from audit.config import build_config, read_config_file
from audit.errors import AuditError
from audit.report.tables import _csv, table_files
from audit.text import printable, printable_lines

# Lines that look like secrets: none of them may ever reach the terminal.
SECRETS = [
    "root:$6$Zm9vYmFyc2FsdA$s3cr3tHashValueNumberOne:20228:0:99999:7:::",
    "daemon:*:20228:0:99999:7:::",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY",
    "password: hunter2-Sup3rS3cret",
    'token: "ghp_unterminatedSecretToken',
]
SECRET_MARKERS = ["s3cr3tHash", "Zm9vYmFy", "wJalrXUtn", "SECRETKEY", "hunter2", "ghp_unterm"]


def _frame(n: int = 160, column: str = "sex", groups: tuple[str, ...] = ("f", "m")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "z": rng.normal(size=n),
            column: [groups[i % len(groups)] for i in range(n)],
            "y": (x + rng.normal(size=n) > 0).astype(int),
        }
    )


def _config(tmp_path: Path, frame: pd.DataFrame, sensitive: str = "sex", **sections) -> Path:
    """A quick audit: logistic regression, no intervals, no explanations, no mitigation."""
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    config = {
        "data": {"path": str(data), "target": "y", "sensitive": [sensitive]},
        "model": {"name": "logistic_regression"},
        "explain": {"enabled": False},
        "fairness": {"bootstrap": {"resamples": 0}},
        "mitigation": {"strategies": []},
        "output": {"formats": ["json"]},
        **sections,
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def _files(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (hidden ones too) with the SHA-256 of its bytes."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def earlier_audit(tmp_path):
    """An output folder holding a finished audit (json + model), and its config."""
    config = _config(tmp_path, _frame())
    out = tmp_path / "out"
    result = run_cli("run", config, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert {"results.json", "model.skops", outputs.MANIFEST} <= set(_files(out))
    return config, out


# -- 1. errors never echo file contents -----------------------------------------------------


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "shadow"
    path.write_text("\n".join(SECRETS) + "\n", encoding="utf-8")
    return path


def _assert_no_secret(output: str) -> None:
    for marker in SECRET_MARKERS:
        assert marker not in output, (marker, output)


@pytest.mark.parametrize("lines", [SECRETS[:2], SECRETS[:3], SECRETS[3:4], SECRETS])
def test_a_secret_file_as_checklist_answers_is_not_echoed(tmp_path, lines):
    secret = tmp_path / "shadow"
    secret.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = _config(tmp_path, _frame(), checklist={"answers": str(secret)})
    out = tmp_path / "out"
    result = run_cli("run", config, "--out", out)
    assert result.exit_code == 2, result.output
    assert str(secret) in result.output and "Traceback" not in result.output
    _assert_no_secret(result.output)
    assert not out.exists()


def test_a_secret_file_as_config_is_not_echoed(secret_file, tmp_path):
    result = run_cli("run", secret_file, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "Config file" in result.output and "line " in result.output  # where, not what
    _assert_no_secret(result.output)


def test_a_config_of_unknown_keys_is_counted_not_dumped(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("".join(f"{line}\n" for line in SECRETS[:2]) + "modle: x\n")
    with pytest.raises(AuditError) as caught:
        build_config(path)
    message = str(caught.value)
    assert "3 unknown keys: 'modle' and 2 that are not a plain name (not shown)" in message
    _assert_no_secret(message)


def test_a_secret_file_as_custom_checklist_or_results_is_not_echoed(secret_file, tmp_path):
    made = run_cli("checklist", "init", "--checklist", secret_file, "--out", tmp_path / "a.yaml")
    assert made.exit_code == 2, made.output
    _assert_no_secret(made.output)
    report = run_cli("report", secret_file)
    assert report.exit_code == 2 and "not valid JSON: line 1, column 1" in report.output
    _assert_no_secret(report.output)


def test_yaml_errors_give_the_line_and_column_not_the_line_itself(tmp_path):
    path = tmp_path / "audit.yaml"
    path.write_text("data:\n  target: y\n  key: value: SECRETVALUE\n")
    with pytest.raises(AuditError, match=r"line 3, column 13: mapping values") as caught:
        read_config_file(path)
    assert "SECRETVALUE" not in str(caught.value)


def test_a_config_is_utf8_with_or_without_bom_and_nothing_else(tmp_path):
    text = "data:\n  target: ÿes\n"
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert read_config_file(bom)["data"]["target"] == "ÿes"
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_text(text, encoding="utf-16")
    result = run_cli("run", utf16, "--out", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "is UTF-16 text; rai-audit reads UTF-8" in result.output
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(text.encode("latin-1"))
    with pytest.raises(AuditError, match="is not UTF-8 text"):
        read_config_file(latin1)


# -- 2. terminal and logs are clean ----------------------------------------------------------


def test_printable_escapes_control_characters_and_cuts_long_values():
    assert printable("a\x1b]0;title\x07b") == "a\\x1b]0;title\\x07b"
    assert printable("\u202eevil") == "\\u202eevil"  # a bidi override (Trojan Source)
    assert printable("é ü ß 中文 ✓") == "é ü ß 中文 ✓"  # printable text is left alone
    assert printable("x" * 100, 10) == "x" * 9 + "…"
    assert printable("x" * 10, 10) == "x" * 10
    assert printable_lines("one\ntwo\x1b[2J") == "one\ntwo\\x1b[2J"  # our newlines kept


def test_escape_sequences_in_data_never_reach_the_terminal(tmp_path):
    """A column name and a group value with ESC sequences, through the whole CLI (a real
    process, so warnings print as they would): no raw ESC or BEL, no glyph warning."""
    column, group = "sex\x1b[2J", "evil\x1b]0;PWNED\x07\x1b[31m"
    config = _config(
        tmp_path,
        _frame(column=column, groups=("f", group)),
        sensitive=column,
        output={"formats": ["json", "html"]},
        policy={"rules": ["demographic_parity_ratio >= 0.999"]},
    )
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    command = [sys.executable, "-m", "audit", "run", str(config), "--out", str(tmp_path / "out")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode in (0, 1), done.stderr
    printed = done.stdout + done.stderr
    assert "\x1b" not in printed and "\x07" not in printed
    assert "Glyph" not in printed and "Warning" not in printed, printed
    assert "sex\\x1b[2J" in printed  # shown escaped in the policy lines
    # An error message naming the column is escaped too.
    bad = subprocess.run(
        [*command, "--sensitive", "no\x1b[2Jne"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 2 and "no\\x1b[2Jne" in bad.stderr and "\x1b" not in bad.stderr


# -- 3. spreadsheets are safe ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("  =1+1", "'  =1+1"),
        ("\u00a0@x", "'\u00a0@x"),  # a no-break space is whitespace too
        ("plain", "plain"),
        ("-1", "-1"),  # a number written as text is only a number
        ("a;=1+1", "a;=1+1"),  # quoted, so no separator starts a new cell
    ],
)
def test_csv_cells_that_could_be_formulas_are_neutralised(cell, written):
    text = _csv(["label", "value"], [[cell, -0.5]]).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == [written, "-0.5"]
    body = text.split("\n", 1)[1]
    assert body.startswith('"') and body.rstrip("\n").endswith(",-0.5")  # text quoted, number not


def test_group_labels_in_the_tables_are_neutralised_and_numbers_stay_numbers(tmp_path):
    labels = ("=1+1", "\t=2+2")
    config = _config(tmp_path, _frame(groups=labels))
    out = tmp_path / "out"
    assert run_cli("run", config, "--out", out, "--quiet").exit_code == 0
    result = json.loads((out / "results.json").read_text())
    assert {g["group"] for g in result["fairness"]["features"][0]["groups"]} == set(labels)
    text = table_files(result)["tables/group_metrics.csv"].decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert sorted(row[1] for row in rows[1:]) == sorted("'" + label for label in labels)
    for line in text.splitlines()[1:]:  # n, rates...: unquoted numbers
        assert re.search(r",\d+(\.\d+)?(,|$)", line)


# -- 4. long and odd labels ------------------------------------------------------------------


def test_a_100_kb_group_label_renders_html_and_pdf_in_bounded_time(tmp_path):
    label = "G" * 100_000
    config = _config(
        tmp_path,
        _frame(groups=("a", label)),
        explain={"enabled": True, "sample_size": 60, "plot_rows": 60, "cases_per_group": 1},
    )
    out = tmp_path / "out"
    start = time.process_time()  # CPU time: the bound holds however busy the machine is
    result = run_cli("run", config, "--out", out, "--format", "html", "--format", "pdf", "-q")
    seconds = time.process_time() - start
    assert result.exit_code == 0, result.output
    assert seconds < 60, f"took {seconds:.0f}s of CPU"  # about 15 s, as with a short label
    html = (out / "report.html").read_text(encoding="utf-8")
    assert label not in html and "G" * 59 + "…" in html  # shortened in the report
    assert len(html) < 3_000_000
    for uri in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html):
        width, height = Image.open(io.BytesIO(base64.b64decode(uri))).size
        assert width * height < 3_000_000, (width, height)  # was 157 megapixels
    assert (out / "report.pdf").stat().st_size < 5_000_000
    groups = (out / "tables" / "group_metrics.csv").read_text(encoding="utf-8")
    assert label in groups  # the full value stays in the CSV


# -- 5. an output folder holds exactly one audit ---------------------------------------------


def test_a_folder_with_someone_elses_files_is_refused_without_force(tmp_path):
    config = _config(tmp_path, _frame())
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "thesis.tex").write_text("mine too")
    before = _files(out)
    refused = run_cli("run", config, "--out", out)
    assert refused.exit_code == 2, refused.output
    assert "holds 2 files rai-audit did not write" in refused.output
    assert "'notes.txt'" in refused.output and "--force" in refused.output
    assert _files(out) == before
    forced = run_cli("run", config, "--out", out, "--force", "--quiet")
    assert forced.exit_code == 0, forced.output
    assert (out / "notes.txt").read_text() == "mine"  # kept, and not claimed as ours
    manifest = json.loads((out / outputs.MANIFEST).read_text())
    assert "notes.txt" not in manifest["files"] and "results.json" in manifest["files"]


def test_a_rerun_with_fewer_outputs_leaves_nothing_of_the_earlier_run(tmp_path):
    config = _config(tmp_path, _frame())
    out = tmp_path / "out"
    first = run_cli("run", config, "--out", out, "--format", "json", "--format", "html", "-q")
    assert first.exit_code == 0, first.output
    assert (out / "report.html").exists() and list((out / "tables").glob("*.csv"))
    again = run_cli("run", config, "--out", out, "--format", "json", "-q")
    assert again.exit_code == 0, again.output
    assert set(_files(out)) == {"results.json", "model.skops", outputs.MANIFEST}
    assert not (out / "tables").exists()


def test_report_rerenders_beside_its_results_and_keeps_them(earlier_audit):
    _, out = earlier_audit
    kept = {name: digest for name, digest in _files(out).items() if name != outputs.MANIFEST}
    pdf = run_cli("report", out / "results.json", "--format", "pdf", "-q")
    assert pdf.exit_code == 0, pdf.output
    assert (out / "report.pdf").exists()
    html = run_cli("report", out / "results.json", "--format", "html", "-q")
    assert html.exit_code == 0, html.output
    files = _files(out)
    assert not (out / "report.pdf").exists()  # the earlier render's PDFs are gone
    assert not (out / "report-annex.pdf").exists()
    assert "report.html" in files and "tables/group_metrics.csv" in files
    assert {name: files[name] for name in kept} == kept  # results.json, model.skops untouched


def test_an_unwritable_junit_path_leaves_the_earlier_audit_as_it_was(earlier_audit, tmp_path):
    config, out = earlier_audit
    before = _files(out)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    result = run_cli("run", config, "--out", out, "--junit", blocker / "junit.xml")
    assert result.exit_code == 2, result.output
    assert "junit.xml" in result.output and "Traceback" not in result.output
    assert _files(out) == before  # byte-identical, and no temporary file left
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["audit.yaml", "data.csv", "not-a-folder", "out"]
    )


def test_junit_outside_the_folder_is_restored_when_the_swap_fails(
    earlier_audit, tmp_path, monkeypatch
):
    config, out = earlier_audit
    junit = tmp_path / "ci" / "junit.xml"
    junit.parent.mkdir()
    junit.write_bytes(b"<earlier/>")
    before = _files(out)
    real_replace = os.replace
    into_folder = []

    def failing_replace(src, dst):
        if Path(dst).parent == out:
            into_folder.append(Path(dst).name)
            if len(into_folder) == 2:  # one new file is in place already: a swap half done
                raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(outputs.os, "replace", failing_replace)
    result = run_cli("run", config, "--out", out, "--junit", junit)
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output
    assert into_folder[0] == "results.json" and len(into_folder) > 2  # then put back
    assert _files(out) == before
    assert junit.read_bytes() == b"<earlier/>" and os.listdir(junit.parent) == ["junit.xml"]


def test_a_full_disk_midway_leaves_the_earlier_audit_byte_identical(earlier_audit, tmp_path):
    """A real write error: the run is limited to files smaller than its model file."""
    config, out = earlier_audit
    before = _files(out)
    # results.json fits under the limit, model.skops (staged after it) does not.
    results, model = ((out / name).stat().st_size for name in ("results.json", "model.skops"))
    limit = (results + model) // 2
    assert results * 1.1 < limit < model / 1.1
    script = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))\n"
        "from audit.cli import main\n"
        "sys.argv = ['rai-audit', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    done = subprocess.run(
        [sys.executable, "-c", script, "run", str(config), "--out", str(out), "--seed", "7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "File too large" in done.stderr and "Traceback" not in done.stderr
    assert _files(out) == before


def test_a_failed_first_run_leaves_no_folder(tmp_path):
    config = _config(tmp_path, _frame(), checklist={"answers": str(tmp_path / "none.yaml")})
    out = tmp_path / "new" / "out"
    result = run_cli("run", config, "--out", out)
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "new").exists()


def test_the_demo_folder_keeps_its_data_and_config_when_rerun(tmp_path):
    out = tmp_path / "demo"
    args = ("--rows", "1000", "--model", "logistic_regression", "--mitigate", "none")
    first = run_cli("demo", "--out", out, *args, "--format", "json", "-q")
    assert first.exit_code == 0, first.output
    assert {"data/credit.csv", "audit.yaml", "results.json"} <= set(_files(out))
    # Re-running the demo's own config writes into the same folder (output dir "."), reading
    # the data there: its inputs are kept, its earlier outputs replaced.
    again = run_cli("run", out / "audit.yaml", "--format", "json", "-q", "--resamples", "0")
    assert again.exit_code in (0, 1), again.output
    files = _files(out)
    assert {"data/credit.csv", "audit.yaml", "results.json", "model.skops"} <= set(files)
    manifest = json.loads((out / outputs.MANIFEST).read_text())["files"]
    assert {"data/credit.csv", "audit.yaml"} <= set(manifest)
    # The demo refuses a folder with someone else's files before writing anything.
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.me").write_text("x")
    refused = run_cli("demo", "--out", other, *args)
    assert refused.exit_code == 2 and sorted(os.listdir(other)) == ["keep.me"]


# -- 6. rai-audit report on an incomplete results.json ---------------------------------------


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda r: r.pop("fairness"), "missing section 'fairness'"),
        (lambda r: r["data"].pop("columns"), "missing field 'data.columns'"),
        (lambda r: r["fairness"]["features"][0].pop("groups"), "'fairness.features.0.groups'"),
    ],
)
def test_report_on_an_incomplete_results_file_names_what_is_missing(
    earlier_audit, tmp_path, edit, named
):
    _, out = earlier_audit
    result = json.loads((out / "results.json").read_text())
    edit(result)
    edited = tmp_path / "edited" / "results.json"
    edited.parent.mkdir()
    edited.write_text(json.dumps(result))
    done = run_cli("report", edited, "--format", "html")
    assert done.exit_code == 2, done.output
    assert named in done.output and "Traceback" not in done.output
    assert os.listdir(edited.parent) == ["results.json"]
