"""What partners see: aggregated hotspots that give away no incident.

Partners (the business crime reduction partnership, councils, neighbouring forces) get the
hotspot table with:

- **suppression**: hotspots with fewer than ``min_incidents`` incidents (default 5) are left out,
  and within a hotspot every category with fewer than that many is folded into
  ``other (suppressed)``;
- **generalised geometry**: each hotspot becomes the set of ``grid_m`` squares (default 250 m,
  aligned to the force CRS's origin) that it touches, so every corner is a multiple of 250 m
  in the force CRS and no vertex is an incident's position; the centre given is that shape's
  centroid, not the incidents';
- **no incident text or times**: no location descriptions, no dates (the first and last month
  only), no hour-by-day profile (its peak hours and days only).

The rest (rank, score, context class, team, place, heritage sites, trend, incidents) is kept.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box, mapping

from api.analysis import csv_cell

PARTNER_COLUMNS = (
    "id", "rank", "score", "method", "context_class", "team", "place", "incidents",
    "category_mix", "top_category", "first_month", "last_month", "peak_hours", "peak_days",
    "trend", "heritage_sites", "area_m2", "centre_lon", "centre_lat",
)
SUPPRESSED = "other (suppressed)"


def generalise(geom: Any, grid_m: float) -> Any:
    """The union of the ``grid_m`` squares (aligned to the CRS origin) that ``geom`` touches."""
    x0, y0, x1, y1 = geom.bounds
    xs = np.arange(math.floor(x0 / grid_m), math.floor(x1 / grid_m) + 1) * grid_m
    ys = np.arange(math.floor(y0 / grid_m), math.floor(y1 / grid_m) + 1) * grid_m
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    cells = shapely.box(gx, gy, gx + grid_m, gy + grid_m)
    touched = cells[shapely.intersects(cells, geom)]
    return shapely.union_all(touched) if touched.size else box(xs[0], ys[0], xs[0] + grid_m,
                                                               ys[0] + grid_m)


def _mix(mix: Any, k: int) -> dict[str, int]:
    out: dict[str, int] = {}
    small = 0
    for cat, count in (mix or {}).items():
        if int(count) >= k:
            out[str(cat)] = int(count)
        else:
            small += int(count)
    if small:
        out[SUPPRESSED] = small
    return out


def _month(value: Any) -> str | None:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text[:7] or None


def partner_table(table: gpd.GeoDataFrame, *, min_incidents: int = 5,
                  grid_m: float = 250.0) -> tuple[gpd.GeoDataFrame, int]:
    """The partners' table (WGS84) and how many hotspots were suppressed."""
    keep = table[table["incidents"].astype(int) >= min_incidents] if len(table) else table
    suppressed = len(table) - len(keep)
    if not len(keep):
        return gpd.GeoDataFrame({c: [] for c in PARTNER_COLUMNS if c != "geometry"},
                                geometry=gpd.GeoSeries([], crs="EPSG:4326")), suppressed
    shapes = [generalise(g, grid_m) for g in keep.geometry.values]
    local = gpd.GeoSeries(shapes, crs=keep.crs)
    centres = local.centroid.to_crs("EPSG:4326")
    out = gpd.GeoDataFrame({
        "id": keep["id"].to_numpy(), "rank": keep["rank"].to_numpy(),
        "score": keep["score"].to_numpy(), "method": keep["method"].to_numpy(),
        "context_class": keep["context_class"].to_numpy(), "team": keep["team"].to_numpy(),
        "place": keep["place"].to_numpy(), "incidents": keep["incidents"].astype(int).to_numpy(),
        "category_mix": [_mix(m, min_incidents) for m in keep["category_mix"]],
        "top_category": keep["top_category"].to_numpy(),
        "first_month": [_month(v) for v in keep["first_date"]],
        "last_month": [_month(v) for v in keep["last_date"]],
        "peak_hours": list(keep["peak_hours"]), "peak_days": list(keep["peak_days"]),
        "trend": keep["trend"].to_numpy(),
        "heritage_sites": list(keep["heritage_sites"]),
        "area_m2": np.round(local.area.to_numpy(), 0),
        "centre_lon": np.round(centres.x.to_numpy(), 5),
        "centre_lat": np.round(centres.y.to_numpy(), 5),
    }, geometry=local.to_crs("EPSG:4326").values, crs="EPSG:4326")
    return out, suppressed


def partner_geojson(table: gpd.GeoDataFrame, metadata: dict[str, Any], *, min_incidents: int,
                    grid_m: float) -> tuple[bytes, bytes]:
    """(GeoJSON, CSV) of the partners' view, with what was done in ``metadata.privacy``."""
    view, suppressed = partner_table(table, min_incidents=min_incidents, grid_m=grid_m)
    features: list[dict[str, Any]] = []
    for row in view.itertuples(index=False):
        props = {c: _plain(getattr(row, c)) for c in PARTNER_COLUMNS}
        geometry = shapely.set_precision(row.geometry, 1e-5)
        features.append({"type": "Feature", "geometry": mapping(geometry), "properties": props})
    privacy = {"view": "partner", "min_incidents": min_incidents, "grid_m": grid_m,
               "suppressed_hotspots": suppressed,
               "note": f"hotspots with fewer than {min_incidents} incidents are left out; shapes "
                       f"are the {grid_m:g} m squares they touch; categories with fewer than "
                       f"{min_incidents} incidents are folded together; no incident positions, "
                       "text or dates"}
    meta = {k: metadata[k] for k in ("data_version", "generated_at", "attribution", "timezone")
            if k in metadata}
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features,
                            "metadata": {**meta, "privacy": privacy}}
    frame = pd.DataFrame([f["properties"] for f in features], columns=list(PARTNER_COLUMNS))
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].map(csv_cell)
    frame["wkt_wgs84"] = [shapely.to_wkt(shapely.set_precision(g, 1e-5))
                          for g in view.geometry.values]
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return (json.dumps(body, separators=(",", ":")).encode(),
            buffer.getvalue().encode("utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
