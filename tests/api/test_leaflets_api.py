"""Prevention leaflets and the partners' advice through the real HTTP app on the demo force area,
in both stores: a hotspot's leaflet counts what its analysis counts and speaks to the audience
of its class and mix; a town's counts what lies inside its built-up area in the months it names
(a hand count with shapely); a published hotspot's is made from the stored product alone, which
rendering never changes; partners get product leaflets only; bad input is a 4xx naming the
field; a malformed advice file stops the app at start naming the file and line."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient

from api.access import new_key
from api.app import create_app
from api.services.hotspots import AnalysisOptions, run_analysis
from api.services.products import ALL, KIND
from api.services.selection import Selection, period_bound
from geodata.advice import PreventionAdvice
from geodata.demo import DemoFiles
from geodata.errors import InvalidAdvice
from geodata.layers import BUILT_UP_AREAS, TOWN_CENTRES
from geodata.schema import IncidentFilter
from geodata.taxonomy import Taxonomy
from tests.api.test_api import served_demo, settings_for
from tests.conftest import STORE_KINDS, make_store

QUERY = "method=dbscan&from=2024-01&to=2024-06"
PERIOD = "2024-06"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@pytest.fixture(scope="module", params=STORE_KINDS)
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           demo_files: DemoFiles) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    root = tmp_path_factory.mktemp("leaflets-api")
    with served_demo(make_store(request.param, root, request), root, demo_files,
                     rate_limit_per_minute=0) as c:
        store = c.app.state.store
        keys = {role: {"Authorization": f"Bearer {new_key(store, name=role, role=role)[0]}"}
                for role in ("admin", "analyst", "rural_team", "partner")}
        r = c.post("/v1/products", json={"period": PERIOD}, headers=keys["analyst"])
        assert r.status_code == 201, r.text
        yield c, keys


def _table(c: TestClient) -> Any:
    """The hotspot table of :data:`QUERY`, computed directly (not through the app)."""
    store = c.app.state.store
    selection = Selection(start=period_bound("2024-01", store.timezone, end=False, field="from"),
                          end=period_bound("2024-06", store.timezone, end=True, field="to"))
    result, _meta = run_analysis(store, Taxonomy.load(), method="dbscan", selection=selection,
                                 options=AnalysisOptions())
    return result.hotspots


def _kicker(page: str) -> str:
    found = re.search(r'<p class="kicker">Crime prevention advice for (.*?)</p>', page)
    assert found is not None
    return html.unescape(found.group(1))


def _steps(page: str) -> list[str]:
    block = page.split('<ol class="points">')[1].split("</ol>")[0]
    return [html.unescape(s) for s in re.findall(r"<li>(.*?)</li>", block)]


def _categories(page: str) -> list[tuple[str, str]]:
    """The main categories a leaflet lists, with their counts as printed ("about 250",
    "fewer than 5", "1,234")."""
    block = page.split('<ul class="cats">')[1].split("</ul>")[0] if 'class="cats"' in page else ""
    return [(html.unescape(a), b) for a, b in
            re.findall(r"<li>(.*?) \(((?:about |fewer than )?[\d,]+)\)</li>", block)]


def _recorded(page: str) -> str:
    """The leaflet's sentence of what the police recorded, in plain text."""
    found = re.search(r'<p class="recorded">(.*?)</p>', page, re.S)
    assert found is not None
    return " ".join(html.unescape(found.group(1)).split())


MIN = 5
"""HOTSPOT_PARTNER_MIN_INCIDENTS of the test app (the default)."""


def _shown(n: int) -> str:
    """A count as an ad hoc leaflet must print it, by hand: under :data:`MIN` "fewer than 5",
    else about the nearest 5 (under 100) or 10, rounding half up."""
    if n < MIN:
        return f"fewer than {MIN}"
    base = 5 if n < 100 else 10
    return f"about {int(n / base + 0.5) * base:,}"


def _leaning(mix: dict[str, int], audience: str) -> float:
    """The share of a mix in categories the packaged file leans to ``audience`` (by hand)."""
    leans = PreventionAdvice.load().by_category
    total = sum(mix.values())
    return sum(n for k, n in mix.items() if leans.get(k) == audience) / total if total else 0.0


CLASS_AUDIENCE = {"town_centre": "businesses", "rural": "farms and rural businesses",
                  "heritage_site": "heritage site keepers", "urban": "residents"}


def test_a_hotspots_leaflet_counts_what_its_analysis_counts(served: Any) -> None:
    c, keys = served
    table = _table(c)
    labels = {k: cat.label for k, cat in Taxonomy.load().categories.items()}
    seen_classes: set[str] = set()
    for _i, row in table.iterrows():
        r = c.get(f"/hotspots/{row['id']}/leaflet?{QUERY}", headers=keys["rural_team"])
        assert r.status_code == 200, r.text
        page = r.text
        assert "<script" not in page
        mix = dict(row["category_mix"])
        # the total and the main categories (each at least a tenth and at least MIN, the
        # largest always) as the analysis counted them, rounded; no small count printed
        assert (f"recorded {_shown(int(row['incidents']))} crimes and incidents of "
                "anti-social behaviour in this area") in _recorded(page)
        shown = _categories(page)
        largest = next(iter(mix))
        if mix[largest] >= MIN:
            assert shown and shown[0] == (labels[largest], _shown(mix[largest]))
        else:  # no kind under MIN is named, not even the only one
            assert shown == []
        by_label = {labels[k]: n for k, n in mix.items()}
        assert all(_shown(by_label[lab]) == n for lab, n in shown)
        assert all(by_label[lab] >= 0.1 * sum(mix.values()) for lab, _n in shown[1:])
        assert all(by_label[lab] >= MIN for lab, _n in shown)
        assert "counts under 5 are shown as \u201cfewer than 5\u201d" in html.unescape(page)
        assert 4 <= len(_steps(page)) <= 6
        # the audience: the class's, unless more than half of the mix leans to one other
        leaning = {a: _leaning(mix, a) for a in ("residents", "businesses", "farms", "heritage")}
        best = max(leaning, key=lambda a: leaning[a])
        want = CLASS_AUDIENCE[row["context_class"]]
        if leaning[best] > 0.5:
            want = {"residents": "residents", "businesses": "businesses",
                    "farms": "farms and rural businesses",
                    "heritage": "heritage site keepers"}[best]
        assert _kicker(page) == want, (row["id"], mix, row["context_class"])
        seen_classes.add(row["context_class"])
        # named from the layers, never the incidents' location text (an address, in a force's
        # own export)
        for text in row["top_locations"]:
            assert html.escape(str(text)) not in page
        if row["place"]:
            assert html.escape(str(row["place"]), quote=False) in page.replace("&#39;", "'")
    assert seen_classes == {"town_centre", "rural", "heritage_site", "urban"}


RURAL_MONTH = "method=dbscan&from=2024-06&to=2024-06&priority=rural&min_samples=2&eps_m=300"
TWO_WEEKS = ("method=dbscan&from=2024-06-01&to=2024-06-14&category=violence_sexual"
             "&min_samples=2&eps_m=300")
SMALL_KINDS = "method=dbscan&from=2024-04&to=2024-06&min_samples=3&eps_m=300"


@pytest.mark.parametrize(("query", "period", "counted"), [
    (RURAL_MONTH, "In June 2024", "crimes"),
    (TWO_WEEKS, "From 1 to 14 June 2024", "crimes"),
    (SMALL_KINDS, "From April to June 2024", "crimes and incidents of anti-social behaviour"),
])
def test_a_small_hotspots_leaflet_prints_no_small_count(served: Any, query: str, period: str,
                                                        counted: str) -> None:
    # the requests of finding F2 on the test demo: a month's rural crime, two weeks of
    # violence and sexual offences, small clusters of three months, as a field role can shape
    # them; the leaflet leaves the force
    c, keys = served
    labels = {k: cat.label for k, cat in Taxonomy.load().categories.items()}
    r = c.get(f"/v1/hotspots?{query}", headers=keys["rural_team"])
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert features and min(f["properties"]["incidents"] for f in features) < MIN
    left_out = 0
    for feature in features:
        props = feature["properties"]
        mix = {k: int(v) for k, v in props["category_mix"].items()}
        page = c.get(f"/hotspots/{props['id']}/leaflet?{query}", headers=keys["rural_team"]).text
        said = _recorded(page)
        # what was counted and when follow the selection
        assert said.startswith(f"{period} the police recorded {_shown(props['incidents'])} "
                               f"{counted} in this area"), said
        assert not re.search(r"recorded [\d,]+ ", said) and "1 crimes" not in page
        if props["incidents"] < MIN:
            assert f"recorded fewer than {MIN} " in said
        shown = _categories(page)
        assert all(not re.fullmatch(r"[\d,]+", n) for _lab, n in shown)  # never exact
        # a category under MIN is left out, even the only one
        if len(mix) == 1:
            (key, n), = mix.items()
            if n >= MIN:
                assert shown == [(labels[key], _shown(n))]
                assert said.endswith("in this area, all of one kind:"), said
            else:
                assert shown == [] and labels[key] not in page
                assert f"Fewer than {MIN} of one kind, so it is not named here." in page
            continue
        total = sum(mix.values())
        for key, n in list(mix.items())[:3]:
            if n < MIN:
                assert labels[key] not in dict(shown), (props["id"], mix)
                left_out += n >= 0.1 * total  # one the leaflet listed before
        if not shown:
            assert "Of several kinds, none with 5 or more, so none is named here." in page
        assert 4 <= len(_steps(page)) <= 6
    assert left_out or query != SMALL_KINDS


def test_a_leaflet_for_another_audience_and_bad_input(served: Any) -> None:
    c, keys = served
    r = c.get(f"/hotspots/dbscan-001/leaflet?{QUERY}&audience=heritage", headers=keys["analyst"])
    assert r.status_code == 200 and _kicker(r.text) == "heritage site keepers"
    assert "This leaflet is for heritage site keepers, as asked." in r.text
    assert "call 101 and say it is heritage crime" in r.text  # the audience's contact line
    for url, field in ((f"/hotspots/dbscan-001/leaflet?{QUERY}&audience=shops", "audience"),
                       ("/hotspots/dbscan-001/leaflet?method=dbscan&eps_m=-4", "eps_m"),
                       ("/leaflets/towns/Thornbury?audience=x", "audience"),
                       ("/products/2024-13/hotspots/1/leaflet", "period")):
        r = c.get(url, headers=keys["admin"])
        assert r.status_code == 422, (url, r.text)
        assert r.json()["field"] == field, (url, r.json())
    for url, field in ((f"/hotspots/dbscan-999/leaflet?{QUERY}", "hotspot_id"),
                       ("/leaflets/towns/Atlantis", "town"),
                       ("/products/2024-05/hotspots/1/leaflet", None),
                       (f"/products/{PERIOD}/hotspots/999/leaflet", "rank")):
        r = c.get(url, headers=keys["admin"])
        assert r.status_code == 404, (url, r.text)
        if field:
            assert r.json()["field"] == field
    assert "Thornbury" in c.get("/leaflets/towns/Atlantis", headers=keys["admin"]).json()[
        "detail"]  # the towns there are, named


def test_a_towns_leaflet_counts_what_lies_inside_its_built_up_area(served: Any) -> None:
    c, keys = served
    store = c.app.state.store
    listing = c.get("/leaflets", headers=keys["rural_team"])
    assert listing.status_code == 200
    assert 'href="/leaflets/towns/Ashby%20Moor"' in listing.text
    r = c.get("/leaflets/towns/thornbury", headers=keys["rural_team"])  # case ignored
    assert r.status_code == 200, r.text
    page = r.text
    assert "<h1>Thornbury</h1>" in page
    found = re.search(r"From (\w+)(?: (\d{4}))? to (\w+) (\d{4}) the police\s+recorded "
                      r"((?:about |fewer than )[\d,]+)", page)
    assert found is not None, page
    first = _MONTHS.index(found.group(1)) + 1
    last_year = int(found.group(4))
    first_year = int(found.group(2) or last_year)
    last = _MONTHS.index(found.group(3)) + 1
    assert (last_year - first_year) * 12 + last - first + 1 == 12  # twelve whole months
    tz = store.timezone
    start = pd.Timestamp(f"{first_year}-{first:02d}-01").tz_localize(tz)
    end = (pd.Timestamp(f"{last_year}-{last:02d}-01") + pd.offsets.MonthBegin(1)).tz_localize(tz)
    # by hand: Thornbury's town centre and built-up area, every incident of the months
    parts = []
    for kind in (TOWN_CENTRES, BUILT_UP_AREAS):
        frame = store.get_layer(kind).frame
        parts += list(frame.geometry.values[(frame["name"] == "Thornbury").to_numpy()])
    outline = shapely.union_all(parts)
    cols = store.incidents(IncidentFilter(start=int(start.value // 10**9),
                                          end=int(end.value // 10**9)))
    inside = shapely.intersects_xy(outline, cols.x, cols.y)
    assert inside.sum() > 0 and found.group(5) == _shown(int(inside.sum()))
    cats, counts = np.unique(np.asarray(cols.category, dtype=object)[inside],
                             return_counts=True)
    labels = {k: cat.label for k, cat in Taxonomy.load().categories.items()}
    largest = sorted(zip(counts.tolist(), cats.tolist(), strict=True), key=lambda t: (-t[0], t[1]))
    assert _categories(page)[0] == (labels[largest[0][1]], _shown(largest[0][0]))
    # no category under MIN is named (a town has many kinds)
    small = {labels[k] for k, n in zip(cats.tolist(), counts.tolist(), strict=True) if n < MIN}
    assert not small & {lab for lab, _n in _categories(page)}
    # a town is built up: residents, unless most of it leans elsewhere
    mix = dict(zip(cats.tolist(), counts.tolist(), strict=True))
    assert _leaning(mix, "businesses") <= 0.5 and _kicker(page) == "residents"
    assert 4 <= len(_steps(page)) <= 6
    business = c.get("/leaflets/towns/Thornbury?audience=businesses", headers=keys["analyst"])
    assert _kicker(business.text) == "businesses"


def test_partners_get_product_leaflets_only(served: Any) -> None:
    c, keys = served
    partner = keys["partner"]
    for url in (f"/hotspots/dbscan-001/leaflet?{QUERY}", "/leaflets", "/leaflets/towns/Thornbury"):
        assert c.get(url, headers=partner).status_code == 403, url
    for role in ("admin", "analyst", "rural_team", "partner"):
        r = c.get(f"/products/{PERIOD}/hotspots/1/leaflet", headers=keys[role])
        assert r.status_code == 200, (role, r.text)


def test_a_published_hotspots_leaflet_and_the_products_page_leave_the_product_alone(
        served: Any) -> None:
    c, keys = served
    store = c.app.state.store
    record, text = store.product(KIND, PERIOD)
    document = json.loads(text)
    hotspots = document["hotspots"][ALL]
    assert hotspots
    priorities = {k: v.split(":")[0] for k, v in Taxonomy.load().priorities.items()}
    geojson = c.get(f"/v1/hotspots?period={PERIOD}", headers=keys["partner"]).content
    products = c.get("/products", headers=keys["partner"])
    assert products.status_code == 200
    for n, feature in enumerate(hotspots, start=1):
        props = feature["properties"]
        r = c.get(f"/products/{PERIOD}/hotspots/{n}/leaflet", headers=keys["partner"])
        assert r.status_code == 200
        page = r.text
        assert f"recorded {props['incidents']:,} crimes" in page and "In June 2024" in page
        shown = dict(_categories(page))
        mix = props["category_mix"]
        held_only = set(mix) == {"not broken down"}
        if held_only:  # said in one line, no made-up category
            assert not shown and "Not broken down by kind" in page
            assert "not broken down by kind, so the setting decides" in page
        for key, count in mix.items():
            if held_only:
                break
            if key == "not broken down":
                assert shown["Not broken down by priority (held back to protect small "
                            "counts)"] == f"{count:,}"
            elif count >= 0.1 * props["incidents"] or key == next(iter(mix)):
                assert shown[priorities[key]] == f"{count:,}"
        assert 4 <= len(_steps(page)) <= 6
        # the packaged file leans no priority: the class decides
        assert _kicker(page) == CLASS_AUDIENCE[props["context_class"]]
        # the products page shows the same advice and links the leaflet
        assert f'href="/products/{PERIOD}/hotspots/{n}/leaflet"' in products.text
        assert all(step in html.unescape(products.text) for step in _steps(page))
        # nothing but published aggregates: no incident times, no exact places
        assert "dbscan" not in page
    # the advice is added when a page is made, never stored with the product or served in it
    assert store.product(KIND, PERIOD) == (record, text)
    assert b"Printable" not in geojson and b"points" not in geojson
    assert c.get(f"/v1/hotspots?period={PERIOD}", headers=keys["partner"]).content == geojson


def test_a_malformed_advice_file_stops_the_app_naming_the_file_and_line(
        tmp_path: Path) -> None:
    bad = tmp_path / "advice.toml"
    bad.write_text("version = 1\n\n[advice.shoplifting]\nsource = 'Ours'\n"
                   "businesses = 'Join ShopWatch'\n", "utf-8")
    with pytest.raises(InvalidAdvice) as caught:
        create_app(settings_for(tmp_path, prevention_advice_path=bad))
    assert f"{bad}, line 3: [advice.shoplifting]: businesses must be a list" in str(caught.value)
    good = tmp_path / "ours.toml"
    good.write_text("contact = 'Ring Westshire Police on 101.'\n", "utf-8")
    app = create_app(settings_for(tmp_path, prevention_advice_path=good))
    assert app.state.advice.contact == "Ring Westshire Police on 101."
