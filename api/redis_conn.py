"""The Redis connection that several instances of the service share (``HOTSPOT_REDIS_URL``).

None when the setting is unset: every shared piece (result cache, rate limits, locks, jobs)
then keeps its state in the process, as a single instance needs. Only :mod:`api` talks to
Redis; every key starts with ``HOTSPOT_REDIS_PREFIX``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

    from api.settings import Settings

CONNECT_TIMEOUT_S = 2.0
"""Longest a connection attempt waits, seconds (a dead Redis answers 503 quickly)."""
SOCKET_TIMEOUT_S = 5.0
"""Longest one command waits for its answer, seconds."""


def connect(settings: Settings) -> redis.Redis | None:
    """A client for ``settings.redis_url`` (connections made on first use, from a pool), or
    None when no Redis is configured. Answers are bytes (``decode_responses`` off)."""
    if not settings.redis_url:
        return None
    import redis

    return redis.Redis.from_url(settings.redis_url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                socket_timeout=SOCKET_TIMEOUT_S, health_check_interval=30)


def key(settings: Settings, *parts: str) -> str:
    """A Redis key under the deployment's prefix: ``prefix + ":".join(parts)``."""
    return settings.redis_prefix + ":".join(parts)
