"""Operational metrics in Prometheus' text format, served at ``/metrics`` to admins (issue 18,
scope 5: the part a force's monitoring reads first).

What is counted, per service process (an instance's own figures; several instances are scraped
one by one):

- ``hotspot_requests_total{method, route, status}``: every HTTP request, by the route's
  template (``/v1/hotspots/{hotspot_id}``, never a path with ids or data in it; a path that
  matched no route by its first segment only, as the request log names it), so the label set
  stays small whatever clients ask for;
- ``hotspot_request_duration_seconds{method, route}``: the time to answer, as a histogram;
- ``hotspot_cache_*``: the result cache's hits, misses, evictions, computations, entries and
  bytes, read from the cache when scraped.

Nothing here names a key, a caller's address or a query string. The registry is the app's own
(:class:`prometheus_client.CollectorRegistry`), so two apps in one process never mix figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

MEDIA_TYPE = CONTENT_TYPE_LATEST
"""The text exposition format's media type."""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Latency buckets, seconds: cached answers land in the first few, analyses in the last."""


class _CacheCollector(Collector):
    """The result cache's counters, read when scraped."""

    def __init__(self, stats: Callable[[], dict[str, int | None]]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        for name, what in (("hits", "Answers served from the result cache"),
                           ("misses", "Answers the result cache had to compute or wait for"),
                           ("evictions", "Entries dropped to keep the cache within its size"),
                           ("computed", "Computations the cache ran")):
            yield CounterMetricFamily(f"hotspot_cache_{name}", what, value=float(s.get(name) or 0))
        yield GaugeMetricFamily("hotspot_cache_entries", "Entries in the result cache",
                                value=float(s.get("entries") or 0))
        yield GaugeMetricFamily("hotspot_cache_bytes", "Bytes the result cache holds",
                                value=float(s.get("bytes") or 0))
        yield GaugeMetricFamily("hotspot_cache_running", "Computations running now",
                                value=float(s.get("running") or 0))


class Metrics:
    """One app's metrics (see the module): :meth:`observe` each request, :meth:`text` for a
    scrape."""

    def __init__(self, cache_stats: Callable[[], dict[str, int | None]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("hotspot_requests", "HTTP requests by method, route template "
                                "and status", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("hotspot_request_duration_seconds", "Time to answer an HTTP "
                                 "request, by method and route template, seconds",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        if cache_stats is not None:
            self.registry.register(_CacheCollector(cache_stats))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (``route``: its template) and its time in seconds."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(max(seconds, 0.0))

    def text(self) -> bytes:
        """Every metric in Prometheus' text exposition format."""
        return bytes(generate_latest(self.registry))


def of(app: Any) -> Metrics | None:
    """The metrics of a Starlette app (``app.state.metrics``), or None."""
    state = getattr(app, "state", None)
    found = getattr(state, "metrics", None)
    return found if isinstance(found, Metrics) else None
