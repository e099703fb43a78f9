"""The planner's page's default period (issue 14): the last whole month of a store's data, in
every kind of store, and the page opening on the last 6 whole months against the 6 before
while ``GET /v1/hotspots`` keeps its own default (every incident)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.services.hotspots import latest_complete_month
from geodata.demo import demo_months, load_demo
from geodata.ingest import ingest
from geodata.readers import read_force_csv
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for
from tests.conftest import as_role

HEADER = "incident_id,occurred_at,crime_type,easting,northing,location,lsoa_code,outcome\n"


def _rows(*stamps: str) -> str:
    return HEADER + "".join(f"X{t},{t},Shoplifting,462555,470952,High Street,E01990049,\n"
                            for t in stamps)


def test_the_last_whole_month_of_a_store(store, write) -> None:
    assert latest_complete_month(store) is None  # empty
    # data to the middle of June: May is the last whole month
    ingest(store, read_force_csv(write("a.csv", _rows("2024-03-02T10:00:00",
                                                      "2024-06-14T22:00:00"))))
    assert latest_complete_month(store) == "2024-05"
    # one on the evening of 30 June (the month's last day): June counts as whole
    ingest(store, read_force_csv(write("b.csv", _rows("2024-06-30T21:30:00"))))
    assert latest_complete_month(store) == "2024-06"


def test_less_than_a_month_of_data_has_no_whole_month(store, write) -> None:
    ingest(store, read_force_csv(write("c.csv", _rows("2024-03-05T10:00:00",
                                                      "2024-03-09T10:00:00"))))
    assert latest_complete_month(store) is None


def test_the_page_opens_on_the_last_six_months_and_the_api_keeps_every_incident(
        tmp_path: Path, demo_files) -> None:
    store = SQLiteStore.open(tmp_path / "demo.sqlite")
    load_demo(store, demo_files)
    months = demo_months()
    with TestClient(create_app(settings_for(tmp_path), store=store, demo=True)) as client:
        as_role(client, "admin")
        page = client.get("/")
        assert page.status_code == 200
        assert f'name="from" value="{months[-6]}"' in page.text
        assert f'name="to" value="{months[-1]}"' in page.text
        assert "1 Jul \u2013 31 Dec 2024, against 1 Jan \u2013 30 Jun 2024" in page.text
        # a period after the data end: the page says where the data are
        later = client.get("/", params={"from": "2025-03", "to": "2025-04"})
        assert later.status_code == 200
        held = datetime.strptime(months[0], "%Y-%m").strftime("%b %Y")
        assert f"no incidents in the selection \u00b7 the data run from {held} to Dec 2024" in \
            later.text
        # given empty, From and To mean every incident; the API's default is unchanged
        every = client.get("/", params={"from": "", "to": ""})
        assert 'name="from" value=""' in every.text and "Every incident" in every.text
        api = client.get("/v1/hotspots").json()
        assert api["metadata"]["selection"]["from"] is None
        six = client.get("/v1/hotspots", params={"from": months[-6], "to": months[-1]}).json()
        assert six["metadata"]["previous_period"] is True
        assert six["metadata"]["previous_selection"]["from"].startswith("2024-01-01")
        csv = client.get("/v1/hotspots", params={"from": months[-6], "to": months[-1],
                                                 "format": "csv"})
        assert csv.headers["content-disposition"] == \
            'attachment; filename="demo-shire-hotspots-2024-07-to-2024-12.csv"'
