"""Token buckets in Redis: the rate limits and the analysis budget's rates that every instance
counts together.

One Lua script takes a token atomically (no two instances can both take the last one), with
Redis' own clock (``TIME``), so instances whose clocks differ still count the same. A bucket
is a hash ``<prefix>rate:<name>:<hash of the identity>`` (never a key id or an address in
clear) that expires once it would be full again. When Redis does not answer,
:meth:`SharedBuckets.take` says so (None) and the caller counts in its own process: the limits
fail open to each instance's own count, with a warning logged (:mod:`api.shared.guard`).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from api.shared.guard import RedisGuard

if TYPE_CHECKING:
    import redis

TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local ttl = math.ceil(burst / rate * 1000) + 1000
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at',
           string.format('%.6f', now))
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, string.format('%.3f', wait)}
"""
"""Take one token from bucket KEYS[1] (ARGV: tokens a second, burst): {1, '0'} when taken,
{0, seconds to wait} when empty."""


class SharedBuckets:
    """Token buckets in Redis, by name and identity (see the module)."""

    def __init__(self, client: redis.Redis, prefix: str, guard: RedisGuard | None = None) -> None:
        self.guard = guard or RedisGuard(client)
        self.prefix = prefix
        self._take = client.register_script(TAKE)

    def key(self, name: str, identity: str) -> str:
        """The Redis key of a bucket."""
        digest = hashlib.sha256(identity.encode()).hexdigest()[:24]
        return f"{self.prefix}rate:{name}:{digest}"

    def take(self, name: str, identity: str, rate_per_s: float, burst: float) -> float | None:
        """Take a token from the bucket ``name`` of ``identity``: 0.0 when taken, else the
        seconds to wait; None when Redis did not answer (count locally)."""
        bucket = self.key(name, identity)
        answer = self.guard.call(lambda r: self._take(keys=[bucket], args=[rate_per_s, burst]),
                                 None, "a rate limit")
        if answer is None:
            return None
        allowed, wait = answer
        return 0.0 if int(allowed) == 1 else max(float(wait), 0.001)
