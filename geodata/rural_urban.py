"""The ONS rural-urban classification lookup (CSV keyed by LSOA code), read and checked.

2011 columns LSOA11CD, RUC11CD, RUC11; 2021 columns LSOA21CD, RUC21CD, RUC21. An LSOA is rural
when its class name contains "rural" (2011: "Rural town and fringe", "Rural village and
dispersed"...; 2021: "Larger rural...", "Smaller rural...").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.errors import InvalidLayer

_LOOKUP_COLUMNS = {
    "2011": ("lsoa11cd", "ruc11cd", "ruc11"),
    "2021": ("lsoa21cd", "ruc21cd", "ruc21"),
}


def read_rural_urban_lookup(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read and check an ONS rural-urban lookup CSV: the frame (``lsoa_code``,
    ``classification_code``, ``classification``, ``is_rural``) and what was read (``info``)."""
    source = path.name
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="cp1252")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidLayer(f"{source}: cannot read the CSV: {exc}") from exc
    lowered = {c.strip().casefold(): c for c in table.columns}
    vintage = ""
    for vintage, (code, ruc_code, ruc) in _LOOKUP_COLUMNS.items():  # noqa: B007 - used below
        if code in lowered and ruc in lowered:
            out = pd.DataFrame(
                {
                    "lsoa_code": table[lowered[code]].str.strip(),
                    "classification_code": table[lowered[ruc_code]].str.strip()
                    if ruc_code in lowered
                    else "",
                    "classification": table[lowered[ruc]].str.strip(),
                }
            )
            break
    else:
        raise InvalidLayer(
            f"{source}: a rural-urban lookup needs LSOA11CD and RUC11 (2011) or LSOA21CD and "
            f"RUC21 (2021) columns; columns are {list(table.columns)}"
        )
    if len(out) == 0:
        raise InvalidLayer(f"{source}: the lookup has no rows")
    blank = np.flatnonzero(((out["lsoa_code"] == "") | (out["classification"] == "")).to_numpy())
    if blank.size:
        raise InvalidLayer(
            f"{source}: row {int(blank[0]) + 2} has no LSOA code or no classification"
        )
    dup = out["lsoa_code"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InvalidLayer(f"{source}: LSOA {out['lsoa_code'].iloc[i]} appears twice (row {i + 2})")
    out["is_rural"] = out["classification"].str.casefold().str.contains("rural")
    info = {
        "vintage": vintage,
        "features": len(out),
        "rural_lsoas": int(out["is_rural"].sum()),
        "rule": "rural where the class name contains 'rural'",
    }
    return out, info
