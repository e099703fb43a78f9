"""Saved hotspot presets (a planner names a method, priority, period and parameters, or
``method=auto``), written once for both stores (SQL in ``geodata/sql/queries/presets.sql``).
The OGC API serves each preset's hotspots as a collection."""

from __future__ import annotations

from geodata.stores._relational import SQLRunner


class PresetRecords(SQLRunner):
    """:class:`~geodata.stores.base.PresetStore` over a store's connections."""
