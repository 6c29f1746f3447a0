"""The lines under the grid: the status bar and what the cell under the cursor means."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from mlvc_tui.engine import ArtifactStatus, Grid
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, GLYPHS, LOCAL, tilde
from mlvc_tui.widgets.grid import RegistryGrid

__all__ = ["cursor_text", "short_path", "status_text"]


def short_path(path: str, width: int) -> str:
    """A folder for the status bar: ``~`` for home, the start elided when too long."""
    path = visible("~" if path == str(Path.home()) else tilde(path))
    return path if len(path) <= width else "…" + path[-(width - 1) :]


def status_text(grid: Grid | None, where: str, shown: int) -> Text:
    """Repository (``where``), checked-out branch, counts; ``shown`` rows pass the filter."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append(visible(where), style="bold")
    if grid is None:
        return out
    if grid.bare:
        head = "bare repository"
    elif grid.head:
        head = f"on {visible(grid.head)}"
    else:
        head = f"detached at {(grid.detached or '?')[:8]}"
    total = len(grid.rows)
    changed = sum(
        1 for r in grid.rows if any(s is not ArtifactStatus.SAME for s in r.status.values())
    )
    out.append(f" · {head} · ")
    if grid.prod is None:
        out.append("no prod branch", style=f"bold {BAD}").append(" · ")
    out.append(
        f"{shown} of {total}" if shown != total else f"{total}",
        style="bold" if shown != total else "",
    )
    out.append(f" branches · {len(grid.columns)} artifacts · {changed} changed")
    if grid.worktree:
        out.append(f" · {len(grid.worktree)} uncommitted", style=f"bold {LOCAL}")
    return out


def cursor_text(grid: Grid | None, table: RegistryGrid) -> Text:
    """The branch under the cursor and what its cell says (an artifact's status, a metrics
    error, else the branch's last commit)."""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    branch = table.branch
    snap = grid.row(branch) if grid is not None and branch is not None else None
    if snap is None:
        if grid is None:
            return out
        return out.append(
            "no branch matches the filter" if grid.rows else "no branches", style="bold"
        )
    out.append(visible(snap.branch.name), style="bold")
    path = table.column_path
    if path is not None:
        glyph, style, word = GLYPHS[snap.status.get(path)]
        code = f"{table.codes[path]} " if table.compact else ""
        out.append(f" · {code}{visible(path)}: ").append(glyph, style=style).append(f" {word}")
    elif snap.metrics.errors:
        path, reason = next(iter(snap.metrics.errors.items()))
        out.append(f" · {visible(path)}: {visible(reason)}", style=BAD)
    else:
        out.append(f" · {visible(snap.branch.commit.summary)}", style="dim")
    return out
