"""Column encodings for the embedded store's blocks, and 128-bit key sets.

Numeric columns are stored as their raw little-endian bytes. Text columns are dictionary
encoded (distinct values once, then one small integer code per row), which suits police data:
a month of a county has a few thousand distinct locations and a dozen crime types. Columns of
mostly distinct values (ids) are stored plain.
"""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd

_SEP = "\x00"
_HEADER = struct.Struct("<cBI")  # kind (D or P), code width in bytes, number of values in dict


def encode_numeric(values: np.ndarray, dtype: np.dtype) -> bytes:
    """Return the little-endian bytes of ``values`` cast to ``dtype``."""
    return np.ascontiguousarray(values, dtype=dtype.newbyteorder("<")).tobytes()


def decode_numeric(blob: bytes, dtype: np.dtype) -> np.ndarray:
    """Inverse of :func:`encode_numeric` (a read-only view on the blob)."""
    return np.frombuffer(blob, dtype=dtype.newbyteorder("<"))


def _join(values: list[str] | np.ndarray) -> bytes:
    text = _SEP.join(values)
    if text.count(_SEP) != max(len(values) - 1, 0):  # a value holds NUL: replace it
        text = _SEP.join(str(v).replace(_SEP, "\ufffd") for v in values)
    return text.encode("utf-8", "surrogatepass")


def _split(data: bytes, n: int) -> list[str]:
    if n == 0:
        return []
    return data.decode("utf-8", "surrogatepass").split(_SEP)


def encode_strings(values: np.ndarray, *, plain: bool = False) -> bytes:
    """Encode an object array of strings: dictionary encoded unless ``plain`` or mostly distinct."""
    n = len(values)
    if plain:
        return _HEADER.pack(b"P", 0, n) + _join(list(values))
    codes, found = pd.factorize(values, use_na_sentinel=False)
    uniques = [("" if u is None else str(u)) for u in found]
    if n and len(uniques) > n // 2:
        return _HEADER.pack(b"P", 0, n) + _join(list(values))
    width = 1 if len(uniques) <= 0xFF else 2 if len(uniques) <= 0xFFFF else 4
    code_dtype = np.dtype(f"<u{width}")
    dict_bytes = _join(uniques)
    return (
        _HEADER.pack(b"D", width, len(uniques))
        + struct.pack("<I", len(dict_bytes))
        + dict_bytes
        + codes.astype(code_dtype).tobytes()
    )


def decode_strings(blob: bytes) -> tuple[np.ndarray, list[str]]:
    """Decode to ``(codes, uniques)``: value ``i`` is ``uniques[codes[i]]``."""
    kind, width, count = _HEADER.unpack_from(blob, 0)
    offset = _HEADER.size
    if kind == b"P":
        values = _split(blob[offset:], count)
        return np.arange(count, dtype=np.int64), values
    (dict_len,) = struct.unpack_from("<I", blob, offset)
    offset += 4
    uniques = _split(blob[offset : offset + dict_len], count)
    codes = np.frombuffer(blob, dtype=np.dtype(f"<u{width}"), offset=offset + dict_len)
    return codes.astype(np.int64), uniques


def decode_string_values(blob: bytes) -> np.ndarray:
    """Decode to an object array of strings."""
    codes, uniques = decode_strings(blob)
    table = np.array([*uniques, ""], dtype=object)
    return table[codes] if len(codes) else np.empty(0, dtype=object)


def first_occurrences(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Boolean mask: True at the first occurrence of each (hi, lo) key, in array order."""
    n = hi.shape[0]
    first = np.ones(n, dtype=bool)
    if n < 2:
        return first
    order = np.lexsort((lo, hi))  # stable: equal keys keep their array order
    same = (hi[order][1:] == hi[order][:-1]) & (lo[order][1:] == lo[order][:-1])
    first[order[1:][same]] = False
    return first


class KeySet:
    """A set of 128-bit keys as two uint64 arrays sorted by the high half.

    Membership of a whole array costs two binary searches per key; adding a batch re-sorts
    with numpy's radix sort (linear in the size of the set).
    """

    def __init__(self) -> None:
        self._hi = np.empty(0, dtype=np.uint64)
        self._lo = np.empty(0, dtype=np.uint64)

    @property
    def size(self) -> int:
        """Number of keys held."""
        return int(self._hi.shape[0])

    def add(self, hi: np.ndarray, lo: np.ndarray) -> None:
        """Add keys (duplicates allowed)."""
        if hi.shape[0] == 0:
            return
        all_hi = np.concatenate([self._hi, hi])
        all_lo = np.concatenate([self._lo, lo])
        order = np.argsort(all_hi, kind="stable")
        self._hi, self._lo = all_hi[order], all_lo[order]

    def contains(self, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Boolean mask: which of the keys are in the set."""
        found = np.zeros(hi.shape[0], dtype=bool)
        if self._hi.shape[0] == 0 or hi.shape[0] == 0:
            return found
        order = np.argsort(hi, kind="stable")  # sorted queries search cache-friendly
        q = hi[order]
        left = np.searchsorted(self._hi, q, side="left")
        right = np.searchsorted(self._hi, q, side="right")
        span = right - left
        one = np.flatnonzero(span == 1)
        found[order[one]] = self._lo[left[one]] == lo[order[one]]
        for k in np.flatnonzero(span > 1):  # equal high halves: vanishingly rare
            i = order[k]
            found[i] = bool(np.any(self._lo[left[k] : right[k]] == lo[i]))
        return found
