"""The real app in a pseudo-terminal: what it sends shows the same screens as Textual's own
stream (``MLVC_WIRE=raw``), in fewer bytes.

Both runs get the same keys and a resize; after each, the two terminal emulators must show
the same cells. The bytes are counted, never timed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.support.terminal import AppInPty, Shown

Screen = list[list[Shown]] | None

MLVC_TUI = str(Path(sys.executable).with_name("mlvc-tui"))
GRID = re.compile(r"\d+ branch")
FILTERED = re.compile(r"\d+ of \d+ branch")
# keys, what shows when they have taken effect, and whether the screens are compared (not
# while the filter box has focus: its cursor blinks)
STEPS: list[tuple[bytes, re.Pattern[str], bool]] = [
    (b"j", GRID, True),  # the cursor moves: two rows, the preview, the footer
    (b"?", re.compile(r"Everywhere"), True),  # help over the grid
    (b"\x1b", GRID, True),
    (b"/exp", FILTERED, False),
    (b"\r", FILTERED, True),  # the filter kept, the grid focused
    (b"\x1b", GRID, True),  # and cleared
]


def run(repo: Path, size: tuple[int, int], env: dict[str, str]) -> list[tuple[int, Screen]]:
    """Bytes sent and the screen (None: not compared), after the grid is up and after
    each step."""
    columns, lines = size
    app = AppInPty([MLVC_TUI, str(repo)], columns, lines, env)
    try:
        app.until(GRID, timeout=60)
        app.quiet(0.5)
        seen: list[tuple[int, Screen]] = [(len(app.seen), app.terminal.cells())]
        for keys, expected, compare in STEPS:
            before, shown = len(app.seen), app.terminal.cells()
            app.send(keys)
            app.until_changed(shown, timeout=30)
            app.until(expected, timeout=30)
            app.quiet(0.5, limit=5.0)
            seen.append((len(app.seen) - before, app.terminal.cells() if compare else None))
        before, shown = len(app.seen), app.terminal.cells()
        app.resize(columns - 20, lines - 6)  # a resize: the app draws the screen anew
        app.until_changed(shown, timeout=30)
        app.quiet(0.5, limit=5.0)
        seen.append((len(app.seen) - before, app.terminal.cells()))
        return seen
    finally:
        app.close()


@pytest.mark.parametrize(
    ("fixture", "size", "colors"),
    [("views_repo", (120, 40), "truecolor"), ("hostile_views_repo", (80, 24), "")],
)
def test_the_app_sends_the_same_screens_in_fewer_bytes(
    fixture: str, size: tuple[int, int], colors: str, request: pytest.FixtureRequest
) -> None:
    repo = request.getfixturevalue(fixture)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.update(TERM="xterm-256color", COLORTERM=colors, MLVC_WATCH="off")
    lean = run(repo, size, env)
    raw = run(repo, size, {**env, "MLVC_WIRE": "raw"})
    for step, ((lean_bytes, lean_screen), (raw_bytes, raw_screen)) in enumerate(
        zip(lean, raw, strict=True)
    ):
        assert lean_screen == raw_screen, f"step {step}: the screens differ"
        assert lean_bytes <= raw_bytes, f"step {step}: {lean_bytes} bytes, raw {raw_bytes}"
    (first, _), (move, _) = lean[0], lean[1]
    assert first * 3 < raw[0][0]  # the first paint: under a third of Textual's stream
    assert move <= 2048 and move * 2 < raw[1][0]  # one `j`
