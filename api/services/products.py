"""Published products: what partners see, made once per whole month or quarter and never changed.

Partners (a retail crime partnership, councils, neighbouring forces) may not see incidents, so
they get no queries at all: anything a caller can vary (a period to the second, a bbox, a
method parameter) can be asked twice and subtracted. They read *published products* instead:

- **fixed periods**: one whole calendar month (``2024-06``) or quarter (``2024-Q2``) in the
  force's time zone, published by an analyst (``hotspot publish`` or ``POST /v1/products``)
  once the period is over and its data is in; products never overlap in time (the store
  refuses it), so no product can be subtracted from another, and a product is never changed
  (later data for its period does not reach partners, so two versions cannot be subtracted);
- **the fixed force grid**: counts per square of ``HOTSPOT_PARTNER_GRID_M`` metres of the force
  CRS, over the whole force, in total and per plan priority;
- **small counts held back with complementary suppression** (:mod:`hotspot.disclosure`):
  squares under ``HOTSPOT_PARTNER_MIN_INCIDENTS`` are left out, smaller priority counts are held
  back, alone when that gives none away and otherwise with every other priority of the square
  (only its total shown); how many were held back is never said;
- **fixed parameters**: a priority's hotspots are groups of touching squares among its
  busiest published squares (those holding half its published incidents), ranked by their
  sum; every number in a product is a published square count or a sum of them; no incident
  time, text or position (shapes are unions of grid squares);
- **business reports apart**: the reports businesses sent through the retail partnership
  (:mod:`api.services.business`) are a separate ``business_reports`` group of grid counts,
  held back by a stricter rule (:func:`api.services.business.dominance_suppress`: a count
  shows only when it is at least the threshold more than its largest submitter's reports, so
  no partner subtracting its own learns a small count) and never added to the police counts;
- **the same bytes for everyone**: the document is made once, stored, and every answer is
  made from it the same way (it holds nothing a partner does not see; the store's data
  version at publication is kept beside it, for staff).

The documents are made here (the composition of the store, the taxonomy, the layers and
:mod:`hotspot.disclosure`); :mod:`api.routes.products` and the partner branch of
``GET /v1/hotspots`` serve them.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import mapping, shape

from api.formats import ATTRIBUTION, csv_safe_frame
from api.service_errors import InvalidInput
from api.services.business import product_group
from api.services.hotspots import AnalysisOptions, context_layers
from geodata.schema import IncidentFilter
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from hotspot.context import classify_hotspots, incident_context
from hotspot.disclosure import (
    HELD_BACK,
    GridCounts,
    disclosed,
    grid_counts,
    hot_threshold,
    square_hotspots,
    suppress,
)
from hotspot.geojson import rounded
from hotspot.table import trend_label

KIND = "partner"
"""The kind of product partners read (the store keys products by kind and period)."""
ALL = "all"
"""The group of every incident (the other groups are the taxonomy's priorities)."""
NOT_BROKEN_DOWN = "not broken down"
"""In a hotspot's mix: incidents of its squares whose priority is held back."""
HOT_SHARE = 0.5
"""A priority's hotspots are made of its busiest published squares that together hold this
share of its published incidents (:func:`hotspot.disclosure.hot_threshold`)."""
_PERIOD = re.compile(r"^\s*(\d{4})-(?:(\d{2})|[Qq]([1-4]))\s*$", re.ASCII)

HOTSPOT_COLUMNS = (
    "id", "rank", "score", "method", "context_class", "team", "place", "incidents",
    "category_mix", "top_category", "first_month", "last_month", "peak_hours", "peak_days",
    "trend", "previous_incidents", "heritage_sites", "squares", "area_m2", "centre_lon",
    "centre_lat", "period", "priority",
)
"""A partner hotspot's properties, in order (the names of the earlier partner view kept)."""


@dataclass(frozen=True)
class Period:
    """A whole calendar month or quarter in the force's time zone.

    ``start`` and ``end`` (exclusive) are seconds since the epoch, UTC.
    """

    key: str
    start: int
    end: int
    months: tuple[str, ...]

    def previous(self, timezone: str) -> Period:
        """The period of the same length just before this one."""
        first = pd.Timestamp(self.months[0] + "-01")
        back = first - pd.offsets.MonthBegin(len(self.months))
        if len(self.months) == 1:
            return parse_period(back.strftime("%Y-%m"), timezone)
        return parse_period(f"{back.year}-Q{(back.month - 1) // 3 + 1}", timezone)


def parse_period(text: str, timezone: str, *, field: str = "period") -> Period:
    """``YYYY-MM`` (a month) or ``YYYY-Qn`` (a quarter) as a :class:`Period`.

    Raises
    ------
    InvalidInput
        For anything else (naming ``field``): products cover whole months or quarters only.
    """
    match = _PERIOD.match(text or "")
    month = int(match.group(2)) if match and match.group(2) else 0
    if not match or (match.group(2) and not 1 <= month <= 12):
        raise InvalidInput(f"{field} must be a whole month (YYYY-MM) or quarter (YYYY-Qn), "
                           f"not {text!r}: products cover whole months or quarters only", field)
    year = int(match.group(1))
    if not 1900 <= year <= 2100:
        raise InvalidInput(f"{field} {text!r} is outside the years 1900-2100", field)
    if match.group(3):
        first = 3 * (int(match.group(3)) - 1) + 1
        months = tuple(f"{year}-{m:02d}" for m in range(first, first + 3))
        key = f"{year}-Q{match.group(3)}"
    else:
        months = (f"{year}-{month:02d}",)
        key = months[0]
    start = pd.Timestamp(months[0] + "-01").tz_localize(timezone)
    end = (pd.Timestamp(months[-1] + "-01") + pd.offsets.MonthBegin(1)).tz_localize(timezone)
    return Period(key, int(start.value // 10**9), int(end.value // 10**9), months)


def period_of_range(start: str | None, end: str | None, timezone: str) -> Period:
    """The period that ``from``/``to`` (``YYYY-MM``) name when they span exactly one whole
    month or quarter (``from=2024-04&to=2024-06`` is 2024-Q2).

    Raises
    ------
    InvalidInput
        Naming ``from`` or ``to`` for any other range.
    """
    first = parse_period(start or "", timezone, field="from")
    last = parse_period(end or "", timezone, field="to")
    if first.key == last.key and len(first.months) == 1:
        return first
    if len(first.months) == 1 and len(last.months) == 1 and first.months[0][5:] in \
            ("01", "04", "07", "10"):
        quarter = parse_period(f"{first.key[:4]}-Q{(int(first.key[5:]) - 1) // 3 + 1}", timezone)
        if quarter.months[-1] == last.key:
            return quarter
    raise InvalidInput("partners read published products of a whole month or quarter: give "
                       "period=YYYY-MM or period=YYYY-Qn (or from and to naming the first and "
                       "last month of one)", "to")


def groups_of(taxonomy: Taxonomy) -> list[str]:
    """The product's groups: every incident, then each plan priority (every category has one
    priority, so they partition the incidents), and ``other`` for categories the taxonomy no
    longer knows."""
    priorities = list(taxonomy.priorities)
    return [ALL, *priorities, *([] if "other" in priorities else ["other"])]


def priority_groups(categories: Any, taxonomy: Taxonomy) -> np.ndarray:
    """Each incident's group index (0 = the first after :data:`ALL` in :func:`groups_of`): its
    category's plan priority, ``other`` for a category the taxonomy does not know. One lookup a
    category, then the categorical's codes (no Python loop over incidents)."""
    groups = groups_of(taxonomy)
    index = {g: i for i, g in enumerate(groups[1:])}
    priority_of = {c.key: c.priority for c in taxonomy.categories.values()}
    cats = pd.Categorical(categories)
    other = index["other"]
    lookup = np.array([*(index.get(priority_of.get(str(c), ""), other) for c in cats.categories),
                       other], dtype=np.int64)
    return lookup[np.asarray(cats.codes)]  # a missing category (code -1): the last, other


def publish(store: Store, taxonomy: Taxonomy, period: Period, *, grid_m: float,
            min_count: int, now: datetime | None = None) -> dict[str, Any]:
    """Make the product of ``period`` from the store's incidents and publish it.

    Returns the stored listing.

    Raises
    ------
    InvalidInput
        If the period has not ended yet, or holds no incidents (load its data first: a product
        is never changed once published).
    geodata.errors.PublicationConflict
        If a product for this or an overlapping period is already published.
    """
    now = now or datetime.now(UTC)
    if period.end > now.timestamp():
        raise InvalidInput(f"{period.key} has not ended yet: a product is published once its "
                           "period is over and its data is in (it is never changed)", "period")
    cols = store.incidents(IncidentFilter(start=period.start, end=period.end), lonlat=False)
    if len(cols) == 0:
        raise InvalidInput(f"the store holds no incidents in {period.key}: load the period's "
                           "data first (a product is never changed once published)", "period")
    groups = groups_of(taxonomy)
    table = suppress(grid_counts(cols.xy, priority_groups(cols.category, taxonomy),
                                 n_groups=len(groups) - 1, cell_size_m=grid_m), min_count)
    if disclosed(table, min_count).size:  # suppress() guarantees it; never publish otherwise
        raise RuntimeError("the product would disclose a held-back count")
    document = _document(store, taxonomy, period, table, groups, min_count=min_count,
                         published_at=now)
    # the retail partnership's own reports: a separate group, suppressed alike, never added in
    document["business_reports"] = product_group(store, period.start, period.end,
                                                 grid_m=grid_m, min_count=min_count)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    summary = {"squares": len(table), "grid_m": grid_m, "min_count": min_count,
               "hotspots": len(document["hotspots"][ALL]), "months": list(period.months)}
    return store.add_product(KIND, period.key, start=period.start, end=period.end,
                             data_version=cols.data_version, summary=summary, document=text)


def _document(store: Store, taxonomy: Taxonomy, period: Period, table: GridCounts,
              groups: list[str], *, min_count: int, published_at: datetime) -> dict[str, Any]:
    bounds = table.bounds()
    squares = shapely.box(bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3])
    wgs = gpd.GeoSeries(squares, crs=store.crs).to_crs("EPSG:4326")
    previous = _previous_counts(store, period, table.cell_size_m, groups)
    layers = context_layers(store, AnalysisOptions())
    context = incident_context(shapely.get_coordinates(shapely.centroid(squares)), None, layers)
    hotspots = {g: _hotspots(table, gi, groups, squares, context, layers, previous, period,
                             store.crs) for gi, g in enumerate(groups)}
    return {
        "kind": KIND,
        "period": period.key,
        "months": list(period.months),
        "published_at": published_at.isoformat(timespec="seconds"),
        "timezone": store.timezone,
        "grid": {"crs": store.crs, "size_m": table.cell_size_m, "origin": [0, 0]},
        "min_count": min_count,
        "groups": groups,
        "squares": {
            "x": (table.ij[:, 0] * table.cell_size_m).tolist(),
            "y": (table.ij[:, 1] * table.cell_size_m).tolist(),
            "bounds_wgs84": np.round(np.asarray(wgs.bounds), 6).tolist(),
            **{g: [None if v == HELD_BACK else int(v) for v in table.counts[:, i]]
               for i, g in enumerate(groups)},
        },
        "hotspots": hotspots,
        "privacy": privacy_note(min_count, table.cell_size_m),
        "attribution": ATTRIBUTION,
    }


def privacy_note(min_count: int, grid_m: float) -> dict[str, Any]:
    """What was done to a product, in words and numbers (never how much was held back)."""
    return {
        "view": "published product", "min_incidents": min_count, "grid_m": grid_m,
        "note": (f"Counts on the force's {grid_m:g} m grid for one whole period; squares with "
                 f"fewer than {min_count} incidents are left out; a priority's count is held "
                 f"back (null) when it is under {min_count}, and where the small counts of a "
                 "square could be worked out from the rest, all its priorities are held back "
                 "(only its total is shown); hotspots are groups of touching squares "
                 f"among the busiest, which together hold {HOT_SHARE:.0%} of the published "
                 "incidents, and their counts are sums of the squares' published counts; no incident "
                 "positions, times or text; products never overlap in time and never change"),
    }


def _previous_counts(store: Store, period: Period, grid_m: float,
                     groups: list[str]) -> dict[str, dict[tuple[int, int], int]] | None:
    """The published counts of the period before (same grid), by group and square."""
    found = store.product(KIND, period.previous(store.timezone).key)
    if found is None:
        return None
    doc = json.loads(found[1])
    if doc["grid"]["size_m"] != grid_m:
        return None
    keys = [(round(x / grid_m), round(y / grid_m)) for x, y in
            zip(doc["squares"]["x"], doc["squares"]["y"], strict=True)]
    return {g: {k: int(v) for k, v in zip(keys, doc["squares"].get(g, []), strict=True)
                if v is not None} for g in groups if g in doc["squares"]}


def _hotspots(table: GridCounts, gi: int, groups: list[str], squares: np.ndarray,
              context: Any, layers: Any, previous: dict[str, dict[tuple[int, int], int]] | None,
              period: Period, crs: str) -> list[dict[str, Any]]:
    """The hotspots of group ``gi`` as GeoJSON features (WGS84), ranked."""
    values = np.where(table.counts[:, gi] == HELD_BACK, 0, table.counts[:, gi])
    values = np.where(values >= hot_threshold(values, HOT_SHARE), values, 0)
    labels, totals = square_hotspots(table.ij, values)
    k = totals.size
    if not k:
        return []
    shapes = np.array([shapely.union_all(squares[labels == h]) for h in range(k)], dtype=object)
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(shapes, crs=crs))
    classes = classify_hotspots(frame, labels, values.astype(np.float64), context, layers)
    wgs = frame.to_crs("EPSG:4326")
    drawn = rounded(np.asarray(wgs.geometry.values, dtype=object), 1e-6)  # all at once
    centres = frame.geometry.centroid.to_crs("EPSG:4326")
    group = groups[gi]
    before = previous.get(group) if previous is not None else None
    features = []
    for h in range(k):
        member = np.flatnonzero(labels == h)
        mix: dict[str, int] = {}
        if gi == 0:
            for j, g in enumerate(groups[1:], start=1):
                shown = table.counts[member, j]
                if (shown != HELD_BACK).any():
                    total = int(shown[shown != HELD_BACK].sum())
                    if total:
                        mix[g] = total
            rest = int(totals[h]) - sum(mix.values())
            mix = dict(sorted(mix.items(), key=lambda kv: (-kv[1], kv[0])))
            if rest:
                mix[NOT_BROKEN_DOWN] = rest
        else:
            mix = {group: int(totals[h])}
        prior = None
        if before is not None:
            prior = int(sum(before.get((int(i), int(j)), 0) for i, j in table.ij[member]))
        top = next((g for g in mix if g != NOT_BROKEN_DOWN), None)
        props = {
            "id": f"{period.key}/{group}/{h + 1}", "rank": h + 1, "score": int(totals[h]),
            "method": "published_grid", "context_class": classes["context_class"][h],
            "team": classes["team"][h], "place": classes["place"][h],
            "incidents": int(totals[h]), "category_mix": mix, "top_category": top,
            "first_month": period.months[0], "last_month": period.months[-1],
            "peak_hours": None, "peak_days": None,
            "trend": "unknown" if prior is None else trend_label(int(totals[h]), prior),
            "previous_incidents": prior, "heritage_sites": list(classes["heritage_sites"][h]),
            "squares": int(member.size), "area_m2": round(float(shapes[h].area), 0),
            "centre_lon": round(float(centres.x.iloc[h]), 6),
            "centre_lat": round(float(centres.y.iloc[h]), 6),
            "period": period.key, "priority": group,
        }
        features.append({"type": "Feature", "geometry": mapping(drawn[h]),
                         "properties": {c: props[c] for c in HOTSPOT_COLUMNS}})
    return features


# --- what is served --------------------------------------------------------------------------

def hotspots_geojson(document: dict[str, Any], group: str) -> bytes:
    """A product's hotspots of ``group`` as an RFC 7946 FeatureCollection (WGS84)."""
    body = {
        "type": "FeatureCollection",
        "features": document["hotspots"][group],
        "metadata": _metadata(document, group),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def hotspots_csv(document: dict[str, Any], group: str) -> bytes:
    """A product's hotspots of ``group`` as CSV, with the shape as WKT (WGS84)."""
    features = document["hotspots"][group]
    frame = csv_safe_frame(pd.DataFrame([f["properties"] for f in features], columns=list(HOTSPOT_COLUMNS)))
    frame["wkt_wgs84"] = [shapely.to_wkt(shape(f["geometry"]),
                                         rounding_precision=6) for f in features]
    return _csv(frame)


def squares_geojson(document: dict[str, Any]) -> bytes:
    """A product's grid squares with their published counts (null: held back), WGS84."""
    sq = document["squares"]
    groups = document["groups"]
    features = []
    for n, (x, y, box) in enumerate(zip(sq["x"], sq["y"], sq["bounds_wgs84"], strict=True)):
        w, s, e, north = box
        props = {"square_x": x, "square_y": y, **{g: sq[g][n] for g in groups}}
        features.append({"type": "Feature", "properties": props, "geometry": {
            "type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, north], [w, north], [w, s]]]}})
    body = {"type": "FeatureCollection", "features": features,
            "metadata": _metadata(document, None)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def squares_csv(document: dict[str, Any]) -> bytes:
    """A product's grid squares as CSV: south-west corner (force CRS, metres), centre (WGS84),
    the published counts (empty: held back)."""
    sq = document["squares"]
    bounds = np.asarray(sq["bounds_wgs84"], dtype=np.float64).reshape(-1, 4)
    frame = pd.DataFrame({
        "square_x": sq["x"], "square_y": sq["y"],
        "size_m": document["grid"]["size_m"],
        "centre_lon": np.round((bounds[:, 0] + bounds[:, 2]) / 2, 6),
        "centre_lat": np.round((bounds[:, 1] + bounds[:, 3]) / 2, 6),
        **{g: pd.array(sq[g], dtype="Int64") for g in document["groups"]},
    })
    return _csv(frame)


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _metadata(document: dict[str, Any], group: str | None) -> dict[str, Any]:
    product = {k: document[k] for k in ("kind", "period", "months", "published_at", "grid",
                                        "min_count", "groups")}
    if group is not None:
        product["priority"] = group
    return {"product": product, "generated_at": document["published_at"], "timezone": document["timezone"],
            "privacy": document["privacy"], "attribution": document["attribution"]}
