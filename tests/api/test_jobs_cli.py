"""Progress bars in the CLI: ``hotspot ingest`` (each file's bytes and a folder's files),
``hotspot backtest`` (fold by fold) and ``hotspot report`` (priority by priority) show rich
progress bars on a terminal (run here under a pseudo-terminal), and none with ``--json`` or
when the output is not a terminal, so what a script reads is unchanged."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from geodata.demo import load_demo
from geodata.stores import SQLiteStore
from tests.conftest import ROOT
from tests.waits import read_all_within

HIDE_CURSOR = "\x1b[?25l"
"""What rich writes when a live progress bar starts."""


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, demo_files: Any) -> Path:
    path = tmp_path_factory.mktemp("bars") / "demo.sqlite"
    store = SQLiteStore.open(path)
    load_demo(store, demo_files)
    store.close()
    return path


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "160", "TERM": "xterm-256color", "HOTSPOT_DATA_DIR": str(tmp),
            "HOTSPOT_REDIS_URL": ""}


def on_terminal(args: list[str], tmp: Path) -> tuple[int, str]:
    """Run ``hotspot args`` with standard output and error on a pseudo-terminal; its exit
    status and everything it wrote there (escape sequences and all)."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "api.cli", *args], cwd=ROOT,
                               env=_env(tmp), stdin=subprocess.DEVNULL, stdout=secondary,
                               stderr=secondary, close_fds=True)
    os.close(secondary)
    try:
        out = read_all_within(primary, f"hotspot {args[0]}")
    except AssertionError:
        process.kill()
        raise
    finally:
        os.close(primary)
    return process.wait(60), out.decode("utf-8", "replace")


def piped(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=_env(tmp),
                          capture_output=True, text=True, timeout=600)


def test_ingest_shows_a_bar_for_the_files_and_their_bytes_on_a_terminal_only(
        demo_files: Any, tmp_path: Path) -> None:
    files = [str(p) for p in demo_files.police_csvs[:3]]
    db = tmp_path / "force.sqlite"
    code, text = on_terminal(["ingest", "-d", str(db), *files], tmp_path)
    assert code == 0, text
    assert HIDE_CURSOR in text and re.search(r"\d/3 files", text) and " kB" in text
    assert "accepted" in text  # the report is still there
    plain = piped(["ingest", "-d", str(db), *files], tmp_path)
    assert plain.returncode == 0 and HIDE_CURSOR not in plain.stdout + plain.stderr
    assert "files" not in plain.stderr and "accepted" in plain.stdout
    code, text = on_terminal(["ingest", "-d", str(db), "--json", *files], tmp_path)
    assert code == 0 and HIDE_CURSOR not in text
    json.loads(text.strip().splitlines()[-1])


def test_backtest_and_report_show_their_stages_on_a_terminal_only(db: Path,
                                                                  tmp_path: Path) -> None:
    code, text = on_terminal(["backtest", "-d", str(db), "--priority", "asb"], tmp_path)
    assert code == 0, text
    assert HIDE_CURSOR in text and "fold 1 of 6" in text and "chosen:" in text
    again = piped(["backtest", "-d", str(db), "--priority", "asb", "--json"], tmp_path)
    assert again.returncode == 0 and json.loads(again.stdout)["reused"] is True
    assert HIDE_CURSOR not in again.stderr

    code, text = on_terminal(["report", "-d", str(db), "--period", "2024-06"], tmp_path)
    assert code == 0, text
    assert HIDE_CURSOR in text and "top places of" in text and "Made report" in text
    code, text = on_terminal(["report", "-d", str(db), "--period", "2024-06", "--json"],
                             tmp_path)
    assert code == 0 and HIDE_CURSOR not in text and "top places of" not in text
    plain = piped(["report", "-d", str(db), "--period", "2024-06"], tmp_path)
    assert plain.returncode == 0 and HIDE_CURSOR not in plain.stdout + plain.stderr
    assert "top places of" not in plain.stderr
