"""The named SQL queries of ``geodata/sql/queries/*.sql``, adapted to each store's database.

A query file holds queries under ``-- name: NAME`` lines (``-- name: NAME (sqlite)`` or
``(postgis)`` for the one database a variant is for). Parameters are written ``:name`` (as
:mod:`sqlite3` takes them; for psycopg they become ``%(name)s``). Where the two databases
differ, the query says so in braces, filled in here and nowhere else:

``{now}``, ``{now_us}``
    The current time: PostgreSQL's ``now()`` (a ``timestamptz``); for SQLite, ISO 8601 text
    in UTC (to the second, or to the microsecond) given as a parameter when the query runs.
``{epoch_now}``
    The current time in whole seconds since the epoch.
``{json:COLUMN.KEY}``, ``{json_text:COLUMN.KEY}``
    A member of a JSON column, as JSON (a dict comes back as PostgreSQL's ``jsonb`` or
    SQLite's JSON text) or as text.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from geodata.errors import InvalidValue
from geodata.stores._shared import now, now_us

DIALECTS = ("sqlite", "postgis")

_CLOCKS: dict[str, tuple[str, Callable[[], Any]]] = {
    "now": ("now()", now),
    "now_us": ("now()", now_us),
    "epoch_now": ("extract(epoch FROM now())", lambda: int(time.time())),
}
"""Each clock token: what PostgreSQL reads, and how SQLite's parameter is made."""
_NAME_LINE = re.compile(r"^-- name: *([a-z_][a-z0-9_]*)(?: *\((sqlite|postgis)\))? *$")
_TOKEN = re.compile(r"\{(json|json_text):([a-z_]+)\.([a-z_]+)\}|\{([a-z_]+)\}")
_PARAMETER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


@dataclass(frozen=True)
class Query:
    """One query for one database: its text in the driver's parameter style, and the clock
    parameters SQLite needs filled in when it runs."""

    name: str
    text: str
    parameters: frozenset[str]
    clocks: tuple[str, ...] = ()

    def uses(self, parameter: str) -> bool:
        """Whether the query reads ``parameter`` (a variant may need what the other does not)."""
        return parameter in self.parameters

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters to run it with (``params`` and the clock values it needs now)."""
        return {**params, **{name: _CLOCKS[name][1]() for name in self.clocks}}


def _fill(text: str, dialect: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with its brace tokens written for ``dialect``, and the clocks it then needs."""
    clocks: list[str] = []

    def token(match: re.Match[str]) -> str:
        kind, column, key, clock = match.groups()
        if clock is not None:
            if clock not in _CLOCKS:
                raise KeyError(f"unknown token {{{clock}}} in a query")
            if dialect == "postgis":
                return _CLOCKS[clock][0]
            clocks.append(clock)
            return f":{clock}"
        if dialect == "postgis":
            return f"{column} {'->' if kind == 'json' else '->>'} '{key}'"
        return f"json_extract({column}, '$.{key}')"

    return _TOKEN.sub(token, text), tuple(dict.fromkeys(clocks))


def _driver_style(text: str, dialect: str) -> str:
    """``:name`` parameters as the driver takes them (psycopg: ``%(name)s``, ``%`` doubled)."""
    if dialect == "sqlite":
        return text
    return _PARAMETER.sub(r"%(\1)s", text.replace("%", "%%"))


def _parse(source: str) -> list[tuple[str, str | None, str]]:
    """The (name, dialect or None, SQL) of each query in a file's text."""
    found: list[tuple[str, str | None, str]] = []
    head: tuple[str, str | None] | None = None
    lines: list[str] = []
    for line in [*source.splitlines(), "-- name: end"]:
        match = _NAME_LINE.match(line.strip())
        if match is None:
            if head is not None and line.strip() and not line.lstrip().startswith("--"):
                lines.append(line.rstrip())
            continue
        if head is not None:
            found.append((*head, "\n".join(lines).strip().rstrip(";")))
        head, lines = (match.group(1), match.group(2)), []
    return found


@functools.cache
def queries(dialect: str) -> dict[str, Query]:
    """Every named query, written for ``dialect`` (``"sqlite"`` or ``"postgis"``): a query's
    variant for that database where it has one."""
    if dialect not in DIALECTS:
        raise InvalidValue(f"dialect must be one of {DIALECTS}", field="dialect")
    out: dict[str, Query] = {}
    folder = resources.files("geodata").joinpath("sql/queries")
    for file in sorted(folder.iterdir(), key=lambda p: p.name):
        if not file.name.endswith(".sql"):
            continue
        for name, only, sql in _parse(file.read_text("utf-8")):
            if only not in (None, dialect):
                continue
            if name in out and only is None:
                raise KeyError(f"the query {name!r} is defined twice")
            text, clocks = _fill(sql, dialect)
            parameters = frozenset(_PARAMETER.findall(sql))
            out[name] = Query(name, _driver_style(text, dialect), parameters, clocks)
    return out
