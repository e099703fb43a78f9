"""Persistent ASB places (hotspot.persistent) against hand counts on tiny hand-made inputs."""

from __future__ import annotations

import numpy as np
import pytest

from hotspot.errors import InvalidParameter, InvalidPoints
from hotspot.persistent import COLUMNS, persistent_places

MONTHS = ["2024-01", "2024-02", "2024-03", "2024-04"]


def _rows(spec):
    """(x, y, month, category, location) lists from (x, y, month, category, text, times)."""
    out: list[list] = [[], [], [], [], []]
    for x, y, month, category, text, times in spec:
        for _ in range(times):
            for column, value in zip(out, (x, y, month, category, text), strict=True):
                column.append(value)
    return out


# A: a map point with ASB in all four months (1, 2, 1, 3 = 7); B, 100 m east of A, ASB in
# three months (2, 0, 1, 1 = 4); C, 1 km away, ASB in 3 months (1, 1, 1, 0 = 3): B and C tie
# on months, B has more; D, ASB in one month only (not persistent with min_months=3).
# Around A (250 m): A's 7 + B's 4 ASB, 2 burglaries at A, 1 drugs at B, a shoplifting 300 m
# away (outside), and ASB of 2023-12 at A (outside the months).
SPEC = [
    (1000.0, 1000.0, "2024-01", "asb", "On or near Market Place", 1),
    (1000.0, 1000.0, "2024-02", "asb", "On or near Market Place", 2),
    (1000.0, 1000.0, "2024-03", "asb", "On or near Market Place", 1),
    (1000.0, 1000.0, "2024-04", "asb", "On or near Market Place", 3),
    (1000.0, 1000.0, "2023-12", "asb", "On or near Market Place", 5),
    (1000.0, 1000.0, "2024-02", "burglary", "On or near Market Place", 2),
    (1100.0, 1000.0, "2024-01", "asb", "On or near Park Lane", 2),
    (1100.0, 1000.0, "2024-03", "asb", "On or near Park Lane", 1),
    (1100.0, 1000.0, "2024-04", "asb", "On or near Park Lane", 1),
    (1100.0, 1000.0, "2024-04", "drugs", "On or near Park Lane", 1),
    (1300.0, 1000.0, "2024-04", "shoplifting", "On or near Far Street", 1),
    (2000.0, 1000.0, "2024-01", "asb", "On or near Church Street", 1),
    (2000.0, 1000.0, "2024-02", "asb", "On or near Church Street", 1),
    (2000.0, 1000.0, "2024-03", "asb", "On or near Church Street", 1),
    (2000.0, 1500.0, "2024-02", "asb", "On or near Mill Road", 4),
]


def test_ranked_by_persistence_then_volume_with_history() -> None:
    x, y, month, category, text = _rows(SPEC)
    r = persistent_places(x, y, month, category, text, months=MONTHS, min_months=3,
                          radius_m=250)
    p = r.places
    assert list(p.columns) == list(COLUMNS)
    assert p["place_id"].tolist() == ["1000-1000", "1100-1000", "2000-1000"]
    assert p["rank"].tolist() == [1, 2, 3]
    assert p["location"].tolist() == ["On or near Market Place", "On or near Park Lane",
                                      "On or near Church Street"]
    assert p["months_with_asb"].tolist() == [4, 3, 3]
    assert p["asb_incidents"].tolist() == [7, 4, 3]
    assert p["history"].tolist() == [[1, 2, 1, 3], [2, 0, 1, 1], [1, 1, 1, 0]]
    assert p["first_month"].tolist() == ["2024-01", "2024-01", "2024-01"]
    assert p["last_month"].tolist() == ["2024-04", "2024-04", "2024-03"]
    assert p["longest_run"].tolist() == [4, 2, 3]
    assert set(p["kind"]) == {"map_point"}
    assert r.places_with_asb == 4  # A, B, C, D
    assert r.asb_incidents == 7 + 4 + 3 + 4  # 2023-12 left out
    assert r.months == tuple(MONTHS)


def test_nearby_and_category_mix_by_hand() -> None:
    x, y, month, category, text = _rows(SPEC)
    p = persistent_places(x, y, month, category, text, months=MONTHS, min_months=3,
                          radius_m=250).places
    # A and B are 100 m apart; C is 900 m from B
    assert p["nearby"][0] == [{"place_id": "1100-1000", "rank": 2, "distance_m": 100.0,
                                 "location": "On or near Park Lane"}]
    assert p["nearby"][1] == [{"place_id": "1000-1000", "rank": 1, "distance_m": 100.0,
                               "location": "On or near Market Place"}]
    assert p["nearby"][2] == []
    # around A: 7 + 4 ASB, 2 burglary, 1 drugs; the shoplifting is 300 m away
    assert p["category_mix"][0] == {"asb": 11, "burglary": 2, "drugs": 1}
    assert p["incidents_nearby"][0] == 14
    # around B (250 m): A and B's, and the shoplifting 200 m away
    assert p["category_mix"][1] == {"asb": 11, "burglary": 2, "drugs": 1, "shoplifting": 1}
    # around C: its 3 ASB only (Mill Road is 500 m away)
    assert p["category_mix"][2] == {"asb": 3}


def test_min_months_and_radius() -> None:
    x, y, month, category, text = _rows(SPEC)
    r = persistent_places(x, y, month, category, text, months=MONTHS, min_months=4)
    assert r.places["place_id"].tolist() == ["1000-1000"]
    r = persistent_places(x, y, month, category, text, months=MONTHS, min_months=1,
                          radius_m=50)
    assert r.places["place_id"].tolist() == ["1000-1000", "1100-1000", "2000-1000",
                                             "2000-1500"]
    assert r.places["nearby"].tolist() == [[], [], [], []]
    assert r.places["category_mix"][3] == {"asb": 4}
    # the last months only: A (2, 1, 3), B (0, 1, 1) and C (1, 1, 0) over Feb to Apr; B and
    # C tie on months and volume, B's ASB is the more recent
    r = persistent_places(x, y, month, category, text, months=MONTHS[1:], min_months=2)
    assert r.places["history"].tolist() == [[2, 1, 3], [0, 1, 1], [1, 1, 0]]
    assert r.places["place_id"].tolist() == ["1000-1000", "1100-1000", "2000-1000"]


def test_limit_describes_the_best_only() -> None:
    x, y, month, category, text = _rows(SPEC)
    r = persistent_places(x, y, month, category, text, months=MONTHS, min_months=1, limit=1)
    assert r.persistent == 4 and r.places["place_id"].tolist() == ["1000-1000"]
    # its nearby places are found among all four
    assert r.places["nearby"][0] == [{"place_id": "1100-1000", "rank": 2, "distance_m": 100.0,
                                 "location": "On or near Park Lane"}]
    assert r.places["category_mix"][0] == {"asb": 11, "burglary": 2, "drugs": 1}
    full = persistent_places(x, y, month, category, text, months=MONTHS, min_months=1)
    assert full.persistent == 4 and len(full.places) == 4


def test_map_points_to_the_metre() -> None:
    # 0.3 m apart: the same map point; 1.2 m apart: another
    x = [10.0, 10.3, 11.2, 10.0]
    y = [20.0, 20.0, 20.0, 20.0]
    month = ["2024-01", "2024-02", "2024-03", "2024-03"]
    r = persistent_places(x, y, month, ["asb"] * 4, months=MONTHS, min_months=1)
    assert r.places["place_id"].tolist() == ["10-20", "11-20"]
    assert r.places["history"].tolist() == [[1, 1, 1, 0], [0, 0, 1, 0]]


def test_exact_addresses_by_text_and_position() -> None:
    # "1 High St" geocoded with 3 m of scatter: one address; "2 High St" at the same point:
    # another; "1 High St" again 400 m away: another
    x = [0.0, 3.0, 5.5, 0.0, 400.0, 0.0]
    y = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    text = ["1 High St", "1 High St", "1 High St", "2 High St", "1 High St", "1 High St"]
    month = ["2024-01", "2024-02", "2024-03", "2024-03", "2024-03", "2024-04"]
    r = persistent_places(x, y, month, ["asb"] * 6, text, months=MONTHS, min_months=1,
                          exact_address=[True] * 6, address_m=5)
    p = r.places
    assert p["location"].tolist() == ["1 High St", "2 High St", "1 High St"]
    assert p["history"].tolist() == [[1, 1, 1, 1], [0, 0, 1, 0], [0, 0, 1, 0]]
    assert p["kind"].tolist() == ["address"] * 3
    # the chain 0 - 3 - 5.5 is one place at the mean of its four positions
    assert p["x"][0] == pytest.approx((0 + 3 + 5.5 + 0) / 4)
    # 2 High St sits on the same rounded point as 1 High St would: ids stay distinct
    assert len(set(p["place_id"])) == 3
    assert p["place_id"].tolist()[2] == "400-0"


def test_no_persistent_place_and_no_asb() -> None:
    r = persistent_places([0.0], [0.0], ["2024-01"], ["burglary"], months=MONTHS, min_months=1)
    assert r.places.empty and list(r.places.columns) == list(COLUMNS)
    assert (r.places_with_asb, r.asb_incidents) == (0, 0)
    r = persistent_places([0.0], [0.0], ["2024-01"], ["asb"], months=MONTHS, min_months=2)
    assert r.places.empty and r.places_with_asb == 1
    r = persistent_places(np.empty(0), np.empty(0), [], [], months=MONTHS, min_months=1)
    assert r.places.empty


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"months": []}, "months"),
    ({"months": ["2024-01", "2024-01"]}, "months"),
    ({"months": MONTHS, "min_months": 0}, "min_months"),
    ({"months": MONTHS, "min_months": 5}, "min_months"),
    ({"months": MONTHS, "min_months": 2.5}, "min_months"),
    ({"months": MONTHS, "radius_m": 0}, "radius_m"),
    ({"months": MONTHS, "radius_m": float("nan")}, "radius_m"),
    ({"months": MONTHS, "address_m": -1}, "address_m"),
    ({"months": MONTHS, "limit": 0}, "limit"),
])
def test_bad_parameters_name_the_field(kwargs, field) -> None:
    kwargs = {"min_months": 1, **kwargs}
    with pytest.raises(InvalidParameter) as err:
        persistent_places([0.0], [0.0], ["2024-01"], ["asb"], **kwargs)
    assert err.value.parameter == field


def test_bad_points() -> None:
    with pytest.raises(InvalidPoints):
        persistent_places([0.0, 1.0], [0.0], ["2024-01"], ["asb"], months=MONTHS, min_months=1)
    with pytest.raises(InvalidPoints):
        persistent_places([np.nan], [0.0], ["2024-01"], ["asb"], months=MONTHS, min_months=1)
