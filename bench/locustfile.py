"""Locust users for bench/load.py: each asks for cached hotspots once a second with its own key.

Only ever run against 127.0.0.1 (bench/load.py starts the service, or a balancer in front of
two, and passes ``--host``). Keys come one per user from the file named by
``HOTSPOT_LOAD_KEYS`` (one per line). With ``HOTSPOT_LOAD_LOG`` set, every request is also
written to that file: when it starts, ``start``, the time (seconds since the epoch) and its
number; when it ends, its start (seconds since the epoch), its response time (ms), the HTTP
status (0: no answer), the instance that answered (the balancer's ``X-Upstream`` header, ``-``
without one), 1 for success or 0 for a failure, and its number.
A request still without an answer when locust stops has a start line only.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, events, task

_IDS = itertools.count()
_KEYS = itertools.cycle(Path(os.environ["HOTSPOT_LOAD_KEYS"]).read_text().split())
QUERIES = ("/v1/hotspots?priority=rural", "/v1/hotspots?priority=theft_burglary_robbery",
           "/v1/hotspots?method=kde&priority=asb", "/v1/hotspots")


class Planner(FastHttpUser):
    """A force system or a planner's page polling hotspots."""

    wait_time = between(0.5, 1.5)  # about once a second, not all at the same instant

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {next(_KEYS)}"}
        self.queries = itertools.cycle(QUERIES)

    @task
    def hotspots(self) -> None:
        path = next(self.queries)
        rid = next(_IDS)
        if _log is not None:
            _log.write(f"start {time.time():.3f} {rid}\n")
        with self.client.get(path, name=path, headers=self.auth, catch_response=True,
                             context={"rid": rid}) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")


_LOG_PATH = os.environ.get("HOTSPOT_LOAD_LOG")
_log = open(_LOG_PATH, "a", encoding="utf-8", buffering=1 << 16) if _LOG_PATH else None  # noqa: SIM115
if _log is not None:

    @events.request.add_listener
    def _record(start_time: float, response_time: float, exception: BaseException | None,
                response: Any = None, context: dict[str, Any] | None = None,
                **_kw: Any) -> None:
        assert _log is not None
        status = int(getattr(response, "status_code", 0) or 0)
        headers = getattr(response, "headers", None)
        upstream = (headers.get("X-Upstream") if headers else None) or "-"
        _log.write(f"{start_time:.3f} {response_time:.1f} {status} {upstream} "
                   f"{0 if exception else 1} {(context or {}).get('rid', -1)}\n")

    @events.quitting.add_listener
    def _close(**_kw: Any) -> None:
        assert _log is not None
        _log.close()
