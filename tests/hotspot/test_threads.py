"""Pieces of one analysis run in threads (hotspot._threads): the same results as one thread,
whatever the timing, the same refusals, and errors raised in the caller."""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import hotspot._threads as threads_module
from hotspot._threads import Later, run_each, set_threads
from hotspot.analysis import analyse
from hotspot.errors import WorkLimitExceeded
from hotspot.places import split_places

CRS = "EPSG:27700"
ORIGIN = np.array([500_000.0, 200_000.0])


def use_threads(monkeypatch, n: int) -> None:
    monkeypatch.setattr(threads_module, "_threads", n)


def test_results_come_in_the_tasks_order_from_several_threads(monkeypatch):
    use_threads(monkeypatch, 2)
    meet = threading.Barrier(2, timeout=30)  # one thread alone would wait here and fail
    seen: list[str] = []

    def task(i: int) -> int:
        if i < 2:
            meet.wait()
        seen.append(threading.current_thread().name)
        return i * i

    assert run_each([lambda i=i: task(i) for i in range(7)]) == [i * i for i in range(7)]
    assert len(set(seen)) == 2


def test_one_thread_runs_every_task_in_the_caller(monkeypatch):
    use_threads(monkeypatch, 1)
    names = run_each([lambda: threading.current_thread().name for _ in range(3)])
    assert names == [threading.current_thread().name] * 3


def test_the_first_error_in_order_is_raised_after_every_task_ran(monkeypatch):
    use_threads(monkeypatch, 2)
    ran: list[int] = []

    def task(i: int) -> int:
        ran.append(i)
        if i in (2, 4):
            raise ValueError(f"task {i}")
        return i

    with pytest.raises(ValueError, match="task 2"):
        run_each([lambda i=i: task(i) for i in range(6)])
    assert sorted(ran) == list(range(6))


def test_calls_nest_without_waiting_on_one_another(monkeypatch):
    use_threads(monkeypatch, 2)
    inner = [lambda j=j: j for j in range(3)]
    assert run_each([lambda: run_each(inner) for _ in range(4)]) == [[0, 1, 2]] * 4


def test_helper_threads_are_kept_for_the_next_calls_and_idle_between_them(monkeypatch):
    """A call's helpers are borrowed from those kept idle, so what a library keeps per thread
    (pyproj's transformations) is made once; nothing of a call runs once it has returned, and
    a child made by fork starts its own."""
    import multiprocessing

    import hotspot._threads as module

    use_threads(monkeypatch, 3)
    barrier = threading.Barrier(3, timeout=10)  # the three run at once: two are helpers

    def who() -> int:
        barrier.wait()
        return threading.get_ident()

    first = set(run_each([who] * 3))
    second = set(run_each([who] * 3))
    main = threading.get_ident()
    assert len(first) == 3 and first - {main} == second - {main}  # the same two helpers
    assert len(module._idle) >= 2
    # a nested call borrows other helpers (or makes new ones) rather than waiting
    assert run_each([lambda: run_each([lambda: 1] * 3)] * 3) == [[1, 1, 1]] * 3
    assert len(module._idle) <= module.KEPT
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:  # the parent's helpers are not the child's
        assert pool.apply_async(_squares_in_threads, (4,)).get(timeout=60) == [0, 1, 4, 9]


def test_a_kept_helper_holds_nothing_of_the_call_it_ran(monkeypatch):
    """The tasks of a call hold a request's incidents and all made from them: once the call
    has returned, no idle helper keeps them alive; and a helper never given a job is idle
    (joining it returns), so a call interrupted while starting its helpers does not hang."""
    import gc
    import weakref

    import hotspot._threads as module

    use_threads(monkeypatch, 2)

    class Big:
        pass

    def call() -> weakref.ref[Big]:
        big = Big()
        barrier = threading.Barrier(2, timeout=10)  # a helper surely runs one of the two
        run_each([lambda: (barrier.wait(), big)[1], barrier.wait])
        return weakref.ref(big)

    ref = call()
    gc.collect()
    assert ref() is None
    fresh = module._Helper()
    fresh.join()  # returns at once
    fresh.retire()


def _squares_in_threads(n: int) -> list[int]:
    set_threads(2)
    return run_each([lambda i=i: i * i for i in range(n)])


def test_a_thread_count_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        set_threads(0)


def test_later_runs_in_its_own_thread_and_gives_its_result_when_asked(monkeypatch):
    use_threads(monkeypatch, 2)
    started = threading.Event()

    def task(should_stop) -> str:
        started.set()
        return threading.current_thread().name

    later = Later(task)
    assert started.wait(30)  # running before anyone asked
    assert later.result() == "hotspot-later" == later.result()


def test_later_with_one_thread_runs_in_the_caller_when_asked(monkeypatch):
    use_threads(monkeypatch, 1)
    ran: list[str] = []
    later = Later(lambda should_stop: ran.append(threading.current_thread().name) or 7)
    assert ran == []
    assert later.result() == 7 and ran == [threading.current_thread().name]


def test_later_raises_its_error_when_asked_and_stops_when_abandoned(monkeypatch):
    use_threads(monkeypatch, 2)
    failing = Later(lambda should_stop: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.result()
    asked_after = threading.Event()

    def patient(should_stop) -> str:
        while not should_stop():
            asked_after.wait(0.01)
        return "stopped"

    later = Later(patient)
    later.abandon()
    assert later.result() == "stopped"
    told = [False]
    outer = Later(patient, should_stop=lambda: told[0])
    told[0] = True  # the caller's own should_stop
    assert outer.result() == "stopped"


def _city(seed: int) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """Blobs in six areas of a city, most wider than a place, some with few incidents."""
    rng = np.random.default_rng(seed)
    boxes = [shapely.box(x, y, x + w, y + 300) for x, y, w in
             ((0, 0, 1500), (0, 600, 900), (2000, 0, 200), (2000, 600, 1200), (0, 1200, 3000),
              (3500, 0, 150))]
    parts, labels = [], []
    for a, box in enumerate(boxes):
        x0, y0, x1, y1 = box.bounds
        n = int(rng.integers(8, 600))
        centres = rng.uniform([x0, y0], [x1, y1], (max(1, n // 150), 2))
        pts = np.concatenate([rng.normal(c, 30, (n // len(centres), 2)) for c in centres])
        pts = np.clip(pts, [x0 + 0.5, y0 + 0.5], [x1 - 0.5, y1 - 0.5])
        parts.append(pts)
        labels.append(np.full(len(pts), a, dtype=np.int64))
    frame = gpd.GeoDataFrame({"cluster": np.arange(len(boxes))},
                             geometry=[shapely.transform(b, lambda c: c + ORIGIN) for b in boxes],
                             crs=CRS)
    return np.concatenate(parts) + ORIGIN, np.concatenate(labels), frame


@pytest.mark.parametrize("small_area", [0, 200])  # 200: some areas in the small areas' task
@pytest.mark.parametrize("seed", range(3))
def test_places_cut_in_threads_are_the_places_cut_in_turn(monkeypatch, seed: int,
                                                          small_area: int):
    import hotspot.places as places_module

    monkeypatch.setattr(places_module, "SMALL_AREA", small_area)
    xy, labels, areas = _city(seed)
    splits = []
    for n in (1, 2):
        use_threads(monkeypatch, n)
        splits.append(split_places(xy, None, labels, areas, max_place_m=120.0,
                                   min_incidents=5))
    alone, together = splits
    assert len(alone.places) > 12
    np.testing.assert_array_equal(alone.labels, together.labels)
    pd.testing.assert_frame_equal(alone.places.drop(columns="geometry"),
                                  together.places.drop(columns="geometry"), check_exact=True)
    assert shapely.equals_exact(alone.places.geometry.values, together.places.geometry.values,
                                tolerance=0).all()


@pytest.mark.parametrize("small_area", [0, 200])  # 200: some areas in the small areas' task
@pytest.mark.parametrize("stopped_early", [True, False])
@pytest.mark.parametrize("seed", range(3))
def test_threads_refuse_too_many_places_exactly_where_the_loop_does(monkeypatch, seed: int,
                                                                     stopped_early: bool,
                                                                     small_area: int):
    # with min_incidents > 1 some peaks are dropped: the loop's check counts them in their own
    # area only (so a limit a little above the places made can still refuse), which the
    # threads' replay of it must follow at every limit. stopped_early: the threads' common
    # count stops them and the loop decides; else that count is made never to stop them (as
    # when an earlier area is still at work while a later one finds its peaks) and the
    # replay of the loop's check decides
    import hotspot.places as places_module

    monkeypatch.setattr(places_module, "SMALL_AREA", small_area)
    if not stopped_early:
        monkeypatch.setattr(places_module._PeakCount, "add", lambda self, n, stop=True: None)
    xy, labels, areas = _city(seed)
    places = len(split_places(xy, None, labels, areas, max_place_m=120.0,
                              min_incidents=12).places)
    outcomes: dict[int, list[str]] = {1: [], 2: []}
    for n in (1, 2):
        use_threads(monkeypatch, n)
        for limit in range(max(0, places - 25), places + 40):
            try:
                split = split_places(xy, None, labels, areas, max_place_m=120.0,
                                     min_incidents=12, max_places=limit)
                outcomes[n].append(f"{len(split.places)} places")
            except WorkLimitExceeded as exc:
                outcomes[n].append(f"refused: {exc} ({exc.found}/{exc.limit})")
    assert outcomes[1] == outcomes[2]
    assert any(o.startswith("refused") for o in outcomes[1])
    assert outcomes[1][-1] == f"{places} places"


@pytest.mark.parametrize("seed", range(3))
def test_dbscan_core_points_counted_in_threads_match_one_thread(monkeypatch, seed: int):
    import hotspot._griddbscan as module
    from hotspot._native import native_steps

    assert native_steps() is not None  # numba is a dependency: never a silent numpy run
    monkeypatch.setattr(module, "_NATIVE_FROM", 0)
    monkeypatch.setattr(module, "_CHUNK", 64)  # many ranges of cells at this size
    rng = np.random.default_rng(400 + seed)
    centres = rng.uniform(0, 3000, (8, 2))
    xy = np.concatenate([rng.uniform(0, 3000, (2000, 2)),
                         *(rng.normal(c, 40, (400, 2)) for c in centres)])
    threshold = rng.integers(4, 30, len(xy)).astype(float)
    grid = module._bin_points(xy, module._Reach.of(30.0).cell_side, threshold, None,
                              native_steps())
    results = []
    for n in (1, 2):
        use_threads(monkeypatch, n)
        assert len(module._cell_ranges(grid)) == (1 if n == 1 else 8)
        results.append(module.grid_dbscan(xy, 30.0, threshold))
    np.testing.assert_array_equal(results[0][1], results[1][1])
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1].sum() > 1000 and results[0][0].max() >= 5


@pytest.mark.parametrize("method", ["dbscan", "kde"])
@pytest.mark.parametrize("budget", [None, 0.05])
def test_an_analysis_in_threads_is_the_analysis_in_one(monkeypatch, method: str,
                                                       budget: float | None):
    rng = np.random.default_rng(11)
    centres = rng.uniform(0, 4000, (12, 2))
    xy = np.concatenate([rng.uniform(0, 4000, (3000, 2)),
                         *(rng.normal(c, 60, (300, 2)) for c in centres)]) + ORIGIN
    months = rng.integers(0, 6, len(xy))
    occurred = (pd.Timestamp("2025-01-01", tz="UTC").timestamp() + months * 31 * 86400
                + rng.integers(0, 86400 * 28, len(xy)))
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "occurred_at": occurred,
                          "category": rng.choice(["burglary", "shoplifting"], len(xy))})
    params = {"eps_m": 80} if method == "dbscan" else {"bandwidth_m": 150}
    results = []
    for n in (1, 2):
        use_threads(monkeypatch, n)
        results.append(analyse(frame, crs=CRS, method=method, area_share=budget, **params))
    alone, together = results
    assert len(alone.hotspots) >= 5
    assert "hotspots_by_class" in alone.info["emerging"]  # the cube was made, in a thread
    assert alone.hotspots["emerging"].notna().any()
    pd.testing.assert_frame_equal(alone.hotspots.drop(columns="geometry"),
                                  together.hotspots.drop(columns="geometry"))
    assert shapely.equals_exact(alone.hotspots.geometry.values,
                                together.hotspots.geometry.values, tolerance=0).all()
    assert alone.info == together.info
    np.testing.assert_array_equal(alone.labels, together.labels)


def test_the_geometries_drawn_with_the_table_are_those_drawn_from_it(monkeypatch):
    # the WGS84 GeoJSON geometries are made in the analysis's threads, place by place, and
    # put in rank order: the same as drawing them from the finished table; a table changed
    # since is drawn from itself
    from hotspot.geojson import feature_collection

    use_threads(monkeypatch, 2)
    rng = np.random.default_rng(5)
    centres = rng.uniform(0, 3000, (10, 2))
    xy = np.concatenate([rng.uniform(0, 3000, (1500, 2)),
                         *(rng.normal(c, 50, (200, 2)) for c in centres)]) + ORIGIN
    result = analyse(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}), crs=CRS, method="kde",
                     bandwidth_m=120, max_place_m=150)
    assert len(result.hotspots) >= 8 and result.drawn is not None
    meta = {"method": result.method, "parameters": result.parameters, "summary": result.info}
    assert result.to_feature_collection() == feature_collection(result.hotspots, meta)
    moved = result.hotspots.set_crs("EPSG:32630", allow_override=True)  # the same objects
    assert moved.geometry.values[0] is result.hotspots.geometry.values[0]
    kept = result.hotspots
    result.hotspots = moved
    assert result._drawn_geometries() is None
    assert result.to_feature_collection() == feature_collection(moved, meta)
    result.hotspots = kept.iloc[::-1].reset_index(drop=True)
    assert result._drawn_geometries() is None
    reversed_fc = result.to_feature_collection()
    assert reversed_fc == feature_collection(result.hotspots, meta)
    assert reversed_fc["features"][0]["id"] == result.hotspots["id"].iloc[0]
