"""Where the compiled grid steps (:mod:`hotspot._gridnative`, numba) are loaded from: only here,
so that the grid modules they use never import them back."""

from __future__ import annotations

import sys
from types import ModuleType


def native_steps() -> ModuleType | None:
    """:mod:`hotspot._gridnative` (the compiled steps) when numba is installed, else None."""
    try:
        from hotspot import _gridnative
    except ImportError:
        return None
    return _gridnative


def loaded_native_steps() -> ModuleType | None:
    """:mod:`hotspot._gridnative` if this process has loaded it already (a large DBSCAN, or
    :func:`hotspot._griddbscan.warm_up_compiled` at a service's start), else None: for steps
    whose saving is smaller than numba's start-up."""
    module = sys.modules.get("hotspot._gridnative")
    # a module another thread is still importing (compiling or loading its steps) is in
    # sys.modules before its functions are: not loaded yet
    return module if isinstance(module, ModuleType) and getattr(module, "LOADED", False) \
        else None
