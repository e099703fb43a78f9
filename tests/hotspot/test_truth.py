"""Ground truth: every hotspot planted in the demo force area is found by both methods, with the
right context class, and the Prediction Accuracy Index is reported for each."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import pytest
import shapely

from api.services.hotspots import AnalysisOptions, run_analysis
from api.services.selection import Selection
from geodata.demo import load_demo, write_demo
from geodata.stores import SQLiteStore
from geodata.taxonomy import Taxonomy

PRIORITY_OF_KIND = {
    "shoplifting": "theft_burglary_robbery", "burglary": "theft_burglary_robbery",
    "vehicle": "theft_burglary_robbery", "asb_night": "asb", "fly_tipping": "asb",
    "drugs": "serious_organised", "heritage": "rural", "nighthawking": "rural", "lead": "rural",
    "agricultural": "rural", "plant": "rural", "fuel": "rural", "livestock": "rural",
    "hare_coursing": "rural", "poaching": "rural",
}
# the parameters the README documents for street-level hotspots
PARAMETERS = {"kde": {"bandwidth_m": 100.0, "cell_size_m": 20.0}, "dbscan": {"eps_m": 150.0}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SQLiteStore, gpd.GeoDataFrame]]:
    root = tmp_path_factory.mktemp("truth")
    files = write_demo(root / "files")  # the full demo: 50,000 incidents
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, files)
    truth = gpd.read_file(files.truth).to_crs(store.crs)
    yield store, truth
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["kde", "dbscan"])
def test_every_planted_hotspot_is_found_with_its_class(demo, method: str):
    store, truth = demo
    assert len(truth) == 25 and set(truth["kind"]) == set(PRIORITY_OF_KIND)
    taxonomy = Taxonomy.load()
    missed = []
    for priority in sorted(set(PRIORITY_OF_KIND.values())):
        result, meta = run_analysis(
            store, taxonomy, method=method, selection=Selection(priority=priority),
            options=AnalysisOptions(parameters=PARAMETERS[method]),
        )
        table = result.hotspots
        assert result.info["pai"] > 10, (priority, result.info)  # far better than chance
        assert meta["data_version"] == store.data_version()
        planted = truth[[PRIORITY_OF_KIND[k] == priority for k in truth["kind"]]]
        for _, p in planted.iterrows():
            centre = shapely.Point(p["x"], p["y"])
            holding = table[table.geometry.contains(centre)]
            if len(holding) == 0 or holding["context_class"].iloc[0] != p["context_class"]:
                missed.append((p["name"], p["context_class"],
                               list(holding["context_class"]) or "no hotspot"))
    assert missed == []
