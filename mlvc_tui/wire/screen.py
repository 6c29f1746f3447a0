"""A model of what the terminal shows, so that a repaint sends only the cells that changed,
each style change once.

Textual repaints a widget by writing its whole region, every segment as ``ESC[<full
style>m text ESC[0m``: a cursor move in the grid resends two rows and the preview in full,
with the same colour codes again and again. `WireEncoder` rewrites that stream the way curses
does. It remembers the character and style of every cell it has written and the style and
position the terminal is in; of each repaint it sends only the glyphs that differ, moving
the cursor to them (or re-sending a few unchanged cells when that is shorter), and only the
change from the terminal's style to the next one.

Anything it does not model (an erase, a scroll, a relative cursor move, a style code it does
not parse, a control character in the text) is passed on unchanged, and what it knew of the
screen is forgotten, so the next repaint is sent in full: a wrong guess can cost bytes, never
a wrong screen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import repeat
from typing import Final

from rich.cells import get_character_cell_size

from mlvc_tui.wire.sgr import PLAIN, Style, blank, parse, transition

__all__ = ["WireEncoder"]

_TOKEN: Final = re.compile(
    r"\x1b\[([0-9;:]*)m"  # 1: a style (SGR)
    r"|\x1b\[(\d*)(?:;(\d*))?H"  # 2, 3: move the cursor to row;column
    r"|(\x1b\[\?(?!1049|1047|47[hl])[\d;]*[hl]"  # 4: a terminal mode (the alternate screen's
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x07)"  # excepted), OSC, the bell: none draws or moves
    r"|(\n)(?=\x1b\[\d*(?:;\d*)?H)"  # 5: a newline a cursor move makes moot
    r"|([^\x00-\x1f\x7f]+)"  # 6: text
    r"|(\x1b\[[0-?]*[ -/]*[@-~]|\x1b[^\[]?|[\x00-\x1f\x7f])",  # 7: anything else
)
_BRIDGE: Final = 8  # at most this many unchanged cells re-sent instead of a cursor move

#: A glyph (or "" right of a wide one) and its style (of a blank, only what shows: `blank`);
#: None: unknown.
Cell = tuple[str, Style] | None


class WireEncoder:
    """Rewrites one terminal's output stream into the changes it makes to the screen.

    It assumes nothing else writes to the terminal (``forget`` when that may have happened,
    or the terminal was resized). Each `encode` call leaves the cursor where its input
    asked for it, so calls can be split anywhere between sequences; a style is sent only
    when a glyph (or an erase) needs it.
    """

    def __init__(self, columns: int | None = None) -> None:
        self.columns = columns  # the screen's width, if known: then moves can be relative
        self.rows: dict[int, list[Cell]] = {}
        self.sent: Style | None = None  # the terminal's style (None: unknown)
        self.wanted: Style | None = PLAIN  # the style the next glyph is to have
        self.at: tuple[int, int] | None = None  # the terminal's cursor (row, column)
        self.cursor: tuple[int, int] | None = None  # where the input's next glyph goes

    def forget(self) -> None:
        """Know nothing of the screen: the next repaint is sent in full."""
        self.rows.clear()
        self.sent = self.at = self.cursor = None

    def encode(self, data: str) -> str:
        """What to send instead of ``data``."""
        out: list[str] = []
        for match in _TOKEN.finditer(data):
            params, row, column, neutral, _, text, other = match.groups()
            if params is not None:
                before, self.wanted = self.wanted, parse(params, self.wanted)
                if self.wanted is None:  # not understood: pass it on as it is
                    self._settle(out, before)
                    out.append(match.group())
                    self.sent = None
            elif row is not None:
                self.cursor = (int(row or 1) - 1, int(column or 1) - 1)
            elif neutral is not None:
                out.append(neutral)
            elif text is not None:
                self._text(out, text)
            elif other is not None:
                self._move(out)
                self._settle(out, self.wanted)
                out.append(other)
                self.rows.clear()  # it may have drawn, erased or moved anything
                self.at = self.cursor = None
        self._move(out)  # (the style is settled when the next glyph needs it)
        return "".join(out)

    def _text(self, out: list[str], text: str) -> None:
        """Send the glyphs of ``text`` that differ from what the screen shows."""
        if self.cursor is None or (not text.isascii() and _zero_width(text[0])):
            self._move(out)  # (a combining mark on a glyph drawn earlier: not modelled)
            self._settle(out, self.wanted)
            out.append(text)
            self.rows.clear()
            self.at = self.cursor = None
            return
        y, x = self.cursor
        is_ascii = text.isascii()
        wide = None if is_ascii else list(_glyphs(text))  # (ASCII: a glyph per character)
        stop = x + (len(text) if wide is None else sum(width for _, width in wide))
        row = self.rows.setdefault(y, [])
        if len(row) <= stop:
            row.extend([None] * (stop + 1 - len(row)))
        style = self.wanted
        if style is None:  # drawn in a style not modelled: send it all, know nothing of it
            self._go(out, row, y, x)
            out.append(text)
            self._drawn(row, x, stop, [None] * (stop - x))
            self.at = self.cursor = (y, stop)
            return
        space, right = blank(style), ("", style)
        if is_ascii and row[x:stop] == [(c, space if c == " " else style) for c in text]:
            self.cursor = (y, stop)  # (the common case of a repaint: nothing changed)
            return
        for glyph, width in zip(text, repeat(1)) if wide is None else wide:
            end = x + width
            new = (glyph, space if glyph == " " else style)
            if row[x] == new and (width == 1 or row[x + 1] == right):
                x = end
                continue
            self._go(out, row, y, x)
            sent = self.sent
            if sent is not style and (glyph != " " or sent is None or blank(sent) != space):
                self._settle(out, style)
            out.append(glyph)
            self._drawn(row, x, end, [new, right] if width == 2 else [new])
            self.at = (y, x) = (y, end)
        self.cursor = (y, x)

    @staticmethod
    def _drawn(row: list[Cell], start: int, end: int, cells: list[Cell]) -> None:
        """Record ``cells`` drawn over ``row[start:end]``; a wide glyph they cut in half
        is no longer known (terminals differ in what they leave of it)."""
        if start and _is_right_half(row[start]):
            row[start - 1] = None
        if _is_right_half(row[end]):
            row[end] = None
        row[start:end] = cells

    def _go(self, out: list[str], row: list[Cell], y: int, x: int) -> None:
        """Put the terminal's cursor at (y, x): re-send the few cells between when they are
        known, in the terminal's style and one cell wide each; else move it there."""
        if self.at == (y, x):
            return
        move = self._path(y, x)
        if (
            self.at is not None
            and self.sent is not None  # (a style it does not model would be lost)
            and self.at[0] == y
            and 0 < x - self.at[1] <= _BRIDGE
        ):
            bridge, style = _bridge(row[self.at[1] : x], self.sent)
            if bridge is not None and len(bridge) <= len(move):
                out.append(bridge)
                self.at, self.sent = (y, x), style
                return
        out.append(move)
        self.at = (y, x)

    def _move(self, out: list[str]) -> None:
        """Bring the terminal's cursor to where the input has it, if they differ."""
        if self.cursor is not None and self.cursor != self.at:
            out.append(self._path(*self.cursor))
            self.at = self.cursor

    def _path(self, y: int, x: int) -> str:
        """The shortest way to move the terminal's cursor to (y, x): to the place, or by
        so many rows and columns from where it is (not from past the last column, where
        terminals differ)."""
        there = f"\x1b[{y + 1};{x + 1}H"
        if self.at is None or self.columns is None or self.at[1] >= self.columns:
            return there
        row, column = self.at
        down = "" if y == row else _csi(y - row, "B") if y > row else _csi(row - y, "A")
        if x == column:
            across = ""
        elif x > column:
            across = _csi(x - column, "C")
        else:
            across = min(_csi(column - x, "D"), "\r" + (_csi(x, "C") if x else ""), key=len)
        return min(there, down + across, key=len)

    def _settle(self, out: list[str], style: Style | None) -> None:
        """Bring the terminal to ``style``, if known and not already there."""
        if style is not None and style != self.sent:
            out.append(transition(self.sent, style))
            self.sent = style


def _bridge(gap: list[Cell], style: Style | None) -> tuple[str | None, Style | None]:
    """The text that re-sends the known one-cell glyphs of ``gap`` as they are, starting in
    ``style``, and the style it ends in; None if a cell is unknown or wide."""
    parts: list[str] = []
    for cell in gap:
        if cell is None or not _narrow(cell[0]):
            return None, style
        glyph, shown = cell
        if style is None or (blank(style) if glyph == " " else style) != shown:
            parts.append(transition(style, shown))
            style = shown
        parts.append(glyph)
    return "".join(parts), style


def _glyphs(text: str) -> Iterator[tuple[str, int]]:
    """The glyphs of ``text`` (a character and the zero-width marks after it) and their
    widths in cells, as Rich and so Textual measure them."""
    glyph, width = "", 0
    for char in text:
        size = get_character_cell_size(char)
        if size == 0 and glyph:
            glyph += char
            continue
        if glyph:
            yield glyph, width
        glyph, width = char, size
    if glyph:
        yield glyph, width


def _csi(count: int, final: str) -> str:
    """A cursor move by ``count`` (1 is the default, left out)."""
    return f"\x1b[{count if count > 1 else ''}{final}"


def _is_right_half(cell: Cell) -> bool:
    return cell is not None and cell[0] == ""


def _zero_width(char: str) -> bool:
    return get_character_cell_size(char) == 0


def _narrow(glyph: str) -> bool:
    return glyph.isascii() and len(glyph) == 1
