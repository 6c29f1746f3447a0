"""Column widths a DataTable is given when it is filled, never measured by it later.

Textual's DataTable measures auto-width columns when it is idle, and a line it drew before
that stays in its caches (keyed by update count only): under load a table could keep
squashed or stale lines. So every table here passes each column's width with its rows,
computed from the same cells by `column_widths`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

__all__ = ["add_sized_columns", "column_widths", "text_width"]


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


def add_sized_columns(
    table: DataTable[Any],
    heads: Sequence[str | Text],
    rows: Sequence[Sequence[str | Text]],
    keys: Sequence[str] | None = None,
) -> None:
    """Add ``heads`` as ``table``'s columns, each as wide as its widest cell in ``rows``
    (the rows the caller adds next) or its header."""
    widths = column_widths(heads, rows)
    for i, (head, width) in enumerate(zip(heads, widths, strict=True)):
        table.add_column(head, key=keys[i] if keys else None, width=width)
