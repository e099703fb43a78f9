"""Locust users for bench/load.py: each asks for cached hotspots once a second with its own key.

Only ever run against 127.0.0.1 (bench/load.py starts the service and passes ``--host``).
Keys come one per user from the file named by ``HOTSPOT_LOAD_KEYS`` (one per line).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from locust import FastHttpUser, between, task

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
        with self.client.get(path, name=path, headers=self.auth, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
