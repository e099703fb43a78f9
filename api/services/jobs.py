"""Long work as jobs: backtests, priority reports (and their PDF) and cross-border analyses run
apart from the request that asks for them, which answers ``202 Accepted`` with ``Location:
/v1/jobs/{id}`` at once; ``GET /v1/jobs/{id}`` then says how the job is doing (queued, running,
finished or failed; the share done, 0-1, and the stage in words) and, once finished, gives its
result or a link to it (:mod:`api.routes.jobs`).

Two backends, one API:

- **In the process** (no ``HOTSPOT_REDIS_URL``, the embedded default): :class:`LocalJobs` runs
  the jobs one at a time in a worker thread of the service, on the service's own store.
- **On RQ** over the Redis of ``HOTSPOT_REDIS_URL``: :class:`RedisJobs` puts each job on the
  queue ``<prefix>jobs`` (RQ's own keys: ``rq:queue:<prefix>jobs``, ``rq:job:<id>``; the
  service's: ``<prefix>jobs:...``), and ``hotspot worker`` (:func:`worker_for`, an RQ
  :class:`~rq.SimpleWorker` with the store open) runs them; any instance of the service can
  answer for any job.

On RQ, what a job carries through Redis (its parameters, progress and result) is pickled, as
RQ does, and signed (:class:`SignedPickle`: HMAC-SHA-256 under a key made from the store's
secret ``secret:jobs``): anything in Redis not signed with it, written by whoever can reach
Redis without the store, is refused before it is unpickled, by the service (the job is then
unknown: 404) and by the worker (the job fails).

A job is visible only to the key that started it (and to admins); its id is 128 random bits.
One key may have at most ``HOTSPOT_JOBS_PER_KEY`` jobs queued or running (429 past it). A
failed job says why in plain words (the message a synchronous request would have answered
with, or "an internal error" when the reason is not safe to show; the traceback goes to the
log of the process that ran it, never to the client).

The work itself is :mod:`api.services.job_work`: each kind is a function of the job's context
(settings, store, taxonomy, harm table), its parameters (plain JSON values) and a progress
callback, returning a :class:`JobResult`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import pickle
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

from api import metrics
from api.errors import answer_of
from api.pages import caller
from api.service_errors import ServiceError, Unavailable
from api.services.job_types import (
    ACTIVE,
    FAILED,
    FAILURE_TTL_S,
    FINISHED,
    JOB_TIMEOUT_S,
    LOCAL_KEPT,
    LOCAL_RESULT_BYTES,
    QUEUED,
    RESULT_TTL_S,
    RETRY_AFTER_S,
    RUNNING,
    SYSTEM,
    JobContext,
    JobResult,
    Jobs,
    JobState,
    Progress,
    TooManyJobs,
    new_id,
    plain_error,
    too_many,
)

if TYPE_CHECKING:
    import redis
    from fastapi import Request
    from rq import Queue
    from rq.job import Job

    from api.access import Principal
    from api.settings import Settings
    from geodata.stores import Store


__all__ = ["ACTIVE", "FAILED", "FINISHED", "QUEUED", "RETRY_AFTER_S", "RUNNING", "SYSTEM",
           "JobContext", "JobResult", "JobState", "Jobs", "LocalJobs", "Progress",
           "RedisJobs", "TooManyJobs", "install", "plain_error", "queue_name",
           "run_queued", "worker_for"]

log = logging.getLogger(__name__)


def execute(kind: str, params: dict[str, Any], context: JobContext,
            progress: Progress) -> JobResult:
    """Run a job of ``kind`` (:data:`api.services.job_work.KINDS`)."""
    from api.services.job_work import KINDS

    work = KINDS.get(kind)
    if work is None:
        raise Unavailable(f"this worker does not know jobs of kind {kind!r}: upgrade it")
    return work(context, params, progress)



# ---------------------------------------------------------------------------- in the process


class LocalJobs(Jobs):
    """Jobs run one at a time in a worker thread of this process (no Redis). Ended jobs are
    kept as in Redis (results a day, failures an hour), within :data:`LOCAL_KEPT` jobs and
    ``result_bytes`` of results: past either, the oldest of the key holding most go, so a key
    that floods jobs (started and cancelled at once, or large results) evicts its own first,
    and another key's only down to an equal share. A job that runs past :data:`JOB_TIMEOUT_S`
    is stopped at its next progress report."""

    def __init__(self, context: Callable[[], JobContext], *, limit: int = 4,
                 workers: int = 1, result_bytes: int = LOCAL_RESULT_BYTES,
                 timeout_s: float = JOB_TIMEOUT_S) -> None:
        self._context = context
        self.limit = limit
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: OrderedDict[str, JobState] = OrderedDict()
        self._results: dict[str, JobResult] = {}
        self._sizes: dict[str, int] = {}
        self._result_bytes = result_bytes
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self.on_ended: Callable[[str, str, float], None] | None = None
        """Told of each job that ran: its kind, ``ok`` or ``failed``, and its seconds (the
        app's metrics, :func:`install`)."""

    def submit(self, kind: str, params: dict[str, Any], *, owner: str,
               dedupe: str | None = None, summary: dict[str, Any] | None = None,
               limit: int | None = None) -> JobState:
        with self._lock:
            if dedupe is not None:
                for job in reversed(self._jobs.values()):
                    if job.owner == owner and job.dedupe == dedupe and _reusable(job):
                        return replace(job)
            most = self.limit if limit is None else limit
            active = sum(j.owner == owner and j.status in ACTIVE for j in self._jobs.values())
            if active >= most:
                raise too_many(most)
            job = JobState(id=new_id(), kind=kind, owner=owner, status=QUEUED,
                           created_at=time.time(), dedupe=dedupe, summary=summary or {})
            self._jobs[job.id] = job
            self._forget()
            if self._pool is None:  # made on first use, again after close (an app restarted)
                self._pool = ThreadPoolExecutor(max_workers=self._workers,
                                                thread_name_prefix="job")
            self._pool.submit(self._run, job.id, kind, params)
            return replace(job)

    def _forget(self, keep: str | None = None) -> None:
        """Drop (the lock held) ended jobs past their time, then, while over :data:`LOCAL_KEPT`
        ended jobs or the bytes of results, the oldest ended job of the key holding most of
        them (by count, or by bytes); never ``keep`` (the result just made)."""
        now = time.time()
        for k, j in list(self._jobs.items()):
            kept_s = RESULT_TTL_S if j.status == FINISHED else FAILURE_TTL_S
            if j.status not in ACTIVE and j.ended_at is not None and now - j.ended_at > kept_s:
                self._drop(k)
        while True:
            ended = [(k, j) for k, j in self._jobs.items() if j.status not in ACTIVE and k != keep]
            # the result just made stays, even alone over the bytes
            by_bytes = sum(self._sizes.values()) > self._result_bytes and \
                any(self._sizes.get(k, 0) for k, _ in ended)
            if not by_bytes and len(ended) + (keep is not None) <= LOCAL_KEPT:
                return
            held: Counter[str] = Counter()
            for k, j in ended:
                held[j.owner] += self._sizes.get(k, 0) if by_bytes else 1
            newest = self._jobs[keep].owner if keep is not None and keep in self._jobs else None
            if newest is not None and keep is not None:  # it counts for its key, never dropped
                held[newest] += self._sizes.get(keep, 0) if by_bytes else 1
            # the key holding most loses one; a tie goes against the key of the newest
            owners = sorted(held, key=lambda o: (held[o], o == newest), reverse=True)
            most = next(o for o in owners
                        if any(j.owner == o and (not by_bytes or self._sizes.get(k, 0) > 0)
                               for k, j in ended))
            self._drop(next(k for k, j in ended if j.owner == most
                            and (not by_bytes or self._sizes.get(k, 0) > 0)))

    def _drop(self, job_id: str) -> None:
        del self._jobs[job_id]
        self._results.pop(job_id, None)
        self._sizes.pop(job_id, None)

    def _set(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                for k, v in changes.items():
                    setattr(job, k, v)

    def _run(self, job_id: str, kind: str, params: dict[str, Any]) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status != QUEUED:  # cancelled while it waited
                return
            job.status, job.started_at, job.stage = RUNNING, time.time(), "starting"

        deadline = time.monotonic() + self._timeout_s

        def progress(done: float, stage: str) -> None:
            if time.monotonic() > deadline:
                raise Unavailable(f"the job took longer than the jobs' time limit "
                                  f"({self._timeout_s / 3600:g} h) and was stopped; start it "
                                  "again, for a smaller area or fewer months")
            self._set(job_id, progress=min(1.0, max(0.0, float(done))), stage=stage)

        began = time.perf_counter()
        try:
            result = execute(kind, params, self._context(), progress)
            size = _size(result)  # a result that cannot be measured fails its job too
        except BaseException as exc:  # every failure is reported
            _log_failure(job_id, kind, exc)
            self._set(job_id, status=FAILED, ended_at=time.time(), error=plain_error(exc),
                      stage="failed")
            self._tell(kind, "failed", time.perf_counter() - began)
            return
        self._tell(kind, "ok", time.perf_counter() - began)
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:  # forgotten meanwhile (cannot happen to a running job)
                return
            self._results[job_id], self._sizes[job_id] = result, size
            job.status, job.ended_at, job.progress, job.stage = FINISHED, time.time(), 1.0, "done"
            self._forget(keep=job_id)

    def _tell(self, kind: str, outcome: str, seconds: float) -> None:
        if self.on_ended is None:
            return
        try:
            self.on_ended(kind, outcome, seconds)
        except Exception:  # a metric is never worth a job
            log.exception("job metrics failed")

    def state(self, job_id: str) -> JobState | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return replace(job) if job is not None else None

    def result(self, job_id: str) -> JobResult | None:
        with self._lock:
            return self._results.get(job_id)

    def cancel(self, job_id: str, by: str) -> JobState | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status == QUEUED:
                job.status, job.ended_at, job.stage = FAILED, time.time(), CANCELLED
                job.error = cancelled_error(by)
                self._forget(keep=job_id)
            return replace(job)

    def owned(self, owner: str | None, limit: int = 50) -> list[JobState]:
        with self._lock:
            jobs = [replace(j) for j in reversed(self._jobs.values())
                    if owner is None or j.owner == owner]
        return jobs[:limit]

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = Counter(j.status for j in self._jobs.values())
        return {"queued": states[QUEUED], "running": states[RUNNING]}

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            for job in self._jobs.values():
                if job.status == QUEUED:
                    job.status, job.stage = FAILED, "failed"
                    job.error = {"detail": "the service stopped before the job could run; "
                                 "start it again", "error": "unavailable", "status": 503}


def _size(result: JobResult) -> int:
    """About how many bytes a result holds in memory: its file and its JSON document."""
    document = 0 if result.document is None else len(
        json.dumps(result.document, default=str, separators=(",", ":")))
    return len(result.body or b"") + document


def _reusable(job: JobState) -> bool:
    """Whether a job stands for a new one of the same name: unless it failed on a fault (a
    refusal of its input, such as a backtest with too few months, fails the same way again)."""
    if job.status != FAILED:
        return True
    if job.error and job.error.get("error") == CANCELLED:
        return False  # cancelled before it ran: asked again, it runs
    return bool(job.error) and 400 <= int(job.error["status"]) < 500  # type: ignore[index]


def _log_failure(job_id: str, kind: str, exc: BaseException) -> None:
    if answer_of(exc).status < 500 or isinstance(exc, ServiceError):
        log.info("job %s (%s) refused: %s", job_id, kind, exc)
    else:
        log.error("job %s (%s) failed", job_id, kind, exc_info=exc)


# ---------------------------------------------------------------------------------- on RQ


SUBMIT_LOCK_S = 10
"""Longest a submission holds, or waits for, its owner's lock in Redis (seconds; a
submission takes a few milliseconds)."""


def queue_name(settings: Settings) -> str:
    """The RQ queue of a deployment's jobs: ``<prefix>jobs``."""
    return settings.redis_prefix + "jobs"


def _key(settings: Settings, *parts: str) -> str:
    from api.redis_conn import key

    return key(settings, "jobs", *parts)


def jobs_secret(store: Store) -> str:
    """The store's secret the jobs' data in Redis is signed with (:class:`SignedPickle`):
    ``secret:jobs``, made on first use."""
    return store.secret("jobs")


class UnsignedJobData(ValueError):
    """Job data in Redis without this deployment's signature (:class:`SignedPickle`)."""


class SignedPickle:
    """RQ's serializer for the jobs: pickle (RQ's own format for a job's call, meta and result),
    each value signed with HMAC-SHA-256 under a key made from ``secret()`` (the store's
    ``secret:jobs``, read on first use: the service and its workers share the store, so they
    share the key). :meth:`loads` checks the signature before it unpickles anything and raises
    :class:`UnsignedJobData` when it does not match: whoever can write to Redis but cannot
    read the store cannot make the service or a worker unpickle what they wrote. (The
    signature covers a value, not the job holding it: a signed value copied into another job
    replays the service's own work, nothing else; what RQ reads unsigned: :func:`job_class`.)"""

    MAGIC = b"HSJ1"
    _SIG = hashlib.sha256().digest_size

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret
        self._key: bytes | None = None
        self._lock = threading.Lock()
        # RQ's worker names its serializer by module and qualified name (for the worker kind
        # that starts a new interpreter per job, not the one here): an instance says its class'
        self.__qualname__ = type(self).__qualname__

    def _mac(self, payload: bytes) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = hashlib.sha256(b"hotspot jobs\0" + self._secret().encode()
                                               ).digest()
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def dumps(self, obj: Any, /) -> bytes:
        payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return self.MAGIC + self._mac(payload) + payload

    def loads(self, data: bytes, /) -> Any:
        blob = bytes(data)
        head, sig = blob[:len(self.MAGIC)], blob[len(self.MAGIC):len(self.MAGIC) + self._SIG]
        payload = blob[len(self.MAGIC) + self._SIG:]
        if head != self.MAGIC or not hmac.compare_digest(sig, self._mac(payload)):
            raise UnsignedJobData("job data in Redis without this deployment's signature")
        return pickle.loads(payload)  # noqa: S301 (signed with the store's secret)


_JOB_CLASS: list[type[Job]] = []


def job_class() -> type[Job]:
    """RQ's job class as the service and its workers read jobs: RQ's own, except that what a
    job hash holds as plain text, unsigned, is not taken from it: the callbacks run when a job
    ends (names of functions to import and call), its webhooks (addresses to send it to) and
    its dependencies. The service sets none of them, so one in Redis was written by something
    else: a planted job could otherwise make a worker call an importable function or send a
    request anywhere, whatever :class:`SignedPickle` refuses."""
    if not _JOB_CLASS:
        from rq.job import Job

        class HotspotJob(Job):
            def restore(self, raw_data: Any) -> Any:
                restored = super().restore(raw_data)
                self._success_callback_name = None
                self._failure_callback_name = None
                self._stopped_callback_name = None
                self.webhooks = []
                self._dependency_ids = []
                return restored

        _JOB_CLASS.append(HotspotJob)
    return _JOB_CLASS[0]


class RedisJobs(Jobs):
    """Jobs on an RQ queue in Redis, run by ``hotspot worker`` processes. ``secret``: the
    store's ``secret:jobs`` (:class:`SignedPickle`)."""

    def __init__(self, settings: Settings, connection: redis.Redis, *,
                 secret: Callable[[], str], limit: int = 4) -> None:
        from rq import Queue

        self.settings = settings
        self.connection = connection
        self.limit = limit
        self.serializer = SignedPickle(secret)
        self.queue: Queue = Queue(queue_name(settings), connection=connection,
                                  default_timeout=JOB_TIMEOUT_S, serializer=self.serializer,
                                  job_class=job_class())

    def submit(self, kind: str, params: dict[str, Any], *, owner: str,
               dedupe: str | None = None, summary: dict[str, Any] | None = None,
               limit: int | None = None) -> JobState:
        with _reachable():
            return self._submit(kind, params, owner=owner, dedupe=dedupe, summary=summary,
                                limit=limit)

    def state(self, job_id: str) -> JobState | None:
        with _reachable():
            return self._state(job_id)

    def result(self, job_id: str) -> JobResult | None:
        with _reachable():
            return self._result(job_id)

    def owned(self, owner: str | None, limit: int = 50) -> list[JobState]:
        with _reachable():
            return self._owned(owner, limit)

    def cancel(self, job_id: str, by: str) -> JobState | None:
        with _reachable():
            return self._cancel(job_id, by)

    def _cancel(self, job_id: str, by: str) -> JobState | None:
        """A job still on the queue taken off it (one ``LREM``: a worker taking it at the same
        moment gets it, or this does, never both), then its error put in its meta and its
        status set to RQ's cancelled; a job a worker has taken is left to run."""
        from rq.job import JobStatus

        job = self._fetch(job_id)
        if job is None:
            return None
        if self.connection.lrem(self.queue.key, 1, job.id):
            job.meta["error"] = cancelled_error(by)
            job.meta["stage"] = CANCELLED
            job.meta["ended_at"] = time.time()
            job.save_meta()
            # marked, not put in RQ's cancelled registry (which nothing ever empties): the
            # job's hash expires as a queued one's does
            job.set_status(JobStatus.CANCELED)
        return self._state(job_id)

    def _owner_key(self, owner: str) -> str:
        return _key(self.settings, "owner", owner or "_system")

    def _submit(self, kind: str, params: dict[str, Any], *, owner: str,
               dedupe: str | None = None, summary: dict[str, Any] | None = None,
               limit: int | None = None) -> JobState:
        """Submit under the owner's lock in Redis: the de-duplication and the count of the
        owner's active jobs are read and the job added as one step, whichever instance
        submits (two instances checking at once could otherwise both pass the limit, or
        both start the same job)."""
        from redis.exceptions import LockError

        lock = self.connection.lock(_key(self.settings, "submitting", owner or "_system"),
                                    timeout=SUBMIT_LOCK_S, blocking_timeout=SUBMIT_LOCK_S,
                                    sleep=0.01)
        try:
            acquired = lock.acquire()
        except LockError:
            acquired = False
        if not acquired:
            raise Unavailable("another request of this key is starting a job; try again "
                              "shortly")
        try:
            return self._submit_locked(kind, params, owner=owner, dedupe=dedupe,
                                       summary=summary, limit=limit)
        finally:
            try:
                lock.release()
            except LockError:  # held past its timeout and taken by another: theirs now
                log.warning("a job submission held the owner's lock past %s s", SUBMIT_LOCK_S)

    def _submit_locked(self, kind: str, params: dict[str, Any], *, owner: str,
                       dedupe: str | None = None, summary: dict[str, Any] | None = None,
                       limit: int | None = None) -> JobState:
        conn = self.connection
        dedupe_key = _key(self.settings, "dedupe", owner or "_system", dedupe) if dedupe else None
        if dedupe_key is not None:
            found = conn.get(dedupe_key)
            if found is not None:
                state = self._state(_text(found))
                if state is not None and _reusable(state):
                    return state
        owner_key = self._owner_key(owner)
        active = self._active(owner_key)
        most = self.limit if limit is None else limit
        if len(active) >= most:
            raise too_many(most)
        job_id = new_id()
        now = time.time()
        meta = {"owner": owner, "kind": kind, "progress": 0.0, "stage": "waiting its turn",
                "dedupe": dedupe, "summary": summary or {}, "created_at": now}
        pipe = conn.pipeline()
        pipe.zadd(owner_key, {job_id: now})
        pipe.zcard(owner_key)
        pipe.expire(owner_key, RESULT_TTL_S)
        pipe.execute()
        self.queue.enqueue_call("api.services.jobs.run_queued", args=(kind, params),
                                timeout=JOB_TIMEOUT_S,
                                result_ttl=RESULT_TTL_S, failure_ttl=FAILURE_TTL_S,
                                ttl=RESULT_TTL_S, job_id=job_id, meta=meta,
                                description=f"{kind} job")
        if dedupe_key is not None:
            conn.set(dedupe_key, job_id, ex=RESULT_TTL_S)
        state = self._state(job_id)
        assert state is not None
        return state

    def _active(self, owner_key: str) -> list[str]:
        """The owner's jobs queued or running (the others leave its index)."""
        ids = [_text(i) for i in self.connection.zrange(owner_key, 0, -1)]
        active, gone = [], []
        for job_id in ids:
            state = self._state(job_id)
            if state is None:
                gone.append(job_id)
            elif state.status in ACTIVE:
                active.append(job_id)
        if gone:
            self.connection.zrem(owner_key, *gone)
        return active

    def _fetch(self, job_id: str) -> Job | None:
        from rq.exceptions import NoSuchJobError

        try:
            job = job_class().fetch(job_id, connection=self.connection,
                                    serializer=self.serializer)
        except (NoSuchJobError, ValueError):  # (RQ reads a job's call only when it runs it)
            return None
        if job.origin != self.queue.name:  # another deployment's job
            return None
        if "unserialized" in (job.meta or {}):  # RQ's mark of a meta the serializer refused
            log.warning("job %r in Redis is not signed with this store's secret (written by "
                        "something else, or before an upgrade): treated as unknown", job_id)
            return None
        return job

    def _state(self, job_id: str) -> JobState | None:
        job = self._fetch(job_id)
        return None if job is None else self._state_of(job)

    def _state_of(self, job: Job) -> JobState:
        from rq.job import JobStatus

        meta = job.meta or {}
        rq_status = job.get_status(refresh=False)
        status = {JobStatus.FINISHED: FINISHED, JobStatus.STARTED: RUNNING,
                  JobStatus.FAILED: FAILED, JobStatus.STOPPED: FAILED,
                  JobStatus.CANCELED: FAILED}.get(rq_status, QUEUED)
        error = meta.get("error")
        if status == FAILED and not error:
            error = {"detail": "the worker stopped while running the job (it was killed, "
                     "or took longer than the jobs' time limit); start it again",
                     "error": "unavailable", "status": 503}
        stage = str(meta.get("stage") or "")
        if status == QUEUED and not self._workers():
            stage = "waiting for a worker: none is running (start one with `hotspot worker`)"
        return JobState(
            id=job.id, kind=str(meta.get("kind", "")), owner=str(meta.get("owner", "")),
            status=status, created_at=float(meta.get("created_at") or _ts(job.enqueued_at)
                                            or time.time()),
            progress=1.0 if status == FINISHED else float(meta.get("progress") or 0.0),
            stage="done" if status == FINISHED else (
                CANCELLED if stage == CANCELLED else "failed") if status == FAILED else stage,
            started_at=_ts(job.started_at),
            ended_at=_ts(job.ended_at) or (float(meta["ended_at"]) if meta.get("ended_at")
                                            else None),
            error=error if status == FAILED else None, dedupe=meta.get("dedupe"),
            summary=dict(meta.get("summary") or {}))

    def counts(self) -> dict[str, int]:
        """Read only, and alive only: RQ's own counts would clean the started registry up
        first (fail abandoned jobs, run their callbacks: the workers' to do), and they keep
        a worker that died without stopping (killed, out of memory) and its job for ever."""
        from redis.exceptions import RedisError
        from rq import worker_registration
        from rq.registry import StartedJobRegistry

        try:
            started = StartedJobRegistry(queue=self.queue).key
            # a running job's entry is scored with its deadline; a dead worker's job is past it
            running = self.connection.zcount(started, f"({time.time():.0f}", "+inf")
            names = sorted(worker_registration.get_keys(queue=self.queue))
            with self.connection.pipeline() as pipe:
                for name in names:
                    pipe.exists(name)  # a worker's key expires soon after it stops beating
                alive = sum(bool(n) for n in pipe.execute()) if names else 0
            return {"queued": int(self.queue.count), "running": int(running),
                    "workers": int(alive)}
        except RedisError:
            return {}

    def _workers(self) -> int:
        from rq import Worker

        try:
            return int(Worker.count(queue=self.queue))
        except Exception:  # a count is advice only
            return 1

    def _result(self, job_id: str) -> JobResult | None:
        job = self._fetch(job_id)
        if job is None:
            return None
        try:
            value = job.return_value()
        except UnsignedJobData:
            log.warning("the result of job %r in Redis is not signed with this store's secret "
                        "(written by something else): treated as none", job_id)
            return None
        return value if isinstance(value, JobResult) else None

    def _owned(self, owner: str | None, limit: int = 50) -> list[JobState]:
        if owner is None:
            keys = list(self.connection.scan_iter(match=_key(self.settings, "owner", "*"),
                                                  count=500))
        else:
            keys = [self._owner_key(owner).encode()]
        ids: list[tuple[float, str]] = []
        for k in keys:
            scored: Any = self.connection.zrange(k, 0, -1, withscores=True)
            ids += [(float(s), _text(i)) for i, s in scored]
        states = [self._state(i) for _s, i in sorted(ids, reverse=True)[: 4 * limit]]
        return [s for s in states if s is not None][:limit]

    def purge(self) -> int:
        """Delete every key of this deployment's jobs (tests; an operator clearing a queue):
        the queue, its registries, its jobs and their results, and the service's indexes.
        Returns how many keys went."""
        conn = self.connection
        name = self.queue.name
        rq_prefix = self.queue.key[:-len(f":queue:{name}")]  # "rq" unless RQ_KEY_PREFIX
        # the queue and its registries by their exact names (another deployment's queue name
        # may hold this one's: "test-hotspot:jobs"), and the jobs they or the owners hold
        queue_keys = [f"{rq_prefix}:{kind}:{name}" for kind in _RQ_QUEUE_KEYS]
        queue_keys.append(f"{self.queue.key}:intermediate")  # taken by a worker that died
        job_ids: set[str] = set()
        for k in conn.scan_iter(match=_key(self.settings, "owner", "*"), count=500):
            job_ids |= {_text(i) for i in conn.zrange(k, 0, -1)}
        for k in queue_keys:
            kind = _text(conn.type(k))
            if kind == "list":
                job_ids |= {_text(i) for i in conn.lrange(k, 0, -1)}
            elif kind == "zset":
                job_ids |= {_text(i) for i in conn.zrange(k, 0, -1)}
        keys = {k.encode() for k in queue_keys if conn.exists(k)}
        keys |= set(conn.scan_iter(match=_key(self.settings, "*"), count=500))
        for job_id in job_ids:
            keys |= set(conn.scan_iter(match=f"{rq_prefix}:*{job_id}*", count=500))
        if keys:
            conn.delete(*keys)
        conn.srem(f"{rq_prefix}:queues", self.queue.key)
        return len(keys)


_RQ_QUEUE_KEYS = ("queue", "registry", "wip", "started", "finished", "failed", "deferred",
                  "ready", "scheduled", "canceled", "clean_registries")
"""The kinds of RQ's keys named after a queue (``rq:<kind>:<queue name>``): the queue and its
registries."""


def purge_jobs(settings: Settings | None = None) -> int:
    """Delete every key of the jobs of the deployment ``settings`` name (read from the
    environment when None: ``HOTSPOT_REDIS_URL``, ``HOTSPOT_REDIS_PREFIX``), as an operator
    clearing the queue at an upgrade does (:meth:`RedisJobs.purge`); how many keys went."""
    import redis as redis_lib

    from api.settings import Settings as Read

    settings = settings or Read()
    if not settings.redis_url:
        raise Unavailable("no jobs to clear: HOTSPOT_REDIS_URL is not set", field="redis_url")
    connection = redis_lib.Redis.from_url(settings.redis_url)
    try:
        return RedisJobs(settings, connection, secret=_no_secret).purge()
    finally:
        connection.close()


def _no_secret() -> str:
    raise AssertionError("purging reads no job's data")


@contextmanager
def _reachable() -> Iterator[None]:
    """Redis down or not answering: 503 saying so (the jobs' state lives there)."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        log.error("the jobs' Redis cannot be reached: %s", exc)
        raise Unavailable("the job queue (Redis) cannot be reached; try again shortly") from None


def _text(value: Any) -> str:
    """A Redis answer (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


# ------------------------------------------------------------------------- the RQ worker side


_CONTEXTS: dict[str, Callable[[], JobContext]] = {}
"""Each queue's job context in this worker process (:func:`worker_for` registers it)."""
_ENDED: dict[str, Callable[[str, str, float], None]] = {}
"""Each queue's listener in this worker process, told of each job that ran: its kind, ``ok``
or ``failed`` and its seconds (``hotspot worker``'s metrics; :func:`worker_for`)."""


def run_queued(kind: str, params: dict[str, Any]) -> JobResult:
    """What an RQ worker runs: the job of ``kind``, with progress in ``job.meta`` and a plain
    message in ``job.meta["error"]`` when it fails (then re-raised: RQ marks it failed)."""
    from rq import get_current_job

    job = get_current_job()
    assert job is not None, "run_queued runs on an RQ worker"

    def progress(done: float, stage: str) -> None:
        job.meta["progress"] = min(1.0, max(0.0, float(done)))
        job.meta["stage"] = stage
        job.save_meta()

    began = time.perf_counter()
    try:
        opener = _CONTEXTS.get(job.origin)
        if opener is None:
            raise Unavailable(f"this worker does not serve the queue {job.origin!r}: start "
                              "`hotspot worker` with the service's settings")
        progress(0.0, "starting")
        result = execute(kind, params, opener(), progress)
    except BaseException as exc:  # RQ's time limit too (raised in the job)
        _log_failure(job.id, kind, exc)
        job.meta["error"] = plain_error(exc)
        job.meta["stage"] = "failed"
        job.save_meta()
        _tell_ended(job.origin, kind, "failed", time.perf_counter() - began)
        raise
    _tell_ended(job.origin, kind, "ok", time.perf_counter() - began)
    return result


def _tell_ended(queue: str, kind: str, outcome: str, seconds: float) -> None:
    """Tell the queue's listener (:data:`_ENDED`) of a job that ran; a failing listener is
    logged, never the job's failure."""
    listener = _ENDED.get(queue)
    if listener is None:
        return
    try:
        listener(kind, outcome, seconds)
    except Exception:  # a metric is never worth a job
        log.exception("job metrics failed")


def context_opener(settings: Settings, store: Store | None = None) -> Callable[[], JobContext]:
    """The job context of a worker: ``store`` (or the store of ``settings``, opened on first use
    and kept), the taxonomy and harm table the settings name."""
    from geodata.harm import HarmTable
    from geodata.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(settings.taxonomy_path)
    harm = HarmTable.load(settings.harm_table)
    held: list[Store] = [store] if store is not None else []
    lock = threading.Lock()

    def opener() -> JobContext:
        with lock:
            if not held:
                from geodata.stores import open_store

                held.append(open_store(settings.store_url(),
                                       busy_timeout_s=settings.busy_timeout_s))
        return JobContext(settings=settings, store=held[0], taxonomy=taxonomy, harm=harm)

    return opener


def worker_for(settings: Settings, *, store: Store | None = None, name: str | None = None,
               in_thread: bool = False,
               on_ended: Callable[[str, str, float], None] | None = None) -> Any:
    """An RQ worker of the deployment's queue (:class:`rq.SimpleWorker`: each job runs in the
    worker's own process, where the store stays open and the heavy libraries are imported
    once; see ``docs``/operations notes). ``in_thread``: for a worker run in a thread (tests),
    with a timer instead of SIGALRM for time limits and no signal handlers. ``on_ended``: told
    of each job the process runs (its kind, ``ok`` or ``failed``, and its seconds), as
    :attr:`LocalJobs.on_ended` is in the service."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    from api.redis_conn import connect

    connection = connect(settings)
    if connection is None:
        raise Unavailable("`hotspot worker` needs Redis: set HOTSPOT_REDIS_URL (without it the "
                          "service runs its jobs itself)", field="redis_url")
    opener = context_opener(settings, store)
    _CONTEXTS[queue_name(settings)] = opener
    if on_ended is not None:
        _ENDED[queue_name(settings)] = on_ended
    else:
        _ENDED.pop(queue_name(settings), None)

    class HotspotWorker(SimpleWorker):
        if in_thread:
            death_penalty_class = TimerDeathPenalty

            def _install_signal_handlers(self) -> None:
                return None

    signed = SignedPickle(lambda: jobs_secret(opener().store))
    return HotspotWorker([queue_name(settings)], connection=connection, name=name,
                         serializer=signed, job_class=job_class())


# ----------------------------------------------------------------------------- the service


def jobs_for(settings: Settings, context: Callable[[], JobContext]) -> Jobs:
    """The service's jobs: on RQ when ``HOTSPOT_REDIS_URL`` is set, else in the process."""
    from api.redis_conn import connect

    limit = int(getattr(settings, "jobs_per_key", 4))
    connection = connect(settings)
    if connection is None:
        return LocalJobs(context, limit=limit)
    return RedisJobs(settings, connection, limit=limit,
                     secret=lambda: jobs_secret(context().store))


def install(app: Any, settings: Settings) -> None:
    """Give ``app`` its jobs (``app.state.jobs``) and run its backtests through them."""
    from api.services.backtests import BacktestRunner

    def context() -> JobContext:
        from api.deps import get_store

        class _Request:  # get_store reads request.app only
            pass

        request = _Request()
        request.app = app  # type: ignore[attr-defined]
        return JobContext(settings=settings, store=get_store(request),  # type: ignore[arg-type]
                          taxonomy=app.state.taxonomy, harm=app.state.harm)

    app.state.jobs = jobs_for(settings, context)
    app.state.backtests = BacktestRunner(app.state.jobs)
    counted = metrics.of(app)
    if counted is not None and isinstance(app.state.jobs, LocalJobs):
        # the jobs this process runs, in its analyses (``job-backtest``, ``job-report``...)
        app.state.jobs.on_ended = lambda kind, outcome, seconds: counted.analysed(
            f"job-{kind}", None, outcome, seconds)


# ------------------------------------------------------------------ what the routes share


def job_link(job_id: str) -> str:
    """The status URL of a job."""
    return f"/v1/jobs/{job_id}"


def job_owner(request: Request) -> str:
    """Whose job a request starts: the caller's key id (:data:`SYSTEM` on a public route)."""
    who = caller(request)
    return who.key_id if who is not None else SYSTEM


def jobs_of(request: Request) -> Jobs:
    """The app's jobs."""
    return request.app.state.jobs


def _when(seconds: float | None) -> str | None:
    return (None if seconds is None else
            datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds"))


def status_body(job: JobState, jobs: Jobs) -> dict[str, Any]:
    """A job's status as ``GET /v1/jobs/{id}`` answers it: status, progress (0-1) and stage in
    words; once finished its result (a JSON result in ``result``, a file at
    ``links.result``); once failed why, in plain words (``error.detail``)."""
    body: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "status": job.status,
        "progress": round(job.progress, 4), "stage": job.stage,
        "parameters": job.summary, "created_at": _when(job.created_at),
        "started_at": _when(job.started_at), "finished_at": _when(job.ended_at),
        "links": {"self": job_link(job.id)},
    }
    if job.status == FINISHED:
        result = jobs.result(job.id)
        if result is not None:
            if result.document is not None:
                body["result"] = result.document
            if result.body is not None:
                body["links"]["result"] = job_link(job.id) + "/result"
            if result.location:
                body["links"]["location"] = result.location
    elif job.status == FAILED:
        body["error"] = job.error
    return body


CANCELLED = "cancelled"
"""The ``error.error`` (and stage) of a job cancelled before it ran."""


def cancelled_error(by: str) -> dict[str, Any]:
    """The ``error`` of a job cancelled before it ran."""
    return {"detail": f"cancelled by {by} before it ran", "error": CANCELLED, "status": 409}


def visible(job: JobState | None, who: Principal | None) -> bool:
    """Whether ``who`` may see ``job``: the key that started it, and admins."""
    return job is not None and who is not None and (who.role == "admin" or job.owner == who.key_id)


def accepted(job: JobState) -> JSONResponse:
    """``202 Accepted`` for a job just started (or found running): its status, ``Location``
    its status URL."""
    body = {"id": job.id, "kind": job.kind, "status": job.status,
            "progress": round(job.progress, 4), "stage": job.stage,
            "links": {"self": job_link(job.id)}}
    return JSONResponse(body, status_code=202,
                        headers={"Location": job_link(job.id),
                                 "Retry-After": str(RETRY_AFTER_S)})
