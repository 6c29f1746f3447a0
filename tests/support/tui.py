"""Driving the app in tests: settle workers, press keys, read the screen, a fixed clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from textual.pilot import Pilot

FIXED_NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # after every fixture commit


async def settle(pilot: Pilot) -> None:
    """Wait until every engine worker has finished and its result is on screen."""
    await pilot.pause()
    while any(not worker.is_finished for worker in pilot.app.workers):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    # Results a finished worker posted with call_from_thread may still be queued.
    await pilot.pause()
    await pilot.pause()


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
