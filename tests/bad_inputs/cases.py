"""The bad-inputs corpus: wrong files, roles, config, models and output folders, and the
strings an attacker would plant in them.

Each case is a function that builds its inputs in a fresh folder (a :class:`Workspace`) and
returns the ``rai-audit`` arguments; the :func:`case` decorator registers it with what the
run must show: the exit code, words that name the problem and words that say what to do.
``tests/test_bad_inputs.py`` runs every case through the CLI and checks, besides those, the
rules every case shares: one line of message, no traceback, no raw control character on the
terminal, nothing written, an earlier audit left byte-identical, no payload run.

Inputs are generated here rather than committed, except the few config files in ``files/``
whose bytes are the point (a UTF-16 file, a YAML python tag).
"""

from __future__ import annotations

import json
import operator
import pickle
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import skops.io as sio
import yaml
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

# The crafted-skops builders live with the model-file tests; the corpus reuses them.
from test_model_files import (
    declare_size,
    eval_in_an_estimator_attribute,
    exec_as_a_dict_key_type,
    exec_in_a_nested_pipeline,
    exec_in_memory,
    getattr_chain_to_os_system,
    numpy_load_of_a_pickle,
    os_system_directly,
    rewrite,
    with_member,
)
from test_safe_outputs import SECRET_MARKERS, SECRETS

from audit import models

FILES = Path(__file__).parent / "files"
GROUPS = ("files", "roles", "config", "models", "outputs", "strings")
FEATURES = ["x", "z"]
ESC_TITLE = "\x1b]0;pwned\x07"  # retitles a terminal
ESC_CLEAR = "\x1b[2J\x1b[H"  # clears it
BIDI = "\u202emoc.exe"  # right-to-left override: shows as "exe.com"


# --- the workspace a case builds its inputs in -------------------------------------------


class Shared:
    """What several cases start from, made once per test session: a small data frame, the
    registry's model fitted on it and saved, a nested pipeline, an earlier audit's folder."""

    def __init__(self, root: Path, run_cli: Callable[..., Any]) -> None:
        self.root = root
        self._run_cli = run_cli

    @staticmethod
    def frame(n: int = 120) -> pd.DataFrame:
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

    @cached_property
    def registry_model(self) -> Path:
        """The registry's logistic regression pipeline, fitted and saved (to tamper with)."""
        frame = self.frame()
        X = models.as_model_input(frame, FEATURES)
        path = self.root / "registry.skops"
        sio.dump(models.train_model("logistic_regression", {}, 0, X, frame["y"].to_numpy()), path)
        return path

    @cached_property
    def nested_model(self) -> Path:
        """A logistic regression three pipelines deep (for the nested-pipeline payload)."""
        frame = self.frame()
        inner = Pipeline([("model", LogisticRegression())])
        model = Pipeline([("outer", Pipeline([("inner", inner)]))])
        path = self.root / "nested.skops"
        sio.dump(model.fit(frame[FEATURES], frame["y"]), path)
        return path

    @cached_property
    def earlier_audit(self) -> Path:
        """An output folder holding a finished audit (results.json, model.skops, manifest)."""
        work = Workspace(self.root / "earlier-run", self)
        out = self.root / "earlier-audit"
        result = self._run_cli("run", work.config(), "--out", out, "--quiet")
        assert result.exit_code == 0, result.output
        return out


class Workspace:
    """A case's own folder: its data, config, model and output folder are made here.

    The test runs the CLI with this folder as the working directory, so anything a payload
    or a stray relative path would create lands here too, where the test looks for it.
    """

    def __init__(self, root: Path, shared: Shared) -> None:
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.shared = shared
        self.out = root / "out"
        self.marker = root / "pwned"  # a payload that runs creates this file

    def frame(self, n: int = 120, **columns: Any) -> pd.DataFrame:
        """The base data (x, z numeric; sex f/m; y 0/1) with ``columns`` added or replaced."""
        return self.shared.frame(n).assign(**columns)

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    def csv(self, frame: pd.DataFrame | None = None, name: str = "data.csv") -> Path:
        path = self.dir / name
        (self.frame() if frame is None else frame).to_csv(path, index=False)
        return path

    def parquet(self, frame: pd.DataFrame, name: str = "data.parquet") -> Path:
        path = self.dir / name
        frame.to_parquet(path, index=False)
        return path

    def copy(self, corpus_file: str) -> Path:
        """A committed file of ``files/`` copied in (beside the data it names)."""
        self.csv()
        return Path(shutil.copy(FILES / corpus_file, self.dir / corpus_file))

    def model(self, model: Any, name: str = "model.skops") -> Path:
        path = self.dir / name
        sio.dump(model, path)
        return path

    def crafted(self, payload: Callable[..., Any], base: Path | None = None) -> Path:
        """The registry model file with ``payload`` written into its schema."""
        source = base or self.shared.registry_model
        return rewrite(source, self.dir / "evil.skops", lambda s: payload(s, self.marker, self.dir))

    def config(
        self, *, name: str = "audit.yaml", frame: pd.DataFrame | None = None, **sections: Any
    ) -> Path:
        """A quick audit's config (logistic regression, no intervals, explanations or
        mitigation, JSON only) with ``sections`` merged in; the data is written unless
        ``data.path`` is given."""
        config = {
            "data": {"target": "y", "sensitive": ["sex"]},
            "model": {"name": "logistic_regression"},
            "explain": {"enabled": False},
            "fairness": {"bootstrap": {"resamples": 0}},
            "mitigation": {"strategies": []},
            "output": {"formats": ["json"]},
        }
        config = _merge(config, sections)
        if "path" not in config["data"]:
            config["data"]["path"] = str(self.csv(frame))
        path = self.dir / name
        path.write_text(yaml.safe_dump(_plain(config), allow_unicode=True), encoding="utf-8")
        return path

    def run(self, *flags: Any, quiet: bool = True, **sections: Any) -> list[Any]:
        """``rai-audit run <config> --out <out> [--quiet] flags...``."""
        config = sections.pop("config", None) or self.config(**sections)
        return ["run", config, "--out", self.out, *(["--quiet"] if quiet else []), *flags]


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value) if isinstance(value, Path) else value


# --- the registry ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input and what the run must show.

    ``problem`` and ``fix`` are substrings of the one-line message: what is wrong, and what
    to do about it. ``exit_code`` 0 or 1 marks an input that must be *handled safely*
    (audited, with the hostile text escaped), not refused.
    """

    name: str
    group: str
    build: Callable[[Workspace], list[Any]]
    problem: tuple[str, ...]
    fix: tuple[str, ...]
    exit_code: int = 2
    earlier: bool = False  # the output folder holds an earlier audit: it must stay identical
    payload: bool = False  # the input tries to run code: the marker file must stay absent
    hidden: tuple[str, ...] = ()  # text that must never reach the terminal
    check: Callable[[Workspace], None] | None = None  # more checks on a run that succeeds

    @property
    def succeeds(self) -> bool:
        return self.exit_code in (0, 1)


CASES: list[Case] = []


def case(
    group: str,
    problem: str | tuple[str, ...] = (),
    fix: str | tuple[str, ...] = (),
    **options: Any,
) -> Callable[[Callable[[Workspace], list[Any]]], Callable[[Workspace], list[Any]]]:
    """Register the decorated builder as a case of ``group``."""
    assert group in GROUPS, group

    def register(build: Callable[[Workspace], list[Any]]) -> Callable[[Workspace], list[Any]]:
        as_tuple = lambda v: (v,) if isinstance(v, str) else tuple(v)  # noqa: E731
        CASES.append(
            Case(build.__name__, group, build, as_tuple(problem), as_tuple(fix), **options)
        )
        return build

    return register


# --- files ------------------------------------------------------------------------------------


@case("files", "Data file not found", "Check --data", earlier=True)
def data_file_missing(ws):
    return ws.run(data={"path": ws.dir / "nope.csv"})


@case("files", "is a directory", "give the CSV or Parquet file")
def data_path_is_a_directory(ws):
    (ws.dir / "folder.csv").mkdir()
    return ws.run(data={"path": ws.dir / "folder.csv"})


@case("files", "is empty", "Give a CSV or Parquet file")
def data_file_empty(ws):
    return ws.run(data={"path": ws.write("empty.csv", b"")})


@case("files", "has a header but no rows", "Give a CSV or Parquet file")
def data_header_only(ws):
    return ws.run(data={"path": ws.write("header.csv", "x,z,sex,y\n")})


@case("files", "unknown file type '.xlsx'", "Save it as CSV or Parquet")
def data_wrong_suffix(ws):
    return ws.run(data={"path": ws.write("data.xlsx", b"PK\x03\x04 a spreadsheet")})


@case("files", ("Could not read", "as Parquet", "magic bytes"), "export it again")
def data_corrupt_parquet(ws):
    good = ws.parquet(ws.frame(), "good.parquet").read_bytes()
    return ws.run(data={"path": ws.write("data.parquet", good[: len(good) // 2])})


@case("files", ("Could not read", "not UTF-8"), "Save it as UTF-8", earlier=True)
def data_binary_junk_as_csv(ws):
    junk = bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8))
    return ws.run(data={"path": ws.write("data.csv", junk)})


@case("files", ("Could not read", "not UTF-8"), "Save it as UTF-8")
def data_latin1_csv(ws):
    frame = ws.frame(sex=["Frédérique", "Mårten"] * 60)
    path = ws.dir / "latin1.csv"
    frame.to_csv(path, index=False, encoding="latin-1")
    return ws.run(data={"path": path})


@case("files", ("Data file not found", "loop.csv"), "Check --data")
def data_symlink_loop(ws):
    (ws.dir / "loop.csv").symlink_to(ws.dir / "loop.csv")
    return ws.run(data={"path": ws.dir / "loop.csv"})


@case("files", "Config file not found", "Check the path")
def config_missing(ws):
    return ["run", ws.dir / "nope.yaml", "--out", ws.out, "--quiet"]


@case("files", "is UTF-16 text", "Save it as UTF-8", earlier=True)
def config_utf16(ws):
    return ["run", ws.copy("config_utf16.yaml"), "--out", ws.out, "--quiet"]


@case("files", exit_code=0)
def config_utf8_with_bom(ws):
    # What Windows editors save: UTF-8 with a byte-order mark is UTF-8, and is read.
    text = ws.config().read_text(encoding="utf-8")
    return ["run", ws.write("audit.yaml", "\ufeff".encode() + text.encode()), "--out", ws.out]


@case("files", "is not UTF-8 text", "Save it as UTF-8")
def config_latin1(ws):
    return ["run", ws.copy("config_latin1.yaml"), "--out", ws.out, "--quiet"]


@case("files", ("must hold a mapping", "not a list"), "write it as")
def config_is_a_list(ws):
    return ["run", ws.copy("config_list.yaml"), "--out", ws.out, "--quiet"]


@case(
    "files",
    ("not valid YAML", "line 2", "!!python/object/apply:os.system", "not read"),
    "Correct it",
    payload=True,
)
def config_yaml_python_tag(ws):
    return ["run", ws.copy("config_python_tag.yaml"), "--out", ws.out, "--quiet"]


@case("files", ("not valid TOML", "line 2"), "Correct it")
def config_invalid_toml(ws):
    return ["run", ws.copy("config_invalid.toml"), "--out", ws.out, "--quiet"]


@case("files", ("not valid YAML", "line 5, column 1"), "Correct it", hidden=("hunter2",))
def config_yaml_syntax_error_quotes_nothing(ws):
    text = "data:\n  target: y\n  password: 'hunter2\n  sensitive: [sex]\n"
    return ["run", ws.write("audit.yaml", text), "--out", ws.out, "--quiet"]


@case("files", "not valid YAML", "Correct it", hidden=tuple(SECRET_MARKERS), earlier=True)
def config_is_a_file_of_secrets(ws):
    config = ws.write("audit.yaml", "\n".join(SECRETS) + "\n")
    return ["run", config, "--out", ws.out, "--quiet"]


@case(
    "files",
    ("3 unknown keys", "'password'", "1 that is not a plain name (not shown)"),
    "allowed keys",
    hidden=tuple(SECRET_MARKERS),
)
def config_of_secret_settings(ws):
    # Keys that look like names are shown (to spot a typo); values never are.
    lines = [SECRETS[0], SECRETS[3], "aws_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"]
    return ["run", ws.write("audit.yaml", "\n".join(lines) + "\n"), "--out", ws.out, "--quiet"]


@case("files", "3 unknown keys", "allowed keys")
def config_unknown_keys(ws):
    return ws.run(modle={"name": "x"}, seeed=1, outptu={"dir": "o"})


@case("files", "The audit needs data.path", "set it in the config file")
def config_empty(ws):
    return ["run", ws.write("audit.yaml", ""), "--out", ws.out, "--quiet"]


@case("files", "Results file not found", "Give the results.json that `rai-audit run` wrote")
def report_results_missing(ws):
    return ["report", ws.dir / "results.json", "--out", ws.out, "--quiet"]


@case("files", "is not valid JSON", "re-run the audit", hidden=tuple(SECRET_MARKERS))
def report_results_are_secrets(ws):
    return ["report", ws.write("results.json", "\n".join(SECRETS)), "--out", ws.out, "--quiet"]


@case("files", "missing section 'fairness'", "Re-run the audit", earlier=True)
def report_results_incomplete(ws):
    results = json.loads((ws.shared.earlier_audit / "results.json").read_text())
    del results["fairness"]
    path = ws.write("results.json", json.dumps(results))
    return ["report", path, "--format", "html", "--out", ws.out, "--quiet"]


@case("files", "Checklist answers file not found", "Check the path")
def checklist_answers_missing(ws):
    return ws.run(checklist={"answers": str(ws.dir / "answers.yaml")})


# --- roles ------------------------------------------------------------------------------------


@case("roles", ("Target column", "'label' not found"), "Set --target", earlier=True)
def target_column_missing(ws):
    return ws.run(data={"target": "label"})


@case("roles", ("Sensitive column", "'race' not found"), "Set --sensitive")
def sensitive_column_missing(ws):
    return ws.run(data={"sensitive": ["sex", "race"]})


@case("roles", "both the target and a sensitive feature", "remove it from --sensitive")
def target_is_sensitive(ws):
    return ws.run(data={"sensitive": ["y"]})


@case("roles", "only one class", ("Check --positive-label", "both outcomes"))
def target_with_one_class(ws):
    return ws.run(frame=ws.frame(y=0))


@case("roles", ("Target column 'y'", "has no values"), "choose another --target")
def target_all_missing(ws):
    return ws.run(frame=ws.frame(y=np.nan))


@case("roles", "fewer than two groups", "pick a column with at least two values")
def sensitive_with_one_group(ws):
    return ws.run(frame=ws.frame(sex="f"))


@case("roles", "40 distinct values", "set data.task: multiclass (--task multiclass)")
def target_not_binary(ws):
    return ws.run(frame=ws.frame(y=list(range(40)) * 3), data={"positive_label": 3})


@case("roles", "Positive label 'yes' does not occur", "Set --positive-label")
def positive_label_absent(ws):
    return ws.run(data={"positive_label": "yes"})


@case("roles", "is not 0/1 or boolean", "--positive-label")
def text_target_without_positive_label(ws):
    return ws.run(frame=ws.frame(y=["good", "bad"] * 60))


@case("roles", "with different values", "rename or remove the copies", earlier=True)
def duplicated_column_names_that_differ(ws):
    text = ws.frame().to_csv(index=False).splitlines()
    rows = [text[0] + ",sex"] + [f"{line},{'mf'[i % 2]}" for i, line in enumerate(text[1:])]
    return ws.run(data={"path": ws.write("data.csv", "\n".join(rows) + "\n")})


def _no_copy_audited(ws):
    data = json.loads((ws.out / "results.json").read_text())["data"]
    assert [c["name"] for c in data["columns"]] == ["x", "z", "sex", "y"]
    assert data["features"] == FEATURES


@case("roles", exit_code=0, check=_no_copy_audited)
def duplicated_column_names_that_agree(ws):
    text = ws.frame().to_csv(index=False).splitlines()
    rows = [text[0] + ",sex"] + [f"{line},{line.split(',')[2]}" for line in text[1:]]
    return ws.run(data={"path": ws.write("data.csv", "\n".join(rows) + "\n")})


@case("roles", ("'tags' (feature)", "lists or structures"), ("Flatten", "--drop tags"))
def parquet_list_column(ws):
    frame = ws.frame(tags=[["a", "b"], ["c"]] * 60)
    return ws.run(data={"path": ws.parquet(frame)})


@case("roles", ("'sex' (sensitive)", "lists or structures"), "Flatten")
def parquet_struct_sensitive_column(ws):
    frame = ws.frame(sex=[{"code": "f"}, {"code": "m"}] * 60)
    return ws.run(data={"path": ws.parquet(frame)})


@case("roles", ("repeated column names", "'sex'"), "rename the copies")
def parquet_repeated_column_names(ws):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = ws.frame()
    table = pa.table([frame[c] for c in frame.columns] + [frame["sex"]], [*frame.columns, "sex"])
    path = ws.dir / "data.parquet"
    pq.write_table(table, path)
    return ws.run(data={"path": path})


def _text_feature_audited(ws):
    columns = {c["name"]: c for c in _results(ws)["data"]["columns"]}
    assert columns["job"]["role"] == "feature" and columns["job"]["missing"] == 40


@case("roles", exit_code=0, check=_text_feature_audited)
def text_feature_with_missing_values(ws):
    # Once an internal error under pandas 3 (issue 17): missing values in a text input.
    return ws.run(frame=ws.frame(job=["clerk", None, "nurse"] * 40))


@case("roles", ("Split column 'part'", "neither train"), "Recode them")
def split_column_with_bad_values(ws):
    return ws.run(
        frame=ws.frame(part=["train", "test", "validation"] * 40), split={"column": "part"}
    )


@case("roles", ("Split column 'part'", "no row as test"), "Mark some rows 'test'")
def split_column_without_test_rows(ws):
    return ws.run(frame=ws.frame(part="train"), split={"column": "part"})


@case("roles", ("Column 'pred'", "missing values"), "Fill or drop those rows")
def prediction_column_with_missing_values(ws):
    frame = ws.frame(pred=[1.0, 0.0, np.nan] * 40)
    return ws.run(frame=frame, predictions={"prediction_column": "pred"})


@case("roles", ("Prediction column 'pred'", "neither the target's values"), "Recode it")
def prediction_column_not_labels(ws):
    frame = ws.frame(pred=["approve", "deny"] * 60)
    return ws.run(frame=frame, predictions={"prediction_column": "pred"})


@case("roles", ("Prediction column(s) 'pred' not found",), "Set --prediction-column")
def prediction_column_missing(ws):
    return ws.run(predictions={"prediction_column": "pred"})


@case("roles", "Score column 'score' must be numeric", "Give a column of numbers")
def score_column_not_numeric(ws):
    frame = ws.frame(score=["high", "low"] * 60)
    return ws.run(frame=frame, predictions={"score_column": "score", "threshold": 0.5})


@case("roles", "target column 'y' is not numeric", "Use a numeric target")
def regression_with_a_text_target(ws):
    frame = ws.frame(y=["high", "low"] * 60, pred=np.linspace(0, 1, 120))
    return ws.run(
        frame=frame, data={"task": "regression"}, predictions={"prediction_column": "pred"}
    )


@case("roles", ("Sensitive column 'age'", "numeric with"), "bin it")
def sensitive_column_numeric_unbinned(ws):
    return ws.run(frame=ws.frame(age=np.arange(120)), data={"sensitive": ["age"]})


@case("roles", ("Sensitive column 'sex'", "missing value"), "Fill them")
def sensitive_missing_values_refused(ws):
    frame = ws.frame(sex=["f", "m", None] * 40)
    return ws.run(frame=frame, fairness={"missing": "error"})


@case("roles", ("Weight column 'w'", "negative"), "weight >= 0")
def weight_column_negative(ws):
    return ws.run(frame=ws.frame(w=[1.0, -1.0] * 60), fairness={"weight_column": "w"})


@case(
    "roles",
    ("found 1 error(s)", "[leakage:leak]", "'leak' alone predicts 'y'"),
    ("Fix the data", "--allow-quality-errors"),
    earlier=True,
)
def feature_that_leaks_the_target(ws):
    # A data-quality error: the findings are listed on the message's one line.
    frame = ws.frame()
    return ws.run(frame=frame.assign(leak=frame["y"]))


@case("roles", ("Feature column", "'income' not found"), "Set data.features")
def feature_column_missing(ws):
    return ws.run(data={"features": ["x", "income"]})


# --- config -------------------------------------------------------------------------------


@case("config", "cannot read rule", "write it as")
def rule_text_unreadable(ws):
    return ws.run("--fail-on", "parity should be fair")


@case("config", "unknown metric 'demographic_parity_ratoi'", "Did you mean")
def rule_with_unknown_metric(ws):
    return ws.run(policy={"rules": ["demographic_parity_ratoi >= 0.8"]})


@case("config", ("names feature 'race'", "not audited"), "remove the rule", earlier=True)
def rule_with_unknown_feature(ws):
    # Found only once the metrics are computed: a late failure.
    return ws.run("--fail-on", "race: demographic_parity_ratio >= 0.8")


@case("config", "contradicts policy.gate", "keep only policy.gate")
def gate_contradicts_strict(ws):
    return ws.run(policy={"strict": True, "gate": "conclusive"})


@case("config", "--strict", "--gate")
def strict_flag_contradicts_gate_flag(ws):
    return ws.run("--strict", "--gate", "conclusive")


@case(
    "config",
    "model.threshold 1.5 is not a probability",
    "Set a threshold between 0 and 1",
    earlier=True,
)
def threshold_outside_0_1(ws):
    return ws.run(model={"threshold": 1.5})


@case("config", "'predictions'", "predictions.score_column needs predictions.threshold")
def score_column_without_threshold(ws):
    return ws.run(
        frame=ws.frame(score=np.linspace(0, 1, 120)), predictions={"score_column": "score"}
    )


@case("config", "either predictions.prediction_column or predictions.score_column", "not both")
def prediction_and_score_column(ws):
    frame = ws.frame(score=np.linspace(0, 1, 120), pred=[0, 1] * 60)
    return ws.run(
        frame=frame,
        predictions={"score_column": "score", "prediction_column": "pred", "threshold": 0.5},
    )


@case("config", ("'fairness.bootstrap'", "resamples"), "use at least 100 resamples")
def resamples_50(ws):
    return ws.run("--resamples", "50")


@case("config", "split.test_size 1.0 leaves no rows to train on", "use a test size below 1")
def test_size_1_when_training(ws):
    return ws.run("--test-size", "1.0")


@case("config", "split.test_size", "greater than 0")
def test_size_0(ws):
    return ws.run(split={"test_size": 0})


@case("config", "nothing to mitigate", "Remove the mitigation settings")
def mitigation_for_predictions_only(ws):
    frame = ws.frame(pred=[0, 1] * 60)
    return ws.run(
        "--mitigate", "reweighing", frame=frame, predictions={"prediction_column": "pred"}
    )


@case("config", "is not run (mitigation is off)", "remove --mitigate none or the save setting")
def save_mitigated_with_mitigation_off(ws):
    return ws.run("--save-mitigated", "reweighing", "--mitigate", "none")


@case("config", "unknown mitigation strategy 'fairify'", "Methods:")
def unknown_mitigation_strategy(ws):
    return ws.run("--mitigate", "fairify")


@case("config", "Unknown model 'xgboost'", "Available models")
def unknown_registry_model(ws):
    return ws.run(model={"name": "xgboost"})


@case("config", ("Invalid parameter for model", "'depth'"), "Check model.params")
def model_param_unknown(ws):
    return ws.run("--model-param", "depth=3")


@case(
    "config",
    ("Training 'logistic_regression' failed", "'C' parameter"),
    "Check model.params",
    earlier=True,
)
def model_param_out_of_range(ws):
    return ws.run("--model-param", "C=-1")


@case("config", "--model-param takes KEY=VALUE", "KEY=VALUE")
def model_param_without_value(ws):
    return ws.run("--model-param", "C")


@case("config", "Give the config file once", "as an argument or with --config")
def config_given_twice(ws):
    first, second = ws.config(), ws.config(name="other.yaml")
    return ["run", first, "--config", second, "--out", ws.out, "--quiet"]


@case("config", "seed", "valid integer")
def seed_not_a_number(ws):
    return ws.run(seed="tomorrow")


@case("config", "unknown data-quality check(s) 'leakge'", "known checks")
def quality_check_unknown(ws):
    return ws.run(quality={"disable": ["leakge"]})


@case("config", ("fairness.reference_groups", "no group 'x'"), "Its groups are", earlier=True)
def reference_group_unknown(ws):
    return ws.run(fairness={"reference_groups": {"sex": "x"}})


@case("config", ("fairness.reference_groups", "intersection 'race'"), "Its features are: 'sex'")
def reference_group_of_an_unknown_feature(ws):
    return ws.run("--reference-group", "race=x")


@case("config", ("--reference-group takes FEATURE=GROUP", "'sex'"), "Write it as")
def reference_group_without_a_group(ws):
    return ws.run("--reference-group", "sex")


@case("config", "split.evaluate_on is 'train', but this audit has no training", "test_size")
def evaluate_on_train_without_a_split(ws):
    return ws.run("--model-file", ws.shared.registry_model, "--evaluate-on", "train")


@case("config", ("fairness.intersections", "'race'"), "sensitive")
def intersection_with_unknown_column(ws):
    return ws.run(fairness={"intersections": [["sex", "race"]]})


@case("config", "'output.formats.0'", "Input should be 'json', 'html' or 'pdf'")
def unknown_output_format(ws):
    return ws.run(output={"formats": ["docx"]})


@case("models", "Unknown regression model 'logistic_regression'", "linear_regression")
def regression_with_a_classifier_name(ws):
    frame = ws.frame(y=np.linspace(0, 1, 120))
    return ws.run(frame=frame, data={"task": "regression"})


@case("config", "are for binary classifiers", "Remove the mitigation settings")
def regression_with_mitigation(ws):
    frame = ws.frame(y=np.linspace(0, 1, 120))
    return ws.run(
        frame=frame,
        data={"task": "regression"},
        model={"name": "linear_regression"},
        mitigation={"strategies": ["reweighing"]},
    )


# --- models --------------------------------------------------------------------------------


def _payload_case(builder, *type_names, base="registry"):
    def build(ws):
        source = ws.shared.nested_model if base == "nested" else None
        return ws.run(model={"file": str(ws.crafted(builder, source))})

    build.__name__ = f"skops_{builder.__name__}"
    case("models", type_names, "--trust-model", payload=True)(build)


_payload_case(exec_in_memory, "builtins.exec")
_payload_case(eval_in_an_estimator_attribute, "builtins.eval")
_payload_case(numpy_load_of_a_pickle, "numpy.load")
_payload_case(exec_as_a_dict_key_type, "builtins.exec")
_payload_case(getattr_chain_to_os_system, "builtins.getattr")
_payload_case(os_system_directly, "os.system")
_payload_case(exec_in_a_nested_pipeline, "builtins.exec", base="nested")


@case("models", "operator.methodcaller", "--trust-model", payload=True, earlier=True)
def skops_methodcaller_that_acts_when_predicting(ws):
    frame = ws.frame()
    model = Pipeline([("hook", FunctionTransformer()), ("model", LogisticRegression())])
    model.fit(frame[FEATURES], frame["y"])
    model.steps[0][1].func = operator.methodcaller("to_csv", str(ws.marker))
    return ws.run(model={"file": str(ws.model(model))})


@case("models", ("refused before decompression", "GiB uncompressed"), "re-save the model")
def skops_zip_bomb(ws):
    bomb = declare_size(with_member(ws.shared.registry_model, "x.npy", b"0" * 10), "x.npy", 3 << 30)
    return ws.run(model={"file": str(ws.write("bomb.skops", bomb))})


@case("models", ("corrupt or not a skops file",), "Re-save the model with skops.io.dump")
def skops_not_a_zip(ws):
    return ws.run(model={"file": str(ws.write("model.skops", b"PK\x03\x04 not a zip"))})


@case("models", "pickle/joblib file", "--trust-model", payload=True)
def pickle_without_trust(ws):
    class Payload:
        def __reduce__(self):
            return open, (str(ws.marker), "w")

    return ws.run(model={"file": str(ws.write("model.pkl", pickle.dumps(Payload())))})


@case("models", "unknown suffix '.h5'", ".skops")
def model_file_unknown_suffix(ws):
    return ws.run(model={"file": str(ws.write("model.h5", b"\x89HDF\r\n"))})


@case("models", "Model file not found", "Check --model-file")
def model_file_missing(ws):
    return ws.run(model={"file": str(ws.dir / "model.skops")})


@case("models", "is a regressor (LinearRegression)", "data.task: regression", earlier=True)
def model_is_a_regressor(ws):
    frame = ws.frame()
    return ws.run(
        model={"file": str(ws.model(LinearRegression().fit(frame[FEATURES], frame["x"])))}
    )


@case("models", "has 3 classes", "set data.task: multiclass (--task multiclass)")
def model_with_three_classes(ws):
    frame = ws.frame()
    model = LogisticRegression().fit(frame[FEATURES], np.arange(120) % 3)
    return ws.run(model={"file": str(ws.model(model))})


@case("models", ("predicts the classes", "'approved'", "positive label 1"), "Set --positive-label")
def model_string_classes_not_naming_the_positive_label(ws):
    frame = ws.frame()
    labels = np.where(frame["y"] == 1, "approved", "denied")
    model = LogisticRegression().fit(frame[FEATURES], labels)
    return ws.run(model={"file": str(ws.model(model))})


@case("models", ("expects column(s) 'income'", "does not have"), "Add them to the data")
def model_expects_a_column_the_data_lacks(ws):
    frame = ws.frame(income=np.arange(120.0))
    model = LogisticRegression().fit(frame[[*FEATURES, "income"]], frame["y"])
    return ws.run(model={"file": str(ws.model(model))})


@case(
    "models",
    ("could not be applied to the data", "could not convert string to float"),
    "Check that the data's columns have the types the model was trained on",
    earlier=True,
)
def model_given_text_where_it_was_fitted_on_numbers(ws):
    frame = ws.frame()
    model = LogisticRegression().fit(frame[FEATURES], frame["y"])
    return ws.run(frame=ws.frame(x=["low", "high"] * 60), model={"file": str(ws.model(model))})


@case("models", ("StandardScaler", "no predict method"), "Give a fitted classifier")
def model_without_predict(ws):
    return ws.run(model={"file": str(ws.model(StandardScaler().fit(ws.frame()[FEATURES])))})


@case("models", "not a readable ONNX model", "Export it again")
def onnx_corrupt(ws):
    return ws.run(model={"file": str(ws.write("model.onnx", b"\x08\x07 not a protobuf"))})


@case("models", "Both a model file", "choose one")
def model_file_and_predictions(ws):
    frame = ws.frame(pred=[0, 1] * 60)
    return ws.run(
        frame=frame,
        model={"file": str(ws.shared.registry_model)},
        predictions={"prediction_column": "pred"},
    )


# --- outputs -------------------------------------------------------------------------------


@case("outputs", ("holds 1 file rai-audit did not write", "notes.txt"), "pass --force")
def output_folder_with_foreign_files(ws):
    ws.write("out/notes.txt", "my notes")
    return ws.run()


@case("outputs", "is a file, not a folder", "Choose another --out")
def output_path_is_a_file(ws):
    ws.write("out", "a file where the output folder should be")
    return ws.run()


@case("outputs", ("Cannot create the output folder",), "Choose another --out")
def output_path_below_a_file(ws):
    blocker = ws.write("blocker", "a file")
    return ["run", ws.config(), "--out", blocker / "out", "--quiet"]


@case("outputs", ("Cannot write", "junit.xml"), "choose another path", earlier=True)
def junit_path_below_a_file(ws):
    blocker = ws.write("not-a-folder", "a file where a folder should be")
    return ws.run("--junit", blocker / "junit.xml")


@case("outputs", ("Cannot write", "junit"), "choose another path", earlier=True)
def junit_path_is_a_folder(ws):
    (ws.dir / "junit").mkdir()
    return ws.run("--junit", ws.dir / "junit")


@case("outputs", "Cannot create the output folder", "Choose another --out")
def output_path_is_a_symlink_loop(ws):
    ws.out.symlink_to(ws.out)
    return ws.run()


@case("outputs", ("holds 1 file rai-audit did not write", "notes.txt"), "pass --force")
def demo_into_a_folder_with_foreign_files(ws):
    ws.write("out/notes.txt", "my notes")
    return ["demo", "--out", ws.out, "--rows", "1000", "--format", "json", "--quiet"]


@case("outputs", ("Cannot write", "credit.csv"), "choose another path")
def dataset_export_below_a_file(ws):
    blocker = ws.write("blocker", "a file")
    return ["datasets", "export", "credit", "--rows", "100", "--out", blocker / "credit.csv"]


@case("outputs", ("already exists",), "pass --force")
def checklist_template_over_answers(ws):
    answers = ws.write("answers.yaml", "answers: {}\n")
    return ["checklist", "init", "--out", answers]


@case("outputs", ("holds 1 file rai-audit did not write",), "pass --force")
def report_into_a_folder_with_foreign_files(ws):
    results = ws.write("results.json", (ws.shared.earlier_audit / "results.json").read_text())
    ws.write("elsewhere/notes.txt", "my notes")
    return ["report", results, "--format", "html", "--out", ws.dir / "elsewhere", "--quiet"]


# --- hostile strings ---------------------------------------------------------------------------


def _results(ws) -> dict[str, Any]:
    return json.loads((ws.out / "results.json").read_text(encoding="utf-8"))


def _groups_kept(*labels: str) -> Callable[[Workspace], None]:
    """The audit keeps the labels exactly (escaping is for the terminal only)."""

    def check(ws):
        sizes = _results(ws)["data"]["group_sizes"]["sex"]
        assert set(sizes) == set(labels), sorted(sizes)

    return check


@case(
    "strings",
    exit_code=0,
    hidden=(ESC_TITLE, ESC_CLEAR),
    check=_groups_kept(f"f{ESC_TITLE}", f"m{ESC_CLEAR}"),
)
def escape_sequences_in_group_labels(ws):
    frame = ws.frame(sex=[f"f{ESC_TITLE}", f"m{ESC_CLEAR}"] * 60)
    return ws.run(frame=frame, quiet=False)


@case("strings", exit_code=0, hidden=(BIDI,), check=_groups_kept(f"f{BIDI}", "m"))
def bidi_override_in_group_labels(ws):
    return ws.run(frame=ws.frame(sex=[f"f{BIDI}", "m"] * 60), quiet=False)


def _column_kept(ws):
    assert f"income{ESC_TITLE}" in _results(ws)["data"]["features"]


@case("strings", exit_code=0, hidden=(ESC_TITLE,), check=_column_kept)
def escape_sequence_in_a_column_name(ws):
    frame = ws.frame(**{f"income{ESC_TITLE}": np.arange(120.0)})
    return ws.run(frame=frame, quiet=False)


def _long_label_kept(ws):
    assert max(map(len, _results(ws)["data"]["group_sizes"]["sex"])) == 100_000


@case("strings", exit_code=0, check=_long_label_kept)
def label_of_100_kb(ws):
    return ws.run(frame=ws.frame(sex=["f" * 100_000, "m"] * 60), quiet=False)


FORMULAS = ["=cmd|' /C calc'!A0", "\t=1+1", " @SUM(A1)"]


def _formulas_neutralised(ws):
    import csv

    cells = [
        cell
        for table in (ws.out / "tables").glob("*.csv")
        for row in csv.reader(table.open(encoding="utf-8", newline=""))
        for cell in row
    ]
    for label in FORMULAS:
        assert "'" + label in cells, f"the group {label!r} is listed, neutralised"

    def is_number(cell):
        try:
            float(cell)
        except ValueError:
            return False
        return True

    # What a spreadsheet reads as a formula: = + - @ first (after spaces), or a TAB or CR first.
    live = [
        c
        for c in cells
        if (c.lstrip(" ")[:1] in ("=", "+", "-", "@") or c[:1] in ("\t", "\r")) and not is_number(c)
    ]
    assert not live, live


@case("strings", exit_code=0, check=_formulas_neutralised)
def formula_looking_group_labels(ws):
    frame = ws.frame(sex=FORMULAS * 40)
    formats = {"formats": ["json", "html"]}  # the CSV tables come with the HTML report
    return ws.run(frame=frame, output=formats, fairness={"min_group_size": 10}, quiet=False)


@case("strings", ("Target column", "not found"), "Set --target", hidden=(ESC_TITLE,))
def escape_sequence_in_a_missing_column_name(ws):
    return ws.run(data={"target": f"y{ESC_TITLE}"})


@case("strings", ("Sensitive column", "not found"), "Set --sensitive", hidden=(BIDI,))
def bidi_override_in_a_missing_sensitive_column(ws):
    return ws.run(data={"sensitive": [f"sex{BIDI}"]})


@case("strings", "Unknown model", "Available models", hidden=(ESC_CLEAR,))
def escape_sequence_in_a_config_value(ws):
    return ws.run(model={"name": f"forest{ESC_CLEAR}"})


@case("strings", "not a plain name", "allowed keys", hidden=(ESC_TITLE,))
def escape_sequence_in_a_config_key(ws):
    return ws.run(data={f"target{ESC_TITLE}": "y"})


@case("strings", "Data file not found", "Check --data", hidden=(ESC_TITLE, BIDI))
def escape_sequence_in_a_file_name(ws):
    return ws.run(data={"path": ws.dir / f"data{ESC_TITLE}{BIDI}.csv"})


@case("strings", ("Target column", "not found"), "Set --target", hidden=(ESC_CLEAR, BIDI))
def hostile_file_name_and_columns_in_one_message(ws):
    frame = ws.frame().rename(columns={"x": f"x{ESC_CLEAR}", "z": f"z{BIDI}"})
    path = ws.csv(frame, name=f"da{ESC_CLEAR}ta.csv")
    return ws.run(data={"path": path, "target": "label"})


@case("strings", ("Target column", "not found"), "Set --target", hidden=("x" * 1000,))
def column_name_of_100_kb_in_a_message(ws):
    frame = ws.frame().rename(columns={"x": "x" * 100_000})
    return ws.run(frame=frame, data={"target": "label"})


@case("strings", "cannot read rule", "write it as", hidden=("=" * 1000,))
def rule_text_of_100_kb(ws):
    return ws.run("--fail-on", "=" * 100_000)


@case("strings", "Positive label", "Set --positive-label", hidden=(ESC_CLEAR,))
def escape_sequence_in_the_positive_label(ws):
    return ws.run("--positive-label", f"yes{ESC_CLEAR}")


@case("strings", ("answers file", "not valid YAML"), "Correct it", hidden=tuple(SECRET_MARKERS))
def checklist_answers_file_of_secrets(ws):
    secrets = ws.write("shadow", "\n".join(SECRETS) + "\n")
    return ws.run(checklist={"answers": str(secrets)})


@case(
    "strings",
    ("5 unknown keys", "not shown: not plain names"),
    "allowed",
    hidden=tuple(SECRET_MARKERS),
    earlier=True,
)
def checklist_answers_with_secret_item_fields(ws):
    answers = {"answers": {"collection.population": {line: "x" for line in SECRETS}}}
    secrets = ws.write("answers.yaml", yaml.safe_dump(answers))
    return ws.run(checklist={"answers": str(secrets)})


@case("strings", "not valid YAML", "Correct it", hidden=tuple(SECRET_MARKERS))
def custom_checklist_file_of_secrets(ws):
    secrets = ws.write("checklist.yaml", "\n".join(SECRETS) + "\n")
    return ws.run(checklist={"file": str(secrets)})


def by_group() -> dict[str, list[Case]]:
    """The cases of each group, in the order they are defined."""
    groups: dict[str, list[Case]] = {g: [] for g in GROUPS}
    for c in CASES:
        groups[c.group].append(c)
    return groups
