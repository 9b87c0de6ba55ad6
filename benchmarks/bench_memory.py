"""Peak memory of the count engine at 10M rows vs the size of its input columns.

Target (issue 3): peak memory at 10M rows <= 2x the size of the input columns. The input
is four 1-byte columns (sex and race codes, label, decision); rows are counted in chunks,
so the temporary memory is a few MB whatever the number of rows. Measured with
tracemalloc, which sees numpy's allocations. MetricFrame is measured on
``--fairlearn-rows`` rows for comparison.

    python benchmarks/bench_memory.py --rows 10000000
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import pandas as pd
from _common import FAIRLEARN_METRICS, RACES, SEXES, make_columns, verdict
from fairlearn.metrics import MetricFrame

from audit.config import FairnessConfig
from audit.metrics.counts import confusion_table, marginalize, rates
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.groups import EncodedColumn, SensitiveCodes, build_partitions


def peak(function) -> tuple[int, float]:
    """Peak bytes allocated while ``function`` runs, and its wall time."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    function()
    elapsed = time.perf_counter() - start
    high = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return high - base, elapsed


def mb(n: int) -> str:
    return f"{n / 2**20:8.1f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--fairlearn-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    columns = make_columns(args.rows)
    inputs = sum(columns[c].nbytes for c in ("sex", "race", "y", "pred"))
    codes = SensitiveCodes(
        [
            EncodedColumn("sex", list(SEXES), columns["sex"]),
            EncodedColumn("race", list(RACES), columns["race"]),
        ]
    )
    y, pred = columns["y"], columns["pred"]
    print(f"{args.rows:,} rows; input columns (4 x int8): {mb(inputs)}\n")

    def engine():
        present, counts, _ = confusion_table(codes, y, pred)
        inter = build_partitions(codes, present, True)[-1]
        return rates(marginalize(counts, inter.fine_map, inter.n_groups))

    used, seconds = peak(engine)
    print(
        f"  rai-audit count engine, every count metric     peak {mb(used)}  "
        f"= {used / inputs:.3f}x input  ({seconds:.2f} s)"
    )

    categorical = pd.DataFrame(
        {
            "sex": pd.Categorical.from_codes(columns["sex"], list(SEXES)),
            "race": pd.Categorical.from_codes(columns["race"], list(RACES)),
        }
    )
    config = FairnessConfig.model_validate({"bootstrap": {"resamples": 1000}})
    used_full, seconds = peak(lambda: fairness_by_feature(y, pred, None, categorical, config))
    print(
        f"  fairness_by_feature + 1000 resamples           peak {mb(used_full)}  "
        f"= {used_full / inputs:.3f}x input  ({seconds:.2f} s; categorical columns)"
    )

    n = min(args.fairlearn_rows, args.rows)
    text = pd.DataFrame({"sex": SEXES[columns["sex"][:n]], "race": RACES[columns["race"][:n]]})
    used_fl, seconds = peak(
        lambda: MetricFrame(
            metrics=FAIRLEARN_METRICS, y_true=y[:n], y_pred=pred[:n], sensitive_features=text
        )
    )
    share = n / args.rows
    print(
        f"  fairlearn MetricFrame on {n:,} rows          peak {mb(used_fl)}  "
        f"= {used_fl / (inputs * share):.1f}x its input  ({seconds:.1f} s)"
    )

    print("\nTarget")
    print(
        f"  count engine peak <= 2x input columns: {used / inputs:.3f}x   "
        f"{verdict(used <= 2 * inputs)}"
    )
    print(
        f"  whole fairness stage with intervals:   {used_full / inputs:.3f}x   "
        f"{verdict(used_full <= 2 * inputs)}"
    )


if __name__ == "__main__":
    main()
