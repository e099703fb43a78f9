"""Stop and search records (data.police.uk ``*-stop-and-search.csv``) and crime outcomes
(``*-outcomes.csv``) applied to stored incidents, written once for both stores (SQL in
``geodata/sql/queries/stop_search.sql``)."""

from __future__ import annotations

from geodata.stores._relational import SQLRunner


class StopSearchRecords(SQLRunner):
    """:class:`~geodata.stores.base.StopSearchStore` over a store's connections."""
