"""A hotspot's own page through the real HTTP app on the demo force area, in both stores: its
charts count what a direct count of the store's incidents inside its outline gives; month-only
data shows no heat grid; an id not in the result is a 404 page; partners are refused; bad
parameters are a 422 naming the field; the plans that visited it are those with a stop of the
same id in the same place; only published plans whose shift has started count (the priority
report's rule): a draft and a shift still to come are shown apart, never as visits missed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from api.services.hotspots import AnalysisOptions, run_analysis
from api.services.selection import Selection, period_bound
from geodata.demo import DemoFiles
from geodata.ingest import ingest
from geodata.layers import force_area, read_layer
from geodata.readers.base import ReadOptions
from geodata.readers.police import PoliceCsvReader
from geodata.schema import DEFAULT_TIMEZONE, IncidentFilter
from geodata.stores.base import DEMO
from geodata.taxonomy import Taxonomy
from maps.hotspot_page_html import minutes
from tests.api.test_api import served_demo, settings_for
from tests.conftest import STORE_KINDS, as_role, make_store

QUERY = "method=dbscan&from=2024-01&to=2024-06"


@pytest.fixture(scope="module", params=STORE_KINDS)
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        demo_files: DemoFiles) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("hotspot-page-api")
    with served_demo(make_store(request.param, root, request), root, demo_files) as c:
        yield as_role(c)


def _hotspot(c: TestClient, hotspot_id: str) -> Any:
    """The hotspot's row, computed directly by the analysis (not through the page)."""
    store = c.app.state.store
    selection = Selection(start=period_bound("2024-01", store.timezone, end=False, field="from"),
                          end=period_bound("2024-06", store.timezone, end=True, field="to"))
    result, _meta = run_analysis(store, Taxonomy.load(), method="dbscan", selection=selection,
                                 options=AnalysisOptions())
    table = result.hotspots
    return table[table["id"] == hotspot_id].iloc[0], selection


def _hotspot_no_plan_visits(c: TestClient) -> tuple[Any, tuple[float, float]]:
    """A hotspot of the result (computed directly) that no stored plan has a stop of its id
    at, and a point inside it (WGS84 longitude, latitude)."""
    store = c.app.state.store
    selection = Selection(start=period_bound("2024-01", store.timezone, end=False, field="from"),
                          end=period_bound("2024-06", store.timezone, end=True, field="to"))
    result, _meta = run_analysis(store, Taxonomy.load(), method="dbscan", selection=selection,
                                 options=AnalysisOptions())
    used = {str(s.get("hotspot_id")) for p in store.list_plans(500)
            for r in store.get_plan(p["plan_id"])["plan"].get("routes", [])
            for s in r.get("stops", [])}
    row = next(r for _, r in result.hotspots.iterrows() if r["id"] not in used)
    inside = shapely.point_on_surface(row.geometry)
    lon, lat = Transformer.from_crs(store.crs, "EPSG:4326", always_xy=True).transform(
        inside.x, inside.y)
    return row, (float(lon), float(lat))


def _titles(page: str, cls: str) -> list[str]:
    """The tooltip titles of the marks of one chart (``bar``, ``month``, ``cell``)."""
    svg = re.search(r'<svg[^>]*class="chart ' + cls + r'".*?</svg>', page, re.S)
    assert svg is not None, cls
    return [html.unescape(t) for t in re.findall(r'<g class="[^"]*"><title>(.*?)</title>',
                                                svg.group(0))]


def test_the_page_counts_what_lies_inside_the_outline(app: TestClient) -> None:
    r = app.get(f"/hotspots/dbscan-001?{QUERY}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    row, selection = _hotspot(app, "dbscan-001")
    name = row["name"] or row["place"]
    assert f"#1 {html.escape(str(name))}" in page
    assert 'aria-current="page"' in page and "Sign out" not in page  # the nav bar; by key
    # the store's incidents inside the outline, counted directly (no bounding box)
    store = app.app.state.store
    cols = store.incidents(IncidentFilter())
    inside = shapely.intersects_xy(row.geometry, cols.x, cols.y)
    t = cols.occurred_at
    in_period = inside & (t >= selection.start) & (t < selection.end)
    labels = {k: c.label for k, c in Taxonomy.load().categories.items()}
    by_category = pd.Series(np.asarray(cols.category, dtype=object)[in_period]).value_counts()
    bars = _titles(page, "bar-chart")
    ranked = sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0]))  # ties by key
    assert bars == [f"{labels[k]}: {v:,} incidents" for k, v in ranked][:len(bars)]
    assert sum(int(b.rsplit(": ", 1)[1].split()[0].replace(",", "")) for b in bars) == \
        int(in_period.sum())
    months = pd.to_datetime(t[inside], unit="s", utc=True).tz_convert(store.timezone) \
        .strftime("%B %Y")
    per_month = pd.Series(np.asarray(months)).value_counts()
    shown = _titles(page, "month-chart")
    assert len(shown) == 18  # January to June 2024 and the 12 months before
    assert shown[0].startswith("January 2023") and shown[-1].startswith("June 2024")
    for title in shown:
        month, count = title.split(": ")
        assert count == f"{int(per_month.get(month, 0)):,} incidents", title
    cells = _titles(page, "heat-grid")
    assert len(cells) == 7 * 24  # the demo's force export has times of day
    timed = in_period & (cols.precision == 0)
    assert sum(int(c.rsplit(": ", 1)[1].split()[0].replace(",", "")) for c in cells) == \
        int(timed.sum()) > 0
    local = pd.to_datetime(t[timed], unit="s", utc=True).tz_convert(store.timezone)
    busiest = pd.Series(list(zip(local.day_of_week, local.hour, strict=True))).value_counts()
    (day, hour), n = busiest.index[0], int(busiest.iloc[0])
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    assert f"{days[day]} {hour:02d}:00 to {hour:02d}:59: {n:,} incidents" in cells
    # advice for its main category, with its source named and marked as from memory
    top = labels[str(by_category.index[0])]
    assert f"<h3>{html.escape(top)}</h3>" in page and "Source: " in page
    assert "Paraphrased from memory" in page
    # the steps for the audience its class and mix point to, and its leaflet, which names it
    block = re.search(r'<div class="place-advice" id="place-advice">(.*?)</div>', page, re.S)
    assert block is not None
    assert len(re.findall(r"<li>", block.group(1))) in range(4, 7)
    audience = {"town_centre": "businesses", "rural": "farms and rural businesses",
                "heritage_site": "heritage site keepers", "urban": "residents"}
    mix = row["category_mix"]
    assert f"<h3>For {audience[row['context_class']]} here</h3>" in block.group(1) or \
        max(mix.values()) > sum(mix.values()) / 2  # a mix leaning to one audience decides
    leaflet = re.search(r'href="(/hotspots/dbscan-001/leaflet\?[^"]+)"', block.group(1))
    assert leaflet is not None
    got = app.get(html.unescape(leaflet.group(1)))
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/html")
    for step in re.findall(r"<li>(.*?)</li>", block.group(1))[:2]:
        assert step in got.text
    # aggregates only: no incident position on the page (the outline's vertices are not any)
    positions = {f"{lon:.5f},{lat:.5f}" for lon, lat in zip(cols.lon[inside], cols.lat[inside],
                                                          strict=True)}
    written = {f"{float(a):.5f},{float(b):.5f}"
               for a, b in re.findall(r"\[(-?\d+\.\d+),(-?\d+\.\d+)\]", page)}
    assert not positions & written


def test_an_id_not_in_the_result_is_a_404_page(app: TestClient) -> None:
    for hotspot_id in ("dbscan-999", "kde-001", "not an id"):
        r = app.get(f"/hotspots/{hotspot_id}?{QUERY}")
        assert r.status_code == 404, hotspot_id
        assert r.headers["content-type"].startswith("text/html")
        assert "not in the current results" in r.text
        back = re.search(r'<a href="/\?([^"]*)">Open the hotspot map', r.text)
        assert back is not None
        assert set(parse_qsl(html.unescape(back.group(1)))) == set(parse_qsl(QUERY))
    assert "&lt;b&gt;" in app.get(f"/hotspots/<b>?{QUERY}").text  # the id only as text


@pytest.mark.parametrize(("params", "field"), [
    ("from=banana", "from"),
    ("from=2024-06&to=2024-01", "to"),
    ("method=dbscan&eps_m=-5", "eps_m"),
    ("method=nope", "method"),
    ("priority=no_such_priority", "priority"),
    ("category=no_such_category", "category"),
    ("bbox=1,2,3", "bbox"),
])
def test_bad_parameters_are_refused_naming_the_field(app: TestClient, params: str,
                                                     field: str) -> None:
    r = app.get(f"/hotspots/dbscan-001?{params}")
    assert r.status_code == 422, (params, r.text)
    body = r.json()
    assert body.get("field") == field or field in str(body.get("detail")), (params, body)


def test_partners_are_refused(app: TestClient) -> None:
    partner = as_role(TestClient(app.app), "partner")
    r = partner.get(f"/hotspots/dbscan-001?{QUERY}")
    assert r.status_code == 403
    assert "svg" not in r.text


def test_the_plans_that_went_there(app: TestClient) -> None:
    plan = app.post("/v1/patrol-plans", json={
        "name": "Lates <b>&amp;</b>", "published": True, "shift": {"start": "2024-06-14T16:00",
                                                "end": "2024-06-15T02:00"},
        "rural_crime_team": {"vehicles": 1}, "town_centre_officers": {"Thornbury": 1},
        "hotspots": {"method": "dbscan", "from": "2024-01", "to": "2024-06"},
        "time_limit_s": 0.5}).json()
    stops = [s for r in plan["routes"] for s in r["stops"] if s.get("stop_id")]
    stop = stops[0]
    hotspot_id = stop["hotspot_id"]
    mine = [s for s in stops if s["hotspot_id"] == hotspot_id]
    start = pd.Timestamp(stop["start"])
    visits = [  # the same stop twice: 12 minutes timed, then a visit with no end
        {"visit_id": "page-visit-0001", "stop_id": stop["stop_id"], "visited_at": stop["start"],
         "ended_at": (start + pd.Timedelta(minutes=12)).isoformat()},
        {"visit_id": "page-visit-0002", "stop_id": stop["stop_id"],
         "visited_at": (start + pd.Timedelta(minutes=40)).isoformat()},
    ]
    for v in visits:
        assert app.post(f"/v1/patrol-plans/{plan['plan_id']}/visits", json=v).status_code == 201
    # a plan of other data: a stop with the same id somewhere else is not a visit here
    store = app.app.state.store
    far = {"stop_id": f"A|1|{hotspot_id}|1", "hotspot_id": hotspot_id, "lon": stop["lon"] + 0.2,
           "lat": stop["lat"], "dwell_min": 15.0, "kind": "hotspot"}
    store.put_plan("00000000000000aa", shift_start="2024-06-01T08:00+01:00",
                   shift_end="2024-06-01T16:00+01:00", data_version="old",
                   request={"name": "Elsewhere"}, plan={"routes": [{"stops": [far]}]},
                   published_at="2024-05-31T12:00+01:00")
    page = app.get(f"/hotspots/{hotspot_id}?{QUERY}").text
    rows = re.findall(r"<tr><td[^>]*><span><a href=\"/plans/([0-9a-f]{16})\">(.*?)</a>", page,
                      re.S)
    assert [pid for pid, _ in rows] == [plan["plan_id"]]
    assert rows[0][1] == "Lates &lt;b&gt;&amp;amp;&lt;/b&gt;"  # the name only as text
    row = re.search(rf"/plans/{plan['plan_id']}\".*?</tr>", page, re.S)
    assert row is not None
    cells = [re.sub(r"\s+", " ", html.unescape(c)).strip()
             for c in re.findall(r'<td class="n"[^>]*>(.*?)</td>', row.group(0), re.S)]
    # one stop of len(mine) made; 12 minutes timed (the visit with no end adds none)
    planned_minutes = round(sum(s["dwell_min"] for s in mine))
    assert cells[0] == f"1 of {len(mine)}"
    assert cells[1] == f"{1 / len(mine):.0%}"
    assert cells[2] == f"12 min of {minutes(planned_minutes)}"
    assert cells[3] == "1"  # visits with no end time
    found = re.search(r'<p class="dose-summary">(.*?)</p>', page, re.S)
    assert found is not None
    summary = re.sub(r"<[^>]+>", "", re.sub(r"\s+", " ", html.unescape(found.group(1))))
    assert summary == (f"1 of {len(mine)} planned visit{'' if len(mine) == 1 else 's'} made "
                       f"({1 / len(mine):.0%}) in 1 plan \u00b7 12 min on site of "
                       f"{minutes(planned_minutes)} planned, not counting 1 visit with no end time.")
    assert "\u2248" not in page and "&asymp;" not in page  # nothing estimated


def _summary(page: str, cls: str) -> str:
    """The text of the page's ``<p class="{cls}">`` in one line, tags dropped."""
    found = re.search(rf'<p class="{cls}">(.*?)</p>', page, re.S)
    assert found is not None, cls
    return re.sub(r"<[^>]+>", "", re.sub(r"\s+", " ", html.unescape(found.group(1)))).strip()


def test_drafts_and_shifts_to_come_are_not_counted_as_missed(app: TestClient) -> None:
    # the priority report's rule: published plans whose shift has started count (one under way
    # with its visits so far); a draft and a shift tomorrow, with stops here, are shown apart
    store = app.app.state.store
    row, (lon, lat) = _hotspot_no_plan_visits(app)
    hotspot_id = str(row["id"])
    local = ZoneInfo(store.timezone)
    now = datetime.now(local).replace(microsecond=0)

    def put(plan_id: str, name: str, start: datetime, stops: int, *, published: bool) -> None:
        crew = f"Vehicle {plan_id[-1]}"
        route = {"label": crew, "unit": "rural_team", "stops": [
            {"seq": n, "kind": "hotspot", "name": f"#{row['rank']} here",
             "stop_id": f"{crew}|{n}|{hotspot_id}|1", "hotspot_id": hotspot_id,
             "lon": lon, "lat": lat, "dwell_min": 15.0} for n in range(1, stops + 1)]}
        store.put_plan(plan_id, shift_start=start.isoformat(),
                       shift_end=(start + timedelta(hours=8)).isoformat(), data_version="1",
                       request={"name": name}, plan={"routes": [route]},
                       published_at=(now - timedelta(days=1)).isoformat() if published else None)

    def visit(plan_id: str, n: int, at: datetime, minutes_on_site: int) -> None:
        store.add_visit({"visit_id": f"{plan_id}-visit-{n:04d}", "plan_id": plan_id,
                         "stop_id": f"Vehicle {plan_id[-1]}|{n}|{hotspot_id}|1",
                         "hotspot_id": hotspot_id, "visited_at": at.isoformat(),
                         "ended_at": (at + timedelta(minutes=minutes_on_site)).isoformat(),
                         "note": "", "officer": "PC 1"})

    past = datetime(2024, 6, 10, 8, tzinfo=local)
    put("00000000000000b1", "Past earlies", past, 2, published=True)
    visit("00000000000000b1", 1, past + timedelta(hours=1), 10)   # 1 of 2 made, 10 min
    put("00000000000000b2", "Lates now", now - timedelta(hours=2), 1, published=True)
    visit("00000000000000b2", 1, now - timedelta(hours=1), 15)    # under way: 1 of 1 so far
    put("00000000000000b3", "Draft earlies", past + timedelta(days=1), 1, published=False)
    visit("00000000000000b3", 1, past + timedelta(days=1, hours=1), 20)  # a draft's: nothing
    put("00000000000000b4", "Tomorrow", now + timedelta(days=1), 2, published=True)

    page = app.get(f"/hotspots/{hotspot_id}?{QUERY}").text
    assert _summary(page, "dose-summary") == (
        "2 of 3 planned visits made (67%) in 2 plans \u00b7 25 min on site of 45 min planned.")
    rows = re.findall(r"<tr><td[^>]*><span><a href=\"/plans/([0-9a-f]{16})\">", page)
    assert sorted(rows) == ["00000000000000b1", "00000000000000b2"]  # the plans counted
    under_way = re.search(r'/plans/00000000000000b2".*?</tr>', page, re.S)
    assert under_way is not None and "(under way: visits so far)" in under_way.group(0)
    assert _summary(page, "note dose-under-way").startswith("1 of these shifts is still under way")
    assert _summary(page, "dose-to-come") == (
        "2 more planned visits in 1 shift still to come: not counted, as nobody could have "
        "visited yet.")
    assert _summary(page, "dose-not-counted") == (
        "1 planned visit in 1 draft plan (never published, so no crew had it): not counted.")
    waiting = re.search(r'<ul class="plans-waiting">(.*?)</ul>', page, re.S)
    assert waiting is not None
    assert sorted(re.findall(r'href="/plans/([0-9a-f]{16})"', waiting.group(1))) == [
        "00000000000000b3", "00000000000000b4"]
    assert "shift still to come" in waiting.group(1)
    assert "draft, not published" in waiting.group(1)
    fact = re.search(r"<dt>Patrol visits</dt><dd>(.*?)</dd>", page, re.S)
    assert fact is not None
    assert fact.group(1).startswith("2 of 3 planned made (67%)")
    assert "2 more planned in 1 shift still to come" in html.unescape(fact.group(1))

    # the Rural Crime Team sees published plans only: the draft is not even listed
    team = as_role(TestClient(app.app), "rural_team")
    seen = team.get(f"/hotspots/{hotspot_id}?{QUERY}").text
    assert _summary(seen, "dose-summary").startswith("2 of 3 planned visits made (67%)")
    assert "00000000000000b3" not in seen and 'class="dose-not-counted"' not in seen
    assert "00000000000000b4" in seen


def test_a_shift_still_to_come_alone_is_no_visit_missed(app: TestClient) -> None:
    store = app.app.state.store
    row, (lon, lat) = _hotspot_no_plan_visits(app)
    hotspot_id = str(row["id"])
    start = datetime.now(ZoneInfo(store.timezone)).replace(microsecond=0) + timedelta(days=1)
    stop = {"seq": 1, "kind": "hotspot", "name": "here", "stop_id": f"V|1|{hotspot_id}|1",
            "hotspot_id": hotspot_id, "lon": lon, "lat": lat, "dwell_min": 15.0}
    store.put_plan("00000000000000c1", shift_start=start.isoformat(),
                   shift_end=(start + timedelta(hours=8)).isoformat(), data_version="1",
                   request={"name": "Tomorrow"},
                   plan={"routes": [{"label": "V", "unit": "rural_team", "stops": [stop]}]},
                   published_at=start.isoformat())
    page = app.get(f"/hotspots/{hotspot_id}?{QUERY}").text
    assert 'class="dose-summary"' not in page and "0 of 1" not in page
    assert "No patrol shift with a stop here has started yet." in page
    assert _summary(page, "dose-to-come").startswith("1 more planned visit in 1 shift still to come")
    fact = re.search(r"<dt>Patrol visits</dt><dd>(.*?)</dd>", page, re.S)
    assert fact is not None and fact.group(1).startswith("None due yet")


def _month_only_store(request: pytest.FixtureRequest, root: Path, files: DemoFiles) -> Any:
    """The demo's layers and its data.police.uk-style monthly files (months only)."""
    store = make_store(request.param, root, request)
    store.claim_purpose(DEMO)
    for kind, path in files.layers.items():
        store.put_layer(read_layer(kind, path, force_crs=store.crs), purpose=DEMO)
    options = ReadOptions(area=force_area(store, 2_000.0), crs=store.crs,
                          timezone=DEFAULT_TIMEZONE)
    for path in files.police_csvs:
        ingest(store, PoliceCsvReader(path, options=options), purpose=DEMO)
    return store


@pytest.fixture(params=STORE_KINDS)
def month_only(request: pytest.FixtureRequest, tmp_path: Path,
               demo_files: DemoFiles) -> Iterator[TestClient]:
    store = _month_only_store(request, tmp_path, demo_files)
    with TestClient(create_app(settings_for(tmp_path), store=store, demo=True)) as c:
        yield as_role(c)
    store.close()


def test_month_only_data_shows_no_hour_grid(month_only: TestClient) -> None:
    r = month_only.get(f"/hotspots/dbscan-001?{QUERY}")
    assert r.status_code == 200, r.text
    assert "Times not recorded for these incidents" in r.text
    assert 'class="chart heat-grid"' not in r.text
    assert len(_titles(r.text, "month-chart")) == 18


def test_the_previous_period_and_the_emerging_months_are_read_beside_the_engine(
        app: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # read by the few threads of one pool (each keeps its own store connection: a thread a
    # request would leave a connection a request behind), the same answer as read first
    import threading

    import api.services.hotspots as hotspots

    store = app.app.state.store
    selection = Selection(start=period_bound("2024-04", store.timezone, end=False, field="from"),
                          end=period_bound("2024-06", store.timezone, end=True, field="to"))
    readers: set[str] = set()
    real = hotspots._previous_incidents

    def previous(*args: Any) -> Any:
        readers.add(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(hotspots, "_previous_incidents", previous)
    answers = [run_analysis(store, Taxonomy.load(), method="dbscan", selection=selection,
                            options=AnalysisOptions(), limits=None) for _ in range(2 * hotspots.READERS)]
    assert len(readers) <= hotspots.READERS
    assert all(name.startswith("hotspot-read") for name in readers)
    meta = answers[-1][1]
    assert meta["previous_period"] is True and meta["previous_selection"]["from"].startswith("2024-01")

    class Serial:  # the reads done first, one after the other, as before
        def submit(self, fn: Any, *args: Any) -> Any:
            from concurrent.futures import Future

            done: Future[Any] = Future()
            done.set_result(fn(*args))
            return done

    monkeypatch.setattr(hotspots, "_readers", Serial)
    first, first_meta = run_analysis(store, Taxonomy.load(), method="dbscan",
                                     selection=selection, options=AnalysisOptions())
    beside, beside_meta = answers[-1]
    assert first_meta["previous_selection"] == beside_meta["previous_selection"]
    pd.testing.assert_frame_equal(first.hotspots.drop(columns="geometry"),
                                  beside.hotspots.drop(columns="geometry"))
    assert first.info["emerging"] == beside.info["emerging"]


@pytest.mark.parametrize("months", [("2024-06", "2024-06"), ("2024-01", "2024-06"),
                                    ("2023-10", "2024-06")])
def test_the_emerging_months_reuse_the_selection_as_read(app: TestClient,
                                                        months: tuple[str, str]) -> None:
    # only the months before the selection are read again (in two halves at once when they
    # span HISTORY_SPLIT_S, as the first two selections' do; the third's three do not): the
    # same rows, in the same order, with the same values as one read of every month (a
    # category and a box too)
    import api.services.hotspots as hotspots
    from geodata.harm import HarmTable

    store = app.app.state.store
    selection = Selection(start=period_bound(months[0], store.timezone, end=False, field="from"),
                          end=period_bound(months[1], store.timezone, end=True, field="to"))
    harm = HarmTable.builtin()
    for categories, bbox in ((None, None), (("asb", "shoplifting", "vehicle_crime"),
                                            (460_000.0, 448_000.0, 466_000.0, 474_000.0))):
        chosen = Selection(start=selection.start, end=selection.end, bbox=bbox)
        flt = IncidentFilter(start=chosen.start, end=chosen.end, categories=categories,
                             bbox=bbox)
        incidents, _v = hotspots._frame(store, flt, harm)
        whole = hotspots._history_incidents(store, chosen, categories, harm)
        reused = hotspots._history_incidents(
            store, chosen, categories, harm,
            (incidents[list(hotspots.HISTORY_COLUMNS)], incidents.attrs["rid"]))
        assert whole is not None and reused is not None and len(incidents) > 0
        before = period_bound(months[0], store.timezone, end=False, field="from") \
            - hotspots.history_start(chosen.end, store.timezone)
        assert (before >= hotspots.HISTORY_SPLIT_S) == (months[0] != "2023-10")
        assert len(whole) > len(incidents)
        np.testing.assert_array_equal(reused.attrs["rid"], whole.attrs["rid"])
        pd.testing.assert_frame_equal(reused, whole[list(hotspots.HISTORY_COLUMNS)],
                                      check_exact=True)
        # the row ids ride along with each column and frame pandas derives, read-only and
        # never copied (pandas deep-copies attrs at each)
        for frame in (incidents, reused, whole):
            rid = frame.attrs["rid"]
            assert not rid.flags.writeable
            assert frame["x"].attrs["rid"] is rid and frame.iloc[:5].attrs["rid"] is rid
