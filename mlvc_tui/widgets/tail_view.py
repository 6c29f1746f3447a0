"""The newest lines of a growing file: a line-API scroll view holding at most ``cap`` items.

Items are whatever the screen keeps (drift points, log lines); ``render(item)`` turns one
into a `Text` only when it is on screen, and the strips are cached by the item's absolute
number, so a fast writer costs what is visible, not what was written. While ``following``,
new items keep the view at the bottom; moving up stops following (``FollowChanged``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["TailView"]


class TailView(ScrollView, can_focus=True):
    """Lines of a growing file, newest at the bottom."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "line(1)", "Down", show=False),
        Binding("k,up", "line(-1)", "Up", show=False),
        Binding("h,left", "side(-8)", "Left", show=False),
        Binding("l,right", "side(8)", "Right", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home,g", "top", "First line", show=False),
        Binding("end,G", "bottom", "Last line", show=False),
    ]
    DEFAULT_CSS = """
    TailView { background: $surface; }
    TailView:focus { background-tint: $foreground 3%; }
    """

    class FollowChanged(Message):
        """Following started or stopped (a key, or a move up)."""

    def __init__(
        self, render: Callable[[Any], Text], *, cap: int = 5000, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._render_item = render
        self.cap = cap
        self.items: deque[Any] = deque(maxlen=cap)
        self.dropped = 0  # items that fell off the top since the last clear
        self.following = True
        self._widest = 0
        self._version = 0  # bumped when the items are replaced or the style changes
        self._lines: LRUCache[tuple[int, int, int, int], Strip] = LRUCache(512)

    # -- filling -----------------------------------------------------------------------------

    def append(self, items: Iterable[Any]) -> None:
        """Add items at the bottom (the oldest fall off past ``cap``)."""
        new = list(items)[-self.cap :] if self.cap else []
        if not new:
            return
        self.dropped += max(0, len(self.items) + len(new) - self.cap)
        self.items.extend(new)
        self._resized()

    def replace(self, items: Iterable[Any]) -> None:
        """Show these items instead (a new filter, a reset file)."""
        self.items.clear()
        self.dropped = 0
        self._version += 1
        self._lines.clear()
        self.append(items)
        self._resized()

    def _resized(self) -> None:
        self.virtual_size = Size(max(self._widest, 1), len(self.items))
        if self.following:
            self._to_bottom()
            if (
                self.scroll_offset.y < self.max_scroll_y
                or self.max_scroll_y < len(self.items) - self.scrollable_content_region.height
            ):
                self.call_after_refresh(self._to_bottom)  # a scrollbar just came: once more
        self.refresh()

    def _to_bottom(self) -> None:
        if self.following:
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    # -- following ---------------------------------------------------------------------------

    def follow(self, on: bool) -> None:
        """Start (jumping to the bottom) or stop following."""
        if on == self.following:
            return
        self.following = on
        if on:
            self._resized()
        self.post_message(self.FollowChanged())

    def action_line(self, step: int) -> None:
        if step < 0:
            self.follow(False)
        self.scroll_to(y=self.scroll_offset.y + step, animate=False)

    def action_page(self, step: int) -> None:
        if step < 0:
            self.follow(False)
        self.scroll_to(y=self.scroll_offset.y + step * max(1, self.size.height - 1), animate=False)

    def action_side(self, step: int) -> None:
        self.scroll_to(x=max(0, self.scroll_offset.x + step), animate=False)

    def action_top(self) -> None:
        self.follow(False)
        self.scroll_to(y=0, animate=False)

    def action_bottom(self) -> None:
        self.scroll_to(y=max(0, len(self.items) - self.size.height), animate=False)

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Called for each line on screen: the item there, rendered once and cached."""
        width = self.scrollable_content_region.width
        x, top = self.scroll_offset
        index = top + y
        base = self.rich_style
        if not 0 <= index < len(self.items):
            return Strip.blank(width, base)
        key = (self.dropped + index, x, width, self._version)
        cached = self._lines.get(key)
        if cached is not None:
            return cached
        text = self._render_item(self.items[index])
        text.no_wrap, text.end = True, ""
        strip = Strip(list(text.render(self.app.console)))
        if strip.cell_length > self._widest:
            self._widest = strip.cell_length
            self.call_later(self._resized)
        line = strip.crop_extend(x, x + width, base).apply_style(base)
        self._lines[key] = line
        return line

    def notify_style_update(self) -> None:
        """Called when styles change (theme, focus): draw the lines again."""
        super().notify_style_update()
        self._version += 1
        self._lines.clear()
