"""Synthetic data.police.uk files for benchmarks, built from a real force-month.

Rows are real rows of ``2019-01-north-yorkshire-street.csv`` (or another real file) repeated
with fresh Crime IDs and months, so the mix of types, blank ASB ids, missing coordinates and
snapped map points is the real one.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
NORTH_YORKSHIRE = REAL / "north-yorkshire-2019-01" / "2019-01-north-yorkshire-street.csv"


def real_data_dir() -> Path:
    """The shared folder of real data (``../shared/data/real`` beside the checkout)."""
    import os

    env = os.environ.get("HOTSPOT_REAL_DATA")
    for candidate in (Path(env) if env else None, REAL, Path("/work/shared/data/real")):
        if candidate is not None and candidate.is_dir():
            return candidate
    raise FileNotFoundError("real data not found: set HOTSPOT_REAL_DATA to ../shared/data/real")


def write_police_csv(path: Path, rows: int, *, source: Path | None = None, first: int = 0) -> Path:
    """Write ``rows`` data rows in data.police.uk layout to ``path`` (reused if it exists):
    rows ``first`` to ``first + rows - 1`` of an endless file, so files with different ``first``
    hold different incidents."""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            if sum(1 for _ in f) - 1 == rows:
                return path
    source = source or real_data_dir() / "north-yorkshire-2019-01" / "2019-01-north-yorkshire-street.csv"
    with source.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader)
        base = list(reader)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for i in range(first, first + rows):
            r = list(base[i % len(base)])
            cycle = i // len(base)
            r[1] = f"{2000 + (cycle // 12) % 100:04d}-{cycle % 12 + 1:02d}"
            if r[0]:
                r[0] = hashlib.sha256(f"{i}".encode()).hexdigest()
            w.writerow(r)
    return path
