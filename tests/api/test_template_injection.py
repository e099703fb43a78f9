"""Text from data is never run as a template on the server: the planner's map is made with
folium, whose ``Element(text)`` compiles its text with Jinja, so a name from a layer or a data
file holding "{{ ... }}" or "{% ... %}" reached Python itself (template injection). A demo
whose first town's centre, built-up area and castle are named with Jinja that would say it ran,
served by the real app: the planner's page and its single-file download show the names as the
literal text, and nothing they hold ran."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from geodata.demo import DemoFiles, load_demo
from geodata.stores import SQLiteStore
from tests.api.test_api import settings_for
from tests.conftest import as_role, demo_renamed

RAN = "{% if true %}JINJA-RAN{% endif %}{{ 6 * 7 }}{{ cycler.__init__.__globals__.os.name.upper() }}"
PLACE = f"Thornbury {RAN}"
SITE = f"Thornbury Castle {RAN}"
RENAMED = {"town_centres": {"Thornbury": PLACE}, "built_up_areas": {"Thornbury": PLACE},
           "heritage_sites": {"Thornbury Castle": SITE}}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, demo_files: DemoFiles
           ) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("jinja")
    store = SQLiteStore.open(root / "demo.sqlite")
    load_demo(store, demo_renamed(demo_files, root, RENAMED))
    with TestClient(create_app(settings_for(root), store=store, demo=True)) as c:
        yield as_role(c)
    store.close()


@pytest.mark.parametrize("path", ["/", "/?download=1", "/?method=kde&download=1"])
def test_names_with_template_syntax_stay_text_on_the_planners_map(client: TestClient,
                                                                  path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    page = r.text
    assert "JINJA-RAN" not in page.replace(RAN, "")  # only inside the literal names
    assert "POSIX" not in page  # what Python's os module would have said
    shown = page.count(RAN) + page.count(json.dumps(RAN)[1:-1])
    assert shown > 0  # the names are there, as they are
