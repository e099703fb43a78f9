"""Road speeds (km/h) for the roads layer: from a speed column, else from the road class.

OS Open Roads gives classes (``class``), OpenStreetMap ``highway`` and often ``maxspeed``;
forces' own layers vary, so the column is found by its usual names.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import InvalidLayer

DEFAULT_ROAD_KMH = 48.0
"""Speed of a road with no speed and no class we know (about 30 mph), km/h."""
ROAD_CLASS_KMH = (
    (("motorway",), 96.0),
    (("a road", "a_road", "primary", "trunk"), 64.0),
    (("b road", "b_road", "secondary"), 56.0),
    (("minor", "tertiary", "unclassified", "classified unnumbered"), 48.0),
    (("local", "residential", "street", "living"), 32.0),
    (("track", "service", "restricted", "private", "path"), 20.0),
)
"""Speeds (km/h) by road class where a layer has classes but no speeds (OS Open Roads' `class`
and OpenStreetMap's `highway`): typical speeds with junctions, not speed limits."""
_SPEED_COLUMNS = ("speed_kph", "speed_kmh", "speed", "maxspeed", "max_speed", "speed_limit",
                  "avg_speed")
_MPH_COLUMNS = ("speed_mph", "maxspeed_mph", "speed_limit_mph")
_CLASS_COLUMNS = ("class", "road_class", "roadclassification", "highway", "kind", "type")


def road_speeds(frame: pd.DataFrame, source: str, info: dict[str, Any]) -> np.ndarray:
    """Each road's speed, km/h: from a speed column (km/h, or mph by its name), else from its
    class (:data:`ROAD_CLASS_KMH`), else :data:`DEFAULT_ROAD_KMH`; ``info`` says which."""
    lower = {str(c).casefold(): c for c in frame.columns if c != frame.geometry.name}
    for names, factor in ((_SPEED_COLUMNS, 1.0), (_MPH_COLUMNS, 1.609344)):
        column = next((lower[n] for n in names if n in lower), None)
        if column is None:
            continue
        text = frame[column].astype(str).str.extract(r"([0-9]+(?:\.[0-9]+)?)")[0]
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        mph = frame[column].astype(str).str.contains("mph", case=False).to_numpy()
        values = values * np.where(mph, 1.609344, factor)
        bad = ~np.isfinite(values) | (values <= 0) | (values > 200)
        if bad.all():
            raise InvalidLayer(f"{source}: the speed column {column!r} has no usable speeds")
        info["speed_column"] = column
        if bad.any():
            info["speeds_defaulted"] = int(bad.sum())
            values[bad] = DEFAULT_ROAD_KMH
        return values
    column = next((lower[n] for n in _CLASS_COLUMNS if n in lower), None)
    if column is not None:
        classes = frame[column].astype(str).str.casefold()
        values = np.full(len(frame), DEFAULT_ROAD_KMH)
        known = np.zeros(len(frame), dtype=bool)
        for words, kmh in reversed(ROAD_CLASS_KMH):  # the first match in the table wins
            hit = classes.map(lambda c, w=words: any(x in c for x in w)).to_numpy(dtype=bool)
            values[hit] = kmh
            known |= hit
        info["speed_from_class"] = column
        info["speeds_defaulted"] = int((~known).sum())
        return values
    info["speed_default_kmh"] = DEFAULT_ROAD_KMH
    return np.full(len(frame), DEFAULT_ROAD_KMH)
