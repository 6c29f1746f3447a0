"""Cells shared by the screens: status glyphs, metric values, sizes, relative dates.

Every function returns `rich.text.Text` built from `visible()` text, never markup, so
repository text is shown literally. Glyphs carry the meaning on their own (NO_COLOR);
colour only repeats it.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from rich.text import Text

from mlvc_tui.engine import ArtifactStatus, Storage, Verdict
from mlvc_tui.safetext import visible

__all__ = [
    "BAD",
    "CHANGED",
    "GLYPHS",
    "GOOD",
    "LOCAL",
    "STATUS_WORDS",
    "VERDICT_GLYPHS",
    "human_size",
    "legend",
    "literal",
    "metric_value",
    "relative_time",
    "status_cell",
    "storage_mark",
    "tilde",
    "verdict_cell",
]

# Colours bright enough to stay readable when NO_COLOR turns them to grey; glyphs carry
# the meaning on their own.
GOOD, BAD, CHANGED, LOCAL = "#4fc36a", "#ff6b6b", "#f0a830", "#e27ee2"

# status -> (glyph, style, word)
GLYPHS: dict[ArtifactStatus | None, tuple[str, str, str]] = {
    ArtifactStatus.SAME: ("=", "dim", "same as prod"),
    ArtifactStatus.CHANGED: ("~", f"bold {CHANGED}", "changed from prod"),
    ArtifactStatus.NEW: ("+", f"bold {GOOD}", "new, not on prod"),
    ArtifactStatus.MISSING: ("-", f"bold {BAD}", "missing, on prod only"),
    ArtifactStatus.MODIFIED: ("*", f"bold {LOCAL}", "modified in the working tree"),
    None: ("·", "dim", "on neither branch nor prod"),
}
VERDICT_GLYPHS: dict[Verdict, tuple[str, str]] = {
    Verdict.BETTER: ("↑", GOOD),
    Verdict.WORSE: ("↓", BAD),
    Verdict.SAME: ("=", "dim"),
    Verdict.NEW: ("+", GOOD),
    Verdict.MISSING: ("-", BAD),
    Verdict.INVALID: ("?", f"bold {BAD}"),
}


STATUS_WORDS: dict[ArtifactStatus | None, str] = {
    ArtifactStatus.SAME: "same",
    ArtifactStatus.CHANGED: "changed",
    ArtifactStatus.NEW: "new",
    ArtifactStatus.MISSING: "missing",
    ArtifactStatus.MODIFIED: "uncommitted",
    None: "absent",
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


def metric_value(value: float | None) -> str:
    """A metric as a user reads it: 4 significant decimals, NaN and inf spelled out."""
    if value is None:
        return ""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.1f}"


def verdict_cell(
    value: float | None, delta: float | None, verdict: Verdict | None, *, error: bool = False
) -> Text:
    """A metric cell: value, delta against prod and a better/worse glyph."""
    out = Text(no_wrap=True, end="")
    if error:
        out.append("! ", style=f"bold {BAD}")
    out.append(metric_value(value) if value is not None else ("error" if error else "—"))
    if delta is not None and verdict is not None:
        glyph, style = VERDICT_GLYPHS[verdict]
        if delta:
            out.append(f" {'+' if delta > 0 else ''}{metric_value(delta)}", style=style)
        out.append(f" {glyph}", style=f"bold {style}")
    elif verdict is Verdict.INVALID:
        out.append(" ?", style=f"bold {BAD}")
    return out


def human_size(size: int | None) -> str:
    """Bytes as 1.2 MB (decimal units, like git-lfs)."""
    if size is None:
        return "—"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def storage_mark(storage: Storage) -> str:
    """A short marker for how an artifact is kept ("" for a plain blob)."""
    return {Storage.LFS: "LFS", Storage.SUBMODULE: "submodule"}.get(storage, "")


def relative_time(when: int, now: datetime) -> str:
    """POSIX seconds as "3 days ago" from ``now``."""
    seconds = int(now.timestamp()) - when
    if seconds < 0:
        return "in the future"
    for limit, unit, size in (
        (60, "second", 1),
        (3600, "minute", 60),
        (86400, "hour", 3600),
        (86400 * 30, "day", 86400),
        (86400 * 365, "month", 86400 * 30),
    ):
        if seconds < limit:
            n = seconds // size
            return "just now" if unit == "second" else f"{n} {unit}{'s' * (n != 1)} ago"
    n = seconds // (86400 * 365)
    return f"{n} year{'s' * (n != 1)} ago"
