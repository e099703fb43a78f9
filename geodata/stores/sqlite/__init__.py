"""The embedded store: one SQLite file, incidents kept as column blocks under an R*Tree.

Why blocks rather than one table row per incident: reading a million incidents back through
``sqlite3`` one row at a time costs about a second in tuple-building alone, and inserting them
with a unique index on a random 128-bit key costs seven. Here each ingest writes its new
incidents as blocks of up to :data:`BLOCK_ROWS` rows, ordered along a Morton (Z-order) curve so
every block covers a compact area; each column of a block is one BLOB (numbers as raw arrays,
text dictionary-encoded). The R*Tree indexes the blocks' bounding boxes and each block records
its time range, so a query reads only the blocks it can match and then filters rows with numpy.

Identity: an incident is the BLAKE2b-128 hash of its namespace and id. Each ingest loads the
stored keys (16 bytes an incident) inside its write transaction, so duplicates are found with
two binary searches per batch and no other writer can slip in between.

Durability: WAL journal, ``synchronous=FULL``, one transaction per ingest. A failed or killed
ingest leaves the file exactly as it was.

Modules: :mod:`.store` (the store: opening, layers, health), :mod:`.connection` (connections,
transactions, migrations), :mod:`.blocks` (reading incidents), :mod:`.writer` (an ingest's
writer). Plans, keys, products and the other plain records are shared with PostGIS
(:mod:`geodata.stores._relational`, :mod:`geodata.stores._plan_records`).
"""

from geodata.stores.sqlite.store import SQLiteStore
from geodata.stores.sqlite.writer import BLOCK_ROWS

__all__ = ["BLOCK_ROWS", "SQLiteStore"]
