"""Jobs (:mod:`api.services.jobs`): long work started by another endpoint (``GET``/``POST
/v1/backtest``, ``POST /v1/reports`` with ``Prefer: respond-async``, ``POST
/v1/reports/{id}/pdf``, ``POST /v1/cross-border``), which answers ``202 Accepted`` with
``Location: /v1/jobs/{id}``. Here: a job's status and progress, its result, and the caller's
jobs. A job is visible only to the key that started it, and to admins; anyone else is told
there is no such job (404)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api.errors import Conflict, NotFound
from api.pages import caller
from api.services.jobs import (
    ACTIVE,
    FAILED,
    FINISHED,
    QUEUED,
    RETRY_AFTER_S,
    JobState,
    job_link,
    jobs_of,
    status_body,
    visible,
)

router = APIRouter(tags=["jobs"])


def _mine(request: Request, job_id: str) -> JobState:
    job = jobs_of(request).state(job_id) if len(job_id) <= 64 else None
    if not visible(job, caller(request)):
        raise NotFound(f"no job {job_id[:40]!r} (a job is seen only by the key that started "
                       "it; GET /v1/jobs lists yours)", field="job_id")
    assert job is not None
    return job


@router.get("/v1/jobs")
async def list_jobs(request: Request, limit: int = Query(50, ge=1, le=500)) -> JSONResponse:
    """The caller's latest jobs, newest first (an admin's: every key's), each with its status
    and progress."""
    who = caller(request)
    jobs = jobs_of(request)
    owner = None if who is not None and who.role == "admin" else (who.key_id if who else "-")
    states = await run_in_threadpool(jobs.owned, owner, limit)
    return JSONResponse([{k: v for k, v in status_body(s, jobs).items() if k != "result"}
                         for s in states], headers={"Cache-Control": "no-store"})


@router.get("/v1/jobs/{job_id}", responses={
    200: {"description": "The job's status (queued, running, finished or failed), its progress "
                         "(0-1) and stage in words, and once finished its result or a link to "
                         "it; Retry-After while it is not finished."},
    404: {"description": "No such job, or not the caller's."}})
async def job_status(job_id: str, request: Request) -> JSONResponse:
    """A job's status: ``status`` (queued, running, finished, failed), ``progress`` (0-1) and
    ``stage`` (in words); once finished ``result`` (a JSON result) and ``links.result`` (a
    file: a PDF, GeoJSON) or ``links.location`` (where the result is kept, such as a stored
    report); once failed ``error.detail`` says why in plain words (``error.field`` names the
    parameter to change, ``error.status`` the answer a request would have had)."""
    jobs = jobs_of(request)

    def read() -> dict[str, Any]:
        return status_body(_mine(request, job_id), jobs)

    body = await run_in_threadpool(read)
    headers = {"Cache-Control": "no-store"}
    if body["status"] in ACTIVE:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return JSONResponse(body, headers=headers)


@router.delete("/v1/jobs/{job_id}", responses={
    200: {"description": "The job was queued and is cancelled: its status, failed with "
                         "error.error \"cancelled\"; it will not run, and it no longer counts "
                         "in the key's jobs."},
    404: {"description": "No such job, or not the caller's."},
    409: {"description": "The job has started or ended: only a queued job can be cancelled."}})
async def cancel_job(job_id: str, request: Request) -> JSONResponse:
    """Cancel a job that is still queued (a key that asked for the wrong thing, or whose jobs
    wait for a worker that is not running): it will not run, its status is ``failed`` with
    ``error.error`` ``cancelled``, and it no longer counts in the key's jobs. A job that has
    started runs to its end (its time limit bounds it)."""
    jobs = jobs_of(request)
    who = caller(request)

    def cancel() -> dict[str, Any]:
        job = _mine(request, job_id)
        if job.status != QUEUED:
            raise Conflict(f"the job is {job.status}: only a queued job can be cancelled",
                           field="job_id")
        by = "an admin" if who is not None and who.role == "admin" and \
            who.key_id != job.owner else "the key that started it"
        after = jobs.cancel(job.id, by)
        if after is None or after.status != FAILED:  # taken by a worker meanwhile
            raise Conflict("the job has started meanwhile: only a queued job can be "
                           "cancelled", field="job_id")
        return status_body(after, jobs)

    body = await run_in_threadpool(cancel)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/v1/jobs/{job_id}/result", responses={
    200: {"content": {"application/json": {}, "application/pdf": {},
                      "application/geo+json": {}},
          "description": "The finished job's result: a file (a report's PDF, cross-border "
                         "GeoJSON) or its JSON result."},
    404: {"description": "No such job, or not the caller's."},
    409: {"description": "The job has not finished (or it failed): see its status."}})
async def job_result(job_id: str, request: Request) -> Response:
    """A finished job's result: the file it made (with its media type and, for a PDF, a file
    name), else its JSON result."""
    jobs = jobs_of(request)

    def read() -> Response:
        job = _mine(request, job_id)
        result = jobs.result(job.id) if job.status == FINISHED else None
        if result is None:
            raise Conflict(f"the job is {job.status}: its result is ready once it has finished "
                           f"(GET {job_link(job.id)})", field="job_id")
        if result.body is None:
            return JSONResponse(result.document, headers={"Cache-Control": "private"})
        headers = {"Cache-Control": "private"}
        if result.filename:
            headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
        return Response(result.body, media_type=result.media_type or "application/octet-stream",
                        headers=headers)

    return await run_in_threadpool(read)
