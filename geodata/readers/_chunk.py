"""Assembling a chunk: the checks every reader shares, derived ids, and the IncidentTable.

:func:`finish_chunk` takes a chunk's fields (:class:`ChunkFields`, dates already parsed by the
reader), runs the shared checks (:mod:`geodata.readers._checks`), gives rows without an id a
stable derived one and builds the :class:`~geodata.schema.IncidentTable` of the accepted rows.
:func:`header_index` and :func:`columns_of` find a CSV chunk's columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geodata.readers._checks import (
    BAD_WEIGHT,
    RowChecks,
    check_coordinates,
    check_crime_types,
    check_nul,
    parse_numbers,
    strip,
)
from geodata.schema import NUMERIC_FIELDS, TEXT_FIELDS, IncidentTable


def derived_ids(content_columns: Sequence[np.ndarray], occurrences: dict[bytes, int]) -> np.ndarray:
    """Stable ids for rows whose source has none: a content hash plus an occurrence number.

    Rows identical in every column are separate reports (data.police.uk has over a thousand
    such anti-social behaviour rows in a real force-month), so the n-th row with a given
    content gets ``derived-<hash>-<n>``: every one is kept, and a re-ingest of the same file
    gives every row the same id again. ``occurrences`` carries the counts across the chunks of
    one file.
    """
    if not content_columns or len(content_columns[0]) == 0:
        return np.empty(0, dtype=object)
    blake2b = hashlib.blake2b
    digests = [
        blake2b(c.encode("utf-8", "surrogatepass"), digest_size=10).digest()
        for c in map("\x1f".join, zip(*content_columns, strict=True))
    ]
    codes, uniques = pd.factorize(np.array(digests, dtype=object))
    rank = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    base = np.array([occurrences.get(u, 0) for u in uniques], dtype=np.int64)
    counts = np.bincount(codes, minlength=len(uniques))
    for u, b, c in zip(uniques, base.tolist(), counts.tolist(), strict=True):
        occurrences[u] = b + c
    k = (base[codes] + rank).tolist()
    hexes = [u.hex() for u in uniques]
    return np.array(
        [f"derived-{hexes[c]}-{n}" for c, n in zip(codes.tolist(), k, strict=True)], dtype=object
    )


def build_table(
    *,
    keep: np.ndarray,
    lines: np.ndarray,
    namespace: str,
    crs: str,
    text: dict[str, np.ndarray],
    numeric: dict[str, np.ndarray],
) -> IncidentTable:
    """Assemble the accepted rows of a chunk into an :class:`IncidentTable`."""
    n_keep = int(keep.sum())
    cols: dict[str, np.ndarray] = {}
    for name in TEXT_FIELDS:
        col = text.get(name)
        cols[name] = col[keep] if col is not None else np.full(n_keep, "", dtype=object)
    for name, dtype in NUMERIC_FIELDS.items():
        col = numeric.get(name)
        if col is None:
            if name == "weight":
                cols[name] = np.ones(n_keep, dtype=dtype)
                continue
            raise KeyError(f"numeric column {name} is required")
        cols[name] = np.asarray(col[keep], dtype=dtype)
    return IncidentTable(columns=cols, line=lines[keep], namespace=namespace, crs=crs)


def header_index(header: list[str]) -> dict[str, int]:
    """Map normalised header names (stripped, case-folded) to their positions."""
    out: dict[str, int] = {}
    for i, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").casefold()
        out.setdefault(key, i)
    return out


def columns_of(table: np.ndarray) -> list[np.ndarray]:
    """The columns of an ``(n, ncols)`` object array of fields."""
    return [table[:, i] for i in range(table.shape[1])]


@dataclass
class ChunkFields:
    """The fields of a chunk that every reader validates the same way (see :func:`finish_chunk`).

    ``coords`` are the two coordinate columns as text, named ``coord_names``, in ``coord_crs``
    (WGS84 longitude/latitude, or eastings/northings). ``ids`` may hold blanks, which get ids
    derived from ``id_content``: the columns whose content identifies a row (or a function of
    the mask of blank ids that returns those columns, for content that is costly to build).
    ``weight`` is a text column of weights or None. ``text`` holds the other text fields.
    """

    lines: np.ndarray
    occurred_at: np.ndarray
    precision: np.ndarray
    coords: tuple[np.ndarray, np.ndarray]
    coord_names: tuple[str, str]
    coord_crs: str
    crime_type: np.ndarray
    crime_column: str
    ids: np.ndarray
    id_content: list[np.ndarray] | Callable[[np.ndarray], list[np.ndarray]]
    text: dict[str, np.ndarray]
    weight: np.ndarray | None = None
    weight_name: str = "weight"
    text_names: dict[str, str] = field(default_factory=dict)
    """The source's name of each field of ``text`` (for messages; default the field's)."""
    id_name: str = "id"
    may_hold_nul: bool = True
    """False when the reader knows no text of the chunk holds U+0000 (skips that check)."""


def finish_chunk(
    checks: RowChecks,
    fields: ChunkFields,
    *,
    reader: Any,
    occurrences: dict[bytes, int],
) -> IncidentTable:
    """Check coordinates, crime types and weights, give blank ids derived ids, and assemble the
    accepted rows of a chunk (dates are checked by the caller, which knows their format)."""
    opts = reader.options
    area = opts.resolved_area()
    if fields.may_hold_nul:
        check_nul(checks, {fields.id_name: fields.ids, fields.crime_column: fields.crime_type,
                           **{fields.text_names.get(k, k): v for k, v in fields.text.items()}})
    coords = check_coordinates(
        checks, *fields.coords, names=fields.coord_names, source_crs=fields.coord_crs,
        area=area, zero_means_unplaced=True,
    )
    reader.stats.transform = reader.stats.transform or coords.transform
    keys = check_crime_types(
        checks, fields.crime_type, opts.resolved_taxonomy(), opts.unknown_types,
        reader.stats.unknown_types, column=fields.crime_column,
    )
    numeric = {
        "occurred_at": fields.occurred_at, "precision": fields.precision,
        "x": coords.x, "y": coords.y, "lon": coords.lon, "lat": coords.lat,
    }
    if fields.weight is not None:
        w_text, name = fields.weight, fields.weight_name
        values, blank, bad = parse_numbers(w_text)
        invalid = bad | (~blank & ~(np.isfinite(values) & (values >= 0)))
        checks.flag(invalid, BAD_WEIGHT, f"{name} {{}} is not a weight >= 0", w_text)
        numeric["weight"] = np.where(blank | invalid, 1.0, values).astype(np.float32)
    ids = strip(fields.ids)
    blank_id = ids == ""
    if blank_id.any():
        content = fields.id_content
        columns = content(blank_id) if callable(content) else [c[blank_id] for c in content]
        ids[blank_id] = derived_ids(columns, occurrences)
    return build_table(
        keep=checks.ok,
        lines=fields.lines,
        namespace=reader.namespace,
        crs=area.crs,
        text={"id": ids, "category": keys, "crime_type": fields.crime_type, **fields.text},
        numeric=numeric,
    )
