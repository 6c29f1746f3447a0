"""Text wrapped to its width and cut to a few lines, saying so with "…"."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

__all__ = ["Clipped"]


class Clipped(Static):
    """At most ``lines`` lines of ``text`` (or its CSS ``max-height``, when less): when it
    needs more, the last shown line ends in "…" and the whole text is the tooltip."""

    def __init__(self, *, lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = lines
        self._text = Text()

    @property
    def limit(self) -> int:
        """The lines it may take now."""
        most = self.styles.max_height
        if most is not None and most.is_cells:
            return max(1, min(self.lines, int(most.value)))
        return self.lines

    def show(self, text: Text) -> None:
        """Show ``text`` (cut to fit)."""
        self._text = text
        self._fit()

    def on_resize(self) -> None:
        """Called when the width changes: wrap and cut again."""
        self._fit()

    def _fit(self) -> None:
        width = self.content_region.width
        if width <= 1:
            self.update(self._text)
            return
        lines = self._text.wrap(self.app.console, width)
        if len(lines) <= self.limit:
            self.tooltip = None
            self.update(self._text)
            return
        kept = lines[: self.limit]
        last = kept[-1]
        last.rstrip()
        last.truncate(width - 1)
        last.append("…")
        self.tooltip = self._text.plain
        self.update(Text("\n").join(kept))
