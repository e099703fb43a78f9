"""Results cached by (data version, parameters): a repeated request costs a lookup.

A new ingest changes the store's data version, which is part of every key, so nobody is served
stale hotspots; old entries simply age out of the least-recently-used order.

**Bounded in bytes.** Each entry's size is measured when it is stored, a computed one in the
thread that computed it (its GeoJSON and CSV bytes, its table, a density grid's array, a
page's text: :func:`size_of`); past
``max_bytes`` the least recently used entries go, and an entry larger than
:data:`MAX_ENTRY_SHARE` of the budget is served but not kept.

**One computation per key, stopped when nobody waits.** Concurrent requests for the same key
wait for one computation, run in a worker thread off the event loop. Each request waits at
most its timeout (then :class:`StillComputing`, 503). The computation goes on while anyone
waits for it; once every request for it has gone it is stopped: at once when their clients
disconnected, after ``grace_s`` when they timed out (the 503 asks them to retry, and a retry
within that time joins it). Threads cannot be killed: the computation receives a
``should_stop`` callable and checks it between stages (:mod:`hotspot.cancel`), raising
:class:`hotspot.AnalysisCancelled`, after which nothing is kept. A budget (``admit``) is asked
only when a computation has to start, and its slot is given back when the computation has
really ended.

**Several instances.** With Redis (``HOTSPOT_REDIS_URL``) the app uses
:class:`api.shared.cache.SharedResultCache`, this cache with Redis behind it: a result computed
by any instance is served by all, and one computation runs per key across them.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import dataclasses
import functools
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
import shapely
from fastapi.concurrency import run_in_threadpool

from hotspot import AnalysisCancelled
from hotspot.cancel import ShouldStop

_log = logging.getLogger(__name__)

MAX_ENTRY_SHARE = 0.25
"""The largest entry kept, as a share of the byte budget."""


class ResultCache:
    """A least-recently-used cache of at most ``size`` entries and ``max_bytes`` bytes (None:
    no byte limit), with one computation per key.

    Counters (for tests and the benchmarks): ``hits``, ``misses``, ``evictions``,
    ``not_kept`` (entries over the share of the budget), ``abandoned`` (computations asked to
    stop), ``cancelled`` (computations that did stop), ``computed``.
    """

    def __init__(self, size: int = 64, *, max_bytes: int | None = None,
                 grace_s: float = 0.0) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.grace_s = grace_s
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._lock_users: dict[Hashable, int] = {}
        self._flights: dict[Hashable, _Flight] = {}
        self._stopping: set[_Flight] = set()
        """Computations asked to stop whose key a new computation has taken since."""
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.not_kept = 0
        self.abandoned = 0
        self.cancelled = 0
        self.computed = 0

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    @property
    def running(self) -> int:
        """Computations started by :meth:`within` that have not ended yet."""
        return len(self._flights) + len(self._stopping)

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        found, value = self.peek(key)
        if found:
            self.count_hit(key)
        return found, value

    def peek(self, key: Hashable) -> tuple[bool, Any]:
        """(True, the value) if this process holds ``key``, else (False, None); not counted
        as a hit, and the entry keeps its place (:meth:`count_hit` does both)."""
        entry = self._items.get(key)
        return (False, None) if entry is None else (True, entry[0])

    def count_hit(self, key: Hashable) -> None:
        """Count an answer served from ``key``'s entry, and make it the most recently used
        (:mod:`api.replay` serves a cached answer without :meth:`within`)."""
        if key in self._items:
            self._items.move_to_end(key)
        self.hits += 1

    def _keeps(self) -> bool:
        """Whether this cache keeps anything (else nothing is measured)."""
        return self.size > 0 and self.max_bytes != 0

    def _put(self, key: Hashable, value: Any, nbytes: int | None = None) -> None:
        """Keep ``value`` under ``key``, then evict past the entry and byte budgets.
        ``nbytes``: its :func:`size_of`, measured already (in the thread that made it: 10-15
        ms for a table of 10^6 incidents' hotspots, which the event loop would not answer
        anything during), else measured here."""
        if not self._keeps():
            return
        if nbytes is None:
            nbytes = size_of(value)
        if nbytes < 0:  # it could not be measured (:meth:`_start`)
            self.not_kept += 1
            return
        if self.max_bytes is not None and nbytes > self.max_bytes * MAX_ENTRY_SHARE:
            self.not_kept += 1
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        self._items[key] = (value, nbytes)
        self.bytes += nbytes
        while self._items and (len(self._items) > self.size or (
                self.max_bytes is not None and self.bytes > self.max_bytes)):
            _key, (_value, gone) = self._items.popitem(last=False)
            self.bytes -= gone
            self.evictions += 1

    async def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing it in a thread if it is missing (for cheap
        derived results: pages, contour bands; analyses go through :meth:`within`)."""
        found, value = self._lookup(key)
        if found:
            return value
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._lock_users[key] = self._lock_users.get(key, 0) + 1
        try:
            async with lock:
                found, value = self._lookup(key)  # computed while this request waited
                if found:
                    return value
                self.misses += 1
                value = await run_in_threadpool(compute)
                self._put(key, value)
        finally:
            # the lock goes once nobody holds or waits for it (a waiter woken but not yet
            # running would otherwise find no lock, and a newcomer would compute again)
            self._lock_users[key] -= 1
            if not self._lock_users[key]:
                del self._lock_users[key]
                self._locks.pop(key, None)
        return value

    async def within(
        self,
        key: Hashable,
        compute: Callable[[ShouldStop], Any],
        timeout_s: float | None,
        *,
        admit: Callable[[], Callable[[], None]] | None = None,
        disconnected: Callable[[], Awaitable[Any]] | None = None,
    ) -> Any:
        """The cached value for ``key``, else the result of ``compute(should_stop)`` run once
        in a thread however many requests ask, waiting at most ``timeout_s``.

        Parameters
        ----------
        compute
            Takes a ``should_stop`` callable to check between its stages.
        timeout_s
            Longest this request waits; None: until the result comes.
        admit
            Called only when a computation has to start (no entry, none running); returns
            the callable that gives its slot back (called when the computation ends); raises
            to refuse (the budget: :class:`api.budget.AnalysisBudget`).
        disconnected
            An awaitable factory that completes when this request's client has gone.

        Raises
        ------
        StillComputing
            Past ``timeout_s`` (the computation goes on for ``grace_s`` for a retry).
        ClientGone
            The client disconnected first.
        """
        found, value = self._lookup(key)
        if found:
            return value
        flight = self._flights.get(key)
        if flight is None or flight.stop.is_set():
            found, value = await self._elsewhere(key)  # another instance's result (Redis)
            if found:
                return value
            flight = self._flights.get(key)  # one may have started while this looked
            if flight is None or flight.stop.is_set():
                flight = self._begin(key, compute, admit)
        flight.waiters += 1
        if flight.timer is not None:  # a retry within the grace: it goes on
            flight.timer.cancel()
            flight.timer = None
        gone = asyncio.ensure_future(disconnected()) if disconnected is not None else None
        why = "gone"
        try:
            waits: set[asyncio.Future[Any]] = {flight.task}
            if gone is not None:
                waits.add(gone)
            done, _pending = await asyncio.wait(waits, timeout=timeout_s,
                                                return_when=asyncio.FIRST_COMPLETED)
            if flight.task in done:
                why = "done"
                return _value(flight.task.result())
            if gone is not None and gone in done:
                raise ClientGone()
            why = "timeout"
            raise StillComputing(timeout_s or 0.0, self.grace_s)
        finally:
            if gone is not None:
                gone.cancel()
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done() and why != "done":
                if why == "timeout" and self.grace_s > 0:
                    loop = asyncio.get_running_loop()
                    flight.timer = loop.call_later(self.grace_s, self._abandon, flight)
                else:
                    self._abandon(flight)

    async def _elsewhere(self, key: Hashable) -> tuple[bool, Any]:
        """A result another instance computed (none here: :mod:`api.shared.cache` looks in
        Redis), kept here when found."""
        return False, None

    def _begin(self, key: Hashable, compute: Callable[[ShouldStop], Any],
               admit: Callable[[], Callable[[], None]] | None) -> _Flight:
        """Start the computation of ``key`` (nothing cached, none running here)."""
        release = admit() if admit is not None else None
        return self._start(key, lambda stop: lambda: compute(stop.is_set), release)

    def _start(self, key: Hashable, runner: Callable[[threading.Event], Callable[[], Any]],
               release: Callable[[], None] | None) -> _Flight:
        """Run ``runner(stop)()`` in a thread as the flight of ``key``; it returns the value,
        or :class:`Fetched` when the value came from elsewhere (not computed here)."""
        stop = threading.Event()
        work = runner(stop)
        measured: list[int] = []

        def run() -> Any:
            try:
                result = work()
                if self._keeps():  # measured here, not in the event loop (_landed)
                    measured.append(measured_size(_value(result), key))
                return result
            finally:
                give_back_free_memory_soon()

        task = asyncio.ensure_future(run_in_threadpool(run))
        flight = _Flight(key=key, stop=stop, task=task, release=release, measured=measured)
        old = self._flights.get(key)
        if old is not None:  # stopping: it ends on its own and must not be forgotten
            self._stopping.add(old)
        self._flights[key] = flight
        self.misses += 1
        task.add_done_callback(lambda t: self._landed(flight, t))
        return flight

    def _landed(self, flight: _Flight, task: asyncio.Future[Any]) -> None:
        """A computation ended: give its slot back, keep its result, count a cancellation."""
        if flight.timer is not None:
            flight.timer.cancel()
            flight.timer = None
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]
        self._stopping.discard(flight)
        if flight.release is not None:
            flight.release()
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here: it was raised to its own requests
        if exc is None:
            result = task.result()
            if not isinstance(result, Fetched):
                self.computed += 1
            self._put(flight.key, _value(result),
                      flight.measured[0] if flight.measured else None)
        elif isinstance(exc, AnalysisCancelled):
            self.cancelled += 1

    def _abandon(self, flight: _Flight) -> None:
        """Nobody waits for ``flight`` any more: ask its computation to stop."""
        flight.timer = None
        if flight.waiters == 0 and not flight.task.done() and not flight.stop.is_set():
            flight.stop.set()
            self.abandoned += 1

    def forget_versions_except(self, version: str) -> int:
        """Forget the entries of every data version but ``version`` (:func:`version_of`; keys
        naming none stay); returns how many went."""
        gone = [k for k in self._items if (v := version_of(k)) is not None and v != version]
        for k in gone:
            _value, nbytes = self._items.pop(k)
            self.bytes -= nbytes
        return len(gone)

    def clear(self) -> None:
        """Forget every entry (running computations go on)."""
        self._items.clear()
        self.bytes = 0

    def stats(self) -> dict[str, int | None]:
        """Entries, bytes and counters."""
        return {"entries": len(self._items), "bytes": self.bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "not_kept": self.not_kept, "running": self.running,
                "abandoned": self.abandoned, "cancelled": self.cancelled,
                "computed": self.computed}


_VERSION = re.compile(r"^[0-9a-f]{8}\.[0-9]+(?:\.[0-9a-f]{8})?$")
"""A store's data version (``<store id>.<counter>``: :meth:`geodata.stores.Store.data_version`)."""


def version_of(key: Hashable) -> str | None:
    """The data version a cache key names (a top-level part shaped as one), or None."""
    if isinstance(key, tuple):
        for part in key:
            if isinstance(part, str) and _VERSION.match(part):
                return part
    return None


@dataclasses.dataclass(frozen=True)
class Fetched:
    """A flight's value that another instance computed (read from the shared cache): kept
    here, not counted as computed."""

    value: Any


def _value(result: Any) -> Any:
    return result.value if isinstance(result, Fetched) else result


@dataclasses.dataclass(eq=False)
class _Flight:
    """One computation in progress and the requests waiting for it."""

    key: Hashable
    stop: threading.Event
    task: asyncio.Future[Any]
    release: Callable[[], None] | None
    waiters: int = 0
    timer: asyncio.TimerHandle | None = None
    measured: list[int] = dataclasses.field(default_factory=list)
    """The value's :func:`size_of` once the computation has measured it."""


class StillComputing(Exception):
    """A computation took longer than the request may wait (503, Retry-After); it goes on
    for a while for the retry to find it."""

    retry_after_s = 10
    """Seconds a client waits before it asks again."""

    def __init__(self, timeout_s: float, grace_s: float = 0.0) -> None:
        goes_on = (f"it goes on for {grace_s:g} s more, and the same request is answered "
                   "from the cache when it is done (or joins it while it runs): try again "
                   "shortly, or narrow the selection (period, area, categories)" if grace_s > 0
                   else "it was stopped: narrow the selection (period, area, categories)")
        super().__init__(f"this takes longer than {timeout_s:g} s; {goes_on}")


class ClientGone(Exception):
    """The client of a request disconnected while it waited (nobody reads the answer)."""


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def give_back_free_memory() -> None:
    """Return the memory an analysis freed to the system (glibc keeps freed blocks in each
    thread's arena, so a process that ran large analyses in several threads stays large long
    after; ``malloc_trim`` gives it back). A no-op where the C library is not glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


TRIM_AFTER_S = 0.25
"""How long after a computation :func:`give_back_free_memory_soon` trims: its answer is sent
meanwhile (trimming a heap that held an analysis of 10^6 incidents takes 10-20 ms, and holds
each arena's lock while it works on it)."""
_trim_lock = threading.Lock()
_trim_due: list[threading.Timer] = []


def give_back_free_memory_soon() -> None:
    """:func:`give_back_free_memory` :data:`TRIM_AFTER_S` from now, in a thread of its own;
    once for computations ending within that time of one another."""
    with _trim_lock:
        if _trim_due:
            return
        timer = threading.Timer(TRIM_AFTER_S, _trim_now)
        timer.daemon = True
        timer.name = "hotspot-trim"
        _trim_due.append(timer)
    try:
        timer.start()
    except RuntimeError:  # no thread to be had: trimmed here and now, and the next one too
        _trim_now()


def _trim_now() -> None:
    with _trim_lock:
        _trim_due.clear()
    give_back_free_memory()


def measured_size(value: Any, key: Hashable) -> int:
    """:func:`size_of` ``value``, or -1 (logged) when it cannot be measured: the result is
    then served but not kept (:meth:`ResultCache._put`)."""
    try:
        return size_of(value)
    except Exception:
        _log.warning("a result of %r could not be measured: not kept", key, exc_info=True)
        return -1


_DEPTH = 6
"""How deep :func:`size_of` follows containers (deeper values count their own object only)."""
_SAMPLE = 64
"""Cells of an object column measured to estimate the whole column."""


def size_of(value: Any, _depth: int = 0) -> int:
    """An estimate of the memory ``value`` holds, bytes: exact for bytes, text and arrays,
    measured for tables (object columns from a sample of their cells, geometries from their
    coordinates), summed over the fields of dataclasses and the items of containers."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if value is None or isinstance(value, bool) or (
            isinstance(value, int) and -5 <= value <= 256):
        return 0  # shared objects: Python keeps one of each
    if isinstance(value, str):
        return sys.getsizeof(value)
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, pd.DataFrame):
        return _frame_bytes(value)
    if _depth >= _DEPTH:
        return sys.getsizeof(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name), _depth + 1)
                        for f in dataclasses.fields(value))
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k, _depth + 1) + size_of(v, _depth + 1)
                                          for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(size_of(v, _depth + 1) for v in value)
    return sys.getsizeof(value)


def _is_geometry_column(values: np.ndarray) -> bool:
    """Whether an object column holds geometries (and missing values) only: its first value
    that is not None decides, and the whole column is checked before it is measured as one."""
    geometry = np.asarray(shapely.is_geometry(values), dtype=bool)
    first = int(np.argmax(geometry)) if geometry.any() else len(values)
    # the values before the first geometry, and every other that is not one, must be None
    # (compared one by one: a cell may hold an array, which == would compare elementwise)
    return bool(geometry.any()) and all(v is None for v in values[:first]) and all(
        v is None for v in values[first:][~geometry[first:]])


def _frame_bytes(frame: pd.DataFrame) -> int:
    total = int(frame.index.memory_usage())
    n = len(frame)
    for i in range(frame.shape[1]):  # by position: two columns may share a name
        column = frame.iloc[:, i]
        if isinstance(column.dtype, np.dtype) and column.dtype != object:
            total += int(column.to_numpy().nbytes)
            continue
        values = np.asarray(column.to_numpy(), dtype=object)
        if n and _is_geometry_column(values):
            coords = shapely.get_num_coordinates(values)
            total += int(coords.sum()) * 16 + n * 112
            continue
        step = max(1, n // _SAMPLE)
        sample = values[::step]
        measured = sum(size_of(v, 1) for v in sample)
        total += n * 8 + (int(measured * n / len(sample)) if len(sample) else 0)
    return total
