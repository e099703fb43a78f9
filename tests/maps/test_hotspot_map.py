"""The planner's map as HTML: what the page holds, that it names no outside asset, that data text
cannot break out of the page, and the density overlay and bands."""

from __future__ import annotations

import copy
import json
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest

from api.services.hotspots import AnalysisOptions, run_analysis
from api.services.selection import Selection
from geodata.demo import load_demo
from geodata.layers import LAYER_KINDS
from geodata.stores import SQLiteStore
from geodata.taxonomy import Taxonomy
from hotspot import kde_grid
from maps import FormState, PageOptions, density_bands, density_image, hotspot_map_page
from maps.assets import LEAFLET_VERSION, static_version
from tests.conftest import CDN_URL

SCRIPT_SRC = re.compile(r'<script[^>]*\bsrc="([^"]+)"')
LINK_HREF = re.compile(r'<link[^>]*\bhref="([^"]+)"')


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_files) -> Iterator[dict]:
    store = SQLiteStore.open(tmp_path_factory.mktemp("maps") / "demo.sqlite")
    load_demo(store, demo_files)
    result, _ = run_analysis(store, Taxonomy.load(), method="dbscan", selection=Selection(),
                             options=AnalysisOptions())
    layers = {k: (lyr.frame if (lyr := store.get_layer(k)) is not None else None)
              for k in LAYER_KINDS}
    cols = store.incidents()
    grid = kde_grid(cols.xy, crs=store.crs, bandwidth_m=250)
    yield {"hotspots": result.hotspots, "layers": layers, "grid": grid, "crs": store.crs}
    store.close()


def decode_png(data: bytes) -> np.ndarray:
    """RGBA pixels of a PNG with unfiltered rows (what the density renderer writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 6)  # 8-bit RGBA
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 4 * width)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(height, width, 4)


def geojson_layers(page: str) -> list[dict]:
    """Every GeoJSON object folium wrote into the page (as passed to addData)."""
    found = []
    for m in re.finditer(r"_add\((\{.*?\})\);\n", page, flags=re.S):
        found.append(json.loads(m.group(1)))
    return found


def test_page_holds_hotspots_layers_legend_scale_and_controls(demo):
    form = FormState(action="/", method="dbscan", priority="rural",
                     priorities=[("rural", "Rural"), ("asb", "Asb")], keep=[("town", "York")])
    page = hotspot_map_page(demo["hotspots"], demo["layers"], PageOptions(form=form, summary="S"))
    collections = geojson_layers(page)
    hotspot_fc = [c for c in collections if c["features"] and "rank" in c["features"][0]
                  ["properties"]]
    assert len(hotspot_fc) == 1
    features = hotspot_fc[0]["features"]
    assert len(features) == len(demo["hotspots"]) > 5
    classes = {f["properties"]["context_class"] for f in features}
    assert classes == {"town_centre", "heritage_site", "rural", "urban"}
    lon, lat = features[0]["geometry"]["coordinates"][0][0][:2]
    assert -3 < lon < 1 and 53 < lat < 55  # WGS84, in the demo county
    # every popup fact travels as a property, for the planner's script to build the popup
    props = features[0]["properties"]
    for key in ("rank", "place", "context_class", "incidents", "category_mix", "peak_hours",
                "trend", "top_locations"):
        assert key in props
    # reference layers, each a named overlay in the layer control
    for name in ("Force boundary", "Town centres", "Heritage sites", "Patrol bases", "Hotspots"):
        assert f'"{name}"' in page
    assert "L.control.layers" in page and "L.control.scale" in page
    assert 'id="hs-legend"' in page and "Rural (Rural Crime Team)" in page
    # controls: a plain form that reloads through the API, keeping the other parameters
    assert '<form method="get" action="/">' in page
    assert '<option value="rural" selected>' in page
    assert '<input type="hidden" name="town" value="York">' in page
    assert "hotspotPlanner.bindHotspot" in page


def test_page_names_no_outside_asset_and_leaves_folium_defaults_alone(demo):
    before = copy.deepcopy((folium.Map.default_js, folium.Map.default_css))
    page = hotspot_map_page(demo["hotspots"], demo["layers"], PageOptions(asset_base="/static"))
    scripts, links = SCRIPT_SRC.findall(page), LINK_HREF.findall(page)
    v = f"?v={static_version()}"  # named with the assets' version: kept a year (api.delivery)
    assert all(u.endswith(v) for u in scripts + links), scripts + links
    scripts, links = [u.removesuffix(v) for u in scripts], [u.removesuffix(v) for u in links]
    assert scripts[0] == "/static/leaflet/leaflet.js" and "/static/maps/planner.js" in scripts
    assert all(u.startswith("/static/") for u in scripts)
    assert links == ["/static/leaflet/leaflet.css", "/static/maps/planner.css"]
    assert not CDN_URL.search(page) and "jquery" not in page.lower()
    # folium's lists are class-level: a page's own assets must not change them for others
    assert (folium.Map.default_js, folium.Map.default_css) == before
    other = folium.Map(tiles=None)
    assert any("cdn.jsdelivr.net" in url for _, url in other.default_js)
    # the basemap is the default OpenStreetMap, with its attribution
    assert "tile.openstreetmap.org" in page and "OpenStreetMap" in page


def test_inline_page_opens_from_disk_with_nothing_to_fetch(demo):
    image = density_image(demo["grid"])
    page = hotspot_map_page(demo["hotspots"], demo["layers"],
                       PageOptions(inline=True, tiles_url=None, density=image, max_zoom=18,
                                   summary="a summary", attribution="Contains OS data"))
    assert SCRIPT_SRC.findall(page) == [] and LINK_HREF.findall(page) == []
    assert "/static/" not in page
    assert f"Leaflet {LEAFLET_VERSION}" in page or "leaflet" in page.lower()
    assert "data:image/png;base64," in page  # the overlay, and Leaflet's own images
    # no tile layer made (basemap.js, inline, holds L.tileLayer for a force's offline tiles)
    assert "tile.openstreetmap.org" not in page and "tile_layer_" not in page
    assert '"maxZoom": 18' in page  # no tile layer: the map itself says how far it zooms
    assert "Contains OS data" in page and 'id="hs-controls"' in page
    # the only URLs left are links in attribution text and the SVG namespace
    urls = set(re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)""", page))
    assert urls <= {"https://leafletjs.com"}, urls


def test_text_from_data_cannot_leave_its_string(demo):
    hotspots = demo["hotspots"].copy()
    evil = ["</script><script>alert(1)</script>", "${alert(1)}", "`+alert(1)+`",
            "<img src=x onerror=alert(1)>"]
    hotspots["place"] = evil[0]
    hotspots["top_locations"] = [evil for _ in range(len(hotspots))]
    layers = dict(demo["layers"])
    heritage = layers["heritage_sites"].copy()
    heritage["name"] = "<b>Bold</b> & </script>"
    layers["heritage_sites"] = heritage
    form = FormState(action='/"><script>x()</script>', priorities=[("p", '<i>"x"</i>')],
                     keep=[('a"b', '"><script>y()</script>')])
    page = hotspot_map_page(hotspots, layers,
                       PageOptions(form=form, summary="<script>z()</script>",
                                   title="</title><script>t()</script>",
                                   attribution="<img src=x onerror=alert(2)>"))
    for text in ("</script><script>alert(1)", "<img src=x", "<script>x()", "<script>y()",
                 "<script>z()", "<script>t()", "<b>Bold</b>", "<i>"):
        assert text not in page, text
    # the strings still arrive whole (as JSON, decoded by the browser)
    data = next(c for c in geojson_layers(page) if c["features"] and "rank" in
            c["features"][0]["properties"])
    assert data["features"][0]["properties"]["place"] == evil[0]
    assert data["features"][0]["properties"]["top_locations"] == evil
    assert "&lt;i&gt;&quot;x&quot;&lt;/i&gt;" in page


def test_empty_table_and_no_layers_still_make_a_page(demo):
    empty = demo["hotspots"].iloc[0:0]
    page = hotspot_map_page(empty, {}, PageOptions(tiles_url=None))
    assert 'id="hs-legend"' in page and "L.map(" in page
    assert [c["features"] for c in geojson_layers(page)] == [[]]


def test_density_image_is_web_mercator_png_with_bounds(demo):
    grid = demo["grid"]
    image = density_image(grid, max_pixels=300)
    pixels = decode_png(image.png)
    assert max(pixels.shape[:2]) <= 300
    (s, w), (n, e) = image.bounds
    grid_ll = gpd.GeoSeries.from_xy([grid.bounds[0], grid.bounds[2]],
                                    [grid.bounds[1], grid.bounds[3]], crs=demo["crs"]
                                    ).to_crs("EPSG:4326")
    assert s < grid_ll.y.min() + 0.01 and n > grid_ll.y.max() - 0.01
    assert w < grid_ll.x.min() + 0.01 and e > grid_ll.x.max() - 0.01
    alpha = pixels[:, :, 3]
    assert (alpha == 0).any() and (alpha > 0).any()  # zero density is see-through
    assert image.top_per_km2 > 0


def test_density_bands_nest_and_cover_the_densest_cells(demo):
    grid = demo["grid"]
    bands = density_bands(grid, bands=4)
    assert list(bands["band"]) == [1, 2, 3, 4]
    assert (np.diff(bands["lower"]) > 0).all()
    assert (bands["upper"].iloc[:-1].to_numpy() == bands["lower"].iloc[1:].to_numpy()).all()
    r, c = np.unravel_index(np.argmax(grid.values), grid.shape)
    peak = gpd.points_from_xy([grid.x0 + (c + 0.5) * grid.cell_size_m],
                              [grid.y1 - (r + 0.5) * grid.cell_size_m])[0]
    assert bands.geometry.iloc[-1].buffer(grid.cell_size_m).contains(peak)
    assert not bands.geometry.iloc[0].intersects(peak)
    with pytest.raises(ValueError, match="bands"):
        density_bands(grid, bands=0)


def test_cli_writes_a_single_file_map(tmp_path: Path, demo_files):
    from typer.testing import CliRunner

    from api.cli import app

    db = tmp_path / "demo.sqlite"
    store = SQLiteStore.open(db)
    load_demo(store, demo_files)
    store.close()
    out = tmp_path / "plan.html"
    r = CliRunner().invoke(app, ["map", "--out", str(out), "--database", str(db),
                                 "--tiles", "none", "--priority", "rural", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["hotspots"] > 3 and summary["bytes"] == out.stat().st_size
    page = out.read_text("utf-8")
    assert SCRIPT_SRC.findall(page) == [] and "/static/" not in page
    bad = CliRunner().invoke(app, ["map", "--out", str(tmp_path / "x.html"), "--database",
                                   str(db), "--priority", "nope"])
    assert bad.exit_code != 0 and "priority" in bad.output
    backwards = CliRunner().invoke(app, ["map", "--out", str(tmp_path / "x.html"),
                                         "--database", str(db), "--from", "2024-06",
                                         "--to", "2024-01"])
    assert backwards.exit_code == 2 and "--to" in backwards.output
    assert not (tmp_path / "x.html").exists()


def test_periods_in_words_and_the_period_a_trend_compares_with():
    from api.services.hotspot_map import download_name, page_period
    from api.services.hotspots import previous_period
    from api.services.selection import period_bound
    from maps.hotspot_map import period_label

    assert period_label("2026-05-01T00:00:00+01:00", "2026-11-01T00:00:00+00:00") == \
        "1 May \u2013 31 Oct 2026"
    assert period_label("2025-11-01T00:00:00+00:00", "2026-05-01T00:00:00+01:00") == \
        "1 Nov 2025 \u2013 30 Apr 2026"
    assert period_label(None, "2026-05-01") == ""
    tz = "Europe/London"
    start = period_bound("2026-05", tz, end=False, field="from")
    end = period_bound("2026-10", tz, end=True, field="to")
    assert start is not None and end is not None
    before = previous_period(start, end, tz)
    # six calendar months before (November to April), not 184 days before
    assert before == (period_bound("2025-11", tz, end=False, field="from"), start)
    # a period that is not whole months: the same number of seconds before
    assert previous_period(1_000_000, 1_000_600, tz) == (999_400, 1_000_000)
    metadata = {"selection": {"from": "2026-05-01T00:00:00+01:00",
                              "to": "2026-11-01T00:00:00+00:00"},
                "previous_selection": {"from": "2025-11-01T00:00:00+00:00",
                                       "to": "2026-05-01T00:00:00+01:00"}}
    assert page_period(metadata) == ("1 May \u2013 31 Oct 2026, against "
                                     "1 Nov 2025 \u2013 30 Apr 2026")
    assert download_name("Demo Shire", metadata, ".html") == \
        "demo-shire-hotspots-2026-05-to-2026-10.html"
    assert download_name("<Évil> \"name\"", {}, ".csv") == "vil-name-hotspots.csv"
    assert "trends not known" in page_period({**metadata, "previous_selection": None})


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (64, 33), (200, 300)])
def test_the_png_writer_gives_the_pixels_back(shape: tuple[int, int]) -> None:
    from folium.utilities import write_png

    from maps.density import rgba_png

    rng = np.random.default_rng(shape[0])
    pixels = rng.integers(0, 256, (*shape, 4), dtype=np.uint8)
    pixels[: shape[0] // 2, :, 3] = 0  # see-through rows, as a density image has
    png = rgba_png(pixels)
    assert np.array_equal(decode_png(png), pixels)
    assert np.array_equal(decode_png(png), decode_png(write_png(pixels, origin="upper")))
    with pytest.raises(ValueError, match="RGBA"):
        rgba_png(pixels[:, :, :3])


@pytest.mark.parametrize("top", [0.0, 1.0, 30.0])
def test_density_colours_are_the_formula_truncated_into_bytes(top: float) -> None:
    from maps.styles import density_colours

    rng = np.random.default_rng(2)
    values = np.concatenate([np.linspace(0, 2 * max(top, 1), 100_000),
                             rng.exponential(10, 100_000), np.zeros(10)]).reshape(10, -1)
    t = np.sqrt(np.clip(values / top, 0, 1)) if top else np.zeros_like(values)
    want = np.stack([255 - 40 * t, 240 - 210 * t, 120 - 100 * t,
                     np.where(values > top * 1e-3, 40 + 170 * t, 0)], axis=-1)
    got = density_colours(values, top)
    assert got.dtype == np.uint8 and got.shape == (*values.shape, 4)
    assert np.array_equal(got, np.floor(want).astype(np.uint8))
    if top:
        assert got[..., 3].max() == 210 and got[..., 3].min() == 0  # opaque peaks, clear zeros


@pytest.mark.parametrize("inline", [False, True])
def test_template_syntax_in_any_text_stays_text(demo, inline: bool) -> None:
    # folium's elements compiled their rendered output (names and all) as Jinja templates:
    # "{{ ... }}" in a name ran on the server (maps.branca_text)
    ran = "{% if true %}JINJA-RAN{% endif %}{{ cycler.__init__.__globals__.os.name.upper() }}"
    hotspots = demo["hotspots"].copy()
    hotspots["name"] = [f"{n} {ran}" for n in hotspots["name"]]
    hotspots["place"] = [f"Town {ran}"] * len(hotspots)
    layers = {k: (None if v is None else v.assign(name=[f"{n} {ran}" for n in v["name"]])
                  if "name" in v.columns else v) for k, v in demo["layers"].items()}
    page = hotspot_map_page(hotspots, layers, PageOptions(
        tiles_url=None, inline=inline, title=f"Title {ran}", summary=f"Summary {ran}",
        headline=f"Headline {ran}", period=f"Period {ran}", details=f"Details {ran}",
        attribution=f"Attribution {ran}"))
    rest = page.replace(ran, "").replace(json.dumps(ran)[1:-1], "")
    assert "JINJA-RAN" not in rest and "POSIX" not in page
    assert page.count(ran) + page.count(json.dumps(ran)[1:-1]) > len(hotspots)


def test_every_folium_element_renders_through_the_text_only_render() -> None:
    from branca.element import MacroElement

    from maps import branca_text
    from maps.styles import hotspot_style

    # importing maps installs it (a branca upgrade that changed the name would show here)
    assert MacroElement.render is branca_text._render
    # and the one value folium writes into a script without escaping keeps to a class name
    style = hotspot_style("urban</script><script>alert(1)//", "new hot spot")
    assert style["className"] == "hs-hotspot hs-urbanscriptscriptalert1 hs-em-newhotspot"
    assert hotspot_style("town_centre", None)["className"] == "hs-hotspot hs-town_centre hs-em-none"
