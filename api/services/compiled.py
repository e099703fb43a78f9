"""Loading the compiled analysis steps when a service or worker starts (issue 18).

DBSCAN from :data:`hotspot._griddbscan.NATIVE_FROM` points on runs compiled steps (numba), and
so do the places' loops (the peaks found and taken out, area by area) once a process has
loaded them. A process loads them on first use: about 0.7 s to import numba and 0.3-0.8 s to
load the code cached on disk (``make`` compiles it once at install, about 35 s here; without
that, the first load after an install compiles it). So that the first planner after a start
or a deploy does not wait for that, a service whose store holds :data:`WARM_FROM` incidents or
more loads them in a background thread as it starts (``HOTSPOT_WARM_COMPILED``, on by
default); a smaller store never imports numba at start.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

WARM_FROM = 20_000
"""Incidents in a store from which its service loads the compiled steps at start. The places'
loops use them whatever the selection's size once they are loaded, and they are where a
force's own data spends its time: data.police.uk's Essex, six months (96,207 incidents,
2,444 places), an uncached DBSCAN answer 3.14 -> 1.75 s and KDE 3.16 -> 1.66 s with them
loaded (on a slower machine; with the areas cut together since, 0.42 and 0.83 s on a faster
one); the 50,000-incident demo 1.05 -> 0.84 s and 0.68 -> 0.43 s. Loading them costs a start
about a second of CPU in the background and the process about 110 MB of memory (numba and
LLVM); below this size (test fixtures, a few months of a small force) the places are too few
to make that back soon."""


class _Counted(Protocol):
    def count(self) -> int: ...


def warm_compiled_in_background(store: _Counted, *, at_least: int | None = None,
                                ) -> threading.Thread:
    """Start a daemon thread that counts ``store``'s incidents and, when they are at least
    ``at_least`` (default: :data:`WARM_FROM`), loads the compiled steps
    (:func:`hotspot._griddbscan.warm_up_compiled`); it logs what it did. Nothing it meets
    (a store closed meanwhile, numba missing) reaches the caller: the steps then load on
    first use, as without it."""
    least = WARM_FROM if at_least is None else at_least

    def run() -> None:
        try:
            n = store.count()
            if n < least:
                log.debug("compiled steps not loaded at start: %d incidents (loaded from %d)", n,
                          least)
                return
            from hotspot._griddbscan import warm_up_compiled

            began = time.perf_counter()
            loaded = warm_up_compiled()
            log.info("compiled analysis steps %s in %.1f s (%d incidents)",
                     "loaded" if loaded else "not available (numba missing)",
                     time.perf_counter() - began, n)
        except Exception:  # a warm-up never stops a service
            log.warning("the compiled analysis steps were not loaded at start (they load on "
                        "first use)", exc_info=True)

    thread = threading.Thread(target=run, name="warm-compiled", daemon=True)
    thread.start()
    return thread


def use_analysis_threads(threads: int | None) -> None:
    """How many threads an analysis of this process may use at once
    (``HOTSPOT_ANALYSIS_THREADS``; None: the cores it may run on, up to 4): see
    :mod:`hotspot._threads`.

    Also keeps the linear-algebra library (OpenBLAS under numpy and scipy) to one thread: an
    analysis already runs its parts side by side on the cores, and the library's own threads
    only compete with them (spinning while they wait): 0.05 s of a 1.8 s answer at 10^6
    incidents here (``docs/benchmarks.md``)."""
    import numpy  # noqa: F401  (loads the library first: the limit reaches loaded ones only)
    from threadpoolctl import threadpool_limits

    from hotspot._threads import default_threads, set_threads

    set_threads(default_threads() if threads is None else threads)
    threadpool_limits(limits=1, user_api="blas")
