"""The density surface for the map: a PNG overlay in Web Mercator, and contour bands.

Leaflet stretches an image overlay linearly between its corners in Web Mercator, but the KDE
grid is in the force's CRS (British National Grid is turned by a degree or two against
longitude lines across a county: a kilometre at the edge of a 60 km grid). So the image is
resampled: every pixel of a Web Mercator raster over the grid's extent takes the density of the
grid cell under its centre. Where each pixel falls in the grid is transformed exactly on a
lattice of every 16th pixel and interpolated between (the transformation is smooth: the error
is a few centimetres at county scale, against pixels of tens of metres), 250 times fewer
projections.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from zlib_ng import zlib_ng

from hotspot.kde import DensityGrid
from hotspot.points import transformer
from maps.styles import density_colours

WEB_MERCATOR = "EPSG:3857"


@dataclass(frozen=True)
class DensityImage:
    """A PNG of the density, its corners ([[south, west], [north, east]], WGS84) and scale."""

    png: bytes
    bounds: list[list[float]]
    top_per_km2: float
    """The density (per km2) shown at full colour (the 99.5th percentile of non-zero cells)."""

    def to_dict(self, png_url: str | None = None) -> dict[str, object]:
        """JSON-ready description (the PNG itself is served separately)."""
        return {"bounds": self.bounds, "top_per_km2": round(self.top_per_km2, 3),
                "units": "incidents per km2", "png": png_url}


def density_image(grid: DensityGrid, *, max_pixels: int = 1024) -> DensityImage:
    """Render a density grid as a Web Mercator PNG of at most ``max_pixels`` on its long side."""
    minx, miny, maxx, maxy = grid.bounds
    to_merc = transformer(grid.crs, WEB_MERCATOR)
    from_merc = transformer(WEB_MERCATOR, grid.crs)
    west, south, east, north = to_merc.transform_bounds(minx, miny, maxx, maxy, densify_pts=21)
    rows, cols = grid.shape
    scale = min(1.0, max_pixels / max(rows, cols))
    width = max(1, round(cols * scale))
    height = max(1, round(width * (north - south) / (east - west)))
    px = west + (np.arange(width) + 0.5) * (east - west) / width
    py = north - (np.arange(height) + 0.5) * (north - south) / height
    gx, gy = _lattice_transform(from_merc, px, py)
    inside = (gx >= minx) & (gx < maxx) & (gy > miny) & (gy <= maxy)
    col = np.clip(((gx - grid.x0) / grid.cell_size_m).astype(np.int64), 0, cols - 1)
    row = np.clip(((grid.y1 - gy) / grid.cell_size_m).astype(np.int64), 0, rows - 1)
    values = np.where(inside, grid.values[row, col], 0.0).reshape(height, width)
    positive = grid.values[grid.values > 0]
    top = float(np.percentile(positive, 99.5)) if positive.size else 0.0
    png = rgba_png(density_colours(values, top))
    to_ll = transformer(WEB_MERCATOR, "EPSG:4326")
    w_lon, s_lat = to_ll.transform(west, south)
    e_lon, n_lat = to_ll.transform(east, north)
    return DensityImage(
        png=png,
        bounds=[[round(s_lat, 6), round(w_lon, 6)], [round(n_lat, 6), round(e_lon, 6)]],
        top_per_km2=top,
    )


PNG_LEVEL = 9
"""Deflate level of :func:`rgba_png`. The density image of 10^6 incidents' KDE (970 x 955
pixels): zlib-ng at 9 in 0.030 s, 154 kB; folium's writer (zlib at 9) 0.061 s, 156 kB;
zlib-ng at 6 0.010 s but 172 kB. It is made once per surface (cached) and fetched by
every page that shows it, over the field's poor signal too: the smallest."""


def rgba_png(pixels: np.ndarray) -> bytes:
    """An (h, w, 4) uint8 RGBA array, its first row the top, as a PNG (8-bit RGBA, rows
    unfiltered, one IDAT chunk deflated by zlib-ng at :data:`PNG_LEVEL`)."""
    rgba = np.ascontiguousarray(pixels, dtype=np.uint8)
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"pixels must be (height, width, 4) RGBA, not {rgba.shape}")
    height, width = rgba.shape[:2]
    rows = np.zeros((height, 1 + 4 * width), dtype=np.uint8)  # filter 0 before each row
    rows[:, 1:] = rgba.reshape(height, 4 * width)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (struct.pack("!I", len(data)) + tag + data
                + struct.pack("!I", zlib_ng.crc32(tag + data) & 0xFFFFFFFF))

    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        chunk(b"IHDR", struct.pack("!2I5B", width, height, 8, 6, 0, 0, 0)),
        chunk(b"IDAT", zlib_ng.compress(rows.tobytes(), PNG_LEVEL)),
        chunk(b"IEND", b""),
    ])


def _interpolation_matrix(n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Lattice indices (every ``step``-th of ``n``, with the last) and the (n, len(lattice))
    matrix that interpolates values on them linearly to all ``n``."""
    nodes = np.unique(np.append(np.arange(0, n, step), n - 1))
    weights = np.zeros((n, nodes.size))
    at = np.clip(np.searchsorted(nodes, np.arange(n), side="right") - 1, 0, max(nodes.size - 2, 0))
    if nodes.size == 1:
        weights[:, 0] = 1.0
        return nodes, weights
    frac = (np.arange(n) - nodes[at]) / (nodes[at + 1] - nodes[at])
    weights[np.arange(n), at] = 1 - frac
    weights[np.arange(n), at + 1] = frac
    return nodes, weights


def _lattice_transform(to_grid: Transformer, px: np.ndarray, py: np.ndarray,
                       step: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Transform the mesh of ``px`` x ``py`` (flattened, rows of ``py``), exactly on a lattice
    and linearly in between."""
    cols, wx = _interpolation_matrix(px.size, step)
    rows, wy = _interpolation_matrix(py.size, step)
    lx, ly = np.meshgrid(px[cols], py[rows])
    tx, ty = to_grid.transform(lx, ly)
    gx = wy @ np.asarray(tx) @ wx.T
    gy = wy @ np.asarray(ty) @ wx.T
    return gx.ravel(), gy.ravel()


def density_bands(grid: DensityGrid, *, bands: int = 5) -> gpd.GeoDataFrame:
    """Filled contour bands of the density, in the grid's CRS: the cells between successive
    levels, merged. Levels are quantiles of the non-zero densities (so each band is visible);
    each band has ``lower`` and ``upper`` in incidents per km2."""
    if bands < 1 or bands > 20:
        raise ValueError("bands must be from 1 to 20")
    values = grid.values
    positive = values[values > 0]
    if positive.size == 0:
        return gpd.GeoDataFrame({"band": [], "lower": [], "upper": []},
                                geometry=gpd.GeoSeries([], crs=grid.crs), crs=grid.crs)
    # the top half of the non-zero cells in bands of equal share, the highest band open-ended
    levels = np.asarray(np.unique(np.quantile(positive, np.linspace(0.5, 1.0, bands + 1)[:-1])),
                        dtype=np.float64)
    uppers = [*levels[1:].tolist(), float(positive.max())]
    rows_, cols_ = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    c = grid.cell_size_m
    shapes, lowers, highs = [], [], []
    for low, high in zip(levels.tolist(), uppers, strict=True):
        last = high == uppers[-1]
        mask = (values >= low) & ((values <= high) if last else (values < high))
        if not mask.any():
            continue
        x0 = grid.x0 + cols_[mask] * c
        y1 = grid.y1 - rows_[mask] * c
        merged = shapely.coverage_union_all(shapely.box(x0, y1 - c, x0 + c, y1))
        shapes.append(shapely.simplify(merged, c / 2))
        lowers.append(round(low, 4))
        highs.append(round(high, 4))
    return gpd.GeoDataFrame(
        {"band": np.arange(len(shapes)) + 1, "lower": lowers, "upper": highs},
        geometry=gpd.GeoSeries(shapes, crs=grid.crs), crs=grid.crs,
    )
