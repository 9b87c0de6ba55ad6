"""Bootstrap intervals: rai-audit's multinomial draws on the count table vs MetricFrame(n_boot).

Target (issue 3): 1000-resample intervals for every count metric and disparity at 1M rows
are >= 1000x faster than ``MetricFrame(n_boot=1000)``. MetricFrame re-runs every metric on
every group's rows for each resample, so 1000 resamples at 1M rows take hours: it is timed
with ``n_boot=10`` on ``--fairlearn-rows`` rows and scaled linearly to 1000 resamples and
``--rows`` rows — the output says so.

    python benchmarks/bench_bootstrap.py --rows 1000000
"""

from __future__ import annotations

import argparse
import time

from _common import FAIRLEARN_METRICS, as_text_frame, best_of, line, make_columns, verdict
from fairlearn.metrics import MetricFrame

from audit.config import FairnessConfig
from audit.metrics.fairness import fairness_by_feature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--fairlearn-rows", type=int, default=50_000)
    parser.add_argument("--fairlearn-boot", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows, resamples = args.rows, args.resamples

    columns = make_columns(rows)
    frame = as_text_frame(columns)
    y, pred = columns["y"], columns["pred"]
    print(
        f"{resamples} bootstrap resamples, {rows:,} rows, sensitive sex and race "
        f"(3 partitions: sex, race, sex × race; 17 groups)\n"
    )

    def audit(n: int):
        config = FairnessConfig.model_validate({"bootstrap": {"resamples": n}})
        return fairness_by_feature(y, pred, None, frame, config, seed=0)

    no_intervals, _ = best_of(lambda: audit(0), args.repeat)
    with_intervals, entries = best_of(lambda: audit(resamples), args.repeat)
    n_metrics = sum(len(g["ci"]) for e in entries for g in e["groups"])
    n_disparities = sum(len(e["disparities"]) for e in entries)
    line("rai-audit, no intervals (encoding, counts, metrics, disparities)", no_intervals)
    line(
        f"rai-audit, {resamples}-resample intervals for all of it",
        with_intervals,
        f"({n_metrics} group metrics, {n_disparities} disparities)",
    )
    line("  of which the intervals", with_intervals - no_intervals)

    fl_rows = min(args.fairlearn_rows, rows)
    start = time.perf_counter()
    frame_fl = MetricFrame(
        metrics=FAIRLEARN_METRICS,
        y_true=y[:fl_rows],
        y_pred=pred[:fl_rows],
        sensitive_features=frame.iloc[:fl_rows],
        n_boot=args.fairlearn_boot,
        ci_quantiles=[0.025, 0.975],
        random_state=0,
    )
    frame_fl.difference_ci()
    frame_fl.ratio_ci()
    measured = time.perf_counter() - start
    scale = (resamples / args.fairlearn_boot) * (rows / fl_rows)
    scaled = measured * scale
    line(
        f"fairlearn MetricFrame(n_boot={resamples}), same metrics, sex × race only",
        scaled,
        f"= {scaled / 3600:.1f} h",
    )
    print(
        f"      (measured: n_boot={args.fairlearn_boot} on {fl_rows:,} rows took "
        f"{measured:.1f} s; scaled x{scale:g}, linear in resamples and rows)"
    )

    speedup = scaled / with_intervals
    print("\nTarget")
    print(
        f"  >= 1000x faster than MetricFrame(n_boot={resamples}): {speedup:,.0f}x   "
        f"{verdict(speedup >= 1000)}"
    )
    print("  (rai-audit's figure covers all three partitions; MetricFrame's only the intersection)")


if __name__ == "__main__":
    main()
