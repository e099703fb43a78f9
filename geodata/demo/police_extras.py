"""The demo's data.police.uk-style outcomes and stop and search files, one of each a month,
beside its street-level files (``police-uk/``), so that ``hotspot ingest police-uk/`` loads a
downloaded folder whole.

Both are drawn from a random generator of their own (seeded from the demo's seed), so the
demo's other files, and every figure the demo's tests pin, are the same with or without them.

- Outcomes (``YYYY-MM-demo-shire-outcomes.csv``): for crimes whose street-level file says
  "Under investigation" or "Awaiting court outcome", a later outcome one to four months after
  the crime's month (while the demo lasts); a few repeat the outcome the street file already
  gives (unchanged when applied); and a few name crimes from before the demo's first month
  (no street file holds them: unmatched, and nothing is added).
- Stop and search (``YYYY-MM-demo-shire-stop-and-search.csv``): searches in the towns (near
  town centres, snapped to map points like crimes), date-times with a UTC offset, about a
  quarter with no location, as real files have.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.coords import WGS84, transform
from geodata.schema import DEFAULT_CRS, DEFAULT_TIMEZONE

OUTCOME_COLUMNS = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                   "Location", "LSOA code", "LSOA name", "Outcome type"]
STOP_SEARCH_COLUMNS = ["Type", "Date", "Part of a policing operation", "Policing operation",
                       "Latitude", "Longitude", "Gender", "Age range", "Self-defined ethnicity",
                       "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome",
                       "Outcome linked to object of search",
                       "Removal of more than just outer clothing"]
NEXT_OUTCOMES = {
    "Under investigation": ("Investigation complete; no suspect identified",
                            "Unable to prosecute suspect", "Offender given a caution",
                            "Local resolution", "Awaiting court outcome"),
    "Awaiting court outcome": ("Offender fined", "Offender given a community sentence",
                               "Offender given suspended prison sentence",
                               "Offender sent to prison", "Defendant found not guilty"),
}
"""What a crime's outcome may become after the one its street-level file gives."""
OUTCOME_SHARE = 0.6
"""Share of the crimes with a pending outcome that get a later one."""
SEARCHES_PER_MONTH = 40
"""Stop and search records a month (every demo size)."""
_OBJECTS = (("Controlled drugs", "Misuse of Drugs Act 1971 (section 23)", 0.55),
            ("Offensive weapons", "Police and Criminal Evidence Act 1984 (section 1)", 0.15),
            ("Stolen goods", "Police and Criminal Evidence Act 1984 (section 1)", 0.15),
            ("Article for use in theft", "Police and Criminal Evidence Act 1984 (section 1)",
             0.08),
            ("Articles for use in criminal damage",
             "Police and Criminal Evidence Act 1984 (section 1)", 0.05),
            ("Firearms", "Firearms Act 1968 (section 47)", 0.02))
_SEARCH_OUTCOMES = (("A no further action disposal", 0.68), ("Arrest", 0.14),
                    ("Community resolution", 0.09), ("Khat or Cannabis warning", 0.05),
                    ("Penalty Notice for Disorder", 0.02), ("Summons / charged by post", 0.02))
_TYPES = (("Person search", 0.8), ("Person and Vehicle search", 0.15), ("Vehicle search", 0.05))
_ETHNICITY = (("White - English/Welsh/Scottish/Northern Irish/British", "White", 0.8),
              ("White - Any other White background", "White", 0.06),
              ("Asian/Asian British - Any other Asian background", "Asian", 0.04),
              ("Black/African/Caribbean/Black British - Any other Black/African/Caribbean "
               "background", "Black", 0.03),
              ("Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background",
               "Other", 0.02),
              ("", "", 0.05))
_AGES = (("10-17", 0.2), ("18-24", 0.4), ("25-34", 0.25), ("over 34", 0.15))


def _pick(rng: np.random.Generator, choices: tuple[tuple[Any, ...], ...], n: int) -> np.ndarray:
    """``n`` indices into ``choices``, drawn by the weight each ends with."""
    weights = np.array([c[-1] for c in choices], dtype=np.float64)
    return rng.choice(len(choices), size=n, p=weights / weights.sum())


def _month_after(month: str, k: int) -> str:
    return str(pd.Period(month, freq="M") + k)


def write_outcome_csvs(folder: Path, police_rows: list[list[str]], months: list[str],
                       rng: np.random.Generator, *, force: str) -> list[Path]:
    """The monthly outcomes files (see the module text) of the street-level rows
    ``police_rows`` (in the street files' column order); returns their paths, oldest first."""
    last = months[-1]
    by_month: dict[str, list[list[str]]] = {m: [] for m in months}
    for row in police_rows:
        crime_id, month, outcome = row[0], row[1], row[10]
        if not crime_id or outcome not in NEXT_OUTCOMES or rng.random() >= OUTCOME_SHARE:
            continue
        later = _month_after(month, int(rng.integers(1, 5)))
        if later > last:
            continue
        choices = NEXT_OUTCOMES[outcome]
        same = rng.random() < 0.05  # republished as it was
        new = outcome if same else choices[int(rng.integers(len(choices)))]
        by_month[later].append([crime_id, later, *row[2:9], new])
    for m in months[: len(months) // 2]:  # crimes from before the demo's first month
        for k in range(3):
            old = hashlib.sha256(f"demo-shire:before:{m}:{k}".encode()).hexdigest()
            by_month[m].append([old, m, force, force, "", "", "No Location", "", "",
                                "Investigation complete; no suspect identified"])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in months:
        path = folder / f"{m}-demo-shire-outcomes.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(OUTCOME_COLUMNS)
            writer.writerows(by_month[m])
        paths.append(path)
    return paths


def write_stop_search_csvs(folder: Path, points: np.ndarray, near_town: np.ndarray,
                           months: list[str], rng: np.random.Generator) -> list[Path]:
    """The monthly stop and search files (see the module text): :data:`SEARCHES_PER_MONTH` a
    month at the map points ``points`` (EPSG:27700 metres) where ``near_town``; returns their
    paths, oldest first."""
    spots = np.flatnonzero(near_town)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for m in months:
        n = SEARCHES_PER_MONTH
        start = pd.Timestamp(f"{m}-01", tz=DEFAULT_TIMEZONE)
        seconds = (start + pd.offsets.MonthBegin(1) - start).total_seconds()
        when = start + pd.to_timedelta(np.sort(rng.uniform(0, seconds, n)), unit="s")
        when = when.floor("min").tz_convert("UTC")
        at = points[spots[rng.integers(len(spots), size=n)]]
        lon, lat, _info = transform(at[:, 0], at[:, 1], DEFAULT_CRS, WGS84)
        unlocated = rng.random(n) < 0.25
        objects, outcomes = _pick(rng, _OBJECTS, n), _pick(rng, _SEARCH_OUTCOMES, n)
        types, ethnic, ages = _pick(rng, _TYPES, n), _pick(rng, _ETHNICITY, n), _pick(rng, _AGES, n)
        male = rng.random(n) < 0.85
        rows = []
        for i in range(n):
            obj, law, _w = _OBJECTS[int(objects[i])]
            outcome = _SEARCH_OUTCOMES[int(outcomes[i])][0]
            kind = _TYPES[int(types[i])][0]
            person = kind != "Vehicle search"
            rows.append([
                kind, when[i].strftime("%Y-%m-%dT%H:%M:%S+00:00"), "False", "",
                "" if unlocated[i] else f"{lat[i]:.6f}", "" if unlocated[i] else f"{lon[i]:.6f}",
                ("Male" if male[i] else "Female") if person else "",
                _AGES[int(ages[i])][0] if person else "",
                _ETHNICITY[int(ethnic[i])][0] if person else "",
                _ETHNICITY[int(ethnic[i])][1] if person else "",
                law, obj, outcome,
                "" if outcome == "A no further action disposal" else
                ("True" if rng.random() < 0.7 else "False"),
                "False" if person else "",
            ])
        path = folder / f"{m}-demo-shire-stop-and-search.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(STOP_SEARCH_COLUMNS)
            writer.writerows(rows)
        paths.append(path)
    return paths
