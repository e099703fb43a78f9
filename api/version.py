"""The service's version: the installed ``hotspot`` package's (what /health and the OpenAPI
document say)."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """The installed package version."""
    try:
        return metadata.version("hotspot")
    except metadata.PackageNotFoundError:
        return "0+unknown"
