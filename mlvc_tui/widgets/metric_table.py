"""A table of metric deltas: both values, delta, relative change and a verdict.

Verdicts carry a glyph and a word as well as a colour, so the table reads with NO_COLOR.
Keys come from the repository and are shown literally.
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from mlvc_tui import present
from mlvc_tui.engine import MetricDelta, Verdict
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import VERDICT_GLYPHS

__all__ = [
    "MetricTable",
    "tone",
    "verdict_look",
    "verdict_text",
]

KEY_MIN, KEY_MAX = 10, 48


_EMPHASIS = frozenset({"bold", "dim", "italic", "underline", "reverse"})


def tone(style: str, no_color: bool) -> str:
    """``style`` as is, or with NO_COLOR its colours turned into bold: a monochrome
    terminal shows red and blue as near-black, so meaning rides on weight instead."""
    if not no_color:
        return style
    words = style.split()
    kept = [w for w in words if w in _EMPHASIS]
    if len(kept) < len(words) and "dim" not in kept and "bold" not in kept:
        kept.append("bold")
    return " ".join(kept)


def verdict_look(verdict: Verdict, no_color: bool = False) -> tuple[str, str, str]:
    """(glyph, word, style): the grid's glyphs, with a word so the diff reads aloud."""
    glyph, style = VERDICT_GLYPHS[verdict]
    return glyph, present.VERDICT_WORDS[verdict], tone(style, no_color)


def verdict_text(row: MetricDelta, no_color: bool = False) -> Text:
    """``↑ better`` and friends; for NaN/inf, which one it was."""
    glyph, word, style = verdict_look(row.verdict, no_color)
    if row.verdict is Verdict.INVALID:
        values = [v for v in (row.a, row.b) if v is not None]
        word = "NaN" if any(math.isnan(v) for v in values) else "inf"
    return Text(f"{glyph} {word}", style=style)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


class MetricTable(DataTable[Text]):
    """One row per metric (row key = metric key); ``j``/``k`` move too."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def show_rows(self, a: str, b: str, rows: tuple[MetricDelta, ...], *, width: int) -> None:
        """Replace the rows, keeping the cursor on the same metric when it is still shown.

        ``width`` is the room for the table: the metric column gets what the others leave.
        """
        current = self.current_key()
        self.clear(columns=True)
        mono = self.app.no_color
        cells = [
            (
                present.number(r.a),
                present.number(r.b),
                present.delta(r.delta),
                present.relative(r.relative),
                verdict_text(r, mono),
            )
            for r in rows
        ]
        names = 12 if width < 100 else 24
        heads = [_clip(visible(a), names), _clip(visible(b), names), "Δ", "rel", "verdict"]
        # Every width is set here, none measured by the table later: a DataTable keeps lines
        # it drew before measuring its new rows (its caches are keyed by update count only).
        widths = [
            max([cell_len(h)] + [cell_len(str(c[i])) for c in cells]) for i, h in enumerate(heads)
        ]
        used = sum(w + 2 for w in widths)
        longest = max((len(visible(r.key)) for r in rows), default=KEY_MIN)
        key_width = max(KEY_MIN, min(KEY_MAX, longest, width - used - 4))
        self.add_column(Text("metric"), key="metric", width=key_width)
        columns = ("a", "b", "delta", "relative", "verdict")
        for head, key, w in zip(heads, columns, widths, strict=True):
            self.add_column(Text(head), key=key, width=w)
        for row, (va, vb, delta, rel, verdict) in zip(rows, cells, strict=True):
            _, _, style = verdict_look(row.verdict, mono)
            self.add_row(
                Text(_clip(visible(row.key), key_width)),
                Text(va, justify="right"),
                Text(vb, justify="right"),
                Text(delta, style=style, justify="right"),
                Text(rel, style=style, justify="right"),
                verdict,
                key=row.key,
            )
        keys = [r.key for r in rows]
        if current in keys:
            self.move_cursor(row=keys.index(current), animate=False)

    def current_key(self) -> str | None:
        """The metric under the cursor."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
