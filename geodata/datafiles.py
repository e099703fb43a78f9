"""The service's TOML data files (the taxonomy, the prevention advice): a packaged default, or a
force's own file in its place."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def read_toml(path: str | Path | None, packaged: str, what: str,
              error: type[Exception]) -> tuple[dict[str, Any], str]:
    """A TOML data file as a dict, and where it came from (for messages).

    Parameters
    ----------
    path
        A force's own file, or None for the packaged default.
    packaged
        The default's path inside the ``geodata`` package (``data/taxonomy.toml``).
    what
        What the file is, for messages ("taxonomy", "advice").
    error
        The exception raised when the file cannot be read or parsed; its message names the
        file.
    """
    if path is None:
        text = resources.files("geodata").joinpath(packaged).read_text("utf-8")
        source = f"default {what}"
    else:
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise error(f"cannot read {what} file {p}: {exc.strerror}") from exc
        source = str(p)
    try:
        return tomllib.loads(text), source
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from exc
