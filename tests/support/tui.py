"""Driving the app in tests: settle workers, press keys, read the screen, a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from textual.pilot import Pilot

FIXED_NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # after every fixture commit


async def settle(pilot: Pilot) -> None:
    """Wait until every engine worker has finished and the screen has stopped changing.

    A result can take a few refreshes to reach its final shape (a message re-lays a widget
    out, a size watcher calls back after the refresh), and a loaded machine needs more of
    them: so wait for two paints in a row that show the same thing (at most 50).
    """
    await pilot.pause()
    while any(not worker.is_finished for worker in pilot.app.workers):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    before, same = screen_text(pilot), 0
    for _ in range(50):
        await pilot.pause()
        now = screen_text(pilot)
        same = same + 1 if now == before else 0
        if same == 2 and all(worker.is_finished for worker in pilot.app.workers):
            return
        before = now


def keys(*pressed: str) -> Callable[[Pilot], Awaitable[None]]:
    """A snapshot `run_before`: settle, then press each key and settle again."""

    async def run(pilot: Pilot) -> None:
        await settle(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run


def screen_text(pilot: Pilot) -> str:
    """Everything on the terminal right now, as plain text (styles dropped)."""
    return "\n".join(strip.text for strip in pilot.app.screen._compositor.render_strips())


def screen_words(pilot: Pilot) -> str:
    """The terminal's text with every run of blanks and line breaks made one space."""
    return " ".join(screen_text(pilot).split())
