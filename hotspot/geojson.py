"""A hotspot table as RFC 7946 GeoJSON: WGS84 longitude/latitude, every column a property.

:func:`feature_collection` writes the table :func:`hotspot.analysis.analyse` returns (any
projected CRS in) as a FeatureCollection, with the analysis's metadata as plain JSON data.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import shapely
from shapely.geometry import mapping

from hotspot.cancel import EVERY, ShouldStop, check
from hotspot.points import to_wgs84


def _json_value(value: Any) -> Any:
    """``value`` as plain JSON data: numpy numbers and arrays as Python ones, NaN and
    infinity as None, keys as strings."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def wgs84_geometries(geoms: np.ndarray, crs: Any) -> list[dict[str, Any]]:
    """GeoJSON geometries (``shapely.geometry.mapping``'s, with lists) of polygons in the
    projected ``crs``, in WGS84 longitude/latitude with 1e-7 degree precision: what
    :func:`feature_collection` writes for a table of them."""
    if geoms.size == 0:
        return []
    return _geometries(rounded(_in_wgs84(geoms, crs), 1e-7))


def wgs84_geometry_json(geoms: np.ndarray, crs: Any) -> list[bytes]:
    """:func:`wgs84_geometries` as JSON text, one compact UTF-8 document a geometry (what
    ``orjson.dumps`` writes of each), made from the coordinate arrays without a Python float
    for each coordinate: a third of the time for the thousands of places of an answer at
    10^6 incidents (117,000 coordinates: 0.056 -> 0.020 s). :func:`feature_collection` takes
    them as they are (``geometries``)."""
    if geoms.size == 0:
        return []
    return _geometry_json(rounded(_in_wgs84(geoms, crs), 1e-7))


def _in_wgs84(geoms: np.ndarray, crs: Any) -> np.ndarray:
    """``geoms`` (in the projected ``crs``) in WGS84 longitude/latitude: what geopandas'
    ``to_crs("EPSG:4326")`` gives, with the transformation made once for each CRS."""
    transformer = to_wgs84(crs)

    def lonlat(xy: np.ndarray) -> np.ndarray:
        lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return np.asarray(shapely.transform(geoms, lonlat), dtype=object)


def rounded(geoms: np.ndarray, grid_size: float) -> np.ndarray:
    """Polygons with their coordinates rounded to multiples of ``grid_size`` (in their CRS's
    units: 1e-7 degrees is about 1 cm) and their rings as RFC 7946 (section 3.1.6) has them:
    exterior rings counter-clockwise, holes clockwise.

    Each coordinate is rounded on its own, and only a polygon that this leaves invalid (a
    sliver whose edges now cross) is rounded again by ``shapely.set_precision``'s valid-output
    mode, which re-nodes it (and repairs a polygon that came in invalid): the shapes that mode
    gives every polygon (equal as point sets, but for slivers narrower than a grid cell that
    it drops and this keeps: 12 of 10,194 places in a review, 0.003 m2 each), at a tenth of
    its time for the thousands of discs an answer draws. Empty geometries stay as they are."""
    out = np.asarray(shapely.set_precision(geoms, grid_size, mode="pointwise"), dtype=object)
    broken = np.flatnonzero(~np.asarray(shapely.is_valid(out)))
    if broken.size:
        out[broken] = shapely.set_precision(geoms[broken], grid_size)
    empty = np.flatnonzero(np.asarray(shapely.is_empty(geoms)))
    out[empty] = geoms[empty]  # pointwise makes an empty polygon an empty ring
    return np.asarray(shapely.orient_polygons(out, exterior_cw=False), dtype=object)


def feature_collection(table: gpd.GeoDataFrame, metadata: dict[str, Any], *,
                       should_stop: ShouldStop | None = None,
                       geometries: list[dict[str, Any]] | list[bytes] | None = None,
                       fragments: bool = False) -> dict[str, Any]:
    """A hotspot table as an RFC 7946 FeatureCollection (WGS84, no ``crs`` member);
    ``should_stop`` is checked every :data:`hotspot.cancel.EVERY` features. ``geometries``:
    the rows' :func:`wgs84_geometries` or :func:`wgs84_geometry_json`, when made already
    (else made here). With ``fragments``, each geometry is an ``orjson.Fragment`` of its JSON
    text, which ``orjson.dumps`` writes as it is (the collection is then for orjson alone);
    without, plain JSON data.

    Column by column: each column is made plain JSON data once (numbers as Python numbers,
    NaN and infinity as None; object cells only walked when they hold something that is not
    plain already), and the polygons' coordinates come from one ``shapely.get_coordinates``
    call, split into rings and parts: the same data as ``shapely.geometry.mapping`` of each
    shape with :func:`_json_value` of each property, in a fraction of the time."""
    if geometries is not None and len(geometries) != len(table):
        raise ValueError(f"{len(geometries)} geometries for {len(table)} rows")
    shapes: list[Any] = (list(geometries) if geometries is not None else wgs84_geometry_json(
        np.asarray(table.geometry.values, dtype=object), table.crs))
    if shapes and isinstance(shapes[0], bytes):
        shapes = [orjson.Fragment(g) if fragments else orjson.loads(g) for g in shapes]
    elif fragments:
        shapes = [orjson.Fragment(orjson.dumps(g)) for g in shapes]
    columns = [c for c in table.columns if c != table.geometry.name]
    values = {c: _json_column(table[c]) for c in columns}
    ids = values["id"] if "id" in values else table["id"].tolist()
    # each row's properties zipped from the columns' cells (in C, not looked up cell by cell)
    rows = zip(*(values[c] for c in columns), strict=True)  # (an id column at least)
    features = []
    for i, row in enumerate(rows):
        if i % EVERY == 0:
            check(should_stop, "while writing GeoJSON")
        features.append({
            "type": "Feature",
            "id": ids[i],
            "geometry": shapes[i],
            "properties": dict(zip(columns, row, strict=True)),
        })
    return {"type": "FeatureCollection", "features": features,
            "metadata": _json_value(metadata)}


_PLAIN = frozenset((str, int, bool, type(None)))
_PLAIN_OR_FLOAT = _PLAIN | {float}


def _plain(value: Any) -> bool:
    """Whether ``value`` is plain JSON data already: str, int, bool, None, finite floats, and
    lists and str-keyed dicts of those."""
    t = type(value)
    if t in _PLAIN:
        return True
    if t is float:
        return math.isfinite(value)
    if t is list:
        return _plain_items(value)
    if t is dict:
        return set(map(type, value)) <= {str} and _plain_items(list(value.values()))
    return False


def _plain_items(items: list[Any]) -> bool:
    """:func:`_plain` of every item: the kinds of the items first (in C), so that a list of
    numbers or strings (an hour profile's 24 counts) is not walked item by item in Python,
    nor a list of such lists (a week's profile, 7 x 24) list by list."""
    kinds = set(map(type, items))
    if kinds <= _PLAIN:
        return True
    if kinds <= _PLAIN_OR_FLOAT:
        return all(math.isfinite(v) for v in items if type(v) is float)
    chain = itertools.chain.from_iterable
    if kinds == {list}:
        return _plain_items(list(chain(items)))
    if kinds == {dict}:  # (a category mix a hotspot): their keys, then their values
        return (set(map(type, chain(items))) <= {str}
                and _plain_items(list(chain(d.values() for d in items))))
    return all(map(_plain, items))


def _json_column(column: Any) -> list[Any]:
    """A column's cells as plain JSON data (:func:`_json_value` of each cell)."""
    values = column.to_numpy()
    if values.dtype.kind in "iub":
        return list(values.tolist())
    if values.dtype.kind == "f":
        out = values.tolist()
        bad = ~np.isfinite(values)
        for i in np.flatnonzero(bad):
            out[i] = None
        return list(out)
    cells = values.tolist()
    if _plain_items(cells):  # the whole column at once, kind by kind (most are)
        return cells
    return [v if _plain(v) else _json_value(v) for v in cells]


def _geometry_json(geoms: np.ndarray) -> list[bytes]:
    """``orjson.dumps`` of :func:`_geometries` of each geometry (the same bytes): polygons and
    multipolygons from their coordinate arrays (orjson writes a float64 array as it writes
    the same floats in a list), the others by ``mapping``."""
    out: list[bytes] = []
    for kind, g, rings in _polygon_rings(geoms):
        if kind == 3:
            out.append(orjson.dumps({"type": "Polygon", "coordinates": rings[0]},
                                    option=orjson.OPT_SERIALIZE_NUMPY))
        elif kind == 6:
            out.append(orjson.dumps({"type": "MultiPolygon", "coordinates": rings},
                                    option=orjson.OPT_SERIALIZE_NUMPY))
        else:
            out.append(orjson.dumps(mapping(g)))
    return out


def _polygon_rings(geoms: np.ndarray) -> list[tuple[int, Any, list[list[np.ndarray]]]]:
    """For each geometry: its shapely type id, itself, and for a polygon or multipolygon (not
    empty, no Z) its parts' rings' coordinates ((k, 2) views of one array), else [] (type id
    -1: for ``mapping``)."""
    kind = shapely.get_type_id(geoms)
    simple = ((kind == 3) | (kind == 6)) & ~shapely.is_empty(geoms) & ~shapely.has_z(geoms)
    out: list[tuple[int, Any, list[list[np.ndarray]]]] = [
        (int(k) if s else -1, g, []) for k, g, s in zip(kind.tolist(), geoms.tolist(),
                                                        simple.tolist(), strict=True)]
    at = np.flatnonzero(simple)
    if at.size == 0:
        return out
    parts, part_of = shapely.get_parts(geoms[at], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    ring_end = np.searchsorted(coord_of, np.arange(rings.size), side="right").tolist()
    part_end = np.searchsorted(ring_of, np.arange(parts.size), side="right").tolist()
    geom_end = np.searchsorted(part_of, np.arange(at.size), side="right").tolist()
    ring_arrays = []
    start = 0
    for end in ring_end:
        ring_arrays.append(coords[start:end])
        start = end
    part_lists = []
    start = 0
    for end in part_end:
        part_lists.append(ring_arrays[start:end])
        start = end
    start = 0
    for j, end in enumerate(geom_end):
        g = int(at[j])
        out[g] = (out[g][0], out[g][1], part_lists[start:end])
        start = end
    return out


def _geometries(geoms: np.ndarray) -> list[dict[str, Any]]:
    """``shapely.geometry.mapping`` of each geometry, with lists for its tuples (the same
    JSON): :func:`_geometry_json` read back (the same floats: orjson writes each float's
    shortest exact form), faster than making each coordinate's list in Python."""
    return [orjson.loads(g) for g in _geometry_json(geoms)]
