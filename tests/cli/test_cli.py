"""The ``hotspot`` command as a user runs it: a real process, real files, a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench._server import free_port
from geodata.stores.postgis import migration_scripts
from tests.conftest import LAD, NORTH_YORKSHIRE, NORTH_YORKSHIRE_LADS
from tests.waits import line_within

HOTSPOT = str(Path(sys.executable).parent / "hotspot")


def run(tmp_path: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOTSPOT_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    env.pop("HOTSPOT_DATABASE_URL", None)
    env.pop("HOTSPOT_DEMO_DATABASE_URL", None)
    proc = subprocess.run([HOTSPOT, *args], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    if ok:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.real_data
def test_ingest_prints_row_by_row_and_json(tmp_path: Path):
    rejects = tmp_path / "rejects.csv"
    first = run(tmp_path, "ingest", str(NORTH_YORKSHIRE), "--rejects-out", str(rejects),
                "--show", "5")
    text = first.stdout
    assert "line 5290: rejected (missing_coordinates)" in text
    assert "… 34 more rejected rows" in text
    assert "lines 2-5289: accepted" in text
    assert "5,327 rows: 5,288 accepted, 0 skipped as duplicates" in text
    assert "up to 28 on one point" in text
    assert "no force-area check was made" in text
    assert len(rejects.read_text().splitlines()) == 1 + 39
    assert (tmp_path / "data" / "hotspot.sqlite").exists()  # the default store
    again = json.loads(run(tmp_path, "ingest", str(NORTH_YORKSHIRE), "--json").stdout)
    counts = again["files"][0]["counts"]
    assert counts["accepted"] == 0 and counts["duplicates_already_stored"] == 5288
    info = json.loads(run(tmp_path, "info", "--json").stdout)
    assert info["store"]["incidents"] == 5288 and len(info["ingests"]) == 2
    from geodata.stores import SQLiteStore

    store = SQLiteStore.open(tmp_path / "data" / "hotspot.sqlite")
    audited = store.audit_log()
    store.close()
    assert [(e["action"], e["rows"]) for e in audited] == [("ingest", 0), ("ingest", 5288)]
    assert audited[0]["role"].startswith("cli:") and audited[0]["filter"]["format"] == "police.uk"


@pytest.mark.real_data
def test_bad_input_exits_1_with_a_message(tmp_path: Path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = run(tmp_path, "ingest", str(empty), ok=False)
    assert proc.returncode == 1 and "the file is empty" in proc.stderr
    proc = run(tmp_path, "ingest", str(empty), "--json", ok=False)
    assert proc.returncode == 1 and "empty" in json.loads(proc.stdout)["files"][0]["error"]
    proc = run(tmp_path, "ingest", str(tmp_path / "missing.csv"), ok=False)
    assert proc.returncode == 1 and "missing.csv" in proc.stderr
    proc = run(tmp_path, "layers", "add", "built_up_areas", str(LAD), ok=False)
    assert proc.returncode == 1 and "feature 170 ('Norwich') has an invalid geometry" in proc.stderr


@pytest.mark.real_data
def test_layers_add_and_list(tmp_path: Path):
    db = str(tmp_path / "force.sqlite")
    added = json.loads(run(tmp_path, "layers", "add", "force_boundary", str(LAD), "--select",
                           "LAD21CD=" + ",".join(NORTH_YORKSHIRE_LADS), "-d", db,
                           "--json").stdout)
    assert added["dissolved_from"] == 8
    listed = json.loads(run(tmp_path, "layers", "list", "-d", db, "--json").stdout)
    assert [x["kind"] for x in listed["layers"]] == ["force_boundary"]
    report = json.loads(run(tmp_path, "ingest", str(NORTH_YORKSHIRE), "-d", db,
                            "--area-buffer-m", "1000", "--json").stdout)["files"][0]
    assert report["rejected_by_reason"] == {"missing_coordinates": 39, "outside_force_area": 4}


def test_demo_lives_in_its_own_store(tmp_path: Path):
    built = json.loads(run(tmp_path, "demo", "--incidents", "2000", "--json").stdout)
    assert built["database"].endswith("demo.sqlite")
    assert built["report"]["counts"]["accepted"] > 1500
    police_file = built["files"]["police_csvs"][0]
    proc = run(tmp_path, "ingest", police_file, "-d", built["database"], ok=False)
    assert proc.returncode == 1 and "holds the demo force area" in proc.stderr
    proc = run(tmp_path, "demo", "--incidents", "2000", ok=False)
    assert proc.returncode == 1 and "already holds the demo" in proc.stderr
    # the demo's data.police.uk-style files load into a force store like real ones
    force = json.loads(run(tmp_path, "ingest", police_file, "--json").stdout)["files"][0]
    assert force["format"] == "police.uk" and force["counts"]["accepted"] > 0


def _get(url: str | urllib.request.Request) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()


@pytest.mark.slow
def test_serve_demo_builds_on_first_start_and_serves(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "HOTSPOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("HOTSPOT_DEMO_DATABASE_URL", None)
    proc = subprocess.Popen([HOTSPOT, "serve", "--demo", "--port", str(port), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.time() < deadline, "the server did not come up"
                time.sleep(0.3)
        health = json.loads(body)
        assert status == 200 and health["demo"] is True
        assert "incidents" not in health["store"]  # counts for staff only
        serving = json.loads(line_within(proc.stdout, "serving line"))["serving"] \
            if proc.stdout else {}
        status, body = _get(urllib.request.Request(
            f"http://127.0.0.1:{port}/health",
            headers={"Authorization": f"Bearer {serving['keys']['analyst']}"}))
        health = json.loads(body)
        assert health["store"]["incidents"] > 45_000
        assert len(health["store"]["layers"]) == 7  # with the roads
        status, page = _get(f"http://127.0.0.1:{port}/docs")
        assert status == 200 and b"/static/docs/swagger-ui-bundle.js" in page
        status, js = _get(f"http://127.0.0.1:{port}/static/docs/swagger-ui-bundle.js")
        assert status == 200 and len(js) > 100_000
        assert serving["login"] == f"http://127.0.0.1:{port}/login"
        assert set(serving["keys"]) == {"admin", "analyst", "rural_team", "partner"}
        kept = tmp_path / "data" / "demo-keys.json"
        assert json.loads(kept.read_text()) == serving["keys"]
        assert kept.stat().st_mode & 0o777 == 0o600
        url = f"http://127.0.0.1:{port}/v1/incidents?limit=5&priority=rural"
        with pytest.raises(urllib.error.HTTPError) as anonymous:
            _get(url)
        assert anonymous.value.code == 401
        anonymous.value.close()
        request = urllib.request.Request(
            url, headers={"Authorization": f"Bearer {serving['keys']['analyst']}"})
        status, body = _get(request)
        assert status == 200 and len(json.loads(body)["features"]) == 5
        assert (tmp_path / "data" / "demo-files" / "force-export.csv").exists()
        # the demo's months are published: the partner key reads the latest
        partner = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/hotspots",
            headers={"Authorization": f"Bearer {serving['keys']['partner']}"})
        status, body = _get(partner)
        product = json.loads(body)
        assert status == 200 and product["metadata"]["product"]["period"] == "2024-12"
        assert product["features"] and product["features"][0]["properties"]["incidents"] >= 5
        # the partnership's submissions, sent with the partner key (it reads its own)
        with (tmp_path / "data" / "demo-files" / "business-reports.csv").open() as f:
            sent = len(f.read().splitlines()) - 1
        status, body = _get(urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/business-reports",
            headers={"Authorization": f"Bearer {serving['keys']['partner']}"}))
        assert status == 200 and json.loads(body)["count"] == sent == 48
        # a published plan of the demo's last month, with visits logged at most stops
        analyst = {"Authorization": f"Bearer {serving['keys']['analyst']}"}
        status, body = _get(urllib.request.Request(f"http://127.0.0.1:{port}/v1/patrol-plans",
                                                   headers=analyst))
        plans = json.loads(body)
        assert len(plans) == 1 and plans[0]["published"]
        assert plans[0]["shift_start"].startswith("2024-12-13T16:00")
        status, body = _get(urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/patrol-plans/{plans[0]['plan_id']}/visits",
            headers=analyst))
        done = json.loads(body)
        assert 0 < done["stops_visited"] < done["stops_planned"]
        totals = done["dosage"]["totals"]
        assert totals["visits_made"] == len(done["visits"]) and totals["minutes_on_site"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


@pytest.mark.real_data
def test_a_folder_of_monthly_files_and_a_bad_file_among_them(tmp_path: Path):
    import shutil

    from tests.conftest import LINCOLNSHIRE

    folder = tmp_path / "download"
    for src in (NORTH_YORKSHIRE, LINCOLNSHIRE):
        month = folder / src.name[:7]
        month.mkdir(parents=True)
        shutil.copy(src, month / src.name)
    (folder / "2019-01" / "2019-01-north-yorkshire-outcomes.csv").write_text("Crime ID,Month\n")
    bad = tmp_path / "broken.csv"
    bad.write_text("not,a,police,file\n1,2,3,4\n")
    proc = run(tmp_path, "ingest", str(bad), str(folder), "--json", ok=False)
    assert proc.returncode == 1
    files = json.loads(proc.stdout)["files"]
    assert "give a column mapping" in files[0]["error"]
    assert [f["counts"]["accepted"] for f in files[1:3]] == [5288, 5671]
    # the folder's outcomes file is loaded after its street files, and this one is refused
    assert "not a data.police.uk outcomes CSV: the header lacks Outcome type" in files[3]["error"]
    assert len(files) == 4


def test_analyse_writes_rfc7946_geojson_and_a_summary(tmp_path: Path):
    built = json.loads(run(tmp_path, "demo", "--incidents", "5000", "--json").stdout)
    db = built["database"]
    out_file = tmp_path / "hotspots.geojson"
    summary = json.loads(run(tmp_path, "analyse", "-d", db, "--method", "dbscan", "--priority",
                             "rural", "--from", "2023-01", "--to", "2024-12", "--out",
                             str(out_file), "--json").stdout)
    assert summary["method"] == "dbscan" and summary["summary"]["hotspots"] >= 5
    assert summary["selection"]["priority"] == "rural"
    fc = json.loads(out_file.read_text())
    assert fc["type"] == "FeatureCollection" and "crs" not in fc
    assert fc["metadata"]["data_version"] == summary["data_version"]
    assert fc["metadata"]["parameters"]["eps_m"] == 150.0
    assert "Open Government Licence" in fc["metadata"]["attribution"]
    props = fc["features"][0]["properties"]
    for column in ("id", "rank", "score", "context_class", "team", "incidents", "area_m2",
                   "density_per_km2", "category_mix", "first_date", "last_date", "profile",
                   "peak_hours", "trend", "previous_incidents", "place", "heritage_sites",
                   "centroid_lon", "centroid_lat", "share_rural"):
        assert column in props, column
    # a period was given, but the store holds nothing in the two years before it
    assert props["previous_incidents"] is None and props["trend"] == "unknown"
    text = run(tmp_path, "analyse", "-d", db, "--method", "kde", "--bandwidth-m", "150",
               "--category", "shoplifting").stdout
    assert "KDE on" in text and "town_centre" in text and "PAI" in text
    proc = run(tmp_path, "analyse", "-d", db, "--method", "dbscan", "--bandwidth-m", "100",
               ok=False)
    assert proc.returncode == 1 and "bandwidth_m is a parameter of kde, not of dbscan" in proc.stderr
    proc = run(tmp_path, "analyse", "-d", db, "--priority", "parking", ok=False)
    assert proc.returncode == 1 and "unknown priority 'parking'" in proc.stderr
    proc = run(tmp_path, "analyse", "-d", db, "--method", "dbscan", "--eps-m", "0", ok=False)
    assert proc.returncode == 1 and "eps_m must be from 5 to 50,000 m" in proc.stderr
    proc = run(tmp_path, "analyse", "-d", db, "--from", "March", ok=False)
    assert proc.returncode == 2 and "--from must be YYYY-MM" in proc.stderr


@pytest.mark.real_data
def test_db_upgrade_and_ingest_into_postgis(tmp_path: Path, postgres_url: str):
    url = f"{postgres_url}?schema=cli_store"
    first = json.loads(run(tmp_path, "db", "upgrade", "--database", url, "--json").stdout)
    again = json.loads(run(tmp_path, "db", "upgrade", "--database", url, "--json").stdout)
    assert [m["version"] for m in first["migrations"]] == [v for v, _n, _r in migration_scripts()]
    assert again["migrations"] == first["migrations"]  # applied once, recorded once
    report = json.loads(run(tmp_path, "ingest", str(NORTH_YORKSHIRE), "--database", url,
                            "--json").stdout)["files"][0]
    assert report["counts"]["accepted"] == 5288
    info = json.loads(run(tmp_path, "info", "--database", url, "--json").stdout)
    assert info["store"]["kind"] == "postgis" and info["store"]["incidents"] == 5288
    down = run(tmp_path, "info", "--database", "postgresql://postgres@127.0.0.1:9/x", ok=False)
    assert down.returncode != 0 and "database" in (down.stderr + down.stdout)


def test_serve_speaks_https_with_a_certificate(tmp_path: Path):
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    port = free_port()
    env = {**os.environ, "HOTSPOT_DATA_DIR": str(tmp_path / "data"),
           "HOTSPOT_TLS_CERTFILE": str(cert), "HOTSPOT_TLS_KEYFILE": str(key)}
    env.pop("HOTSPOT_DATABASE_URL", None)
    trust = ssl.create_default_context(cafile=str(cert))
    with subprocess.Popen([HOTSPOT, "serve", "--port", str(port), "--database",
                           str(tmp_path / "force.sqlite"), "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            first = json.loads(line_within(proc.stdout, "serving line")) if proc.stdout else {}
            assert first["serving"]["url"] == f"https://127.0.0.1:{port}/"
            deadline = time.time() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"https://127.0.0.1:{port}/health", timeout=5,
                                                context=trust) as r:
                        assert r.status == 200
                        break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    assert time.time() < deadline, "the server did not come up"
                    time.sleep(0.3)
        finally:
            proc.terminate()
            proc.wait(10)
    env.pop("HOTSPOT_TLS_KEYFILE")
    half = subprocess.run([HOTSPOT, "serve", "--port", str(port), "--database",
                           str(tmp_path / "force.sqlite"), "--json"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert half.returncode == 1
    assert "HOTSPOT_TLS_KEYFILE" in json.loads(half.stdout)["error"]


def test_keys_are_made_listed_and_revoked(tmp_path: Path):
    db = str(tmp_path / "force.sqlite")
    made = json.loads(run(tmp_path, "keys", "create", "--name", "PC Smith", "--role",
                          "rural_team", "--database", db, "--json").stdout)
    assert made["key"].startswith(f"hsk_{made['key_id']}_") and made["role"] == "rural_team"
    listed = json.loads(run(tmp_path, "keys", "list", "--database", db, "--json").stdout)
    assert [k["key_id"] for k in listed["keys"]] == [made["key_id"]]
    assert "key" not in listed["keys"][0]
    run(tmp_path, "keys", "revoke", made["key_id"], "--database", db, "--json")
    again = run(tmp_path, "keys", "revoke", made["key_id"], "--database", db, "--json", ok=False)
    assert again.returncode == 1 and "no live key" in json.loads(again.stdout)["error"]
    bad = run(tmp_path, "keys", "create", "--name", "x", "--role", "root", "--database", db,
              "--json", ok=False)
    assert bad.returncode == 1 and "role must be one of" in json.loads(bad.stdout)["error"]


def test_publish_and_list_products(tmp_path: Path):
    db = str(tmp_path / "demo.sqlite")
    run(tmp_path, "demo", "--database", db, "--incidents", "5000", "--json")
    assert "No products published yet" in run(tmp_path, "products", "-d", db).stdout
    first = run(tmp_path, "publish", "2024-06", "-d", db).stdout
    assert first.startswith("Published 2024-06: ") and "/v1/hotspots?period=2024-06" in first
    again = run(tmp_path, "publish", "2024-06", "-d", db, ok=False)
    assert again.returncode == 1 and "already published" in again.stderr
    quarter = run(tmp_path, "publish", "2024-Q2", "-d", db, "--json", ok=False)
    assert "overlaps the published partner product for 2024-06" in json.loads(
        quarter.stdout)["error"]
    bad = run(tmp_path, "publish", "June", "-d", db, ok=False)
    assert bad.returncode == 1 and "YYYY-MM" in bad.stderr
    listed = json.loads(run(tmp_path, "products", "-d", db, "--json").stdout)["products"]
    assert [p["period"] for p in listed] == ["2024-06"] and listed[0]["summary"]["squares"] > 0


def test_an_out_file_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    """``--out`` naming a folder is refused with a message and exit status 1, never a
    traceback with the machine's paths."""
    built = json.loads(run(tmp_path, "demo", "--incidents", "2000", "--json").stdout)
    refused = run(tmp_path, "analyse", "-d", built["database"], "--method", "dbscan",
                  "--out", str(tmp_path), ok=False)
    assert refused.returncode == 1
    assert "error:" in refused.stderr + refused.stdout


def test_serve_refuses_a_malformed_advice_file_naming_it_and_the_line(tmp_path: Path):
    advice = tmp_path / "advice.toml"
    advice.write_text("[advice.shoplifting]\nbusinesses = 3\n", "utf-8")
    env = {**os.environ, "HOTSPOT_DATA_DIR": str(tmp_path / "data"),
           "HOTSPOT_PREVENTION_ADVICE_PATH": str(advice), "COLUMNS": "400"}
    env.pop("HOTSPOT_DATABASE_URL", None)
    proc = subprocess.run([HOTSPOT, "serve", "--port", str(free_port()), "--database",
                           str(tmp_path / "force.sqlite")], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{advice}, line 1: [advice.shoplifting] needs a source" in proc.stderr
    assert "serving" not in proc.stdout.lower()


def test_serving_the_demo_says_how_each_role_gets_in(tmp_path: Path, capsys) -> None:
    """What `make run` prints: the admin's key to sign in, the analyst's curl, the partner's
    products, and the Rural Crime Team tablet's key with what a real tablet needs."""
    from api.cli.serve import _say_serving
    from tests.api.test_api import settings_for

    keys = {"admin": "hsk_admin1", "analyst": "hsk_analyst1", "partner": "hsk_partner1",
            "rural_team": "hsk_rural1"}
    info = {"url": "http://127.0.0.1:8000/", "docs": "http://127.0.0.1:8000/docs",
            "incidents": 5000, "login": "http://127.0.0.1:8000/login", "products": 2,
            "keys": keys}
    _say_serving(info, None, settings_for(tmp_path), "demo.sqlite", True)  # type: ignore[arg-type]
    said = " ".join(capsys.readouterr().out.split())
    assert "hsk_admin1" in said and "Bearer hsk_analyst1" in said and "hsk_partner1" in said
    assert "Rural Crime Team tablet signs in with hsk_rural1" in said
    assert "HOTSPOT_PUBLIC_URL" in said


def test_a_place_name_in_the_analysis_list_is_whole_or_visibly_cut() -> None:
    """`hotspot analyse` lists places a line each: a name up to 42 characters is whole (the
    demo's "Farm/Agricultural Area, near Saxby Carr" was cut to "... near Sax" at 32), a
    longer one ends in an ellipsis, and every name takes the same 42 columns."""
    from api.cli.analysis import _cell

    name = "#150 Farm/Agricultural Area, near Saxby Carr"[:42]
    assert _cell(name, 42) == name
    assert _cell("Farm/Agricultural Area, near Saxby Carr", 42).rstrip() == \
        "Farm/Agricultural Area, near Saxby Carr"
    long = _cell("Farm/Agricultural Area, near Great Snoring and Little Snoring", 42)
    assert len(long) == 42 and long.endswith("\u2026") and long.startswith("Farm/Agri")
    assert len(_cell("", 42)) == 42
