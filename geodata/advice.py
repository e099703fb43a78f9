"""Crime prevention advice by taxonomy category: what residents, businesses and farms can do.

The advice lives in a TOML data file (``geodata/data/prevention_advice.toml`` by default) that a
force can copy and edit; this module only reads it. Each entry names the publication it follows
(``source``); the packaged file says it was written from memory of those sources
(``from_memory``), so a page shows that beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geodata.datafiles import read_toml
from geodata.errors import InvalidAdvice

AUDIENCES = ("residents", "businesses", "farms")
"""Who each entry speaks to, in the order pages show them."""


@dataclass(frozen=True)
class Advice:
    """The advice for one category (or, as a fallback, one plan priority): short practical
    steps for each audience and the source they follow."""

    key: str
    source: str
    residents: tuple[str, ...] = ()
    businesses: tuple[str, ...] = ()
    farms: tuple[str, ...] = ()

    def by_audience(self) -> list[tuple[str, tuple[str, ...]]]:
        """``(audience, steps)`` for the audiences that have any, in :data:`AUDIENCES` order."""
        return [(a, getattr(self, a)) for a in AUDIENCES if getattr(self, a)]


class PreventionAdvice:
    """A loaded advice file: entries by category key and fallbacks by plan priority.

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
    """

    def __init__(self, categories: dict[str, Advice], priorities: dict[str, Advice], *,
                 source: str, from_memory: bool = False, note: str = "") -> None:
        self.categories = dict(categories)
        self.priorities = dict(priorities)
        self.source = source
        self.from_memory = from_memory
        self.note = note

    @classmethod
    def load(cls, path: str | Path | None = None) -> PreventionAdvice:
        """Load an advice file, or the packaged default when ``path`` is None.

        Raises
        ------
        InvalidAdvice
            If the file cannot be read or parsed, or an entry has no source or a list that is
            not of strings; the message names the file and the entry.
        """
        data, source = read_toml(path, "data/prevention_advice.toml", "prevention advice",
                                 InvalidAdvice)
        return cls(_entries(data.get("advice", {}), "advice", source),
                   _entries(data.get("priority_advice", {}), "priority_advice", source),
                   source=source, from_memory=bool(data.get("from_memory", False)),
                   note=str(data.get("note", "")))

    def for_category(self, category: str, priority: str | None = None) -> Advice | None:
        """The advice for a category key, else its priority's (``priority``), else None."""
        found = self.categories.get(category)
        if found is None and priority is not None:
            found = self.priorities.get(priority)
        return found


def _entries(table: Any, name: str, source: str) -> dict[str, Advice]:
    if not isinstance(table, dict):
        raise InvalidAdvice(f"{source}: [{name}] must be a table of entries")
    out: dict[str, Advice] = {}
    for key, entry in table.items():
        where = f"{source}: [{name}.{key}]"
        if not isinstance(entry, dict):
            raise InvalidAdvice(f"{where} must be a table")
        src = entry.get("source")
        if not isinstance(src, str) or not src.strip():
            raise InvalidAdvice(f"{where} needs a source (the publication it follows)")
        lists: dict[str, tuple[str, ...]] = {}
        for audience in AUDIENCES:
            steps = entry.get(audience, [])
            if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
                raise InvalidAdvice(f"{where}: {audience} must be a list of strings")
            lists[audience] = tuple(s.strip() for s in steps if s.strip())
        unknown = sorted(set(entry) - {"source", *AUDIENCES})
        if unknown:
            raise InvalidAdvice(f"{where}: unknown field {unknown[0]!r}; fields are source, "
                                f"{', '.join(AUDIENCES)}")
        out[str(key)] = Advice(key=str(key), source=src.strip(), **lists)
    return out
