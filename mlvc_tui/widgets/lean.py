"""Lines that cost fewer bytes on the wire: adjacent cells of one style sent as one run.

Textual writes each segment of a line with its own style codes and a reset; a border or a
padded cell is many segments of one style (26 bytes a cell for a solid border). On a slow
link every byte of a keypress is lag, so widgets repainted on each cursor move merge them.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Static

__all__ = ["LeanStatic"]


class LeanStatic(Static):
    """A `Static` whose lines are sent with same-style neighbours merged."""

    def render_lines(self, crop: Region) -> list[Strip]:
        """Called to render the lines in ``crop``: Static's, simplified."""
        return [strip.simplify() for strip in super().render_lines(crop)]
