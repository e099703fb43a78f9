"""Exceptions raised by :mod:`hotspot`. Messages name the parameter at fault and say what to do."""


class HotspotError(Exception):
    """Base class of every error raised by :mod:`hotspot`; ``field`` names the parameter at
    fault when it is known (None otherwise)."""

    field: str | None = None


class InvalidParameter(HotspotError, ValueError):
    """Raised when a method parameter is out of range (eps <= 0, a grid too large...);
    ``parameter`` names it when known (the API answers 422 naming it)."""

    def __init__(self, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.field = parameter


class InvalidPoints(HotspotError, ValueError):
    """Raised when the points are unusable: wrong shape, not finite, geographic or no CRS."""


class WorkLimitExceeded(InvalidParameter):
    """Raised before the costly part of a computation when its size is over the caller's
    limit: a density grid of more cells than allowed, or more hotspots (or hotspot cells) than
    may be drawn and described. The parameters are too fine for the selection.

    ``found`` and ``limit`` are the sizes; ``parameter`` names the parameter to change;
    ``kind`` says what was counted: ``"hotspots"``, ``"grid_cells"`` or ``"hotspot_cells"``.
    """

    def __init__(self, message: str, *, found: int, limit: int, parameter: str,
                 kind: str) -> None:
        super().__init__(message, parameter)
        self.found = found
        self.limit = limit
        self.kind = kind


class AnalysisCancelled(HotspotError):
    """Raised inside an analysis when its ``should_stop`` callable answers True (whoever
    wanted the result has gone); nothing is returned."""
