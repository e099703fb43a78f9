"""The figures of the priority report: for a period and each plan priority and its groups,
incidents and harm against the same period a year before, whether the change is more than
chance, month by month; and the report's tables. Pure computation: arrays and dicts in, dicts
out (no I/O).

**Periods** (:func:`parse_period`): a month ``2024-06``, a quarter ``2024-Q2``, a year ``2024``
or a year to date ``2024-06-YTD`` (January to June 2024): whole local months in the force's
time zone. The period compared with is the same span a year earlier (:meth:`ReportPeriod.previous`).

**The test** (:func:`compare_counts`). Recorded crime in a period is treated as a Poisson
count. Given the two counts, n1 (this period) and n2 (the year before), the exact conditional
test asks how surprising the split is if both periods had the same daily rate:
n1 | n1 + n2 ~ Binomial(n1 + n2, t1 / (t1 + t2)), t1 and t2 the periods' lengths in days
(February 2024 has 29 days, February 2023 28), two-sided (the exact test of :func:`scipy.stats.binomtest`).
Crime counts often vary from month to month more than a Poisson count would (over-dispersion);
when the period has at least two months, the months' own spread is checked: the Pearson
dispersion phi = X^2 / df of the monthly counts around each period's own daily rate (df = the
months less one per period). When phi > 1, a quasi-Poisson test of the same split with its
variance multiplied by phi is made too, and the larger of the two p-values is kept. A change is
**more than chance** when that p-value is below 0.05: a difference at least that large would
turn up less than one time in twenty if nothing had changed. It says nothing about why.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hotspot._numeric import binom_test_two_sided, norm_sf
from hotspot.errors import InvalidParameter
from hotspot.localtime import local_month_ordinals

ALPHA = 0.05
"""A change is more than chance when its p-value is below this."""
MONTH, QUARTER, YEAR, YEAR_TO_DATE = "month", "quarter", "year", "year_to_date"
UP, DOWN, NO_CLEAR_CHANGE = "up", "down", "no clear change"

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(-YTD)?|-Q([1-4]))?$", re.IGNORECASE | re.ASCII)

GROUP_LABELS: dict[str, str] = {
    "retail": "Retail (shoplifting)",
    "residential_burglary": "Residential burglary",
    "business_burglary": "Business and community burglary",
    "burglary_unspecified": "Burglary (residential or business not recorded)",
    "robbery": "Robbery",
    "vehicle_crime": "Vehicle crime",
    "other_theft": "Other theft (bicycles, from the person, other)",
    "agricultural": "Agricultural theft (farm, plant and machinery, livestock, fuel)",
    "wildlife": "Wildlife crime (hare coursing, poaching)",
    "heritage": "Heritage crime",
    "asb": "Anti-social behaviour",
    "fly_tipping": "Fly-tipping",
    "drugs": "Drugs offences",
    "weapons": "Possession of weapons",
    "organised_crime": "Organised crime (county lines, modern slavery)",
    "violence": "Violence and sexual offences",
    "criminal_damage": "Criminal damage and arson",
    "public_order": "Public order",
    "other": "Other crime",
    "unmapped": "Crime types not in the taxonomy",
}
"""Readable labels of the taxonomy's groups (``group`` of each category); a group not listed
takes its one category's label, or its key in words."""

SERIOUS_ORGANISED_GROUPS = ("drugs", "weapons", "organised_crime")
"""The groups through which serious organised crime shows in recorded-location data."""


@dataclass(frozen=True)
class ReportPeriod:
    """Whole local months: a month, a quarter, a year or a year to date.

    ``key`` is the period as written (``2024-06``, ``2024-Q2``, ``2024``, ``2024-06-YTD``);
    ``months`` its months (``YYYY-MM``), first to last; ``kind`` one of :data:`MONTH`,
    :data:`QUARTER`, :data:`YEAR`, :data:`YEAR_TO_DATE`.
    """

    key: str
    kind: str
    months: tuple[str, ...]

    @property
    def year(self) -> int:
        """The period's year."""
        return int(self.months[0][:4])

    @property
    def label(self) -> str:
        """The period in words: "June 2024", "April to June 2024 (Q2)", "2024",
        "January to June 2024 (year to date)"."""
        first, last = (calendar.month_name[int(m[5:])] for m in (self.months[0],
                                                                   self.months[-1]))
        if self.kind == MONTH:
            return f"{first} {self.year}"
        if self.kind == QUARTER:
            return f"{first} to {last} {self.year} (Q{self.key[-1]})"
        if self.kind == YEAR:
            return str(self.year)
        span = first if first == last else f"{first} to {last}"
        return f"{span} {self.year} (year to date)"

    def previous(self) -> ReportPeriod:
        """The same span a year earlier."""
        back = str(self.year - 1)
        return ReportPeriod(back + self.key[4:], self.kind,
                            tuple(back + m[4:] for m in self.months))

    def edges(self, timezone: str) -> np.ndarray:
        """The months' starts and the end (exclusive) as seconds since the epoch (UTC): the
        local midnights of ``timezone`` (int64, ``len(months) + 1``)."""
        starts = [pd.Timestamp(m + "-01").tz_localize(timezone) for m in self.months]
        end = (pd.Timestamp(self.months[-1] + "-01") + pd.offsets.MonthBegin(1)).tz_localize(
            timezone)
        return np.array([int(s.value // 10**9) for s in [*starts, end]], dtype=np.int64)

    def bounds(self, timezone: str) -> tuple[int, int]:
        """``(start, end)`` (end exclusive), seconds since the epoch (UTC)."""
        e = self.edges(timezone)
        return int(e[0]), int(e[-1])

    def month_days(self) -> np.ndarray:
        """Each month's length in days (float64)."""
        return np.array([calendar.monthrange(int(m[:4]), int(m[5:]))[1] for m in self.months],
                        dtype=np.float64)

    def to_dict(self, timezone: str) -> dict[str, Any]:
        """``period``, ``period_label``, ``start`` and ``end`` (ISO 8601, local time, end
        exclusive) and ``months``."""
        start, end = self.bounds(timezone)
        return {"period": self.key, "period_label": self.label,
                "start": _iso(start, timezone), "end": _iso(end, timezone),
                "months": list(self.months)}


def _iso(seconds: int, timezone: str) -> str:
    return pd.Timestamp(seconds, unit="s", tz="UTC").tz_convert(timezone).isoformat()


def parse_period(text: str) -> ReportPeriod:
    """``YYYY-MM`` (a month), ``YYYY-Qn`` (a quarter), ``YYYY`` (a year) or ``YYYY-MM-YTD``
    (January to that month) as a :class:`ReportPeriod`.

    Raises
    ------
    InvalidParameter
        For anything else (its ``parameter`` is ``"period"``).

    Examples
    --------
    >>> parse_period("2024-Q2").months
    ('2024-04', '2024-05', '2024-06')
    >>> parse_period("2024-03-ytd").key
    '2024-03-YTD'
    """
    value = text.strip() if isinstance(text, str) else ""
    match = _PERIOD.match(value)
    month = int(match.group(2)) if match and match.group(2) else 1
    if match is None or not 1 <= month <= 12:
        raise InvalidParameter(
            f"period must be a month (YYYY-MM), a quarter (YYYY-Qn), a year (YYYY) or a year to "
            f"date (YYYY-MM-YTD), not {str(text)[:40]!r}", "period")
    year = int(match.group(1))
    if not 1900 <= year <= 2100:
        raise InvalidParameter(f"period {value!r} is outside the years 1900-2100", "period")
    if match.group(4):
        q = int(match.group(4))
        return ReportPeriod(f"{year}-Q{q}", QUARTER,
                            tuple(f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)))
    if match.group(3):
        return ReportPeriod(f"{year}-{month:02d}-YTD", YEAR_TO_DATE,
                            tuple(f"{year}-{m:02d}" for m in range(1, month + 1)))
    if match.group(2):
        return ReportPeriod(f"{year}-{month:02d}", MONTH, (f"{year}-{month:02d}",))
    return ReportPeriod(str(year), YEAR, tuple(f"{year}-{m:02d}" for m in range(1, 13)))


def month_index(seconds: np.ndarray, timezone: str, months: Sequence[str]) -> np.ndarray:
    """Each time's position in ``months`` (``YYYY-MM``, local months of ``timezone``), -1 for
    a time in none of them (int64; ``seconds`` since the epoch, UTC)."""
    t = np.asarray(seconds, dtype=np.int64)
    if not len(t):
        return np.empty(0, dtype=np.int64)
    ordinal = local_month_ordinals(t, timezone)
    wanted = np.array([int(m[:4]) * 12 + int(m[5:]) - 1 for m in months], dtype=np.int64)
    order = np.argsort(wanted)
    pos = np.searchsorted(wanted[order], ordinal)
    pos = np.clip(pos, 0, len(wanted) - 1)
    found = wanted[order][pos] == ordinal
    return np.where(found, order[pos], -1).astype(np.int64)


def dispersion(current: np.ndarray, previous: np.ndarray, current_days: np.ndarray,
               previous_days: np.ndarray) -> float | None:
    """The Pearson dispersion phi = X^2 / df of monthly counts around each period's own daily
    rate (expected count of a month: its period's total times its share of the period's days;
    df = the months less one for each period with any incident). None when df < 2 (a single
    month, or only one month per period with incidents) or no incident at all."""
    x2 = 0.0
    df = 0
    for counts, days in ((current, current_days), (previous, previous_days)):
        counts = np.asarray(counts, dtype=np.float64)
        total = counts.sum()
        if total <= 0:
            continue
        expected = total * np.asarray(days, dtype=np.float64) / float(np.sum(days))
        x2 += float(np.sum((counts - expected) ** 2 / expected))
        df += len(counts) - 1
    if df < 2:
        return None
    return x2 / df


def compare_counts(current: Sequence[int] | np.ndarray, previous: Sequence[int] | np.ndarray,
                   current_days: Sequence[float] | np.ndarray,
                   previous_days: Sequence[float] | np.ndarray, *,
                   alpha: float = ALPHA) -> dict[str, Any]:
    """Compare two periods' counts, month by month (the test of the module's docstring).

    Parameters
    ----------
    current, previous
        Incidents in each month of this period and of the period compared with (equal
        lengths: the same months a year apart).
    current_days, previous_days
        Each of those months' length in days.
    alpha
        The p-value below which a change is more than chance.

    Returns
    -------
    dict
        ``incidents``, ``previous``, ``change``, ``change_pct`` (per cent of ``previous``; None
        when it is 0), ``rate_ratio`` (daily rate over the previous daily rate; None when that
        is 0), ``p_value`` (the larger of ``p_exact`` and ``p_overdispersed``; None when both
        counts are 0), ``p_exact`` (the exact conditional binomial test), ``dispersion``
        (phi; None when it cannot be measured), ``p_overdispersed`` (the quasi-Poisson test;
        None unless phi > 1), ``verdict`` (:data:`UP`, :data:`DOWN` or
        :data:`NO_CLEAR_CHANGE`) and ``more_than_chance``.

    Examples
    --------
    >>> f = compare_counts([30], [15], [30], [30])
    >>> f["change"], f["verdict"], round(f["p_value"], 4)
    (15, 'up', 0.0357)
    """
    cur = np.asarray(current, dtype=np.int64)
    prev = np.asarray(previous, dtype=np.int64)
    if cur.shape != prev.shape:
        raise InvalidParameter("the two periods must have the same number of months", "previous")
    n1, n2 = int(cur.sum()), int(prev.sum())
    t1, t2 = float(np.sum(current_days)), float(np.sum(previous_days))
    if t1 <= 0 or t2 <= 0:
        raise InvalidParameter("each period needs a positive length in days", "days")
    out: dict[str, Any] = {
        "incidents": n1, "previous": n2, "change": n1 - n2,
        "change_pct": round(100.0 * (n1 - n2) / n2, 1) if n2 else None,
        "rate_ratio": round((n1 / t1) / (n2 / t2), 4) if n2 else None,
        "p_value": None, "p_exact": None, "dispersion": None, "p_overdispersed": None,
        "verdict": NO_CLEAR_CHANGE, "more_than_chance": False,
    }
    total = n1 + n2
    if total == 0:
        return out
    share = t1 / (t1 + t2)
    p_exact = binom_test_two_sided(n1, total, share)
    phi = dispersion(cur, prev, np.asarray(current_days), np.asarray(previous_days))
    p_over = None
    if phi is not None and phi > 1.0:
        z = (n1 - total * share) / np.sqrt(phi * total * share * (1.0 - share))
        p_over = 2.0 * norm_sf(abs(z))
    p = max(p_exact, p_over) if p_over is not None else p_exact
    more = p < alpha
    out.update({
        "p_value": p, "p_exact": p_exact,
        "dispersion": None if phi is None else round(phi, 4), "p_overdispersed": p_over,
        "more_than_chance": bool(more),
        "verdict": (UP if n1 / t1 > n2 / t2 else DOWN) if more else NO_CLEAR_CHANGE,
    })
    return out


def method_paragraph(alpha: float = ALPHA) -> str:
    """The report's statement of its test, in plain words."""
    return (
        "Each figure is compared with the same months a year before. The counts are treated "
        "as Poisson counts and compared by the exact conditional test: given both periods' "
        "total, this period's share is tested against the share its number of days would give "
        "if the daily rate had not changed (binomial, two-sided). Where the period has two or "
        "more months, the month-to-month spread is checked too: when the monthly counts vary "
        "more than a Poisson count would (over-dispersion, Pearson dispersion above 1), a "
        "quasi-Poisson test with the variance widened by that dispersion is also made and the "
        f"larger p-value kept. 'More than chance' means p < {alpha:g}: a change at least that "
        "large would turn up by chance less than one time in twenty if nothing had changed. "
        "It does not say why the numbers changed (recording practice, reporting, patrols or "
        "crime itself), and with many figures compared a few will pass by chance alone."
    )


def group_label(key: str, category_labels: Sequence[str] = ()) -> str:
    """A group's readable label (:data:`GROUP_LABELS`, else its one category's label, else its
    key in words)."""
    if key in GROUP_LABELS:
        return GROUP_LABELS[key]
    if len(category_labels) == 1:
        return str(category_labels[0])
    return key.replace("_", " ").capitalize()


def _figures(mask: np.ndarray, month: np.ndarray, harm: np.ndarray, k: int,
             days: np.ndarray, previous_days: np.ndarray, alpha: float) -> tuple[dict[str, Any],
                                                                                np.ndarray]:
    """FIG of the incidents in ``mask`` and their monthly counts (2k: this period's months,
    then the previous period's)."""
    sel = mask & (month >= 0)
    monthly = np.bincount(month[sel], minlength=2 * k)[: 2 * k]
    fig = compare_counts(monthly[:k], monthly[k:], days, previous_days, alpha=alpha)
    now = sel & (month < k)
    fig["harm"] = round(float(harm[now].sum()), 2)
    fig["previous_harm"] = round(float(harm[sel & (month >= k)].sum()), 2)
    return fig, monthly


def priority_figures(
    priority: np.ndarray,
    group: np.ndarray,
    harm: np.ndarray,
    month: np.ndarray,
    *,
    period: ReportPeriod,
    priorities: Mapping[str, str],
    groups: Mapping[str, Sequence[tuple[str, str]]],
    alpha: float = ALPHA,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The figures of every priority and its groups, and of all incidents.

    Parameters
    ----------
    priority, group
        Each incident's plan priority and group (object arrays of keys).
    harm
        Each incident's harm (days of custody, :mod:`geodata.harm`).
    month
        Each incident's month: ``0 .. k-1`` the months of ``period``, ``k .. 2k-1`` the same
        months a year before, -1 neither (``k = len(period.months)``; see :func:`month_index`).
    period
        The period reported on.
    priorities
        Priority key -> label, in the report's order.
    groups
        Priority key -> its groups as (key, label), in the report's order.
    alpha
        See :func:`compare_counts`.

    Returns
    -------
    totals, priorities
        FIG of every incident; and per priority ``key``, ``label``, ``figures`` (FIG),
        ``groups`` ([{``key``, ``label``, ``figures``}]) and ``monthly`` ([{``month``,
        ``previous_month``, ``incidents``, ``previous``}]).
    """
    k = len(period.months)
    days = period.month_days()
    prev = period.previous()
    previous_days = prev.month_days()
    month = np.asarray(month, dtype=np.int64)
    harm = np.asarray(harm, dtype=np.float64)
    priority = np.asarray(priority, dtype=object)
    group = np.asarray(group, dtype=object)
    if not (len(priority) == len(group) == len(harm) == len(month)):
        raise InvalidParameter("priority, group, harm and month must have one value per "
                               "incident", "month")
    every = np.ones(len(month), dtype=bool)
    totals, _ = _figures(every, month, harm, k, days, previous_days, alpha)
    out: list[dict[str, Any]] = []
    for key, label in priorities.items():
        mine = priority == key
        fig, monthly = _figures(mine, month, harm, k, days, previous_days, alpha)
        out.append({
            "key": key, "label": label, "figures": fig,
            "groups": [{"key": g, "label": g_label,
                        "figures": _figures(mine & (group == g), month, harm, k, days,
                                            previous_days, alpha)[0]}
                       for g, g_label in groups.get(key, ())],
            "monthly": [{"month": m, "previous_month": pm, "incidents": int(monthly[i]),
                         "previous": int(monthly[k + i])}
                        for i, (m, pm) in enumerate(zip(period.months, prev.months,
                                                        strict=True))],
        })
    return totals, out


def serious_organised_statement(groups: Sequence[Mapping[str, Any]], period_label: str) -> str:
    """What recorded-location data can and cannot show of serious organised crime, cyber crime
    and fraud, with the figures that exist (``groups``: a priority's groups as
    :func:`priority_figures` gives them)."""
    shown = []
    for g in groups:
        if g["key"] in SERIOUS_ORGANISED_GROUPS:
            f = g["figures"]
            shown.append(f"{g['label'].lower() if g['key'] != 'organised_crime' else g['label']}"
                         f": {f['incidents']:,} ({f['previous']:,} a year before)")
    figures = ("; ".join(shown) + ".") if shown else "no drugs, weapons or organised crime " \
        "categories are in the taxonomy."
    return (
        "Recorded-location data show where an offence was recorded, not the network behind it. "
        "Fraud and cyber crime have no meaningful place in street-level data: they are "
        "reported to Action Fraud, not mapped, and do not appear here at all. Serious "
        "organised crime and county lines show only through the offences police find and "
        "record at a place: drugs and weapons offences (which rise with proactive policing as "
        "much as with the crime itself), and the few organised crime offences a force's own "
        "export records (county lines, modern slavery). A fall can mean less enforcement as "
        "well as less crime. Cross-border crime shows as hotspots near the force boundary "
        "found on the force's and a neighbouring force's incidents together (GET "
        "/v1/cross-border, where the neighbour's files are loaded), not in these counts, "
        "which are the force's own. What the data hold for "
        f"{period_label}: {figures}"
    )


TALLY_COLUMNS = ("planned_visits", "planned_min", "visits_made", "share", "minutes_on_site",
                 "untimed_visits")
"""A dosage tally's columns (:mod:`hotspot.dosage`)."""
FIGURE_COLUMNS = ("incidents", "previous", "change", "change_pct", "harm", "previous_harm",
                  "p_value", "verdict", "more_than_chance")
"""A FIG's columns in the tables."""


def _tally_rows(label_key: str, items: Any) -> list[list[Any]]:
    if isinstance(items, Mapping):
        items = [{label_key: k, **v} for k, v in items.items()]
    return [[row.get(label_key, ""), *(row.get(c) for c in TALLY_COLUMNS)] for row in items]


def report_tables(priorities: Sequence[Mapping[str, Any]], totals: Mapping[str, Any],
                  dosage: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Every table of the report (``name``, ``title``, ``columns``, ``rows``): the figures
    (priorities and groups), the months, the top places, and the patrol dosage (teams, crews,
    hotspots, hotspots never visited). Names are ``[a-z_]`` (the CSV files are named after
    them)."""
    figure_rows: list[list[Any]] = [["all", "", "All recorded crime",
                                     *(totals.get(c) for c in FIGURE_COLUMNS)]]
    monthly_rows: list[list[Any]] = []
    place_rows: list[list[Any]] = []
    for p in priorities:
        figure_rows.append([p["key"], "", p["label"],
                            *(p["figures"].get(c) for c in FIGURE_COLUMNS)])
        figure_rows += [[p["key"], g["key"], g["label"],
                         *(g["figures"].get(c) for c in FIGURE_COLUMNS)] for g in p["groups"]]
        monthly_rows += [[p["key"], m["month"], m["incidents"], m["previous_month"],
                          m["previous"]] for m in p["monthly"]]
        place_rows += [[p["key"], t["rank"], t["hotspot_id"], t["place"], t.get("grid_ref"),
                        t["incidents"], t["context_class"], t["trend"], t["emerging_class"]]
                       for t in p.get("top_places") or ()]
    tables = [
        {"name": "priorities", "title": "Incidents and harm by priority and group, against "
         "the same period a year before",
         "columns": ["priority", "group", "label", *FIGURE_COLUMNS], "rows": figure_rows},
        {"name": "monthly", "title": "Incidents by month, against the same month a year before",
         "columns": ["priority", "month", "incidents", "previous_month", "previous"],
         "rows": monthly_rows},
        {"name": "top_places", "title": "The top places of each priority in the period",
         "columns": ["priority", "rank", "hotspot_id", "place", "grid_ref", "incidents",
                     "context_class", "trend", "emerging_class"], "rows": place_rows},
    ]
    dosage = dosage or {}
    totals_row = [["all", *((dosage.get("totals") or {}).get(c) for c in TALLY_COLUMNS)]]
    tables += [
        {"name": "dosage_teams", "title": "Patrol dosage by team: planned against delivered",
         "columns": ["team", *TALLY_COLUMNS],
         "rows": totals_row + _tally_rows("team", dosage.get("teams") or {})},
        {"name": "dosage_crews", "title": "Patrol dosage by crew",
         "columns": ["crew", *TALLY_COLUMNS],
         "rows": _tally_rows("crew", dosage.get("crews") or {})},
        {"name": "dosage_hotspots", "title": "Patrol dosage by hotspot",
         "columns": ["hotspot_id", "place", *TALLY_COLUMNS],
         "rows": [[h.get("hotspot_id", ""), h.get("place", ""),
                   *(h.get(c) for c in TALLY_COLUMNS)] for h in dosage.get("hotspots") or ()]},
        {"name": "never_visited", "title": "Hotspots planned but never visited",
         "columns": ["hotspot_id", "place", "plan_id", "shift_start", "crew"],
         "rows": [[h.get(c, "") for c in ("hotspot_id", "place", "plan_id", "shift_start",
                                          "crew")] for h in dosage.get("never_visited") or ()]},
    ]
    return tables
