"""Every key of every screen, read from the screens' own BINDINGS so it never goes stale."""

from __future__ import annotations

import importlib
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from mlvc_tui.widgets.fit_footer import FitFooter

__all__ = ["HelpScreen", "key_table"]

# (section title, module under mlvc_tui.screens or "app", class name)
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("Everywhere", "app", "MlvcApp"),
    ("Grid (home)", "grid", "GridScreen"),
    ("Branch detail", "branch", "BranchScreen"),
    ("Metric diff", "diff", "DiffScreen"),
    ("Lineage", "lineage", "LineageScreen"),
    ("Drift", "drift", "DriftScreen"),
    ("Live tail", "tail", "TailScreen"),
    ("A/B", "ab", "ABScreen"),
    ("Versions of prod (v)", "versions", "VersionsScreen"),
    ("Promotion dialog (p)", "promote", "PromoteScreen"),
    ("Rollback dialog (r on prod)", "rollback", "RollbackScreen"),
    ("Pick the other side (o in a diff)", "pick_ref", "RefPicker"),
    ("Help", "help", "HelpScreen"),
)
_SKIP_BASES = (App, Screen)  # their tab / ctrl+c plumbing is not mlvc's to explain


def _own_bindings(node_type: type[DOMNode]) -> list[Binding]:
    """The bindings a class and its bases declare, nearest first (Textual's bases skipped)."""
    out: list[Binding] = []
    for cls in node_type.__mro__:
        if cls in _SKIP_BASES or not issubclass(cls, DOMNode):
            continue
        out.extend(Binding.make_bindings(cls.__dict__.get("BINDINGS", [])))
    if issubclass(node_type, App):
        out.extend(b for b in Binding.make_bindings(App.BINDINGS) if b.action == "quit")
    return out


def key_table(app: App[object], sources: list[type[DOMNode]]) -> list[tuple[str, str]]:
    """(keys, what they do) for the given classes, one row per action, in declared order.

    A key bound nearer (the screen before its widgets, a class before its bases) wins, as
    it does when the key is pressed.
    """
    rows: dict[str, tuple[str, list[str]]] = {}
    taken: set[str] = set()
    for source in sources:
        for binding in _own_bindings(source):
            if binding.key in taken:
                continue
            taken.add(binding.key)
            if not binding.description:
                continue
            # The footer shows the short description; help the longer tooltip where one is set.
            what = binding.tooltip or binding.description
            _, keys = rows.setdefault(binding.action, (what, []))
            shown = app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
    return [(", ".join(keys), what) for what, keys in rows.values()]


def _sources(module: str, name: str) -> list[type[DOMNode]] | None:
    path = "mlvc_tui.app" if module == "app" else f"mlvc_tui.screens.{module}"
    try:
        screen = getattr(importlib.import_module(path), name)
    except (ImportError, AttributeError):
        return None
    return [screen, *getattr(screen, "HELP_SOURCES", ())]


class HelpScreen(Screen[None]):
    """Keys by screen; esc goes back."""

    CSS_PATH = "help.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide"), (180, "-widest")]  # noqa: RUF012 (Textual declares it per instance)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("question_mark", "app.pop_screen", "Back", key_display="?", show=False),
        Binding("j", "scroll_down", "Scroll down", show=False),
        Binding("k", "scroll_up", "Scroll up", show=False),
    ]

    def compose(self) -> ComposeResult:
        """Called to build the screen: one block of keys per screen."""
        self.sections: dict[str, list[tuple[str, str]] | None] = {}
        for title, module, name in SECTIONS:
            sources = _sources(module, name)
            self.sections[title] = None if sources is None else key_table(self.app, sources)
        with VerticalScroll(id="sections"):
            for title, rows in self.sections.items():
                yield Static(self._block(title, rows), classes="section")
            yield Static(
                Text("ctrl+p opens the command palette: every action by name.", style="dim"),
                classes="section",
            )
        yield FitFooter()

    def _block(self, title: str, rows: list[tuple[str, str]] | None) -> Table:
        table = Table(
            title=title,
            title_justify="left",
            title_style="bold",
            box=None,
            show_header=False,
            padding=(0, 1),
            expand=True,
        )
        table.add_column("keys", style="bold cyan", no_wrap=True, width=14)
        table.add_column("action", ratio=1)
        if rows is None:
            table.add_row("", Text("(not installed)", style="dim"))
        for keys, what in rows or []:
            table.add_row(Text(keys), Text(what))
        return table

    def action_scroll_down(self) -> None:
        """Called on j: scroll down."""
        self.query_one("#sections", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        """Called on k: scroll up."""
        self.query_one("#sections", VerticalScroll).scroll_up()
