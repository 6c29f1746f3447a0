"""The key line of every screen but the grid: the screen's keys, whole ones only.

Textual's Footer, when its keys overflow, scrolls them and cuts the last one mid-word, and
`? Help` is the first to go. This footer shows the keys in the order the screen declares
them (most important first), drops whole keys from the end when the width runs out, and
keeps `? Help` at the right end.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

from mlvc_tui.widgets.keybar import KeyBar, KeyHint

__all__ = ["FitFooter", "screen_hints"]

HELP_ACTIONS = ("help", "app.help")


class FitFooter(KeyBar):
    """A :class:`KeyBar` that follows its screen's bindings as they change."""

    def on_mount(self) -> None:
        """Called when mounted: show the keys now and whenever the bindings change."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._refit()

    def on_unmount(self) -> None:
        """Called when removed: stop following the bindings."""
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if screen is self.screen:
            self._refit()

    def _refit(self) -> None:
        hints, pinned = screen_hints(self.screen)
        self.show(hints, pinned)


def screen_hints(screen: Screen[object]) -> tuple[list[KeyHint], KeyHint | None]:
    """The keys ``screen`` shows, one per action, and help apart: the screen's own first
    (in declared order), then the focused widget's, then the app's."""
    hints: list[KeyHint] = []
    pinned: KeyHint | None = None
    actions: set[str] = set()
    bound = sorted(
        screen.active_bindings.values(),
        key=lambda entry: 0 if entry[0] is screen else 2 if entry[0] is screen.app else 1,
    )
    for node, binding, enabled, _tooltip in bound:
        if not (binding.show and enabled) or binding.action in actions:
            continue
        actions.add(binding.action)
        hint = KeyHint(
            screen.app.get_key_display(binding), binding.description, _target(node, binding)
        )
        if binding.action in HELP_ACTIONS:
            pinned = hint
        else:
            hints.append(hint)
    return hints, pinned


def _target(node: DOMNode, binding: Binding) -> str:
    """The action with the namespace a click must run it in."""
    if "." in binding.action:
        return binding.action
    if node is node.app:
        return f"app.{binding.action}"
    if isinstance(node, Screen):
        return f"screen.{binding.action}"
    return f"focused.{binding.action}"
