"""Column widths a DataTable is given when it is filled, and its size set then too.

Textual's DataTable measures auto-width columns when it is idle, and a line it drew before
that stays in its caches (keyed by update count only): under load a table could keep
squashed or stale lines. So every table here passes each column's width with its rows,
computed from the same cells by `column_widths`. It also sets its scrollable size only
when idle: until then an auto-height table is laid out with no rows, and under load a
screen could settle that way (the promotion dialog showed its metric table as blank
lines). `size_now` sets that size as soon as the rows are in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.geometry import Size
from textual.widgets import DataTable

__all__ = ["add_sized_columns", "column_widths", "fitting", "size_now", "text_width"]


def text_width(cell: str | Text) -> int:
    """Terminal cells of the widest line of ``cell``."""
    return max(cell_len(line) for line in str(cell).split("\n"))


def column_widths(heads: Sequence[str | Text], rows: Iterable[Sequence[str | Text]]) -> list[int]:
    """Each column's width: its widest cell, the header's included."""
    widths = [text_width(head) for head in heads]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], text_width(cell))
    return widths


def fitting(widths: Sequence[int], room: int, drop: Sequence[int]) -> list[int]:
    """The columns kept of those ``widths`` wide: the ones in ``drop`` (least important
    first) are left out, one by one, until the rest fit in ``room`` cells (a column takes
    its width and one cell of padding each side)."""
    kept = list(range(len(widths)))
    for i in drop:
        if sum(widths[k] + 2 for k in kept) <= room:
            break
        kept.remove(i)
    return kept


def add_sized_columns(
    table: DataTable[Any],
    heads: Sequence[str | Text],
    rows: Sequence[Sequence[str | Text]],
    keys: Sequence[str] | None = None,
    *,
    room: int | None = None,
    drop: Sequence[int] = (),
) -> list[int]:
    """Add ``heads`` as ``table``'s columns, each as wide as its widest cell in ``rows``
    (the rows the caller adds next) or its header; with ``room``, the columns in ``drop``
    (least important first) are left out until the rest fit. Returns the indices of the
    columns added: the cells of each row to add."""
    widths = column_widths(heads, rows)
    kept = fitting(widths, room, drop) if room is not None else list(range(len(heads)))
    for i in kept:
        table.add_column(heads[i], key=keys[i] if keys else None, width=widths[i])
    return kept


def size_now(table: DataTable[Any]) -> None:
    """Give ``table`` the scrollable size of its columns and rows now (the size it would
    give itself when idle), so it is laid out with them at once."""
    width = sum(column.get_render_width(table) for column in table.columns.values())
    height = sum(row.height for row in table.rows.values())
    table.virtual_size = Size(width, height + (table.header_height if table.show_header else 0))
