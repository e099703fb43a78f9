"""The field view's assets carry the service's static version, so a tablet whose service worker
keeps static files by URL gets a changed script (a security fix) on its first load after an
upgrade, not the copy it kept."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from maps import assets
from maps.plan_pages import field_page


def test_the_field_page_loads_and_keeps_versioned_assets() -> None:
    page = field_page("p1")
    version = assets.static_version()
    loaded = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert len(loaded) == 6  # Leaflet's script and style, basemap.js, plan-common, field's two
    assert all(url.endswith(f"?v={version}") for url in loaded), loaded
    found = re.search(r'id="page-options">(.*?)</script>', page)
    assert found is not None
    options = json.loads(found.group(1))
    # what it loads is what it keeps offline, with the style sheet basemap.js adds
    assert sorted(options["assets"]) == sorted([*loaded, f"/static/maps/basemap.css?v={version}"])


def test_the_version_changes_with_any_script_or_style(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "static"
    shutil.copytree(assets.OWN_DIR, copy)
    monkeypatch.setattr(assets, "OWN_DIR", copy)
    before = assets.static_version.__wrapped__()
    assert before == assets.static_version()
    with (copy / "field.js").open("a") as f:
        f.write("\n")
    assert assets.static_version.__wrapped__() != before
