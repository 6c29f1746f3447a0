"""The one way back from a worker, for every screen that reads the registry.

A `ReadingScreen` says what to read (``read(reg)``, run in a thread worker under the app's
session) and how to show it (``loaded(value)``, ``failed(text)``). Each read is tagged with
a generation; one `Read` message carries the generation and either the value or the error
back to the screen, which drops it if a newer read has started or the screen has gone.
A screen with much to read yields it in parts (``read_parts(reg)``, what is on screen
first): each part is a `Read` of its own, the session is free between two parts, and the
worker reads on once the screen has drawn the part before (``more(value)`` says one is
coming), so the first screenful is never slowed by the rows below it.
``app.refreshes`` counts re-reads of the registry: a screen that comes back in front after
one reads again. `ReadingModal` is the same for a modal screen that dismisses with a value
(a picker).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from textual import work
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from mlvc_tui.engine import MlvcError, Registry

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["Read", "ReadingModal", "ReadingScreen", "ReadingView", "ReloadingScreen"]

T = TypeVar("T")
R = TypeVar("R")  # what the screen dismisses with


@dataclass
class Read(Message, Generic[T]):
    """One read's outcome for ``generation``: ``value``, or ``error`` (a line to show)."""

    generation: int
    value: T | None
    error: str | None
    shown: threading.Event = field(default_factory=threading.Event)  # set once drawn


class ReadingView(Screen[R], Generic[T, R]):
    """A screen showing one value (``T``) read from the registry in a worker."""

    app: MlvcApp  # screens see the typed app: its session, prod, branch names, refreshes

    def __init__(self) -> None:
        super().__init__()
        self.generation = 0
        self.refreshes_seen = 0

    def on_screen_resume(self) -> None:
        """Called when the screen is in front again: reload if a refresh happened meanwhile."""
        if self.app.refreshes != self.refreshes_seen:
            self.reload()

    def reload(self, refresh: bool = False) -> None:
        """Read again (re-reading refs first with ``refresh``)."""
        self.generation += 1
        if refresh:
            self.app.refreshes += 1
        self.refreshes_seen = self.app.refreshes
        self.reading(refresh)
        self._load(self.generation, refresh)

    # -- what a screen says -----------------------------------------------------------------

    def read(self, reg: Registry) -> T:
        """On the worker's thread: the value to show."""
        raise NotImplementedError

    def read_parts(self, reg: Registry) -> Iterator[T]:
        """On the worker's thread: the value in parts, the last one whole (default: `read`).
        Each part is read under the session's lock; others may use the registry between."""
        yield self.read(reg)

    def more(self, value: T) -> bool:
        """On the worker's thread: whether another part follows ``value`` (default: no)."""
        return False

    def reading(self, refresh: bool) -> None:
        """On the UI thread, as a read starts: say so (by default, nothing)."""

    def loaded(self, value: T) -> None:
        """On the UI thread: show what was read."""
        raise NotImplementedError

    def failed(self, error: str) -> None:
        """On the UI thread: show why it could not be read."""
        raise NotImplementedError

    def problem(self, exc: MlvcError) -> str:
        """The line shown for an engine error (by default, its message)."""
        return str(exc)

    # -- the worker and its message -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="read", exit_on_error=False)
    def _load(self, generation: int, refresh: bool) -> None:
        session, worker = self.app.session, get_current_worker()
        parts: Iterator[T] | None = None
        while not worker.is_cancelled:
            try:
                if parts is None:
                    if refresh:
                        session.refresh()
                    parts = session.run(self.read_parts)
                value = session.run(lambda reg: next(parts))  # noqa: B023 (called at once)
                message: Read[T] = Read(generation, value, None)
            except StopIteration:
                return
            except MlvcError as exc:
                message = Read(generation, None, self.problem(exc))
            except Exception as exc:  # an engine bug: say so in place, never crash
                message = Read(generation, None, f"Could not read the registry: {exc!r}")
            if worker.is_cancelled:
                return
            self.post_message(message)
            if message.value is None or not self.more(message.value):
                return
            if generation != self.generation:  # a newer read (or a live update) took over
                return
            for _ in range(20):  # the screen draws this part before the rest is read
                if message.shown.wait(0.25) or worker.is_cancelled:
                    break

    def on_read(self, message: Read[T]) -> None:
        """Called with a worker's read: show it, unless a newer read is coming."""
        message.stop()
        if message.generation != self.generation or not self.is_attached:
            message.shown.set()
            return
        if message.error is not None or message.value is None:
            self.failed(message.error or "unknown error")
        else:
            self.loaded(message.value)
        self.call_after_refresh(message.shown.set)


class ReadingScreen(ReadingView[T, None]):
    """A full screen showing one value read from the registry in a worker."""


class ReadingModal(ReadingView[T, R], ModalScreen[R]):
    """A modal screen reading its value in a worker; it dismisses with an ``R``."""


ReloadingScreen = ReadingScreen  # the name the grid and branch screens were written with
