"""The test run itself (``make test``: two xdist workers, ``--dist loadfile``) goes on after a
worker crashes: a run of this project once hung until CI stopped it, after a worker died late
in the run (``tests/xdist_loadfile.py`` says why xdist's own scheduler hangs)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SUITE = {
    # the largest module first (xdist's order): one worker takes it, the other takes the rest
    "test_c.py": """
        import time
        def test_c1(): time.sleep(0.2)
        def test_c2(): time.sleep(0.2)
        def test_c3(): time.sleep(0.2)
        def test_c4(): time.sleep(0.2)
    """,
    # the other worker finishes this module, then dies in the next one: xdist 3.8.0 put this
    # finished module back in the queue, handed it to the crashed worker's replacement as
    # nothing to run, and the run waited for ever
    "test_b.py": """
        def test_b1(): pass
        def test_b2(): pass
        def test_b3(): pass
    """,
    "test_a.py": """
        import os, time
        from pathlib import Path
        FLAG = Path(__file__).with_name("crashed")
        def test_a1(): time.sleep(0.3)
        def test_a2():
            if not FLAG.exists():  # dies the first time, passes when run again
                FLAG.write_text("")
                os._exit(1)
    """,
    "test_d.py": """
        def test_d1(): pass
    """,
    "conftest.py": """
        from tests.conftest import pytest_xdist_make_scheduler  # the project's own
    """,
    "pytest.ini": """
        [pytest]
    """,
}


def test_a_run_goes_on_and_fails_after_a_worker_dies(tmp_path: Path) -> None:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(textwrap.dedent(text).lstrip(), "utf-8")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "COV_"))} | {"PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadfile",
             "--max-worker-restart", "2", "-p", "no:cacheprovider", "-q", "."],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout
        pytest.fail(f"the run hung after the worker died:\n{out}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "crashed while running 'test_a.py::test_a2'" in done.stdout, done.stdout
    # every test ran: the dead worker's test again, on its replacement, and passed there
    assert "1 failed, 10 passed" in done.stdout, done.stdout
