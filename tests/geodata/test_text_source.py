"""The CSV text layer against the csv module itself, over awkward content and block sizes."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

import geodata.readers._text as text_module
from geodata.readers._text import TextSource

NCOLS = 4


def reference(data: str) -> tuple[list[tuple[int, list[str]]], list[int], int]:
    """Rows (start line, fields), rejected start lines and blank lines, by the csv module."""
    reader = csv.reader(io.StringIO(data, newline=""))
    last = 0
    rows, rejected, blank = [], [], 0
    for i, row in enumerate(reader):
        start, last = last + 1, reader.line_num
        if i == 0:
            continue  # header
        if not row or (len(row) == 1 and not row[0].strip()):
            blank += 1
        elif len(row) == NCOLS:
            rows.append((start, row))
        else:
            rejected.append(start)
    return rows, rejected, blank


def sample(rng: np.random.Generator, n: int, *, quotes: bool) -> str:
    lines = ["a,b,c,d"]
    for i in range(n):
        kind = rng.integers(0, 20)
        fields = [f"v{i}", f"{rng.integers(0, 1000)}", "x" * int(rng.integers(0, 30)), "z"]
        if kind == 0:
            lines.append("")
            continue
        if kind == 1:
            fields = fields[:2]
        if kind == 2:
            fields = [*fields, "extra"]
        if quotes and kind == 3:
            fields[2] = '"with, comma"'
        if quotes and kind == 4:
            fields[2] = '"two\nlines"'
        if quotes and kind == 5:
            fields[2] = '"say ""hi"""'
        lines.append(",".join(fields))
    end = "\r\n" if rng.integers(0, 2) else "\n"
    return end.join(lines) + end


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("block_chars", [16, 97, 1000, 1 << 22])
@pytest.mark.parametrize("chunk_rows", [1, 7, 10_000])
def test_chunks_match_the_csv_module(monkeypatch, seed: int, block_chars: int, chunk_rows: int):
    monkeypatch.setattr(text_module, "_BLOCK_CHARS", block_chars)
    rng = np.random.default_rng(seed)
    data = sample(rng, 300, quotes=seed % 2 == 1)
    expected_rows, expected_rejected, expected_blank = reference(data)
    with TextSource(io.BytesIO(data.encode())) as src:
        src.header()
        got_rows: list[tuple[int, list[str]]] = []
        got_rejected: list[int] = []
        for starts, table, rejected in src.chunks(NCOLS, chunk_rows):
            assert len(starts) == len(table) <= chunk_rows
            got_rows += [(int(s), list(r)) for s, r in zip(starts, table, strict=True)]
            got_rejected += [r.line for r in rejected]
        assert got_rows == expected_rows
        assert sorted(got_rejected) == expected_rejected
        assert src.blank_lines == expected_blank
