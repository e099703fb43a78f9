"""Independent pieces of one analysis run on the machine's cores at once, in threads.

The compiled loops (:mod:`hotspot._gridnative`, numba ``nogil``), GEOS (shapely's vectorised
functions) and numpy's large array operations let go of Python's global lock while they work,
so two threads of them run on two cores. :func:`run_each` calls a list of tasks with up to
:func:`threads` of them at once (the calling thread takes its share), and gives the results in
the tasks' order, as a plain loop would: the pieces must not depend on one another, and the
result is the same whatever the number of threads.

No pool is kept: each call starts its threads (tens of microseconds each) and joins them, so
calls nest without waiting on one another, and nothing runs once a call has returned.
:class:`Later` starts one task in a thread of its own and gives its result when asked (a part
that needs none of the steps before it, started while they run).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it, else
    the machine's), up to 4: how many threads :func:`run_each` uses unless told."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


_threads = default_threads()


def threads() -> int:
    """How many threads :func:`run_each` uses at most (:func:`default_threads` unless
    :func:`set_threads` said otherwise)."""
    return _threads


def set_threads(n: int) -> None:
    """Use at most ``n`` threads per call of :func:`run_each` (1: every task in the calling
    thread, one after the other). For a service whose cores are busy with other requests."""
    global _threads
    if n < 1:
        raise ValueError(f"threads must be at least 1, not {n}")
    _threads = int(n)


def run_each(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Each task's result, in order, the tasks run up to :func:`threads` at once (each thread
    takes the next task not yet started). When tasks raise, the others still finish, then the
    exception of the first of them in order is raised here."""
    n = len(tasks)
    workers = min(_threads, n)
    if workers <= 1:
        return [task() for task in tasks]
    results: list[T | None] = [None] * n
    errors: list[BaseException | None] = [None] * n
    next_task = iter(range(n))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(next_task, None)
            if i is None:
                return
            try:
                results[i] = tasks[i]()
            except BaseException as exc:
                errors[i] = exc

    helpers = [threading.Thread(target=work, name=f"hotspot-part-{k}", daemon=True)
               for k in range(workers - 1)]
    for t in helpers:
        t.start()
    work()
    for t in helpers:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results  # type: ignore[return-value]  # every slot filled when nothing raised


class Later(Generic[T]):
    """A task started now in a thread of its own (when :func:`threads` allows more than one),
    its result taken later with :meth:`result`; with one thread, run in the caller when its
    result is first asked for. ``task`` gets a ``should_stop`` callable that answers True
    once :meth:`abandon` was called (or ``should_stop`` given here answers True), to stop it
    at its next check when its caller failed before asking for the result."""

    def __init__(self, task: Callable[[Callable[[], bool]], T],
                 should_stop: Callable[[], bool] | None = None) -> None:
        self._task = task
        self._outer = should_stop
        self._abandoned = False
        self._value: T | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._ran = False
        if _threads > 1:
            self._thread = threading.Thread(target=self._run, name="hotspot-later", daemon=True)
            self._thread.start()

    def _stop(self) -> bool:
        return self._abandoned or (self._outer is not None and bool(self._outer()))

    def _run(self) -> None:
        try:
            self._value = self._task(self._stop)
        except BaseException as exc:  # raised by result()
            self._error = exc
        self._ran = True

    def result(self) -> T:
        """The task's result (waiting for it), or the exception it raised."""
        if self._thread is not None:
            self._thread.join()
        elif not self._ran:
            self._run()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set when nothing was raised

    def abandon(self) -> None:
        """Nobody will ask for the result: the task stops at its next check, and this waits
        for it to stop (nothing of it runs once this has returned)."""
        self._abandoned = True
        if self._thread is not None:
            self._thread.join()
