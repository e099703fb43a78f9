"""Border products: the partner-safe export of the cross-border hotspots, for the neighbouring
forces, published like the partner products (:mod:`api.services.products`) and never a query.

A border product covers one whole month or quarter and holds, for the squares of the fixed
force grid that lie within :data:`BORDER_DISTANCE_M` of the force boundary:

- the **force's counts exactly as the period's partner product published them** (that product
  must be published first): a border product releases no count of the force's incidents that
  was not already published, so no border product can be subtracted from a partner product
  (they hold the same numbers, or none);
- **each neighbour's counts** on the same grid, with the same suppression (a square under the
  partner product's ``min_count`` is not published for that neighbour);
- the **hotspots of those squares**: touching squares among the busiest by their published
  counts summed over the sources, with the counts by source (sums of published counts: they
  add up), the share of them that is the neighbours' and whether the hotspot spans the border
  (squares on both sides of it).

Fixed period, fixed grid, fixed band, fixed threshold: nothing a caller can vary. A border
product is never changed, border products never overlap in time (the store refuses it), and
every answer is made from the stored document (the same bytes for everyone). A neighbour's
incidents that are both small in a square and combined with the force's never show: every
number is a published count or a sum of them, so nobody (the neighbour included, who knows
its own incidents) can take one from another to find a count that was held back.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping

from api.formats import ATTRIBUTION, csv_cell
from api.service_errors import InvalidInput, NotFound
from api.services.cross_border import FORCE_SOURCE, NO_BOUNDARY, band_of
from api.services.hotspots import force_area
from api.services.products import HOT_SHARE, Period
from api.services.products import KIND as PARTNER_KIND
from geodata.schema import IncidentFilter
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot.disclosure import grid_counts, hot_threshold, square_hotspots, suppress
from hotspot.geojson import rounded

KIND = "border"
"""The kind of product the neighbouring forces read."""
BORDER_DISTANCE_M = 5_000.0
"""The band of a border product: squares within this of the force boundary (metres), fixed."""

HOTSPOT_COLUMNS = ("id", "rank", "period", "incidents", "sources", "share_neighbours",
                   "spans_border", "squares", "area_m2", "centre_lon", "centre_lat")
"""A border hotspot's properties, in order."""


def publish_border(store: Store, taxonomy: Taxonomy, period: Period, *, grid_m: float,
                   min_count: int, now: datetime | None = None) -> dict[str, Any]:
    """Make the border product of ``period`` and publish it; return its listing.

    The grid and threshold are the period's partner product's (``grid_m`` and ``min_count``,
    the current settings, are only checked against it).

    Raises
    ------
    InvalidInput
        If the period has not ended, its partner product is not published (or was made on
        another grid), or the store has no force boundary (naming ``period``).
    geodata.errors.PublicationConflict
        If a border product for this or an overlapping period is already published.
    """
    now = now or datetime.now(UTC)
    if period.end > now.timestamp():
        raise InvalidInput(f"{period.key} has not ended yet: a border product is published "
                           "once its period is over and its data is in (it is never changed)",
                           "period")
    found = store.product(PARTNER_KIND, period.key)
    if found is None:
        raise InvalidInput(f"publish the partner product of {period.key} first (POST "
                           "/v1/products or `hotspot publish`): a border product shows the "
                           "force's counts exactly as that product published them", "period")
    partner_listing, partner_text = found
    partner = json.loads(partner_text)
    size = float(partner["grid"]["size_m"])
    k = int(partner["min_count"])
    if (size, k) != (float(grid_m), int(min_count)):
        raise InvalidInput(f"the partner product of {period.key} was made on a {size:g} m grid "
                           f"with {k} as the smallest count, not the current {grid_m:g} m and "
                           f"{min_count}: a border product keeps its partner product's", "period")
    area = force_area(store)
    if area is None:
        raise InvalidInput(NO_BOUNDARY, "period")
    band = band_of(area, BORDER_DISTANCE_M)
    shapely.prepare(band)
    squares = _squares(store, period, partner, size, k, band)
    sources = [FORCE_SOURCE, *sorted(s for s in squares["counts"] if s != FORCE_SOURCE)]
    document = _document(store, period, squares, sources, size, k, area, now)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    summary = {"squares": len(squares["ij"]), "grid_m": size, "min_count": k,
               "distance_m": BORDER_DISTANCE_M, "sources": sources,
               "hotspots": len(document["hotspots"]), "months": list(period.months),
               "partner_product": period.key}
    version = f"{partner_listing['data_version']}+{store.neighbour_version()}"
    return store.add_product(KIND, period.key, start=period.start, end=period.end,
                             data_version=version, summary=summary, document=text)


def _squares(store: Store, period: Period, partner: dict[str, Any], size: float, k: int,
             band: Any) -> dict[str, Any]:
    """The band's squares and their published counts by source (None: not published)."""
    counts: dict[str, dict[tuple[int, int], int]] = {}
    sq = partner["squares"]
    counts[FORCE_SOURCE] = {(round(x / size), round(y / size)): int(v) for x, y, v in
                            zip(sq["x"], sq["y"], sq["all"], strict=True) if v is not None}
    theirs = store.neighbour_incidents(IncidentFilter(start=period.start, end=period.end))
    labels = np.asarray(theirs.extra["source"].astype(str), dtype=object)
    for label in sorted(set(labels.tolist())):
        mine = labels == label
        table = suppress(grid_counts(theirs.xy[mine], np.zeros(int(mine.sum()), np.int64),
                                     n_groups=1, cell_size_m=size), k)
        counts[label] = {(int(i), int(j)): int(v) for (i, j), v in
                         zip(table.ij.tolist(), table.counts[:, 0].tolist(), strict=True)}
    keys = sorted({key for by in counts.values() for key in by})
    ij = np.array(keys, dtype=np.int64).reshape(-1, 2)
    boxes = shapely.box(ij[:, 0] * size, ij[:, 1] * size, (ij[:, 0] + 1) * size,
                        (ij[:, 1] + 1) * size)
    near = np.asarray(shapely.intersects(band, boxes), dtype=bool) if len(ij) else \
        np.zeros(0, dtype=bool)
    ij, boxes = ij[near], boxes[near]
    kept = [(int(i), int(j)) for i, j in ij.tolist()]
    return {"ij": ij, "boxes": boxes,
            "counts": {s: [by.get(key) for key in kept] for s, by in counts.items()
                       if any(by.get(key) is not None for key in kept)
                       or s == FORCE_SOURCE}}


def _document(store: Store, period: Period, squares: dict[str, Any], sources: list[str],
              size: float, k: int, area: Any, published_at: datetime) -> dict[str, Any]:
    ij, boxes = squares["ij"], squares["boxes"]
    by = {s: squares["counts"][s] for s in sources}
    shown = np.array([[v or 0 for v in by[s]] for s in sources], dtype=np.int64).reshape(
        len(sources), len(ij))
    inside = (np.asarray(shapely.contains(area, shapely.centroid(boxes)), dtype=bool)
              if len(ij) else np.zeros(0, dtype=bool))
    wgs = (np.round(np.asarray(gpd.GeoSeries(boxes, crs=store.crs).to_crs("EPSG:4326").bounds),
                    6).tolist() if len(ij) else [])
    return {
        "kind": KIND,
        "period": period.key,
        "months": list(period.months),
        "published_at": published_at.isoformat(timespec="seconds"),
        "timezone": store.timezone,
        "grid": {"crs": store.crs, "size_m": size, "origin": [0, 0]},
        "min_count": k,
        "distance_m": BORDER_DISTANCE_M,
        "sources": sources,
        "partner_product": period.key,
        "squares": {
            "x": (ij[:, 0] * size).tolist(), "y": (ij[:, 1] * size).tolist(),
            "inside_force": inside.tolist(), "bounds_wgs84": wgs, "counts": by,
        },
        "hotspots": _hotspots(store, period, ij, boxes, shown, sources,
                              shapely.boundary(area)),
        "privacy": privacy_note(k, size),
        "attribution": ATTRIBUTION,
    }


def _hotspots(store: Store, period: Period, ij: np.ndarray, boxes: np.ndarray,
              shown: np.ndarray, sources: list[str], edge: Any) -> list[dict[str, Any]]:
    """The hotspots of the band's squares (their published counts summed over the sources) as
    GeoJSON features (WGS84), ranked; one spans the border when it holds both the force's and
    a neighbour's published incidents and its squares straddle the boundary (``edge``)."""
    total = shown.sum(axis=0) if len(ij) else np.zeros(0, dtype=np.int64)
    values = np.where(total >= hot_threshold(total, HOT_SHARE), total, 0)
    labels, totals = square_hotspots(ij, values)
    features = []
    for h in range(int(totals.size)):
        member = np.flatnonzero(labels == h)
        shape = shapely.union_all(boxes[member])
        frame = gpd.GeoSeries([shape, shapely.centroid(shape)], crs=store.crs).to_crs(
            "EPSG:4326")
        counts = {s: int(shown[si, member].sum()) for si, s in enumerate(sources)}
        n = int(totals[h])
        props = {
            "id": f"{period.key}/border/{h + 1}", "rank": h + 1, "period": period.key,
            "incidents": n, "sources": counts,
            "share_neighbours": round(1 - counts[FORCE_SOURCE] / n, 4) if n else 0.0,
            "spans_border": bool(counts[FORCE_SOURCE] and n > counts[FORCE_SOURCE]
                                 and shapely.intersects(shape, edge)),
            "squares": int(member.size), "area_m2": round(float(shape.area), 0),
            "centre_lon": round(float(frame.iloc[1].x), 6),
            "centre_lat": round(float(frame.iloc[1].y), 6),
        }
        shape = rounded(np.array([frame.iloc[0]], dtype=object), 1e-6)[0]
        features.append({"type": "Feature", "geometry": mapping(shape),
                         "properties": {c: props[c] for c in HOTSPOT_COLUMNS}})
    return features


def privacy_note(min_count: int, grid_m: float) -> dict[str, Any]:
    """What was done to a border product, in words and numbers."""
    return {
        "view": "published product", "min_incidents": min_count, "grid_m": grid_m,
        "distance_m": BORDER_DISTANCE_M,
        "note": (f"Counts on the force's {grid_m:g} m grid, for the squares within "
                 f"{BORDER_DISTANCE_M:g} m of the force boundary, for one whole period: the "
                 "force's as its partner product for the period published them, and each "
                 f"neighbour's on the same grid; a square with fewer than {min_count} "
                 "incidents of a source is not published for it (null); hotspots are groups of "
                 f"touching squares among the busiest, which together hold {HOT_SHARE:.0%} of "
                 "the published incidents, and every count is a published count or a sum of "
                 "them; no incident positions, times or text; border products never overlap "
                 "in time and never change"),
    }


# --- what is served --------------------------------------------------------------------------

def stored_border(store: Store, key: str) -> tuple[str, dict[str, Any]]:
    """(text, document) of the border product of ``key``; 404 if none is published."""
    found = store.product(KIND, key)
    if found is None:
        raise NotFound(f"no border product is published for {key}; GET /v1/border-products "
                       "lists those that are", field="period")
    return found[1], json.loads(found[1])


def _metadata(document: dict[str, Any]) -> dict[str, Any]:
    product = {k: document[k] for k in ("kind", "period", "months", "published_at", "grid",
                                        "min_count", "distance_m", "sources")}
    return {"product": product, "generated_at": document["published_at"],
            "timezone": document["timezone"], "privacy": document["privacy"],
            "attribution": document["attribution"]}


def border_geojson(document: dict[str, Any]) -> bytes:
    """A border product's hotspots as an RFC 7946 FeatureCollection (WGS84)."""
    body = {"type": "FeatureCollection", "features": document["hotspots"],
            "metadata": _metadata(document)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def border_csv(document: dict[str, Any]) -> bytes:
    """A border product's squares as CSV: south-west corner (force CRS, metres), centre
    (WGS84), whether the centre is inside the force, each source's published count (empty:
    not published)."""
    sq = document["squares"]
    bounds = np.asarray(sq["bounds_wgs84"], dtype=np.float64).reshape(-1, 4)
    frame = pd.DataFrame({
        "square_x": sq["x"], "square_y": sq["y"], "size_m": document["grid"]["size_m"],
        "centre_lon": np.round((bounds[:, 0] + bounds[:, 2]) / 2, 6),
        "centre_lat": np.round((bounds[:, 1] + bounds[:, 3]) / 2, 6),
        "inside_force": sq["inside_force"],
    })
    for s in document["sources"]:
        frame[str(csv_cell(s))] = pd.array(sq["counts"][s], dtype="Int64")
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")
