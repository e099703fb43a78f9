"""Persistent anti-social behaviour in the store: the repeat locations of
:func:`hotspot.persistent.persistent_places` over the last N months, as a JSON-able answer, a
CSV and GeoJSON; shared by ``GET /v1/asb/persistent``, the ``/asb`` page, the planner's map
(its "Persistent ASB" overlay) and ``hotspot asb``.

The places are exact map points or, in a force's own export, exact addresses: for the force's
staff and the Rural Crime Team only (never partners).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from api.formats import ATTRIBUTION, csv_cell
from api.service_errors import InvalidInput, as_invalid_input
from api.services.hotspots import latest_complete_month
from geodata.schema import IncidentFilter, Precision
from geodata.stores import IncidentStore
from geodata.taxonomy import Taxonomy
from hotspot.persistent import ASB_CATEGORIES, RADIUS_M, PersistentPlaces, persistent_places
from hotspot.placecounts import local_months, month_range

MONTHS = 12
"""Months looked at unless the caller says otherwise."""
MAX_MONTHS = 36
"""Most months one request may look at (bounds the incidents read)."""
MAX_RADIUS_M = 2000.0
"""Largest radius of the nearby places and the category mix, metres (bounds the counting)."""
MAX_LIMIT = 1000
"""Most places one answer lists."""
PRIVACY = ("Exact map points and, in a force's own export, exact addresses: for the force's "
           "staff and the Rural Crime Team and for multi-agency case work under an "
           "information-sharing agreement; never shared with partners as they are.")
_MONTH = re.compile(r"^(19|20)\d\d-(0[1-9]|1[0-2])$", re.ASCII)


def default_min_months(months: int) -> int:
    """Months with ASB that make a place persistent when the caller does not say: half the
    months looked at, rounded up (6 of 12)."""
    return max(1, math.ceil(months / 2))


def check_parameters(months: int, min_months: int | None, radius_m: float,
                     end: str | None, limit: int | None = None) -> int:
    """Check the parameters; return ``min_months`` (its default when None).

    Raises
    ------
    InvalidInput
        Naming the field: ``months`` outside 1 to :data:`MAX_MONTHS`, ``min_months`` outside
        1 to ``months``, ``radius_m`` outside (0, :data:`MAX_RADIUS_M`], ``end`` not a
        ``YYYY-MM`` month, ``limit`` outside 1 to :data:`MAX_LIMIT`.
    """
    if isinstance(months, bool) or not 1 <= int(months) <= MAX_MONTHS:
        raise InvalidInput(f"months must be from 1 to {MAX_MONTHS}", "months")
    wanted = default_min_months(months) if min_months is None else int(min_months)
    if not 1 <= wanted <= months:
        raise InvalidInput(f"min_months must be from 1 to months ({months})", "min_months")
    if not (math.isfinite(radius_m) and 0 < radius_m <= MAX_RADIUS_M):
        raise InvalidInput(f"radius_m must be more than 0 and at most {MAX_RADIUS_M:g} metres",
                           "radius_m")
    if end is not None and not _MONTH.match(end):
        raise InvalidInput("end must be a month, YYYY-MM (1900 to 2099)", "end")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be from 1 to {MAX_LIMIT}", "limit")
    return wanted


def _window(months: list[str], timezone: str) -> tuple[int, int]:
    """The first instant of the first month and of the month after the last (seconds, UTC)."""
    first = pd.Timestamp(f"{months[0]}-01").tz_localize(timezone)
    after = (pd.Period(months[-1], freq="M") + 1).start_time.tz_localize(timezone)
    return int(first.value // 10**9), int(after.value // 10**9)


def find_persistent(
    store: IncidentStore,
    *,
    months: int = MONTHS,
    min_months: int | None = None,
    radius_m: float = RADIUS_M,
    end: str | None = None,
    categories: tuple[str, ...] = ASB_CATEGORIES,
    limit: int | None = MAX_LIMIT,
) -> tuple[PersistentPlaces | None, str, str | None]:
    """The persistent places of the ``months`` months ending with ``end`` (``YYYY-MM``, local;
    default the store's latest whole month), the best ``limit`` described: (result, data
    version, end month). The result is None when the store holds no incidents.

    Raises
    ------
    InvalidInput
        A parameter out of range (:func:`check_parameters`), naming it.
    """
    wanted = check_parameters(months, min_months, radius_m, end)
    version = store.data_version()
    last = end or latest_complete_month(store)
    if last is None:
        return None, version, None
    span = month_range(str(pd.Period(last, freq="M") - (months - 1)), last)
    start, after = _window(span, store.timezone)
    cols = store.incidents(IncidentFilter(start=start, end=after), extra=("location_text",),
                           lonlat=False)
    month = local_months(cols.occurred_at, store.timezone)
    exact = np.asarray(cols.precision) != int(Precision.MONTH)
    text = np.asarray(cols.extra["location_text"], dtype=object)
    with as_invalid_input():
        found = persistent_places(cols.x, cols.y, month, np.asarray(cols.category, dtype=object),
                                  text, months=span, exact_address=exact,
                                  min_months=wanted, radius_m=radius_m,
                                  asb_categories=categories, limit=limit)
    return found, cols.data_version, last


def _lonlat(x: np.ndarray, y: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    if not len(x):
        return np.empty(0), np.empty(0)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.round(np.asarray(lon), 6), np.round(np.asarray(lat), 6)


def persistent_answer(
    store: IncidentStore,
    taxonomy: Taxonomy,
    *,
    months: int = MONTHS,
    min_months: int | None = None,
    radius_m: float = RADIUS_M,
    end: str | None = None,
    limit: int | None = 100,
) -> dict[str, Any]:
    """The JSON answer of ``GET /v1/asb/persistent``: the months, the parameters, the counts
    and the first ``limit`` persistent places, each with its WGS84 position, store-CRS
    position (metres), month-by-month ``history`` ({month: ASB incidents}), ``nearby`` places
    and ``category_mix`` ([{category, label, incidents}], largest first).

    Raises
    ------
    InvalidInput
        A parameter out of range, naming it.
    """
    check_parameters(months, min_months, radius_m, end, limit)
    found, version, last = find_persistent(store, months=months, min_months=min_months,
                                           radius_m=radius_m, end=end, limit=limit)
    wanted = default_min_months(months) if min_months is None else int(min_months)
    answer: dict[str, Any] = {
        "end": last,
        "months": list(found.months) if found is not None else [],
        "parameters": {"months": months, "min_months": wanted, "radius_m": float(radius_m),
                       "address_m": found.parameters["address_m"] if found else None,
                       "categories": list(ASB_CATEGORIES)},
        "places_with_asb": found.places_with_asb if found else 0,
        "asb_incidents": found.asb_incidents if found else 0,
        "persistent": found.persistent if found else 0,
        "places": [],
        "data_version": version,
        "crs": store.crs,
        "attribution": ATTRIBUTION,
        "privacy": PRIVACY,
        "reading": "",
    }
    if found is None:
        answer["reading"] = "No incidents in the store."
        return answer
    labels = {k: c.label for k, c in taxonomy.categories.items()}
    frame = found.places
    lon, lat = _lonlat(frame["x"].to_numpy(float), frame["y"].to_numpy(float), store.crs)
    places = []
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for i, row in enumerate(records):
        places.append({
            "rank": int(row["rank"]), "place_id": str(row["place_id"]),
            "location": str(row["location"]), "kind": str(row["kind"]),
            "lon": float(lon[i]), "lat": float(lat[i]),
            "x": round(float(row["x"]), 1), "y": round(float(row["y"]), 1),
            "months_with_asb": int(row["months_with_asb"]),
            "asb_incidents": int(row["asb_incidents"]),
            "first_month": str(row["first_month"]), "last_month": str(row["last_month"]),
            "longest_run": int(row["longest_run"]),
            "history": dict(zip(found.months, (int(v) for v in row["history"]), strict=True)),
            "nearby": list(row["nearby"]),
            "category_mix": [{"category": k, "label": labels.get(k, k), "incidents": int(v)}
                             for k, v in row["category_mix"].items()],
            "incidents_nearby": int(row["incidents_nearby"]),
        })
    answer["places"] = places
    n = found.persistent
    span = f"{_month_words(found.months[0])} to {_month_words(found.months[-1])}"
    answer["reading"] = (
        f"{n:,} place{'s' if n != 1 else ''} had anti-social behaviour recorded in at least "
        f"{wanted} of the {months} months {span} ({found.places_with_asb:,} places had any; "
        f"{found.asb_incidents:,} ASB incidents in all).")
    return answer


def _month_words(month: str) -> str:
    return pd.Period(month, freq="M").strftime("%b %Y")


def answer_geojson(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer's places as an RFC 7946 FeatureCollection (WGS84 points), with the months,
    parameters and attribution as foreign members."""
    features = []
    for p in answer["places"]:
        props = {k: v for k, v in p.items() if k not in ("lon", "lat")}
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [p["lon"], p["lat"]]},
                         "properties": props})
    meta = {k: answer[k] for k in ("end", "months", "parameters", "places_with_asb",
                                   "asb_incidents", "persistent", "data_version", "attribution",
                                   "privacy", "reading")}
    return {"type": "FeatureCollection", "features": features, **meta}


def answer_csv(answer: dict[str, Any]) -> str:
    """The answer's places as CSV: one row per place, one column per month (ASB incidents),
    the nearby places and category mix as text; every cell through
    :func:`api.formats.csv_cell` (no cell runs as a spreadsheet formula)."""
    months = answer["months"]
    head = ["rank", "place_id", "location", "kind", "lon", "lat", "x", "y", "months_with_asb",
            "asb_incidents", "first_month", "last_month", "longest_run",
            *[f"asb_{m}" for m in months], "nearby_places", "category_mix", "incidents_nearby"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    for p in answer["places"]:
        nearby = [f"#{n['rank']} {n['location']} ({n['distance_m']:g} m)" for n in p["nearby"]]
        mix = [f"{c['label']}: {c['incidents']}" for c in p["category_mix"]]
        row = [p["rank"], p["place_id"], p["location"], p["kind"], p["lon"], p["lat"], p["x"],
               p["y"], p["months_with_asb"], p["asb_incidents"], p["first_month"],
               p["last_month"], p["longest_run"], *[p["history"][m] for m in months],
               nearby, mix, p["incidents_nearby"]]
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def answer_json(answer: dict[str, Any]) -> bytes:
    """The answer as compact JSON bytes."""
    return json.dumps(answer, separators=(",", ":")).encode()


MAP_MONTHS = MONTHS
"""Months the planner's "Persistent ASB" overlay looks at (ending with the month the map's
period ends in), with the default ``min_months`` and radius."""
MAP_LIMIT = MAX_LIMIT
"""Most persistent places the planner's overlay draws (the best; a hotspot is flagged for
these only)."""
_MAP_CACHE: dict[tuple[Any, ...], tuple[PersistentPlaces | None, str | None]] = {}


def _map_end(metadata: dict[str, Any], timezone: str) -> str | None:
    """The month the map's period ends in (its exclusive end less a second), None: no end."""
    end = (metadata.get("selection") or {}).get("to")
    if not end:
        return None
    stamp = pd.Timestamp(end)
    stamp = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp.tz_convert(timezone)
    last = stamp - pd.Timedelta(seconds=1)
    return f"{last.year:04d}-{last.month:02d}"


def map_overlay(store: IncidentStore, table: Any, metadata: dict[str, Any]
                ) -> tuple[Any, dict[str, Any] | None]:
    """The planner's map's persistent ASB: the hotspot table with a ``persistent_asb`` column
    (a line saying which persistent places each hotspot contains, None where none) and the
    overlay (None when no place is persistent): ``{"places": FeatureCollection (WGS84 points;
    rank, place_id, location, months_with_asb, asb_incidents), "months", "min_months",
    "end"}``. Over :data:`MAP_MONTHS` months ending with the month the map's period ends in
    (the store's latest whole month when it has no end)."""
    end = _map_end(metadata, store.timezone)
    key = (id(store), store.data_version(), end)
    if key not in _MAP_CACHE:
        while len(_MAP_CACHE) >= 8:
            _MAP_CACHE.pop(next(iter(_MAP_CACHE)))
        found, _version, last = find_persistent(store, months=MAP_MONTHS, end=end,
                                                limit=MAP_LIMIT)
        _MAP_CACHE[key] = (found, last)
    found, last = _MAP_CACHE[key]
    if found is None or found.places.empty:
        return table, None
    places = found.places
    lon, lat = _lonlat(places["x"].to_numpy(float), places["y"].to_numpy(float), store.crs)
    records: list[dict[str, Any]] = places.to_dict("records")  # type: ignore[assignment]
    features = [{"type": "Feature",
                 "geometry": {"type": "Point", "coordinates": [float(a), float(b)]},
                 "properties": {"rank": int(p["rank"]), "place_id": str(p["place_id"]),
                                "location": str(p["location"]),
                                "months_with_asb": int(p["months_with_asb"]),
                                "asb_incidents": int(p["asb_incidents"])}}
                for a, b, p in zip(lon, lat, records, strict=True)]
    n = len(found.months)
    out = table.copy()
    lines: list[str | None] = [None] * len(out)
    if len(out):
        geoms = np.asarray(out.geometry.values, dtype=object)
        px, py = places["x"].to_numpy(float), places["y"].to_numpy(float)
        for i, g in enumerate(geoms):
            if g is None:
                continue
            inside = np.flatnonzero(shapely.intersects_xy(g, px, py))
            if len(inside):
                named = [f"#{records[j]['rank']} {records[j]['location'] or 'a place'} "
                         f"({records[j]['months_with_asb']} of {n} months)"
                         for j in inside[:3]]
                more = f" and {len(inside) - 3} more" if len(inside) > 3 else ""
                word = "place" if len(inside) == 1 else "places"
                lines[i] = (f"{len(inside)} persistent ASB {word} here: "
                            f"{'; '.join(named)}{more}")
        out["persistent_asb"] = lines
    return out, {"places": {"type": "FeatureCollection", "features": features},
                 "months": n, "min_months": found.parameters["min_months"], "end": last}
