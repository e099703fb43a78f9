"""The choice of the method to ship from a backtest (:func:`choose`): the best at equal area
among the candidates that beat the naive baseline at every share.

The rule is in :mod:`hotspot.backtest` ("Choosing"); shares are of the force area (0-1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from hotspot.errors import InvalidParameter

if TYPE_CHECKING:
    from hotspot.backtest.result import BacktestResult


def choose(result: BacktestResult, shares: Sequence[float] | None = None) -> str:
    """The candidate to ship (the rule in the module docstring), over ``shares`` (default:
    all the backtested shares).

    Eligible: mean ``pai_at_budget`` at least the best naive baseline's at every share.
    Winner: the eligible candidate with the best mean, over the shares, of its mean
    ``pai_at_budget`` over the best naive baseline's (ties: the earlier candidate); when no
    candidate is eligible, the naive baseline with the best such mean.

    Raises
    ------
    InvalidParameter
        A share that was not backtested, or no naive baseline among the candidates.
    """
    use = result.shares if shares is None else tuple(float(s) for s in shares)
    s = result.summary()
    naive = [c for c in result.candidates if result.families[c] == "naive"]
    if not naive:
        raise InvalidParameter("choose needs a naive baseline among the candidates",
                               parameter="candidates")
    ratios = {c: [] for c in result.candidates}  # type: dict[str, list[float]]
    for share in use:
        at = s[np.isclose(s["share"], share)].set_index("candidate")
        if at.empty:
            raise InvalidParameter(f"share {share} was not backtested", parameter="shares")
        base = float(at.loc[naive, "pai_at_budget"].max())
        for c in result.candidates:
            v = (float(at["pai_at_budget"].to_numpy(np.float64)[at.index.get_loc(c)])
                 if c in at.index else float("nan"))
            ratios[c].append(v / base if base > 0 else float("nan"))
    mean = {c: float(np.mean(r)) if np.isfinite(r).all() else -np.inf
            for c, r in ratios.items()}
    eligible = [c for c in result.candidates
                if np.isfinite(ratios[c]).all() and min(ratios[c]) >= 1.0]
    pool = eligible or naive
    return max(pool, key=lambda c: (mean[c], -result.candidates.index(c)))
