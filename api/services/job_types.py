"""What the jobs (:mod:`api.services.jobs`) are made of, apart from how they run: a job's
status and state, its result, the context it runs with, the interface of the two backends, and
the refusal of one job too many. Services that start jobs (the backtests) import these, and
:mod:`api.services.job_work` builds results with them."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from api.errors import answer_of
from api.service_errors import AnalysisLimited, ServiceError

if TYPE_CHECKING:
    from api.settings import Settings
    from geodata.harm import HarmTable
    from geodata.stores import Store
    from geodata.taxonomy import Taxonomy

QUEUED, RUNNING, FINISHED, FAILED = "queued", "running", "finished", "failed"
"""A job's status."""
ACTIVE = (QUEUED, RUNNING)
SYSTEM = ""
"""The owner of jobs the service starts itself (``method=auto``'s backtest): admins see them."""
JOB_TIMEOUT_S = 3 * 3600
"""Longest a job may run, seconds (a county's backtest takes minutes): on an RQ worker its
timer stops it; in the service's own runner, its next progress report."""
RESULT_TTL_S = 24 * 3600
"""How long a finished job and its result are kept, seconds."""
FAILURE_TTL_S = 3600
"""How long a failed job is kept, seconds (a refused backtest is not tried again meanwhile on
the same data)."""
LOCAL_KEPT = 256
"""Finished and failed jobs the in-process backend remembers (past it, the oldest of the key
holding most go first)."""
LOCAL_RESULT_BYTES = 256 * 1024 * 1024
"""Most bytes of results the in-process backend keeps in memory (a cross-border GeoJSON can
be 8 MB): past it, the oldest results of the key holding most bytes go first, never the result
just made."""
RETRY_AFTER_S = 2
"""How soon to ask again about a job that is not finished, seconds."""
_INTERNAL = "the job failed on an internal error (the worker's log has the details)"


@dataclass
class JobResult:
    """What a finished job gives: a JSON document (shown in the job's status), a file (served at
    ``/v1/jobs/{id}/result``), or both; ``location`` names where the result lives on (a stored
    report)."""

    document: Any = None
    body: bytes | None = None
    media_type: str | None = None
    filename: str | None = None
    location: str | None = None


@dataclass
class JobState:
    """A job as its status shows it."""

    id: str
    kind: str
    owner: str
    status: str
    created_at: float
    progress: float = 0.0
    stage: str = "waiting its turn"
    started_at: float | None = None
    ended_at: float | None = None
    error: dict[str, Any] | None = None
    """``detail`` (plain words), ``error`` (code), ``status`` (the HTTP status a synchronous
    request would have had), ``field`` (the parameter to change, if one)."""
    dedupe: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    """What the job was asked (its kind's parameters that are safe to show)."""


@dataclass
class JobContext:
    """What a job runs with: the settings, the store, the taxonomy and the harm table."""

    settings: Settings
    store: Store
    taxonomy: Taxonomy
    harm: HarmTable


Progress = Callable[[float, str], None]
"""``progress(share done 0-1, stage in words)``."""


def new_id() -> str:
    """A job id: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def plain_error(exc: BaseException) -> dict[str, Any]:
    """What a failed job says: the answer a request would have had (:data:`api.errors.
    ERROR_TABLE`), its message only when safe to show."""
    answer = answer_of(exc)
    if answer.status >= 500 and not isinstance(exc, ServiceError) and answer.status != 503:
        detail = _INTERNAL  # a fault: its message is not for the client
    else:
        detail = answer.message or str(exc) or _INTERNAL
    error: dict[str, Any] = {"detail": detail, "error": answer.code, "status": answer.status}
    where = getattr(exc, "field", None) or getattr(exc, "parameter", None)
    if where:
        error["field"] = str(where)
    return error


class TooManyJobs(AnalysisLimited):
    """A key with as many jobs queued or running as one key may have (429, Retry-After)."""


def too_many(limit: int) -> TooManyJobs:
    return TooManyJobs(f"this key has {limit} jobs queued or running, the most one key may "
                       "have (HOTSPOT_JOBS_PER_KEY): wait for one to finish (GET /v1/jobs "
                       "lists them)", 30)


class Jobs:
    """The jobs of one service (see the module): start one, read its state and result."""

    limit: int

    def submit(self, kind: str, params: dict[str, Any], *, owner: str,
               dedupe: str | None = None, summary: dict[str, Any] | None = None,
               limit: int | None = None) -> JobState:
        """Start a job (or, with ``dedupe``, find the owner's job of that name, unless it
        failed on a fault rather than a refusal) and return its state.

        Raises
        ------
        TooManyJobs
            The owner has ``limit`` (default :attr:`limit`) jobs queued or running already.
        """
        raise NotImplementedError

    def state(self, job_id: str) -> JobState | None:
        """The job's state, or None when there is no such job (or it has expired)."""
        raise NotImplementedError

    def result(self, job_id: str) -> JobResult | None:
        """A finished job's result (None: not finished, or no such job)."""
        raise NotImplementedError

    def owned(self, owner: str | None, limit: int = 50) -> list[JobState]:
        """The latest jobs of ``owner`` (every owner's with None), newest first."""
        raise NotImplementedError

    def cancel(self, job_id: str, by: str) -> JobState | None:
        """Cancel a queued job (``by``: who, for its error's words): it will not run, and it
        ends as failed, ``error.error`` "cancelled". Returns its state (unchanged when it had
        started or ended: only a queued job can be cancelled), None when there is no such
        job."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        """How many jobs wait (``queued``) and run (``running``) now, and, on a queue served
        by other processes, how many ``workers`` serve it (for ``/metrics``). Empty when they
        cannot be read (Redis not answering): a count is never worth an error."""
        return {}

    def close(self) -> None:
        """Stop taking jobs (a running one finishes)."""
