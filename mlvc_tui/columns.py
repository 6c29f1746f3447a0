"""How the grid names its artifact columns (labels, two-character codes, their key), for both
faces: the app's grid and `mlvc grid`."""

from __future__ import annotations

from rich.text import Text

from mlvc_tui.engine import Grid
from mlvc_tui.safetext import visible

__all__ = ["KIND_LETTERS", "artifact_kind", "artifact_label", "column_codes", "column_key"]

KIND_LETTERS = {"models": "M", "metrics": "E", "logs": "L", "monitoring": "O", "data": "D"}


def artifact_kind(grid: Grid, path: str) -> str:
    """The kind of an artifact column, as the engine classified it."""
    for row in grid.rows:
        art = row.artifacts.get(path)
        if art is not None:
            return art.kind
    for change in grid.worktree:
        if change.path == path:
            return change.kind
    return path.split("/", 1)[0] if "/" in path else "data"


def artifact_label(grid: Grid, path: str) -> str:
    """The path without its kind's folder: the kind is said by the group or the code."""
    head, _, rest = path.partition("/")
    return rest if rest and head == artifact_kind(grid, path) else path


def column_codes(grid: Grid) -> dict[str, str]:
    """A two-character code per artifact column: its kind's letter and its number."""
    counts: dict[str, int] = {}
    out = {}
    for path in grid.columns:
        kind = artifact_kind(grid, path)
        letter = KIND_LETTERS.get(kind, kind[:1].upper() or "?")
        counts[letter] = n = counts.get(letter, 0) + 1
        out[path] = f"{letter}{n if n < 10 else chr(ord('a') + n - 10) if n < 36 else '+'}"
    return out


def column_key(grid: Grid, codes: dict[str, str], width: int) -> Text:
    """What each two-character column code stands for, grouped by kind, in ``width`` cells."""
    entries: list[Text] = []
    kind = None
    for path in grid.columns:
        entry = Text(end="")
        if (this := artifact_kind(grid, path)) != kind:
            entry.append(f"{visible(this)}: ", style="bold")
            kind = this
        entry.append(codes[path], style="bold cyan")
        entry.append(f" {visible(artifact_label(grid, path))}")
        entries.append(entry)
    lines: list[Text] = [Text(end="")]
    for entry in entries:
        if lines[-1].cell_len and lines[-1].cell_len + 2 + entry.cell_len > width:
            lines.append(Text(end=""))
        if lines[-1].cell_len:
            lines[-1].append("  ")
        lines[-1].append_text(entry)
    return Text("\n", end="").join(lines)
