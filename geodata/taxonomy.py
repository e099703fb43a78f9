"""The priority taxonomy: source crime types onto the categories and priorities of a force plan.

The mapping lives in a TOML data file (``geodata/data/taxonomy.toml`` by default) that a force
can copy and edit; this module only reads and applies it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from geodata.datafiles import read_toml
from geodata.errors import InvalidTaxonomy

OTHER = "other"
"""The category that unknown crime types are mapped to when the taxonomy is not strict."""


class UnknownTypePolicy(StrEnum):
    """What a reader does with a crime type the taxonomy does not know."""

    REJECT = "reject"
    """Reject the row (a strict taxonomy); the report names the type."""
    OTHER = "other"
    """Accept the row under the ``other`` category; the report names the type."""


@dataclass(frozen=True)
class Category:
    """One taxonomy category: its key, label, plan priority, finer group, and what an officer
    should look for at a hotspot of it (``look_for``, for patrol briefings; may be empty)."""

    key: str
    label: str
    priority: str
    group: str
    source_types: tuple[str, ...]
    look_for: str = ""


_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise_type(text: str) -> str:
    """Return the matching form of a crime type: lower case, punctuation and spacing folded."""
    return _NON_ALNUM.sub(" ", text.casefold()).strip()


class Taxonomy:
    """A loaded taxonomy.

    Parameters
    ----------
    priorities
        Priority key to description.
    categories
        The categories, each naming one of ``priorities``.
    source
        Where the taxonomy came from (shown in reports).

    Raises
    ------
    InvalidTaxonomy
        If a category names an unknown priority, two categories claim the same source type, or
        the ``other`` category is missing.
    """

    def __init__(
        self, priorities: Mapping[str, str], categories: Mapping[str, Category], source: str
    ) -> None:
        self.priorities = dict(priorities)
        self.categories = dict(categories)
        self.source = source
        if OTHER not in self.categories:
            raise InvalidTaxonomy(f"{source}: the taxonomy needs a category named {OTHER!r}")
        self._lookup: dict[str, str] = {}
        for cat in self.categories.values():
            if cat.priority not in self.priorities:
                raise InvalidTaxonomy(
                    f"{source}: category {cat.key!r} names priority {cat.priority!r}, which is "
                    f"not one of {sorted(self.priorities)}"
                )
            for name in (cat.key, cat.label, *cat.source_types):
                norm = normalise_type(name)
                owner = self._lookup.get(norm)
                if owner is not None and owner != cat.key:
                    raise InvalidTaxonomy(
                        f"{source}: source type {name!r} is claimed by both {owner!r} and "
                        f"{cat.key!r}"
                    )
                self._lookup[norm] = cat.key

    @classmethod
    def load(cls, path: str | Path | None = None) -> Taxonomy:
        """Load a taxonomy from a TOML file, or the packaged default when ``path`` is None.

        Raises
        ------
        InvalidTaxonomy
            If the file cannot be parsed or lacks required entries; the message names the file.
        """
        data, source = read_toml(path, "data/taxonomy.toml", "taxonomy", InvalidTaxonomy)
        priorities = data.get("priorities")
        raw_categories = data.get("categories")
        if not isinstance(priorities, dict) or not isinstance(raw_categories, dict):
            raise InvalidTaxonomy(f"{source}: needs [priorities] and [categories.*] tables")
        categories: dict[str, Category] = {}
        for key, entry in raw_categories.items():
            if not isinstance(entry, dict) or "priority" not in entry:
                raise InvalidTaxonomy(f"{source}: category {key!r} needs a priority")
            types = entry.get("source_types", [])
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise InvalidTaxonomy(f"{source}: source_types of {key!r} must be strings")
            categories[key] = Category(
                key=key,
                label=str(entry.get("label", key)),
                priority=str(entry["priority"]),
                group=str(entry.get("group", key)),
                source_types=tuple(types),
                look_for=str(entry.get("look_for", "")),
            )
        return cls({str(k): str(v) for k, v in priorities.items()}, categories, source)

    def lookup(self, crime_type: str) -> str | None:
        """Return the category key of a source crime type, or None when it is unknown."""
        return self._lookup.get(normalise_type(crime_type))

    def map_types(self, crime_types: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map an array of source crime types onto category keys.

        Returns
        -------
        keys
            Object array of category keys; unknown and blank types get ``None``.
        known
            Boolean array, False where the type is not in the taxonomy.
        blank
            Boolean array, True where the type is empty or whitespace.
        """
        codes, uniques = pd.factorize(crime_types, use_na_sentinel=False)
        mapped = np.array([self.lookup(str(u)) for u in uniques] + [None], dtype=object)
        empty = np.array([not str(u).strip() for u in uniques] + [True], dtype=bool)
        if not len(codes):
            return np.empty(0, dtype=object), np.empty(0, dtype=bool), np.empty(0, dtype=bool)
        known = np.array([m is not None for m in mapped], dtype=bool)[codes]
        return mapped[codes], known, empty[codes]

    def categories_for(self, priority: str) -> list[str]:
        """Return the category keys that belong to a priority."""
        return [c.key for c in self.categories.values() if c.priority == priority]

    def to_dict(self) -> dict[str, object]:
        """Return the taxonomy as a JSON-ready dict."""
        return {
            "source": self.source,
            "priorities": self.priorities,
            "categories": {
                c.key: {
                    "label": c.label,
                    "priority": c.priority,
                    "group": c.group,
                    "source_types": list(c.source_types),
                    "look_for": c.look_for,
                }
                for c in self.categories.values()
            },
        }
