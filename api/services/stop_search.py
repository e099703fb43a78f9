"""Stop and search records for staff: a summary by month, object of search and outcome, and
the located records as GeoJSON points (RFC 7946: WGS84 longitude/latitude); and the report
models of outcomes and stop and search uploads (``POST /v1/incidents``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from api.schemas import RejectedRowOut
from geodata.stores import Store

_TEXT_PROPERTIES = ("type", "object_of_search", "outcome", "legislation", "gender",
                    "age_range", "self_defined_ethnicity", "officer_defined_ethnicity",
                    "operation", "source")
_FLAG_PROPERTIES = ("part_of_operation", "outcome_linked", "removal_of_clothing")


class OutcomesCounts(BaseModel):
    """What an outcomes file held and what it changed (counts per Crime ID after the latest
    month of each crime is kept)."""

    records: int
    accepted: int = Field(description="Rows read (joined by Crime ID).")
    rejected: int
    superseded: int = Field(description="Rows left out for a later month of the same crime.")
    matched: int = Field(description="Crime IDs a stored incident holds (updated + unchanged).")
    updated: int = Field(description="Crimes whose stored outcome changed.")
    unchanged: int
    unmatched: int = Field(description="Crime IDs no stored incident holds (nothing added).")


class _FileReport(BaseModel):
    """What an outcomes or stop and search file's report holds besides its kind and counts."""

    source: str
    format: str
    rejected_by_reason: dict[str, int]
    rejected_rows: list[RejectedRowOut]
    rejected_rows_truncated: bool
    read: dict[str, Any]
    data_version: str
    elapsed_s: float


class OutcomesIngestOut(_FileReport):
    """What loading a data.police.uk outcomes file did: stored incidents' outcomes updated by
    Crime ID, no incident added."""

    kind: str = Field(description="outcomes")
    counts: OutcomesCounts


class StopSearchCounts(BaseModel):
    """What a stop and search file held and what became of its records."""

    records: int
    accepted: int = Field(description="Records stored.")
    repeated: int = Field(description="Records stored already (the same file again).")
    rejected: int


class StopSearchIngestOut(_FileReport):
    """What loading a data.police.uk stop and search file did (records kept apart from
    incidents: the data version does not change)."""

    kind: str = Field(description="stop-search")
    counts: StopSearchCounts


def _counts(values: pd.Series) -> dict[str, int]:
    """Counts of each value, most common first (blank shown as ``"(not given)"``)."""
    named = values.astype(str).replace("", "(not given)")
    counts = named.value_counts(sort=False)
    return {str(k): int(counts[k]) for k in sorted(counts.index, key=lambda k: (-counts[k], k))}


def summarise(frame: pd.DataFrame, timezone: str) -> dict[str, Any]:
    """A summary of stop and search records: how many (and how many located), by month (in
    the force's ``timezone``), by object of search, by outcome, and by month and object."""
    n = len(frame)
    if n == 0:
        return {"searches": 0, "located": 0, "outcome_linked": 0, "by_month": {},
                "by_object_of_search": {}, "by_outcome": {}, "by_month_and_object": {}}
    month = (pd.to_datetime(frame["occurred_at"].to_numpy(np.int64), unit="s", utc=True)
             .tz_convert(timezone).strftime("%Y-%m"))
    months = pd.Series(np.asarray(month), index=frame.index)
    objects = frame["object_of_search"].astype(str).replace("", "(not given)")
    by_month_object: dict[str, dict[str, int]] = {}
    pairs = pd.DataFrame({"m": months, "o": objects}).value_counts()
    for key, count in zip(pairs.index.tolist(), pairs.tolist(), strict=True):
        by_month_object.setdefault(str(key[0]), {})[str(key[1])] = int(count)
    return {
        "searches": n,
        "located": int(np.isfinite(frame["lon"].to_numpy(np.float64)).sum()),
        "outcome_linked": int(sum(v is True for v in frame["outcome_linked"])),
        "by_month": {str(k): int(v) for k, v in months.value_counts().sort_index().items()},
        "by_object_of_search": _counts(frame["object_of_search"]),
        "by_outcome": _counts(frame["outcome"]),
        "by_month_and_object": {m: dict(sorted(v.items()))
                                for m, v in sorted(by_month_object.items())},
    }


def points(frame: pd.DataFrame, *, timezone: str, crs: str, limit: int) -> dict[str, Any]:
    """The located records as a GeoJSON FeatureCollection (RFC 7946: WGS84 longitude/latitude,
    no ``crs`` member), oldest first, at most ``limit``; ``numberMatched`` counts every
    located record, ``unlocated`` those with no place (in the summary, not here)."""
    located = frame[np.isfinite(frame["lon"].to_numpy(np.float64))]
    shown = located.iloc[:limit]
    when = (pd.to_datetime(shown["occurred_at"].to_numpy(np.int64), unit="s", utc=True)
            .tz_convert(timezone))
    features = []
    for i, (_, row) in enumerate(shown.iterrows()):
        props: dict[str, Any] = {"occurred_at": when[i].isoformat()}
        props.update({k: row[k] or None for k in _TEXT_PROPERTIES})
        props.update({k: row[k] for k in _FLAG_PROPERTIES})
        props["x"], props["y"] = round(float(row["x"]), 1), round(float(row["y"]), 1)
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(row["lon"]), 6),
                                                          round(float(row["lat"]), 6)]},
            "properties": props,
        })
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": len(located),
        "numberReturned": len(features),
        "unlocated": len(frame) - len(located),
        "crs_note": f"geometry is WGS84 longitude/latitude; properties x, y are metres in {crs}",
    }


def stop_search_answer(store: Store, *, start: int | None, end: int | None,
                       limit: int) -> dict[str, Any]:
    """The answer of ``GET /v1/stop-search``: ``summary`` of every record in ``[start, end)``
    (seconds since the epoch, UTC; None: unbounded) and up to ``limit`` located ``points``."""
    frame = store.stop_searches(start=start, end=end)
    return {
        "summary": summarise(frame, store.timezone),
        "points": points(frame, timezone=store.timezone, crs=store.crs, limit=limit),
    }
