"""Reading CSV text as it comes: encodings, BOMs, over-long lines, malformed quoting.

Files are decoded as UTF-8 (with or without a byte-order mark; UTF-16 when it has a UTF-16 BOM).
Bytes that are not valid UTF-8 are read as Windows-1252 (Latin-1 where Windows-1252 has no
character), so a file that mixes encodings still reads, and every
fallback is counted. A line longer than ``max_line_bytes`` is never held in memory: it is
skipped at the byte level (:mod:`geodata.readers._bytes`) and reported as a rejected row.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import os
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from geodata.errors import InvalidFile
from geodata.readers._bytes import (
    FALLBACK_ERRORS,
    OVERSIZED_LINE,
    LineGuard,
    Prefixed,
    compressed_kind,
    fallback_count,
)
from geodata.schema import RejectedRow

MALFORMED = "malformed_row"
WRONG_FIELD_COUNT = "wrong_field_count"

MAX_LINE_BYTES = 1 << 20
"""Longest line read (1 MiB); longer lines are rejected without being held in memory."""

_BLOCK_CHARS = 1 << 22
"""Characters decoded at a time on the fast path (4 Mi)."""
class TextSource:
    """A binary source opened as decoded text for :mod:`csv`, with what a report needs.

    Parameters
    ----------
    source
        A path, or a binary file object opened for reading (left open).
    name
        Shown in messages (defaults to the file name).
    max_line_bytes
        Longest line read; longer ones become rejected rows.

    Raises
    ------
    InvalidFile
        If a path cannot be opened.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        name: str = "",
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self.max_line_bytes = max_line_bytes
        self.blank_lines = 0
        self._own = False
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            self.name = name or path.name
            try:
                self._bin: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise InvalidFile(f"cannot open {path}: {exc.strerror}") from exc
            self._own = True
        else:
            self._bin = source
            given = getattr(source, "name", "")
            self.name = name or (Path(given).name if isinstance(given, str) and given else "upload")
        self.total_bytes: int | None
        try:
            pos = self._bin.tell()
            self._bin.seek(0, io.SEEK_END)
            self.total_bytes = self._bin.tell() - pos
            self._bin.seek(pos)
        except (OSError, AttributeError, ValueError):
            self.total_bytes = None
        head = self._bin.read(16)
        packed = compressed_kind(head)
        if packed:
            self.close()
            raise InvalidFile(f"{self.name}: {packed}")
        utf16 = head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        self._raw = LineGuard(Prefixed(head, self._bin), max_line_bytes, guard=not utf16)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._raw, buffer_size=1 << 16),
            encoding="utf-16" if utf16 else "utf-8-sig",
            errors=FALLBACK_ERRORS,
            newline="",
        )
        self._fallback_base = getattr(fallback_count, "count", 0)

    @property
    def fallback_bytes(self) -> int:
        """Bytes read as Windows-1252 because they were not valid UTF-8 (so far)."""
        return getattr(fallback_count, "count", 0) - self._fallback_base

    @property
    def saw_nul(self) -> bool:
        """Whether the bytes read so far (read-ahead included) held a NUL byte: False means no
        text handed out yet holds U+0000."""
        return self._raw.saw_nul

    @property
    def bytes_read(self) -> int:
        """Bytes consumed from the source so far (read-ahead included)."""
        try:
            return int(self._bin.tell())
        except (OSError, AttributeError, ValueError):
            return 0

    def chunks(
        self, ncols: int, chunk_rows: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[RejectedRow]]]:
        """Read the records after the header in chunks of well-formed rows.

        Yields ``(lines, table, rejected)``: the start line (int64) of up to ``chunk_rows``
        records that have ``ncols`` fields, their fields as an ``(n, ncols)`` object array, and
        the records on the way that could not be parsed or had another number of fields. Call
        after :meth:`header`.

        Two paths, same result. While the text holds no quote character, no NUL and no bare
        carriage return (most data.police.uk files hold none), every line is one record: a
        block of lines is split on line breaks and delimiters in one go and checked to have
        ``ncols`` fields on every line (blocks that do not are split line by line), which is
        what the csv module would do, at about twice its speed. From the first quote on, the
        csv module reads the rest; line numbers then come from ``reader.line_num``, and a chunk
        holding a record that spans lines (a quoted line break) is walked to place each record.
        """
        delimiter = self._delimiter
        last = self._last
        tables: list[np.ndarray] = []
        starts: list[np.ndarray] = []
        rejected: list[RejectedRow] = []
        pending = 0
        carry = ""
        while True:
            block = self._text.read(_BLOCK_CHARS)
            text = carry + block
            if not text:
                break
            if block:
                cut = text.rfind("\n")
                if cut < 0:
                    carry = text
                    continue
                body, carry = text[:cut], text[cut + 1 :]
            else:
                body, carry = text, ""
            if "\r" in body:
                body = body.replace("\r\n", "\n")
            if '"' in body or "\r" in body or "\x00" in body:  # the csv module from here on
                if pending or rejected:
                    yield *_joined(starts, tables, ncols), rejected
                unread = text if block else body
                if block and not unread.endswith(("\n", "\r")):
                    unread += self._text.readline()  # finish the line the block cut off
                rest = io.StringIO(unread, newline="")
                reader = csv.reader(chain(rest, self._text), delimiter=delimiter, strict=False)
                yield from self._csv_chunks(reader, last, ncols, chunk_rows)
                return
            n = body.count("\n") + 1
            line_starts = np.arange(last + 1, last + 1 + n, dtype=np.int64)
            last += n
            line_starts, table, bad = self._split_plain_block(body, line_starts, ncols)
            rejected.extend(bad)
            starts.append(line_starts)
            tables.append(table)
            pending += table.shape[0]
            while pending >= chunk_rows:
                all_starts, all_rows = np.concatenate(starts), np.concatenate(tables)
                here = [r for r in rejected if r.line <= all_starts[chunk_rows - 1]]
                rejected = rejected[len(here):]
                yield all_starts[:chunk_rows], all_rows[:chunk_rows], here
                starts, tables = [all_starts[chunk_rows:]], [all_rows[chunk_rows:]]
                pending -= chunk_rows
            if not block:
                break
        if pending or rejected:
            yield *_joined(starts, tables, ncols), rejected

    def _split_plain_block(
        self, body: str, line_starts: np.ndarray, ncols: int
    ) -> tuple[np.ndarray, np.ndarray, list[RejectedRow]]:
        """Split whole lines holding no quote into rows: in one go when every line has ``ncols``
        fields, else line by line, rejecting the lines with another number of fields.

        Returns the start lines and fields of the good rows, and the rejected lines.
        """
        delimiter = self._delimiter
        was_enabled = gc.isenabled()
        gc.disable()  # rows of strings hold no cycles; collecting while splitting costs ~40%
        try:
            table = _split_block(body, len(line_starts), ncols, delimiter) if ncols > 1 else None
            if table is None:  # some line has another number of fields: line by line
                rows = [line.split(delimiter) for line in body.split("\n")]
        finally:
            if was_enabled:
                gc.enable()
        if table is not None:
            return line_starts, table, []
        line_starts, good_rows, bad = self._sort_rows(line_starts, rows, [], ncols)
        return line_starts, _as_table(good_rows, ncols), bad

    def _csv_chunks(
        self, reader: Any, base: int, ncols: int, chunk_rows: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray, list[RejectedRow]]]:
        """The csv-module path of :meth:`chunks`; ``base`` is the last line read before."""
        last = base
        while True:
            rows: list[list[str]] = []
            error: csv.Error | None = None
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                rows.extend(islice(reader, chunk_rows))
            except csv.Error as exc:
                error = exc
            finally:
                if was_enabled:
                    gc.enable()
            end = base + reader.line_num
            n = len(rows)
            if n == 0 and error is None:
                return
            if end - last == n + (error is not None):
                starts = np.arange(last + 1, last + n + 1, dtype=np.int64)
            else:  # a record spans lines: place each by the line breaks inside its fields
                spans = np.fromiter((1 + _breaks(r) for r in rows), dtype=np.int64, count=n)
                starts = last + 1 + np.cumsum(spans) - spans
            after = int(starts[-1]) + _breaks(rows[-1]) if n else last  # last record's end
            errors = []
            if error is not None:
                errors.append(RejectedRow(after + 1, MALFORMED, f"malformed CSV: {error}"))
            last = end
            starts, good_rows, bad = self._sort_rows(starts, rows, errors, ncols)
            yield starts, _as_table(good_rows, ncols), bad

    def _sort_rows(
        self,
        starts: np.ndarray,
        rows: list[list[str]],
        rejected: list[RejectedRow],
        ncols: int,
    ) -> tuple[np.ndarray, list[list[str]], list[RejectedRow]]:
        """Split parsed records into well-formed rows and rejected ones; count blank lines."""
        lens = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        bad = np.flatnonzero(lens != ncols)
        if not bad.size:
            return starts, rows, rejected
        for i in bad.tolist():
            row = rows[i]
            if len(row) <= 1 and (not row or not row[0].strip()):
                self.blank_lines += 1
            elif len(row) == 1 and row[0] == OVERSIZED_LINE:
                rejected.append(
                    RejectedRow(int(starts[i]), MALFORMED, _too_long(self.max_line_bytes))
                )
            else:
                rejected.append(
                    RejectedRow(
                        int(starts[i]),
                        WRONG_FIELD_COUNT,
                        f"{len(row)} fields where the header has {ncols}",
                    )
                )
        rejected.sort(key=lambda r: r.line)
        keep = lens == ncols
        return starts[keep], [r for r, k in zip(rows, keep.tolist(), strict=True) if k], rejected

    def header(self, *, delimiter: str = ",") -> tuple[int, list[str]]:
        """Read the first non-blank record as the header.

        Raises
        ------
        InvalidFile
            If the file is empty or its first record cannot be read.
        """
        csv.field_size_limit(self.max_line_bytes * 4)
        self._delimiter = delimiter
        self._reader = csv.reader(self._text, delimiter=delimiter, strict=False)
        self._last = 0
        while True:
            try:
                row = next(self._reader)
            except StopIteration:
                raise InvalidFile(f"{self.name}: the file is empty") from None
            except csv.Error as exc:
                raise InvalidFile(f"{self.name}: the first line is not a CSV header ({exc})") from exc
            start = self._last + 1
            self._last = self._reader.line_num
            if len(row) == 1 and row[0] == OVERSIZED_LINE:
                raise InvalidFile(
                    f"{self.name}: line {start} is not a CSV header: "
                    f"{_too_long(self.max_line_bytes)}"
                )
            if row and any(f.strip() for f in row):
                return start, row
            self.blank_lines += 1

    def close(self) -> None:
        """Close the file if this object opened it."""
        if self._own:
            self._bin.close()

    def __enter__(self) -> TextSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_block(body: str, n: int, ncols: int, delimiter: str) -> np.ndarray | None:
    """Split ``n`` lines into an ``(n, ncols)`` object array in one go, or None when some line
    has another number of fields.

    The line breaks become fields of their own, so a table whose every line has ``ncols``
    fields has a line break in column ``ncols`` of every row, and only then.
    """
    flat = body.replace("\n", f"{delimiter}\n{delimiter}").split(delimiter)
    flat.append("\n")
    if len(flat) != n * (ncols + 1):
        return None
    table = np.array(flat, dtype=object).reshape(n, ncols + 1)
    if not (table[:, ncols] == "\n").all():
        return None
    return table[:, :ncols]


def _joined(
    starts: list[np.ndarray], tables: list[np.ndarray], ncols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate pieces of start lines and tables (which may be none)."""
    if not tables:
        return np.empty(0, dtype=np.int64), _as_table([], ncols)
    return np.concatenate(starts), np.concatenate(tables)


def _as_table(rows: list[list[str]], ncols: int) -> np.ndarray:
    """Rows of ``ncols`` fields as an ``(n, ncols)`` object array."""
    table = np.empty((len(rows), ncols), dtype=object)
    if rows:
        table[:] = rows
    return table


def _breaks(row: list[str]) -> int:
    """Line breaks inside a record's fields (each \\r\\n counted once)."""
    total = 0
    for f in row:
        if "\n" in f or "\r" in f:
            total += f.count("\n") + f.count("\r") - f.count("\r\n")
    return total


def _too_long(limit: int) -> str:
    return f"line longer than {limit:,} bytes; not read"
