"""DBSCAN inside PostGIS (ST_ClusterDBSCAN) against the Python DBSCAN on the whole demo, and the
option through the analysis and the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import adjusted_rand_score

from api.app import create_app
from api.errors import InvalidInput
from api.services.hotspots import AnalysisOptions, run_analysis
from api.services.selection import Selection
from api.settings import Settings
from geodata.demo import load_demo, write_demo
from geodata.schema import IncidentFilter
from geodata.stores import SQLiteStore
from geodata.stores.postgis import PostGISStore
from geodata.taxonomy import Taxonomy
from hotspot import DBSCANHotspots
from tests.conftest import as_role


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory,
               postgres_url: str) -> Iterator[PostGISStore]:
    files = write_demo(tmp_path_factory.mktemp("pg-demo"))  # the whole demo: 50,000 incidents
    store = PostGISStore.open(postgres_url, schema="demo_dbscan")
    load_demo(store, files)
    yield store
    store.close()


@pytest.mark.parametrize(("eps_m", "min_samples"), [(150.0, 20), (100.0, 8), (250.0, 60)])
def test_st_clusterdbscan_agrees_with_python(demo_store: PostGISStore, eps_m: float,
                                             min_samples: int):
    cols = demo_store.incidents()
    ours = DBSCANHotspots(eps_m=eps_m, min_samples=min_samples).fit(cols.xy, crs=cols.crs)
    rid, theirs = demo_store.cluster_dbscan(None, eps_m=eps_m, min_samples=min_samples)
    assert np.array_equal(rid, cols.rid)
    core = ours.core_sample_mask_
    assert ours.n_clusters_ == len(set(theirs[theirs >= 0])) > 5
    assert adjusted_rand_score(ours.labels_[core], theirs[core]) >= 0.99
    assert (theirs[core] >= 0).all()  # every core incident is clustered in both
    assert np.array_equal(ours.labels_ < 0, theirs < 0)  # and the same ones are noise


def test_the_analysis_and_the_api_cluster_in_the_database(demo_store: PostGISStore,
                                                           postgres_url: str, tmp_path: Path):
    tax = Taxonomy.load()
    params = {"eps_m": 150.0, "min_samples": 20}
    here, _ = run_analysis(demo_store, tax, method="dbscan", selection=Selection(priority="rural"),
                           options=AnalysisOptions(parameters=params))
    there, _ = run_analysis(demo_store, tax, method="dbscan",
                            selection=Selection(priority="rural"),
                            options=AnalysisOptions(parameters={**params, "engine": "postgis"}))
    assert there.info["clustered_by"] == "PostGIS ST_ClusterDBSCAN"
    assert len(there.hotspots) == len(here.hotspots) > 3
    assert sorted(there.hotspots["incidents"]) == sorted(here.hotspots["incidents"])
    with pytest.raises(InvalidInput) as auto:
        run_analysis(demo_store, tax, method="dbscan", selection=Selection(),
                     options=AnalysisOptions(parameters={"engine": "postgis"}))
    assert auto.value.field == "min_samples"
    settings = Settings(data_dir=tmp_path, database_url=f"{postgres_url}?schema=demo_dbscan")
    with TestClient(create_app(settings, demo=False)) as c:
        as_role(c)
        r = c.get("/v1/hotspots", params={"engine": "postgis", "min_samples": 20,
                                          "priority": "rural"})
        assert r.status_code == 200, r.text
        assert r.json()["parameters"]["engine"] == "postgis"
        assert len(r.json()["features"]) == len(here.hotspots)
        for bad, field in (({"engine": "postgis"}, "min_samples"),
                           ({"engine": "postgis", "min_samples": 7.5}, "min_samples"),
                           ({"engine": "gpu"}, "engine"),
                           ({"engine": "postgis", "method": "kde"}, "engine")):
            r = c.get("/v1/hotspots", params=bad)
            assert r.status_code == 422 and field in r.text, (bad, r.text)
    sqlite = SQLiteStore.open(tmp_path / "s.sqlite")
    with TestClient(create_app(Settings(data_dir=tmp_path), store=sqlite)) as c:
        as_role(c)
        r = c.get("/v1/hotspots", params={"engine": "postgis", "min_samples": 5})
        assert r.status_code == 422 and r.json()["field"] == "engine"
    sqlite.close()
    assert demo_store.cluster_dbscan(IncidentFilter(categories=("nothing",)), eps_m=150,
                                     min_samples=5)[0].size == 0
