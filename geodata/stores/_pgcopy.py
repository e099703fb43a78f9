"""PostgreSQL's binary COPY format, built and read with numpy.

A row of binary COPY is a 16-bit field count, then for each field a 32-bit length and the
value's bytes (big-endian numbers, UTF-8 text). When every field but the last has a fixed width
and none is NULL, all rows share one layout up to the last field, and rows whose last field has
the same length share one layout throughout: each such group is one numpy structured array, and
a million rows are built or read without a Python object per row.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
HEADER = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"  # no flags, no extension
TRAILER = b"\xff\xff"


def _layout(fields: Sequence[tuple[str, np.dtype]]) -> np.dtype:
    """The structured dtype of a row's fixed fields (field count, then length + value each)."""
    spec: list[tuple[str, str | np.dtype]] = [("_n", ">i2")]
    for name, dtype in fields:
        spec += [(f"_len_{name}", ">i4"), (name, np.dtype(dtype).newbyteorder(">"))]
    return np.dtype(spec)


def build(fixed: Sequence[tuple[str, np.ndarray, np.dtype]], text: Sequence[str] | None = None) -> bytes:
    """The binary COPY stream of rows made of ``fixed`` columns (name, values, PostgreSQL's
    width as a dtype: int64, int32, int16, float64, float32) and, last, one optional text
    column."""
    return b"".join([HEADER, *row_blocks(fixed, text), TRAILER])


def row_blocks(fixed: Sequence[tuple[str, np.ndarray, np.dtype]],
               text: Sequence[str] | None = None) -> list[memoryview]:
    """The rows of a binary COPY stream (see :func:`build`), without its header and trailer,
    as a few blocks of bytes to send one after another: one COPY can take the rows of many
    batches, sent as they are made, between one :data:`HEADER` and one :data:`TRAILER`.

    Rows go out grouped by the length of their text (the order of rows in a COPY carries no
    meaning): within a group every row has the same width, so the group is one structured
    array filled column by column, with no Python object per row and no copy of the whole
    stream afterwards.
    """
    n = len(fixed[0][1]) if fixed else len(text or ())
    spec: list[tuple[str, str | np.dtype]] = [("_n", ">i2")]
    for name, _values, dtype in fixed:
        spec += [(f"_len_{name}", ">i4"), (name, np.dtype(dtype).newbyteorder(">"))]
    count = len(fixed) + (text is not None)
    if text is None:
        return [_fill(np.dtype(spec), fixed, None, n, count).view(np.uint8).data]
    if "".join(text).isascii():
        lengths = np.fromiter(map(len, text), dtype=np.int64, count=n)
        texts = np.array(text, dtype="S") if n else np.empty(0, "S1")
    else:
        encoded = [t.encode("utf-8", "surrogatepass") for t in text]
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
        texts = np.array(encoded, dtype="S") if n else np.empty(0, "S1")
    if texts.itemsize == 0:  # every text empty: numpy's "S" gives zero-width items
        texts = np.zeros(n, dtype="S1")
    text_bytes = texts.view(np.uint8).reshape(n, texts.itemsize)
    order = np.argsort(lengths, kind="stable")
    sizes, starts = np.unique(lengths[order], return_index=True)
    bounds = [*starts.tolist(), n]
    blocks = []
    for k, size in enumerate(sizes.tolist()):
        # one length throughout (the usual case): the rows in their own order, no gathering
        idx = None if len(sizes) == 1 else order[bounds[k] : bounds[k + 1]]
        m = bounds[k + 1] - bounds[k]
        layout = np.dtype([*spec, ("_len_text", ">i4"), *([("text", f"V{size}")] if size else [])])
        rows = _fill(layout, fixed, idx, m, count)
        rows["_len_text"] = size
        if size:
            rows.view(np.uint8).reshape(m, layout.itemsize)[:, -size:] = (
                text_bytes[:, :size] if idx is None else text_bytes[idx, :size])
        blocks.append(rows.view(np.uint8).data)
    return blocks


def _fill(layout: np.dtype, fixed: Sequence[tuple[str, np.ndarray, np.dtype]],
          idx: np.ndarray | None, n: int, count: int) -> np.ndarray:
    """``n`` rows of the fixed columns (rows ``idx``, or all in order) as a structured array of
    ``layout`` (its first fields: the field count, then length and value of each column)."""
    rows = np.empty(n, dtype=layout)
    rows["_n"] = count
    for name, values, dtype in fixed:
        rows[f"_len_{name}"] = np.dtype(dtype).itemsize
        rows[name] = values if idx is None else values[idx]
    return rows


def parse(data: bytes, fields: Sequence[tuple[str, np.dtype]]) -> dict[str, np.ndarray]:
    """Columns of a binary COPY stream whose rows are exactly ``fields`` (fixed widths, no
    NULLs), as native-endian arrays.

    Raises
    ------
    ValueError
        If the stream does not have that layout.
    """
    if not data.startswith(SIGNATURE):
        raise ValueError("not a binary COPY stream")
    ext = int.from_bytes(data[15:19], "big")
    body = memoryview(data)[19 + ext : len(data) - 2]
    layout = _layout(fields)
    if len(body) % layout.itemsize:
        raise ValueError("the COPY stream's rows do not have the expected layout")
    rows = np.frombuffer(body, dtype=layout)
    if rows.size and not (
        (rows["_n"] == len(fields)).all()
        and all((rows[f"_len_{name}"] == np.dtype(dt).itemsize).all() for name, dt in fields)
    ):
        raise ValueError("the COPY stream's rows do not have the expected layout (a NULL?)")
    return {name: rows[name].astype(np.dtype(dt).newbyteorder("=")) for name, dt in fields}
