"""Operational metrics in Prometheus' text format, served at ``/metrics`` to admins (issue 18,
scope 5: the part a force's monitoring reads first).

What is counted, per service process (an instance's own figures; several instances are scraped
one by one):

- ``hotspot_requests_total{method, route, status}``: every HTTP request, by the route's
  template (``/v1/hotspots/{hotspot_id}``, never a path with ids or data in it; a path that
  matched no route as ``/(unmatched)``, or by its first segment where one of the app's own
  mounts starts with it, as the request log names it: :func:`api.logs.unmatched`), so the
  label set stays small whatever clients ask for;
- ``hotspot_request_duration_seconds{method, route}``: the time to answer, as a histogram;
- ``hotspot_cache_*``: the result cache's hits, misses, evictions, computations, entries and
  bytes, read from the cache when scraped; with ``HOTSPOT_REDIS_URL`` also the shared cache's
  ``remote_hits``, ``remote_stored``, ``remote_not_kept``, ``rejected``, ``waited``,
  ``took_over`` and ``redis_failures``;
- ``hotspot_analysis_duration_seconds{kind, method, outcome}``: each analysis this instance
  computed (a cached answer computes nothing), by kind (``hotspots``, ``density``, ``bands``,
  ``near-repeat``, ``asb-persistent``, ``cross-border``), hotspot method (``dbscan``, ``kde``,
  ...; ``-`` for kinds without one) and outcome (``ok``, ``cancelled``: stopped once nobody
  waited, ``failed``), as a histogram (:func:`api.services.cached.within` times them); the
  jobs the process runs itself (no Redis) too, as ``job-backtest``, ``job-report``,
  ``job-report_pdf``, ``job-cross_border`` (``ok`` or ``failed``); jobs on RQ are timed so by
  the ``hotspot worker`` process that runs them, which serves them on a port of its own
  (``--metrics-port``) and, with ``PROMETHEUS_MULTIPROC_DIR`` shared, in the folder the
  service's scrape adds up;
- ``hotspot_jobs_queued`` and ``hotspot_jobs_running``: the jobs waiting and running now (the
  process's own, or the whole queue's in Redis, read when scraped), and with Redis
  ``hotspot_job_workers``: the ``hotspot worker`` processes serving the queue (0 with jobs
  waiting: nothing will run them);
- ``hotspot_ingest_rows_total{kind, format, outcome}``: rows of the files loaded through
  ``POST /v1/incidents`` by what they held (``incidents``, ``neighbour``, ``outcomes``,
  ``stop-search``), the format the reader named (``police.uk``, ``force-export``,
  ``geojson``...) and what became of them (``accepted``, ``duplicate``, ``rejected``). Loads by
  the command line (``hotspot ingest``) run in their own process and are not counted here.

Nothing here names a key, a caller's address or a query string. The registry is the app's own
(:class:`prometheus_client.CollectorRegistry`), so two apps in one process never mix figures.

**Several processes on one port** (``hotspot serve --workers N``): a scrape reaches one of them.
With ``PROMETHEUS_MULTIPROC_DIR`` naming an empty folder when the service starts (its worker
processes inherit it), each process keeps its counts in files there and every scrape answers
with the requests, analyses and ingests of all of them added up
(:class:`prometheus_client.multiprocess.MultiProcessCollector`); the cache's figures stay those
of the process that answered.

**A port of its own** (``HOTSPOT_METRICS_PORT``): the same text at ``/metrics`` on
``127.0.0.1:PORT``, without a key, for a scraper or agent on the same machine
(:class:`MetricsPort`, started and stopped with the app). Of several processes sharing the
setting the first to start binds the port; with ``PROMETHEUS_MULTIPROC_DIR`` its answer counts
them all.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

MEDIA_TYPE = CONTENT_TYPE_LATEST
"""The text exposition format's media type."""
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""The folder where the processes of one service keep their counts (prometheus-client's own
setting; read when prometheus-client is first imported, so set before the service starts)."""
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Latency buckets, seconds: cached answers land in the first few, analyses in the last."""
ANALYSIS_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Analysis time buckets, seconds (1.5 s: the issue's target for a force's million incidents)."""
_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
"""A label value taken from the request's data (a method, a format): anything else is
``other``, so no value a caller chose can grow the label set."""
INGEST_OUTCOMES = {"accepted": ("accepted",),
                   "duplicate": ("duplicates", "duplicates_of_force", "repeated"),
                   "rejected": ("rejected",)}
"""Each ingest outcome and the counts of an ingest report that make it up (the reports of
incidents, neighbours' incidents, outcomes and stop and search files name them differently)."""


def check_multiprocess_dir() -> None:
    """Refuse to start when ``PROMETHEUS_MULTIPROC_DIR`` is set but is not a folder this
    process can write to: prometheus-client would then fail at every request it counts (a
    traceback in the log each time) and ``/metrics`` with a 500.

    Raises
    ------
    InvalidInput
        Naming the setting and the folder, and what to do.
    """
    from api.service_errors import InvalidInput

    folder = os.environ.get(MULTIPROCESS_ENV)
    if folder is None:
        return
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"{MULTIPROCESS_ENV} names {folder!r}, which is not a folder this "
                           "service can write to: create it (empty) before the service starts, "
                           "or unset it", MULTIPROCESS_ENV)


def label(value: object) -> str:
    """``value`` as a metric label: a short lower-case word, else ``other`` (None: ``-``)."""
    if value is None:
        return "-"
    text = str(value).lower()
    return text if _LABEL.match(text) else "other"


class _CacheCollector(Collector):
    """The result cache's counters, read when scraped."""

    def __init__(self, stats: Callable[[], dict[str, int | None]]) -> None:
        self._stats = stats

    def describe(self) -> Iterator[Metric]:
        return iter(())  # not a collect() at registration

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
        if "replayed" in s:
            yield CounterMetricFamily(
                "hotspot_cache_replayed", "Cached answers the gate sent again without the "
                "router (api.replay; counted in the hits too)", value=float(s["replayed"] or 0))
        for name, what in _SHARED:  # with HOTSPOT_REDIS_URL only: the cache shared through Redis
            if name in s:
                yield CounterMetricFamily(f"hotspot_cache_{name}", what,
                                          value=float(s.get(name) or 0))


_SHARED = (
    ("remote_hits", "Answers this process read from the cache shared through Redis"),
    ("remote_stored", "Results this process stored in the shared cache"),
    ("remote_not_kept", "Results too large for the shared cache, kept in this process only"),
    ("rejected", "Shared-cache entries refused (bad signature or unreadable)"),
    ("waited", "Requests that waited for another instance's computation of the same key"),
    ("took_over", "Computations taken over from an instance whose lock expired"),
    ("redis_failures", "Times Redis did not answer (the process went on without it)"),
)
"""The shared cache's counters (:class:`api.shared.cache.SharedResultCache.stats`)."""


class _JobsCollector(Collector):
    """The jobs waiting and running now (and the workers serving their queue), read when
    scraped; nothing when they cannot be read."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def describe(self) -> Iterator[Metric]:
        return iter(())  # not a collect() at registration: that would read Redis again

    def collect(self) -> Iterator[Metric]:
        try:
            c = self._counts()
        except Exception:  # a scrape never fails on a count
            log.exception("job counts failed")
            return
        for name, what in (("queued", "Jobs waiting for a worker"),
                           ("running", "Jobs running now"),
                           ("workers", "Workers serving the jobs' queue (hotspot worker)")):
            if name in c:
                metric = "hotspot_job_workers" if name == "workers" else f"hotspot_jobs_{name}"
                yield GaugeMetricFamily(metric, what, value=float(c[name]))


class Metrics:
    """One app's metrics (see the module): :meth:`observe` each request, :meth:`text` for a
    scrape. ``cache_stats`` and ``job_counts`` (when given) are read at each scrape."""

    def __init__(self, cache_stats: Callable[[], dict[str, int | None]] | None = None,
                 job_counts: Callable[[], dict[str, int]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("hotspot_requests", "HTTP requests by method, route template "
                                "and status", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("hotspot_request_duration_seconds", "Time to answer an HTTP "
                                 "request, by method and route template, seconds",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.analyses = Histogram("hotspot_analysis_duration_seconds", "Time to compute an "
                                  "analysis (cached answers compute none), by kind, hotspot "
                                  "method and outcome, seconds", ["kind", "method", "outcome"],
                                  buckets=ANALYSIS_BUCKETS, registry=self.registry)
        self.ingest_rows = Counter("hotspot_ingest_rows", "Rows of files loaded through the API, "
                                   "by what the file held, its format and what became of them",
                                   ["kind", "format", "outcome"], registry=self.registry)
        self._read: list[Collector] = []
        """What is read from the process when scraped (its cache, its jobs): never added up
        over processes."""
        if cache_stats is not None:
            self._read.append(_CacheCollector(cache_stats))
        if job_counts is not None:
            self._read.append(_JobsCollector(job_counts))
        for collector in self._read:
            self.registry.register(collector)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request (``route``: its template) and its time in seconds."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(max(seconds, 0.0))

    def analysed(self, kind: str, method: str | None, outcome: str, seconds: float) -> None:
        """Count one analysis computed: its kind, hotspot method (None: the kind has none),
        outcome (``ok``, ``cancelled``, ``failed``) and time in seconds."""
        self.analyses.labels(label(kind), label(method), outcome).observe(max(seconds, 0.0))

    def ingested(self, report: Mapping[str, Any], *, neighbour: bool = False) -> None:
        """Count the rows of one ingest report (``POST /v1/incidents``'s answer) by outcome."""
        kind = "neighbour" if neighbour else label(report.get("kind") or "incidents")
        fmt = label(report.get("format"))
        counts = report.get("counts") or {}
        for outcome, names in INGEST_OUTCOMES.items():
            rows = sum(int(counts.get(n) or 0) for n in names)
            child = self.ingest_rows.labels(kind, fmt, outcome)
            if rows:
                child.inc(rows)

    def text(self) -> bytes:
        """Every metric in Prometheus' text exposition format (with ``PROMETHEUS_MULTIPROC_DIR``
        set, the counts of every process of the service that write there, added up)."""
        folder = os.environ.get(MULTIPROCESS_ENV)
        if not folder:
            return bytes(generate_latest(self.registry))
        from prometheus_client.multiprocess import MultiProcessCollector

        everyone = CollectorRegistry(auto_describe=True)
        MultiProcessCollector(everyone, path=folder)
        for collector in self._read:
            everyone.register(collector)
        return bytes(generate_latest(everyone))


def ingested(app: Any, report: Mapping[str, Any], *, neighbour: bool = False) -> None:
    """Count an ingest report's rows in ``app``'s metrics (:meth:`Metrics.ingested`), if it
    has any."""
    counted = of(app)
    if counted is not None:
        counted.ingested(report, neighbour=neighbour)


def of(app: Any) -> Metrics | None:
    """The metrics of a Starlette app (``app.state.metrics``), or None."""
    state = getattr(app, "state", None)
    found = getattr(state, "metrics", None)
    return found if isinstance(found, Metrics) else None


class MetricsPort:
    """``GET /metrics`` without a key on ``127.0.0.1:port`` (nothing else: 404), answered in a
    thread of its own from ``metrics``; only the loopback interface, so only the machine's own
    scraper or agent reads it."""

    HOST = "127.0.0.1"

    def __init__(self, metrics: Metrics, port: int) -> None:
        self.metrics = metrics
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> bool:
        """Listen; False (and a warning) when the port is taken (by another process of the
        service, which then answers for it)."""
        metrics = self.metrics

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404)
                    return
                body = metrics.text()
                self.send_response(200)
                self.send_header("Content-Type", MEDIA_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # no access log: the scraper's address is not the service's to keep

        try:
            server = ThreadingHTTPServer((self.HOST, self.port), Handler)
        except OSError as exc:
            log.warning("metrics port %d not opened (%s): another process may serve it",
                        self.port, exc.strerror or exc)
            return False
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name=f"metrics-{self.port}",
                         daemon=True).start()
        return True

    def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def start_port(app: Any) -> None:
    """Open ``HOTSPOT_METRICS_PORT`` for ``app`` (when set): at the app's start."""
    port = getattr(app.state.settings, "metrics_port", None)
    counted = of(app)
    if port and counted is not None:
        served = MetricsPort(counted, int(port))
        if served.start():
            app.state.metrics_port = served


def stop_port(app: Any) -> None:
    """Close the metrics port :func:`start_port` opened, if any: at the app's stop."""
    served = getattr(app.state, "metrics_port", None)
    if isinstance(served, MetricsPort):
        served.close()
        app.state.metrics_port = None
