"""Ordnance Survey grid references (British National Grid, EPSG:27700).

Pure functions: an easting and northing in metres (or a WGS84 longitude and latitude, turned
into British National Grid with pyproj) in, the reference officers read off an OS map out:
two letters for the 100 km square and the digits within it, ``"TL 12345 67890"``.

From WGS84, pyproj uses the OSTN15 grid file when PROJ has it and a Helmert transformation
(about 2 m off) when not: the 10-figure (1 m) reference is then good to a few metres, the
8-figure one (10 m) to its last digit.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from pyproj import Transformer

_LETTERS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # 25 letters: no I
BNG = "EPSG:27700"


def grid_reference(easting: float, northing: float, digits: int = 10) -> str | None:
    """The OS grid reference of a British National Grid point (metres, EPSG:27700).

    ``digits`` is 10 (1 m), 8 (10 m), 6 (100 m) or 4 (1 km): half of them give the easting
    within the 100 km square, half the northing, each cut short (not rounded), as OS maps are
    read. None for a point outside the grid (0-700 km east, 0-1,300 km north) or not finite.

    Examples
    --------
    >>> grid_reference(651409, 313177)
    'TG 51409 13177'
    >>> grid_reference(216600, 771200, 8)
    'NN 1660 7120'
    """
    if digits not in (4, 6, 8, 10):
        raise ValueError("digits must be 4, 6, 8 or 10")
    if not (math.isfinite(easting) and math.isfinite(northing)):
        return None
    e, n = math.floor(easting), math.floor(northing)
    if not (0 <= e < 700_000 and 0 <= n < 1_300_000):
        return None
    e100, n100 = e // 100_000, n // 100_000
    # the 500 km square (S, T, N, H, O, J...), then the 100 km square within it (5 x 5)
    first = (19 - n100) - (19 - n100) % 5 + (e100 + 10) // 5
    second = (19 - n100) * 5 % 25 + e100 % 5
    half = digits // 2
    cut = 10 ** (5 - half)
    de = (e % 100_000) // cut
    dn = (n % 100_000) // cut
    return f"{_LETTERS[first]}{_LETTERS[second]} {de:0{half}d} {dn:0{half}d}"


@lru_cache(maxsize=8)
def _to_bng(crs: str) -> Transformer:
    return Transformer.from_crs(crs, BNG, always_xy=True)


def grid_reference_of(x: float, y: float, crs: str = "EPSG:4326",
                      digits: int = 10) -> str | None:
    """The OS grid reference of a point given in ``crs`` (default WGS84 longitude, latitude);
    None outside Great Britain's grid or for a point that is not finite."""
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    if crs.upper().replace(" ", "") == BNG:
        return grid_reference(x, y, digits)
    e, n = _to_bng(crs).transform(x, y)
    return grid_reference(float(e), float(n), digits)


_GRID_REF = re.compile(r"^([A-HJ-Z]{2})(\d{2}|\d{4}|\d{6}|\d{8}|\d{10})$")


def parse_grid_reference(text: str) -> tuple[float, float]:
    """An OS grid reference (``"SE 1234 5678"``, ``"SE12345678"``; 2 to 10 figures) as the
    British National Grid easting and northing (metres, EPSG:27700) of the centre of the
    square it names (a 10-figure reference: of its metre). The inverse of
    :func:`grid_reference`, up to the square's centre.

    Raises
    ------
    ValueError
        For text that is not a grid reference, or letters naming no square of the grid.

    Examples
    --------
    >>> parse_grid_reference("TG 51409 13177")
    (651409.5, 313177.5)
    """
    flat = re.sub(r"\s+", "", str(text)).upper()
    match = _GRID_REF.match(flat)
    if match is None:
        raise ValueError("an OS grid reference is two letters and 2 to 10 figures, "
                         "e.g. 'SE 1234 5678'")
    first, second = (_LETTERS.index(c) for c in match.group(1))
    e100 = ((first - 2) % 5) * 5 + second % 5
    n100 = (19 - (first // 5) * 5) - second // 5
    if not (0 <= e100 < 7 and 0 <= n100 < 13):
        raise ValueError(f"{match.group(1)} is not a square of the British National Grid")
    digits = match.group(2)
    half = len(digits) // 2
    size = 10 ** (5 - half)
    e = e100 * 100_000 + int(digits[:half]) * size + size / 2
    n = n100 * 100_000 + int(digits[half:]) * size + size / 2
    return float(e), float(n)
