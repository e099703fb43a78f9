"""Patrol planning: the routing solver against exhaustive search, peak hours, the plans."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box

from hotspot.errors import InvalidParameter
from hotspot.patrol import (
    Base,
    PlanOptions,
    Shift,
    peak_slots,
    plan_patrols,
    shift_windows,
    solve_prize_routing,
)
from hotspot.travel import RoadNetwork, StraightLine

TZ = ZoneInfo("Europe/London")
CRS = "EPSG:27700"


# --- the solver against exhaustive search ---------------------------------------------------


def _start_in(windows: list[tuple[float, float]], arrival: float) -> float | None:
    for a, b in sorted(windows):
        if arrival <= b:
            return max(arrival, a)
    return None


def _feasible(seq: tuple[int, ...], times: np.ndarray, service: list[float],
              windows: list[list[tuple[float, float]]], horizon: float) -> bool:
    """A route from node 0 over ``seq`` and back, starting at 0, waiting where a window has
    not opened yet (earliest start is optimal for a fixed order)."""
    t, prev = 0.0, 0
    for j in seq:
        start = _start_in(windows[j], t + service[prev] + times[prev, j])
        if start is None:
            return False
        t, prev = start, j
    return t + service[prev] + times[prev, 0] <= horizon


def _optimum(times: np.ndarray, service: list[float], windows: list[list[tuple[float, float]]],
             prizes: list[float], vehicles: int, horizon: float) -> float:
    n = len(times)
    ok: dict[frozenset[int], bool] = {}
    for r in range(n):
        for subset in itertools.combinations(range(1, n), r):
            ok[frozenset(subset)] = any(_feasible(p, times, service, windows, horizon)
                                        for p in itertools.permutations(subset))
    feasible_sets = [s for s, good in ok.items() if good]
    best = 0.0
    for combo in itertools.product(feasible_sets, repeat=vehicles):
        union: set[int] = set()
        disjoint = True
        for s in combo:
            if union & s:
                disjoint = False
                break
            union |= s
        if disjoint:
            best = max(best, sum(prizes[i] for i in union))
    return best


def _instance(rng: np.random.Generator, n: int) -> tuple:
    xy = rng.uniform(0, 10_000, (n, 2))
    times = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) / 10.0  # 10 m/s
    times = np.ceil(times)
    horizon = float(rng.uniform(1800, 4000))
    service = [0.0] + [600.0] * (n - 1)
    windows: list[list[tuple[float, float]]] = [[(0.0, horizon)]]
    for _ in range(n - 1):
        if rng.random() < 0.3:
            windows.append([(0.0, horizon)])
        else:
            a = float(rng.integers(0, int(horizon * 0.6)))
            w = [(a, a + float(rng.integers(200, 1500)))]
            if rng.random() < 0.3:
                b = w[0][1] + float(rng.integers(300, 900))
                w.append((b, b + 600.0))
            windows.append(w)
    prizes = [0.0] + [float(rng.integers(1, 20)) for _ in range(n - 1)]
    return times, service, windows, prizes, horizon


@pytest.mark.parametrize("seed", range(12))
def test_solver_matches_exhaustive_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vehicles = 1 if seed % 2 == 0 else 2
    n = 7 if vehicles == 1 else 6
    times, service, windows, prizes, horizon = _instance(rng, n)
    routes = solve_prize_routing(times, service, windows, prizes, [0] * vehicles, horizon,
                                 time_limit_s=0.4)
    got = 0.0
    seen: set[int] = set()
    for route in routes:
        seq = tuple(node for node, _start in route)
        assert _feasible(seq, times, service, windows, horizon), seq
        for node, start in route:
            assert any(a - 1e-6 <= start <= b + 1e-6 for a, b in windows[node])
        assert not seen & set(seq)
        seen |= set(seq)
        got += sum(prizes[i] for i in seq)
    assert got == _optimum(times, service, windows, prizes, vehicles, horizon)


def test_unreachable_nodes_are_never_routed() -> None:
    times = np.array([[0, 100, np.inf], [100, 0, np.inf], [np.inf, np.inf, 0]], dtype=float)
    routes = solve_prize_routing(times, [0, 60, 60], [[(0, 3600)]] * 3, [0, 5, 50], [0], 3600)
    assert [n for n, _s in routes[0]] == [1]


# --- peak hours ----------------------------------------------------------------------------


def _profile(hours: dict[tuple[int, int], int]) -> list[list[int]]:
    p = [[0] * 24 for _ in range(7)]
    for (d, h), c in hours.items():
        p[d][h] = c
    return p


def test_peak_hours_fall_in_the_shift_in_local_time() -> None:
    # Friday 22:00-23:59 busy (Monday = 0)
    peaks = peak_slots(_profile({(4, 22): 30, (4, 23): 30, (1, 10): 2}))
    assert peaks is not None and peaks[4, 22] and peaks[4, 23] and not peaks[1, 10]
    friday = Shift(datetime(2026, 11, 27, 18, tzinfo=TZ), datetime(2026, 11, 28, 2, tzinfo=TZ))
    windows = shift_windows(peaks, friday)
    # smoothing spreads a little into 21:00 and 00:00; the core is 22:00-00:00
    starts = [friday.at(a).hour for a, _b in windows]
    assert windows and min(starts) in (21, 22)
    assert any(a <= 4 * 3600 <= b for a, b in windows)  # 22:00 is inside
    tuesday = Shift(datetime(2026, 11, 24, 18, tzinfo=TZ), datetime(2026, 11, 25, 2, tzinfo=TZ))
    assert shift_windows(peaks, tuesday) == []


def test_no_reliable_profile_means_the_whole_shift() -> None:
    shift = Shift(datetime(2026, 11, 27, 8, tzinfo=TZ), datetime(2026, 11, 27, 16, tzinfo=TZ))
    assert peak_slots(None) is None
    assert peak_slots(_profile({(4, 9): 3})) is None  # 3 < min_profile
    assert shift_windows(None, shift) == [(0.0, 8 * 3600.0)]


def test_a_shift_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="ends"):
        Shift(datetime(2026, 11, 27, 18, tzinfo=TZ), datetime(2026, 11, 27, 8, tzinfo=TZ))
    with pytest.raises(InvalidParameter, match="time zone"):
        Shift(datetime(2026, 11, 27, 8), datetime(2026, 11, 27, 16))


# --- plans ---------------------------------------------------------------------------------


def _table(rows: list[dict]) -> gpd.GeoDataFrame:
    out = []
    for i, r in enumerate(rows):
        out.append({"id": f"h{i + 1}", "rank": i + 1, "score": r.get("score", 10.0 - i),
                    "centroid_x": r["x"], "centroid_y": r["y"],
                    "context_class": r.get("cls", "rural"), "place": r.get("place", ""),
                    "profile": r.get("profile"), "category_mix": r.get("mix", {"asb": 5}),
                    "heritage_sites": r.get("heritage", []),
                    "geometry": shapely.Point(r["x"], r["y"]).buffer(50)})
    if not out:
        return gpd.GeoDataFrame({"id": [], "rank": [], "score": [], "centroid_x": [],
                                 "centroid_y": [], "context_class": [], "place": [],
                                 "profile": [], "category_mix": [], "heritage_sites": []},
                                geometry=gpd.GeoSeries([], crs=CRS))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=CRS)


SHIFT = Shift(datetime(2026, 11, 27, 8, tzinfo=TZ), datetime(2026, 11, 27, 16, tzinfo=TZ))
BASE = Base("Hub", 450_000.0, 450_000.0)


def _check_route_times(plan_dict: dict, shift: Shift, dwell_min: float) -> None:
    for route in plan_dict["routes"]:
        stops = route["stops"]
        for prev, stop in itertools.pairwise(stops):
            assert stop["arrival"] >= prev["departure"]
        for stop in stops:
            if stop["kind"] == "hotspot":
                assert stop["dwell_min"] == dwell_min
                assert any(a <= stop["start"] <= b for a, b in stop["windows"])
        assert stops[-1]["arrival"] <= shift.end.isoformat(timespec="minutes")


def test_rural_plan_visits_within_the_shift_and_names_what_is_left_out() -> None:
    rows = [{"x": 450_000 + 3000 * k, "y": 450_000 + 2000 * (k % 3)} for k in range(8)]
    rows.append({"x": 470_000, "y": 470_000, "cls": "urban"})
    rows.append({"x": 451_000, "y": 451_000, "cls": "heritage_site", "heritage": ["St Mary's"]})
    rows.append({"x": 452_000, "y": 449_000,
                 "profile": _profile({(1, 3): 40})})  # peak at 03:00 on Tuesdays only
    plan = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                        rural_vehicles=1, rural_base=BASE,
                        options=PlanOptions(time_limit_s=0.5))
    d = plan.to_dict()
    _check_route_times(d, SHIFT, 15.0)
    reasons = {h["hotspot_id"]: h["left_out"] for h in d["hotspots"]}
    assert reasons["h9"] == "no_team"
    assert reasons["h11"] == "outside_peak_hours"
    assert reasons["h10"] is None  # a heritage site goes to the Rural Crime Team
    visited = [s["hotspot_id"] for s in d["routes"][0]["stops"] if s["kind"] == "hotspot"]
    assert len(visited) == len(set(visited)) == d["totals"]["hotspots_visited"] >= 5
    assert d["routes"][0]["stops"][0]["kind"] == d["routes"][0]["stops"][-1]["kind"] == "base"
    herit = next(h for h in d["hotspots"] if h["hotspot_id"] == "h10")
    assert herit["look_for"][-1]["advice"] == "Check: St Mary's"


def test_rural_plan_runs_out_of_time_on_a_short_shift() -> None:
    rows = [{"x": 450_000 + 9000 * k, "y": 450_000} for k in range(1, 7)]
    short = Shift(datetime(2026, 11, 27, 8, tzinfo=TZ), datetime(2026, 11, 27, 9, 30,
                                                                 tzinfo=TZ))
    d = plan_patrols(_table(rows), shift=short, travel=StraightLine(), crs=CRS,
                     rural_vehicles=1, rural_base=BASE,
                     options=PlanOptions(time_limit_s=0.3)).to_dict()
    assert d["totals"]["hotspots_visited"] >= 1
    assert "out_of_time" in {h["reason"] for h in d["left_out"]}
    _check_route_times(d, short, 15.0)


def test_unreachable_hotspot_on_the_road_network() -> None:
    roads = [LineString([(449_000, 450_000), (460_000, 450_000)]),
             LineString([(480_000, 480_000), (485_000, 480_000)])]  # a piece of its own
    net = RoadNetwork(roads, [60.0, 60.0])
    rows = [{"x": 455_000, "y": 450_100}, {"x": 482_000, "y": 480_100},
            {"x": 455_000, "y": 470_000}]  # on the main road, on the island, far from any road
    d = plan_patrols(_table(rows), shift=SHIFT, travel=net, crs=CRS, rural_vehicles=1,
                     rural_base=BASE, options=PlanOptions(time_limit_s=0.2)).to_dict()
    reasons = {h["hotspot_id"]: h["left_out"] for h in d["hotspots"]}
    assert reasons == {"h1": None, "h2": "unreachable", "h3": "unreachable"}
    route = d["routes"][0]
    assert len(route["legs"]) == 2 and len(route["legs"][0]) >= 3  # along the road
    assert route["totals"]["distance_m"] == pytest.approx(2 * (5000 + 100 * 1.3), rel=0.01)


def test_bad_input() -> None:
    rows = [{"x": 450_000, "y": 450_000, "cls": "town_centre", "place": "Thornbury"}]
    table = _table(rows)
    with pytest.raises(InvalidParameter, match="outside the force area"):
        plan_patrols(table, shift=SHIFT, travel=StraightLine(), crs=CRS, rural_vehicles=1,
                     rural_base=Base("Far", 10.0, 10.0),
                     force_area=box(440_000, 440_000, 460_000, 460_000))
    with pytest.raises(InvalidParameter, match="nothing to plan"):
        plan_patrols(table, shift=SHIFT, travel=StraightLine(), crs=CRS)
    with pytest.raises(InvalidParameter, match=r"Elmsford.*Thornbury"):
        plan_patrols(table, shift=SHIFT, travel=StraightLine(), crs=CRS,
                     town_officers={"Elmsford": 2})
    with pytest.raises(InvalidParameter, match="rural_base"):
        plan_patrols(table, shift=SHIFT, travel=StraightLine(), crs=CRS, rural_vehicles=1)


def test_no_hotspots_gives_an_empty_plan() -> None:
    empty = _table([]).iloc[0:0]
    d = plan_patrols(empty, shift=SHIFT, travel=StraightLine(), crs=CRS, rural_vehicles=2,
                     rural_base=BASE, options=PlanOptions(time_limit_s=0.1)).to_dict()
    assert d["totals"]["stops"] == 0 and d["hotspots"] == []
    assert all(len(r["stops"]) == 2 for r in d["routes"])


def test_town_plan_revisits_the_busiest_with_gaps() -> None:
    evening = Shift(datetime(2026, 11, 27, 16, tzinfo=TZ), datetime(2026, 11, 28, 0, tzinfo=TZ))
    busy = _profile({(4, h): 40 for h in range(16, 24)})
    rows = [{"x": 450_000, "y": 450_000, "cls": "town_centre", "place": "Thornbury",
             "score": 100.0, "profile": busy, "mix": {"violence_sexual": 30, "asb": 10}},
            {"x": 450_400, "y": 450_300, "cls": "town_centre", "place": "Thornbury",
             "score": 20.0},
            {"x": 449_700, "y": 450_200, "cls": "town_centre", "place": "Thornbury",
             "score": 10.0}]
    d = plan_patrols(_table(rows), shift=evening, travel=StraightLine(), crs=CRS,
                     town_officers={"thornbury": 1},
                     town_bases={"Thornbury": Base("Station", 450_100.0, 450_100.0)},
                     options=PlanOptions(time_limit_s=0.5),
                     look_for={"violence_sexual": "closing time"}).to_dict()
    _check_route_times(d, evening, 15.0)
    route = d["routes"][0]
    assert route["unit"] == "town_centre_officers" and route["town"] == "Thornbury"
    starts = sorted(datetime.fromisoformat(s["start"]) for s in route["stops"]
                    if s.get("hotspot_id") == "h1")
    assert len(starts) >= 3  # the busiest is revisited
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= timedelta(minutes=30)
    assert len(set(gaps)) > 1  # the planned gaps differ: not a fixed beat
    assert {h["hotspot_id"] for h in d["hotspots"] if h["visits_planned"]} == {"h1", "h2", "h3"}
    first = next(s for s in route["stops"] if s.get("hotspot_id") == "h1")
    assert first["look_for"][0] == {"category": "violence_sexual", "label": "violence_sexual",
                                    "incidents": 30, "share": 0.75, "advice": "closing time"}
    # another seed moves the visits
    other = plan_patrols(_table(rows), shift=evening, travel=StraightLine(), crs=CRS,
                         town_officers={"Thornbury": 1},
                         options=PlanOptions(time_limit_s=0.5, seed=7)).to_dict()
    assert [s["start"] for s in other["routes"][0]["stops"]] != \
        [s["start"] for s in route["stops"]]


def test_road_network_refuses_bad_lines() -> None:
    with pytest.raises(InvalidParameter, match="speed"):
        RoadNetwork([LineString([(0, 0), (1, 1)])], [0.0])
    with pytest.raises(InvalidParameter, match="no lines"):
        RoadNetwork([], [])
    with pytest.raises(InvalidParameter, match="lines"):
        RoadNetwork([shapely.Point(0, 0)], [30.0])


def test_road_network_times_follow_speeds() -> None:
    # two ways from A to B: a slow direct lane, a fast detour
    lanes = [LineString([(0, 0), (10_000, 0)]),
             LineString([(0, 0), (0, 3_000), (10_000, 3_000), (10_000, 0)])]
    net = RoadNetwork(lanes, [20.0, 100.0])
    t = net.matrix(np.array([[0.0, 0.0], [10_000.0, 0.0]]), "vehicle")
    assert t[0, 1] == pytest.approx(16_000 / (100 / 3.6), rel=1e-6)  # the detour is faster
    foot = net.matrix(np.array([[0.0, 0.0], [10_000.0, 0.0]]), "foot")
    assert foot[0, 1] == pytest.approx(10_000 / (4.8 / 3.6), rel=1e-6)  # walkers go direct
    line, dist = net.leg((0.0, 0.0), (10_000.0, 0.0), "vehicle")
    assert dist == pytest.approx(16_000) and len(line) >= 4


def test_a_base_off_the_road_network_is_named() -> None:
    net = RoadNetwork([LineString([(449_000, 450_000), (460_000, 450_000)])], [60.0])
    d = plan_patrols(_table([{"x": 455_000, "y": 450_050}]), shift=SHIFT, travel=net, crs=CRS,
                     rural_vehicles=1, rural_base=Base("Moor Top", 455_000.0, 480_000.0),
                     options=PlanOptions(time_limit_s=0.1)).to_dict()
    assert d["hotspots"][0]["left_out"] == "unreachable"
    assert "Moor Top" in d["notes"][0]


# --- idle waits, empty crews, towns shared --------------------------------------------------


def test_a_vehicle_leaves_late_rather_than_waiting_at_its_first_stop() -> None:
    late = _profile({(4, h): 40 for h in (14, 15)})  # Friday 14:00-16:00 only
    rows = [{"x": 455_000, "y": 450_000, "profile": late}]
    d = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                     rural_vehicles=1, rural_base=BASE,
                     options=PlanOptions(time_limit_s=0.3)).to_dict()
    stops = d["routes"][0]["stops"]
    assert stops[1]["wait_min"] == 0.0 and stops[1]["start"] >= "2026-11-27T14:00"
    assert stops[0]["departure"] >= "2026-11-27T13:30"  # not 08:00 and six hours' wait
    assert d["routes"][0]["totals"]["idle_min"] == 0.0 and d["warnings"] == []


def test_waits_the_windows_force_are_reported_as_idle_time() -> None:
    early = _profile({(4, 8): 40})  # Friday 08:00-09:00, smoothed: 07:00-10:00
    late = _profile({(4, 13): 40})  # Friday 13:00-14:00, smoothed: 12:00-15:00
    rows = [{"x": 452_000, "y": 450_000, "profile": early},
            {"x": 452_500, "y": 450_000, "profile": late}]
    d = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                     rural_vehicles=1, rural_base=BASE,
                     options=PlanOptions(time_limit_s=0.3, idle_threshold_min=20)).to_dict()
    route = d["routes"][0]
    hot = [s for s in route["stops"] if s["kind"] == "hotspot"]
    assert [s["hotspot_id"] for s in hot] == ["h1", "h2"]
    # the first visit starts as late as its window allows, so the wait is the least it can be
    assert hot[0]["start"] == "2026-11-27T10:00+00:00"
    assert hot[1]["start"] == "2026-11-27T12:00+00:00"
    assert hot[1]["idle_min"] == hot[1]["wait_min"] > 90
    assert route["totals"]["idle_min"] == hot[1]["idle_min"] == d["totals"]["idle_min"]
    [warning] = d["warnings"]
    assert warning["kind"] == "idle" and warning["route"] == route["label"]
    assert "#2" in warning["message"] and "12:00" in warning["message"]
    quiet = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                         rural_vehicles=1, rural_base=BASE,
                         options=PlanOptions(time_limit_s=0.3, idle_threshold_min=480)
                         ).to_dict()
    assert quiet["warnings"] == [] and quiet["routes"][0]["totals"]["idle_min"] == 0.0


def test_a_crew_with_no_stops_is_kept_and_says_why() -> None:
    rows = [{"x": 452_000, "y": 450_000}]
    d = plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                     rural_vehicles=2, rural_base=BASE, town_officers={"Elmsford": 2},
                     town_centres={"Elmsford": (460_000.0, 460_000.0)},
                     options=PlanOptions(time_limit_s=0.2)).to_dict()
    labels = [r["label"] for r in d["routes"]]
    assert labels == ["Rural Crime Team vehicle 1", "Rural Crime Team vehicle 2",
                      "Elmsford officer 1", "Elmsford officer 2"]
    empty = {r["label"]: r["empty_reason"] for r in d["routes"] if not r["totals"]["stops"]}
    assert len([k for k in empty if k.startswith("Rural")]) == 1
    assert "other vehicles" in next(v for k, v in empty.items() if k.startswith("Rural"))
    assert empty["Elmsford officer 1"] == "no town-centre hotspots in Elmsford for this period"
    assert all(r["empty_reason"] is None for r in d["routes"] if r["totals"]["stops"])
    kinds = [(w["route"], w["kind"]) for w in d["warnings"]]
    assert ("Elmsford officer 2", "no_stops") in kinds and len(kinds) == 3
    town = d["routes"][2]["stops"]
    assert town[0]["name"] == "Elmsford town centre" and len(town) == 2
    # a town the store does not know is still an error
    with pytest.raises(InvalidParameter, match="Elmsfrod"):
        plan_patrols(_table(rows), shift=SHIFT, travel=StraightLine(), crs=CRS,
                     town_officers={"Elmsfrod": 1}, town_centres={"Elmsford": (0.0, 0.0)})


def test_town_centre_officers_share_the_towns_places() -> None:
    evening = Shift(datetime(2026, 11, 27, 16, tzinfo=TZ), datetime(2026, 11, 28, 0, tzinfo=TZ))
    rows = [{"x": 450_000 + 150 * (k % 4), "y": 450_000 + 120 * (k // 4), "cls": "town_centre",
             "place": "Thornbury", "score": 20.0 - k} for k in range(8)]
    d = plan_patrols(_table(rows), shift=evening, travel=StraightLine(), crs=CRS,
                     town_officers={"Thornbury": 3},
                     town_bases={"Thornbury": Base("Station", 450_100.0, 450_100.0)},
                     options=PlanOptions(time_limit_s=0.5)).to_dict()
    counts = [r["totals"]["stops"] for r in d["routes"]]
    assert len(counts) == 3 and min(counts) >= sum(counts) // 3 - 1 > 0, counts
    assert not [w for w in d["warnings"] if w["kind"] == "no_stops"]
