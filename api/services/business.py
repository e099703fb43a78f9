"""Business reports: incidents a shop or business reports through the Retail and Business Crime
Reduction Partnership (a theft, abuse of staff: time, place, type, optional value).

They are their own source, kept apart from police-recorded crime: never incidents, never in
hotspots, analyses or counts of police data (the store keeps them in their own table and they
do not change its data version). Who reads what:

- a **partner** key submits them and reads back only its own (one it did not send is "not
  found", never "forbidden": a partner cannot learn that another's report exists);
- **analysts** (staff) read them all, by period, as a list, as GeoJSON (the planner's map
  draws them as a separate "Business reports" layer with its count);
- the **partnership** gets them back only aggregated: the published product carries their grid
  counts, suppressed as its police counts are and more (:func:`product_group`: a partner knows
  its own reports, so no count is shown that one partner could subtract its own from and be
  left with a small one), never a position or a word of their text.

Submissions are limited per key: ``HOTSPOT_BUSINESS_REPORTS_PER_HOUR`` (beside the request rate
every call has) and ``HOTSPOT_BUSINESS_REPORTS_PER_DAY`` (stored reports a calendar day, the
force's local time), so that no key can fill the analysts' map.
"""

from __future__ import annotations

import math
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely

from api.access import STAFF, Principal
from api.ratelimit import RateLimiter
from api.service_errors import InvalidInput, NotFound, RateLimited, ServiceError
from api.settings import Settings
from geodata.coords import WGS84, transform
from geodata.layers import force_area
from geodata.stores import Store
from hotspot import gridref
from hotspot.disclosure import HELD_BACK, GridCounts, grid_counts
from hotspot.errors import InvalidParameter
from hotspot.gridref import BNG


@dataclass(frozen=True)
class BusinessType:
    """A type of incident the partnership reports."""

    key: str
    label: str
    category: str | None
    """The taxonomy category it is nearest to (for analysts); None where there is none."""
    group: str
    """Its group in the published product (:data:`PRODUCT_GROUPS`)."""


TYPES: dict[str, BusinessType] = {t.key: t for t in (
    BusinessType("shoplifting", "Shoplifting", "shoplifting", "theft"),
    BusinessType("theft_other", "Other theft", "other_theft", "theft"),
    BusinessType("abuse_of_staff", "Abuse of staff", "public_order", "staff"),
    BusinessType("violence_against_staff", "Violence against staff", "violence_sexual",
                 "staff"),
    BusinessType("criminal_damage", "Criminal damage", "criminal_damage_arson", "other"),
    BusinessType("fraud", "Fraud", None, "other"),
    BusinessType("burglary", "Burglary", "business_burglary", "theft"),
    BusinessType("other", "Other", "other", "other"),
)}
"""The fixed list of types a business report may have, in the form's order."""
PRODUCT_GROUPS = {"theft": "Theft and burglary", "staff": "Abuse and violence against staff",
                  "other": "Damage, fraud and other"}
"""The published product's groups of business reports (beside their total)."""
SOURCE = "business_report"
"""What every business report says it is, so that nobody reads it as police-recorded crime."""
SOURCE_NOTE = ("Reported by businesses through the Retail and Business Crime Reduction "
               "Partnership: not police-recorded crime, not in hotspots or police counts.")
MAX_AGE_DAYS = 366
"""The oldest incident a report may describe, days before now."""
MAX_VALUE_PENCE = 100_000_000
"""The largest value a report may give (£1,000,000), pence."""
BUSINESS_MAX = 200
DESCRIPTION_MAX = 2000
"""Longest business name and description, characters."""
LIST_MAX = 5000
"""Most reports one listing returns (``count`` says how many there are)."""

def parse_grid_reference(text: str) -> tuple[float, float]:
    """An OS grid reference as the British National Grid easting and northing (metres,
    EPSG:27700) of its square's centre (:func:`hotspot.gridref.parse_grid_reference`); 422
    naming ``place.grid_ref`` for text that is not one."""
    try:
        return gridref.parse_grid_reference(text)
    except ValueError as exc:
        raise InvalidInput(f"place.grid_ref: {exc}", field="place.grid_ref") from None


def locate(store: Store, settings: Settings, place: dict[str, Any]) -> dict[str, float]:
    """The place of a report as ``x``, ``y`` (store CRS, metres) and ``lon``, ``lat`` (WGS84),
    from exactly one of: ``lon`` and ``lat``; ``x`` and ``y`` (store CRS); ``grid_ref``.

    Raises
    ------
    InvalidInput
        Naming the field: a place given in none or several ways, half a pair, or outside the
        force area (within ``HOTSPOT_AREA_BUFFER_M`` of its boundary, as for incidents).
    """
    given = {k for k, v in place.items() if v is not None}
    ways = [w for w in (("lon", "lat"), ("x", "y"), ("grid_ref",)) if given & set(w)]
    if len(ways) != 1:
        raise InvalidInput("place needs exactly one of: lon and lat (WGS84), x and y "
                           f"({store.crs}) or grid_ref (an OS grid reference)", field="place")
    way = ways[0]
    for name in way:
        if place.get(name) is None:
            raise InvalidInput(f"place.{name} is missing (give {' and '.join(way)})",
                               field=f"place.{name}")
    if way == ("lon", "lat"):
        lon, lat = float(place["lon"]), float(place["lat"])
        xs, ys, _ = transform(np.array([lon]), np.array([lat]), WGS84, store.crs)
        x, y = float(xs[0]), float(ys[0])
        field = "place.lon"
    else:
        if way == ("x", "y"):
            x, y, crs, field = float(place["x"]), float(place["y"]), store.crs, "place.x"
        else:
            x, y = parse_grid_reference(str(place["grid_ref"]))
            crs, field = BNG, "place.grid_ref"
        if crs != store.crs:
            xs, ys, _ = transform(np.array([x]), np.array([y]), crs, store.crs)
            x, y = float(xs[0]), float(ys[0])
        lons, lats, _ = transform(np.array([x]), np.array([y]), store.crs, WGS84)
        lon, lat = float(lons[0]), float(lats[0])
    area = force_area(store, settings.area_buffer_m)
    inside = all(math.isfinite(v) for v in (x, y, lon, lat)) and bool(
        area.in_crs_area(np.array([lon]), np.array([lat]))[0]
        and area.in_force_area(np.array([x]), np.array([y]))[0])
    if not inside:
        where = "the force area" if area.has_boundary else f"the area of {store.crs}"
        raise InvalidInput(f"{field.split('.')[-1]}: the place is outside {where}: the "
                           "partnership reports incidents in the force area only", field=field)
    return {"x": round(x, 2), "y": round(y, 2), "lon": round(lon, 6), "lat": round(lat, 6)}


def occurred_seconds(value: datetime, timezone: str, *, now: datetime | None = None) -> int:
    """When the incident happened as seconds since the epoch, UTC (a time without an offset is
    local time in ``timezone``).

    Raises
    ------
    InvalidInput
        Naming ``occurred_at``: in the future, or more than :data:`MAX_AGE_DAYS` ago; or a
        local time without an offset that the clocks skipped (spring forward) or showed twice
        (autumn fall-back): only its UTC offset says when it was.
    """
    now = now or datetime.now(UTC)
    try:
        if value.tzinfo is None:
            value = _local(value, ZoneInfo(timezone))
        when = value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput("occurred_at is out of range", field="occurred_at") from None
    if when > now + timedelta(minutes=5):  # a tablet's clock a little fast is no error
        raise InvalidInput("occurred_at is in the future: give when the incident happened",
                           field="occurred_at")
    if when < now - timedelta(days=MAX_AGE_DAYS):
        raise InvalidInput(f"occurred_at is more than {MAX_AGE_DAYS} days ago: report "
                           "incidents of the last year", field="occurred_at")
    return int(when.timestamp())


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    """A naive local time in ``zone`` as an aware one, or 422 naming ``occurred_at`` for a time
    the clocks skipped or showed twice (its two readings, PEP 495 ``fold``, differ)."""
    early, late = value.replace(tzinfo=zone, fold=0), value.replace(tzinfo=zone, fold=1)
    first, second = early.utcoffset(), late.utcoffset()
    if first == second:
        return early
    shown = value.isoformat(timespec="minutes")
    if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        raise InvalidInput(f"occurred_at {shown} is not a time in {zone.key}: the clocks went "
                           "forward over it; give the time with its UTC offset (e.g. "
                           f"{shown}{_offset(first)})", field="occurred_at")
    raise InvalidInput(f"occurred_at {shown} happened twice in {zone.key} (the clocks went "
                       f"back): give the UTC offset, {shown}{_offset(first)} for the first or "
                       f"{shown}{_offset(second)} for the second", field="occurred_at")


def _offset(delta: timedelta | None) -> str:
    """A UTC offset as ISO 8601 writes it (``+01:00``)."""
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_FORMAT_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E,
                                       0x200F, 0x061C, 0x2028, 0x2029)))
"""Characters that change how the text around them is shown, refused in business reports:
the bidirectional embeddings, overrides and isolates, the direction marks (LRM, RLM, ALM), and
the line and paragraph separators. (A right-to-left override would show a business's name
reversed in the analysts' list, map and exports.)"""


def check_text_field(value: str, field: str, longest: int, *, lines: bool = False) -> str:
    """``value`` in Unicode NFC, stripped, or 422 naming ``field``: text over ``longest``
    characters; a control character (Unicode category Cc: C0, DEL and C1, such as NUL or
    U+009B, a terminal's escape; only tab and line breaks, and only where ``lines``); or a
    character of :data:`_FORMAT_CONTROLS` (bidirectional controls, U+2028, U+2029)."""
    text = unicodedata.normalize("NFC", value).strip()
    if len(text) > longest:
        raise InvalidInput(f"{field} is longer than {longest} characters", field=field)
    for c in text:
        if unicodedata.category(c) == "Cc" and not (lines and c in "\t\r\n"):
            raise InvalidInput(f"{field} holds a control character (U+{ord(c):04X}; such as "
                               "NUL)" + ("" if lines else ": give it on one line"), field=field)
        if c in _FORMAT_CONTROLS:
            raise InvalidInput(f"{field} holds U+{ord(c):04X}, a character that changes how "
                               "the text around it is shown (a text direction or line "
                               "control): leave it out", field=field)
    return text


_LIMITERS_LOCK = threading.Lock()


def check_submission_rate(app_state: Any, settings: Settings, key_id: str) -> None:
    """Take one of the key's submissions (``HOTSPOT_BUSINESS_REPORTS_PER_HOUR``), or raise
    :class:`api.errors.RateLimited` (429 with Retry-After). The buckets live in the app's
    state (each worker process counts for itself, as the request rate does)."""
    per_hour = settings.business_reports_per_hour
    if per_hour <= 0:
        return
    with _LIMITERS_LOCK:
        limiter = getattr(app_state, "business_limiter", None)
        if limiter is None:
            limiter = RateLimiter(1, min(per_hour, max(5, per_hour // 10)))
            limiter.rate = per_hour / 3600.0  # tokens a second: an hourly rate
            app_state.business_limiter = limiter
    limiter.check(key_id)


class DailyLimitReached(RateLimited):
    """A key that has sent ``HOTSPOT_BUSINESS_REPORTS_PER_DAY`` reports today (429, with
    Retry-After: the seconds to the force's next midnight)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        ServiceError.__init__(self, message)
        self.retry_after_s = retry_after_s


def check_daily_cap(store: Store, settings: Settings, key_id: str, *,
                    now: datetime | None = None) -> None:
    """Refuse a submission from a key that has already stored
    ``HOTSPOT_BUSINESS_REPORTS_PER_DAY`` reports this calendar day (midnight to midnight in the
    force's time zone, by when they were submitted; 0: no cap), so that no key can fill the
    analysts' map of business reports.

    Raises
    ------
    DailyLimitReached
        A :class:`api.errors.RateLimited` (429), saying so, Retry-After until midnight.
    """
    cap = settings.business_reports_per_day
    if cap <= 0:
        return
    now = now or datetime.now(UTC)
    zone = ZoneInfo(store.timezone)
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(), tzinfo=zone)
    sent = store.count_business_submissions(key_id, since=midnight)
    if sent >= cap:
        tomorrow = datetime.combine(today + timedelta(days=1), time(), tzinfo=zone)
        raise DailyLimitReached(
            f"this key has sent {sent} business reports today, the most one key may send in a "
            f"day (HOTSPOT_BUSINESS_REPORTS_PER_DAY = {cap}): send the rest after midnight "
            f"({store.timezone}), or ask the force to raise the limit",
            retry_after_s=max(1.0, (tomorrow - now).total_seconds()))


def submit(store: Store, settings: Settings, who: Principal, body: dict[str, Any],
           *, now: datetime | None = None) -> dict[str, Any]:
    """Check and store one report sent by ``who``; return it as :func:`shown`.

    ``body`` holds ``occurred_at`` (a datetime), ``place`` (a dict, see :func:`locate`),
    ``type`` (a key of :data:`TYPES`), ``value_pence`` (int or None), ``business`` and
    ``description`` (text).

    Raises
    ------
    InvalidInput
        Naming the field at fault.
    """
    kind = TYPES.get(str(body.get("type")))
    if kind is None:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}", field="type")
    value = body.get("value_pence")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise InvalidInput("value_pence must be a whole number of pence", field="value_pence")
    if value is not None and not 0 <= value <= MAX_VALUE_PENCE:
        raise InvalidInput(f"value_pence must be 0 to {MAX_VALUE_PENCE:,} pence",
                           field="value_pence")
    record = {
        "submitted_by": who.key_id,
        "occurred_at": occurred_seconds(body["occurred_at"], store.timezone, now=now),
        "category": kind.key,
        **locate(store, settings, dict(body.get("place") or {})),
        "business": check_text_field(str(body.get("business") or ""), "business", BUSINESS_MAX),
        "value_pence": None if value is None else int(value),
        "description": check_text_field(str(body.get("description") or ""), "description",
                                        DESCRIPTION_MAX, lines=True),
    }
    return shown(store.add_business_report(record), store.timezone)


def shown(record: dict[str, Any], timezone: str) -> dict[str, Any]:
    """A stored report as the API answers it: marked as a business report, its time in local
    time (ISO 8601), its type's label and nearest taxonomy category."""
    kind = TYPES.get(record["category"])
    when = pd.Timestamp(record["occurred_at"], unit="s", tz="UTC").tz_convert(timezone)
    return {
        "report_id": record["report_id"], "source": SOURCE,
        "type": record["category"], "type_label": kind.label if kind else record["category"],
        "taxonomy_category": kind.category if kind else None,
        "occurred_at": when.isoformat(), "submitted_at": record["submitted_at"],
        "submitted_by": record["submitted_by"],
        "place": {k: record[k] for k in ("lon", "lat", "x", "y")},
        "business": record["business"], "value_pence": record["value_pence"],
        "description": record["description"],
    }


def is_staff(who: Principal | None) -> bool:
    """Whether ``who`` reads every business report (analysts and admins)."""
    return who is not None and who.role in STAFF


def one_report(store: Store, who: Principal, report_id: str) -> dict[str, Any]:
    """A report ``who`` may read (staff: any; a partner: its own), as :func:`shown`.

    Raises
    ------
    NotFound
        For a report that does not exist and, alike, for another key's (never "forbidden":
        that would say it exists).
    """
    record = store.business_report(report_id) if len(report_id) <= 64 else None
    if record is None or not (is_staff(who) or record["submitted_by"] == who.key_id):
        raise NotFound(f"no business report {report_id[:64]!r}", field="report_id")
    return shown(record, store.timezone)


def listing(store: Store, who: Principal, *, start: int | None, end: int | None,
            limit: int = LIST_MAX) -> dict[str, Any]:
    """The reports ``who`` may read that occurred in ``[start, end)``: every one for staff, its
    own for a partner; latest first, at most ``limit``, with how many there are."""
    mine = None if is_staff(who) else who.key_id
    count = store.count_business_reports(submitted_by=mine, start=start, end=end)
    reports = store.business_reports(submitted_by=mine, start=start, end=end, limit=limit)
    return {"source": SOURCE, "note": SOURCE_NOTE, "scope": "all" if mine is None else "own",
            "count": count, "reports": [shown(r, store.timezone) for r in reports],
            "types": {k: t.label for k, t in TYPES.items()}}


def as_geojson(answer: dict[str, Any]) -> dict[str, Any]:
    """A :func:`listing` as a GeoJSON FeatureCollection (WGS84 points) for the analysts' map
    layer: type, time and business, never the description."""
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [r["place"]["lon"], r["place"]["lat"]]},
        "properties": {"report_id": r["report_id"], "type": r["type"],
                       "type_label": r["type_label"], "occurred_at": r["occurred_at"],
                       "business": r["business"], "value_pence": r["value_pence"]},
    } for r in answer["reports"]]
    return {"type": "FeatureCollection", "features": features,
            "metadata": {k: answer[k] for k in ("source", "note", "scope", "count")}}


def product_group(store: Store, start: int, end: int, *, grid_m: float,
                  min_count: int) -> dict[str, Any]:
    """The business reports of ``[start, end)`` as a published product shares them back with
    the partnership: counts per square of the product's grid, in total and per group of
    :data:`PRODUCT_GROUPS`, held back (squares left out, group counts null) by the dominance
    rule of :func:`dominance_suppress`, so that no partner can subtract its own reports from a
    published count and learn a small one. No position, time, business, submitter or text."""
    reports = store.business_reports(start=start, end=end, limit=10_000_000)
    groups = list(PRODUCT_GROUPS)
    table = dominance_suppress(
        np.array([[r["x"], r["y"]] for r in reports], dtype=np.float64).reshape(-1, 2),
        np.array([groups.index(TYPES[r["category"]].group if r["category"] in TYPES
                               else "other") for r in reports], dtype=np.int64),
        [r["submitted_by"] for r in reports], n_groups=len(groups), cell_size_m=grid_m,
        min_count=min_count)
    bounds = table.bounds()
    squares = shapely.box(bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3])
    wgs = np.asarray(shapely.bounds(_to_wgs84(squares, store.crs))).reshape(-1, 4)
    names = ["all", *groups]
    return {
        "source": SOURCE,
        "note": (f"{SOURCE_NOTE} Counts on the same {grid_m:g} m grid as the police counts. "
                 f"A count is shown only when it is at least {min_count} more than the reports "
                 "of the one partner that sent most of them (squares and group counts "
                 "otherwise held back), so no partner can take its own reports away from a "
                 "count and learn a small one; they are never added to the police counts."),
        "groups": names, "group_labels": {"all": "All business reports", **PRODUCT_GROUPS},
        "squares": {
            "x": (table.ij[:, 0] * table.cell_size_m).tolist(),
            "y": (table.ij[:, 1] * table.cell_size_m).tolist(),
            "bounds_wgs84": np.round(wgs, 6).tolist(),
            **{g: [None if v == HELD_BACK else int(v) for v in table.counts[:, i]]
               for i, g in enumerate(names)},
        },
        "published_total": int(table.counts[:, 0].sum()) if len(table) else 0,
    }


def dominance_suppress(xy: np.ndarray, groups: np.ndarray, submitters: Sequence[str], *,
                       n_groups: int, cell_size_m: float, min_count: int) -> GridCounts:
    """Business reports counted per square of the force grid, in total and per group, with
    what a partner could work out from its own reports held back: the dominance rule.

    A partner knows exactly where, when and of what type it reported, so it can take its own
    reports away from any published count; a threshold alone (a count of at least
    ``min_count``) would then leave it the exact, small count of everyone else's (4 of its own
    and 1 of another's: a square of 5 tells it "1"). So a count is shown only when it is at
    least ``min_count`` more than the reports of the **one submitter (partner key) that sent
    most of it**: whoever subtracts its own reports is left with ``min_count`` or more.

    - A square is published when its total minus its largest submitter's reports in it is at
      least ``min_count`` (otherwise it is left out, as a square with no report is).
    - In a published square, a group's count is shown when it minus its largest submitter's
      reports of that group is at least ``min_count`` (otherwise null).
    - Complementary suppression: the held-back groups add up to the total minus the groups
      shown, which anyone can work out; so the groups shown stay only when what the held-back
      ones hold is nothing, or passes the same rule (its total minus its largest submitter's
      reports in it is at least ``min_count``, which one held-back group alone never does).
      Otherwise every group of the square is held back and only its total shows.

    Every count shown is then at least ``min_count`` (the threshold of
    :func:`hotspot.disclosure.suppress` holds too).

    Parameters
    ----------
    xy
        (n, 2) report coordinates, metres in the force's projected CRS.
    groups
        (n,) group index of each report, ``0 <= g < n_groups``.
    submitters
        (n,) who sent each report (the key id).
    n_groups
        How many groups there are.
    cell_size_m
        The grid's square side, metres (as the product's police counts).
    min_count
        ``HOTSPOT_PARTNER_MIN_INCIDENTS`` (at least 2).

    Returns
    -------
    GridCounts
        The published squares, ordered by (i, j); :data:`~hotspot.disclosure.HELD_BACK` where a
        group count is held back.

    Raises
    ------
    hotspot.errors.InvalidParameter
        For a ``min_count`` under 2, or what :func:`hotspot.disclosure.grid_counts` refuses.
    """
    table = grid_counts(xy, groups, n_groups=n_groups, cell_size_m=cell_size_m)
    if int(min_count) != min_count or min_count < 2:
        raise InvalidParameter(f"min_count must be a whole number of at least 2, not "
                               f"{min_count!r}")
    k = int(min_count)
    tally: dict[tuple[int, int], Counter[tuple[int, str]]] = defaultdict(Counter)
    cells = np.floor(np.asarray(xy, dtype=np.float64).reshape(-1, 2) / cell_size_m)
    for (i, j), g, who in zip(cells.astype(np.int64).tolist(), np.asarray(groups).tolist(),
                              submitters, strict=True):
        tally[(i, j)][(g, who)] += 1
    keep: list[int] = []
    for row, (i, j) in enumerate(table.ij.tolist()):
        per_key: Counter[str] = Counter()
        top = [0] * n_groups  # each group's largest submitter's reports
        for (g, who), n in tally[(i, j)].items():
            per_key[who] += n
            top[g] = max(top[g], n)
        counts = table.counts[row]
        if counts[0] - max(per_key.values()) < k:
            continue  # the square's largest submitter would be left with under k
        held = [int(counts[1 + g]) - top[g] < k for g in range(n_groups)]
        in_held: Counter[str] = Counter()
        for (g, who), n in tally[(i, j)].items():
            if held[g]:
                in_held[who] += n
        rest = sum(in_held.values())
        if rest and rest - max(in_held.values()) < k:
            held = [True] * n_groups  # the total minus the groups shown would give it away
        counts[1:][np.array(held, dtype=bool)] = HELD_BACK
        keep.append(row)
    return GridCounts(table.ij[keep], table.counts[keep], table.cell_size_m)


def product_group_geojson(document: dict[str, Any]) -> dict[str, Any] | None:
    """A published product's business group (:func:`product_group`) as a GeoJSON
    FeatureCollection of its grid squares (WGS84 polygons; null: held back), or None for a
    product published without one. What a partner may be served, as it is stored."""
    group = document.get("business_reports")
    if group is None:
        return None
    sq, names = group["squares"], group["groups"]
    features = []
    for n, (x, y, box) in enumerate(zip(sq["x"], sq["y"], sq["bounds_wgs84"], strict=True)):
        w, s, e, north = box
        features.append({"type": "Feature", "properties": {
            "square_x": x, "square_y": y, **{g: sq[g][n] for g in names}}, "geometry": {
            "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, north], [w, north], [w, s]]]}})
    return {"type": "FeatureCollection", "features": features, "metadata": {
        "source": group["source"], "note": group["note"], "groups": names,
        "group_labels": group["group_labels"], "period": document.get("period"),
        "grid": document.get("grid"), "min_count": document.get("min_count")}}


def _to_wgs84(squares: np.ndarray, crs: str) -> np.ndarray:
    """Polygons from ``crs`` to WGS84 (their corners transformed)."""
    if not len(squares):
        return squares
    coords = shapely.get_coordinates(squares)
    lon, lat, _ = transform(coords[:, 0], coords[:, 1], crs, WGS84)
    return shapely.set_coordinates(squares.copy(), np.column_stack([lon, lat]))


def example_place(store: Store) -> tuple[str, str, str] | None:
    """An example place for the form's hints, inside the force area (a point on the force
    boundary's surface, never an incident): latitude and longitude (4 decimals) and its OS grid
    reference (8 figures); None without a boundary or outside Great Britain's grid."""
    from api.services.hotspots import force_area as boundary
    from hotspot.gridref import grid_reference_of

    area = boundary(store)
    if area is None or area.is_empty:
        return None
    point = shapely.point_on_surface(area)
    lon, lat, _ = transform(np.array([point.x]), np.array([point.y]), store.crs, WGS84)
    ref = grid_reference_of(float(point.x), float(point.y), store.crs, 8)
    if ref is None:
        return None
    return f"{float(lat[0]):.4f}", f"{float(lon[0]):.4f}", ref
