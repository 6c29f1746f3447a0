"""The part every registry-backed screen shares: read in a worker, read again when needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["ReloadingScreen"]


class ReloadingScreen(Screen[None]):
    """Reads the engine in ``_load`` (a worker); results carry ``generation`` so stale ones
    are dropped. ``app.refreshes`` counts re-reads of the registry: a screen that comes
    back in front after one reads again."""

    app: MlvcApp

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.refreshes_seen = 0

    def on_screen_resume(self) -> None:
        """Called when the screen is in front again: reload if a refresh happened meanwhile."""
        if self.app.refreshes != self.refreshes_seen:
            self.reload()

    def reload(self, refresh: bool = False) -> None:
        """Read again (re-reading refs first with ``refresh``)."""
        self.generation += 1
        if refresh:
            self.app.refreshes += 1
        self.refreshes_seen = self.app.refreshes
        self._load(self.generation, refresh)

    def _load(self, generation: int, refresh: bool) -> None:
        """Read in a worker and post the result tagged with ``generation``."""
        raise NotImplementedError
