"""Saved hotspot presets (a planner names a method, priority, period and parameters, or
``method=auto``), written once for both stores (SQL in ``geodata/sql/queries/presets.sql``).
The OGC API serves each preset's hotspots as a collection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from geodata.errors import InvalidValue
from geodata.stores._relational import SQLRunner, from_json
from geodata.stores._shared import check_text

PRESET_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$", re.ASCII)
"""A preset's name: 1 to 48 lower-case letters, digits and inner hyphens (it is part of a URL
and of the OGC collection id ``hotspots-<name>``)."""
PRESET_TITLE_MAX = 200
"""The longest title, in characters."""
PRESET_PARAMETERS_MAX = 40
"""The most parameters a preset holds."""
PRESET_VALUE_MAX = 200
"""The longest parameter name or value, in characters."""
PRESET_COLUMNS = ("name", "title", "parameters", "created_at", "created_by")


def _record(row: Sequence[Any]) -> dict[str, Any]:
    """A stored preset: ``created_at`` as ISO 8601 in UTC to the microsecond, ``parameters``
    as a dict of text."""
    record = dict(zip(PRESET_COLUMNS, row, strict=True))
    created = record["created_at"]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    record["created_at"] = created.astimezone(UTC).isoformat(timespec="microseconds")
    record["parameters"] = dict(from_json(record["parameters"]) or {})
    return record


def check_preset_name(name: Any) -> str:
    """``name`` if it is a valid preset name (:data:`PRESET_NAME`).

    Raises
    ------
    InvalidValue
        Naming the field ``name``.
    """
    if not isinstance(name, str) or not PRESET_NAME.match(name):
        raise InvalidValue("a preset name is 1 to 48 lower-case letters, digits and hyphens "
                           "(not first or last)", field="name")
    return name


def _check_parameters(parameters: Any) -> dict[str, str]:
    if not isinstance(parameters, dict) or len(parameters) > PRESET_PARAMETERS_MAX:
        raise InvalidValue(f"a preset's parameters are an object of at most "
                           f"{PRESET_PARAMETERS_MAX} names and text values", field="parameters")
    out: dict[str, str] = {}
    for k, v in parameters.items():
        if not isinstance(k, str) or not isinstance(v, str) or len(k) > PRESET_VALUE_MAX \
                or len(v) > PRESET_VALUE_MAX:
            raise InvalidValue(f"a preset's parameter names and values are text of at most "
                               f"{PRESET_VALUE_MAX} characters", field="parameters")
        out[k] = v
    return out


class PresetRecords(SQLRunner):
    """:class:`~geodata.stores.base.PresetStore` over a store's connections."""

    def add_preset(self, name: str, *, title: str = "", parameters: dict[str, str],
                   created_by: str = "") -> dict[str, Any] | None:
        """Store a preset (see :class:`~geodata.stores.base.PresetStore`)."""
        check_preset_name(name)
        if not isinstance(title, str) or len(title) > PRESET_TITLE_MAX:
            raise InvalidValue(f"a preset's title is text of at most {PRESET_TITLE_MAX} "
                               "characters", field="title")
        params = _check_parameters(parameters)
        check_text([name, title, created_by, params], "the preset")
        with self._transaction() as conn:
            cur = self._run(conn, "add_preset", name=name, title=title,
                            parameters=self._json(params), created_by=created_by)
            if cur.rowcount != 1:
                return None
            row = self._one(conn, "preset", name=name)
        return _record(row)

    def preset(self, name: str) -> dict[str, Any] | None:
        """The preset called ``name``, or None (see :class:`~geodata.stores.base.PresetStore`)."""
        if not isinstance(name, str) or not PRESET_NAME.match(name):
            return None  # no stored preset has such a name
        with self._connection() as conn:
            row = self._one(conn, "preset", name=name)
        return None if row is None else _record(row)

    def list_presets(self, limit: int = 500) -> list[dict[str, Any]]:
        """The stored presets by name (see :class:`~geodata.stores.base.PresetStore`)."""
        with self._connection() as conn:
            rows = self._all(conn, "list_presets", limit=max(int(limit), 0))
        return [_record(r) for r in rows]

    def delete_preset(self, name: str) -> bool:
        """Delete a preset; whether it existed (see :class:`~geodata.stores.base.PresetStore`)."""
        if not isinstance(name, str) or not PRESET_NAME.match(name):
            return False
        with self._transaction() as conn:
            return bool(self._run(conn, "delete_preset", name=name).rowcount == 1)
