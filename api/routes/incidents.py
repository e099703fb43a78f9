"""Incidents: upload (multipart CSV, raw CSV or GeoJSON) and paged GeoJSON queries."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from api import metrics
from api.deps import SettingsDep, StoreDep, TaxonomyDep
from api.errors import InvalidInput, TooManyRows, UnsupportedMediaType
from api.schemas import IncidentCollection, IngestReportOut, NeighbourIngestOut
from api.services.selection import Selection, parse_bbox, period_bound, split_categories
from api.services.stop_search import OutcomesIngestOut, StopSearchIngestOut
from api.settings import Settings
from geodata.ingest import (
    INCIDENTS,
    OUTCOMES,
    STOP_SEARCH,
    file_kind,
    ingest,
    outcomes_report,
    stop_search_report,
)
from geodata.layers import force_area
from geodata.readers import ForceExportMapping, ReadOptions, open_reader
from geodata.readers.police_api import looks_like_police_api_json
from geodata.schema import IncidentFilter
from geodata.stores import AccessStore, IncidentStore, Store
from geodata.taxonomy import Taxonomy, UnknownTypePolicy

router = APIRouter(prefix="/v1", tags=["incidents"])

Format = Literal["auto", "police", "police-api", "force", "geojson", "outcomes", "stop-search"]
_SPOOL = 8 * 1024 * 1024

_UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "description": "A data.police.uk street-level CSV, outcomes CSV (updates the stored "
        "crimes' outcomes by Crime ID, adds none) or stop-and-search CSV (stored apart from "
        "incidents), data.police.uk API crimes (its JSON "
        "crime list or a flattened CSV of it), a force export CSV or GeoJSON points: "
        "as a multipart upload (field `file`, optional `mapping` with a TOML column mapping "
        "for a force export), or as the raw body (`text/csv`, `application/geo+json`).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "mapping": {"type": "string",
                                    "description": "TOML column mapping for a force export"},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


def _spool() -> BinaryIO:
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=_SPOOL))  # closed by caller


def _run_ingest(
    store: Store,
    settings: Settings,
    taxonomy: Taxonomy,
    file: BinaryIO,
    *,
    name: str,
    fmt: str,
    mapping: ForceExportMapping | None,
    unknown: UnknownTypePolicy,
    neighbour: str | None = None,
) -> dict[str, Any]:
    if neighbour is not None:  # a neighbouring force's file: its own labelled source
        from geodata.neighbours import load_neighbour, neighbour_read_options

        file.seek(0)
        reader = open_reader(file, format=fmt, name=name, mapping=mapping,
                             options=neighbour_read_options(store, taxonomy=taxonomy,
                                                            unknown_types=unknown))
        return load_neighbour(store, _RowLimit(reader, settings.max_upload_rows),  # type: ignore[arg-type]
                              source=neighbour)
    options = ReadOptions(
        taxonomy=taxonomy,
        area=force_area(store, settings.area_buffer_m),
        crs=store.crs,
        timezone=store.timezone,
        unknown_types=unknown,
    )
    kind = _file_kind(file, fmt, name)
    if kind != INCIDENTS:  # outcomes or stop and search (api.services.stop_search)
        return _load_other(store, settings, file, kind=kind, name=name, options=options)
    file.seek(0)
    reader = open_reader(file, format=fmt, name=name, options=options, mapping=mapping)
    report = ingest(store, _RowLimit(reader, settings.max_upload_rows),  # type: ignore[arg-type]
                    max_detail=settings.report_rows)
    return report.to_dict()


def _file_kind(file: BinaryIO, fmt: str, name: str = "") -> str:
    """What an upload holds: named by ``format``, else from its header."""
    if fmt in (OUTCOMES, STOP_SEARCH):
        return fmt
    if fmt != "auto":
        return INCIDENTS
    file.seek(0)
    return file_kind(file.read(65536), name)


def _load_other(store: Store, settings: Settings, file: BinaryIO, *, kind: str, name: str,
                options: ReadOptions) -> dict[str, Any]:
    """Apply an outcomes file to the stored incidents (by Crime ID, never a new incident), or
    store a stop and search file; past ``max_upload_rows`` rows nothing is changed."""
    from geodata.errors import TooManyRecords
    from geodata.readers.outcomes import read_outcomes
    from geodata.readers.stop_search import read_stop_search

    started = time.perf_counter()
    file.seek(0)
    # read no further than the row limit, and keep only the rejected rows the report lists
    rows, keep = settings.max_upload_rows, settings.report_rows
    try:
        if kind == OUTCOMES:
            read: Any = read_outcomes(file, name=name, max_rows=rows, keep_rejected=keep)
        else:
            read = read_stop_search(file, options, name=name, max_rows=rows,
                                    keep_rejected=keep)
    except TooManyRecords:
        raise TooManyRows(settings.max_upload_rows) from None
    if kind == OUTCOMES:
        return outcomes_report(store, read, started=started, max_detail=settings.report_rows)
    return stop_search_report(store, read, started=started, max_detail=settings.report_rows)


class _RowLimit:
    """A reader that raises :class:`TooManyRows` past ``limit`` rows (accepted or rejected):
    the ingest's transaction is then rolled back, and nothing is stored."""

    def __init__(self, reader: Any, limit: int) -> None:
        self._reader = reader
        self._limit = limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    def __iter__(self) -> Any:
        rows = 0
        for chunk in self._reader:
            rows += len(chunk.incidents) + len(chunk.rejected)
            if rows > self._limit:
                raise TooManyRows(self._limit)
            yield chunk


@router.post(
    "/incidents",
    status_code=201,
    response_model=IngestReportOut | NeighbourIngestOut | OutcomesIngestOut
    | StopSearchIngestOut,
    openapi_extra=_UPLOAD_DOC,
    responses={
        200: {"model": IngestReportOut | NeighbourIngestOut | OutcomesIngestOut
              | StopSearchIngestOut,
              "description": "Read, but nothing new was stored."},
        409: {"description": "The store holds the demo (or a force's data) and will not mix."},
        413: {"description": "The upload is over the size limit (HOTSPOT_MAX_UPLOAD_BYTES)."},
        415: {"description": "The body is not multipart, CSV or GeoJSON."},
        422: {"description": "The file cannot be read at all (empty, wrong header...)."},
    },
)
async def upload_incidents(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    format: Format = Query("auto", description="File format; auto looks at name and header."),
    source: str | None = Query(None, max_length=200, description="Name shown in the report."),
    unknown_crime_types: Literal["other", "reject"] | None = Query(
        None, description="Crime types not in the taxonomy: map to 'other' or reject the row "
        "(default: the HOTSPOT_UNKNOWN_CRIME_TYPES setting)."),
    neighbour: str | None = Query(None, max_length=100, description="Load the file as a "
                                  "neighbouring force's, under this label (\"Westmarch "
                                  "Police\"): kept apart from the force's incidents, read only "
                                  "by GET /v1/cross-border; the report counts "
                                  "duplicates_of_force (rows the force holds: not stored)."),
) -> JSONResponse:
    """Load incidents and answer with the ingest report: what was accepted, skipped as a
    duplicate and rejected (with line and reason). Re-sending a file adds nothing; a file that
    cannot be read stores nothing. 201 when something new was stored, else 200."""
    if neighbour is not None:
        from geodata.errors import InvalidValue
        from geodata.neighbours import neighbour_label

        try:
            neighbour = neighbour_label(neighbour)
        except InvalidValue as exc:
            raise InvalidInput(str(exc), field="neighbour") from None
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    mapping: ForceExportMapping | None = None
    name = source or ""
    unknown = UnknownTypePolicy(unknown_crime_types or settings.unknown_crime_types)
    if ctype == "multipart/form-data":
        async with request.form(max_files=2, max_fields=10) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInput("a multipart upload needs the file in a field named 'file'",
                                   field="file")
            raw_mapping = form.get("mapping")
            if isinstance(raw_mapping, UploadFile):
                raw_mapping = (await raw_mapping.read()).decode("utf-8", "replace")
            if raw_mapping:
                mapping = ForceExportMapping.from_toml_text(str(raw_mapping), source="mapping")
            name = name or upload.filename or "upload"
            report = await run_in_threadpool(
                _run_ingest, store, settings, taxonomy, upload.file,
                name=name, fmt=format, mapping=mapping, unknown=unknown, neighbour=neighbour,
            )
    elif ctype in ("text/csv", "application/csv", "text/plain", "application/geo+json",
                   "application/json"):
        json_body = format == "auto" and ctype.endswith("json")
        with _spool() as body:
            async for piece in request.stream():
                body.write(piece)
            if json_body:  # GeoJSON or JSON records, unless a data.police.uk API crime list
                body.seek(0)
                format = "police-api" if looks_like_police_api_json(body.read(65536)) else "geojson"
            report = await run_in_threadpool(
                _run_ingest, store, settings, taxonomy, body,
                name=name or "upload", fmt=format, mapping=None, unknown=unknown,
                neighbour=neighbour,
            )
    else:
        raise UnsupportedMediaType(
            f"send the file as multipart/form-data (field 'file'), text/csv or "
            f"application/geo+json, not {ctype or 'no content type'}",
            field="content-type",
        )
    # an outcomes file adds nothing (it updates stored incidents): 200, and the audit counts
    # the incidents it updated
    outcomes = report.get("kind") == OUTCOMES
    status = 201 if report["counts"]["accepted"] and not outcomes else 200
    metrics.ingested(request.app, report, neighbour=neighbour is not None)
    await run_in_threadpool(_audit, request, store, "ingest",
                            {"source": report.get("file", report.get("source")),
                             "format": format,
                             "records": report["counts"].get("records"),
                             **({"neighbour": report["source"]} if neighbour else {})},
                            int(report["counts"]["updated" if outcomes else "accepted"]))
    request.app.state.warming.start(request.app)  # old results out, default views in (api.warm)
    return JSONResponse(report, status_code=status)


def _audit(request: Request, store: AccessStore, action: str, filter: dict[str, Any],
           rows: int) -> None:
    """Append to the audit log: who did it (the caller's key), the filter, how many rows."""
    who = getattr(request.state, "principal", None)
    store.audit(key_id=who.key_id if who else None, role=who.role if who else None,
                action=action, path=request.url.path, filter=filter, rows=rows)


@dataclass
class IncidentQuery:
    """Query parameters of GET /v1/incidents."""

    from_: str | None = Query(None, alias="from", description="Start (inclusive): a month "
                              "(YYYY-MM), date or date-time in the force's time zone, or with an "
                              "offset.")
    to: str | None = Query(None, description="End: a date-time (exclusive), or a month or date "
                           "(that whole month or day included).")
    category: list[str] | None = Query(None, description="Taxonomy categories (repeat the "
                                       "parameter or separate with commas).")
    priority: str | None = Query(None, description="A plan priority: all its categories.")
    bbox: str | None = Query(None, description="min longitude,min latitude,max longitude,"
                             "max latitude (WGS84).")
    limit: int | None = Query(None, ge=1, description="Incidents per page: default 1000, at "
                              "most HOTSPOT_MAX_PAGE_SIZE.")
    offset: int = Query(0, ge=0, le=10**9)


def build_filter(q: IncidentQuery, store: IncidentStore, taxonomy: Taxonomy) -> IncidentFilter:
    """Validate the query against the taxonomy and turn it into an :class:`IncidentFilter`.

    Raises
    ------
    InvalidInput
        Naming the parameter at fault.
    """
    start = period_bound(q.from_, store.timezone, end=False, field="from")
    end = period_bound(q.to, store.timezone, end=True, field="to")
    categories = Selection(categories=split_categories(q.category),
                           priority=q.priority).categories_for(taxonomy)
    lonlat = parse_bbox(q.bbox) if q.bbox else None
    if start is not None and end is not None and start >= end:
        raise InvalidInput("'to' must be after 'from'", field="to")
    return IncidentFilter(start=start, end=end, categories=categories, lonlat_bbox=lonlat)


def _page_url(request: Request, offset: int) -> str:
    return str(request.url.include_query_params(offset=offset))


@router.get(
    "/incidents",
    response_model=IncidentCollection,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def list_incidents(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    taxonomy: TaxonomyDep,
    q: IncidentQuery = Depends(),
) -> JSONResponse:
    """Incidents as a GeoJSON FeatureCollection (RFC 7946: WGS84 longitude/latitude), ordered
    by time, one page at a time (``limit``/``offset``; ``links`` has the next page).
    Month-only incidents (data.police.uk) count at the first instant of their month."""
    limit = q.limit or min(1000, settings.max_page_size)
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit must be at most {settings.max_page_size}", field="limit")
    flt = build_filter(q, store, taxonomy)
    page = store.incident_records(flt, offset=q.offset, limit=limit)
    features = []
    for rec in page.records:
        props = {k: v for k, v in rec.items() if k not in ("lon", "lat", "id")}
        props["priority"] = taxonomy.categories[rec["category"]].priority \
            if rec["category"] in taxonomy.categories else None
        features.append({
            "type": "Feature",
            "id": rec["id"],
            "geometry": {"type": "Point", "coordinates": [round(rec["lon"], 6),
                                                          round(rec["lat"], 6)]},
            "properties": props,
        })
    links = [{"rel": "self", "href": str(request.url), "type": "application/geo+json"}]
    nxt = page.offset + len(features)
    if nxt < page.total:
        links.append({"rel": "next", "href": _page_url(request, nxt),
                      "type": "application/geo+json"})
    if page.offset > 0:
        links.append({"rel": "prev", "href": _page_url(request, max(0, page.offset - limit)),
                      "type": "application/geo+json"})
    body = {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": page.total,
        "numberReturned": len(features),
        "links": links,
        "data_version": page.data_version,
        "filters": {
            "from": q.from_, "to": q.to,
            "categories": list(flt.categories) if flt.categories is not None else None,
            "bbox": list(flt.lonlat_bbox) if flt.lonlat_bbox else None,
            "limit": limit, "offset": q.offset,
        },
        "crs_note": f"geometry is WGS84 longitude/latitude; properties x, y are metres in "
        f"{store.crs}",
    }
    _audit(request, store, "read_incidents", cast(dict[str, Any], body["filters"]),
           len(features))
    return JSONResponse(body, media_type="application/geo+json")
