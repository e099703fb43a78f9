"""What every ``hotspot`` command shares: the consoles, the ``--database`` and ``--json``
options, opening the store, progress bars, and refusals as a message and an exit status."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from api.settings import Settings

if TYPE_CHECKING:
    from geodata.stores import Store

out = Console(highlight=False, soft_wrap=True)
"""Standard output: what the command did."""
err = Console(stderr=True, highlight=False)
"""Standard error: errors and progress."""

DatabaseOpt = Annotated[
    str | None,
    typer.Option("--database", "-d", help="Store: a file path (embedded store) or a "
                 "postgresql:// URL (PostGIS). Default: $HOTSPOT_DATABASE_URL, else "
                 "hotspot.sqlite in the data folder."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def load_settings() -> Settings:
    """The settings of the environment (``HOTSPOT_*`` variables and ``.env``); the threads an
    analysis of this command may use follow them (``HOTSPOT_ANALYSIS_THREADS``), and the
    freed memory its process keeps (``HOTSPOT_MALLOC_KEEP_MB``)."""
    from api.services.allocator import keep_freed_memory
    from api.services.compiled import use_analysis_threads

    settings = Settings()
    use_analysis_threads(settings.analysis_threads)
    keep_freed_memory(settings.malloc_keep_mb)
    return settings


def open_store(url: str) -> Store:
    """The store at ``url``, opened, its schema created or migrated (see
    :func:`geodata.stores.open_store`)."""
    from geodata.stores import open_store as open_url

    return open_url(url, busy_timeout_s=load_settings().busy_timeout_s)


def fail(message: str, as_json: bool, code: int = 1) -> typer.Exit:
    """Print ``error: message`` (or ``{"error": message}`` with ``--json``) and return the exit
    to raise: 1 refused, 2 usage error."""
    if as_json:
        print(json.dumps({"error": message}))
    else:
        # the message is text (it may hold brackets, e.g. a TOML table's name), never markup
        err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def refusals(as_json: bool) -> Iterator[None]:
    """Turn the errors whose message is safe to show (:data:`api.service_errors.USER_ERRORS`:
    bad input, the wrong store, an unreadable file) and OS errors into a clear message and exit
    status 1 (never a traceback)."""
    from api.service_errors import USER_ERRORS

    try:
        yield
    except USER_ERRORS as exc:
        raise fail(str(exc), as_json) from None
    except OSError as exc:
        raise fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), as_json) from None


def write_out(path: Path, text: str, as_json: bool) -> None:
    """Write a command's ``--out`` file (UTF-8); a path that cannot be written is a clear error
    and exit status 1, as every refusal is."""
    with refusals(as_json):
        path.write_text(text, "utf-8")


class _Amount(ProgressColumn):
    """How much is done: bytes (as rich's download column), or files for a task added with
    ``unit="files"``."""

    def __init__(self) -> None:
        super().__init__()
        self._bytes = DownloadColumn()

    def render(self, task: Task) -> Any:
        if task.fields.get("unit") == "files":
            from rich.text import Text

            return Text(f"{int(task.completed)}/{int(task.total or 0)} files",
                        style="progress.download")
        return self._bytes.render(task)


def progress_bar(enabled: bool) -> Progress:
    """A transient progress bar on standard error (shown only when ``enabled``)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        _Amount(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not enabled,
    )


def shows_progress(as_json: bool) -> bool:
    """Whether a command shows progress bars: only for a person at a terminal (standard output
    and standard error both a terminal), never with ``--json``, so that what a script or a
    pipe reads is the same as without them."""
    return not as_json and out.is_terminal and err.is_terminal


Step = Callable[[float, str], None]
"""``step(share done 0-1, stage in words)``: the progress of a backtest, a report, a job."""


@contextmanager
def stage_bar(enabled: bool, what: str) -> Iterator[Step | None]:
    """A transient progress bar on standard error for work that reports its share done and
    its stage (a backtest fold by fold, a report priority by priority); yields the ``step``
    to give that work, or None when not ``enabled`` (see :func:`shows_progress`)."""
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), TextColumn("{task.fields[stage]}"), console=err,
                  transient=True) as bar:
        task = bar.add_task(what, total=1.0, stage="")

        def step(done: float, stage: str) -> None:
            bar.update(task, completed=min(1.0, max(0.0, done)), stage=stage)

        yield step


def advance(bar: Progress, task: Any, done: int, _total: int | None) -> None:
    """Move ``task`` of ``bar`` to ``done`` (a reader's progress callback)."""
    bar.update(task, completed=done)


def line_ranges(ranges: list[list[int]]) -> str:
    """Runs of line numbers in words: ``2-5289, 5291`` (the first 12 runs)."""
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in ranges[:12]]
    more = f" … ({len(ranges) - 12} more runs)" if len(ranges) > 12 else ""
    return ", ".join(parts) + more


def safe_url(url: str) -> str:
    """A database URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
