"""Answering from published products (see :mod:`api.services.products`): a product's stored
document by period, served with its ETag, and what ``GET /v1/hotspots`` answers a partner."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from api.service_errors import InvalidInput, NotFound
from api.services.products import (
    ALL,
    KIND,
    Period,
    groups_of,
    hotspots_csv,
    hotspots_geojson,
    parse_period,
    period_of_range,
)
from geodata.stores import IncidentStore, ProductStore, Store

PARTNER_PARAMETERS = frozenset({"period", "from", "to", "priority", "format"})
"""What a partner may send to ``GET /v1/hotspots``: which product, which priority's hotspots,
which format. Anything else would make an answer of its own (a query), so it is refused."""
_IMMUTABLE = "private, max-age=86400"


def within_period(q: Any, period: str | None, store: IncidentStore) -> None:
    """Narrow a hotspot query ``q`` (its ``from_`` and ``to``) to the whole month or quarter
    ``period`` names, when given; 422 naming ``period`` when ``from`` or ``to`` is given too."""
    if period is None:
        return
    if q.from_ is not None or q.to is not None:
        raise InvalidInput("give period, or from and to, not both", field="period")
    months = period_of(period, store).months
    q.from_, q.to = months[0], months[-1]


def period_of(text: str, store: IncidentStore, field: str = "period") -> Period:
    """The whole month or quarter ``text`` names, in the store's time zone; 422 naming
    ``field`` for anything else."""
    return parse_period(text, store.timezone, field=field)


def stored_product(store: ProductStore, key: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(listing, document) of the product of ``key`` (the latest when None); 404 if none."""
    if key is None:
        latest = store.list_products(KIND, limit=1)
        if not latest:
            raise NotFound("no product has been published yet: an analyst publishes a whole "
                           "month or quarter with `hotspot publish 2024-06` or POST "
                           "/v1/products", field="period")
        key = latest[0]["period"]
    found = store.product(KIND, key)
    if found is None:
        raise NotFound(f"no product is published for {key}; GET /v1/products lists those "
                       "that are", field="period")
    return found[0], json.loads(found[1])


def served(request: Request, body: bytes, media_type: str, *, filename: str | None = None,
           ) -> Response:
    """``body`` as the answer, tagged by its bytes (a product never changes: 304 for the tag
    the client holds), a download named ``filename`` when given."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": _IMMUTABLE, "Vary": "Accept"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=media_type, headers=headers)


def wants_csv(request: Request, format: str | None) -> bool:
    """Whether the caller asks for CSV (``format``, else its Accept header)."""
    return format == "csv" or (format is None and "text/csv" in
                               request.headers.get("accept", ""))


def partner_hotspots(request: Request, store: Store, taxonomy: Any, *, period: str | None,
                     wants_csv: bool) -> Response:
    """What ``GET /v1/hotspots`` answers a partner: the hotspots of a published product.

    Raises
    ------
    InvalidInput
        422 naming a parameter a partner may not choose, a period that is not a whole month or
        quarter, or an unknown priority; 404 if the product is not published.
    """
    params = request.query_params
    other = sorted(set(params) - PARTNER_PARAMETERS)
    if other:
        raise InvalidInput(f"{other[0]} cannot be chosen by a partner: partners read published "
                           "products (whole months or quarters, the force grid, fixed parameters); "
                           "give period=YYYY-MM or YYYY-Qn and optionally priority", field=other[0])
    key: str | None = None
    if period is not None:
        if "from" in params or "to" in params:
            raise InvalidInput("give period, or from and to, not both", field="period")
        key = period_of(period, store).key
    elif "from" in params or "to" in params:
        key = period_of_range(params.get("from"), params.get("to"), store.timezone).key
    group = params.get("priority") or ALL
    groups = groups_of(taxonomy)
    if group not in groups:
        raise InvalidInput(f"unknown priority {group!r}; a product has {', '.join(groups)}",
                           field="priority")
    _record, document = stored_product(store, key)
    if group not in document["hotspots"]:
        raise NotFound(f"the product for {document['period']} has no priority {group!r}",
                       field="priority")
    if wants_csv:
        return served(request, hotspots_csv(document, group), "text/csv; charset=utf-8",
                      filename=f"hotspots-{document['period']}-{group}.csv")
    return served(request, hotspots_geojson(document, group), "application/geo+json")
