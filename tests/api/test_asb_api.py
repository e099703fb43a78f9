"""GET /v1/asb/persistent through the real app, in both stores: hand-made data.police.uk months
and a force export with exact addresses, the figures against hand counts; CSV and GeoJSON;
bad parameters are 422 naming the field; partners get 403."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pyproj import Transformer

from api.app import create_app
from tests.api.test_api import settings_for
from tests.conftest import STORE_KINDS, as_role, make_store

YORK = (460_000.0, 451_000.0)  # EPSG:27700
_TO_WGS = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
POLICE_HEAD = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
               "LSOA name,Crime type,Last outcome category,Context")

# (metres east of YORK, metres north, month, crime type, location, how many rows)
# A: ASB in all four months (1, 2, 1, 3); B, 100 m east: three months (2, 0, 1, 1); C, 1 km
# east: three months (1, 1, 1, 0); D: one month (4). Around A within 250 m: 11 ASB, 2
# burglaries at A, 1 drugs at B; a shoplifting 300 m east of A (200 m from B). ASB of
# 2023-12 at A is before the months.
POLICE = [
    (0, 0, "2024-01", "Anti-social behaviour", "On or near Market Place", 1),
    (0, 0, "2024-02", "Anti-social behaviour", "On or near Market Place", 2),
    (0, 0, "2024-03", "Anti-social behaviour", "On or near Market Place", 1),
    (0, 0, "2024-04", "Anti-social behaviour", "On or near Market Place", 3),
    (0, 0, "2023-12", "Anti-social behaviour", "On or near Market Place", 5),
    (0, 0, "2024-02", "Burglary", "On or near Market Place", 2),
    (100, 0, "2024-01", "Anti-social behaviour", "On or near Park Lane", 2),
    (100, 0, "2024-03", "Anti-social behaviour", "On or near Park Lane", 1),
    (100, 0, "2024-04", "Anti-social behaviour", "On or near Park Lane", 1),
    (100, 0, "2024-04", "Drugs", "On or near Park Lane", 1),
    (300, 0, "2024-04", "Shoplifting", "On or near Far Street", 1),
    (1000, 0, "2024-01", "Anti-social behaviour", "=On or near Church Street", 1),
    (1000, 0, "2024-02", "Anti-social behaviour", "=On or near Church Street", 1),
    (1000, 0, "2024-03", "Anti-social behaviour", "=On or near Church Street", 1),
    (1000, 500, "2024-02", "Anti-social behaviour", "On or near Mill Road", 4),
]
# a force export 5 km north: "12 Station Road" with 3 m of scatter in three months (one
# address); "14 Station Road" at the same point in two months (another)
FORCE = [
    (0.0, 5000.0, "2024-01-05T21:30:00", "12 Station Road"),
    (3.0, 5000.0, "2024-02-11T22:10:00", "12 Station Road"),
    (1.5, 5002.0, "2024-03-02T23:00:00", "12 Station Road"),
    (0.0, 5000.0, "2024-02-20T20:00:00", "14 Station Road"),
    (0.0, 5000.0, "2024-03-21T19:45:00", "14 Station Road"),
]


def police_csv() -> str:
    lines = [POLICE_HEAD]
    for dx, dy, month, kind, where, times in POLICE:
        lon, lat = _TO_WGS.transform(YORK[0] + dx, YORK[1] + dy)
        crime_id = "" if kind == "Anti-social behaviour" else None
        for k in range(times):
            cid = crime_id if crime_id is not None else f"{kind[:3]}{dx}{dy}{month}{k}"
            lines.append(f"{cid},{month},North Yorkshire Police,North Yorkshire Police,"
                         f"{lon:.6f},{lat:.6f},\"{where}\",E01000001,York 001A,{kind},,")
    return "\n".join(lines) + "\n"


def force_csv() -> str:
    lines = ["incident_id,occurred_at,crime_type,easting,northing,location"]
    for k, (dx, dy, when, where) in enumerate(FORCE):
        lines.append(f"F{k},{when},Anti-social behaviour,{YORK[0] + dx},{YORK[1] + dy},{where}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", params=STORE_KINDS)
def client(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root: Path = tmp_path_factory.mktemp(f"asb-{request.param}")
    store = make_store(request.param, root, request)
    with TestClient(create_app(settings_for(root), store=store)) as c:
        as_role(c, "analyst")
        for name, text in (("police.csv", police_csv()), ("force.csv", force_csv())):
            r = c.post("/v1/incidents", files={"file": (name, text.encode(), "text/csv")})
            assert r.status_code in (200, 201), r.text
        yield c
    store.close()


def test_places_by_hand(client: TestClient) -> None:
    r = client.get("/v1/asb/persistent", params={"months": 4, "min_months": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["end"] == "2024-04"  # the store's latest whole month
    assert body["months"] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert body["parameters"]["min_months"] == 3 and body["parameters"]["radius_m"] == 250
    places = body["places"]
    # C and the address tie on months, incidents and the latest month: the reference
    # ("<x>-<y>", metres) decides, and the address's is the smaller
    assert [p["location"] for p in places] == [
        "On or near Market Place", "On or near Park Lane", "12 Station Road",
        "=On or near Church Street"]
    assert places[2]["place_id"] == "460002-456001"  # the mean of its three positions
    assert [p["months_with_asb"] for p in places] == [4, 3, 3, 3]
    assert [p["asb_incidents"] for p in places] == [7, 4, 3, 3]
    assert [p["kind"] for p in places] == ["map_point", "map_point", "address", "map_point"]
    assert [list(p["history"].values()) for p in places] == [
        [1, 2, 1, 3], [2, 0, 1, 1], [1, 1, 1, 0], [1, 1, 1, 0]]
    assert places[0]["nearby"][0]["rank"] == 2
    assert places[0]["nearby"][0]["distance_m"] == pytest.approx(100, abs=0.5)
    assert places[0]["nearby"][0]["location"] == "On or near Park Lane"
    # around A: 11 ASB, 2 burglaries, 1 drugs (the shoplifting is 300 m away)
    mix = {c["category"]: c["incidents"] for c in places[0]["category_mix"]}
    assert mix == {"asb": 11, "burglary": 2, "drugs": 1}
    assert places[0]["category_mix"][0]["label"] == "Anti-social behaviour"
    # around the address: its own 3 ASB and 14 Station Road's 2
    assert {c["category"]: c["incidents"] for c in places[2]["category_mix"]} == {"asb": 5}
    assert body["persistent"] == 4
    assert body["places_with_asb"] == 6  # A, B, C, D and the two addresses
    assert body["asb_incidents"] == 7 + 4 + 3 + 4 + 3 + 2
    assert "4 places" in body["reading"]
    lon, lat = _TO_WGS.transform(*YORK)
    assert places[0]["lon"] == pytest.approx(lon, abs=1e-5)
    assert places[0]["lat"] == pytest.approx(lat, abs=1e-5)


def test_defaults_and_end(client: TestClient) -> None:
    body = client.get("/v1/asb/persistent").json()
    assert len(body["months"]) == 12 and body["months"][-1] == "2024-04"
    assert body["parameters"]["min_months"] == 6  # half of 12
    assert body["places"] == [] and body["persistent"] == 0
    body = client.get("/v1/asb/persistent",
                      params={"months": 2, "min_months": 2, "end": "2024-02"}).json()
    assert body["months"] == ["2024-01", "2024-02"]
    assert [p["location"] for p in body["places"]] == ["On or near Market Place",
                                                       "12 Station Road",
                                                       "=On or near Church Street"]
    body = client.get("/v1/asb/persistent", params={"months": 4, "min_months": 1,
                                                    "limit": 2}).json()
    assert body["persistent"] == 6 and len(body["places"]) == 2


def test_csv_and_geojson(client: TestClient) -> None:
    r = client.get("/v1/asb/persistent", params={"months": 4, "min_months": 3,
                                                 "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["asb_incidents"] for row in rows] == ["7", "4", "3", "3"]
    assert [row["asb_2024-02"] for row in rows] == ["2", "0", "1", "1"]
    assert rows[3]["location"] == "'=On or near Church Street"  # never a formula
    assert rows[0]["nearby_places"].startswith("#2 On or near Park Lane (")
    assert rows[0]["category_mix"] == ("Anti-social behaviour: 11; Burglary (residential or "
                                       "business not recorded): 2; Drugs: 1")
    r = client.get("/v1/asb/persistent", params={"months": 4, "min_months": 3,
                                                 "format": "geojson"})
    assert r.headers["content-type"].startswith("application/geo+json")
    gj = r.json()
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == 4
    assert gj["features"][0]["geometry"]["type"] == "Point"
    assert "Open Government Licence" in gj["attribution"]
    assert gj["features"][0]["properties"]["history"] == {"2024-01": 1, "2024-02": 2,
                                                         "2024-03": 1, "2024-04": 3}


@pytest.mark.parametrize(("params", "field"), [
    ({"months": 0}, "months"),
    ({"months": 37}, "months"),
    ({"months": "twelve"}, "months"),
    ({"months": 4, "min_months": 5}, "min_months"),
    ({"min_months": 0}, "min_months"),
    ({"radius_m": 0}, "radius_m"),
    ({"radius_m": 2001}, "radius_m"),
    ({"radius_m": "nan"}, "radius_m"),
    ({"end": "2024-13"}, "end"),
    ({"end": "April"}, "end"),
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"format": "xlsx"}, "format"),
])
def test_bad_parameters_are_422_naming_the_field(client: TestClient, params, field) -> None:
    r = client.get("/v1/asb/persistent", params=params)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_roles(client: TestClient) -> None:
    app = client.app
    for role, status in (("partner", 403), ("rural_team", 200), ("admin", 200)):
        with TestClient(app) as other:
            as_role(other, role)
            assert other.get("/v1/asb/persistent").status_code == status, role
            assert other.get("/asb").status_code == status, role
    with TestClient(app) as anonymous:
        assert anonymous.get("/v1/asb/persistent").status_code == 401


def test_the_page(client: TestClient) -> None:
    r = client.get("/asb", params={"months": 4, "min_months": 3})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "Persistent anti-social behaviour" in page
    assert page.count('<tr id="place-') == 4
    assert "On or near Market Place" in page and "12 Station Road" in page
    assert "=On or near Church Street" in page  # text, escaped by the template
    assert "format=csv" in page and "format=geojson" in page
    assert 'aria-label="ASB in 4 of 4 months, Jan 2024 to Apr 2024"' in page
    assert 'href="/asb" aria-current="page"' in page
