"""A hotspot's own page: where it is, what happened there and when, what to advise, and the
patrols that went there.

Pure rendering: :func:`hotspot_page` takes the hotspot's row of the hotspot table, the counts
of the incidents inside its outline (:class:`hotspot.placecounts.PlaceCounts`), advice and
plan visits as plain values, and returns HTML. Charts are inline SVG (:mod:`maps.charts`); the
map is the service's own Leaflet with the outline and the reference layers near it (no
incident points: the page shows aggregates only). Every text from data reaches the page
escaped (Jinja autoescape, and :mod:`maps.charts` for the charts); the map's script writes
names with ``textContent``. The page's HTML, style sheet and map script are the templates of
:mod:`maps.hotspot_page_html`; this module works out what they show.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from hotspot.dosage import COUNTED
from hotspot.placecounts import PlaceCounts
from maps.assets import OWN_DIR, static_version
from maps.charts import MonthCount, bar_chart, heat_grid, month_chart, month_label, number
from maps.hotspot_page_html import NOT_FOUND_PAGE, PAGE, minutes, percent
from maps.nav import NAV_CSS, nav_html
from maps.styles import (
    CLASS_COLOURS,
    CLASS_LABELS,
    EMERGING_DESCRIPTIONS,
    EMERGING_LABELS,
    LAYER_STYLES,
    OSM_ATTRIBUTION,
    OSM_TILES,
    TEAM_LABELS,
)

TREND_WORDS = {"up": "Rising", "down": "Falling", "flat": "No clear change",
               "unknown": "Not known"}
FEW_TIMED = 20
"""Fewer incidents with a time of day than this: the page says the grid is no pattern."""
AUDIENCE_LABELS = {"residents": "Residents", "businesses": "Businesses",
                   "farms": "Farms and rural businesses", "heritage": "Heritage site keepers"}


@dataclass(frozen=True)
class AdviceBlock:
    """Advice for one of the hotspot's main categories: the category's label, the source
    named, and steps by audience (``residents``, ``businesses``, ``farms``)."""

    category: str
    source: str
    steps: Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class PlaceAdviceBlock:
    """The advice for the people this hotspot's setting and mix point to (its audience's
    heading word), the steps, who to contact, and the address of its printable leaflet."""

    audience: str
    points: Sequence[str]
    contact: str
    leaflet: str


@dataclass(frozen=True)
class PlanVisit:
    """One patrol plan's dosage at the hotspot (times are local ISO 8601; the figures are
    :func:`hotspot.dosage.patrol_dosage`'s ``totals`` over the plan's stops here).

    Only a plan whose :attr:`status` counts (:data:`hotspot.dosage.COUNTED`: published, its
    shift started) is counted against the visits made; the page lists the others apart, with
    their planned visits only."""

    plan_id: str
    name: str
    shift_start: str
    shift_end: str
    planned: int
    """Stops at this hotspot in the plan (planned visits)."""
    planned_minutes: float
    """Their planned dwell, minutes."""
    made: int
    """Planned visits made: stops here with at least one visit logged."""
    logged: int
    """Visits logged against those stops (a stop may be visited more than once)."""
    minutes: float
    """Minutes on site, from the visits that recorded an end only."""
    untimed: int
    """Visits logged with no end (their time on site is not known)."""
    share: float | None = None
    """``made / planned`` (None when nothing was planned)."""
    crews: tuple[str, ...] = ()
    last_visit: str | None = None
    status: str = "done"
    """:func:`hotspot.dosage.shift_status` when the page was made: ``"done"``,
    ``"under_way"`` (counted: its visits so far), ``"to_come"``, ``"draft"`` or ``"unknown"``
    (not counted)."""

    @property
    def counted(self) -> bool:
        """Whether its planned visits count against those made (published, shift started)."""
        return self.status in COUNTED


WAITING_REASONS = {"to_come": "shift still to come",
                   "draft": "draft, not published (no crew has it)",
                   "unknown": "shift time not known"}
"""Why a plan with stops here is not counted, in words (by :attr:`PlanVisit.status`)."""


@dataclass
class HotspotPageData:
    """Everything the page shows (coordinates WGS84; counts from the incidents inside the
    outline; ``row`` is the hotspot's row of the hotspot table without its geometry)."""

    row: Mapping[str, Any]
    outline: Mapping[str, Any]
    """The outline as a GeoJSON geometry (WGS84 longitude/latitude)."""
    counts: PlaceCounts
    months: Sequence[str]
    selected_months: set[str]
    no_data_months: set[str]
    category_labels: Mapping[str, str]
    query: str
    """The parameters of the result (a query string), for links back to the map."""
    data_version: str
    selection: Mapping[str, Any] = field(default_factory=dict)
    """The selection as :meth:`api.services.hotspots.Selection.to_dict` gives it (local ISO times)."""
    timezone: str = "Europe/London"
    method: str = "dbscan"
    layers: Mapping[str, Any] = field(default_factory=dict)
    """Reference layers near the hotspot by kind, as GeoJSON (WGS84)."""
    previous_period: bool = False
    advice: Sequence[AdviceBlock] = ()
    advice_note: str = ""
    place_advice: PlaceAdviceBlock | None = None
    """The steps for this place's audience (from its mix and class) and its leaflet."""
    plans: Sequence[PlanVisit] = ()
    """Every plan with stops here, counted or not (:attr:`PlanVisit.counted`)."""
    dosage: Mapping[str, Any] = field(default_factory=dict)
    """The dosage over the counted :attr:`plans` (a :class:`hotspot.dosage.Tally`'s
    ``to_dict``)."""
    plans_scanned: int = 200
    match_m: float = 50.0
    emerging_months: int | None = None
    harm_approximate: bool = False
    tiles_url: str | None = OSM_TILES
    tiles_attribution: str = OSM_ATTRIBUTION
    attribution: str = ""
    asset_base: str = "/static"
    nav: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of :func:`maps.nav.nav_html` (role, csrf, signed_in)."""
    priority_labels: Mapping[str, str] = field(default_factory=dict)
    """Plan priorities in words, by key ("Rural crime")."""


def _date(iso: Any, *, end: bool = False) -> str | None:
    """A local ISO time as a date people read (``1 January 2024``); an exclusive end as the
    day before."""
    if not iso:
        return None
    stamp = pd.Timestamp(str(iso))
    if end:
        stamp = stamp - pd.Timedelta(seconds=1)
    return f"{stamp.day} {stamp.strftime('%B %Y')}"


def period_text(selection: Mapping[str, Any]) -> str:
    """The selection's period in words: ``1 January 2024 to 30 June 2024``."""
    start, end = _date(selection.get("from")), _date(selection.get("to"), end=True)
    if start and end:
        return f"{start} to {end}"
    if start:
        return f"from {start}"
    if end:
        return f"up to {end}"
    return "all the data in the store"


def _hours(hours: Sequence[int]) -> str:
    """Hours of the day in order, as ranges people read: ``12:00-13:00, 22:00-23:00``."""
    return ", ".join(f"{h:02d}:00\u2013{(h + 1) % 24:02d}:00" for h in sorted(int(h) for h in hours))


def _list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


def _number(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _facts(data: HotspotPageData) -> list[tuple[str, str, str]]:
    """(label, value, detail) rows of the "at a glance" list (all text)."""
    row, counts = data.row, data.counts
    facts: list[tuple[str, str, str]] = []
    team = str(row.get("team") or "")
    facts.append(("Team", TEAM_LABELS.get(team, team.replace("_", " ").capitalize()), ""))
    incidents = int(row.get("incidents") or 0)
    detail = ""
    if counts.incidents != incidents:
        detail = (f"{number(counts.incidents)} recorded inside its outline; the charts count "
                  "those (the method groups some nearby incidents with the hotspot and leaves "
                  "out some inside it)")
    facts.append(("Incidents", number(incidents), detail))
    facts.append(_trend_fact(data, incidents))
    pattern = _pattern_fact(row.get("emerging"), data.emerging_months)
    if pattern is not None:
        facts.append(pattern)
    harm = _number(row.get("harm"))
    if harm is not None:
        # half up, as the map's Math.round: the same hotspot reads the same on both pages
        facts.append(("Harm", f"{number(math.floor(harm + 0.5))} days",
                      "Crime Harm Index: the custody days the offences would carry"
                      + (" (approximate table)" if data.harm_approximate else "")))
    area = _number(row.get("area_m2"))
    if area is not None:
        hectares = area / 10_000
        facts.append(("Size", f"{hectares:,.1f} hectares" if hectares < 100
                      else f"{area / 1e6:,.2f} km\u00b2", ""))
    hours = row.get("peak_hours")
    if hours is not None and len(hours):
        facts.append(("Busiest hours", _hours(list(hours)), ""))
    days = _list(row.get("peak_days"))
    if days:
        facts.append(("Busiest days", ", ".join(days), ""))
    places = _list(row.get("top_locations"))
    if places:
        facts.append(("Most recorded at", "; ".join(places), ""))
    sites = _list(row.get("heritage_sites"))
    if sites:
        facts.append(("Heritage sites", "; ".join(sites), ""))
    dose = _dosage_fact(data)
    if dose is not None:
        facts.append(dose)
    return facts


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _to_come_text(to_come: Sequence[PlanVisit]) -> str:
    """``3 more planned in 2 shifts still to come`` (empty when there are none)."""
    if not to_come:
        return ""
    planned = sum(p.planned for p in to_come)
    return f"{planned:,} more planned in {_plural(len(to_come), 'shift')} still to come"


def _dosage_fact(data: HotspotPageData) -> tuple[str, str, str] | None:
    """The patrol dosage here in a line (visits made of planned, minutes on site recorded,
    over the plans counted; the visits of shifts still to come apart), or None when no
    published plan has a stop here."""
    dose = data.dosage
    counted = [p for p in data.plans if p.counted]
    to_come = _to_come_text([p for p in data.plans if p.status == "to_come"])
    if not counted or not dose.get("planned_visits"):
        if to_come:
            return ("Patrol visits", "None due yet",
                    f"{to_come[0].upper()}{to_come[1:]}: see Patrols here, below")
        return None
    made, planned = int(dose["visits_made"]), int(dose["planned_visits"])
    untimed = int(dose.get("untimed_visits") or 0)
    on_site = float(dose.get("minutes_on_site") or 0)
    detail = (f"{minutes(on_site)} on site recorded" if on_site else "No time on site recorded")
    if untimed:
        detail += f" ({untimed} visit{'' if untimed == 1 else 's'} with no end time)"
    detail += f", {_plural(len(counted), 'plan')}"
    under_way = sum(1 for p in counted if p.status == "under_way")
    if under_way:
        detail += f" ({under_way} still under way: visits so far)"
    if to_come:
        detail += f"; {to_come}"
    detail += ": see Patrols here, below"
    return ("Patrol visits", f"{made} of {planned} planned made ({percent(dose.get('share'))})",
            detail)


def _trend_fact(data: HotspotPageData, incidents: int) -> tuple[str, str, str]:
    """The trend against the period before, and how sure it is (or why it is not known)."""
    trend = str(data.row.get("trend") or "unknown")
    previous = _number(data.row.get("previous_incidents"))
    months = len(data.selected_months)
    before = (f"the {months} months before" if months and data.selection.get("from")
              else "the period of the same length before")
    if trend == "unknown" or previous is None:
        why = ("the store has no data for the period before" if data.selection.get("from")
               and data.selection.get("to") else "the selection has no start and end to "
               "compare with the period before")
        return ("Trend", TREND_WORDS["unknown"], why)
    return ("Trend", TREND_WORDS.get(trend, trend),
            f"{number(incidents)} incidents against {number(previous)} in {before}"
            + ("; a change this size is unlikely to be chance"
               if trend in ("up", "down") else
               "; a difference this size can happen by chance"))


def _pattern_fact(emerging: Any, months: int | None) -> tuple[str, str, str] | None:
    """The emerging hot spot class over ``months`` ("Not classed" with too few months; None
    for any other value)."""
    if isinstance(emerging, str) and emerging:
        label = EMERGING_LABELS.get(emerging, emerging.replace("_", " "))
        span = f" (over {months} months)" if months else ""
        return (f"Pattern{span}", label, EMERGING_DESCRIPTIONS.get(emerging, ""))
    if emerging is None or (isinstance(emerging, float) and math.isnan(emerging)):
        return ("Pattern", "Not classed", "too few months of data for a pattern")
    return None


def _title(row: Mapping[str, Any]) -> str:
    name = row.get("name") or row.get("place") or row.get("street")
    return f"#{int(row.get('rank') or 0)} {name}" if name else f"Hotspot #{int(row.get('rank') or 0)}"


def _charts(data: HotspotPageData) -> dict[str, str]:
    counts = data.counts
    period = period_text(data.selection)
    months = [MonthCount(m, None if m in data.no_data_months else counts.by_month.get(m, 0),
                         m in data.selected_months) for m in data.months]
    before = [m for m in data.months if m not in data.selected_months]
    described = (f"Incidents inside the hotspot's outline each month: dark bars are the "
                 f"period shown ({period})"
                 + (f", light bars the {len(before)} months before" if before else "")
                 + "; pale grey columns are months with no data here.")
    out = {"months": str(month_chart(months, title="Incidents by month",
                                        description=described))}
    top = list(counts.by_category.items())
    if len(top) > 10:
        rest = sum(v for _, v in top[9:])
        top = [*top[:9], (f"{len(counts.by_category) - 9} other categories", rest)]
    items = [(data.category_labels.get(k, k.replace("_", " ")), v) for k, v in top]
    out["categories"] = str(bar_chart(
        items, title="Incidents by category",
        description=f"Incidents inside the hotspot's outline by category, {period}, "
                    "largest first."))
    if counts.hour_of_week is not None:
        out["hours"] = str(heat_grid(
            counts.hour_of_week.tolist(), title="Incidents by hour of the week",
            description=f"Incidents inside the hotspot's outline with a time of day, by day "
                        f"of the week and hour (local time), {period}."))
    return out


METHOD_NAMES = {"dbscan": "DBSCAN clusters", "kde": "kernel density", "gistar": "Gi* hot spots",
                "auto": "best-in-backtest"}


def _scope(selection: Mapping[str, Any], labels: Mapping[str, str],
           priorities: Mapping[str, str]) -> str:
    if selection.get("priority"):
        key = str(selection["priority"])
        return "priority: " + priorities.get(key, key.replace("_", " "))
    cats = selection.get("categories") or []
    if cats:
        names = [labels.get(c, c) for c in cats]
        return "categories: " + ", ".join(names[:4]) + (" and more" if len(names) > 4 else "")
    return "all categories"


def hotspot_page(data: HotspotPageData) -> str:
    """The hotspot's page as HTML (see the module's docstring)."""
    row = data.row
    cls = str(row.get("context_class") or "urban")
    style = {"color": CLASS_COLOURS.get(cls, "#444444"), "weight": 3,
             "fillColor": CLASS_COLOURS.get(cls, "#444444"), "fillOpacity": 0.3}
    map_data = {
        "outline": data.outline, "style": style, "layers": dict(data.layers),
        "styles": LAYER_STYLES, "tiles": data.tiles_url, "attribution": data.tiles_attribution,
    }
    map_json = json.dumps(map_data, separators=(",", ":")).replace("<", "\\u003c")
    counts = data.counts
    month_rows = [{"name": month_label(m),
                   "count": "no data" if m in data.no_data_months
                   else number(counts.by_month.get(m, 0))} for m in data.months]
    plans = [p for p in data.plans if p.counted]
    waiting = [p for p in data.plans if not p.counted]
    to_come = [p for p in waiting if p.status == "to_come"]
    return PAGE.render(
        title=_title(row), base=data.asset_base.rstrip("/"), version=static_version(),
        nav_css=str(NAV_CSS), nav=str(nav_html("map", **dict(data.nav))),
        query=data.query, colour=CLASS_COLOURS.get(cls, "#444444"),
        class_label=CLASS_LABELS.get(cls, cls), period=period_text(data.selection),
        scope=_scope(data.selection, data.category_labels, data.priority_labels),
        facts=_facts(data),
        charts=_charts(data), counts=counts, months_shown=bool(data.months),
        before_months=sum(1 for m in data.months if m not in data.selected_months),
        no_data=bool(data.no_data_months), month_rows=month_rows,
        advice=[{"category": b.category, "source": b.source, "steps": b.steps}
                for b in data.advice],
        advice_note=data.advice_note, audience_labels=AUDIENCE_LABELS,
        place_advice=data.place_advice,
        plans=plans, dosage=dict(data.dosage), any_untimed=any(p.untimed for p in plans),
        under_way=sum(1 for p in plans if p.status == "under_way"),
        waiting=waiting, reasons=WAITING_REASONS, to_come=len(to_come),
        to_come_visits=sum(p.planned for p in to_come),
        drafts=sum(1 for p in waiting if p.status == "draft"),
        draft_visits=sum(p.planned for p in waiting if p.status == "draft"),
        unknown_visits=sum(p.planned for p in waiting if p.status == "unknown"),
        plans_scanned=data.plans_scanned, match_m=data.match_m,
        attribution=data.attribution, row_id=str(row.get("id") or ""),
        method_name=METHOD_NAMES.get(data.method, data.method), data_version=data.data_version,
        few_timed=FEW_TIMED, map_json=str(map_json), basemap=(OWN_DIR / "basemap.js").is_file(),
    )


def hotspot_not_found_page(hotspot_id: str, *, query: str, data_version: str, hotspots: int,
                           nav: Mapping[str, Any] | None = None) -> str:
    """The page for an id that no hotspot of the result has (served with 404)."""
    return NOT_FOUND_PAGE.render(hotspot_id=hotspot_id, query=query, data_version=data_version,
                             hotspots=hotspots, nav_css=str(NAV_CSS),
                             nav=str(nav_html("map", **dict(nav or {}))))
