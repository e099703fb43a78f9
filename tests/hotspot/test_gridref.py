"""OS grid references against points whose references are published."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotspot.gridref import grid_reference, grid_reference_of, parse_grid_reference


@pytest.mark.parametrize(("e", "n", "digits", "ref"), [
    (651409, 313177, 10, "TG 51409 13177"),  # Caister Water Tower (OS's worked example)
    (216600, 771200, 8, "NN 1660 7120"),  # Ben Nevis summit, NN 166 712
    (216600, 771200, 6, "NN 166 712"),
    (530050, 180361, 10, "TQ 30050 80361"),  # Trafalgar Square
    (0, 0, 10, "SV 00000 00000"),  # the grid's false origin
    (699_999, 1_299_999, 4, "JM 99 99"),  # the far corner
    (512345.9, 267890.4, 10, "TL 12345 67890"),  # cut short, not rounded
    (512345.9, 267890.4, 8, "TL 1234 6789"),
    (398_000, 462_000, 6, "SD 980 620"),  # north of the SE/SD line is not crossed
    (400_000, 500_000, 4, "NZ 00 00"),
])
def test_grid_references_of_known_points(e: float, n: float, digits: int, ref: str) -> None:
    assert grid_reference(e, n, digits) == ref


def test_outside_the_grid_or_not_finite_is_none() -> None:
    assert grid_reference(-1, 100) is None
    assert grid_reference(700_000, 100) is None
    assert grid_reference(100, 1_300_000) is None
    assert grid_reference(float("nan"), 100) is None
    assert grid_reference_of(float("inf"), 52.0) is None
    with pytest.raises(ValueError, match="digits"):
        grid_reference(1, 1, 7)


def test_from_longitude_and_latitude() -> None:
    # Trafalgar Square, Nelson's Column: about -0.12803 51.50771 (TQ 30 80 within metres)
    ref = grid_reference_of(-0.12803, 51.50771, digits=6)
    assert ref is not None and ref.startswith("TQ 30") and ref.split()[2].startswith("80")
    assert grid_reference_of(530050.0, 180361.0, "EPSG:27700") == "TQ 30050 80361"
    assert grid_reference_of(2.35, 48.85) is None  # Paris is off the grid


@given(st.integers(0, 699_999), st.integers(0, 1_299_999), st.sampled_from([4, 6, 8, 10]))
def test_a_reference_read_back_names_the_centre_of_its_square(e: int, n: int, digits: int) -> None:
    ref = grid_reference(e, n, digits)
    assert ref is not None
    x, y = parse_grid_reference(ref)
    size = 10 ** (5 - digits // 2)
    assert (x, y) == (e - e % size + size / 2, n - n % size + size / 2)
    assert grid_reference(x, y, digits) == ref


@pytest.mark.parametrize("text", ["", "SE", "SE 123", "SE 1234 567", "IE 1234 5678", "ZZ 12 34",
                                  "S1 1234 5678", "SE 12a4 5678"])
def test_what_is_not_a_grid_reference_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"(?i)grid"):
        parse_grid_reference(text)
