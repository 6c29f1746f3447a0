"""The promotion dialog: every gate with its state, the check's output live, the metric diff
against the target, the version the promotion will give; enter promotes, esc cancels.

``PromoteScreen(branch, target=None)`` (target: prod). The plan is made in a worker without
the check, shown at once, then the check runs (in its own registry handle, so the app's
registry stays free) while its output scrolls by. Nothing changes until enter, which is
only offered when every gate passed. After a promotion the screens behind read again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from mlvc_tui.engine import (
    CHECK_PENDING,
    MlvcError,
    PromotionDone,
    PromotionPlan,
    Registry,
    paths_summary,
)
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD, CHANGED, GOOD
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import MetricTable, tone

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["PromoteScreen", "gates_table"]

CHECK_TAIL = 4  # lines of the check's output on screen


def gates_table(plan: PromotionPlan, no_color: bool = False, asking: bool = False) -> Table:
    """One row per gate: a mark, its name and its reason (repository text shown literally).

    ``asking``: the check waits for the user's key (the candidate changes its code)."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, min_width=6)
    table.add_column(no_wrap=True, style="bold", min_width=9)
    table.add_column(overflow="fold", ratio=1)  # wrapped, never cut: the reason is the point
    for gate in plan.gates:
        if gate.reason == CHECK_PENDING:
            mark = Text("… ", style="bold")
            reason = Text(
                "waiting: the candidate changes the code it runs (r runs it sandboxed)"
                if asking
                else "running: its output is below",
                style="dim",
            )
        else:
            mark = Text(
                "✓ pass" if gate.passed else "✗ FAIL",
                style=tone(f"bold {GOOD if gate.passed else BAD}", no_color),
            )
            reason = Text(visible(gate.reason))
        table.add_row(mark, gate.name, reason)
    return table


def version_line(plan: PromotionPlan) -> Text:
    """Which version the promotion gives, and why."""
    if not plan.version:
        return Text(
            f"{plan.target} is not versioned: the merge commit records the promotion", style="dim"
        )
    after = f"after {plan.previous}" if plan.previous else "first version"
    return Text.assemble(
        ("as ", ""),
        (visible(plan.tag or ""), "bold"),
        f"  {plan.bump} ({after}): ",
        visible(plan.bump_reason),
    )


def paths_line(plan: PromotionPlan) -> Text:
    """Which paths the promotion replaces on the target, and which it keeps as they are."""
    text = Text.assemble("replaces ", visible(paths_summary(plan.replaced, 3)))
    if plan.kept:
        text.append(f"; keeps {visible(plan.target)}'s own ", style="dim")
        text.append(visible(paths_summary(plan.kept, 2)), style="dim")
    return text


class PromoteScreen(ModalScreen[bool]):
    """Promote a branch into an environment, through its gates; dismisses True when done."""

    CSS_PATH = "promote.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Promote", priority=True),
        Binding("enter", "read_on", "Read on", priority=True),  # while part is out of view
        Binding("r", "run_check", "Run check"),
        Binding("escape", "close", "Cancel"),
        Binding("escape", "close_done", "Close"),
        Binding("j,down", "scroll(1)", "Scroll down", show=False),
        Binding("k,up", "scroll(-1)", "Scroll up", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
        Binding("end", "scroll(1000)", "To the end", show=False),
    ]

    @dataclass
    class Planned(Message):
        """A plan, with or without the check's result yet."""

        plan: PromotionPlan

    @dataclass
    class CheckLine(Message):
        """One line the check command printed."""

        line: str

    @dataclass
    class Failed(Message):
        """The engine refused (or could not) plan or promote."""

        error: str

    @dataclass
    class Promoted(Message):
        """The promotion happened."""

        done: PromotionDone

    app: MlvcApp

    def __init__(self, branch: str, target: str | None = None) -> None:
        super().__init__()
        self.branch, self.target = branch, target
        self.plan: PromotionPlan | None = None
        self.pushes_to: str | None = None  # the remote the promotion will be pushed to
        self.state = "planning"  # planning, checking, ready, refused, writing, done, error
        self.cancel = threading.Event()  # set on esc: stops a running check
        self.check_lines: list[str] = []  # everything the check printed

    def _ready_after_refresh(self) -> None:
        self.call_after_refresh(self._say_ready)

    def _post_check_line(self, line: str) -> None:
        """On the check's thread: one line it printed."""
        self.post_message(self.CheckLine(line))

    def compose(self) -> ComposeResult:
        """Called to build the dialog."""
        with Vertical(id="dialog"):
            yield Static(id="title")
            with VerticalScroll(id="body"):  # all of it reachable, however small the terminal
                yield Static(id="version")
                yield Static(id="paths")
                yield Static(id="gates")
                yield Static(id="check-log")
                yield MetricTable(id="metrics")
            yield Static(id="state")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the dialog opens: plan the promotion."""
        into = self.target or self.app.prod or "prod"
        self.query_one("#title", Static).update(
            Text.assemble(
                ("Promote ", "bold"), (visible(self.branch), "bold"), " → ", (visible(into), "bold")
            )
        )
        self.query_one("#check-log").display = False
        self.query_one("#metrics").display = False
        self.query_one(MetricTable).can_focus = False  # the keys scroll the dialog
        body = self.query_one("#body", VerticalScroll)
        body.focus()
        for what in ("scroll_y", "virtual_size"):  # wheel, keys, check output
            self.watch(body, what, self._ready_after_refresh, init=False)
        self._say("Merging in memory and running the gates…", "dim")
        self._plan()

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#state", Static).update(Text(visible(text), style=style))

    # -- workers ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="promote", exit_on_error=False)
    def _plan(self) -> None:
        from mlvc_tui.engine import plan_promotion, pushes_by_default

        try:
            plan = self.app.session.run(
                lambda reg: plan_promotion(reg, self.branch, self.target, run_check=False)
            )
            self.pushes_to = self.app.session.run(
                lambda reg: reg.remote if pushes_by_default(reg) else None
            )
            self.post_message(self.Planned(plan))
            if plan.check is not None and not self._asks(plan):
                self._check_now(plan, run_changed=False)
        except MlvcError as exc:
            self.post_message(self.Failed(str(exc)))
        except Exception as exc:  # an engine bug: say so in place, never crash
            self.post_message(self.Failed(f"Could not plan the promotion: {exc!r}"))

    @staticmethod
    def _asks(plan: PromotionPlan) -> bool:
        """Whether the check waits for the r key: it would run code the candidate changed
        (without a sandbox it does not run at all, and the engine says why)."""
        from mlvc_tui.engine import bwrap

        return bool(plan.check is not None and plan.check_changes and bwrap() is not None)

    def _check_now(self, plan: PromotionPlan, run_changed: bool) -> None:
        """Run the check (in a worker thread) and post the completed plan."""
        from mlvc_tui.engine import run_plan_check

        with Registry.open(self.app.session.path) as reg:
            plan = run_plan_check(
                reg,
                plan,
                self._post_check_line,
                self.cancel,
                run_changed=run_changed,
            )
        if not self.cancel.is_set():
            self.post_message(self.Planned(plan))

    @work(thread=True, exclusive=True, group="promote", exit_on_error=False)
    def _run_changed_check(self, plan: PromotionPlan) -> None:
        try:
            self._check_now(plan, run_changed=True)
        except MlvcError as exc:
            self.post_message(self.Failed(str(exc)))
        except Exception as exc:  # an engine bug: say so in place, never crash
            self.post_message(self.Failed(f"Could not run the check: {exc!r}"))

    @work(thread=True, exclusive=True, group="promote", exit_on_error=False)
    def _promote(self, plan: PromotionPlan) -> None:
        from mlvc_tui.engine import apply_promotion, pushes_by_default, remote_promote

        def promote(reg: Registry) -> PromotionDone:
            if pushes_by_default(reg):  # one atomic push to the server, re-planned on a race
                done = remote_promote(reg, plan.branch, now=self.app.fixed_now).done
                assert done is not None
                return done
            return apply_promotion(reg, plan, now=self.app.fixed_now)

        try:
            done = self.app.session.run(promote)
        except MlvcError as exc:
            self.post_message(self.Failed(str(exc)))
            return
        except Exception as exc:
            self.post_message(self.Failed(f"The promotion failed: {exc!r}"))
            return
        self.post_message(self.Promoted(done))

    # -- results ---------------------------------------------------------------------------

    @on(Planned)
    def _show_plan(self, message: Planned) -> None:
        """Called with a plan: show gates, version and metrics; say what enter would do."""
        plan = self.plan = message.plan
        self.query_one("#title", Static).update(
            Text.assemble(
                ("Promote ", "bold"),
                (visible(plan.branch), "bold"),
                f" ({plan.candidate.short_id}) → ",
                (visible(plan.target), "bold"),
            )
        )
        self.query_one("#version", Static).update(version_line(plan))
        self.query_one("#paths", Static).update(paths_line(plan))
        asking = self._asks(plan) and self.state != "checking"
        self.query_one("#gates", Static).update(gates_table(plan, self.app.no_color, asking))
        table = self.query_one(MetricTable)
        rows = tuple(r for r in plan.diff.rows if r.key == plan.primary) + plan.diff.changed
        table.show_rows(
            plan.target, "after", tuple(dict.fromkeys(rows)), width=max(self.size.width - 6, 40)
        )
        table.display = bool(rows)
        if asking:
            self.state = "asking"
            more = len(plan.check_changes) - 1
            what = plan.check_changes[0] + (f" and {more} more" if more > 0 else "")
            self._say(
                f"{plan.branch} changes {what}, which the check executes. r runs it in a "
                "sandbox (no network, writes only to its temporary copy); esc cancels.",
                tone(f"bold {CHANGED}", self.app.no_color),
            )
        elif plan.check is not None:
            self.state = "checking"
            self.query_one("#check-log").display = True
            self._say("Running the check…", "dim")
        elif plan.ok:
            self.state = "ready"
            self.call_after_refresh(self._say_ready)
        else:
            self.state = "refused"
            names = [g.name for g in plan.failed]
            self._say(
                f"Refused by gate{'s' if len(names) > 1 else ''} {', '.join(names)}: "
                "nothing will change. esc closes.",
                tone(f"bold {BAD}", self.app.no_color),
            )
        self.refresh_bindings()

    def _unseen(self) -> int:
        """Lines of the dialog below the visible part (0: all of it was in view)."""
        body = self.query_one("#body", VerticalScroll)
        return max(0, round(body.max_scroll_y - body.scroll_y))

    def _say_ready(self, recheck: bool = True) -> None:
        """The confirm line: what enter does now (read on while some is out of view)."""
        if self.state != "ready" or self.plan is None:
            return
        plan = self.plan
        unseen = self._unseen()
        # The confirm line's own height moves the body's bottom edge: count again once it is
        # laid out, and say it again if the count changed (once: a line that wraps differently
        # at 0 and 1 must not flip for ever; enter checks what is in view anyway).
        if recheck:
            self.call_after_refresh(self._say_again_if, unseen)
        if unseen:
            self._say(
                f"Every gate passes; {unseen} more line{'s' if unseen > 1 else ''} below: "
                "enter reads on, then promotes. esc cancels.",
                "bold",
            )
        else:
            what = f"as {plan.tag}" if plan.tag else "with a merge commit"
            where = f" on {self.pushes_to} (one atomic push)" if self.pushes_to else ""
            self._say(
                f"Every gate passes. enter promotes {plan.branch} into {plan.target}{where} "
                f"{what}; esc cancels.",
                tone(f"bold {GOOD}", self.app.no_color),
            )
        self.refresh_bindings()

    def _say_again_if(self, said: int) -> None:
        if self.state == "ready" and self._unseen() != said:
            self._say_ready(recheck=False)

    def on_resize(self) -> None:
        """Called when the terminal changes size: what is out of view may have changed."""
        self.call_after_refresh(self._say_ready)

    @on(CheckLine)
    def _check_line(self, message: CheckLine) -> None:
        """Called for each line the check prints: show the last lines."""
        self.check_lines.append(message.line)
        tail = self.check_lines[-CHECK_TAIL:]
        self.query_one("#check-log", Static).update(Text(visible("\n".join(tail), one_line=False)))

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        """Called when planning or promoting was refused: say why, in place."""
        self.state = "error"
        self._say(message.error + " · esc closes", tone(f"bold {BAD}", self.app.no_color))
        self.refresh_bindings()

    @on(Promoted)
    def _promoted(self, message: Promoted) -> None:
        """Called after a promotion: say what was written; the screens behind read again."""
        self.state = "done"
        done = message.done
        tag = f", tag {done.tag}" if done.tag else ""
        self._say(
            f"Promoted {done.record.source} into {done.record.target}: commit "
            f"{done.commit[:8]}{tag}. esc closes.",
            tone(f"bold {GOOD}", self.app.no_color),
        )
        self.refresh_bindings()
        self.app.refreshes += 1  # every screen behind reads again when it resumes
        self.app.refresh_registry()

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Called to decide which keys work: enter only when every gate passed."""
        if action == "confirm":  # never what is not in view: read on first
            return self.state == "ready" and not self._unseen()
        if action == "read_on":
            return self.state == "ready" and bool(self._unseen())
        if action == "run_check":
            return self.state == "asking"
        finished = self.state in ("done", "refused", "error")
        if action == "close":
            return not finished
        if action == "close_done":
            return finished
        return True

    def action_confirm(self) -> None:
        """Called on enter: promote, when every gate passed."""
        if self.state != "ready" or self.plan is None or self._unseen():
            return
        self.state = "writing"
        self._say("Promoting…", "bold")
        self.refresh_bindings()
        self._promote(self.plan)

    def action_read_on(self) -> None:
        """Called on enter while part of the dialog is out of view: show the next page."""
        body = self.query_one("#body", VerticalScroll)
        body.scroll_page_down(animate=False)
        self.call_after_refresh(self._say_ready)

    def action_scroll(self, lines: int) -> None:
        """Called on j/k: scroll the dialog."""
        self.query_one("#body", VerticalScroll).scroll_relative(y=lines, animate=False)
        self.call_after_refresh(self._say_ready)

    def action_run_check(self) -> None:
        """Called on r: run the check on the candidate's changed code, sandboxed."""
        if self.state != "asking" or self.plan is None:
            return
        self.state = "checking"
        self.query_one("#check-log").display = True
        self.query_one("#gates", Static).update(gates_table(self.plan, self.app.no_color))
        self._say("Running the check in a sandbox…", "dim")
        self.refresh_bindings()
        self._run_changed_check(self.plan)

    def action_close_done(self) -> None:
        """Called on esc once nothing is left to do: close the dialog."""
        self.action_close()

    def action_close(self) -> None:
        """Called on esc: close the dialog (a running check is stopped with it)."""
        if self.state == "writing":
            self.notify("The promotion is being written: wait a moment", severity="warning")
            return
        self.cancel.set()
        self.dismiss(self.state == "done")
