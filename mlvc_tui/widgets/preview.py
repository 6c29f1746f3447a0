"""A glance at the branch under the grid's cursor: its latest commits and metrics vs prod.

Shown under the grid when the terminal is tall enough to spare the lines.
"""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from ..engine import CommitInfo, MetricDiff, Metrics
from ..safetext import visible
from .cells import BAD, VERDICT_GLYPHS, literal, metric_value, relative_time

__all__ = ["BranchPreview"]


def _name(author: str) -> str:
    return author.split("<", 1)[0].strip() or author


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

    def compose(self) -> ComposeResult:
        """Called to build the two panes."""
        yield Static(id="preview-commits")
        yield Static(id="preview-metrics")

    def clear(self, message: str = "") -> None:
        """Show nothing (or a one-line message) until the next branch is read."""
        for pane in self.query(Static):
            pane.update(Text(visible(message), style=BAD) if message else "")
            pane.border_title = ""

    def show(
        self, branch: str, log: tuple[CommitInfo, ...], metrics: Metrics,
        diff: MetricDiff | None, now: datetime,
    ) -> None:
        """Show one branch: ``diff`` compares it with prod (None on prod itself)."""
        shown = visible(branch)
        commits = Table.grid(padding=(0, 1), expand=True)
        commits.add_column(style="yellow", no_wrap=True)
        commits.add_column(style="dim", no_wrap=True)
        commits.add_column(no_wrap=True, max_width=16)
        commits.add_column(no_wrap=True, ratio=1)
        for commit in log:
            commits.add_row(commit.short_id, relative_time(commit.time, now),
                            literal(_name(commit.author)), literal(commit.summary))
        pane = self.query_one("#preview-commits", Static)
        pane.update(commits)
        pane.border_title = f"{shown}: latest commits"
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True, ratio=1)
        table.add_column(justify="right", no_wrap=True)
        if diff is not None:
            table.add_column(justify="right", style="dim", no_wrap=True)
            table.add_column(no_wrap=True)
            for row in diff.rows:
                if row.b is None:
                    continue
                glyph, style = VERDICT_GLYPHS[row.verdict]
                table.add_row(literal(row.key), metric_value(row.b), metric_value(row.a),
                              Text(glyph, style=f"bold {style}"))
        else:
            for key, value in metrics.values.items():
                table.add_row(literal(key), metric_value(value))
        for path, reason in metrics.errors.items():
            table.add_row(Text(f"! {visible(path)}: {visible(reason)}", style=BAD))
        pane = self.query_one("#preview-metrics", Static)
        pane.update(table)
        against = f" vs {visible(diff.a)}" if diff is not None else ""
        pane.border_title = f"metrics{against}"
