"""The result cache several instances share: Redis behind each process's own cache, and one
computation per key across all of them.

**Two tiers.** Each process keeps its least-recently-used cache (:class:`api.cache.ResultCache`)
in front, so a repeated request costs a lookup in memory. On a miss there it reads Redis; a
result computed anywhere is written there, so another instance serves it without computing.

**Stored safely.** A value is pickled (only the service's own result objects are ever stored)
and signed: ``HMAC-SHA-256`` with a secret kept in the store (``secret:shared-cache``), over
the entry's key and bytes. An entry whose signature does not match (written by anyone without
the store's secret, or for another key) is never unpickled: it is dropped and counted in
``rejected``. Keys are ``<prefix>cache:<ns>:<data version>:<hash of the key>``; ``ns`` comes
from the same secret, so two stores sharing a Redis and a prefix never read each other's
entries.

**Bounded.** Every entry expires after ``ttl_s`` (Redis' ``maxmemory`` with the
``volatile-lru`` or ``allkeys-lru`` policy evicts earlier when memory is short); an entry
larger than :data:`api.cache.MAX_ENTRY_SHARE` of ``max_bytes`` (at most
:data:`MAX_SHARED_ENTRY`) is served but not shared (``remote_not_kept``).

**Once across instances.** The instance that starts a computation takes a lock in Redis
(``SET NX PX`` with a token of its own, renewed every third of :data:`LOCK_TTL_S` while it
computes, deleted by a script only if it still holds that token). An instance that finds the
lock taken waits for the entry (polling Redis, from :data:`POLL_S` up to :data:`POLL_MAX_S`)
and marks that it waits; if the lock goes with no entry (its holder died, failed, or the entry
was too large to share), a waiter takes the lock and computes (asking its own budget then).
Each instance keeps the in-process rules: one flight per key, a timeout gives 503
(:class:`api.cache.StillComputing`), a computation nobody waits for is stopped, unless an
instance elsewhere waits for it.

**Redis down.** Every Redis call goes through :class:`api.shared.guard.RedisGuard`: on failure
the request is answered from this process's cache or computed here, a warning is logged, and
Redis is asked again a few seconds later.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import threading
import uuid
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from fastapi.concurrency import run_in_threadpool

from api.cache import (
    MAX_ENTRY_SHARE,
    Fetched,
    ResultCache,
    _Flight,
    measured_size,
    version_of,
)
from api.shared.guard import RedisGuard
from api.version import version
from hotspot import AnalysisCancelled
from hotspot.cancel import ShouldStop

if TYPE_CHECKING:
    import redis

log = logging.getLogger("api.shared")

TTL_S = 24 * 3600.0
"""How long a shared entry lives in Redis, seconds (a new data version makes it unreachable
sooner: ingests through the API delete the old version's entries)."""
MAX_SHARED_ENTRY = 64 * 1024 * 1024
"""The largest entry written to Redis, bytes (with no byte budget set)."""
LOCK_TTL_S = 10.0
"""How long a computation's lock lives unless renewed, seconds (a dead holder's lock goes
after at most this)."""
POLL_S = 0.02
"""First wait between two looks at Redis while another instance computes, seconds."""
POLL_MAX_S = 0.25
"""Longest wait between two looks, seconds."""
WAITING_TTL_S = 3.0
"""How long a waiter's mark lasts unless renewed, seconds (a computation nobody waits for
here is stopped only when no instance has marked that it waits for it)."""
MAGIC = b"hs2"
"""The first bytes of a shared entry (format version): bumped whenever a class kept in the
cache changes its fields (hs2: a hotspot result's CSV is made when asked for), so that during
a rolling deploy an instance of one release refuses (and recomputes) what another pickled,
instead of reading an object its code does not know the shape of."""
_SIG = 32
_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


class SharedResultCache(ResultCache):
    """A :class:`ResultCache` with Redis behind it (see the module).

    Parameters
    ----------
    client
        The Redis client (:func:`api.redis_conn.connect`).
    prefix
        The deployment's key prefix (``HOTSPOT_REDIS_PREFIX``).
    secret
        Returns the secret entries are signed with (read from the store, once).

    Counters besides :class:`ResultCache`'s: ``remote_hits`` (entries read from Redis),
    ``remote_stored``, ``remote_not_kept``, ``rejected`` (entries with a bad signature),
    ``waited`` (computations another instance ran while this one waited), ``took_over``
    (computations this instance took over from a holder that went).
    """

    def __init__(self, size: int = 64, *, max_bytes: int | None = None, grace_s: float = 0.0,
                 client: redis.Redis, prefix: str, secret: Callable[[], str],
                 ttl_s: float = TTL_S, lock_ttl_s: float = LOCK_TTL_S) -> None:
        super().__init__(size, max_bytes=max_bytes, grace_s=grace_s)
        self.guard = RedisGuard(client)
        self.prefix = prefix
        self.ttl_ms = int(ttl_s * 1000)
        self.lock_ttl_ms = int(lock_ttl_s * 1000)
        self.instance = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._secret = secret
        self._key: bytes | None = None
        self._ns: str | None = None
        self._holding: dict[threading.Event, str] = {}
        """The stop event of each computation holding a lock here -> its entry's key."""
        self._versions: list[str] = []
        """Data versions seen, the newest last (a new one drops the others' local entries)."""
        self.remote_hits = 0
        self.remote_stored = 0
        self.remote_not_kept = 0
        self.rejected = 0
        self.waited = 0
        self.took_over = 0
        self._unlock = client.register_script(_UNLOCK)
        self._renew = client.register_script(_RENEW)

    # -- keys and entries ----------------------------------------------------------------------

    def namespace(self) -> str | None:
        """The store's namespace in Redis (from its secret; None while the store cannot be
        read). Reads the store once: call it from a thread."""
        if self._ns is None:
            try:
                secret = self._secret()
            except Exception:  # the store is down: no sharing, requests go on
                log.warning("the shared cache's secret could not be read from the store; "
                            "results are not shared until it can", exc_info=True)
                return None
            self._key = hashlib.sha256(b"hotspot shared cache\0" + secret.encode()).digest()
            # a release of its own: another release's pickled results may not fit this one's
            self._ns = hmac.new(self._key, b"namespace\0" + version().encode(),
                                hashlib.sha256).hexdigest()[:12]
        return self._ns

    def remote_key(self, key: Hashable) -> str | None:
        """The Redis key of a cache key, or None when it cannot be shared (a key part with no
        stable text form, or no namespace yet)."""
        if self._ns is None:
            return None
        try:
            text = _canonical(key)
        except TypeError:
            return None
        digest = hashlib.sha256(text.encode()).hexdigest()[:40]
        return f"{self.prefix}cache:{self._ns}:{version_of(key) or '-'}:{digest}"

    def _sign(self, rk: str, payload: bytes) -> bytes:
        assert self._key is not None
        mac = hmac.new(self._key, rk.encode(), hashlib.sha256)
        mac.update(payload)
        return mac.digest()

    def _encode(self, rk: str, value: Any) -> bytes:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return MAGIC + self._sign(rk, payload) + payload

    def _decode(self, rk: str, blob: bytes) -> tuple[bool, Any]:
        head, sig, payload = blob[:len(MAGIC)], blob[len(MAGIC):len(MAGIC) + _SIG], \
            blob[len(MAGIC) + _SIG:]
        if head != MAGIC or not hmac.compare_digest(sig, self._sign(rk, payload)):
            self.rejected += 1
            log.warning("a shared cache entry failed its signature check and was dropped "
                        "(written by something without the store's secret?): %s", rk)
            self.guard.call(lambda r: r.delete(rk), None, "dropping a bad entry")
            return False, None
        return True, pickle.loads(payload)  # noqa: S301 (signed with the store's secret)

    def fetch(self, key: Hashable) -> tuple[bool, Any]:
        """The shared entry of ``key`` (blocking: call it from a thread)."""
        if not self.guard.up() or self.namespace() is None:
            return False, None
        rk = self.remote_key(key)
        return (False, None) if rk is None else self._fetch(rk)

    def _fetch(self, rk: str) -> tuple[bool, Any]:
        blob = self.guard.call(lambda r: r.get(rk), None, "reading the cache")
        if blob is None:
            return False, None
        return self._decode(rk, bytes(blob))  # type: ignore[arg-type]

    def _limit(self) -> int:
        if self.max_bytes is None:
            return MAX_SHARED_ENTRY
        return min(MAX_SHARED_ENTRY, int(self.max_bytes * MAX_ENTRY_SHARE))

    def _store(self, rk: str, value: Any) -> None:
        """Write ``value`` to Redis (blocking), unless it is too large."""
        if self.size <= 0 or self.max_bytes == 0:
            return
        try:
            blob = self._encode(rk, value)
        except Exception:  # a value that cannot be pickled is served, not shared
            log.warning("a result could not be shared (not picklable): %s", rk, exc_info=True)
            self.remote_not_kept += 1
            return
        if len(blob) > self._limit():
            self.remote_not_kept += 1
            return
        if self.guard.call(lambda r: r.set(rk, blob, px=self.ttl_ms), None, "writing the cache"):
            self.remote_stored += 1

    # -- locks ---------------------------------------------------------------------------------

    def _lock_key(self, rk: str) -> str:
        return rk.replace(f"{self.prefix}cache:", f"{self.prefix}lock:", 1)

    def _waiting_key(self, rk: str) -> str:
        return rk.replace(f"{self.prefix}cache:", f"{self.prefix}waiting:", 1)

    def _try_lock(self, rk: str) -> str | None:
        """A token when this instance took the lock of ``rk``; None when another holds it.

        Raises
        ------
        _RedisDown
            Redis is down (compute here, without a lock).
        """
        token = f"{self.instance}:{uuid.uuid4().hex}"
        answer = self.guard.call(
            lambda r: bool(r.set(self._lock_key(rk), token, nx=True, px=self.lock_ttl_ms)),
            None, "taking a lock")
        if answer is None:
            raise _RedisDown()
        return token if answer else None

    def _release(self, rk: str, token: str) -> None:
        self.guard.call(lambda r: self._unlock(keys=[self._lock_key(rk)], args=[token]), None,
                        "releasing a lock")

    # -- the tiers -----------------------------------------------------------------------------

    def _put(self, key: Hashable, value: Any, nbytes: int | None = None) -> None:
        version = version_of(key)
        if version is not None and version not in self._versions:
            # a new data version: entries of the others cannot be asked for again
            self._versions = [*self._versions[-7:], version]
            if len(self._versions) > 1:
                self.forget_versions_except(version)
        super()._put(key, value, nbytes)

    async def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """As :meth:`ResultCache.get`, reading and writing Redis behind this process's cache
        (without a lock across instances: these are cheap)."""
        found, value = self._lookup(key)
        if found:
            return value
        found, value = await self._elsewhere(key)
        if found:
            return value

        def computed() -> Any:
            value = compute()
            rk = self.remote_key(key)
            if rk is not None:
                self._store(rk, value)
            return value

        return await super().get(key, computed)

    async def _elsewhere(self, key: Hashable) -> tuple[bool, Any]:
        if not self.guard.up():
            return False, None

        def fetched() -> tuple[bool, Any, int | None]:
            found, value = self.fetch(key)  # measured here too, not in the event loop
            return found, value, measured_size(value, key) if found and self._keeps() else None

        found, value, nbytes = await run_in_threadpool(fetched)
        if found:
            self.hits += 1
            self.remote_hits += 1
            self._put(key, value, nbytes)
        return found, value

    def _begin(self, key: Hashable, compute: Callable[[ShouldStop], Any],
               admit: Callable[[], Callable[[], None]] | None) -> _Flight:
        rk = self.remote_key(key)
        if rk is None:
            return super()._begin(key, compute, admit)
        try:
            token = self._try_lock(rk)
        except _RedisDown:
            return super()._begin(key, compute, admit)
        if token is None:  # another instance computes: wait for its entry
            return self._start(key, lambda stop: lambda: self._wait(rk, compute, stop, admit),
                               None)
        try:
            release = admit() if admit is not None else None
        except BaseException:
            self._release(rk, token)
            raise
        return self._start(key, lambda stop: lambda: self._hold(rk, token, compute, stop),
                           release)

    def _hold(self, rk: str, token: str, compute: Callable[[ShouldStop], Any],
              stop: threading.Event) -> Any:
        """Compute under the lock (in a thread): renew it meanwhile, share the result, then
        let go of the lock."""
        self._holding[stop] = rk
        done = threading.Event()
        renewer = threading.Thread(target=self._renewing, args=(rk, token, done), daemon=True,
                                   name="hotspot-lock-renewal")
        renewer.start()
        try:
            found, value = self._fetch(rk)  # finished elsewhere while this took the lock
            if found:
                return Fetched(value)
            value = compute(stop.is_set)
            self._store(rk, value)
            return value
        finally:
            done.set()
            self._holding.pop(stop, None)
            self._release(rk, token)

    def _renewing(self, rk: str, token: str, done: threading.Event) -> None:
        every = self.lock_ttl_ms / 3000.0
        while not done.wait(every):
            held = self.guard.call(
                lambda r: self._renew(keys=[self._lock_key(rk)], args=[token, self.lock_ttl_ms]),
                None, "renewing a lock")
            if held == 0:
                log.warning("a computation's lock in Redis was lost (expired or evicted): "
                            "another instance may compute the same result")
                return

    def _wait(self, rk: str, compute: Callable[[ShouldStop], Any], stop: threading.Event,
              admit: Callable[[], Callable[[], None]] | None) -> Any:
        """Wait for another instance's result (in a thread); take over when its lock goes with
        no entry; compute here when Redis goes."""
        delay = POLL_S
        waiting = self._waiting_key(rk)
        while True:
            if stop.is_set():
                raise AnalysisCancelled("nobody waits for this result any more")
            self.guard.call(lambda r: r.set(waiting, self.instance,
                                            px=int(WAITING_TTL_S * 1000)), None, "waiting")
            found, value = self._fetch(rk)
            if found:
                self.waited += 1
                return Fetched(value)
            try:
                token = self._try_lock(rk)
            except _RedisDown:
                release = admit() if admit is not None else None
                try:
                    return compute(stop.is_set)
                finally:
                    if release is not None:
                        release()
            if token is not None:
                self.took_over += 1
                try:
                    release = admit() if admit is not None else None
                except BaseException:
                    self._release(rk, token)
                    raise
                try:
                    return self._hold(rk, token, compute, stop)
                finally:
                    if release is not None:
                        release()
            stop.wait(delay)
            delay = min(delay * 1.5, POLL_MAX_S)

    def _abandon(self, flight: _Flight) -> None:
        rk = self._holding.get(flight.stop)
        if (rk is not None and flight.waiters == 0 and not flight.task.done()
                and self.guard.call(lambda r: bool(r.exists(self._waiting_key(rk))), False,
                                    "looking for waiters")):
            # another instance waits for this computation: it goes on; look again later
            loop = flight.task.get_loop()
            flight.timer = loop.call_later(WAITING_TTL_S, self._abandon, flight)
            return
        super()._abandon(flight)

    # -- invalidation --------------------------------------------------------------------------

    def invalidate(self, version: str) -> int:
        """Delete the shared entries of every data version but ``version`` (blocking), and
        this process's; returns the entries deleted in Redis."""
        self.forget_versions_except(version)
        if self.namespace() is None:
            return 0
        pattern = f"{self.prefix}cache:{self._ns}:*"
        keep = (f"{self.prefix}cache:{self._ns}:{version}:", f"{self.prefix}cache:{self._ns}:-:")

        def sweep(r: redis.Redis) -> int:
            gone = 0
            batch: list[str] = []
            for name in r.scan_iter(match=pattern, count=1000):
                text = name.decode() if isinstance(name, bytes) else str(name)
                if not text.startswith(keep):
                    batch.append(text)
                if len(batch) >= 500:
                    gone += int(r.unlink(*batch))
                    batch = []
            if batch:
                gone += int(r.unlink(*batch))
            return gone

        return self.guard.call(sweep, 0, "deleting old entries")

    def claim(self, name: str, ttl_s: float) -> bool:
        """Whether this instance is the first to claim ``name`` for ``ttl_s`` seconds
        (blocking; True when Redis does not answer: each instance then does it itself)."""
        if self.namespace() is None:
            return True
        key = f"{self.prefix}claim:{self._ns}:{name}"
        return self.guard.call(
            lambda r: bool(r.set(key, self.instance, nx=True, px=int(ttl_s * 1000))), True,
            "a claim")

    def stats(self) -> dict[str, int | None]:
        return {**super().stats(), "remote_hits": self.remote_hits,
                "remote_stored": self.remote_stored, "remote_not_kept": self.remote_not_kept,
                "rejected": self.rejected, "waited": self.waited, "took_over": self.took_over,
                "redis_failures": self.guard.failures}


class _RedisDown(Exception):
    """Redis did not answer: compute here without a lock."""


def _canonical(value: Any) -> str:
    """A text form of a cache key that is the same in every process (``repr`` of a set
    follows the process's hash seed; this sorts). Raises TypeError for other objects."""
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(_canonical(v) for v in value) + ")"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(f"{_canonical(k)}:{_canonical(v)}"
                                     for k, v in value.items())) + "}"
    raise TypeError(f"no stable text form for {type(value).__name__}")

