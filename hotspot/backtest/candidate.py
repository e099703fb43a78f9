"""What a backtest candidate is (a name and a ``fit`` giving ranked places), and the fairness
rule every candidate's places obey: patrol places 50 to 250 m across.

Coordinates are metres in a projected CRS; areas m2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from hotspot import coverage as cov
from hotspot.errors import InvalidParameter

MIN_PLACE_M = 50.0
"""Narrowest place allowed (bounding-box side, metres)."""
MAX_PLACE_M = 250.0
"""Widest place allowed (bounding-box side, metres)."""
MAX_PLACES = 25_000
"""Most places a candidate ranks (enough for 1 % of a 3,700 km2 county in 50 m squares)."""

FitFunction = Callable[[pd.DataFrame, str, BaseGeometry | None], gpd.GeoDataFrame]
"""``fit(train, crs, boundary) -> ranked places`` (see :mod:`hotspot.backtest`)."""


@dataclass(frozen=True)
class Candidate:
    """A named, parameterised method: ``fit(train, crs, boundary)`` gives ranked places.

    ``family`` is ``naive``, ``kde``, ``dbscan``, ``gistar``, ``forecast`` (or the caller's
    own); ``params`` are the parameters (for reports and for fitting the chosen one again).
    """

    name: str
    family: str
    fit: FitFunction
    params: Mapping[str, Any] = field(default_factory=dict)


def ranked_places(geoms: np.ndarray, score: np.ndarray, crs: str) -> gpd.GeoDataFrame:
    """Places as a candidate returns them: ``score`` and ``geometry``, best first."""
    return gpd.GeoDataFrame({"score": np.asarray(score, dtype=np.float64)},
                            geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def ranked_cells(col: np.ndarray, row: np.ndarray, score: np.ndarray, cell_size_m: float,
                 crs: str, max_places: int) -> gpd.GeoDataFrame:
    """Cells ranked by score (highest first), ties west to east then south to north."""
    order = np.lexsort((row, col, -score))[:max_places]
    return ranked_places(cov.cell_boxes(col[order], row[order], cell_size_m), score[order],
                         crs)


def train_xy(train: pd.DataFrame) -> np.ndarray:
    """The (n, 2) coordinates (metres) of the fitting incidents."""
    return np.column_stack([train["x"].to_numpy(np.float64), train["y"].to_numpy(np.float64)])


def train_weights(train: pd.DataFrame) -> np.ndarray:
    """The ``weight`` (harm) of the fitting incidents, 1 each without that column."""
    if "weight" in train:
        return train["weight"].to_numpy(np.float64)
    return np.ones(len(train))


def check_cell_size(cell_size_m: float) -> None:
    """Raise :class:`InvalidParameter` unless the cell is a patrol place (50-250 m)."""
    if not np.isfinite(cell_size_m) or not MIN_PLACE_M <= cell_size_m <= MAX_PLACE_M:
        raise InvalidParameter(
            f"cell_size_m must be from {MIN_PLACE_M:g} to {MAX_PLACE_M:g} m (a patrol place), "
            f"not {cell_size_m}", parameter="cell_size_m")


def at_least(geoms: np.ndarray, width_m: float) -> np.ndarray:
    """Places narrower than ``width_m`` grown to it: unioned with the square of that side
    centred on their bounding box (a place on one map point is a 50 m square, not a dot)."""
    b = shapely.bounds(geoms)
    narrow = ((b[:, 2] - b[:, 0]) < width_m) | ((b[:, 3] - b[:, 1]) < width_m)
    if narrow.any():
        cx = (b[narrow, 0] + b[narrow, 2]) / 2
        cy = (b[narrow, 1] + b[narrow, 3]) / 2
        h = width_m / 2
        squares = shapely.box(cx - h, cy - h, cx + h, cy + h)
        geoms = geoms.copy()
        geoms[narrow] = shapely.union(geoms[narrow], squares)
    return geoms


def check_places(places: gpd.GeoDataFrame, name: str, *, min_m: float = MIN_PLACE_M,
                 max_m: float = MAX_PLACE_M) -> None:
    """Raise :class:`InvalidParameter` when a place breaks the fairness rule (bounding-box
    sides from ``min_m`` to ``max_m`` metres; 1 cm tolerance)."""
    if len(places) == 0:
        return
    b = shapely.bounds(np.asarray(places.geometry.values, dtype=object))
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    small = np.minimum(w, h) < min_m - 0.01
    big = np.maximum(w, h) > max_m + 0.01
    if small.any() or big.any():
        raise InvalidParameter(
            f"candidate {name!r} drew {int(small.sum())} places narrower than {min_m:g} m and "
            f"{int(big.sum())} wider than {max_m:g} m: every place must be a patrol area from "
            f"{min_m:g} to {max_m:g} m across", parameter="candidates")
