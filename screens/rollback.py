"""The rollback dialog: what rolling an environment back restores, and the metrics it
brings back; enter rolls back (a new commit, history kept), esc cancels.

``RollbackScreen(target=None, to=None)``: target prod, to the version before the current.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from mlvc_tui.engine import MlvcError, RollbackPlan, VersionEntry, as_datetime, paths_summary
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, GOOD
from mlvc_tui.widgets.clipped import Clipped
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import MetricTable, tone

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["RollbackScreen", "stamp"]


def stamp(entry: VersionEntry, time_of_day: bool = True) -> str:
    """When it happened, in the zone of the commit that records it."""
    when = as_datetime(entry.time, entry.commit.tz_offset)
    return when.strftime("%Y-%m-%d %H:%M" if time_of_day else "%Y-%m-%d")


class RollbackScreen(ModalScreen[bool]):
    """Roll an environment back to an earlier version; dismisses True when done."""

    CSS_PATH = "rollback.tcss"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (20, "-tall")]  # noqa: RUF012 (Textual declares it per instance)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Roll back", priority=True),
        Binding("escape", "close", "Cancel"),
        Binding("escape", "close_done", "Close"),
    ]

    @dataclass
    class Planned(Message):
        plan: RollbackPlan | None
        error: str | None = None

    @dataclass
    class Done(Message):
        commit: str | None
        error: str | None = None

    app: MlvcApp

    def __init__(self, target: str | None = None, to: str | None = None) -> None:
        super().__init__()
        self.target, self.to = target, to
        self.plan: RollbackPlan | None = None
        self.state = "planning"  # planning, ready, writing, done, error

    def compose(self) -> ComposeResult:
        """Called to build the dialog."""
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield Clipped(lines=5, id="what")
            yield MetricTable(id="metrics")
            yield Static(id="state")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the dialog opens: plan the rollback."""
        self.query_one("#title", Static).update(
            Text.assemble(
                ("Roll back ", "bold"), (visible(self.target or self.app.prod or "prod"), "bold")
            )
        )
        self.query_one(MetricTable).display = False
        self._say("Reading the versions…", "dim")
        self._plan()

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#state", Static).update(Text(visible(text), style=style))

    @work(thread=True, exclusive=True, group="rollback", exit_on_error=False)
    def _plan(self) -> None:
        from mlvc_tui.engine import plan_rollback

        try:
            plan = self.app.session.run(lambda reg: plan_rollback(reg, self.to, self.target))
            self.post_message(self.Planned(plan))
        except MlvcError as exc:
            self.post_message(self.Planned(None, str(exc)))

    @work(thread=True, exclusive=True, group="rollback", exit_on_error=False)
    def _apply(self, plan: RollbackPlan) -> None:
        from mlvc_tui.engine import apply_rollback

        try:
            done = self.app.session.run(
                lambda reg: apply_rollback(reg, plan, now=self.app.fixed_now)
            )
            self.post_message(self.Done(done.commit))
        except MlvcError as exc:
            self.post_message(self.Done(None, str(exc)))

    @on(Planned)
    def _planned(self, message: Planned) -> None:
        """Called with the plan: what it restores, the metrics before and after."""
        bad = tone(f"bold {BAD}", self.app.no_color)
        if message.plan is None:
            self.state = "error"
            self._say(f"{message.error} · esc closes", bad)
            self.refresh_bindings()
            return
        plan = self.plan = message.plan
        now = plan.current.version if plan.current else "no version"
        to = plan.to.tag or f"v{plan.to.version}"
        self.query_one("#what", Clipped).show(
            Text.assemble(
                f"from {now} to ",
                (visible(to), "bold"),
                f" ({plan.to.commit.short_id}, {stamp(plan.to)})\nrestores ",
                visible(paths_summary(plan.changed, 3)),
                "\ncode, logs and monitoring stay; history is kept: a new commit",
            )
        )
        rows = tuple(r for r in plan.diff.rows if r.key == plan.primary) + plan.diff.changed
        self.query_one(MetricTable).display = True
        self.query_one(MetricTable).show_rows(
            plan.target, "after", tuple(dict.fromkeys(rows)), width=max(self.size.width - 6, 40)
        )
        if plan.check is not None and not plan.check.passed:
            self.state = "error"
            self._say(f"Refused by gate check: {plan.check.reason} · esc closes", bad)
        elif plan.warning:
            self.state = "ready"
            self._say(
                f"! Crosses a MAJOR version ({now} → {plan.to.version}: data schema or target "
                "changed). enter rolls back anyway; esc cancels.",
                bad,
            )
        else:
            self.state = "ready"
            self._say(
                f"enter rolls {plan.target} back to {to}; esc cancels.",
                tone(f"bold {GOOD}", self.app.no_color),
            )
        self.refresh_bindings()

    @on(Done)
    def _done(self, message: Done) -> None:
        """Called after the rollback (or its refusal): say so; the screens behind re-read."""
        if message.commit is None:
            self.state = "error"
            self._say(f"{message.error} · esc closes", tone(f"bold {BAD}", self.app.no_color))
        else:
            self.state = "done"
            self._say(
                f"Rolled back: commit {message.commit[:8]}. esc closes.",
                tone(f"bold {GOOD}", self.app.no_color),
            )
            self.app.refreshes += 1  # every screen behind reads again when it resumes
            self.app.refresh_registry()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Called to decide which keys work: enter only when there is a rollback to do."""
        finished = self.state in ("done", "error")
        if action == "confirm":
            return self.state == "ready"
        return finished if action == "close_done" else not finished if action == "close" else True

    def action_close_done(self) -> None:
        """Called on esc once the dialog is finished: close it."""
        self.action_close()

    def action_confirm(self) -> None:
        """Called on enter: roll back."""
        if self.state != "ready" or self.plan is None:
            return
        self.state = "writing"
        self._say("Rolling back…", "bold")
        self.refresh_bindings()
        self._apply(self.plan)

    def action_close(self) -> None:
        """Called on esc: close the dialog."""
        if self.state == "writing":
            self.notify("The rollback is being written: wait a moment", severity="warning")
            return
        self.dismiss(self.state == "done")
