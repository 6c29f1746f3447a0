"""The registry grid: one row per branch, one glyph column per artifact, metric vs prod.

A `DataTable` with a cell cursor whose row (the branch) and column (the artifact header)
stay highlighted, so a user always sees which branch and which artifact the cursor is on.
Columns adapt to the width: full file names when they fit, else two-character codes
(kind letter + number) explained by `column_key()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CursorType

from ..engine import BranchKind, BranchSnapshot, Grid
from ..safetext import visible
from .cells import literal, relative_time, status_cell, verdict_cell

__all__ = ["KIND_LETTERS", "RegistryGrid", "column_codes", "column_key"]

KIND_LETTERS = {"models": "M", "metrics": "E", "logs": "L", "monitoring": "O", "data": "D"}
_FIXED = ("branch", "metric")
_LABEL_WIDTHS = (14, 11, 9)  # full names, truncated to the widest that fits


def column_codes(grid: Grid) -> dict[str, str]:
    """A two-character code per artifact column: its kind's letter and its number."""
    counts: dict[str, int] = {}
    out = {}
    for path in grid.columns:
        kind = _kind(grid, path)
        letter = KIND_LETTERS.get(kind, kind[:1].upper() or "?")
        counts[letter] = counts.get(letter, 0) + 1
        n = counts[letter]
        out[path] = f"{letter}{n if n < 10 else chr(ord('a') + n - 10)}"
    return out


def column_key(grid: Grid, codes: dict[str, str], width: int) -> Text:
    """What each two-character column code stands for, grouped by kind, in ``width`` cells."""
    entries: list[Text] = []
    kind = None
    for path in grid.columns:
        entry = Text(end="")
        if (this := _kind(grid, path)) != kind:
            entry.append(f"{visible(this)}: ", style="bold")
            kind = this
        entry.append(codes[path], style="bold cyan").append(f" {visible(_label(grid, path))}")
        entries.append(entry)
    lines: list[Text] = [Text(end="")]
    for entry in entries:
        if lines[-1].cell_len and lines[-1].cell_len + 2 + entry.cell_len > width:
            lines.append(Text(end=""))
        if lines[-1].cell_len:
            lines[-1].append("  ")
        lines[-1].append_text(entry)
    return Text("\n", end="").join(lines)


def _kind(grid: Grid, path: str) -> str:
    for row in grid.rows:
        art = row.artifacts.get(path)
        if art is not None:
            return art.kind
    for change in grid.worktree:
        if change.path == path:
            return change.kind
    return path.split("/", 1)[0] if "/" in path else "data"


def _label(grid: Grid, path: str) -> str:
    """The path without its kind's folder: the kind is said by the group or the code."""
    head, _, rest = path.partition("/")
    return rest if rest and head == _kind(grid, path) else path


class RegistryGrid(DataTable[Text]):
    """Branches × artifacts. `show()` fills it; the cursor keeps its branch across reloads."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Cursor down", show=False),
        Binding("k", "cursor_up", "Cursor up", show=False),
        Binding("h", "cursor_left", "Cursor left", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="cell", fixed_columns=2, zebra_stripes=False)
        self.grid: Grid | None = None
        self.compact = False
        self.codes: dict[str, str] = {}
        self.shown: tuple[BranchSnapshot, ...] = ()

    # -- the cursor as a user sees it: the whole branch and the artifact header ------------

    def _should_highlight(
        self, cursor: Coordinate, target_cell: Coordinate, type_of_cursor: CursorType
    ) -> bool:
        if type_of_cursor == "cell" and (
            (target_cell.row == cursor.row and target_cell.column == 0)
            or (target_cell.row == -1 and target_cell.column == cursor.column)
        ):
            return True
        return super()._should_highlight(cursor, target_cell, type_of_cursor)

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        """Called when the cursor moves: repaint the branch cell and header it lights."""
        super().watch_cursor_coordinate(old, new)
        if old != new:
            self.refresh()

    @property
    def branch(self) -> str | None:
        """The branch under the cursor."""
        row = self.cursor_row
        return self.shown[row].branch.name if 0 <= row < len(self.shown) else None

    @property
    def column_path(self) -> str | None:
        """The artifact under the cursor (None on the branch or metric columns)."""
        if self.grid is None:
            return None
        index = self.cursor_column - len(self._fixed_keys())
        return self.grid.columns[index] if 0 <= index < len(self.grid.columns) else None

    def _fixed_keys(self) -> tuple[str, ...]:
        return (*_FIXED, "age") if self._with_age else _FIXED

    # -- filling ---------------------------------------------------------------------------

    _with_age = False

    def show(self, grid: Grid, *, text_filter: str = "", width: int, now: datetime) -> None:
        """Show ``grid`` (rows matching ``text_filter``) laid out for ``width`` cells."""
        keep_branch, keep_column = self.branch, self.cursor_column
        self.grid = grid
        needle = text_filter.casefold()
        self.shown = tuple(r for r in grid.rows if needle in r.branch.name.casefold())
        self.codes = column_codes(grid)
        branch_w = min(max((cell_len(visible(r.branch.name)) for r in grid.rows), default=6)
                       + 2, max(16, width // 5))
        metric_w = 16
        self._with_age = width >= 110
        age_w = 14 if self._with_age else 0
        pad = 2 * self.cell_padding
        room = width - branch_w - metric_w - age_w - 3 * pad - 2
        labels = {p: visible(_label(grid, p)) for p in grid.columns}
        label_w = next((w for w in _LABEL_WIDTHS
                        if sum(min(cell_len(lb), w) + pad for lb in labels.values()) <= room),
                       None)
        self.compact = label_w is None
        self.clear(columns=True)
        self.add_column(Text("branch"), width=branch_w, key="branch")
        metric = visible(grid.primary_metric or "metric")
        self.add_column(Text(metric, no_wrap=True, overflow="ellipsis"), width=metric_w,
                        key="metric")
        if self._with_age:
            self.add_column(Text("updated"), width=age_w, key="age")
        self.fixed_columns = len(self._fixed_keys())
        for path in grid.columns:
            label = self.codes[path] if label_w is None else labels[path]
            width_ = 2 if label_w is None else min(cell_len(label), label_w)
            self.add_column(literal(label), width=width_, key=f"artifact:{path}")
        for snap in self.shown:
            self.add_row(*self._cells(snap, grid, now), key=snap.branch.name)
        rows = [r.branch.name for r in self.shown]
        row = rows.index(keep_branch) if keep_branch in rows else 0
        column = min(keep_column, len(self.columns) - 1) if self.columns else 0
        self.move_cursor(row=row, column=max(column, 0), animate=False)

    def _cells(self, snap: BranchSnapshot, grid: Grid, now: datetime) -> list[Text]:
        branch = snap.branch
        style = "bold" if branch.kind is BranchKind.PROD else ""
        name = literal(("● " if branch.is_head else "") + branch.name, style)
        if branch.is_head:
            name.stylize("bold cyan", 0, 1)
        if branch.kind is BranchKind.PROD:
            metric = verdict_cell(snap.primary_value, None, None,
                                  error=bool(snap.metrics.errors))
        else:
            metric = verdict_cell(snap.primary_value, snap.primary_delta, snap.primary_verdict,
                                  error=bool(snap.metrics.errors))
        cells = [name, metric]
        if self._with_age:
            cells.append(Text(relative_time(branch.commit.time, now), style="dim"))
        cells.extend(status_cell(snap.status.get(p)) for p in grid.columns)
        return cells
