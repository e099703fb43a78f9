"""Cached answers replayed by the gate: a request for an answer the result cache holds, asked
before in the same words, is answered by :class:`api.gate.Gate` without FastAPI's router.

Why: a cached ``GET /v1/hotspots`` is what a planner's page and a force system poll, and what
the two-instance load test asks 200 times a second. On the slower machines of this project it
cost the service 4.8 ms of CPU, of which the router, the validation of the 33 query parameters
(FastAPI's dependency solving, a Python loop over every declared parameter whether given or
not), the route itself and a second hop to a worker thread (for the data version) were about
two fifths (measured with ``py-spy``; figures in ``docs/benchmarks.md``). ``GET /v1/density``,
the page's overlay, is replayed the same way (its PNG, contour bands and description).

How:

1. The route, having answered 200 from a cached result, leaves a :class:`Replay` (:func:`remember`)
   under the request's :func:`replay_key`: every part of the request its answer depends on (the
   path, the query string as sent, ``Accept`` and ``Accept-Encoding``), for the caller's role.
   The replay holds the answer's status and headers, the data version and cache key of the
   result, and where in the result its body lives (:attr:`Replay.body`); never the body itself
   (but the density surface's description, a few hundred bytes), so the result cache's byte
   budget still counts everything.
2. The gate, for a request whose key has a replay, reads the data version in the same
   worker-thread call as its checks of the caller (key, roles, rate limit), after them. If the
   caller's role has a replay made on that data version and the cache still holds its result
   here, the gate sends the replay's headers with the result's body (its length counted anew),
   counts the cache hit and tells the warmer the version it read, as the route does
   (:func:`replayed`). Anything else (another version, the result evicted, a body not kept)
   goes the usual way, through the router.

What the gate sends is what the route would send: the same status, headers in the same order
and the same bytes (tested side by side). The middlewares outside the gate (request log,
security headers, compression, CORS) see it as they see the route's answer. Never replayed: a
request with ``If-None-Match`` or ``Range``, a header the key holds given twice or over
:data:`MAX_HEADER_BYTES`, a query string over :data:`MAX_QUERY_BYTES`, anything but GET, and
whatever a route does not :func:`remember` (partners' published products, GeoPackages,
errors, the ``auto`` method).
A route that comes to read another part of the request must add it to :func:`replay_key`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope, Send

REPLAY_ENTRIES = 1024
"""The replays a process keeps (the least recently used go first): headers only, a few hundred
bytes each."""
MAX_QUERY_BYTES = 2048
"""A longer query string is never replayed (nor kept as a key)."""
MAX_HEADER_BYTES = 256
"""Nor is a request whose ``Accept`` or ``Accept-Encoding`` is longer (a browser's are under
100 bytes): a replay's key stays small."""
_KEYED = {b"accept": 0, b"accept-encoding": 1}
_NEVER = frozenset({b"if-none-match", b"range"})

ReplayKey = tuple[str, bytes, bytes, bytes]
"""(path, query string as sent, ``Accept``, ``Accept-Encoding``)."""


@dataclass(frozen=True)
class Replay:
    """An answer the gate may send again (see the module notes)."""

    version: str
    """The data version the answer was made on."""
    cache_key: Hashable
    """The key of its result in the app's result cache."""
    body: Callable[[Any], bytes | None]
    """The answer's body from its result (None, or raising ``KeyError`` or
    ``AttributeError``, when the result does not hold it: the request then goes the usual
    way)."""
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    """As the route sent them; ``content-length`` counted anew from the body."""


def replay_key(scope: Scope) -> ReplayKey | None:
    """The parts of a request its replayable answer depends on, or None if it may not be
    replayed (see the module notes)."""
    if scope.get("method") != "GET":
        return None
    query = scope.get("query_string", b"")
    if len(query) > MAX_QUERY_BYTES:
        return None
    keyed: list[bytes | None] = [None, None]
    for name, value in scope.get("headers", ()):
        if name in _NEVER:
            return None
        slot = _KEYED.get(name)
        if slot is not None:
            if keyed[slot] is not None or len(value) > MAX_HEADER_BYTES:
                return None
            keyed[slot] = value
    return scope["path"], query, keyed[0] or b"", keyed[1] or b""


class Replays:
    """The replays of one process, by :func:`replay_key` and role; the least recently used go
    past :data:`REPLAY_ENTRIES`. Used from the event loop only (the route and the gate)."""

    def __init__(self, entries: int = REPLAY_ENTRIES) -> None:
        self.entries = entries
        self._items: OrderedDict[ReplayKey, dict[str, Replay]] = OrderedDict()
        self.replayed = 0
        """Answers sent from a replay."""

    def __len__(self) -> int:
        return len(self._items)

    def candidates(self, scope: Scope) -> dict[str, Replay] | None:
        """The replays (by role) of a request's key, if any."""
        key = replay_key(scope)
        if key is None:
            return None
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def remember(self, scope: Scope, role: str, replay: Replay) -> None:
        """Keep ``replay`` for requests like the one of ``scope`` from callers of ``role``."""
        key = replay_key(scope)
        if key is None or self.entries <= 0:
            return
        self._items.setdefault(key, {})[role] = replay
        self._items.move_to_end(key)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)


def remember(request: Request, response: Response, *, version: str, cache_key: Hashable,
             body: Callable[[Any], bytes | None]) -> Response:
    """Let the gate replay ``response`` (a 200 made from the cached result under
    ``cache_key`` on data ``version``) to the same request from a caller of the same role;
    returns ``response``. ``body`` takes the result back to the response's body."""
    replays: Replays | None = getattr(request.app.state, "replays", None)
    who = getattr(request.state, "principal", None)
    if replays is None or who is None or response.status_code != 200:
        return response
    replays.remember(request.scope, who.role, Replay(
        version=version, cache_key=cache_key, body=body, status=response.status_code,
        headers=tuple(response.raw_headers)))
    return response


async def replayed(app: Any, candidates: dict[str, Replay], role: str | None, version: str,
                   send: Send) -> bool:
    """Send the replay of ``candidates`` for ``role`` if it was made on ``version`` and the
    app's result cache still holds its result here and the body in it: True if sent. Tells
    the app's warmer the version read either way, as the route does."""
    warming = getattr(app.state, "warming", None)
    if warming is not None:
        warming.noticed(app, version)
    replay = candidates.get(role) if role is not None else None
    if replay is None or replay.version != version:
        return False
    cache = app.state.cache
    found, result = cache.peek(replay.cache_key)
    if not found:
        return False
    try:
        body = replay.body(result)
    except (KeyError, AttributeError):
        body = None
    if body is None:
        return False
    cache.count_hit(replay.cache_key)
    length = str(len(body)).encode("latin-1")
    await send({"type": "http.response.start", "status": replay.status,
                "headers": [(k, length if k == b"content-length" else v)
                            for k, v in replay.headers]})
    await send({"type": "http.response.body", "body": body})
    app.state.replays.replayed += 1
    return True
