"""After an ingest: forget the old data version's results and warm the default views.

Started by an ingest through the API, and by the first request that meets a data version the
instance had not seen (:meth:`Warming.noticed`: the data changed by the command line or
through another instance).

An ingest changes the store's data version, which is part of every cache key, so no instance
serves the old results once the ingest has committed (each reads the version from the store on
every request). What is left to do, in the background on the instance that took the ingest:

- **invalidate**: delete the old versions' entries in Redis (:meth:`SharedResultCache.invalidate`;
  other instances drop their own in-memory entries of an old version as soon as they keep an
  entry of the new one), or this process's entries without Redis;
- **warm** (``HOTSPOT_WARM_AFTER_INGEST``; by default when Redis is configured): compute the
  planner's map of the whole plan and of each priority for the current
  period (the page at ``/`` and ``/?priority=<p>``, the default six months up to the latest
  complete month, with the default method), as a planner opening the service would ask for
  them: the hotspots, the density surface and the page are then cached (in Redis, for every
  instance), and the GeoJSON of the same selection is too. With several instances only one
  warms a version (a claim in Redis); the others find the results in Redis.

The views are asked for through the app's own routes (without the middleware: the caller is
the service itself, as an analyst), so they are cached under exactly the keys a request makes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from starlette.types import Message

from api.access import Principal
from api.gate import GATE_PASSED

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.settings import Settings

log = logging.getLogger("api.warm")

WARM_ROLE = "analyst"
"""The role the warming requests run as (its analysis budget applies)."""
CLAIM_S = 600.0
"""How long one instance's claim to warm a data version stands, seconds (another may warm it
after, finding what is cached)."""


class Warming:
    """The app's background warming tasks and what they did (``runs``, ``warmed`` views,
    ``failed`` views, ``skipped`` runs another instance claimed)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self.runs = 0
        self.warmed = 0
        self.failed = 0
        self.skipped = 0
        self.version: str | None = None
        """The data version warmed last."""
        self.seen: str | None = None
        """The data version this instance saw last (:meth:`noticed`)."""
        self.noticed_changes = 0
        """Runs started because a request met a new data version."""

    def noticed(self, app: FastAPI, version: str) -> None:
        """A request read ``version`` from the store: when it is not the version this instance
        saw last, the data changed without an ingest through this instance (``hotspot
        ingest`` or ``hotspot layers`` on the command line, another instance's ingest), so
        forget the old results and warm the new version's default views here, as after an
        ingest (with Redis one instance warms a version: the others find it claimed). The
        first version seen after a start only sets it. Call from the app's event loop."""
        if self.seen is None:
            self.seen = version
        elif version != self.seen:
            self.seen = version
            self.noticed_changes += 1
            self.start(app)

    def start(self, app: FastAPI) -> None:
        """Invalidate and warm in the background (call from the app's event loop)."""
        task = asyncio.get_running_loop().create_task(self.run(app))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Return when every warming started so far has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop the warming going on (the service stops)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def run(self, app: FastAPI) -> None:
        """Forget the old versions, then warm the default views of the current one."""
        try:
            await self._run(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # a background task: its failure is logged, nothing else fails
            log.exception("warming the default views after an ingest failed")

    async def _run(self, app: FastAPI) -> None:
        store = app.state.store
        if store is None:
            return
        version = await run_in_threadpool(store.data_version)
        self.seen = version
        cache = app.state.cache
        invalidate = getattr(cache, "invalidate", None)
        if invalidate is not None:  # shared: Redis and this process
            gone = await run_in_threadpool(invalidate, version)
            log.info("data version %s: %d shared results of older versions deleted", version,
                     gone)
        else:
            cache.forget_versions_except(version)
        if not warms(app.state.settings):
            return
        claim = getattr(cache, "claim", None)
        if claim is not None and not await run_in_threadpool(claim, f"warm:{version}", CLAIM_S):
            self.skipped += 1
            return  # another instance warms this version
        self.runs += 1
        who = Principal(key_id=f"warm-{getattr(cache, 'instance', 'local')}", role=WARM_ROLE,
                        via="internal")
        for target in targets(app):
            if await run_in_threadpool(store.data_version) != version:
                return  # another ingest since: its own warming takes over
            status = await internal_get(app, target, who)
            if status == 200:
                self.warmed += 1
            else:
                self.failed += 1
                log.warning("warming %s answered %d", target, status)
        self.version = version
        log.info("data version %s: %d default views warmed", version, self.warmed)


def warms(settings: Settings) -> bool:
    """Whether an ingest warms the default views (``HOTSPOT_WARM_AFTER_INGEST``; unset: when
    Redis is configured)."""
    if settings.warm_after_ingest is None:
        return settings.redis_url is not None
    return settings.warm_after_ingest


def targets(app: FastAPI) -> list[str]:
    """The default views: the planner's map of the whole plan and of each priority, for the
    current period (the page's default)."""
    priorities = list(app.state.taxonomy.priorities)
    return ["/", *(f"/?{urlencode({'priority': p})}" for p in priorities)]


async def internal_get(app: FastAPI, target: str, who: Principal) -> int:
    """GET ``target`` (a path and query) through the app's routes as ``who``; returns the
    status (an error the routes raise is logged, and counts as 500)."""
    path, _, query = target.partition("?")
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": query.encode(),
        "headers": [(b"host", b"warm.internal"), (b"accept", b"text/html")],
        "client": None, "server": ("warm.internal", 80), "app": app,
        "state": {"principal": who, GATE_PASSED: True},
    }
    status = 0

    async def receive() -> Message:
        await asyncio.Event().wait()  # never disconnects
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    try:
        # the routes' own exit stacks (FastAPI's middleware makes them), without the gate
        await AsyncExitStackMiddleware(app.router)(scope, receive, send)
    except Exception:
        log.warning("warming %s failed", target, exc_info=True)
        return 500
    return status
