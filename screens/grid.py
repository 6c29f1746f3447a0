"""The home screen: every branch against every artifact, the primary metric against prod.

The grid is read in parts (`grid_parts`): prod and the rows that fit on screen first, then
the rest filled in behind while the first screenful is already drawn and usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.widgets import Input, Static

from mlvc_tui.engine import Grid, GridPart, MlvcError, Registry, grid_parts
from mlvc_tui.live import LiveGrid, grid_lane, live_of
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, legend, tilde
from mlvc_tui.widgets.clipped import Clipped
from mlvc_tui.widgets.grid import RegistryGrid, column_key
from mlvc_tui.widgets.gridinfo import changed_rows, cursor_text, short_path, status_text
from mlvc_tui.widgets.keybar import KeyBar, KeyHint
from mlvc_tui.widgets.preview import BranchPreview

from .reloading import Read, ReadingScreen

__all__ = ["GridScreen"]

# The footer, most important first (the least important drop when the width runs out);
# p shows on a branch that can be promoted, r in its place on the prod row (so the keys
# after them stay put as the cursor moves: nothing else of the line is sent again).
_KEYS = (
    KeyHint("p", "Promote", "promote", width=11),
    KeyHint("r", "Roll back", "rollback", width=11),
    KeyHint("v", "Versions", "versions"),
    KeyHint("a", "A/B", "ab"),
    KeyHint("T", "Tail", "live_tail"),
    KeyHint("d", "Diff", "diff"),
    KeyHint("l", "Lineage", "lineage"),
    KeyHint("t", "Drift", "drift"),
    KeyHint("⏎", "Open", "open_branch"),
    KeyHint("/", "Filter", "filter"),
    KeyHint("esc", "Clear filter", "clear_filter"),
    KeyHint("R", "Refresh", "refresh"),
    KeyHint("F", "Fetch", "fetch"),
    KeyHint("P", "Push", "push"),
    KeyHint("q", "Quit", "app.quit"),
)
_HELP = KeyHint("?", "Help", "app.help")
_FILTERING = (
    KeyHint("⏎", "Keep filter", "focus_grid"),
    KeyHint("esc", "Clear filter", "clear_filter"),
)

_NEEDS_BRANCHES = frozenset(
    {
        "open_branch",
        "diff",
        "lineage",
        "drift",
        "live_tail",
        "ab",
        "promote",
        "rollback",
        "versions",
        "filter",
        "fetch",
        "push",
    }
)


class GridScreen(ReadingScreen[GridPart]):
    """Branches × artifacts; the screens behind a branch open from here."""

    CSS_PATH = "grid.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-tiny"), (20, "-short"), (36, "-tall")]  # noqa: RUF012 (Textual declares it per instance)
    AUTO_FOCUS = "RegistryGrid"
    HELP_SOURCES: ClassVar = (RegistryGrid,)  # its keys are this screen's keys (help)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open_branch", "Open"),
        Binding("d", "diff", "Diff"),
        Binding("l", "lineage", "Lineage"),
        Binding("t", "drift", "Drift", tooltip="Drift (live on the checked-out branch)"),
        Binding("T", "live_tail", "Live tail", key_display="T", show=False),
        Binding("a", "ab", "A/B", show=False),
        Binding("p", "promote", "Promote", show=False),
        Binding("r", "rollback", "Roll back prod", show=False),
        Binding("v", "versions", "Versions", show=False),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("R", "refresh", "Refresh", key_display="R"),
        Binding("F", "fetch", "Fetch from the remote", key_display="F", show=False),
        Binding("P", "push", "Push the branch", key_display="P", show=False),
        Binding("escape", "clear_filter", "Clear filter"),
    ]

    Loaded = Read  # a grid read by a worker (or the error that stopped it)

    def __init__(self) -> None:
        super().__init__()
        self.grid: Grid | None = None
        self.pending: frozenset[str] = frozenset()  # rows of self.grid still being read
        self._first, self._wanted = 0, frozenset[str]()  # what the next read reads first
        self._drawn = -1  # the generation whose first part is on screen
        self._said: dict[str, Text] = {}  # what the lines under the grid say
        self._counted: tuple[Grid | None, int] = (None, 0)  # changed rows of that grid

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        with Horizontal(id="filter-row"):
            yield Static("Filter", id="filter-label")
            yield Input(placeholder="type part of a branch name (esc clears)", id="filter")
        yield Clipped(lines=3, id="config-warning")
        yield Static("Loading…", id="message")
        yield RegistryGrid(id="grid")
        yield BranchPreview(id="preview")
        yield Static(id="column-key")
        yield Static(id="cursor-info")
        yield Static(legend(), id="legend")
        yield Static(id="status")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        """Called when the screen is first shown: read the registry."""
        self.query_one("#filter-row").display = False
        self.query_one("#config-warning").display = False
        self.query_one(RegistryGrid).display = False
        self.reload()
        self._live = grid_lane(self.app, self, self._status)

    def on_unmount(self) -> None:
        """Called when the screen goes: stop watching for it."""
        live_of(self.app).drop(self._live, self._status)

    def on_live_grid(self, message: LiveGrid) -> None:
        """Called with a grid read after refs or working-tree artifacts changed."""
        message.stop()
        result = message.result
        if isinstance(result, MlvcError):
            grid, error = None, str(result)
        else:
            (moved, grid), error = result, None
            self.app.refreshes += bool(moved)  # screens behind read again when they resume
        self.generation += 1
        self.refreshes_seen = self.app.refreshes
        self.on_read(Read(self.generation, GridPart(grid) if grid else None, error))

    # -- loading ---------------------------------------------------------------------------

    def reading(self, refresh: bool) -> None:
        """As a read starts: the rows on screen are read first (on a first read, as many
        as the terminal has lines; later, the branches in view)."""
        table = self.query_one(RegistryGrid)
        if self.grid is None:
            self._first, self._wanted = max(self.app.size.height, 1), frozenset()
        else:
            top = table.scroll_offset.y
            view = table.shown[top : top + max(1, table.size.height)]
            self._first, self._wanted = 0, frozenset(r.branch.name for r in view)

    def read(self, reg: Registry) -> GridPart:
        """On the worker's thread: the whole grid."""
        return GridPart(reg.grid())

    def read_parts(self, reg: Registry) -> Iterator[GridPart]:
        """On the worker's thread: the grid, what is on screen first."""
        return grid_parts(reg, first=self._first, wanted=self._wanted)

    def more(self, value: GridPart) -> bool:
        """Rows are still to be read after this part."""
        return not value.complete

    def _config_warning(self) -> None:
        """A bad mlvc.toml (read with the defaults): said over the grid until it is fixed."""
        problem = self.app.session.config_problem
        warning = self.query_one("#config-warning", Clipped)
        warning.display = bool(problem)
        if problem:
            warning.show(Text("! " + visible(problem), style="bold"))

    def failed(self, error: str) -> None:
        """Say why the registry could not be read, in place of the grid."""
        self._config_warning()
        text = self.query_one("#message", Static)
        table = self.query_one(RegistryGrid)
        text.update(Text(visible(tilde(error)), style=f"bold {BAD}"))
        text.display = True
        table.display = False
        self.query_one("#column-key").display = False
        self.add_class("-failed")
        self.grid, self.app.branch_names = None, ()
        self.query_one(BranchPreview).follow(None)
        self._status()
        self._cursor_info()
        self.refresh_bindings()

    def loaded(self, part: GridPart) -> None:
        """Show a grid a worker has read (or the part of it read so far)."""
        self._config_warning()
        text = self.query_one("#message", Static)
        table = self.query_one(RegistryGrid)
        self.remove_class("-failed")
        grid = self.grid = part.grid
        self.pending = part.pending
        fresh, self._drawn = self._drawn != self.generation, self.generation
        self.refresh_bindings()
        self.app.branch_names = tuple(r.branch.name for r in grid.rows)
        self.app.prod = grid.prod
        self.app.head = None if grid.bare else grid.head
        text.display = False
        table.display = True
        self._fill()
        if fresh:  # a grid read again: the preview too (once, not per part)
            self._preview(force=True)

    def _fill(self) -> None:
        if self.grid is None:
            return
        table = self.query_one(RegistryGrid)
        table.show(
            self.grid,
            text_filter=self.query_one("#filter", Input).value,
            width=self.size.width,
            now=self.app.now(),
            pending=self.pending,
        )
        key = self.query_one("#column-key", Static)
        key.display = table.compact
        if table.compact:
            self._update(
                "#column-key", column_key(self.grid, table.codes, self.size.width - 2), True
            )
        self._status()
        self._cursor_info()

    def on_resize(self) -> None:
        """Called when the terminal changes size: lay the columns out again."""
        self._fill()
        self.call_after_refresh(self._preview)

    # -- the lines under the grid ----------------------------------------------------------

    def _status(self) -> None:
        """The status bar: repository, checked-out branch, counts."""
        root = self.grid.root if self.grid else str(self.app.session.path)
        where = self.app.label or short_path(root, 200)
        shown = len(self.query_one(RegistryGrid).shown)
        watching = live_of(self.app).observer  # "inotify", "polling every 1 s (...)"
        text = status_text(
            self.grid,
            where,
            shown,
            observer=watching or "",
            width=self.size.width - 2,
            pending=len(self.pending),
            changed=self._changed(),
        )
        self._update("#status", text)

    def _changed(self) -> int | None:
        """The changed rows of the whole grid, counted once per grid (not per keystroke)."""
        if self.grid is None or self.pending:
            return None
        if self._counted[0] is not self.grid:
            self._counted = (self.grid, changed_rows(self.grid))
        return self._counted[1]

    def _update(self, selector: str, text: Text, layout: bool = False) -> None:
        """Put ``text`` in a line under the grid, unless it says that already (no repaint:
        on a slow link every byte of a keypress is lag)."""
        if self._said.get(selector) != text:
            self._said[selector] = text
            self.query_one(selector, Static).update(text, layout=layout)  # layout: not one line

    def _cursor_info(self) -> None:
        """The line under the grid: what the cell under the cursor means."""
        self._update("#cursor-info", cursor_text(self.grid, self.query_one(RegistryGrid)))

    @on(RegistryGrid.CursorMoved)
    def _on_highlight(self) -> None:
        """Called when the cursor moves: say what is under it."""
        self._cursor_info()
        self._preview()
        self._keys()

    def refresh_bindings(self) -> None:
        """Called when the keys that work may have changed: the footer follows."""
        super().refresh_bindings()
        if self.is_mounted:
            self._keys()

    def on_descendant_focus(self) -> None:
        """Called when the filter box or the grid takes focus."""
        self._keys()

    def _keys(self) -> None:
        """The footer: the keys that work on the row under the cursor, by importance."""
        box = self.query_one("#filter", Input)
        if box.has_focus:  # typed keys go to the box
            self.query_one(KeyBar).show(_FILTERING)
            return
        branch = self.query_one(RegistryGrid).branch if self.grid else None
        on_prod = branch is not None and branch == self.app.prod
        hints = [
            hint
            for hint in _KEYS
            if (hint.action.startswith("app.") or self.check_action(hint.action, ()))
            and not (hint.action == "promote" and (on_prod or branch is None))
            and not (hint.action == "rollback" and not on_prod)
        ]
        self.query_one(KeyBar).show(hints, _HELP)

    def _preview(self, force: bool = False) -> None:
        """Point the preview (when it shows) at the branch under the cursor."""
        branch = self.query_one(RegistryGrid).branch if self.grid else None
        self.query_one(BranchPreview).follow(branch, force=force)

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

    def action_ab(self) -> None:
        """Called on a: show the A/B test and traffic split on prod."""
        self.app.open_ab()

    def action_promote(self) -> None:
        """Called on p: open the promotion dialog for the branch under the cursor."""
        if (branch := self._branch()) is None:
            return
        if branch == self.app.prod:
            self.notify("p promotes a branch into prod: move to another row", severity="warning")
            return
        self.app._push("promote", "PromoteScreen", branch)

    def action_rollback(self) -> None:
        """Called on r on prod: roll prod back to an earlier version (asks first)."""
        if self._branch() != self.app.prod or self.app.prod is None:
            self.notify("r rolls back prod: move to the prod row", severity="warning")
            return
        self.app._push("versions", "RollbackScreen", self.app.prod)

    def action_versions(self) -> None:
        """Called on v: list prod's versions, promotions and rollbacks."""
        self.app._push("versions", "VersionsScreen", self.app.prod)

    def action_live_tail(self) -> None:
        """Called on T: follow the working tree's drift log as it is written."""
        self.app.open_tail()

    def action_fetch(self) -> None:
        """Called on F: fetch from the registry's remote (in a worker; the grid follows)."""
        remote = self.grid.remote if self.grid else None
        if remote is None:
            self.notify("No remote to fetch from: `git remote add origin URL`", severity="warning")
            return
        self.notify(f"Fetching from {visible(remote)}…", markup=False)
        self._transfer("fetch", None)

    def action_push(self) -> None:
        """Called on P: push the branch under the cursor (fast-forward only, with its tags)."""
        branch = self._branch()
        if branch is None:
            return
        remote = self.grid.remote if self.grid else None
        if remote is None:
            self.notify("No remote to push to: `git remote add origin URL`", severity="warning")
            return
        self.notify(f"Pushing {visible(branch)} to {visible(remote)}…", markup=False)
        self._transfer("push", branch)

    @work(thread=True, group="transfer", exit_on_error=False)
    def _transfer(self, verb: str, branch: str | None) -> None:
        """Fetch or push off the UI thread; the outcome comes back as one notification."""
        from mlvc_tui.engine import fetch, push

        severity: SeverityLevel
        try:
            if verb == "fetch":
                report = self.app.session.run(lambda reg: fetch(reg))
                moved = len(report.branches) + len(report.tags) + bool(report.notes)
                text = (
                    f"Fetched {report.remote}: {len(report.branches)} branch(es) moved, "
                    f"{len(report.tags)} new tag(s)"
                    if moved
                    else f"{report.remote}: up to date"
                )
            else:
                assert branch is not None
                pushed = self.app.session.run(lambda reg: push(reg, [branch]))
                text = (
                    f"Pushed {branch} to {pushed.remote}"
                    if pushed.refs
                    else f"{branch}: {pushed.remote} is up to date"
                )
            severity = "information"
        except MlvcError as exc:
            text, severity = str(exc), "error"
        except Exception as exc:  # an engine bug: say so in place, never crash
            text, severity = f"Could not {verb}: {exc!r}", "error"
        self.app.call_from_thread(self._transferred, text, severity)

    def _transferred(self, text: str, severity: SeverityLevel) -> None:
        self.notify(visible(text), severity=severity, markup=False)
        self.reload(refresh=True)

    def action_refresh(self) -> None:
        """Called on R: re-read the registry."""
        message = self.query_one("#message", Static)
        if message.display:  # in place of an error; over a grid, the grid just updates
            message.update("Refreshing…")
        self.reload(refresh=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Called to decide which keys the footer shows: esc only while filtering, and the
        branch keys only once a registry was read (an error leaves R, ? and q)."""
        if action in _NEEDS_BRANCHES and self.grid is None:
            return False
        if action in ("fetch", "push") and self.grid is not None and self.grid.remote is None:
            return False  # F and P need a remote
        boxes = self.query("#filter").results(Input)
        box = next(boxes, None)
        if action == "clear_filter":
            return box is not None and bool(self.query_one("#filter-row").display or box.value)
        return not (action == "filter" and box is not None and box.has_focus)

    def action_filter(self) -> None:
        """Called on /: type to filter branches."""
        box = self.query_one("#filter", Input)
        self.query_one("#filter-row").display = True
        self.set_focus(box)  # now, not later (as box.focus() would): keys typed right after
        self.refresh_bindings()  # the slash are queued already, and go to the box ("/exp")

    def action_focus_grid(self) -> None:
        """Called on a click on "⏎ Keep filter": back to the grid, filter kept."""
        self._on_filter_done()

    def action_clear_filter(self) -> None:
        """Called on esc: drop the filter."""
        box = self.query_one("#filter", Input)
        row = self.query_one("#filter-row")
        if box.value or row.display:
            box.value = ""
            row.display = False
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
            self.query_one("#filter-row").display = False
        self.refresh_bindings()
