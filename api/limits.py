"""Bounds that keep one analysis's work bounded: parameter floors and ceilings, and the work
budget an analysis is measured against before its costly part runs.

The costs, measured on the demo (50,000 incidents) and on six real months of Essex (96,207
incidents; docs/benchmarks.md):

- **Hotspots.** Drawing, describing, classifying, ranking and serialising hotspots costs about
  a millisecond each, plus 1.5-2 KB of GeoJSON each: 49,693 hotspots (``eps_m=1e-9``,
  ``min_samples=1`` on the demo: every incident its own hotspot) took 46 s and 60 MB. Normal
  analyses make tens to a few thousand (Essex, DBSCAN defaults: 699; ``eps_m=150``,
  ``min_samples=3``: 3,163). Counting them is cheap (the clustering, or the labelling of the
  density grid), so they are counted first and the analysis is refused past
  ``HOTSPOT_MAX_HOTSPOTS`` before any polygon is drawn.
- **Density grid cells.** A KDE grid costs its cells (8 bytes each, several copies while it is
  smoothed): 13.8 million cells peaked at 530 MB. Its size is known from the extent and the
  cell size before anything is computed (``HOTSPOT_MAX_GRID_CELLS``).
- **Hotspot cells.** KDE hotspot polygons are the union of their cells: a threshold that keeps
  every cell (``percentile=0``) made one area of 13 million cells, 11 s and 1.4 GB; normal
  thresholds keep 5,000-90,000 (``HOTSPOT_MAX_HOTSPOT_CELLS``).
- **Floors.** data.police.uk positions are snapped to about 750,000 map points (street centres,
  public places), so below a few metres a DBSCAN radius or a KDE cell finds single map
  points, not areas; the floors below are where hotspots stop meaning anything for a patrol,
  well under what analysts use (DBSCAN 50-500 m, KDE bandwidths 50-300 m, cells 10-50 m).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.service_errors import InvalidInput, as_invalid_input
from hotspot import WorkLimitExceeded
from hotspot.params import every_parameter


@dataclass(frozen=True)
class Bound:
    """The range a method parameter may take, in its unit, with the reason for the floor."""

    floor: float
    ceiling: float
    unit: str
    why: str

    def describe(self) -> str:
        """The range as the parameter descriptions give it."""
        return f"{self.floor:g} to {self.ceiling:,g} {self.unit}: {self.why}"


BOUNDS: dict[str, Bound] = {
    p.name: Bound(float(p.minimum), float(p.maximum), p.unit, p.why)
    for p in every_parameter().values()
    if p.unit == "m" and p.minimum is not None and p.maximum is not None
}
"""Floors and ceilings of the method parameters in metres (from :mod:`hotspot.params`, the one
definition the API, the CLI and the library share)."""


def check_bounds(params: dict[str, Any]) -> None:
    """Refuse a method parameter outside its range in :mod:`hotspot.params`.

    Raises
    ------
    InvalidInput
        Naming the parameter, its range and why.
    """
    known = every_parameter()
    for name, value in params.items():
        if value is None or name not in known:
            continue
        with as_invalid_input(name):
            known[name].parse(value)


@dataclass(frozen=True)
class WorkLimits:
    """The work budget of one analysis (``HOTSPOT_MAX_*`` settings)."""

    max_hotspots: int | None = 5_000
    max_grid_cells: int | None = 16_000_000
    max_hotspot_cells: int | None = 1_000_000

    @classmethod
    def from_settings(cls, settings: Any) -> WorkLimits:
        """The limits the settings give."""
        return cls(max_hotspots=settings.max_hotspots, max_grid_cells=settings.max_grid_cells,
                   max_hotspot_cells=settings.max_hotspot_cells)

    def analyse_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`hotspot.analyse`."""
        return {"max_hotspots": self.max_hotspots, "max_grid_cells": self.max_grid_cells,
                "max_hotspot_cells": self.max_hotspot_cells}

    @staticmethod
    def refusal(exc: WorkLimitExceeded) -> InvalidInput:
        """The 422 of an analysis over its budget: the parameter to change, the reason, and
        the setting that holds the limit."""
        setting = SETTING_OF.get(exc.kind, "")
        return InvalidInput(f"{exc} (limit: {setting})" if setting else str(exc),
                            exc.field or "method")


SETTING_OF = {
    "hotspots": "HOTSPOT_MAX_HOTSPOTS",
    "grid_cells": "HOTSPOT_MAX_GRID_CELLS",
    "hotspot_cells": "HOTSPOT_MAX_HOTSPOT_CELLS",
}
"""The setting that holds each kind of limit (named in refusals)."""
