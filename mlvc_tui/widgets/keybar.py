"""A one-line footer that shows keys by importance and drops the least important to fit.

Textual's Footer shows a screen's keys in declared order and, when they overflow, leaves a
scrolled stub (`▏^p Commandsl` at 80 columns). The grid needs the reverse: the keys that
matter for the row under the cursor first (promote, versions, A/B...), whole hints only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

__all__ = ["KeyBar", "KeyHint", "fit_hints"]

_GAP = "  "


@dataclass(frozen=True)
class KeyHint:
    """One key in the bar: what to press, what it does, the screen action a click runs;
    ``width``: the cells it takes at least (hints that take turns in one place keep the
    ones after them from moving)."""

    key: str
    label: str
    action: str  # a screen action, or one with its namespace: ``app.quit``
    width: int = 0


def fit_hints(hints: Sequence[KeyHint], width: int, pinned: KeyHint | None = None) -> Text:
    """The hints (most important first) that fit ``width`` cells, whole; ``pinned`` (help)
    always shows, at the right end."""
    out = Text(no_wrap=True, overflow="crop", end="")
    tail = Text(no_wrap=True, end="")
    if pinned is not None:
        _append(tail, pinned)
    room = width - 1 - tail.cell_len - (len(_GAP) if pinned else 0)  # one cell of margin
    for hint in hints:
        piece = Text(end="")
        _append(piece, hint)
        need = piece.cell_len + (len(_GAP) if out.cell_len else 0)
        if out.cell_len + need > room:
            break  # drop this one and every less important one after it
        if out.cell_len:
            out.append(_GAP)
        out.append_text(piece)
    if pinned is not None:
        pad = max(len(_GAP) if out.cell_len else 0, width - 1 - out.cell_len - tail.cell_len)
        out.append(" " * pad).append_text(tail)
    return out


def _append(text: Text, hint: KeyHint) -> None:
    action = hint.action if "." in hint.action else f"screen.{hint.action}"
    click = Style.from_meta({"@click": action})
    text.append(hint.key, style=Style(bold=True) + click)
    label = f" {hint.label}"
    text.append(label.ljust(hint.width - len(hint.key)), style=click)


class KeyBar(Static):
    """The footer line: call `show(hints, pinned)` whenever what matters changes."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; padding: 0 0 0 1; background: $footer-background;
             color: $footer-foreground; link-style: none; link-color: $footer-foreground;
             link-background: $footer-background; link-style-hover: reverse; }
    KeyBar:ansi { background: ansi_default; color: ansi_default; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._hints: tuple[KeyHint, ...] = ()
        self._pinned: KeyHint | None = None

    def show(self, hints: Sequence[KeyHint], pinned: KeyHint | None = None) -> None:
        """Show these hints (most important first); repaint only when they changed."""
        hints = tuple(hints)
        if (hints, pinned) == (self._hints, self._pinned):
            return
        self._hints, self._pinned = hints, pinned
        self._render_fit()

    def on_resize(self) -> None:
        """Called when the width changes: fit the hints again."""
        self._render_fit()

    def _render_fit(self) -> None:
        width = self.size.width - 1 if self.size.width else 79
        self.update(fit_hints(self._hints, width, self._pinned), layout=False)
