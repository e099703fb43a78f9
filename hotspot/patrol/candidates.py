"""The hotspot table as the patrol planner reads it: candidate stops and what to look for.

:func:`read_candidates` checks the table (:mod:`hotspot.table`) and takes the columns the
planner uses as plain arrays (positions metres, analysis CRS); :func:`what_to_look_for` is the
briefing's advice for one hotspot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hotspot.errors import InvalidParameter


@dataclass
class Candidates:
    """The hotspot table's columns the planner uses, as plain arrays and lists."""

    id: list[str]
    x: np.ndarray
    y: np.ndarray
    score: np.ndarray
    rank: list[int]
    context_class: list[str]
    place: list[str]
    label: list[str]
    profile: list[Any]
    category_mix: list[Any]
    heritage_sites: list[Any]

    def __len__(self) -> int:
        return len(self.id)

    def xy(self, rows: Sequence[int]) -> np.ndarray:
        """Positions of ``rows`` (m x 2, metres)."""
        return np.column_stack([self.x[list(rows)], self.y[list(rows)]])


def read_candidates(hotspots: pd.DataFrame) -> Candidates:
    """The planner's columns of the hotspot table; a stop's label is its rank and its place's
    own name (else its town or site).

    Raises
    ------
    InvalidParameter
        The table lacks ``id``, ``centroid_x``, ``centroid_y``, ``score`` or
        ``context_class``.
    """
    need = ("id", "centroid_x", "centroid_y", "score", "context_class")
    missing = [c for c in need if c not in hotspots.columns]
    if missing:
        raise InvalidParameter(f"the hotspot table lacks {', '.join(missing)}", "hotspots")
    n = len(hotspots)

    def column(name: str, default: Any) -> list[Any]:
        return list(hotspots[name]) if name in hotspots.columns else [default] * n

    rank = [int(r) for r in column("rank", 0)] if "rank" in hotspots.columns \
        else list(range(1, n + 1))
    place = ["" if not isinstance(p, str) else p for p in column("place", "")]
    # a stop is called by its place's own name ("Cemetery Road, Thornbury") where it has one,
    # else by its town or site; the rank ties it to the map's list
    named = [n if isinstance(n, str) and n else p
             for n, p in zip(column("name", ""), place, strict=True)]
    return Candidates(
        id=[str(v) for v in hotspots["id"]],
        x=hotspots["centroid_x"].to_numpy(dtype=float),
        y=hotspots["centroid_y"].to_numpy(dtype=float),
        score=hotspots["score"].to_numpy(dtype=float),
        rank=rank,
        context_class=[str(v) for v in hotspots["context_class"]],
        place=place,
        label=[f"#{r} {p}".strip() if p else f"#{r}" for r, p in zip(rank, named, strict=True)],
        profile=column("profile", None),
        category_mix=column("category_mix", {}),
        heritage_sites=column("heritage_sites", []),
    )


def what_to_look_for(mix: Any, guidance: Mapping[str, str], labels: Mapping[str, str],
                     heritage: Sequence[str]) -> list[dict[str, Any]]:
    """What to look for at a hotspot: its main categories (most first, up to three, those with
    at least 10% of its incidents) with the taxonomy's advice, and the heritage sites it
    touches."""
    items: list[dict[str, Any]] = []
    if isinstance(mix, Mapping) and mix:
        total = sum(float(v) for v in mix.values()) or 1.0
        for cat, count in sorted(mix.items(), key=lambda kv: -float(kv[1]))[:3]:
            share = float(count) / total
            if items and share < 0.1:
                break
            items.append({"category": str(cat), "label": labels.get(str(cat), str(cat)),
                          "incidents": int(count), "share": round(share, 3),
                          "advice": guidance.get(str(cat), "")})
    if heritage:
        items.append({"category": "heritage_sites", "label": "Heritage sites nearby",
                      "incidents": 0, "share": 0.0,
                      "advice": "Check: " + ", ".join(list(heritage)[:5])})
    return items
