"""The demo's kinds of incident: how the force and data.police.uk name each, and when it happens.

Times are local clock hours (0-23), weekdays Monday first, months 1-12; the weights are
relative (each profile is normalised where it is drawn from).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _hours(*peaks: tuple[int, int, float], base: float = 0.2) -> tuple[float, ...]:
    """24 hourly weights: a floor plus bumps over [start, end) hours (wrapping midnight)."""
    weights = np.full(24, base)
    for start, end, height in peaks:
        hours = range(start, end) if start < end else [*range(start, 24), *range(0, end)]
        for hour in hours:
            weights[hour] += height
    return tuple((weights / weights.sum()).tolist())


DAYTIME = _hours((9, 18, 1.0), (12, 14, 0.5))
EVENING = _hours((17, 23, 1.0))
NIGHT = _hours((22, 5, 1.0), base=0.05)
NIGHTLIFE = _hours((19, 3, 1.0), (22, 2, 1.0), base=0.1)
DAWN_DUSK = _hours((5, 8, 1.0), (16, 19, 1.0), base=0.05)
ALLDAY = _hours((8, 23, 0.6), base=0.3)
WEEKDAYS = (1.0,) * 7  # relative weights, Monday first
WEEKENDS = (0.8, 0.8, 0.9, 1.0, 1.6, 2.0, 1.2)
SHOPPING = (1.0, 1.0, 1.0, 1.1, 1.3, 1.5, 0.9)


@dataclass(frozen=True)
class Kind:
    """One kind of incident: how the force and data.police.uk spell it, and when it happens."""

    force_type: str
    police_type: str
    hours: tuple[float, ...]
    weekdays: tuple[float, ...] = WEEKDAYS
    months: tuple[int, ...] = ()
    """Months (1-12) it happens in; empty means all year."""


KINDS = {
    "shoplifting": Kind("Shoplifting", "Shoplifting", DAYTIME, SHOPPING),
    "asb_night": Kind("Anti-social behaviour", "Anti-social behaviour", NIGHTLIFE, WEEKENDS),
    "asb": Kind("Anti-social behaviour", "Anti-social behaviour", ALLDAY),
    "burglary": Kind("Burglary - residential", "Burglary", EVENING),
    "business_burglary": Kind("Burglary - business and community", "Burglary", NIGHT),
    "vehicle": Kind("Theft from a motor vehicle", "Vehicle crime", NIGHT),
    "drugs": Kind("Drug supply", "Drugs", EVENING, WEEKENDS),
    "agricultural": Kind("Agricultural theft", "Other theft", NIGHT),
    "plant": Kind("Plant and machinery theft", "Other theft", NIGHT),
    "fuel": Kind("Fuel theft", "Other theft", NIGHT),
    "livestock": Kind("Livestock worrying", "Other crime", DAYTIME, WEEKENDS),
    "lead": Kind("Lead theft", "Other theft", NIGHT),
    "heritage": Kind("Heritage crime", "Criminal damage and arson", NIGHTLIFE, WEEKENDS),
    "nighthawking": Kind("Nighthawking", "Other crime", NIGHT),
    "fly_tipping": Kind("Fly-tipping", "Anti-social behaviour", DAYTIME),
    "hare_coursing": Kind("Hare coursing", "Other crime", DAWN_DUSK, WEEKENDS,
                          (9, 10, 11, 12, 1, 2, 3)),
    "poaching": Kind("Poaching", "Other crime", NIGHT, WEEKDAYS, (10, 11, 12, 1, 2)),
    "violence": Kind("Violence and sexual offences", "Violence and sexual offences", NIGHTLIFE),
    "damage": Kind("Criminal damage and arson", "Criminal damage and arson", EVENING),
    "public_order": Kind("Public order", "Public order", NIGHTLIFE, WEEKENDS),
    "other_theft": Kind("Other theft", "Other theft", DAYTIME),
    "bicycle": Kind("Bicycle theft", "Bicycle theft", DAYTIME),
    "robbery": Kind("Robbery of personal property", "Robbery", EVENING),
    "person": Kind("Theft from the person", "Theft from the person", DAYTIME, SHOPPING),
    "weapons": Kind("Possession of weapons", "Possession of weapons", EVENING),
    "other_crime": Kind("Other crime", "Other crime", ALLDAY),
}
"""Every kind, by the demo's own short name."""

OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Local resolution",
    "Offender given a caution",
    "Awaiting court outcome",
)
"""The last outcomes a crime (not anti-social behaviour) is given, drawn uniformly."""
