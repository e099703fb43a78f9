"""Work on a database connection in a thread of its own, in order, while the caller goes on.

An ingest reads and prepares the next batch of a file (Python, on one core) while the server
stores the one before (on the other): the calls that wait on the server run here, in order,
with a short queue between, so the reader is held back only when the server falls behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

_STOP = object()


class Pipeline:
    """Runs submitted jobs one after another in a worker thread.

    The first job that raises stops the rest (they are skipped); its exception is raised again
    to the caller by the next :meth:`submit` or by :meth:`drain`. :meth:`abort` skips whatever
    is queued and waits for the job under way.

    Parameters
    ----------
    depth
        Jobs that may wait in the queue; :meth:`submit` blocks when it is full.
    name
        The worker thread's name.
    """

    def __init__(self, depth: int = 2, *, name: str = "hotspot-pipeline") -> None:
        self._jobs: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abort = False
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            if self._error is None and not self._abort:
                try:
                    job()  # type: ignore[operator]
                except BaseException as exc:  # handed to the caller
                    self._error = exc

    def submit(self, job: Callable[[], object]) -> None:
        """Queue ``job``; raise the error of an earlier job, if one failed."""
        if self._done:
            raise RuntimeError("the pipeline has been closed")
        self._raise()
        self._jobs.put(job)

    def drain(self) -> None:
        """Wait until every queued job has run; raise the first job's error, if any."""
        self._stop()
        self._raise()

    def abort(self) -> None:
        """Skip the jobs still queued and wait for the one under way (errors are dropped)."""
        self._abort = True
        self._stop()

    @property
    def failed(self) -> BaseException | None:
        """The error of the job that failed, if one did."""
        return self._error

    def _stop(self) -> None:
        if not self._done:
            self._done = True
            self._jobs.put(_STOP)
            self._thread.join()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error
