"""Configuration: file + flags into one validated object; bad keys fail up front, by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.config import build_config
from audit.errors import AuditError


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_yaml_file_is_read_and_paths_are_relative_to_it(tmp_path):
    cfg_file = write(
        tmp_path / "audit.yaml",
        "data:\n  path: data.csv\n  target: y\n  sensitive: [sex]\nmodel:\n  name: random_forest\n"
        "split:\n  test_size: 0.25\nseed: 7\n",
    )
    cfg = build_config(cfg_file)
    assert cfg.data.path == tmp_path / "data.csv"
    assert cfg.model.name == "random_forest"
    assert cfg.split.test_size == 0.25
    assert cfg.seed == 7
    assert cfg.mode == "train"


def test_toml_file_is_read(tmp_path):
    cfg_file = write(
        tmp_path / "audit.toml",
        '[data]\npath = "d.csv"\ntarget = "y"\nsensitive = ["race", "sex"]\n'
        '[predictions]\nscore_column = "s"\nthreshold = 5\n',
    )
    cfg = build_config(cfg_file)
    assert cfg.data.sensitive == ["race", "sex"]
    assert cfg.mode == "predictions"
    assert cfg.predictions.threshold == 5


def test_flags_override_the_file_but_absent_flags_do_not_erase_it(tmp_path):
    cfg_file = write(tmp_path / "a.yaml", "data:\n  target: y\n  sensitive: [sex]\nseed: 3\n")
    cfg = build_config(cfg_file, {"data": {"target": "z", "sensitive": None}, "seed": None})
    assert cfg.data.target == "z"
    assert cfg.data.sensitive == ["sex"]
    assert cfg.seed == 3


def test_unknown_key_is_named_with_the_allowed_keys(tmp_path):
    cfg_file = write(tmp_path / "a.yaml", "data:\n  target: y\n  sensitve: [sex]\n")
    with pytest.raises(AuditError) as error:
        build_config(cfg_file)
    message = str(error.value)
    assert "data.sensitve" in message
    assert "sensitive" in message and "positive_label" in message  # the allowed keys


def test_unknown_top_level_key(tmp_path):
    cfg_file = write(tmp_path / "a.yaml", "modle:\n  name: x\n")
    with pytest.raises(AuditError, match=r"unknown key 'modle'.*data, model, predictions"):
        build_config(cfg_file)


def test_invalid_values_name_the_key_and_allowed_values(tmp_path):
    with pytest.raises(AuditError, match=r"output\.formats\.0.*'json', 'html' or 'pdf'"):
        build_config(None, {"output": {"formats": ["docx"]}})
    with pytest.raises(AuditError, match=r"split\.test_size"):
        build_config(None, {"split": {"test_size": 1.5}})


def test_score_column_needs_a_threshold():
    with pytest.raises(AuditError, match="threshold"):
        build_config(None, {"predictions": {"score_column": "s"}})


def test_incomplete_config_says_which_flags_are_missing():
    cfg = build_config(None, {"data": {"target": "y"}})
    with pytest.raises(AuditError, match=r"data\.path \(--data\).*data\.sensitive"):
        cfg.check_complete()


def test_config_file_that_is_not_a_mapping(tmp_path):
    with pytest.raises(AuditError, match="mapping"):
        build_config(write(tmp_path / "a.yaml", "- just\n- a list\n"))
    with pytest.raises(AuditError, match="not found"):
        build_config(tmp_path / "missing.yaml")


def test_example_configs_are_valid():
    examples = Path(__file__).resolve().parents[1] / "examples"
    configs = sorted(examples.glob("*.yaml"))
    assert configs, "no example configs"
    for path in configs:
        cfg = build_config(path)
        assert cfg.data.target and cfg.data.sensitive, path
        assert cfg.data.path.parent == examples  # relative to the file, not the cwd
