"""The tests' bounded waits on their processes (tests/waits.py) end a hang with a failure."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from tests.waits import line_within, read_all_within

SILENT = [sys.executable, "-c", "import time; print('one', flush=True); time.sleep(60)"]


def test_a_line_that_never_comes_fails_naming_what_was_awaited() -> None:
    with subprocess.Popen(SILENT, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        try:
            assert line_within(proc.stdout, "first line", seconds=30) == "one\n"
            with pytest.raises(AssertionError, match="no second line from the process within 1 s"):
                line_within(proc.stdout, "second line", seconds=1)
        finally:
            proc.kill()


def test_a_terminal_that_stays_open_fails_with_what_it_wrote() -> None:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(SILENT, stdout=secondary, stderr=secondary, close_fds=True)
    os.close(secondary)
    try:
        with pytest.raises(AssertionError, match=r"the sleeper still running after 1 s; .*one"):
            read_all_within(primary, "the sleeper", seconds=1)
    finally:
        proc.kill()
        proc.wait(30)
        os.close(primary)


def test_a_terminal_read_ends_when_the_process_ends() -> None:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", "print('done')"], stdout=secondary,
                            close_fds=True)
    os.close(secondary)
    try:
        assert b"done" in read_all_within(primary, "print", seconds=60)
    finally:
        proc.wait(30)
        os.close(primary)
