"""The binary COPY builder and parser (``geodata.stores._pgcopy``) against a plain decoder."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geodata.stores import _pgcopy

I8, F8, I4 = np.dtype("int64"), np.dtype("float64"), np.dtype("int32")


def decode(stream: bytes) -> list[tuple[int, float, str]]:
    """Rows of (int8, float8, text) decoded field by field, the way the server reads them."""
    assert stream.startswith(_pgcopy.SIGNATURE) and stream.endswith(_pgcopy.TRAILER)
    pos = len(_pgcopy.HEADER)
    rows = []
    while pos < len(stream) - 2:
        (count,) = struct.unpack_from(">h", stream, pos)
        assert count == 3
        pos += 2
        fields = []
        for fmt in (">q", ">d", None):
            (size,) = struct.unpack_from(">i", stream, pos)
            pos += 4
            raw = stream[pos : pos + size]
            pos += size
            fields.append(raw.decode("utf-8", "surrogatepass") if fmt is None
                          else struct.unpack(fmt, raw)[0])
        rows.append(tuple(fields))
    assert pos == len(stream) - 2
    return rows


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=40))
def test_rows_with_text_are_all_there_whatever_the_text(texts: list[str]) -> None:
    n = len(texts)
    ints = np.arange(n, dtype=np.int64) * 7 - 3
    floats = np.linspace(-1.5, 2.5, n)
    stream = _pgcopy.build([("a", ints, I8), ("b", floats, F8)], texts)
    got = decode(stream)
    # rows may come out in another order (grouped by the text's length), never lost or changed
    assert sorted(got) == sorted(zip(ints.tolist(), floats.tolist(), texts, strict=True))


@pytest.mark.parametrize("texts", [["", "", ""], ["a\x00", "\x00", ""], ["é", "ab", "日本"],
                                   ["x" * 64, "", "y" * 64]])
def test_edge_texts(texts: list[str]) -> None:
    ints = np.arange(len(texts), dtype=np.int64)
    got = decode(_pgcopy.build([("a", ints, I8), ("b", ints.astype(float), F8)], texts))
    assert sorted(got) == sorted(zip(ints.tolist(), ints.astype(float).tolist(), texts,
                                     strict=True))


def test_fixed_rows_round_trip() -> None:
    a = np.array([1, -2, 3], dtype=np.int64)
    b = np.array([7, 8, -9], dtype=np.int32)
    stream = _pgcopy.build([("a", a, I8), ("b", b, I4)])
    out = _pgcopy.parse(stream, [("a", I8), ("b", I4)])
    assert out["a"].tolist() == a.tolist() and out["b"].tolist() == b.tolist()
    with pytest.raises(ValueError, match="layout"):
        _pgcopy.parse(stream, [("a", I8)])
