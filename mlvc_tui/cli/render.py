"""Readable tables for the `mlvc` command (rich; every repository string shown literally)."""

from __future__ import annotations

import os
import sys

from rich import box
from rich.console import Console, Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from mlvc_tui.engine import (
    ArtifactStatus,
    Branch,
    Grid,
    Lineage,
    MetricDiff,
    MetricPoint,
    Verdict,
)
from mlvc_tui.present import (
    STATUS_GLYPHS,
    number,
    relative,
    size,
    verdict_label,
)
from mlvc_tui.present import commit_date as when
from mlvc_tui.safetext import visible

__all__ = [
    "GLYPHS",
    "GRID_LEGEND",
    "render_branches",
    "render_diff",
    "render_grid",
    "render_history",
    "render_lineage",
]

_STATUS_STYLES: dict[ArtifactStatus, str] = {
    ArtifactStatus.SAME: "dim",
    ArtifactStatus.CHANGED: "yellow",
    ArtifactStatus.NEW: "green",
    ArtifactStatus.MISSING: "red",
    ArtifactStatus.MODIFIED: "magenta",
}
GLYPHS: dict[ArtifactStatus, tuple[str, str]] = {
    status: (STATUS_GLYPHS[status], style) for status, style in _STATUS_STYLES.items()
}
_VERDICT_STYLES: dict[Verdict, str] = {
    Verdict.BETTER: "green",
    Verdict.WORSE: "red",
    Verdict.SAME: "dim",
    Verdict.NEW: "cyan",
    Verdict.MISSING: "yellow",
    Verdict.INVALID: "red bold",
}
VERDICTS: dict[Verdict, tuple[str, str]] = {
    v: (verdict_label(v), style) for v, style in _VERDICT_STYLES.items()
}
VERDICTS[Verdict.INVALID] = ("! invalid", "red bold")  # the app names which: NaN or inf


def console() -> Console:
    """A console for stdout; wide when piped so tables are not squeezed."""
    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(highlight=False, width=width, soft_wrap=False)


def t(text: str, style: str = "") -> Text:
    """Repository text, literal: control characters visible, markup never parsed."""
    return Text(visible(text), style=style)


def render_branches(branches: tuple[Branch, ...]) -> Table:
    from mlvc_tui.present import sync_mark

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    remote = any(b.upstream for b in branches)
    cols = ("", "branch", "kind", *(("remote",) if remote else ()), "commit", "author", "date")
    for col in (*cols, "message"):
        table.add_column(col, no_wrap=col != "message")
    for b in branches:
        table.add_row(
            "*" if b.is_head else "",
            t(b.name, "bold"),
            b.kind.value,
            *((t(sync_mark(b), "dim"),) if remote else ()),
            b.commit.short_id,
            t(b.commit.author.split(" <", 1)[0]),
            when(b.commit),
            t(b.commit.summary),
        )
    return table


def render_grid(grid: Grid, width: int = 100) -> Group:
    """The grid with two-character column codes (as in the app) and their key below."""
    from mlvc_tui.columns import column_codes, column_key

    codes = column_codes(grid)
    primary = grid.primary_metric or "metric"
    from mlvc_tui.present import sync_mark

    names = max(
        (
            len(visible(r.branch.name)) + 2 + len(f" {sync_mark(r.branch)}".rstrip())
            for r in grid.rows
        ),
        default=8,
    )
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=t(grid.root),
        title_justify="left",
        padding=(0, 0),
    )
    table.add_column("branch", no_wrap=True, min_width=min(names, 32))
    table.add_column(t(primary), justify="right", no_wrap=True, min_width=min(len(primary), 12))
    table.add_column("Δ prod", justify="right", no_wrap=True, min_width=7)
    for path in grid.columns:
        table.add_column(codes[path], justify="left", no_wrap=True, min_width=2, max_width=2)
    for row in grid.rows:
        mark = sync_mark(row.branch)
        name = (
            ("* " if row.branch.is_head else "  ") + row.branch.name + (f" {mark}" if mark else "")
        )
        value = Text("!", "red bold") if row.metrics.errors else Text(number(row.primary_value))
        style = {Verdict.BETTER: "green", Verdict.WORSE: "red"}.get(
            row.primary_verdict or Verdict.SAME, ""
        )
        cells = []
        for path in grid.columns:
            glyph, gstyle = (
                GLYPHS.get(row.status[path], (" ", "")) if path in row.status else (" ", "")
            )
            cells.append(Text(glyph, gstyle))
        table.add_row(
            t(name, "bold" if row.branch.kind.value == "prod" else ""),
            value,
            Text(number(row.primary_delta, signed=True), style),
            *cells,
        )
    key = column_key(grid, codes, width)
    key.end = "\n"
    return Group(table, key)


GRID_LEGEND = "vs prod: = same  ~ changed  + new  - missing  * uncommitted  ! metrics error"


def render_diff(diff: MetricDiff, only_changed: bool = False) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title=Text.assemble(t(diff.b, "bold"), " against ", t(diff.a, "bold")),
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("metric", "left"),
        (diff.a, "right"),
        (diff.b, "right"),
        ("delta", "right"),
        ("rel", "right"),
        ("", "left"),
    )
    for col, justify in columns:
        table.add_column(t(col), justify=justify, no_wrap=True)
    for row in diff.changed if only_changed else diff.rows:
        label, style = VERDICTS[row.verdict]
        rel = relative(row.relative)
        table.add_row(
            t(row.key),
            number(row.a),
            number(row.b),
            Text(number(row.delta, signed=True), style),
            Text(rel, style),
            Text(label, style),
        )
    return table


def render_history(metric: str, points: tuple[MetricPoint, ...]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("commit", "date", "author", metric, "message"):
        table.add_column(
            t(col), no_wrap=col != "message", justify="right" if col == metric else "left"
        )
    for p in points:
        table.add_row(
            p.commit.short_id,
            when(p.commit),
            t(p.commit.author.split(" <", 1)[0]),
            number(p.value),
            t(p.commit.summary),
        )
    return table


def render_lineage(lin: Lineage) -> Table:
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_header=False,
        title=Text.assemble(t(lin.model, "bold"), " on ", t(lin.branch, "bold")),
        title_justify="left",
    )
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value")
    v = lin.version
    art = v.artifact
    table.add_row(
        "version",
        Text.assemble(
            f"{art.id[:12]} ({size(art.size)}",
            f", {art.storage.value})" if art.storage.value != "blob" else ")",
        ),
    )
    table.add_row(
        "commit",
        Text.assemble(
            v.commit.short_id,
            "  ",
            when(v.commit),
            "  ",
            t(v.commit.author),
            "\n",
            t(v.commit.summary),
        ),
    )
    if lin.tags:
        table.add_row("tags", t(", ".join(lin.tags)))
    if lin.merged_from:
        table.add_row("merged from", ", ".join(p[:8] for p in lin.merged_from))
    table.add_row("code", (lin.code or "—")[:12] + ("  src/" if lin.code else ""))
    for label, ids in (("data", lin.data), ("config", lin.config)):
        for i, (path, oid) in enumerate(ids.items()):
            table.add_row(label if i == 0 else "", Text.assemble(oid[:12], "  ", t(path)))
    for i, (key, value) in enumerate(lin.params.items()):
        table.add_row("params" if i == 0 else "", t(f"{key} = {value}"))
    if lin.record is not None:
        if lin.record.error:
            table.add_row("record", Text(visible(lin.record.error), "red"))
        for i, (key, value) in enumerate(lin.record.fields.items()):
            table.add_row("record" if i == 0 else "", t(f"{key}: {value}"))
    for i, prev in enumerate(lin.previous):
        table.add_row(
            "previous" if i == 0 else "",
            Text.assemble(
                prev.artifact.id[:12],
                "  ",
                prev.commit.short_id,
                "  ",
                when(prev.commit),
                "  ",
                t(prev.commit.summary),
            ),
        )
    return table
