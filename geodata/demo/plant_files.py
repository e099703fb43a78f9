"""The files of the demo's plants (:mod:`geodata.demo.plants`): the neighbouring force's
data.police.uk-style monthly CSVs, the partnership's submissions and the plants' ground truth
(``truth/plants.json``)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geodata.coords import WGS84, transform
from geodata.demo.county import County
from geodata.demo.kinds import KINDS, OUTCOMES
from geodata.demo.plants import (
    ASB_LAST_MONTHS,
    BORDER_CLUSTER,
    BURGLARY_PLACE,
    BURGLARY_RISE,
    BURGLARY_SERIES,
    FLAT_KIND,
    NEIGHBOUR_DUPLICATES,
    NEIGHBOUR_FORCE,
    Plants,
    burglary_centre,
)
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE

NEIGHBOUR_DIR = "neighbour-police-uk"
BUSINESS_FILE = "business-reports.csv"
PLANTS_FILE = "truth/plants.json"
POLICE_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                  "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
                  "Context"]
BUSINESS_COLUMNS = ["time", "lon", "lat", "type", "value_pence", "business", "description"]

_NEIGHBOUR_STREETS = ("Westmarch Road", "Carr Lane", "Moss Side", "Grange Lane",
                      "Farm/Agricultural Area", "Low Road", "Parking Area", "Beck Lane")
_POINT_STEP_M = 250.0
_LSOA_STEP_M = 3_000.0


def _lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat, _info = transform(np.asarray(x, float), np.asarray(y, float), DEFAULT_CRS, WGS84)
    return np.asarray(lon), np.asarray(lat)


def shared_crimes(df: pd.DataFrame, placed_crimes: np.ndarray) -> list[int]:
    """:data:`NEIGHBOUR_DUPLICATES` of the force's own cluster crimes (with a location in the
    force's data.police.uk files) that the neighbour's files repeat: positions in ``df``,
    spread evenly over time."""
    ours = np.flatnonzero((df["planted"] == BORDER_CLUSTER).to_numpy() & placed_crimes)
    if len(ours) <= NEIGHBOUR_DUPLICATES:
        return ours.tolist()
    return ours[np.linspace(0, len(ours) - 1, NEIGHBOUR_DUPLICATES).round().astype(int)].tolist()


def write_neighbour_csvs(folder: Path, plants: Plants, county: County, months: list[str],
                         shared: list[list[str]]) -> list[Path]:
    """The neighbour's street-level CSVs, one a month (``Reported by``/``Falls within`` the
    neighbour): its incidents snapped to its own map points (every one outside the force
    boundary), and the ``shared`` rows: the force's own crimes as the force's data.police.uk
    files have them (the same Crime ID, month, place and type) but reported by the neighbour.
    Returns the paths."""
    nb = plants.neighbour
    points, names = _neighbour_points(county, nb)
    _d, nearest = cKDTree(points).query(nb[["x", "y"]].to_numpy())
    snapped = points[nearest]
    lon, lat = _lonlat(snapped[:, 0], snapped[:, 1])
    minx, miny = snapped.min(axis=0) if len(snapped) else (0.0, 0.0)
    cell_i = ((snapped[:, 0] - minx) // _LSOA_STEP_M).astype(int)
    cell_j = ((snapped[:, 1] - miny) // _LSOA_STEP_M).astype(int)
    cells = sorted(set(zip(cell_j.tolist(), cell_i.tolist(), strict=True)))
    lsoa = {c: k + 1 for k, c in enumerate(cells)}
    types = nb["police_type"].to_numpy(dtype=object)
    month_of = pd.DatetimeIndex(nb["when"]).strftime("%Y-%m").to_numpy(dtype=object)
    rows: list[tuple[str, list[str]]] = []
    for i in range(len(nb)):
        k = lsoa[(int(cell_j[i]), int(cell_i[i]))]
        asb = types[i] == "Anti-social behaviour"
        crime_id = "" if asb else hashlib.sha256(f"westmarch:{i}".encode()).hexdigest()
        outcome = "" if asb else OUTCOMES[i % len(OUTCOMES)]
        month = str(month_of[i])
        rows.append((month, [crime_id, month, NEIGHBOUR_FORCE, NEIGHBOUR_FORCE,
                             f"{lon[i]:.6f}", f"{lat[i]:.6f}", f"On or near {names[nearest[i]]}",
                             f"E0104{k:04d}", f"Westmarch {k:03d}A", str(types[i]), outcome,
                             ""]))
    rows += [(row[1], [*row[:2], NEIGHBOUR_FORCE, NEIGHBOUR_FORCE, *row[4:]]) for row in shared]
    by_month: dict[str, list[list[str]]] = {m: [] for m in months}
    for month, row in rows:
        by_month[month].append(row)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for m in months:
        path = folder / f"{m}-westmarch-street.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(POLICE_COLUMNS)
            writer.writerows(by_month[m])
        paths.append(path)
    return paths


def _neighbour_points(county: County, nb: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour's anonymous map points: a 250 m grid over its incidents, every point at
    least 60 m outside the force boundary, each named from a few roads and places."""
    minx, miny = nb[["x", "y"]].min().to_numpy() - 500
    maxx, maxy = nb[["x", "y"]].max().to_numpy() + 500
    gx, gy = np.meshgrid(np.arange(minx, maxx, _POINT_STEP_M), np.arange(miny, maxy, _POINT_STEP_M))
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    keep = ~shapely.contains_xy(county.boundary.buffer(60), xy[:, 0], xy[:, 1])
    xy = xy[keep]
    row = ((xy[:, 1] - miny) // (2 * _POINT_STEP_M)).astype(int)
    col = ((xy[:, 0] - minx) // (3 * _POINT_STEP_M)).astype(int)
    names = np.array(_NEIGHBOUR_STREETS, dtype=object)[(row * 7 + col * 3) % len(_NEIGHBOUR_STREETS)]
    return xy, names


def write_business_reports(path: Path, plants: Plants) -> Path:
    """The partnership's submissions as CSV: local time with its offset (ISO 8601), WGS84
    longitude and latitude, type (``shoplifting`` or ``abuse_of_staff``, as the partnership's
    form names them), value in pence (blank for abuse), the shop's name and what happened."""
    b = plants.business
    lon, lat = _lonlat(b["x"].to_numpy(), b["y"].to_numpy())
    times = pd.DatetimeIndex(b["when"]).tz_localize(DEFAULT_TIMEZONE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(BUSINESS_COLUMNS)
        for i in range(len(b)):
            value = b["value_pence"].iloc[i]
            writer.writerow([times[i].isoformat(), f"{lon[i]:.6f}", f"{lat[i]:.6f}",
                             b["type"].iloc[i], "" if pd.isna(value) else str(int(value)),
                             b["business"].iloc[i], b["description"].iloc[i]])
    return path


def _monthly(when: pd.Series | pd.DatetimeIndex, months: list[str]) -> dict[str, int]:
    counts = pd.Series(pd.DatetimeIndex(when).strftime("%Y-%m")).value_counts()
    return {m: int(counts.get(m, 0)) for m in months}


def _point(x: float, y: float) -> dict[str, float]:
    lon, lat = _lonlat(np.array([x]), np.array([y]))
    return {"x": round(float(x), 1), "y": round(float(y), 1),
            "lon": round(float(lon[0]), 6), "lat": round(float(lat[0]), 6)}


def plants_truth(plants: Plants, county: County, df: pd.DataFrame, months: list[str], *,
                 neighbour: list[Path], duplicates: list[list[str]], business: Path,
                 snapped: np.ndarray) -> dict[str, Any]:
    """What was planted, with every figure a test checks by hand counting the files.

    ``snapped`` is each incident's map point in the data.police.uk-style files (-1 for one
    written with no location): a place's map point counts every anti-social behaviour report
    snapped to it, the planted and any other."""
    last = months[-ASB_LAST_MONTHS:]
    burglary = df[df["planted"] == BURGLARY_SERIES]
    flat = df[df["kind"] == FLAT_KIND]
    asb_places = []
    is_asb = (df["kind"].map(lambda k: KINDS[k].police_type) == "Anti-social behaviour")
    for place in plants.asb_places:
        mine = df[df["planted"] == place["name"]]
        monthly = _monthly(mine["when"], last)
        at_point = df[is_asb.to_numpy() & (snapped == place["point"])]
        point_monthly = _monthly(at_point["when"], last)
        asb_places.append({
            **{k: place[k] for k in ("name", "place", "street", "persistent")},
            "location": f"On or near {place['street']}",
            "address": {"easting": place["x"], "northing": place["y"]},
            "incidents": len(mine), "incidents_last_months": sum(monthly.values()),
            "months_with_asb": sum(1 for n in monthly.values() if n), "monthly": monthly,
            "map_point": {
                **_point(place["point_x"], place["point_y"]),
                "rows_last_months": sum(point_monthly.values()),
                "months_with_asb": sum(1 for n in point_monthly.values() if n),
                "monthly": point_monthly},
        })
    ours = df[df["planted"] == BORDER_CLUSTER]
    theirs = plants.neighbour[plants.neighbour["planted"] == BORDER_CLUSTER]
    b = plants.business
    return {
        "burglary_series": {
            "name": BURGLARY_SERIES, "place": BURGLARY_PLACE, "kind": "burglary",
            "crime_type": KINDS["burglary"].force_type, "police_type": "Burglary",
            "group": "residential_burglary", "rise": BURGLARY_RISE, "sd_m": 220.0,
            "centre": _point(*burglary_centre(county)),
            "incidents": len(burglary), "monthly": _monthly(burglary["when"], months),
        },
        "flat_group": {
            "kind": FLAT_KIND, "crime_type": KINDS[FLAT_KIND].force_type,
            "police_type": KINDS[FLAT_KIND].police_type, "group": "robbery",
            "incidents": len(flat), "monthly": _monthly(flat["when"], months),
        },
        "persistent_asb": {
            "crime_type": KINDS["asb"].force_type, "last_months": last,
            "places": asb_places,
        },
        "cross_border": {
            "name": BORDER_CLUSTER, "neighbour": NEIGHBOUR_FORCE, "folder": NEIGHBOUR_DIR,
            "centre": _point(*plants.border_centre), "sd_m": 350.0,
            "force_incidents": len(ours), "force_ids": ours["incident_id"].tolist(),
            "neighbour_cluster_rows": len(theirs),
            "neighbour_rows": len(plants.neighbour) + len(duplicates),
            "neighbour_outside": len(plants.neighbour),
            "duplicates_of_force": [row[0] for row in duplicates],
            "duplicates_of_force_incidents": [
                str(df["incident_id"].iloc[i]) for i in np.flatnonzero(
                    df["incident_id"].isin(_ids_of(df, duplicates)).to_numpy())],
            "files": [p.name for p in neighbour],
        },
        "business_reports": {
            "file": business.name, "rows": len(b), "submitted_by": "the demo partner key",
            "by_business": {str(k): int(v) for k, v in b["business"].value_counts().sort_index()
                            .items()},
            "by_type": {str(k): int(v) for k, v in b["type"].value_counts().sort_index().items()},
            "value_pence": int(b["value_pence"].fillna(0).sum()),
            "months": sorted(set(pd.DatetimeIndex(b["when"]).strftime("%Y-%m"))),
        },
    }


def write_plants_truth(path: Path, truth: dict[str, Any]) -> Path:
    """Write the plants' ground truth as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, indent=1), "utf-8")
    return path


def _ids_of(df: pd.DataFrame, rows: list[list[str]]) -> list[str]:
    """The force's incident ids of data.police.uk rows (their Crime ID is a hash of it)."""
    wanted = {row[0] for row in rows}
    return [i for i in df.loc[df["planted"] == BORDER_CLUSTER, "incident_id"]
            if hashlib.sha256(f"demo-shire:{i}".encode()).hexdigest() in wanted]
