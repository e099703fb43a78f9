"""Rate limits per API key (or, for requests without one, per address): token buckets.

Each key may make ``per_minute`` requests a minute on average and ``burst`` at once; past that
the answer is 429 with ``Retry-After``. Kept in the process's memory (each worker process
counts for itself; a deployment with several behind a proxy divides the limit among them).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from api.errors import RateLimited

MAX_TRACKED = 100_000
"""Most keys and addresses remembered (the least recently seen are forgotten first)."""


class RateLimiter:
    """Token buckets by identity."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, identity: str, now: float | None = None) -> None:
        """Take one token for ``identity``, or raise :class:`RateLimited`."""
        if self.rate <= 0:
            return
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(identity, (self.burst, t))
            tokens = min(self.burst, tokens + (t - last) * self.rate)
            if tokens < 1.0:
                self._buckets[identity] = (tokens, t)
                raise RateLimited((1.0 - tokens) / self.rate)
            self._buckets[identity] = (tokens - 1.0, t)
            while len(self._buckets) > MAX_TRACKED:
                self._buckets.popitem(last=False)
