"""Stop and search records (data.police.uk ``*-stop-and-search.csv``) and crime outcomes
(``*-outcomes.csv``) applied to stored incidents, written once for both stores (SQL in
``geodata/sql/queries/stop_search.sql``).

Outcomes never add an incident: each names a stored crime by its Crime ID (the id of an
incident read from a street-level file, in the ``police.uk`` namespace; a force export or a
GeoJSON file carrying the 64-hex-digit Crime ID as its id counts too) and replaces its
``outcome``. The latest month wins, across loads too (an older outcomes file loaded later
changes nothing). The embedded store rewrites the outcome column of the blocks touched, the
PostGIS store updates the rows, inside one write transaction; the data version changes only if
an outcome changed.

Stop and search records are kept apart from incidents (no analysis of incidents reads them, and
loading them leaves the data version as it was).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import InvalidValue
from geodata.schema import incident_uids
from geodata.stores._columns import decode_numeric, decode_string_values, encode_strings
from geodata.stores._neighbours import READER_NAMESPACES
from geodata.stores._relational import SQLRunner
from geodata.stores._shared import check_text

OUTCOME_COLUMNS = ("crime_id", "month", "outcome")
"""The columns :meth:`StopSearchRecords.apply_outcomes` reads (others are ignored)."""
STOP_SEARCH_TEXT = ("type", "operation", "gender", "age_range", "self_defined_ethnicity",
                    "officer_defined_ethnicity", "legislation", "object_of_search", "outcome")
STOP_SEARCH_FLAGS = ("part_of_operation", "outcome_linked", "removal_of_clothing")
STOP_SEARCH_COORDS = ("x", "y", "lon", "lat")
STOP_SEARCH_COLUMNS = ("occurred_at", *STOP_SEARCH_COORDS, "type", "part_of_operation",
                       "operation", "gender", "age_range", "self_defined_ethnicity",
                       "officer_defined_ethnicity", "legislation", "object_of_search", "outcome",
                       "outcome_linked", "removal_of_clothing")
"""A stop and search record's columns (as the reader gives them), in the order stored."""
_READ_COLUMNS = ("source", *STOP_SEARCH_COLUMNS)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CRIME_ID = re.compile(r"^[0-9a-fA-F]{64}$")
_U64 = np.dtype("uint64")
_FAR = 2**62
"""A time bound beyond any record (seconds), and a limit no query reaches."""
MAX_SOURCE_CHARS = 200


# -- outcomes ----------------------------------------------------------------------------------


def latest_outcomes(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One outcome per Crime ID: the latest month's (the last row of that month, in file
    order); and how many rows were left out for it.

    Parameters
    ----------
    frame
        ``crime_id`` (text), ``month`` (``"YYYY-MM"``), ``outcome`` (text); other columns
        (``lon``, ``lat``...) are ignored.

    Raises
    ------
    InvalidValue
        If a column is missing (``field`` ``"columns"``), a Crime ID or an outcome is blank
        or not text (``"crime_id"``, ``"outcome"``) or a month is not ``YYYY-MM``
        (``"month"``).
    InvalidText
        If a text holds U+0000 (NUL).
    """
    missing = [c for c in OUTCOME_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidValue(f"outcomes need the columns {list(OUTCOME_COLUMNS)}; missing "
                           f"{missing}", field="columns")
    out = pd.DataFrame({c: frame[c].to_numpy(dtype=object) for c in OUTCOME_COLUMNS})
    for name in ("crime_id", "outcome"):
        bad = [v for v in out[name] if not isinstance(v, str) or not v.strip()]
        if bad:
            raise InvalidValue(f"every {name} must be non-blank text; got {bad[0]!r}",
                               field=name)
    bad_months = [v for v in out["month"] if not isinstance(v, str) or not _MONTH.match(v)]
    if bad_months:
        raise InvalidValue(f"every month must be YYYY-MM; got {bad_months[0]!r}", field="month")
    check_text({c: list(out[c]) for c in OUTCOME_COLUMNS}, "the outcomes")
    out["crime_id"] = [v.strip() for v in out["crime_id"]]
    out["outcome"] = [" ".join(v.split()) for v in out["outcome"]]
    latest = out.iloc[np.lexsort((np.arange(len(out)), out["month"].to_numpy(str)))]
    latest = latest.drop_duplicates("crime_id", keep="last").reset_index(drop=True)
    return latest, len(out) - len(latest)


class _Targets:
    """The identities (namespace and id hashed) under which stored incidents may hold each
    Crime ID: ``police.uk`` for all, the other readers' namespaces for 64-hex-digit ones."""

    def __init__(self, crime_ids: list[str]) -> None:
        self.by_namespace: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        hex_ids = np.array([bool(_CRIME_ID.match(c)) for c in crime_ids], dtype=bool)
        all_idx = np.arange(len(crime_ids), dtype=np.int64)
        for namespace in READER_NAMESPACES:
            idx = all_idx if namespace == "police.uk" else all_idx[hex_ids]
            if idx.size == 0:
                continue
            hi, lo = incident_uids(namespace, [crime_ids[i] for i in idx.tolist()])
            order = np.lexsort((lo, hi))
            self.by_namespace[namespace] = (hi[order], lo[order], idx[order])

    def all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every identity ``(hi, lo, index of the Crime ID)``."""
        parts = list(self.by_namespace.values())
        if not parts:
            empty = np.empty(0, dtype=_U64)
            return empty, empty, np.empty(0, dtype=np.int64)
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]

    def find(self, namespace: str, hi: np.ndarray,
             lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The positions in ``(hi, lo)`` (one block's identities in ``namespace``) that are
        targets, and the index of the Crime ID each holds."""
        found = self.by_namespace.get(namespace)
        if found is None or hi.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        t_hi, t_lo, t_idx = found
        left = np.searchsorted(t_hi, hi, side="left")
        right = np.searchsorted(t_hi, hi, side="right")
        positions: list[int] = []
        which: list[int] = []
        for p in np.flatnonzero(right > left).tolist():
            span = slice(int(left[p]), int(right[p]))
            hit = np.flatnonzero(t_lo[span] == lo[p])
            if hit.size:
                positions.append(p)
                which.append(int(t_idx[span][hit[0]]))
        return np.array(positions, dtype=np.int64), np.array(which, dtype=np.int64)


# -- stop and search ---------------------------------------------------------------------------


def _flag(value: Any) -> bool | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return bool(value)


def _coord(value: Any) -> float | None:
    v = float(value) if value is not None and value is not pd.NA else math.nan
    return v if math.isfinite(v) else None


def stop_search_rows(frame: pd.DataFrame, *, source: str) -> list[dict[str, Any]]:
    """The rows to store for a reader's stop and search frame, each with its ``row_key``: a
    hash of its content (every column but ``x``, ``y``, which follow from ``lon``, ``lat``)
    and of which of the identical rows of ``frame`` it is (the first, the second...).

    Raises
    ------
    InvalidValue
        If a column is missing (``field`` ``"columns"``) or a time is not a whole number of
        seconds (``"occurred_at"``).
    InvalidText
        If a text holds U+0000 (NUL).
    """
    missing = [c for c in STOP_SEARCH_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidValue(f"stop and search records need the columns "
                           f"{list(STOP_SEARCH_COLUMNS)}; missing {missing}", field="columns")
    times = pd.to_numeric(frame["occurred_at"], errors="coerce").to_numpy(np.float64)
    if len(times) and (not np.isfinite(times).all() or (times != np.round(times)).any()
                       or (np.abs(times) >= _FAR).any()):
        raise InvalidValue("occurred_at must be whole seconds since the epoch",
                           field="occurred_at")
    texts = {c: ["" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                 else str(v) for v in frame[c].tolist()] for c in STOP_SEARCH_TEXT}
    check_text(texts, "the stop and search records")
    flags = {c: [_flag(v) for v in frame[c].tolist()] for c in STOP_SEARCH_FLAGS}
    coords = {c: [_coord(v) for v in frame[c].tolist()] for c in STOP_SEARCH_COORDS}
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i in range(len(frame)):
        row: dict[str, Any] = {"source": source, "occurred_at": int(times[i])}
        row.update({c: coords[c][i] for c in STOP_SEARCH_COORDS})
        row.update({c: texts[c][i] for c in STOP_SEARCH_TEXT})
        row.update({c: flags[c][i] for c in STOP_SEARCH_FLAGS})
        content = json.dumps([row["occurred_at"], row["lon"], row["lat"],
                              *(texts[c][i] for c in STOP_SEARCH_TEXT),
                              *(flags[c][i] for c in STOP_SEARCH_FLAGS)], ensure_ascii=False)
        digest = hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()
        n = seen.get(digest, 0)
        seen[digest] = n + 1
        row["row_key"] = f"{digest}-{n}"
        rows.append(row)
    return rows


def check_stop_search_source(source: str) -> str:
    """A load's source name (a file name), trimmed.

    Raises
    ------
    InvalidValue
        If it is empty or longer than :data:`MAX_SOURCE_CHARS` (``field`` ``"source"``).
    InvalidText
        If it holds U+0000 (NUL).
    """
    check_text(source, "the source's name")
    label = str(source).strip()
    if not label or len(label) > MAX_SOURCE_CHARS:
        raise InvalidValue(f"a source's name must be 1 to {MAX_SOURCE_CHARS} characters",
                           field="source")
    return label


class StopSearchRecords(SQLRunner):
    """:class:`~geodata.stores.base.StopSearchStore` over a store's connections."""

    # -- outcomes applied to stored incidents ----------------------------------------------------

    def apply_outcomes(self, frame: pd.DataFrame) -> dict[str, int]:
        """Set stored incidents' outcomes from an outcomes file's rows, by Crime ID (see
        :class:`~geodata.stores.base.StopSearchStore`)."""
        latest, superseded = latest_outcomes(frame)
        counts = {"offered": len(frame), "superseded": superseded, "matched": 0, "updated": 0,
                  "unchanged": 0, "unmatched": 0}
        if latest.empty:
            return counts
        ids: list[str] = latest["crime_id"].tolist()
        months: list[str] = latest["month"].tolist()
        wanted = np.array(latest["outcome"].tolist(), dtype=object)
        targets = _Targets(ids)
        with self._writing() as conn:
            applied = self._applied_months(conn, ids)
            # an outcome older than the one already applied to a crime is left out
            newer = np.array([applied.get(c, ("", ""))[0] <= m
                              for c, m in zip(ids, months, strict=True)], dtype=bool)
            matched, changed = self._set_outcomes(conn, targets, wanted, newer)
            notes = [{"crime_id": ids[i], "month": months[i], "outcome": str(wanted[i])}
                     for i in np.flatnonzero(matched & newer).tolist()
                     if applied.get(ids[i]) != (months[i], str(wanted[i]))]
            if notes:
                self._run_many(conn, "note_applied_outcome", notes)
            if changed.any():
                self._new_data_version(conn)
        counts["matched"] = int(matched.sum())
        counts["updated"] = int(changed.sum())
        counts["unchanged"] = counts["matched"] - counts["updated"]
        counts["unmatched"] = len(ids) - counts["matched"]
        return counts

    def _applied_months(self, conn: Any, ids: list[str]) -> dict[str, tuple[str, str]]:
        """The month and outcome already applied to each Crime ID that has one."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(ids), 50_000):
            chunk = ids[start:start + 50_000]
            value: Any = json.dumps(chunk) if self._dialect == "sqlite" else chunk
            found.update((str(r[0]), (str(r[1]), str(r[2])))
                         for r in self._all(conn, "applied_outcome_months", crime_ids=value))
        return found

    def _set_outcomes(self, conn: Any, targets: _Targets, wanted: np.ndarray,
                      newer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write ``wanted[i]`` as the outcome of the incidents holding Crime ID ``i`` where
        ``newer[i]``; return which Crime IDs a stored incident holds and which outcomes
        changed."""
        if self._dialect == "sqlite":
            return self._set_block_outcomes(conn, targets, wanted, newer)
        return self._set_row_outcomes(conn, targets, wanted, newer)

    def _block_hits(self, conn: Any, targets: _Targets
                    ) -> Iterator[tuple[int, np.ndarray, np.ndarray, bytes]]:
        """``(block_id, positions, Crime ID index, outcome blob)`` of each block holding a
        target (the embedded store)."""
        for block_id, namespace, bhi, blo, outcome in self._run(conn, "block_outcomes"):
            positions, which = targets.find(str(namespace), decode_numeric(bhi, _U64),
                                            decode_numeric(blo, _U64))
            if positions.size:
                yield int(block_id), positions, which, outcome

    def _set_block_outcomes(self, conn: Any, targets: _Targets, wanted: np.ndarray,
                            newer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The embedded store: rewrite the outcome column of each block touched."""
        matched = np.zeros(len(wanted), dtype=bool)
        changed = np.zeros(len(wanted), dtype=bool)
        writes: list[dict[str, Any]] = []
        for block_id, positions, which, blob in list(self._block_hits(conn, targets)):
            matched[which] = True
            values = decode_string_values(blob).copy()
            go = newer[which] & (values[positions] != wanted[which])
            if go.any():
                values[positions[go]] = wanted[which[go]]
                changed[which[go]] = True
                writes.append({"block_id": block_id, "outcome": encode_strings(values)})
        if writes:
            self._run_many(conn, "set_block_outcomes", writes)
        return matched, changed

    def _set_row_outcomes(self, conn: Any, targets: _Targets, wanted: np.ndarray,
                          newer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The PostGIS store: update the rows' outcome codes."""
        matched = np.zeros(len(wanted), dtype=bool)
        changed = np.zeros(len(wanted), dtype=bool)
        hi, lo, idx = targets.all()
        if idx.size == 0:
            return matched, changed
        params = {"his": hi.view(np.int64).tolist(), "los": lo.view(np.int64).tolist()}
        current = self._all(conn, "incident_outcomes_of", idx=idx.tolist(), **params)
        for i, value in current:
            matched[int(i)] = True
            if newer[int(i)] and value != wanted[int(i)]:
                changed[int(i)] = True
        if changed.any():
            codes = self._codes(conn, sorted({str(v) for v in wanted[changed]}))
            keep = changed[idx]
            self._run(conn, "set_incident_outcomes",
                      his=hi[keep].view(np.int64).tolist(), los=lo[keep].view(np.int64).tolist(),
                      codes=[codes[str(wanted[i])] for i in idx[keep].tolist()])
        return matched, changed

    def _codes(self, conn: Any, values: list[str]) -> dict[str, int]:
        """Codes of strings in the PostGIS store's dictionary (the store's own)."""
        raise NotImplementedError

    # -- stop and search ---------------------------------------------------------------------

    def add_stop_searches(self, frame: pd.DataFrame, *, source: str) -> dict[str, int]:
        """Store stop and search records (see :class:`~geodata.stores.base.StopSearchStore`)."""
        label = check_stop_search_source(source)
        rows = stop_search_rows(frame, source=label)
        counts = {"offered": len(rows), "accepted": 0, "repeated": 0}
        if not rows:
            return counts
        with self._transaction() as conn:
            before = int(self._one(conn, "count_all_stop_searches")[0])
            self._run_many(conn, "add_stop_search", rows)
            added = int(self._one(conn, "count_all_stop_searches")[0]) - before
        counts["accepted"] = added
        counts["repeated"] = len(rows) - added
        return counts

    @staticmethod
    def _period(start: int | None, end: int | None) -> dict[str, int]:
        return {"start": -_FAR if start is None else int(start),
                "end": _FAR if end is None else int(end)}

    def stop_searches(self, *, start: int | None = None, end: int | None = None,
                      limit: int | None = None) -> pd.DataFrame:
        """Stored stop and search records, oldest first (see
        :class:`~geodata.stores.base.StopSearchStore`)."""
        with self._connection() as conn:
            rows = self._all(conn, "stop_searches", limit=_FAR if limit is None
                             else max(int(limit), 0), **self._period(start, end))
        frame = pd.DataFrame([list(r) for r in rows], columns=list(_READ_COLUMNS))
        frame["occurred_at"] = frame["occurred_at"].astype(np.int64)
        for c in STOP_SEARCH_COORDS:
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(np.float64)
        for c in STOP_SEARCH_FLAGS:
            frame[c] = pd.Series([_flag(v) for v in frame[c].tolist()],
                                 dtype=object, index=frame.index)
        return frame

    def count_stop_searches(self, *, start: int | None = None, end: int | None = None) -> int:
        """How many stop and search records :meth:`stop_searches` would give without a
        limit."""
        with self._connection() as conn:
            row = self._one(conn, "count_stop_searches", **self._period(start, end))
        return int(row[0])
