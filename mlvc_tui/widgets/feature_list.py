"""A short list with a cursor, redrawn from scratch: the live tail's features and alerts.

A DataTable caches every cell it renders under a key that changes with each update, so a
list updated several times a second fills its caches (10,000 cells) for nothing; this list
keeps no cache: a few dozen lines cost nothing to draw again.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["FeatureList"]


class FeatureList(ScrollView, can_focus=True):
    """Rows of cells under a header; ``show`` replaces them, keeping the cursor's key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "move(1)", "Down", show=False),
        Binding("k,up", "move(-1)", "Up", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"feature-list--header", "feature-list--cursor"}
    DEFAULT_CSS = """
    FeatureList { background: $surface; }
    FeatureList > .feature-list--header { text-style: bold; background: $panel; }
    FeatureList > .feature-list--cursor { background: $block-cursor-blurred-background; }
    FeatureList:focus > .feature-list--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground;
    }
    """

    class Highlighted(Message):
        """The cursor is on another row."""

        def __init__(self, listing: FeatureList, key: str) -> None:
            super().__init__()
            self.listing, self.key = listing, key

        @property
        def control(self) -> FeatureList:
            return self.listing

    cursor: reactive[int] = reactive(0, repaint=True)

    def __init__(self, header: list[tuple[str, int]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.header = header  # (label, width): a negative width is right-aligned
        self.keys: list[str] = []
        self.rows: list[list[Text]] = []

    @property
    def key(self) -> str | None:
        """The row under the cursor."""
        return self.keys[self.cursor] if 0 <= self.cursor < len(self.keys) else None

    def show(self, rows: list[tuple[str, list[Text]]]) -> None:
        """Show these rows; the cursor stays on its key (else on the first row)."""
        keep = self.key
        self.keys = [key for key, _ in rows]
        self.rows = [cells for _, cells in rows]
        self.virtual_size = Size(self.size.width, len(rows) + 1)
        index = self.keys.index(keep) if keep in self.keys else 0
        if index != self.cursor or keep != self.key:
            self.action_move(index - self.cursor)
        self.refresh()

    def cells(self, key: str) -> list[str]:
        """The text of one row's cells."""
        return [cell.plain for cell in self.rows[self.keys.index(key)]]

    def action_move(self, step: int) -> None:
        if not self.keys:
            return
        self.cursor = max(0, min(self.cursor + step, len(self.keys) - 1))
        top = self.scroll_offset.y
        height = max(1, self.scrollable_content_region.height - 1)
        if not top <= self.cursor < top + height:
            self.scroll_to(
                y=max(0, self.cursor - height + 1) if self.cursor >= top else self.cursor,
                animate=False,
            )
        if self.key is not None:
            self.post_message(self.Highlighted(self, self.key))

    def render_line(self, y: int) -> Strip:
        """Called for each line on screen: the header, or a row (the cursor's lit)."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            text = Text.assemble(*(self._fit(Text(label), w) for label, w in self.header))
            style = base + self.get_component_rich_style("feature-list--header")
        else:
            index = self.scroll_offset.y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, base)
            text = Text.assemble(
                *(
                    self._fit(cell, w)
                    for cell, (_, w) in zip(self.rows[index], self.header, strict=False)
                )
            )
            style = (
                base + self.get_component_rich_style("feature-list--cursor")
                if index == self.cursor
                else base
            )
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, style).apply_style(style)

    @staticmethod
    def _fit(cell: Text, width: int) -> Text:
        """A cell cut or padded to ``abs(width)``, right-aligned when negative."""
        out = cell.copy()
        out.truncate(abs(width), overflow="ellipsis")
        pad = " " * (abs(width) - out.cell_len)
        return Text.assemble(" ", pad, out, " ") if width < 0 else Text.assemble(" ", out, pad, " ")
