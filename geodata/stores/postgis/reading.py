"""The PostGIS store's column readers: a selection of incidents as one row of ``bytea``
aggregates (each column's binary values end to end, read by numpy in place), DBSCAN inside the
database, and pages of records."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from psycopg.types.json import Jsonb

from geodata.coords import lonlat_bounds_in
from geodata.errors import InvalidValue
from geodata.schema import NUMERIC_FIELDS, IncidentColumns, IncidentFilter
from geodata.stores._shared import check_extra_columns, incident_record
from geodata.stores.base import RecordPage, page_bounds
from geodata.stores.postgis.writer import CODED, F4, F8, I2, I4, I8
from geodata.tiles import MAX_FEATURES as MAX_TILE_FEATURES
from geodata.tiles import tile_filter

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import psycopg

READ: dict[str, tuple[str, np.dtype]] = {
    "rid": ("int8send", I8), "x": ("float8send", F8), "y": ("float8send", F8),
    "lon": ("float8send", F8), "lat": ("float8send", F8),
    "occurred_at": ("int8send", I8), "precision": ("int2send", I2),
    "weight": ("float4send", F4), **dict.fromkeys(CODED, ("int4send", I4)),
}
"""How each column travels out: its send function and width."""

class ColumnReader:
    """Reading incidents back (mixed into :class:`PostGISStore`); implements
    :class:`~geodata.stores.base.ClustersInDatabase`."""

    crs: str
    timezone: str
    srid: int | None
    force: str | None
    """The force whose incidents this store reads (``Falls within``), None for all."""

    if TYPE_CHECKING:  # the store's own (see PostGISStore)

        def _connection(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...

        def _version(self, conn: Any) -> str: ...

        def _run(self, conn: Any, name: str, /, **params: Any) -> Any: ...

    def _where(
        self, conn: psycopg.Connection[Any], flt: IncidentFilter
    ) -> tuple[sql.Composable, list[Any]] | None:
        """The WHERE clause of a filter (None when nothing can match)."""
        parts: list[sql.Composable] = [sql.SQL("TRUE")]
        params: list[Any] = []
        if self.force is not None:
            # (a constant the planner sees: in the regional layout it reads one force's tables)
            code = conn.execute("SELECT code FROM strings WHERE value = %s",
                                (self.force,)).fetchone()
            if code is None:
                return None
            parts.append(sql.SQL("force = %s::integer"))
            params.append(int(code[0]))
        if flt.start is not None:
            parts.append(sql.SQL("occurred_at >= %s"))
            params.append(flt.start)
        if flt.end is not None:
            parts.append(sql.SQL("occurred_at < %s"))
            params.append(flt.end)
        if flt.categories is not None:
            codes = [c for (c,) in conn.execute(
                "SELECT code FROM strings WHERE value = ANY(%s)", (list(flt.categories),))]
            if not codes:
                return None
            parts.append(sql.SQL("category = ANY(%s)"))
            params.append(codes)
        boxes = [flt.bbox] if flt.bbox is not None else []
        if flt.lonlat_bbox is not None:
            box = lonlat_bounds_in(flt.lonlat_bbox, self.crs)
            if box is None:  # wholly beyond the CRS's area of use, where nothing is stored
                return None
            boxes.append(box)
            w, s, e, n = flt.lonlat_bbox
            parts.append(sql.SQL("lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s"))
            params += [w, e, s, n]
        for minx, miny, maxx, maxy in boxes:
            parts.append(sql.SQL(
                "geom && ST_MakeEnvelope(%s, %s, %s, %s, %s) "
                "AND x BETWEEN %s AND %s AND y BETWEEN %s AND %s"))
            params += [minx, miny, maxx, maxy, self.srid, minx, maxx, miny, maxy]
        return sql.SQL(" AND ").join(parts), params

    def incidents(
        self, flt: IncidentFilter | None = None, *, extra: Sequence[str] = (),
        lonlat: bool = True,
    ) -> IncidentColumns:
        """Select incidents as columns (see :meth:`Store.incidents`)."""
        flt = flt or IncidentFilter()
        check_extra_columns(extra)
        if "id" in extra:
            raise InvalidValue("the id is not available as a column of the PostGIS store",
                               field="extra")
        names = ["rid", "x", "y", *(["lon", "lat"] if lonlat else []), "occurred_at",
                 "precision", "weight", "category", *[c for c in extra if c != "category"]]
        cols: dict[str, np.ndarray] = {}
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = self._version(conn)
            where = self._where(conn, flt)
            if where is not None:
                query = self._selection(names, where[0])
                with conn.cursor(binary=True) as cur:
                    row = cur.execute(query, where[1]).fetchone()
                assert row is not None
                for c, blob in zip(names, row, strict=True):
                    cols[c] = np.frombuffer(blob, READ[c][1].newbyteorder(">")).astype(
                        READ[c][1])
            else:
                cols = {c: np.empty(0, READ[c][1]) for c in names}
            order = np.argsort(cols["rid"], kind="stable")
            cols = {c: v[order] for c, v in cols.items()}
            coded = ["category", *[c for c in extra if c != "category"]]
            used = np.unique(np.concatenate([cols[c] for c in coded]))
            vocab = dict(conn.execute(
                "SELECT code, value FROM strings WHERE code = ANY(%s)",
                ([int(c) for c in used],)).fetchall())

        def cat(c: str) -> pd.Categorical[str]:
            uniq, inverse = np.unique(cols[c], return_inverse=True)
            return pd.Categorical.from_codes(
                inverse.astype(np.int64), categories=pd.Index([vocab[int(u)] for u in uniq]))

        none = np.empty(0, READ["lon"][1])
        return IncidentColumns(
            x=cols["x"], y=cols["y"], lon=cols.get("lon", none), lat=cols.get("lat", none),
            occurred_at=cols["occurred_at"],
            precision=cols["precision"].astype(NUMERIC_FIELDS["precision"]),
            category=cat("category"), weight=cols["weight"].astype(NUMERIC_FIELDS["weight"]),
            rid=cols["rid"], crs=self.crs, data_version=version,
            extra={c: cat(c) for c in extra},
        )

    def holds_incidents(self, flt: IncidentFilter | None = None) -> bool:
        """Whether any incident matches ``flt`` (see :meth:`Store.holds_incidents`): one
        ``EXISTS`` on the tables the selection would read, none of their rows sent."""
        with self._connection() as conn:
            where = self._where(conn, flt or IncidentFilter())
            if where is None:
                return False
            row = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM incidents WHERE {})")
                               .format(where[0]), where[1]).fetchone()
            return bool(row is not None and row[0])

    def time_span(self, flt: IncidentFilter | None = None) -> tuple[int, int] | None:
        """The earliest and latest ``occurred_at`` of the incidents matching ``flt`` (see
        :meth:`Store.time_span`): one ``min``/``max`` on the tables the selection would read
        (their indexes on ``occurred_at`` answer it), no row sent."""
        with self._connection() as conn:
            where = self._where(conn, flt or IncidentFilter())
            if where is None:
                return None
            row = conn.execute(sql.SQL("SELECT min(occurred_at), max(occurred_at) FROM incidents "
                                       "WHERE {}").format(where[0]), where[1]).fetchone()
        return None if row is None or row[0] is None else (int(row[0]), int(row[1]))

    @staticmethod
    def _selection(names: Sequence[str], where: sql.Composable) -> sql.Composed:
        """The query of a selection's columns ``names``: one row of ``bytea`` aggregates."""
        aggregates = sql.SQL(", ").join(
            sql.SQL("coalesce(string_agg({}({}), ''::bytea), ''::bytea)").format(
                sql.SQL(READ[c][0]), sql.Identifier(c))
            for c in names
        )
        return sql.SQL("SELECT {} FROM incidents WHERE {}").format(aggregates, where)

    def selection_tables(self, flt: IncidentFilter | None = None) -> list[str]:
        """The tables PostgreSQL's plan of a selection (:meth:`incidents`) reads, by name, in
        plan order: in the regional layout, the month tables of the store's force (or of
        every force) that the period overlaps, the others pruned. (For operations and tests:
        ``EXPLAIN`` of the very query :meth:`incidents` runs.)"""
        flt = flt or IncidentFilter()
        with self._connection() as conn, conn.transaction():
            where = self._where(conn, flt)
            if where is None:
                return []
            names = ["rid", "x", "y", "lon", "lat", "occurred_at", "precision", "weight",
                     "category"]
            plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(
                self._selection(names, where[0])), where[1]).fetchone()
        assert plan is not None
        found: list[str] = []

        def walk(node: dict[str, Any]) -> None:
            if "Relation Name" in node:
                found.append(str(node["Relation Name"]))
            for child in node.get("Plans", ()):
                walk(child)

        walk(plan[0][0]["Plan"])
        return found

    def cluster_dbscan(
        self, flt: IncidentFilter | None, *, eps_m: float, min_samples: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """DBSCAN of the selected incidents inside the database (PostGIS's ST_ClusterDBSCAN:
        a point is core with at least ``min_samples`` incidents, itself included, within
        ``eps_m`` metres). Returns ``(rid, label)`` ordered by row id, -1 for noise."""
        flt = flt or IncidentFilter()
        if not (eps_m > 0 and int(min_samples) >= 1):
            raise InvalidValue("eps_m must be > 0 and min_samples >= 1",
                               field="eps_m" if not eps_m > 0 else "min_samples")
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            where = self._where(conn, flt)
            if where is None:
                return np.empty(0, np.int64), np.empty(0, np.int64)
            query = sql.SQL(
                "SELECT coalesce(string_agg(int8send(rid), ''::bytea), ''::bytea), "
                "coalesce(string_agg(int4send(coalesce(cid, -1)), ''::bytea), ''::bytea) "
                "FROM (SELECT rid, ST_ClusterDBSCAN(geom, %s, %s) OVER () AS cid "
                "FROM incidents WHERE {}) AS clustered"
            ).format(where[0])
            with conn.cursor(binary=True) as cur:
                row = cur.execute(query, [float(eps_m), int(min_samples), *where[1]]).fetchone()
        assert row is not None
        rid = np.frombuffer(row[0], ">i8").astype(np.int64)
        label = np.frombuffer(row[1], ">i4").astype(np.int64)
        order = np.argsort(rid, kind="stable")
        return rid[order], label[order]

    def incident_records(
        self, flt: IncidentFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> RecordPage:
        """One page of incidents with every field, ordered by time then row id."""
        flt = flt or IncidentFilter()
        text = ", ".join(f"(SELECT value FROM strings WHERE code = i.{c}) AS {c}" for c in CODED)
        with self._connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            version = self._version(conn)
            where = self._where(conn, flt)
            if where is None:
                return RecordPage(total=0, offset=0, records=[], data_version=version)
            total_row = conn.execute(
                sql.SQL("SELECT count(*) FROM incidents WHERE {}").format(where[0]), where[1]
            ).fetchone()
            total = int(total_row[0]) if total_row else 0
            lo, hi = page_bounds(total, offset, limit)
            rows = conn.execute(
                sql.SQL(
                    "SELECT rid, id, (SELECT value FROM strings WHERE code = i.namespace), "
                    "occurred_at, precision, x, y, lon, lat, weight, " + text
                    + " FROM incidents i WHERE {} ORDER BY occurred_at, rid LIMIT %s OFFSET %s"
                ).format(where[0]),
                [*where[1], hi - lo, lo],
            ).fetchall() if hi > lo else []
        records = [self._record(r) for r in rows]
        return RecordPage(total=total, offset=lo, records=records, data_version=version)

    def _record(self, r: tuple[Any, ...]) -> dict[str, Any]:
        return incident_record(
            rid=r[0], ident=r[1], namespace=r[2], occurred_at=r[3], precision=r[4],
            texts=dict(zip(CODED, r[10:], strict=True)),
            numbers=dict(zip(("x", "y", "lon", "lat", "weight"), r[5:10], strict=True)),
            timezone=self.timezone,
        )

    # -- vector tiles (geodata.tiles.TileStore) --------------------------------------------------

    def incident_tile(self, flt: IncidentFilter, z: int, x: int, y: int, *,
                      limit: int = MAX_TILE_FEATURES) -> tuple[bytes, int]:
        """The incidents of ``flt`` in tile ``z/x/y`` as MVT bytes made by ``ST_AsMVT`` (see
        :meth:`geodata.tiles.TileStore.incident_tile`; ``geodata/sql/queries/tiles.sql``)."""
        narrowed = tile_filter(flt, z, x, y)
        if narrowed is None or narrowed.lonlat_bbox is None:
            return b"", 0
        box = lonlat_bounds_in(narrowed.lonlat_bbox, self.crs)
        if box is None:
            return b"", 0
        if flt.bbox is not None:  # a town's box (force CRS) as well
            box = (max(box[0], flt.bbox[0]), max(box[1], flt.bbox[1]),
                   min(box[2], flt.bbox[2]), min(box[3], flt.bbox[3]))
            if box[0] > box[2] or box[1] > box[3]:
                return b"", 0
        w, s, e, n = narrowed.lonlat_bbox
        with self._connection() as conn, conn.transaction():
            row = self._run(
                conn, "incident_tile", minx=box[0], miny=box[1], maxx=box[2], maxy=box[3],
                srid=self.srid, west=w, south=s, east=e, north=n,
                start=-(2**62) if flt.start is None else int(flt.start),
                end=2**62 if flt.end is None else int(flt.end),
                all_categories=flt.categories is None, categories=list(flt.categories or ()),
                force=self.force, limit=int(limit), z=z, x=x, y=y).fetchone()
        return (bytes(row[0]) if row and row[0] else b""), int(row[1]) if row else 0

    def shapes_tile(self, geometries: Sequence[Any], properties: Mapping[str, Sequence[Any]],
                    z: int, x: int, y: int, *, layer: str) -> bytes:
        """Shapes (EPSG:3857 metres) clipped to tile ``z/x/y`` as MVT bytes made by
        ``ST_AsMVT`` (see :meth:`geodata.tiles.TileStore.shapes_tile`)."""
        geoms = list(geometries)
        if not geoms:
            return b""
        names = list(properties)
        columns = [list(properties[k]) for k in names]
        props = [Jsonb({k: _plain(col[i]) for k, col in zip(names, columns, strict=True)})
                 for i in range(len(geoms))]
        wkb = [shapely.to_wkb(g) for g in geoms]
        with self._connection() as conn:
            row = self._run(conn, "shapes_tile", layer=layer, wkb=wkb, props=props,
                            z=z, x=x, y=y).fetchone()
        return bytes(row[0]) if row and row[0] else b""


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value
