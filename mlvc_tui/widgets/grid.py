"""The registry grid: one row per branch, one glyph column per artifact, metric vs prod.

A line-API `ScrollView`: only the lines on screen are rendered, so a registry of hundreds of
branches scrolls and filters as you type. The branch and metric columns stay put while the
artifact columns scroll sideways; the cursor lights its cell, its branch and its column's
header. Columns adapt to the width: names when they fit, else two-character codes (kind
letter + number) explained by `column_key()`. While a grid is still being read, its
``pending`` rows show their branch only; as parts come in, only the lines on screen that
changed are repainted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from mlvc_tui import present
from mlvc_tui.columns import artifact_label, column_codes, column_key
from mlvc_tui.engine import ArtifactStatus, BranchKind, BranchSnapshot, Grid
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import literal, status_cell, verdict_cell

__all__ = ["RegistryGrid", "column_codes", "column_key"]

_LABEL_WIDTHS = (14, 11, 9)  # names, truncated to the widest that fits


@dataclass(frozen=True, slots=True)
class _Column:
    key: str
    label: Text
    width: int  # without the one-cell padding either side
    center: bool = False


class RegistryGrid(ScrollView, can_focus=True):
    """Branches × artifacts. `show()` fills it; the cursor keeps its branch across reloads."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Cursor down", show=False),
        Binding("k,up", "cursor_up", "Cursor up", show=False),
        Binding("right", "cursor_right", "Cursor right", show=False),
        Binding("h,left", "cursor_left", "Cursor left", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("home", "first", "First branch", show=False),
        Binding("end", "last", "Last branch", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "registry-grid--header",
        "registry-grid--fixed",
        "registry-grid--cursor",
        "registry-grid--cursor-row",
    }
    DEFAULT_CSS = """
    RegistryGrid { background: $surface; scrollbar-size-vertical: 1; }
    RegistryGrid > .registry-grid--header { background: $panel-lighten-1; text-style: bold; }
    RegistryGrid > .registry-grid--fixed { background: $boost; }
    RegistryGrid > .registry-grid--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    RegistryGrid:blur > .registry-grid--cursor {
        background: $block-cursor-blurred-background; color: $foreground;
    }
    RegistryGrid > .registry-grid--cursor-row { background: $block-cursor-blurred-background; }
    """

    class CursorMoved(Message):
        """The cursor moved to another branch or artifact."""

    class Selected(Message):
        """Enter (or a click) picked the branch under the cursor."""

    # A cursor move repaints the lines it changes, not the grid: on a slow link every byte
    # of a keypress is lag (the watchers below).
    cursor_row: reactive[int] = reactive(0, layout=False, repaint=False)
    cursor_column: reactive[int] = reactive(0, layout=False, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: Grid | None = None
        self._needle: str | None = None  # the filter the rows were chosen by
        self.compact = False
        self.codes: dict[str, str] = {}
        self.shown: tuple[BranchSnapshot, ...] = ()
        self.pending: frozenset[str] = frozenset()  # rows still being read (placeholders)
        self._columns: list[_Column] = []
        self._fixed = 0  # how many columns stay put
        self._cells: dict[str, list[Text]] = {}  # a row's fixed cells, by branch
        self._glyphs: dict[ArtifactStatus | None, Text] = {}  # one cell per status
        self._starts: list[int] = [0]  # where each column starts (and the last one ends)
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(1024)
        self._version = 0
        self._laid_out = 0  # the width self._columns were laid out for
        self._now = datetime.now()

    # -- what the cursor is on -------------------------------------------------------------

    @property
    def branch(self) -> str | None:
        """The branch under the cursor."""
        row = self.cursor_row
        return self.shown[row].branch.name if 0 <= row < len(self.shown) else None

    @property
    def column_path(self) -> str | None:
        """The artifact under the cursor (None on the branch or metric columns)."""
        if self.grid is None or self.cursor_column < self._fixed:
            return None
        index = self.cursor_column - self._fixed
        return self.grid.columns[index] if index < len(self.grid.columns) else None

    def _refresh_row(self, row: int) -> None:
        """Repaint the screen line of branch ``row`` (if it is in view)."""
        y = row - self.scroll_offset.y + 1  # line 0 is the header
        if 0 < y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        """Called when the cursor changes row: repaint the two rows."""
        self._refresh_row(old)
        self._refresh_row(new)

    def watch_cursor_column(self, old: int, new: int) -> None:
        """Called when the cursor changes column: repaint the header and the cursor's row."""
        self.refresh(Region(0, 0, self.size.width, 1))
        self._refresh_row(self.cursor_row)

    def move_cursor(self, *, row: int | None = None, column: int | None = None) -> None:
        """Put the cursor on a row and/or column (clamped), scrolling it into view."""
        if row is not None:
            self.cursor_row = max(0, min(row, len(self.shown) - 1))
        if column is not None:
            self.cursor_column = max(0, min(column, len(self._columns) - 1))
        self._scroll_to_cursor()
        self.post_message(self.CursorMoved())

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_right(self) -> None:
        self.move_cursor(column=self.cursor_column + 1)

    def action_cursor_left(self) -> None:
        self.move_cursor(column=self.cursor_column - 1)

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + max(1, self.size.height - 2))

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.shown) - 1)

    def on_click(self, event: events.Click) -> None:
        """Called on a mouse click: move the cursor there; a second click opens."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = self.scroll_offset.y + offset.y - 1
        x, column = offset.x, None
        for index, col in enumerate(self._columns):
            start = self._x_of(index) - (self.scroll_offset.x if index >= self._fixed else 0)
            if start <= x < start + col.width + 2:
                column = index
        if row < len(self.shown):
            self.move_cursor(row=row, column=column)
            if event.chain > 1:
                self.post_message(self.Selected())

    # -- filling ---------------------------------------------------------------------------

    def show(
        self,
        grid: Grid,
        *,
        text_filter: str = "",
        width: int,
        now: datetime,
        pending: frozenset[str] = frozenset(),
    ) -> None:
        """Show ``grid`` (rows matching ``text_filter``) laid out for ``width`` cells; the
        rows named in ``pending`` are still being read."""
        keep_branch, keep_column = self.branch, self.cursor_column
        if grid is self.grid and width == self._laid_out:
            layout = self._columns  # a filter typed: the same grid, the same columns
        else:
            layout = self._layout(grid, width)
        self._laid_out = width
        needle = text_filter.casefold()
        if (grid, layout, needle, pending) == (
            self.grid,
            self._columns,
            self._needle,
            self.pending,
        ):
            return  # R on an unchanged registry: nothing to repaint, nothing to send
        shown = tuple(r for r in grid.rows if needle in r.branch.name.casefold())
        self._needle = needle
        if self._same_lines(layout, shown):
            self._fill_in(grid, shown, pending, now)
            return
        self.pending = pending
        if grid is not self.grid or layout != self._columns:
            self._cells.clear()
        self.grid, self._columns = grid, layout
        self._starts = list(accumulate((c.width + 2 for c in layout), initial=0))
        self.shown = shown
        self._now = now
        self._version += 1
        self._lines.clear()
        self.virtual_size = Size(self._x_of(len(self._columns)), len(self.shown) + 1)
        names = [r.branch.name for r in self.shown]
        row = names.index(keep_branch) if keep_branch in names else 0
        self.move_cursor(row=row, column=keep_column)
        self.refresh()

    def _same_lines(self, layout: list[_Column], shown: tuple[BranchSnapshot, ...]) -> bool:
        """Whether the same branches would be on the same lines, in the same columns."""
        return (
            self.grid is not None
            and layout == self._columns
            and len(shown) == len(self.shown)
            and all(a.branch.name == b.branch.name for a, b in zip(shown, self.shown, strict=True))
        )

    def _fill_in(
        self, grid: Grid, shown: tuple[BranchSnapshot, ...], pending: frozenset[str], now: datetime
    ) -> None:
        """Rows read (or read again) on the same lines: repaint those on screen that changed."""
        old, was_pending = self.shown, self.pending
        top = self.scroll_offset.y
        changed = [
            row
            for row in range(top, min(len(shown), top + max(0, self.size.height - 1)))
            if shown[row] != old[row]
            or (shown[row].branch.name in pending) != (old[row].branch.name in was_pending)
        ]
        self.grid, self.shown, self.pending, self._now = grid, shown, pending, now
        self._cells.clear()
        self._lines.clear()
        self._version += 1
        for row in changed:
            self._refresh_row(row)

    def _layout(self, grid: Grid, width: int) -> list[_Column]:
        self.codes = column_codes(grid)
        branch_w = min(
            max(
                (
                    cell_len(visible(r.branch.name)) + cell_len(present.sync_mark(r.branch)) + 1
                    for r in grid.rows
                ),
                default=6,
            )
            + 1,
            max(16, width // 5),
        )
        columns = [
            _Column("branch", Text("branch"), branch_w),
            _Column("metric", literal(grid.primary_metric or "metric"), 16),
        ]
        if width >= 110:
            columns.append(_Column("age", Text("updated"), 13))
        self._fixed = len(columns)
        room = width - sum(c.width + 2 for c in columns) - 2  # and a vertical scrollbar
        labels = {p: visible(artifact_label(grid, p)) for p in grid.columns}
        label_w = next(
            (
                w
                for w in _LABEL_WIDTHS
                if sum(min(cell_len(lb), w) + 2 for lb in labels.values()) <= room
            ),
            None,
        )
        self.compact = label_w is None
        for path in grid.columns:
            label = self.codes[path] if label_w is None else labels[path]
            columns.append(
                _Column(
                    f"artifact:{path}",
                    literal(label),
                    min(cell_len(label), label_w or 2),
                    center=True,
                )
            )
        return columns

    def _row_cells(self, snap: BranchSnapshot, now: datetime) -> list[Text]:
        """The fixed cells of one branch's row (made when the row first shows, then kept);
        its artifact cells are made as they come into view (`_status_cell`)."""
        grid = self.grid
        assert grid is not None
        branch = snap.branch
        name = literal(
            ("● " if branch.is_head else "") + branch.name,
            "bold" if branch.kind is BranchKind.PROD else "",
        )
        if mark := present.sync_mark(branch):
            name.append(f" {mark}", style="dim")
        if branch.is_head:
            name.stylize("bold cyan", 0, 1)
        prod = branch.kind is BranchKind.PROD
        waiting = branch.name in self.pending
        cells = [
            name,
            Text("…", style="dim")
            if waiting
            else verdict_cell(
                snap.primary_value,
                None if prod else snap.primary_delta,
                None if prod else snap.primary_verdict,
                error=bool(snap.metrics.errors),
            ),
        ]
        if self._fixed == 3:
            cells.append(Text(present.relative_time(branch.commit.time, now), style="dim"))
        return cells

    def _status_cell(self, snap: BranchSnapshot, index: int) -> Text:
        """The cell of artifact column ``index`` (counting every column) in a row: a
        registry of thousands of artifacts makes only the cells in view."""
        if snap.branch.name in self.pending:  # not read yet: its cells come with the next part
            return Text("")
        assert self.grid is not None
        status = snap.status.get(self.grid.columns[index - self._fixed])
        cell = self._glyphs.get(status)
        if cell is None:
            cell = self._glyphs[status] = status_cell(status)
        return cell

    # -- rendering -------------------------------------------------------------------------

    def _x_of(self, index: int) -> int:
        """Where column ``index`` starts, counting every column before it."""
        return self._starts[min(index, len(self._starts) - 1)]

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height - 1
        x, y = self.scroll_offset
        if self.cursor_row < y:
            y = self.cursor_row
        elif height > 0 and self.cursor_row >= y + height:
            y = self.cursor_row - height + 1
        if self.cursor_column >= self._fixed and self._columns:
            fixed = self._x_of(self._fixed)
            area = self.scrollable_content_region.width - fixed
            start = self._x_of(self.cursor_column) - fixed
            end = start + self._columns[self.cursor_column].width + 2
            x = start if start < x else (end - area if area > 0 and end > x + area else x)
        if (x, y) != tuple(self.scroll_offset):  # scrolling in place repaints the scrollbar
            self.scroll_to(x, y, animate=False, immediate=True)

    def _fit(self, cell: Text, column: _Column, style: Style | None) -> Text:
        out = cell.copy()
        out.truncate(column.width, overflow="ellipsis")
        pad = column.width - out.cell_len
        left = pad // 2 if column.center else 0
        out = Text.assemble(" " * (left + 1), out, " " * (pad - left + 1), end="")
        if style is not None:
            out.stylize(style)
        return out

    def _in_view(self, width: int) -> range:
        """The scrolled columns at least partly in view in ``width`` cells."""
        starts, fixed = self._starts, self._fixed
        left = starts[fixed] + self.scroll_offset.x  # the scrolled part's view, as x
        right = left + max(0, width - starts[fixed])
        count = len(self._columns)
        first = min(max(fixed, bisect_right(starts, left) - 1), count)
        return range(first, min(bisect_left(starts, right, first), count))

    def _line(
        self, cell: Callable[[int], Text], styles: tuple[Style, Style], lit: set[int], width: int
    ) -> Strip:
        """One line: the fixed columns in ``styles[0]``, the scrolled ones in ``styles[1]``
        (only those in view are made: ``cell(i)`` is column i's cell)."""
        console, cursor = self.app.console, self.get_component_rich_style("registry-grid--cursor")
        if self.app.no_color:  # greys alone do not show the cursor on every terminal
            cursor += Style(reverse=True)
        parts = []
        view = self._in_view(width)
        for group, style in zip((range(self._fixed), view), styles, strict=True):
            text = Text(end="")
            for i in group:
                text.append_text(self._fit(cell(i), self._columns[i], cursor if i in lit else None))
            parts.append(Strip(text.render(console)).apply_style(style))
        fixed, scrolled = parts
        skip = self.scroll_offset.x - (self._starts[view.start] - self._starts[self._fixed])
        scrolled = scrolled.crop(skip, skip + width - fixed.cell_length)
        line = Strip.join([fixed, scrolled]).extend_cell_length(width, styles[1])
        return line.crop(0, width)

    def render_line(self, y: int) -> Strip:
        """Called for each line on screen: the header, or the branch at that line."""
        width = self.scrollable_content_region.width
        x, top = self.scroll_offset
        row = top + y - 1
        focus = self.has_focus
        key = (
            y if y == 0 else row,
            x,
            width,
            self.cursor_column if y == 0 or row == self.cursor_row else -1,
            row == self.cursor_row,
            focus,
            self._version,
        )
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        base, component = self.rich_style, self.get_component_rich_style
        if y == 0:
            header = base + component("registry-grid--header")
            columns = self._columns
            line = self._line(
                lambda i: columns[i].label, (header, header), {self.cursor_column}, width
            )
        elif 0 <= row < len(self.shown):
            snap = self.shown[row]
            cells = self._cells.get(snap.branch.name)
            if cells is None:
                cells = self._cells[snap.branch.name] = self._row_cells(snap, self._now)
            fixed = base + component("registry-grid--fixed")
            n = self._fixed

            def cell(i: int) -> Text:
                return cells[i] if i < n else self._status_cell(snap, i)

            if row == self.cursor_row:
                lit, lift = {0, self.cursor_column}, component("registry-grid--cursor-row")
                line = self._line(cell, (fixed + lift, base + lift), lit, width)
            else:
                line = self._line(cell, (fixed, base), set(), width)
        else:
            line = Strip.blank(width, base)
        self._lines[key] = line
        return line

    def notify_style_update(self) -> None:
        """Called when styles change (theme, focus): drop the rendered lines."""
        super().notify_style_update()
        self._lines.clear()
