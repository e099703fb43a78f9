"""Saved hotspot presets: a planner names a set of ``GET /v1/hotspots`` parameters (method,
priority, period, the method's own parameters, or ``method=auto``) once, and every client
(the OGC API collection ``hotspots-<name>``, QGIS) gets the same hotspots by that name.

A preset keeps the parameters as text, exactly as the query string of ``GET /v1/hotspots``
takes them, plus ``period``: a whole month (``YYYY-MM``), a quarter (``YYYY-Qn``), or
``latest`` (the latest complete month of the store's incidents when the hotspots are asked
for, so a preset kept loaded in a GIS follows new data). Its hotspots are computed exactly as
``GET /v1/hotspots`` computes them (:func:`api.services.hotspot_results.computed_hotspots`:
the same cache, the same limits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from api.service_errors import Conflict, InvalidInput, NotFound, clipped
from api.services.hotspot_query import HotspotQuery, query_from_values, selection_of
from api.services.hotspots import latest_complete_month
from api.services.products import parse_period
from api.services.published import period_of
from api.services.selection import split_categories
from geodata.errors import InvalidValue
from geodata.stores import Store
from geodata.stores._presets import PRESET_NAME, PRESET_PARAMETERS_MAX, PRESET_VALUE_MAX

if TYPE_CHECKING:
    from fastapi import Request

    from api.services.hotspot_results import Computed
    from geodata.taxonomy import Taxonomy

LATEST = "latest"
"""The ``period`` of a preset that follows the data: the latest complete month."""
_LIST_FIELDS = frozenset({"category", "heritage_designation"})


class PresetIn(BaseModel):
    """A preset to save: its name, a title, and the parameters of ``GET /v1/hotspots``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=48, pattern=PRESET_NAME.pattern,
                      description="1 to 48 lower-case letters, digits and inner hyphens; the "
                      "OGC API collection is hotspots-<name>.")
    title: str = Field("", max_length=200, description="What a planner reads in a list.")
    parameters: dict[str, str | int | float | bool | list[str]] = Field(
        default_factory=dict, max_length=PRESET_PARAMETERS_MAX,
        description="Parameters of GET /v1/hotspots (method, priority, category, from, to, "
        "bbox, town, the method's own parameters...), plus period: YYYY-MM, YYYY-Qn or "
        "'latest' (the latest complete month when the hotspots are asked for).")




def _as_text(name: str, value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    if len(text) > PRESET_VALUE_MAX:
        raise InvalidInput(f"parameters.{clipped(name, 40)} is longer than {PRESET_VALUE_MAX} "
                           "characters", field=f"parameters.{clipped(name, 40)}")
    return text


def query_of(parameters: dict[str, str], *, latest: str | None = None) -> HotspotQuery:
    """The hotspot query a preset's parameters name (``period`` resolved to ``from`` and
    ``to``; ``latest`` is the month ``period=latest`` means now).

    Raises
    ------
    InvalidInput
        422 naming ``parameters.<name>`` for an unknown or out-of-range parameter.
    """
    values: dict[str, Any] = {}
    period = None
    for name, text in parameters.items():
        if name == "period":
            period = text
            continue
        values[name] = [text] if name in _LIST_FIELDS else text
    if period is not None:
        if "from" in values or "to" in values:
            raise InvalidInput("give period, or from and to, not both", field="parameters.period")
        if period == LATEST:
            if latest is not None:
                values["from"] = values["to"] = latest
        else:
            months = _months(period)
            values["from"], values["to"] = months[0], months[-1]
    q = query_from_values(values, field="parameters")
    try:
        q.parameters()
    except InvalidInput as exc:
        raise InvalidInput(str(exc), field=f"parameters.{exc.field or 'method'}") from None
    return q


def _months(period: str) -> tuple[str, ...]:
    return parse_period(period, "UTC", field="parameters.period").months


def check_preset(store: Store, taxonomy: Taxonomy, body: PresetIn) -> dict[str, str]:
    """The preset's parameters as text, checked as ``GET /v1/hotspots`` checks them (and the
    selection they name: an unknown priority, category or town is refused now, not later)."""
    texts = {k: _as_text(k, v) for k, v in body.parameters.items()}
    q = query_of(texts, latest=None)
    if q.priority is not None and q.priority not in taxonomy.priorities:
        raise InvalidInput(f"unknown priority {clipped(q.priority, 40)!r}; priorities are "
                           f"{', '.join(taxonomy.priorities)}", field="parameters.priority")
    for category in split_categories(q.category) or ():
        if category not in taxonomy.categories:
            raise InvalidInput(f"unknown category {clipped(category, 40)!r}; GET /v1/taxonomy "
                               "lists them", field="parameters.category")
    if texts.get("period") not in (None, LATEST):
        period_of(texts["period"], store, field="parameters.period")
    try:
        selection_of(q, store)
    except InvalidInput as exc:
        raise InvalidInput(str(exc), field=f"parameters.{exc.field}") from None
    return texts


def save_preset(store: Store, taxonomy: Taxonomy, body: PresetIn,
                created_by: str) -> dict[str, Any]:
    """Store the preset; 409 if the name is taken, 422 naming a bad parameter."""
    texts = check_preset(store, taxonomy, body)
    try:
        made = store.add_preset(body.name, title=body.title, parameters=texts,
                                created_by=created_by)
    except InvalidValue as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    if made is None:
        raise Conflict(f"a preset called {body.name!r} exists; delete it first or choose "
                       "another name", field="name")
    return with_links(made)


def stored_preset(store: Store, name: str) -> dict[str, Any]:
    """The preset called ``name``; 404 naming ``name`` if there is none."""
    found = store.preset(name)
    if found is None:
        raise NotFound(f"no preset called {clipped(name, 48)!r}; GET /v1/presets lists them",
                       field="name")
    return found


def with_links(preset: dict[str, Any]) -> dict[str, Any]:
    """A preset with the addresses of its hotspots (``GET /v1/hotspots`` when its period is
    fixed, and the OGC API collection)."""
    name = preset["name"]
    return {**preset, "links": {
        "self": f"/v1/presets/{name}",
        "collection": f"/ogc/collections/hotspots-{name}",
        "items": f"/ogc/collections/hotspots-{name}/items",
    }}


async def preset_hotspots(request: Request, store: Store, taxonomy: Taxonomy,
                          preset: dict[str, Any]) -> tuple[Computed, str]:
    """The preset's hotspots and the data version, computed as ``GET /v1/hotspots`` computes
    them (cached by data version and parameters). ``period=latest`` is the latest complete
    month now (every incident while there is no complete month)."""
    from fastapi.concurrency import run_in_threadpool

    from api.services.hotspot_results import computed_hotspots

    latest = None
    if preset["parameters"].get("period") == LATEST:
        version = await run_in_threadpool(store.data_version)
        latest = await request.app.state.cache.get(("latest-month", version),
                                                   lambda: latest_complete_month(store))
    q = query_of(preset["parameters"], latest=latest)
    return await computed_hotspots(request, store, taxonomy, q)
