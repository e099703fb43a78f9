"""Running a hotspot analysis on a store: the layers, the previous period, the density grid,
and the map's summary in words.

The composition of :mod:`geodata` (the store) and :mod:`hotspot` (the computation), shared by the
CLI (``hotspot analyse``) and the HTTP API.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.formats import ATTRIBUTION, percent
from api.limits import WorkLimits, check_bounds
from api.service_errors import InvalidInput
from api.services.selection import Selection
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
from geodata.stores import ClustersInDatabase, IncidentStore, LayerStore, Store
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


@dataclass(frozen=True)
class AnalysisOptions:
    """Options of the analysis beyond the method's parameters."""

    heritage_distance_m: float = 200.0
    heritage_designations: tuple[str, ...] | None = None
    weighted: bool = False
    parameters: dict[str, Any] = field(default_factory=dict)
    harm: HarmTable | None = None
    """The harm table (a force's, or the built-in approximate one when None)."""


def context_layers(store: LayerStore, options: AnalysisOptions,
                   version: str | None = None) -> ContextLayers:
    """The store's reference layers, as the hotspot classification takes them: the same
    objects for every call until the store's data version changes (:func:`_layer_frames`),
    so that the grids the classification builds of them are made once
    (:func:`hotspot.inside.kept_for`). ``version``: the data version read already (with the
    incidents), else it is read here."""
    frames, rural = _layer_frames(store, version)
    return ContextLayers(
        town_centres=frames[TOWN_CENTRES],
        built_up_areas=frames[BUILT_UP_AREAS],
        heritage_sites=frames[HERITAGE_SITES],
        rural_lsoas=rural,
        heritage_distance_m=options.heritage_distance_m,
        heritage_designations=options.heritage_designations,
    )


_CONTEXT_KINDS = (TOWN_CENTRES, BUILT_UP_AREAS, HERITAGE_SITES)
_LAYERS_KEPT = 4
"""Stores (or data versions) whose layers :func:`_layer_frames` keeps."""
_kept_layers: OrderedDict[tuple[str, str], tuple[dict[str, Any], frozenset[str] | None]] = \
    OrderedDict()
_kept_lock = threading.Lock()


def _layer_frames(store: LayerStore, known: str | None = None,
                  ) -> tuple[dict[str, Any], frozenset[str] | None]:
    """The context layers' frames (None for a layer the store lacks) and the rural LSOAs,
    read from ``store`` once per data version (``known``, or read here): the version is read
    before the layers, so a layer stored meanwhile is kept under the old version at worst,
    which no later read asks for (the store moves its version on whenever a layer changes).
    The frames are shared by concurrent analyses: nothing may change them (nothing does: the
    analysis copies what it filters, and tests points against prepared copies)."""
    store_id = getattr(store, "store_id", None)
    read_version = getattr(store, "data_version", None)
    if known is None and read_version is not None:
        known = str(read_version())
    key = (str(store_id), known) if store_id is not None and known is not None else None
    if key is not None:
        with _kept_lock:
            hit = _kept_layers.get(key)
            if hit is not None:
                _kept_layers.move_to_end(key)
                return hit

    def frame(kind: str) -> Any:
        layer = store.get_layer(kind)
        return None if layer is None else layer.frame

    lookup = frame(RURAL_URBAN_LOOKUP)
    rural = (frozenset(lookup.loc[lookup["is_rural"].astype(bool), "lsoa_code"].astype(str))
             if lookup is not None else None)
    made = ({kind: frame(kind) for kind in _CONTEXT_KINDS}, rural)
    if key is not None:
        with _kept_lock:
            _kept_layers[key] = made
            while len(_kept_layers) > _LAYERS_KEPT:
                _kept_layers.popitem(last=False)
    return made


ENGINES = ("numpy", "postgis")
"""Where DBSCAN runs: here (numpy, the default: see docs/benchmarks.md) or in PostGIS."""


def _database_labels(store: IncidentStore, flt: IncidentFilter, rid: np.ndarray,
                     options: AnalysisOptions) -> np.ndarray:
    """DBSCAN labels from ST_ClusterDBSCAN, aligned with the analysed incidents' row ids."""
    params = options.parameters
    if not isinstance(store, ClustersInDatabase):
        raise InvalidInput("engine postgis needs the PostGIS store; this store is "
                           f"{store.kind}", "engine")
    min_samples = params.get("min_samples", "auto")
    if min_samples == "auto" or float(min_samples) != int(float(min_samples)):
        raise InvalidInput("engine postgis takes a whole-number min_samples (PostGIS has no "
                           "per-incident threshold)", "min_samples")
    if options.weighted:
        raise InvalidInput("engine postgis counts incidents; it cannot weigh them", "weighted")
    unsupported = sorted(set(params) - {"eps_m", "min_samples", "buffer_m", "engine"})
    if unsupported:
        raise InvalidInput(f"{unsupported[0]} is not a parameter of engine postgis",
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


def latest_complete_month(store: IncidentStore) -> str | None:
    """The last whole month of the store's incidents ("YYYY-MM", local time), None when the
    store is empty. The month of the latest incident counts as whole when that incident is
    dated to the month (data.police.uk months are stored at their first instant) or falls on
    the month's last day; else the month before is the last whole one. None also when the
    data do not reach back into that month (less than a month of data)."""
    span = store.time_span()  # the stores' own summaries: no incident is read
    if span is None:
        return None
    earliest, latest = span
    local = pd.Timestamp(latest, unit="s", tz="UTC").tz_convert(store.timezone)
    month = pd.Period(year=local.year, month=local.month, freq="M")
    if _month_start(latest, store.timezone) is None and local.day < local.days_in_month:
        month -= 1
    first = pd.Timestamp(earliest, unit="s", tz="UTC").tz_convert(store.timezone)
    if month < pd.Period(year=first.year, month=first.month, freq="M"):
        return None  # not one whole month of data
    return str(month)


def first_month(store: IncidentStore) -> str | None:
    """The month of the store's first incident ("YYYY-MM", local time), None when the store
    is empty (from the store's summaries: no incident is read)."""
    span = store.time_span()
    if span is None:
        return None
    first = pd.Timestamp(span[0], unit="s", tz="UTC").tz_convert(store.timezone)
    return f"{first.year:04d}-{first.month:02d}"


def force_area(store: LayerStore) -> Any:
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


def store_holds(store: IncidentStore, start: int, end: int) -> bool:
    """Whether the store holds any incident at all in ``[start, end)`` (seconds, UTC)."""
    return store.holds_incidents(IncidentFilter(start=start, end=end))


FRAME_EXTRA = ("lsoa_code", "location_text", "crime_type")
"""The store's coded columns an analysed selection is read with (places' names, LSOAs for the
rural classes, the crime type for the harm weights)."""
HISTORY_EXTRA = ("crime_type",)
"""Those of the emerging classes' months (their cube counts incidents, or their harm, by cell
and month): the names and LSOAs, a million distinct strings a year at a force's full size,
are not read."""


class RowIds(np.ndarray):
    """A frame's row ids as its ``attrs["rid"]`` holds them: read-only, and shared by every
    frame and column pandas derives from it (pandas deep-copies ``attrs`` at each: a copy of
    8 MB at 10^6 incidents, twenty times an answer)."""

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> RowIds:
        return self


def row_ids(rid: np.ndarray) -> RowIds:
    """``rid`` (int64) as :class:`RowIds`, read-only (a view: no copy)."""
    out = np.asarray(rid, dtype=np.int64).view(RowIds)
    out.flags.writeable = False
    return out


def _frame(store: IncidentStore, flt: IncidentFilter, harm: HarmTable | None = None, *,
           extra: tuple[str, ...] = FRAME_EXTRA) -> tuple[pd.DataFrame, str]:
    """The selection's incidents as the analysis takes them (``x``, ``y`` in metres of the
    store's CRS, ``weight``, ``category``, ``occurred_at``, ``precision`` and the ``extra``
    columns), with each one's ``harm`` (days; ``frame.attrs["harm"]`` says where the weights
    came from) when ``crime_type`` is among ``extra``."""
    cols = store.incidents(flt, extra=extra, lonlat=False)  # analyses work in the store's CRS
    data: dict[str, Any] = {"x": cols.x, "y": cols.y, "weight": cols.weight.astype(np.float64)}
    weights = None
    if "crime_type" in cols.extra:
        weights = (harm or HarmTable.builtin()).weights(cols.extra["crime_type"], cols.category)
        data["harm"] = weights.values
    data.update(category=cols.category, occurred_at=cols.occurred_at, precision=cols.precision)
    for name in ("lsoa_code", "location_text"):
        if name in cols.extra:
            data[name] = cols.extra[name]
    # the columns are this frame's alone: no copy into consolidated blocks
    frame = pd.DataFrame(data, copy=False)
    frame.attrs["rid"] = row_ids(cols.rid)
    if weights is not None:
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
    InvalidInput
        An unknown category or priority, a method parameter outside :data:`api.limits.BOUNDS`,
        or an analysis over ``limits`` (naming the parameter to change).
    hotspot.InvalidParameter
        A method parameter out of range (the message names it).
    hotspot.AnalysisCancelled
        ``should_stop`` answered True.
    """
    check_bounds(options.parameters)
    flt = selection.incident_filter(taxonomy)
    categories = flt.categories
    incidents, version = _frame(store, flt, options.harm)
    check(should_stop, "after reading the incidents")
    period = None
    if selection.start is not None and selection.end is not None:
        period = (selection.start, selection.end)
    # the previous period and the emerging classes' months are read beside the engine
    readers = _readers()
    previous = readers.submit(_previous_incidents, store, selection, categories, options.harm)
    history = readers.submit(_history_incidents, store, selection, categories, options.harm,
                             (incidents[list(HISTORY_COLUMNS)], incidents.attrs["rid"]))
    force = force_area(store)
    study_area = float(shapely.area(force)) if force is not None else None
    params = dict(options.parameters)
    engine = params.pop("engine", None) or "numpy"
    if engine not in ENGINES:
        raise InvalidInput(f"engine must be one of {', '.join(ENGINES)}", "engine")
    labels = None
    if engine == "postgis" and method == "dbscan":
        labels = _database_labels(store, flt, incidents.attrs["rid"], options)
    try:
        result = analyse(
            incidents, crs=store.crs, method=method,
            layers=context_layers(store, options, version),
            period=period, previous=previous.result, timezone=store.timezone,
            study_area_m2=study_area, boundary=force, weighted=options.weighted,
            history=history.result, cluster_labels=labels, places=places,
            should_stop=should_stop, **(limits.analyse_arguments() if limits else {}), **params,
        )
    except WorkLimitExceeded as exc:
        if limits is None:
            raise
        raise limits.refusal(exc) from None
    _note_how_found(result, choice, in_database=labels is not None)
    metadata = _metadata(store, selection, options, categories, version, incidents,
                         previous.result() is not None, period)
    if choice is not None:
        metadata["choice"] = choice
    return result, metadata


def _note_how_found(result: HotspotResult, choice: dict[str, Any] | None, *,
                    in_database: bool) -> None:
    """Say in ``result`` how its places were found: the backtest's choice (its prospective PAI
    and hit rate, the area budget used) and whether PostGIS clustered the incidents."""
    if choice is not None:
        result.info["pai"] = choice["prospective"]["pai"]
        result.info["hit_rate_prospective"] = choice["prospective"]["hit_rate"]
        result.info["pai_basis"] = "prospective"
        result.info["choice"] = choice["sentence"]
        result.parameters["area_share"] = choice["area_share"]  # the budget used
    if in_database:
        result.parameters["engine"] = "postgis"
        result.info["clustered_by"] = "PostGIS ST_ClusterDBSCAN"


READERS = 4
"""Threads that read selections' previous periods and emerging months (:func:`_readers`)."""
_reader_pool: ThreadPoolExecutor | None = None
_reader_lock = threading.Lock()


def _readers() -> ThreadPoolExecutor:
    """This process's :data:`READERS` threads that read the incidents an analysis takes
    beside its engine (a long-lived few: each keeps its own store connection, so a thread a
    request would leave a connection a request behind)."""
    global _reader_pool
    with _reader_lock:
        if _reader_pool is None:
            _reader_pool = ThreadPoolExecutor(max_workers=READERS,
                                              thread_name_prefix="hotspot-read")
        return _reader_pool


def _forget_readers() -> None:
    """In a child made by fork, the parent's reader threads do not exist (and the lock may
    have been held by one of the parent's threads)."""
    global _reader_pool, _reader_lock, _history_pool
    _reader_pool = None
    _history_pool = None
    _reader_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_readers)


def _previous_incidents(store: IncidentStore, selection: Selection, categories: Any,
                        harm: HarmTable | None) -> pd.DataFrame | None:
    """The incidents of the period as long as the selection's just before it (for the
    trends); None without a period, or when the store's data starts after that period does."""
    if selection.start is None or selection.end is None:
        return None
    prev_start, _ = previous_period(selection.start, selection.end, store.timezone)
    prev_flt = IncidentFilter(start=prev_start, end=selection.start,
                              categories=categories, bbox=selection.bbox,
                              lonlat_bbox=selection.lonlat_bbox)
    previous, _v = _frame(store, prev_flt, harm, extra=())  # the trends count them only
    if not store_holds(store, prev_start - BEFORE_S, prev_start + SLACK_S):
        return None  # the store's data starts after the previous period does: unknown
    return previous


HISTORY_COLUMNS = ("x", "y", "weight", "harm", "occurred_at")
"""The columns of the emerging classes' months (:func:`_history_incidents`)."""
HISTORY_SPLIT_S = 120 * 86_400
"""From this span (about four months) the months before a selection are read in two halves at
once (:func:`_history_incidents`): on PostGIS each half's columns are made by a server process
of its own, on both cores."""


def _history_incidents(store: IncidentStore, selection: Selection, categories: Any,
                       harm: HarmTable | None,
                       recent: tuple[pd.DataFrame, np.ndarray] | None = None,
                       ) -> pd.DataFrame | None:
    """The incidents of the :data:`EMERGING_MONTHS` up to the selection's end, when they start
    before the selection (the months before it give the emerging classes); else None.

    ``recent``: the selection's own incidents as read for the analysis (a frame with
    :data:`HISTORY_COLUMNS`, and their row ids), so that only the months before it are read
    again: the same rows in the same order (by row id) as one read of every month, with
    :data:`HISTORY_COLUMNS` (a planner's six months at 10^6: half the rows read)."""
    if selection.start is None or selection.end is None:
        return None
    first = history_start(selection.end, store.timezone)
    if first >= selection.start:
        return None
    end = selection.end if recent is None else selection.start

    def read(start: int, stop: int) -> pd.DataFrame:
        months, _v = _frame(store, IncidentFilter(
            start=start, end=stop, categories=categories, bbox=selection.bbox,
            lonlat_bbox=selection.lonlat_bbox), harm, extra=HISTORY_EXTRA)
        return months

    if recent is None:
        return read(first, end)
    if end - first >= HISTORY_SPLIT_S:  # two halves read at once, on two connections
        middle = first + (end - first) // 2
        later = _history_readers().submit(read, middle, end)
        months = [read(first, middle), later.result()]
    else:
        months = [read(first, end)]
    parts = [*((m, m.attrs["rid"]) for m in months), recent]
    rids = np.concatenate([rid for _f, rid in parts])
    order = np.argsort(rids, kind="stable")
    whole = pd.DataFrame({c: np.concatenate([f[c].to_numpy() for f, _rid in parts])[order]
                          for c in HISTORY_COLUMNS}, copy=False)
    whole.attrs["rid"] = row_ids(rids[order])
    return whole


_history_pool: ThreadPoolExecutor | None = None


def _history_readers() -> ThreadPoolExecutor:
    """This process's two threads that read the later half of the emerging months (apart from
    :func:`_readers`, whose threads wait for them: never the other way round)."""
    global _history_pool
    with _reader_lock:
        if _history_pool is None:
            _history_pool = ThreadPoolExecutor(max_workers=2,
                                               thread_name_prefix="hotspot-read-history")
        return _history_pool


def _metadata(store: IncidentStore, selection: Selection, options: AnalysisOptions, categories: Any,
              version: str, incidents: pd.DataFrame, has_previous: bool,
              period: tuple[int, int] | None) -> dict[str, Any]:
    """What is published with a result: the data version, the selection, the CRS, the options,
    the previous period compared with, when it was made and the attribution."""
    return {
        "data_version": version,
        "selection": {**selection.to_dict(store.timezone),
                      "categories": list(categories) if categories else None},
        "crs_of_analysis": store.crs,
        "timezone": store.timezone,
        "heritage": {"distance_m": options.heritage_distance_m,
                     "designations": list(options.heritage_designations or []) or None},
        "weighted": options.weighted,
        "harm": incidents.attrs["harm"],
        "previous_period": has_previous,
        "previous_selection": None if not has_previous or period is None else {
            "from": _local_iso(previous_period(*period, store.timezone)[0], store.timezone),
            "to": _local_iso(period[0], store.timezone)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "attribution": ATTRIBUTION,
    }


def density_grid(store: IncidentStore, taxonomy: Taxonomy, selection: Selection, *,
                 weighted: bool = False, limits: WorkLimits | None = None,
                 should_stop: ShouldStop | None = None,
                 **kde: Any) -> tuple[DensityGrid, IncidentColumns]:
    """The kernel density surface of a selection (``kde``: :func:`hotspot.kde_grid`'s
    bandwidth_m, cell_size_m, kernel) and the incidents it was made from; ``limits`` bounds the
    grid's cells.

    Raises
    ------
    InvalidInput
        An unknown category or priority, no incidents in the selection, a parameter outside
        :data:`api.limits.BOUNDS`, or a grid over ``limits``.
    hotspot.InvalidParameter
        A KDE parameter that does not fit the selection.
    hotspot.AnalysisCancelled
        ``should_stop`` answered True.
    """
    check_bounds(kde)
    cols = store.incidents(selection.incident_filter(taxonomy), lonlat=False)
    if len(cols) == 0:
        raise InvalidInput("there are no incidents in the selection", "category")
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


def map_layers(store: LayerStore) -> dict[str, Any]:
    """The store's reference layers for the map, by kind (None where the store has none)."""
    out: dict[str, Any] = {}
    for kind in MAP_LAYERS:
        layer = store.get_layer(kind)
        out[kind] = layer.frame if layer is not None else None
    return out


METHOD_NAMES = {"dbscan": "DBSCAN clusters", "kde": "Kernel density",
                "gistar": "Gi* hot spots", "auto": "Best in backtest"}
"""The methods in a planner's words."""


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
        text += f" ({percent(float(info['area_share']))} of the {area_name})"
    of = "the harm of the " if weight == "harm" else "the "
    text += (f" hold {percent(float(info.get('hit_rate', 0)))} of {of}"
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


