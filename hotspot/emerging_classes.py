"""Emerging hot spot classes: their names, legend labels and descriptions, and the rules
that give a cell its class from its hot and cold months and its trend (Esri's order).

The classes, with the rule applied here (T months; a month is *hot* when the cell's Gi* is
significant hot at ``confidence`` per cent (90 by default) after FDR; *cold* likewise; "90 % of
the months" means at least 0.9 T of them, e.g. 11 of 12 or all 6 of 6; a *significant trend*
is a Mann-Kendall p-value <= ``trend_alpha`` (0.05), up or down by the sign of S). They are
tested in this order and the first that holds wins (Esri's order):

``new_hot``
    Hot in the final month and in no earlier month ("a statistically significant hot spot for
    the final time step and has never been a statistically significant hot spot before").
``consecutive_hot``
    Hot in an uninterrupted run of at least two months that ends with the final month, never
    hot before that run, and hot in less than 90 % of the months.
``intensifying_hot``
    Hot in at least 90 % of the months including the final one, and a significant upward
    trend of the Gi* z-scores.
``persistent_hot``
    Hot in at least 90 % of the months including the final one, with no significant trend.
    (Esri's sentence does not name the final month; requiring it keeps this class apart from
    ``historical_hot``.)
``diminishing_hot``
    Hot in at least 90 % of the months including the final one, and a significant downward
    trend.
``sporadic_hot``
    Hot in the final month, hot in less than 90 % of the months, on and off (not new, not
    consecutive), and never cold.
``oscillating_hot``
    Hot in the final month, hot in less than 90 % of the months, not new or consecutive, and
    cold in at least one earlier month.
``historical_hot``
    Not hot in the final month, but hot in at least 90 % of the months.

The ``*_cold`` classes are the same rules with hot and cold swapped (``intensifying_cold``: a
significant *downward* trend of z, getting colder; ``diminishing_cold``: upward). Every other
study cell is ``no_pattern``. With fewer than about 10 months the trend test has little power
(Esri asks for 10 time steps); the classes that need no trend still hold.
"""

from __future__ import annotations

import numpy as np

_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic",
             "oscillating", "historical")
CLASS_NAMES: tuple[str, ...] = (
    "no_pattern", *(f"{p}_hot" for p in _PATTERNS), *(f"{p}_cold" for p in _PATTERNS))
"""Class keys; a cell's code in :attr:`EmergingGrid.classes` indexes this tuple."""

CLASS_LABELS: dict[str, str] = {
    name: "No pattern" if name == "no_pattern"
    else f"{name.split('_')[0].capitalize()} {name.split('_')[1]} spot"
    for name in CLASS_NAMES
}
"""Legend labels: ``"new_hot"`` -> ``"New hot spot"``."""

CLASS_DESCRIPTIONS: dict[str, str] = {
    "no_pattern": "No hot or cold pattern over the months.",
    "new_hot": "Hot in the latest month for the first time.",
    "consecutive_hot": "Hot for the last few months in a row, not before.",
    "intensifying_hot": "Hot almost every month, and getting hotter.",
    "persistent_hot": "Hot almost every month, with no clear trend.",
    "diminishing_hot": "Hot almost every month, but cooling down.",
    "sporadic_hot": "Hot in the latest month, on and off before.",
    "oscillating_hot": "Hot in the latest month, but cold in some earlier months.",
    "historical_hot": "Hot almost every month, but not in the latest one.",
    "new_cold": "Cold in the latest month for the first time.",
    "consecutive_cold": "Cold for the last few months in a row, not before.",
    "intensifying_cold": "Cold almost every month, and getting colder.",
    "persistent_cold": "Cold almost every month, with no clear trend.",
    "diminishing_cold": "Cold almost every month, but warming up.",
    "sporadic_cold": "Cold in the latest month, on and off before.",
    "oscillating_cold": "Cold in the latest month, but hot in some earlier months.",
    "historical_cold": "Cold almost every month, but not in the latest one.",
}
"""One plain-English sentence per class, for the map's legend."""


def classify_series(hot: np.ndarray, cold: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Esri's class (code into :data:`CLASS_NAMES`) of each column, from (T, N) boolean hot
    and cold months and the (N,) trend of Gi* z (+1 up, -1 down, 0 none); rules in the module
    docstring."""
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    trend = np.asarray(trend)
    out = np.zeros(hot.shape[1], dtype=np.int8)
    for offset, sig, other, up in ((1, hot, cold, 1), (1 + len(_PATTERNS), cold, hot, -1)):
        for code, rule in enumerate(_rules(sig, other, trend * up), start=offset):
            out[(out == 0) & rule] = code
    return out


def _rules(sig: np.ndarray, other: np.ndarray, trend: np.ndarray) -> list[np.ndarray]:
    """The masks of the eight classes of one sign, in Esri's order, from the (T, N) months
    ``sig`` significant with that sign, those ``other`` with the other, and the trend (that
    sign up: > 0)."""
    t = sig.shape[0]
    n_sig = sig.sum(axis=0)
    final = sig[-1]
    most = n_sig * 10 >= 9 * t  # at least 90 % of the months, in integers
    run = np.zeros(sig.shape[1], dtype=np.int64)  # the final run's length
    alive = np.ones(sig.shape[1], dtype=bool)
    for i in range(t - 1, -1, -1):
        alive &= sig[i]
        run += alive
    new = final & (n_sig == 1)
    consecutive = final & (run >= 2) & (n_sig == run) & ~most
    on_off = final & ~most & ~new & ~consecutive
    ever_other = other.any(axis=0)
    return [
        new,
        consecutive,
        most & final & (trend > 0),
        most & final & (trend == 0),
        most & final & (trend < 0),
        on_off & ~ever_other,
        on_off & ever_other,
        most & ~final,
    ]
