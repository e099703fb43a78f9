"""The store interface: focused protocols, their union :class:`Store`, optional capabilities.

A store (the embedded SQLite store, PostGIS) keeps incidents and the log of ingests
(:class:`IncidentStore`), reference layers (:class:`LayerStore`), patrol plans and visits
(:class:`PlanStore`), keys, sessions, the audit log and secrets (:class:`AccessStore`),
published products and backtests (:class:`ProductStore`), and answers for itself
(:class:`StoreHealth`). :class:`Store` is all of them. What only some stores can do is a
capability checked with ``isinstance``: :class:`ClustersInDatabase`. A store never sees
settings: it takes what it needs (a path, a URL) when it is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from geodata.schema import IncidentColumns, IncidentFilter, IncidentTable

if TYPE_CHECKING:
    import pandas as pd

    from geodata.layers import ReferenceLayer

DEMO = "demo"
FORCE = "force"
PURPOSES = (DEMO, FORCE)

# Status of each incident offered to a writer.
INSERTED = 0
DUPLICATE_IN_STORE = 1
"""Already in the store before this ingest (same namespace and id)."""
REPEATED_IN_SOURCE = 2
"""Same id as an earlier row of the same ingest."""


@dataclass(frozen=True)
class LayerInfo:
    """A reference layer as listed by a store."""

    kind: str
    source: str
    added_at: str
    features: int
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "kind": self.kind,
            "source": self.source,
            "added_at": self.added_at,
            "features": self.features,
            **self.info,
        }


@dataclass(frozen=True)
class RecordPage:
    """One page of incidents with every field, for listings and GeoJSON."""

    total: int
    """Incidents matching the filter."""
    offset: int
    records: list[dict[str, Any]]
    data_version: str


@runtime_checkable
class IncidentWriter(Protocol):
    """Adds incidents inside one transaction; made by :meth:`Store.writer`."""

    def add(self, table: IncidentTable) -> np.ndarray:
        """Store the incidents not already stored; return an int8 status per row
        (:data:`INSERTED`, :data:`DUPLICATE_IN_STORE`, :data:`REPEATED_IN_SOURCE`)."""
        ...

    def end_of_input(self) -> None:
        """Say that no more :meth:`add` calls will come, so that a writer can start its last
        work (the PostGIS store's last indexes) while the caller summarises the ingest."""
        ...

    def finish(self, summary: dict[str, Any]) -> str:
        """Record the ingest's summary and commit; return the new data version."""
        ...


@runtime_checkable
class IncidentStore(Protocol):
    """Incidents: written an ingest at a time, read back as columns or pages of records, and
    the store's purpose (demo or force data) and data version."""

    kind: str
    """``"sqlite"`` or ``"postgis"``."""
    crs: str
    """The force CRS of stored coordinates (projected, metres)."""
    timezone: str
    """The force's local time zone."""

    def data_version(self) -> str:
        """An opaque string that changes whenever incidents or layers change."""
        ...

    def purpose(self) -> str | None:
        """``"demo"``, ``"force"``, or None while the store is empty."""
        ...

    def claim_purpose(self, purpose: str) -> None:
        """Mark the store as holding demo or force data.

        Raises
        ------
        StorePurposeError
            If it already holds the other kind.
        """
        ...

    def writer(
        self, *, source: str, format: str, purpose: str = FORCE
    ) -> AbstractContextManager[IncidentWriter]:
        """Open a transaction for one ingest of ``purpose`` data. Leaving the block without
        :meth:`IncidentWriter.finish` (an error, a kill) leaves the store as it was.

        Raises
        ------
        StorePurposeError
            If the store holds the other purpose's data.
        """
        ...

    def incidents(
        self, flt: IncidentFilter | None = None, *, extra: Sequence[str] = (),
        lonlat: bool = True,
    ) -> IncidentColumns:
        """Select incidents as columns; ``extra`` names further text columns to include;
        ``lonlat=False`` leaves out the WGS84 coordinates (``lon`` and ``lat`` empty: an
        analysis works in the store's CRS, and two fewer columns are read and sent)."""
        ...

    def incident_records(
        self, flt: IncidentFilter | None = None, *, offset: int = 0, limit: int = 100
    ) -> RecordPage:
        """One page of incidents with every field, ordered by row id."""
        ...

    def count(self) -> int:
        """Number of incidents stored."""
        ...

    def holds_incidents(self, flt: IncidentFilter | None = None) -> bool:
        """Whether any incident matches ``flt`` (as :meth:`incidents` would select it), found
        without reading them: the first one found answers."""
        ...

    def time_span(self, flt: IncidentFilter | None = None) -> tuple[int, int] | None:
        """The earliest and the latest ``occurred_at`` (seconds since the epoch, UTC) of the
        incidents matching ``flt`` (every incident when None), None when none match: found
        from the store's own index or summaries, not by reading every incident."""
        ...

    def ingests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recent ingests, newest first."""
        ...


@runtime_checkable
class LayerStore(Protocol):
    """Reference layers (areas, places, roads...), one per kind."""

    def put_layer(self, layer: ReferenceLayer, *, purpose: str = FORCE) -> None:
        """Store a reference layer, replacing any layer of the same kind, atomically.

        Raises
        ------
        StorePurposeError
            If the store holds the other purpose's data.
        """
        ...

    def get_layer(self, kind: str) -> ReferenceLayer | None:
        """The stored layer of that kind, or None."""
        ...

    def list_layers(self) -> list[LayerInfo]:
        """The stored layers."""
        ...

@runtime_checkable
class PlanStore(Protocol):
    """Patrol plans, their crews' short links and the visits logged against them."""

    def put_plan(self, plan_id: str, *, shift_start: str, shift_end: str, data_version: str,
                 request: dict[str, Any], plan: dict[str, Any], created_by: str = "",
                 published_at: str | None = None,
                 links: dict[str, str] | None = None) -> None:
        """Store a patrol plan (the JSON document the API serves) under a new id: a draft
        unless ``published_at`` (ISO 8601) is given; ``created_by`` names who made it;
        ``links`` maps each crew (route label) to its short-link code."""
        ...

    def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan: its columns (``plan_id``, ``created_at``, ``shift_start``,
        ``shift_end``, ``data_version``, ``published_at`` (None for a draft),
        ``created_by``), ``request``, ``plan`` and ``links`` ({crew: code}); None if there is
        none."""
        ...

    def list_plans(self, limit: int = 50, *, published_only: bool = False) -> list[dict[str, Any]]:
        """The most recent plans, newest first (columns, totals, ``name`` and the number of
        ``visits`` logged, not the whole plan); ``published_only``: the most recent published
        plans (drafts left out before the limit is applied)."""
        ...

    def publish_plan(self, plan_id: str, when: str) -> str | None:
        """Publish a plan at ``when`` (ISO 8601) unless it is already published; return its
        ``published_at`` (the first publication's), or None if there is no such plan."""
        ...

    def add_plan_links(self, plan_id: str, links: dict[str, str]) -> dict[str, str]:
        """Give crews of a plan a short-link code ({crew: code}) where they have none yet;
        return every crew's code."""
        ...

    def find_plan_link(self, code: str) -> dict[str, str] | None:
        """The plan and crew of a short-link code (``plan_id``, ``crew``), or None."""
        ...

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Record a visit (``visit_id``, ``plan_id``, ``stop_id``, ``hotspot_id``,
        ``visited_at``, ``note``, ``officer``, ``ended_at`` (None if not known)) once: a visit
        whose id is already stored is not stored again. Returns the stored visit and whether
        it was new."""
        ...

    def plan_visits(self, plan_id: str) -> list[dict[str, Any]]:
        """The visits logged against a plan, oldest first."""
        ...

    def cancel_visit(self, plan_id: str, visit_id: str) -> dict[str, Any] | None:
        """Remove a visit of a plan (an officer's undo of a visit marked by mistake); return
        the visit removed, or None if the plan has no visit with that id (a cancellation sent
        twice removes nothing the second time)."""
        ...

@runtime_checkable
class AccessStore(Protocol):
    """Who may come in and what they did: API keys, revoked page sessions, the audit log and
    the store's own secrets."""

    def add_key(self, key_id: str, *, name: str, role: str, secret_hash: str) -> dict[str, Any]:
        """Store an API key (its secret only as a hash); return it without the hash."""
        ...

    def key_hash(self, key_id: str) -> tuple[str, str] | None:
        """(role, secret hash) of a key that is not revoked, or None."""
        ...

    def list_keys(self) -> list[dict[str, Any]]:
        """Every key, revoked ones too (never their hashes), oldest first."""
        ...

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False if there is no such key or it was revoked already."""
        ...

    def revoke_session(self, session_id: str, *, key_id: str, expires_at: int) -> bool:
        """Revoke a page session (signing out): it stays refused until ``expires_at`` (seconds
        since the epoch, UTC), when it would have expired anyway and its record may go. False if
        it was revoked already."""
        ...

    def session_revoked(self, session_id: str) -> bool:
        """Whether a page session was revoked."""
        ...

    def audit(self, *, key_id: str | None, role: str | None, action: str, path: str,
              filter: dict[str, Any], rows: int) -> None:
        """Append an entry to the audit log (entries are never changed or deleted)."""
        ...

    def audit_log(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """Audit log entries, newest first (``before``: entries with a smaller id)."""
        ...

    def secret(self, name: str) -> str:
        """A random secret kept in the store under ``name``, made on first use (the session
        signing key)."""
        ...

@runtime_checkable
class ProductStore(Protocol):
    """What is published and kept: products (never changed once published) and backtest
    results."""

    def add_product(self, kind: str, period: str, *, start: int, end: int, data_version: str,
                    summary: dict[str, Any], document: str) -> dict[str, Any]:
        """Publish a product: ``document`` (the exact text served) for ``period`` covering
        ``[start, end)`` (seconds since the epoch, UTC); return its listing. A published product
        is never changed or deleted.

        Raises
        ------
        PublicationConflict
            If a product of ``kind`` whose period overlaps ``[start, end)`` is already
            published (the same period included): products never overlap in time.
        """
        ...

    def product(self, kind: str, period: str) -> tuple[dict[str, Any], str] | None:
        """A published product's listing and its document text, or None."""
        ...

    def list_products(self, kind: str, limit: int = 500) -> list[dict[str, Any]]:
        """The published products of ``kind`` (listings, not documents), latest period first."""
        ...

    def put_backtest(self, key: str, *, data_version: str, summary: dict[str, Any],
                     document: str) -> dict[str, Any]:
        """Store a backtest's result document (JSON text, kept byte for byte) under ``key`` (a
        hash the caller makes of the data version, selection and candidates), in one
        transaction: the same key again replaces it (same inputs, same result), and a document
        is never half-written. Returns the listing: ``key``, ``data_version``, ``created_at``
        (ISO 8601, UTC, to the microsecond) and ``summary``.

        Raises
        ------
        InvalidBacktestKey
            If ``key`` is not 1 to 128 characters of ``0-9``, ``a-f``, ``-`` and ``:``.
        InvalidText
            If the summary or the document holds U+0000 (NUL).
        """
        ...

    def get_backtest(self, key: str) -> tuple[dict[str, Any], str] | None:
        """A stored backtest's listing (as :meth:`put_backtest` returns it) and its document
        text, or None if nothing is stored under ``key``.

        Raises
        ------
        InvalidBacktestKey
            If ``key`` could never name a stored backtest (see :meth:`put_backtest`).
        """
        ...

    def list_backtests(self, limit: int = 50) -> list[dict[str, Any]]:
        """The stored backtests' listings (not their documents), newest first (a replaced one
        counts from its replacement), at most ``limit``."""
        ...

@runtime_checkable
class StoreHealth(Protocol):
    """The store as a whole: whether it answers, its schema migrations, closing it."""

    def health(self) -> dict[str, Any]:
        """Whether the store answers, and what it holds (never raises)."""
        ...

    def migrations(self) -> list[dict[str, Any]]:
        """The schema migrations applied, oldest first (version, name, applied_at)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class ReportStore(Protocol):
    """Stored priority reports: kept with their data version and never changed."""

    def add_report(self, report_id: str, *, kind: str, period: str, start: int, end: int,
                   created_by: str, data_version: str, summary: dict[str, Any],
                   document: str) -> dict[str, Any]:
        """Store a report: ``document`` (its exact JSON text, kept byte for byte) for
        ``period`` covering ``[start, end)`` (seconds since the epoch, UTC), made from the
        store at ``data_version``; return its listing: ``report_id``, ``kind``, ``period``,
        ``period_start``, ``period_end``, ``created_at`` (ISO 8601, UTC, to the
        microsecond), ``created_by``, ``data_version`` and ``summary``. A stored report is
        never changed or deleted.

        Raises
        ------
        InvalidValue
            If ``report_id`` is not 1 to 64 characters or ``document`` is not text.
        InvalidText
            If the listing or the document holds U+0000 (NUL).
        """
        ...

    def report(self, report_id: str) -> tuple[dict[str, Any], str] | None:
        """A stored report's listing (as :meth:`add_report` returns it) and its document
        text, exactly as stored; None if there is no report ``report_id``."""
        ...

    def list_reports(self, limit: int = 100) -> list[dict[str, Any]]:
        """The stored reports' listings (not their documents), newest first, at most
        ``limit``."""
        ...


@runtime_checkable
class BusinessReportStore(Protocol):
    """Incidents reported by businesses (the retail partnership): their own source, never
    mixed with police-recorded incidents."""

    def add_business_report(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store one business report under a new id; return it as stored (see
        :meth:`business_report`).

        Parameters
        ----------
        record
            ``submitted_by`` (the partner key's id), ``occurred_at`` (int, seconds since the
            epoch, UTC), ``category`` (the partnership's type, e.g. ``shoplifting``), ``x``,
            ``y`` (metres, the store's CRS), ``lon``, ``lat`` (WGS84 degrees), ``business``
            (text), ``value_pence`` (int or None), ``description`` (text). Checked by the
            caller (the API); the store refuses only what it cannot keep.

        Raises
        ------
        InvalidText
            If a text holds U+0000 (NUL).
        InvalidValue
            If a field is missing or of the wrong type (``field`` names it).
        """
        ...

    def business_report(self, report_id: str) -> dict[str, Any] | None:
        """One report, or None: ``report_id``, ``submitted_by``, ``submitted_at`` (ISO 8601,
        UTC, to the second), ``occurred_at`` (seconds since the epoch, UTC), ``category``, ``x``,
        ``y`` (store CRS, metres), ``lon``, ``lat`` (WGS84), ``business``, ``value_pence``
        (int or None), ``description``."""
        ...

    def business_reports(self, *, submitted_by: str | None = None, start: int | None = None,
                         end: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Reports (as :meth:`business_report`), latest occurrence first, at most ``limit``:
        those of one submitter (a partner key's id) or of everyone (None), that occurred in
        ``[start, end)`` (seconds since the epoch, UTC; None: unbounded)."""
        ...

    def count_business_reports(self, *, submitted_by: str | None = None,
                               start: int | None = None, end: int | None = None) -> int:
        """How many reports :meth:`business_reports` would list without a limit."""
        ...

    def count_business_submissions(self, submitted_by: str, *, since: datetime) -> int:
        """How many reports one submitter (a partner key's id) has stored since ``since`` (an
        aware datetime; by when they were submitted, not when they occurred): what its daily
        cap counts."""
        ...


@runtime_checkable
class NeighbourStore(Protocol):
    """A neighbouring force's incidents: a separate labelled source, never counted with the
    force's own.

    They are kept apart from the force's incidents (:class:`IncidentStore` never returns them,
    and loading them changes neither the force's incidents nor its data version); only the
    cross-border analysis reads them, beside the force's own.
    """

    def add_neighbour_incidents(self, source: str, table: IncidentTable) -> dict[str, int]:
        """Store a neighbour's incidents (a reader's table, in the store's CRS) under the label
        ``source`` ("Westmarch Police"). A row the force's own incidents hold is not stored:
        the same identity (namespace and id), or the same data.police.uk Crime ID (64 hex
        digits) as the id of any of the force's incidents, a force export's too; a row whose id
        this neighbour already has (loaded before, or earlier in ``table``) is not stored again.

        Returns
        -------
        dict
            ``offered``, ``accepted``, ``duplicates_of_force`` and ``repeated`` (they add up to
            ``offered``).

        Raises
        ------
        InvalidValue
            If ``source`` is empty or too long (``field`` ``"source"``), or the table is in
            another CRS (``"crs"``).
        InvalidText
            If a text holds U+0000 (NUL).
        """
        ...

    def neighbour_incidents(self, flt: IncidentFilter | None = None, *,
                            sources: tuple[str, ...] | None = None) -> IncidentColumns:
        """The neighbours' incidents selected by ``flt`` (period, categories, boxes as for
        :meth:`IncidentStore.incidents`) and ``sources`` (labels; None: every neighbour), as
        columns with ``extra`` ``source``, ``crime_type``, ``location_text`` and ``lsoa_code``;
        ``rid`` numbers the selection and ``data_version`` is :meth:`neighbour_version`."""
        ...

    def neighbour_sources(self) -> list[dict[str, Any]]:
        """Each neighbour loaded: ``source``, ``incidents``, ``first`` and ``last``
        (``occurred_at``, seconds since the epoch, UTC) and ``loaded_at`` (ISO 8601)."""
        ...

    def neighbour_version(self) -> str:
        """An opaque string that changes whenever a neighbour's incidents are added."""
        ...


@runtime_checkable
class PresetStore(Protocol):
    """Saved hotspot presets: a name for a method, priority, period and parameters (or
    ``method=auto``), served by the OGC API as a collection of hotspots. Methods are added
    by :mod:`geodata.stores._presets`."""

    def add_preset(self, name: str, *, title: str = "", parameters: dict[str, str],
                   created_by: str = "") -> dict[str, Any] | None:
        """Store a preset: ``name`` (1 to 48 of ``a-z``, ``0-9`` and inner ``-``), a
        ``title``, and ``parameters`` (the query parameters of ``GET /v1/hotspots`` as text,
        at most 40). Returns the stored record (name, title, parameters, created_at ISO 8601
        UTC, created_by), or None if a preset of that name exists (it is not changed).

        Raises
        ------
        InvalidValue
            Naming ``name``, ``title`` or ``parameters``.
        InvalidText
            If any text holds U+0000.
        """
        ...

    def preset(self, name: str) -> dict[str, Any] | None:
        """The preset called ``name`` (a record as :meth:`add_preset` returns), or None."""
        ...

    def list_presets(self, limit: int = 500) -> list[dict[str, Any]]:
        """The stored presets, ordered by name (at most ``limit``)."""
        ...

    def delete_preset(self, name: str) -> bool:
        """Delete the preset called ``name``; whether there was one."""
        ...


@runtime_checkable
class StopSearchStore(Protocol):
    """Stop and search records, kept apart from incidents, and crime outcomes applied to the
    stored incidents by Crime ID. Methods are added by :mod:`geodata.stores._stop_search`."""

    def apply_outcomes(self, frame: pd.DataFrame) -> dict[str, int]:
        """Set the ``outcome`` of stored incidents from an outcomes file's rows, by Crime ID,
        in one write transaction; never adds an incident.

        A Crime ID names the incident of that id read from a street-level file (namespace
        ``police.uk``), or from a force export or GeoJSON file whose id is the 64-hex-digit
        Crime ID. The latest month wins: within ``frame`` (the last row of that month, in
        order) and across loads (an outcome older than the one applied before changes
        nothing). The data version changes only if an outcome changed, so loading the same
        outcomes twice changes nothing the second time.

        Parameters
        ----------
        frame
            ``crime_id`` (text), ``month`` (``"YYYY-MM"``), ``outcome`` (text); further
            columns (``lon``, ``lat``) are ignored.

        Returns
        -------
        dict
            ``offered`` (rows), ``superseded`` (rows left out for a later row of the same
            crime), and per Crime ID: ``matched`` (a stored incident holds it) = ``updated``
            (its outcome changed) + ``unchanged``, and ``unmatched``; ``offered`` =
            ``superseded`` + ``matched`` + ``unmatched``.

        Raises
        ------
        InvalidValue
            If a column is missing (``field`` ``"columns"``), a Crime ID or an outcome is
            blank (``"crime_id"``, ``"outcome"``) or a month not ``YYYY-MM`` (``"month"``);
            nothing is changed.
        InvalidText
            If a text holds U+0000 (NUL).
        """
        ...

    def add_stop_searches(self, frame: pd.DataFrame, *, source: str) -> dict[str, int]:
        """Store stop and search records (a reader's frame) under ``source`` (the file's
        name), in one transaction. Records carry no id: a record identical to a stored one in
        every column, and of the same rank among identical records of its load (two people
        stopped together can give identical rows), is not stored again, so loading the same
        file twice adds nothing. The data version does not change (incidents are untouched).

        Parameters
        ----------
        frame
            ``occurred_at`` (int64 seconds since the epoch, UTC), ``x``, ``y`` (store CRS,
            metres), ``lon``, ``lat`` (WGS84 degrees; NaN where the file has none), text
            ``type``, ``operation``, ``gender``, ``age_range``, ``self_defined_ethnicity``,
            ``officer_defined_ethnicity``, ``legislation``, ``object_of_search``,
            ``outcome``, and ``part_of_operation``, ``outcome_linked``,
            ``removal_of_clothing`` (bool or None).

        Returns
        -------
        dict
            ``offered``, ``accepted`` and ``repeated`` (already stored).

        Raises
        ------
        InvalidValue
            If a column is missing (``field`` ``"columns"``), a time is not whole seconds
            (``"occurred_at"``) or ``source`` is empty (``"source"``).
        InvalidText
            If a text holds U+0000 (NUL).
        """
        ...

    def stop_searches(self, *, start: int | None = None, end: int | None = None,
                      limit: int | None = None) -> pd.DataFrame:
        """Stored stop and search records that occurred in ``[start, end)`` (seconds since
        the epoch, UTC; None: unbounded), oldest first, at most ``limit``: ``source`` and the
        columns :meth:`add_stop_searches` takes (coordinates NaN where unknown, flags bool or
        None)."""
        ...

    def count_stop_searches(self, *, start: int | None = None, end: int | None = None) -> int:
        """How many records :meth:`stop_searches` would give without a limit."""
        ...


@runtime_checkable
class Store(IncidentStore, LayerStore, PlanStore, AccessStore, ProductStore, ReportStore,
            BusinessReportStore, NeighbourStore, PresetStore, StopSearchStore, StoreHealth,
            Protocol):
    """What every store offers (the union of the focused protocols above). One test-suite runs
    against each implementation."""


@runtime_checkable
class ClustersInDatabase(Protocol):
    """A store that runs DBSCAN inside the database (the PostGIS store)."""

    def cluster_dbscan(
        self, flt: IncidentFilter | None, *, eps_m: float, min_samples: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """DBSCAN of the selected incidents (a point is core with at least ``min_samples``
        incidents, itself included, within ``eps_m`` metres, in the force CRS). Returns
        ``(rid, label)`` ordered by row id, -1 for noise.

        Raises
        ------
        InvalidValue
            If ``eps_m`` is not above 0 or ``min_samples`` is below 1.
        """
        ...


def page_bounds(total: int, offset: int, limit: int) -> tuple[int, int]:
    """Clamp a page to ``[0, total]``."""
    start = min(max(offset, 0), total)
    return start, min(start + max(limit, 0), total)
