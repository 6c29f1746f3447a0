"""A pane of lines that repaints only what changed: the grid's preview, on each cursor move.

`show(renderable)` renders it to lines at the pane's width and marks dirty only the cells
that differ from what is on screen (one span per line: first to last differing cell). Two
neighbouring branches often share a commit's author, its age, a metric's name: those are not
sent again. On a slow link every byte of a keypress is lag.
"""

from __future__ import annotations

from typing import Self

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

__all__ = ["LinePane", "changed_span"]


def _cells(strip: Strip) -> list[tuple[str, Style | None]] | None:
    """A line's cells as (character, style); None when a character is not one cell wide."""
    out = [(char, seg.style) for seg in strip for char in seg.text]
    return out if len(out) == strip.cell_length else None


def changed_span(old: Strip | None, new: Strip) -> tuple[int, int] | None:
    """The cells ``[start, end)`` of ``new`` that differ from ``old`` (None: none do)."""
    if old is None:
        return (0, new.cell_length)
    a, b = _cells(old), _cells(new)
    if a is None or b is None or len(a) != len(b):
        return (0, max(old.cell_length, new.cell_length))
    start = next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), None)
    if start is None:
        return None
    end = len(b) - next(i for i, (x, y) in enumerate(zip(a[::-1], b[::-1], strict=True)) if x != y)
    return (start, end)


class LinePane(Widget):
    """Lines of one Rich renderable, repainted cell span by cell span as they change."""

    DEFAULT_CSS = "LinePane { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._renderable: RenderableType = ""
        self._lines: list[Strip] = []
        self._width = 0
        self._title = ""
        self._quiet = False  # setting the border title: repaint its line only

    def title(self, title: str) -> None:
        """Set the border title, repainting the border's line only."""
        if title == self._title:
            return
        self._title, self._quiet = title, True
        try:
            self.border_title = title
        finally:
            self._quiet = False
        gutter = self.styles.gutter  # regions are given inside border and padding
        self.refresh(Region(-gutter.left, -gutter.top, self.outer_size.width, 1))

    def refresh(self, *regions: Region, **kwargs: bool) -> Self:
        """Called to repaint: all of the pane, unless only its title changed."""
        if self._quiet and not regions:
            return self
        return super().refresh(*regions, **kwargs)

    def show(self, renderable: RenderableType) -> None:
        """Show ``renderable``, repainting only the cells that changed."""
        self._renderable = renderable
        width = self.size.width
        if not width:
            return  # not laid out yet: the first render draws it
        new = self._lines_at(width)
        old, self._lines = self._lines, new
        if width != self._width:
            self._width = width
            self.refresh()
            return
        for y in range(max(len(old), len(new))):
            line = new[y] if y < len(new) else Strip.blank(width, self.rich_style)
            span = changed_span(old[y] if y < len(old) else None, line)
            if span is not None:
                self.refresh(Region(span[0], y, span[1] - span[0], 1))

    def _lines_at(self, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(width)
        lines = console.render_lines(self._renderable, options, style=self.rich_style, pad=True)
        return [Strip(Segment.simplify(line), width) for line in lines]

    def on_resize(self) -> None:
        """Called when the pane changes size: render again at the new width."""
        self._width = self.size.width
        self._lines = self._lines_at(self._width) if self._width else []
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """Called for each line of the pane."""
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.rich_style)
