"""The C allocator told to keep the memory an analysis frees, for the next one (issue 18).

An uncached answer at 10^6 incidents makes and frees some 200 MB of arrays. glibc's malloc
gives each block above its mmap threshold (128 KiB at first, rising with use) a mapping of its
own, unmapped when freed, and trims the heap's free top above 128 KiB: so each answer
faults its pages in again from the kernel, zeroed. Measured here (``bench.answer``'s store,
DBSCAN, four answers in one process): 43,000-46,000 page faults and 0.15-0.37 CPU s in the
kernel an answer, against 7-300 faults and 0.02-0.05 s with the threshold at 32 MiB and the
heap kept up to 512 MiB; the answer 1.51-1.57 s against 1.39-1.42 s (KDE 0.63-0.68 s against
0.55-0.60 s).

The price: a process keeps up to ``HOTSPOT_MALLOC_KEEP_MB`` MiB of freed memory resident
between analyses (its peak is unchanged: the memory was in use a moment before). Only glibc
(Linux) has these knobs; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import logging
import platform

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""Blocks from this size on get a mapping of their own (glibc's largest allowed threshold on
64-bit: a selection's columns at 10^6 incidents, 8 MB each, come from the heap)."""


def keep_freed_memory(mb: int) -> bool:
    """Keep up to ``mb`` MiB of freed memory in this process's heaps, and serve blocks under
    :data:`MMAP_THRESHOLD` from them (``mallopt``, glibc only); 0 leaves glibc's defaults.
    Returns whether the allocator took the settings."""
    if mb <= 0 or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    taken = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, min(mb, 2047) << 20))
    if not taken:
        log.warning("the C allocator refused HOTSPOT_MALLOC_KEEP_MB=%d; its defaults stay", mb)
    return taken
