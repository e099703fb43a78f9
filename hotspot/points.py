"""Points in: arrays or GeoDataFrames, checked for a projected CRS in metres; stacks collapsed."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from hotspot.errors import InvalidPoints


def check_crs(crs: Any) -> str:
    """Return ``crs`` as a string, or raise if it is missing, geographic or not in metres.

    Raises
    ------
    InvalidPoints
        A bandwidth or eps in metres means nothing in degrees: reproject first (for Great
        Britain ``gdf.to_crs("EPSG:27700")``).
    """
    if crs is None:
        raise InvalidPoints(
            "the points have no CRS; give the projected CRS they are in (metres), for example "
            "EPSG:27700"
        )
    try:
        c = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        raise InvalidPoints(f"unknown CRS {crs!r}") from exc
    if c.is_geographic or not c.is_projected:
        raise InvalidPoints(
            f"the points are in {c.to_string()}, a geographic CRS (degrees); distances here are "
            "in metres: reproject first, for example gdf.to_crs('EPSG:27700')"
        )
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if unit not in ("metre", "meter"):
        raise InvalidPoints(f"{c.to_string()} is measured in {unit}, not metres: reproject first")
    return str(c.to_string())


@functools.lru_cache(maxsize=32)
def transformer(source: Any, target: Any) -> Transformer:
    """The transformation from ``source`` to ``target`` (anything pyproj reads as a CRS), x
    then y: made once for each pair, as it takes 16-35 ms (pyproj gives each thread that uses
    it a copy of its own, made on its first use there)."""
    return Transformer.from_crs(source, target, always_xy=True)


def to_wgs84(crs: Any) -> Transformer:
    """:func:`transformer` from ``crs`` to WGS84 longitude and latitude."""
    return transformer(crs, "EPSG:4326")


def as_xy(points: Any, crs: Any = None) -> tuple[np.ndarray, str]:
    """Coordinates of points as an (n, 2) float64 array, and their CRS.

    Parameters
    ----------
    points
        An (n, 2) array of projected coordinates (then ``crs`` names their CRS), a
        GeoSeries/GeoDataFrame of points, or a DataFrame with ``x`` and ``y`` columns.
    crs
        The CRS when ``points`` does not carry one.

    Raises
    ------
    InvalidPoints
        Wrong shape, coordinates that are not finite, geometries that are not points, a
        missing or geographic CRS.
    """
    geometry = getattr(points, "geometry", None)
    if geometry is not None and hasattr(points, "crs"):
        import shapely

        geoms = np.asarray(geometry.values, dtype=object)
        kinds = shapely.get_type_id(geoms)
        if len(geoms) and not (kinds == 0).all():
            raise InvalidPoints("every geometry must be a point")
        xy = shapely.get_coordinates(geoms) if len(geoms) else np.empty((0, 2))
        crs = points.crs if points.crs is not None else crs
    elif isinstance(points, pd.DataFrame):
        if not {"x", "y"} <= set(points.columns):
            raise InvalidPoints("a DataFrame of points needs x and y columns (metres)")
        xy = np.column_stack([points["x"].to_numpy(float), points["y"].to_numpy(float)])
    else:
        xy = np.asarray(points, dtype=np.float64)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise InvalidPoints(f"points must be an (n, 2) array, not shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise InvalidPoints("some coordinates are NaN or infinite")
    return np.ascontiguousarray(xy, dtype=np.float64), check_crs(crs)


@dataclass(frozen=True)
class Stacks:
    """Points collapsed onto their distinct coordinates.

    ``xy`` are the distinct points, ``count`` how many input points sit on each, ``weight``
    their summed weights, and ``inverse`` the distinct point of each input point.
    """

    xy: np.ndarray
    count: np.ndarray
    weight: np.ndarray
    inverse: np.ndarray


def collapse(xy: np.ndarray, weights: np.ndarray | None = None) -> Stacks:
    """Collapse identical coordinates (data.police.uk puts many crimes on one map point)."""
    n = xy.shape[0]
    if n == 0:
        empty = np.empty(0)
        return Stacks(np.empty((0, 2)), empty, empty, np.empty(0, dtype=np.int64))
    # hashing, in first-seen order: each axis's values, then the pairs of their codes (a
    # third faster than hashing the pairs as complex numbers)
    column, xs = pd.factorize(xy[:, 0])
    row, ys = pd.factorize(xy[:, 1])
    inverse, key = pd.factorize(column.astype(np.int64) * ys.shape[0] + row)
    count = np.bincount(inverse, minlength=key.shape[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    weight = np.bincount(inverse, weights=w, minlength=key.shape[0])
    return Stacks(
        xy=np.column_stack([xs[key // ys.shape[0]], ys[key % ys.shape[0]]]),
        count=count.astype(np.float64),
        weight=weight,
        inverse=inverse.astype(np.int64),
    )


HULL_FROM = 1_000
"""From this many points, :func:`convex_hull` lets qhull pick the candidates first."""


def convex_hull(xy: np.ndarray) -> Any:
    """GEOS's convex hull of the points ``xy`` ((n, 2), finite; metres in a projected CRS),
    the same polygon as ``shapely.convex_hull(shapely.multipoints(xy))`` to the last bit, at
    a tenth of its time for many points (an Essex half-year's 96,207 incidents: 0.009 against
    0.14 s; 10^6: 0.10 against 0.97 s): qhull first keeps the points on or within its
    rounding of the hull (its vertices and the points it finds coplanar with an edge), and
    GEOS makes the hull of those, whose extreme points are the same. Fewer than
    :data:`HULL_FROM` points, or points all on one line, go to GEOS whole."""
    import shapely  # here: reading points (hotspot ingest) needs neither
    from scipy.spatial import ConvexHull, QhullError

    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape[0] >= HULL_FROM:
        try:
            hull = ConvexHull(xy, qhull_options="Qc")
        except QhullError:  # all on one line (or one point): no 2-D hull for qhull
            pass
        else:
            xy = xy[np.union1d(hull.vertices, hull.coplanar[:, 0])]
    return shapely.convex_hull(shapely.multipoints(xy))
