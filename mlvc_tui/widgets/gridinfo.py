"""The lines under the grid: the status bar and what the cell under the cursor means."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.text import Text

from mlvc_tui import present
from mlvc_tui.engine import ArtifactStatus, Grid, Joined
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, GLYPHS, LOCAL, tilde
from mlvc_tui.widgets.grid import RegistryGrid

__all__ = ["changed_rows", "cursor_text", "short_path", "status_text"]


def short_path(path: str, width: int) -> str:
    """A folder for the status bar: ``~`` for home, the start elided when too long."""
    path = visible("~" if path == str(Path.home()) else tilde(path))
    return path if len(path) <= width else "…" + path[-(max(1, width) - 1) :]


def changed_rows(grid: Grid) -> int:
    """Rows with an artifact that is not the same as prod's. Rows read in parts share
    their status runs (`Joined`): each shared run is looked at once."""
    seen: dict[int, tuple[Mapping[str, ArtifactStatus], bool]] = {}  # run -> not all same

    def changed(run: Mapping[str, ArtifactStatus]) -> bool:
        hit = seen.get(id(run))
        if hit is None or hit[0] is not run:
            hit = seen[id(run)] = (run, any(s is not ArtifactStatus.SAME for s in run.values()))
        return hit[1]

    return sum(
        1
        for r in grid.rows
        if (
            any(map(changed, r.status.parts))
            if isinstance(r.status, Joined)
            else any(s is not ArtifactStatus.SAME for s in r.status.values())
        )
    )


def status_text(
    grid: Grid | None,
    where: str,
    shown: int,
    *,
    observer: str = "",
    width: int = 0,
    pending: int = 0,
    changed: int | None = None,
) -> Text:
    """Repository (``where``), checked-out branch, counts, and how changes are watched;
    ``shown`` rows pass the filter, ``pending`` rows are still being read (the artifact
    and changed counts wait for them); ``changed`` is `changed_rows` when known already.
    In ``width`` cells the path is cut first; where too little of it would be left, the
    artifact count goes, then the checked-out branch (the grid marks its row), then the
    path: the counts and the observer stay."""
    parts: list[tuple[str, str]] = []  # (text, style) after the place
    if grid is not None:
        if grid.bare:
            head = "bare repository"
        elif grid.head:
            head = f"on {visible(grid.head)}"
        else:
            head = f"detached at {(grid.detached or '?')[:8]}"
        total = len(grid.rows)
        parts.append((head, "head"))
        if grid.prod is None:
            parts.append(("no prod branch", f"bold {BAD}"))
        if shown != total:
            parts.append((f"{shown} of {present.plural(total, 'branch')}", "bold"))
        else:
            parts.append((present.plural(total, "branch"), ""))
        if pending:
            parts.append((f"reading {pending:,} more…", "dim"))
        else:
            changed = changed_rows(grid) if changed is None else changed
            parts.append((present.plural(len(grid.columns), "artifact"), "artifacts"))
            parts.append((f"{changed} changed", ""))
        if grid.worktree:
            parts.append((f"{len(grid.worktree)} uncommitted", f"bold {LOCAL}"))
        if grid.remote:
            when = present.utc_date(grid.fetched)[5:] if grid.fetched else "never"
            parts.append((f"{visible(grid.remote)} fetched {when}", "dim"))
    if observer:
        parts.append((observer, "dim"))

    def length(items: list[tuple[str, str]]) -> int:
        return sum(len(text) + 3 for text, _ in items)

    place = visible(where)
    if width and len(place) + length(parts) > width:
        if width - length(parts) < 12:  # no room for a useful path
            parts = [p for p in parts if p[1] != "artifacts"]
        # still none: the checked-out branch goes if the grid marks its row (looked up now)
        if width - length(parts) < 12 and grid is not None and grid.head and grid.row(grid.head):
            parts = [p for p in parts if p[1] != "head"]
        room = width - length(parts)
        place = _cut(place, room) if room >= 8 or not parts else ""
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    out.append(place, style="bold")
    for text, style in parts:
        if out.cell_len:
            out.append(" · ")
        out.append(text, style="" if style in ("artifacts", "head") else style)
    return out


def _cut(place: str, width: int) -> str:
    """A path keeps its end (the folder's name), a label its start."""
    if len(place) <= width:
        return place
    if "/" in place or place.startswith("~"):
        return "…" + place[-(width - 1) :]
    return place[: width - 1] + "…"


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
    if snap.branch.name in table.pending:
        out.append(" · reading…", style="dim")
    elif path is not None:
        glyph, style, word = GLYPHS[snap.status.get(path)]
        code = f"{table.codes[path]} " if table.compact else ""
        out.append(f" · {code}{visible(path)}: ").append(glyph, style=style).append(f" {word}")
    elif snap.metrics.errors:
        path, reason = next(iter(snap.metrics.errors.items()))
        out.append(f" · {visible(path)}: {visible(reason)}", style=BAD)
    else:
        out.append(f" · {visible(snap.branch.commit.summary)}", style="dim")
    return out
