"""Time the report rendering of the demo from its result: figures, HTML and PDF(s).

Usage: python benchmarks/bench_render.py [--rows N] [--repeat K] [--detail summary|standard|full]

Times ``audit.report.build.render_report``, the path `rai-audit run`, `demo` and `report` take
(at detail standard: the body in report.pdf and the annex in report-annex.pdf, laid out side
by side on two cores, each in a forked process), against the same report as one PDF with
the annex after a divider, measured in the same run: wall time, and CPU time of this
process and of the processes it forks (on a busy machine the wall time varies; the CPU time
much less). Target (issue 12): figures, HTML and PDF of the demo report in <= 6 s on the
2-core reference machine.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from audit.config import build_config
from audit.demo import prepare_demo
from audit.pipeline import run_audit
from audit.report.build import fewer_collections, render_report
from audit.report.pdf import render_pdf
from audit.report.render import COMPILED_TEMPLATES, figures, render_html

TARGET = 6.0  # seconds (issue 12)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _one_pdf(result: dict, detail: str | None) -> None:
    """The reference: every figure, the HTML and one PDF (the annex after a divider)."""
    with fewer_collections():
        _one_pdf_made(result, detail)


def _one_pdf_made(result: dict, detail: str | None) -> None:
    figs = figures(result)
    render_html(result, figs, detail=detail)
    render_pdf(render_html(result, figs, for_pdf=True, detail=detail), {"results.json": b"{}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detail", choices=["summary", "standard", "full"], default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = build_config(prepare_demo(Path(tmp), args.rows, 1.0, "hist_gradient_boosting", 0))
        result = run_audit(config).to_dict()

    ours, reference = [], []
    pace = [_pace()]
    for _ in range(args.repeat):
        files = _timed(ours, render_report, result, ["html", "pdf"], args.detail, ATTACHED)
        _timed(reference, _one_pdf, result, args.detail)
    pace.append(_pace())
    level = args.detail or "standard"
    print(f"demo report ({args.rows:,} rows, detail {level}), best of {args.repeat}:")
    for name, content in files.items():
        print(f"  {name:18s} {len(content) / 1e6:5.2f} MB")
    print(_line("render_report", min(ours)))
    print(_line("one PDF", min(reference)) + "  (the annex after a divider)")
    # On a shared machine the other tenants only ever add time: the best run is the code's
    # cost, the median what a user met that minute.
    print(
        f"  median wall: render_report {statistics.median(t[0] for t in ours):.2f} s, "
        f"one PDF {statistics.median(t[0] for t in reference):.2f} s"
    )
    wall, here, forked = min(ours)
    print(
        f"  render_report CPU: {here + forked:.2f} s in all; half of it, "
        f"{(here + forked) / 2:.2f} s, is the least wall time two idle cores could take"
    )
    verdict = "met" if wall <= TARGET else "NOT met"
    print(f"  target <= {TARGET:g} s wall: {verdict}")
    # The same CPU work took up to 1.75x longer from one minute to the next on the shared
    # reference machine, with nothing else running in it (its host's other tenants, it
    # seems): a fixed piece of Python, timed before and after, tells a slow minute from
    # slow code.
    print(
        f"  the machine's pace: a fixed {PACE_STEPS:,}-step Python loop took "
        f"{pace[0]:.2f} s before the runs, {pace[1]:.2f} s after"
    )


ATTACHED = {"results.json": b"{}"}
PACE_STEPS = 10_000_000


def _pace() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine runs Python now."""
    start, total = time.process_time(), 0
    for step in range(PACE_STEPS):
        total += step
    return time.process_time() - start


def _timed(times: list, function, *arguments):
    """``function(*arguments)``, its (wall, CPU here, CPU of forked processes) appended."""
    # As in a new process: the compiled templates are read from the cache folder (see
    # audit/report/template_cache.py), or compiled on a machine's first report.
    COMPILED_TEMPLATES.clear()
    start, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    out = function(*arguments)
    times.append(
        (time.perf_counter() - start, time.process_time() - cpu, _children_cpu() - children)
    )
    return out


def _line(name: str, times: tuple[float, float, float]) -> str:
    wall, here, forked = times
    return f"  {name:18s} {wall:6.2f} s wall, CPU {here:.2f} s here + {forked:.2f} s forked"


if __name__ == "__main__":
    main()
