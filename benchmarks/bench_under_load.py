"""Is the demo steady on a shared machine? `rai-audit demo` alone vs beside a busy process.

Usage: python benchmarks/bench_under_load.py [--repeat K] [--rows N]

Runs the demo (a separate process, as a user would) on a quiet machine, then while one
other CPU-bound process runs — started by this script — first with rai-audit's default
(OpenMP threads wait passively) and then, for comparison, with spin-waiting threads
(OMP_WAIT_POLICY=ACTIVE), which is what numeric libraries do when nobody tells them.
Target (issue 17): under load the demo takes at most 1.5x its quiet time.
Run it when nothing else is busy, or the "quiet" figure is not quiet.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.5


def _busy() -> None:
    """One CPU-bound process: a pure-Python loop, as another job on the machine would be."""
    x = 0
    while True:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def _demo(rows: int, wait_policy: str | None) -> float:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy is not None:
        env["OMP_WAIT_POLICY"] = wait_policy
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable, "-m", "audit", "demo", "--out", str(Path(tmp) / "demo"),
            "--rows", str(rows), "--quiet",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env)
        return time.perf_counter() - start


def _timed(label: str, rows: int, repeat: int, wait_policy: str | None) -> float:
    runs = [_demo(rows, wait_policy) for _ in range(repeat)]
    shown = ", ".join(f"{r:.1f}" for r in runs)
    print(f"  {label:<52} median {sorted(runs)[len(runs) // 2]:6.1f} s   (runs: {shown})")
    return sorted(runs)[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    print(f"rai-audit demo ({args.rows:,} rows), {os.cpu_count()} CPUs, median of {args.repeat}")
    quiet = _timed("quiet machine (rai-audit default: passive wait)", args.rows, args.repeat, None)
    busy = multiprocessing.Process(target=_busy, daemon=True)
    busy.start()
    try:
        loaded = _timed("one busy process beside it, passive wait", args.rows, args.repeat, None)
        spinning = _timed(
            "one busy process beside it, OMP_WAIT_POLICY=ACTIVE", args.rows, args.repeat, "ACTIVE"
        )
    finally:
        busy.terminate()
        busy.join()
    ratio = loaded / quiet
    print(
        f"  under load / quiet: {ratio:.2f}x (target <= {TARGET}x: "
        f"{'MET' if ratio <= TARGET else 'NOT MET'}); spin-waiting: {spinning / quiet:.2f}x"
    )


if __name__ == "__main__":
    main()
