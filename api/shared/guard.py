"""Calls to Redis that never take the service down with it.

A Redis that does not answer (refused, timed out, reset) is set aside for :data:`RETRY_S`
seconds: the calls meanwhile return their fallback at once, without waiting for a timeout on
every request, and a warning is logged once per outage. What falls back to what is each
caller's choice (documented where it is made): the result cache computes here without sharing,
rate limits count in this process only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import redis

log = logging.getLogger("api.shared")

RETRY_S = 5.0
"""How long Redis is left alone after it failed to answer, seconds."""

T = TypeVar("T")


class RedisGuard:
    """A Redis client whose failures are fallbacks (see the module)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.failures = 0
        """Calls that failed so far (Redis down or refusing)."""
        self._down_until = 0.0
        self._lock = threading.Lock()

    def up(self) -> bool:
        """Whether Redis is to be asked (not set aside after a failure)."""
        return time.monotonic() >= self._down_until

    def call(self, fn: Callable[[redis.Redis], T], fallback: T, what: str = "") -> T:
        """``fn(client)``, or ``fallback`` when Redis is set aside or the call fails."""
        if not self.up():
            return fallback
        import redis

        try:
            return fn(self.client)
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self.down(exc, what)
        except redis.RedisError as exc:  # answered, but refused (e.g. out of memory)
            self.failures += 1
            log.warning("Redis refused %s: %s", what or "a command", exc)
        return fallback

    def down(self, exc: BaseException, what: str = "") -> None:
        """Set Redis aside for :data:`RETRY_S` (a warning when it was thought up)."""
        with self._lock:
            was_up = self.up()
            self._down_until = time.monotonic() + RETRY_S
            self.failures += 1
        if was_up:
            log.warning("Redis at %s does not answer (%s%s): results are computed in this "
                        "process without sharing, rate limits counted in this process only; "
                        "trying again in %g s", self.where(), type(exc).__name__,
                        f" during {what}" if what else "", RETRY_S)

    def where(self) -> str:
        """The server's host and port (never a password)."""
        kwargs: dict[str, Any] = self.client.connection_pool.connection_kwargs
        if "path" in kwargs:
            return str(kwargs["path"])
        return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
