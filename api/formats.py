"""Results written for people and files: the attribution line, percentages in words, CSV
cells a spreadsheet will not run as formulas, and the map tile address setting."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

ATTRIBUTION = (
    "Incidents from data.police.uk contain public sector information licensed under the Open "
    "Government Licence v3.0. Hotspots describe where crime was recorded, not the risk to any "
    "person."
)
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
"""The licence of data.police.uk's data (the Open Government Licence v3.0)."""


def percent(share: float) -> str:
    """A share (0 to 1) as a percentage in words, as the summaries write it: 0.00326 ->
    "0.33 %", 0.53 -> "53 %"."""
    return f"{share * 100:.2f} %" if share < 0.01 else f"{share * 100:.0f} %"


def tile_url(value: str) -> str | None:
    """A basemap tile URL setting: None for 'none' or empty (no basemap)."""
    return None if value.strip().lower() in ("", "none") else value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: lists joined, dicts as JSON, text that a spreadsheet would run as a formula
    prefixed with an apostrophe (data text such as a location must never run)."""
    if isinstance(value, dict):
        value = json.dumps(value, sort_keys=False)
    elif isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_cell` applied to every text column, whether pandas holds the
    text as ``object`` or as its ``str`` dtype (pandas 3 does the latter: a check for
    ``object`` alone let a name such as ``=HYPERLINK(...)`` through)."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(csv_cell).astype(object)
    return out
