"""The bytes under the text: the Windows-1252 fallback decoder, the over-long-line guard, and
telling a compressed file by its first bytes."""

from __future__ import annotations

import codecs
import io
import os
import threading
from pathlib import Path
from typing import BinaryIO

OVERSIZED_LINE = "\x00hotspot: over-long line skipped\x00"
"""The line :class:`LineGuard` puts in place of an over-long one."""

FALLBACK_ERRORS = "hotspot-cp1252-fallback"
"""The codec error handler that reads bytes that are not UTF-8 as Windows-1252."""

fallback_count = threading.local()
"""``.count``: bytes read by the fallback so far in this thread."""


def _cp1252(b: int) -> str:
    """The character of one byte in Windows-1252, or Latin-1 where Windows-1252 has none."""
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
    fallback_count.count = getattr(fallback_count, "count", 0) + len(escaped) - len(
        escaped.translate(_DROP_ESCAPED))
    return escaped.translate(_ESCAPED_TO_CP1252), end


codecs.register_error(FALLBACK_ERRORS, _fallback_decode)


class LineGuard(io.RawIOBase):
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
                self._out += OVERSIZED_LINE.encode() + b"\n"

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
    """Where the first line break (\\n or \\r) at or after ``start`` is, or -1."""
    ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
    return min(ends) if ends else -1


class Prefixed(io.RawIOBase):
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


def open_head(f: BinaryIO, name: str) -> tuple[bytes, int | None]:
    """The first 64 KiB of a binary source with its BOM and leading white space stripped, and
    its size in bytes from where it stands (None when it cannot seek to its end); the file is
    left where it was. Raises :class:`~geodata.errors.InvalidFile` naming ``name`` for a
    compressed or empty file (a JSON reader's first look)."""
    from geodata.errors import InvalidFile

    pos = 0
    total: int | None
    try:
        pos = f.tell()
        f.seek(0, io.SEEK_END)
        total = f.tell() - pos
        f.seek(pos)
    except (OSError, ValueError):
        total = None
    head = f.read(65536)
    f.seek(pos)
    packed = compressed_kind(head)
    if packed:
        raise InvalidFile(f"{name}: {packed}")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped:
        raise InvalidFile(f"{name}: the file is empty")
    return stripped, total


def open_binary(source: str | os.PathLike[str] | BinaryIO,
                name: str = "") -> tuple[BinaryIO, bool, str]:
    """A reader's source as a binary file: the file, whether it was opened here (and so is
    the caller's to close), and the name shown in messages (``name``, else the file's own,
    else ``upload``). Raises :class:`~geodata.errors.InvalidFile` for a path that cannot be
    opened."""
    from geodata.errors import InvalidFile

    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return open(path, "rb"), True, name or path.name
        except OSError as exc:
            raise InvalidFile(f"cannot open {path}: {exc.strerror}") from exc
    given = getattr(source, "name", "")
    return source, False, name or (Path(given).name if isinstance(given, str) and given
                                   else "upload")
