"""Context classes: which team a hotspot goes to, decided from the reference layers.

Each incident gets one class, by precedence:

1. ``town_centre``: inside a town-centre polygon (town centre officers);
2. ``heritage_site``: within ``heritage_distance_m`` (default 200 m) of a heritage site that lies
   outside the town centres (Rural Crime Team);
3. ``rural``: outside every built-up area, or in an LSOA the ONS rural-urban lookup calls rural
   (Rural Crime Team);
4. ``urban``: the rest (residential streets, retail parks).

A hotspot's class is the class most of its incidents have (ties go by the precedence above):
a historic town centre has hundreds of listed buildings and its hotspots are still the town
centre officers'. Every hotspot still reports the shares of its incidents in each class and
the heritage sites it touches. Missing layers make no incident of that class (without
built-up areas or a lookup, nothing is rural). All the spatial tests are vectorised joins
(``shapely.STRtree``), not a loop over points.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from hotspot._native import loaded_native_steps
from hotspot.cancel import ShouldStop, check
from hotspot.errors import InvalidParameter
from hotspot.inside import any_hit, first_hit, geometry_bytes, kept_for, point_hits

CLASSES = ("town_centre", "heritage_site", "rural", "urban")
"""Context classes, in order of precedence."""
TEAM = {
    "town_centre": "town_centre_officers",
    "heritage_site": "rural_crime_team",
    "rural": "rural_crime_team",
    "urban": "neighbourhood_policing",
}


@dataclass(frozen=True)
class ContextLayers:
    """The reference layers classification needs, in the analysis CRS (metres).

    Parameters
    ----------
    town_centres
        Polygons with a ``name`` column.
    built_up_areas
        Polygons (``name`` used to name urban and rural hotspots when present).
    heritage_sites
        Points or polygons with ``name`` and ``designation``.
    rural_lsoas
        LSOA codes the ONS rural-urban lookup calls rural.
    heritage_distance_m
        How near a heritage site an incident must be to count for it, metres.
    heritage_designations
        Keep only heritage sites whose designation matches one of these (case-insensitive,
        whole words: ``"grade I"`` does not match grade II), e.g. ``["Scheduled monument",
        "grade I", "grade II*", "World Heritage"]``; None keeps all.
    """

    town_centres: gpd.GeoDataFrame | None = None
    built_up_areas: gpd.GeoDataFrame | None = None
    heritage_sites: gpd.GeoDataFrame | None = None
    rural_lsoas: Collection[str] | None = None
    heritage_distance_m: float = 200.0
    heritage_designations: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if not np.isfinite(self.heritage_distance_m) or not 0 <= self.heritage_distance_m <= 5000:
            raise InvalidParameter("heritage_distance_m must be from 0 to 5,000 m")

    def used(self) -> list[str]:
        """Names of the layers present (for reports)."""
        names = []
        for name in ("town_centres", "built_up_areas", "heritage_sites"):
            layer = getattr(self, name)
            if layer is not None and len(layer):
                names.append(name)
        if self.rural_lsoas:
            names.append("rural_urban_lookup")
        return names

    def sites(self) -> gpd.GeoDataFrame | None:
        """The heritage sites kept by the designation filter, outside the town centres."""
        sites = self.heritage_sites
        if sites is None or len(sites) == 0:
            return None
        if self.heritage_designations:
            pattern = "|".join(
                rf"(?<![\w*]){re.escape(p.strip())}(?![\w*])" for p in self.heritage_designations
            )
            keep = sites["designation"].astype(str).str.contains(pattern, case=False, regex=True)
            sites = sites[keep.to_numpy()]
        tc = self.town_centres
        if tc is not None and len(tc) and len(sites):
            inside = shapely.intersects(
                np.asarray(sites.geometry.values, dtype=object)[:, None],
                np.asarray(tc.geometry.values, dtype=object)[None, :],
            ).any(axis=1)
            sites = sites[~inside]
        return sites if len(sites) else None


@dataclass(frozen=True)
class IncidentContext:
    """Per-incident context: class index into :data:`CLASSES`, town centre and nearest site."""

    cls: np.ndarray
    town_centre: np.ndarray
    """Index of the town centre holding the incident, -1 if none."""
    heritage: np.ndarray
    """Index (into ``layers.sites()``) of the nearest heritage site within reach, -1 if none."""


def _nearest_site(sites: np.ndarray, xy: np.ndarray, d: float) -> np.ndarray:
    """(n,) the nearest of ``sites`` within ``d`` metres (inclusive) of each point, the lowest
    index among equally near ones; -1 for none. Only the (point, site) pairs within reach of
    a site's bounding box are measured: point sites by ``sqrt(dx*dx + dy*dy)``, as GEOS
    measures two points, others by GEOS's distance."""
    out = np.full(xy.shape[0], -1, dtype=np.int64)
    b = shapely.bounds(sites)
    reach = kept_for(sites, ("reach", d), lambda: np.asarray(
        shapely.box(b[:, 0] - d, b[:, 1] - d, b[:, 2] + d, b[:, 3] + d), dtype=object),
        geometry_bytes)
    p, s = point_hits(reach, xy, "intersects", keep=True)
    if p.size == 0:
        return out
    dist = np.empty(p.size)
    point = shapely.get_type_id(sites)[s] == 0
    dx = xy[p[point], 0] - b[s[point], 0]
    dy = xy[p[point], 1] - b[s[point], 1]
    dist[point] = np.sqrt(dx * dx + dy * dy)
    other = ~point
    if other.any():
        dist[other] = shapely.distance(sites[s[other]], shapely.points(xy[p[other]]))
    ok = dist <= d
    p, s, dist = p[ok], s[ok], dist[ok]
    order = np.lexsort((s, dist, p))  # by point, the nearest first, then the lowest index
    p, s = p[order], s[order]
    first = np.r_[True, p[1:] != p[:-1]] if p.size else np.zeros(0, dtype=bool)
    out[p[first]] = s[first]
    return out


def _in_set(values: Any, wanted: Collection[str]) -> np.ndarray:
    """(n,) True where the value is in ``wanted``: a Categorical's categories looked up once
    each, else a hash lookup (pandas) of the values (not numpy's sort-based isin of Python
    strings: 50x faster)."""
    if isinstance(values, (pd.Categorical, pd.Series)) and isinstance(
            getattr(values, "dtype", None), pd.CategoricalDtype):
        cat = pd.Categorical(values)
        hit = np.append(pd.Index(cat.categories).isin(list(wanted)), False)  # code -1: missing
        return np.asarray(hit[np.asarray(cat.codes, dtype=np.int64)])
    return np.asarray(pd.Series(np.asarray(values, dtype=object)).isin(wanted).to_numpy())


def incident_context(
    xy: np.ndarray, lsoa_codes: Any, layers: ContextLayers,
    should_stop: ShouldStop | None = None,
) -> IncidentContext:
    """Classify each incident (see the module docstring). ``lsoa_codes``: one per incident
    (an array, or a pandas Categorical, whose categories are then looked up once each);
    ``should_stop`` is checked between the layers.

    The point-in-polygon tests are :mod:`hotspot.inside`'s (a grid, GEOS near the edges), the
    layers' grids kept for the next calls with the same layer objects
    (:func:`hotspot.inside.kept_for`); the heritage sites are measured only from the
    incidents within reach of a site's bounding box (the others have no site within reach);
    among equally near sites, the first."""
    n = xy.shape[0]
    tc_idx = np.full(n, -1, dtype=np.int64)
    if layers.town_centres is not None and len(layers.town_centres) and n:
        tc_idx = first_hit(layers.town_centres.geometry.values, xy, "within", keep=True)
    site_idx = np.full(n, -1, dtype=np.int64)
    sites = layers.sites()
    check(should_stop, "while classifying incidents")
    if sites is not None and n:
        site_idx = _nearest_site(np.asarray(sites.geometry.values, dtype=object), xy,
                                 layers.heritage_distance_m)
    rural = np.zeros(n, dtype=bool)
    check(should_stop, "while classifying incidents")
    # rural or not only matters where no town centre or heritage site comes first
    open_ = np.flatnonzero((tc_idx < 0) & (site_idx < 0))
    if layers.built_up_areas is not None and len(layers.built_up_areas) and open_.size:
        rural[open_] = ~any_hit(layers.built_up_areas.geometry.values, xy[open_], "within",
                                keep=True)
    if layers.rural_lsoas and lsoa_codes is not None and n:
        rural |= _in_set(lsoa_codes, layers.rural_lsoas)
    cls = np.full(n, 3, dtype=np.int8)
    cls[rural] = 2
    cls[site_idx >= 0] = 1
    cls[tc_idx >= 0] = 0
    return IncidentContext(cls=cls, town_centre=tc_idx, heritage=site_idx)


def _pair_sums(labels: np.ndarray, other: np.ndarray, w: np.ndarray, k: int,
               width: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The (hotspot, other) pairs present among the incidents with a hotspot (``labels`` >= 0)
    and an ``other`` >= 0 (below ``width``), as keys ``hotspot * width + other`` ascending,
    with the sum of the pair's ``w`` added in the incidents' order: by one compiled pass over
    every incident when this process has loaded the compiled steps, the pairs are few and
    the labels and others are below ``k`` and ``width``, else None (for numpy's steps)."""
    native = loaded_native_steps()
    if native is None or not 0 < k * width <= max(4 * labels.shape[0], 1 << 20) \
            or not labels.size or not labels.shape == np.shape(other) == np.shape(w) \
            or int(labels.max()) >= k or int(other.max()) >= width:
        return None  # (labels from k on: numpy's steps; the compiled pass would write past)
    count, sums = native.pair_sums(np.ascontiguousarray(labels, dtype=np.int64),
                                   np.ascontiguousarray(other, dtype=np.int64),
                                   np.ascontiguousarray(w, dtype=np.float64), width, k * width)
    keys = np.flatnonzero(count)
    return keys, sums[keys]


def _heaviest(labels: np.ndarray, col: np.ndarray, w: np.ndarray,
              k: int) -> tuple[list[int], list[int]]:
    """For each hotspot (``labels``: each incident's, -1 none; ``k`` hotspots), the ``col``
    (each incident's town centre or site, -1 none) whose incidents weigh most in it (ties:
    the lowest): the hotspots holding any, ascending, and theirs."""
    sel = (labels >= 0) & (col >= 0)
    if not sel.any():
        return [], []
    width = int(col.max()) + 1
    summed = _pair_sums(labels, col, w, k, width)
    if summed is not None:
        keys, sums = summed
    else:
        h, i = labels[sel].astype(np.int64), col[sel].astype(np.int64)
        keys, at = np.unique(h * width + i, return_inverse=True)
        sums = np.bincount(at.ravel(), weights=w[sel], minlength=keys.size)
    hh, ii = np.divmod(keys, width)
    # by hotspot, heaviest first, then lowest index; sums equal to 9 decimals are a tie (a
    # sum of ten 0.1 is 1.0 less an ulp, which must not beat a 1.0)
    order = np.lexsort((ii, -np.round(sums, 9), hh))
    first = order[np.r_[True, hh[order][1:] != hh[order][:-1]]]
    return hh[first].tolist(), ii[first].tolist()


def classify_hotspots(
    hotspots: gpd.GeoDataFrame,
    labels: np.ndarray,
    weights: np.ndarray,
    context: IncidentContext,
    layers: ContextLayers,
) -> dict[str, Any]:
    """Class, shares, place name and heritage sites touched, for each hotspot.

    ``labels`` give the hotspot (row of ``hotspots``) of each incident, -1 for none. Returns
    columns as a dict of lists/arrays, one entry per hotspot.
    """
    k = len(hotspots)
    m = len(CLASSES)
    summed = _pair_sums(labels, context.cls, weights, k, m)
    shares: np.ndarray
    if summed is not None:  # the same sums, without masked copies
        shares = np.zeros(k * m)
        shares[summed[0]] = summed[1]
        shares = shares.reshape(k, m)
    else:
        member = labels >= 0
        lab, w, cls = labels[member], weights[member], context.cls[member]
        shares = np.bincount(lab * m + cls, weights=w, minlength=k * m)[:k * m].astype(
            np.float64).reshape(k, m)
    total = shares.sum(axis=1, keepdims=True)
    shares = np.divide(shares, total, out=np.zeros_like(shares), where=total > 0)
    # most incidents win; ties go to the class with precedence (the first column)
    primary = np.argmax(np.round(shares, 9), axis=1)
    names: list[str | None] = [None] * k
    tc = layers.town_centres
    sites = layers.sites()
    centroids = shapely.centroid(np.asarray(hotspots.geometry.values, dtype=object))
    for wanted, col, layer in ((0, context.town_centre, tc), (1, context.heritage, sites)):
        if layer is None:
            continue
        # the town centre (or site) holding most of each hotspot's weight; ties: lowest index
        heaviest = _heaviest(labels, col, weights, k)
        if not heaviest[0]:
            continue  # (a layer's names are read only when some hotspot has one)
        layer_names = layer["name"].astype(str).to_numpy()
        for h, i in zip(*heaviest, strict=True):
            if primary[h] == wanted:
                names[h] = str(layer_names[i])
    built = layers.built_up_areas
    if built is not None and len(built) and "name" in built.columns:
        tree = shapely.STRtree(np.asarray(built.geometry.values, dtype=object))
        nearest = tree.query_nearest(centroids, all_matches=False)
        place = np.full(k, -1, dtype=np.int64)
        if nearest.size:
            place[nearest[0]] = nearest[1]
        built_geoms = np.asarray(built.geometry.values, dtype=object)
        built_names = built["name"].to_numpy(dtype=object)
        todo = [h for h in range(k) if names[h] is None and place[h] >= 0
                and isinstance(built_names[place[h]], str) and built_names[place[h]]]
        if todo:
            inside = shapely.contains(built_geoms[place[todo]], centroids[todo])
            for h, within in zip(todo, inside.tolist(), strict=True):
                name = built_names[place[h]]
                names[h] = name if within else f"near {name}"
    touched: list[list[str]] = [[] for _ in range(k)]
    if sites is not None and k:
        tree = shapely.STRtree(np.asarray(sites.geometry.values, dtype=object))
        pairs = tree.query(
            np.asarray(hotspots.geometry.values, dtype=object),
            predicate="dwithin",
            distance=layers.heritage_distance_m,
        )
        site_names = sites["name"].astype(str).to_numpy()
        for h, s in zip(*pairs.tolist(), strict=True):
            touched[h].append(site_names[s])
        touched = [sorted(set(t)) for t in touched]
    return {
        "context_class": [CLASSES[c] for c in primary],
        "team": [TEAM[CLASSES[c]] for c in primary],
        **{f"share_{c}": shares[:, i].round(4) for i, c in enumerate(CLASSES)},
        "place": names,
        "heritage_sites": touched,
    }
