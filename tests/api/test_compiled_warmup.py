"""Loading DBSCAN's compiled steps when a service starts (issue 18): only when the store holds
enough incidents for them to be used, in the background, and never to the service's harm."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services.compiled import warm_compiled_in_background
from geodata.stores import SQLiteStore
from hotspot._native import loaded_native_steps
from tests.api.test_api import settings_for


def test_a_store_with_enough_incidents_loads_the_compiled_steps(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteStore.open(tmp_path / "s.sqlite")
    try:
        with caplog.at_level(logging.INFO, logger="api.services.compiled"):
            warm_compiled_in_background(store, at_least=0).join(120)
    finally:
        store.close()
    native = loaded_native_steps()
    assert native is not None  # numba is a dependency: the steps load
    # DBSCAN's, KDE's binning and the places' loops (which every split then uses), those of
    # a large area and those of the small ones cut together
    for step in ("sub_cells", "core_points", "linear_binning", "take_places", "place_remove",
                 "place_density", "densest_cell", "disc_members", "row_maxima", "locate_cells",
                 "mark_edge_cells", "label_sums", "label_time_ranges", "label_value_tally",
                 "pair_sums", "recent_sums",
                 "polygon_cells", "hull_diameters", "area_grids", "area_places"):
        assert getattr(native, step).signatures, step
    assert any("compiled analysis steps loaded" in r.getMessage() for r in caplog.records), \
        caplog.text


def test_a_small_store_does_not_load_them(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    store = SQLiteStore.open(tmp_path / "s.sqlite")
    try:
        with caplog.at_level(logging.DEBUG, logger="api.services.compiled"):
            warm_compiled_in_background(store).join(30)
    finally:
        store.close()
    said = [r.getMessage() for r in caplog.records]
    assert said == ["compiled steps not loaded at start: 0 incidents (loaded from 20000)"], said


def test_a_store_that_fails_is_a_warning_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:  # a store gone away while the thread counts
        def count(self) -> int:
            raise OSError("the store went away")

    with caplog.at_level(logging.WARNING, logger="api.services.compiled"):
        warm_compiled_in_background(Broken()).join(30)
    assert any("were not loaded at start" in r.getMessage() for r in caplog.records)


def test_the_service_starts_it_and_the_setting_turns_it_off(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for on in (True, False):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="api.services.compiled"):
            app = create_app(settings_for(tmp_path / str(on), warm_compiled=on))
            with TestClient(app) as c:
                assert c.get("/health").status_code == 200
                for t in threading.enumerate():
                    if t.name == "warm-compiled":
                        t.join(30)
        said = [r.getMessage() for r in caplog.records if r.name == "api.services.compiled"]
        assert said == (["compiled steps not loaded at start: 0 incidents (loaded from 20000)"]
                        if on else []), (on, said)


def test_the_threads_an_analysis_may_use_follow_the_setting(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import hotspot._threads as threads
    from api.cli.common import load_settings

    monkeypatch.setattr(threads, "_threads", threads.default_threads())  # put back after
    create_app(settings_for(tmp_path, analysis_threads=1))
    assert threads.threads() == 1
    create_app(settings_for(tmp_path))
    assert threads.threads() == threads.default_threads() == min(4, len(os.sched_getaffinity(0)))
    monkeypatch.setenv("HOTSPOT_ANALYSIS_THREADS", "3")  # the command line's settings too
    load_settings()
    assert threads.threads() == 3
    monkeypatch.setenv("HOTSPOT_ANALYSIS_THREADS", "0")
    with pytest.raises(ValueError, match="analysis_threads"):
        load_settings()


def test_the_service_keeps_numpy_linear_algebra_to_one_thread(tmp_path: Path) -> None:
    """An analysis runs its parts side by side; OpenBLAS's own threads would only compete
    with them (use_analysis_threads)."""
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=2, user_api="blas"):  # as numpy starts on two cores
        create_app(settings_for(tmp_path))
        blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        assert blas and set(blas) == {1}
