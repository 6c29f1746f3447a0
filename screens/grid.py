"""The home screen: every branch against every artifact, the primary metric against prod."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from mlvc_tui.engine import ArtifactStatus, Grid, MlvcError
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, GLYPHS, LOCAL, legend, tilde
from mlvc_tui.widgets.grid import RegistryGrid, column_key

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["GridScreen", "short_path"]


def short_path(path: str, width: int) -> str:
    """A folder for the status bar: ``~`` for home, the start elided when too long."""
    path = visible("~" if path == str(Path.home()) else tilde(path))
    return path if len(path) <= width else "…" + path[-(width - 1):]


class GridScreen(Screen[None]):
    """Branches × artifacts; the screens behind a branch open from here."""

    CSS_PATH = "grid.tcss"
    AUTO_FOCUS = "RegistryGrid"
    HELP_SOURCES: ClassVar = (RegistryGrid,)  # its keys are this screen's keys (help)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_branch", "Open"),
        Binding("d", "diff", "Diff"),
        Binding("l", "lineage", "Lineage"),
        Binding("t", "drift", "Drift"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("R", "refresh", "Refresh", key_display="R"),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    @dataclass
    class Loaded(Message):
        """A grid read by a worker (or the error that stopped it)."""

        generation: int
        grid: Grid | None
        error: str | None

    app: MlvcApp

    def __init__(self) -> None:
        super().__init__()
        self.grid: Grid | None = None
        self.generation = 0
        self.refreshes_seen = 0

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        yield Input(placeholder="filter branches: type part of a name (esc clears)",
                    id="filter")
        yield Static("Loading…", id="message")
        yield RegistryGrid(id="grid")
        yield Static(id="column-key")
        yield Static(id="cursor-info")
        yield Static(legend(), id="legend")
        yield Static(id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Called when the screen is first shown: read the registry."""
        self.query_one("#filter").display = False
        self.query_one(RegistryGrid).display = False
        self.reload()

    def on_screen_resume(self) -> None:
        """Called when the screen is in front again: reload if a refresh happened meanwhile."""
        if self.app.refreshes != self.refreshes_seen:
            self.reload()

    # -- loading ---------------------------------------------------------------------------

    def reload(self, refresh: bool = False) -> None:
        """Read the grid again (re-reading refs first with ``refresh``)."""
        self.generation += 1
        if refresh:
            self.app.refreshes += 1
        self.refreshes_seen = self.app.refreshes
        self._load(self.generation, refresh)

    @work(thread=True, exclusive=True, group="grid", exit_on_error=False)
    def _load(self, generation: int, refresh: bool) -> None:
        session = self.app.session
        try:
            if refresh:
                session.refresh()
            message = self.Loaded(generation, session.run(lambda reg: reg.grid()), None)
        except MlvcError as exc:
            message = self.Loaded(generation, None, str(exc))
        except Exception as exc:  # an engine bug: say so in place, never crash
            message = self.Loaded(generation, None, f"Could not read the registry: {exc!r}")
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def on_grid_screen_loaded(self, message: Loaded) -> None:
        """Called when a worker has read the grid: show it, unless a newer read is coming."""
        if message.generation != self.generation:
            return
        text = self.query_one("#message", Static)
        table = self.query_one(RegistryGrid)
        if message.grid is None:
            error = tilde(message.error or "unknown error")
            text.update(Text(visible(error), style=f"bold {BAD}"))
            text.display = True
            table.display = False
            self.grid = None
            self._status()
            return
        self.grid = message.grid
        self.app.branch_names = tuple(r.branch.name for r in message.grid.rows)
        self.app.prod = message.grid.prod
        text.display = False
        table.display = True
        self._fill()

    def _fill(self) -> None:
        if self.grid is None:
            return
        table = self.query_one(RegistryGrid)
        table.show(self.grid, text_filter=self.query_one("#filter", Input).value,
                   width=self.size.width, now=self.app.now())
        key = self.query_one("#column-key", Static)
        key.display = table.compact
        if table.compact:
            key.update(column_key(self.grid, table.codes, self.size.width - 2))
        self._status()
        self._cursor_info()

    def on_resize(self) -> None:
        """Called when the terminal changes size: lay the columns out again."""
        self._fill()

    # -- the lines under the grid ----------------------------------------------------------

    def _status(self) -> None:
        """The status bar: repository, checked-out branch, counts."""
        grid = self.grid
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        root = grid.root if grid else str(self.app.session.path)
        where = self.app.label or short_path(root, max(24, self.size.width // 3))
        out.append(visible(where), style="bold")
        if grid is not None:
            if grid.bare:
                where = "bare repository"
            elif grid.head:
                where = f"on {visible(grid.head)}"
            else:
                where = f"detached at {(grid.detached or '?')[:8]}"
            shown = len(self.query_one(RegistryGrid).shown)
            count = f"{shown} of {len(grid.rows)}" if shown != len(grid.rows) \
                else f"{len(grid.rows)}"
            changed = sum(1 for r in grid.rows if any(
                s is not ArtifactStatus.SAME for s in r.status.values()))
            out.append(f" · {where} · ").append(count, style="bold" if shown != len(
                grid.rows) else "")
            out.append(f" branches · {len(grid.columns)} artifacts · {changed} changed")
            if grid.worktree:
                out.append(f" · {len(grid.worktree)} uncommitted", style=f"bold {LOCAL}")
        self.query_one("#status", Static).update(out)

    def _cursor_info(self) -> None:
        """The line under the grid: what the cell under the cursor means."""
        table = self.query_one(RegistryGrid)
        branch = table.branch
        out = Text(no_wrap=True, overflow="ellipsis", end="")
        snap = self.grid.row(branch) if self.grid and branch else None
        if snap is None:
            out.append("no branch matches the filter" if self.grid else "")
        else:
            out.append(visible(branch or ""), style="bold")
            path = table.column_path
            if path is not None:
                glyph, style, word = GLYPHS[snap.status.get(path)]
                code = f"{table.codes[path]} " if table.compact else ""
                out.append(f" · {code}{visible(path)}: ").append(glyph, style=style)
                out.append(f" {word}")
            elif snap.metrics.errors:
                path, reason = next(iter(snap.metrics.errors.items()))
                out.append(f" · {visible(path)}: {visible(reason)}", style=BAD)
            else:
                out.append(f" · {visible(snap.branch.commit.summary)}", style="dim")
        self.query_one("#cursor-info", Static).update(out)

    @on(RegistryGrid.CursorMoved)
    def _on_highlight(self) -> None:
        """Called when the cursor moves: say what is under it."""
        self._cursor_info()

    # -- actions ---------------------------------------------------------------------------

    def _branch(self) -> str | None:
        branch = self.query_one(RegistryGrid).branch if self.grid else None
        if branch is None:
            self.notify("No branch selected", severity="warning")
        return branch

    @on(RegistryGrid.Selected)
    def action_open_branch(self) -> None:
        """Called on enter: open the branch under the cursor."""
        if (branch := self._branch()) is not None:
            self.app.open_branch(branch)

    def action_diff(self) -> None:
        """Called on d: compare the branch's metrics with prod."""
        if (branch := self._branch()) is not None:
            self.app.open_diff(branch)

    def action_lineage(self) -> None:
        """Called on l: show where the branch's model came from."""
        if (branch := self._branch()) is not None:
            self.app.open_lineage(branch)

    def action_drift(self) -> None:
        """Called on t: show the branch's drift log."""
        if (branch := self._branch()) is not None:
            self.app.open_drift(branch)

    def action_refresh(self) -> None:
        """Called on R: re-read the registry."""
        self.query_one("#message", Static).update("Refreshing…")
        self.reload(refresh=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Called to decide which keys the footer shows: esc only while filtering."""
        box = self.query_one("#filter", Input)
        if action == "clear_filter":
            return bool(box.display or box.value)
        return not (action == "filter" and box.has_focus)

    def action_filter(self) -> None:
        """Called on /: type to filter branches."""
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()
        self.refresh_bindings()

    def action_clear_filter(self) -> None:
        """Called on esc: drop the filter."""
        box = self.query_one("#filter", Input)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.query_one(RegistryGrid).focus()
            self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _on_filter(self) -> None:
        """Called as the user types a filter: keep the matching branches."""
        self._fill()

    @on(Input.Submitted, "#filter")
    def _on_filter_done(self) -> None:
        """Called on enter in the filter: keep it and go back to the grid."""
        self.query_one(RegistryGrid).focus()
        if not self.query_one("#filter", Input).value:
            self.query_one("#filter").display = False
        self.refresh_bindings()
