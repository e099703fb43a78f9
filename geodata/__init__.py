"""Data in and at rest: incident schema, readers, taxonomy, reference layers, stores, demo area.

Nothing here imports another package of this project. Coordinates at rest are metres in the
force's projected CRS (default EPSG:27700, British National Grid); longitude/latitude (WGS84)
are kept beside them.
"""

from geodata.errors import (
    GeodataError,
    InvalidFile,
    InvalidLayer,
    InvalidMapping,
    InvalidTaxonomy,
    StoreError,
    StorePurposeError,
    StoreUnavailable,
    UnsupportedStore,
)

__all__ = [
    "GeodataError",
    "InvalidFile",
    "InvalidLayer",
    "InvalidMapping",
    "InvalidTaxonomy",
    "StoreError",
    "StorePurposeError",
    "StoreUnavailable",
    "UnsupportedStore",
]
