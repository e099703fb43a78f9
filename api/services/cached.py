"""A request's computation through the app's result cache: run once, within the request
timeout and the caller's analysis budget, stopped when every client asking for it has gone,
and timed for the metrics (``hotspot_analysis_duration_seconds``: :mod:`api.metrics`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request

from api import metrics
from hotspot import AnalysisCancelled
from hotspot.cancel import ShouldStop


async def within(request: Request, key: tuple[Any, ...],
                 compute: Callable[[ShouldStop], Any]) -> Any:
    """``compute`` through the cache: run once (if the caller's analysis budget allows),
    waited for at most the request timeout, stopped when every request for it has gone."""
    app = request.app
    who = getattr(request.state, "principal", None)
    return await app.state.cache.within(
        key, timed(app, key, compute), app.state.settings.request_timeout_s,
        admit=lambda: app.state.analysis_budget.admit(who),
        disconnected=lambda: client_gone(request))


FIXED_METHOD = {"density": "kde", "bands": "kde"}
"""Kinds of analysis whose method is fixed, whatever method the query names for its hotspots
(the density surface and its contour bands are KDE's)."""


def timed(app: Any, key: tuple[Any, ...],
          compute: Callable[[ShouldStop], Any]) -> Callable[[ShouldStop], Any]:
    """``compute``, its time counted in ``app``'s metrics when it runs (a cache hit runs
    nothing) by the key's kind (its first part: ``hotspots``, ``density``...) and hotspot method
    (:data:`FIXED_METHOD`, else the ``method`` a query's parameters in the key name, if any)
    and how it ended."""
    counted = metrics.of(app)
    if counted is None:
        return compute
    kind = str(key[0]) if key else "-"
    method = FIXED_METHOD.get(kind) or method_of(key)

    def run(should_stop: ShouldStop) -> Any:
        started = time.perf_counter()
        outcome = "failed"
        try:
            value = compute(should_stop)
            outcome = "ok"
            return value
        except AnalysisCancelled:
            outcome = "cancelled"
            raise
        finally:
            counted.analysed(kind, method, outcome, time.perf_counter() - started)

    return run


def method_of(key: tuple[Any, ...]) -> str | None:
    """The hotspot method a cache key names: the value of a ``("method", value)`` pair among
    the parameters of a query in the key (:meth:`api.services.hotspot_query.HotspotQuery.key`
    holds them sorted by name), or None."""
    for part in key:
        if isinstance(part, tuple):
            for item in part:
                if (isinstance(item, tuple) and len(item) == 2 and item[0] == "method"
                        and isinstance(item[1], str)):
                    return item[1]
    return None


async def client_gone(request: Request) -> None:
    """Return once the request's client has disconnected (never, if that cannot be told).

    The body has been read by then (these routes take none, or a parsed JSON body), so the
    next message the server sends the app is ``http.disconnect``.
    """
    for _ in range(3):
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
    await asyncio.Event().wait()  # a receive that keeps answering: no way to tell
