"""Reading CSV text as it comes: encodings, BOMs, over-long lines, malformed quoting.

Files are decoded as UTF-8 (with or without a byte-order mark; UTF-16 when it has a UTF-16 BOM).
Bytes that are not valid UTF-8 are read as Windows-1252 (Latin-1 where Windows-1252 has no
character), so a file that mixes encodings still reads, and every
fallback is counted. A line longer than ``max_line_bytes`` is never held in memory: it is
skipped at the byte level and reported as a rejected row.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import os
import threading
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from geodata.errors import InvalidFile
from geodata.schema import RejectedRow

MALFORMED = "malformed_row"
WRONG_FIELD_COUNT = "wrong_field_count"

MAX_LINE_BYTES = 1 << 20
"""Longest line read (1 MiB); longer lines are rejected without being held in memory."""

_BLOCK_CHARS = 1 << 22
"""Characters decoded at a time on the fast path (4 Mi)."""
_OVERSIZED = "\x00hotspot: over-long line skipped\x00"
_counter = threading.local()


def _cp1252(b: int) -> str:
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:
        return bytes([b]).decode("latin-1")


_BYTE_CHARS = [_cp1252(b) for b in range(256)]


_ESCAPED_TO_CP1252 = {0xDC00 + b: _BYTE_CHARS[b] for b in range(0x80, 0x100)}
_DROP_ESCAPED = dict.fromkeys(range(0xDC80, 0xDD00))


def _fallback_decode(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: read bytes that are not UTF-8 as Windows-1252 (or Latin-1).

    It decodes the rest of the piece the decoder holds in one go (UTF-8 where valid, each
    other byte as Windows-1252, both at C speed), stopping short of a multi-byte sequence cut
    off at the end of the piece, which the next piece completes.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    data = exc.object
    start, end = exc.start, len(data)
    for back in (1, 2, 3):
        k = end - back
        if k <= start or data[k] < 0x80:
            break
        if data[k] >= 0xC0:  # a lead byte: is its sequence cut off by the end of the piece?
            size = 2 if data[k] < 0xE0 else 3 if data[k] < 0xF0 else 4
            if k + size > end:
                end = k
            break
    end = max(end, exc.end)
    escaped = bytes(data[start:end]).decode("utf-8", "surrogateescape")
    _counter.count = getattr(_counter, "count", 0) + len(escaped) - len(
        escaped.translate(_DROP_ESCAPED))
    return escaped.translate(_ESCAPED_TO_CP1252), end


codecs.register_error("hotspot-cp1252-fallback", _fallback_decode)


class _LineGuard(io.RawIOBase):
    """A raw reader over a binary file that replaces over-long lines with a marker line.

    Bytes of the current line are held back (at most ``limit`` of them) until its end is seen;
    a line that grows past ``limit`` is dropped up to its end and a marker line takes its
    place, so line numbers stay right. The wrapped file is not closed with this object.
    """

    def __init__(self, inner: BinaryIO | io.RawIOBase, limit: int, guard: bool) -> None:
        self._inner = inner
        self._limit = limit
        self._guard = guard
        self._pending = b""
        self._out = bytearray()
        self._skipping = False
        self._eof = False
        self.saw_nul = not guard  # UTF-16 text is full of NUL bytes: say so from the start

    def readable(self) -> bool:
        return True

    def _fill(self, want: int) -> None:
        while len(self._out) < want and not self._eof:
            data = self._inner.read(max(want, 1 << 16))
            if not data:
                self._eof = True
                self._out += self._pending
                self._pending = b""
                return
            if b"\x00" in data:
                self.saw_nul = True
            if not self._guard:
                self._out += data
                continue
            if self._skipping:
                end = _line_end(data, 0)
                if end < 0:
                    continue
                self._skipping = False
                if data[end : end + 2] == b"\r\n":
                    end += 1
                data = data[end + 1 :]
            last = max(data.rfind(b"\n"), data.rfind(b"\r"))
            if last >= 0:
                self._out += self._pending
                self._out += data[: last + 1]
                self._pending = data[last + 1 :]
            else:
                self._pending += data
            if len(self._pending) > self._limit:
                self._pending = b""
                self._skipping = True
                self._out += _OVERSIZED.encode() + b"\n"

    def readinto(self, b) -> int:
        self._fill(len(b))
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        del self._out[:n]
        return n

    def close(self) -> None:
        super().close()


_PACKED = ((b"\x1f\x8b", "gzip"), (b"PK\x03\x04", "zip"), (b"\xfd7zXZ\x00", "xz"),
           (b"(\xb5/\xfd", "zstd"), (b"7z\xbc\xaf\x27\x1c", "7-zip"))


def compressed_kind(head: bytes) -> str | None:
    """Why a file that starts with ``head`` cannot be read as text, when it is a compressed
    archive (gzip, zip, bzip2, xz, zstd, 7-zip: recognised by their magic bytes), else None.

    The readers take plain text only: a compressed upload is refused with this sentence rather
    than read as garbage, so the person sending it knows to decompress it first.
    """
    kind = next((k for magic, k in _PACKED if head.startswith(magic)), None)
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (b"1AY&SY", b"\x17rE8P\x90"):
        kind = "bzip2"
    if kind is None:
        return None
    return f"the file is {kind}-compressed; decompress it and send the CSV or GeoJSON itself"


def _line_end(data: bytes, start: int) -> int:
    ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
    return min(ends) if ends else -1


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
        self._raw = _LineGuard(_Prefixed(head, self._bin), max_line_bytes, guard=not utf16)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._raw, buffer_size=1 << 16),
            encoding="utf-16" if utf16 else "utf-8-sig",
            errors="hotspot-cp1252-fallback",
            newline="",
        )
        self._fallback_base = getattr(_counter, "count", 0)

    @property
    def fallback_bytes(self) -> int:
        """Bytes read as Windows-1252 because they were not valid UTF-8 (so far)."""
        return getattr(_counter, "count", 0) - self._fallback_base

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
            was_enabled = gc.isenabled()
            gc.disable()  # rows of strings hold no cycles; collecting while splitting costs ~40%
            try:
                table = _split_block(body, n, ncols, delimiter) if ncols > 1 else None
                if table is None:  # some line has another number of fields: line by line
                    rows = [line.split(delimiter) for line in body.split("\n")]
            finally:
                if was_enabled:
                    gc.enable()
            if table is None:
                line_starts, good_rows, bad = self._sort_rows(line_starts, rows, [], ncols)
                table = _as_table(good_rows, ncols)
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
            elif len(row) == 1 and row[0] == _OVERSIZED:
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
            if len(row) == 1 and row[0] == _OVERSIZED:
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


class _Prefixed(io.RawIOBase):
    """Bytes already read from a file, then the rest of the file."""

    def __init__(self, head: bytes, inner: BinaryIO) -> None:
        self._head = head
        self._inner = inner

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            if n < 0:
                return head + self._inner.read()
            return head + self._inner.read(max(n - len(head), 0))
        return self._inner.read(n)
