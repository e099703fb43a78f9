"""How deeply JSON nests, measured on the raw bytes as they stream past, before a parser sees them.

A JSON incident needs a few levels (a collection, its features, a feature, its geometry and
properties); a file nested thousands of levels deep is an attack or a fault, and parsers pay
for it: Python's ``json`` recurses (``RecursionError`` past about 1,000 levels) and ijson's
prefixes grow with the depth (memory quadratic in it: 100,000 levels take gigabytes). So the
readers measure the depth on the bytes first and refuse what nests past :data:`MAX_DEPTH`.

The measure is vectorised: of each piece of bytes only quotes, brackets and braces are kept
(``bytes.translate``, C speed), escaped quotes are dropped, and the depth outside strings is a
cumulative sum (numpy): about a millisecond a megabyte.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

MAX_DEPTH = 64
"""Deepest JSON nesting read (arrays and objects, the outermost counting as 1)."""

_DROP = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_QUOTE = ord('"')


class NestingMeter:
    """The nesting depth of JSON fed to it piece by piece (strings and escapes respected).

    Parameters
    ----------
    limit
        The depth past which :meth:`feed` answers True.
    """

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        self.depth = 0
        self._in_string = False
        self._carry = b""

    def feed(self, data: bytes) -> bool:
        """Take the next piece of the text; True when the nesting went past the limit in it."""
        data = self._carry + data
        trail = len(data) - len(data.rstrip(b"\\"))
        if trail % 2:  # an odd run of backslashes: the last one escapes the next piece's byte
            data, self._carry = data[:-1], b"\\"
        else:
            self._carry = b""
        if b"\\" in data:  # escaped backslashes, then escaped quotes, are no quotes
            data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
        kept = data.translate(None, _DROP)
        if not kept:
            return False
        codes = np.frombuffer(kept, dtype=np.uint8)
        step = _STEP[codes].astype(np.int64)
        quotes = codes == _QUOTE
        if quotes.any():
            inside = (np.cumsum(quotes) + self._in_string) % 2 == 1
            self._in_string = bool(inside[-1])
            step[inside] = 0
        elif self._in_string:
            return False
        levels = np.cumsum(step)
        peak = self.depth + int(levels.max())
        self.depth += int(levels[-1])
        return peak > self.limit


def nests_deeper_than(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests more than ``limit`` levels deep."""
    if data.count(b"[") + data.count(b"{") <= limit:  # the common case, without a scan
        return False
    return NestingMeter(limit).feed(data)


def too_deep(name: str, limit: int = MAX_DEPTH) -> str:
    """The sentence for JSON nested past ``limit``."""
    return (f"{name}: the JSON nests more than {limit} levels deep (an incident needs a few); "
            "it was not read")


class DepthGuard:
    """A binary file whose :meth:`read` raises ``error`` once the JSON read through it nests
    past ``limit`` levels: what a streaming parser is given instead of the file.

    Parameters
    ----------
    inner
        The file (left open).
    error
        The exception to raise.
    limit
        The deepest nesting allowed.
    """

    def __init__(self, inner: BinaryIO, error: Exception, limit: int = MAX_DEPTH) -> None:
        self._inner = inner
        self._error = error
        self._meter = NestingMeter(limit)

    def read(self, n: int = -1) -> bytes:
        """Read up to ``n`` bytes, measuring their nesting."""
        data = self._inner.read(n)
        if data and self._meter.feed(data):
            raise self._error
        return data
