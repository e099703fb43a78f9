"""Running a hotspot analysis on a store: the selection, the layers, the previous period.

The composition of :mod:`geodata` (the store) and :mod:`hotspot` (the computation), shared by the
CLI (``hotspot analyse``) and the HTTP API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from api.errors import quoted
from geodata.harm import HarmTable
from geodata.layers import (
    BUILT_UP_AREAS,
    FORCE_BOUNDARY,
    HERITAGE_SITES,
    PATROL_BASES,
    RURAL_URBAN_LOOKUP,
    TOWN_CENTRES,
)
from geodata.schema import IncidentColumns, IncidentFilter
from geodata.stores import Store
from geodata.stores.postgis import PostGISStore
from geodata.taxonomy import Taxonomy
from hotspot import (
    ContextLayers,
    DensityGrid,
    HotspotResult,
    WorkLimitExceeded,
    analyse,
    kde_grid,
)
from hotspot.cancel import ShouldStop, check

if TYPE_CHECKING:
    from api.limits import WorkLimits

ATTRIBUTION = (
    "Incidents from data.police.uk contain public sector information licensed under the Open "
    "Government Licence v3.0. Hotspots describe where crime was recorded, not the risk to any "
    "person."
)


class ParameterError(ValueError):
    """Raised for a request parameter that cannot be used; ``field`` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def period_bound(text: str | None, timezone: str, *, end: bool, field: str) -> int | None:
    """Seconds since the epoch for ``YYYY-MM``, ``YYYY-MM-DD`` or an ISO date-time.

    Months and days are local to ``timezone``; an end is exclusive and takes in the whole month
    or day given (``to=2024-03`` ends at the start of April).

    Raises
    ------
    ParameterError
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
        raise ParameterError(
            f"{field} must be YYYY-MM, YYYY-MM-DD or an ISO 8601 date-time, not {text!r}", field
        ) from None
    if not 1900 <= stamp.year <= 2100:
        raise ParameterError(f"{field} {text!r} is outside the years 1900-2100", field)
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
    ParameterError
        Naming ``bbox``, for anything else.
    """
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4 or not all(np.isfinite(parts)):
        raise ParameterError("bbox must be four numbers: min longitude,min latitude,"
                             "max longitude,max latitude", "bbox")
    w, s, e, n = parts
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise ParameterError("bbox must have -180 <= min longitude <= max longitude <= 180 and "
                             "-90 <= min latitude <= max latitude <= 90", "bbox")
    return w, s, e, n


def town_bbox(store: Store, name: str, margin_m: float = 500.0) -> tuple[float, float, float, float]:
    """The bounding box (store CRS, metres) of the town centre or built-up area called ``name``,
    widened by ``margin_m``.

    Raises
    ------
    ParameterError
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
                built = store.get_layer(BUILT_UP_AREAS)
                if built is not None:
                    around = built.frame.geometry.values
                    inside = shapely.intersects(around, union)
                    if inside.any():
                        union = shapely.union_all([union, *around[inside]])
            minx, miny, maxx, maxy = union.bounds
            return (minx - margin_m, miny - margin_m, maxx + margin_m, maxy + margin_m)
    choices = ", ".join(sorted(set(known))[:30]) or "none (no town layers are loaded)"
    raise ParameterError(f"no town called {quoted(name)}; towns are {choices}", "town")


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
        ParameterError
            For an unknown category or priority.
        """
        cats: list[str] | None = list(self.categories) if self.categories else None
        if cats:
            unknown = sorted(set(cats) - set(taxonomy.categories))
            if unknown:
                raise ParameterError(
                    f"unknown category {', '.join(quoted(u) for u in unknown[:5])}; categories are "
                    f"{', '.join(sorted(taxonomy.categories))}", "category"
                )
        if self.priority:
            if self.priority not in taxonomy.priorities:
                raise ParameterError(
                    f"unknown priority {self.priority!r}; priorities are "
                    f"{', '.join(taxonomy.priorities)}", "priority"
                )
            in_priority = taxonomy.categories_for(self.priority)
            cats = [c for c in cats if c in in_priority] if cats else in_priority
            if not cats:
                raise ParameterError(
                    f"none of the categories given is in the priority {self.priority!r}; its "
                    f"categories are {', '.join(in_priority)}", "category")
        return tuple(cats) if cats is not None else None

    def incident_filter(self, taxonomy: Taxonomy) -> IncidentFilter:
        """The store filter of this selection (the priority's categories expanded).

        Raises
        ------
        ParameterError
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


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of the analysis beyond the method's parameters."""

    heritage_distance_m: float = 200.0
    heritage_designations: tuple[str, ...] | None = None
    weighted: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    harm: HarmTable | None = None
    """The harm table (a force's, or the built-in approximate one when None)."""


def context_layers(store: Store, options: AnalysisOptions) -> ContextLayers:
    """The store's reference layers, as the hotspot classification takes them."""
    def frame(kind: str) -> Any:
        layer = store.get_layer(kind)
        return None if layer is None else layer.frame

    lookup = frame(RURAL_URBAN_LOOKUP)
    rural = (frozenset(lookup.loc[lookup["is_rural"].astype(bool), "lsoa_code"].astype(str))
             if lookup is not None else None)
    return ContextLayers(
        town_centres=frame(TOWN_CENTRES),
        built_up_areas=frame(BUILT_UP_AREAS),
        heritage_sites=frame(HERITAGE_SITES),
        rural_lsoas=rural,
        heritage_distance_m=options.heritage_distance_m,
        heritage_designations=options.heritage_designations,
    )


ENGINES = ("numpy", "postgis")
"""Where DBSCAN runs: here (numpy, the default: see docs/benchmarks.md) or in PostGIS."""


def _database_labels(store: Store, flt: IncidentFilter, rid: np.ndarray,
                     options: AnalysisOptions) -> np.ndarray:
    """DBSCAN labels from ST_ClusterDBSCAN, aligned with the analysed incidents' row ids."""
    params = options.parameters
    if not isinstance(store, PostGISStore):
        raise ParameterError("engine postgis needs the PostGIS store; this store is "
                             f"{store.kind}", "engine")
    min_samples = params.get("min_samples", "auto")
    if min_samples == "auto" or float(min_samples) != int(float(min_samples)):
        raise ParameterError("engine postgis takes a whole-number min_samples (PostGIS has no "
                             "per-incident threshold)", "min_samples")
    if options.weighted:
        raise ParameterError("engine postgis counts incidents; it cannot weigh them", "weighted")
    unsupported = sorted(set(params) - {"eps_m", "min_samples", "buffer_m", "engine"})
    if unsupported:
        raise ParameterError(f"{unsupported[0]} is not a parameter of engine postgis",
                             unsupported[0])
    got_rid, got = store.cluster_dbscan(
        flt, eps_m=float(params.get("eps_m", 150.0)), min_samples=int(float(min_samples)))
    labels = np.full(rid.shape[0], -1, dtype=np.int64)  # rows added since: not clustered
    found = np.isin(rid, got_rid)
    labels[found] = got[np.searchsorted(got_rid, rid[found])]
    return labels


EMERGING_MONTHS = 12
"""Months of history the emerging classes look at when the selection is shorter."""


def history_start(end: int, timezone: str, months: int = EMERGING_MONTHS) -> int:
    """The start (seconds, UTC) of the ``months`` whole local months that end with the month
    holding ``end - 1`` (``end`` exclusive, seconds since the epoch)."""
    last = pd.Timestamp(end - 1, unit="s", tz="UTC").tz_convert(timezone)
    first = pd.Period(year=last.year, month=last.month, freq="M") - (months - 1)
    return int(pd.Timestamp(first.start_time).tz_localize(timezone).value // 10**9)


def _month_start(t: int, timezone: str) -> pd.Period | None:
    """The local month that ``t`` (seconds, UTC) begins, None when ``t`` is not a local
    month's first instant."""
    local = pd.Timestamp(t, unit="s", tz="UTC").tz_convert(timezone)
    if (local.day, local.hour, local.minute, local.second) != (1, 0, 0, 0):
        return None
    return pd.Period(year=local.year, month=local.month, freq="M")


def _period_start(month: pd.Period, timezone: str) -> int:
    return int(pd.Timestamp(month.start_time).tz_localize(timezone).value // 10**9)


def _local_iso(t: int, timezone: str) -> str:
    return pd.Timestamp(t, unit="s", tz="UTC").tz_convert(timezone).isoformat()


def previous_period(start: int, end: int, timezone: str) -> tuple[int, int]:
    """The period just before ``[start, end)`` (seconds, UTC) that a trend compares with: the
    same number of whole local months when both bounds are local month starts (May to October
    against November to April), else the same number of seconds."""
    first, after = _month_start(start, timezone), _month_start(end, timezone)
    if first is not None and after is not None and after > first:
        months = (after - first).n
        return _period_start(first - months, timezone), start
    return start - (end - start), start


def latest_complete_month(store: Store) -> str | None:
    """The last whole month of the store's incidents ("YYYY-MM", local time), None when the
    store is empty. The month of the latest incident counts as whole when that incident is
    dated to the month (data.police.uk months are stored at their first instant) or falls on
    the month's last day; else the month before is the last whole one. None also when the
    data do not reach back into that month (less than a month of data)."""
    times = store.incidents().occurred_at
    if not len(times):
        return None
    latest, earliest = int(np.max(times)), int(np.min(times))
    local = pd.Timestamp(latest, unit="s", tz="UTC").tz_convert(store.timezone)
    month = pd.Period(year=local.year, month=local.month, freq="M")
    if _month_start(latest, store.timezone) is None and local.day < local.days_in_month:
        month -= 1
    first = pd.Timestamp(earliest, unit="s", tz="UTC").tz_convert(store.timezone)
    if month < pd.Period(year=first.year, month=first.month, freq="M"):
        return None  # not one whole month of data
    return str(month)


def force_area(store: Store) -> Any:
    """The force boundary as one shapely geometry (store CRS, metres), None without one."""
    layer = store.get_layer(FORCE_BOUNDARY)
    if layer is None or not len(layer.frame):
        return None
    return shapely.union_all(layer.frame.geometry.values)


BEFORE_S = 62 * 86_400
SLACK_S = 86_400
"""The previous period counts as held when the store has incidents in the two months up to its
start (a day of slack for clock changes): data that begins inside it would make every trend
"up". Months of data.police.uk data are stored at their first instant."""


def store_holds(store: Store, start: int, end: int) -> bool:
    """Whether the store holds any incident at all in ``[start, end)`` (seconds, UTC)."""
    return len(store.incidents(IncidentFilter(start=start, end=end))) > 0


def _frame(store: Store, flt: IncidentFilter,
           harm: HarmTable | None = None) -> tuple[pd.DataFrame, str]:
    """The selection's incidents as the analysis takes them, with each one's ``harm`` (days;
    ``frame.attrs["harm"]`` says where the weights came from)."""
    cols = store.incidents(flt, extra=("lsoa_code", "location_text", "crime_type"))
    weights = (harm or HarmTable.builtin()).weights(cols.extra["crime_type"], cols.category)
    frame = pd.DataFrame({
        "x": cols.x, "y": cols.y, "weight": cols.weight.astype(np.float64),
        "harm": weights.values, "category": cols.category, "occurred_at": cols.occurred_at,
        "precision": cols.precision, "lsoa_code": cols.extra["lsoa_code"],
        "location_text": cols.extra["location_text"],
    })
    frame.attrs["rid"] = cols.rid
    frame.attrs["harm"] = weights.to_dict()
    return frame, cols.data_version


def run_analysis(
    store: Store,
    taxonomy: Taxonomy,
    *,
    method: str,
    selection: Selection,
    options: AnalysisOptions,
    limits: WorkLimits | None = None,
    should_stop: ShouldStop | None = None,
    places: Any = None,
    choice: dict[str, Any] | None = None,
) -> tuple[HotspotResult, dict[str, Any]]:
    """Analyse a selection of the store; return the result and the metadata to publish with it.

    With ``method="auto"``, ``places`` are the chosen candidate's places within the area
    budget and ``choice`` what the backtest measured (:func:`api.services.backtests.auto_places`): the
    summary's PAI and hit rate are then the prospective ones.

    ``limits`` is the work budget (:class:`api.limits.WorkLimits`; none: no budget);
    ``should_stop`` is checked between stages (:mod:`hotspot.cancel`).

    Raises
    ------
    ParameterError
        An unknown category or priority, a method parameter outside :data:`api.limits.BOUNDS`,
        or an analysis over ``limits`` (naming the parameter to change).
    hotspot.InvalidParameter
        A method parameter out of range (the message names it).
    hotspot.AnalysisCancelled
        ``should_stop`` answered True.
    """
    from api.limits import check_bounds

    check_bounds(options.parameters)
    flt = selection.incident_filter(taxonomy)
    categories = flt.categories
    incidents, version = _frame(store, flt, options.harm)
    check(should_stop, "after reading the incidents")
    previous = None
    period = None
    if selection.start is not None and selection.end is not None:
        period = (selection.start, selection.end)
        prev_start, _ = previous_period(selection.start, selection.end, store.timezone)
        prev_flt = IncidentFilter(start=prev_start, end=selection.start,
                                  categories=categories, bbox=selection.bbox,
                                  lonlat_bbox=selection.lonlat_bbox)
        previous, _v = _frame(store, prev_flt, options.harm)
        if not store_holds(store, prev_start - BEFORE_S, prev_start + SLACK_S):
            previous = None  # the store's data starts after the previous period does: unknown
    history = None
    if selection.start is not None and selection.end is not None:
        first = history_start(selection.end, store.timezone)
        if first < selection.start:  # the months before the selection give the classes
            history, _v = _frame(store, IncidentFilter(
                start=first, end=selection.end, categories=categories, bbox=selection.bbox,
                lonlat_bbox=selection.lonlat_bbox), options.harm)
    force = force_area(store)
    study_area = float(shapely.area(force)) if force is not None else None
    params = dict(options.parameters)
    engine = params.pop("engine", None) or "numpy"
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}", "engine")
    labels = None
    if engine == "postgis" and method == "dbscan":
        labels = _database_labels(store, flt, incidents.attrs["rid"], options)
    try:
        result = analyse(
            incidents, crs=store.crs, method=method, layers=context_layers(store, options),
            period=period, previous=previous, timezone=store.timezone,
            study_area_m2=study_area, boundary=force, weighted=options.weighted,
            history=history, cluster_labels=labels, places=places,
            should_stop=should_stop, **(limits.analyse_arguments() if limits else {}), **params,
        )
    except WorkLimitExceeded as exc:
        if limits is None:
            raise
        raise limits.refusal(exc) from None
    if choice is not None:
        result.info["pai"] = choice["prospective"]["pai"]
        result.info["hit_rate_prospective"] = choice["prospective"]["hit_rate"]
        result.info["pai_basis"] = "prospective"
        result.info["choice"] = choice["sentence"]
        result.parameters["area_share"] = choice["area_share"]  # the budget used
    if labels is not None:
        result.parameters["engine"] = "postgis"
        result.info["clustered_by"] = "PostGIS ST_ClusterDBSCAN"
    metadata = {
        "data_version": version,
        "selection": {**selection.to_dict(store.timezone),
                      "categories": list(categories) if categories else None},
        "crs_of_analysis": store.crs,
        "timezone": store.timezone,
        "heritage": {"distance_m": options.heritage_distance_m,
                     "designations": list(options.heritage_designations or []) or None},
        "weighted": options.weighted,
        "harm": incidents.attrs["harm"],
        "previous_period": previous is not None,
        "previous_selection": None if previous is None or period is None else {
            "from": _local_iso(previous_period(*period, store.timezone)[0], store.timezone),
            "to": _local_iso(period[0], store.timezone)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "attribution": ATTRIBUTION,
    }
    if choice is not None:
        metadata["choice"] = choice
    return result, metadata


def density_grid(store: Store, taxonomy: Taxonomy, selection: Selection, *,
                 weighted: bool = False, limits: WorkLimits | None = None,
                 should_stop: ShouldStop | None = None,
                 **kde: Any) -> tuple[DensityGrid, IncidentColumns]:
    """The kernel density surface of a selection (``kde``: :func:`hotspot.kde_grid`'s
    bandwidth_m, cell_size_m, kernel) and the incidents it was made from; ``limits`` bounds the
    grid's cells.

    Raises
    ------
    ParameterError
        An unknown category or priority, no incidents in the selection, a parameter outside
        :data:`api.limits.BOUNDS`, or a grid over ``limits``.
    hotspot.InvalidParameter
        A KDE parameter that does not fit the selection.
    hotspot.AnalysisCancelled
        ``should_stop`` answered True.
    """
    from api.limits import check_bounds

    check_bounds(kde)
    cols = store.incidents(selection.incident_filter(taxonomy))
    if len(cols) == 0:
        raise ParameterError("there are no incidents in the selection", "category")
    check(should_stop, "after reading the incidents")
    if limits is not None and limits.max_grid_cells is not None:
        kde.setdefault("max_cells", limits.max_grid_cells)
    try:
        grid = kde_grid(cols.xy, crs=store.crs, weights=cols.weight if weighted else None,
                        **kde)
    except WorkLimitExceeded as exc:
        if limits is None:
            raise
        raise limits.refusal(exc) from None
    return grid, cols


MAP_LAYERS = (FORCE_BOUNDARY, TOWN_CENTRES, BUILT_UP_AREAS, HERITAGE_SITES, PATROL_BASES)
"""The reference layers the planner's map shows."""


def map_layers(store: Store) -> dict[str, Any]:
    """The store's reference layers for the map, by kind (None where the store has none)."""
    out: dict[str, Any] = {}
    for kind in MAP_LAYERS:
        layer = store.get_layer(kind)
        out[kind] = layer.frame if layer is not None else None
    return out


METHOD_NAMES = {"dbscan": "DBSCAN clusters", "kde": "Kernel density",
                "gistar": "Gi* hot spots", "auto": "Best in backtest"}
"""The methods in a planner's words."""


def percent(share: float) -> str:
    """A share as a percentage in words, as the summaries write it (0.005 -> "0.5 %")."""
    return _percent(share)


def _percent(share: float) -> str:
    """0.00326 -> "0.33 %", 0.53 -> "53 %"."""
    return f"{share * 100:.2f} %" if share < 0.01 else f"{share * 100:.0f} %"


def map_summary(method: str, info: dict[str, Any], data_version: str, *,
                choice: dict[str, Any] | None = None, area_name: str = "force area",
                weight: str | None = None, sentence: bool = True) -> str:
    """What a map shows, in plain words: the backtest's sentence about the chosen method when
    there is one (``metadata["choice"]``), else how many places, what share of the
    ``area_name`` they cover and of the incidents (or harm) they hold, saying when that is
    measured on the very incidents they were drawn from (retrospective). ``sentence=False``
    leaves the backtest's sentence out (a page that shows it as its headline)."""
    if info.get("note"):
        return str(info["note"])
    if choice and choice.get("sentence"):
        months = [str(m) for m in choice.get("months") or []]
        span = (f", fitted on {months[0]} to {months[-1]}" if len(months) > 1
                else f", fitted on {months[0]}" if months else "")
        family = str(choice.get("family") or choice.get("method"))
        chosen = METHOD_NAMES.get(family, family)
        candidate = f" ({choice['candidate']})" if choice.get("candidate") else ""
        said = f"{choice['sentence']} " if sentence else ""
        return (f"{said}Method: {chosen}{candidate}, the best in the "
                f"backtest{span} \u00b7 data {data_version}")
    n = int(info.get("hotspots", 0))
    text = f"{METHOD_NAMES.get(method, method)}: {'1 place' if n == 1 else f'{n:,} places'}"
    if info.get("area_share") is not None:
        text += f" ({_percent(float(info['area_share']))} of the {area_name})"
    of = "the harm of the " if weight == "harm" else "the "
    text += (f" hold {_percent(float(info.get('hit_rate', 0)))} of {of}"
             f"{int(info.get('incidents', 0)):,} incidents they were drawn from")
    pai = info.get("pai")
    if pai and info.get("pai_basis", "retrospective") == "retrospective":
        text += (f", {float(pai):,.0f} times the {area_name}'s average per km\u00b2 "
                 "(retrospective: measured on the same incidents, so it flatters)")
    elif pai:
        text += (f"; in the backtest such places held {float(pai):,.1f} times the "
                 f"{area_name}'s average per km\u00b2 of the following month's crime")
    if info.get("area_budget_km2") is not None:
        text += f" \u00b7 area budget {float(info['area_budget_km2']):g} km\u00b2"
    return f"{text} \u00b7 data {data_version}"


def tile_url(value: str) -> str | None:
    """A basemap tile URL setting: None for 'none' or empty (no basemap)."""
    return None if value.strip().lower() in ("", "none") else value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: lists joined, dicts as JSON, text that a spreadsheet would run as a formula
    prefixed with an apostrophe (data text such as a location must never run)."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=False)
    elif isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
