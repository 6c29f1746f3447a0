"""Metric diff: every metric of two refs side by side, and the selected metric's history.

``DiffScreen(a, b)`` compares b against a (the grid opens it with a = prod). Keys: ``c`` only
changed, ``o`` picks the other side (a), ``s`` swaps, ``esc`` goes back.
"""

from __future__ import annotations

import contextlib
import time
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.css.query import NoMatches
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from mlvc_tui.engine import (
    WORKTREE,
    HistoryPair,
    MetricDiff,
    MlvcError,
    Registry,
    Verdict,
    as_datetime,
)
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import MetricTable, verdict_look
from mlvc_tui.widgets.plot import ChartData, PlotChart, Series

from .pick_ref import RefPicker
from .reloading import ReadingScreen

__all__ = ["DiffScreen", "history_chart"]

HISTORY_LIMIT = 200


def history_chart(key: str, pair: HistoryPair, higher_is_better: bool = True) -> ChartData:
    """A metric's history on each side (oldest first); x is the order of commits in time.
    b is drawn from its fork from a on: the common history reads as a's line and b's
    line branches off it."""
    sides = (
        (pair.a, tuple(reversed(pair.a.points))),
        (pair.b, pair.b_since_fork() if pair.a.points else tuple(reversed(pair.b.points))),
    )
    commits = {p.commit.id: p.commit for side, _ in sides for p in side.points}
    order = sorted(commits.values(), key=lambda c: (c.time, c.id))
    index = {c.id: i for i, c in enumerate(order)}
    series, notes = [], []
    for side, drawn in sides:
        if side.problem is not None:
            notes.append(side.problem)
            series.append(Series(side.ref, (), ()))
            continue
        kept = [(float(index[p.commit.id]), p.value) for p in drawn if p.value is not None]
        series.append(Series(side.ref, tuple(x for x, _ in kept), tuple(y for _, y in kept)))
    times = tuple(as_datetime(c.time) for c in order)
    goal = "higher" if higher_is_better else "lower"
    return ChartData(
        f"{key} ({goal} is better)",
        tuple(series),
        x_times=times,
        empty=f"no history of {key} on either side",
        notes=tuple(notes),
    )


def _side(ref: str) -> str:
    """A side as the title says it: the working tree by name, a ref literally."""
    return "working tree" if ref == WORKTREE else visible(ref)


class DiffScreen(ReadingScreen[MetricDiff]):
    """Metrics of ``b`` against ``a``, coloured and marked by better or worse."""

    CSS_PATH = "diff.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]  # noqa: RUF012 (Textual declares it per instance)
    HISTORY_DEBOUNCE: ClassVar[float] = 0.12  # seconds the cursor must rest on a row
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("c", "toggle_changed", "Only changed"),
        Binding("o", "pick_side", "Other side"),
        Binding("s", "swap", "Swap"),
    ]

    def __init__(self, a: str, b: str) -> None:
        super().__init__()
        self.a, self.b = a, b
        self.only_changed = False
        self.diff: MetricDiff | None = None
        self._laid_out_for = 0  # the screen width the table's columns were sized for
        self._charts: dict[tuple[str, str, str], ChartData] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Static(id="summary")
        yield Static(id="errors")
        with Container(id="body"):
            yield MetricTable(id="table")
            yield PlotChart(id="chart", message="move the cursor to a metric to see its history")
        yield Static(id="message")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: load the diff (unless it was closed already)."""
        with contextlib.suppress(NoMatches):  # esc pressed before the screen finished opening
            self.reload()

    # -- loading ---------------------------------------------------------------------------

    def reading(self, refresh: bool) -> None:
        """As a read of the current sides starts: title, "loading", charts forgotten on R."""
        if refresh:
            self._charts.clear()
        title = Text.assemble(("Metric diff  ", "bold"))
        title.append(_side(self.a))
        title.append(" → ", style="bold")
        title.append(_side(self.b))
        self.query_one("#title", Static).update(title)
        self.query_one("#summary", Static).update(Text("loading metrics…", style="dim"))
        self.query_one("#body").loading = True

    def read(self, reg: Registry) -> MetricDiff:
        """On the worker's thread: every metric of both sides."""
        return reg.diff(self.a, self.b)

    def failed(self, message: str) -> None:
        """Say why the diff could not be read."""
        self.diff = None
        self.query_one("#body").loading = False
        self.query_one("#body").display = False
        self.query_one("#summary", Static).update("")
        self.query_one("#errors", Static).display = False
        self.query_one("#message", Static).update(Text.assemble(("! ", "bold"), visible(message)))
        self.query_one("#message", Static).display = True

    def loaded(self, diff: MetricDiff) -> None:
        """Show the diff a worker has read."""
        self.diff = diff
        self.query_one("#message", Static).display = False
        body = self.query_one("#body")
        body.display, body.loading = True, False
        errors = Text()
        for where, reason in diff.errors.items():
            errors.append("! ", style="bold")
            errors.append(visible(f"{where}: {reason}") + "\n")
        errors.rstrip()
        self.query_one("#errors", Static).update(errors)
        self.query_one("#errors", Static).display = bool(diff.errors)
        self._show_rows()

    def _show_rows(self) -> None:
        if self.diff is None:
            return
        rows = self.diff.changed if self.only_changed else self.diff.rows
        width = self.size.width
        self._laid_out_for = width
        room = width // 2 if width >= self.HORIZONTAL_BREAKPOINTS[1][0] else width
        self.query_one(MetricTable).show_rows(self.diff.a, self.diff.b, rows, width=room)
        self.query_one("#summary", Static).update(self._summary(len(rows)))
        if not rows:
            self.query_one(PlotChart).show_message(
                "no metric changed" if self.diff.rows else "no metrics on either side"
            )

    def on_resize(self) -> None:
        """Called when the terminal is resized: size the columns for the new width."""
        if self.diff is not None and self.size.width != self._laid_out_for:
            self._show_rows()

    def _summary(self, shown: int) -> Text:
        assert self.diff is not None
        counts = {v: 0 for v in Verdict}
        for row in self.diff.rows:
            counts[row.verdict] += 1
        text = Text(f"{len(self.diff.rows)} metrics")
        for verdict, n in counts.items():
            if n:
                glyph, word, style = verdict_look(verdict, self.app.no_color)
                text.append("  ")
                text.append(f"{glyph} {n} {word}", style=style)
        if self.only_changed:
            text.append(f"   only changed: showing {shown} of {len(self.diff.rows)}", style="bold")
        if self.diff.a == self.diff.b:
            text.append(f"   both sides are {visible(self.diff.a)}: o picks another", style="bold")
        return text

    # -- the history chart -----------------------------------------------------------------

    @on(DataTable.RowHighlighted, "#table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Called when the cursor moves: chart that metric's history (debounced)."""
        key = event.row_key.value
        if key is None or self.diff is None:
            return
        a, b = self.diff.a, self.diff.b
        chart = self.query_one(PlotChart)
        cached = self._charts.get((key, a, b))
        if cached is not None:
            self.workers.cancel_group(self, "diff-history")
            chart.show(cached)
            return
        chart.show_message(f"loading the history of {visible(key)}…")
        row = next((r for r in self.diff.rows if r.key == key), None)
        self._load_history(key, a, b, self.generation, row.higher_is_better if row else True)

    @work(thread=True, exclusive=True, group="diff-history", exit_on_error=False)
    def _load_history(self, key: str, a: str, b: str, gen: int, higher: bool) -> None:
        time.sleep(self.HISTORY_DEBOUNCE)
        if get_current_worker().is_cancelled:
            return

        try:
            pair = self.app.session.run(lambda reg: reg.history_pair(key, a, b, HISTORY_LIMIT))
            chart = history_chart(key, pair, higher)
        except MlvcError as exc:  # opening the registry failed
            self.app.call_from_thread(self.query_one(PlotChart).show_message, str(exc))
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_chart, gen, (key, a, b), chart)

    def _show_chart(self, gen: int, key: tuple[str, str, str], chart: ChartData) -> None:
        self._charts[key] = chart
        if gen == self.generation and self.query_one(MetricTable).current_key() == key[0]:
            self.query_one(PlotChart).show(chart)

    # -- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        """Called on escape: back to the previous screen."""
        self.dismiss()

    def action_toggle_changed(self) -> None:
        """Called on c: show only the metrics that changed, or all."""
        self.only_changed = not self.only_changed
        self._show_rows()

    def action_swap(self) -> None:
        """Called on s: compare the other way round."""
        self.a, self.b = self.b, self.a
        self.reload()

    def action_pick_side(self) -> None:
        """Called on o: pick the ref to compare against (side a)."""

        def picked(ref: str | None) -> None:
            if ref is not None and ref != self.a:
                self.a = ref
                self.reload()

        self.app.push_screen(RefPicker(f"Compare {self.b} against…", self.a), picked)
