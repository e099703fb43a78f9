"""Settings, from environment variables with the prefix ``HOTSPOT_`` (or a ``.env`` file).

Only :mod:`api` reads the environment; everything else receives what it needs as arguments.
See ``.env.example`` for every setting with its default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """The user's data folder for this application (for example ~/.local/share/hotspot)."""
    return Path(platformdirs.user_data_dir("hotspot", appauthor=False))


class Settings(BaseSettings):
    """Service and CLI settings. Environment variable = ``HOTSPOT_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="HOTSPOT_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        None,
        description="The force's store: a file path (or sqlite:///path) for the embedded store, "
        "or a postgresql:// URL for PostGIS. Default: hotspot.sqlite in the data folder.",
    )
    demo_database_url: str | None = Field(
        None, description="The demo force area's store. Default: demo.sqlite in the data folder."
    )
    data_dir: Path = Field(default_factory=default_data_dir,
                           description="Where default stores and demo files live.")
    max_upload_bytes: int = Field(256 * 1024 * 1024, gt=0,
                                  description="Largest incident upload accepted (bytes); 413 above.")
    area_buffer_m: float = Field(2000.0, ge=0, le=50_000,
                                 description="Tolerance around the force boundary (metres).")
    unknown_crime_types: Literal["other", "reject"] = Field(
        "other", description="Crime types not in the taxonomy: map to 'other' or reject the row."
    )
    taxonomy_path: Path | None = Field(None, description="A force's own taxonomy TOML file.")
    prevention_advice_path: Path | None = Field(
        None, description="A force's own crime prevention advice TOML file (hotspot pages, the "
        "products page and the leaflets show it; read at start); unset: the packaged advice.")
    harm_table: Path | None = Field(
        None, description="A force's Cambridge Crime Harm Index table (CSV: code, name, "
        "harm_days, source: docs/harm.md); unset: the built-in approximate table.")
    max_page_size: int = Field(5000, gt=0, le=100_000,
                               description="Most incidents in one page of GET /v1/incidents.")
    report_rows: int = Field(1000, ge=0, le=100_000,
                             description="Most rejected rows listed in an API ingest report.")
    busy_timeout_s: float = Field(60.0, gt=0,
                                  description="How long a writer waits for another (seconds).")
    log_level: str = Field("INFO", description="Python logging level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="json: every log line a JSON object (for a log collector).")
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="A port on 127.0.0.1 serving /metrics without a key "
        "(for the machine's own scraper or agent); unset: /metrics only on the service's port, "
        "to admins.")
    tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Basemap tiles for the maps ('none' for no basemap); the layers show "
        "without them.",
    )
    tile_attribution: str = Field(
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
        "contributors", description="Attribution shown for the basemap tiles (HTML).")
    basemap_file: Path | None = Field(
        None, description="An offline basemap (MBTiles or PMTiles, raster or vector tiles) "
        "served at /tiles and drawn instead of tile_url; unset: the file registered with "
        "`hotspot basemap add FILE` (basemap.json in the data folder), if any.")
    public_url: str | None = Field(
        None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="The address officers reach the service at (https://hotspots.example.police"
        ".uk): QR codes and short links on the plan page and the briefing are made from it; "
        "unset: from the address the page was asked for.")
    cache_entries: int = Field(64, ge=0, le=10_000,
                               description="Hotspot results kept in memory (0: no cache).")
    cache_max_bytes: int = Field(
        512 * 1024 * 1024, ge=0, description="Memory the cached results may take, bytes "
        "(their GeoJSON, CSV, tables, density grids, pages); the least recently used go first, "
        "and no single result larger than a quarter of this is kept (0: no cache).")
    tls_certfile: Path | None = Field(
        None, description="A PEM certificate (with its chain): `hotspot serve` then speaks "
        "HTTPS, which tablets need for the field view's offline mode and the officer's position "
        "(browsers allow them only on https:// or on 127.0.0.1).")
    tls_keyfile: Path | None = Field(None, description="The certificate's private key (PEM).")
    request_timeout_s: float = Field(
        120.0, gt=0, le=3600, description="Longest a request waits for an analysis, seconds; "
        "past it the answer is 503 with Retry-After while the analysis goes on (its result is "
        "kept for the next request).")
    analysis_grace_s: float = Field(
        15.0, ge=0, le=3600, description="How long an analysis goes on once nobody waits for "
        "it (every request for it timed out), seconds, so that the retry its 503 asks for finds "
        "it; then it is stopped. An analysis whose every client disconnected stops at once.")
    max_hotspots: int = Field(
        5_000, ge=1, le=1_000_000, description="Most hotspots one analysis may draw and "
        "describe (counted before any polygon is drawn); more is a 422 naming the parameter "
        "to change.")
    max_grid_cells: int = Field(
        16_000_000, ge=10_000, le=400_000_000, description="Largest KDE density grid, cells "
        "(8 bytes each); a larger one is a 422 naming cell_size_m or bandwidth_m.")
    max_hotspot_cells: int = Field(
        1_000_000, ge=1_000, le=400_000_000, description="Most grid cells KDE hotspot areas "
        "may cover (their polygons are the union of these cells); more is a 422.")
    analyses_at_once: dict[str, int] = Field(
        default_factory=lambda: {"admin": 2, "analyst": 2, "rural_team": 1, "partner": 0},
        description="Uncached analyses one key may have running at once, by role (a role not "
        "listed: 0); past it: 429 with Retry-After. Partners read published products and run "
        "none.")
    analyses_per_minute: dict[str, int] = Field(
        default_factory=lambda: {"admin": 60, "analyst": 60, "rural_team": 20, "partner": 0},
        description="Uncached analyses one key may start a minute, by role, on average (a "
        "minute's worth at once); past it: 429 with Retry-After. Cached answers are not "
        "counted.")
    max_analyses: int = Field(
        default_factory=lambda: max(2, os.cpu_count() or 2), ge=1, le=1000,
        description="Uncached analyses running at once in the whole service (default: the "
        "machine's cores, at least 2: an analysis keeps a core busy, and more at once only add "
        "memory); past it: 503 with Retry-After.")
    rate_limit_per_minute: int = Field(
        1200, ge=0, le=1_000_000, description="Requests a key (or, without one, an address) "
        "may make a minute, on average; 0: no limit. Past it: 429 with Retry-After.")
    rate_limit_burst: int = Field(200, ge=1, le=1_000_000,
                                  description="Requests allowed at once above the average.")
    max_upload_rows: int = Field(10_000_000, ge=1, description="Most rows in one upload "
                                 "(413 above; nothing is stored).")
    partner_min_incidents: int = Field(5, ge=2, le=1000, description="Published products: "
                                       "grid squares and priority counts with fewer incidents "
                                       "are held back; hotspot and town leaflets print such "
                                       "counts as \"fewer than\" (the others rounded).")
    business_reports_per_hour: int = Field(
        60, ge=0, le=100_000, description="Business reports one key may submit an hour, on "
        "average (a tenth of it at once, at least 5); 0: no limit beyond the request rate. "
        "Past it: 429 with Retry-After.")
    business_reports_per_day: int = Field(
        200, ge=0, le=1_000_000, description="Business reports one key may store a calendar "
        "day (the force's local time), so that no key can fill the analysts' map; 0: no cap. "
        "Past it: 429 saying so, with Retry-After until midnight.")
    partner_grid_m: float = Field(250.0, ge=50, le=5000, description="Published products: the "
                                  "side of the force grid's squares, metres.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins whose pages may call the API from a browser "
        "(CORS), e.g. [\"https://intranet.force.local\"]; none by default.")
    forwarded_allow_ips: str = Field(
        "127.0.0.1,::1", min_length=1, description="Proxies trusted to say how a request "
        "reached them (X-Forwarded-Proto, X-Forwarded-For): comma-separated addresses or "
        "networks, or * for any, as uvicorn's --forwarded-allow-ips. A request that came to "
        "a trusted proxy over HTTPS gets Secure cookies and HSTS; the same headers from "
        "anyone else change nothing.")
    redis_url: str | None = Field(
        None, description="Redis shared by several instances of the service (e.g. "
        "redis://127.0.0.1:6379/0): the result cache, rate limits, analysis locks and jobs "
        "live there, so N processes behind a load balancer act as one. Unset: each process "
        "keeps its own in memory (one instance, no Redis needed).")
    warm_after_ingest: bool | None = Field(
        None, description="After an ingest through the API, compute the planner's map of the "
        "whole plan and of each priority for the current period in the background, so the "
        "first planner to open them finds them ready (one instance warms, for all). Unset: "
        "when Redis is configured (several instances); false: never.")
    warm_compiled: bool = Field(
        True, description="At start, when the store holds 20,000 incidents or more, load "
        "the compiled analysis steps (numba: DBSCAN from 50,000 distinct points, and the "
        "places' loops of every analysis once loaded) in the background (about 1 s; `make` "
        "compiles them at install), so analyses do not wait for them or do without them. "
        "False: they load on first use.")
    analysis_threads: int | None = Field(
        None, ge=1, le=64, description="Threads one analysis may use at once for its "
        "independent parts (DBSCAN's neighbour counting, the places of different areas, the "
        "table, the GeoJSON geometries and the accuracy); above 1, the emerging cube and the "
        "incidents' context classes also run in a thread each, from the start. The results "
        "are the same whatever the number. Unset: the cores the service may run on, up to 4; 1: one core "
        "per request, everything in turn, for a service whose cores are kept busy by many "
        "requests at once.")
    malloc_keep_mb: int = Field(
        512, ge=0, le=2047, description="Freed memory (MiB) a process keeps for its next "
        "analysis instead of handing it back to the system and faulting it in again (glibc "
        "only: an uncached answer at 10^6 incidents spends 0.15-0.4 CPU s in the kernel "
        "otherwise). 0: the C library's defaults.")
    redis_prefix: str = Field(
        "hotspot:", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of every Redis key the service writes (several deployments, or "
        "a force's test and live services, may share one Redis).")
    jobs_per_key: int = Field(
        4, ge=1, le=1000, description="Jobs (backtests, reports, PDFs, cross-border analyses) "
        "one key may have queued or running at once; past it: 429 with Retry-After.")
    chromium: Path = Field(
        Path("/usr/bin/chromium"), description="The headless Chromium that prints a priority "
        "report to PDF (Debian's chromium; `make run` installs it); missing: the PDF is a 503 "
        "saying so, the report's page still opens.")
    pdf_timeout_s: float = Field(60.0, gt=0, le=600,
                                 description="Longest Chromium may take to print a PDF, seconds "
                                 "(then 503).")

    def store_url(self) -> str:
        """The force store's URL, defaulted."""
        return self.database_url or str(self.data_dir / "hotspot.sqlite")

    def demo_store_url(self) -> str:
        """The demo store's URL, defaulted."""
        return self.demo_database_url or str(self.data_dir / "demo.sqlite")

    def demo_files_dir(self) -> Path:
        """Where the demo's generated files go."""
        return self.data_dir / "demo-files"
