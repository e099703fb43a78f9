"""The PostGIS store: the production store, the same interface as the embedded one.

Layout (``geodata/sql/postgis/*.sql``, applied in order and recorded in ``schema_migrations``):
one row per incident with a point geometry in the force CRS (GiST index) and indexes for the
period and the category; text columns are codes into one ``strings`` dictionary, so a row is
narrow and fixed-width. ``incidents`` is partitioned by ingest: a large ingest is one partition
(its indexes built once, after loading), small ingests share one. The identity of every stored
incident is in ``incident_keys`` (a partitioned table cannot enforce uniqueness across its
partitions). Everything lives in the store's own schema (``hotspot`` by default), so a database
can hold several stores (a force's and a test run's) that never see each other.

Writing: an ingest is one transaction on its own connection, holding the store's advisory lock
(ingests of one store queue, so overlapping uploads at the same moment store each incident
exactly once and never deadlock). The client reads and prepares batch after batch while a
worker thread streams the new incidents into the server by one long binary COPY (built with
numpy, no Python object per row) into a table of the ingest's own with no index; every
:data:`PART_ROWS` incidents that table is sealed — its keys added to ``incident_keys``, its
indexes built once, attached as a partition — while the client reads on, so parsing and the
server's work overlap on two cores. Which incidents are new is asked on a second connection
(an anti-join against ``incident_keys``: what is committed is what was stored before this
ingest, as the lock keeps other writers out; the ingest's own repeats are dropped on the
client), as are the codes of new strings and blocks of row ids. A store with nothing in it
skips those probes and builds the key table's primary key once, at the end. Re-ingesting adds
nothing; a failed or cut-off ingest leaves nothing behind (the transaction rolls back, COPY and
partitions with it).

Layouts: that is the plain layout, for one force's store. A region's store (several forces,
10^7 incidents and more) is made with ``layout="regional"`` (or ``?layout=regional`` in the
URL): ``incidents`` is partitioned by force, then by month, each month's table with its own
indexes, made by the ingest that first meets it, so that a selection of a force and a period
reads only those tables (:mod:`.regional`); a store opened with ``force=`` reads that force's
incidents alone. A plain store holding incidents is converted in place, in one transaction, by
:meth:`PostGISStore.convert_to_regional`. Identities and the ingest's exactly-once rules are
the same in both.

Reading: a selection comes back as one row of ``bytea`` aggregates, one per column, each the
column's binary values end to end (``string_agg(float8send(x), '')``): a million incidents
arrive as a dozen byte strings that numpy reads in place.

Faults: a database that is down or unreachable, or a connection cut mid-way, raise
:class:`~geodata.errors.StoreUnavailable` (the API answers 503); the connection pool checks
connections before use and reconnects on its own when the database is back.

Modules: :mod:`.store` (the store: opening, layers, health), :mod:`.connection` (the pool, the
write lock, migrations), :mod:`.reading` (reading incidents, DBSCAN in the database),
:mod:`.writer` (an ingest's writer), :mod:`.regional` (the regional layout and its writer).
Plans, keys, products and the other plain records are shared with SQLite
(:mod:`geodata.stores._relational`, :mod:`geodata.stores._plan_records`).
"""

from geodata.stores.postgis.connection import DEFAULT_SCHEMA, migration_scripts
from geodata.stores.postgis.store import PostGISStore
from geodata.stores.postgis.writer import CODED, OWN_PARTITION_MIN, PART_ROWS

__all__ = ["CODED", "DEFAULT_SCHEMA", "OWN_PARTITION_MIN", "PART_ROWS", "PostGISStore",
           "migration_scripts"]
