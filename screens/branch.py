"""Branch detail: a branch's artifacts against prod, its recent commits and its metrics."""

from __future__ import annotations

import re
import shlex
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.widgets import DataTable, Static

from mlvc_tui import present
from mlvc_tui.engine import (
    BranchDetail,
    BranchKind,
    Registry,
    Storage,
)
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import (
    BAD,
    GLYPHS,
    VERDICT_GLYPHS,
    literal,
    status_cell,
    tilde,
)
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.widths import add_sized_columns, size_now

from .reloading import ReadingScreen

__all__ = ["BranchScreen"]

COMMITS = 30


def mount_command(root: str, branch: str) -> str:
    """The shell command that mounts ``branch`` read-only at ``~/mnt/<branch>``."""
    folder = re.sub(r"[^A-Za-z0-9._-]+", "-", branch).strip("-.") or "branch"
    return f"mlvc -C {shlex.quote(root)} mount {shlex.quote(branch)} ~/mnt/{folder}"


def _name(author: str) -> str:
    """ "Ana Ruiz <ana@example.com>" -> "Ana Ruiz"."""
    name = author.split("<", 1)[0].strip()
    return name or author


class BranchScreen(ReadingScreen[BranchDetail]):
    """One branch: artifacts, commits, metrics. tab moves between the three panes."""

    CSS_PATH = "branch.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (Textual declares it per instance)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("d", "diff", "Diff"),
        Binding("l", "lineage", "Lineage"),
        Binding("t", "drift", "Drift", tooltip="Drift (live on the checked-out branch)"),
        Binding("m", "mount", "Mount", tooltip="Show and copy the command that mounts this branch"),
        Binding("R", "refresh", "Refresh", key_display="R"),
        Binding("j", "cursor_down", "Cursor down", show=False),
        Binding("k", "cursor_up", "Cursor up", show=False),
        Binding("tab", "app.focus_next", "Next pane", show=False),
    ]

    def __init__(self, branch: str) -> None:
        super().__init__()
        self.branch = branch
        self.detail: BranchDetail | None = None

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        yield Static(literal(self.branch, "bold"), id="title")
        yield Static("Loading…", id="message")
        with Container(id="panes"):
            yield DataTable(id="artifacts", cursor_type="row")
            yield DataTable(id="metrics", cursor_type="row")
            yield DataTable(id="commits", cursor_type="row")
        yield Static(id="errors")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen is first shown: read the branch."""
        for pane, title in (
            ("artifacts", "Artifacts"),
            ("metrics", "Metrics"),
            ("commits", "Commits"),
        ):
            self.query_one(f"#{pane}").border_title = title
        self.query_one("#panes").display = False
        self.query_one("#errors").display = False
        self.reload()

    def read(self, reg: Registry) -> BranchDetail:
        """On the worker's thread: this branch's detail (the engine reads only it and prod)."""
        return reg.branch_detail(self.branch, COMMITS)

    def failed(self, error: str) -> None:
        """Say why the branch could not be read, in place of the panes."""
        text, panes = self.query_one("#message", Static), self.query_one("#panes")
        text.update(Text(visible(tilde(error)), style=f"bold {BAD}"))
        text.display, panes.display = True, False
        self.query_one("#errors").display = False

    def loaded(self, detail: BranchDetail) -> None:
        """Show the branch a worker has read."""
        text, panes = self.query_one("#message", Static), self.query_one("#panes")
        text.display, panes.display = False, True
        self.detail = detail
        self._title(detail)
        self._artifacts(detail)
        self._commits(detail)
        self._metrics(detail)
        errors = detail.snapshot.metrics.errors
        box = self.query_one("#errors", Static)
        box.display = bool(errors)
        if errors:
            out = Text(end="")
            for path, reason in errors.items():
                out.append("! ", style=f"bold {BAD}").append(visible(path), style="bold")
                out.append(f": {visible(reason)}\n")
            out.rstrip()
            box.update(out)
        if self.focused is None:
            self.query_one("#artifacts").focus()

    def on_resize(self) -> None:
        """Called when the terminal changes size: fit the columns and messages again."""
        if self.detail is not None:
            self._artifacts(self.detail)
            self._commits(self.detail)

    def _title(self, detail: BranchDetail) -> None:
        branch = detail.snapshot.branch
        out = literal(branch.name, "bold")
        kind = {
            BranchKind.PROD: "production",
            BranchKind.ENVIRONMENT: "environment",
            BranchKind.EXPERIMENT: "experiment",
        }[branch.kind]
        out.append(f"  {kind}", style="cyan")
        if branch.is_head:
            out.append(" · checked out", style="cyan")
        if branch.remote:
            out.append(f" · remote {visible(branch.remote)}", style="dim")
        commit = branch.commit
        out.append(f"  {commit.short_id} ", style="yellow").append(visible(commit.summary))
        out.append(
            f" · {visible(_name(commit.author))}, "
            f"{present.relative_time(commit.time, self.app.now())}",
            style="dim",
        )
        self.query_one("#title", Static).update(out)

    def _artifacts(self, detail: BranchDetail) -> None:
        snap = detail.snapshot
        table = self.query_one("#artifacts", DataTable)
        current = table.cursor_row
        table.clear(columns=True)
        special = any(a.storage is not Storage.BLOB for a in snap.artifacts.values())
        order = [*detail.columns, *sorted(set(snap.artifacts) - set(detail.columns))]
        paths = [p for p in order if p in snap.artifacts or p in snap.status]
        rows = []
        for path in paths:
            art, status = snap.artifacts.get(path), snap.status.get(path)
            stored = [Text(present.storage_mark(art.storage) if art else "", style="cyan")]
            rows.append(
                [
                    status_cell(status),
                    literal(path),
                    Text(present.size(art.size if art else None), justify="right"),
                    Text(art.id[:8] if art else "—", style="yellow"),
                    *(stored if special else []),
                    Text(present.STATUS_WORDS[status], style=GLYPHS[status][1]),
                ]
            )
        heads = [
            Text(""),
            Text("path"),
            Text("size", justify="right"),
            Text("id"),
            *([Text("stored")] if special else []),
            Text("vs prod"),
        ]
        # Too narrow for all: leave out the id, how it is stored, then the size.
        drop = [3, *([4] if special else []), 2]
        kept = add_sized_columns(table, heads, rows, room=self.size.width - 2, drop=drop)
        for path, row in zip(paths, rows, strict=True):
            table.add_row(*(row[i] for i in kept), key=path)
        size_now(table)
        if 0 < current < table.row_count:
            table.move_cursor(row=current, animate=False)
        table.border_title = f"Artifacts ({len(snap.artifacts)})"

    def _commits(self, detail: BranchDetail) -> None:
        table = self.query_one("#commits", DataTable)
        table.clear(columns=True)
        now = self.app.now()
        authors = [_name(c.author) for c in detail.log]
        author_w = min(max((len(a) for a in authors), default=6), 20)
        room = self.size.width - 2  # the scrollbar
        widths = {"id": 8, "when": 13, "author": author_w}
        for less in ("author", "when"):  # too narrow for a 20-cell message: leave them out
            if room - sum(w + 2 for w in widths.values()) - 2 >= 20:
                break
            del widths[less]
        for head, w in widths.items():
            table.add_column(Text(head), width=w)
        message_w = max(20, room - sum(w + 2 for w in widths.values()) - 2)
        table.add_column(Text("message"), width=message_w)
        for commit, author in zip(detail.log, authors, strict=True):
            cells = {
                "id": Text(commit.short_id, style="yellow"),
                "when": Text(present.relative_time(commit.time, now), style="dim"),
                "author": literal(author),
            }
            table.add_row(*(cells[h] for h in widths), literal(commit.summary), key=commit.id)
        size_now(table)
        table.border_title = f"Commits (last {len(detail.log)})"

    def _metrics(self, detail: BranchDetail) -> None:
        table = self.query_one("#metrics", DataTable)
        table.clear(columns=True)
        values = detail.snapshot.metrics.values
        heads = [Text("metric"), Text("value", justify="right")]
        rows = {r.key: r for r in detail.diff.rows} if detail.diff else {}
        if detail.diff is not None:
            heads += [Text(visible(detail.prod or "prod"), justify="right"), Text("")]
        lines = []
        for key, value in values.items():
            cells = [literal(key), Text(present.number(value, missing=""), justify="right")]
            if detail.diff is not None:
                row = rows.get(key)
                glyph, style = VERDICT_GLYPHS[row.verdict] if row else ("", "")
                cells += [
                    Text(
                        present.number(row.a if row else None, missing=""),
                        justify="right",
                        style="dim",
                    ),
                    Text(glyph, style=f"bold {style}"),
                ]
            lines.append(cells)
        add_sized_columns(table, heads, lines)
        for key, cells in zip(values, lines, strict=True):
            table.add_row(*cells, key=key)
        size_now(table)
        table.border_title = f"Metrics ({len(values)})"

    # -- actions ---------------------------------------------------------------------------

    def action_diff(self) -> None:
        """Called on d: compare this branch's metrics with prod."""
        self.app.open_diff(self.branch)

    def action_lineage(self) -> None:
        """Called on l: show where this branch's model came from."""
        self.app.open_lineage(self.branch)

    def action_drift(self) -> None:
        """Called on t: show this branch's drift log."""
        self.app.open_drift(self.branch)

    def action_mount(self) -> None:
        """Called on m: show the command that mounts this branch as a folder, and copy it."""
        command = mount_command(str(self.app.session.path.resolve()), self.branch)
        self.app.copy_to_clipboard(command)
        self.app.notify(command, title="Mount this branch (copied)", timeout=12, markup=False)

    def action_refresh(self) -> None:
        """Called on R: re-read the branch."""
        self.reload(refresh=True)

    def action_cursor_down(self) -> None:
        """Called on j: move down in the focused pane."""
        if isinstance(self.focused, DataTable):
            self.focused.action_cursor_down()

    def action_cursor_up(self) -> None:
        """Called on k: move up in the focused pane."""
        if isinstance(self.focused, DataTable):
            self.focused.action_cursor_up()
