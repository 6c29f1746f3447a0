"""A small picker of sides for the diff: the working tree, branches, tags, filtered as you
type; what is typed can also be used as it is (a commit id, ``prod~2``), once it resolves."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from mlvc_tui.engine import WORKTREE, MlvcError, Registry
from mlvc_tui.safetext import visible

from .reloading import ReadingModal

__all__ = ["RefPicker"]

Refs = list[tuple[str, str, str]]  # (ref to return, kind, short commit id)


def _refs(reg: Registry) -> Refs:
    branches = reg.branches()
    names = {b.name for b in branches}
    out: Refs = [] if reg.bare else [(WORKTREE, "working tree", "uncommitted files")]
    out.extend((b.name, "branch", b.commit.short_id) for b in branches)
    for tag, sha in sorted(reg.tags().items()):
        out.append((f"refs/tags/{tag}" if tag in names else tag, "tag", sha[:8]))
    return out


_HINT = "enter picks · a commit id or prod~2 can be typed · esc cancels"


class RefPicker(ReadingModal[Refs, str | None]):
    """Pick a branch or tag; dismisses with its name, or None on escape."""

    CSS_PATH = "pick_ref.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(self, title: str, current: str | None = None) -> None:
        super().__init__()
        self._title = title
        self._current = current
        self._refs: Refs = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static(Text(visible(self._title)), id="picker-title")
            yield Input(placeholder="type to filter", id="picker-filter")
            yield OptionList(id="picker-options")
            yield Static(Text(_HINT, style="dim"), id="picker-hint")

    def on_mount(self) -> None:
        """Called when the picker opens: list the refs."""
        self.reload()

    def read(self, reg: Registry) -> Refs:
        """On the worker's thread: the working tree, branches and tags to pick from."""
        return _refs(reg)

    def reading(self, refresh: bool) -> None:
        """Called as the refs are read: the list shows it is loading."""
        self.query_one(OptionList).loading = True

    def failed(self, error: str) -> None:
        """Called when the refs could not be read: say why in the list."""
        options = self.query_one(OptionList)
        options.loading = False
        options.add_option(Option(Text(visible(error), style="red"), disabled=True))

    def loaded(self, value: Refs) -> None:
        """Called with the refs: list them."""
        self._refs = value
        self.query_one(OptionList).loading = False
        self._fill("")

    def _fill(self, needle: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        needle = needle.lower()
        highlight = 0
        shown = [r for r in self._refs if needle in r[0].lower() or needle in r[1]]
        for i, (ref, kind, short) in enumerate(shown):
            glyph = {"branch": "⎇ ", "tag": "◆ "}.get(kind, "✎ ")
            prompt = Text.assemble((glyph, "dim"))
            label = "working tree" if ref == WORKTREE else ref
            prompt.append(visible(label), style="bold" if ref == self._current else "")
            prompt.append(f"  {kind} {short}" if ref != WORKTREE else f"  {short}", style="dim")
            if ref == self._current:
                prompt.append("  (current)", style="dim")
                highlight = i
            options.add_option(Option(prompt, id=f"{kind}:{ref}"))
        typed = self.query_one("#picker-filter", Input).value.strip()
        if typed and not any(ref == typed for ref, _, _ in shown):
            prompt = Text.assemble(("# ", "dim"), (visible(typed), "bold"))
            prompt.append("  as typed: a commit id, tag or ref", style="dim")
            options.add_option(Option(prompt, id=f"typed:{typed}"))
        if options.option_count:
            options.highlighted = highlight if not needle else 0

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        """Called when the filter changes: show the refs that contain it."""
        self._fill(event.value)

    @on(Input.Submitted)
    def _submit(self) -> None:
        """Called on enter in the filter: pick the highlighted ref."""
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self._pick(options.get_option_at_index(options.highlighted))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        """Called when a ref is chosen with the mouse or enter in the list."""
        self._pick(event.option)

    def _pick(self, option: Option) -> None:
        if option.id is None or option.disabled:
            return
        kind, ref = option.id.split(":", 1)
        if kind == "typed":  # only what resolves: a typo is said here, not as an empty diff
            self._check(ref)
        else:
            self.dismiss(ref)

    @work(thread=True, exclusive=True, group="pick-ref-typed", exit_on_error=False)
    def _check(self, ref: str) -> None:
        try:
            self.app.session.run(lambda reg: reg.resolve(ref))
        except MlvcError as exc:
            self.app.call_from_thread(self._unknown, str(exc))
            return
        self.app.call_from_thread(self.dismiss, ref)

    def _unknown(self, message: str) -> None:
        hint = Text.assemble(("! ", "bold red"), visible(message))
        self.query_one("#picker-hint", Static).update(hint)

    def action_move(self, step: int) -> None:
        """Move the highlight while typing in the filter."""
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted if options.highlighted is not None else -1
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        """Called on escape: keep the current side."""
        self.dismiss(None)
