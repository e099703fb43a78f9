"""The planner's hotspot map page: its summary, period and file name in words, the page
itself, and the page shown while the backtest behind "Best in backtest" runs."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pandas as pd
from fastapi import Request
from fastapi.responses import HTMLResponse

from api.delivery import NOTICE_CSS
from api.formats import ATTRIBUTION, percent, tile_url
from api.service_errors import Unavailable
from api.services.basemap import force_basemap, page_tile_url
from api.services.gcpause import gc_paused
from api.services.hotspot_query import PARAMETERS, HotspotQuery
from api.services.hotspot_results import BacktestNotReady, Computed, DensityComputed
from api.services.hotspots import METHOD_NAMES, map_layers, map_summary
from api.services.persistent_asb import map_overlay
from api.settings import Settings
from geodata.stores import IncidentStore, LayerStore, Store
from geodata.taxonomy import Taxonomy
from maps import DensityImage, FormState, PageOptions, hotspot_map_page
from maps.hotspot_map import period_label
from maps.nav import NAV_CSS


def page_summary(method: str, info: dict[str, Any], area_name: str,
                 weight: str | None) -> tuple[str, str]:
    """The planner's page's summary in plain words ("308 places (0.45 % of the force area) hold
    56 % of the 12,624 incidents") and, for its details line, how the places were found and how
    concentrated they are (the PAI, in words)."""
    if info.get("note"):
        return str(info["note"]), ""
    n = int(info.get("hotspots", 0))
    text = "1 place" if n == 1 else f"{n:,} places"
    if info.get("area_share") is not None:
        text += f" ({percent(float(info['area_share']))} of the {area_name})"
    of = "the harm of the " if weight == "harm" else "the "
    text += (f" hold {percent(float(info.get('hit_rate', 0)))} of {of}"
             f"{int(info.get('incidents', 0)):,} incidents")
    if info.get("area_budget_km2") is not None:
        text += f" \u00b7 area budget {float(info['area_budget_km2']):g} km\u00b2"
    about = f"Found by {METHOD_NAMES.get(method, method)}."
    pai = info.get("pai")
    if pai and info.get("pai_basis", "retrospective") == "retrospective":
        about += (f" Per km\u00b2 these places hold {float(pai):,.0f} times the {area_name}'s "
                  "average (retrospective: measured on the same incidents they were drawn "
                  "from, so it flatters them).")
    elif pai:
        about += (f" In the backtest such places held {float(pai):,.1f} times the "
                  f"{area_name}'s average per km\u00b2 of the following month's crime.")
    return text, about


def data_months(store: IncidentStore) -> tuple[str, str] | None:
    """The months of the store's first and last incidents in words, local time ("Jan 2023",
    "Dec 2024"); None for an empty store. From the store's summaries: no incident is read."""
    span = store.time_span()
    if span is None:
        return None
    first, last = (pd.Timestamp(t, unit="s", tz="UTC").tz_convert(store.timezone)
                   .strftime("%b %Y") for t in span)
    return first, last


def page_period(metadata: dict[str, Any]) -> str:
    """The period a result covers, in words, with the one its trends compare it with
    ("1 Jul \u2013 31 Dec 2024, against 1 Jan \u2013 30 Jun 2024")."""
    selection = metadata.get("selection") or {}
    shown = period_label(selection.get("from"), selection.get("to"))
    if not shown:
        return ("Every incident in the store (choose From and To for trends)"
                if not selection.get("from") and not selection.get("to") else "")
    before = metadata.get("previous_selection") or {}
    against = period_label(before.get("from"), before.get("to"))
    if against:
        return f"{shown}, against {against}"
    return f"{shown} (no data for the period before it: trends not known)"


def download_name(place: str, metadata: dict[str, Any], suffix: str) -> str:
    """A download's file name after the place and the period ("demo-shire-hotspots-2024-07-to-
    2024-12.html"): ASCII letters, digits and hyphens only."""
    selection = metadata.get("selection") or {}
    words = "-".join(re.findall(r"[a-z0-9]+", place.lower())) or "hotspots"
    parts = [words, "hotspots"] if "hotspot" not in words else [words]
    first, end = selection.get("from"), selection.get("to")
    if first and end:
        last = (pd.Timestamp(end) - pd.Timedelta(days=1)) if str(end)[11:16] in ("00:00", "") \
            else pd.Timestamp(end)
        parts += [str(first)[:7], "to", last.strftime("%Y-%m")]
    return "-".join(parts) + suffix


def place_name(store: LayerStore) -> str:
    """The force area's name (the force boundary's first name), else "hotspots"."""
    layer = store.get_layer("force_boundary")
    if layer is not None and len(layer.frame) and "name" in layer.frame.columns:
        names = [str(n) for n in layer.frame["name"] if isinstance(n, str) and n.strip()]
        if names:
            return names[0]
    return "hotspots"


def map_page(store: Store, taxonomy: Taxonomy, settings: Settings, q: HotspotQuery,
             computed: Computed, density: DensityComputed | None, *, path: str,
             download: bool) -> str:
    """The planner's map page (HTML) of a computed result: the hotspots, the density overlay,
    the form that changes the query, the summary and details in words; ``download``: one file
    with everything inlined. The cyclic garbage collector waits meanwhile
    (:mod:`api.services.gcpause`)."""
    with gc_paused():
        return _map_page(store, taxonomy, settings, q, computed, density, path=path,
                         download=download)


def _map_page(store: Store, taxonomy: Taxonomy, settings: Settings, q: HotspotQuery,
              computed: Computed, density: DensityComputed | None, *, path: str,
              download: bool) -> str:
    layers = map_layers(store)
    image = None
    if density is not None:
        image = DensityImage(png=density.png, bounds=density.description["bounds"],
                             top_per_km2=density.description["top_per_km2"])
    info, choice = computed.info, computed.metadata.get("choice")
    area_name = "force area" if layers.get("force_boundary") is not None else "study area"
    version = computed.metadata["data_version"]
    weight = computed.parameters.get("weight")
    if choice:
        summary = map_summary(q.method, info, version, choice=choice, area_name=area_name,
                              weight=weight, sentence=False)
        summary, about = summary.removesuffix(f" \u00b7 data {version}"), ""
    else:
        summary, about = page_summary(q.method, info, area_name, weight)
    if info.get("note") and not int(info.get("incidents") or 0):
        held = data_months(store)  # a period after the data end, or before they begin
        if held is not None:
            summary += f" \u00b7 the data run from {held[0]} to {held[1]}"
    # how the figures were made, and the data version, in the details line: for who asks
    details = (f"{about} Places are ranked by their "
               f"{'harm' if weight == 'harm' else 'incidents'}, how tightly packed they are and "
               "how recent, so the first is where a patrol's time buys most. Data version "
               f"{version}: it changes whenever incidents are loaded, so two maps with the same "
               "version were drawn from the same data.").strip()
    # carried through the form: not what it sets, nor one method's parameters (the planner may
    # switch method, and another method's parameter is a 422); the place size applies to all
    dropped = {"method", "priority", "from", "to", *PARAMETERS} - {"max_place_m"}
    keep = [(k, v) for k, v in parse_qsl(q.query_string()) if k not in dropped]
    # an area_km2 budget shows in the form as the share of the force area it came to
    given = q.parameters()
    share, share_label = given.get("area_share"), None
    if share is None and given.get("area_km2") is not None and info.get("study_area_km2"):
        share = float(given["area_km2"]) / float(info["study_area_km2"])
        share_label = f"{float(given['area_km2']):g} km\u00b2"
    tiles = tile_url(settings.tile_url) if download else page_tile_url(settings)
    # persistent ASB places: an overlay, and each hotspot that holds one says so
    table, asb = map_overlay(store, computed.table, computed.metadata)
    options = PageOptions(
        title="Hotspot planner",
        basemap_url="/v1/basemap",
        basemap_features=force_basemap(store) if download else None,
        tiles_url=tiles,
        tiles_attribution=settings.tile_attribution,
        asset_base="/static",
        inline=download,
        density=image,
        density_url=f"/v1/density?{q.query_string(format='png')}" if image else None,
        form=None if download else FormState(
            action=path, method=q.method, priority=q.priority,
            date_from=(q.from_ or "")[:7] or None, date_to=(q.to or "")[:7] or None,
            priorities=[(k, v.split(":")[0].strip()) for k, v in taxonomy.priorities.items()],
            area_share=None if share is None else float(share), area_label=share_label,
            weight=str(given.get("weight") or "count"), keep=keep,
        ),
        summary=summary,
        period=page_period(computed.metadata),
        details=details,
        category_labels={k: c.label for k, c in taxonomy.categories.items()},
        headline=str(choice.get("sentence") or "") if choice else "",
        harm_approximate=bool((computed.metadata.get("harm") or {}).get("approximate")),
        emerging_months=(info.get("emerging") or {}).get("months"),
        attribution=ATTRIBUTION,
        download_url=None if download else f"{path}?{q.query_string(download=1)}",
        hotspot_page_query=None if download else q.query_string(),
        business_reports_url=None if download else business_reports_url(computed.metadata),
        persistent_asb=asb,
    )
    return hotspot_map_page(table, layers, options)
def business_reports_url(metadata: dict[str, Any]) -> str:
    """Where the planner's map reads the business reports of the period it shows (a separate
    layer: :mod:`api.services.business`)."""
    selection = metadata.get("selection") or {}
    period = {k: selection[k] for k in ("from", "to") if selection.get(k)}
    return "/v1/business-reports?" + urlencode({**period, "format": "geojson", "limit": 5000})


PAGE_MONTHS = 6
"""The planner's page, asked for no period, shows the last this many whole months of the
store's data (their trend against as many months before): recent, with trends known."""


def backtest_running_page(request: Request, q: HotspotQuery, why: Unavailable,
                          nav: str) -> HTMLResponse:
    """A planner's page while the backtest behind "Best in backtest" runs: it says so in
    plain words (the API's message only when it says something else, such as too many
    backtests waiting), offers another method, keeps the bar of pages (``nav``) and reloads
    itself (503, Retry-After)."""
    e = html.escape
    here = f"{request.url.path}?{q.query_string()}"
    other = f"{request.url.path}?{q.query_string(method='dbscan')}"
    detail = "" if isinstance(why, BacktestNotReady) else f"<p class=\"detail\">{e(str(why))}</p>"
    page = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"refresh\" content=\"{BACKTEST_RELOAD_S}; url={e(here)}\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Preparing the best method</title><style>{NAV_CSS}{NOTICE_CSS}</style>"
        f"</head><body>{nav}<main><h1>Preparing \u201cBest in backtest\u201d</h1>"
        "<p>The service is testing every hotspot method on the months in the store, to choose "
        "the one that predicted best here. It takes a minute or two the first time and is kept "
        f"after that. This page reloads itself in {BACKTEST_RELOAD_S} seconds.</p>{detail}"
        f"<p class=\"onward\"><a href=\"{e(here)}\">Reload now</a>"
        f"<a href=\"{e(other)}\">Show DBSCAN clusters instead</a></p></main></body></html>")
    return HTMLResponse(page, status_code=503,
                        headers={"Retry-After": str(BACKTEST_RELOAD_S), "Cache-Control": "no-store"})
BACKTEST_RELOAD_S = 30
"""How soon the waiting page reloads, seconds."""
