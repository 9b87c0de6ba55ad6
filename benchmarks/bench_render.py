"""Time the report rendering of the demo: figures, HTML and PDF, from a saved results.json.

Usage: python benchmarks/bench_render.py [--rows N] [--repeat K] [--detail summary|standard|full]
Target (issue 12): figures, HTML and PDF of the demo report in <= 6 s on the 2-core reference
machine (issue 7's was 10 s).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from audit.config import build_config
from audit.demo import prepare_demo
from audit.pipeline import run_audit
from audit.report.pdf import render_pdf
from audit.report.render import figures, render_html

TARGET = 6.0  # seconds (issue 12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detail", choices=["summary", "standard", "full"], default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        config = build_config(prepare_demo(Path(tmp), args.rows, 1.0, "hist_gradient_boosting", 0))
        result = run_audit(config).to_dict()

    rows = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        figs = figures(result)
        t_figures = time.perf_counter() - start
        html = render_html(result, figs, detail=args.detail)
        t_html = time.perf_counter() - start - t_figures
        pdf_html = render_html(result, figs, for_pdf=True, detail=args.detail)
        pdf = render_pdf(pdf_html, {"results.json": b"{}"})
        t_pdf = time.perf_counter() - start - t_figures - t_html
        rows.append((t_figures, t_html, t_pdf))
    best = [min(column) for column in zip(*rows, strict=True)]
    total = sum(best)
    level = args.detail or "standard"
    print(f"demo report ({args.rows:,} rows, detail {level}), best of {args.repeat}:")
    print(f"  figures {best[0]:6.2f} s")
    print(f"  HTML    {best[1]:6.2f} s   ({len(html) / 1e6:.2f} MB)")
    print(f"  PDF     {best[2]:6.2f} s   ({len(pdf) / 1e6:.2f} MB)")
    verdict = "met" if total <= TARGET else "NOT met"
    print(f"  total   {total:6.2f} s   target <= {TARGET:g} s: {verdict}")


if __name__ == "__main__":
    main()
