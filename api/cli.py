"""The ``hotspot`` command line: serve, ingest, demo, layers, info.

Every command takes the store as ``--database`` (a file path for the embedded store, or a
``postgresql://`` URL for PostGIS), defaulting
to ``HOTSPOT_DATABASE_URL``, then to ``hotspot.sqlite`` in the user's data folder; the demo has
its own store (``HOTSPOT_DEMO_DATABASE_URL``, default ``demo.sqlite`` there). Every command
prints machine-readable JSON with ``--json``. Exit status: 0 done, 1 refused (bad input or the
wrong store), 2 usage error.
"""

from __future__ import annotations

import csv
import functools
import getpass
import inspect
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from api.settings import Settings
from geodata.errors import GeodataError, InvalidFile
from geodata.schema import RejectedRow
from hotspot.params import every_parameter, methods_taking

if TYPE_CHECKING:
    from api.services.hotspots import Selection
    from geodata.stores import Store

app = typer.Typer(
    name="hotspot",
    help="Crime hotspot analysis and patrol planning: load incidents and reference layers, "
    "serve the API and the planner's map.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
layers_app = typer.Typer(help="Reference layers: force boundary, town centres, built-up areas, "
                         "rural-urban lookup, heritage sites, patrol bases.",
                         no_args_is_help=True)
app.add_typer(layers_app, name="layers")
db_app = typer.Typer(help="The store's database: schema migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="API keys: who may call the service, with which role.",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")
basemap_app = typer.Typer(help="An offline basemap (MBTiles or PMTiles) drawn under the maps "
                          "instead of the online tiles.", no_args_is_help=True)
app.add_typer(basemap_app, name="basemap")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", "-d", help="Store: a file path (embedded store) or a "
                 "postgresql:// URL (PostGIS). Default: $HOTSPOT_DATABASE_URL, else "
                 "hotspot.sqlite in the data folder."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _settings() -> Settings:
    return Settings()


def _open(url: str) -> Any:
    from geodata.stores import open_store

    return open_store(url, busy_timeout_s=_settings().busy_timeout_s)


def _fail(message: str, as_json: bool, code: int = 1) -> typer.Exit:
    if as_json:
        print(json.dumps({"error": message}))
    else:
        err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def _refusals(as_json: bool) -> Iterator[None]:
    """Turn domain errors into a clear message and exit status 1 (never a traceback)."""
    try:
        yield
    except GeodataError as exc:
        raise _fail(str(exc), as_json) from None
    except OSError as exc:
        raise _fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), as_json) from None


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )


def _advance(bar: Progress, task: Any, done: int, _total: int | None) -> None:
    bar.update(task, completed=done)


def _ranges(ranges: list[list[int]]) -> str:
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:12]]
    more = f" … ({len(ranges) - 12} more runs)" if len(ranges) > 12 else ""
    return ", ".join(parts) + more


# --- serve ------------------------------------------------------------------------------------

@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    database: DatabaseOpt = None,
    demo: Annotated[bool, typer.Option(
        "--demo", help="Serve the demo force area from its own store, building it on first "
        "start.")] = False,
    as_json: JsonOpt = False,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "info",
) -> None:
    """Serve the API (and its docs at /docs) over HTTP."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    if database:
        if demo:
            settings = settings.model_copy(update={"demo_database_url": database})
        else:
            settings = settings.model_copy(update={"database_url": database})
    url = settings.demo_store_url() if demo else settings.store_url()
    with _refusals(as_json):
        store = _open(url)
        if demo and store.count() == 0:
            _build_demo(store, settings.demo_files_dir(), as_json=as_json)
        if demo:
            from geodata.demo import demo_months

            _publish_demo(store, demo_months(), settings)
    certfile: str | None = None
    keyfile: str | None = None
    if settings.tls_certfile or settings.tls_keyfile:
        missing = [n for n, f in (("HOTSPOT_TLS_CERTFILE", settings.tls_certfile),
                                  ("HOTSPOT_TLS_KEYFILE", settings.tls_keyfile))
                   if f is None or not Path(f).is_file()]
        if missing:
            raise _fail(f"HTTPS needs a certificate and its key: {', '.join(missing)} is not set or "
                  "not a file", as_json)
        certfile, keyfile = str(settings.tls_certfile), str(settings.tls_keyfile)
    scheme = "https" if certfile else "http"
    info: dict[str, Any] = {"url": f"{scheme}://{host}:{port}/",
                            "docs": f"{scheme}://{host}:{port}/docs", "database": url,
                            "demo": demo, "incidents": store.count()}
    if demo:
        info["keys"] = _demo_keys(store, settings.data_dir)
        from api.services.products import KIND

        info["products"] = len(store.list_products(KIND))
        info["login"] = f"{scheme}://{host}:{port}/login"
    if as_json:
        print(json.dumps({"serving": info}), flush=True)
    else:
        out.print(f"Serving {'the demo force area' if demo else 'the force store'} "
                  f"({info['incidents']:,} incidents, {url})")
        out.print(f"  API and map: {info['url']}   docs: {info['docs']}   (Ctrl+C stops)")
        if demo:
            out.print(f"  Sign in at {info['login']} with the demo's admin key (every role's "
                      f"key is in {settings.data_dir / 'demo-keys.json'}):")
            out.print(f"  {info['keys']['admin']}", markup=False, highlight=False)
            out.print(f"  API: curl -H 'Authorization: Bearer {info['keys']['analyst']}' "
                      f"{info['url']}v1/hotspots", markup=False, highlight=False)
            out.print(f"  Partners see only published products ({info['products']} demo months "
                      f"published): sign in with the partner key, or curl -H 'Authorization: "
                      f"Bearer {info['keys']['partner']}' {info['url']}v1/hotspots",
                      markup=False, highlight=False)
        elif not store.list_keys():
            out.print("  No API keys yet: make the first with "
                      "hotspot keys create --name YOU --role admin")
    from api.logs import configure

    configure(log_level, settings.log_format)
    # no uvicorn access log: it holds addresses and whole URLs (api.logs writes one without)
    # the proxies trusted for X-Forwarded-Proto/-For: uvicorn's own and the app's are the same
    uvicorn.run(create_app(settings, store=store, demo=demo), host=host, port=port,
                log_level=log_level.lower(), ssl_certfile=certfile, ssl_keyfile=keyfile,
                access_log=False, log_config=None, proxy_headers=True,
                forwarded_allow_ips=settings.forwarded_allow_ips)


# --- ingest -----------------------------------------------------------------------------------

@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="data.police.uk street-level CSVs (or "
                                                "folders of them), force export CSVs, GeoJSON.")],
    database: DatabaseOpt = None,
    format: Annotated[str, typer.Option(
        help="auto (from name and header), police, force or geojson.")] = "auto",
    mapping: Annotated[Path | None, typer.Option(
        help="TOML column mapping for a force export (see the README).")] = None,
    unknown_crime_types: Annotated[str | None, typer.Option(
        help="Crime types not in the taxonomy: other (keep as 'other') or reject.")] = None,
    area_buffer_m: Annotated[float | None, typer.Option(
        help="Tolerance around the force boundary in metres.", min=0)] = None,
    rejects_out: Annotated[Path | None, typer.Option(
        help="Write every rejected row (file, line, reason, detail) to this CSV.")] = None,
    show: Annotated[int, typer.Option(help="Most rejected rows to list per file.", min=0)] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Load incident files and say, row by row, what was accepted, skipped or rejected.

    Loading a file twice adds nothing. A file that cannot be read at all is reported and the
    others are still loaded (the exit status is then 1).
    """
    from geodata.ingest import ingest as run_ingest
    from geodata.layers import force_area
    from geodata.readers import ForceExportMapping, ReadOptions, open_reader
    from geodata.taxonomy import Taxonomy, UnknownTypePolicy

    settings = _settings()
    url = database or settings.store_url()
    policy_name = unknown_crime_types or settings.unknown_crime_types
    if policy_name not in ("other", "reject"):
        raise _fail("--unknown-crime-types must be 'other' or 'reject'", as_json, 2)
    reports: list[dict[str, Any]] = []
    failed = 0
    rejects_file = rejects_out.open("w", newline="", encoding="utf-8") if rejects_out else None
    rejects_writer = csv.writer(rejects_file) if rejects_file else None
    if rejects_writer:
        rejects_writer.writerow(["file", "line", "reason", "detail"])
    try:
        with _refusals(as_json):
            the_mapping = ForceExportMapping.from_toml(mapping) if mapping else None
            taxonomy = Taxonomy.load(settings.taxonomy_path)
            store = _open(url)
            area = force_area(store, area_buffer_m if area_buffer_m is not None
                              else settings.area_buffer_m)
            options = ReadOptions(taxonomy=taxonomy, area=area, crs=store.crs,
                                  timezone=store.timezone,
                                  unknown_types=UnknownTypePolicy(policy_name))
            for path in _expand(files):
                listed = 0

                def on_rejected(row: RejectedRow, path: Path = path) -> None:
                    nonlocal listed
                    if rejects_writer:
                        rejects_writer.writerow([path.name, row.line, row.reason, row.detail])
                    if not as_json and listed < show:
                        out.print(f"  line {row.line}: rejected ({row.reason}): {row.detail}",
                                  markup=False)
                    listed += 1

                if not as_json:
                    out.print(f"{path}:", markup=False)
                try:
                    reader = open_reader(path, format=format, options=options,
                                         mapping=the_mapping)
                    with _progress(not as_json and err.is_terminal) as bar:
                        task = bar.add_task(path.name, total=path.stat().st_size)
                        report = run_ingest(
                            store, reader, on_rejected=on_rejected,
                            on_progress=partial(_advance, bar, task),
                        )
                except InvalidFile as exc:  # this file is unreadable: say so, go on with the rest
                    failed += 1
                    reports.append({"source": str(path), "error": str(exc)})
                    if not as_json:
                        err.print(f"  [bold red]not loaded:[/] {exc}", highlight=False)
                    continue
                d = report.to_dict()
                reports.append(d)
                # the audit log holds every ingest, this one by the machine's user
                store.audit(key_id=None, role=f"cli:{getpass.getuser()}", action="ingest",
                            path="hotspot ingest", filter={"source": str(path),
                                                           "format": reader.format},
                            rows=int(d["counts"]["accepted"]))
                if not as_json:
                    _print_report(d, listed, show, rejects_out)
    finally:
        if rejects_file:
            rejects_file.close()
    if as_json:
        print(json.dumps({"database": url, "files": reports}, default=str))
    if failed:
        raise typer.Exit(1)


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the data.police.uk street files inside it."""
    out_paths: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(p.rglob("*-street.csv"))
            if not found:
                raise InvalidFile(f"{p} holds no data.police.uk street files (*-street.csv)")
            out_paths.extend(found)
        else:
            out_paths.append(p)
    return out_paths


def _print_report(d: dict[str, Any], listed: int, show: int, rejects_out: Path | None) -> None:
    c = d["counts"]
    if listed > show:
        out.print(f"  … {listed - show:,} more rejected rows"
                  + (f" (all in {rejects_out})" if rejects_out else
                     " (list them all with --rejects-out FILE.csv)"))
    if d["accepted_lines"]:
        out.print(f"  lines {_ranges(d['accepted_lines'])}: accepted")
    if d["duplicate_lines"]:
        out.print(f"  lines {_ranges(d['duplicate_lines'])}: skipped, already stored or repeated")
    out.print(
        f"  {c['records']:,} rows: [green]{c['accepted']:,} accepted[/], "
        f"{c['duplicates']:,} skipped as duplicates ({c['duplicates_already_stored']:,} already "
        f"stored, {c['duplicates_repeated_in_file']:,} repeated in the file), "
        f"[red]{c['rejected']:,} rejected[/] in {d['elapsed_s']:.2f} s"
    )
    for reason, n in d["rejected_by_reason"].items():
        out.print(f"    {n:,} {reason}")
    st = d["stacking"]
    if st.get("distinct_points"):
        out.print(
            f"  {st['incidents']:,} incidents on {st['distinct_points']:,} distinct points; up "
            f"to {st['max_on_one_point']} on one point; "
            f"{st['share_on_busiest_1pct_of_points']:.1%} on the busiest 1% of points"
        )
    read = d["read"]
    tr = read.get("coordinate_transformation")
    if tr:
        out.print(f"  coordinates: {tr['from']} to {tr['to']} by {tr['operation']}"
                  + ("" if tr["best_available"] else " (fallback: the OSTN15 grid is not "
                     "installed; about 2 m off)"))
    out.print(f"  area check: {read['area_check']}")
    if read.get("unknown_crime_types"):
        kinds = ", ".join(f"{k} ({v})" for k, v in read["unknown_crime_types"].items())
        out.print(f"  crime types not in the taxonomy ({read['unknown_crime_type_policy']}): "
                  f"{kinds}")
    if read.get("encoding_fallback_bytes"):
        out.print(f"  {read['encoding_fallback_bytes']:,} bytes were not UTF-8 and were read "
                  "as Windows-1252")
    out.print(f"  time precision: {read['time_precision']}; data version {d['data_version']}")


# --- demo -------------------------------------------------------------------------------------

def _build_demo(store: Any, folder: Path, *, as_json: bool, seed: int | None = None,
                incidents: int | None = None) -> dict[str, Any]:
    from geodata.demo import DEMO_INCIDENTS, DEMO_SEED, load_demo, write_demo

    with _progress(not as_json and err.is_terminal) as bar:
        task = bar.add_task("demo force area", total=None)
        files = write_demo(folder, seed=DEMO_SEED if seed is None else seed,
                           incidents=DEMO_INCIDENTS if incidents is None else incidents,
                           progress=lambda m: bar.update(task, description=m))
        bar.update(task, description="loading into the store")
        report = load_demo(store, files)
    if not as_json:
        c = report.to_dict()["counts"]
        out.print(f"Built the demo force area: {c['accepted']:,} incidents and "
                  f"{len(store.list_layers())} reference layers (files in {folder})")
    return {"files": files.to_dict(), "report": report.to_dict()}


@app.command()
def demo(
    database: Annotated[str | None, typer.Option(
        "--database", "-d", help="The demo's own store. Default: $HOTSPOT_DEMO_DATABASE_URL, "
        "else demo.sqlite in the data folder.")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the demo's files. Default: demo-files beside the "
        "store.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same data).")] = None,
    incidents: Annotated[int | None, typer.Option(
        help="About how many incidents (default 50,000).", min=100, max=2_000_000)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the fictional demo force area into its own store (never a force's store)."""
    settings = _settings()
    url = database or settings.demo_store_url()
    with _refusals(as_json):
        store = _open(url)
        if store.count() and store.purpose() == "demo":
            raise _fail("the demo store already holds the demo; delete the file to rebuild it",
                        as_json)
        folder = out_dir or Path(url).expanduser().resolve().parent / "demo-files"
        result = _build_demo(store, folder, as_json=as_json, seed=seed, incidents=incidents)
    if as_json:
        print(json.dumps({"database": url, **result}, default=str))


# --- layers -----------------------------------------------------------------------------------

@db_app.command("upgrade")
def db_upgrade(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Apply the store's schema migrations not yet applied (also done at start-up; safe to run
    twice, and from two processes at once)."""
    url = database or _settings().store_url()
    with _refusals(as_json):
        store = _open(url)
        applied = store.migrations()
        store.close()
    if as_json:
        print(json.dumps({"database": _safe_url(url), "migrations": applied}))
        return
    out.print(f"{_safe_url(url)}: schema at version {applied[-1]['version'] if applied else 0}",
              markup=False)
    for m in applied:
        when = m["applied_at"] or "when the store opened"
        out.print(f"  {m['version']:>4}  {m['name']:<32} applied {when}", markup=False)


def _safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    import re

    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@layers_app.command("add")
def layers_add(
    kind: Annotated[str, typer.Argument(help="force_boundary, town_centres, built_up_areas, "
                                        "rural_urban_lookup, heritage_sites, patrol_bases or roads.")],
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile or CSV.")],
    database: DatabaseOpt = None,
    name_column: Annotated[str | None, typer.Option(help="Column with names.")] = None,
    designation_column: Annotated[str | None, typer.Option(
        help="Column with heritage designations (or grades).")] = None,
    team_column: Annotated[str | None, typer.Option(help="Column with the team of a base.")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of the file when it has none.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer of a multi-layer file.")] = None,
    select: Annotated[str | None, typer.Option(
        help="Keep features with COLUMN=VALUE[,VALUE...] (e.g. LAD21CD=E07000136,E07000137).")
    ] = None,
    repair: Annotated[bool, typer.Option(help="Repair invalid geometries (make_valid) rather "
                                         "than refusing them.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate a reference layer, reproject it to the force CRS and keep it in the store
    (replacing the layer of that kind)."""
    from geodata.layers import read_layer

    url = database or _settings().store_url()
    chosen = None
    if select:
        column, _, values = select.partition("=")
        if not column or not values:
            raise _fail("--select takes COLUMN=VALUE[,VALUE...]", as_json, 2)
        chosen = (column.strip(), [v.strip() for v in values.split(",") if v.strip()])
    with _refusals(as_json):
        store = _open(url)
        ref = read_layer(kind, file, force_crs=store.crs, name_column=name_column,
                         designation_column=designation_column, team_column=team_column,
                         crs=crs, layer=layer, repair=repair, select=chosen)
        store.put_layer(ref)
    if as_json:
        print(json.dumps({"database": url, "kind": kind, "source": ref.source, **ref.info},
                         default=str))
    else:
        out.print(f"Stored {len(ref):,} {kind} features from {file} ({url})", markup=False)
        for note in ref.info.get("repaired", []):
            out.print(f"  repaired feature {note['feature']}: {note['reason']}", markup=False)
        named = ref.info.get("named_from_reference")
        if named:
            out.print(f"  {named['features']:,} unnamed sites named from {named['column']}")


@layers_app.command("list")
def layers_list(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the reference layers in the store."""
    url = database or _settings().store_url()
    with _refusals(as_json):
        infos = [i.to_dict() for i in _open(url).list_layers()]
    if as_json:
        print(json.dumps({"database": url, "layers": infos}, default=str))
        return
    if not infos:
        out.print(f"No reference layers in {url}; add one with: hotspot layers add KIND FILE")
    for i in infos:
        out.print(f"{i['kind']:<20} {i['features']:>7,} features  from {i['source']} "
                  f"({i['added_at']})", markup=False)


# --- basemap ----------------------------------------------------------------------------------

def _say_basemap(d: dict[str, Any], verb: str) -> None:
    kind = "vector" if d["vector"] else "image"
    size = f", {d['bytes'] / 1e6:,.2f} MB" if d.get("bytes") is not None else ""
    out.print(f"{verb} {d['path']}: {d['container']} {kind} tiles ({d['format']}), zoom "
              f"{d['minzoom']}-{d['maxzoom']}{size}", markup=False)
    if d.get("vector_layers"):
        out.print(f"  layers: {', '.join(d['vector_layers'])}", markup=False)


@basemap_app.command("add")
def basemap_add(
    file: Annotated[Path, typer.Argument(help="An .mbtiles or .pmtiles file of raster (PNG, "
                                         "JPEG, WebP) or vector (MVT) tiles.")],
    as_json: JsonOpt = False,
) -> None:
    """Check an offline basemap file and register it: the service serves its tiles at
    /tiles/{z}/{x}/{y} and the maps draw them instead of the online tiles (the file stays
    where it is; its path is kept in basemap.json in the data folder)."""
    from api.services.basemap import register, registration_path

    settings = _settings()
    with _refusals(as_json):
        basemap = register(settings, file)
    d = basemap.describe()
    if as_json:
        print(json.dumps({**d, "registered_in": str(registration_path(settings))}))
        return
    _say_basemap(d, "Registered")
    out.print(f"  recorded in {registration_path(settings)}: the maps draw it from their next load",
              markup=False)
    if settings.basemap_file is not None:
        out.print(f"  note: HOTSPOT_BASEMAP_FILE={settings.basemap_file} is set and wins over "
                  "this registration", markup=False)


@basemap_app.command("show")
def basemap_show(as_json: JsonOpt = False) -> None:
    """Say which offline basemap the service draws, if any."""
    from api.services.basemap import registered_file
    from geodata.basemaps import open_basemap

    path = registered_file(_settings())
    if path is None:
        if as_json:
            print(json.dumps({"basemap": None}))
        else:
            out.print("No offline basemap; add one with: hotspot basemap add FILE")
        return
    with _refusals(as_json):
        basemap = open_basemap(path)
        try:
            d = basemap.describe()
        finally:
            basemap.close()
    if as_json:
        print(json.dumps({"basemap": d}))
    else:
        _say_basemap(d, "Offline basemap")


@basemap_app.command("remove")
def basemap_remove(as_json: JsonOpt = False) -> None:
    """Forget the registered offline basemap (the file is left alone); the maps go back to the
    online tiles."""
    from api.services.basemap import unregister

    removed = unregister(_settings())
    if as_json:
        print(json.dumps({"removed": removed}))
    else:
        out.print("Offline basemap forgotten" if removed else "No offline basemap was registered")


# --- keys -------------------------------------------------------------------------------------

RoleOpt = Annotated[str, typer.Option(
    help="admin, analyst (ingest, every read, plans), rural_team (hotspots, plans, visits) or "
    "partner (aggregated hotspots only).")]


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="Who or what holds the key.")],
                role: RoleOpt, database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Make an API key; it is shown this once (the store keeps only a hash)."""
    from api.access import ROLES, new_key

    if role not in ROLES:
        raise _fail(f"role must be one of {', '.join(ROLES)}", as_json)
    url = database or _settings().store_url()
    with _refusals(as_json):
        token, record = new_key(_open(url), name=name, role=role)
    if as_json:
        print(json.dumps({"database": url, **record, "key": token}))
        return
    out.print(f"Key {record['key_id']} for {name} ({role}); keep it safe, it is shown once:")
    out.print(token, markup=False, highlight=False)


@keys_app.command("list")
def keys_list(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the keys (never their secrets)."""
    url = database or _settings().store_url()
    with _refusals(as_json):
        keys = _open(url).list_keys()
    if as_json:
        print(json.dumps({"database": url, "keys": keys}))
        return
    if not keys:
        out.print("No keys yet: hotspot keys create --name NAME --role admin")
    for k in keys:
        state = f"revoked {k['revoked_at']}" if k["revoked_at"] else "live"
        out.print(f"{k['key_id']}  {k['role']:<11} {k['name']}  ({state})", markup=False)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (hotspot keys list).")],
                database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Revoke a key: it and its sessions stop working at once."""
    url = database or _settings().store_url()
    with _refusals(as_json):
        done = _open(url).revoke_key(key_id)
    if not done:
        raise _fail(f"no live key {key_id}", as_json)
    if as_json:
        print(json.dumps({"key_id": key_id, "revoked": True}))
    else:
        out.print(f"Revoked {key_id}")


# --- published products --------------------------------------------------------------------

@app.command()
def publish(
    period: Annotated[str, typer.Argument(help="A whole month (2024-06) or quarter (2024-Q2), "
                                          "local time, that has ended and whose data is in.")],
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the partners' product of a month or quarter: counts on the force grid with small
    counts held back, and the hotspots made of its squares (never changed once published;
    products never overlap in time)."""
    from api.services.hotspots import ParameterError

    settings = _settings()
    url = database or settings.store_url()
    with _refusals(as_json):
        try:
            record = _publish(_open(url), period, settings)
        except ParameterError as exc:
            raise _fail(str(exc), as_json) from None
    if as_json:
        print(json.dumps({"database": url, "published": record}))
        return
    s = record["summary"]
    out.print(f"Published {record['period']}: {s['squares']:,} grid squares of {s['grid_m']:g} m "
              f"and {s['hotspots']} hotspots (counts under {s['min_count']} held back); partners "
              f"read it at /v1/hotspots?period={record['period']}", markup=False)


@app.command()
def products(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the published products, latest first."""
    from api.services.products import KIND

    url = database or _settings().store_url()
    with _refusals(as_json):
        found = _open(url).list_products(KIND)
    if as_json:
        print(json.dumps({"database": url, "products": found}))
        return
    if not found:
        out.print("No products published yet: hotspot publish 2024-06")
    for r in found:
        s = r["summary"]
        out.print(f"{r['period']:<8} published {r['published_at']}  {s.get('squares', 0):>6,} "
                  f"squares  {s.get('hotspots', 0):>4} hotspots", markup=False)


def _publish(store: Any, period: str, settings: Settings) -> dict[str, Any]:
    """Publish the product of ``period`` with the settings' grid and threshold (see
    :func:`api.services.products.publish`, whose errors it raises)."""
    from api.services.products import parse_period, publish
    from geodata.taxonomy import Taxonomy

    return publish(store, Taxonomy.load(settings.taxonomy_path),
                   parse_period(period, store.timezone), grid_m=settings.partner_grid_m,
                   min_count=settings.partner_min_incidents)


def _publish_demo(store: Any, months: list[str], settings: Settings) -> None:
    """Publish the demo's months for the demo partner key (skipping any already published)."""
    from api.services.hotspots import ParameterError
    from api.services.products import KIND
    from geodata.errors import PublicationConflict

    done = {r["period"] for r in store.list_products(KIND)}
    for month in months:
        if month not in done:
            with suppress(ParameterError, PublicationConflict):
                _publish(store, month, settings)


def _demo_keys(store: Any, folder: Path) -> dict[str, str]:
    """The demo's keys, one per role, kept in ``folder/demo-keys.json`` (the demo is
    fictional; a force's keys are never written down)."""
    from api.access import ROLES, check_key, new_key

    path = folder / "demo-keys.json"
    try:
        kept = json.loads(path.read_text())
        if all(check_key(store, kept.get(role, "")) for role in ROLES):
            return {role: kept[role] for role in ROLES}
    except (OSError, ValueError, AttributeError):
        pass
    keys = {role: new_key(store, name=f"demo {role}", role=role)[0] for role in ROLES}
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=1))
    path.chmod(0o600)
    return keys


# --- analyse ----------------------------------------------------------------------------------

def _help_of(name: str, p: Any) -> str:
    """An option's help: each method's own description of it (cell_size_m is KDE's and Gi*'s,
    with different defaults)."""
    from hotspot.params import METHODS

    methods = methods_taking(name)
    if not methods:
        return f"Every method: {p.describe()}"
    return " ".join(f"{m}: {q.describe()}" for m in methods for q in METHODS[m] if q.name == name)


def _method_options(func: Callable[..., None]) -> Callable[..., None]:
    """``func`` with one option per method parameter of :mod:`hotspot.params` (the API's query
    parameters: same names, help, bounds and defaults), passed to it as ``method_parameters``
    (the options given, as text; :func:`hotspot.params.validate` parses and checks them)."""
    declared = every_parameter()
    signature = inspect.signature(func, eval_str=True)
    base = [p for p in signature.parameters.values() if p.name != "method_parameters"]
    extra = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation=Annotated[str | None, typer.Option(
                "--" + name.replace("_", "-"), rich_help_panel="Method parameters",
                help=_help_of(name, p))])
        for name, p in declared.items()
    ]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        given = {name: kwargs.pop(name, None) for name in declared}
        func(**kwargs, method_parameters={k: v for k, v in given.items() if v is not None})

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in base] + extra)
    return wrapper


@app.command()
@_method_options
def analyse(
    database: DatabaseOpt = None,
    method: Annotated[str, typer.Option(
        help="kde, dbscan, gistar, or auto (the backtest's best; give --area-share).")
    ] = "dbscan",
    priority: Annotated[str | None, typer.Option(
        help="A plan priority: serious_organised, theft_burglary_robbery, rural, asb, other."
    )] = None,
    category: Annotated[list[str] | None, typer.Option(
        help="A taxonomy category (repeat for more).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month or day (YYYY-MM or "
                                                             "YYYY-MM-DD), local time.")] = None,
    to: Annotated[str | None, typer.Option(help="Last month or day, included.")] = None,
    heritage_distance_m: Annotated[float, typer.Option(
        help="How near a heritage site counts, metres.")] = 200.0,
    heritage_designation: Annotated[list[str] | None, typer.Option(
        help="Keep heritage sites of this designation only (repeat), e.g. 'Scheduled monument'."
    )] = None,
    weighted: Annotated[bool, typer.Option(
        help="Use the incidents' own weights (from the source file); --weight harm weighs them "
        "by harm instead.")] = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the hotspots as RFC 7946 GeoJSON to this file.")] = None,
    top: Annotated[int, typer.Option(help="Hotspots to list on screen.", min=0)] = 15,
    as_json: JsonOpt = False,
    method_parameters: dict[str, Any] | None = None,
) -> None:
    """Find, classify and rank hotspots (KDE, DBSCAN or Gi*) in the incidents of the store.

    The method parameters are the API's query parameters, with the same bounds and defaults
    (hotspot.params), so the same request gives the same hotspots."""
    from api.limits import WorkLimits
    from api.services.hotspots import (
        AnalysisOptions,
        ParameterError,
        run_analysis,
    )
    from geodata.harm import HarmTable
    from geodata.taxonomy import Taxonomy
    from hotspot import HotspotError

    settings = _settings()
    url = database or settings.store_url()
    params: dict[str, Any] = dict(method_parameters or {})
    with _refusals(as_json):
        store = _open(url)
        taxonomy = Taxonomy.load(settings.taxonomy_path)
        selection = _selection(store, from_, to, category, priority, as_json)
        options = AnalysisOptions(
            heritage_distance_m=heritage_distance_m,
            heritage_designations=tuple(heritage_designation) if heritage_designation else None,
            weighted=weighted, parameters=params, harm=HarmTable.load(settings.harm_table),
        )
        try:
            places = choice = None
            if method == "auto":
                places, choice = _auto(store, taxonomy, selection, params, as_json)
            result, metadata = run_analysis(store, taxonomy, method=method, selection=selection,
                                            options=options,
                                            limits=WorkLimits.from_settings(settings),
                                            places=places, choice=choice)
        except (HotspotError, ParameterError) as exc:
            raise _fail(str(exc), as_json) from None
    collection = result.to_feature_collection(metadata)
    if out_file:
        out_file.write_text(json.dumps(collection), "utf-8")
    table = result.hotspots
    summary = {"database": url, "method": result.method, "parameters": result.parameters,
               "summary": result.info, "data_version": metadata["data_version"],
               "selection": metadata["selection"], "out": str(out_file) if out_file else None,
               "hotspots": [
                   {k: f["properties"][k] for k in ("id", "rank", "context_class", "name", "place",
                                                    "incidents", "top_category", "trend")}
                   for f in collection["features"][:top]]}
    if as_json:
        print(json.dumps(summary, default=str))
        return
    info = result.info
    retro = info.get("retrospective", {})
    out.print(f"{result.method.upper()} on {info['incidents']:,} incidents "
              f"({metadata['data_version']}): {info['hotspots']} places hold "
              f"{retro.get('hit_rate', 0):.1%} of the incidents they were drawn from in "
              f"{info['area_share']:.2%} of the area (retrospective PAI {retro.get('pai')})"
              + (f"; prospective PAI {info['pai']} (backtest)" if info.get("pai_basis")
                 == "prospective" else ""), markup=False)
    if metadata.get("choice"):
        out.print("  " + str(metadata["choice"]["sentence"]), markup=False)
    if info.get("note"):
        out.print("  note: " + str(info["note"]), markup=False)
    shown = {k: v for k, v in result.parameters.items() if v is not None}
    out.print("  parameters: " + ", ".join(f"{k}={v}" for k, v in shown.items()), markup=False)
    if "min_samples_auto" in info:
        auto = info["min_samples_auto"]
        out.print(f"  min_samples followed the background: {auto['min_samples_range'][0]:g} to "
                  f"{auto['min_samples_range'][1]:g} (median {auto['min_samples_median']:g})")
    for _, row in table.head(top).iterrows():
        hours = ",".join(f"{h:02d}h" for h in row["peak_hours"]) or "-"
        out.print(
            f"  {row['rank']:>3}. {row['id']}  {row['context_class']:<13} "
            f"{row['name'] or ''!s:<32.32} {row['incidents']:>6,} incidents "
            f"{row['harm']:>8,.0f} harm  {row['area_m2'] / 1e6:6.3f} km2  "
            f"{row['top_category']!s:<20.20} trend {row['trend']:<7} "
            f"{(row['emerging'] or '-').replace('_', ' '):<16} peak {hours}", markup=False)
    if out_file:
        out.print(f"  written to {out_file}", markup=False)


def _auto(store: Any, taxonomy: Any, selection: Selection, params: dict[str, Any],
          as_json: bool) -> tuple[Any, dict[str, Any]]:
    """The places and choice of ``--method auto``: the stored backtest of the selection's
    categories on the current data, or a new one (run here, then stored)."""
    from api.services.backtests import BacktestSpec, auto_places, run_backtest
    from hotspot.params import validate

    given = validate("auto", params, defaults=False)
    spec = BacktestSpec.of(selection, taxonomy)
    document, reused = run_backtest(
        store, spec, progress=None if as_json else (lambda m: err.print(m, markup=False)))
    if not as_json:
        err.print(("reusing the stored backtest " if reused else "stored the backtest ")
                  + str(document["key"]), markup=False)
    return auto_places(store, taxonomy, selection, given, document)


def _selection(store: Store, from_: str | None, to: str | None, category: list[str] | None,
               priority: str | None, as_json: bool) -> Selection:
    """The analysis selection of --from/--to/--category/--priority (exit 2 when invalid)."""
    from api.services.hotspots import ParameterError, Selection, period_bound

    try:
        selection: Selection = Selection(
            start=period_bound(from_, store.timezone, end=False, field="--from"),
            end=period_bound(to, store.timezone, end=True, field="--to"),
            categories=tuple(category) if category else None, priority=priority)
    except ParameterError as exc:
        raise _fail(str(exc), as_json, 2) from None
    if selection.start and selection.end and selection.start >= selection.end:
        raise _fail("--to must not be before --from", as_json, 2)
    return selection


@app.command("near-repeat")
def near_repeat_command(
    database: DatabaseOpt = None,
    priority: Annotated[str | None, typer.Option(help="A plan priority.")] = None,
    category: Annotated[list[str] | None, typer.Option(
        help="A taxonomy category (repeat for more). Default: burglary, vehicle crime, "
        "agricultural and plant theft.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First month or day (YYYY-MM or "
                                                             "YYYY-MM-DD), local time.")] = None,
    to: Annotated[str | None, typer.Option(help="Last month or day, included.")] = None,
    distance_bands_m: Annotated[str, typer.Option(
        help="Distance band edges, metres, from 0 (left-closed, right-open).")] = "0,100,200,400,800",
    day_bands: Annotated[str, typer.Option(
        help="Day band edges, from 0 (left-closed, right-open).")] = "0,7,14,21,28",
    permutations: Annotated[int, typer.Option(help="Monte Carlo permutations of the dates.")
                            ] = 99,
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 0,
    as_of: Annotated[str | None, typer.Option(
        help="Risk zones for the incidents up to this day (YYYY-MM-DD, included); default: the "
        "latest incident.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the risk zones as RFC 7946 GeoJSON to this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Near-repeat risk: the Knox test (distance and day bands, seeded permutations) on
    incidents dated to the day, and the risk zones it implies (data.police.uk months: refused)."""
    from api.routes.nearrepeat import near_repeat, parse_bands
    from api.services.hotspots import ParameterError, period_bound
    from geodata.taxonomy import Taxonomy
    from hotspot import HotspotError
    from hotspot.nearrepeat import DAY_BANDS, DISTANCE_BANDS_M, MAX_PAIRS, MAX_WORK

    settings = _settings()
    url = database or settings.store_url()
    with _refusals(as_json):
        store = _open(url)
        taxonomy = Taxonomy.load(settings.taxonomy_path)
        selection = _selection(store, from_, to, category, priority, as_json)
        try:
            bands = parse_bands(distance_bands_m, DISTANCE_BANDS_M, "--distance-bands-m")
            days = parse_bands(day_bands, DAY_BANDS, "--day-bands")
            until = period_bound(as_of, store.timezone, end=True, field="--as-of")
        except ParameterError as exc:
            raise _fail(str(exc), as_json, 2) from None
        try:
            found = near_repeat(store, taxonomy, selection, distance_bands_m=bands,
                                day_bands=days, permutations=permutations, seed=seed,
                                as_of=until, max_pairs=MAX_PAIRS, max_work=MAX_WORK)
        except (HotspotError, ParameterError) as exc:
            raise _fail(str(exc), as_json) from None
    if out_file:
        out_file.write_text(json.dumps(found.zones_geojson()), "utf-8")
    body = found.to_dict()
    reading = found.result.plain_reading(found.metadata["noun"])
    if as_json:
        print(json.dumps({**body, "reading": reading, "database": url,
                          "out": str(out_file) if out_file else None}, default=str))
        return
    r = found.result
    out.print(f"Knox test of {r.incidents:,} incidents ({body['data_version']}): {r.pairs:,} "
              f"pairs within {r.distance_edges_m[-1]:g} m, {r.permutations} permutations "
              f"(seed {r.seed})", markup=False)
    out.print(f"  {'distance m':>12} {'days':>9} {'observed':>9} {'expected':>10} "
              f"{'ratio':>6} {'p':>6}", markup=False)
    for row in r.table.itertuples():
        mark = " zone" if row.in_zone else " *" if row.significant else ""
        out.print(f"  {row.distance_from_m:>5g}-{row.distance_to_m:<6g} "
                  f"{row.days_from:>3g}-{row.days_to:<5g} {row.observed:>9,} "
                  f"{row.expected:>10,.1f} {row.ratio:>6.2f} {row.p_value:>6.2f}{mark}",
                  markup=False)
    out.print("  (* significant, p <= 0.05 and more pairs than chance; zone: the near-repeat "
              "zone)", markup=False)
    out.print(reading, markup=False)
    if body["left_out_month_only"]:
        out.print(f"  {body['left_out_month_only']:,} incidents dated to the month only were "
                  "left out", markup=False)
    if out_file:
        out.print(f"  {len(found.zones):,} risk zones as of {body['as_of']} written to "
                  f"{out_file}", markup=False)


@app.command()
def backtest(
    database: DatabaseOpt = None,
    priority: Annotated[str | None, typer.Option(
        help="A plan priority (its categories); default every incident.")] = None,
    category: Annotated[list[str] | None, typer.Option(
        help="A taxonomy category (repeat for more).")] = None,
    share: Annotated[list[float] | None, typer.Option(
        help="An area share to compare at, 0-1 (repeat; default 0.001, 0.005 and 0.01: the "
        "backtest --method auto uses; other shares make a backtest of their own).",
        min=1e-6, max=1.0)] = None,
    test_months: Annotated[int, typer.Option(
        help="How many of the latest months to test, each fitted on every earlier month.",
        min=1, max=120)] = 6,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Write the whole result (every fold) as JSON to this file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Backtest every hotspot method on the months in the store (fit on the months before each
    test month, count the test month's incidents inside the places, at equal area) and store
    the result; hotspot analyse --method auto uses the method it chooses. A stored result is
    reused while the data has not changed."""
    from api.services.backtests import BacktestSpec, run_backtest
    from api.services.hotspots import ParameterError
    from geodata.taxonomy import Taxonomy
    from hotspot import HotspotError
    from hotspot.backtest import SHARES

    settings = _settings()
    url = database or settings.store_url()
    with _refusals(as_json):
        store = _open(url)
        taxonomy = Taxonomy.load(settings.taxonomy_path)
        selection = _selection(store, None, None, category, priority, as_json)
        try:
            spec = BacktestSpec.of(selection, taxonomy, shares=tuple(share or SHARES),
                                   test_months=test_months)
            document, reused = run_backtest(
                store, spec, progress=None if as_json else (lambda m: err.print(m, markup=False)))
        except (HotspotError, ParameterError) as exc:
            raise _fail(str(exc), as_json) from None
    if out_file:
        out_file.write_text(json.dumps(document), "utf-8")
    rows = document["summary"]
    if as_json:
        print(json.dumps({"database": url, "key": document["key"], "reused": reused,
                          "chosen": document["chosen"], "tested": document["tested"],
                          "priority": document["priority"], "summary": rows,
                          "out": str(out_file) if out_file else None}))
        return
    out.print(f"Backtest of {len(document['candidates'])} methods, tested on "
              f"{', '.join(document['tested'])} (each fitted on every month before it)"
              f"{' (stored result reused)' if reused else ''}", markup=False)
    out.print("  hit rate = share of the test month's incidents inside the places; PAI = hit "
              "rate / area share (equal area); PEI* = hit rate / the best possible at that "
              "area; RRI = test hit rate / fitting hit rate", markup=False)
    for s in document["shares"]:
        out.print(f"  at {s:.1%} of the force area:", markup=False)
        at = sorted((r for r in rows if abs(r["share"] - s) < 1e-12),
                    key=lambda r: -(r["pai_at_budget"] or 0))
        for r in at:
            mark = " <- chosen" if r["candidate"] == document["chosen"] else ""
            out.print(f"    {r['candidate']:<18} hit rate {r['hit_rate']:6.1%} "
                      f"(worst fold {r['hit_rate_min']:6.1%})  PAI {r['pai_at_budget']:7.1f}  "
                      f"PEI* {r['pei_star']:.2f}  RRI {r['rri']:.2f}  "
                      f"{r['places']:>7,.0f} places{mark}", markup=False)
    out.print(f"  chosen: {document['chosen']} (stored as {document['key']})", markup=False)


@app.command("map")
@_method_options
def map_command(
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    database: DatabaseOpt = None,
    method: Annotated[str, typer.Option(
        help="kde, dbscan, gistar, or auto (the backtest's best; give --area-share).")
    ] = "dbscan",
    priority: Annotated[str | None, typer.Option(help="A plan priority.")] = None,
    category: Annotated[list[str] | None, typer.Option(help="A category (repeat).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="YYYY-MM or YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option(help="Last month or day, included.")] = None,
    tiles: Annotated[str | None, typer.Option(
        help="Basemap tile URL ('none' for no basemap). Default: HOTSPOT_TILE_URL.")] = None,
    as_json: JsonOpt = False,
    method_parameters: dict[str, Any] | None = None,
) -> None:
    """Write the planner's map as one self-contained HTML file that opens with no network (the
    method parameters are those of hotspot analyse and the API)."""
    from api.limits import WorkLimits
    from api.services.basemap import force_basemap
    from api.services.hotspots import (
        ATTRIBUTION,
        AnalysisOptions,
        ParameterError,
        density_grid,
        map_layers,
        map_summary,
        run_analysis,
        tile_url,
    )
    from geodata.harm import HarmTable
    from geodata.taxonomy import Taxonomy
    from hotspot import HotspotError
    from hotspot.params import validate
    from maps import PageOptions, density_image, planner_map

    settings = _settings()
    url = database or settings.store_url()
    params: dict[str, Any] = dict(method_parameters or {})
    with _refusals(as_json):
        store = _open(url)
        taxonomy = Taxonomy.load(settings.taxonomy_path)
        selection = _selection(store, from_, to, category, priority, as_json)
        try:
            places = choice = None
            if method == "auto":
                places, choice = _auto(store, taxonomy, selection, params, as_json)
            result, metadata = run_analysis(
                store, taxonomy, method=method, selection=selection,
                options=AnalysisOptions(parameters=params,
                                        harm=HarmTable.load(settings.harm_table)),
                limits=WorkLimits.from_settings(settings), places=places, choice=choice)
            surface = validate("kde", {k: params.get(k) for k in
                                       ("bandwidth_m", "cell_size_m", "kernel")})
        except (HotspotError, ParameterError) as exc:
            raise _fail(str(exc), as_json) from None
        if surface["bandwidth_m"] == "silverman":
            surface["bandwidth_m"] = None
        image = None
        # no surface for a selection of none or one incident: the hotspots still show
        with suppress(HotspotError, ParameterError):
            image = density_image(density_grid(
                store, taxonomy, selection, limits=WorkLimits.from_settings(settings),
                bandwidth_m=surface["bandwidth_m"], cell_size_m=surface["cell_size_m"],
                kernel=surface["kernel"])[0])
        info = result.info
        tiles_url = tile_url(tiles if tiles is not None else settings.tile_url)
        choice_made = metadata.get("choice")
        page = planner_map(result.hotspots, map_layers(store), PageOptions(
            tiles_url=tiles_url, tiles_attribution=settings.tile_attribution, inline=True,
            basemap_features=force_basemap(store), density=image,
            summary=map_summary(method, info, metadata["data_version"], choice=choice_made,
                                sentence=False),
            headline=(choice_made or {}).get("sentence", ""),
            harm_approximate=bool(metadata["harm"]["approximate"]),
            emerging_months=(info.get("emerging") or {}).get("months"),
            attribution=ATTRIBUTION,
        ))
        out_file.write_text(page, "utf-8")
    summary = {"out": str(out_file), "bytes": out_file.stat().st_size,
               "hotspots": info["hotspots"], "data_version": metadata["data_version"]}
    if as_json:
        print(json.dumps(summary))
    else:
        out.print(f"Wrote {out_file} ({summary['bytes'] / 1e6:.2f} MB, {info['hotspots']} "
                  "places): it opens from disk with no network.", markup=False)


# --- info -------------------------------------------------------------------------------------

@app.command()
def info(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """Say what the store holds: incidents, layers, recent ingests."""
    url = database or _settings().store_url()
    with _refusals(as_json):
        store = _open(url)
        health = store.health()
        recent = store.ingests(10)
    if as_json:
        print(json.dumps({"database": url, "store": health, "ingests": recent}, default=str))
        return
    out.print(f"{url}: {health.get('incidents', 0):,} incidents ({health.get('purpose') or 'empty'}),"
              f" CRS {health.get('crs')}, data version {health.get('data_version')}", markup=False)
    out.print(f"  layers: {', '.join(health.get('layers', [])) or 'none'}")
    for r in recent:
        out.print(f"  {r['finished_at']}  {r['source']}: {r['accepted']:,} accepted, "
                  f"{r['duplicates']:,} duplicates, {r['rejected']:,} rejected", markup=False)


def main() -> None:
    """Entry point of the ``hotspot`` console script."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
