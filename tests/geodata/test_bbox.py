"""Longitude/latitude boxes of any size select exactly the incidents whose longitude/latitude lie
in them, in every store: whole-world boxes, boxes partly or wholly beyond the force CRS's area
of use (where Transverse Mercator bounds come out wrong), and boxes on its edges."""

from __future__ import annotations

import numpy as np
import pytest

from geodata.coords import WGS84, lonlat_bounds_in, transform
from geodata.ingest import ingest
from geodata.readers import read_force_csv
from geodata.schema import IncidentFilter

BOXES = [
    (-180.0, -90.0, 180.0, 90.0),  # the whole world
    (-180.0, -89.9, 180.0, 90.0),
    (-180.0, -90.0, 180.0, 54.1),  # everything south of a parallel
    (-1.1, -90.0, 180.0, 90.0),  # everything east of a meridian
    (-20.0, 40.0, 10.0, 70.0),  # around Great Britain, beyond its grid's area of use
    (-9.01, 49.75, 2.01, 61.01),  # exactly that area of use
    (-179.0, 50.0, -1.05, 89.0),
    (10.0, 10.0, 11.0, 11.0),  # outside it altogether
    (-180.0, -90.0, -100.0, 90.0),
    (-10.0, -60.0, 2.0, -10.0),
    (3.0, 49.0, 179.0, 62.0),  # beside it, to the east
    (-1.06, 54.12, -1.02, 54.14),  # a small box inside
]


@pytest.mark.parametrize("box", BOXES)
def test_a_lonlat_box_selects_exactly_the_incidents_in_it(store, demo_files, box) -> None:
    if store.count() == 0:
        ingest(store, read_force_csv(demo_files.force_export))
    truth = read_force_csv(demo_files.force_export).read_all().incidents.columns
    lon, lat = truth["lon"], truth["lat"]
    w, s, e, n = box
    expected = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
    flt = IncidentFilter(lonlat_bbox=box)
    assert len(store.incidents(flt)) == int(expected.sum())
    assert store.incident_records(flt, limit=1).total == int(expected.sum())
    if box[:2] == (-180.0, -90.0) and box[2:] == (180.0, 90.0):
        assert int(expected.sum()) == store.count() > 0


def test_the_box_in_the_force_crs_holds_every_point_of_the_lonlat_box() -> None:
    rng = np.random.default_rng(7)
    for box in BOXES:
        found = lonlat_bounds_in(box, "EPSG:27700")
        w, s, e, n = box
        if max(w, -9.01) > min(e, 2.01) or max(s, 49.75) > min(n, 61.01):
            assert found is None, box  # no part of the box is in the grid's area of use
            continue
        assert found is not None
        lon = rng.uniform(max(w, -9.01), min(e, 2.01), 2000)
        lat = rng.uniform(max(s, 49.75), min(n, 61.01), 2000)
        lon[:4], lat[:4] = [max(w, -9.01), min(e, 2.01)] * 2, [max(s, 49.75)] * 2 + [min(n, 61.01)] * 2
        x, y, _ = transform(lon, lat, WGS84, "EPSG:27700")
        minx, miny, maxx, maxy = found
        assert ((x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy)).all(), box
    gb = lonlat_bounds_in((-180.0, -90.0, 180.0, 90.0), "EPSG:27700")
    assert gb is not None and gb[0] < 0 and gb[2] > 650_000 and gb[1] < 0 and gb[3] > 1_200_000
