"""Bounded waits on a process a test started: a process that hangs fails its test in
minutes, naming what the test waited for, instead of holding the run until the 10-minute
guard (``timeout`` in pyproject.toml). The bounds are generous: they catch hangs, they are not
speed targets."""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from typing import IO

HANG_S = 180.0
"""How long a test waits for a line or a byte from its process before calling it hung."""


def line_within(stream: IO[str], what: str, seconds: float = HANG_S) -> str:
    """The next line ``stream`` (a process's pipe) gives, as ``readline`` would; a test
    failure naming ``what`` when none comes within ``seconds``."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True,
                              name="test-line-reader")
    reader.start()
    reader.join(seconds)
    if not got:  # the reader ends when the test's clean-up stops the process
        raise AssertionError(f"no {what} from the process within {seconds:.0f} s")
    return got[0]


def read_all_within(fd: int, what: str, seconds: float = HANG_S) -> bytes:
    """Everything read from ``fd`` (a pseudo-terminal's primary side) until the other side
    closes; a test failure naming ``what`` when it is still open after ``seconds``."""
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"{what} still running after {seconds:.0f} s; it wrote: "
                                 f"{b''.join(chunks)[-2000:]!r}")
        try:
            data = os.read(fd, 65536)
        except OSError as exc:  # the terminal closed: the command has ended
            if exc.errno != errno.EIO:
                raise
            return b"".join(chunks)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
