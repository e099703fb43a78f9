"""Persistent anti-social behaviour: the repeat locations where ASB was recorded in many of the
last N months, for multi-agency case work.

A **place** is where incidents are recorded as one location:

- a *map point* (data.police.uk moves every incident to the nearest of about 750,000 anonymous
  map points): the incidents at the same x, y to the metre;
- an *exact address* (a force's own export): the incidents with the same location text whose
  positions lie within ``address_m`` of one another (chained: a geocoder's few metres of
  scatter at one address do not split it).

A place is **persistent** when ASB was recorded there in at least ``min_months`` of the
``months`` given. Persistent places are ranked by persistence (months with ASB), then volume
(ASB incidents in those months), then the latest month with ASB; each has its month-by-month
history (every month, zeros included), the other persistent places within ``radius_m`` and the
category mix of every incident within ``radius_m`` over the same months.

Pure computation on arrays (no I/O): the caller reads the incidents of the months and passes
them in, with coordinates in a projected CRS (metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from hotspot.errors import InvalidParameter, InvalidPoints

ASB_CATEGORIES = ("asb",)
"""The taxonomy categories counted as anti-social behaviour (fly-tipping, in the same plan
priority, has its own patterns and is left out unless asked for)."""
MONTHS = 12
"""Months looked at by default."""
MIN_MONTHS = 6
"""Months with ASB that make a place persistent by default (half of :data:`MONTHS`)."""
RADIUS_M = 250.0
"""Radius of the nearby repeat locations and of the category mix, metres."""
ADDRESS_M = 5.0
"""How close two incidents with the same location text must be to be one exact address,
metres."""

COLUMNS = ("rank", "place_id", "x", "y", "location", "kind", "months_with_asb", "asb_incidents",
           "first_month", "last_month", "longest_run", "history", "nearby", "category_mix",
           "incidents_nearby")
"""The columns of :attr:`PersistentPlaces.places`, in order."""


@dataclass(frozen=True)
class PersistentPlaces:
    """The persistent places found in some months.

    Attributes
    ----------
    places
        One row per persistent place, best first (columns :data:`COLUMNS`): ``rank`` (1 for
        the first), ``place_id`` (``"<x>-<y>"``, metres rounded, with ``-2``... when exact
        addresses share a point), ``x``, ``y`` (metres, the CRS of the input; the mean of the
        place's incidents), ``location`` (its location text), ``kind`` (``"map_point"`` or
        ``"address"``), ``months_with_asb``, ``asb_incidents``, ``first_month`` and
        ``last_month`` with ASB, ``longest_run`` (most months with ASB in a row),
        ``history`` (list of ASB counts, one per month of :attr:`months`), ``nearby`` (list of
        ``{"place_id", "rank", "distance_m", "location"}``, the other persistent places within the radius,
        nearest first), ``category_mix`` (``{category: incidents}`` of every incident within
        the radius over the months, largest first) and ``incidents_nearby`` (their sum).
    months
        The months looked at, oldest first (``YYYY-MM``).
    places_with_asb
        Places with any ASB in the months (persistent or not).
    asb_incidents
        ASB incidents in the months.
    parameters
        ``months`` (how many), ``min_months``, ``radius_m``, ``address_m`` and the ASB
        ``categories``.
    """

    places: pd.DataFrame
    months: tuple[str, ...]
    places_with_asb: int
    asb_incidents: int
    parameters: dict[str, Any] = field(default_factory=dict)
    persistent: int = 0
    """Persistent places in all (more than :attr:`places` holds when a limit was given)."""


def _check(months: Sequence[str], min_months: int, radius_m: float,
           address_m: float) -> None:
    if not len(months):
        raise InvalidParameter("months must name at least one month", "months")
    if len(set(months)) != len(months):
        raise InvalidParameter("months must not repeat a month", "months")
    if isinstance(min_months, bool) or not isinstance(min_months, (int, np.integer)) \
            or not 1 <= int(min_months) <= len(months):
        raise InvalidParameter(f"min_months must be a whole number from 1 to the {len(months)} "
                               f"months looked at; got {min_months!r}", "min_months")
    if not np.isfinite(radius_m) or radius_m <= 0:
        raise InvalidParameter(f"radius_m must be a positive number of metres; got {radius_m!r}",
                               "radius_m")
    if not np.isfinite(address_m) or address_m < 0:
        raise InvalidParameter(f"address_m must be zero or more metres; got {address_m!r}",
                               "address_m")


def _place_labels(x: np.ndarray, y: np.ndarray, text: np.ndarray, exact: np.ndarray,
                  address_m: float) -> np.ndarray:
    """A place label (0..k-1) per incident: map points by x, y to the metre; exact addresses
    by location text and position within ``address_m`` (chained)."""
    n = len(x)
    labels = np.empty(n, dtype=np.int64)
    rx, ry = np.round(x).astype(np.int64), np.round(y).astype(np.int64)
    points = ~exact
    k = 0
    if points.any():
        keys = pd.MultiIndex.from_arrays([rx[points], ry[points]])
        codes, uniques = pd.factorize(keys)
        labels[points] = codes
        k = len(uniques)
    if exact.any():
        idx = np.flatnonzero(exact)
        codes_text, _ = pd.factorize(text[idx])
        xy = np.column_stack([x[idx], y[idx]])
        pairs = cKDTree(xy).query_pairs(r=address_m, output_type="ndarray")
        if len(pairs):
            pairs = pairs[codes_text[pairs[:, 0]] == codes_text[pairs[:, 1]]]
        m = len(idx)
        graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])),
                           shape=(m, m))
        _, comp = connected_components(graph, directed=False)
        # same text at the same point but never linked (address_m = 0 and a metre apart) stays
        # apart; text decides, then the chain of positions
        labels[idx] = k + comp
    return labels


def _longest_run(present: np.ndarray) -> np.ndarray:
    """Most consecutive True values along each row of a boolean (p, n) array."""
    run = np.zeros(present.shape[0], dtype=np.int64)
    best = np.zeros_like(run)
    for j in range(present.shape[1]):
        run = np.where(present[:, j], run + 1, 0)
        best = np.maximum(best, run)
    return best


def _place_ids(x: np.ndarray, y: np.ndarray, location: np.ndarray) -> list[str]:
    """``"<x>-<y>"`` (metres, rounded); places sharing one get ``-2``, ``-3``... in the order
    of their location text."""
    base = [f"{round(float(a))}-{round(float(b))}" for a, b in zip(x, y, strict=True)]
    order = sorted(range(len(base)), key=lambda i: (base[i], str(location[i])))
    seen: dict[str, int] = {}
    out = list(base)
    for i in order:
        seen[base[i]] = seen.get(base[i], 0) + 1
        if seen[base[i]] > 1:
            out[i] = f"{base[i]}-{seen[base[i]]}"
    return out


def _empty(months: Sequence[str], places_with_asb: int, asb: int,
           parameters: dict[str, Any]) -> PersistentPlaces:
    return PersistentPlaces(pd.DataFrame({c: [] for c in COLUMNS}), tuple(months),
                            places_with_asb, asb, parameters)


def persistent_places(
    x: Any,
    y: Any,
    month: Any,
    category: Any,
    location: Any = None,
    *,
    months: Sequence[str],
    exact_address: Any = None,
    min_months: int = MIN_MONTHS,
    radius_m: float = RADIUS_M,
    address_m: float = ADDRESS_M,
    asb_categories: Sequence[str] = ASB_CATEGORIES,
    limit: int | None = None,
) -> PersistentPlaces:
    """The persistent ASB places of some months (see the module docstring).

    Parameters
    ----------
    x, y
        Incident coordinates, metres in a projected CRS (the results are in the same CRS).
    month
        Each incident's month (``YYYY-MM``, local time); incidents of other months than
        ``months`` are left out.
    category
        Each incident's taxonomy category; those in ``asb_categories`` are ASB, and every
        category counts in the mix around a place.
    location
        Each incident's location text (``On or near High Street``, an address), or None.
    months
        The months looked at, oldest first (``YYYY-MM``): the history has one count each.
    exact_address
        Booleans: True where the incident has an exact address (a force export, grouped by
        location text and ``address_m``), False for a map point (grouped by x, y to the
        metre); None: all map points.
    min_months
        Months with ASB that make a place persistent (1 to ``len(months)``).
    radius_m
        Radius of the nearby repeat locations and of the category mix, metres.
    address_m
        How close incidents with the same text must be to be one exact address, metres.
    asb_categories
        The categories counted as ASB.
    limit
        Describe and return only the best this many places (their nearby places are found
        among all the persistent places); :attr:`PersistentPlaces.persistent` counts them
        all. None: every one.

    Returns
    -------
    PersistentPlaces

    Raises
    ------
    InvalidParameter
        ``months`` empty or repeated, ``min_months`` outside 1 to ``len(months)``,
        ``radius_m`` not positive, ``address_m`` negative, ``limit`` under 1; ``parameter``
        names it.
    InvalidPoints
        Arrays of different lengths, or coordinates not finite.

    Examples
    --------
    >>> r = persistent_places([0, 0, 0, 500], [0, 0, 0, 0], ["2024-01", "2024-02", "2024-02",
    ...                       "2024-01"], ["asb", "asb", "asb", "asb"],
    ...                       months=["2024-01", "2024-02"], min_months=2)
    >>> r.places[["place_id", "months_with_asb", "asb_incidents"]].values.tolist()
    [['0-0', 2, 3]]
    >>> r.places["history"].tolist()
    [[1, 2]]
    """
    months = [str(m) for m in months]
    _check(months, min_months, float(radius_m), float(address_m))
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer))
                              or limit < 1):
        raise InvalidParameter(f"limit must be a whole number of places, 1 or more; got "
                               f"{limit!r}", "limit")
    xs = np.asarray(x, dtype=np.float64).ravel()
    ys = np.asarray(y, dtype=np.float64).ravel()
    mo = np.asarray(month, dtype=object).ravel()
    cat = np.asarray(category, dtype=object).ravel()
    n = len(xs)
    text = (np.full(n, "", dtype=object) if location is None
            else np.asarray(location, dtype=object).ravel())
    exact = (np.zeros(n, dtype=bool) if exact_address is None
             else np.asarray(exact_address, dtype=bool).ravel())
    if not all(len(a) == n for a in (ys, mo, cat, text, exact)):
        raise InvalidPoints("x, y, month, category, location and exact_address must have one "
                            "value per incident (the lengths differ)")
    if n and not (np.isfinite(xs).all() and np.isfinite(ys).all()):
        raise InvalidPoints("coordinates must be finite numbers (metres, projected CRS): "
                            "leave out incidents with no position")
    parameters = {"months": len(months), "min_months": int(min_months),
                  "radius_m": float(radius_m), "address_m": float(address_m),
                  "categories": list(asb_categories)}
    n_months = len(months)
    # strings compared once per distinct value, not once per incident
    m_codes, m_values = pd.factorize(mo)
    known = pd.Index(months).get_indexer(pd.Index([str(v) for v in m_values]))
    m_idx = np.full(n, -1, dtype=np.int64)
    m_idx[m_codes >= 0] = known[m_codes[m_codes >= 0]]
    inside = m_idx >= 0
    text = np.where(pd.isna(text), "", text).astype(object)
    c_codes, c_values = pd.factorize(cat)
    wanted = {str(c) for c in asb_categories}
    asb_codes = [i for i, v in enumerate(c_values) if str(v) in wanted]
    asb = inside & np.isin(c_codes, asb_codes)
    a = np.flatnonzero(asb)
    if not len(a):
        return _empty(months, 0, 0, parameters)
    labels = _place_labels(xs[a], ys[a], text[a], exact[a], float(address_m))
    k = int(labels.max()) + 1
    history = np.bincount(labels * n_months + m_idx[a], minlength=k * n_months) \
        .reshape(k, n_months)
    present = history > 0
    with_asb = present.sum(axis=1)
    keep = np.flatnonzero(with_asb >= min_months)
    if not len(keep):
        return _empty(months, k, len(a), parameters)
    volume = history.sum(axis=1)
    last = n_months - 1 - np.argmax(present[:, ::-1], axis=1)
    first = np.argmax(present, axis=1)
    frame = pd.DataFrame({"label": labels, "x": xs[a], "y": ys[a], "text": text[a],
                          "exact": exact[a]})
    grouped = frame.groupby("label", sort=True)
    px = grouped["x"].mean().to_numpy()
    py = grouped["y"].mean().to_numpy()
    # the text most often given at the place (ties: the first in sort order)
    counts = frame.groupby(["label", "text"]).size().reset_index(name="n") \
        .sort_values(["label", "n", "text"], ascending=[True, False, True])
    ptext = counts.drop_duplicates("label").set_index("label")["text"].reindex(range(k)) \
        .to_numpy()
    pexact = grouped["exact"].first().to_numpy()
    ids = np.asarray(_place_ids(px[keep], py[keep], ptext[keep]), dtype=object)
    # rank: persistence, volume, latest month with ASB, then the id (stable)
    order = np.lexsort((ids, -last[keep], -volume[keep], -with_asb[keep]))
    keep, ids = keep[order], ids[order]
    ranks = np.arange(1, len(keep) + 1)
    nearby = _nearby(px[keep], py[keep], ids, ranks, ptext[keep], float(radius_m), limit)
    total_persistent = len(keep)
    if limit is not None:
        keep, ids, ranks = keep[:limit], ids[:limit], ranks[:limit]
    kx, ky = px[keep], py[keep]
    mix, total = _category_mix(xs[inside], ys[inside], c_codes[inside],
                               [str(v) for v in c_values], kx, ky, float(radius_m))
    places = pd.DataFrame({
        "rank": ranks,
        "place_id": ids,
        "x": kx,
        "y": ky,
        "location": ptext[keep],
        "kind": np.where(pexact[keep], "address", "map_point"),
        "months_with_asb": with_asb[keep].astype(np.int64),
        "asb_incidents": volume[keep].astype(np.int64),
        "first_month": [months[i] for i in first[keep]],
        "last_month": [months[i] for i in last[keep]],
        "longest_run": _longest_run(present[keep]),
        "history": [row.tolist() for row in history[keep]],
        "nearby": nearby,
        "category_mix": mix,
        "incidents_nearby": total,
    }, columns=list(COLUMNS))
    return PersistentPlaces(places, tuple(months), k, len(a), parameters, total_persistent)


def _nearby(x: np.ndarray, y: np.ndarray, ids: np.ndarray, ranks: np.ndarray,
            texts: np.ndarray, radius_m: float, limit: int | None = None
            ) -> list[list[dict[str, Any]]]:
    """For each of the first ``limit`` places (all: None), the other places within
    ``radius_m``, nearest first (ties by rank)."""
    xy = np.column_stack([x, y])
    m = len(x) if limit is None else min(limit, len(x))
    out: list[list[dict[str, Any]]] = [[] for _ in range(m)]
    if not m:
        return out
    found = cKDTree(xy).query_ball_point(xy[:m], r=radius_m)
    sizes = np.fromiter((len(f) for f in found), dtype=np.int64, count=m)
    if not sizes.sum():
        return out
    both = np.column_stack([np.repeat(np.arange(m), sizes),
                            np.concatenate([np.asarray(f, dtype=np.int64) for f in found])])
    both = both[both[:, 0] != both[:, 1]]
    if not len(both):
        return out
    dist = np.hypot(*(xy[both[:, 0]] - xy[both[:, 1]]).T)
    order = np.lexsort((ranks[both[:, 1]], dist, both[:, 0]))
    for i, j, d in zip(both[order, 0], both[order, 1], dist[order], strict=True):
        out[int(i)].append({"place_id": str(ids[j]), "rank": int(ranks[j]),
                            "distance_m": round(float(d), 1), "location": str(texts[j])})
    return out


def _category_mix(x: np.ndarray, y: np.ndarray, codes: np.ndarray, values: list[str],
                  px: np.ndarray, py: np.ndarray, radius_m: float
                  ) -> tuple[list[dict[str, int]], np.ndarray]:
    """For each place, ``{category: incidents within radius_m}`` (largest first, ties by key)
    and the total; ``codes`` index ``values`` (-1: no category, left out); one tree per
    category, counted without listing the pairs."""
    centres = np.column_stack([px, py])
    if len(centres) and len(x):  # only the incidents near some place: far fewer trees to build
        gap, _ = cKDTree(centres).query(np.column_stack([x, y]), distance_upper_bound=radius_m)
        near = np.isfinite(gap)
        x, y, codes = x[near], y[near], codes[near]
    present = sorted({int(c) for c in np.unique(codes) if c >= 0}, key=lambda c: values[c])
    keys = [values[c] for c in present]
    table = np.zeros((len(px), len(keys)), dtype=np.int64)
    for j, code in enumerate(present):
        sel = codes == code
        tree = cKDTree(np.column_stack([x[sel], y[sel]]))
        table[:, j] = tree.query_ball_point(centres, r=radius_m, return_length=True)
    # largest first, ties by key (the keys are sorted and the sort is stable)
    order = np.argsort(-table, axis=1, kind="stable")
    ranked = np.take_along_axis(table, order, axis=1)
    names = np.asarray(keys, dtype=object)[order]
    mixes = [dict(zip(n[:k].tolist(), c[:k].tolist(), strict=True))
             for n, c, k in zip(names, ranked, (ranked > 0).sum(axis=1), strict=True)]
    return mixes, table.sum(axis=1).astype(np.int64)
