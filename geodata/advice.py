"""Crime prevention advice by taxonomy category: what residents, businesses, farms and the
keepers of heritage sites can do, and which of them a place's advice is for.

The advice lives in a TOML data file (``geodata/data/prevention_advice.toml`` by default) that a
force can copy and edit; this module only reads it. Each entry names the publication it follows
(``source``); the packaged file says it was written from memory of those sources
(``from_memory``), so a page shows that beside it.

Which audience a place's advice is for is chosen by :func:`choose_audience` (pure): its context
class names one (a town centre's advice is for businesses, a rural place's for farms, a heritage
site's for its keepers, an urban street's for residents), unless most of its incidents are of
categories whose victims are one other audience (a retail park of shoplifting: businesses).
:func:`advice_points` then takes that audience's steps from the place's main categories.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from geodata.datafiles import read_toml
from geodata.errors import InvalidAdvice

AUDIENCES = ("residents", "businesses", "farms", "heritage")
"""Who each entry speaks to, in the order pages show them (``heritage``: the keepers of heritage
sites: churchwardens, custodians, landowners with scheduled monuments)."""

AUDIENCE_LABELS = {"residents": "Residents", "businesses": "Businesses",
                   "farms": "Farms and rural businesses", "heritage": "Heritage site keepers"}
"""What each audience is called on a page."""

DEFAULT_BY_CLASS = {"town_centre": "businesses", "rural": "farms",
                    "heritage_site": "heritage", "urban": "residents"}
"""The audience of each context class when the file's ``[audiences.by_class]`` does not say."""

DEFAULT_CONTACT = ("In an emergency, or if a crime is happening now, call 999. Otherwise call "
                   "101 or report online at police.uk. To give information anonymously, call "
                   "Crimestoppers on 0800 555 111.")
"""Who to contact, when the file's ``contact`` does not say."""

MAJORITY = 0.5
"""More than this share of a place's incidents in categories that lean to one audience makes the
advice theirs, whatever the context class."""

MAX_POINTS = 6
"""The most advice points a leaflet gives."""
MAX_STEP_CHARS = 160
"""The longest step the file may hold, characters: six of the longest, with the longest
contact line, still print on one A4 page (``maps.leaflet``)."""
MAX_CONTACT_CHARS = 240
"""The longest contact line, characters."""
MIN_POINTS = 4
"""A leaflet tops its points up from the general advice to at least this many."""

_TOP_LEVEL = ("version", "from_memory", "note", "contact", "contact_by_audience", "audiences",
              "advice", "priority_advice", "general_advice")


@dataclass(frozen=True)
class Advice:
    """The advice for one category (or, as a fallback, one plan priority): short practical
    steps for each audience and the source they follow."""

    key: str
    source: str
    residents: tuple[str, ...] = ()
    businesses: tuple[str, ...] = ()
    farms: tuple[str, ...] = ()
    heritage: tuple[str, ...] = ()

    def by_audience(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(audience, steps)`` for the audiences that have any, in :data:`AUDIENCES` order."""
        return [(a, getattr(self, a)) for a in AUDIENCES if getattr(self, a)]

    def steps_for(self, audience: str) -> tuple[str, ...]:
        """The steps for one audience (empty for an audience it has none for)."""
        return tuple(getattr(self, audience, ())) if audience in AUDIENCES else ()


@dataclass(frozen=True)
class AudienceChoice:
    """Whose advice a place gets and why.

    ``audience`` is one of :data:`AUDIENCES`; ``because`` is ``"class"`` (the context class
    names it), ``"mix"`` (``share`` of the incidents, 0-1, are of categories that lean to it),
    ``"asked"`` (the caller named it) or ``"default"`` (neither says: residents).
    """

    audience: str
    because: str
    share: float | None = None


@dataclass(frozen=True)
class AdvicePoint:
    """One step of advice and the source it follows."""

    text: str
    source: str


class PreventionAdvice:
    """A loaded advice file: entries by category key and fallbacks by plan priority, general
    advice per audience, whose advice each class and category is, and who to contact.

    Parameters
    ----------
    categories, priorities
        :class:`Advice` by category key, and by priority key.
    source
        Where the file came from (shown in errors).
    from_memory
        Whether the file says its advice was written from memory of its sources.
    note
        The file's note on its advice (shown with it).
    general
        Advice for any place, per audience (tops a leaflet up to :data:`MIN_POINTS`).
    by_class, by_category, by_priority
        The audience of a context class, and the audience a category (or, in published
        products, a priority) leans to: :func:`choose_audience`.
    contact, contact_by_audience
        Who to contact (a leaflet's line), and per audience where it differs.
    """

    def __init__(self, categories: dict[str, Advice], priorities: dict[str, Advice], *,
                 source: str, from_memory: bool = False, note: str = "",
                 general: Advice | None = None, by_class: Mapping[str, str] | None = None,
                 by_category: Mapping[str, str] | None = None,
                 by_priority: Mapping[str, str] | None = None,
                 contact: str = DEFAULT_CONTACT,
                 contact_by_audience: Mapping[str, str] | None = None) -> None:
        self.categories = dict(categories)
        self.priorities = dict(priorities)
        self.source = source
        self.from_memory = from_memory
        self.note = note
        self.general = general
        self.by_class = dict(DEFAULT_BY_CLASS if by_class is None else by_class)
        self.by_category = dict(by_category or {})
        self.by_priority = dict(by_priority or {})
        self.contact = contact
        self.contact_by_audience = dict(contact_by_audience or {})

    @classmethod
    def load(cls, path: str | Path | None = None) -> PreventionAdvice:
        """Load an advice file, or the packaged default when ``path`` is None.

        Raises
        ------
        InvalidAdvice
            If the file cannot be read or parsed, or an entry has no source, a list that is not
            of strings, an unknown field or an unknown audience; the message names the file,
            the line (where it can be found) and the entry.
        """
        data, source = read_toml(path, "data/prevention_advice.toml", "prevention advice",
                                 InvalidAdvice)
        try:
            return cls._from_data(data, source)
        except _Malformed as exc:
            line = _line_of(_text_of(path), exc.table, exc.key)
            at = f"{source}, line {line}" if line else source
            raise InvalidAdvice(f"{at}: {exc.message}") from None

    @classmethod
    def _from_data(cls, data: dict[str, Any], source: str) -> PreventionAdvice:
        unknown = sorted(set(data) - set(_TOP_LEVEL))
        if unknown:
            raise _Malformed(f"unknown table or field {unknown[0]!r}; the file holds "
                             f"{', '.join(_TOP_LEVEL)}", unknown[0])
        general = None
        if "general_advice" in data:
            general = _entry(data["general_advice"], "general_advice", None)
        audiences = data.get("audiences", {})
        if not isinstance(audiences, dict):
            raise _Malformed("[audiences] must be a table", "audiences")
        extra = sorted(set(audiences) - {"by_class", "by_category", "by_priority"})
        if extra:
            raise _Malformed(f"[audiences]: unknown table {extra[0]!r}; tables are by_class, "
                             "by_category, by_priority", "audiences", extra[0])
        contact = data.get("contact", DEFAULT_CONTACT)
        if not isinstance(contact, str) or not contact.strip():
            raise _Malformed("contact must be a line of text (who to contact)", "contact")
        if len(contact.strip()) > MAX_CONTACT_CHARS:
            raise _Malformed(f"contact is {len(contact.strip())} characters; keep it to "
                             f"{MAX_CONTACT_CHARS} so that a leaflet prints on one page",
                             "contact")
        return cls(
            _entries(data.get("advice", {}), "advice"),
            _entries(data.get("priority_advice", {}), "priority_advice"),
            source=source, from_memory=bool(data.get("from_memory", False)),
            note=str(data.get("note", "")), general=general,
            by_class=_audience_table(audiences, "by_class", DEFAULT_BY_CLASS),
            by_category=_audience_table(audiences, "by_category", {}),
            by_priority=_audience_table(audiences, "by_priority", {}),
            contact=contact.strip(),
            contact_by_audience=_contacts(data.get("contact_by_audience", {})))

    def for_category(self, category: str, priority: str | None = None) -> Advice | None:
        """The advice for a category key, else its priority's (``priority``), else None."""
        found = self.categories.get(category)
        if found is None and priority is not None:
            found = self.priorities.get(priority)
        return found

    def contact_for(self, audience: str) -> str:
        """Who to contact, for ``audience`` (the file's line for it, else its ``contact``)."""
        return self.contact_by_audience.get(audience, self.contact)


def choose_audience(context_class: str | None, mix: Mapping[str, int | float], *,
                    by_class: Mapping[str, str], leans: Mapping[str, str],
                    majority: float = MAJORITY) -> AudienceChoice:
    """Whose advice a place gets, from its context class and its category mix.

    Pure: no file, no store.

    Parameters
    ----------
    context_class
        The place's class (``town_centre``, ``heritage_site``, ``rural``, ``urban``), or None.
    mix
        Incidents by category key (or, for a published product, by priority key); counts of 0
        or less, and keys no lean names, count in the total but lean nowhere.
    by_class
        The audience of each class (:attr:`PreventionAdvice.by_class`).
    leans
        The audience each key of ``mix`` leans to (:attr:`PreventionAdvice.by_category` or
        ``by_priority``).
    majority
        More than this share (0-1) of the incidents in keys leaning to one audience makes the
        advice theirs, whatever the class.

    Returns
    -------
    AudienceChoice
        The mix's audience when one holds more than ``majority`` of the incidents (ties go to
        the first in :data:`AUDIENCES`); else the class's; else residents.

    Examples
    --------
    >>> classes = {"town_centre": "businesses", "urban": "residents"}
    >>> leans = {"shoplifting": "businesses", "residential_burglary": "residents"}
    >>> choose_audience("urban", {"shoplifting": 30, "asb": 10}, by_class=classes,
    ...                 leans=leans).audience
    'businesses'
    >>> choose_audience("town_centre", {"asb": 30, "shoplifting": 10}, by_class=classes,
    ...                 leans=leans).because
    'class'
    """
    if not 0 <= majority < 1:
        raise ValueError(f"majority must be in [0, 1), not {majority!r}")
    total = float(sum(v for v in mix.values() if v > 0))
    leaning = dict.fromkeys(AUDIENCES, 0.0)
    for key, n in mix.items():
        audience = leans.get(key)
        if audience in leaning and n > 0:
            leaning[audience] += float(n)
    if total > 0:
        best = max(AUDIENCES, key=lambda a: (leaning[a], -AUDIENCES.index(a)))
        share = leaning[best] / total
        if share > majority:
            return AudienceChoice(best, "mix", round(share, 4))
    if context_class is not None and by_class.get(context_class) in AUDIENCES:
        return AudienceChoice(by_class[context_class], "class")
    return AudienceChoice("residents", "default")


def advice_points(entries: Sequence[Advice], audience: str, *, general: Advice | None = None,
                  most: int = MAX_POINTS, least: int = MIN_POINTS) -> list[AdvicePoint]:
    """Up to ``most`` steps for ``audience`` from ``entries`` (the place's main categories'
    advice, largest first): the first step of each entry, then the second of each, and so on,
    so every main category is heard; a step already taken is not repeated. Fewer than
    ``least``: topped up from ``general``.

    Pure: no file, no store.

    Examples
    --------
    >>> a = Advice("a", "S", residents=("a1", "a2", "a3"))
    >>> b = Advice("b", "T", residents=("b1",))
    >>> [p.text for p in advice_points([a, b], "residents", most=3, least=1)]
    ['a1', 'b1', 'a2']
    """
    if audience not in AUDIENCES:
        raise ValueError(f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    out: list[AdvicePoint] = []
    seen: set[str] = set()

    def take(entry: Advice, step: str) -> None:
        if len(out) < most and step.casefold() not in seen:
            seen.add(step.casefold())
            out.append(AdvicePoint(step, entry.source))

    lists = [(e, e.steps_for(audience)) for e in entries]
    depth = max((len(s) for _e, s in lists), default=0)
    for i in range(depth):
        for entry, steps in lists:
            if i < len(steps):
                take(entry, steps[i])
    if len(out) < least and general is not None:
        for step in general.steps_for(audience):
            if len(out) >= least:
                break
            take(general, step)
    return out


class _Malformed(Exception):
    """A malformed part of the file: the message, and the table and key to find its line."""

    def __init__(self, message: str, table: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message, self.table, self.key = message, table, key


def _text_of(path: str | Path | None) -> str:
    """The file's text again (only to find an error's line), empty when it cannot be read."""
    try:
        if path is None:
            return resources.files("geodata").joinpath("data/prevention_advice.toml") \
                .read_text("utf-8")
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """The 1-based line of ``[table.key]``, else of ``key =`` inside ``[table]``, else of
    ``[table]`` (or ``[table.anything]``, or a top-level ``table =``) in ``text``; None when
    not found."""
    lines = text.splitlines()
    name = r"\s*\.\s*".join(re.escape(p) for p in table.split("."))
    quoted = None if key is None else \
        rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""

    def first(pattern: str, lo: int = 0, stop_at_table: bool = False) -> int | None:
        for n in range(lo, len(lines)):
            if stop_at_table and re.match(r"^\s*\[", lines[n]):
                return None
            if re.match(pattern, lines[n]):
                return n + 1
        return None

    if quoted is not None:
        found = first(rf"^\s*\[\s*{name}\s*\.\s*{quoted}\s*\]")
        if found is not None:
            return found
    header = first(rf"^\s*\[\s*{name}\s*\]")
    if header is not None and quoted is not None:
        inner = first(rf"^\s*{quoted}\s*=", header, stop_at_table=True)
        if inner is not None:
            return inner
    return header or first(rf"^\s*\[\s*{name}\s*\.") or first(rf"^\s*{name}\s*=")


def _entry(entry: Any, table: str, key: str | None) -> Advice:
    where = f"[{table}.{key}]" if key is not None else f"[{table}]"
    if not isinstance(entry, dict):
        raise _Malformed(f"{where} must be a table", table, key)
    src = entry.get("source")
    if not isinstance(src, str) or not src.strip():
        raise _Malformed(f"{where} needs a source (the publication it follows)", table, key)
    lists: dict[str, tuple[str, ...]] = {}
    for audience in AUDIENCES:
        steps = entry.get(audience, [])
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            raise _Malformed(f"{where}: {audience} must be a list of strings", table, key)
        lists[audience] = tuple(" ".join(s.split()) for s in steps if s.strip())
        long = next((s for s in lists[audience] if len(s) > MAX_STEP_CHARS), None)
        if long is not None:
            raise _Malformed(f"{where}: {audience}: a step of {len(long)} characters "
                             f"({long[:40]!r}...); keep each step to {MAX_STEP_CHARS} so that "
                             "a leaflet prints on one page", table, key)
    unknown = sorted(set(entry) - {"source", *AUDIENCES})
    if unknown:
        raise _Malformed(f"{where}: unknown field {unknown[0]!r}; fields are source, "
                         f"{', '.join(AUDIENCES)}", table, key)
    return Advice(key=key or table, source=src.strip(), **lists)


def _entries(table: Any, name: str) -> dict[str, Advice]:
    if not isinstance(table, dict):
        raise _Malformed(f"[{name}] must be a table of entries", name)
    return {str(key): _entry(entry, name, str(key)) for key, entry in table.items()}


def _audience_table(audiences: dict[str, Any], name: str,
                    default: Mapping[str, str]) -> dict[str, str]:
    table = audiences.get(name)
    if table is None:
        return dict(default)
    if not isinstance(table, dict):
        raise _Malformed(f"[audiences.{name}] must be a table of key = audience",
                         f"audiences.{name}")
    for key, audience in table.items():
        if audience not in AUDIENCES:
            raise _Malformed(f"[audiences.{name}]: {key} = {audience!r} is not an audience; "
                             f"audiences are {', '.join(AUDIENCES)}", f"audiences.{name}",
                             str(key))
    return {str(k): str(v) for k, v in table.items()}


def _contacts(table: Any) -> dict[str, str]:
    if not isinstance(table, dict):
        raise _Malformed("[contact_by_audience] must be a table of audience = line",
                         "contact_by_audience")
    for audience, line in table.items():
        if audience not in AUDIENCES:
            raise _Malformed(f"[contact_by_audience]: {audience!r} is not an audience; "
                             f"audiences are {', '.join(AUDIENCES)}", "contact_by_audience",
                             str(audience))
        if not isinstance(line, str) or not line.strip():
            raise _Malformed(f"[contact_by_audience]: {audience} must be a line of text",
                             "contact_by_audience", str(audience))
        if len(line.strip()) > MAX_CONTACT_CHARS:
            raise _Malformed(f"[contact_by_audience]: {audience} is {len(line.strip())} "
                             f"characters; keep it to {MAX_CONTACT_CHARS} so that a leaflet "
                             "prints on one page", "contact_by_audience", str(audience))
    return {str(k): str(v).strip() for k, v in table.items()}
