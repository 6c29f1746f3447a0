"""Drift: a branch's ``monitoring/drift.csv`` as a summary table and a chart per series.

``DriftScreen(branch)``. Rows whose latest value is over its threshold are marked ``!`` (and
``~`` when they were over earlier); the chart shows the selected series with its threshold.
Keys: ``R`` re-reads the file, ``esc`` goes back.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static

from mlvc_tui import present
from mlvc_tui.engine import (
    DRIFT_FORMATS,
    DRIFT_PATH,
    DriftReport,
    DriftSeries,
    MlvcError,
    NoDriftLog,
    Registry,
)
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, CHANGED, GOOD
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import tone
from mlvc_tui.widgets.plot import ChartData, HLine, PlotChart, Series
from mlvc_tui.widgets.widths import add_sized_columns, size_now

from .reloading import ReadingScreen

__all__ = ["DRIFT_PATH", "DriftScreen", "read_drift", "series_chart"]


def read_drift(reg: Registry, branch: str) -> DriftReport:
    """The branch's drift log with the registry's thresholds, as `mlvc drift` reads it."""
    return reg.drift(branch)


def drift_problem(exc: MlvcError) -> str:
    """Why there is no drift log to show, with the formats when the file is not one."""
    if not isinstance(exc, NoDriftLog):
        return str(exc)
    return f"{exc}.\n\n{DRIFT_FORMATS}" if exc.reason == "unreadable" else f"{exc}."


def _when(stamp: str) -> datetime | None:
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def series_chart(series: DriftSeries) -> ChartData:
    """One series over time, with its threshold."""
    points = series.points
    times = tuple(_when(p.timestamp) for p in points)
    ticks: tuple[tuple[float, str], ...] = ()
    if points and None in times:  # not ISO times: label the ends with the raw cells
        ticks = (
            (0.0, points[0].timestamp[:16]),
            (float(len(points) - 1), points[-1].timestamp[:16]),
        )
        times = ()
    hlines = (
        (HLine(f"threshold {present.number(series.threshold)}", series.threshold),)
        if series.threshold is not None
        else ()
    )
    notes = (f"{series.invalid} NaN/inf not drawn",) if series.invalid else ()
    return ChartData(
        f"{series.feature} · {series.metric}",
        (
            Series(
                series.key,
                tuple(float(i) for i in range(len(points))),
                tuple(p.value for p in points),
            ),
        ),
        hlines,
        ticks,
        times,
        empty="no finite values to plot",
        notes=notes,
    )


class DriftTable(DataTable[Text]):
    """One row per feature and metric; ``j``/``k`` move too."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]


class DriftScreen(ReadingScreen[DriftReport]):
    """The drift log of one branch."""

    CSS_PATH = "drift.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]  # noqa: RUF012 (Textual declares it per instance)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("R", "reload", "Re-read"),
        Binding("f", "follow", "Follow live"),
    ]

    def __init__(self, branch: str) -> None:
        super().__init__()
        self.branch = branch
        self.report: DriftReport | None = None
        self._laid_out_for = 0  # the screen width the table's columns were chosen for

    def compose(self) -> ComposeResult:
        title = Text.assemble(("Drift  ", "bold"))
        title.append(DRIFT_PATH)
        title.append(" on ", style="bold")
        title.append(visible(self.branch))
        yield Static(title, id="title")
        yield Static(id="summary")
        yield Static(id="errors")
        with Container(id="body"):
            yield DriftTable(id="table", cursor_type="row", zebra_stripes=True)
            yield PlotChart(id="chart", message="")
        yield Static(id="message")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: read the drift log (unless it was closed already)."""
        with contextlib.suppress(NoMatches):  # esc pressed before the screen finished opening
            self.reload()

    def reading(self, refresh: bool) -> None:
        """As a read starts: say so."""
        self.query_one("#summary", Static).update(Text("reading the drift log…", style="dim"))
        self.query_one("#body").loading = True

    def read(self, reg: Registry) -> DriftReport:
        """On the worker's thread: the branch's drift log, as `mlvc drift` reads it."""
        return read_drift(reg, self.branch)

    def problem(self, exc: MlvcError) -> str:
        return drift_problem(exc)

    def failed(self, message: str) -> None:
        """Say why there is no drift log to show."""
        self.report = None
        body = self.query_one("#body")
        body.loading, body.display = False, False
        self.query_one("#summary", Static).update("")
        self.query_one("#errors", Static).display = False
        self.query_one("#message", Static).update(
            Text("\n".join(visible(line) for line in message.split("\n")))
        )
        self.query_one("#message", Static).display = True

    def loaded(self, report: DriftReport) -> None:
        """Show the drift log a worker has read."""
        self.report = report
        self.query_one("#message", Static).display = False
        body = self.query_one("#body")
        body.loading, body.display = False, True
        self.query_one("#summary", Static).update(self._summary(report))
        errors = self.query_one("#errors", Static)
        errors.display = bool(report.bad_rows)
        if report.bad_rows:
            bad = "1 bad row" if report.bad_rows == 1 else f"{report.bad_rows:,} bad rows"
            text = Text.assemble((f"! {bad} skipped", "bold"))
            for reason in report.errors:
                text.append("\n  " + visible(reason))
            errors.update(text)
        self._fill(report)

    def _summary(self, report: DriftReport) -> Text:
        """How many features are over threshold, the counts, then which (cut last)."""
        hot = sorted({s.feature for s in report.over_threshold()})
        text = Text(no_wrap=True, overflow="ellipsis")
        style = tone(f"bold {BAD}" if hot else f"bold {GOOD}", self.app.no_color)
        features = len(report.features)
        text.append(
            f"{len(hot)} of {features} feature{'s' if features != 1 else ''} over threshold", style
        )
        alerts = "1 alert" if report.alerts == 1 else f"{report.alerts:,} alerts"
        rows = "1 row" if report.rows == 1 else f"{report.rows:,} rows"
        text.append(f" · {rows} · {alerts}", style="dim")
        if report.invalid:
            text.append(f" · {report.invalid:,} NaN/inf", style="dim")
        if hot:
            text.append(" · ")
            text.append(", ".join(visible(f) for f in hot[:4]), style=style)
            text.append(" …" if len(hot) > 4 else "")
        return text

    def _fill(self, report: DriftReport) -> None:
        """One row per series: alerting now first, then alerting earlier, in file order."""
        table = self.query_one(DriftTable)
        current = table.cursor_row
        table.clear(columns=True)
        order = sorted(
            range(len(report.series)),
            key=lambda i: (not report.series[i].alert, not report.series[i].alerts, i),
        )
        rows = [self._row(report.series[i]) for i in order]
        heads = ["", "feature", "metric", "latest", "max", "threshold", "alerts"]
        keys = ["mark", "feature", "metric", "latest", "max", "threshold", "alerts"]
        # Too narrow for all: leave out the max, the alert counts, then the metric's name.
        width = self._laid_out_for = self.size.width
        room = (width // 2 if width >= 150 else width) - 2  # beside the chart; the scrollbar
        kept = add_sized_columns(
            table, [Text(h) for h in heads], rows, keys, room=room, drop=[4, 6, 2]
        )
        for i, row in zip(order, rows, strict=True):
            table.add_row(*(row[k] for k in kept), key=str(i))
        size_now(table)
        if not report.series:
            self.query_one(PlotChart).show_message("the drift log has a header but no rows")
        elif 0 < current < table.row_count:
            table.move_cursor(row=current)

    def on_resize(self) -> None:
        """Called when the terminal is resized: choose the columns for the new width."""
        if self.report is not None and self.size.width != self._laid_out_for:
            self._fill(self.report)

    def _row(self, s: DriftSeries) -> list[Text]:
        """One series' cells: a mark and its style for alerting now or earlier."""
        mark, style = ("!", f"bold {BAD}") if s.alert else ("~", CHANGED) if s.alerts else ("", "")
        style = tone(style, self.app.no_color)
        return [
            Text(mark, style=style),
            Text(visible(s.feature)[:40], style=style),
            Text(visible(s.metric)[:20], style=style),
            Text(present.number(s.latest.value), style=style, justify="right"),
            Text(present.number(s.max), justify="right"),
            Text(present.number(s.threshold), justify="right"),
            Text(f"{s.alerts}/{s.count}", style=style, justify="right"),
        ]

    @on(DataTable.RowHighlighted, "#table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Called when the cursor moves: chart that series."""
        if self.report is None or event.row_key.value is None:
            return
        series = self.report.series[int(event.row_key.value)]
        self.query_one(PlotChart).show(series_chart(series))

    def action_back(self) -> None:
        """Called on escape: back to the previous screen."""
        self.dismiss()

    def action_reload(self) -> None:
        """Called on R: re-read the branch and its drift log."""
        self.reload(refresh=True)

    def action_follow(self) -> None:
        """Called on f: follow the working tree's drift log as it is written."""
        self.app.open_tail(DRIFT_PATH, self.branch)
