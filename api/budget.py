"""The budget of uncached analyses: per key and role, and for the whole service.

A cached answer costs a lookup and is never counted. An analysis that has to run (a cache
miss with no identical analysis already running) takes a slot:

- **per key, at once**: a key may have ``at_once[role]`` analyses running (429 past it);
- **per key, a rate**: a key may start ``per_minute[role]`` a minute on average, a minute's
  worth at once (token buckets; 429 with the wait in Retry-After);
- **the service**: at most ``max_running`` analyses run at once, whoever asked (503 with
  Retry-After past it), so that several keys together cannot take every core and the memory
  their working sets need.

A slot is held until the analysis has really finished or stopped (not when its request gave
up), so abandoned analyses cannot pile up behind a key. A role with no budget (partners, who
read published products) is refused (403). The slots are counted in each process's memory;
the per-key rates are in Redis when it is configured (every instance counts together, as the
rate limits: :mod:`api.ratelimit`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from api.ratelimit import RateLimiter
from api.service_errors import AnalysisLimited, NoAnalyses, RateLimited, ServiceBusy

if TYPE_CHECKING:
    from api.shared.buckets import SharedBuckets

RETRY_AFTER_S = 5.0
"""Retry-After when a slot is taken (how long an analysis takes is not known beforehand)."""


class AnalysisBudget:
    """Slots for uncached analyses (see the module docstring)."""

    def __init__(self, at_once: Mapping[str, int], per_minute: Mapping[str, int],
                 max_running: int, *, shared: SharedBuckets | None = None) -> None:
        self.at_once = dict(at_once)
        self.max_running = max_running
        self._rates = {role: RateLimiter(n, max(1, n), shared=shared, name=f"analyses:{role}")
                       for role, n in per_minute.items()}
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()
        self.refused = 0
        """Analyses refused so far (any reason)."""

    @property
    def running(self) -> int:
        """Analyses holding a slot now."""
        with self._lock:
            return sum(self._running.values())

    def count(self, who: Any) -> None:
        """Count a job ``who`` starts (a report, its PDF, a cross-border analysis) in the key's
        analyses a minute, as the synchronous request would be; it takes no slot (a job's
        slot is the queue's: a key's share of jobs, the workers one job at a time).

        Raises
        ------
        NoAnalyses
            The role's budget is zero (403).
        AnalysisLimited
            The key started its minute's worth (429).
        """
        role = getattr(who, "role", None) or "anonymous"
        key = getattr(who, "key_id", None) or "anonymous"
        rate = self._rates.get(role)
        with self._lock:
            if self.at_once.get(role, 0) <= 0 or rate is None or rate.rate <= 0:
                self.refused += 1
                raise NoAnalyses(role)
            self._take(rate, role, key)

    def _take(self, rate: RateLimiter, role: str, key: str) -> None:
        """One of the key's analyses a minute (429 past them); under the lock."""
        try:
            rate.check(key)
        except RateLimited as exc:
            self.refused += 1
            wait = exc.retry_after_s
            per_minute = round(rate.rate * 60)
            raise AnalysisLimited(
                f"this key has started its {per_minute} analyses a minute (the {role} "
                f"role's budget): try again in {wait:.0f} s, or ask for results already "
                "computed", wait) from None

    def admit(self, who: Any) -> Callable[[], None]:
        """Take a slot for an analysis asked by ``who`` (a :class:`api.access.Principal`, or
        None: no budget); return the callable that gives it back (call it once).

        Raises
        ------
        NoAnalyses
            The role's budget is zero (403).
        AnalysisLimited
            The key has its analyses running, or started its minute's worth (429).
        ServiceBusy
            The service runs as many analyses as it may (503).
        """
        role = getattr(who, "role", None) or "anonymous"
        key = getattr(who, "key_id", None) or "anonymous"
        limit = self.at_once.get(role, 0)
        rate = self._rates.get(role)
        with self._lock:
            if limit <= 0 or rate is None or rate.rate <= 0:
                self.refused += 1
                raise NoAnalyses(role)
            mine = self._running.get(key, 0)
            if mine >= limit:
                self.refused += 1
                raise AnalysisLimited(
                    f"this key already has {mine} analys{'is' if mine == 1 else 'es'} running "
                    f"(the {role} role may run {limit} at once): wait for "
                    f"{'it' if mine == 1 else 'them'}, or ask for results already computed",
                    RETRY_AFTER_S)
            if sum(self._running.values()) >= self.max_running:
                self.refused += 1
                raise ServiceBusy(
                    f"the service is running as many analyses as it may ({self.max_running}): "
                    "try again shortly", RETRY_AFTER_S)
            self._take(rate, role, key)
            self._running[key] = mine + 1
        released = False

        def release() -> None:
            nonlocal released
            with self._lock:
                if released:
                    return
                released = True
                left = self._running.get(key, 1) - 1
                if left > 0:
                    self._running[key] = left
                else:
                    self._running.pop(key, None)

        return release
