"""The ``rai-audit`` command line: parse flags, call the pipeline, show progress, exit.

Exit codes: 0 success; 1 the audit ran but the policy failed (`verify`: a file does not
match the manifest); 2 bad usage or bad input (message, no traceback); 3 an internal error
(a bug: please report it).
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from audit import __version__
from audit.config import AuditConfig, add_compliance_rules, build_config
from audit.errors import AuditError
from audit.outputs import OutputFolder, is_report_file, write_file_atomically
from audit.progress import Reporter
from audit.report import terminal
from audit.text import printable, printable_lines
from audit.vocabulary.report import REPORT_DETAILS

if TYPE_CHECKING:
    from audit.result import AuditResult

EXIT_OK, EXIT_POLICY_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

app = typer.Typer(
    help="Audit a machine-learning model for performance, fairness and transparency.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
datasets_app = typer.Typer(help="Built-in synthetic scenarios and local public datasets.")
app.add_typer(datasets_app, name="datasets")
checklist_app = typer.Typer(help="The ethics checklist: write a template for your answers.")
app.add_typer(checklist_app, name="checklist")
keys_app = typer.Typer(help="Ed25519 keys to sign an audit's manifest (--sign-key).")
app.add_typer(keys_app, name="keys")
exercise_app = typer.Typer(help="Teaching exercises with planted biases: list, start, check.")
app.add_typer(exercise_app, name="exercise")

Formats = Annotated[
    list[str] | None,
    typer.Option(
        "--format", "-f", help="Output format: json, html or pdf (repeatable; default all)."
    ),
]


# The values of --detail: the report.detail vocabulary, as the enum typer needs.
DetailLevel = StrEnum("DetailLevel", {detail: detail for detail in REPORT_DETAILS})


Detail = Annotated[
    DetailLevel | None,
    typer.Option(
        "--detail",
        help="Report detail: summary (main body only), standard (body + annex; default) "
        "or full (everything in the body).",
        case_sensitive=False,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
Mitigate = Annotated[
    list[str] | None,
    typer.Option(
        help="Mitigation strategy to compare, e.g. reweighing or threshold_optimizer:dp "
        "(repeatable; without it, the default set when there is a model; 'none' = off)."
    ),
]
FailOn = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on",
        help="Policy rule to add, e.g. 'demographic_parity_ratio>=0.8' or "
        "'race: equalized_odds_difference<=0.1' (repeatable). Exit 1 if a rule fails.",
    ),
]
Compliance = Annotated[
    list[str] | None,
    typer.Option(
        "--compliance",
        help="Add a report section shaped by a named rule: nyc_ll144, eeoc_uniform_guidelines "
        "or eu_ai_act (repeatable; nyc_ll144 needs its settings in compliance.nyc_ll144).",
    ),
]
Strict = Annotated[
    bool,
    typer.Option(
        "--strict", help="Same as --gate strict: every verdict that is not a pass fails the policy."
    ),
]


class GateName(StrEnum):
    """The values of ``--gate`` (``policy.gate``)."""

    default = "default"
    strict = "strict"
    conclusive = "conclusive"


class EvaluateOn(StrEnum):
    """The values of ``--evaluate-on`` (``split.evaluate_on``)."""

    test = "test"
    train = "train"
    all = "all"


Gate = Annotated[
    GateName | None,
    typer.Option(
        "--gate",
        help="Which verdicts fail the policy. default: a fail, or an inconclusive verdict "
        "whose point estimate violates the bound; strict: anything but a pass; conclusive: "
        "only a fail (the whole interval violates the bound).",
    ),
]
Junit = Annotated[
    Path | None, typer.Option("--junit", help="Write the policy verdicts as JUnit XML here.")
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Write into an output folder that holds files rai-audit did not write "
        "(they are kept).",
    ),
]
SignKey = Annotated[
    Path | None,
    typer.Option(
        "--sign-key",
        help="Sign the folder's manifest.json with this Ed25519 private key (PEM), writing "
        "manifest.json.sig; passphrase, if any, in RAI_AUDIT_SIGN_PASSPHRASE.",
    ),
]


def _sign_key(path: Path | None) -> Any:
    """The signing key of --sign-key, read before any work (a bad key stops the run)."""
    if path is None:
        return None
    from audit.signing import load_private_key

    return load_private_key(path)


def _echo(message: str, err: bool = False) -> None:
    """Print a message; the last line of defence against control characters from data.

    Values from data and config are already made printable where messages are built; this
    catches any that were not (our own newlines are kept).
    """
    typer.echo(printable_lines(message), err=err)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) unwinds like Ctrl-C, so a half-written output is undone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _guarded(debug: bool, action: Callable[[], int]) -> None:
    """Run a command: user errors become a message and exit 2, bugs exit 3.

    ``--debug`` adds the traceback (made printable like any message) and keeps the exit code.
    """
    try:
        with _terminate_as_interrupt():
            code = action()
    except AuditError as exc:
        if debug:
            _echo(traceback.format_exc().rstrip("\n"), err=True)
        _echo(f"Error: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        _echo("Interrupted; no output was written.", err=True)
        raise typer.Exit(130) from None
    except BrokenPipeError:
        raise  # the reader went away (`| head`): Click quietens the streams and exits 1
    except Exception as exc:
        if debug:
            _echo(traceback.format_exc().rstrip("\n"), err=True)
        how = (
            "please report it with the traceback above"
            if debug
            else "re-run with --debug for the traceback and report it"
        )
        _echo(
            f"Internal error: {type(exc).__name__}: {printable(exc, 500)}\n"
            f"This is a bug in rai-audit: {how}.",
            err=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None
    raise typer.Exit(code)


def _inputs(config: AuditConfig, config_file: Path | None) -> list[Path | None]:
    """The files a run reads: kept (never removed) when they sit in its output folder."""
    return [
        config_file,
        config.data.path,
        config.model.file,
        config.checklist.file,
        config.checklist.answers,
    ]


def _manifest_inputs(config: AuditConfig, config_file: Path | None) -> list[Any]:
    """The files a run reads that its provenance does not list (the data and the model are
    there), hashed before the run, for the manifest."""
    from audit.manifest import input_file

    named = [
        ("config", config_file),
        ("checklist", config.checklist.file),
        ("checklist_answers", config.checklist.answers),
    ]
    return [
        input_file(role, path, config.shown_path(path))
        for role, path in named
        if path is not None and path.is_file()
    ]


def _audit_and_write(
    config: AuditConfig,
    reporter: Reporter,
    folder: OutputFolder,
    enforce: bool = True,
    config_file: Path | None = None,
) -> int:
    """Run the audit as the Python API does, and write all its files into ``folder`` as one
    unit."""
    from audit.api import run
    from audit.junit import junit_xml
    from audit.outputs import write_result

    try:
        read = _manifest_inputs(config, config_file)
        result = run(config, progress=reporter)
        junit = None
        if config.policy.junit is not None:
            xml = junit_xml(result.policy, result.rule_verdicts, result.provenance.data_sha256)
            junit = (config.policy.junit, xml)
        saved = result.to_json()
        written = write_result(
            folder,
            saved,
            config.output.formats,
            result.models_to_save,
            junit,
            say=reporter,
            read_from=result.read_from,
            inputs=read,
        )
    finally:
        reporter.close()
    if not reporter.quiet:
        for warning in result.model.warnings:
            _echo(f"Warning: {warning}", err=True)
    code = _policy_exit(result, reporter.quiet, enforce)
    # The story of the run, last: verdict, key numbers, top findings, where the files are.
    reporter.done("\n".join(["", *terminal.summary_lines(json.loads(saved), written)]))
    return code


def _render_saved(
    result: AuditResult,
    path: Path,
    formats: list[str],
    reporter: Reporter,
    detail: str | None = None,
) -> dict[str, bytes]:
    """The report of a saved results.json; a key it lacks is the file's fault, not a bug."""
    from jinja2 import UndefinedError

    from audit.outputs import render_outputs

    try:
        return render_outputs(result.to_json(), formats, reporter, detail=detail)
    except (KeyError, UndefinedError) as exc:
        if isinstance(exc, KeyError):
            key = exc.args[0] if exc.args else "?"
        else:  # "'dict object' has no attribute 'groups'"
            found = re.search(r"attribute '([^']*)'", str(exc))
            key = found.group(1) if found else str(exc)
        raise AuditError(
            f"{path} lacks '{printable(key)}', which the report needs; it is incomplete or was "
            "edited. Re-run the audit to write a complete results.json."
        ) from None


def _policy_exit(result: AuditResult, quiet: bool, enforce: bool = True) -> int:
    """Print the policy verdicts; exit 1 when the policy failed (outputs are written anyway).

    Without ``enforce`` (the demo's example policy) a failure is reported but exits 0.
    """
    from audit.policy import summary_lines

    lines = summary_lines(result.policy, result.rule_verdicts)
    failed = result.policy.status == "fail"
    if failed and not enforce:
        lines.append(
            "The demo's example policy failed, as its planted bias should make it. The demo "
            "exits 0 all the same; `rai-audit run <out>/audit.yaml`, or the demo with "
            "--fail-on/--strict/--gate, exits 1 when the policy fails."
        )
        if not quiet:
            _echo("\n".join(lines))
        return EXIT_OK
    if failed:
        lines.append("Exit code 1: the policy failed. The audit's outputs were written.")
    if lines and (failed or not quiet):
        # A failed gate is reported even with --quiet, on stderr, like an error.
        _echo("\n".join(lines), err=failed)
    return EXIT_POLICY_FAILED if failed else EXIT_OK


def _parse_params(pairs: list[str] | None) -> dict[str, Any] | None:
    if not pairs:
        return None
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AuditError(
                f"--model-param takes KEY=VALUE, got '{printable(pair)}'. Write it as, e.g., "
                "--model-param max_iter=200."
            )
        params[key] = parse_value(value)
    return params


def _parse_reference_groups(pairs: list[str] | None) -> dict[str, str] | None:
    """``--reference-group FEATURE=GROUP`` flags as ``fairness.reference_groups``."""
    if not pairs:
        return None
    groups = {}
    for pair in pairs:
        feature, sep, group = pair.partition("=")
        if not sep or not feature.strip() or not group.strip():
            raise AuditError(
                f"--reference-group takes FEATURE=GROUP, got '{printable(pair)}'. Write it as, "
                "e.g., --reference-group race=White (an intersection: 'sex × race=F × White')."
            )
        feature, group = feature.strip(), group.strip()
        if groups.get(feature, group) != group:  # one reference per feature
            raise AuditError(
                f"--reference-group names two reference groups for '{printable(feature)}': "
                f"'{printable(groups[feature])}' and '{printable(group)}'. Give one per "
                "feature."
            )
        groups[feature] = group
    return groups


def parse_value(text: str) -> Any:
    """A flag's value as the estimator expects it: ``100`` -> 100, ``1e-3`` -> 0.001,
    ``true`` -> True, ``none`` -> None, ``l2`` -> "l2" (YAML alone reads ``1e-3`` as text)."""
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if text.strip().lower() in ("none", "null"):
        return None  # scikit-learn's "no limit", e.g. max_depth=None
    return yaml.safe_load(text)


def _file_sets(path: Path | None, section: str, key: str) -> bool:
    """Whether the config file sets ``section.key`` (so a flag knows where it belongs)."""
    if path is None:
        return False
    from audit.config import read_config_file

    part = read_config_file(path).get(section)
    return isinstance(part, dict) and part.get(key) is not None


@app.command()
def run(
    config_file: Annotated[
        Path | None, typer.Argument(help="audit.yaml or .toml (same as --config).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file.")] = None,
    data: Annotated[Path | None, typer.Option(help="CSV or Parquet data file.")] = None,
    target: Annotated[str | None, typer.Option(help="Target (label) column.")] = None,
    positive_label: Annotated[
        str | None, typer.Option(help="Value of the target that counts as positive.")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(
            help="classification (default), multiclass (more than two classes) or regression "
            "(a numeric target; data.task)."
        ),
    ] = None,
    sensitive: Annotated[
        list[str] | None, typer.Option(help="Sensitive feature column (repeatable).")
    ] = None,
    drop: Annotated[
        list[str] | None, typer.Option(help="Column not to use as a model input (repeatable).")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Registry model to train (see `rai-audit models`).")
    ] = None,
    model_param: Annotated[
        list[str] | None, typer.Option(help="Model parameter KEY=VALUE (repeatable).")
    ] = None,
    model_file: Annotated[
        Path | None,
        typer.Option(
            help="Saved model to audit instead of training: .skops, .onnx, or (with "
            "--trust-model) .pkl/.joblib."
        ),
    ] = None,
    trust_model: Annotated[
        bool,
        typer.Option(
            "--trust-model",
            help="Load the model file unchecked (any skops type, pickle): only for files you "
            "made or trust. The report records it.",
        ),
    ] = False,
    include_sensitive: Annotated[
        bool | None,
        typer.Option(
            "--include-sensitive/--exclude-sensitive", help="Use sensitive columns as model inputs."
        ),
    ] = None,
    prediction_column: Annotated[
        str | None, typer.Option(help="Column of decisions already made (no model needed).")
    ] = None,
    score_column: Annotated[
        str | None, typer.Option(help="Column of scores already made; needs --threshold.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Predicted positive when score >= threshold (score column or model probability)."
        ),
    ] = None,
    lower_score_is_positive: Annotated[
        bool,
        typer.Option(
            "--lower-score-is-positive",
            help="A lower score means the positive outcome: positive when score <= threshold.",
        ),
    ] = False,
    test_size: Annotated[
        float | None,
        typer.Option(
            help="Share of rows held out for testing (default 0.3 when training; a loaded "
            "model is evaluated on every row unless this is set)."
        ),
    ] = None,
    split_column: Annotated[
        str | None,
        typer.Option(help="Column whose values (train / test) say which rows train and test."),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(
            "--cv",
            help="Also audit K-fold cross-validation of the training rows (K >= 2): every "
            "metric and verdict per fold, with mean and spread.",
        ),
    ] = None,
    time_column: Annotated[
        str | None,
        typer.Option(
            "--time-column",
            help="Also audit fairness over time: cut the evaluated rows into windows by this "
            "column's dates/times (monitoring.time_column).",
        ),
    ] = None,
    window: Annotated[
        str | None,
        typer.Option(
            "--window",
            help="Time window: month (default), week, day, or N-rows (e.g. 50000-rows: "
            "blocks of N rows in time order).",
        ),
    ] = None,
    reference_window: Annotated[
        str | None,
        typer.Option(
            "--reference-window",
            help="The window others are compared with, by its label (e.g. 2024-01; default: "
            "the first). An alert: a disparity outside its interval.",
        ),
    ] = None,
    evaluate_on: Annotated[
        EvaluateOn | None,
        typer.Option(
            "--evaluate-on",
            help="Rows to audit: test (held out; default), train or all. train and all "
            "audit rows the model was trained on: in-sample numbers, so marked.",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for the split and the model.")] = None,
    allow_quality_errors: Annotated[
        bool,
        typer.Option(
            "--allow-quality-errors",
            help="Go on despite error-severity data-quality findings (shown in the report).",
        ),
    ] = False,
    checklist_answers: Annotated[
        Path | None,
        typer.Option(help="Your checklist answers (from `rai-audit checklist init`)."),
    ] = None,
    mitigate: Mitigate = None,
    save_mitigated: Annotated[
        str | None,
        typer.Option(help="Save this mitigation strategy's model as mitigated-NAME.skops."),
    ] = None,
    format: Formats = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output directory.")] = None,
    fail_on: FailOn = None,
    strict: Strict = False,
    gate: Gate = None,
    junit: Junit = None,
    min_group_size: Annotated[
        int | None, typer.Option(help="Groups with fewer rows get no verdict (default 30).")
    ] = None,
    resamples: Annotated[
        int | None, typer.Option(help="Bootstrap resamples for intervals (default 1000; 0 off).")
    ] = None,
    reference_group: Annotated[
        list[str] | None,
        typer.Option(
            "--reference-group",
            help="Reference group of a sensitive feature, FEATURE=GROUP (repeatable; default: "
            "its largest group). Sets fairness.reference_groups.",
        ),
    ] = None,
    detail: Detail = None,
    compliance: Compliance = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="auto (default: DuckDB for a large predictions-only CSV/Parquet file), memory "
            "(pandas; every check), duckdb (out of core, SQL) or spark (Spark SQL; pip install "
            "'rai-audit[spark]'). Sets engine.",
        ),
    ] = None,
    spark_master: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark: the Spark master URL (default local[*]; "
            "spark://HOST:7077, yarn...). Sets spark.master.",
        ),
    ] = None,
    force: Force = False,
    sign_key: SignKey = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Audit a model (trained here, loaded, or given as predictions) on a data file."""

    def action() -> int:
        if config_file and config and config_file != config:
            raise AuditError("Give the config file once: as an argument or with --config.")
        path = config_file or config
        scored = score_column or _file_sets(path, "predictions", "score_column")
        threshold_key = "predictions" if scored else "model"
        overrides = {
            "data": {
                "path": data,
                "target": target,
                "positive_label": positive_label,
                "task": task,
                "sensitive": sensitive,
                "drop": drop,
            },
            "model": {
                "name": model,
                "params": _parse_params(model_param),
                "file": model_file,
                "trust": True if trust_model else None,
                "include_sensitive": include_sensitive,
            },
            "predictions": {
                "prediction_column": prediction_column,
                "score_column": score_column,
                "score_direction": "lower_is_positive" if lower_score_is_positive else None,
            },
            "split": {
                "test_size": test_size,
                "column": split_column,
                "cv": cv,
                "evaluate_on": evaluate_on and evaluate_on.value,
            },
            "output": {"dir": out, "formats": format},
            "report": {"detail": detail and detail.value},
            "mitigation": {"strategies": mitigate, "save": save_mitigated},
            "fairness": {
                "min_group_size": min_group_size,
                "bootstrap": {"resamples": resamples},
                "reference_groups": _parse_reference_groups(reference_group),
            },
            "seed": seed,
            "engine": engine,
            "spark": {"master": spark_master},
            "quality": {"allow_errors": True if allow_quality_errors else None},
            "checklist": {"answers": checklist_answers},
            "monitoring": {
                "time_column": time_column,
                "window": window,
                "reference_window": reference_window,
            },
        }
        overrides[threshold_key]["threshold"] = threshold
        cfg = build_config(path, overrides)
        from audit.policy import add_command_line_rules

        add_command_line_rules(cfg, fail_on, strict, junit, gate and gate.value)
        add_compliance_rules(cfg, compliance)
        key = _sign_key(sign_key)
        with OutputFolder(
            cfg.output.dir, force=force, inputs=_inputs(cfg, path), sign_key=key
        ) as folder:
            return _audit_and_write(cfg, Reporter(quiet), folder, config_file=path)

    _guarded(debug, action)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "audit-demo"
    ),
    rows: Annotated[int, typer.Option(min=1000, help="Rows of synthetic data.")] = 20_000,
    bias: Annotated[float, typer.Option(min=0.0, help="Injected bias, in log-odds.")] = 1.0,
    model: Annotated[str, typer.Option(help="Registry model to train.")] = "hist_gradient_boosting",
    seed: Annotated[int, typer.Option(help="Seed for data, split and model.")] = 0,
    mitigate: Mitigate = None,
    format: Formats = None,
    fail_on: FailOn = None,
    strict: Strict = False,
    gate: Gate = None,
    junit: Junit = None,
    detail: Detail = None,
    compliance: Compliance = None,
    force: Force = False,
    sign_key: SignKey = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Audit a model on the built-in synthetic credit scenario (no data needed)."""

    def action() -> int:
        from audit.demo import CONFIG_FILE, demo_files
        from audit.policy import add_command_line_rules

        reporter = Reporter(quiet)
        key = _sign_key(sign_key)
        with OutputFolder(out, force=force, sign_key=key) as folder:
            reporter("Generating synthetic credit data")
            # The audit reads its data and config from where the user will find them; they
            # are this run's files, put back as they were if the audit fails.
            files = demo_files(rows=rows, bias=bias, model=model, seed=seed, compliance=compliance)
            for name, content in files.items():
                folder.put_now(name, content)
            cfg = build_config(
                out / CONFIG_FILE,
                {
                    "output": {"formats": format},
                    "mitigation": {"strategies": mitigate},
                    "report": {"detail": detail and detail.value},
                },
            )
            add_command_line_rules(cfg, fail_on, strict, junit, gate and gate.value)
            # The demo's own policy is an example to read, not a gate: only rules or a gate the
            # user asks for on the command line make the demo exit 1.
            enforce = bool(fail_on or strict or gate)
            return _audit_and_write(cfg, reporter, folder, enforce, config_file=out / CONFIG_FILE)

    _guarded(debug, action)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="A results.json written by `rai-audit run`.")],
    format: Formats = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output directory (default: beside results.json)."),
    ] = None,
    detail: Annotated[
        DetailLevel | None,
        typer.Option(
            "--detail",
            help="Report detail: summary, standard or full (default: the level recorded in "
            "results.json).",
            case_sensitive=False,
        ),
    ] = None,
    force: Force = False,
    sign_key: SignKey = None,
    quiet: Quiet = False,
    debug: Debug = False,
) -> None:
    """Re-render the HTML and/or PDF report from a saved results.json."""

    def action() -> int:
        from audit.result import AuditResult

        formats = format or ["html", "pdf"]
        bad = [f for f in formats if f not in ("html", "pdf")]
        if bad:
            raise AuditError(
                f"`rai-audit report` renders html or pdf, not {', '.join(map(printable, bad))}."
            )
        result = AuditResult.load(results)
        _warn_if_changed_since_written(results)
        target = out or results.parent
        # Beside its results.json the report replaces only the report files of that audit;
        # elsewhere the folder gets this report alone.
        beside = target.resolve() == results.parent.resolve()
        reporter = Reporter(quiet)
        key = _sign_key(sign_key)
        with OutputFolder(
            target,
            force=force,
            inputs=[results],
            replaces=is_report_file if beside else None,
            sign_key=key,
        ) as folder:
            evidence = _report_evidence(result, results, beside)
            if evidence is not None:
                folder.record_evidence(evidence)
            rendered = _render_saved(result, results, formats, reporter, detail and detail.value)
            for name, content in rendered.items():
                folder.add(name, content)
            written = folder.commit()
        reporter.done(terminal.wrote_line(written))
        return EXIT_OK

    _guarded(debug, action)


class CompareFormat(StrEnum):
    """The values of ``rai-audit compare --format``."""

    text = "text"
    json = "json"


@app.command()
def compare(
    old: Annotated[
        Path, typer.Argument(help="The earlier audit: its results.json or its output folder.")
    ],
    new: Annotated[
        Path, typer.Argument(help="The later audit: its results.json or its output folder.")
    ],
    format: Annotated[
        CompareFormat,
        typer.Option("--format", "-f", help="text (default) or json (the whole comparison)."),
    ] = CompareFormat.text,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write the comparison as an HTML page to this file."),
    ] = None,
    debug: Debug = False,
) -> None:
    """What changed between two audits; exit 1 when a policy verdict got worse."""

    def action() -> int:
        from audit.report.comparison import render_comparison, terminal_lines
        from audit.result import AuditResult

        before, after = AuditResult.load(old), AuditResult.load(new)
        if html is not None:
            _check_html_target(html, [old, new])
        comparison = before.compare(after)
        written = []
        if html is not None:
            page = render_comparison(comparison, str(old), str(new))
            write_file_atomically(html, page.encode("utf-8"))
            written.append(html)
        if format == CompareFormat.json:
            # ASCII only: labels from the data reach the terminal as \u escapes, never raw.
            typer.echo(json.dumps(comparison.to_dict(), indent=2))
        else:
            lines = terminal_lines(comparison, str(old), str(new))
            if written:
                lines.append(terminal.wrote_line(written))
            _echo("\n".join(lines))
        if comparison.worse:
            _echo(
                "Exit code 1: a policy verdict got worse (or now fails the gate) from OLD to NEW.",
                err=True,
            )
            return EXIT_POLICY_FAILED
        return EXIT_OK

    _guarded(debug, action)


def _warn_if_changed_since_written(results: Path) -> None:
    """Warn when results.json is not the file its folder's manifest recorded: the report
    shows the edited numbers, and the manifest keeps the recorded hash (verify fails). Said
    even with --quiet, like a failed gate: it is about the evidence, not progress."""
    from audit.data import sha256_of
    from audit.manifest import MANIFEST, read_recorded

    recorded = read_recorded(results.parent).files.get(results.name, {}).get("sha256")
    if not isinstance(recorded, str) or sha256_of(results) == recorded:
        return
    _echo(
        f"Warning: {results} has changed since rai-audit wrote it (its SHA-256 differs from "
        f"the one in {results.parent / MANIFEST}). The report shows the changed file; "
        "the manifest keeps the recorded hash, so `rai-audit verify` reports it CHANGED.",
        err=True,
    )


def _report_evidence(result: AuditResult, results: Path, beside: bool) -> Any:
    """What the manifest of a re-rendered report says was read: beside its results.json,
    None (the audit's recorded inputs are carried over) unless the folder's manifest
    recorded none (an earlier version's); elsewhere, what the audit read, located where
    its own manifest says, and the results.json the report was rendered from."""
    from audit.manifest import evidence_of, input_file, read_recorded

    recorded = read_recorded(results.parent)
    if beside:
        return None if recorded.inputs else evidence_of(result.to_json())
    where = recorded.locations()
    return evidence_of(result.to_json(), where, [input_file("results", results)])


@app.command()
def verify(
    folder: Annotated[Path, typer.Argument(help="An audit's output folder (with manifest.json).")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Ed25519 public key (PEM): check manifest.json.sig too (exit 1 if it is "
            "missing or does not match).",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Also exit 1 when the folder holds files the manifest does not list."
        ),
    ] = False,
    debug: Debug = False,
) -> None:
    """Check an audit folder against its manifest.json: exit 0 when every file matches."""

    def action() -> int:
        from audit.signing import load_public_key
        from audit.verify import verify_folder

        key = load_public_key(public_key) if public_key is not None else None
        checked = verify_folder(folder, key, strict=strict)
        _echo("\n".join(checked.lines))
        return EXIT_POLICY_FAILED if checked.failed else EXIT_OK

    _guarded(debug, action)


@keys_app.command("create")
def keys_create(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the key pair in.")],
    debug: Debug = False,
) -> None:
    """Write a new Ed25519 key pair: the private key (mode 0600) signs, the public verifies."""

    def action() -> int:
        from audit.signing import create_key_pair

        private, public = create_key_pair(out)
        _echo(
            f"Wrote the private key {private} (keep it secret; sign with --sign-key) and the "
            f"public key {public} (share it; check with `rai-audit verify DIR --public-key`)."
        )
        return EXIT_OK

    _guarded(debug, action)


def _check_html_target(path: Path, inputs: list[Path]) -> None:
    """Refuse an --html path that is a folder or one of the audits being compared."""
    if path.is_dir():
        raise AuditError(f"--html {path} is a folder; give a file name, e.g. {path}/compare.html.")
    for given in inputs:
        results = given / "results.json" if given.is_dir() else given
        if path.resolve() == results.resolve():
            raise AuditError(
                f"--html {path} is one of the audits being compared; give another file name."
            )


@checklist_app.command("init")
def checklist_init(
    out: Annotated[Path, typer.Option("--out", "-o", help="Answers file to write.")] = Path(
        "checklist-answers.yaml"
    ),
    checklist: Annotated[
        Path | None,
        typer.Option(help="A custom checklist YAML to write answers for (default: built-in)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    debug: Debug = False,
) -> None:
    """Write a template for your answers to the ethics checklist (every item open)."""

    def action() -> int:
        from audit.checklist.template import write_template

        if out.exists() and not force:
            raise AuditError(
                f"{out} already exists and may hold your answers; pass --force to overwrite it "
                "or choose another --out."
            )
        sections, items = write_template(out, checklist)
        _echo(
            f"Wrote {items} checklist items in {sections} sections to {out}. Fill it in, then "
            "set `checklist: {answers: " + out.name + "}` in audit.yaml or pass "
            "--checklist-answers."
        )
        return EXIT_OK

    _guarded(debug, action)


@app.command()
def schema() -> None:
    """Print the JSON Schema of results.json (a copy ships as audit/result/results.schema.json)."""
    import json

    from audit.result import AuditResult

    typer.echo(json.dumps(AuditResult.json_schema(), indent=2, ensure_ascii=False))


@app.command()
def models() -> None:
    """List the models the audit can train (classifiers, and regressors for data.task:
    regression)."""
    from audit.models import REGISTRY, REGRESSION_REGISTRY

    for name, (_, description) in REGISTRY.items():
        typer.echo(f"{name:<24} {description}")
    typer.echo("\nRegression (--task regression):")
    for name, (_, description) in REGRESSION_REGISTRY.items():
        typer.echo(f"{name:<24} {description}")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the built-in synthetic scenarios and the public datasets that load from local files."""
    from audit.datasets import PUBLIC_DATASETS, SCENARIOS

    typer.echo("Synthetic scenarios (generated, no files needed):")
    for name, scenario in SCENARIOS.items():
        typer.echo(f"  {name:<10} {scenario.description}")
    typer.echo("\nPublic datasets (read from a local folder given with --source-dir):")
    for name, public in PUBLIC_DATASETS.items():
        typer.echo(f"  {name:<10} {public.description}")


@datasets_app.command("export")
def datasets_export(
    name: Annotated[str, typer.Argument(help="Scenario or public dataset name.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.")],
    rows: Annotated[int | None, typer.Option(min=100, help="Rows (synthetic only).")] = None,
    bias: Annotated[
        float | None, typer.Option(min=0.0, help="Injected bias (synthetic only).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed (synthetic only).")] = 0,
    source_dir: Annotated[
        Path | None, typer.Option(help="Folder holding the public dataset's original files.")
    ] = None,
    debug: Debug = False,
) -> None:
    """Write a synthetic scenario, or a public dataset preprocessed, to CSV."""

    def action() -> int:
        from audit.datasets import PUBLIC_DATASETS, SCENARIOS, load_public, make_scenario

        if name in SCENARIOS:
            frame = make_scenario(name, n_rows=rows, bias=bias, seed=seed)
        elif name in PUBLIC_DATASETS:
            if source_dir is None:
                raise AuditError(
                    f"Dataset '{printable(name)}' is read from local files: pass --source-dir."
                )
            frame = load_public(name, source_dir)
        else:
            known = ", ".join([*SCENARIOS, *PUBLIC_DATASETS])
            raise AuditError(f"Unknown dataset '{printable(name)}'. Known: {known}.")
        # Exported data is data, written as it is: it is the input of an audit (or of another
        # tool), not a report to open in a spreadsheet, and prefixing cells would change the
        # values the audit then reads. Report tables are neutralised (audit/report/tables.py).
        write_file_atomically(out, frame.to_csv(index=False).encode("utf-8"))
        _echo(f"Wrote {len(frame):,} rows to {out}")
        return EXIT_OK

    _guarded(debug, action)


@exercise_app.command("list")
def exercise_list() -> None:
    """List the exercises in their learning order, with the time each takes."""
    from audit.exercises import exercise_names, load_exercise

    for name in exercise_names():
        exercise = load_exercise(name)
        typer.echo(f"{name:<22} {exercise.minutes:>3} min  {exercise.title}")
        typer.echo(f"{'':<22}          {exercise.teaches}")


@exercise_app.command("start")
def exercise_start(
    name: Annotated[str, typer.Argument(help="Exercise name (`rai-audit exercise list`).")],
    dir: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Folder to create (default: ./NAME).")
    ] = None,
    debug: Debug = False,
) -> None:
    """Copy an exercise into a new folder and generate its data."""

    def action() -> int:
        from audit.exercises import start

        folder = start(name, dir if dir is not None else Path(name))
        _echo(
            f"Started '{printable(name)}' in {printable(str(folder))}: read task.md, open "
            f"exercise.ipynb, fill in answers.yaml, then run "
            f"`rai-audit exercise check {printable(name)} answers.yaml` there."
        )
        return EXIT_OK

    _guarded(debug, action)


@exercise_app.command("check")
def exercise_check(
    name: Annotated[str, typer.Argument(help="Exercise name.")],
    answers: Annotated[Path, typer.Argument(help="Your answers file (YAML).")],
    debug: Debug = False,
) -> None:
    """Mark your answers right or wrong, with a hint for each wrong one (exit 1 if any)."""

    def action() -> int:
        from audit.exercises import check

        marks = check(name, answers)
        for m in marks:
            if m.right:
                _echo(f"  right  {m.question.id}")
            else:
                why = f" ({m.note})" if m.note else ""
                _echo(f"  WRONG  {m.question.id}{why}\n         hint: {m.question.hint.strip()}")
        right = sum(m.right for m in marks)
        _echo(f"{right} of {len(marks)} right.")
        return EXIT_OK if right == len(marks) else EXIT_POLICY_FAILED

    _guarded(debug, action)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rai-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """rai-audit: one command from data to a fairness audit report."""


def main() -> None:
    app(prog_name="rai-audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
