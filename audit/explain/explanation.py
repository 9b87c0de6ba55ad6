"""``explain``: every explanation the report shows, for one model, as plain data.

The pipeline calls it for the audited model; the mitigation stage can call it for
a mitigated model too (a reweighed model is explained like the baseline; for a
ThresholdOptimizer, :func:`explain_threshold_optimizer` explains the base model
and states the per-group thresholds).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from audit.config import ExplainConfig
from audit.errors import AuditError
from audit.explain.cases import display_value, select_cases
from audit.explain.explainers import ModelExplainer, make_explainer
from audit.explain.groups import by_group, disparity, weighted_mean
from audit.explain.reasons import principal_reasons
from audit.explain.sampling import Sample, stratified_sample
from audit.metrics.association import proxy_associations
from audit.metrics.fairness import group_labels

# Never explain fewer rows than this because of the budget: below it per-group figures are noise.
MIN_SAMPLE_ROWS = 50
# A flagged proxy is "important" when it carries at least this share of the total mean |SHAP|.
IMPORTANT_SHARE = 0.05
# Rows per call of the explainer; between calls the time guard is checked.
CHUNK_ROWS = 250
# If SHAP takes longer than this many times the budget (a model much slower than the cost
# model assumed), the remaining sample rows are dropped and the result says so.
HARD_LIMIT_FACTOR = 3.0
SIGNIFICANT_DIGITS = 4


def explain(
    model: Any | None,
    X: pd.DataFrame,
    sensitive: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scores: np.ndarray | None,
    settings: ExplainConfig | None = None,
    *,
    seed: int = 0,
    threshold: float | np.ndarray | None = None,
    positive: int | None = None,
    proxies: dict[str, Any] | None = None,
    background: pd.DataFrame | None = None,
    postprocessing: dict[str, Any] | None = None,
    detail: str = "full",
    regression: bool = False,
) -> dict[str, Any]:
    """Explain ``model`` on the evaluated rows: global, per group, proxies, individuals.

    Parameters
    ----------
    model : fitted estimator or Pipeline, or None
        Takes ``X`` as it is. ``None`` (a predictions-only audit) gives proxy detection
        only, with ``status = "no_model"``.
    X : pandas.DataFrame
        The evaluated rows' model inputs (index: the rows' positions in the data file,
        reported with the individual cases).
    sensitive : pandas.DataFrame
        The same rows' sensitive features (missing values become their own group).
    y_true, y_pred : array of 0/1
        Labels and the decisions that were evaluated.
    scores : array or None
        Positive-class probability of each row, if the model gives one.
    settings : ExplainConfig, optional
        The ``explain:`` section: sample sizes, budget, cases and the proxy rule (default:
        its defaults).
    seed : int
        Seed of the sample, the background and the permutation explainer.
    threshold : float or array, optional
        Decision threshold on ``scores`` (one value, or one per row after group-specific
        post-processing). Default: 0.5 (a probability) when there are
        scores.
    positive : int, optional
        Index of the positive outcome in the model's ``classes_`` (default: the class 1).
    proxies : dict, optional
        The association of each feature with each sensitive feature
        (:func:`audit.metrics.association.proxy_associations`), which the audit takes from
        its data-quality stage so that a pair has one value in the report; crossed here
        with the model's importance. Default: computed on ``X`` (Cramér's V / η).
    background : pandas.DataFrame, optional
        Background rows for the linear and permutation explainers (the pipeline passes a
        random sample of the training rows); default: a random sample of ``X``.
    postprocessing : dict, optional
        Stated in the result as is, e.g. the per-group thresholds of a ThresholdOptimizer.
    regression : bool
        A regressor (``y_true``, ``y_pred`` numbers): explained in its prediction, with no
        decision cases and no principal reasons (there is no adverse decision).
    detail : {"full", "summary"}
        ``"summary"`` leaves out the per-row values and individual cases (for comparing a
        mitigated model without doubling the size of results.json).

    Returns
    -------
    dict
        JSON-ready; see the keys in README.md ("Explanations").
    """
    cfg = settings if settings is not None else ExplainConfig()
    if detail not in ("full", "summary"):
        raise ValueError(f"detail must be 'full' or 'summary', got {detail!r}")
    if len(X) != len(sensitive) or len(X) != len(y_true):
        raise AuditError("explain: X, sensitive and y_true must describe the same rows.")
    groups = pd.DataFrame(
        {str(c): group_labels(sensitive[c]).to_numpy() for c in sensitive.columns}
    )
    if proxies is None:
        proxies = proxy_associations(X, groups, seed=seed)
    if model is None:
        proxies_note = (
            "Proxy detection needs only the data and is shown below."
            if X.shape[1]
            else "Proxy detection needs the inputs of the model that made the decisions: "
            "declare them (data.features) to check them for proxies of the sensitive features."
        )
        return {
            "status": "no_model",
            "reason": "This audit evaluates decisions that were already made, so there is no "
            f"model to explain. {proxies_note}",
            "proxies": {**proxies, "important": []},
        }

    started = time.perf_counter()
    if background is None:
        background = X.sample(min(cfg.background_size, len(X)), random_state=seed)
    else:
        background = background.sample(min(cfg.background_size, len(background)), random_state=seed)
    background = background[list(X.columns)]
    explainer = make_explainer(model, background, seed, positive)
    output_all = explainer.output(X)

    budget_rows = max(int(cfg.budget_seconds / explainer.seconds_per_row), 0)
    size = min(cfg.sample_size, max(budget_rows, MIN_SAMPLE_ROWS))
    sample = stratified_sample(groups, size, cfg.min_group_rows, seed)

    score, row_threshold, output_threshold = _decision_scale(
        explainer, scores, output_all, threshold, len(X)
    )
    cases = (
        select_cases(groups, y_true, y_pred, score, row_threshold, cfg.cases_per_group)
        if detail == "full" and not regression
        else []
    )
    values, base_value, sample, stopped, sample_order = shap_within_budget(
        explainer, X, sample, [c["position"] for c in cases], cfg.budget_seconds, seed
    )
    output = {p: float(output_all[p]) for p in values}

    features = list(X.columns)
    sample_values = np.stack([values[p] for p in sample.positions])
    sample_output = output_all[sample.positions]
    weights = sample.weights
    mean_abs = weighted_mean(np.abs(sample_values), weights)
    order = np.argsort(-mean_abs, kind="stable")
    global_importance = importance(mean_abs, weighted_mean(sample_values, weights), features, X)
    ranked = [f["feature"] for f in global_importance]
    sample_groups = groups.iloc[sample.positions].reset_index(drop=True)
    ranked_values = sample_values[:, order]
    per_group = by_group(
        ranked_values, sample_output, weights, sample_groups, ranked, output_all, groups
    )
    gaps = disparity(per_group, ranked)
    additivity = max(abs(base_value + values[p].sum() - output[p]) for p in values)

    plot_rows = min(cfg.plot_rows, sample.size) if detail == "full" else 0
    result: dict[str, Any] = {
        "status": "explained",
        "explainer": explainer.kind,
        "method": explainer.method,
        "estimator": explainer.estimator,
        "output_space": explainer.output_space,
        "base_value": base_value,
        "decision_threshold_output": output_threshold,
        "additivity_max_error": float(additivity),
        "background_rows": explainer.background_rows,
        "notes": list(explainer.notes),
        "sample": sample_summary(sample, cfg, budget_rows, groups, stopped, plot_rows),
        "features": global_importance,
        "by_group": per_group,
        "disparity": gaps,
        "proxies": {
            **proxies,
            "important_share": IMPORTANT_SHARE,
            "important": important_proxies(proxies, global_importance, gaps),
        },
        "postprocessing": postprocessing,
        # The model's own negative decisions (a score below its threshold), not the labels.
        "reasons": None
        if regression
        else principal_reasons(
            X.iloc[sample.positions],
            sample_values,
            np.asarray(y_pred)[sample.positions] == 0,
            sample_groups,
            proxies,
            with_rows=detail == "full",
        ),
        "top_features": cfg.top_features,
        "detail": detail,
    }
    if regression:
        result["notes"].append(
            "A regression model: SHAP values add up to its prediction; it makes no decisions, "
            "so there are no decision cases and no principal reasons for adverse decisions."
        )
    if stopped:
        result["notes"].append(
            f"Computing SHAP values took longer than {HARD_LIMIT_FACTOR:g} x the budget of "
            f"{cfg.budget_seconds:g} s, so only {sample.size} sample rows were explained "
            "(re-weighted per stratum); raise explain.budget_seconds for more."
        )
    if detail == "full":
        plotted = [p for p in sample_order if p in values][: cfg.plot_rows]
        result["rows"] = _rows_block(X, ranked, sample, sorted(plotted), values, groups)
        result["cases"] = _case_records(
            cases,
            X,
            groups,
            y_true,
            y_pred,
            scores,
            values,
            output,
            base_value,
            row_threshold,
            ranked,
            explainer.output_space,
        )
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _decision_scale(explainer, scores, output_all, threshold, n_rows):
    """What decides (score), its threshold per row, and the threshold in the explained space."""
    if scores is not None:
        value = 0.5 if threshold is None else threshold
        row_threshold = np.broadcast_to(np.asarray(value, dtype=float), (n_rows,))
        return (
            np.asarray(scores, dtype=float),
            row_threshold,
            _to_output_space(value, explainer.output_space),
        )
    if explainer.output_space == "decision function":
        # predict() of a margin classifier is "decision function > 0".
        return output_all, np.zeros(n_rows), 0.0
    return output_all, None, None


def _to_output_space(threshold: Any, space: str) -> float | None:
    if np.ndim(threshold) != 0:
        return None  # group-specific thresholds: stated per case instead
    t = float(threshold)
    if space == "probability":
        return t
    if space == "log-odds" and 0.0 < t < 1.0:
        return math.log(t / (1.0 - t))
    return None


def shap_within_budget(
    explainer: ModelExplainer,
    X: pd.DataFrame,
    sample: Sample,
    case_positions: list[int],
    budget_seconds: float,
    seed: int,
) -> tuple[dict[int, np.ndarray], float, Sample, bool, list[int]]:
    """SHAP values for the cases and the sample, in chunks, within the hard time limit
    (the sample then kept is the rows done); one base value, or one per class.

    Sample rows go in an interleaved seeded order (see :meth:`Sample.interleaved`), so the
    rows done before the time guard stops (and the first rows, kept for plots) are still a
    stratified sample.
    """
    sample_order = [int(p) for p in sample.interleaved(seed)]
    seen = set(case_positions)
    order = list(case_positions) + [p for p in sample_order if p not in seen]
    values: dict[int, np.ndarray] = {}
    base_value = 0.0
    started = time.perf_counter()
    stopped = False
    for start in range(0, len(order), CHUNK_ROWS):
        done_sample = sum(p in values for p in sample_order)
        elapsed = time.perf_counter() - started
        if done_sample >= MIN_SAMPLE_ROWS and elapsed > HARD_LIMIT_FACTOR * budget_seconds:
            stopped = True
            break
        chunk = order[start : start + CHUNK_ROWS]
        explained = explainer.explain(X.iloc[chunk])
        base_value = explained.base_value
        for k, position in enumerate(chunk):
            values[position] = explained.values[k]
    if stopped:
        sample = sample.keep(np.array([p in values for p in sample.positions]))
    return values, base_value, sample, stopped, sample_order


def _kind(values: pd.Series) -> str:
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return "numeric" if numeric else "categorical"


def importance(
    mean_abs: np.ndarray, mean_signed: np.ndarray, features: list[str], X: pd.DataFrame
) -> list[dict[str, Any]]:
    """Features by mean |SHAP|, largest first (ties in column order)."""
    total = float(mean_abs.sum()) or 1.0
    return [
        {
            "feature": features[i],
            "kind": _kind(X[features[i]]),
            "mean_abs_shap": float(mean_abs[i]),
            "share": float(mean_abs[i] / total),
            "mean_shap": float(mean_signed[i]),
        }
        for i in np.argsort(-mean_abs, kind="stable")
    ]


def sample_summary(
    sample: Sample,
    cfg: ExplainConfig,
    budget_rows: int,
    groups: pd.DataFrame,
    stopped: bool,
    plot_rows: int,
) -> dict[str, Any]:
    """How the explained rows were chosen, for the result's ``sample``."""
    return {
        "rows": sample.size,
        "evaluated_rows": sample.population,
        "requested": cfg.sample_size,
        "budget_seconds": cfg.budget_seconds,
        "budget_rows": budget_rows,
        "limited_by_budget": budget_rows < cfg.sample_size,
        "min_group_rows": sample.min_group_rows,
        "stratified_by": list(groups.columns),
        "stopped_early": stopped,
        "plot_rows": plot_rows,
    }


def _round(value: float) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _rows_block(
    X: pd.DataFrame,
    features: list[str],
    sample: Sample,
    positions: list[int],
    values: dict[int, np.ndarray],
    groups: pd.DataFrame,
) -> dict[str, Any]:
    """Per-row SHAP and feature values of some sample rows (rounded), to draw plots from."""
    columns = list(X.columns)
    weight_of = dict(zip(sample.positions.tolist(), sample.weights.tolist(), strict=True))
    matrix = np.stack([values[p] for p in positions]) if positions else np.zeros((0, len(columns)))
    block: dict[str, Any] = {
        "n": len(positions),
        "weight": [_round(weight_of[p]) for p in positions],
    }
    block["features"] = {}
    for feature in features:
        j = columns.index(feature)
        raw = X[feature].iloc[positions]
        entry: dict[str, Any] = {
            "kind": _kind(X[feature]),
            "shap": [_round(v) for v in matrix[:, j]],
        }
        if entry["kind"] == "numeric":
            entry["values"] = [_round(v) for v in raw.to_numpy(dtype=float, na_value=np.nan)]
        else:
            # A plain list, not a Series: pandas 3's text dtype turns None back into NaN.
            text = [None if missing else str(v) for v, missing in zip(raw, raw.isna(), strict=True)]
            categories = sorted({t for t in text if t is not None})
            code = {c: i for i, c in enumerate(categories)}
            entry["categories"] = categories
            entry["values"] = [None if t is None else code[t] for t in text]
        block["features"][feature] = entry
    block["groups"] = {}
    for column in groups.columns:
        labels = groups[column].to_numpy()[positions]
        names = sorted(set(groups[column]))
        code = {c: i for i, c in enumerate(names)}
        block["groups"][column] = {"labels": names, "codes": [code[v] for v in labels]}
    return block


def _case_records(
    cases,
    X,
    groups,
    y_true,
    y_pred,
    scores,
    values,
    output,
    base_value,
    row_threshold,
    features,
    space,
) -> list[dict[str, Any]]:
    columns = list(X.columns)
    records = []
    for number, case in enumerate(cases, start=1):
        position = case["position"]
        shap_row = values[position]
        by_size = sorted(features, key=lambda f: -abs(shap_row[columns.index(f)]))
        threshold = None if row_threshold is None else float(row_threshold[position])
        records.append(
            {
                "id": f"case-{number}",
                "data_row": display_value(X.index[position]),
                "selected_as": case["selected_as"],
                "groups": {c: str(groups[c].iloc[position]) for c in groups.columns},
                "y_true": int(y_true[position]),
                "y_pred": int(y_pred[position]),
                "score": None if scores is None else float(scores[position]),
                "threshold": threshold,
                "threshold_output": None
                if threshold is None
                else _to_output_space(threshold, space)
                if scores is not None
                else threshold,
                "output": output[position],
                "base_value": base_value,
                "values": {f: display_value(X[f].iloc[position]) for f in by_size},
                "shap": {f: float(shap_row[columns.index(f)]) for f in by_size},
            }
        )
    return records


def important_proxies(
    proxies: dict[str, Any], importance: list[dict[str, Any]], gaps: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Flagged proxies that the model also relies on, with their part in the largest gap."""
    rank = {f["feature"]: (i + 1, f["share"]) for i, f in enumerate(importance)}
    largest = {}
    for gap in gaps:
        if gap["largest"] is not None:
            comparison = next(c for c in gap["comparisons"] if c["group"] == gap["largest"])
            largest[gap["sensitive"]] = (gap["reference"], comparison)
    out = []
    for association in proxies["associations"]:
        feature = association["feature"]
        if not association["flagged"] or feature not in rank:
            continue
        position, share = rank[feature]
        if share < IMPORTANT_SHARE:
            continue
        entry: dict[str, Any] = {
            "feature": feature,
            "sensitive": association["sensitive"],
            "measure": association["measure"],
            "association": association["value"],
            "importance_rank": position,
            "importance_share": share,
            "gap": None,
        }
        if association["sensitive"] in largest:
            reference, comparison = largest[association["sensitive"]]
            contributions = comparison["contributions"]
            ordered = list(contributions)  # sorted by |contribution|, largest first
            entry["gap"] = {
                "reference": reference,
                "group": comparison["group"],
                "gap": comparison["gap"],
                "contribution": contributions[feature],
                "rank": ordered.index(feature) + 1,
            }
        out.append(entry)
    return out
