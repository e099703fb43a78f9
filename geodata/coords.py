"""Coordinate transformations and the force-area check, vectorised over numpy arrays.

Longitude/latitude are WGS84 (EPSG:4326, x = longitude). Projected coordinates are metres in
the force CRS (default EPSG:27700). PROJ picks the most accurate transformation it has: between
WGS84 and British National Grid that is OSTN15 when the grid file
``uk_os_OSTN15_NTv2_OSGBtoETRS.tif`` is installed, otherwise a Helmert transformation that is
about 2 m off; :class:`TransformInfo` says which one was used.
"""

from __future__ import annotations

import functools
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
        transformer = group.transformers[0]
        info = TransformInfo(
            source_crs=source,
            target_crs=target,
            description=transformer.description,
            best_available=bool(group.best_available),
        )
        cache[key] = (transformer, info)
    return cache[key]


def transform(
    x: np.ndarray, y: np.ndarray, source: str, target: str
) -> tuple[np.ndarray, np.ndarray, TransformInfo]:
    """Transform coordinate arrays from ``source`` to ``target`` CRS (both always x/y order).

    Returns float64 arrays; points PROJ cannot transform come back as inf or NaN.
    """
    transformer, info = _transformer(source, target)
    if source == target:
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), info
    tx, ty = transformer.transform(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return np.asarray(tx, dtype=np.float64), np.asarray(ty, dtype=np.float64), info


def enclosing_bounds(
    bounds: tuple[float, float, float, float], source: str, target: str
) -> tuple[float, float, float, float]:
    """A box in ``target`` that holds the whole ``source`` box (edges densified, 21 points)."""
    transformer, _info = _transformer(source, target)
    if source == target:
        return bounds
    minx, miny, maxx, maxy = transformer.transform_bounds(*bounds, densify_pts=21)
    return float(minx), float(miny), float(maxx), float(maxy)


@functools.cache
def area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    """The WGS84 bounds ``(west, south, east, north)`` of a CRS's area of use, or None when
    PROJ gives none."""
    use = CRS.from_user_input(crs).area_of_use
    return None if use is None else tuple(float(v) for v in use.bounds)  # type: ignore[return-value]


def lonlat_bounds_in(
    bounds: tuple[float, float, float, float], crs: str
) -> tuple[float, float, float, float] | None:
    """A box in ``crs`` (metres) holding every point of a WGS84 box that lies in the area of
    use of ``crs``, or None when the box and that area do not meet.

    Stored incidents all lie in that area (the readers reject the others as
    ``outside_crs_area``), so the box selects every incident the WGS84 box holds, to be narrowed
    by the exact longitude/latitude test. The WGS84 box is clipped to the area first: PROJ's
    bounds of a box reaching far beyond it come out wrong (a whole-world box in British National
    Grid gave a strip 220 km wide, missing most of Great Britain), as Transverse Mercator
    diverges far from its meridian. The edges are densified (101 points) and the box widened
    by 1% and 10 m, since projected edges curve between those points.

    Parameters
    ----------
    bounds
        ``(min lon, min lat, max lon, max lat)``, degrees.
    crs
        The projected CRS.
    """
    w, s, e, n = bounds
    use = area_of_use(crs)
    if use is not None:
        lon0, lat0, lon1, lat1 = use
        s, n = max(s, lat0), min(n, lat1)
        if lon0 <= lon1:  # (an area of use across the antimeridian is not clipped in longitude)
            w, e = max(w, lon0), min(e, lon1)
        if w > e or s > n:
            return None
    transformer, _info = _transformer(WGS84, crs)
    box = np.array(transformer.transform_bounds(w, s, e, n, densify_pts=101), dtype=np.float64)
    if not np.isfinite(box).all():
        return (-1e12, -1e12, 1e12, 1e12)  # no projected narrowing: the exact test decides
    pad = 0.01 * float(max(box[2] - box[0], box[3] - box[1])) + 10.0
    return (float(box[0] - pad), float(box[1] - pad), float(box[2] + pad), float(box[3] + pad))


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
        lon0, lat0, lon1, lat1 = area_of_use(self.crs) or (-180.0, -90.0, 180.0, 90.0)
        object.__setattr__(self, "_lonlat_bounds", (lon0, lat0, lon1, lat1))
        if self.boundary is not None:
            area = self.boundary.buffer(self.buffer_m) if self.buffer_m > 0 else self.boundary
            if self.buffer_m > 0:
                area = area.simplify(self.buffer_m / 2)
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
            # a prepared copy for this call: GEOS prepared geometries are not thread-safe
            # (their indexes are built on first use), and preparing the area itself would
            # change an object other threads (and, unbuffered, the caller) hold
            mine = shapely.from_wkb(shapely.to_wkb(area))
            shapely.prepare(mine)
            inside[idx] = shapely.contains_xy(mine, x[idx], y[idx])
        return inside
