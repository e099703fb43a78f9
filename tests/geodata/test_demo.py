"""The demo force area: deterministic, plausible, and loaded through the normal readers."""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geodata.demo import load_demo, write_demo
from geodata.layers import read_layer
from geodata.readers import read_police_csv


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_seed_gives_the_same_files(tmp_path, demo_files):
    again = write_demo(tmp_path / "again", incidents=5_000)
    assert digest(again.force_export) == digest(demo_files.force_export)
    assert digest(again.truth) == digest(demo_files.truth)
    assert [digest(p) for p in again.police_csvs] == [digest(p) for p in demo_files.police_csvs]
    other = write_demo(tmp_path / "other", incidents=5_000, seed=7)
    assert digest(other.force_export) != digest(demo_files.force_export)


def test_the_county_has_what_the_issue_asks_for(demo_files):
    layers = {k: read_layer(k, p) for k, p in demo_files.layers.items()}
    assert len(layers["town_centres"].frame) >= 2
    built = layers["built_up_areas"].frame
    assert (built["kind"] == "village").sum() >= 12
    sites = layers["heritage_sites"].frame
    assert len(sites) >= 10
    assert sites["kind"].isin(["church"]).sum() >= 3 and (sites["kind"] == "castle").sum() == 1
    assert sites["designation"].str.contains("Scheduled monument").sum() >= 4
    bases = layers["patrol_bases"].frame
    assert sorted(bases["team"]) == ["rural_crime_team", "town_centre"]
    lookup = layers["rural_urban_lookup"].frame
    assert lookup["is_rural"].any() and (~lookup["is_rural"]).any()
    boundary = layers["force_boundary"].frame.geometry.iloc[0]
    for kind in ("town_centres", "built_up_areas", "heritage_sites", "patrol_bases"):
        assert boundary.contains(layers[kind].frame.geometry.union_all())
    roads = gpd.read_file(demo_files.roads)
    assert {"speed_kph", "name"} <= set(roads.columns) and len(roads) > 20


def test_incidents_follow_their_kind_in_place_and_time(demo_files):
    export = pd.read_csv(demo_files.force_export)
    assert 4_500 <= len(export) <= 5_000
    when = pd.to_datetime(export["occurred_at"])
    assert when.min() >= pd.Timestamp("2023-01-01") and when.max() < pd.Timestamp("2025-01-01")
    hour = when.dt.hour
    shop = export["crime_type"] == "Shoplifting"
    assert hour[shop].between(9, 17).mean() > 0.7  # shops: by day
    night = export["crime_type"].isin(["Agricultural theft", "Plant and machinery theft",
                                      "Lead theft"])
    assert ((hour[night] >= 22) | (hour[night] < 5)).mean() > 0.7  # farms and churches: at night
    centres = read_layer("town_centres", demo_files.layers["town_centres"]).frame
    inside = shapely.contains_xy(centres.geometry.union_all(), export["easting"], export["northing"])
    assert inside[shop].mean() > 0.5  # shoplifting mostly in the town centres
    hare = export["crime_type"] == "Hare coursing"
    assert when[hare].dt.month.isin([9, 10, 11, 12, 1, 2, 3]).all()


def test_police_uk_files_have_the_real_quirks(demo_files):
    months = [p.name[:7] for p in demo_files.police_csvs]
    assert months[0] == "2023-01" and months[-1] == "2024-12" and len(months) == 24
    frame = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False)
                      for p in demo_files.police_csvs)
    asb = frame["Crime type"] == "Anti-social behaviour"
    assert (frame.loc[asb, "Crime ID"] == "").all() and (frame.loc[~asb, "Crime ID"] != "").all()
    assert (frame.loc[asb, "Last outcome category"] == "").all()
    placed = frame[frame["Longitude"] != ""]
    assert 0 < (frame["Longitude"] == "").mean() < 0.02  # a few crimes without a location
    stacked = placed.groupby(["Longitude", "Latitude"]).size()
    assert stacked.max() >= 10  # snapped to shared map points
    result = read_police_csv(demo_files.police_csvs[5]).read_all()
    assert {r.reason for r in result.rejected} <= {"missing_coordinates"}


def test_planted_hotspots_are_written_as_ground_truth(demo_files):
    truth = json.loads(demo_files.truth.read_text())
    classes = {f["properties"]["context_class"] for f in truth["features"]}
    assert classes == {"town_centre", "urban", "rural", "heritage_site"}
    export = pd.read_csv(demo_files.force_export)
    total = sum(f["properties"]["incidents"] for f in truth["features"])
    assert 0.2 * len(export) < total < 0.5 * len(export)
    for f in truth["features"]:
        p = f["properties"]
        near = np.hypot(export["easting"] - p["x"], export["northing"] - p["y"]) < 2 * p["sd_m"]
        assert near.sum() >= 0.6 * p["incidents"], p["name"]


def test_load_demo_goes_through_the_readers(store, demo_files):
    report = load_demo(store, demo_files)
    assert report.rejected == 0 and report.accepted == store.count()
    assert store.purpose() == "demo"
    assert {i.kind for i in store.list_layers()} == set(demo_files.layers)
    assert report.read["area_check"].startswith("coordinates checked")
