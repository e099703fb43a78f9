"""The query every hotspot, density and map request takes (FastAPI query parameters, the
methods' own from :mod:`hotspot.params`), and the selection it names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, make_dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_type_hints
from urllib.parse import urlencode

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo

from api.service_errors import InvalidInput, as_invalid_input, clipped
from api.services.selection import Selection, parse_bbox, period_bound, split_categories, town_bbox
from geodata.stores import Store
from hotspot.params import (
    ALL_METHODS,
    AUTO_NUMBER,
    BOOL,
    CHOICE,
    DEFAULT_METHOD,
    FLOAT,
    INT,
    Parameter,
    every_parameter,
    help_text,
    validate,
)
from hotspot.params import METHODS as METHOD_PARAMETERS

DEFAULT_BANDWIDTH_M = float(METHOD_PARAMETERS["kde"][0].default)
"""The density surface's bandwidth when none is given (the KDE method's default)."""
PARAMETERS = every_parameter()
"""Every method parameter the API takes, from :mod:`hotspot.params` (the one definition)."""


@dataclass
class _Query:
    """The parameters every hotspot, density and map request takes; the methods' own
    parameters are added from :mod:`hotspot.params` (see :data:`HotspotQuery`)."""

    if TYPE_CHECKING:
        method: str

    category: list[str] | None = Query(  # noqa: RUF009
        None, description="Taxonomy categories (repeat, or separate with commas).")
    priority: str | None = Query(None, description="A plan priority: all its categories.")
    from_: str | None = Query(None, alias="from", description="Start: YYYY-MM, YYYY-MM-DD or a "
                              "date-time, local time.")
    to: str | None = Query(None, description="End, included: YYYY-MM (the whole month) or "
                           "YYYY-MM-DD (the whole day), or a date-time (excluded).")
    bbox: str | None = Query(None, description="min lon,min lat,max lon,max lat (WGS84).")
    town: str | None = Query(None, max_length=100, description="A town centre or built-up area "
                             "by name: its extent (plus 500 m).")
    heritage_distance_m: float = Query(200.0, ge=0, le=5_000, description="How near a "
                                       "heritage site counts, metres.")
    heritage_designation: list[str] | None = Query(None, description="Keep heritage sites of "  # noqa: RUF009
                                                   "these designations only.")
    weighted: bool = Query(False, description="Use the incidents' own weights (from the "
                           "source file); weight=harm weighs them by harm instead.")

    def parameters(self) -> dict[str, Any]:
        """The method's parameters given (checked by :func:`hotspot.params.validate`); 422
        naming a parameter out of range or of another method."""
        given = {name: getattr(self, name) for name in PARAMETERS}
        with as_invalid_input("method"):
            params = validate(self.method, given, defaults=False)
        return params

    def density_parameters(self) -> dict[str, Any]:
        """The density surface's bandwidth_m, cell_size_m and kernel (checked; the KDE
        method's default bandwidth); 422 naming one out of range."""
        given = {k: getattr(self, k) for k in ("bandwidth_m", "cell_size_m", "kernel")}
        if self.method == "gistar":  # Gi*'s cell is its grid's, not the surface's
            given["cell_size_m"] = None
        with as_invalid_input("bandwidth_m"):
            params = validate("kde", given, defaults=False)
        params.setdefault("bandwidth_m", DEFAULT_BANDWIDTH_M)
        if params["bandwidth_m"] == "silverman":
            params["bandwidth_m"] = None
        return params

    def values(self) -> dict[str, Any]:
        """Every parameter by field name (``from_`` for ``from``), as given: not copied, unlike
        :func:`dataclasses.asdict`, whose deep copies were a twentieth of a cached answer's
        CPU."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def key(self) -> tuple[Any, ...]:
        """A hashable form of every parameter (for the cache)."""
        return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                            for k, v in self.values().items()))

    def query_string(self, **changes: Any) -> str:
        """The request's parameters as a query string, with ``changes``."""
        values = {("from" if k == "from_" else k): v for k, v in self.values().items()}
        values.update(changes)
        pairs: list[tuple[str, str]] = []
        for k, v in values.items():
            if v is None or v is False or (k == "heritage_distance_m" and v == 200.0):
                continue
            if isinstance(v, list):
                pairs += [(k, str(x)) for x in v]
            else:
                pairs.append((k, "1" if v is True else str(v)))
        return urlencode(pairs)


def _query_field(p: Parameter) -> tuple[str, Any, Any]:
    """A dataclass field (name, type, FastAPI Query) for a method parameter."""
    text = help_text(p.name)
    bounds: dict[str, Any] = {}
    if p.kind in (FLOAT, INT):
        if p.minimum is not None:
            bounds["gt" if p.open_minimum else "ge"] = p.minimum
        if p.maximum is not None:
            bounds["lt" if p.open_maximum else "le"] = p.maximum
    kind: Any
    if p.kind == FLOAT:
        kind = float | None
    elif p.kind == INT:
        kind = int | None
    elif p.kind == BOOL:
        kind = bool | None
    elif p.kind == CHOICE:
        kind = Literal[p.choices] | None
    else:
        bounds["max_length"] = 20
        bounds["pattern"] = (r"^(auto|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$" if p.kind == AUTO_NUMBER
                             else rf"^({'|'.join(p.names)}|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$")
        kind = str | None
    return p.name, kind, Query(None, description=text, **bounds)


_METHOD = ("method", Literal[ALL_METHODS], Query(
    DEFAULT_METHOD, description="kde (kernel density areas), dbscan (clusters), gistar "
    "(Getis-Ord Gi* significant cells) or auto (the method that did best in the backtest of "
    "the months in the store; give an area budget)"))

if TYPE_CHECKING:
    HotspotQuery = _Query
    BorderQuery = _Query
else:
    HotspotQuery = make_dataclass(
        "HotspotQuery", [_METHOD, *(_query_field(p) for p in PARAMETERS.values())],
        bases=(_Query,))
    HotspotQuery.__module__ = __name__
    HotspotQuery.__doc__ = _Query.__doc__
    # the query of the cross-border routes, whose own distance_m is the band: without Gi*'s
    # parameter of that name (FastAPI would fill both from the one query parameter, and the
    # docs would show Gi*'s); Gi* takes its default neighbourhood there, or k
    BorderQuery = make_dataclass(
        "BorderQuery", [_METHOD, *(_query_field(p) for p in PARAMETERS.values()
                                   if p.name != "distance_m")],
        bases=(_Query,))
    BorderQuery.__module__ = __name__
    BorderQuery.__doc__ = _Query.__doc__


def hotspot_query_of(q: BorderQuery) -> HotspotQuery:
    """The hotspot query of a cross-border route's query (:data:`BorderQuery`): Gi*'s
    ``distance_m`` not given."""
    values: dict[str, Any] = {**q.values(), "distance_m": None}
    return HotspotQuery(**values)


def selection_of(q: HotspotQuery, store: Store) -> Selection:
    """The selection (period, categories, box) of a request's parameters; 422 naming a bad
    one (a hotspot's own page reads its incidents with it)."""
    start = period_bound(q.from_, store.timezone, end=False, field="from")
    end = period_bound(q.to, store.timezone, end=True, field="to")
    lonlat = parse_bbox(q.bbox) if q.bbox else None
    box = town_bbox(store, q.town) if q.town else None
    if start is not None and end is not None and start >= end:
        raise InvalidInput("'to' must be after 'from'", field="to")
    return Selection(start=start, end=end, categories=split_categories(q.category),
                     priority=q.priority, bbox=box, lonlat_bbox=lonlat)


def _selection_model() -> type[BaseModel]:
    """A body model with exactly the parameters (and limits) of ``GET /v1/hotspots``."""
    hints = get_type_hints(HotspotQuery)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(HotspotQuery):
        info = f.default
        assert isinstance(info, FieldInfo)
        hint = hints[f.name]
        if info.metadata:
            hint = Annotated[hint, *info.metadata]
        fields[f.name] = (hint, Field(default=info.default, alias=info.alias,
                                      description=info.description))
    return create_model("HotspotSelection", __config__=ConfigDict(extra="forbid",
                                                                   populate_by_name=True),
                        **fields)


HotspotSelection = _selection_model()
"""The parameters of ``GET /v1/hotspots`` as a JSON object (a patrol plan's ``hotspots``, a
saved preset's ``parameters``)."""


def query_from_values(values: dict[str, Any], *, field: str) -> HotspotQuery:
    """The hotspot query of ``values`` (the parameters of ``GET /v1/hotspots`` as a JSON
    object); 422 naming ``FIELD.NAME`` for an unknown or out-of-range one."""
    try:
        model = HotspotSelection.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(clipped(p, 40) for p in err["loc"])
        raise InvalidInput(f"{field}.{where}: {err['msg']}", field=f"{field}.{where}") from None
    return HotspotQuery(**model.model_dump())
