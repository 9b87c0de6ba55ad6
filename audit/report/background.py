"""Work for the report's second processor core: drawing and PDF layout are CPU-bound and
single-threaded, so a forked process halves the wall time of the slow half."""

from __future__ import annotations

import gc
import multiprocessing
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any


def can_fork() -> bool:
    """Whether a second process may be forked here: on Linux. (macOS forks, but its system
    libraries may crash in a forked child; Windows cannot.)"""
    return sys.platform == "linux"


@contextmanager
def in_background(function: Callable[[Any], Any], argument: Any) -> Iterator[Future]:
    """Run ``function(argument)`` in a forked process where fork is safe (Linux), else here,
    when the caller asks for the result. ``function`` must be picklable (module level)."""
    if not can_fork():
        done: Future = Future()
        done.set_result(function(argument))
        yield done
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool.submit(function, argument)


class SharedJobs:
    """Numbered jobs shared out between this process and one it forks: each process takes
    the next job no one has taken yet, so both stay busy until all are done, however long
    each job takes. Create it before the fork."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._next = multiprocessing.get_context("fork").Value("i", 0)

    def take(self) -> Iterator[int]:
        """The numbers of the jobs this process is to do, one at a time."""
        while True:
            with self._next.get_lock():
                number = self._next.value
                self._next.value = number + 1
            if number >= self.count:
                return
            yield number


@contextmanager
def partner(work: Callable[[Connection], None]) -> Iterator[Connection]:
    """Run ``work(connection)`` in a forked process (only where :func:`can_fork`) and yield
    this end of the connection; read what it sends with :func:`receive`. The process is
    stopped if the block is left by an error, so it never outlives its caller. It runs
    without Python's cycle collector: give it bounded work (a report's figures, a PDF),
    not a loop that lives on."""
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    process = context.Process(target=_run, args=(work, there, here), daemon=True)
    process.start()
    there.close()
    try:
        yield here
    except BaseException:
        process.terminate()
        raise
    finally:
        here.close()
        process.join()


class _Failure:
    """What the partner sends in place of its result when ``work`` raises."""

    def __init__(self, error: BaseException) -> None:
        self.text = "".join(traceback.format_exception(error))
        try:
            self.error: BaseException | None = _pickles(error)
        except Exception:  # an exception that cannot cross processes: its text will do
            self.error = None


def _pickles(error: BaseException) -> BaseException:
    return pickle.loads(pickle.dumps(error))


def _run(work: Callable[[Connection], None], there: Connection, here: Connection) -> None:
    here.close()  # the parent's end: the child's copy would hide the parent's exit from it
    # The process' garbage goes with it when it ends, so nothing need look for reference
    # cycles meanwhile. Measured on the demo's annex (WeasyPrint's layout leaves its boxes in
    # cycles): 0.15-0.2 s less CPU, and 7 MB more at the peak.
    gc.disable()
    try:
        work(there)
    except BaseException as error:
        try:
            there.send(_Failure(error))
        except OSError:  # the parent has gone
            pass
    finally:
        there.close()


def send(connection: Connection, message: Any) -> None:
    """Send ``message`` to the partner; if it has ended, its error is raised here instead
    (the pipe's own error would hide what went wrong)."""
    try:
        connection.send(message)
    except OSError:
        receive(connection)  # raises the partner's error, or says it ended without one
        raise


def receive(connection: Connection) -> Any:
    """The next thing the partner sent; its error, raised here, if it failed."""
    try:
        message = connection.recv()
    except EOFError:
        raise RuntimeError("the report's second process ended without its result") from None
    if isinstance(message, _Failure):
        if message.error is not None:
            raise message.error from RuntimeError(message.text)
        raise RuntimeError(f"the report's second process failed:\n{message.text}")
    return message
