"""Where mlvc caches what it fetched or unpacked: ``$XDG_CACHE_HOME/mlvc``."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_root"]


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/mlvc`` (default ``~/.cache/mlvc``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mlvc"
