"""A glance at the branch under the grid's cursor: its latest commits and metrics vs prod.

Shown under the grid when the terminal is tall enough to spare the lines; it reads its
branch from the engine in a worker of its own, dropping results for a branch it left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static
from textual.worker import get_current_worker

from mlvc_tui import present
from mlvc_tui.engine import CommitInfo, MetricDiff, Metrics, MlvcError, Registry
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, VERDICT_GLYPHS, literal, tilde

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

Detail = tuple[tuple[CommitInfo, ...], Metrics, MetricDiff | None]

__all__ = ["BranchPreview", "read_preview"]


def _name(author: str) -> str:
    return author.split("<", 1)[0].strip() or author


def read_preview(reg: Registry, branch: str) -> Detail:
    """A branch's latest commits, its metrics and (off prod) their diff against prod."""
    prod = reg.prod
    diff = reg.diff(prod, branch) if prod is not None and prod != branch else None
    return reg.log(branch, 10), reg.metrics(branch), diff


class BranchPreview(Horizontal):
    """Two panes: recent commits, and metrics next to prod's."""

    DEFAULT_CSS = """
    BranchPreview { height: 12; }
    BranchPreview > Static {
        height: 1fr; padding: 0 1; border-top: solid $primary-muted;
        border-title-color: $text; border-title-style: bold;
    }
    BranchPreview > #preview-commits { width: 3fr; }
    BranchPreview > #preview-metrics { width: 2fr; }
    """

    app: MlvcApp

    @dataclass
    class Read(Message):
        """A branch read for the preview (or the error that stopped it)."""

        generation: int
        branch: str
        detail: Detail | None
        error: str | None

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.branch: str | None = None  # the branch shown, or being read
        self.generation = 0
        self._shown: tuple[str, Detail] | None = None  # what the panes show now

    def compose(self) -> ComposeResult:
        """Called to build the two panes."""
        yield Static(id="preview-commits")
        yield Static(id="preview-metrics")

    def follow(self, branch: str | None, *, force: bool = False) -> None:
        """Show ``branch`` (read again with ``force``); nothing while the preview is hidden."""
        if not self.display:
            self.branch = None  # read afresh when it shows again
            return
        if branch == self.branch and not force:
            return
        self.branch = branch
        self.generation += 1
        if branch is None:
            self.clear()
        else:
            self._read(self.generation, branch)

    @work(thread=True, exclusive=True, group="preview", exit_on_error=False)
    def _read(self, generation: int, branch: str) -> None:
        try:
            detail = self.app.session.run(lambda reg: read_preview(reg, branch))
            message = self.Read(generation, branch, detail, None)
        except MlvcError as exc:
            message = self.Read(generation, branch, None, str(exc))
        except Exception as exc:  # an engine bug: say so in place, never crash
            message = self.Read(generation, branch, None, f"Could not read: {exc!r}")
        if not get_current_worker().is_cancelled:
            self.post_message(message)

    def on_branch_preview_read(self, message: Read) -> None:
        """Called when a branch has been read: show it unless the cursor moved on."""
        message.stop()
        if message.generation != self.generation:
            return
        if message.detail is None:
            self._shown = None
            self.clear(tilde(message.error or ""))
        elif (message.branch, message.detail) != self._shown:  # the same again: no repaint
            self._shown = (message.branch, message.detail)
            self.show(message.branch, *message.detail, now=self.app.now())

    def clear(self, message: str = "") -> None:
        """Show nothing (or a one-line message) until the next branch is read."""
        self._shown = None
        for pane in self.query(Static):
            pane.update(Text(visible(message), style=BAD) if message else "", layout=False)
            pane.border_title = ""

    def show(
        self,
        branch: str,
        log: tuple[CommitInfo, ...],
        metrics: Metrics,
        diff: MetricDiff | None,
        now: datetime,
    ) -> None:
        """Show one branch: ``diff`` compares it with prod (None on prod itself)."""
        shown = visible(branch)
        commits = Table.grid(padding=(0, 1), expand=True)
        commits.add_column(style="yellow", no_wrap=True)
        commits.add_column(style="dim", no_wrap=True)
        commits.add_column(no_wrap=True, max_width=16)
        commits.add_column(no_wrap=True, ratio=1)
        for commit in log:
            commits.add_row(
                commit.short_id,
                present.relative_time(commit.time, now),
                literal(_name(commit.author)),
                literal(commit.summary),
            )
        pane = self.query_one("#preview-commits", Static)
        pane.update(commits, layout=False)
        pane.border_title = f"{shown}: latest commits"
        # Only the rows the pane has lines for are made: a registry with hundreds of
        # metric files would otherwise lay out hundreds of unseen rows per cursor move.
        room = max(self.size.height, 12)
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, ratio=1)
        table.add_column(justify="right", no_wrap=True)
        if diff is not None:
            table.add_column(justify="right", style="dim", no_wrap=True)
            table.add_column(no_wrap=True)
            for row in diff.rows:
                if table.row_count >= room:
                    break
                if row.b is None:
                    continue
                glyph, style = VERDICT_GLYPHS[row.verdict]
                table.add_row(
                    literal(row.key),
                    present.number(row.b, missing=""),
                    present.number(row.a, missing=""),
                    Text(glyph, style=f"bold {style}"),
                )
        else:
            for key, value in islice(metrics.values.items(), room):
                table.add_row(literal(key), present.number(value, missing=""))
        for path, reason in islice(metrics.errors.items(), max(0, room - table.row_count)):
            table.add_row(Text(f"! {visible(path)}: {visible(reason)}", style=BAD))
        pane = self.query_one("#preview-metrics", Static)
        pane.update(table, layout=False)
        against = f" vs {visible(diff.a)}" if diff is not None else ""
        pane.border_title = f"metrics{against}"
