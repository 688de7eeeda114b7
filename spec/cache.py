"""Where ropuf keeps its caches: one root for the simulator builds and the board builds.

It sits in ``spec/`` because both users (``sim/harness.py`` and ``boards/build.py``) may import
only what lies below them, and this is the layer they share.
"""

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """Folder of every ropuf cache: ``$ROPUF_CACHE_DIR``, else ``$XDG_CACHE_HOME/ropuf``, else
    ``~/.cache/ropuf``.

    Verilator models go under ``sim/``, board builds under ``boards/``.
    """
    if env := os.environ.get("ROPUF_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ropuf"
