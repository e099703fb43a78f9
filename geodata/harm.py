"""Crime harm weights: days of imprisonment per offence, after the Cambridge Crime Harm Index.

The Cambridge Crime Harm Index (CCHI; Sherman, Neyroud & Neyroud 2016, *Policing* 10(3),
171-183) weighs each offence by the starting point of the Sentencing Council guideline for a first
offender, in days of custody. A hotspot weighed by harm counts a robbery (a year's custody) as
many shoplifting offences (a fine).

Two kinds of table:

- a **force table**: the force's own CCHI table, a CSV file a force supplies (offence code,
  offence name, harm in days, source), loaded with :meth:`HarmTable.load`;
- the **built-in table** (``geodata/data/harm_police_uk.csv``, :meth:`HarmTable.builtin`): one
  weight per data.police.uk crime type and per taxonomy category (rural types, fly-tipping),
  every number *approximate* and each with its source stated. It is the fallback of a force table.

Conversions used by the built-in table (see ``docs/harm.md``): custody in days (a year = 365
days); a fine as the days of minimum-wage work it takes to pay it (Band A = half a week's income
= 2.5 days, Band B = 5, Band C = 7.5, over a five-day week); a community order as its unpaid-work
hours at 8 hours a day, taking the middle of each level's range (low 40-80 h = 8 days, medium
80-150 h = 14 days, high 150-300 h = 28 days).

The incident schema (:mod:`geodata.schema`) has no offence-code column: incidents carry
``crime_type`` (as the source spelled it) and ``category`` (taxonomy key). A force table is
therefore matched on ``crime_type`` equal to an offence code or an offence name (ignoring case,
spacing and punctuation), or on an ``offence_code`` array where a caller has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import InvalidHarmTable
from geodata.harm_csv import COLUMNS as COLUMNS
from geodata.harm_csv import REQUIRED as REQUIRED
from geodata.harm_csv import HarmRow, decode_harm_csv, parse_harm_csv
from geodata.taxonomy import normalise_type

BUILTIN_FILE = "data/harm_police_uk.csv"
"""The built-in table, inside the :mod:`geodata` package."""

BUILTIN_ORIGIN = "built-in data.police.uk table (approximate)"

@dataclass(frozen=True)
class HarmWeights:
    """Harm weights of a selection of incidents.

    Attributes
    ----------
    values
        float64 array, one weight per incident, in days of custody.
    approximate
        True when any weight came from the built-in (approximate) table or is the unmatched value.
    unmatched
        Crime type (as given; ``""`` for blank) -> number of incidents no table row matched.
    unmatched_value
        The weight given to each unmatched incident (days).
    sources
        The distinct sources of the weights used, the most used first.
    fallback_count
        Number of incidents weighed by the built-in table (0 when only a force table was used).
    """

    values: np.ndarray
    approximate: bool
    unmatched: dict[str, int]
    unmatched_value: float
    sources: tuple[str, ...]
    fallback_count: int

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready summary (not the per-incident values)."""
        return {
            "incidents": int(self.values.shape[0]),
            "total_harm_days": float(self.values.sum()),
            "approximate": self.approximate,
            "fallback_count": self.fallback_count,
            "unmatched": [{"crime_type": k, "count": v} for k, v in self.unmatched.items()],
            "unmatched_value": self.unmatched_value,
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class HarmTable:
    """A table of harm weights (days of custody per offence).

    Parameters
    ----------
    rows
        The offences. Codes and names are matched ignoring case, spacing and punctuation; where
        two rows share one, the first wins (:meth:`load` refuses such files).
    origin
        Where the table came from (a file name, or :data:`BUILTIN_ORIGIN`).
    approximate
        True for the built-in table: its weights stand for whole categories.
    fallback
        The table used for incidents this one does not match (normally :meth:`builtin`), or None.
    """

    rows: tuple[HarmRow, ...]
    origin: str
    approximate: bool = False
    fallback: HarmTable | None = None
    _by_code: dict[str, int] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_code: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for i, row in enumerate(self.rows):
            by_code.setdefault(normalise_type(row.code), i)
            by_name.setdefault(normalise_type(row.name), i)
        object.__setattr__(self, "_by_code", by_code)
        object.__setattr__(self, "_by_name", by_name)

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def builtin(cls) -> HarmTable:
        """Return the built-in table for data.police.uk types and taxonomy categories.

        Codes are taxonomy category keys; names are the data.police.uk crime types (or the
        category labels). Every weight is approximate and states its source.
        """
        return _builtin()

    @classmethod
    def load(cls, path: str | Path | None = None, *, fallback: bool = True) -> HarmTable:
        """Load a force's harm table (its CCHI table) from a CSV file.

        Parameters
        ----------
        path
            CSV with a header row and the columns ``code``, ``name``, ``harm_days`` (days of
            custody, a number >= 0) and optionally ``source`` (see :data:`COLUMNS` for the other
            header names accepted). Without a ``source`` column every row's source is the file.
            None returns :meth:`builtin`.
        fallback
            Weigh the incidents this table does not match with the built-in table (labelled
            approximate). False leaves them to the unmatched value.

        Raises
        ------
        InvalidHarmTable
            If the file cannot be read, a column is missing, or a row has a blank code or name,
            a harm that is not a number >= 0, a blank source, or a code (or a name with another
            harm) that an earlier row has; the message names the file, line and column.
        """
        if path is None:
            return cls.builtin()
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InvalidHarmTable(f"cannot read harm table {p}: {exc.strerror}") from exc
        rows = parse_harm_csv(decode_harm_csv(data), p.name, default_source=f"force table {p.name}")
        return cls(rows=rows, origin=p.name, approximate=False,
                   fallback=cls.builtin() if fallback else None)

    # -- use ------------------------------------------------------------------------------------

    @property
    def unmatched_default(self) -> float:
        """The weight given to incidents no table matches: the median of the built-in table."""
        return float(np.median([r.harm_days for r in _builtin().rows]))

    def lookup(self, crime_type: str = "", category: str = "", offence_code: str = ""
               ) -> tuple[HarmRow, bool] | None:
        """Return the row that weighs one incident and whether it came from an approximate table.

        Order: this table by ``offence_code``, then by ``crime_type`` equal to a code or a name
        (a force table); then the approximate table (this one when built in, else
        :attr:`fallback`) by ``category`` equal to a code, then ``crime_type`` equal to a name or
        a code. None when nothing matches.
        """
        exact = None if self.approximate else self
        approx = self if self.approximate else self.fallback
        if exact is not None:
            for text, index in ((offence_code, exact._by_code), (crime_type, exact._by_code),
                                (crime_type, exact._by_name)):
                i = index.get(normalise_type(text)) if text else None
                if i is not None:
                    return exact.rows[i], exact.approximate
        if approx is not None:
            for text, index in ((category, approx._by_code), (crime_type, approx._by_name),
                                (crime_type, approx._by_code)):
                i = index.get(normalise_type(text)) if text else None
                if i is not None:
                    return approx.rows[i], True
        return None

    def weights(
        self,
        crime_type: np.ndarray | Sequence[str] | pd.Series | pd.Categorical[Any],
        category: np.ndarray | Sequence[str] | pd.Series | pd.Categorical[Any] | None = None,
        offence_code: np.ndarray | Sequence[str] | pd.Series | pd.Categorical[Any] | None = None,
        *,
        unmatched_value: float | None = None,
    ) -> HarmWeights:
        """Return the harm weight of each incident (days of custody).

        Each distinct (offence code, category, crime type) is looked up once (:meth:`lookup`) and
        the answer spread to the incidents by factorised codes: no Python loop over incidents.

        Parameters
        ----------
        crime_type
            Crime type of each incident, as the source spelled it (the schema's ``crime_type``).
        category
            Taxonomy category key of each incident (the schema's ``category``), or None.
        offence_code
            Offence code of each incident where the caller has one (the schema has none), or None.
        unmatched_value
            Weight for incidents no row matches; default :attr:`unmatched_default` (the median of
            the built-in table, 7.5 days), so that an unknown type counts as a typical volume
            crime, neither dropped nor inflated. Must be a number >= 0.

        Returns
        -------
        HarmWeights

        Raises
        ------
        ValueError
            If ``category`` or ``offence_code`` is not one value per incident, or
            ``unmatched_value`` is negative or not finite.
        """
        fill = self.unmatched_default if unmatched_value is None else float(unmatched_value)
        if not np.isfinite(fill) or fill < 0:
            raise ValueError(f"unmatched_value must be a number of days >= 0; got {unmatched_value}")
        distinct = _DistinctKeys.of(crime_type, category, offence_code)
        looked_up = _LookedUp.of(self, distinct, fill)
        count = np.bincount(distinct.inverse, minlength=len(distinct.crime_type_of))
        used = count > 0
        matched = looked_up.matched
        return HarmWeights(
            values=(looked_up.value[distinct.inverse] if distinct.n
                    else np.empty(0, dtype=np.float64)),
            approximate=bool((looked_up.approximate & used).any()),
            unmatched=_unmatched_counts(distinct, matched, count, used),
            unmatched_value=fill,
            sources=_sources_by_use(looked_up, distinct, count, used, fill),
            fallback_count=int(count[matched & looked_up.approximate].sum()),
        )

    def describe(self, *, include_fallback: bool = True) -> list[dict[str, object]]:
        """Return the table's rows for the docs and the API.

        Each row: ``code``, ``name``, ``harm_days``, ``source``, ``table`` (``"force"`` or
        ``"built-in"``) and ``approximate``. The fallback's rows follow a force table's when
        ``include_fallback``.
        """
        tables = [self]
        if include_fallback and self.fallback is not None:
            tables.append(self.fallback)
        return [
            {**row.to_dict(), "table": "built-in" if t.approximate else "force",
             "approximate": t.approximate}
            for t in tables
            for row in t.rows
        ]


# -- helpers ------------------------------------------------------------------------------------

_BUILTIN: list[HarmTable] = []


def _builtin() -> HarmTable:
    if not _BUILTIN:
        text = resources.files("geodata").joinpath(BUILTIN_FILE).read_text("utf-8")
        rows = parse_harm_csv(text, "harm_police_uk.csv", default_source=None)
        _BUILTIN.append(HarmTable(rows=rows, origin=BUILTIN_ORIGIN, approximate=True))
    return _BUILTIN[0]


@dataclass(frozen=True)
class _DistinctKeys:
    """The distinct (offence code, category, crime type) of the incidents, factorised.

    ``inverse`` gives each incident's key; ``*_of`` give each key's index into the ``*``
    distinct texts.
    """

    n: int
    inverse: np.ndarray
    crime_types: list[str]
    categories: list[str]
    offence_codes: list[str]
    crime_type_of: np.ndarray
    category_of: np.ndarray
    offence_code_of: np.ndarray

    @classmethod
    def of(cls, crime_type: Any, category: Any, offence_code: Any) -> _DistinctKeys:
        """Factorise the three columns (the last two may be None) into distinct keys."""
        type_codes, type_texts = _factorise(crime_type)
        n = type_codes.shape[0]
        category_codes, category_texts = _factorise(category, n, "category")
        offence_codes, offence_texts = _factorise(offence_code, n, "offence_code")
        n_types, n_categories = len(type_texts), len(category_texts)
        key = (offence_codes * n_categories + category_codes) * n_types + type_codes
        inverse, keys = pd.factorize(key)
        rest = keys // n_types
        return cls(n=n, inverse=inverse, crime_types=type_texts, categories=category_texts,
                   offence_codes=offence_texts, crime_type_of=keys % n_types,
                   category_of=rest % n_categories, offence_code_of=rest // n_categories)


@dataclass(frozen=True)
class _LookedUp:
    """What :meth:`HarmTable.lookup` gave each distinct key: weight, approximate, matched, and
    the index of its row's source in ``sources`` (in order of first use)."""

    value: np.ndarray
    approximate: np.ndarray
    matched: np.ndarray
    source: np.ndarray
    sources: list[str]

    @classmethod
    def of(cls, table: HarmTable, distinct: _DistinctKeys, fill: float) -> _LookedUp:
        """Look each distinct key up once; ``fill`` (approximate) where nothing matches."""
        n_keys = len(distinct.crime_type_of)
        value = np.empty(n_keys, dtype=np.float64)
        approximate = np.zeros(n_keys, dtype=bool)
        matched = np.zeros(n_keys, dtype=bool)
        source = np.zeros(n_keys, dtype=np.int64)
        sources: list[str] = []
        source_index: dict[str, int] = {}
        for u in range(n_keys):
            found = table.lookup(distinct.crime_types[distinct.crime_type_of[u]],
                                 distinct.categories[distinct.category_of[u]],
                                 distinct.offence_codes[distinct.offence_code_of[u]])
            if found is None:
                value[u] = fill
                approximate[u] = True
                continue
            row, approx = found
            value[u], approximate[u], matched[u] = row.harm_days, approx, True
            source[u] = source_index.setdefault(row.source, len(source_index))
            if source[u] == len(sources):
                sources.append(row.source)
        return cls(value=value, approximate=approximate, matched=matched, source=source,
                   sources=sources)


def _unmatched_counts(distinct: _DistinctKeys, matched: np.ndarray, count: np.ndarray,
                      used: np.ndarray) -> dict[str, int]:
    """Incidents per crime type no row matched, most first (then by name)."""
    unmatched: dict[str, int] = {}
    for k in np.flatnonzero(~matched & used):
        name = distinct.crime_types[distinct.crime_type_of[k]]
        unmatched[name] = unmatched.get(name, 0) + int(count[k])
    return dict(sorted(unmatched.items(), key=lambda kv: (-kv[1], kv[0])))


def _sources_by_use(looked_up: _LookedUp, distinct: _DistinctKeys, count: np.ndarray,
                    used: np.ndarray, fill: float) -> tuple[str, ...]:
    """The sources of the weights, the most used first; the unmatched weight last if any."""
    matched = looked_up.matched
    per_source = np.bincount(looked_up.source[matched], weights=count[matched],
                             minlength=len(looked_up.sources))
    ordered = [looked_up.sources[i] for i in np.argsort(-per_source, kind="stable")]
    if (~matched & used).any():
        ordered.append(f"unmatched crime types: {fill:g} days (the median of the built-in "
                       "table unless the caller set it), approximate")
    return tuple(ordered)


def _factorise(
    values: Any, n: int | None = None, name: str = "crime_type"
) -> tuple[np.ndarray, list[str]]:
    """Return int64 codes and the distinct values as text (blank for missing) of one column.

    ``values`` None gives one blank value for each of ``n`` incidents.
    """
    if values is None:
        return np.zeros(n or 0, dtype=np.int64), [""]
    uniques: Any
    categorical = values.array if isinstance(values, pd.Series) else values
    if isinstance(categorical, pd.Categorical):  # its codes are the codes: no hashing again
        codes = np.asarray(categorical.codes, dtype=np.int64)
        uniques = list(categorical.categories)
        if codes.size and int(codes.min()) < 0:  # missing values: one more, blank, value
            codes = np.where(codes < 0, len(uniques), codes)
            uniques.append(None)
    elif isinstance(values, (pd.Series, pd.Index)):
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
    else:
        arr = np.asarray(values, dtype=object)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be one value per incident (a 1-d array); got shape "
                             f"{arr.shape}")
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
    if n is not None and codes.shape[0] != n:
        raise ValueError(f"{name} has {codes.shape[0]} values but crime_type has {n}: give one "
                         "per incident")
    text = [u if isinstance(u, str) else "" for u in list(uniques)] or [""]
    return np.asarray(codes, dtype=np.int64), text
