"""mlvc: model versioning on plain git, driven from the terminal.

The Python API (`open`, `save_model`, `load_model`, ...; see mlvc_tui/api.py) is loaded on
first use, so that importing the package stays as light as the `mlvc` command needs.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = (
    "open",
    "save_model",
    "load_model",
    "fetch_model",
    "ModelRegistry",
    "SavedModel",
    "ModelIntegrityError",
    "FileStat",
    "resolve",
    "ModelWatcher",
    "ResolvedModel",
    "mounted",
)


def __getattr__(name: str) -> Any:
    if name in _API:
        from mlvc_tui import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
