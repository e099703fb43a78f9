"""A request's computation through the app's result cache: run once, within the request
timeout and the caller's analysis budget, stopped when every client asking for it has gone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi import Request

from hotspot.cancel import ShouldStop


async def within(request: Request, key: tuple[Any, ...],
                 compute: Callable[[ShouldStop], Any]) -> Any:
    """``compute`` through the cache: run once (if the caller's analysis budget allows),
    waited for at most the request timeout, stopped when every request for it has gone."""
    app = request.app
    who = getattr(request.state, "principal", None)
    return await app.state.cache.within(
        key, compute, app.state.settings.request_timeout_s,
        admit=lambda: app.state.analysis_budget.admit(who),
        disconnected=lambda: client_gone(request))


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
