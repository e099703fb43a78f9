"""hotspot._numeric against the scipy functions it stands in for (scipy.signal and scipy.stats
are not imported by the analysis any more: they cost the command line 0.7 s a call)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal, stats

from hotspot._numeric import (
    binom_test_two_sided,
    fftconvolve,
    norm_sf,
    poisson_isf,
    weighted_centre,
    xy_bounds,
)


@pytest.mark.parametrize("mode", ["full", "same"])
@pytest.mark.parametrize(("shape", "kshape"), [((40, 57), (9, 9)), ((13, 8), (7, 5)),
                                                ((1, 1), (3, 3)),
                                                ((64, 64), (1, 1)), ((5, 30), (11, 2))])
def test_fftconvolve_equals_scipy(shape: tuple[int, int], kshape: tuple[int, int],
                                  mode: str) -> None:
    rng = np.random.default_rng(sum(shape) + sum(kshape))
    a = rng.poisson(2.0, shape).astype(float)
    k = rng.random(kshape)
    ours = fftconvolve(a, k, mode=mode)
    theirs = signal.fftconvolve(a, k, mode=mode)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9 * max(1.0, np.abs(theirs).max()))


def test_fftconvolve_refuses_what_it_does_not_do() -> None:
    with pytest.raises(ValueError, match="mode"):
        fftconvolve(np.ones((3, 3)), np.ones((2, 2)), mode="valid")
    with pytest.raises(ValueError, match="2-D"):
        fftconvolve(np.ones(3), np.ones(2))


@settings(max_examples=300, deadline=None)
@given(n=st.integers(0, 3000), share=st.floats(0.001, 0.999), data=st.data())
def test_binomial_test_equals_scipy(n: int, share: float, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    expected = 1.0 if n == 0 else stats.binomtest(k, n, share).pvalue
    # equal to 1e-9 relative, or both far below any level a test is made at (in the last
    # hundreds of orders of magnitude log-gamma and scipy's pmf part at 1e-8 relative)
    assert binom_test_two_sided(k, n, share) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (5, 10), (3, 10),
                                 (4000, 10000), (50, 200_000)])
def test_binomial_test_at_a_half(k: int, n: int) -> None:
    assert binom_test_two_sided(k, n, 0.5) == pytest.approx(stats.binomtest(k, n, 0.5).pvalue,
                                                            rel=1e-9, abs=1e-300)


def test_poisson_isf_equals_scipy() -> None:
    rng = np.random.default_rng(3)
    mu = np.concatenate([[0.0, 1e-9, 0.5, 1.0, 40.0, 1e4], rng.gamma(1.0, 5.0, 5000)])
    for level in (1e-12, 1e-6, 1.68e-6, 0.01, 0.05, 0.5, 0.99):
        np.testing.assert_array_equal(poisson_isf(level, mu), stats.poisson.isf(level, mu))
    with pytest.raises(ValueError, match="between 0 and 1"):
        poisson_isf(0.0, mu)


@pytest.mark.parametrize("z", [-5.0, -1.0, 0.0, 0.3, 1.96, 8.0, 40.0])
def test_norm_sf(z: float) -> None:
    assert norm_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("compiled", [True, False])
def test_group_order_is_the_stable_argsort(monkeypatch, compiled: bool) -> None:
    # by the compiled counting sort (a process that loaded the compiled steps) and by numpy's
    # radix sort: the stable argsort either way, whatever the labels' integer type
    import numpy as np

    import hotspot._numeric as module
    from hotspot._native import native_steps

    assert native_steps() is not None  # numba: a dependency
    assert module.loaded_native_steps() is not None
    if not compiled:
        monkeypatch.setattr(module, "loaded_native_steps", lambda: None)
    group_order = module.group_order
    rng = np.random.default_rng(5)
    for high in (1, 300, 65_534, 65_535, 10**6):  # 16-bit keys, then beyond them
        labels = rng.integers(-1, high, 50_000)
        np.testing.assert_array_equal(group_order(labels), np.argsort(labels, kind="stable"))
    for odd in (np.array([-2, 5, -2, 0]), np.array([0.5, -1.0, 0.5]), np.empty(0, np.int64),
                rng.integers(0, 3, 1000).astype(np.int8), np.array([127, -1, 126], np.int8),
                np.array([65_534, 0, 65_534, -1], np.int32),
                rng.integers(-1, 127, 20_000).astype(np.int8),
                rng.integers(-1, 2_000, 30_000).astype(np.int16),
                np.full(20_000, -1, dtype=np.int32), np.full(20_000, 65_534, dtype=np.int64)):
        got = group_order(odd)
        np.testing.assert_array_equal(got, np.argsort(odd, kind="stable"))
        assert got.dtype == np.intp


@pytest.mark.parametrize("n", [1, 2, 1_001])
def test_extent_and_centre_equal_numpys_row_forms(n: int) -> None:
    """The column-by-column forms equal numpy's ``axis=0`` reductions they replace, on a C- and
    a Fortran-ordered array, with negative coordinates and uneven weights."""
    rng = np.random.default_rng(n)
    xy = rng.normal([450_000.0, -120.0], [9_000.0, 300.0], (n, 2))
    w = rng.random(n) + 0.01
    for a in (xy, np.asfortranarray(xy)):
        assert xy_bounds(a) == (*a.min(axis=0).tolist(), *a.max(axis=0).tolist())
        np.testing.assert_allclose(weighted_centre(a, w),
                                   (a * w[:, None]).sum(axis=0) / w.sum(), rtol=1e-12)
