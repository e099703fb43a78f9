"""Results and layers written for a GIS desktop: a GeoPackage of named layers, and CSV tables
that carry both British National Grid and WGS84 coordinates.

A GeoPackage layer is written in one projected CRS (the force CRS, EPSG:27700 British National
Grid metres by default), one geometry type per layer: a frame holding points and polygons
together (heritage sites may) becomes one layer per kind, ``<name>_points``, ``<name>_lines``,
``<name>_polygons``; a layer mixing single and multi shapes of one kind is written as multi.
Frames without geometry (the rural-urban lookup) become attribute tables. Every layer's
description (``gpkg_contents.description``, which QGIS shows as the layer's abstract) holds the
``description`` given (the data's attribution), and an ``about`` table lists key/value lines
(attribution, CRS, data version...).

CSV rows carry ``x``, ``y`` (metres in the projected CRS) and ``lon``, ``lat`` (WGS84 degrees,
1e-6) of each feature's point: the point itself, or a point inside an area or on a line
(:func:`shapely.point_on_surface`), never outside it.

Nothing here reads settings or knows the web service; the caller passes what the files say.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from geodata.coords import WGS84
from geodata.errors import GeodataError

BNG = "EPSG:27700"
ABOUT_LAYER = "about"
"""The name of the key/value table every GeoPackage written here holds."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FAMILIES = {"Point": "points", "MultiPoint": "points", "LineString": "lines",
             "LinearRing": "lines", "MultiLineString": "lines", "Polygon": "polygons",
             "MultiPolygon": "polygons"}
_RESERVED = {"fid", "geom", "geometry"}


class InvalidExport(GeodataError, ValueError):
    """Raised when layers cannot be written as asked: a bad layer name, a frame without a CRS,
    a geographic target CRS, a geometry collection, a file that cannot be created."""


@dataclass(frozen=True)
class WrittenLayer:
    """A layer as written: its name, feature count and geometry type (None: a table)."""

    name: str
    features: int
    geometry_type: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {"name": self.name, "features": self.features,
                "geometry_type": self.geometry_type}


def _check_crs(crs: Any) -> CRS:
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise InvalidExport(f"a GeoPackage export is written in a projected CRS (metres), not "
                            f"{target.to_string()}")
    return target


def _text(value: Any) -> Any:
    """A cell a GeoPackage (or CSV) column can hold: lists and dicts as JSON text, numpy
    scalars as Python numbers, NaN kept as missing."""
    if value is None:
        return None
    if isinstance(value, (dict, list, tuple, np.ndarray)):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose attribute columns a GeoPackage can hold: object columns with
    lists or dicts as JSON text, mixed columns as text, booleans with gaps as text, and names
    that GDAL reserves (``fid``, ``geom``) prefixed with ``attr_``. The geometry column is kept
    as it is."""
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    out = frame.copy()
    renames: dict[str, str] = {}
    for c in list(out.columns):
        if c == geometry:
            continue
        col = out[c]
        if col.dtype == object:
            values = [_text(v) for v in col.tolist()]
            kinds = {type(v) for v in values if v is not None}
            if len(kinds) > 1 and not kinds <= {int, float}:
                values = [None if v is None else str(v) for v in values]
            out[c] = pd.Series(values, index=out.index, dtype=object)
        if str(c).lower() in _RESERVED:
            renames[c] = f"attr_{c}"
    return out.rename(columns=renames) if renames else out


def _family_split(name: str, frame: gpd.GeoDataFrame) -> list[tuple[str, gpd.GeoDataFrame]]:
    """``frame`` as one or more (layer name, frame) with one geometry family each."""
    types = frame.geometry.geom_type
    present = types.dropna()
    odd = sorted(set(present) - set(_FAMILIES))
    if odd:
        raise InvalidExport(f"layer {name}: {odd[0]} geometries cannot be written to a "
                            "GeoPackage layer of one type")
    families = types.map(lambda t: _FAMILIES.get(t) if isinstance(t, str) else None)
    kinds = sorted(set(families.dropna()))
    if len(kinds) <= 1:
        return [(name, frame)]
    return [(f"{name}_{k}", frame[families.to_numpy() == k]) for k in kinds]


def _geometry_type(frame: gpd.GeoDataFrame, hint: str | None) -> str:
    """The layer's geometry type: the one type of its shapes, the multi type when single and
    multi shapes are mixed, else ``hint`` (an empty layer), else Unknown."""
    types = set(frame.geometry.geom_type.dropna())
    if not types:
        return hint or "Unknown"
    if hint in _FAMILIES and hint.startswith("Multi") and \
            {_FAMILIES[t] for t in types} == {_FAMILIES[hint]}:
        return hint  # the declared multi type, whether or not this frame has a multi shape
    if len(types) == 1:
        return next(iter(types))
    family = {_FAMILIES[t] for t in types}
    if len(family) == 1:
        return {"points": "MultiPoint", "lines": "MultiLineString",
                "polygons": "MultiPolygon"}[family.pop()]
    return "Unknown"


def write_geopackage(path: str | Path, layers: Mapping[str, pd.DataFrame], *,
                     crs: Any = BNG, description: str = "",
                     about: Mapping[str, Any] | None = None,
                     geometry_types: Mapping[str, str] | None = None,
                     descriptions: Mapping[str, str] | None = None) -> list[WrittenLayer]:
    """Write ``layers`` (name -> GeoDataFrame, or DataFrame for a table) to a new GeoPackage.

    Parameters
    ----------
    path
        The file to write (replaced when it exists).
    layers
        Layer name (letters, digits, underscores; at most 63) -> frame. A GeoDataFrame must
        have a CRS; it is reprojected to ``crs``. Mixed geometry kinds are split into one layer
        per kind (``<name>_points``, ``<name>_lines``, ``<name>_polygons``).
    crs
        The projected CRS of every layer (default EPSG:27700, British National Grid metres).
    description
        Every layer's description (``gpkg_contents.description``): the data's attribution.
    about
        Key/value lines for the ``about`` table (values written as text; lists and dicts as
        JSON); ``attribution`` (``description``) and ``crs`` are added when absent.
    geometry_types
        A layer's geometry type by name (``"MultiPolygon"``...): what an empty layer is
        declared as, and a multi type every frame of that kind is written as.
    descriptions
        A layer's own description by name, instead of ``description`` (a reference layer
        names its source, not the incidents' attribution).

    Returns
    -------
    list of WrittenLayer
        The layers written, in order (the ``about`` table last).

    Raises
    ------
    InvalidExport
        A bad layer name, a frame without a CRS, a geographic ``crs``, a geometry collection,
        a file that cannot be created (no such folder, no permission).
    """
    target = _check_crs(crs)
    for name in layers:
        if not _NAME.match(name) or name == ABOUT_LAYER:
            raise InvalidExport(f"{name!r} cannot name a GeoPackage layer (letters, digits and "
                                f"underscores, at most 63, not {ABOUT_LAYER!r})")
    dest = Path(path)
    if not dest.parent.is_dir():
        raise InvalidExport(f"cannot write {dest}: there is no folder {dest.parent}")
    if dest.exists():
        dest.unlink()
    try:
        return _write_layers(dest, layers, target, description, about, geometry_types,
                             descriptions or {})
    except pyogrio.errors.DataSourceError as exc:  # a file GDAL cannot create or write
        raise InvalidExport(f"cannot write {dest}: {exc}") from None


def _write_layers(dest: Path, layers: Mapping[str, pd.DataFrame], target: CRS,
                  description: str, about: Mapping[str, Any] | None,
                  geometry_types: Mapping[str, str] | None,
                  descriptions: Mapping[str, str]) -> list[WrittenLayer]:
    epsg = target.to_epsg()
    crs_name = f"EPSG:{epsg}" if epsg else target.to_string()
    written: list[WrittenLayer] = []
    for name, frame in layers.items():
        text = descriptions.get(name, description)
        options = {"DESCRIPTION": text} if text else {}
        meta = {"ATTRIBUTION": text} if text else None
        # GeoPackage 1.2, which every GDAL since 2.2 (and so every QGIS in use) reads in full
        first = {} if dest.exists() else {"dataset_options": {"VERSION": "1.2"}}
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
            if frame.crs is None:
                raise InvalidExport(f"layer {name} has no CRS: say what its coordinates are")
            projected = frame.to_crs(target) if not CRS(frame.crs).equals(target) else frame
            for part, piece in _family_split(name, projected):
                gtype = _geometry_type(piece, (geometry_types or {}).get(name))
                plain = plain_columns(piece)
                first = {} if dest.exists() else {"dataset_options": {"VERSION": "1.2"}}
                pyogrio.write_dataframe(
                    plain, dest, layer=part, driver="GPKG", geometry_type=gtype,
                    promote_to_multi=gtype.startswith("Multi"), layer_options=options,
                    layer_metadata=meta, append=dest.exists(), **first)
                written.append(WrittenLayer(part, len(piece), gtype))
        else:
            table = plain_columns(pd.DataFrame(frame))
            pyogrio.write_dataframe(table, dest, layer=name, driver="GPKG",
                                    layer_options=options, layer_metadata=meta,
                                    append=dest.exists(), **first)
            written.append(WrittenLayer(name, len(table), None))
    lines: dict[str, Any] = {"attribution": description, "crs": crs_name,
                             "layers": ", ".join(w.name for w in written)}
    lines.update(dict(about or {}))
    rows = pd.DataFrame({"key": list(lines),
                         "value": [None if v is None else
                                   v if isinstance(v, str) else json.dumps(v, default=str)
                                   for v in lines.values()]})
    pyogrio.write_dataframe(rows, dest, layer=ABOUT_LAYER, driver="GPKG",
                            layer_options={"DESCRIPTION": "What this file holds, its CRS and "
                                           "the data's attribution"},
                            layer_metadata={"ATTRIBUTION": description} if description else None,
                            append=dest.exists(),
                            **({} if dest.exists() else {"dataset_options": {"VERSION": "1.2"}}))
    written.append(WrittenLayer(ABOUT_LAYER, len(rows), None))
    return written


def geopackage_bytes(layers: Mapping[str, pd.DataFrame], **options: Any) -> bytes:
    """The GeoPackage :func:`write_geopackage` writes (same ``options``), as bytes (written to
    a temporary file that is removed)."""
    with tempfile.TemporaryDirectory(prefix="hotspot-gpkg-") as folder:
        path = Path(folder) / "export.gpkg"
        write_geopackage(path, layers, **options)
        return path.read_bytes()


def with_coordinates(frame: gpd.GeoDataFrame, *, crs: Any = BNG) -> pd.DataFrame:
    """The attributes of ``frame`` (no geometry column) with ``x``, ``y`` (metres in ``crs``,
    default EPSG:27700, to 0.1 m) and ``lon``, ``lat`` (WGS84 degrees, to 1e-6) of each
    feature's point: the point itself, else a point inside the area or on the line; empty for
    a missing geometry. Existing columns of those names are replaced.

    Raises
    ------
    InvalidExport
        ``frame`` has no CRS, or ``crs`` is not projected.
    """
    target = _check_crs(crs)
    if frame.crs is None:
        raise InvalidExport("the frame has no CRS: say what its coordinates are")
    geoms = frame.geometry.to_crs(target).to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    points = np.asarray(geoms, dtype=object).copy()
    points[~empty] = shapely.point_on_surface(points[~empty])
    xy = np.full((len(points), 2), np.nan)
    xy[~empty] = shapely.get_coordinates(points[~empty])
    lonlat = np.full((len(points), 2), np.nan)
    if (~empty).any():
        wgs = gpd.GeoSeries(points[~empty], crs=target).to_crs(WGS84)
        lonlat[~empty] = shapely.get_coordinates(wgs.to_numpy())
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name)).drop(
        columns=[c for c in ("x", "y", "lon", "lat") if c in frame.columns])
    table["x"] = np.round(xy[:, 0], 1)
    table["y"] = np.round(xy[:, 1], 1)
    table["lon"] = np.round(lonlat[:, 0], 6)
    table["lat"] = np.round(lonlat[:, 1], 6)
    return table.reset_index(drop=True)


def csv_bytes(frame: pd.DataFrame, *, cell: Callable[[Any], Any] | None = None) -> bytes:
    """``frame`` as CSV (UTF-8, a header line, ``\\n`` line ends): each text cell through
    ``cell`` when given (the service passes its formula guard), then lists and dicts left as
    JSON text."""
    table = frame.copy()
    if cell is not None:
        for c in table.columns:
            col = table[c]
            if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
                table[c] = col.astype(object).map(
                    lambda v: v if v is None or (isinstance(v, float) and math.isnan(v))
                    else cell(v))
    table = plain_columns(table)
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")
