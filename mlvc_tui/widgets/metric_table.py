"""A table of metric deltas: both values, delta, relative change and a verdict.

Verdicts carry a glyph and a word as well as a colour, so the table reads with NO_COLOR.
Keys come from the repository and are shown literally.
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from mlvc_tui import present
from mlvc_tui.engine import MetricDelta, Verdict
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import VERDICT_GLYPHS
from mlvc_tui.widgets.widths import column_widths, size_now

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


def _wrap(name: str, width: int) -> str:
    """``name`` on two lines of ``width``: broken at a ``.`` or ``/``, else a ``_`` or
    ``-``, where the rest then fits, else at the width; a name longer than both lines
    keeps its start and, after "…", its end (the metric itself: ``…age<30.accuracy``)."""
    if len(name) <= width:
        return name
    for separators in "./", "_-":  # a level of the name, else a word in it
        # before or after one, the first line as long as it can be
        cuts = [i + after for i, c in enumerate(name) if c in separators for after in (0, 1)]
        whole = [cut for cut in cuts if 0 < cut <= width and len(name) - cut <= width]
        if whole:
            return name[: whole[-1]] + "\n" + name[whole[-1] :]
    if len(name) <= 2 * width:
        return name[:width] + "\n" + name[width:]
    return name[:width] + "\n…" + name[-(width - 1) :]


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
        Where one line per metric does not fit (a 50-column dialog), each row takes two:
        both values stacked, Δ over rel, and the metric's name wrapped.
        """
        current = self.current_key()
        self.clear(columns=True)
        mono = self.app.no_color
        names = 12 if width < 100 else 24
        head_a, head_b = _clip(visible(a), names), _clip(visible(b), names)
        numbers = [
            (
                present.number(r.a),
                present.number(r.b),
                present.delta(r.delta),
                present.relative(r.relative),
            )
            for r in rows
        ]
        verdicts = [verdict_text(r, mono) for r in rows]
        longest = max((len(visible(r.key)) for r in rows), default=KEY_MIN)
        heads = [head_a, head_b, "Δ", "rel"]
        cells = [list(n) for n in numbers]

        def measure(heads: list[str], cells: list[list[str]]) -> list[int]:
            every: list[list[str | Text]] = [[*c, v] for c, v in zip(cells, verdicts, strict=True)]
            return column_widths([*heads, "verdict"], every)

        widths = measure(heads, cells)
        stacked = width - sum(w + 2 for w in widths) - 4 < KEY_MIN
        if stacked:
            heads = [f"{head_a}\n{head_b}", "Δ\nrel"]
            cells = [[f"{va}\n{vb}", f"{d}\n{rel}"] for va, vb, d, rel in numbers]
            widths = measure(heads, cells)
        key_width = max(KEY_MIN, min(KEY_MAX, longest, width - sum(w + 2 for w in widths) - 4))
        lines = 2 if stacked else 1
        self.header_height = lines
        # Every width is set here, none measured by the table later (see widgets.widths).
        self.add_column(Text("metric"), key="metric", width=key_width)
        keys = ["values", "change"] if stacked else ["a", "b", "delta", "relative"]
        for head, key, w in zip([*heads, "verdict"], [*keys, "verdict"], widths, strict=True):
            self.add_column(Text(head), key=key, width=w)
        half = len(heads) // 2  # the values, then the changes (in the verdict's style)
        for row, line, verdict in zip(rows, cells, verdicts, strict=True):
            _, _, style = verdict_look(row.verdict, mono)
            name = visible(row.key)
            self.add_row(
                Text(_wrap(name, key_width) if stacked else _clip(name, key_width)),
                *(Text(c, justify="right") for c in line[:half]),
                *(Text(c, style=style, justify="right") for c in line[half:]),
                verdict,
                key=row.key,
                height=lines,
            )
        order = [r.key for r in rows]
        if current in order:
            self.move_cursor(row=order.index(current), animate=False)
        size_now(self)

    def current_key(self) -> str | None:
        """The metric under the cursor."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
