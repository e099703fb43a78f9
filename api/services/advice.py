"""Prevention advice for a place: whose it is (residents, businesses, farms or the keepers of
heritage sites), its steps, and the one-page leaflets made of them.

Three kinds of place get advice:

- **a hotspot** of an analysis (``GET /hotspots/{id}/leaflet``, the same parameters and cached
  result as its page): its category mix and context class;
- **a town** (``GET /leaflets/towns/{town}``): a town centre or built-up area by name, its
  incidents of the last 12 whole months inside its outline;
- **a published product's hotspot** (``GET /products/{period}/hotspots/{rank}/leaflet`` and the
  products page): its mix *by priority* and its class, read from the stored product document,
  which is not changed (the advice is added when the page is made, never stored with it).

The audience comes from :func:`geodata.advice.choose_audience` (the class's audience unless
most incidents are of categories whose victims are one other audience) or from the caller
(``audience=``); the steps from :func:`geodata.advice.advice_points` over the place's three
largest categories (or priorities). The advice file is loaded once, when the service starts
(:func:`load_advice`), so a malformed file stops it with a message naming the file and line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import shapely

from api.formats import ATTRIBUTION
from api.service_errors import InvalidInput, NotFound, quoted
from api.services.hotspots import latest_complete_month
from api.services.selection import with_built_up_areas
from geodata.advice import (
    AUDIENCE_LABELS,
    AUDIENCES,
    Advice,
    AdvicePoint,
    AudienceChoice,
    PreventionAdvice,
    advice_points,
    choose_audience,
)
from geodata.layers import BUILT_UP_AREAS, TOWN_CENTRES
from geodata.schema import IncidentFilter
from geodata.stores import IncidentStore, LayerStore
from geodata.taxonomy import Taxonomy
from maps.leaflet import LeafletData

TOP = 3
"""A place's advice and leaflet speak of its this many largest categories (or priorities)."""
TOWN_MONTHS = 12
"""A town's leaflet counts the incidents of this many whole months, up to the latest."""
NOT_BROKEN_DOWN = "not broken down"
"""A published hotspot's incidents whose priority is held back (no advice of their own)."""

_CLASS_WORDS = {"town_centre": "this is a town centre", "rural": "this is a rural area",
                "heritage_site": "this is at a heritage site", "urban": "this is a built-up "
                "area (homes and streets)"}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def load_advice(path: Any) -> PreventionAdvice:
    """The advice file of the settings (``HOTSPOT_PREVENTION_ADVICE_PATH``; None: the packaged
    one), read when the service starts.

    Raises
    ------
    geodata.errors.InvalidAdvice
        Naming the file and line of what is wrong.
    """
    return PreventionAdvice.load(path)


def parse_audience(text: str | None) -> str | None:
    """An ``audience=`` parameter: one of :data:`geodata.advice.AUDIENCES`, or None (choose).

    Raises
    ------
    InvalidInput
        Naming ``audience`` for anything else.
    """
    if text is None or not text.strip():
        return None
    value = text.strip().casefold()
    if value not in AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUDIENCES)}, not "
                           f"{quoted(text)}", "audience")
    return value


@dataclass(frozen=True)
class PlaceAdvice:
    """The advice a place gets: whose, why, its steps and who to contact."""

    choice: AudienceChoice
    points: list[AdvicePoint]
    contact: str

    @property
    def audience_label(self) -> str:
        """Who it is for, as a heading word."""
        return AUDIENCE_LABELS[self.choice.audience]

    def reason(self, context_class: str | None, mix_words: str) -> str:
        """Why this audience, in a sentence (``mix_words``: what the leaning categories are;
        :data:`NOT_BROKEN_DOWN` when nothing of the place is broken down by kind). No share
        is printed exactly: the page may be saved or passed on."""
        label = self.audience_label.lower()
        if self.choice.because == "asked":
            return f"This leaflet is for {label}, as asked."
        if self.choice.because == "mix":
            if not mix_words:
                return f"This leaflet is for {label}: most of what was recorded here concerns them."
            return (f"This leaflet is for {label}: more than half of what was recorded here is "
                    f"{mix_words}.")
        if self.choice.because == "class":
            words = _CLASS_WORDS.get(str(context_class), "of the kind of place")
            if mix_words == NOT_BROKEN_DOWN:
                return (f"This leaflet is for {label}: {words} (what was recorded here is not "
                        "broken down by kind, so the setting decides).")
            return f"This leaflet is for {label}: {words}."
        return f"This leaflet is for {label}."


MAIN_SHARE = 0.1
"""A category is one of a place's main ones (its advice is given, its name on the leaflet)
when it holds at least this share of the place's incidents; the largest always is."""


ROUND_SMALL = 5
"""Printed counts under :data:`ROUND_LARGE_FROM` are rounded to the nearest this many."""
ROUND_LARGE = 10
"""Printed counts from :data:`ROUND_LARGE_FROM` up are rounded to the nearest this many."""
ROUND_LARGE_FROM = 100


def shown_count(n: int, min_count: int) -> str:
    """A count as a leaflet of an ad hoc selection prints it (it leaves the force): "fewer than
    ``min_count``" under ``min_count`` (``HOTSPOT_PARTNER_MIN_INCIDENTS``), else "about" the
    count rounded half up to the nearest :data:`ROUND_SMALL` (under :data:`ROUND_LARGE_FROM`)
    or :data:`ROUND_LARGE`, so that two leaflets of overlapping selections cannot be subtracted
    to recover a small count.

    Examples
    --------
    >>> [shown_count(n, 5) for n in (1, 4, 5, 7, 8, 97)]
    ['fewer than 5', 'fewer than 5', 'about 5', 'about 5', 'about 10', 'about 95']
    >>> [shown_count(n, 5) for n in (98, 104, 105, 1234)]
    ['about 100', 'about 100', 'about 110', 'about 1,230']
    >>> shown_count(2, 2)  # rounds to none: still not printed
    'fewer than 5'
    """
    if n < min_count:
        return f"fewer than {min_count:,}"
    base = ROUND_SMALL if n < ROUND_LARGE_FROM else ROUND_LARGE
    rounded = (n + base // 2) // base * base
    if rounded < ROUND_SMALL:
        return f"fewer than {ROUND_SMALL}"
    return f"about {rounded:,}"


def counts_note(min_count: int) -> str:
    """The small print of a leaflet whose counts :func:`shown_count` printed."""
    return (f"To protect the people involved, counts under {min_count:,} are shown as "
            f"\u201cfewer than {min_count:,}\u201d and a kind under {min_count:,} is named only "
            f"when it is the only one; other counts are rounded to the nearest {ROUND_SMALL} "
            f"(nearest {ROUND_LARGE} from {ROUND_LARGE_FROM}), so they may not add up.")


def shown_keys(mix: Mapping[str, Any], min_count: int) -> list[str]:
    """The keys of ``mix`` a leaflet may name: those of at least ``min_count`` incidents. A
    kind under it is never named, even alone: "fewer than 5 violent or sexual offences" at a
    named church says too much about too few people."""
    return [str(k) for k, v in mix.items()
            if k != NOT_BROKEN_DOWN and isinstance(v, (int, float)) and v >= max(min_count, 1)]


def _top(mix: Mapping[str, Any], n: int = TOP, *, share: float = MAIN_SHARE) -> list[tuple[str, int]]:
    """The main keys of a mix: the ``n`` largest (ties by key) holding at least ``share`` of
    its incidents (the largest always), leaving out the held-back remainder."""
    items = [(str(k), int(v)) for k, v in mix.items()
             if k != NOT_BROKEN_DOWN and isinstance(v, (int, float)) and v > 0]
    total = sum(int(v) for v in mix.values() if isinstance(v, (int, float)) and v > 0)
    ranked = sorted(items, key=lambda kv: (-kv[1], kv[0]))[:n]
    return [kv for i, kv in enumerate(ranked) if i == 0 or kv[1] >= share * total]


def category_advice(advice: PreventionAdvice, taxonomy: Taxonomy, mix: Mapping[str, Any],
                    context_class: str | None, *, audience: str | None = None,
                    min_count: int = 0) -> PlaceAdvice:
    """A place's advice from its category mix (incidents by category key) and class.

    The steps are the audience's from the advice of the :data:`TOP` largest categories (a
    category's own entry, else its priority's), topped up from the general advice. With
    ``min_count``, the categories a leaflet does not name (:func:`shown_keys`) give no advice
    of their own (it could name them): when it names none, the largest categories' priorities
    give it."""
    choice = AudienceChoice(audience, "asked") if audience else choose_audience(
        context_class, {str(k): v for k, v in mix.items() if isinstance(v, (int, float))},
        by_class=advice.by_class, leans=advice.by_category)
    shown = shown_keys(mix, min_count)
    entries: list[Advice] = []
    for key, _n in _top(mix):
        cat = taxonomy.categories.get(key)
        priority = cat.priority if cat else "other"
        if shown and key not in shown:
            continue
        entry = (advice.for_category(key, priority) if key in shown
                 else advice.priorities.get(priority))
        if entry is not None and entry not in entries:
            entries.append(entry)
    return PlaceAdvice(choice, advice_points(entries, choice.audience, general=advice.general),
                       advice.contact_for(choice.audience))


def priority_advice(advice: PreventionAdvice, mix: Mapping[str, Any],
                    context_class: str | None, *, audience: str | None = None) -> PlaceAdvice:
    """A published hotspot's advice from its mix *by priority* and its class (the priorities'
    advice, topped up from the general advice; the held-back remainder has none)."""
    choice = AudienceChoice(audience, "asked") if audience else choose_audience(
        context_class, {str(k): v for k, v in mix.items() if isinstance(v, (int, float))},
        by_class=advice.by_class, leans=advice.by_priority)
    entries = [advice.priorities[k] for k, _n in _top(mix) if k in advice.priorities]
    return PlaceAdvice(choice, advice_points(entries, choice.audience, general=advice.general),
                       advice.contact_for(choice.audience))


def _leaning_words(mix: Mapping[str, Any], leans: Mapping[str, str], audience: str,
                   labels: Mapping[str, str], *, min_count: int = 0) -> str:
    """The (up to three) largest keys of ``mix`` leaning to ``audience``, in words; with
    ``min_count``, only keys of at least that many (never a small one, by name)."""
    keys = [k for k, n in _top(mix, 99, share=0.0)
            if leans.get(k) == audience and n >= min_count][:3]
    words = [labels.get(k, k.replace("_", " ")).lower() for k in keys]
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def months_words(first: str | None, last: str | None) -> str:
    """Whole months ``first`` to ``last`` (``YYYY-MM``, both included) in words: "June 2024",
    "January to June 2024", "November 2023 to February 2024"."""
    def words(month: str, year: bool = True) -> str:
        y, m = month[:4], int(month[5:7])
        return f"{_MONTHS[m - 1]} {y}" if year else _MONTHS[m - 1]

    if not first or not last:
        return "the period analysed"
    if first == last:
        return words(first)
    if first[:4] == last[:4]:
        return f"{words(first, year=False)} to {words(last)}"
    return f"{words(first)} to {words(last)}"


def selection_months(selection: Mapping[str, Any], row: Mapping[str, Any]) -> tuple[str, str]:
    """The first and last month (``YYYY-MM``, local) of an analysis's selection (its ``from``
    and exclusive ``to``, ISO with offsets), else of the hotspot's own first and last dates."""
    start, end = selection.get("from"), selection.get("to")
    first = str(start)[:7] if start else str(row.get("first_date") or "")[:7]
    if end:
        last_day = pd.Timestamp(str(end)) - pd.Timedelta(seconds=1)
        last = last_day.strftime("%Y-%m")
    else:
        last = str(row.get("last_date") or "")[:7]
    return first, last


def area_words(place: Any, context_class: str | None, *, fallback: str) -> str:
    """A place in words, from the reference layers' names only (never an address):
    "Thornbury town centre", "St Mary's Church, Ashby Moor", "Ashby Moor"; ``fallback``
    when the layers name nothing."""
    name = place.strip() if isinstance(place, str) else ""
    if not name:
        return fallback
    if context_class == "town_centre":
        return f"{name} town centre"
    if context_class == "rural":
        near = name.casefold().startswith(("near ", "around "))
        return f"The countryside {name}" if near else f"The countryside around {name}"
    return name


def _others(audience: str, href: str) -> list[tuple[str, str]]:
    sep = "&" if "?" in href else "?"
    return [(AUDIENCE_LABELS[a].lower(), f"{href}{sep}audience={a}")
            for a in AUDIENCES if a != audience]


def _category_words(taxonomy: Taxonomy, mix: Mapping[str, Any],
                    min_count: int) -> tuple[list[tuple[str, int | str]], str]:
    """A place's main categories as a leaflet lists them, counts in words
    (:func:`shown_count`), leaving out those under ``min_count`` (:func:`shown_keys`); and the
    line said instead when none is left."""
    labels = {k: c.label for k, c in taxonomy.categories.items()}
    shown = shown_keys(mix, min_count)
    words: list[tuple[str, int | str]] = [
        (labels.get(k, k.replace("_", " ").capitalize()), shown_count(n, min_count))
        for k, n in _top(mix) if k in shown]
    kinds = len(_kinds(mix))
    note = "" if words or not kinds else (
        f"Of several kinds, none with {min_count:,} or more, so none is named here."
        if kinds > 1 else f"Fewer than {min_count:,} of one kind, so it is not named here.")
    return words, note


def _kinds(mix: Mapping[str, Any]) -> list[str]:
    """The keys of ``mix`` with incidents (the held-back remainder included)."""
    return [str(k) for k, v in mix.items() if isinstance(v, (int, float)) and v > 0]


def _mainly(mix: Mapping[str, Any]) -> str:
    """The words before a leaflet's list of categories."""
    return "all of one kind" if len(_kinds(mix)) == 1 else "mainly"


def counted_words(taxonomy: Taxonomy, categories: Any) -> tuple[str, str]:
    """What a selection's counts are, singular and plural: crimes, incidents of anti-social
    behaviour (the categories of the ``asb`` priority), or both; ``categories`` the selected
    keys (None: all)."""
    asb = {k for k, c in taxonomy.categories.items() if c.priority == "asb"}
    chosen = set(categories) if categories else set(taxonomy.categories)
    if chosen and chosen <= asb:
        return "incident of anti-social behaviour", "incidents of anti-social behaviour"
    if not chosen & asb:
        return "crime", "crimes"
    return ("crime or incident of anti-social behaviour",
            "crimes and incidents of anti-social behaviour")


def dates_words(first: Any, last: Any) -> str:
    """Days ``first`` to ``last`` (dates, both included) in words: "24 December 2024",
    "24 to 26 December 2024", "30 November to 2 December 2024", "30 December 2024 to
    2 January 2025"."""
    def words(day: Any, month: bool = True, year: bool = True) -> str:
        return " ".join([str(day.day)] + ([_MONTHS[day.month - 1]] if month else []) +
                        ([str(day.year)] if year else []))

    if first == last:
        return words(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{words(first, month=False, year=False)} to {words(last)}"
    if first.year == last.year:
        return f"{words(first, year=False)} to {words(last)}"
    return f"{words(first)} to {words(last)}"


def period_words(selection: Mapping[str, Any], row: Mapping[str, Any]) -> str:
    """The period of an analysis's selection in words: whole months as months ("December
    2024"), else the days ("24 to 26 December 2024"); without both bounds, the months of the
    hotspot's own first and last dates."""
    start, end = selection.get("from"), selection.get("to")
    if not start or not end:
        return months_words(*selection_months(selection, row))
    first = pd.Timestamp(str(start))
    last = pd.Timestamp(str(end)) - pd.Timedelta(seconds=1)
    month_start = first == first.normalize() and first.day == 1
    after = last + pd.Timedelta(seconds=1)
    month_end = after == after.normalize() and after.day == 1
    if month_start and month_end:
        return months_words(*selection_months(selection, row))
    return dates_words(first.date(), last.date())


def hotspot_leaflet(row: Mapping[str, Any], metadata: Mapping[str, Any], advice: PreventionAdvice,
                    taxonomy: Taxonomy, *, audience: str | None, href: str,
                    page_href: str, min_count: int) -> LeafletData:
    """The leaflet of a hotspot of an analysis: ``row`` is its row of the hotspot table,
    ``metadata`` the result's (selection, data version); ``href`` the leaflet's own address
    without ``audience`` (the other audiences' links), ``page_href`` the hotspot's page.

    The area is named from the reference layers (``place``: a town, site or area), never the
    street or location text of the incidents (a force export's may be an address). The
    selection is the caller's, not a published product, and the leaflet leaves the force: no
    count under ``min_count`` (``HOTSPOT_PARTNER_MIN_INCIDENTS``) is printed, nor a category
    under it named (unless it is the only one), and the others are rounded
    (:func:`shown_count`). What was counted and the period follow the selection."""
    mix = row.get("category_mix") or {}
    cls = str(row.get("context_class") or "") or None
    got = category_advice(advice, taxonomy, mix, cls, audience=audience, min_count=min_count)
    labels = {k: c.label for k, c in taxonomy.categories.items()}
    selection = metadata.get("selection") or {}
    one, many = counted_words(taxonomy, selection.get("categories"))
    categories, mix_note = _category_words(taxonomy, mix, min_count)
    rank = row.get("rank")
    incidents = int(row.get("incidents") or 0)
    return LeafletData(
        area=area_words(row.get("place"), cls, fallback=f"Hotspot {rank}"),
        audience_label=got.audience_label, period=period_words(selection, row),
        incidents=shown_count(incidents, min_count) if incidents else 0,
        categories=categories, mix_note=mix_note, counted=many, counted_one=one,
        mainly=_mainly(mix),
        points=[(p.text, p.source) for p in got.points], contact=got.contact,
        note=advice.note if advice.from_memory else "", attribution=ATTRIBUTION,
        made_from=(f"Made from hotspot {row.get('id')} (data version "
                   f"{metadata.get('data_version', '')}) on "
                   f"{datetime.now(UTC).strftime('%d %B %Y')}."),
        counts_note=counts_note(min_count),
        reason=got.reason(cls, _leaning_words(mix, advice.by_category, got.choice.audience,
                                              labels, min_count=min_count)),
        others=_others(got.choice.audience, href), back=("Back to the hotspot's page", page_href))


def product_leaflet(props: Mapping[str, Any], document: Mapping[str, Any],
                    advice: PreventionAdvice, taxonomy: Taxonomy, *, audience: str | None,
                    href: str) -> LeafletData:
    """The leaflet of a published product's hotspot (its stored properties, ``props``): the
    area from its place and class, the published counts by priority, the priorities' advice.
    Nothing but what the product publishes."""
    mix = props.get("category_mix") or {}
    cls = str(props.get("context_class") or "") or None
    got = priority_advice(advice, mix, cls, audience=audience)
    labels = priority_labels(taxonomy)
    months = list(document.get("months") or [])
    categories = _priority_words(labels, mix)
    held_only = not _top(mix) and bool(categories)
    leaning = NOT_BROKEN_DOWN if held_only else _leaning_words(
        mix, advice.by_priority, got.choice.audience, labels)
    return LeafletData(
        area=area_words(props.get("place"), cls, fallback=f"Published hotspot {props.get('rank')}"),
        audience_label=got.audience_label,
        period=months_words(months[0] if months else None, months[-1] if months else None),
        incidents=int(props.get("incidents") or 0),
        categories=[] if held_only else categories,
        mix_note=("Not broken down by kind: the published figures hold the breakdown back "
                  "to protect small counts." if held_only else ""),
        points=[(p.text, p.source) for p in got.points], contact=got.contact,
        note=advice.note if advice.from_memory else "",
        attribution=str(document.get("attribution") or ATTRIBUTION),
        made_from=(f"Made from the published product of {months_words(months[0], months[-1])}"
                   if months else "Made from a published product") +
                  f", hotspot {props.get('rank')}: counts on the force grid, small counts "
                  "held back.",
        reason=got.reason(cls, leaning),
        others=_others(got.choice.audience, href), back=("Back to the products", "/products"),
        counted="crimes and incidents of anti-social behaviour (published counts)",
        counted_one="crime or incident of anti-social behaviour (published counts)")


def _priority_words(labels: Mapping[str, str],
                    mix: Mapping[str, Any]) -> list[tuple[str, int | str]]:
    """A published hotspot's main priorities in words, then the part held back, if any."""
    words: list[tuple[str, int | str]] = [
        (labels.get(k, k.replace("_", " ").capitalize()), n) for k, n in _top(mix)]
    held = mix.get(NOT_BROKEN_DOWN)
    if isinstance(held, (int, float)) and held > 0:
        words.append(("Not broken down by priority (held back to protect small counts)",
                      int(held)))
    return words


def priority_labels(taxonomy: Taxonomy) -> dict[str, str]:
    """What each plan priority is called, short ("Rural crime")."""
    return {k: v.split(":")[0] for k, v in taxonomy.priorities.items()}


def product_page_advice(props: Mapping[str, Any], advice: PreventionAdvice) -> dict[str, Any]:
    """What the products page shows of a published hotspot's advice: for whom, why (short),
    the steps (no more than the leaflet's), who to contact."""
    cls = str(props.get("context_class") or "") or None
    got = priority_advice(advice, props.get("category_mix") or {}, cls)
    return {"audience": got.choice.audience, "audience_label": got.audience_label,
            "because": got.choice.because, "points": [p.text for p in got.points],
            "contact": got.contact}


# --- towns --------------------------------------------------------------------------------------

def town_names(store: LayerStore) -> list[str]:
    """The towns a leaflet can be made for: the names of the town centres and built-up areas,
    sorted, each once."""
    names: set[str] = set()
    for kind in (TOWN_CENTRES, BUILT_UP_AREAS):
        layer = store.get_layer(kind)
        if layer is not None and "name" in layer.frame.columns:
            names |= {" ".join(str(n).split()) for n in layer.frame["name"] if str(n).strip()}
    return sorted(names, key=str.casefold)


@dataclass(frozen=True)
class Town:
    """A town's outline (store CRS) and whether it has a town centre."""

    name: str
    outline: Any
    has_centre: bool


def find_town(store: LayerStore, name: str) -> Town:
    """The town called ``name`` (case and spacing ignored): the union of its town centre and
    built-up areas of that name, and the built-up areas its centre lies in.

    Raises
    ------
    NotFound
        Naming ``town`` and the towns there are.
    """
    wanted = " ".join(name.split()).casefold()
    parts: list[Any] = []
    found_name = None
    centre = False
    for kind in (TOWN_CENTRES, BUILT_UP_AREAS):
        layer = store.get_layer(kind)
        if layer is None or "name" not in layer.frame.columns:
            continue
        names = layer.frame["name"].astype(str).map(lambda n: " ".join(n.split()))
        hit = (names.str.casefold() == wanted).to_numpy()
        if hit.any():
            found_name = found_name or str(names[hit].iloc[0])
            parts += list(layer.frame.geometry.values[hit])
            centre = centre or kind == TOWN_CENTRES
    if not parts or found_name is None:
        known = town_names(store)
        raise NotFound(f"no town called {quoted(name)}; towns are "
                       f"{', '.join(known[:40]) or 'none (no town layers are loaded)'}", "town")
    outline = shapely.union_all(parts)
    if centre:
        outline = with_built_up_areas(store, outline)
    return Town(found_name, outline, centre)


def town_counts(store: IncidentStore, town: Town) -> tuple[dict[str, int], str | None, str | None]:
    """Incidents by category inside the town's outline over the :data:`TOWN_MONTHS` whole
    months up to the store's latest, and those first and last months (None: no data)."""
    last = latest_complete_month(store)
    if last is None:
        return {}, None, None
    end_month = pd.Period(last, freq="M")
    first_month = end_month - (TOWN_MONTHS - 1)
    tz = store.timezone
    start = pd.Timestamp(first_month.start_time).tz_localize(tz)
    end = pd.Timestamp((end_month + 1).start_time).tz_localize(tz)
    minx, miny, maxx, maxy = shapely.bounds(town.outline).tolist()
    cols = store.incidents(IncidentFilter(start=int(start.value // 10**9),
                                          end=int(end.value // 10**9),
                                          bbox=(minx, miny, maxx, maxy)), lonlat=False)
    inside = shapely.intersects_xy(town.outline, cols.x, cols.y) if len(cols) else \
        np.zeros(0, dtype=bool)
    cats = pd.Series(np.asarray(cols.category, dtype=object)[inside], dtype=object)
    counts = cats.value_counts()
    mix = {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}
    return mix, str(first_month), str(end_month)


def town_leaflet(town: Town, mix: Mapping[str, int], months: tuple[str | None, str | None],
                 data_version: str, advice: PreventionAdvice, taxonomy: Taxonomy, *,
                 audience: str | None, href: str, min_count: int) -> LeafletData:
    """The leaflet of a town: its mix over its months; a town is built up, so its advice is for
    residents unless most of what was recorded leans to another audience (or ``audience`` is
    given: a town centre's businesses). Counts as a hotspot's (:func:`hotspot_leaflet`): none
    under ``min_count`` printed or named, the others rounded."""
    got = category_advice(advice, taxonomy, mix, "urban", audience=audience, min_count=min_count)
    labels = {k: c.label for k, c in taxonomy.categories.items()}
    categories, mix_note = _category_words(taxonomy, mix, min_count)
    total = sum(mix.values())
    return LeafletData(
        area=town.name, audience_label=got.audience_label, period=months_words(*months),
        incidents=shown_count(total, min_count) if total else 0, categories=categories,
        mix_note=mix_note, counts_note=counts_note(min_count), mainly=_mainly(mix),
        points=[(p.text, p.source) for p in got.points], contact=got.contact,
        note=advice.note if advice.from_memory else "", attribution=ATTRIBUTION,
        made_from=(f"Made from the incidents recorded inside {town.name}'s built-up area "
                   f"(data version {data_version}) on {datetime.now(UTC).strftime('%d %B %Y')}."),
        reason=got.reason("urban", _leaning_words(mix, advice.by_category, got.choice.audience,
                                                  labels, min_count=min_count)),
        others=_others(got.choice.audience, href), back=("Back to the map", "/"))

