"""``hotspot publish`` and ``hotspot products``: the partners' published products (counts on
the force grid with small counts held back, and their hotspots)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import DatabaseOpt, JsonOpt, load_settings, open_store, out, refusals
from api.settings import Settings

if TYPE_CHECKING:
    from geodata.stores import Store


def publish(
    period: Annotated[str, typer.Argument(help="A whole month (2024-06) or quarter (2024-Q2), "
                                          "local time, that has ended and whose data is in.")],
    database: DatabaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Publish the partners' product of a month or quarter: counts on the force grid with small
    counts held back, and the hotspots made of its squares (never changed once published;
    products never overlap in time)."""
    settings = load_settings()
    url = database or settings.store_url()
    with refusals(as_json):
        record = publish_period(open_store(url), period, settings)
    if as_json:
        print(json.dumps({"database": url, "published": record}))
        return
    s = record["summary"]
    out.print(f"Published {record['period']}: {s['squares']:,} grid squares of {s['grid_m']:g} m "
              f"and {s['hotspots']} hotspots (counts under {s['min_count']} held back); partners "
              f"read it at /v1/hotspots?period={record['period']}", markup=False)


def products(database: DatabaseOpt = None, as_json: JsonOpt = False) -> None:
    """List the published products, latest first."""
    from api.services.products import KIND

    url = database or load_settings().store_url()
    with refusals(as_json):
        found = open_store(url).list_products(KIND)
    if as_json:
        print(json.dumps({"database": url, "products": found}))
        return
    if not found:
        out.print("No products published yet: hotspot publish 2024-06")
    for r in found:
        s = r["summary"]
        out.print(f"{r['period']:<8} published {r['published_at']}  {s.get('squares', 0):>6,} "
                  f"squares  {s.get('hotspots', 0):>4} hotspots", markup=False)


def publish_period(store: Store, period: str, settings: Settings) -> dict[str, Any]:
    """Publish the product of ``period`` with the settings' grid and threshold (see
    :func:`api.services.products.publish`, whose errors it raises)."""
    from api.services.products import parse_period
    from api.services.products import publish as publish_product
    from geodata.taxonomy import Taxonomy

    return publish_product(store, Taxonomy.load(settings.taxonomy_path),
                           parse_period(period, store.timezone), grid_m=settings.partner_grid_m,
                           min_count=settings.partner_min_incidents)
