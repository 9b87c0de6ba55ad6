"""Group count metrics: rai-audit's one-pass count engine vs fairlearn's MetricFrame.

Targets (issue 3): all count metrics for 10 intersectional groups at 1M and 10M rows are
>= 100x faster than MetricFrame with the same metrics, with equal values, and within 5x
of a bare ``np.bincount`` pass over the same encoded columns. Data generation and
encoding (what loading a file costs) are timed separately.

    python benchmarks/bench_group_metrics.py --rows 1000000
    python benchmarks/bench_group_metrics.py --rows 10000000 --fairlearn-rows 1000000

MetricFrame's time grows linearly with rows; with ``--fairlearn-rows`` smaller than
``--rows`` it is timed on that many rows and scaled up, and the output says so.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import FAIRLEARN_METRICS, as_text_frame, best_of, line, make_columns, verdict
from fairlearn.metrics import MetricFrame

from audit.config import FairnessConfig
from audit.metrics.counts import confusion_table, marginalize, rates
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.groups import build_partitions, encode_sensitive


def engine(codes, y, pred):
    """Every count metric for every group of sex × race, from the encoded columns."""
    present, counts, _ = confusion_table(codes, y, pred)
    intersection = build_partitions(codes, present, [["sex", "race"]])[-1]
    table = marginalize(counts, intersection.fine_map, intersection.n_groups)
    return intersection.labels, rates(table)


def bare_bincount(columns):
    key = columns["sex"].astype(np.intp) * 5
    key += columns["race"]
    key <<= 2
    key += columns["y"] * 2 + columns["pred"]
    return np.bincount(key, minlength=40)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--fairlearn-rows",
        type=int,
        default=None,
        help="rows MetricFrame is timed on (default: --rows), scaled to --rows",
    )
    parser.add_argument("--repeat", type=int, default=5, help="best of N for the fast paths")
    args = parser.parse_args()
    rows = args.rows
    fl_rows = min(args.fairlearn_rows or rows, rows)

    print(f"Count metrics ({len(FAIRLEARN_METRICS)}: {', '.join(FAIRLEARN_METRICS)})")
    print(f"for the 10 groups of sex × race, {rows:,} rows\n")
    start = time.perf_counter()
    columns = make_columns(rows)
    frame = as_text_frame(columns)
    line("data generation (not compared)", time.perf_counter() - start)
    encode_time, codes = best_of(lambda: encode_sensitive(frame, {}, "group"), 1)
    line("encoding text columns to codes (≈ loading; not compared)", encode_time)

    y, pred = columns["y"], columns["pred"]
    bare_time, _ = best_of(lambda: bare_bincount(columns), args.repeat)
    line("bare np.bincount over the encoded columns", bare_time)
    engine_time, (labels, values) = best_of(lambda: engine(codes, y, pred), args.repeat)
    line("rai-audit count engine: table + every count metric", engine_time)
    config = FairnessConfig.model_validate({"bootstrap": {"resamples": 0}})
    full_time, _ = best_of(
        lambda: fairness_by_feature(y, pred, None, frame, config), max(1, args.repeat // 2)
    )
    line("rai-audit fairness_by_feature (text columns, 3 partitions, 30 disparities)", full_time)

    subset = slice(0, fl_rows)
    start = time.perf_counter()
    reference = MetricFrame(
        metrics=FAIRLEARN_METRICS,
        y_true=y[subset],
        y_pred=pred[subset],
        sensitive_features=frame.iloc[subset],
    ).by_group
    fl_time = time.perf_counter() - start
    scale = rows / fl_rows
    scaled = fl_time * scale
    note = "" if scale == 1 else f"(timed on {fl_rows:,} rows: {fl_time:.1f} s, scaled x{scale:g})"
    line("fairlearn MetricFrame, same metrics", scaled, note)

    # Equal values: rai-audit on the very rows MetricFrame saw.
    sub_codes = encode_sensitive(frame.iloc[subset], {}, "group")
    sub_labels, sub_values = engine(sub_codes, y[subset], pred[subset])
    worst = 0.0
    for (sex, race), expected in reference.iterrows():
        g = sub_labels.index(f"{sex} × {race}")
        for name in FAIRLEARN_METRICS:
            ours, theirs = sub_values[name][g], expected[name]
            if np.isnan(ours) or np.isnan(theirs):
                assert np.isnan(ours) and np.isnan(theirs), (name, ours, theirs)
                continue
            worst = max(worst, abs(ours - theirs))
    print(
        f"\n  largest |rai-audit - MetricFrame| over {len(reference)} groups x "
        f"{len(FAIRLEARN_METRICS)} metrics: {worst:.2e}"
    )

    speedup = scaled / engine_time
    overhead = engine_time / bare_time
    print("\nTargets")
    print(f"  >= 100x faster than MetricFrame:        {speedup:10.0f}x   {verdict(speedup >= 100)}")
    print(f"  within 5x of a bare bincount pass:      {overhead:10.2f}x   {verdict(overhead <= 5)}")
    print(f"  equal values (<= 1e-12):                {worst:10.1e}    {verdict(worst <= 1e-12)}")
    print(f"  (full fairness_by_feature vs MetricFrame: {scaled / full_time:.0f}x)")


if __name__ == "__main__":
    main()
