"""``hotspot demo``: the fictional demo force area in its own store, and what ``hotspot serve
--demo`` adds to it (a key per role, the demo months published for partners, the partnership's
submissions sent with the partner key, and a published patrol plan with visits logged)."""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli.common import JsonOpt, err, fail, load_settings, open_store, out, progress_bar, refusals
from api.cli.products import publish_period
from api.settings import Settings
from geodata.errors import PublicationConflict

if TYPE_CHECKING:
    from geodata.stores import AccessStore, Store

log = logging.getLogger(__name__)


def demo(
    database: Annotated[str | None, typer.Option(
        "--database", "-d", help="The demo's own store. Default: $HOTSPOT_DEMO_DATABASE_URL, "
        "else demo.sqlite in the data folder.")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the demo's files. Default: demo-files beside the "
        "store.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same data).")] = None,
    incidents: Annotated[int | None, typer.Option(
        help="About how many incidents (default 50,000).", min=100, max=2_000_000)] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the fictional demo force area into its own store (never a force's store)."""
    settings = load_settings()
    url = database or settings.demo_store_url()
    with refusals(as_json):
        store = open_store(url)
        if store.count() and store.purpose() == "demo":
            raise fail("the demo store already holds the demo; delete the file to rebuild it",
                       as_json)
        folder = out_dir or Path(url).expanduser().resolve().parent / "demo-files"
        result = build_demo(store, folder, as_json=as_json, seed=seed, incidents=incidents)
    if as_json:
        print(json.dumps({"database": url, **result}, default=str))


def build_demo(store: Store, folder: Path, *, as_json: bool, seed: int | None = None,
               incidents: int | None = None) -> dict[str, Any]:
    """Write the demo's files into ``folder`` and load them into ``store``; the files and the
    load report."""
    from geodata.demo import DEMO_INCIDENTS, DEMO_SEED, load_demo, write_demo

    with progress_bar(not as_json and err.is_terminal) as bar:
        task = bar.add_task("demo force area", total=None)
        files = write_demo(folder, seed=DEMO_SEED if seed is None else seed,
                           incidents=DEMO_INCIDENTS if incidents is None else incidents,
                           progress=lambda m: bar.update(task, description=m))
        bar.update(task, description="loading into the store")
        report = load_demo(store, files)
    if not as_json:
        c = report.to_dict()["counts"]
        out.print(f"Built the demo force area: {c['accepted']:,} incidents and "
                  f"{len(store.list_layers())} reference layers (files in {folder})")
    return {"files": files.to_dict(), "report": report.to_dict()}


def publish_demo(store: Store, months: list[str], settings: Settings) -> None:
    """Add what the demo shows beyond its files (:func:`demo_activity`: the partner's business
    reports, a plan and its visits), then publish the demo's months for the demo partner key
    (skipping any already published), so the products count the business reports too."""
    from api.service_errors import InvalidInput
    from api.services.products import KIND

    demo_activity(store, settings)
    done = {r["period"] for r in store.list_products(KIND)}
    for month in months:
        if month not in done:
            with suppress(InvalidInput, PublicationConflict):
                publish_period(store, month, settings)


DEMO_PLAN_NAME = "Demo: Friday lates, 13 December 2024"
"""The demo's published patrol plan (a shift in the demo's last month)."""
DEMO_PLAN_REQUEST: dict[str, Any] = {
    "name": DEMO_PLAN_NAME,
    "shift": {"start": "2024-12-13T16:00", "end": "2024-12-14T02:00"},
    "rural_crime_team": {"vehicles": 1}, "town_centre_officers": {"Thornbury": 2},
    "hotspots": {"method": "dbscan", "from": "2024-09", "to": "2024-12"},
    "time_limit_s": 0.5,
}
"""What the demo plan asks for, as ``POST /v1/patrol-plans`` would be asked."""
DEMO_OFFICERS = ("PC Ellis", "PC Okafor", "PC Brennan")
"""The (fictional) officers who log the demo plan's visits, one per crew in turn."""


def demo_activity(store: Store, settings: Settings) -> dict[str, Any]:
    """What ``hotspot serve --demo`` adds to the demo store beyond its files, once (again it
    adds nothing): the partnership's submissions (``business-reports.csv`` of the demo's
    files, sent with the demo partner key) and a published patrol plan for a shift in the
    demo's last month with visits logged at most of its stops. Returns what was added."""
    from api.access import check_key

    partner = check_key(store, demo_keys(store, settings.data_dir)["partner"])
    assert partner is not None  # demo_keys checked it or made it
    reports = settings.demo_files_dir() / "business-reports.csv"
    added = load_business_reports(store, reports, submitted_by=partner.key_id) \
        if reports.is_file() else 0
    plan_id, visits = demo_plan(store, settings)
    return {"business_reports": added, "plan_id": plan_id, "visits": visits,
            "stop_searches": demo_stop_searches(store, settings),
            "presets": demo_presets(store, settings)}


DEMO_PRESETS: tuple[dict[str, Any], ...] = (
    {"name": "town-centres-latest", "title": "Theft, burglary and robbery, latest month (DBSCAN)",
     "parameters": {"method": "dbscan", "priority": "theft_burglary_robbery",
                    "period": "latest"}},
    {"name": "rural-latest", "title": "Rural crime, latest month (DBSCAN)",
     "parameters": {"method": "dbscan", "priority": "rural", "period": "latest"}},
    {"name": "asb-2024-q4", "title": "Anti-social behaviour, 2024 Q4 (KDE)",
     "parameters": {"method": "kde", "priority": "asb", "period": "2024-Q4"}},
)
"""The demo's saved presets: each is an OGC API collection (hotspots-<name>) a GIS can add."""


def demo_presets(store: Store, settings: Settings) -> int:
    """Save :data:`DEMO_PRESETS` that are not saved yet; how many were added."""
    from api.services.presets import PresetIn, save_preset
    from geodata.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(settings.taxonomy_path)
    added = 0
    for preset in DEMO_PRESETS:
        if store.preset(preset["name"]) is None:
            save_preset(store, taxonomy, PresetIn(**preset), created_by="demo")
            added += 1
    return added


def demo_stop_searches(store: Store, settings: Settings) -> int:
    """Load the demo's stop and search files (kept apart from incidents) found in the demo's
    folder; how many records were new (none the second time)."""
    from geodata.demo.files import load_stop_search_files

    found = sorted((settings.demo_files_dir() / "police-uk").glob("*-stop-and-search.csv"))
    return load_stop_search_files(store, found) if found else 0


def load_business_reports(store: Store, path: Path, *, submitted_by: str) -> int:
    """Store the partnership's submissions of a demo ``business-reports.csv`` as sent by the
    key ``submitted_by`` (its id); none when the demo's are already stored. Returns how many
    were stored."""
    import numpy as np

    from geodata.coords import WGS84, transform

    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return 0
    when = [int(datetime.fromisoformat(r["time"]).timestamp()) for r in rows]
    if store.count_business_reports(start=min(when), end=max(when) + 1) >= len(rows):
        return 0
    lon = np.array([float(r["lon"]) for r in rows])
    lat = np.array([float(r["lat"]) for r in rows])
    x, y, _info = transform(lon, lat, WGS84, store.crs)
    for i, r in enumerate(rows):
        store.add_business_report({
            "submitted_by": submitted_by, "occurred_at": when[i], "category": r["type"],
            "x": float(x[i]), "y": float(y[i]), "lon": float(lon[i]), "lat": float(lat[i]),
            "business": r["business"], "description": r["description"],
            "value_pence": int(r["value_pence"]) if r["value_pence"] else None})
    return len(rows)


def demo_plan(store: Store, settings: Settings) -> tuple[str | None, int]:
    """The demo's published patrol plan (made as ``POST /v1/patrol-plans`` makes one, unless
    it is stored already) and its visits: every stop visited, with the dwell timer stopped,
    but the last stop of each crew and every fifth, so the dosage shows visits made and not
    made, minutes on site and a hotspot never visited. Returns the plan's id (None when the
    store's layers cannot make it) and the visits it has."""
    from api.service_errors import ServiceError

    plan_id = next((p["plan_id"] for p in store.list_plans(500)
                    if p.get("name") == DEMO_PLAN_NAME), None)
    if plan_id is None:
        try:
            plan_id = _make_demo_plan(store, settings)
        except ServiceError:  # a demo store whose layers were changed: no plan, still served
            log.exception("the demo's patrol plan could not be made")
            return None, 0
    stored = store.get_plan(plan_id)
    if stored is None:
        return plan_id, 0
    for visit in demo_visits(plan_id, stored["plan"]):
        store.add_visit(visit)
    return plan_id, len(store.plan_visits(plan_id))


def demo_visits(plan_id: str, plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The visits the demo logs against a plan: at each hotspot stop but the last of each
    crew and every fifth, arriving 1-4 minutes after the planned start and staying the
    planned dwell less 2 minutes plus 0-2 (whole minutes); times in UTC (ISO 8601)."""
    out: list[dict[str, Any]] = []
    n = 0
    for r, route in enumerate(plan.get("routes", [])):
        stops = [s for s in route.get("stops", []) if s.get("stop_id")]
        for k, stop in enumerate(stops):
            n += 1
            if k == len(stops) - 1 or n % 5 == 0:
                continue
            start = datetime.fromisoformat(stop["start"])
            visited = start + timedelta(minutes=1 + n % 4)
            ended = visited + timedelta(minutes=round(float(stop["dwell_min"])) - 2 + n % 3)
            digest = hashlib.sha256(f"{plan_id}|{stop['stop_id']}".encode()).hexdigest()
            out.append({
                "visit_id": f"demo-{digest[:24]}", "plan_id": plan_id,
                "stop_id": stop["stop_id"], "hotspot_id": stop.get("hotspot_id"),
                "visited_at": visited.astimezone(UTC).isoformat(),
                "ended_at": ended.astimezone(UTC).isoformat(),
                "note": "", "officer": DEMO_OFFICERS[r % len(DEMO_OFFICERS)]})
    return out


def _make_demo_plan(store: Store, settings: Settings) -> str:
    """Plan :data:`DEMO_PLAN_REQUEST` over its hotspots and store it, published, as the API's
    ``POST /v1/patrol-plans`` does; its id."""
    import dataclasses
    import uuid

    from pydantic.fields import FieldInfo

    from api.formats import ATTRIBUTION
    from api.services.hotspot_query import HotspotQuery
    from api.services.hotspot_results import compute_hotspots
    from api.services.patrol import PlanRequest, make_plan
    from api.services.stored_plans import new_links
    from geodata.harm import HarmTable
    from geodata.layers import TOWN_CENTRES
    from geodata.taxonomy import Taxonomy

    layer = store.get_layer(TOWN_CENTRES)
    towns = sorted(str(n) for n in layer.frame["name"]) if layer is not None else []
    town = "Thornbury" if "Thornbury" in towns else next(iter(towns), None)
    request = PlanRequest.model_validate(
        {**DEMO_PLAN_REQUEST, "town_centre_officers": {town: 2} if town else {}})
    values: dict[str, Any] = {
        f.name: f.default.default if isinstance(f.default, FieldInfo) else f.default
        for f in dataclasses.fields(HotspotQuery)}
    values.update({"from_" if k == "from" else k: v for k, v in request.hotspots.items()})
    taxonomy = Taxonomy.load(settings.taxonomy_path)
    version = store.data_version()
    computed = compute_hotspots(store, taxonomy, HotspotQuery(**values), None,
                                harm=HarmTable.load(settings.harm_table))
    document = make_plan(store, taxonomy, request, computed.table).to_dict()
    document["hotspot_parameters"] = computed.parameters
    document["attribution"] = ATTRIBUTION
    plan_id = uuid.uuid4().hex[:16]
    store.put_plan(plan_id, shift_start=document["shift"]["start"],
                   shift_end=document["shift"]["end"], data_version=version,
                   request=request.model_dump(mode="json"), plan=document,
                   created_by="demo planner", published_at=datetime.now(UTC).isoformat(),
                   links=new_links([r["label"] for r in document.get("routes", [])]))
    return plan_id


def demo_keys(store: AccessStore, folder: Path) -> dict[str, str]:
    """The demo's keys, one per role, kept in ``folder/demo-keys.json`` (the demo is
    fictional; a force's keys are never written down)."""
    from api.access import ROLES, check_key, new_key

    path = folder / "demo-keys.json"
    try:
        kept = json.loads(path.read_text())
        if all(check_key(store, kept.get(role, "")) for role in ROLES):
            return {role: kept[role] for role in ROLES}
    except (OSError, ValueError, AttributeError):
        pass
    keys = {role: new_key(store, name=f"demo {role}", role=role)[0] for role in ROLES}
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keys, indent=1))
    path.chmod(0o600)
    return keys
