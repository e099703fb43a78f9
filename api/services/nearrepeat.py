"""Near-repeat risk of a selection of the store's incidents: the Knox test
(:func:`hotspot.nearrepeat.knox_test`) and the risk zones it implies, with a plain reading;
shared by ``GET /v1/near-repeat`` and ``hotspot near-repeat``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.formats import ATTRIBUTION
from api.service_errors import InvalidInput
from api.services.selection import Selection
from geodata.stores import IncidentStore
from geodata.taxonomy import Taxonomy
from hotspot.cancel import ShouldStop, check
from hotspot.geojson import rounded
from hotspot.nearrepeat import (
    DAY_BANDS,
    DISTANCE_BANDS_M,
    KnoxResult,
    knox_test,
    local_days,
    require_exact_dates,
    risk_zones,
)

API_MAX_PAIRS = 5_000_000
"""Most pairs within the last distance band one request may count (about 60 bytes each while
they are found; 2.8 million for four years of New York's vehicle thefts within 800 m)."""
API_MAX_WORK = 300_000_000
"""Most pair counts (pairs x (permutations + 1)) one request may make: about 8 s here."""
NEAR_REPEAT_CATEGORIES = ("residential_burglary", "business_burglary", "burglary",
                          "vehicle_crime", "agricultural_theft", "plant_machinery_theft")
"""The categories tested when none (and no priority) is given: the crimes near repeats are
known for (burglary, vehicle crime, agricultural and plant theft)."""


def parse_bands(text: str | None, default: tuple[float, ...], field: str) -> tuple[float, ...]:
    """A comma list of band edges (``0,100,200``) as numbers; the default when empty.

    Raises
    ------
    InvalidInput
        Naming ``field``, for anything that is not numbers.
    """
    if text is None or not text.strip():
        return default
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput(f"{field} must be numbers separated by commas, such as "
                           f"{','.join(f'{v:g}' for v in default)}", field) from None
    return values


@dataclass(frozen=True)
class NearRepeat:
    """A near-repeat analysis: the test, the zones (store CRS), what was analysed."""

    result: KnoxResult
    zones: Any
    metadata: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer: the test's table and reading with the metadata."""
        return {**self.result.to_dict(), **self.metadata, "zones": len(self.zones),
                "reading": self.result.plain_reading(self.metadata["noun"])}

    def zones_geojson(self) -> dict[str, Any]:
        """The risk zones as an RFC 7946 FeatureCollection (WGS84)."""
        zones = self.zones
        tz = self.metadata["timezone"]
        features = []
        if len(zones):
            wgs = zones.to_crs("EPSG:4326")
            geoms = rounded(np.asarray(wgs.geometry.values, dtype=object), 1e-6)
            starts = _stamps(zones["from_day"].to_numpy(), tz)
            ends = _stamps(zones["until_day"].to_numpy(), tz)
            for g, a, b, d, n, r in zip(geoms, starts, ends, zones["distance_m"],
                                        zones["days"], zones["ratio"], strict=True):
                features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g),
                                 "properties": {"from": a, "until": b, "distance_m": float(d),
                                                "days": float(n), "ratio": float(r)}})
        return {"type": "FeatureCollection", "features": features,
                "extent": self.result.to_dict()["extent"],
                "reading": self.result.plain_reading(self.metadata["noun"]),
                **{k: v for k, v in self.metadata.items() if k != "noun"}}


def _stamps(days: np.ndarray, timezone: str) -> list[str]:
    """Local wall-clock days (:func:`hotspot.nearrepeat.local_days`) as ISO date-times."""
    wall = pd.to_datetime(np.round(days * 86_400).astype(np.int64), unit="s")
    return [s.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").isoformat()
            for s in wall]


def _noun(categories: set[str]) -> str:
    """What to call one incident of these categories in the plain reading."""
    if categories and categories <= {"vehicle_crime"}:
        return "vehicle crime"
    if categories and all("burglary" in c for c in categories):
        return "burglary"
    if categories and categories <= {"agricultural_theft", "plant_machinery_theft"}:
        return "agricultural or plant theft"
    return "incident"


def near_repeat(
    store: IncidentStore,
    taxonomy: Taxonomy,
    selection: Selection,
    *,
    distance_bands_m: tuple[float, ...] = DISTANCE_BANDS_M,
    day_bands: tuple[float, ...] = DAY_BANDS,
    permutations: int = 99,
    seed: int = 0,
    as_of: int | None = None,
    max_pairs: int = API_MAX_PAIRS,
    max_work: int = API_MAX_WORK,
    should_stop: ShouldStop | None = None,
) -> NearRepeat:
    """The Knox test of a selection of the store and its risk zones on ``as_of``.

    Parameters
    ----------
    selection
        The incidents; with neither categories nor a priority, :data:`NEAR_REPEAT_CATEGORIES`.
    as_of
        Seconds since the epoch (UTC) the zones are drawn for: the zones of the incidents
        before it that still run then; default just after the latest incident selected.

    Raises
    ------
    InvalidInput
        An unknown category or priority.
    hotspot.InvalidParameter
        Dates not to the day (month-only data), a band or permutation count out of range, or
        more work than ``max_pairs`` / ``max_work`` allow; ``parameter`` names it.
    """
    if not selection.categories and not selection.priority:
        default = tuple(c for c in NEAR_REPEAT_CATEGORIES if c in taxonomy.categories)
        selection = Selection(start=selection.start, end=selection.end, categories=default,
                              bbox=selection.bbox, lonlat_bbox=selection.lonlat_bbox)
    flt = selection.incident_filter(taxonomy)
    cols = store.incidents(flt, lonlat=False)
    check(should_stop, "after reading the incidents")
    usable = require_exact_dates(cols.precision)
    xy = np.column_stack([cols.x, cols.y])[usable]
    days = local_days(cols.occurred_at[usable], store.timezone)
    result = knox_test(xy, days, distance_bands_m=distance_bands_m, day_bands=day_bands,
                       permutations=permutations, seed=seed, max_pairs=max_pairs,
                       max_work=max_work, should_stop=should_stop)
    as_of_day = (float(local_days([as_of], store.timezone)[0]) - 1e-9 if as_of is not None
                 else float(days.max()) + 1e-9)
    zones = risk_zones(xy, days, result, as_of_day=as_of_day, crs=store.crs)
    cats = list(flt.categories) if flt.categories else None
    present = {str(c) for c in pd.unique(np.asarray(cols.category)[usable])}
    noun = _noun(present)
    metadata = {
        "data_version": cols.data_version,
        "selection": {**selection.to_dict(store.timezone), "categories": cats},
        "left_out_month_only": int((~usable).sum()),
        "as_of": _stamps(np.array([as_of_day]), store.timezone)[0],
        "crs_of_analysis": store.crs,
        "timezone": store.timezone,
        "noun": noun,
        "attribution": ATTRIBUTION,
        "privacy": "risk zones are centred on incidents (victims' locations): for the force's "
                   "own staff only",
    }
    return NearRepeat(result=result, zones=zones, metadata=metadata)
