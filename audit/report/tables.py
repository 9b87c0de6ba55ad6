"""The report's large tables, complete, as CSV files written beside the report.

The HTML shows long tables collapsed and the PDF shows them whole; these files hold the
same rows for a spreadsheet or a script. Like the figures, they are built from the result
alone, so `rai-audit report results.json` writes them again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FOLDER = "tables"
# A spreadsheet reads a cell as a formula when it starts with one of these, also after
# leading spaces (OWASP, "CSV Injection"). TAB and CR start one in some spreadsheets too.
_FORMULA_START = re.compile(r"^[\t\r]|^\s*[=+\-@]")
# ... but a number written as text ("-1", a group label) is only a number.
_NUMBER = re.compile(r" *[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)? *")


def safe_cell(value: Any) -> Any:
    """A CSV cell no spreadsheet runs as a formula: risky text gets a leading ``'``.

    Numbers are left as they are (we write ``-0.5`` as a number, not as text).
    """
    if isinstance(value, str) and _FORMULA_START.match(value) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def _csv(header: list[str], rows: Iterable[list[Any]]) -> bytes:
    buffer = io.StringIO()
    # Every text cell quoted, so a separator inside one (say "a;=cmd" opened with ';' as
    # the separator) cannot start a new cell; numbers stay unquoted numbers.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def _interval(ci: Any) -> list[Any]:
    return list(ci) if isinstance(ci, list) and len(ci) == 2 else [None, None]


def table_files(result: dict[str, Any]) -> dict[str, bytes]:
    """CSV files keyed by their path relative to the output directory."""
    files = {
        "columns.csv": _columns(result),
        "group_metrics.csv": _group_metrics(result),
        "disparities.csv": _disparities(result),
        "vs_reference.csv": _vs_reference(result),
    }
    optional = {
        "verdicts.csv": _verdicts,
        "quality_findings.csv": _quality,
        "checklist.csv": _checklist,
        "mitigation.csv": _mitigation,
        "shap_importance.csv": _shap,
        "reasons.csv": _reasons,
        "cross_validation.csv": _cross_validation,
        "tuning.csv": _tuning,
        "classes.csv": _classes,
        "classes_macro.csv": _classes_macro,
        "over_time.csv": _over_time,
    }
    for name, build in optional.items():
        content = build(result)
        if content is not None:
            files[name] = content
    return {f"{FOLDER}/{name}": content for name, content in files.items()}


def _columns(result: dict[str, Any]) -> bytes:
    columns = result["data"]["columns"]
    return _csv(
        ["column", "role", "dtype", "distinct", "missing"],
        ([c["name"], c["role"], c["dtype"], c["unique"], c["missing"]] for c in columns),
    )


def _classes(result: dict[str, Any]) -> bytes | None:
    """A multiclass audit's per-group metrics, one row per class, feature and group."""
    classes = result.get("classes")
    if not classes:
        return None
    rows: list[list[Any]] = []
    header: list[str] = []
    for label in classes["labels"]:
        table = _group_table(classes["per_class"][label]["fairness"])
        header = ["class", *table[0]]
        rows += [[label, *row] for row in table[1]]
    return _csv(header, rows)


def _classes_macro(result: dict[str, Any]) -> bytes | None:
    classes = result.get("classes")
    if not classes:
        return None
    labels = classes["labels"]
    return _csv(
        ["feature", "metric", "mean", "worst_class", "worst_value", "ci_low", "ci_high"]
        + [f"value_{label}" for label in labels],
        (
            [
                m["feature"],
                m["metric"],
                m["mean"],
                m["worst_class"],
                m["worst_value"],
                *_interval(m.get("worst_ci")),
                *(m["values"].get(label) for label in labels),
            ]
            for m in classes["macro"]
        ),
    )


def _group_metrics(result: dict[str, Any]) -> bytes:
    return _csv(*_group_table(result["fairness"]["features"]))


def _group_table(features: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of the per-group metrics of ``features``, with their intervals."""
    metrics: list[str] = []
    for feature in features:
        for group in feature["groups"]:
            for key, value in group.items():
                if key not in metrics and isinstance(value, int | float | type(None)):
                    metrics.append(key)
    header = ["feature", "group", *metrics]
    with_ci = [
        m for m in metrics if any(m in g.get("ci", {}) for f in features for g in f["groups"])
    ]
    header += [f"{m}_{end}" for m in with_ci for end in ("ci_low", "ci_high")]
    rows = []
    for feature in features:
        for group in feature["groups"]:
            row = [feature["feature"], group["group"], *(group.get(m) for m in metrics)]
            for m in with_ci:
                row += _interval(group.get("ci", {}).get(m))
            rows.append(row)
    return header, rows


def _disparities(result: dict[str, Any]) -> bytes:
    return _csv(
        ["feature", "metric", "value", "ci_low", "ci_high", "groups_behind", "definition"],
        (
            [
                f["feature"],
                d["metric"],
                d["value"],
                *_interval(d.get("ci")),
                d.get("groups_behind"),
                d.get("definition"),
            ]
            for f in result["fairness"]["features"]
            for d in f["disparities"]
        ),
    )


def _vs_reference(result: dict[str, Any]) -> bytes:
    """Each group against its feature's reference group, one row per metric: the signed
    difference and the ratio group / reference (for ``base_rate``, the labels' statistical
    parity difference and disparate impact, as AIF360's dataset metrics report them)."""
    return _csv(
        [
            "feature",
            "reference_group",
            "group",
            "metric",
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "ratio",
            "ratio_ci_low",
            "ratio_ci_high",
        ],
        (
            [
                f["feature"],
                f["reference_group"],
                g["group"],
                metric,
                contrast.get("difference"),
                *_interval(contrast.get("difference_ci")),
                contrast.get("ratio"),
                *_interval(contrast.get("ratio_ci")),
            ]
            for f in result["fairness"]["features"]
            for g in f["groups"]
            for metric, contrast in (g.get("vs_reference") or {}).items()
        ),
    )


def _verdicts(result: dict[str, Any]) -> bytes | None:
    verdicts = result.get("verdicts")
    if not verdicts:
        return None
    return _csv(
        [
            "rule",
            "feature",
            "groups_behind",
            "metric",
            "op",
            "bound",
            "value",
            "ci_low",
            "ci_high",
            "verdict",
            "fails_gate",
        ],
        (
            [
                v["rule"],
                v["feature"],
                v.get("groups_behind"),
                v["metric"],
                v["op"],
                v["bound"],
                v.get("value"),
                *_interval(v.get("ci")),
                v["verdict"],
                v.get("fails_gate"),
            ]
            for v in verdicts
        ),
    )


def _quality(result: dict[str, Any]) -> bytes | None:
    findings = (result.get("quality") or {}).get("findings")
    if findings is None:
        return None
    return _csv(
        ["id", "check", "subject", "severity", "message"],
        ([f["id"], f["check"], f.get("subject"), f["severity"], f["message"]] for f in findings),
    )


def _checklist(result: dict[str, Any]) -> bytes | None:
    sections = (result.get("checklist") or {}).get("sections")
    if not sections:
        return None
    return _csv(
        ["section", "id", "question", "status", "owner", "rationale", "evidence"],
        (
            [
                s["title"],
                i["id"],
                i["question"],
                i["status"],
                i.get("owner"),
                i.get("rationale"),
                i.get("evidence"),
            ]
            for s in sections
            for i in s["items"]
        ),
    )


def _mitigation(result: dict[str, Any]) -> bytes | None:
    mitigation = result.get("mitigation") or {}
    strategies = mitigation.get("strategies")
    if not strategies:
        return None
    return _csv(
        [
            "strategy",
            "stage",
            "accuracy",
            "balanced_accuracy",
            "feature",
            "metric",
            "value",
            "ci_low",
            "ci_high",
            "verdict",
            "fit_seconds",
            "values",
            "draws_min",
            "draws_max",
        ],
        (
            [
                s["label"],
                s.get("stage"),
                s.get("accuracy"),
                s.get("balanced_accuracy"),
                c.get("feature"),
                c.get("metric"),
                c.get("value"),
                *_interval(c.get("ci")),
                c.get("verdict"),
                s.get("fit_seconds"),
                # A randomized strategy: expected values, and the range of single draws.
                "expected" if s.get("draws") else "as decided",
                *_interval(s["draws"]["cells"][i] if s.get("draws") else None),
            ]
            for s in strategies
            for i, c in enumerate(s.get("cells", []))
        ),
    )


def _shap(result: dict[str, Any]) -> bytes | None:
    explanations = result.get("explanations") or {}
    if explanations.get("status") != "explained":
        return None
    return _csv(
        ["feature", "kind", "mean_abs_shap", "share", "mean_shap"],
        (
            [f["feature"], f["kind"], f["mean_abs_shap"], f["share"], f["mean_shap"]]
            for f in explanations["features"]
        ),
    )


def _reasons(result: dict[str, Any]) -> bytes | None:
    """One row per negative decision of the explained sample: its groups and principal
    reasons (audit/explain/reasons.py), the reasons' empty cells when it has fewer.

    ``data_row`` counts from 0 among the data file's rows that have a target (rows without
    one are left out before the audit); a contribution is the row's SHAP value for the
    feature in the explanation's output space (``explanations.output_space``, e.g.
    log-odds), not a change in probability."""
    explanations = result.get("explanations") or {}
    reasons = explanations.get("reasons") or {}
    if explanations.get("status") != "explained" or reasons.get("rows") is None:
        return None
    sensitive = [d["sensitive"] for d in reasons["by_group"]]
    slots = range(1, reasons["max_reasons"] + 1)
    header = ["data_row", *sensitive]
    header += [f"reason_{k}_{part}" for k in slots for part in ("feature", "contribution", "value")]
    rows = []
    for row in reasons["rows"]:
        cells = [row["data_row"], *(row["groups"][s] for s in sensitive)]
        for k in slots:
            reason = row["reasons"][k - 1] if k <= len(row["reasons"]) else {}
            cells += [reason.get("feature"), reason.get("contribution"), reason.get("value")]
        rows.append(cells)
    return _csv(header, rows)


def _cross_validation(result: dict[str, Any]) -> bytes | None:
    """Every number of a cross-validated audit: one row per metric, disparity, group metric
    and policy verdict, its value in each fold, mean, standard deviation and range."""
    cv = result.get("cross_validation")
    if not cv:
        return None
    k = cv["k"]
    rows = []
    for kind, key in (
        ("performance", "performance"),
        ("disparity", "disparities"),
        ("group", "groups"),
        ("verdict", "verdicts"),
    ):
        for row in cv[key]:
            outcomes = row.get("fold_verdicts") or [None] * k
            rows.append(
                [kind, row.get("rule"), row.get("feature"), row.get("group"), row["metric"]]
                + list(row["values"])
                + [row["mean"], row["std"], row["min"], row["max"]]
                + list(outcomes)
            )
    folds = [f"fold_{i + 1}" for i in range(k)]
    header = ["kind", "rule", "feature", "group", "metric", *folds, "mean", "std", "min", "max"]
    return _csv(header + [f"{fold}_verdict" for fold in folds], rows)


def _tuning(result: dict[str, Any]) -> bytes | None:
    """Every configuration of a hyperparameter search: its parameters, mean and standard
    deviation of the score and of the worst policy margin, the policy status in each fold."""
    tuning = result.get("tuning")
    if not tuning:
        return None
    names = list(tuning["space"])
    k = tuning["folds"]
    header = ["trial", *names, "score_mean", "score_std", "margin_mean", "margin_std"]
    header += [f"fold_{i + 1}_policy" for i in range(k)] + ["passes", "pareto_optimal", "chosen"]
    rows = []
    for t in tuning["trials"]:
        margin = t.get("margin") or {}
        rows.append(
            [t["trial"], *(t["params"].get(name) for name in names)]
            + [t["score"]["mean"], t["score"]["std"], margin.get("mean"), margin.get("std")]
            + list(t["fold_statuses"])
            + [t.get("passes"), t["pareto_optimal"], t["chosen"]]
        )
    return _csv(header, rows)


def _over_time(result: dict[str, Any]) -> bytes | None:
    """Fairness over time: every watched disparity in every window, with the window's rows
    and policy status, its interval, the reference interval and the status (alert, ...)."""
    monitoring = result.get("monitoring")
    if not monitoring:
        return None
    windows = {w["label"]: w for w in monitoring["windows"]}
    header = ["window", "start", "end", "n_rows", "policy_status", "feature", "metric"]
    header += ["value", "ci_low", "ci_high", "reference_ci_low", "reference_ci_high", "status"]
    rows = []
    for point in monitoring["trend"]:
        window = windows[point["window"]]
        rows.append(
            [point["window"], window["start"], window["end"], window["n_rows"]]
            + [window["policy"]["status"], point["feature"], point["metric"], point["value"]]
            + _interval(point.get("ci"))
            + _interval(point.get("reference_ci"))
            + [point["status"]]
        )
    return _csv(header, rows)
