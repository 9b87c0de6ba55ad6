"""Work for the report's second processor core: drawing and PDF layout are CPU-bound and
single-threaded, so a forked process halves the wall time of the slow half."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any


@contextmanager
def in_background(function: Callable[[Any], Any], argument: Any) -> Iterator[Future]:
    """Run ``function(argument)`` in a forked process where fork is safe (Linux), else here,
    when the caller asks for the result. ``function`` must be picklable (module level)."""
    if sys.platform != "linux":
        done: Future = Future()
        done.set_result(function(argument))
        yield done
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool.submit(function, argument)
