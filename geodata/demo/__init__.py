"""The demo force area: a fictional but plausible shire county in British National Grid.

:func:`write_demo` generates, from a seed and deterministically, everything a force would have:

- reference layers as GeoJSON (WGS84, RFC 7946): the force boundary, two market towns' town
  centres, built-up areas for the towns and a dozen villages, heritage sites (churches,
  scheduled monuments, a castle, a Roman fort), two patrol bases, a road network with speeds,
  and the ONS-style rural-urban lookup (CSV) for its fictional LSOAs;
- a force export CSV with exact date-times and grid references (the source of time-of-day
  profiles and patrol timing);
- the same incidents as data.police.uk-style monthly street-level CSVs, with what real files
  do: months only, blank Crime ID and outcome on anti-social behaviour, crimes snapped to
  shared anonymous map points, a few crimes with no location;
- the planted hotspots as ground truth (GeoJSON), for tests of the hotspot engine.

:func:`load_demo` then loads the layers and the force export into a store through the same
readers a force's own files go through. Places and people are fictional; they sit over real
map tiles only so the maps have a background.

Modules: :mod:`~geodata.demo.kinds` (kinds of incident and when they happen),
:mod:`~geodata.demo.county` (the places), :mod:`~geodata.demo.incidents` (planted hotspots and
background), :mod:`~geodata.demo.files` (writing and loading the files).
"""

from geodata.demo.county import County, lay_out_county
from geodata.demo.files import (
    DEMO_FORCE,
    DEMO_SEED,
    FORCE_EXPORT_FILE,
    LAYER_FILES,
    POLICE_DIR,
    ROADS_FILE,
    TRUTH_FILE,
    DemoFiles,
    load_demo,
    write_demo,
)
from geodata.demo.incidents import DEMO_INCIDENTS, DEMO_MONTHS, DEMO_START, Planted, demo_months
from geodata.demo.kinds import KINDS, Kind

__all__ = [
    "DEMO_FORCE",
    "DEMO_INCIDENTS",
    "DEMO_MONTHS",
    "DEMO_SEED",
    "DEMO_START",
    "FORCE_EXPORT_FILE",
    "KINDS",
    "LAYER_FILES",
    "POLICE_DIR",
    "ROADS_FILE",
    "TRUTH_FILE",
    "County",
    "DemoFiles",
    "Kind",
    "Planted",
    "demo_months",
    "lay_out_county",
    "load_demo",
    "write_demo",
]
