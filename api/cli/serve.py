"""``hotspot serve``: the API and the planner's map over HTTP (or HTTPS), on the force's store
or the demo's."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import DatabaseOpt, JsonOpt, fail, load_settings, open_store, out, refusals
from api.cli.demo import build_demo, demo_keys, publish_demo
from api.logs import configure
from api.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from geodata.stores import AccessStore, Store


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    database: DatabaseOpt = None,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Serve the demo force area from its own store, building it on first "
        "start.")] = False,
    as_json: JsonOpt = False,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "info",
    workers: Annotated[int, typer.Option(
        help="Service processes sharing the port. Set HOTSPOT_REDIS_URL so that they share "
        "the result cache and rate limits; without it each keeps its own.",
        min=1, max=64)] = 1,
) -> None:
    """Serve the API (and its docs at /docs) over HTTP."""
    import uvicorn

    from api.app import create_app

    settings = _with_database(load_settings(), database, demo)
    url = settings.demo_store_url() if demo else settings.store_url()
    with refusals(as_json):
        store = _served_store(url, settings, demo, as_json)
        # a malformed advice, taxonomy or harm file stops it here, naming the file and line
        app = create_app(settings, store=store, demo=demo)
    certfile, keyfile = _tls_files(settings, as_json)
    scheme = "https" if certfile else "http"
    info = _serving_info(store, settings, f"{scheme}://{host}:{port}/", url, demo)
    info["workers"] = workers
    info["redis"] = settings.redis_url is not None
    if as_json:
        print(json.dumps({"serving": info}), flush=True)
    else:
        _say_serving(info, store, settings, url, demo)
    if workers > 1 and not settings.redis_url:
        print(UNSHARED_WARNING.format(workers=workers), file=sys.stderr, flush=True)
    configure(log_level, settings.log_format)
    # no uvicorn access log: it holds addresses and whole URLs (api.logs writes one without)
    # the proxies trusted for X-Forwarded-Proto/-For are the app's to apply (its outermost
    # middleware, HOTSPOT_FORWARDED_ALLOW_IPS): uvicorn's own would rewrite the client address
    # first, and the request log could no longer tell a trusted balancer's X-Request-ID
    common: dict[str, Any] = {
        "host": host, "port": port, "log_level": log_level.lower(), "ssl_certfile": certfile,
        "ssl_keyfile": keyfile, "access_log": False, "log_config": None,
        "proxy_headers": False}
    if workers == 1:
        uvicorn.run(app, **common)
        return
    # each worker process builds its own app from the environment (worker_app)
    store.close()
    os.environ.update(_worker_environment(settings, demo, log_level))
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=workers, **common)


UNSHARED_WARNING = (
    "warning: {workers} worker processes without HOTSPOT_REDIS_URL: each keeps its own result "
    "cache, rate limits and analysis budget (a result is computed once per process, and each "
    "process allows the whole rate). Set HOTSPOT_REDIS_URL (e.g. redis://127.0.0.1:6379/0) "
    "for them to share one.")
"""What ``--workers`` above 1 says when no Redis is configured (it serves all the same)."""
DEMO_ENV = "HOTSPOT_SERVE_DEMO"
"""Set to 1 for the worker processes of ``hotspot serve --demo --workers N``."""


def _worker_environment(settings: Settings, demo: bool, log_level: str) -> dict[str, str]:
    """The environment the worker processes read their settings from: the store chosen on
    the command line, the demo flag and the logging level."""
    env = {"HOTSPOT_LOG_LEVEL": log_level.upper(), DEMO_ENV: "1" if demo else "0"}
    if settings.database_url:
        env["HOTSPOT_DATABASE_URL"] = settings.database_url
    if settings.demo_database_url:
        env["HOTSPOT_DEMO_DATABASE_URL"] = settings.demo_database_url
    return env


def worker_app() -> FastAPI:
    """The app of one worker process (``uvicorn api.cli.serve:worker_app --factory``): its
    settings from the environment (``HOTSPOT_*``), the demo's store when ``HOTSPOT_SERVE_DEMO``
    is 1; it opens its own store when it starts."""
    from api.app import create_app

    settings = Settings()
    configure(settings.log_level, settings.log_format)
    return create_app(settings, demo=os.environ.get(DEMO_ENV) == "1")


def _with_database(settings: Settings, database: str | None, demo: bool) -> Settings:
    """The settings with ``--database`` as the force's store (or the demo's, with ``--demo``)."""
    if not database:
        return settings
    if demo:
        return settings.model_copy(update={"demo_database_url": database})
    return settings.model_copy(update={"database_url": database})


def _served_store(url: str, settings: Settings, demo: bool, as_json: bool) -> Store:
    """The store to serve; the demo's is built on first start and its months published."""
    store = open_store(url)
    if demo and store.count() == 0:
        build_demo(store, settings.demo_files_dir(), as_json=as_json)
    if demo:
        from geodata.demo import demo_months

        publish_demo(store, demo_months(), settings)
    return store


def _tls_files(settings: Settings, as_json: bool) -> tuple[str | None, str | None]:
    """The certificate and key files of HTTPS, or (None, None) for HTTP; refused when only one
    is set or either is not a file."""
    if not (settings.tls_certfile or settings.tls_keyfile):
        return None, None
    missing = [n for n, f in (("HOTSPOT_TLS_CERTFILE", settings.tls_certfile),
                              ("HOTSPOT_TLS_KEYFILE", settings.tls_keyfile))
               if f is None or not Path(f).is_file()]
    if missing:
        raise fail(f"HTTPS needs a certificate and its key: {', '.join(missing)} is not set or "
                   "not a file", as_json)
    return str(settings.tls_certfile), str(settings.tls_keyfile)


def _serving_info(store: Store, settings: Settings, base: str, url: str,
                  demo: bool) -> dict[str, Any]:
    """What is served where (``base`` is the service's URL, with its final slash); with the
    demo, its keys, its published products and the sign-in page."""
    info: dict[str, Any] = {"url": base, "docs": f"{base}docs", "database": url,
                            "demo": demo, "incidents": store.count()}
    if demo:
        from api.services.products import KIND

        info["keys"] = demo_keys(store, settings.data_dir)
        info["products"] = len(store.list_products(KIND))
        info["login"] = f"{base}login"
    return info


def _say_serving(info: dict[str, Any], store: AccessStore, settings: Settings, url: str,
                 demo: bool) -> None:
    """Say on screen what is served where and how to sign in."""
    out.print(f"Serving {'the demo force area' if demo else 'the force store'} "
              f"({info['incidents']:,} incidents, {url})")
    out.print(f"  API and map: {info['url']}   docs: {info['docs']}   (Ctrl+C stops)")
    if info.get("workers", 1) > 1:
        shared = "sharing cache and limits through Redis" if info.get("redis") else \
            "each with its own cache and limits"
        out.print(f"  {info['workers']} worker processes, {shared}")
    if demo:
        out.print(f"  Sign in at {info['login']} with the demo's admin key (every role's "
                  f"key is in {settings.data_dir / 'demo-keys.json'}):")
        out.print(f"  {info['keys']['admin']}", markup=False, highlight=False)
        out.print(f"  API, as an analyst: curl -H 'Authorization: Bearer "
                  f"{info['keys']['analyst']}' {info['url']}v1/hotspots", markup=False,
                  highlight=False)
        out.print(f"  Partners see only published products ({info['products']} demo months "
                  f"published): sign in with the partner key, or curl -H 'Authorization: "
                  f"Bearer {info['keys']['partner']}' {info['url']}v1/hotspots",
                  markup=False, highlight=False)
        if info["keys"].get("rural_team"):
            out.print(f"  A Rural Crime Team tablet signs in with {info['keys']['rural_team']} "
                      "(published plans and their field views; for a real tablet, serve over "
                      "HTTPS at an address it reaches and set HOTSPOT_PUBLIC_URL: docs/"
                      "operations.md)", markup=False, highlight=False)
    elif not store.list_keys():
        out.print("  No API keys yet: make the first with "
                  "hotspot keys create --name YOU --role admin")
