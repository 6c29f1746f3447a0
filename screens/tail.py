"""Live tail: the working tree's drift log (or a ``logs/*.log``) as it is written.

``TailScreen(path)``. New rows appear as they are written (the app's watcher says when);
alerts are marked and counted per feature; the chart shows the selected feature's recent
points. Keys: ``space`` pauses or resumes following, ``f`` filters the rows to the selected
feature (a log: to errors and warnings), ``o`` follows the next file, ``esc`` goes back.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static

from mlvc_tui.engine import (
    DRIFT_PATH,
    Change,
    DriftFollow,
    LogFollow,
    MlvcError,
    Registry,
    log_files,
)
from mlvc_tui.live import Lane, live_of
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, GOOD
from mlvc_tui.widgets.feature_list import FeatureList
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import tone
from mlvc_tui.widgets.plot import PlotChart
from mlvc_tui.widgets.tail_view import TailView

from . import tail_rows as parts
from .tail_rows import Snapshot

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["TailScreen"]

RECENT = 5000  # rows kept for the view (and re-filtering); the engine keeps its own window
CHART_EVERY = 0.25  # seconds between two chart drawings under a fast writer
CHUNK = 1 << 20  # bytes read per turn: the UI gets its share between two turns


class TailScreen(Screen[None]):
    """Follow one file of the working tree."""

    app: MlvcApp

    CSS_PATH = "tail.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]  # noqa: RUF012 (Textual declares it per instance)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("space", "pause", "Pause/follow"),
        Binding("f", "filter", "Filter"),
        Binding("o", "other", "Other file"),
        Binding("R", "reread", "Re-read", show=False),
    ]

    def __init__(self, path: str = DRIFT_PATH, branch: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.branch = branch  # the branch the user came from (None: the grid)
        self.head: str | None = None  # the checked-out branch, once known
        self.drift = path.endswith(".csv")
        self.recent: deque[Any] = deque(maxlen=RECENT)
        self.snapshot: Snapshot | None = None
        self.files: list[str] = [DRIFT_PATH]
        self.feature: str | None = None  # the chart's feature
        self.only: str | None = None  # the filter: a feature, or "issues" for a log
        self.unseen = 0  # rows that arrived while paused
        self.rows_seen = 0  # rows applied to the screen since it opened (tests, benchmarks)
        self._follow: DriftFollow | LogFollow | None = None
        self._lane: Lane | None = None
        self._chart_at = 0.0
        self._chart_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        yield Static(id="title")
        yield Static(Text("reading…", style="dim"), id="summary")
        with Horizontal(id="top"):
            yield FeatureList(parts.FEATURE_HEADER, id="features")
            yield PlotChart(id="chart", message="waiting for rows…")
        yield TailView(self._render_row, cap=RECENT, id="view")
        yield Static(id="message")
        yield Static(id="status")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: start following the file."""
        self._title()
        self.query_one("#top").display = self.drift
        (self.query_one(FeatureList) if self.drift else self.query_one(TailView)).focus()
        self._lane = live_of(self.app).lane(
            f"tail:{self.path}",
            self._compute,
            self._apply,
            min_interval=0.05,
            wants=lambda change: change.touches(self.path),
            on_status=self._watching,
            finish=lambda: self._follow.close() if self._follow else None,
        )
        self._lane.kick()
        self._status()

    def on_unmount(self) -> None:
        """Called when the screen closes: stop following."""
        if self._lane is not None:
            live_of(self.app).drop(self._lane, self._watching)
            self._lane = None

    # -- the lane's thread -------------------------------------------------------------------

    def _open(self) -> DriftFollow | LogFollow:
        def where(reg: Registry) -> tuple[Path, str | None, DriftFollow | LogFollow]:
            root = reg.working_root()
            head = reg.head or f"detached {(reg.detached or '?')[:8]}"
            if self.drift:
                return root, head, reg.follow_drift(self.path, chunk=CHUNK)
            return root, head, LogFollow(root / self.path, chunk=CHUNK)

        root, self.head, follow = self.app.session.run(where)
        self.app.call_from_thread(self._title)
        self.files = [DRIFT_PATH, *log_files(root)]
        return follow

    def _compute(self, change: Change) -> Any:
        """On the lane's thread: read what was appended (a backlog in pieces)."""
        if self._follow is None:
            self._follow = self._open()
        follow = self._follow
        update = follow.poll()
        if update.more and self._lane is not None:
            self._lane.again()
        if isinstance(follow, DriftFollow):
            return update, Snapshot.of_drift(follow)
        return update, Snapshot.of_log(follow)

    def _watching(self) -> None:
        """Called once the watcher runs: say which, and read anything written meanwhile."""
        self._status()
        if self._lane is not None:
            self._lane.kick()

    # -- the UI thread ------------------------------------------------------------------------

    def _apply(self, result: Any) -> None:
        """Called with what the lane read: show the new rows, counts and chart."""
        if not self.is_attached:
            return
        if isinstance(result, MlvcError):  # nothing to follow: say why, in place
            for part in ("#top", "#view", "#summary"):
                self.query_one(part).display = False
            message = self.query_one("#message", Static)
            message.update(Text(visible(str(result)), style=tone(f"bold {BAD}", self.app.no_color)))
            message.display = True
            return
        update, snap = result
        view = self.query_one(TailView)
        if update.reset:
            self.recent.clear()
            view.replace(())
            self.unseen = 0
        new = update.points if self.drift else update.lines
        self.recent.extend(new)
        self.rows_seen += update.new
        if view.following:
            view.append(r for r in new if self._shown(r))
        else:
            self.unseen += update.new
        self.snapshot = snap
        self._summary(update.error, update.missing)
        if self.drift:
            listing = self.query_one(FeatureList)
            listing.show(parts.feature_rows(snap, self.app.no_color))
            features = listing.keys
            if self.feature not in features:
                self.feature = features[0] if features else None
            self._chart()
        self._status()

    def _shown(self, row: Any) -> bool:
        """Whether a row passes the filter (a feature; for a log, errors and warnings)."""
        return self.only is None or bool(row.feature == self.only if self.drift else row.level)

    def _render_row(self, row: Any) -> Text:
        no_color = self.app.no_color
        return parts.drift_line(row, no_color) if self.drift else parts.log_line(row, no_color)

    def _title(self) -> None:
        if self.is_attached:
            self.query_one("#title", Static).update(
                parts.title_text(self.path, self.head, self.branch, self.app.no_color)
            )

    def _summary(self, error: str | None, missing: bool) -> None:
        snap, no_color = self.snapshot, self.app.no_color
        text = Text(no_wrap=True, overflow="ellipsis")
        if missing:
            text.append(f"{visible(self.path)} does not exist yet: waiting for it", "dim")
        elif snap is not None:
            text.append_text(snap.summary(no_color))
        if error:
            text.append(
                ("  " if text.plain else "") + f"cannot read: {visible(error)}",
                tone(f"bold {BAD}", no_color),
            )
        self.query_one("#summary", Static).update(text)

    def _chart(self) -> None:
        """Draw the selected feature's chart, at most every CHART_EVERY seconds."""
        wait = self._chart_at + CHART_EVERY - time.monotonic()
        if wait > 0:
            if self._chart_timer is None:
                self._chart_timer = self.set_timer(wait, self._chart_now)
            return
        self._chart_now()

    def _chart_now(self) -> None:
        self._chart_timer = None
        self._chart_at = time.monotonic()
        chart = self.query_one(PlotChart)
        if self.snapshot is None or self.feature is None:
            chart.show_message("waiting for rows…")
            return
        chart.show(parts.feature_chart(self.snapshot, self.feature))

    def _status(self) -> None:
        view = self.query_one(TailView)
        no_color = self.app.no_color
        text = Text(no_wrap=True, overflow="ellipsis")
        if view.following:
            text.append("● following", tone(f"bold {GOOD}", no_color))
        else:
            text.append("‖ paused", "bold")
            text.append(f" · {self.unseen:,} new" if self.unseen else "")
        if self.only is not None:
            what = "errors and warnings" if not self.drift else visible(self.only)
            text.append(f" · only {what}")
        watching = live_of(self.app).observer or "not watching (MLVC_WATCH=off): R re-reads"
        text.append(f" · {watching}", style="dim")
        self.query_one("#status", Static).update(text)

    # -- keys ---------------------------------------------------------------------------------

    def action_back(self) -> None:
        """Called on escape: back to the previous screen."""
        self.dismiss()

    def action_pause(self) -> None:
        """Called on space: stop following (the view stays put) or catch up and follow."""
        view = self.query_one(TailView)
        if view.following:
            view.follow(False)
        else:
            self._refill(follow=True)

    def action_filter(self) -> None:
        """Called on f: only the selected feature's rows (a log: errors and warnings)."""
        if self.only is not None:
            self.only = None
        elif self.drift:
            self.only = self.feature
            if self.only is None:
                self.notify("No feature yet to filter to", severity="warning")
        else:
            self.only = "issues"
        self._refill(follow=self.query_one(TailView).following)

    def action_other(self) -> None:
        """Called on o: follow the next file (the drift log, then each log under logs/)."""
        files = self.files if self.path in self.files else [self.path, *self.files]
        following = files[(files.index(self.path) + 1) % len(files)]
        if following != self.path:
            self.app.switch_screen(TailScreen(following, self.branch))
        else:
            self.notify("No other file to follow: logs/*.log has none", severity="warning")

    def action_reread(self) -> None:
        """Called on R: read what was appended (without a watcher, nothing else does)."""
        if self._lane is not None:
            self._lane.kick()

    def _refill(self, follow: bool) -> None:
        view = self.query_one(TailView)
        view.replace(r for r in self.recent if self._shown(r))
        self.unseen = 0
        view.following = not follow  # follow() acts on a change only
        view.follow(follow)
        self._status()

    @on(TailView.FollowChanged)
    def _follow_changed(self) -> None:
        """Called when following stops or starts: say so."""
        self._status()

    @on(FeatureList.Highlighted, "#features")
    def _feature_picked(self, event: FeatureList.Highlighted) -> None:
        """Called when the cursor moves in the feature list: chart that feature."""
        if event.key != self.feature:
            self.feature = event.key
            self._chart_now()
