"""Cells shared by the screens: status glyphs and metric values as styled Text.

The words, numbers and sizes themselves come from `mlvc_tui.present` (shared with the CLI).

Every function returns `rich.text.Text` built from `visible()` text, never markup, so
repository text is shown literally. Glyphs carry the meaning on their own (NO_COLOR);
colour only repeats it.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from mlvc_tui import present
from mlvc_tui.engine import ArtifactStatus, Verdict
from mlvc_tui.safetext import visible

__all__ = [
    "AB_STYLES",
    "BAD",
    "CHANGED",
    "GLYPHS",
    "GOOD",
    "LOCAL",
    "STATUS_WORDS",
    "VERDICT_GLYPHS",
    "legend",
    "literal",
    "status_cell",
    "tilde",
    "verdict_cell",
]

# Colours bright enough to stay readable when NO_COLOR turns them to grey; glyphs carry
# the meaning on their own.
GOOD, BAD, CHANGED, LOCAL = "#4fc36a", "#ff6b6b", "#f0a830", "#e27ee2"

# status -> (glyph, style, word)
_STATUS_LOOKS: dict[ArtifactStatus | None, tuple[str, str]] = {
    ArtifactStatus.SAME: ("dim", "same as prod"),
    ArtifactStatus.CHANGED: (f"bold {CHANGED}", "changed from prod"),
    ArtifactStatus.NEW: (f"bold {GOOD}", "new, not on prod"),
    ArtifactStatus.MISSING: (f"bold {BAD}", "missing, on prod only"),
    ArtifactStatus.MODIFIED: (f"bold {LOCAL}", "modified in the working tree"),
    None: ("dim", "on neither branch nor prod"),
}
GLYPHS: dict[ArtifactStatus | None, tuple[str, str, str]] = {
    status: (present.STATUS_GLYPHS[status], style, words)
    for status, (style, words) in _STATUS_LOOKS.items()
}
_VERDICT_STYLES: dict[Verdict, str] = {
    Verdict.BETTER: GOOD,
    Verdict.WORSE: BAD,
    Verdict.SAME: "dim",
    Verdict.NEW: GOOD,
    Verdict.MISSING: BAD,
    Verdict.INVALID: f"bold {BAD}",
}
VERDICT_GLYPHS: dict[Verdict, tuple[str, str]] = {
    v: (present.VERDICT_GLYPHS[v], style) for v, style in _VERDICT_STYLES.items()
}
STATUS_WORDS = present.STATUS_WORDS
# An A/B verdict's style (its glyph is ``present.AB_GLYPHS``).
AB_STYLES: dict[str, str] = {
    "winner": "green bold",
    "loser": "red bold",
    "not enough data yet": "yellow",
    "no difference": "dim",
    "control": "dim",
}


def tilde(text: str) -> str:
    """``text`` with the home folder written ``~`` (shorter messages, the same meaning)."""
    home = str(Path.home()).rstrip("/")
    return text.replace(home + "/", "~/") if home else text


def literal(text: str, style: str = "") -> Text:
    """Repository text as a Text that shows it exactly (controls escaped, no markup)."""
    return Text(visible(text), style=style, no_wrap=True, overflow="ellipsis", end="")


def status_cell(status: ArtifactStatus | None) -> Text:
    """One glyph for an artifact's status against prod."""
    glyph, style, _ = GLYPHS[status]
    return Text(glyph, style=style, justify="center", end="")


def legend() -> Text:
    """The key to the grid's glyphs."""
    out = Text(end="")
    for status, word in STATUS_WORDS.items():
        glyph, style, _ = GLYPHS[status]
        out.append(glyph, style=style).append(f" {word} ")
    out.append("↑", style=f"bold {GOOD}").append("↓", style=f"bold {BAD}").append(" vs prod ")
    out.append("!", style=f"bold {BAD}").append(" error")
    return out


def verdict_cell(
    value: float | None, delta: float | None, verdict: Verdict | None, *, error: bool = False
) -> Text:
    """A metric cell: value, delta against prod and a better/worse glyph."""
    out = Text(no_wrap=True, end="")
    if error:
        out.append("! ", style=f"bold {BAD}")
    out.append(present.number(value, missing="error" if error else "—"))
    if delta is not None and verdict is not None:
        glyph, style = VERDICT_GLYPHS[verdict]
        if delta:
            out.append(f" {present.number(delta, signed=True)}", style=style)
        out.append(f" {glyph}", style=f"bold {style}")
    elif verdict is Verdict.INVALID:
        out.append(" ?", style=f"bold {BAD}")
    return out
