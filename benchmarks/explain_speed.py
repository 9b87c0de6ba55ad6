"""Time of the explanation stage for each registry model on the demo data, against shap alone.

Run: ``python benchmarks/explain_speed.py [--rows 20000]``

For each model the audit can train, on the demo's synthetic credit data (20,000 rows,
6,000 evaluated), this trains the model as the audit does, then times

* the whole explanation stage (``audit.explain.stage.explain_evaluation``: explainer set-up,
  stratified sample, SHAP values, per-group figures, proxies, cases), with the default
  ``explain:`` settings, and
* the reference: shap alone (``TreeExplainer`` / ``LinearExplainer`` on the encoded matrix)
  computing the same number of rows, measured in the same run,

and prints both with the sample size the cost model chose. The target: the stage takes
at most 20 s for the demo model (hist_gradient_boosting) on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from audit import models
from audit.config import build_config
from audit.data import load_audit_data
from audit.demo import prepare_demo
from audit.explain.stage import explain_evaluation
from audit.pipeline import _evaluate

TARGET_SECONDS = 20.0


def reference_seconds(model, X, rows: int, background) -> tuple[str, float]:
    """shap alone on ``rows`` evaluated rows of the encoded matrix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    encoded = model[:-1].transform(X.iloc[:rows])
    estimator = model[-1]
    start = time.perf_counter()
    if hasattr(estimator, "coef_"):
        masker = shap.maskers.Independent(model[:-1].transform(background), max_samples=100)
        shap.LinearExplainer(estimator, masker).shap_values(encoded)
        name = "shap.LinearExplainer"
    else:
        shap.TreeExplainer(estimator).shap_values(encoded, check_additivity=False)
        name = "shap.TreeExplainer"
    return name, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap  # noqa: F401  (imported once per process, by the first explanation)
    print(f"import shap: {time.perf_counter() - start:.2f} s (paid once per run, not below)")
    print(f"Demo data: synthetic credit, {args.rows:,} rows, 30% evaluated; default explain:")
    header = (
        f"{'model':<24}{'explainer':<12}{'rows':>6}{'budget rows':>12}{'est. s':>8}"
        f"{'stage s':>9}{'shap-only s':>12}{'reference':>24}"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for name in models.REGISTRY:
            config_path = prepare_demo(Path(tmp) / name, args.rows, 1.0, name, 0)
            config = build_config(config_path, {})
            data = load_audit_data(config)
            evaluation = _evaluate(config, data)
            start = time.perf_counter()
            result = explain_evaluation(config, data, evaluation)
            stage = time.perf_counter() - start
            sample = result["sample"]
            X = models.as_model_input(data.frame.iloc[evaluation.rows], evaluation.input_columns)
            background = models.as_model_input(
                data.frame.iloc[evaluation.train_rows[:100]], evaluation.input_columns
            )
            explained = sample["rows"] + len(result.get("cases", []))
            reference, seconds = reference_seconds(evaluation.model, X, explained, background)
            estimate = (
                sample["budget_seconds"] * explained / sample["budget_rows"]
                if sample["budget_rows"]
                else np.nan
            )
            flag = ""
            if name == "hist_gradient_boosting":
                flag = "  OK" if stage <= TARGET_SECONDS else f"  OVER {TARGET_SECONDS:g} s"
            print(
                f"{name:<24}{result['explainer']:<12}{sample['rows']:>6}"
                f"{sample['budget_rows']:>12}{estimate:>8.2f}{stage:>9.2f}{seconds:>12.2f}"
                f"{reference:>24}{flag}"
            )
    print(
        "\nrows: sample rows explained (plus the individual cases); budget rows: what the cost "
        "model allows in explain.budget_seconds; est. s: the cost model's estimate for the rows "
        "explained; stage s: the whole stage; shap-only s: shap computing the same rows alone."
    )


if __name__ == "__main__":
    main()
