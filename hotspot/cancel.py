"""Cooperative cancellation: long computations take an optional ``should_stop`` callable and
call :func:`check` between stages and every few hundred iterations of their per-hotspot loops.

A thread cannot be killed from outside; a caller that no longer wants a result (a web request
whose client has gone) makes ``should_stop`` answer True, and the computation raises
:class:`~hotspot.errors.AnalysisCancelled` at its next check. Nothing here does I/O: the
callable is whatever the caller gives (for example ``threading.Event().is_set``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from hotspot.errors import AnalysisCancelled

ShouldStop = Callable[[], bool]
"""A callable answering True once the computation should stop."""

EVERY = 256
"""Loop iterations between two checks in per-hotspot loops."""


def check(should_stop: ShouldStop | None, where: str = "") -> None:
    """Raise :class:`AnalysisCancelled` if ``should_stop`` answers True (no-op for None)."""
    if should_stop is not None and should_stop():
        raise AnalysisCancelled(f"the analysis was stopped{' ' + where if where else ''}: "
                                "nobody waits for its result")


def shared(should_stop: ShouldStop | None) -> ShouldStop | None:
    """``should_stop`` for the threads of one computation (:mod:`hotspot._threads`): asked by
    one thread at a time, and once it has answered True, True for all without asking again,
    so every thread stops at its next check and the caller's callable sees no question after
    its first True."""
    if should_stop is None:
        return None
    lock = threading.Lock()
    stopped = [False]

    def ask() -> bool:
        with lock:
            if not stopped[0]:
                stopped[0] = bool(should_stop())
            return stopped[0]

    return ask
