"""Small numerical pieces in place of ``scipy.signal`` and ``scipy.stats``, whose imports cost
the command line about 0.7 s a call (``scipy.signal`` alone 0.66 s on this machine: it pulls in
``scipy.stats``, ``scipy.interpolate`` and ``scipy.optimize``), for the few functions used:

- :func:`fftconvolve`: 2-D real convolution by numpy's FFT (``scipy.signal.fftconvolve``'s
  ``"full"`` and ``"same"`` modes; equal to it to rounding);
- :func:`binom_test_two_sided`: the exact two-sided binomial test's p-value, as
  ``scipy.stats.binomtest(k, n, p).pvalue`` (the same ``minlike`` rule and relative tolerance);
- :func:`poisson_isf`: ``scipy.stats.poisson.isf`` for 0 < q < 1 (the same formula scipy uses);
- :func:`norm_sf`: the standard normal's upper tail;
- :func:`xy_bounds` and :func:`weighted_centre`: an (n, 2) array's extent and weighted mean,
  column by column (numpy's ``xy.min(axis=0)`` walks a two-wide C-ordered array row by row:
  24 ms a million points against 2 ms; ``(xy * w[:, None]).sum(axis=0)`` 25 ms against 2 ms).

Everything here is pure computation; ``scipy.special`` (imported by ``scipy.ndimage`` anyway)
supplies the special functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from hotspot._native import loaded_native_steps


def xy_bounds(xy: np.ndarray) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of an (n, 2) array of points (n > 0), in its own units,
    each column reduced on its own (equal to ``xy.min(axis=0)`` and ``xy.max(axis=0)``)."""
    x, y = xy[:, 0], xy[:, 1]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def weighted_centre(xy: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """The mean of an (n, 2) array of points weighted by ``w`` (whose sum is not 0), in the
    points' units: ``(xy * w[:, None]).sum(axis=0) / w.sum()`` column by column (numpy's
    pairwise sums, not BLAS's dot product, whose last bits depend on its threads)."""
    total = float(w.sum())
    return float((w * xy[:, 0]).sum()) / total, float((w * xy[:, 1]).sum()) / total


COUNTED_FROM = 10_000
"""Labels from which :func:`group_order` counts them in a compiled loop, when this process has
loaded the compiled steps."""


def group_order(labels: np.ndarray) -> np.ndarray:
    """``np.argsort(labels, kind="stable")`` (each group's positions ascending, the groups in
    order), when the labels are whole numbers from -1 to 65,534 (a hotspot area or place of
    each incident) by a counting sort (the compiled steps' :func:`counting_order`, from
    :data:`COUNTED_FROM` labels when this process has loaded them: 4-7 ms for 10^6) or numpy's
    radix sort of 16-bit keys (9-18 ms rather than 74 ms): the one stable order either way."""
    labels = np.asarray(labels)
    if labels.size and np.issubdtype(labels.dtype, np.integer):
        lo, hi = int(labels.min()), int(labels.max())
        if lo >= -1 and hi < 65_535:
            native = loaded_native_steps() if labels.size >= COUNTED_FROM else None
            if native is not None:
                return np.asarray(native.counting_order(np.add(labels, 1, dtype=np.int64),
                                                        hi + 2))
            # -1 .. 65,534 plus one, in 16 bits (modular: -1 becomes 65,535, then 0)
            keys = np.add(labels, 1, dtype=np.uint16, casting="unsafe")
            return np.argsort(keys, kind="stable")
    return np.argsort(labels, kind="stable")


def fftconvolve(a: np.ndarray, kernel: np.ndarray, mode: str = "full") -> np.ndarray:
    """The 2-D convolution of ``a`` with ``kernel`` by FFT (float64).

    ``mode``: ``"full"`` (shape ``a + kernel - 1``) or ``"same"`` (``a``'s shape, centred as
    ``scipy.signal.fftconvolve`` centres it).
    """
    a = np.asarray(a, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    if a.ndim != 2 or kernel.ndim != 2:
        raise ValueError("fftconvolve takes 2-D arrays")
    if mode not in ("full", "same"):
        raise ValueError(f"mode must be 'full' or 'same', not {mode!r}")
    if a.size == 0 or kernel.size == 0:
        return np.zeros((0, 0))
    full = (a.shape[0] + kernel.shape[0] - 1, a.shape[1] + kernel.shape[1] - 1)
    fshape = (_fast_len(full[0]), _fast_len(full[1]))
    spectrum = np.fft.rfft2(a, fshape) * np.fft.rfft2(kernel, fshape)
    out = np.fft.irfft2(spectrum, fshape)[:full[0], :full[1]]
    if mode == "full":
        return np.ascontiguousarray(out)
    r0 = (full[0] - a.shape[0]) // 2
    c0 = (full[1] - a.shape[1]) // 2
    return np.ascontiguousarray(out[r0:r0 + a.shape[0], c0:c0 + a.shape[1]])


def _fast_len(n: int) -> int:
    """The smallest 2^a 3^b 5^c at least ``n`` (lengths numpy's FFT does quickly)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _binom_pmf(k: float, n: int, p: float) -> float:
    """P(X = k) for X ~ Binomial(n, p), by log-gamma (0 outside 0..n)."""
    if k < 0 or k > n:
        return 0.0
    if p == 0.0:
        return 1.0 if k == 0 else 0.0
    if p == 1.0:
        return 1.0 if k == n else 0.0
    log = (special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
           + k * math.log(p) + (n - k) * math.log1p(-p))
    return math.exp(log)


def _binom_cdf(k: float, n: int, p: float) -> float:
    return 0.0 if k < 0 else 1.0 if k >= n else float(special.bdtr(k, n, p))


def _binom_sf(k: float, n: int, p: float) -> float:
    return 1.0 if k < 0 else 0.0 if k >= n else float(special.bdtrc(k, n, p))


def _search(f: Callable[[int], float], d: float, lo: int, hi: int) -> int:
    """The index i in [lo, hi] with f(i) <= d < f(i + 1), ``f`` ascending (scipy's search)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        midval = f(mid)
        if midval < d:
            lo = mid + 1
        elif midval > d:
            hi = mid - 1
        else:
            return mid
    return lo if f(lo) <= d else lo - 1


def binom_test_two_sided(k: int, n: int, p: float) -> float:
    """The exact two-sided p-value of ``k`` successes in ``n`` trials of chance ``p``: the
    probability of every outcome no likelier than ``k`` (scipy's ``binomtest`` rule, with its
    relative tolerance of 1e-7). 1.0 when ``n`` is 0."""
    if n <= 0:
        return 1.0
    if not 0 <= k <= n:
        raise ValueError(f"k ({k}) must be in 0..n ({n})")
    d = _binom_pmf(k, n, p)
    rerr = 1 + 1e-7
    if k == p * n:
        return 1.0
    if k < p * n:
        ix = _search(lambda x: -_binom_pmf(x, n, p), -d * rerr, math.ceil(p * n), n)
        y = n - ix + int(d * rerr == _binom_pmf(ix, n, p))
        pval = _binom_cdf(k, n, p) + _binom_sf(n - y, n, p)
    else:
        ix = _search(lambda x: _binom_pmf(x, n, p), d * rerr, 0, math.floor(p * n))
        y = ix + 1
        pval = _binom_cdf(y - 1, n, p) + _binom_sf(k - 1, n, p)
    return min(1.0, pval)


def poisson_isf(q: float | np.ndarray, mu: np.ndarray | float) -> np.ndarray:
    """The smallest count k with P(X > k) <= ``q`` for X ~ Poisson(``mu``), elementwise, as
    ``scipy.stats.poisson.isf`` for 0 < q < 1 and mu >= 0 (float array)."""
    q_arr = np.asarray(q, dtype=float)
    if np.any((q_arr <= 0) | (q_arr >= 1)):
        raise ValueError("q must be strictly between 0 and 1")
    mu_arr = np.asarray(mu, dtype=float)
    level = 1.0 - q_arr
    vals = np.ceil(special.pdtrik(level, mu_arr))
    below = np.maximum(vals - 1, 0)
    return np.asarray(np.where(special.pdtr(below, mu_arr) >= level, below, vals), dtype=float)


def norm_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return float(special.ndtr(-z))
