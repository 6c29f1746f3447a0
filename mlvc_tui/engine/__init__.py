"""The registry engine: reads (and later writes) a git repository as a model registry.

It never imports Textual, and imports pandas only where a caller asks for a DataFrame.
"""

from __future__ import annotations

from mlvc_tui.engine.errors import BadInput, MlvcError, NotARegistry, RefNotFound, Refused
from mlvc_tui.engine.registry import WORKTREE, Registry
from mlvc_tui.engine.values import *  # noqa: F403
from mlvc_tui.engine.values import __all__ as _values_all

__all__ = [
    "WORKTREE",
    "BadInput",
    "MlvcError",
    "NotARegistry",
    "RefNotFound",
    "Refused",
    "Registry",
    *_values_all,
]
