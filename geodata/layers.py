"""Reference layers: force boundary, town centres, built-up areas, the rural-urban lookup,
heritage sites, patrol bases and roads (their speeds: :mod:`geodata.roads`).

Layers are read from GeoJSON, GeoPackage or Shapefile (and, for the lookup and the point
layers, CSV), validated (a CRS, valid non-empty geometries of the right type, the attributes
each kind needs: a clear error names the file and the feature otherwise), reprojected to the
force CRS and kept in the store, so an analysis needs nothing but the store.

The ONS rural-urban classification comes as a CSV keyed by LSOA code, read by
:mod:`geodata.rural_urban`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.coords import AreaCheck
from geodata.errors import InvalidLayer
from geodata.roads import road_speeds
from geodata.rural_urban import read_rural_urban_lookup
from geodata.schema import DEFAULT_CRS

FORCE_BOUNDARY = "force_boundary"
TOWN_CENTRES = "town_centres"
BUILT_UP_AREAS = "built_up_areas"
RURAL_URBAN_LOOKUP = "rural_urban_lookup"
HERITAGE_SITES = "heritage_sites"
PATROL_BASES = "patrol_bases"
ROADS = "roads"

TEAMS = ("town_centre", "rural_crime_team", "both")
"""Teams a patrol base can host."""


@dataclass(frozen=True)
class LayerSpec:
    """What a layer kind must hold."""

    geometry: str | None
    """``"polygon"``, ``"point"``, ``"any"``, or None for a table without geometry."""
    required: tuple[str, ...]
    description: str


LAYER_KINDS: dict[str, LayerSpec] = {
    FORCE_BOUNDARY: LayerSpec("polygon", (), "the force area (dissolved into one shape)"),
    TOWN_CENTRES: LayerSpec("polygon", ("name",), "town-centre polygons with names"),
    BUILT_UP_AREAS: LayerSpec("polygon", (), "built-up areas (outside them is rural)"),
    RURAL_URBAN_LOOKUP: LayerSpec(
        None, ("lsoa_code", "classification"), "LSOA code to ONS rural-urban class (CSV)"
    ),
    HERITAGE_SITES: LayerSpec(
        "any", ("name", "designation"), "heritage sites (points or polygons) with designation"
    ),
    PATROL_BASES: LayerSpec("point", ("name", "team"), "patrol bases and the team each hosts"),
    ROADS: LayerSpec("line", (), "road lines with speeds (km/h), for patrol routes"),
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "site_name", "title", "town", "label"),
    "designation": ("designation", "grade", "listing", "list_type", "type", "category"),
    "team": ("team", "teams", "unit"),
    "lon": ("lon", "long", "longitude", "lng", "x_lon"),
    "lat": ("lat", "latitude", "y_lat"),
    "x": ("easting", "x", "east", "bng_e"),
    "y": ("northing", "y", "north", "bng_n"),
}
@dataclass
class ReferenceLayer:
    """A validated layer in the force CRS.

    ``frame`` is a GeoDataFrame (a DataFrame for the rural-urban lookup) with the columns the
    kind requires (``name``, ``designation``, ``team``, ``lsoa_code``...) and any others the
    source had. ``info`` records what was done on the way in (CRS, repairs, columns used).
    """

    kind: str
    frame: pd.DataFrame
    source: str
    added_at: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)


def _find(columns: Sequence[str], role: str, given: str | None, source: str) -> str | None:
    """The column playing a role: the one ``given`` (which must exist), else the first of the
    role's usual names (ignoring case), else None."""
    if given:
        for c in columns:
            if c == given or c.casefold() == given.casefold():
                return c
        raise InvalidLayer(f"{source}: no column {given!r}; columns are {list(columns)}")
    lowered = {c.casefold(): c for c in columns}
    for alias in _ALIASES.get(role, (role,)):
        if alias in lowered:
            return lowered[alias]
    if role == "name":  # ONS files name their name column like LAD21NM, BUA22NM
        for c in columns:
            if c.upper().endswith("NM") and not c.upper().endswith("NMW"):
                return c
    return None


def _label(frame: pd.DataFrame, i: int) -> str:
    """Name the i-th row of a frame by its feature number in the file (1-based) and its name."""
    name = frame["name"].iloc[i] if "name" in frame.columns else None
    at = frame.index[i]
    number = int(at) + 1 if isinstance(at, (int, np.integer)) else i + 1
    return f"feature {number}" + (f" ({name!r})" if isinstance(name, str) and name else "")


def _read_frame(path: Path, *, crs: str | None, layer: str | None) -> gpd.GeoDataFrame:
    """A layer file as a frame with a CRS: GeoJSON, GeoPackage or Shapefile, or a CSV of points
    (longitude/latitude, or eastings/northings in ``crs``)."""
    source = path.name
    if path.suffix.lower() == ".csv":
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise InvalidLayer(f"{source}: cannot read the CSV: {exc}") from exc
        cols = list(table.columns)
        lon, lat = _find(cols, "lon", None, source), _find(cols, "lat", None, source)
        x, y = _find(cols, "x", None, source), _find(cols, "y", None, source)
        if lon and lat:
            a, b, src_crs = table[lon], table[lat], crs or "EPSG:4326"
        elif x and y:
            a, b, src_crs = table[x], table[y], crs or DEFAULT_CRS
        else:
            raise InvalidLayer(
                f"{source}: a CSV layer needs longitude/latitude or easting/northing columns; "
                f"columns are {cols}"
            )
        xs = pd.to_numeric(a, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        ys = pd.to_numeric(b, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)))
        if bad.size:
            i = int(bad[0])
            raise InvalidLayer(
                f"{source}: row {i + 2} has no usable coordinates ({a.iloc[i]!r}, {b.iloc[i]!r})"
                + (f" and {bad.size - 1} more rows" if bad.size > 1 else "")
            )
        used = [lon, lat] if lon and lat else [x, y]
        rest = table.drop(columns=used)
        return gpd.GeoDataFrame(rest, geometry=gpd.points_from_xy(xs, ys), crs=src_crs)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, layer=layer)
    except Exception as exc:  # pyogrio raises its own DataSourceError family
        raise InvalidLayer(f"{source}: cannot read it as a GIS file: {exc}") from exc
    if crs:
        frame = frame.set_crs(crs, allow_override=True)
    if frame.crs is None:
        raise InvalidLayer(
            f"{source}: the file has no CRS; say which it is (for example --crs EPSG:27700)"
        )
    return frame


def read_layer(
    kind: str,
    path: str | Path,
    *,
    force_crs: str = DEFAULT_CRS,
    name_column: str | None = None,
    designation_column: str | None = None,
    team_column: str | None = None,
    crs: str | None = None,
    layer: str | None = None,
    repair: bool = False,
    select: tuple[str, Sequence[str]] | None = None,
) -> ReferenceLayer:
    """Read, validate and reproject a reference layer.

    Parameters
    ----------
    kind
        One of :data:`LAYER_KINDS`.
    path
        GeoJSON, GeoPackage, Shapefile, or CSV (lookup and point layers).
    force_crs
        The store's CRS (projected, metres); geometries are reprojected to it.
    name_column, designation_column, team_column
        Columns to use when the usual names (name, designation or grade, team) are absent.
    crs
        The source CRS when the file has none (or a CSV's coordinates are not the default).
    layer
        The layer of a multi-layer file (GeoPackage).
    repair
        Repair invalid geometries with ``shapely.make_valid`` instead of refusing them; the
        repaired features are listed in ``info["repaired"]``.
    select
        ``(column, values)``: keep only the features whose column holds one of the values
        (for example the districts that make up a force area).

    Raises
    ------
    InvalidLayer
        Naming the file and the feature at fault: no CRS, empty or invalid geometry, wrong
        geometry type, a required attribute missing.
    """
    if kind not in LAYER_KINDS:
        raise InvalidLayer(f"unknown layer kind {kind!r}; kinds are {', '.join(LAYER_KINDS)}")
    p = Path(path)
    if not p.is_file():
        raise InvalidLayer(f"no such file: {p}")
    if kind == RURAL_URBAN_LOOKUP:
        lookup, read = read_rural_urban_lookup(p)
        return ReferenceLayer(kind=RURAL_URBAN_LOOKUP, frame=lookup, source=p.name, info=read)
    source = p.name
    frame = _read_frame(p, crs=crs, layer=layer)
    info: dict[str, Any] = {"source_crs": CRS.from_user_input(frame.crs).to_string()}
    if select is not None:
        frame = _select_features(frame, select, source, info)
    if len(frame) == 0:
        raise InvalidLayer(f"{source}: the layer has no features")
    frame = _check_attributes(frame, kind, source, info,
                              {"name": name_column, "designation": designation_column,
                               "team": team_column})
    _check_geometries(frame, kind, source, info, repair=repair)
    frame = frame.to_crs(force_crs)
    if kind == ROADS:
        frame["speed_kph"] = road_speeds(frame, source, info)
    if kind == FORCE_BOUNDARY:
        frame = _dissolve(frame, force_crs, info)
    frame = frame.reset_index(drop=True)
    info["features"] = len(frame)
    info["bounds"] = [round(float(v), 1) for v in frame.total_bounds]
    return ReferenceLayer(kind=kind, frame=frame, source=source, info=info)


def _select_features(frame: gpd.GeoDataFrame, select: tuple[str, Sequence[str]], source: str,
                     info: dict[str, Any]) -> gpd.GeoDataFrame:
    """Keep the features whose ``select`` column holds one of its values (each value must be
    found)."""
    column, values = select
    found = _find([c for c in frame.columns if c != frame.geometry.name], column, column, source)
    wanted = {str(v).strip() for v in values}
    frame = frame[frame[found].astype(str).str.strip().isin(wanted)].copy()
    missing = wanted - set(frame[found].astype(str).str.strip())
    if missing:
        raise InvalidLayer(f"{source}: no feature has {found} = {', '.join(sorted(missing))}")
    info["selected"] = {"column": found, "values": sorted(wanted)}
    return frame


def _check_attributes(frame: gpd.GeoDataFrame, kind: str, source: str, info: dict[str, Any],
                      given: dict[str, str | None]) -> gpd.GeoDataFrame:
    """Find the name, designation and team columns (``given`` by the caller, else by their usual
    names), rename them to those roles, and refuse a feature with a required one blank."""
    spec = LAYER_KINDS[kind]
    cols = [c for c in frame.columns if c != frame.geometry.name]
    renames: dict[str, str] = {}
    for role in ("name", "designation", "team"):
        needed = role in spec.required
        wanted = given[role]
        found = _find(cols, role, wanted, source) if (needed or wanted or role == "name") else None
        if found is None:
            if needed:
                raise InvalidLayer(
                    f"{source}: a {kind} layer needs a {role} column (give one with "
                    f"--{role}-column); columns are {cols}"
                )
            continue
        renames[found] = role
        info[f"{role}_column"] = found
    frame = frame.drop(columns=[v for k, v in renames.items() if v in frame.columns and k != v])
    frame = frame.rename(columns=renames)
    if kind == HERITAGE_SITES:
        _name_unnamed_sites(frame, cols, info)
    for role in spec.required:
        values = frame[role]
        blank = values.isna() | (values.astype(str).str.strip() == "")
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise InvalidLayer(f"{source}: {_label(frame, i)} has no {role}")
    if info.get("designation_column", "").casefold() == "grade":
        frame["designation"] = "Listed building, grade " + frame["designation"].astype(str)
    if kind == PATROL_BASES:
        frame["team"] = [_team(t, source, frame, i) for i, t in enumerate(frame["team"])]
    return frame


_GEOMETRY_TYPE_IDS = {"polygon": {3, 6}, "point": {0}, "line": {1, 5},
                      "any": {0, 1, 2, 3, 4, 5, 6}}
"""Shapely type ids each layer geometry accepts (single and multi parts)."""


def _check_geometries(frame: gpd.GeoDataFrame, kind: str, source: str, info: dict[str, Any], *,
                      repair: bool) -> None:
    """Refuse a missing or empty geometry or one of the wrong type; refuse invalid geometries,
    or with ``repair`` make them valid in place (listed in ``info["repaired"]``)."""
    spec = LAYER_KINDS[kind]
    geoms = frame.geometry.values
    empty = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if empty.size:
        raise InvalidLayer(f"{source}: {_label(frame, int(empty[0]))} has no geometry")
    types = np.asarray(shapely.get_type_id(geoms))
    allowed = _GEOMETRY_TYPE_IDS[spec.geometry or "any"]
    wrong = np.flatnonzero(~np.isin(types, list(allowed)))
    if wrong.size:
        i = int(wrong[0])
        raise InvalidLayer(
            f"{source}: {_label(frame, i)} is a {geoms[i].geom_type}; a {kind} layer needs "
            f"{spec.geometry}s"
        )
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if not invalid.size:
        return
    if not repair:
        i = int(invalid[0])
        raise InvalidLayer(
            f"{source}: {_label(frame, i)} has an invalid geometry "
            f"({shapely.is_valid_reason(geoms[i])})"
            + (f"; {invalid.size - 1} more are invalid" if invalid.size > 1 else "")
            + "; repair them with --repair (shapely.make_valid)"
        )
    info["repaired"] = [
        {"feature": int(frame.index[i]) + 1, "reason": shapely.is_valid_reason(geoms[i])}
        for i in invalid
    ]
    fixed = shapely.make_valid(geoms[invalid])
    if spec.geometry == "polygon":
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
    frame.loc[frame.index[invalid], frame.geometry.name] = fixed


def _dissolve(frame: gpd.GeoDataFrame, force_crs: str, info: dict[str, Any]) -> gpd.GeoDataFrame:
    """The force boundary as one feature: the union of the given ones, named if there was one."""
    info["dissolved_from"] = len(frame)
    merged = shapely.union_all(frame.geometry.values)
    return gpd.GeoDataFrame(
        {"name": [str(frame["name"].iloc[0]) if "name" in frame.columns and len(frame) == 1
                  else "force area"]},
        geometry=[merged],
        crs=force_crs,
    )


_REFERENCE_COLUMNS = ("list_entry", "listentry", "list_entry_number", "desig_id", "reference",
                      "ref", "pref_ref", "object_id", "id")


def _name_unnamed_sites(frame: pd.DataFrame, cols: Sequence[str], info: dict[str, Any]) -> None:
    """Name heritage sites that have no name after their designation and list reference.

    Real lists leave many names blank (half of York's listed buildings); the list entry
    reference identifies them on Historic England's list.
    """
    blank = frame["name"].isna() | (frame["name"].astype(str).str.strip() == "")
    if not blank.any():
        return
    lowered = {c.casefold(): c for c in cols}
    ref = next((lowered[c] for c in _REFERENCE_COLUMNS if c in lowered), None)
    if ref is None or ref not in frame.columns:
        return  # the required-attribute check reports the first unnamed feature
    refs = frame.loc[blank, ref].astype(str).str.strip()
    grade = frame.loc[blank, "designation"].astype(str).str.strip()
    frame.loc[blank, "name"] = (grade.where(grade != "", "Heritage site") + " " + refs).str.strip()
    info["named_from_reference"] = {"column": ref, "features": int(blank.sum())}


def _polygonal(geom: Any) -> Any:
    """Keep the polygonal part of a repaired geometry (make_valid may add lines or points)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geom


def _team(value: Any, source: str, frame: pd.DataFrame, i: int) -> str:
    """A patrol base's team as one of :data:`TEAMS`, from the ways forces write it."""
    text = str(value).strip().casefold().replace("-", " ").replace("_", " ")
    if "rural" in text:
        return "rural_crime_team" if "town" not in text else "both"
    if "town" in text or "centre" in text or "center" in text:
        return "town_centre"
    if text in ("both", "all"):
        return "both"
    raise InvalidLayer(
        f"{source}: {_label(frame, i)} has team {value!r}; use one of {', '.join(TEAMS)}"
    )


def frame_from_rows(kind: str, rows: list[tuple[Any, str, bytes | None]], crs: str) -> pd.DataFrame:
    """Rebuild a layer's frame from stored ``(name, properties JSON, WKB)`` rows."""
    props = pd.DataFrame([json.loads(r[1]) for r in rows])
    names = [r[0] for r in rows]
    if LAYER_KINDS[kind].geometry is None:
        if names and any(n is not None for n in names):
            props.insert(0, "name", names)
        return props
    props.insert(0, "name", names)
    geoms = shapely.from_wkb(np.array([r[2] for r in rows], dtype=object))
    return gpd.GeoDataFrame(props, geometry=geoms, crs=crs)


def force_area(store: Any, buffer_m: float) -> AreaCheck:
    """The area check for a store: its force boundary plus ``buffer_m`` metres, if it has one."""
    layer = store.get_layer(FORCE_BOUNDARY)
    boundary = None if layer is None else shapely.union_all(layer.frame.geometry.values)
    return AreaCheck(crs=store.crs, boundary=boundary, buffer_m=buffer_m)
