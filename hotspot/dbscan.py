"""DBSCAN hotspots: clusters of incidents, eps in metres, thresholds that follow the background.

The clustering is exact DBSCAN (see :mod:`hotspot._griddbscan`): core points and their labels
are those of :class:`sklearn.cluster.DBSCAN` with the same ``eps``, ``min_samples`` and
``sample_weight``. Incidents on identical coordinates are collapsed into one point weighted by
how many incidents sit on it, so a real data.police.uk file costs what its distinct map points
cost, and **one busy map point can be a hotspot by itself**.

Fixed thresholds do not survive a change of scale: on a year of county data, ``eps`` 150 m with
``min_samples`` 10 joins the background into one county-wide cluster. So by default
(``min_samples="auto"``) each incident's threshold follows the density of incidents around it:

    background   lambda = the median, over the occupied cells among the 25 cells of side
                          ``background_m / 5`` in the square of side ``background_m`` (default
                          2 km) around the point, of the incidents per square metre (a median,
                          so that a hotspot filling a few cells does not raise its own
                          threshold; occupied cells, so that the sea or the land beyond the
                          force boundary does not lower it)
    expected     mu = lambda * pi * eps^2      (incidents a Poisson background puts within eps)
    threshold    the smallest k >= ``min_samples_floor`` (default 5) with
                 P(1 + Poisson(mu) >= k) <= alpha / n,
                 n = the number of distinct points, alpha = 0.05 by default

(an incident counts itself, hence the 1 +), so that where there is no hotspot at all, the
chance that any incident becomes a core point is about ``alpha``. The threshold scales with the
selection: hotspots stay hotspots whether it holds 5,000 or 1,000,000 incidents. A town is
dense but not a hotspot against its own streets; a farm with 40 thefts is one against empty
fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import ConvexHull, QhullError

from hotspot._griddbscan import grid_dbscan
from hotspot._numeric import group_order, poisson_isf, xy_bounds
from hotspot._threads import run_each
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter, WorkLimitExceeded
from hotspot.points import as_xy, collapse


def auto_min_samples(
    xy: np.ndarray,
    weight: np.ndarray,
    eps_m: float,
    *,
    background_m: float = 2000.0,
    alpha: float = 0.05,
    floor: int = 5,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Per-point core thresholds from the local background (the rule in the module docstring).

    The background around a point is the median weight of the occupied cells among the 25
    cells (side ``background_m / 5``) of the ``background_m`` square around it, per square
    metre: a median, so that a hotspot filling a few of those cells does not raise its own
    threshold, and over occupied cells, so that the sea or the land beyond the force boundary
    does not lower it.

    Parameters
    ----------
    xy
        (n, 2) coordinates in metres.
    weight
        (n,) weight of each point (incidents stacked on it).
    eps_m
        DBSCAN radius, metres.
    background_m
        Side of the square over which the background density is measured, metres.
    alpha
        Chance that, with no hotspot anywhere, any incident becomes a core point.
    floor
        Smallest threshold.

    Returns
    -------
    thresholds
        (n,) threshold of each point.
    info
        What the rule found (for reports): median background per km2, the per-incident
        level, the range of thresholds.
    """
    if not np.isfinite(background_m) or background_m < 2 * eps_m:
        raise InvalidParameter("background_m must be at least twice eps_m", "background_m")
    if not 1e-12 <= alpha < 1:  # far below 1e-12 the per-incident level underflows to 0
        raise InvalidParameter("alpha must be from 1e-12 to under 1", "alpha")
    if floor < 1:
        raise InvalidParameter("min_samples_floor must be at least 1")
    n = xy.shape[0]
    if n == 0:
        return np.empty(0), {}
    side = background_m / 5.0
    disc = np.pi * eps_m * eps_m
    cell_local, inv = _background_of_cells(xy, weight, side)
    cell_mu = cell_local / (side * side) * disc
    level = alpha / n
    # an incident counts itself: its count is 1 + Poisson(mu) where the background is all
    # the background is a median of whole incidents mostly: few distinct values to look up
    mu, which = np.unique(cell_mu, return_inverse=True)
    cell_k = np.maximum(poisson_isf(level, mu) + 2, floor)[which]
    thresholds = cell_k[inv].astype(np.float64)
    local = cell_local[inv]
    info = {
        "rule": "local Poisson background",
        "background_m": background_m,
        "alpha": alpha,
        "per_incident_level": level,
        "floor": floor,
        "median_background_per_km2": float(np.median(local) / (side * side) * 1e6),
        "min_samples_range": [float(thresholds.min()), float(thresholds.max())],
        "min_samples_median": float(np.median(thresholds)),
    }
    return thresholds, info


def _background_of_cells(xy: np.ndarray, weight: np.ndarray,
                         side: float) -> tuple[np.ndarray, np.ndarray]:
    """Cells of side ``side`` (metres) holding the points: the median weight of the occupied
    cells among the 5 x 5 around each cell (the background), and the cell of each point."""
    x0, y0, _, _ = xy_bounds(xy)
    ix = np.floor((xy[:, 0] - x0) / side).astype(np.int64) + 2
    iy = np.floor((xy[:, 1] - y0) / side).astype(np.int64) + 2
    ny = int(iy.max()) + 3
    key = ix * ny + iy
    size = (int(ix.max()) + 3) * ny
    if size <= max(8 * xy.shape[0], 4_000_000):  # a dense grid of cells: counted, looked up
        occupied = np.bincount(key, minlength=size) > 0
        ukey = np.flatnonzero(occupied)
        rank = np.full(size, -1, dtype=np.int64)
        rank[ukey] = np.arange(ukey.shape[0])
        inv = rank[key]
        dense_w = np.bincount(key, weights=weight, minlength=size)

        def around_at(target: np.ndarray) -> np.ndarray:
            return np.where(occupied[target], dense_w[target], np.nan)
    else:
        codes, found = pd.factorize(key)  # hashing: ten times faster than np.unique
        order = np.argsort(found)
        rank = np.empty(found.shape[0], dtype=np.int64)
        rank[order] = np.arange(found.shape[0])
        ukey, inv = found[order], rank[codes]
        cell_w = np.bincount(inv, weights=weight)

        def around_at(target: np.ndarray) -> np.ndarray:
            at = np.minimum(np.searchsorted(ukey, target), ukey.shape[0] - 1)
            return np.where(ukey[at] == target, cell_w[at], np.nan)
    around = np.empty((ukey.shape[0], 25))
    k = 0
    for dx in range(-2, 3):
        for dy in range(-2, 3):
            around[:, k] = around_at(ukey + dx * ny + dy)
            k += 1
    # over occupied cells: no edge or coast effect
    return _median_of_present(around), inv


def _median_of_present(values: np.ndarray) -> np.ndarray:
    """Median of each row over its non-NaN entries (each row has at least one): what
    ``np.nanmedian(values, axis=1)`` gives, without its masked arrays."""
    ordered = np.sort(values, axis=1)  # NaN last
    present = np.count_nonzero(~np.isnan(values), axis=1)
    rows = np.arange(values.shape[0])
    low = ordered[rows, (present - 1) // 2]
    high = ordered[rows, present // 2]
    return np.asarray((low + high) / 2.0)


@dataclass
class DBSCANHotspots:
    """DBSCAN hotspots of incidents (estimator; see the module docstring for the defaults).

    Parameters
    ----------
    eps_m
        Neighbourhood radius, metres (> 0).
    min_samples
        Incidents (weight) needed within ``eps_m`` for a core point: a number, as in
        scikit-learn, or ``"auto"`` to follow the local background.
    buffer_m
        Each hotspot polygon is the convex hull of its incidents buffered by this much (default
        ``eps_m / 2``), so a cluster along one street, or on one map point, is not a sliver.
    weight_by
        ``"count"``: every incident weighs 1 (the usual DBSCAN); ``"weight"``: incidents weigh
        their ``sample_weight`` (harm), in the core test too.
    background_m, alpha, min_samples_floor
        The ``"auto"`` rule's parameters.
    max_clusters
        Refuse (:class:`~hotspot.errors.WorkLimitExceeded`) when the clustering finds more
        clusters than this, before any polygon is drawn (drawing, describing and serialising
        clusters is the cost that grows with their number); None: no limit.

    Attributes (after :meth:`fit`)
    ------------------------------
    labels_
        Cluster of each input incident (-1 noise), numbered as scikit-learn numbers them.
    core_sample_mask_
        True for incidents on core points.
    min_samples_
        The threshold used at each incident.
    hotspots_
        GeoDataFrame of the clusters: ``cluster``, ``incidents``, ``weight``, ``geometry``.
    auto_
        What the ``"auto"`` rule found (empty for a fixed ``min_samples``).

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0, 0], [10, 0], [0, 10], [5000, 5000]], dtype=float)
    >>> DBSCANHotspots(eps_m=20, min_samples=3).fit(pts, crs="EPSG:27700").labels_
    array([ 0,  0,  0, -1])
    """

    eps_m: float = 150.0
    min_samples: float | str = "auto"
    buffer_m: float | None = None
    weight_by: str = "count"
    background_m: float = 2000.0
    alpha: float = 0.05
    min_samples_floor: int = 5
    max_clusters: int | None = None
    labels_: np.ndarray = field(init=False, repr=False)
    core_sample_mask_: np.ndarray = field(init=False, repr=False)
    min_samples_: np.ndarray = field(init=False, repr=False)
    hotspots_: gpd.GeoDataFrame = field(init=False, repr=False)
    auto_: dict[str, Any] = field(init=False, repr=False)
    crs_: str = field(init=False, repr=False)

    def _check(self) -> None:
        if not np.isfinite(self.eps_m) or self.eps_m <= 0:
            raise InvalidParameter(f"eps_m must be a positive number of metres, not {self.eps_m}")
        if self.eps_m > 50_000:
            raise InvalidParameter("eps_m must be at most 50,000 m")
        if isinstance(self.min_samples, str):
            if self.min_samples != "auto":
                raise InvalidParameter("min_samples must be a number or 'auto'")
        elif not np.isfinite(self.min_samples) or self.min_samples <= 0:
            raise InvalidParameter("min_samples must be a positive number or 'auto'")
        if self.weight_by not in ("count", "weight"):
            raise InvalidParameter("weight_by must be 'count' or 'weight'")
        if self.buffer_m is not None and not (0 <= self.buffer_m <= 10_000):
            raise InvalidParameter("buffer_m must be between 0 and 10,000 m")
        if self.max_clusters is not None and self.max_clusters < 0:
            raise InvalidParameter("max_clusters must be 0 or more")

    def fit(
        self, X: Any, y: Any = None, sample_weight: np.ndarray | None = None, *,  # noqa: N803
        crs: Any = None, should_stop: ShouldStop | None = None,
    ) -> DBSCANHotspots:
        """Cluster the incidents ``X`` (an (n, 2) array in ``crs``, or a GeoDataFrame).

        ``should_stop``: checked between stages (:mod:`hotspot.cancel`).

        Raises
        ------
        WorkLimitExceeded
            More clusters than ``max_clusters`` (raised before any polygon is drawn).
        AnalysisCancelled
            ``should_stop`` answered True.
        """
        self._check()
        xy, self.crs_ = as_xy(X, crs)
        n = xy.shape[0]
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if weights is not None and (weights.shape != (n,) or (weights < 0).any()
                                    or not np.isfinite(weights).all()):
            raise InvalidParameter("sample_weight must be one finite number >= 0 per incident")
        stacks = collapse(xy, weights)
        w = stacks.count if self.weight_by == "count" else stacks.weight
        if self.min_samples == "auto":
            thresholds, self.auto_ = auto_min_samples(
                stacks.xy, w, self.eps_m, background_m=self.background_m, alpha=self.alpha,
                floor=self.min_samples_floor,
            )
        else:
            thresholds = np.full(stacks.xy.shape[0], float(self.min_samples))
            self.auto_ = {}
        check(should_stop, "before clustering")
        labels, core = grid_dbscan(stacks.xy, self.eps_m, thresholds, w)
        check(should_stop, "after clustering")
        found = int(labels.max()) + 1 if labels.shape[0] else 0
        if self.max_clusters is not None and found > self.max_clusters:
            raise too_many_clusters(found, self.max_clusters, self.eps_m, self.min_samples)
        self.labels_ = labels[stacks.inverse] if n else np.empty(0, dtype=np.int64)
        self.core_sample_mask_ = core[stacks.inverse] if n else np.empty(0, dtype=bool)
        self.min_samples_ = thresholds[stacks.inverse] if n else np.empty(0)
        buffer_m = self.eps_m / 2 if self.buffer_m is None else self.buffer_m
        self.hotspots_ = cluster_polygons(
            stacks.xy, labels, stacks.count, stacks.weight, buffer_m=buffer_m, crs=self.crs_
        )
        return self

    @property
    def n_clusters_(self) -> int:
        """Number of clusters found."""
        return int(self.hotspots_.shape[0])


def too_many_clusters(found: int, limit: int, eps_m: float,
                      min_samples: float | str) -> WorkLimitExceeded:
    """The error for ``found`` clusters over ``limit``, naming the parameter to change:
    ``min_samples`` when it was a fixed number, else ``eps_m``."""
    fixed = not isinstance(min_samples, str)
    made = (f"eps_m {eps_m:g} m with min_samples {min_samples:g}" if fixed
            else f"eps_m {eps_m:g} m")
    advice = ("raise min_samples (or use auto) or eps_m" if fixed
              else "raise eps_m or min_samples")
    return WorkLimitExceeded(
        f"{made} makes {found:,} clusters, more than the limit of {limit:,} hotspots an "
        f"analysis may describe: {advice}, or narrow the selection (period, area, categories)",
        found=found, limit=limit, parameter="min_samples" if fixed else "eps_m",
        kind="hotspots")


def cluster_polygons(
    xy: np.ndarray,
    labels: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    *,
    buffer_m: float,
    crs: str,
) -> gpd.GeoDataFrame:
    """One polygon per cluster: the convex hull of its points, buffered by ``buffer_m`` metres."""
    member = labels >= 0
    k = int(labels.max()) + 1 if member.any() else 0
    if k == 0:
        return gpd.GeoDataFrame(
            {"cluster": np.empty(0, dtype=np.int64), "incidents": np.empty(0, dtype=np.int64),
             "weight": np.empty(0)},
            geometry=gpd.GeoSeries([], crs=crs), crs=crs,
        )
    lab = labels[member]
    by = group_order(lab)
    pts_xy, lab_sorted = xy[np.flatnonzero(member)[by]], lab[by]
    sizes = np.bincount(lab_sorted, minlength=k)
    big = sizes >= 500
    small = ~big[lab_sorted]
    hulls = np.empty(k, dtype=object)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])

    def small_hulls() -> None:  # many small clusters: shapely, vectorised
        idx = np.flatnonzero(~big)
        hulls[idx] = shapely.convex_hull(
            shapely.multipoints(pts_xy[small], indices=np.searchsorted(idx, lab_sorted[small])))

    def big_hulls(clusters: np.ndarray) -> None:  # few big clusters: qhull on their points
        for c in clusters.tolist():
            group = pts_xy[starts[c] : starts[c] + sizes[c]]
            try:
                hulls[c] = shapely.Polygon(group[ConvexHull(group).vertices])
            except QhullError:  # all on one line
                hulls[c] = shapely.convex_hull(shapely.multipoints(group))

    # side by side (qhull and GEOS let go of Python's lock): the big clusters in two shares
    # of about equal points, then the small ones
    large = np.flatnonzero(big)
    half = np.searchsorted(np.cumsum(sizes[large]), sizes[large].sum() / 2)
    tasks: list[Callable[[], None]] = [functools.partial(big_hulls, part)
                                       for part in (large[:half], large[half:]) if part.size]
    run_each(tasks + ([small_hulls] if small.any() else []))
    shapes = shapely.buffer(hulls, buffer_m, quad_segs=8) if buffer_m > 0 else hulls
    return gpd.GeoDataFrame(
        {
            "cluster": np.arange(k),
            "incidents": np.bincount(lab, weights=count[member], minlength=k).astype(np.int64),
            "weight": np.bincount(lab, weights=weight[member], minlength=k),
        },
        geometry=shapes,
        crs=crs,
    )


def dbscan_hotspots(
    points: Any,
    *,
    eps_m: float = 150.0,
    min_samples: float | str = "auto",
    crs: Any = None,
    sample_weight: np.ndarray | None = None,
    **options: Any,
) -> gpd.GeoDataFrame:
    """Cluster polygons of :class:`DBSCANHotspots` fitted on ``points`` (the functional twin)."""
    est = DBSCANHotspots(eps_m=eps_m, min_samples=min_samples, **options)
    return est.fit(points, sample_weight=sample_weight, crs=crs).hotspots_
