"""Versions: every promotion, rollback and version tag of prod, newest first, with the GTO
stages each version holds (a "stage" column, when GTO's tags name any).

``VersionsScreen(target)``: ``r`` rolls back to the version under the cursor (through
:class:`RollbackScreen`, re-exported here), ``R`` re-reads, ``esc`` goes back.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static

from mlvc_tui import present
from mlvc_tui.engine import BadInput, Registry, VersionEntry
from mlvc_tui.safetext import visible
from mlvc_tui.widgets.cells import BAD
from mlvc_tui.widgets.fit_footer import FitFooter
from mlvc_tui.widgets.metric_table import tone
from mlvc_tui.widgets.widths import add_sized_columns, size_now

from .reloading import ReadingScreen
from .rollback import RollbackScreen, stamp

__all__ = ["RollbackScreen", "VersionsScreen"]

Versions = tuple[str, tuple[VersionEntry, ...]]  # the target and its versions, newest first
NARROW = 100  # below this width: no commit column, dates without the time


def label(entry: VersionEntry) -> str:
    """The version a row is about: its tag, or for a rollback the version it restored."""
    name = entry.source if entry.kind == "rollback" else entry.tag
    return name or (f"v{entry.version}" if entry.version else "—")


class VersionsScreen(ReadingScreen[Versions]):
    """Every promotion, rollback and version tag on prod, newest first."""

    CSS_PATH = "versions.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("r", "rollback", "Roll back to it"),
        Binding("R", "reload", "Refresh", key_display="R"),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def __init__(self, target: str | None = None) -> None:
        super().__init__()
        self.target = target
        self.entries: tuple[VersionEntry, ...] = ()
        self.primary = "metric"  # the primary metric's name, the value column's header
        self._laid_out_for = 0  # the screen width the columns were chosen for

    def compose(self) -> ComposeResult:
        """Called to build the screen."""
        yield Static(id="title")
        yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
        yield Static(id="message")
        yield FitFooter()

    def on_mount(self) -> None:
        """Called when the screen opens: read the versions."""
        self.reload()

    def read(self, reg: Registry) -> Versions:
        """On the worker's thread: the target and its versions, newest first."""
        from mlvc_tui.engine import version_history

        target = self.target or reg.prod
        if target is None:
            raise BadInput("no prod branch (looked for prod, main, master)")
        return target, version_history(reg, target)

    def reading(self, refresh: bool) -> None:
        """Called as a read starts: say so."""
        self.query_one("#message", Static).update(Text("reading versions…", style="dim"))

    def failed(self, error: str) -> None:
        """Called when the versions could not be read: say why."""
        self.query_one("#message", Static).update(
            Text(visible(error), style=tone(f"bold {BAD}", self.app.no_color))
        )

    def loaded(self, value: Versions) -> None:
        """Called with the version list: fill the table."""
        self.target, self.entries = value
        primary = self.primary = next((e.primary for e in self.entries if e.primary), "metric")
        self.query_one("#title", Static).update(
            Text.assemble(
                ("Versions of ", "bold"),
                (visible(self.target or ""), "bold"),
                f"  {len(self.entries)} promotions, rollbacks and version tags, newest first",
                no_wrap=True,
                overflow="ellipsis",
            )
        )
        self._fill(primary)
        empty = not self.entries
        self.query_one("#message", Static).update(
            Text("no promotions yet: p on a grid row promotes a branch", style="dim")
            if empty
            else ""
        )
        self.query_one("#message").display = empty

    def on_resize(self) -> None:
        """Called when the terminal is resized: choose the columns for the new width."""
        if self.entries and self.size.width != self._laid_out_for:
            self._fill(self.primary)

    def _fill(self, primary: str) -> None:
        width = self._laid_out_for = self.size.width
        wide = width >= NARROW
        table = self.query_one(DataTable)
        current = table.cursor_row
        table.clear(columns=True)
        staged = any(e.stages for e in self.entries)  # GTO's tags name a stage: say which
        heads = ["version", "stage", "what", "from", "commit", "date", "who", "value", "Δ"]
        shown = [h for h in heads if (h != "commit" or wide) and (h != "stage" or staged)]
        rows = [self._cells(entry, staged, wide) for entry in self.entries]
        labels = [Text(visible(primary if head == "value" else head)) for head in shown]
        picked = [[cells[h] for h in shown] for cells in rows]
        # Too narrow for all: leave out who, where from, what and the date, in that order.
        drop = [shown.index(h) for h in ("who", "from", "what", "date") if h in shown]
        room = width - 2  # the table's scrollbar
        kept = add_sized_columns(table, labels, picked, shown, room=room, drop=drop)
        for row in picked:
            table.add_row(*(row[i] for i in kept))
        size_now(table)
        if 0 < current < table.row_count:
            table.move_cursor(row=current, animate=False)

    @staticmethod
    def _cells(entry: VersionEntry, staged: bool, wide: bool) -> dict[str, Text]:
        """One version's cells by column."""
        source = entry.source or (entry.source_commit or "—")[:8]
        if entry.kind == "rollback" and entry.record and entry.record.previous:
            source = f"v{entry.record.previous}"
        missing = entry.tag is not None and not entry.tagged
        who = visible(entry.user.split(" <", 1)[0])
        name = label(entry)
        if staged and not wide:  # room for the stage: "v1.1.0", the model is the title's
            name = name.rsplit("@", 1)[-1]
        return {
            "version": Text(
                visible(name) + (" (tag missing)" if missing else ""),
                style="bold" if entry.kind == "promotion" else "",
            ),
            "stage": Text(visible(", ".join(entry.stages)), style="bold"),
            "what": Text(present.KIND_WORDS[entry.kind]),
            "from": Text(visible(source)[:16]),
            "commit": Text(entry.commit.short_id),
            "date": Text(stamp(entry, wide)),
            "who": Text(who if wide else who[:14]),
            "value": Text(present.number(entry.value), justify="right"),
            "Δ": Text(present.delta(entry.delta), justify="right"),
        }

    def action_rollback(self) -> None:
        """Called on r: roll back to the version under the cursor (asks first)."""
        table = self.query_one(DataTable)
        if not self.entries or table.cursor_row >= len(self.entries):
            return
        entry = self.entries[table.cursor_row]
        if not entry.version:
            self.notify("This row has no version to roll back to", severity="warning")
            return
        self.app.push_screen(RollbackScreen(self.target, entry.version))

    def action_reload(self) -> None:
        """Called on R: read the versions again."""
        self.reload(refresh=True)

    def action_cursor_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def action_back(self) -> None:
        """Called on esc: back to the grid."""
        self.dismiss()
