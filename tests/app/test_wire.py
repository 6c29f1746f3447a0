"""What the app sends to the terminal (mlvc_tui/wire): fewer bytes, the same screen.

Every stream is fed to a terminal emulator (pyte) twice, as Textual wrote it and as the
encoder rewrote it; after each write both screens must show the same cells (characters,
colours, attributes) with the cursor in the same place.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlvc_tui.wire import WireEncoder
from mlvc_tui.wire.sgr import PLAIN, Style, parse, transition
from tests.support.terminal import Terminal

COLUMNS, LINES = 24, 6

SGR = st.sampled_from(
    [
        "0",
        "",
        "1",
        "2",
        "3",
        "4",
        "7",
        "9",
        "21",
        "53",
        "22",
        "23",
        "24",
        "27",
        "39",
        "49",
        "31",
        "97",
        "42",
        "104",
        "38;5;208",
        "48;5;17",
        "38;2;10;20;30",
        "48;2;200;0;9",
        "1;38;5;80;48;5;235",
        "0;3;38;2;1;2;3",
        "10",  # a code the encoder does not parse: passed on as it is
        "1;10",
    ]
)  # (no "4:3" or 58: pyte misreads them; see the parse tests)
GLYPHS = st.sampled_from(["a", "b", " ", " ", "=", "─", "█", "漢", "é", "e\u0301", "·"])
OTHER = st.sampled_from(["\x1b[K", "\x1b[2J", "\x1b[?25l", "\x1b]0;title\x07", "\x1b[1A", "\x07"])


@st.composite
def writes(draw: st.DrawFn) -> list[str]:
    """Writes the way Textual makes them: a cursor move, then styled runs that end in a
    reset, a newline and a move to the next line, ending with the cursor put somewhere;
    now and then something the encoder does not model."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        y, x = draw(st.integers(0, LINES - 1)), draw(st.integers(0, COLUMNS - 1))
        parts = [f"\x1b[{y + 1};{x + 1}H"]
        for _ in range(draw(st.integers(0, 8))):
            kind = draw(st.sampled_from(["run", "run", "run", "newline", "other"]))
            if kind == "run":
                text = ""
                for glyph in draw(st.lists(GLYPHS, max_size=6)):
                    width = 2 if glyph == "漢" else 1
                    if x + width > COLUMNS or (glyph == "e\u0301" and x + 1 == COLUMNS):
                        break  # (pyte wraps a combining mark in the last column)
                    text, x = text + glyph, x + width
                parts.append(f"\x1b[{draw(SGR)}m{text}\x1b[0m")
            elif kind == "newline" and y < LINES - 1:
                y, x = y + 1, draw(st.integers(0, COLUMNS - 1))
                parts.append(f"\n\x1b[{y + 1};{x + 1}H")
            elif kind == "other":
                parts.append(draw(OTHER))
        parts.append(f"\x1b[{draw(st.integers(1, LINES))};{draw(st.integers(1, COLUMNS))}H")
        out.append("".join(parts))
    return out


@settings(max_examples=400, deadline=None)
@given(writes(), st.sampled_from([COLUMNS, None]))
def test_the_screen_is_the_same_after_every_write(stream: list[str], width: int | None) -> None:
    raw, lean = Terminal(COLUMNS, LINES), Terminal(COLUMNS, LINES)
    encoder = WireEncoder(width)  # (with the width known, moves can be relative)
    for data in stream:
        raw.feed(data)
        lean.feed(encoder.encode(data))
        assert lean.cells() == raw.cells()
        assert lean.cursor() == raw.cursor()


STYLES = st.builds(
    Style,
    st.frozensets(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 9, 21, 51, 53])),
    st.sampled_from(["", "31", "38;5;80", "38;2;1;2;3"]),
    st.sampled_from(["", "44", "48;5;17"]),
    st.sampled_from(["", "58;5;3"]),
)


@given(STYLES, STYLES)
def test_a_transition_leads_from_one_style_to_the_other(start: Style, end: Style) -> None:
    sequence = transition(start, end)
    if start == end:
        assert sequence == ""
        return
    assert sequence.startswith("\x1b[") and sequence.endswith("m")
    assert parse(sequence[2:-1], start) == end
    assert len(sequence) <= len(transition(None, end))  # never longer than a reset and all


def test_styles_parse_as_a_terminal_reads_them() -> None:
    bold_red = parse("1;31", PLAIN)
    assert bold_red == Style(frozenset({1}), "31")
    assert parse("22", bold_red) == Style(fg="31")  # 22 ends bold (and dim)
    assert parse("", bold_red) == PLAIN  # an empty list resets
    assert parse("38;5;208;48;2;1;2;3", PLAIN) == Style(fg="38;5;208", bg="48;2;1;2;3")
    assert parse("4:3", PLAIN) is None  # a curly underline: not modelled, passed on
    assert parse("38;5", PLAIN) is None  # a colour cut short


def test_a_repaint_of_the_same_cells_sends_nothing_but_the_cursor() -> None:
    frame = "\x1b[1;1H\x1b[38;5;80;48;5;17mprod\x1b[0m\x1b[38;5;80;48;5;17m  0.91\x1b[0m\x1b[1;1H"
    encoder = WireEncoder()
    first = encoder.encode(frame)
    assert first.count("38;5;80") == 1  # the style once, not per segment
    assert encoder.encode(frame) == ""


def test_only_the_changed_cells_are_sent() -> None:
    encoder = WireEncoder()
    encoder.encode("\x1b[3;1H\x1b[31mstaging: train run 49\x1b[0m")
    assert encoder.encode("\x1b[3;1H\x1b[31mstaging: train run 48\x1b[0m") == "\x1b[3;21H8"


def test_a_resized_or_unknown_screen_is_sent_in_full() -> None:
    encoder = WireEncoder()
    frame = "\x1b[1;1H\x1b[31mprod\x1b[0m"
    encoder.encode(frame)
    encoder.forget()
    assert "prod" in encoder.encode(frame)
    encoder.encode("\x1b[2J")  # an erase it does not model: forget what was there
    assert "prod" in encoder.encode(frame)


def test_text_in_a_style_it_does_not_parse_keeps_that_style() -> None:
    """Re-sending the cells before it (cheaper than a move) would reset the style first."""
    raw, lean = Terminal(COLUMNS, LINES), Terminal(COLUMNS, LINES)
    encoder = WireEncoder()
    for data in ("\x1b[1;1H\x1b[0mabcdef\x1b[1;1H", "\x1b[1;3H\x1b[1;10mX\x1b[0m\x1b[1;1H"):
        raw.feed(data)
        lean.feed(encoder.encode(data))
    assert lean.cells() == raw.cells()
