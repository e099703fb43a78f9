"""The store interface's tests, run again against PostGIS stores in the regional layout.

Every test of the modules below that takes a store from the ``store`` or ``store_factory``
fixture (ingests, idempotency, atomicity, queries against a brute-force filter, pages, data
versions, text, outcomes, neighbours, stop and search, exports, the demo...) is collected here
once more, with ``store_factory`` making regional stores (incidents partitioned by force and
month) instead of the embedded and the plain PostGIS ones: the two layouts pass the same suite.
The modules' own fixtures come along.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest

from geodata.stores import Store
from geodata.stores.postgis import PostGISStore
from tests.geodata import (
    test_bbox,
    test_demo,
    test_demo_plants,
    test_exports,
    test_layers,
    test_neighbour_store,
    test_outcomes_store,
    test_police_api_reader,
    test_stop_search_store,
    test_store,
    test_store_business,
    test_store_text,
)

MODULES: tuple[ModuleType, ...] = (
    test_store, test_store_text, test_store_business, test_outcomes_store, test_neighbour_store,
    test_stop_search_store, test_bbox, test_demo, test_demo_plants, test_exports, test_layers,
    test_police_api_reader)
"""The modules whose store tests run here (those that read or write incidents)."""


@pytest.fixture
def store_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], Store]]:
    """Makes empty PostGIS stores in the regional layout, each in its own schema."""
    made: list[PostGISStore] = []

    def factory() -> Store:
        url = request.getfixturevalue("postgres_url")
        store = PostGISStore.open(url, schema=f"r_{uuid.uuid4().hex[:12]}", layout="regional")
        assert store.layout == "regional"
        made.append(store)
        return store

    yield factory
    for s in made:
        s.drop()
        s.close()


def _takes_a_store(fn: Callable[..., object]) -> bool:
    return bool({"store", "store_factory"} & set(inspect.signature(fn).parameters))


def _collect() -> dict[str, object]:
    found: dict[str, object] = {}
    for module in MODULES:
        short = module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
        for name, value in vars(module).items():
            if name in ("store", "store_factory"):
                continue
            if name.startswith("test_") and inspect.isfunction(value):
                if _takes_a_store(value):
                    found[f"test_{short}__{name.removeprefix('test_')}"] = value
            elif hasattr(value, "_fixture_function") or type(value).__name__ in (
                    "FixtureFunctionDefinition", "FixtureFunctionMarker"):
                found.setdefault(name, value)  # the module's own fixtures
    return found


globals().update(_collect())
