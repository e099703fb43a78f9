"""Loading a neighbouring force's files: a separate, labelled source beside the force's own.

A neighbour's data.police.uk files (or export) are read with the usual readers
(:mod:`geodata.readers`) and kept in the store's neighbour table under a label ("Westmarch
Police"), never with the force's incidents: no analysis of the force reads them, and loading
them changes neither the force's incidents nor its data version. Only the cross-border
analysis reads them, beside the force's own, so that hotspots spanning the force boundary are
found whole. A neighbour's row that the force's own incidents hold (the same Crime ID) is not
stored, and the same row loaded again is not stored twice: nothing is counted twice.

Examples
--------
>>> from geodata.readers import open_reader
>>> reader = open_reader("2024-06-westmarch-street.csv",
...                      options=neighbour_read_options(store))  # doctest: +SKIP
>>> load_neighbour(store, reader, source="Westmarch Police")["counts"]  # doctest: +SKIP
{'records': 120, 'accepted': 117, 'duplicates_of_force': 2, 'repeated': 1, 'rejected': 0}
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import shapely

from geodata.coords import AreaCheck
from geodata.layers import FORCE_BOUNDARY
from geodata.readers.base import IncidentReader, ReadOptions
from geodata.schema import IncidentTable
from geodata.stores._neighbours import check_source

if TYPE_CHECKING:
    from geodata.stores.base import NeighbourStore, Store
    from geodata.taxonomy import Taxonomy, UnknownTypePolicy

NEIGHBOUR_REACH_M = 20_000.0
"""How far beyond the force boundary a neighbour's incidents matter: the widest cross-border
band. The readers' area check keeps every row within this of the boundary (rows well beyond
it, about twice as far, are rejected as outside the area)."""


def neighbour_label(source: str) -> str:
    """A neighbour's label as it is stored (spaces trimmed and collapsed).

    Raises
    ------
    InvalidValue
        If it is empty, "force" (the force's own incidents), longer than 100 characters or
        holds control characters (``field`` ``"source"``).
    """
    return check_source(source)


def neighbour_read_options(store: Store, *, crs: str | None = None,
                           timezone: str | None = None, taxonomy: Taxonomy | None = None,
                           unknown_types: UnknownTypePolicy | None = None) -> ReadOptions:
    """The readers' options for a neighbour's files: the store's CRS and time zone, and an area
    check of the force boundary widened by twice :data:`NEIGHBOUR_REACH_M` (so every row within
    the reach is kept; the check simplifies the widened area by half its width).

    Parameters
    ----------
    store
        The store (its force boundary layer, CRS and time zone).
    crs, timezone
        Instead of the store's.
    taxonomy, unknown_types
        As :class:`~geodata.readers.ReadOptions` takes them (the packaged taxonomy, and
        ``other``, when None).
    """
    crs = crs or store.crs
    timezone = timezone or store.timezone
    layer = store.get_layer(FORCE_BOUNDARY)
    boundary = None if layer is None else shapely.union_all(layer.frame.geometry.values)
    extra: dict[str, Any] = {}
    if unknown_types is not None:
        extra["unknown_types"] = unknown_types
    return ReadOptions(taxonomy=taxonomy, crs=crs, timezone=timezone,
                       area=AreaCheck(crs=crs, boundary=boundary,
                                      buffer_m=2 * NEIGHBOUR_REACH_M), **extra)


def load_neighbour(store: NeighbourStore, reader: IncidentReader, *,
                   source: str) -> dict[str, Any]:
    """Read a neighbour's file and store its incidents under the label ``source``, in one
    transaction.

    Parameters
    ----------
    store
        The store (its neighbour table; the force's own incidents are only looked up, to leave
        out the rows they hold).
    reader
        A reader of the file (:func:`geodata.readers.open_reader`; give it
        :func:`neighbour_read_options` so rows beyond the force boundary are not rejected).
    source
        The neighbour's label ("Westmarch Police"), as the cross-border answers name it.

    Returns
    -------
    dict
        The load report: ``source`` (the label), ``file``, ``format``, ``counts``
        (``records`` read, ``accepted``, ``duplicates_of_force``: rows the force's own
        incidents hold, ``repeated``: rows this neighbour already has or that the file repeats,
        ``rejected``; accepted + duplicates_of_force + repeated + rejected = records, blank
        lines aside), ``rejected_by_reason``, ``read`` (how the file was read),
        ``neighbour_version`` and ``elapsed_s``.

    Raises
    ------
    InvalidFile
        If the file cannot be read at all; nothing is stored.
    InvalidValue
        If ``source`` is not a usable label (``field`` ``"source"``).
    """
    started = time.perf_counter()
    label = check_source(source)
    tables: list[IncidentTable] = []
    rejected: Counter[str] = Counter()
    for chunk in reader:
        if len(chunk.incidents):
            tables.append(chunk.incidents)
        rejected.update(r.reason for r in chunk.rejected)
    table = (IncidentTable.concat(tables) if tables
             else IncidentTable.empty(reader.namespace, reader.options.crs))
    counts = store.add_neighbour_incidents(label, table)
    return {
        "source": label,
        "file": reader.stats.source,
        "format": reader.format,
        "counts": {"records": reader.stats.records, "accepted": counts["accepted"],
                   "duplicates_of_force": counts["duplicates_of_force"],
                   "repeated": counts["repeated"], "rejected": sum(rejected.values())},
        "rejected_by_reason": dict(sorted(rejected.items())),
        "read": reader.stats.to_dict(),
        "neighbour_version": store.neighbour_version(),
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
