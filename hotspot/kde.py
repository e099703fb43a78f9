"""Kernel density of incidents on a grid, and hotspot areas cut from it.

Binned KDE: each incident's weight is shared among the four grid nodes around it (linear
binning), then the grid is convolved with the kernel: a separable filter for the Gaussian
(``scipy.ndimage.gaussian_filter``, truncated at 4 bandwidths), an FFT convolution for the
quartic (an FFT convolution), whose kernel is not separable. Cost grows with the grid,
not with incidents x cells.

- **Units.** Densities are incidents (or weight) per square kilometre.
- **Bandwidth.** ``bandwidth_m`` is the Gaussian's standard deviation, or the quartic's radius.
  Without one, the rule of thumb is the spatial variant of Silverman's rule that Esri documents
  for ArcGIS Kernel Density, robust to outliers:
  ``0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n ** -0.2``, with SD the standard distance of the
  incidents from their mean centre and Dm the median of those distances (metres). It suits a
  whole area's pattern; street-level hotspots want 100-300 m.
- **Cell size.** Default a fifth of the bandwidth, never below 5 m; a grid of more than
  ``max_cells`` cells is refused (choose a larger cell size or a smaller area).
- **Edges.** The grid extends 4 bandwidths (Gaussian) or 1 (quartic) beyond the incidents, so
  no kernel mass is cut off at the grid's edge. There is no correction at the force boundary:
  just inside it densities are lower because nothing beyond it is recorded.
- **Hotspot areas** are contiguous cells (8-connected) above a threshold: a percentile of the
  non-zero densities, or the density at which the densest cells hold a given share of the
  kernel mass ("the smallest area holding P% of the incidents").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from scipy.ndimage import gaussian_filter, label

from hotspot._native import loaded_native_steps
from hotspot._numeric import fftconvolve, weighted_centre, xy_bounds
from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.points import as_xy

KERNELS = ("gaussian", "quartic")
MAX_CELLS = 16_000_000
"""Largest grid allowed by default (4,000 x 4,000 cells; 128 MB of float64)."""
_REACH = {"gaussian": 4.0, "quartic": 1.0}
_NATIVE_FROM = 200_000
"""Incidents from which the points are binned in one compiled pass
(:func:`hotspot._gridnative.linear_binning`, four times faster than the numpy passes) when
the compiled steps are loaded in this process already (a service loads them at its start
with :func:`hotspot._griddbscan.warm_up_compiled`): what it saves, about 0.1 s a million
incidents, is less than numba's start-up, so a KDE never pays that itself."""


def rule_of_thumb_bandwidth(xy: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The spatial Silverman rule (Esri, ArcGIS Kernel Density) for a bandwidth in metres."""
    n = xy.shape[0]
    w = np.ones(n) if weights is None else weights
    total = float(w.sum())
    if n < 2 or total <= 0:
        raise InvalidParameter("a bandwidth cannot be chosen from fewer than two incidents")
    cx, cy = weighted_centre(xy, w)
    d = np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)
    sd = float(np.sqrt((w * d * d).sum() / total))
    dm = float(np.median(d))
    h = 0.9 * min(sd, np.sqrt(1 / np.log(2)) * dm) * total**-0.2
    if h <= 0:
        raise InvalidParameter(
            "the incidents all sit on one point: give bandwidth_m (metres)"
        )
    return float(h)


@dataclass(frozen=True)
class DensityGrid:
    """A density surface: ``values[row, col]``, row 0 at the north edge.

    ``values`` are incidents (or weight) per km2 at cell centres; ``x0`` and ``y1`` are the west
    and north edges (metres in ``crs``). :attr:`transform` is the GDAL/rasterio affine.
    """

    values: np.ndarray
    x0: float
    y1: float
    cell_size_m: float
    crs: str
    bandwidth_m: float
    kernel: str
    total_weight: float

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self.values.shape[0]), int(self.values.shape[1]))

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """Affine (a, b, c, d, e, f): x = c + a * col, y = f + e * row (cell corners)."""
        c = self.cell_size_m
        return (c, 0.0, self.x0, 0.0, -c, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the grid in metres."""
        rows, cols = self.shape
        c = self.cell_size_m
        return (self.x0, self.y1 - rows * c, self.x0 + cols * c, self.y1)

    @property
    def peak(self) -> float:
        """Highest density (per km2)."""
        return float(self.values.max()) if self.values.size else 0.0

    def cell_of(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the cell holding each point (clipped to the grid)."""
        rows, cols = self.shape
        col = np.clip(((xy[:, 0] - self.x0) / self.cell_size_m).astype(np.int64), 0, cols - 1)
        row = np.clip(((self.y1 - xy[:, 1]) / self.cell_size_m).astype(np.int64), 0, rows - 1)
        return row, col


def kde_grid(
    points: Any,
    *,
    crs: Any = None,
    weights: np.ndarray | None = None,
    bandwidth_m: float | None = None,
    cell_size_m: float | None = None,
    kernel: str = "gaussian",
    bounds: tuple[float, float, float, float] | None = None,
    max_cells: int = MAX_CELLS,
) -> DensityGrid:
    """Binned kernel density of points on a grid, in incidents per km2.

    Parameters
    ----------
    points
        (n, 2) projected coordinates (then ``crs``), or a GeoDataFrame of points.
    weights
        Weight of each incident (harm); 1 each by default.
    bandwidth_m
        Gaussian standard deviation or quartic radius, metres; the rule of thumb when None.
    cell_size_m
        Grid cell side, metres; a fifth of the bandwidth (at least 5 m) when None, coarsened
        up to half the bandwidth when that grid would exceed ``max_cells``.
    kernel
        ``"gaussian"`` or ``"quartic"``.
    bounds
        (minx, miny, maxx, maxy) to cover, metres; the incidents' extent plus the kernel's reach
        when None.
    max_cells
        Refuse grids larger than this.

    Raises
    ------
    InvalidParameter
        No incidents, a bandwidth or cell size that is not positive, a bandwidth larger than
        the area, a grid over ``max_cells``.
    """
    xy, crs_ = as_xy(points, crs)
    n = xy.shape[0]
    if kernel not in KERNELS:
        raise InvalidParameter(f"kernel must be one of {', '.join(KERNELS)}, not {kernel!r}")
    if n == 0:
        raise InvalidParameter("there are no incidents in the selection")
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise InvalidParameter("weights must be one finite number >= 0 per incident")
    bandwidth_m, cell_size_m, auto_cell = _bandwidth_and_cell(xy, w, bandwidth_m, cell_size_m)
    minx, miny, maxx, maxy = _extent(xy, bandwidth_m, kernel, bounds)
    cell_size_m, rows, cols = _grid_shape((minx, miny, maxx, maxy), cell_size_m, bandwidth_m,
                                          auto_cell, max_cells)
    x0, y1 = float(minx), float(miny) + rows * cell_size_m
    # a grid is 8 bytes a cell: the binned grid is not kept beside the smoothed one
    density = _smooth(_bin(xy, w, x0, y1, cell_size_m, rows, cols),
                      bandwidth_m / cell_size_m, kernel)
    density *= 1e6 / (cell_size_m * cell_size_m)
    return DensityGrid(
        values=density, x0=x0, y1=y1, cell_size_m=float(cell_size_m), crs=crs_,
        bandwidth_m=float(bandwidth_m), kernel=kernel, total_weight=float(w.sum()),
    )


def _bandwidth_and_cell(xy: np.ndarray, w: np.ndarray, bandwidth_m: float | None,
                        cell_size_m: float | None) -> tuple[float, float, bool]:
    """The bandwidth (the rule of thumb when None) and cell size (a fifth of the bandwidth, at
    least 5 m, when None), metres, checked; and whether the cell size was chosen here."""
    if bandwidth_m is None:
        if xy.shape[0] < 2:
            raise InvalidParameter("a single incident: give bandwidth_m (metres)")
        bandwidth_m = rule_of_thumb_bandwidth(xy, w)
    if not np.isfinite(bandwidth_m) or bandwidth_m <= 0:
        raise InvalidParameter(f"bandwidth_m must be a positive number of metres, not {bandwidth_m}")
    auto_cell = cell_size_m is None
    if cell_size_m is None:
        cell_size_m = max(5.0, bandwidth_m / 5)
    if not np.isfinite(cell_size_m) or cell_size_m < 0.01:
        raise InvalidParameter(f"cell_size_m must be a number of metres, at least 0.01, not "
                               f"{cell_size_m}")
    if cell_size_m > bandwidth_m:
        raise InvalidParameter(
            f"cell_size_m ({cell_size_m:g} m) must not exceed bandwidth_m ({bandwidth_m:g} m): "
            "the kernel would fall between cells", "cell_size_m"
        )
    return bandwidth_m, cell_size_m, auto_cell


def _extent(xy: np.ndarray, bandwidth_m: float, kernel: str,
            bounds: tuple[float, float, float, float] | None) -> tuple[Any, Any, Any, Any]:
    """(minx, miny, maxx, maxy) to cover, metres: ``bounds``, else the incidents' extent plus
    the kernel's reach; refuses a bandwidth larger than the area."""
    n = xy.shape[0]
    reach = _REACH[kernel] * bandwidth_m
    if bounds is None:
        x0, y0, x1, y1 = xy_bounds(xy)
        minx, miny, maxx, maxy = x0 - reach, y0 - reach, x1 + reach, y1 + reach
        extent = max(x1 - x0, y1 - y0)
        if n > 1 and extent > 0 and bandwidth_m > extent:
            raise InvalidParameter(
                f"bandwidth_m ({bandwidth_m:g} m) is larger than the area of the incidents "
                f"({extent:,.0f} m across): every hotspot would be the whole area"
            )
    else:
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        if not (maxx > minx and maxy > miny):
            raise InvalidParameter("bounds must be (minx, miny, maxx, maxy) with min < max")
        if bandwidth_m > max(maxx - minx, maxy - miny):
            raise InvalidParameter("bandwidth_m is larger than the area to map")
    return minx, miny, maxx, maxy


def _grid_shape(extent: tuple[Any, Any, Any, Any], cell_size_m: float, bandwidth_m: float,
                auto_cell: bool, max_cells: int) -> tuple[float, int, int]:
    """The cell size (metres), rows and columns of the grid over ``extent``: a chosen cell
    size is coarsened (up to half the bandwidth) to fit ``max_cells``; a grid over it is
    refused, naming the parameter to change."""
    minx, miny, maxx, maxy = extent
    estimate = ((maxx - minx) / cell_size_m) * ((maxy - miny) / cell_size_m)
    if not auto_cell and estimate > 100 * max_cells:
        raise WorkLimitExceeded(
            f"the grid would have far more than the limit of {max_cells:,} cells "
            f"(cell_size_m {cell_size_m:g} m over {maxx - minx:,.0f} m x {maxy - miny:,.0f} m): "
            "use a larger cell_size_m or a smaller area",
            found=int(min(estimate, 2**62)), limit=max_cells, parameter="cell_size_m",
            kind="grid_cells")
    cols = int(np.ceil((maxx - minx) / cell_size_m)) + 1
    rows = int(np.ceil((maxy - miny) / cell_size_m)) + 1
    if auto_cell and rows * cols > max_cells:
        # a wide area: coarser cells (up to half the bandwidth, still smooth) rather than a
        # refusal of the default
        fit = float(np.ceil(np.sqrt((maxx - minx + cell_size_m) * (maxy - miny + cell_size_m)
                                    / max_cells) + 1.0))
        if fit <= bandwidth_m / 2:
            cell_size_m = fit
            cols = int(np.ceil((maxx - minx) / cell_size_m)) + 1
            rows = int(np.ceil((maxy - miny) / cell_size_m)) + 1
    if rows * cols > max_cells:
        raise WorkLimitExceeded(
            f"the grid would have {rows:,} x {cols:,} = {rows * cols:,} cells, more than the "
            f"limit of {max_cells:,}: use a larger "
            f"{'bandwidth_m' if auto_cell else 'cell_size_m'} or a smaller area",
            found=rows * cols, limit=max_cells,
            parameter="bandwidth_m" if auto_cell else "cell_size_m", kind="grid_cells")
    return cell_size_m, rows, cols


def _smooth(binned: np.ndarray, sigma: float, kernel: str) -> np.ndarray:
    """``binned`` smoothed with the kernel of ``sigma`` cells (a Gaussian's standard deviation
    or the quartic's radius), zero outside the grid."""
    if kernel == "gaussian":
        return np.asarray(gaussian_filter(binned, sigma, mode="constant", truncate=4.0))
    smooth = fftconvolve(binned, _quartic(sigma), mode="same")
    np.maximum(smooth, 0.0, out=smooth)  # FFT round-off below zero
    return np.asarray(smooth)


def _bin(xy: np.ndarray, w: np.ndarray, x0: float, y1: float, cell: float, rows: int,
         cols: int) -> np.ndarray:
    """:func:`_linear_binning`, in one compiled pass for many points when the compiled steps
    are loaded."""
    native = loaded_native_steps() if xy.shape[0] >= _NATIVE_FROM else None
    if native is None:
        return _linear_binning(xy, w, x0, y1, cell, rows, cols)
    return np.asarray(native.linear_binning(
        np.ascontiguousarray(xy, dtype=np.float64), np.ascontiguousarray(w, dtype=np.float64),
        float(x0), float(y1), float(cell), int(rows), int(cols)))


def _linear_binning(
    xy: np.ndarray, w: np.ndarray, x0: float, y1: float, cell: float, rows: int, cols: int
) -> np.ndarray:
    """Share each weight among the four cell centres around its point (bilinear weights);
    a point beyond the grid's edge puts its weight on the nearest edge cells.

    The points are binned on the grid with one cell of margin all round, from one index per
    point (its cell to the north-west; the other three are the next column, the next row and
    both), then the margins are folded onto the edge cells they stand for.
    """
    u = (xy[:, 0] - x0) / cell - 0.5
    v = (y1 - xy[:, 1]) / cell - 0.5
    j = np.floor(u)
    i = np.floor(v)
    fu = u - j
    fv = v - i
    np.clip(j, -1, cols - 1, out=j)  # beyond an edge: both shares on the margin or the edge
    np.clip(i, -1, rows - 1, out=i)
    width = cols + 2
    size = (rows + 2) * width
    base = (i.astype(np.int64) + 1) * width + (j.astype(np.int64) + 1)
    west = w * (1 - fu)
    east = w * fu
    north = 1 - fv
    out = np.bincount(base, weights=west * north, minlength=size)
    out[1:] += np.bincount(base, weights=east * north, minlength=size - 1)
    out[width:] += np.bincount(base, weights=west * fv, minlength=size - width)
    out[width + 1:] += np.bincount(base, weights=east * fv, minlength=size - width - 1)
    grid = out.reshape(rows + 2, width)
    grid[1, :] += grid[0, :]  # fold the margins onto the edges
    grid[rows, :] += grid[rows + 1, :]
    grid[:, 1] += grid[:, 0]
    grid[:, cols] += grid[:, cols + 1]
    return np.ascontiguousarray(grid[1:-1, 1:-1])


def _quartic(radius_cells: float) -> np.ndarray:
    """The quartic (biweight) kernel on the grid, summing to 1."""
    r = int(np.ceil(radius_cells))
    d = np.arange(-r, r + 1, dtype=np.float64)
    d2 = (d[:, None] ** 2 + d[None, :] ** 2) / (radius_cells * radius_cells)
    k = np.where(d2 < 1, (1 - d2) ** 2, 0.0)
    total = k.sum()
    if total <= 0:  # radius below one cell: all on the centre
        k = np.zeros_like(k)
        k[r, r] = 1.0
        return k
    return np.asarray(k / total)


def density_threshold(
    grid: DensityGrid, *, percentile: float | None = None, share: float | None = None
) -> float:
    """The density (per km2) above which cells are hotspot cells.

    Give ``percentile`` (0-100, of the non-zero densities) or ``share`` (0-1: the densest cells
    that together hold this share of the kernel mass, i.e. of the incidents).
    """
    if (percentile is None) == (share is None):
        raise InvalidParameter("give either a density percentile or a share of incidents")
    values = grid.values.ravel()
    positive = values[values > 0]
    if positive.size == 0:
        return float("inf")
    if percentile is not None:
        if not 0 <= percentile < 100:
            raise InvalidParameter("percentile must be from 0 to below 100")
        return float(np.percentile(positive, percentile))
    assert share is not None
    if not 0 < share <= 1:
        raise InvalidParameter("share must be above 0 and at most 1")
    positive.sort()  # in place (a copy already): one copy fewer of a large grid
    ordered = positive[::-1]
    cum = np.cumsum(ordered)
    k = int(np.searchsorted(cum, share * cum[-1]))
    return float(ordered[min(k, ordered.size - 1)])


@dataclass
class KDEHotspots:
    """KDE hotspots: contiguous cells above a density threshold (estimator).

    Parameters
    ----------
    bandwidth_m, cell_size_m, kernel, bounds, max_cells
        As in :func:`kde_grid`.
    threshold
        ``"share"`` (the smallest area holding ``share`` of the incidents) or ``"percentile"``
        (cells above the ``percentile`` of non-zero densities).
    share, percentile
        The threshold's value: default share 0.5, percentile 99.
    min_incidents
        Drop areas holding fewer incidents than this.
    max_areas, max_area_cells
        Refuse (:class:`~hotspot.errors.WorkLimitExceeded`) more hotspot areas, or more grid
        cells in them, than these, before any polygon is drawn; None: no limit.

    Attributes (after :meth:`fit`)
    ------------------------------
    grid_
        The :class:`DensityGrid`.
    threshold_
        Density (per km2) above which cells count.
    labels_
        Hotspot area of each input incident (-1 outside every area).
    hotspots_
        GeoDataFrame: ``cluster``, ``incidents``, ``weight``, ``peak_density``, ``geometry``
        (the cells of the area, merged).
    """

    bandwidth_m: float | None = None
    cell_size_m: float | None = None
    kernel: str = "gaussian"
    threshold: str = "share"
    share: float = 0.5
    percentile: float = 99.0
    min_incidents: int = 1
    bounds: tuple[float, float, float, float] | None = None
    max_cells: int = MAX_CELLS
    max_areas: int | None = None
    max_area_cells: int | None = None
    grid_: DensityGrid = field(init=False, repr=False)
    threshold_: float = field(init=False, repr=False)
    labels_: np.ndarray = field(init=False, repr=False)
    hotspots_: gpd.GeoDataFrame = field(init=False, repr=False)

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None, *,  # noqa: N803
        crs: Any = None, should_stop: ShouldStop | None = None,
    ) -> KDEHotspots:
        """Compute the density of ``X`` and cut hotspot areas from it.

        ``should_stop``: checked between stages and while areas are drawn
        (:mod:`hotspot.cancel`).

        Raises
        ------
        WorkLimitExceeded
            A grid over ``max_cells``, or areas over ``max_areas`` / ``max_area_cells``.
        AnalysisCancelled
            ``should_stop`` answered True.
        """
        if self.threshold not in ("share", "percentile"):
            raise InvalidParameter("threshold must be 'share' or 'percentile'")
        if self.min_incidents < 1:
            raise InvalidParameter("min_incidents must be at least 1")
        xy, crs_ = as_xy(X, crs)
        self.grid_ = kde_grid(
            xy, crs=crs_, weights=sample_weight, bandwidth_m=self.bandwidth_m,
            cell_size_m=self.cell_size_m, kernel=self.kernel, bounds=self.bounds,
            max_cells=self.max_cells,
        )
        check(should_stop, "after the density grid")
        if self.threshold == "share":
            self.threshold_ = density_threshold(self.grid_, share=self.share)
        else:
            self.threshold_ = density_threshold(self.grid_, percentile=self.percentile)
        w = np.ones(xy.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        self.labels_, self.hotspots_ = grid_areas(
            self.grid_, self.threshold_, xy, w, min_incidents=self.min_incidents,
            max_areas=self.max_areas, max_cells=self.max_area_cells,
            threshold_parameter=self.threshold, should_stop=should_stop,
        )
        return self


def union_of_cells(boxes: np.ndarray) -> Any:
    """The union of grid cells' squares (each edge shared by two cells equal to the last bit
    in both, as a coverage union needs): a valid Polygon or MultiPolygon, metres. Should GEOS
    ever give an invalid one, it is made valid (keeping its area and every point): a safety
    net; with exact edges none was invalid in the tests, cells meeting at a corner included."""
    geom = shapely.coverage_union_all(boxes)
    if shapely.is_valid(geom):
        return geom
    return shapely.make_valid(geom, method="structure", keep_collapsed=False)


def grid_areas(
    grid: DensityGrid, threshold: float, xy: np.ndarray, weights: np.ndarray, *,
    min_incidents: int = 1, max_areas: int | None = None, max_cells: int | None = None,
    threshold_parameter: str = "threshold", should_stop: ShouldStop | None = None,
) -> tuple[np.ndarray, gpd.GeoDataFrame]:
    """Contiguous cells at or above ``threshold`` (8-connected) as polygons, with the incidents
    whose cell falls in each.

    Areas are counted before any polygon is drawn: more than ``max_areas`` areas, or more than
    ``max_cells`` cells in them, raise :class:`~hotspot.errors.WorkLimitExceeded` (naming
    ``min_incidents``, or ``threshold_parameter`` for the cells). ``should_stop`` is checked
    every :data:`hotspot.cancel.EVERY` areas."""
    mask = grid.values >= threshold
    regions, count = label(mask, structure=np.ones((3, 3), dtype=bool))
    row, col = grid.cell_of(xy)
    point_region = regions[row, col] - 1  # -1 outside every area
    incidents = np.bincount(point_region[point_region >= 0], minlength=count)
    keep = np.flatnonzero(incidents >= min_incidents)
    remap = np.full(count + 1, -1, dtype=np.int64)
    remap[keep] = np.arange(keep.size)
    labels = remap[point_region] if count else np.full(xy.shape[0], -1, dtype=np.int64)
    if max_areas is not None and keep.size > max_areas:
        raise WorkLimitExceeded(
            f"the density makes {keep.size:,} hotspot areas of at least {min_incidents} "
            f"incidents, more than the limit of {max_areas:,} hotspots an analysis may "
            "describe: raise min_incidents or bandwidth_m, or narrow the selection",
            found=int(keep.size), limit=max_areas, parameter="min_incidents",
            kind="hotspots")
    if max_cells is not None:
        cells = int(np.bincount(regions.ravel(), minlength=count + 1)[1:][keep].sum())
        if cells > max_cells:
            advice = {"share": "lower share", "percentile": "raise percentile"}.get(
                threshold_parameter, f"change {threshold_parameter}")
            raise WorkLimitExceeded(
                f"the hotspot areas cover {cells:,} grid cells, more than the limit of "
                f"{max_cells:,}: {advice}, or use a larger cell_size_m",
                found=cells, limit=max_cells, parameter=threshold_parameter,
                kind="hotspot_cells")
    rr, cc = np.nonzero(mask)
    region_of_cell = regions[rr, cc] - 1
    c = grid.cell_size_m
    # the cells' edges, each computed once: neighbouring cells share their edge to the last
    # bit, as the coverage union needs (x0 + col * c + c is not always x0 + (col + 1) * c)
    xs = grid.x0 + np.arange(grid.values.shape[1] + 1) * c
    ys = grid.y1 - np.arange(grid.values.shape[0] + 1) * c
    geoms: list[Any] = []
    peaks: list[float] = []
    order = np.argsort(region_of_cell, kind="stable")
    starts = np.searchsorted(region_of_cell[order], keep)
    ends = np.searchsorted(region_of_cell[order], keep, side="right")
    for i, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if i % EVERY == 0:
            check(should_stop, "while drawing hotspot areas")
        idx = order[a:b]
        boxes = shapely.box(xs[cc[idx]], ys[rr[idx] + 1], xs[cc[idx] + 1], ys[rr[idx]])
        geoms.append(union_of_cells(boxes))
        peaks.append(float(grid.values[rr[idx], cc[idx]].max()))
    kept = labels >= 0
    weight = np.bincount(labels[kept], weights=weights[kept], minlength=keep.size)
    frame = gpd.GeoDataFrame(
        {
            "cluster": np.arange(keep.size),
            "incidents": incidents[keep].astype(np.int64),
            "weight": weight,
            "peak_density": np.asarray(peaks, dtype=np.float64),
        },
        geometry=gpd.GeoSeries(geoms, crs=grid.crs),
        crs=grid.crs,
    )
    return labels, frame


def kde_hotspots(
    points: Any, *, crs: Any = None, sample_weight: np.ndarray | None = None, **options: Any
) -> gpd.GeoDataFrame:
    """Hotspot areas of :class:`KDEHotspots` fitted on ``points`` (the functional twin)."""
    return KDEHotspots(**options).fit(points, sample_weight=sample_weight, crs=crs).hotspots_
