"""Exceptions raised by :mod:`hotspot`. Messages name the parameter at fault and say what to do."""


class HotspotError(Exception):
    """Base class of every error raised by :mod:`hotspot`."""


class InvalidParameter(HotspotError, ValueError):
    """Raised when a method parameter is out of range (eps <= 0, a grid too large...)."""


class InvalidPoints(HotspotError, ValueError):
    """Raised when the points are unusable: wrong shape, not finite, geographic or no CRS."""
