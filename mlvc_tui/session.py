"""One open registry shared by the app's screens; engine calls are serialised by a lock.

Screens call the engine from thread workers (`@work(thread=True)`), never on the event
loop: ``result = self.app.session.run(lambda reg: reg.diff(a, b))``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mlvc_tui.engine import Registry

__all__ = ["AppState", "Session"]

T = TypeVar("T")


@dataclass
class AppState:
    """What every screen shares, in one place (the UI thread's; never touched by workers)."""

    prod: str | None = None  # the registry's prod branch, as the grid last read it
    branch_names: tuple[str, ...] = ()  # the grid's latest branches, for the palette
    head: str | None = None  # the checked-out branch, as the grid last read it
    refreshes: int = 0  # bumped by each re-read of refs; screens behind reload on resume


class Session:
    """The registry the app is looking at, safe to use from worker threads."""

    def __init__(self, path: str | Path, registry: Registry | None = None) -> None:
        """``registry``: the one at ``path``, already open (else opened on first use)."""
        self.path = Path(path)
        self._lock = threading.RLock()
        self._registry: Registry | None = registry

    def run(self, call: Callable[[Registry], T]) -> T:
        """Run ``call(registry)`` under the lock, opening the registry on first use.

        Engine errors (`MlvcError`) propagate: show ``str(error)`` in place.
        """
        with self._lock:
            if self._registry is None:
                self._registry = Registry.open(self.path)
            return call(self._registry)

    @property
    def config_problem(self) -> str | None:
        """Why mlvc.toml was set aside for the defaults, as last read (an attribute read of
        an immutable value: no lock needed)."""
        registry = self._registry
        return registry.config.problem if registry is not None else None

    def refresh(self) -> None:
        """Re-read refs and settings (after a commit, a fetch, a promotion)."""
        with self._lock:
            if self._registry is not None:
                self._registry.refresh()

    def close(self) -> None:
        with self._lock:
            if self._registry is not None:
                self._registry.close()
                self._registry = None
