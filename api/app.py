"""The FastAPI application: ``create_app(settings)`` is the composition root of the service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import errors, metrics, redis_conn
from api.access import openapi_roles
from api.budget import AnalysisBudget
from api.cache import ResultCache
from api.delivery import (
    GZIP_LEVEL,
    GZIP_MIN_BYTES,
    FasterGZipMiddleware,
    HtmlErrors,
    VersionedStatic,
)
from api.formats import tile_url
from api.gate import Gate, authorize
from api.logs import RequestLog
from api.metrics import Metrics
from api.ratelimit import RateLimiter
from api.replay import Replays
from api.routes import (
    access,
    backtests,
    hotspot_page,
    hotspots,
    incidents,
    layers,
    meta,
    plan_pages,
    plans,
    products,
    report_pages,
)
from api.routes import asb as asb_routes
from api.routes import basemap as basemap_routes
from api.routes import business as business_routes
from api.routes import cross_border as cross_border_routes
from api.routes import jobs as job_routes
from api.routes import leaflets as leaflet_routes
from api.routes import nearrepeat as near_repeat_routes
from api.routes import ogc as ogc_routes
from api.routes import presets as preset_routes
from api.routes import reports as report_routes
from api.routes import stop_search as stop_search_routes
from api.routes import vector_tiles as vector_tile_routes
from api.security import SecurityHeaders
from api.services.allocator import keep_freed_memory
from api.services.backtests import BacktestRunner
from api.services.basemap import close_basemaps
from api.services.compiled import use_analysis_threads, warm_compiled_in_background
from api.services.jobs import install as install_jobs
from api.settings import Settings
from api.shared.buckets import SharedBuckets
from api.shared.cache import SharedResultCache
from api.version import version
from api.warm import Warming
from geodata.advice import PreventionAdvice
from geodata.errors import StoreUnavailable
from geodata.harm import HarmTable
from geodata.stores import Store, open_store
from geodata.taxonomy import Taxonomy
from maps.assets import LEAFLET_DIR, VENDOR_DIR
from maps.assets import OWN_DIR as MAPS_DIR

log = logging.getLogger(__name__)

DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI and ReDoc files, installed from PyPI (fastapi-offline), served by the service."""


ROUTERS: tuple[APIRouter, ...] = (
    access.router, meta.router, incidents.router, layers.router, basemap_routes.router,
    hotspots.router, hotspot_page.router, plans.router, plan_pages.router, products.router,
    near_repeat_routes.router, backtests.router, business_routes.router,
    asb_routes.router, cross_border_routes.router,
    report_routes.router, leaflet_routes.router, report_pages.router,
    ogc_routes.router, preset_routes.router,
    vector_tile_routes.router, stop_search_routes.router, job_routes.router)
"""The service's routers, in the order their routes are matched (and listed in OpenAPI)."""


def create_app(
    settings: Settings | None = None, *, store: Store | None = None, demo: bool = False
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Settings; read from the environment (``HOTSPOT_*``) when None.
    store
        A store to serve (tests, the CLI); otherwise the app opens the store the settings name
        when it starts and closes it when it stops.
    demo
        Serve the demo store (``HOTSPOT_DEMO_DATABASE_URL``) rather than the force's.
    """
    settings = settings or Settings()
    metrics.check_multiprocess_dir()  # a folder that is not there: refused now, not per request
    url = settings.demo_store_url() if demo else settings.store_url()
    use_analysis_threads(settings.analysis_threads)
    keep_freed_memory(settings.malloc_keep_mb)

    def opener() -> Store:
        return open_store(url, busy_timeout_s=settings.busy_timeout_s)

    app = FastAPI(
        title="Hotspot: crime hotspots and patrol planning",
        version=version(),
        description=(
            "Crime points in, hotspots and patrol plans out. Incidents are kept in metres in the "
            "force's projected CRS (EPSG:27700 by default); GeoJSON out is RFC 7946 (WGS84 "
            "longitude/latitude). Contains public sector information licensed under the Open "
            "Government Licence v3.0 where data.police.uk data is loaded."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(own_store=store is None),
        dependencies=[Depends(authorize)],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.open_store = opener
    app.state.taxonomy = Taxonomy.load(settings.taxonomy_path)
    app.state.harm = HarmTable.load(settings.harm_table)
    # read at start: a malformed advice file stops the service naming the file and line
    app.state.advice = PreventionAdvice.load(settings.prevention_advice_path)
    app.state.demo = demo
    errors.install(app)
    _add_middleware(app, settings)
    _add_shared_state(app, settings)
    install_jobs(app, settings)  # backtests, reports, cross-border analyses as jobs
    for router in ROUTERS:
        app.include_router(router)
    _mount_static(app)
    _offline_docs(app)
    _roles_in_openapi(app)
    return app


def _lifespan(*, own_store: bool) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start and stop: it opens its own store (unless given one; a store that cannot
    be opened yet answers 503 until it can) and closes what it opened."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if own_store:
            try:
                app.state.store = app.state.open_store()
            except StoreUnavailable:
                log.exception("the store could not be opened; requests will answer 503")
                app.state.store = None
        metrics.start_port(app)  # HOTSPOT_METRICS_PORT, when set
        if app.state.settings.warm_compiled and app.state.store is not None:
            warm_compiled_in_background(app.state.store)
        yield
        metrics.stop_port(app)
        await app.state.warming.close()
        app.state.backtests.close()
        close_basemaps()
        if app.state.redis is not None:
            app.state.redis.close()
        if own_store and app.state.store is not None:
            app.state.store.close()

    return lifespan


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """The middleware, innermost first."""
    # innermost first: the gate settles caller, CSRF and body size before any body is read
    app.add_middleware(Gate, upload_limit=settings.max_upload_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST", "HEAD", "OPTIONS"],
                           allow_headers=["Content-Type", "Authorization", "Accept"],
                           expose_headers=["ETag", "X-Data-Version", "X-Bounds", "Location"],
                           max_age=600)
    app.add_middleware(HtmlErrors)  # inside the security headers: the page gets its nonce
    app.add_middleware(SecurityHeaders, tile_url=tile_url(settings.tile_url),
                       https=settings.tls_certfile is not None)
    # outside the security headers, which rewrite the HTML body (api.delivery)
    app.add_middleware(FasterGZipMiddleware, minimum_size=GZIP_MIN_BYTES,
                       compresslevel=GZIP_LEVEL)
    # the scheme and address a trusted proxy passes on (HTTPS behind a TLS proxy)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    # outermost: the request id (a trusted proxy's, by the address it connects from) and log
    app.add_middleware(RequestLog, trusted_hosts=settings.forwarded_allow_ips)


def _add_shared_state(app: FastAPI, settings: Settings) -> None:
    """What every request shares: the result cache, the analysis budget, the backtest runner
    and the rate limiter; with ``HOTSPOT_REDIS_URL``, what every instance shares through
    Redis (:mod:`api.shared`: the cache behind this process's own, the rate limits and the
    budget's rates)."""
    client = redis_conn.connect(settings)
    app.state.redis = client
    buckets: SharedBuckets | None = None
    if client is None:
        app.state.cache = ResultCache(settings.cache_entries, max_bytes=settings.cache_max_bytes,
                                      grace_s=settings.analysis_grace_s)
    else:
        app.state.cache = SharedResultCache(
            settings.cache_entries, max_bytes=settings.cache_max_bytes,
            grace_s=settings.analysis_grace_s, client=client, prefix=settings.redis_prefix,
            secret=lambda: _store_of(app).secret("shared-cache"))
        buckets = SharedBuckets(client, settings.redis_prefix, app.state.cache.guard)
    app.state.replays = Replays()  # cached answers the gate sends again (api.replay)
    app.state.metrics = Metrics(lambda: {**app.state.cache.stats(),
                                         "replayed": app.state.replays.replayed},
                                lambda: _jobs_counts(app))
    app.state.analysis_budget = AnalysisBudget(settings.analyses_at_once,
                                               settings.analyses_per_minute,
                                               settings.max_analyses, shared=buckets)
    app.state.backtests = BacktestRunner()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute,
                                         settings.rate_limit_burst, shared=buckets)
    app.state.warming = Warming()


def _jobs_counts(app: FastAPI) -> dict[str, int]:
    """The app's jobs waiting and running (and the workers of their queue), for ``/metrics``;
    nothing before its jobs are installed."""
    jobs = getattr(app.state, "jobs", None)
    return jobs.counts() if jobs is not None else {}


def _store_of(app: FastAPI) -> Store:
    """The app's store (opened when it started), or StoreUnavailable."""
    store: Store | None = app.state.store
    if store is None:
        raise StoreUnavailable("the store is not open")
    return store


def _mount_static(app: FastAPI) -> None:
    """The pages' static files: Leaflet, the maps' own scripts and styles, vendored files."""
    app.mount("/static/leaflet", VersionedStatic(directory=LEAFLET_DIR), name="leaflet")
    app.mount("/static/maps", VersionedStatic(directory=MAPS_DIR), name="maps")
    app.mount("/static/vendor", VersionedStatic(directory=VENDOR_DIR, check_dir=False),
              name="vendor")


def _roles_in_openapi(app: FastAPI) -> None:
    """The OpenAPI document with each operation's roles (from :data:`api.access.ACCESS`)."""
    plain = app.openapi

    def with_roles() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_roles(plain())
        return app.openapi_schema

    app.openapi = with_roles  # type: ignore[method-assign]


def _offline_docs(app: FastAPI) -> None:
    """Swagger UI and ReDoc from the service's own copies (no CDN: it must work offline)."""
    app.mount("/static/docs", StaticFiles(directory=DOCS_STATIC), name="docs-static")
    title = app.title

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger(request: Request) -> HTMLResponse:
        r = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{title} - API docs",
            swagger_js_url=f"{r}/static/docs/swagger-ui-bundle.js",
            swagger_css_url=f"{r}/static/docs/swagger-ui.css",
            swagger_favicon_url=f"{r}/static/docs/favicon.png",
            # no badge from validator.swagger.io: the page must not reach the internet
            swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        r = root(request)
        return get_redoc_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{r}/static/docs/redoc.standalone.js",
            redoc_favicon_url=f"{r}/static/docs/favicon.png",
            with_google_fonts=False,
        )

