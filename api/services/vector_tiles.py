"""Vector tiles of the planner's selection: its incidents (exact points: staff only) and the
contour bands of its density surface, as Mapbox vector tiles on the web map's XYZ grid
(:mod:`geodata.tiles`). The store makes them: PostGIS with ``ST_AsMVT``, the embedded store
with mapbox-vector-tile. The planner's map draws a layer from tiles when it holds more than
:data:`TILED_ABOVE` features (a page of GeoJSON points gets slow beyond that)."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.service_errors import InvalidInput
from api.services.hotspot_query import HotspotQuery, selection_of
from api.services.hotspot_results import DensityComputed, computed_density
from geodata.stores import Store
from geodata.taxonomy import Taxonomy
from geodata.tiles import DENSITY, MAX_FEATURES, TileStore, check_tile
from maps.density import density_bands
from maps.hotspot_map import INCIDENT_TILES_ABOVE

TILED_ABOVE = INCIDENT_TILES_ABOVE
"""The planner's map draws the incidents from vector tiles above this many (GeoJSON below)."""
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MIN_GZIP_BYTES = 1024
"""Tiles smaller than this go uncompressed."""


@dataclass(frozen=True)
class Tile:
    """One tile's bytes (uncompressed MVT; empty: no features) and whether it was thinned
    (more than :data:`geodata.tiles.MAX_FEATURES` incidents in it)."""

    data: bytes
    truncated: bool = False


def checked_tile(z: int, x: int, y: int) -> None:
    """422 naming ``x`` or ``y`` (``z`` is bounded by the route) when the tile is off the grid."""
    try:
        check_tile(z, x, y)
    except ValueError as exc:
        field = str(exc).split(" ", 1)[0]
        raise InvalidInput(str(exc), field=field if field in ("z", "x", "y") else "z") from exc


def _tile_store(store: Store) -> TileStore:
    if not isinstance(store, TileStore):  # every store of the service is one
        raise TypeError(f"{type(store).__name__} makes no vector tiles")
    return store


def incident_tile(store: Store, taxonomy: Taxonomy, q: HotspotQuery,
                  z: int, x: int, y: int) -> Tile:
    """The incidents of the query's selection (period, categories or priority, box or town)
    in tile ``z/x/y``: points placed by their WGS84 longitude/latitude, with their category,
    crime type and ``occurred_at`` (seconds since the epoch, UTC). 422 for a bad parameter."""
    flt = selection_of(q, store).incident_filter(taxonomy)
    data, count = _tile_store(store).incident_tile(flt, z, x, y, limit=MAX_FEATURES)
    return Tile(data, truncated=count > MAX_FEATURES)


def _bands_3857(computed: DensityComputed, bands: int, max_cells: int | None) -> gpd.GeoDataFrame:
    """The contour bands in Web Mercator metres; 422 over the cell limit (as GeoJSON bands)."""
    cells = int(np.count_nonzero(computed.grid.values > 0)) // 2
    if max_cells is not None and cells > max_cells:
        raise InvalidInput(f"contour bands of this surface would merge {cells:,} cells, more than "
                           f"the limit of {max_cells:,} (HOTSPOT_MAX_HOTSPOT_CELLS): use a larger "
                           "cell_size_m", field="cell_size_m")
    return density_bands(computed.grid, bands=bands).to_crs("EPSG:3857")


async def density_tile(request: Request, store: Store, taxonomy: Taxonomy, q: HotspotQuery,
                       bands: int, z: int, x: int, y: int) -> tuple[Tile, str]:
    """The density surface's contour bands in tile ``z/x/y`` (properties ``band``, ``lower``
    and ``upper`` in incidents per km2), and the data version. The bands are made once per
    (data version, query) and kept in the cache; each tile clips them."""
    computed, version = await computed_density(request, store, taxonomy, q)
    limit = request.app.state.settings.max_hotspot_cells
    frame: gpd.GeoDataFrame = await request.app.state.cache.get(
        ("bands-3857", version, q.key(), bands), lambda: _bands_3857(computed, bands, limit))
    props: dict[str, Any] = {"band": frame["band"].to_numpy(), "lower": frame["lower"].to_numpy(),
                             "upper": frame["upper"].to_numpy()}
    data = await run_in_threadpool(_tile_store(store).shapes_tile, list(frame.geometry.values),
                                   props, z, x, y, layer=DENSITY)
    return Tile(data), version


def tile_body(tile: Tile, accept_encoding: str) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers: gzip when the client takes it and the tile is
    worth it; ``X-Tile-Truncated: true`` when the tile was thinned."""
    headers: dict[str, str] = {"Vary": "Accept-Encoding"}
    if tile.truncated:
        headers["X-Tile-Truncated"] = "true"
    if len(tile.data) >= MIN_GZIP_BYTES and "gzip" in accept_encoding:
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(tile.data, compresslevel=5), headers
    return tile.data, headers
