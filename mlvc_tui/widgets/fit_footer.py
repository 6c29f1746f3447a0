"""Textual's footer, compact in a narrow terminal so its last keys (``? Help``) still fit."""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

__all__ = ["FitFooter"]

NARROW = 80  # below this many columns: one space between keys, not two


class FitFooter(Footer):
    """A key footer that tightens its spacing below `NARROW` columns."""

    def __init__(self) -> None:
        super().__init__(show_command_palette=False)

    def on_resize(self, event: events.Resize) -> None:
        """Called when the terminal is resized: compact when narrow."""
        narrow = event.size.width < NARROW
        if narrow != self.compact:
            self.compact = narrow
