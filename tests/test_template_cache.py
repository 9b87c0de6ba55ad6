"""The compiled-template cache (audit/report/template_cache.py): a new process reads what an
earlier one compiled, never stale code, and a damaged or unwritable cache is no error."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import DictLoader, Environment
from jinja2.bccache import bc_magic

from audit.report.template_cache import CompiledTemplates, cache_folder


def _environment(sources: dict[str, str]) -> Environment:
    """What a new process has: an empty in-memory cache in front of the folder."""
    return Environment(loader=DictLoader(sources), bytecode_cache=CompiledTemplates())


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("compiled a template the cache folder holds")

    monkeypatch.setattr(Environment, "compile", refuse)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAI_AUDIT_CACHE_DIR", str(tmp_path))
    return tmp_path / "templates"


def test_a_new_process_reads_what_an_earlier_one_compiled(folder, monkeypatch):
    sources = {"page.html": "{% for x in items %}<b>{{ x }}</b>{% endfor %}"}
    assert (
        _environment(sources).get_template("page.html").render(items=[1, 2]) == "<b>1</b><b>2</b>"
    )
    assert len(list(folder.glob("*.jinja"))) == 1
    assert not list(folder.glob("*.tmp"))  # written through a temporary file, renamed

    _no_compiling(monkeypatch)
    assert _environment(sources).get_template("page.html").render(items=[3]) == "<b>3</b>"


def test_a_changed_template_is_compiled_again_never_stale(folder):
    _environment({"page.html": "old {{ x }}"}).get_template("page.html")
    changed = _environment({"page.html": "new {{ x }}"}).get_template("page.html")
    assert changed.render(x=1) == "new 1"
    # The entry now holds the new code: a third process reads "new" without compiling.
    assert _environment({"page.html": "new {{ x }}"}).get_template("page.html").render(x=2) == (
        "new 2"
    )


@pytest.mark.parametrize("cut", ["empty", "garbage", "in the checksum", "in the code"])
def test_a_damaged_entry_is_compiled_again_and_replaced(folder, monkeypatch, cut):
    sources = {"page.html": "<i>{{ x }}</i>"}
    _environment(sources).get_template("page.html")
    (entry,) = folder.glob("*.jinja")
    whole = entry.read_bytes()
    assert whole.startswith(bc_magic)
    damaged = {
        "empty": b"",
        "garbage": b"garbage",
        "in the checksum": whole[: len(bc_magic) + 3],  # Jinja's reader raises on this one
        "in the code": whole[: len(whole) // 2],
    }[cut]
    entry.write_bytes(damaged)

    assert _environment(sources).get_template("page.html").render(x=5) == "<i>5</i>"
    assert entry.read_bytes() == whole  # replaced by a readable entry
    _no_compiling(monkeypatch)
    assert _environment(sources).get_template("page.html").render(x=6) == "<i>6</i>"


def test_an_unwritable_folder_only_means_compiling_again(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("RAI_AUDIT_CACHE_DIR", str(blocker))
    env = _environment({"page.html": "{{ x }}!"})
    assert env.get_template("page.html").render(x=1) == "1!"
    assert blocker.read_text() == "a file where the cache folder would be"


def test_an_empty_cache_dir_setting_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("RAI_AUDIT_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_folder() is None
    assert _environment({"page.html": "{{ x }}"}).get_template("page.html").render(x=1) == "1"
    assert not any(tmp_path.rglob("*"))


def test_the_folder_follows_the_xdg_cache_home(tmp_path, monkeypatch):
    monkeypatch.delenv("RAI_AUDIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_folder() == tmp_path / "rai-audit" / "templates"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == tmp_path / "home" / ".cache" / "rai-audit" / "templates"
