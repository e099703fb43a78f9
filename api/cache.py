"""Results cached by (data version, parameters): a repeated request costs a lookup.

A new ingest changes the store's data version, which is part of every key, so nobody is served
stale hotspots; old entries simply age out of the least-recently-used order. Concurrent requests
for the same key wait for one computation instead of each starting their own; the computation
runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from fastapi.concurrency import run_in_threadpool


class ResultCache:
    """A least-recently-used cache of at most ``size`` results, with one computation per key."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing it in a thread if it is missing."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key in self._items:  # computed while this request waited
                self.hits += 1
                return self._items[key]
            self.misses += 1
            value = await run_in_threadpool(compute)
            if self.size > 0:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        self._locks.pop(key, None)
        return value

    async def within(self, key: Hashable, compute: Callable[[], Any],
                     timeout_s: float | None) -> Any:
        """:meth:`get`, waiting at most ``timeout_s``: past it :class:`StillComputing` is raised
        while the computation goes on and its result is kept for the next request."""
        if timeout_s is None or key in self._items:
            return await self.get(key, compute)
        task = asyncio.ensure_future(self.get(key, compute))
        task.add_done_callback(_consume)
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout_s)
        except TimeoutError:
            raise StillComputing(timeout_s) from None

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()


class StillComputing(Exception):
    """A computation took longer than the request may wait; it goes on (503, Retry-After)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(
            f"this takes longer than {timeout_s:g} s; it goes on, and the same request is "
            "answered from the cache when it is done: try again shortly, or narrow the "
            "selection (period, area, categories)")


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve a background computation's exception (it was raised to its own request)."""
    if not task.cancelled():
        task.exception()
