"""What every store does the same way: the force CRS check, the Z-order, purpose conflicts,
reference-layer rows, the ingest log's columns, incident records and a batch's identities."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geodata.errors import (
    InvalidBacktestKey,
    InvalidText,
    InvalidValue,
    StorePurposeError,
    StoreUnavailable,
)
from geodata.schema import (
    PRECISION_NAMES,
    TEXT_FIELDS,
    IncidentTable,
    Precision,
    incident_uids,
)
from geodata.stores._columns import KeySet, first_occurrences
from geodata.stores.base import DEMO, INSERTED, PURPOSES, REPEATED_IN_SOURCE

if TYPE_CHECKING:
    import geopandas as gpd

INGEST_COLUMNS = ("ingest_id", "source", "format", "started_at", "finished_at", "records",
                  "accepted", "duplicates", "rejected")
"""The columns of the ingest log, as :meth:`Store.ingests` lists them."""


def check_text(value: Any, what: str) -> None:
    """Refuse text holding U+0000 (NUL) anywhere in ``value`` (a string, or the keys and values
    of dicts and lists, walked without recursion).

    PostgreSQL's ``text`` and ``jsonb`` cannot hold that character while SQLite can: both stores
    call this before they write, so the answer never depends on the store.

    Raises
    ------
    InvalidText
        Naming ``what`` (and where inside it, for a dict or a list).
    """
    todo: list[tuple[str, Any]] = [(what, value)]
    while todo:
        where, item = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidText(f"{where} holds a NUL character (U+0000), which the store "
                                  "cannot keep")
        elif isinstance(item, dict):
            for k, v in item.items():
                todo.append((f"{where} (key {str(k)[:40]!r})", k))
                todo.append((f"{where}.{str(k)[:40]}", v))
        elif isinstance(item, (list, tuple)):
            todo.extend((f"{where}[{i}]", v) for i, v in enumerate(item))


def check_extra_columns(extra: Sequence[str]) -> None:
    """Refuse ``extra`` columns (of :meth:`Store.incidents`) that are not text fields.

    Raises
    ------
    InvalidValue
        Naming the columns refused (``field`` ``"extra"``).
    """
    bad = [c for c in extra if c not in TEXT_FIELDS]
    if bad:
        raise InvalidValue(f"extra columns must be text fields {TEXT_FIELDS}, not {bad}",
                           field="extra")


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def check_force_crs(crs: str) -> None:
    """Refuse a CRS that is not projected in metres: distances and bandwidths are in metres."""
    try:
        c = CRS.from_user_input(crs)
    except Exception as exc:  # pyproj raises its own CRSError
        raise InvalidValue(f"unknown CRS {crs!r}", field="crs") from exc
    unit = c.axis_info[0].unit_name if c.axis_info else ""
    if not c.is_projected or unit not in ("metre", "meter"):
        raise InvalidValue(
            f"the force CRS must be projected in metres (for Great Britain EPSG:27700), "
            f"not {crs}", field="crs"
        )


def _spread_bits(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.uint64) & np.uint64(0xFFFF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v | (v << np.uint64(4))) & np.uint64(0x0F0F0F0F)
    v = (v | (v << np.uint64(2))) & np.uint64(0x33333333)
    return (v | (v << np.uint64(1))) & np.uint64(0x55555555)


def morton_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices that sort points along a Z-order curve over their bounding box."""
    if x.shape[0] < 2:
        return np.arange(x.shape[0])
    span_x = max(float(x.max() - x.min()), 1e-9)
    span_y = max(float(y.max() - y.min()), 1e-9)
    qx = ((x - x.min()) / span_x * 65535).astype(np.uint32)
    qy = ((y - y.min()) / span_y * 65535).astype(np.uint32)
    key = _spread_bits(qx) | (_spread_bits(qy) << np.uint64(1))
    return np.argsort(key, kind="stable")


def check_purpose(current: str | None, purpose: str) -> None:
    """Refuse to put ``purpose`` data in a store that holds the other purpose's.

    Raises
    ------
    StorePurposeError
        Saying where the data goes instead.
    """
    if purpose not in PURPOSES:
        raise InvalidValue(f"purpose must be one of {PURPOSES}", field="purpose")
    if current is None or current == purpose:
        return
    if current == DEMO:
        raise StorePurposeError(
            "this store holds the demo force area; a force's own data goes in its own store "
            "(give another database)"
        )
    raise StorePurposeError(
        "this store holds a force's data; the demo goes in its own store (give another database)"
    )


def layer_rows(frame: pd.DataFrame | gpd.GeoDataFrame) -> tuple[list[str | None], list[str],
                                                                 list[bytes | None]]:
    """A layer's features as (names, properties as JSON, WKB geometry or None) lists.

    Raises
    ------
    InvalidText
        If a name or a property holds U+0000, which no store keeps (see :func:`check_text`).
    """
    geoms: list[bytes | None] = [None] * len(frame)
    if "geometry" in frame.columns and getattr(frame, "geometry", None) is not None:
        geoms = list(shapely.to_wkb(np.asarray(frame.geometry.values, dtype=object)))
    props = frame.drop(columns=[c for c in ("geometry", "name") if c in frame.columns])
    # missing values (NaN, NaT) become null: NaN is not JSON, and PostgreSQL refuses it
    records = [{k: None if _missing(v) else v for k, v in r.items()}
               for r in props.to_dict("records")]
    names: list[str | None] = ([None if pd.isna(v) else str(v) for v in frame["name"]]
                               if "name" in frame.columns else [None] * len(frame))
    for i, (name, record) in enumerate(zip(names, records, strict=True)):
        check_text([name, record], f"feature {i + 1} of the layer")
    prop_rows = [json.dumps(r, default=str) for r in records]
    return names, prop_rows, geoms


def _missing(value: Any) -> bool:
    return bool(np.ndim(value) == 0 and pd.isna(value))


def ingest_counts(summary: dict[str, Any]) -> tuple[int, int, int, int]:
    """(records, accepted, duplicates, rejected) of an ingest's summary."""
    counts = summary.get("counts", {})
    records, accepted, duplicates, rejected = (
        int(counts.get(k, 0)) for k in ("records", "accepted", "duplicates", "rejected"))
    return records, accepted, duplicates, rejected


def incident_record(*, rid: int, ident: str, namespace: str, occurred_at: int, precision: int,
                    texts: dict[str, Any], numbers: dict[str, Any],
                    timezone: str) -> dict[str, Any]:
    """One incident with every field, as the API lists it (times in local time)."""
    local = pd.Timestamp(int(occurred_at), unit="s", tz="UTC").tz_convert(timezone)
    rec: dict[str, Any] = {
        "rid": int(rid),
        "id": ident,
        "namespace": namespace,
        "occurred_at": local.isoformat(),
        "precision": PRECISION_NAMES[int(precision)],
        "month": local.strftime("%Y-%m"),
        "date": local.strftime("%Y-%m-%d") if int(precision) <= Precision.DAY else None,
    }
    rec.update({name: value or None for name, value in texts.items()})
    rec.update({name: float(value) for name, value in numbers.items()})
    return rec


def batch_identities(table: IncidentTable, store_crs: str, this_ingest: KeySet,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The identities of a batch and the rows repeated within the ingest: ``(status, hi, lo,
    repeated)``, status :data:`INSERTED` except :data:`REPEATED_IN_SOURCE` where repeated.

    Raises
    ------
    InvalidValue
        If the batch is not in the store's CRS (``field`` ``"crs"``).
    """
    if table.crs != store_crs:
        raise InvalidValue(f"incidents are in {table.crs}, the store is in {store_crs}",
                           field="crs")
    status = np.full(len(table), INSERTED, dtype=np.int8)
    hi, lo = incident_uids(table.namespace, table.columns["id"])
    repeated = ~first_occurrences(hi, lo) | this_ingest.contains(hi, lo)
    status[repeated] = REPEATED_IN_SOURCE
    return status, hi, lo, repeated


PLAN_COLUMNS = ("plan_id", "created_at", "shift_start", "shift_end", "data_version",
                "published_at", "created_by")
VISIT_COLUMNS = ("visit_id", "plan_id", "stop_id", "hotspot_id", "visited_at", "received_at",
                 "note", "officer", "ended_at")


def plan_record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored plan's columns as a dict (times as ISO 8601 text)."""
    return dict(zip(PLAN_COLUMNS, (iso_text(v) for v in row), strict=True))


def plan_summary(row: Sequence[Any], plan: dict[str, Any], *, name: str | None = None,
                 visits: int = 0) -> dict[str, Any]:
    """A stored plan's listing entry: its columns, the plan's totals, its name (from the
    request) and the number of visits logged against it."""
    return {**plan_record(row), "totals": plan.get("totals", {}), "name": name,
            "visits": int(visits or 0)}


def visit_record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored visit as a dict (times as ISO 8601 text)."""
    return dict(zip(VISIT_COLUMNS, (iso_text(v) for v in row), strict=True))


def iso_text(value: Any) -> Any:
    """A time as ISO 8601 text (PostgreSQL gives datetimes, SQLite the text); anything else
    as it is."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def route_lines_wkt(plan: dict[str, Any]) -> str | None:
    """The plan's routes (every leg, WGS84) as one MULTILINESTRING in WKT, or None."""
    legs = [leg for r in plan.get("routes", []) for leg in r.get("legs", []) if len(leg) >= 2]
    if not legs:
        return None
    return "MULTILINESTRING (" + ", ".join(
        "(" + ", ".join(f"{x!r} {y!r}" for x, y in leg) + ")" for leg in legs) + ")"


KEY_COLUMNS = ("key_id", "name", "role", "created_at", "revoked_at")
AUDIT_COLUMNS = ("entry_id", "at", "key_id", "role", "action", "path", "filter", "rows")


def key_record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored API key (without its hash) as a dict."""
    return dict(zip(KEY_COLUMNS, (iso_text(v) for v in row), strict=True))


def audit_record(row: Sequence[Any]) -> dict[str, Any]:
    """An audit log entry as a dict (the filter as JSON data)."""
    out = dict(zip(AUDIT_COLUMNS, (iso_text(v) for v in row), strict=True))
    if isinstance(out["filter"], str):
        out["filter"] = json.loads(out["filter"])
    return out


PRODUCT_COLUMNS = ("kind", "period", "period_start", "period_end", "published_at",
                   "data_version", "summary")
"""A published product's columns, as listed (the document itself is read one at a time)."""


def product_record(row: Sequence[Any]) -> dict[str, Any]:
    """A published product's listing from its :data:`PRODUCT_COLUMNS` (summary parsed)."""
    record = dict(zip(PRODUCT_COLUMNS, row, strict=True))
    record["period_start"] = int(record["period_start"])
    record["period_end"] = int(record["period_end"])
    if not isinstance(record["published_at"], str):
        record["published_at"] = record["published_at"].isoformat()
    summary = record["summary"]
    record["summary"] = json.loads(summary) if isinstance(summary, str) else dict(summary or {})
    return record


def overlap_message(kind: str, period: str, other: str) -> str:
    """Why a product cannot be published beside another it overlaps."""
    if other == period:
        return f"the {kind} product for {period} is already published (a product is never changed)"
    return (f"{period} overlaps the published {kind} product for {other}: products never "
            "overlap in time, so that no product can be subtracted from another")


BACKTEST_COLUMNS = ("key", "data_version", "created_at", "summary")
"""A stored backtest's columns, as listed (the document itself is read one at a time)."""
BACKTEST_KEY_MAX = 128
"""The longest key of a stored backtest, in characters."""
_BACKTEST_KEY = re.compile(rf"[0-9a-f:-]{{1,{BACKTEST_KEY_MAX}}}")


def check_backtest_key(key: Any) -> str:
    """Return ``key`` if it can name a stored backtest: 1 to :data:`BACKTEST_KEY_MAX`
    characters of ``0-9``, ``a-f`` (lower case), ``-`` and ``:``.

    Raises
    ------
    InvalidBacktestKey
        Saying what a key may hold (the key itself is shown only cut short).
    """
    if isinstance(key, str) and _BACKTEST_KEY.fullmatch(key):
        return key
    shown = repr(key) if not isinstance(key, str) or len(key) <= 40 else repr(key[:39] + "…")
    raise InvalidBacktestKey(
        f"a backtest key must be 1 to {BACKTEST_KEY_MAX} characters of 0-9, a-f, '-' and ':' "
        f"(a lower-case hex hash), not {shown}")


def backtest_record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored backtest's listing from its :data:`BACKTEST_COLUMNS`: ``created_at`` as ISO
    8601 in UTC to the microsecond, ``summary`` parsed."""
    record = dict(zip(BACKTEST_COLUMNS, row, strict=True))
    created = record["created_at"]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    record["created_at"] = created.astimezone(UTC).isoformat(timespec="microseconds")
    summary = record["summary"]
    record["summary"] = json.loads(summary) if isinstance(summary, str) else dict(summary or {})
    return record


def now_us() -> str:
    """The current UTC time, ISO 8601 to the microsecond (so that listings sort by it)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def refuse_newer(applied: int, known: int) -> None:
    """Refuse a store a later release has migrated past this one's migrations (``applied``:
    the store's latest migration, ``known``: this release's): this release would read and
    write a schema it does not know. An upgrade is rolled back by restoring the backup taken
    before it, not by running the older release on the upgraded store.

    Raises
    ------
    StoreUnavailable
        Naming both migrations and what to do.
    """
    if applied > known:
        raise StoreUnavailable(
            f"this store was upgraded by a later release (its migration {applied}; this "
            f"release knows up to {known}): run that release, or restore the backup taken "
            "before the upgrade (docs/operations.md, Upgrades)")
