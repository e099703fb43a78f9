"""Rate limits per API key (or, for requests without one, per address): token buckets.

Each key may make ``per_minute`` requests a minute on average and ``burst`` at once; past that
the answer is 429 with ``Retry-After``. With Redis (``HOTSPOT_REDIS_URL``) the buckets live
there and every instance counts together (:mod:`api.shared.buckets`); without it, or while
Redis does not answer (a warning is logged), each process counts for itself, so a deployment
of several processes then allows the limit in each (the limits fail open rather than refuse
everyone).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

from api.service_errors import RateLimited

if TYPE_CHECKING:
    from api.shared.buckets import SharedBuckets

MAX_TRACKED = 100_000
"""Most keys and addresses remembered (the least recently seen are forgotten first)."""


class RateLimiter:
    """Token buckets by identity; in Redis under ``name`` when ``shared`` is given."""

    def __init__(self, per_minute: int, burst: int, *, shared: SharedBuckets | None = None,
                 name: str = "requests") -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.shared = shared
        self.name = name
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, identity: str, now: float | None = None) -> None:
        """Take one token for ``identity``, or raise :class:`RateLimited`."""
        if self.rate <= 0:
            return
        if self.shared is not None and now is None:
            wait = self.shared.take(self.name, identity, self.rate, self.burst)
            if wait is not None:  # None: Redis did not answer, count here
                if wait > 0:
                    raise RateLimited(wait)
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
