"""A synthetic region for the scaling benchmark: data.police.uk files, one per force per month.

Rows are real rows of real force-months (Essex, Lincolnshire and North Yorkshire, in
``../shared/data/real``) repeated with fresh Crime IDs into the months of the region, so the
mix of types, blank anti-social-behaviour ids and snapped map points is the real one. Two more
forces are made from the same rows moved one degree away (west of Lincolnshire, south of North
Yorkshire: still in England, so British National Grid holds them). Each repeat of a row is moved
by a metre or so more, so that repeats of an ASB row (no Crime ID: identified by its content)
stay separate incidents.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from bench._synth import real_data_dir


@dataclass(frozen=True)
class Force:
    """A force of the synthetic region: its name (``Falls within``), the real files its rows
    come from (relative to the real data folder) and how far they are moved, degrees."""

    name: str
    slug: str
    sources: tuple[str, ...]
    dlon: float = 0.0
    dlat: float = 0.0


FORCES: tuple[Force, ...] = (
    Force("Essex Police", "essex", tuple(f"essex-2018-h1/2018-{m:02d}-essex-street.csv"
                                         for m in range(1, 7))),
    Force("Lincolnshire Police", "lincolnshire",
          ("lincolnshire-2024-03/2024-03-lincolnshire-street.csv",)),
    Force("North Yorkshire Police", "north-yorkshire",
          ("north-yorkshire-2019-01/2019-01-north-yorkshire-street.csv",)),
    Force("Westshire Police", "westshire",
          ("lincolnshire-2024-03/2024-03-lincolnshire-street.csv",), dlon=-1.0),
    Force("Southdale Police", "southdale",
          ("north-yorkshire-2019-01/2019-01-north-yorkshire-street.csv",), dlat=-0.9),
)


def months(first: str, count: int) -> list[str]:
    """``count`` months from ``first`` (``YYYY-MM``), as ``YYYY-MM``."""
    year, month = (int(p) for p in first.split("-"))
    out = []
    for k in range(count):
        y, m = divmod(month - 1 + k, 12)
        out.append(f"{year + y:04d}-{m + 1:02d}")
    return out


def _rows(force: Force) -> tuple[list[str], list[list[str]]]:
    base: list[list[str]] = []
    header: list[str] = []
    for name in force.sources:
        with (real_data_dir() / name).open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader)
            base += [r for r in reader if r[4] and r[5]]  # placed rows only: all are stored
    return header, base


def write_region(folder: Path, rows: int, *, forces: int = len(FORCES), n_months: int = 24,
                 first_month: str = "2022-01") -> list[tuple[str, str, Path]]:
    """Write ``rows`` incidents spread evenly over ``forces`` forces and ``n_months`` months,
    one data.police.uk file per force-month, into ``folder`` (files already there with the
    right number of lines are kept). Returns ``(force name, month, path)`` in month order
    (all forces' files of a month, then the next month's), as a region's monthly releases
    come."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = FORCES[:forces]
    per_file = rows // (len(chosen) * n_months)
    out: list[tuple[str, str, Path]] = []
    for force in chosen:
        header, base = _rows(force)
        for month in months(first_month, n_months):
            path = folder / f"{month}-{force.slug}-street.csv"
            out.append((force.name, month, path))
            if path.exists() and _lines(path) == per_file + 1:
                continue
            tmp = path.with_suffix(".part")
            with tmp.open("w", newline="", encoding="utf-8") as f:
                w = csv.writer(f, lineterminator="\n")
                w.writerow(header)
                for i in range(per_file):
                    r = list(base[i % len(base)])
                    repeat = i // len(base)
                    r[1] = month
                    r[2] = r[3] = force.name
                    if r[0]:
                        r[0] = hashlib.sha256(f"{force.slug}:{month}:{i}".encode()).hexdigest()
                    r[4] = f"{float(r[4]) + force.dlon + repeat * 1.3e-5:.6f}"
                    r[5] = f"{float(r[5]) + force.dlat + repeat * 0.9e-5:.6f}"
                    w.writerow(r)
            tmp.rename(path)
    out.sort(key=lambda t: (t[1], t[0]))
    return out


def _lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


if __name__ == "__main__":
    import sys

    written = write_region(Path(sys.argv[1]), int(float(sys.argv[2])))
    print(len(written), "files")
