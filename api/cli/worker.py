"""``hotspot worker``: run the service's jobs (backtests, priority reports and their PDFs,
cross-border analyses) from the Redis queue the service puts them on (``HOTSPOT_REDIS_URL``,
queue ``<HOTSPOT_REDIS_PREFIX>jobs``), on the store the settings name.

The worker is RQ's :class:`~rq.SimpleWorker`: each job runs in the worker's own process, not
in a child forked per job. The store stays open (a PostGIS connection pool, or the embedded
file) and the heavy libraries (pandas, GeoPandas, shapely, the engines) are imported once, where
a forking worker would fork a process holding open database connections (unsafe to share with
a child) for every job, or reopen the store and pay the imports each time. A job that crashes
the process stops the worker: run it under a supervisor (systemd, the container's restart
policy), and run several for several jobs at once (each runs one at a time).

Its metrics: each job it runs is timed in ``hotspot_analysis_duration_seconds`` as
``job-<kind>`` (``ok`` or ``failed``), as the service times the jobs it runs itself. They are
served at ``/metrics`` on ``127.0.0.1:--metrics-port`` (a port of its own: not
``HOTSPOT_METRICS_PORT``, which a worker restarted before the service would take from it)
and, with ``PROMETHEUS_MULTIPROC_DIR`` naming the service's folder, added up with the
service's own in its answer."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, out, refusals, safe_url


def worker(
    database: DatabaseOpt = None,
    burst: Annotated[bool, typer.Option(
        "--burst", help="Run the jobs waiting now, then stop (instead of waiting for more).")
    ] = False,
    name: Annotated[str | None, typer.Option(help="The worker's name (default: RQ's: a "
                                             "random id).")] = None,
    max_jobs: Annotated[int | None, typer.Option(
        help="Stop after this many jobs (a supervisor starts a fresh worker).", min=1)] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve this worker's metrics (its jobs' times) at /metrics on 127.0.0.1:PORT, a "
        "port of its own (never HOTSPOT_METRICS_PORT, the service's; taken already: left to "
        "the process holding it).", min=1, max=65535)] = None,
    as_json: JsonOpt = False,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "info",
) -> None:
    """Run the service's jobs from the Redis queue (HOTSPOT_REDIS_URL): backtests, priority
    reports and their PDFs, cross-border analyses. Needs the same settings as the service
    (store, Redis and prefix, taxonomy, harm table, Chromium)."""
    from redis.exceptions import RedisError

    from api.logs import configure
    from api.metrics import Metrics, MetricsPort, check_multiprocess_dir
    from api.services.jobs import queue_name, worker_for

    settings = load_settings()
    if database:
        settings = settings.model_copy(update={"database_url": database})
    if not settings.redis_url:
        raise fail("`hotspot worker` runs the jobs the service puts on Redis: set "
                   "HOTSPOT_REDIS_URL (without Redis the service runs its jobs itself)",
                   as_json, 2)
    with refusals(as_json):
        check_multiprocess_dir()
        from geodata.stores import open_store

        counted = Metrics()
        store = open_store(settings.store_url(), busy_timeout_s=settings.busy_timeout_s)
        try:
            runner = worker_for(  # it connects at once
                settings, store=store, name=name,
                on_ended=lambda kind, outcome, seconds: counted.analysed(
                    f"job-{kind}", None, outcome, seconds))
        except RedisError as exc:
            store.close()
            raise fail(f"Redis cannot be reached at {safe_url(settings.redis_url)}: {exc}",
                       as_json) from None
    port = metrics_port  # never the service's HOTSPOT_METRICS_PORT, which it would take
    served = MetricsPort(counted, port) if port else None
    info = {"queue": queue_name(settings), "worker": runner.name, "burst": burst,
            "store_kind": store.kind,
            "metrics_port": port if served is not None and served.start() else None}
    if as_json:
        print(json.dumps({"working": info}), flush=True)
    else:
        out.print(f"Worker {runner.name} takes jobs from the queue {info['queue']} "
                  f"({store.kind} store){' until it is empty' if burst else ''}; Ctrl+C stops "
                  "it after the job it is running", markup=False)
        if info["metrics_port"]:
            out.print(f"Its metrics: http://127.0.0.1:{port}/metrics", markup=False)
        elif port:
            out.print(f"Its metrics: port {port} is taken by another process; with "
                      "PROMETHEUS_MULTIPROC_DIR set for both, the service's /metrics counts "
                      "this worker's jobs", markup=False)
    configure(log_level, settings.log_format)
    if settings.warm_compiled:
        from api.services.compiled import warm_compiled_in_background

        warm_compiled_in_background(store)
    try:
        runner.work(burst=burst, max_jobs=max_jobs, logging_level=log_level.upper(),
                    with_scheduler=False)
    finally:
        if served is not None:
            served.close()
        store.close()
