"""Terminal graphic renditions (SGR, ``ESC[…m``): parsed into a `Style`, and the shortest
sequence from one style to another."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final

__all__ = ["PLAIN", "Style", "blank", "parse", "transition"]

#: Attribute codes turned off together by one code: 22 ends bold and dim, 24 both underlines.
_OFF: Final = (
    ((1, 2), 22),
    ((3,), 23),
    ((4, 21), 24),
    ((5, 6), 25),
    ((7,), 27),
    ((8,), 28),
    ((9,), 29),
    ((51, 52), 54),
    ((53,), 55),
)
_OFF_CODE: Final = {off: group for group, off in _OFF}
_ATTRIBUTES: Final = frozenset(code for group, _ in _OFF for code in group)


@dataclass(frozen=True, slots=True)
class Style:
    """A terminal's graphic rendition: attribute codes and the colour codes as sent."""

    attributes: frozenset[int] = frozenset()
    fg: str = ""
    bg: str = ""
    underline: str = ""  # underline colour (58;…)

    def codes(self) -> list[str]:
        """The codes that set this style after a reset."""
        out = [str(code) for code in sorted(self.attributes)]
        return out + [color for color in (self.fg, self.bg, self.underline) if color]


PLAIN: Final = Style()


@lru_cache(maxsize=4096)
def parse(params: str, start: Style | None) -> Style | None:
    """The style after an SGR sequence with ``params`` applied to ``start``; None when it
    holds a code this module does not model (it is then passed through as it is)."""
    values = params.split(";") if params else ["0"]
    attributes = set(start.attributes) if start else set()
    fg, bg, underline = (start.fg, start.bg, start.underline) if start else ("", "", "")
    known = start is not None
    i = 0
    while i < len(values):
        text = values[i]
        if not text.isdigit():
            if text:
                return None
            code = 0  # an empty parameter means 0
        else:
            code = int(text)
        i += 1
        if code == 0:
            attributes, fg, bg, underline, known = set(), "", "", "", True
        elif code in _ATTRIBUTES:
            attributes.add(code)
        elif code in _OFF_CODE:
            attributes -= set(_OFF_CODE[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = text
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = text
        elif code == 39:
            fg = ""
        elif code == 49:
            bg = ""
        elif code == 59:
            underline = ""
        elif code in (38, 48, 58):
            size = {"5": 2, "2": 4}.get(values[i] if i < len(values) else "", 0)
            color = values[i - 1 : i + size]
            if not size or len(color) != size + 1 or not all(v.isdigit() for v in color):
                return None
            i += size
            joined = ";".join(color)
            if code == 38:
                fg = joined
            elif code == 48:
                bg = joined
            else:
                underline = joined
        else:
            return None
    return Style(frozenset(attributes), fg, bg, underline) if known else None


@lru_cache(maxsize=4096)
def transition(start: Style | None, end: Style) -> str:
    """The shortest SGR sequence that takes the terminal from ``start`` to ``end``
    (``start`` None: unknown, so a reset comes first); "" when they are the same."""
    if start == end:
        return ""
    full = ";".join(["0", *end.codes()]) if end != PLAIN else ""
    if start is None:
        return f"\x1b[{full}m"
    codes: list[str] = []
    kept = set(start.attributes)
    for group, off in _OFF:
        if kept.intersection(group) - end.attributes:
            codes.append(str(off))
            kept.difference_update(group)
    codes += [str(code) for code in sorted(end.attributes - kept)]
    for was, now, off_code in (
        (start.fg, end.fg, "39"),
        (start.bg, end.bg, "49"),
        (start.underline, end.underline, "59"),
    ):
        if was != now:
            codes.append(now or off_code)
    diff = ";".join(codes)
    return f"\x1b[{diff if len(diff) < len(full) else full}m"


_LINES: Final = frozenset({4, 9, 21, 51, 52, 53})  # underline, strike, frames: drawn on blanks


@lru_cache(maxsize=4096)
def blank(style: Style) -> Style:
    """What of ``style`` shows on a blank cell: its background and the lines drawn through
    it; the colour and weight of a glyph that is not there do not (unless reversed)."""
    if 7 in style.attributes:
        return style
    lines = style.attributes & _LINES
    underline = style.underline if lines & {4, 21} else ""
    return Style(lines, "", style.bg, underline)
