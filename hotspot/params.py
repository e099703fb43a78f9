"""Every hotspot method's parameters, declared once: name, type, unit, bounds, default, help.

The library (:func:`hotspot.analyse`), the HTTP API (query parameters and their OpenAPI
schema) and the CLI (``hotspot analyse`` options and ``--help``) are all built from
:data:`METHODS` and :data:`COMMON`, so the three take the same names, apply the same bounds
and defaults, and give the same hotspots for the same request.

Defaults are chosen for deployment, at street scale: a KDE bandwidth of 150 m (a place an
officer walks in a few minutes), DBSCAN within 150 m, Gi* on 100 m cells, and places no wider
than 250 m (:mod:`hotspot.places`). The county-scale rule of thumb stays available by name:
``bandwidth_m=silverman`` (the spatial Silverman rule of :func:`hotspot.kde.rule_of_thumb_bandwidth`,
kilometres on a county: the pattern of a whole area, not a patrol).

Floors and ceilings bound the work one request can cause and stop parameters that mean
nothing for a patrol (data.police.uk snaps positions to map points, so below a few metres a
radius or cell finds single map points, not areas).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hotspot.errors import InvalidParameter

FLOAT, INT, CHOICE, BOOL, AUTO_NUMBER, NUMBER_OR_NAME = (
    "float", "int", "choice", "bool", "number or auto", "number or name")


@dataclass(frozen=True)
class Parameter:
    """One method parameter.

    ``kind`` is one of ``float``, ``int``, ``choice``, ``bool``, ``number or auto`` (a positive
    number, or the word ``auto``) and ``number or name`` (a number, or one of ``names``).
    Bounds are inclusive unless ``open_minimum``/``open_maximum``; ``why`` says why the floor is
    where it is. ``default`` None means "worked out from the data" (``default_text`` says how).
    """

    name: str
    kind: str
    help: str
    default: Any = None
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    open_minimum: bool = False
    open_maximum: bool = False
    choices: tuple[Any, ...] = ()
    names: tuple[str, ...] = ()
    why: str = ""
    default_text: str = ""

    def range_text(self) -> str:
        """The allowed values in words ("from 5 to 50,000 m", "gaussian or quartic")."""
        if self.kind == CHOICE:
            return " or ".join(str(c) for c in self.choices)
        if self.kind == BOOL:
            return "true or false"
        lo = "" if self.minimum is None else (
            f"over {_number(self.minimum)}" if self.open_minimum
            else f"from {_number(self.minimum)}")
        hi = "" if self.maximum is None else (
            f"under {_number(self.maximum)}" if self.open_maximum
            else f"to {_number(self.maximum)}")
        text = " ".join(p for p in (lo, hi) if p) + (f" {self.unit}" if self.unit else "")
        extra = {AUTO_NUMBER: "auto", NUMBER_OR_NAME: " or ".join(self.names)}.get(self.kind)
        return f"{text.strip()}, or {extra}" if extra else text.strip()

    def default_words(self) -> str:
        """The default in words."""
        if self.default_text:
            return self.default_text
        if self.default is None:
            return "none"
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)

    def describe(self) -> str:
        """Help text for the API and the CLI: what it is, its unit, range and default."""
        why = f" ({self.why})" if self.why else ""
        return f"{self.help} Default {self.default_words()}; {self.range_text()}{why}."

    def parse(self, value: Any) -> Any:
        """``value`` (a number, a word, or text from a query string or the command line) as
        this parameter's type, checked against its bounds.

        Raises
        ------
        InvalidParameter
            Naming the parameter, what it must be, and the value given.
        """
        if value is None:
            return None
        text = str(value).strip()
        if self.kind == CHOICE:
            for choice in self.choices:
                if text.lower() == str(choice).lower():
                    return choice
            raise self._error(value)
        if self.kind == BOOL:
            if isinstance(value, bool):
                return value
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise self._error(value)
        if self.kind == AUTO_NUMBER and text.lower() == "auto":
            return "auto"
        if self.kind == NUMBER_OR_NAME and text.lower() in self.names:
            return text.lower()
        if isinstance(value, bool):
            raise self._error(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._error(value) from None
        if not math.isfinite(number):
            raise self._error(value)
        if self.kind == INT:
            if number != int(number):
                raise self._error(value)
            number = int(number)
        if self.kind == AUTO_NUMBER and number <= 0:
            raise self._error(value)
        lo, hi = self.minimum, self.maximum
        if lo is not None and (number < lo or (self.open_minimum and number == lo)):
            raise self._error(value)
        if hi is not None and (number > hi or (self.open_maximum and number == hi)):
            raise self._error(value)
        return number

    def _error(self, value: Any) -> InvalidParameter:
        shown = str(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        why = f" ({self.why})" if self.why else ""
        return InvalidParameter(
            f"{self.name} must be {self.range_text()}{why}, not {shown!r}", self.name)


def _number(value: float) -> str:
    """A bound in words: 1,000,000 rather than 1e+06; 1e-06 stays."""
    return f"{value:,.0f}" if value >= 1000 and value == int(value) else f"{value:g}"


_NOT_A_PATROL = ("data.police.uk positions are snapped to map points: below it a hotspot is one "
                 "map point, not a place")

METHODS: dict[str, tuple[Parameter, ...]] = {
    "kde": (
        Parameter("bandwidth_m", NUMBER_OR_NAME, "KDE bandwidth (kernel radius scale), metres, "
                  "or silverman for the county-scale rule of thumb.", 150.0, "m", 10.0,
                  10_000.0, names=("silverman",), why="street-level hotspots want 50-300 m"),
        Parameter("cell_size_m", FLOAT, "Grid cell, metres.", None, "m", 5.0, 2_000.0,
                  why="at most the bandwidth", default_text="a fifth of the bandwidth"),
        Parameter("kernel", CHOICE, "KDE kernel.", "gaussian", choices=("gaussian", "quartic")),
        Parameter("threshold", CHOICE, "How hot cells are chosen: the smallest area holding "
                  "share of the incidents, or cells above a percentile of the densities.",
                  "share", choices=("share", "percentile")),
        Parameter("share", FLOAT, "KDE threshold share: the hottest cells holding this share "
                  "of the incidents.", 0.5, "", 0.0, 1.0, open_minimum=True),
        Parameter("percentile", FLOAT, "KDE threshold percentile of the non-zero densities.",
                  99.0, "", 0.0, 100.0, open_maximum=True),
        Parameter("min_incidents", INT, "Smallest hotspot area kept, incidents.", 5, "", 1,
                  1_000_000),
    ),
    "dbscan": (
        Parameter("eps_m", FLOAT, "DBSCAN radius, metres.", 150.0, "m", 5.0, 50_000.0,
                  why=_NOT_A_PATROL),
        Parameter("min_samples", AUTO_NUMBER, "DBSCAN core threshold (incidents within eps_m), "
                  "or auto to follow the local background.", "auto", "", 0.0, 1_000_000.0,
                  open_minimum=True),
        Parameter("buffer_m", FLOAT, "Buffer round a cluster's incidents for its polygon, "
                  "metres.", None, "m", 0.0, 2_000.0, why="a wider polygon is not a patrol "
                  "area", default_text="half of eps_m"),
        Parameter("background_m", FLOAT, "DBSCAN auto: side of the background square, metres.",
                  2000.0, "m", 10.0, 100_000.0, why="at least twice eps_m"),
        Parameter("alpha", FLOAT, "DBSCAN auto: chance that background alone makes a core "
                  "incident.", 0.05, "", 1e-6, 1.0, open_maximum=True),
        Parameter("min_samples_floor", INT, "DBSCAN auto: the lowest core threshold.", 5, "",
                  1, 1_000_000),
        Parameter("engine", CHOICE, "Where DBSCAN runs: numpy (the faster) or postgis "
                  "(ST_ClusterDBSCAN in the PostGIS store; whole-number min_samples).",
                  "numpy", choices=("numpy", "postgis")),
    ),
    "gistar": (
        Parameter("cell_size_m", FLOAT, "Gi* grid cell, metres.", 100.0, "m", 5.0, 2_000.0,
                  why=_NOT_A_PATROL),
        Parameter("distance_m", FLOAT, "Gi* neighbourhood: cells whose centres are within this "
                  "distance, metres.", None, "m", 5.0, 20_000.0,
                  default_text="1.5 cells (each cell and its 8 neighbours)"),
        Parameter("k", INT, "Gi* neighbourhood: the k nearest cells instead of a distance band.",
                  None, "", 1, 100, why="each cell's neighbours are listed: more "
                  "costs seconds per request"),
        Parameter("fdr", BOOL, "Correct for many tests (Benjamini-Hochberg false discovery "
                  "rate), as Esri's Optimized Hot Spot Analysis does.", True),
        Parameter("confidence", CHOICE, "Gi* confidence a hot cell needs, per cent.", 95,
                  choices=(90, 95, 99)),
        Parameter("p_values", CHOICE, "Gi* p-values: normal (Esri's and PySAL's; too many "
                  "false hot cells where cells hold well under one incident each: "
                  "docs/hotspots.md), poisson (an exact test of counts) or empirical (the "
                  "grid's own counts as the null).", "normal",
                  choices=("normal", "poisson", "empirical")),
        Parameter("min_incidents", INT, "Smallest hotspot kept, incidents.", 5, "", 1,
                  1_000_000),
    ),
}
"""The parameters of each method, in the order help lists them."""

COMMON: tuple[Parameter, ...] = (
    Parameter("max_place_m", FLOAT, "Widest place, metres: larger hotspot areas are split into "
              "places of at most this width at their density peaks (an officer covers one "
              "place in one visit).", 250.0, "m", 50.0, 5_000.0,
              why="a narrower place is one map point"),
    Parameter("area_share", FLOAT, "Area budget: the ranked places whose union covers at most "
              "this share of the force area (0.005 = 0.5 %).", None, "", 0.0, 1.0,
              open_minimum=True, default_text="no budget: every place"),
    Parameter("area_km2", FLOAT, "Area budget in km2 instead of a share.", None, "km2", 0.0,
              100_000.0, open_minimum=True, default_text="no budget: every place"),
    Parameter("weight", CHOICE, "What the method counts and ranks by: incidents, or their "
              "harm (days of custody: docs/harm.md).", "count", choices=("count", "harm")),
)
"""Parameters every method takes: place size, the area budget, and count or harm."""

AUTO = "auto"
"""``method=auto``: the candidate that did best in the backtest over the months in the store."""

ALL_METHODS = (*METHODS, AUTO)


def parameters_of(method: str) -> tuple[Parameter, ...]:
    """The parameters ``method`` takes (its own, then :data:`COMMON`).

    Raises
    ------
    InvalidParameter
        An unknown method (naming ``method``).
    """
    if method == AUTO:
        return COMMON
    if method not in METHODS:
        raise InvalidParameter(
            f"method must be one of {', '.join(ALL_METHODS)}, not {str(method)[:40]!r}",
            "method")
    return METHODS[method] + COMMON


def every_parameter() -> dict[str, Parameter]:
    """Every parameter name of any method, with the first declaration of each name (the API
    and the CLI take each name once; a name shared by methods has the same type and bounds)."""
    out: dict[str, Parameter] = {}
    for p in (*(p for params in METHODS.values() for p in params), *COMMON):
        out.setdefault(p.name, p)
    return out


def methods_taking(name: str) -> tuple[str, ...]:
    """The methods that have a parameter called ``name``."""
    return tuple(m for m, params in METHODS.items() if any(p.name == name for p in params))


DEFAULT_METHOD = "dbscan"
"""The method when a request names none (the API's and the CLI's default)."""


def help_text(name: str, *, every_method: str = "every method: ") -> str:
    """What a parameter means, for a query parameter's or a command-line option's help: each
    method's own description of it (``cell_size_m`` is KDE's and Gi*'s, with different
    defaults), or ``every_method`` and its description for a parameter every method takes."""
    methods = methods_taking(name)
    if not methods:
        return every_method + every_parameter()[name].describe()
    return " ".join(f"{m}: {q.describe()}" for m in methods for q in METHODS[m] if q.name == name)


def validate(method: str, given: Mapping[str, Any], *, defaults: bool = True) -> dict[str, Any]:
    """The parameters of ``method``: ``given`` (None values ignored) parsed and checked, with
    the defaults filled in when ``defaults``.

    Raises
    ------
    InvalidParameter
        An unknown method, a parameter of another method or of none, or a value out of range;
        ``parameter`` names it.
    """
    own = {p.name: p for p in parameters_of(method)}
    out: dict[str, Any] = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in own:
            others = methods_taking(name)
            where = (f"a parameter of {' and '.join(others)}, not of {method}" if others
                     else f"not a parameter; {method} takes {', '.join(own)}")
            raise InvalidParameter(f"{name} is {where}", name)
        out[name] = own[name].parse(value)
    if "area_share" in out and "area_km2" in out:
        raise InvalidParameter("give area_share or area_km2, not both", "area_km2")
    if defaults:
        for name, p in own.items():
            out.setdefault(name, p.default)
    return out
