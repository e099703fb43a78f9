"""Coordinate transformations and the force-area check, vectorised over numpy arrays.

Longitude/latitude are WGS84 (EPSG:4326, x = longitude). Projected coordinates are metres in
the force CRS (default EPSG:27700). PROJ picks the most accurate transformation it has: between
WGS84 and British National Grid that is OSTN15 when the grid file
``uk_os_OSTN15_NTv2_OSGBtoETRS.tif`` is installed, otherwise a Helmert transformation that is
about 2 m off; :class:`TransformInfo` says which one was used.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup
from shapely.geometry.base import BaseGeometry

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class TransformInfo:
    """Which coordinate operation PROJ used, for reports."""

    source_crs: str
    target_crs: str
    description: str
    best_available: bool
    """False when a more accurate operation exists but its grid file is not installed."""

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready dict."""
        note = (
            "the most accurate transformation PROJ knows"
            if self.best_available
            else "a fallback: the most accurate transformation needs a grid file that is not "
            "installed (for British National Grid, OSTN15; the fallback Helmert "
            "transformation is about 2 m off)"
        )
        return {
            "from": self.source_crs,
            "to": self.target_crs,
            "operation": self.description,
            "best_available": self.best_available,
            "note": note,
        }


_local = threading.local()


def _transformer(source: str, target: str) -> tuple[Transformer, TransformInfo]:
    """Return a per-thread cached transformer (pyproj transformers are not shared across threads)."""
    cache: dict[tuple[str, str], tuple[Transformer, TransformInfo]] = _local.__dict__.setdefault(
        "cache", {}
    )
    key = (source, target)
    if key not in cache:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            group = TransformerGroup(source, target, always_xy=True)
        if not group.transformers:
            raise ValueError(f"PROJ has no usable transformation from {source} to {target}")
        tr = group.transformers[0]
        info = TransformInfo(
            source_crs=source,
            target_crs=target,
            description=tr.description,
            best_available=bool(group.best_available),
        )
        cache[key] = (tr, info)
    return cache[key]


def transform(
    x: np.ndarray, y: np.ndarray, source: str, target: str
) -> tuple[np.ndarray, np.ndarray, TransformInfo]:
    """Transform coordinate arrays from ``source`` to ``target`` CRS (both always x/y order).

    Returns float64 arrays; points PROJ cannot transform come back as inf or NaN.
    """
    tr, info = _transformer(source, target)
    if source == target:
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), info
    tx, ty = tr.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64), info


def enclosing_bounds(
    bounds: tuple[float, float, float, float], source: str, target: str
) -> tuple[float, float, float, float]:
    """A box in ``target`` that holds the whole ``source`` box (edges densified, 21 points)."""
    tr, _info = _transformer(source, target)
    if source == target:
        return bounds
    minx, miny, maxx, maxy = tr.transform_bounds(*bounds, densify_pts=21)
    return float(minx), float(miny), float(maxx), float(maxy)


@dataclass(frozen=True)
class AreaCheck:
    """Which coordinates a store accepts.

    Every point must lie in the area of use of the force CRS (for EPSG:27700: Great Britain and
    its waters). With a force boundary, a point must also lie within ``buffer_m`` metres of it.
    The buffered boundary is simplified by half the buffer, so points within ``buffer_m / 2`` of
    the boundary are always accepted and no point further than ``1.5 * buffer_m`` ever is.

    Parameters
    ----------
    crs
        The force CRS (projected, metres).
    boundary
        The force area in ``crs``, or None when the store has no force boundary.
    buffer_m
        Tolerance around the boundary in metres.
    """

    crs: str
    boundary: BaseGeometry | None = None
    buffer_m: float = 2000.0

    def __post_init__(self) -> None:
        if self.buffer_m < 0:
            raise ValueError("buffer_m must be >= 0")
        use = CRS.from_user_input(self.crs).area_of_use
        lon0, lat0, lon1, lat1 = use.bounds if use is not None else (-180.0, -90.0, 180.0, 90.0)
        object.__setattr__(self, "_lonlat_bounds", (lon0, lat0, lon1, lat1))
        if self.boundary is not None:
            area = self.boundary.buffer(self.buffer_m) if self.buffer_m > 0 else self.boundary
            if self.buffer_m > 0:
                area = area.simplify(self.buffer_m / 2)
            shapely.prepare(area)
            object.__setattr__(self, "_area", area)

    @property
    def description(self) -> str:
        """What the check does, in words (for ingest reports)."""
        lon0, lat0, lon1, lat1 = self._lonlat_bounds  # type: ignore[attr-defined]
        crs_part = (
            f"within the area of use of {self.crs} "
            f"(longitude {lon0} to {lon1}, latitude {lat0} to {lat1})"
        )
        if self.boundary is None:
            return (
                f"no force-area check was made: the store has no force boundary; "
                f"coordinates were only checked to lie {crs_part}"
            )
        return f"coordinates checked to lie within {self.buffer_m:g} m of the force boundary"

    @property
    def has_boundary(self) -> bool:
        """True when a force boundary is configured."""
        return self.boundary is not None

    def in_crs_area(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Boolean mask: the WGS84 points lie in the area of use of the force CRS."""
        lon0, lat0, lon1, lat1 = self._lonlat_bounds  # type: ignore[attr-defined]
        return (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)

    def in_force_area(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Boolean mask: the projected points lie in the buffered force area (all True without one)."""
        if self.boundary is None:
            return np.ones(x.shape, dtype=bool)
        area = self._area  # type: ignore[attr-defined]
        minx, miny, maxx, maxy = area.bounds
        inside = (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)
        idx = np.flatnonzero(inside)
        if idx.size:
            inside[idx] = shapely.contains_xy(area, x[idx], y[idx])
        return inside
