"""Reading a harm table's CSV: its columns, and its rows checked line by line.

A harm table has a header row and one row per offence: ``code``, ``name``, ``harm_days`` (days
of custody, a number >= 0) and ``source`` (other header names accepted: :data:`COLUMNS`).
Every error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from geodata.errors import InvalidHarmTable
from geodata.taxonomy import normalise_type

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "offence_code", "offence code", "ho_code", "home_office_code"),
    "name": ("name", "offence", "offence_name", "offence name", "description"),
    "harm_days": ("harm_days", "harm", "harm_value", "cchi", "chi", "days"),
    "source": ("source",),
}
"""Column of a harm table -> the header names accepted for it (case and spaces ignored)."""

REQUIRED = ("code", "name", "harm_days")


@dataclass(frozen=True)
class HarmRow:
    """One offence of a harm table: its code, name, harm in days of custody and source."""

    code: str
    name: str
    harm_days: float
    source: str

    def to_dict(self) -> dict[str, object]:
        """Return the row as a JSON-ready dict."""
        return {"code": self.code, "name": self.name, "harm_days": self.harm_days,
                "source": self.source}


def decode_harm_csv(data: bytes) -> str:
    """The text of a harm table's bytes: UTF-8 (with or without BOM), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_harm_csv(text: str, source: str, *, default_source: str | None) -> tuple[HarmRow, ...]:
    """Validate the CSV text of a harm table and return its rows (see :meth:`geodata.harm.HarmTable.load`)."""
    header, records = _read_records(text, source)
    where = _column_positions(header, source, default_source=default_source)
    if not records:
        raise InvalidHarmTable(f"{source}: the table has a header but no rows")
    check = _RowCheck(source, header, where, default_source)
    return tuple(check.row(start, record) for start, record in records)


def _read_records(text: str, source: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank records of CSV text, each with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    line = 1  # the line on which the next record starts
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
            else:
                records.append((start, record))
    except csv.Error as exc:
        raise InvalidHarmTable(f"{source}: line {line}: not valid CSV: {exc}") from exc
    if header is None:
        raise InvalidHarmTable(f"{source}: the file is empty (a header row and one row per "
                               "offence are needed)")
    return header, records


def _column_positions(header: list[str], source: str, *,
                      default_source: str | None) -> dict[str, int]:
    """Where each of :data:`COLUMNS` is in the header (the first of its names found)."""
    seen = {h.strip().casefold(): i for i, h in reversed(list(enumerate(header)))}
    where: dict[str, int] = {}
    for col, names in COLUMNS.items():
        for name in names:
            if name in seen:
                where[col] = seen[name]
                break
    missing = [c for c in REQUIRED if c not in where]
    if missing:
        raise InvalidHarmTable(
            f"{source}: no column {' or '.join(repr(c) for c in missing)}; a harm table needs "
            f"columns code, name, harm_days (and optionally source); the header is {header}"
        )
    if default_source is None and "source" not in where:
        raise InvalidHarmTable(f"{source}: no column 'source'; every row must state its source")
    return where


class _RowCheck:
    """Checks a harm table's records one by one: each cell, and codes and names seen before."""

    def __init__(self, source: str, header: list[str], where: dict[str, int],
                 default_source: str | None) -> None:
        self.source = source
        self.header = header
        self.where = where
        self.default_source = default_source
        self.code_line: dict[str, int] = {}
        self.name_at: dict[str, tuple[int, float]] = {}

    def column(self, col: str) -> str:
        """The header's spelling of a column, for messages."""
        return self.header[self.where[col]].strip()

    def row(self, start: int, record: list[str]) -> HarmRow:
        """The row of the record starting on line ``start``, or :class:`InvalidHarmTable`."""
        header, where = self.header, self.where
        if len(record) > len(header) and any(c.strip() for c in record[len(header):]):
            raise InvalidHarmTable(
                f"{self.source}: line {start} has {len(record)} fields; the header has "
                f"{len(header)}"
            )

        def cell(col: str) -> str:
            i = where.get(col)
            return record[i].strip() if i is not None and i < len(record) else ""

        at = f"{self.source}: line {start}"
        for col in REQUIRED:
            if not cell(col):
                raise InvalidHarmTable(f"{at}, column {self.column(col)!r}: blank")
        harm = self._harm(at, cell("harm_days"))
        src = cell("source") if "source" in where else ""
        if not src:
            if "source" in where or self.default_source is None:
                raise InvalidHarmTable(
                    f"{at}, column {self.column('source')!r}: blank; every row must "
                    "state its source"
                )
            src = self.default_source
        code, name = cell("code"), cell("name")
        self._check_new(at, start, code, name, harm)
        return HarmRow(code=code, name=name, harm_days=harm, source=src)

    def _harm(self, at: str, harm_text: str) -> float:
        """The harm in days of a cell: a finite number >= 0 (thousands commas allowed)."""
        harm_col = self.column("harm_days")
        try:
            harm = float(harm_text.replace(",", ""))
        except ValueError:
            raise InvalidHarmTable(
                f"{at}, column {harm_col!r}: {harm_text!r} is not a number of days"
            ) from None
        if not np.isfinite(harm) or harm < 0:
            raise InvalidHarmTable(
                f"{at}, column {harm_col!r}: {harm_text!r} is not a harm: it must be a finite "
                "number of days >= 0"
            )
        return harm

    def _check_new(self, at: str, start: int, code: str, name: str, harm: float) -> None:
        """Refuse a code seen before, or a name seen before with another harm."""
        norm_code = normalise_type(code)
        if norm_code in self.code_line:
            raise InvalidHarmTable(
                f"{at}, column {self.column('code')!r}: code {code!r} is already on "
                f"line {self.code_line[norm_code]}"
            )
        self.code_line[norm_code] = start
        norm_name = normalise_type(name)
        earlier = self.name_at.get(norm_name)
        if earlier is not None and earlier[1] != harm:
            raise InvalidHarmTable(
                f"{at}, column {self.column('name')!r}: offence {name!r} is already on "
                f"line {earlier[0]} with another harm ({earlier[1]:g} days, here {harm:g}); a "
                "crime type of that name could not be weighed"
            )
        self.name_at.setdefault(norm_name, (start, harm))
