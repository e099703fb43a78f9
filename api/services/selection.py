"""What a request selects: a period (local months, days or times), categories or a priority, a
box in WGS84 or a town's extent; shared by the API and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.service_errors import InvalidInput, quoted
from geodata.layers import BUILT_UP_AREAS, TOWN_CENTRES
from geodata.schema import IncidentFilter
from geodata.stores import LayerStore
from geodata.taxonomy import Taxonomy


def period_bound(text: str | None, timezone: str, *, end: bool, field: str) -> int | None:
    """Seconds since the epoch for ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO date-time.

    Months and days are local to ``timezone``; an end is exclusive and takes in the whole month
    or day given (``to=2024-03`` ends at the start of April).

    Raises
    ------
    InvalidInput
        For anything else, naming ``field``.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) == 7 and value[4] == "-":
            stamp = pd.Timestamp(f"{value}-01")
            if end:
                stamp = stamp + pd.offsets.MonthBegin(1)
        elif len(value) == 10:
            stamp = pd.Timestamp(datetime.fromisoformat(value))
            if end:
                stamp = stamp + pd.Timedelta(days=1)
        else:
            stamp = pd.Timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, TypeError):
        raise InvalidInput(
            f"{field} must be YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time, not {text!r}", field
        ) from None
    if not 1900 <= stamp.year <= 2100:
        raise InvalidInput(f"{field} {text!r} is outside the years 1900-2100", field)
    stamp = stamp.tz_localize(timezone) if stamp.tzinfo is None else stamp
    return int(stamp.value // 10**9)


def split_categories(values: list[str] | None) -> tuple[str, ...] | None:
    """Category parameters, repeated and/or comma-separated, as one tuple (None if empty)."""
    if not values:
        return None
    return tuple(c.strip() for part in values for c in part.split(",") if c.strip()) or None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``min lon,min lat,max lon,max lat`` (WGS84 degrees) as four numbers.

    Raises
    ------
    InvalidInput
        Naming ``bbox``, for anything else.
    """
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(np.isfinite(parts)):
        raise InvalidInput("bbox must be four numbers: min longitude,min latitude,"
                           "max longitude,max latitude", "bbox")
    w, s, e, n = parts
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InvalidInput("bbox must have -180 <= min longitude <= max longitude <= 180 and "
                           "-90 <= min latitude <= max latitude <= 90", "bbox")
    return w, s, e, n


def town_bbox(store: LayerStore, name: str, margin_m: float = 500.0) -> tuple[float, float, float, float]:
    """The bounding box (store CRS, metres) of the town centre or built-up area called ``name``,
    widened by ``margin_m``.

    Raises
    ------
    InvalidInput
        If no town centre or built-up area has that name (case and spacing ignored).
    """
    wanted = " ".join(name.split()).casefold()
    known: list[str] = []
    for kind in (TOWN_CENTRES, BUILT_UP_AREAS):
        layer = store.get_layer(kind)
        if layer is None or "name" not in layer.frame.columns:
            continue
        names = layer.frame["name"].astype(str)
        known += names.tolist()
        hit = names.map(lambda n: " ".join(n.split()).casefold() == wanted).to_numpy()
        if hit.any():
            union = shapely.union_all(layer.frame.geometry.values[hit])
            if kind == TOWN_CENTRES:  # the whole town, not only its centre, when known
                union = with_built_up_areas(store, union)
            minx, miny, maxx, maxy = union.bounds
            return (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
    choices = ", ".join(sorted(set(known))[:30]) or "none (no town layers are loaded)"
    raise InvalidInput(f"no town called {quoted(name)}; towns are {choices}", "town")


@dataclass(frozen=True)
class Selection:
    """Which incidents to analyse: a period ``[start, end)`` (seconds since the epoch, UTC),
    categories (or a plan priority) and a bounding box in the store's CRS (metres)."""

    start: int | None = None
    end: int | None = None
    categories: tuple[str, ...] | None = None
    priority: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    lonlat_bbox: tuple[float, float, float, float] | None = None

    def categories_for(self, taxonomy: Taxonomy) -> tuple[str, ...] | None:
        """The categories selected, the priority's expanded.

        Raises
        ------
        InvalidInput
            For an unknown category or priority.
        """
        cats: list[str] | None = list(self.categories) if self.categories else None
        if cats:
            unknown = sorted(set(cats) - set(taxonomy.categories))
            if unknown:
                raise InvalidInput(
                    f"unknown category {', '.join(quoted(u) for u in unknown[:5])}; categories are "
                    f"{', '.join(sorted(taxonomy.categories))}", "category"
                )
        if self.priority:
            if self.priority not in taxonomy.priorities:
                raise InvalidInput(
                    f"unknown priority {self.priority!r}; priorities are "
                    f"{', '.join(taxonomy.priorities)}", "priority"
                )
            in_priority = taxonomy.categories_for(self.priority)
            cats = [c for c in cats if c in in_priority] if cats else in_priority
            if not cats:
                raise InvalidInput(
                    f"none of the categories given is in the priority {self.priority!r}; its "
                    f"categories are {', '.join(in_priority)}", "category")
        return tuple(cats) if cats is not None else None

    def incident_filter(self, taxonomy: Taxonomy) -> IncidentFilter:
        """The store filter of this selection (the priority's categories expanded).

        Raises
        ------
        InvalidInput
            For an unknown category or priority.
        """
        return IncidentFilter(start=self.start, end=self.end,
                              categories=self.categories_for(taxonomy), bbox=self.bbox,
                              lonlat_bbox=self.lonlat_bbox)

    def to_dict(self, timezone: str) -> dict[str, Any]:
        """JSON-ready description (dates in local time)."""
        def iso(t: int | None) -> str | None:
            if t is None:
                return None
            return pd.Timestamp(t, unit="s", tz="UTC").tz_convert(timezone).isoformat()
        box = self.lonlat_bbox or self.bbox
        return {"from": iso(self.start), "to": iso(self.end),
                "categories": list(self.categories) if self.categories else None,
                "priority": self.priority,
                "bbox": list(box) if box is not None else None}


def with_built_up_areas(store: LayerStore, outline: Any) -> Any:
    """``outline`` (store CRS) joined with the built-up areas it touches: a town centre grown
    to its whole town; unchanged when the store has no built-up areas or none touch it."""
    built = store.get_layer(BUILT_UP_AREAS)
    if built is None:
        return outline
    around = built.frame.geometry.values
    inside = shapely.intersects(around, outline)
    return shapely.union_all([outline, *around[inside]]) if inside.any() else outline
