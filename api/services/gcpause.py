"""The cyclic garbage collector paused while an answer is computed.

An uncached hotspot answer at a million incidents makes hundreds of thousands of lists and
dicts (the features of its GeoJSON, the cells of its table) that all live until the answer is
written; each of them counts towards the collector's next full collection, and each full
collection walks every live container again, so the collector took a third or more of the
time of writing the GeoJSON (``bench/answer.py``). Reference counting frees everything as
usual while the collector is paused; only reference cycles wait for it, and it runs again
(with one collection of the young objects) once no answer is being computed in any thread.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_paused = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector inside the block (nested and concurrent blocks share one
    pause; the collector's own state before the first is restored after the last)."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()
                gc.collect(0)
