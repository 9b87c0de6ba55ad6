"""Progress on the terminal while an audit runs: what is happening now, and for how long.

On a terminal a spinner shows the current step (and its detail, e.g. which mitigation
strategy is being fitted) with a live clock, and each finished step leaves one line with
its time. In a log (stderr not a terminal, as in CI) each step is printed when it
*starts*, stamped with the time since the run began, so a slow step is visible while it
runs. ``--quiet`` prints nothing.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from audit.text import printable_lines


class Reporter:
    """Call it with a step's name when the step starts; ``done`` ends the run."""

    def __init__(self, quiet: bool, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self._stream = stream
        self._began = time.perf_counter()
        self._step: str | None = None
        self._started = self._began
        self._live: Progress | None = None
        self._task = None
        self._logged = float("-inf")  # when a detail was last printed in a log

    @property
    def stream(self) -> TextIO:
        # Looked up late: test runners swap sys.stderr after this object is made.
        return self._stream or sys.stderr

    def __call__(self, step: str) -> None:
        self._finish()
        self._step, self._started = step, time.perf_counter()
        if self.quiet:
            return
        if self.stream.isatty():
            if self._live is None:
                console = Console(file=self.stream)
                self._live = Progress(
                    SpinnerColumn(),
                    TextColumn("{task.description}"),
                    TimeElapsedColumn(),
                    console=console,
                    transient=True,
                )
                self._live.start()
            self._task = self._live.add_task(step)
        else:
            self._line(f"  [{_clock(self._started - self._began)}] {step} ...")

    def detail(self, text: str, every: float = 0.0) -> None:
        """What the current step is doing now (e.g. "reweighing, 2 of 5"). In a log, a
        detail comes at most once per ``every`` seconds (frequent updates, as rows read)."""
        if self.quiet or self._step is None:
            return
        if self._live is not None and self._task is not None:
            self._live.update(self._task, description=printable_lines(f"{self._step}: {text}"))
            return
        now = time.perf_counter()
        if every and now - self._logged < every:
            return
        self._logged = now
        self._line(f"  [{_clock(now - self._began)}]   {text}")

    def _finish(self) -> None:
        if self._step is None:
            return
        elapsed = time.perf_counter() - self._started
        if self._live is not None and self._task is not None:
            self._live.remove_task(self._task)
            self._live.console.print(f"  {self._step} ... {elapsed:.1f}s", highlight=False)
            self._task = None
        self._step = None

    def close(self) -> None:
        """Finish the current step and stop the live display (also after an error)."""
        self._finish()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def done(self, message: str) -> None:
        self.close()
        if not self.quiet:
            print(printable_lines(message), flush=True)

    def _line(self, text: str) -> None:
        print(printable_lines(text), file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes:02d}:{seconds:02d}"
