"""The bad-inputs corpus (tests/bad_inputs/cases.py) through the CLI.

Every case must end with its exit code (2 for a refusal, 0/1 for an input that is handled
safely) and, when refused: one line of message naming the problem and what to do, no
traceback, no raw control character on the terminal, nothing written anywhere in its
folder (an earlier audit byte-identical), and no payload run.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from bad_inputs.cases import CASES, GROUPS, Case, Shared, Workspace, by_group
from conftest import run_cli

from audit import pipeline

MESSAGE_LIMIT = 1200  # characters in one error message: enough to say it, too few to dump a file
# A message says what to do: besides each case's own words, at least one of these verbs.
FIX_VERBS = re.compile(
    r"\b(set|use|give|remove|re-run|pass|check|choose|save|correct|fill|recode|rename|add|"
    r"write|export|flatten|mark|bin|name|fix|keep|drop|re-save|pick)\b",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> Shared:
    return Shared(tmp_path_factory.mktemp("shared"), run_cli)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` (hidden ones too): files by the SHA-256 of their bytes."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[name] = "link"
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[name] = "folder"
    return found


def _raw_control_characters(text: str) -> list[str]:
    """Characters a terminal would act on or hide (all but newline), as code points."""
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if c != "\n" and unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
        }
    )


def _error_message(stderr: str) -> str:
    """The message after "Error: ", which must be the last line printed and one line."""
    lines = stderr.rstrip("\n").split("\n")
    errors = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    assert len(errors) == 1, f"expected one 'Error: ' line:\n{stderr}"
    assert errors[0] == len(lines) - 1, f"the message runs over more than one line:\n{stderr}"
    return lines[-1].removeprefix("Error: ")


def test_the_corpus_covers_every_class():
    groups = by_group()
    assert len(CASES) >= 60
    assert len({c.name for c in CASES}) == len(CASES), "case names are unique"
    for group in GROUPS:
        assert len(groups[group]) >= 6, group
    assert sum(c.payload for c in CASES) >= 8
    assert sum(c.earlier for c in CASES) >= 10
    for c in CASES:
        assert c.succeeds or (c.problem and c.fix), f"{c.name}: say the problem and the fix"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.group}-{c.name}" for c in CASES])
def test_bad_input(case: Case, shared, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "case", shared)
    argv = case.build(ws)
    if case.earlier:
        shutil.copytree(shared.earlier_audit, ws.out)
    monkeypatch.chdir(ws.dir)  # whatever a payload or a relative path writes lands here
    before = _snapshot(ws.dir)

    result = run_cli(*argv)
    terminal = result.stdout + result.stderr

    assert result.exit_code == case.exit_code, terminal
    assert "Traceback" not in terminal
    assert not _raw_control_characters(terminal), _raw_control_characters(terminal)
    for text in case.hidden:
        assert text not in terminal, f"{text[:40]!r} reached the terminal"
    assert not ws.marker.exists(), "the payload ran"
    if case.succeeds:
        assert (ws.out / "results.json").is_file()
        if case.check is not None:
            case.check(ws)
        return

    message = _error_message(result.stderr)
    assert result.stdout == ""
    assert len(message) <= MESSAGE_LIMIT, f"{len(message)} characters"
    for words in case.problem:
        assert words in message, f"the problem ({words!r}) is not named: {message}"
    for words in case.fix:
        assert words in message, f"what to do ({words!r}) is not said: {message}"
    assert FIX_VERBS.search(message), f"no verb says what to do: {message}"
    assert _snapshot(ws.dir) == before, "a refused run changed files"


# --- --debug ----------------------------------------------------------------------------------


def _broken_stage(*args, **kwargs):
    raise RuntimeError("a bug in a stage")


def test_an_internal_error_exits_3_with_a_traceback_only_under_debug(shared, tmp_path, monkeypatch):
    ws = Workspace(tmp_path, shared)
    argv = ws.run()
    monkeypatch.setattr(pipeline, "assess_quality", _broken_stage)

    plain = run_cli(*argv)
    assert plain.exit_code == 3
    assert "Traceback" not in plain.output
    assert "Internal error: RuntimeError: a bug in a stage" in plain.stderr
    assert "--debug" in plain.stderr

    debug = run_cli(*argv, "--debug")
    assert debug.exit_code == 3, debug.output
    assert "Traceback (most recent call last)" in debug.stderr
    assert "RuntimeError: a bug in a stage" in debug.stderr
    assert not ws.out.exists()


def test_debug_adds_a_traceback_to_a_user_error_and_keeps_exit_2(shared, tmp_path):
    ws = Workspace(tmp_path, shared)
    argv = ws.run(data={"target": "label"})

    plain = run_cli(*argv)
    debug = run_cli(*argv, "--debug")
    assert plain.exit_code == debug.exit_code == 2
    assert "Traceback" not in plain.output
    assert "Traceback (most recent call last)" in debug.stderr
    # The message is the same, and still the last line.
    assert _error_message(debug.stderr) == _error_message(plain.stderr)
    assert not ws.out.exists()
