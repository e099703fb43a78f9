"""Independent pieces of one analysis run on the machine's cores at once, in threads.

The compiled loops (:mod:`hotspot._gridnative`, numba ``nogil``), GEOS (shapely's vectorised
functions) and numpy's large array operations let go of Python's global lock while they work,
so two threads of them run on two cores. :func:`run_each` calls a list of tasks with up to
:func:`threads` of them at once (the calling thread takes its share), and gives the results in
the tasks' order, as a plain loop would: the pieces must not depend on one another, and the
result is the same whatever the number of threads.

The helper threads are kept between calls (up to :data:`KEPT` idle ones), not a pool with a
queue: a call borrows idle helpers, starting new ones when none is idle, and gives them back
once they are done, so calls nest without waiting on one another, and nothing runs once a
call has returned. A kept thread keeps what libraries keep per thread: pyproj makes each
transformation again in every new thread (about 20 ms for British National Grid to WGS84),
so an answer's threads made afresh would pay that at every call.
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

    helpers = _borrow(workers - 1)
    try:
        for helper in helpers:
            helper.start(work)
        work()
    finally:
        for helper in helpers:
            helper.join()
        _give_back(helpers)
    for exc in errors:
        if exc is not None:
            raise exc
    return results  # type: ignore[return-value]  # every slot filled when nothing raised


KEPT = 8
"""Most idle helper threads kept for the next calls of :func:`run_each`."""


class _Helper:
    """A daemon thread that runs the jobs it is given, one at a time (:func:`run_each`'s)."""

    _made = 0

    def __init__(self) -> None:
        self._job: Callable[[], None] | None = None
        self._go = threading.Event()
        self._done = threading.Event()
        self._done.set()  # idle: joining a helper never started returns at once
        _Helper._made += 1
        self._thread = threading.Thread(target=self._loop, name=f"hotspot-part-{_Helper._made}",
                                        daemon=True)
        self._thread.start()

    def start(self, job: Callable[[], None]) -> None:
        """Run ``job`` (which must not raise: :func:`run_each`'s catches everything)."""
        self._done.clear()
        self._job = job
        self._go.set()

    def join(self) -> None:
        """Wait for the job given last to end."""
        self._done.wait()

    def retire(self) -> None:
        """End the thread (it is idle)."""
        self._job = None
        self._go.set()

    def _loop(self) -> None:
        while True:
            self._go.wait()
            self._go.clear()
            job = self._job
            if job is None:
                return
            try:
                job()
            finally:
                # an idle helper holds nothing of the call it ran (its tasks hold a request's
                # incidents and all made from them)
                job = None
                self._job = None
                self._done.set()


_idle: list[_Helper] = []
_idle_lock = threading.Lock()


def _borrow(n: int) -> list[_Helper]:
    """``n`` idle helpers, new ones when fewer are idle."""
    with _idle_lock:
        got = [_idle.pop() for _ in range(min(n, len(_idle)))]
    try:
        while len(got) < n:
            got.append(_Helper())
    except BaseException:  # no thread to be had (or interrupted): the idle ones go back
        _give_back(got)
        raise
    return got


def _give_back(helpers: list[_Helper]) -> None:
    """Keep the idle ``helpers`` (up to :data:`KEPT` idle in all); end the others."""
    with _idle_lock:
        for helper in helpers:
            if len(_idle) < KEPT:
                _idle.append(helper)
            else:
                helper.retire()


def _forget_helpers() -> None:
    """In a child made by fork, the parent's helper threads do not exist (and the lock may
    have been held by one of the parent's threads)."""
    global _idle_lock
    _idle.clear()
    _idle_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)


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
