"""A/B: the traffic split on prod and each variant's results, side by side.

``ABScreen()``. Variants are columns (branch, role, version, weight, count, mean, interval,
difference against control, verdict, errors, drift); under it, how many rows of each
variant's results file belong to other tests and were left out; a chart shows each variant's running
mean outcome over time; the bar at the top is the traffic split. Keys: ``s`` steps a
canary, ``x`` aborts it, ``f`` flips blue/green, ``p`` promotes the winner (through the
promotion dialog when there is one), ``R`` re-reads, ``esc`` goes back. Each key that
shifts traffic is one commit to `delivery.toml` on prod.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich import box
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from mlvc_tui import present
from mlvc_tui.engine import (
    ABReport,
    Delivery,
    MlvcError,
    Mode,
    Verdicts,
    ab_report,
    as_datetime,
)
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import AB_STYLES, BAD
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import tone
from mlvc_tui.widgets.plot import ChartData, PlotChart, Series

from .reloading import ReadingScreen

if TYPE_CHECKING:
    from mlvc_tui.engine import Registry

__all__ = ["ABScreen", "outcome_chart", "split_bar"]

NOTHING = (
    "prod serves all traffic: no A/B test, canary or blue/green deployment is "
    "running.\n\nStart one from a shell:\n  mlvc ab start CONTROL VARIANT\n"
    "  mlvc canary BRANCH --percent 5\n  mlvc switch --standby BRANCH"
)
_BAR = "█▓▒░"


def split_bar(d: Delivery, width: int) -> Text:
    """The traffic split as one line: a shaded block per variant, then names and weights."""
    out = Text("traffic ", style="bold", end="")
    bar = max(10, min(40, width // 3))
    for i, v in enumerate(d.variants):
        out.append(_BAR[i % len(_BAR)] * round(v.weight * bar / 100))
    names = Text()
    for i, v in enumerate(d.variants):
        names.append(f"{_BAR[i % len(_BAR)]} ")
        names.append(visible(v.branch), style="bold")
        names.append(f" {v.weight:g}%  ")
    # Beside the bar when they fit (the screen's padding is 2), else on the line below.
    out.append("  " if out.cell_len + names.cell_len <= width - 2 else "\n")
    return out.append_text(names)


def outcome_chart(r: ABReport) -> ChartData:
    """Each variant's running mean outcome (percent for 0/1 outcomes) over time."""
    scale = 100.0 if r.binary else 1.0
    times = tuple(as_datetime(t) for t in r.timeline)
    series = tuple(
        Series(
            v.branch,
            tuple(float(i) for i in range(len(r.timeline))),
            tuple(y * scale for y in r.running_means.get(v.branch, ())),
        )
        for v in r.variants
        if v.branch in r.running_means
    )
    unit = " %" if r.binary else ""
    return ChartData(
        f"{r.outcome}{unit}, running mean",
        series,
        x_times=times,
        empty="no results with times to plot yet",
    )


def _pct(x: float, binary: bool) -> str:
    return "—" if x != x else f"{x:.2%}" if binary else f"{x:.4g}"


def _interval(low: float, high: float, binary: bool) -> str:
    if binary and low == low and high == high:
        return f"{low:.1%}–{high:.1%}".replace("%–", "–")
    return f"{_pct(low, binary)}–{_pct(high, binary)}"


class ABScreen(ReadingScreen[ABReport]):
    """The running test on prod, every variant against control."""

    CSS_PATH = "ab.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("s", "step", "Step canary"),
        Binding("x", "abort", "Abort canary"),
        Binding("f", "flip", "Flip blue/green"),
        Binding("p", "promote", "Promote winner"),
        Binding("R", "reload", "Re-read"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: ABReport | None = None

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        yield Static(Text("A/B  reading delivery.toml on prod…", style="bold"), id="title")
        yield Static(id="split")
        with VerticalScroll(id="body"):  # in a short terminal the notes are scrolled to
            yield Static(id="table")
            yield Static(id="notes")
            yield Static(id="left-out")
            yield PlotChart(id="chart")
        yield Static(id="message")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: read the split and the results."""
        self.reload()

    def read(self, reg: Registry) -> ABReport:
        """On the worker's thread: the split on prod and every variant's results."""
        return ab_report(reg)

    def failed(self, message: str) -> None:
        """Say why there is no test to show."""
        self.report, self.query_one("#body").display = None, False
        self.query_one("#split", Static).update("")
        self.query_one("#message", Static).update(Text(visible(message), style="bold"))
        self.query_one("#message").display = True
        self.refresh_bindings()

    def loaded(self, report: ABReport) -> None:
        """Show the report a worker has read."""
        self.report = report
        d = report.delivery
        title = Text.assemble("A/B  ", (d.mode.value, "bold"), style="bold")
        if d.test and d.test != d.mode.value:  # live's default test is named "live" too
            title.append(f" {visible(d.test)}", style="bold")
        if d.started:
            title.append(f"  since {visible(d.started[:16].replace('T', ' '))}", style="dim")
        self.query_one("#title", Static).update(title)
        self.query_one("#split", Static).update(split_bar(d, self.size.width))
        live = d.mode is Mode.LIVE
        self.query_one("#body").display = not live
        self.query_one("#message", Static).update(Text(NOTHING))
        self.query_one("#message").display = live
        if not live:
            self.query_one("#table", Static).update(self._table(report))
            self.query_one("#notes", Static).update(self._notes(report))
            left = self._left_out(report)
            self.query_one("#left-out", Static).update(left)
            self.query_one("#left-out").display = bool(left)
            self.query_one(PlotChart).show(outcome_chart(report))
        self.refresh_bindings()

    def _table(self, r: ABReport) -> Table:
        no_color = self.app.no_color
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1))
        table.add_column("", style="bold", no_wrap=True)
        for v in r.variants:
            table.add_column(
                Text(visible(v.branch), style="bold"), justify="right", no_wrap=True, max_width=24
            )
        b = r.binary

        def row(label: str, cell: Callable[[Any], Text | str]) -> None:
            table.add_row(label, *[cell(v) for v in r.variants])

        row("role", lambda v: v.role)
        row("version", lambda v: visible(v.version))
        row("weight", lambda v: f"{v.weight:g}%")
        row("count", lambda v: f"{v.count:,}")
        row("mean", lambda v: _pct(v.mean, b))
        row(
            "95% CI",
            lambda v: _interval(v.interval.low, v.interval.high, b) if v.count >= 2 else "—",
        )
        row(
            "vs control",
            lambda v: (
                ""
                if v.comparison is None
                else f"{'+' if v.comparison.diff.estimate > 0 else ''}"
                f"{_pct(v.comparison.diff.estimate, b)} p={v.comparison.p_value:.2g}"
            ),
        )
        row(
            "verdict",
            lambda v: Text(
                f"{present.AB_GLYPHS.get(v.verdict, '')} {v.verdict}"
                + (f" ~{v.needed:,}" if v.verdict == Verdicts.WAIT and v.needed else ""),
                style=tone(AB_STYLES.get(v.verdict, ""), no_color),
            ),
        )
        row(
            "errors·drift",
            lambda v: (
                ("—" if v.error_rate is None else f"{v.error_rate:.2%}")
                + " · "
                + (
                    "—"
                    if v.drift_alerts is None
                    else f"{v.drift_alerts}{'!' if v.drifting else ''}"
                )
            ),
        )
        return table

    def _notes(self, r: ABReport) -> Text:
        out = Text()  # wrapped: the legend is read, never cut at 80 columns
        if r.sample_ratio_mismatch:
            out.append("! sample ratio mismatch · ", style=tone(f"bold {BAD}", self.app.no_color))
        out.append(f"α={r.alpha:g} per comparison · ", style="dim")
        d = r.delivery
        if d.mode is Mode.CANARY:
            cand = d.with_role("candidate")
            plan = " → ".join(
                f"[{s:g}]" if cand and s == cand.weight else f"{s:g}" for s in d.steps
            )
            out.append(f"step plan {plan}")
        elif r.bandit is not None:
            out.append("best so far ")
            out.append(visible(r.bandit.best), style="bold")
            out.append(f" · regret {r.bandit.total_regret:.4g}")
        missing = [visible(v.branch) for v in r.variants if v.problem]
        if missing:
            out.append(f" · no results: {', '.join(missing)}", style="dim")
        elif r.variants:
            out.append(
                "~N: observations each arm still needs for 80% power · drift: alerts, ! now",
                style="dim",
            )
        return out

    def _left_out(self, r: ABReport) -> Text:
        """One line per variant whose results hold rows of other tests (not counted)."""
        lines = [
            visible(present.left_out(v.branch, v.outside, r.delivery.test))
            for v in r.variants
            if v.outside
        ]
        return Text("\n".join(lines), style="dim", no_wrap=True, overflow="ellipsis")

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Called to decide which keys work now: only those that make sense for the mode."""
        mode = self.report.delivery.mode if self.report else None
        if action in ("step", "abort"):
            return mode is Mode.CANARY
        if action == "flip":
            return mode is Mode.BLUEGREEN
        if action == "promote":
            return self._winner() is not None
        return True

    def _winner(self) -> str | None:
        r = self.report
        if r is None:
            return None
        won = [v.branch for v in r.variants if v.verdict == Verdicts.WINNER]
        if len(won) == 1:
            return won[0]
        cand = r.delivery.with_role("candidate")
        return (
            cand.branch
            if r.delivery.mode is Mode.CANARY and cand and math.isclose(cand.weight, 100)
            else None
        )

    def action_step(self) -> None:
        """Called on s: move the canary to the next step of its plan."""
        from mlvc_tui.engine import canary_step

        self._shift(canary_step)

    def action_abort(self) -> None:
        """Called on x: send every unit back to the baseline."""
        from mlvc_tui.engine import canary_abort

        self._shift(canary_abort)

    def action_flip(self) -> None:
        """Called on f: swap blue/green live and standby."""
        from mlvc_tui.engine import switch

        self._shift(switch)

    @work(thread=True, exclusive=True, group="ab-shift", exit_on_error=False)
    def _shift(self, verb: Callable[[Registry], Any]) -> None:
        try:
            change = self.app.session.run(verb)
        except MlvcError as exc:
            self.app.call_from_thread(
                self.notify, visible(str(exc)), severity="error", title="Refused"
            )
            return
        self.app.call_from_thread(self._shifted, change)

    def _shifted(self, change: Any) -> None:
        self.notify(
            visible(f"{change.commit[:8]} {change.message.splitlines()[0]}"), title="Committed"
        )
        self.reload(refresh=True)

    def action_promote(self) -> None:
        """Called on p: open the promotion dialog (gates first) for the winner."""
        branch = self._winner()
        if branch is None:
            return
        self.app.open_promote(branch)

    def action_back(self) -> None:
        """Called on escape: back to the previous screen."""
        self.dismiss()

    def action_reload(self) -> None:
        """Called on R: re-read refs, the split and every variant's results."""
        self.reload(refresh=True)
