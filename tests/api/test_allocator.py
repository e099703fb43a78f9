"""The C allocator keeps freed memory for the next analysis (``HOTSPOT_MALLOC_KEEP_MB``,
:mod:`api.services.allocator`): arrays made and freed again and again, from two threads as an
analysis makes them, come back from the process's heaps instead of the kernel."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from api.services.allocator import keep_freed_memory
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import resource, threading
import numpy as np
from api.cli.common import load_settings
load_settings()
def work():
    for _ in range(30):
        arrays = [np.ones(n) for n in (200_000, 1_000_000, 600_000, 1_100_000, 300_000)]
        del arrays
work()  # the first round faults in whatever is then kept
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
work()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(keep_mb: int) -> int:
    env = {**os.environ, "HOTSPOT_MALLOC_KEEP_MB": str(keep_mb)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=120)
    return int(out.stdout.strip().splitlines()[-1])


def test_freed_memory_is_kept_for_the_next_arrays() -> None:
    if platform.libc_ver()[0] != "glibc":  # (the project installs on Debian: glibc)
        # nothing to ask of another C library: the setting is left alone, said so
        assert keep_freed_memory(512) is False
        return
    default, kept = _page_faults(0), _page_faults(512)
    # 90 rounds of 25 MB of arrays: glibc's defaults fault most of them in again each time
    assert default > 50_000, default
    assert kept * 10 < default, (kept, default)


def test_nothing_is_asked_of_the_allocator_at_zero_and_the_setting_is_bounded() -> None:
    assert keep_freed_memory(0) is False
    assert Settings(malloc_keep_mb=0).malloc_keep_mb == 0
    for bad in (-1, 2048):
        with pytest.raises(ValueError, match="malloc_keep_mb"):
            Settings(malloc_keep_mb=bad)
