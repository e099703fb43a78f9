"""A page printed to PDF by Debian's headless Chromium (the command line: the service needs no
test-only library for it).

The page is written to a file in a fresh temporary folder and Chromium prints it from there
with its own profile in that folder, every host name resolving to nothing (the page must
need no network: the report page's style sheet and charts are inline), bounded by
``HOTSPOT_PDF_TIMEOUT_S``. A missing Chromium, a print that fails or one that takes too long is
a 503 saying which (:class:`api.errors.Unavailable`); at most :data:`AT_ONCE` prints run at
once in the service (each Chromium takes a few hundred MB), others wait their turn within the
same time limit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from api.service_errors import Unavailable

log = logging.getLogger(__name__)

AT_ONCE = 2
"""Chromium prints running at once in the whole service."""
_SLOTS = threading.BoundedSemaphore(AT_ONCE)
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--mute-audio", "--no-pdf-header-footer",
    # nothing beyond the file: every host name resolves to nothing
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
"""How Chromium is started to print (no sandbox: the service may run as root in a container;
the page it prints is the service's own, with every text from data escaped)."""


def chromium_path(settings: Any) -> Path:
    """The Chromium the settings name (``HOTSPOT_CHROMIUM``), checked.

    Raises
    ------
    Unavailable
        If there is no such program (503 naming the setting and how to install it).
    """
    path = Path(settings.chromium)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise Unavailable(
            f"PDFs are printed by headless Chromium, which is not installed at {path}: install "
            "Debian's chromium (apt-get install chromium; `make run` does) or set "
            "HOTSPOT_CHROMIUM to its path. The page itself opens without it.")
    return path


def html_to_pdf(html: str, settings: Any) -> bytes:
    """``html`` (a whole, self-contained page) printed to PDF by headless Chromium.

    Parameters
    ----------
    html
        The page. It is opened from a file, with no network: anything it would fetch from a
        server does not load (inline its style sheets and images).
    settings
        The service's settings: ``chromium`` (the program) and ``pdf_timeout_s`` (the longest
        the print, waiting for a turn included, may take, seconds).

    Returns
    -------
    bytes
        The PDF (the page's ``@page`` rule sets its paper size and margins; no header or
        footer is added).

    Raises
    ------
    Unavailable
        Chromium is missing, failed, or took longer than ``pdf_timeout_s`` (503).
    """
    program = chromium_path(settings)
    timeout_s = float(settings.pdf_timeout_s)
    started = time.monotonic()
    if not _SLOTS.acquire(timeout=timeout_s):
        raise Unavailable(f"other PDFs are being printed; none finished in {timeout_s:g} s: "
                          "try again shortly")
    try:
        left = max(timeout_s - (time.monotonic() - started), 1.0)
        with tempfile.TemporaryDirectory(prefix="hotspot-pdf-") as folder:
            return _print(program, Path(folder), html, timeout_s=left)
    finally:
        _SLOTS.release()


def _print(program: Path, folder: Path, html: str, *, timeout_s: float) -> bytes:
    """Chromium prints ``html`` from a file in ``folder`` to ``folder/page.pdf``."""
    page = folder / "page.html"
    page.write_text(html, encoding="utf-8")
    out = folder / "page.pdf"
    args = [str(program), *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}",
            f"--crash-dumps-dir={folder / 'crashes'}", f"--print-to-pdf={out}", page.as_uri()]
    env = {**os.environ, "HOME": str(folder)}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                               cwd=folder, env=env, start_new_session=True)
    try:
        _stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"Chromium did not print the PDF within {timeout_s:.0f} s "
                          "(HOTSPOT_PDF_TIMEOUT_S): try again") from None
    finally:
        _stop(process)
    pdf = out.read_bytes() if out.is_file() else b""
    if process.returncode != 0 or not pdf.startswith(b"%PDF"):
        log.error("chromium could not print a PDF (exit %s): %s", process.returncode,
                  stderr.decode("utf-8", "replace")[-2000:])
        raise Unavailable(f"Chromium could not print the PDF (exit {process.returncode}); "
                          "see the service's log")
    return pdf


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End Chromium and every process it started (its own session) if it is still running."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
