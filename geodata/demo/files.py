"""The demo's files: where each goes, :func:`write_demo` to write them, :func:`load_demo` to
load the layers and the force export into a store through the normal readers."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import Point

from geodata.coords import WGS84, transform
from geodata.demo.county import LSOA_STEP_M, County, farm_tracks, lay_out_county, lsoa_grid
from geodata.demo.incidents import DEMO_INCIDENTS, Planted, demo_months, generate_incidents
from geodata.demo.kinds import KINDS, OUTCOMES
from geodata.demo.plant_files import (
    BUSINESS_FILE,
    NEIGHBOUR_DIR,
    PLANTS_FILE,
    plants_truth,
    shared_crimes,
    write_business_reports,
    write_neighbour_csvs,
    write_plants_truth,
)
from geodata.demo.plants import NEIGHBOUR_FORCE, Plants
from geodata.ingest import IngestReport, ingest
from geodata.layers import (
    BUILT_UP_AREAS,
    FORCE_BOUNDARY,
    HERITAGE_SITES,
    PATROL_BASES,
    ROADS,
    RURAL_URBAN_LOOKUP,
    TOWN_CENTRES,
    force_area,
    read_layer,
)
from geodata.readers.base import ReadOptions
from geodata.readers.force import ForceCsvReader
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE
from geodata.stores.base import DEMO

if TYPE_CHECKING:
    from geodata.stores import Store

DEMO_SEED = 20240501
DEMO_FORCE = "Demo Shire Police"

LAYER_FILES = {
    FORCE_BOUNDARY: "layers/force_boundary.geojson",
    TOWN_CENTRES: "layers/town_centres.geojson",
    BUILT_UP_AREAS: "layers/built_up_areas.geojson",
    RURAL_URBAN_LOOKUP: "layers/rural_urban_lookup.csv",
    HERITAGE_SITES: "layers/heritage_sites.geojson",
    PATROL_BASES: "layers/patrol_bases.geojson",
    ROADS: "layers/roads.geojson",
}
ROADS_FILE = LAYER_FILES[ROADS]
FORCE_EXPORT_FILE = "force-export.csv"
TRUTH_FILE = "truth/planted_hotspots.geojson"
POLICE_DIR = "police-uk"

_POLICE_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                   "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                   "Context"]


@dataclass(frozen=True)
class DemoFiles:
    """Where :func:`write_demo` put everything."""

    root: Path
    force_export: Path
    police_csvs: list[Path]
    layers: dict[str, Path]
    roads: Path
    truth: Path
    neighbour_csvs: list[Path] = field(default_factory=list)
    """The neighbouring force's data.police.uk-style monthly CSVs (the cross-border cluster)."""
    business_reports: Path | None = None
    """The partnership's submissions (CSV), loaded by ``hotspot serve --demo``."""
    plants: Path | None = None
    """The ground truth of :mod:`geodata.demo.plants` (JSON)."""
    outcome_csvs: list[Path] = field(default_factory=list)
    """data.police.uk-style monthly outcomes files beside the street files (Crime IDs of the
    street files' crimes; :mod:`geodata.demo.police_extras`)."""
    stop_search_csvs: list[Path] = field(default_factory=list)
    """data.police.uk-style monthly stop and search files beside the street files."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the paths."""
        return {
            "root": str(self.root),
            "force_export": str(self.force_export),
            "police_csvs": [str(p) for p in self.police_csvs],
            "layers": {k: str(v) for k, v in self.layers.items()},
            "roads": str(self.roads),
            "truth": str(self.truth),
            "neighbour_csvs": [str(p) for p in self.neighbour_csvs],
            "business_reports": str(self.business_reports) if self.business_reports else None,
            "plants": str(self.plants) if self.plants else None,
            "outcome_csvs": [str(p) for p in self.outcome_csvs],
            "stop_search_csvs": [str(p) for p in self.stop_search_csvs],
        }


@dataclass(frozen=True)
class _Details:
    """What each generated incident needs besides its place and time, one array entry each."""

    lsoa_code: np.ndarray
    lsoa_name: np.ndarray
    nearest_point: np.ndarray
    """Index of the county's nearest map point (the one data.police.uk would snap it to)."""
    street: np.ndarray
    is_asb: np.ndarray
    outcome: np.ndarray
    force_type: np.ndarray
    police_type: np.ndarray


def write_demo(
    root: str | Path,
    *,
    seed: int = DEMO_SEED,
    incidents: int = DEMO_INCIDENTS,
    progress: Callable[[str], None] | None = None,
) -> DemoFiles:
    """Generate the demo force area's files under ``root`` (deterministic for a seed).

    Parameters
    ----------
    root
        Folder to write into (created).
    seed
        Seed of the random generator: the same seed gives the same files.
    incidents
        About how many incidents over the 24 months (the planted hotspots scale with it).
    progress
        Called with a short message as each part is written.
    """
    say = progress or (lambda _m: None)
    root = Path(root)
    rng = np.random.default_rng(seed)
    say("laying out the county")
    county = lay_out_county(rng)
    layers = {k: root / v for k, v in LAYER_FILES.items()}
    _write_places(layers, county)
    roads_path = root / ROADS_FILE
    _write_roads(roads_path, county)
    grid, lsoas = lsoa_grid(county)
    _write_rural_urban_lookup(layers[RURAL_URBAN_LOOKUP], lsoas)

    say(f"generating {incidents:,} incidents")
    df, planted, plants = generate_incidents(county, incidents, rng)
    details = _details(df, county, grid, lsoas, rng)

    say("writing the force export")
    force_export = root / FORCE_EXPORT_FILE
    _write_force_export(force_export, df, details)

    say("writing data.police.uk-style monthly files")
    police_csvs, placed, police_rows = _write_police_csvs(root / POLICE_DIR, df, details,
                                                          county, rng, plants)

    say(f"writing {NEIGHBOUR_FORCE}'s files and the partnership's submissions")
    months = demo_months()
    shared = [police_rows[i] for i in shared_crimes(df, placed & ~details.is_asb)]
    neighbour = write_neighbour_csvs(root / NEIGHBOUR_DIR, plants, county, months, shared)
    business = write_business_reports(root / BUSINESS_FILE, plants)

    say("writing the planted hotspots and plants (ground truth)")
    truth = root / TRUTH_FILE
    _write_truth(truth, df, planted)
    plants_path = write_plants_truth(root / PLANTS_FILE, plants_truth(
        plants, county, df, months, neighbour=neighbour, duplicates=shared,
        business=business, snapped=np.where(placed, details.nearest_point, -1)))
    say("writing data.police.uk-style outcomes and stop and search files")
    outcome_csvs, stop_search_csvs = _write_police_extras(root / POLICE_DIR, police_rows,
                                                          county, months, seed)
    (root / "README.md").write_text(_README.format(n=len(df), seed=seed), "utf-8")
    return DemoFiles(root=root, force_export=force_export, police_csvs=police_csvs,
                     layers=layers, roads=roads_path, truth=truth, neighbour_csvs=neighbour,
                     business_reports=business, plants=plants_path, outcome_csvs=outcome_csvs,
                     stop_search_csvs=stop_search_csvs)


def _write_police_extras(folder: Path, police_rows: list[list[str]], county: County,
                         months: list[str], seed: int) -> tuple[list[Path], list[Path]]:
    """The monthly outcomes and stop and search files (:mod:`geodata.demo.police_extras`),
    from a random generator of their own: the other files stay as they were."""
    from geodata.demo.police_extras import write_outcome_csvs, write_stop_search_csvs

    rng = np.random.default_rng([seed, 17])
    towns = shapely.union_all([t["built_up"] for t in county.towns])
    near_town = shapely.contains_xy(towns, county.points[:, 0], county.points[:, 1])
    outcomes = write_outcome_csvs(folder, police_rows, months, rng, force=DEMO_FORCE)
    searches = write_stop_search_csvs(folder, county.points, near_town, months, rng)
    return outcomes, searches


def _write_geojson(path: Path, frame: gpd.GeoDataFrame) -> None:
    """Write a frame as compact GeoJSON in WGS84, coordinates to 1e-6 degrees."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wgs = frame.to_crs(WGS84)
    wgs = wgs.set_geometry(shapely.set_precision(wgs.geometry.values, 1e-6))
    data = wgs.to_geo_dict(drop_id=True)
    path.write_text(json.dumps(data, separators=(",", ":")), "utf-8")


def _frame_of(features: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """A frame (British National Grid) of dicts of attributes with a ``geometry``."""
    return gpd.GeoDataFrame(
        [{k: v for k, v in f.items() if k != "geometry"} for f in features],
        geometry=[f["geometry"] for f in features], crs=DEFAULT_CRS)


def _write_places(layers: dict[str, Path], county: County) -> None:
    """The boundary, town centres, built-up areas, heritage sites and patrol bases layers."""
    crs = DEFAULT_CRS
    _write_geojson(layers[FORCE_BOUNDARY], gpd.GeoDataFrame(
        {"name": ["Demo Shire"]}, geometry=[county.boundary], crs=crs))
    _write_geojson(layers[TOWN_CENTRES], gpd.GeoDataFrame(
        {"name": [t["name"] for t in county.towns]},
        geometry=[t["town_centre"] for t in county.towns], crs=crs))
    places = county.towns + county.villages
    _write_geojson(layers[BUILT_UP_AREAS], gpd.GeoDataFrame(
        {"name": [p["name"] for p in places],
         "kind": ["town"] * len(county.towns) + ["village"] * len(county.villages)},
        geometry=[p["built_up"] for p in places], crs=crs))
    _write_geojson(layers[HERITAGE_SITES], _frame_of(county.heritage))
    tx, ty = county.towns[0]["centre"]
    ex, ey = county.towns[1]["centre"]
    _write_geojson(layers[PATROL_BASES], gpd.GeoDataFrame(
        {"name": ["Thornbury Police Station", "Elmsford Rural Crime Hub"],
         "team": ["town_centre", "rural_crime_team"]},
        geometry=[Point(tx + 150, ty + 260), Point(ex - 500, ey + 420)], crs=crs))


def _write_roads(path: Path, county: County) -> None:
    """The road network: A and B roads, town streets and farm tracks, with speeds."""
    roads = [*county.roads, *county.streets]
    roads += farm_tracks(county, roads)
    _write_geojson(path, _frame_of(roads))


def _write_rural_urban_lookup(path: Path, lsoas: list[dict[str, Any]]) -> None:
    """The ONS-style (2011 columns) rural-urban lookup of the fictional LSOAs, as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(lsoas)[["LSOA11CD", "LSOA11NM", "RUC11CD", "RUC11"]].to_csv(path, index=False)


def _details(df: pd.DataFrame, county: County, grid: np.ndarray, lsoas: list[dict[str, Any]],
             rng: np.random.Generator) -> _Details:
    """Each incident's LSOA, nearest map point and its street, crime types and outcome (drawn;
    none for anti-social behaviour)."""
    minx, miny = county.boundary.bounds[:2]
    row = np.clip(((df["y"] - miny) // LSOA_STEP_M).astype(int), 0, grid.shape[0] - 1)
    column = np.clip(((df["x"] - minx) // LSOA_STEP_M).astype(int), 0, grid.shape[1] - 1)
    cell = grid[row.to_numpy(), column.to_numpy()]
    _distance, nearest = cKDTree(county.points).query(df[["x", "y"]].to_numpy())
    kinds = df["kind"].to_numpy()
    asb_kinds = [k for k, v in KINDS.items() if v.police_type == "Anti-social behaviour"]
    is_asb = np.isin(kinds, asb_kinds)
    return _Details(
        lsoa_code=np.array([lsoas[c]["LSOA11CD"] if c >= 0 else "" for c in cell], dtype=object),
        lsoa_name=np.array([lsoas[c]["LSOA11NM"] if c >= 0 else "" for c in cell], dtype=object),
        nearest_point=nearest,
        street=county.point_names[nearest],
        is_asb=is_asb,
        outcome=np.where(is_asb, "", rng.choice(OUTCOMES, size=len(df))),
        force_type=np.array([KINDS[k].force_type for k in kinds], dtype=object),
        police_type=np.array([KINDS[k].police_type for k in kinds], dtype=object),
    )


def _write_force_export(path: Path, df: pd.DataFrame, details: _Details) -> None:
    """The force's own export: exact local date-times and whole-metre grid references."""
    export = pd.DataFrame({
        "incident_id": df["incident_id"],
        "occurred_at": df["when"].dt.strftime("%Y-%m-%dT%H:%M:%S"),
        "crime_type": details.force_type,
        "easting": df["x"].round(0).astype(int),
        "northing": df["y"].round(0).astype(int),
        "location": details.street,
        "lsoa_code": details.lsoa_code,
        "outcome": details.outcome,
    })
    export.to_csv(path, index=False, lineterminator="\n")


def _write_police_csvs(folder: Path, df: pd.DataFrame, details: _Details, county: County,
                       rng: np.random.Generator,
                       plants: Plants) -> tuple[list[Path], np.ndarray, list[list[str]]]:
    """data.police.uk-style street-level CSVs, one a month: snapped to map points, months only,
    no Crime ID on anti-social behaviour, about 0.7% of crimes with no location (never the
    planted anti-social behaviour places'). Returns the paths, which incidents have a
    location in them and every incident's row (in the frame's order)."""
    snapped = county.points[details.nearest_point]
    lon, lat, _info = transform(snapped[:, 0], snapped[:, 1], DEFAULT_CRS, WGS84)
    month = df["when"].dt.strftime("%Y-%m").to_numpy()
    no_location = rng.random(len(df)) < 0.007
    no_location &= ~df["planted"].isin([p["name"] for p in plants.asb_places]).to_numpy()
    crime_id = np.array(
        ["" if asb else hashlib.sha256(f"demo-shire:{i}".encode()).hexdigest()
         for asb, i in zip(details.is_asb, df["incident_id"], strict=True)], dtype=object)
    rows: list[list[str]] = []
    for i in range(len(df)):
        gone = bool(no_location[i])
        rows.append([
            crime_id[i], month[i], DEMO_FORCE, DEMO_FORCE,
            "" if gone else f"{lon[i]:.6f}", "" if gone else f"{lat[i]:.6f}",
            "No Location" if gone else f"On or near {details.street[i]}",
            "" if gone else details.lsoa_code[i], "" if gone else details.lsoa_name[i],
            details.police_type[i], details.outcome[i], "",
        ])
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for m in sorted(set(month.tolist())):
        path = folder / f"{m}-demo-shire-street.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(_POLICE_COLUMNS)
            writer.writerows(rows[i] for i in np.flatnonzero(month == m).tolist())
        paths.append(path)
    return paths, ~no_location, rows


def _write_truth(path: Path, df: pd.DataFrame, planted: list[Planted]) -> None:
    """The planted hotspots as circles of two standard deviations, with how many incidents."""
    counts = df.loc[df["planted"] != "", "planted"].value_counts()
    _write_geojson(path, gpd.GeoDataFrame(
        [{"name": p.name, "kind": p.kind, "category_type": KINDS[p.kind].force_type,
          "context_class": p.context, "place": p.place, "sd_m": p.sd_m,
          "incidents": int(counts.get(p.name, 0)),
          "x": round(p.centre[0], 1), "y": round(p.centre[1], 1)} for p in planted],
        geometry=[Point(p.centre).buffer(2 * p.sd_m, 16) for p in planted], crs=DEFAULT_CRS))


def load_demo(
    store: Store,
    files: DemoFiles,
    *,
    on_progress: Callable[[int, int | None], None] | None = None,
) -> IngestReport:
    """Load the demo's layers and force export into a store through the normal readers, and
    the neighbouring force's files as its own labelled source
    (:func:`geodata.neighbours.load_neighbour`).

    Raises
    ------
    StorePurposeError
        If the store holds a force's data: the demo lives in its own store.
    """
    store.claim_purpose(DEMO)
    for kind, path in files.layers.items():
        store.put_layer(read_layer(kind, path, force_crs=store.crs), purpose=DEMO)
    options = ReadOptions(area=force_area(store, 2_000.0), crs=store.crs,
                          timezone=DEFAULT_TIMEZONE)
    reader = ForceCsvReader(files.force_export, options=options)
    report = ingest(store, reader, purpose=DEMO, on_progress=on_progress)
    _load_neighbour(store, files)
    return report


def load_demo_stop_searches(store: Store, files: DemoFiles) -> int:
    """Load the demo's stop and search files (:func:`load_demo` first) through the normal
    reader, in one transaction; return how many records were new. They are kept apart from
    incidents, so no figure of the incidents, nor the data version, changes. (Apart from
    :func:`load_demo`, which the tests run many times, because reading 24 files costs about
    half a second.)"""
    return load_stop_search_files(store, files.stop_search_csvs)


def load_stop_search_files(store: Store, paths: Sequence[Path]) -> int:
    """Load the demo's stop and search files at ``paths`` in one transaction (see
    :func:`load_demo_stop_searches`); how many records were new."""
    from geodata.readers.stop_search import read_stop_search

    options = ReadOptions(area=force_area(store, 2_000.0), crs=store.crs,
                          timezone=DEFAULT_TIMEZONE)
    frames = [read_stop_search(path, options).frame for path in paths]
    if not frames:
        return 0
    counts = store.add_stop_searches(pd.concat(frames, ignore_index=True),
                                     source="demo stop and search files")
    return counts["accepted"]


def _load_neighbour(store: Store, files: DemoFiles) -> None:
    """The neighbouring force's monthly files, each through the data.police.uk reader, as the
    source :data:`~geodata.demo.plants.NEIGHBOUR_FORCE`."""
    from geodata.neighbours import load_neighbour, neighbour_read_options
    from geodata.readers.police import PoliceCsvReader

    options = neighbour_read_options(store, timezone=DEFAULT_TIMEZONE)
    for path in files.neighbour_csvs:
        load_neighbour(store, PoliceCsvReader(path, options=options), source=NEIGHBOUR_FORCE)


_README = """# Demo Shire: a fictional force area

Generated by `hotspot demo` (seed {seed}); {n:,} incidents from January 2023 to December 2024.
Every place, street and incident here is fictional; the county sits over real map tiles only
so maps have a background.

- `force-export.csv`: the force's own export, exact date-times and grid references (EPSG:27700).
- `police-uk/`: the same incidents as data.police.uk-style street-level CSVs, one per month:
  months only, blank Crime ID on anti-social behaviour, crimes snapped to shared map points,
  a few crimes with no location; beside them, monthly outcomes files (later outcomes of
  those crimes, by Crime ID, and a few of crimes from before January 2023) and stop and
  search files. Load the folder into a force store with `hotspot ingest police-uk/`.
- `layers/`: force boundary, town centres, built-up areas, heritage sites, patrol bases,
  roads (with speeds) as GeoJSON (WGS84), and the rural-urban lookup (ONS 2011 layout).
- `truth/planted_hotspots.geojson`: the hotspots planted in the data (ground truth).
- `truth/plants.json`: what is planted for the plan's priorities, with the figures to expect: a
  rising residential burglary series in Thornbury (and robbery flat, month for month),
  persistent anti-social behaviour places, a cluster of farm thefts across the border with
  Westmarch, the partnership's submissions.
- `neighbour-police-uk/`: the neighbouring force's (Westmarch Police) street-level CSVs near
  the border, the other half of that cluster; `hotspot serve --demo` loads them as a separate
  source (`hotspot ingest --neighbour` for a force's own).
- `business-reports.csv`: shops' reports of thefts and abuse of staff through the Retail and
  Business Crime Reduction Partnership (fictional); `hotspot serve --demo` loads them as
  submitted by the demo partner key.
"""
