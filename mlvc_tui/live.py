"""Live updates in the app: one RegistryWatcher shared by the screens that want changes.

A screen asks ``live_of(app).lane(compute, apply, ...)`` when it mounts and stops the lane
when it unmounts; the watcher runs while at least one lane does. Each lane has its own thread:
a Change it wants is merged into the lane's single pending slot, ``compute(change)`` runs on
the lane's thread (engine reads, file tails), and ``apply(result)`` runs on the UI thread
through ``call_from_thread``, which the lane waits for. So a slow UI slows the lane, the lane
merges what arrives meanwhile, and nothing ever queues without bound (Toolong's model).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.message_pump import MessagePump

from mlvc_tui.engine import (
    Change,
    Grid,
    MlvcError,
    Registry,
    RegistryWatcher,
    apply_change,
    grid_parts,
    watching_off,
)

if TYPE_CHECKING:
    from mlvc_tui.app import MlvcApp

__all__ = ["Lane", "LiveGrid", "LiveWatch", "grid_lane", "live_of"]

_SERVICES: weakref.WeakKeyDictionary[MlvcApp, LiveWatch] = weakref.WeakKeyDictionary()


def live_of(app: MlvcApp) -> LiveWatch:
    """The app's live watch (made on first use)."""
    live = _SERVICES.get(app)
    if live is None:
        live = _SERVICES[app] = LiveWatch(app)
    return live


class Lane:
    """One consumer of Changes: computes on its own thread, applies on the UI thread."""

    def __init__(
        self,
        app: MlvcApp,
        name: str,
        compute: Callable[[Change], Any],
        apply: Callable[[Any], None],
        wants: Callable[[Change], bool] | None = None,
        min_interval: float = 0.0,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self.app, self.name, self.finish = app, name, finish
        self.compute, self.apply, self.wants = compute, apply, wants or bool
        self.min_interval = min_interval
        self.runs = 0  # computes done (for tests and benchmarks)
        self._cond = threading.Condition()
        self._pending: Change | None = None
        self._hurry = False  # skip the pause between two runs: a backlog is waiting
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mlvc-lane-{name}", daemon=True)

    def start(self) -> Lane:
        self._thread.start()
        return self

    def kick(self, change: Change = Change()) -> None:  # noqa: B008 (an immutable value)
        """Run ``compute`` for ``change`` soon (merged with any change still waiting)."""
        with self._cond:
            self._pending = change if self._pending is None else self._pending.merge(change)
            self._cond.notify()

    def again(self) -> None:
        """Run ``compute`` once more straight away (a backlog is being read in pieces)."""
        self._hurry = True
        self.kick()

    def offer(self, change: Change) -> None:
        """Kick the lane if it wants this change."""
        if self.wants(change):
            self.kick(change)

    def stop(self) -> None:
        """Stop after the current run; never waits (the UI thread may be the one calling)."""
        self._stopped.set()
        with self._cond:
            self._cond.notify()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            if self.finish is not None:
                self.finish()  # on this thread: what compute used is free to close

    def _loop(self) -> None:
        while not self._stopped.is_set():
            with self._cond:
                while self._pending is None and not self._stopped.is_set():
                    self._cond.wait()
                change, self._pending = self._pending, None
            if change is None or self._stopped.is_set():
                return
            self.runs += 1
            try:
                result = self.compute(change)
            except MlvcError as exc:
                result = exc
            except Exception as exc:  # a bug in a compute: say so once, keep going
                result = MlvcError(f"live update failed: {type(exc).__name__}: {exc}")
            if not self._deliver(result):
                return
            if self.min_interval and not self._hurry:
                self._stopped.wait(self.min_interval)
            self._hurry = False

    def _deliver(self, result: Any) -> bool:
        """Apply on the UI thread and wait for it; False once the app has gone."""

        def run() -> None:
            if self._stopped.is_set():
                return
            try:
                self.apply(result)
            except Exception as exc:  # a bug in a screen: say so, keep following
                self.app.notify(
                    f"live update failed: {type(exc).__name__}: {exc}",
                    severity="error",
                    markup=False,
                )

        try:
            self.app.call_from_thread(run)
        except RuntimeError:  # the app is not running (any more)
            self._stopped.set()
            return False
        except BaseException:  # cancelled: the app is shutting down
            self._stopped.set()
            return False
        return True


class LiveWatch:
    """The app's watcher on refs and artifact folders, running while any lane is."""

    def __init__(self, app: MlvcApp) -> None:
        self.app = app
        self.observer = ""  # what the status bar says: "inotify", "polling every 1 s (...)"
        self.lanes: list[Lane] = []
        self._watcher: RegistryWatcher | None = None
        self._lock = threading.Lock()
        self._generation = 0
        self._status: list[Callable[[], None]] = []

    def lane(
        self,
        name: str,
        compute: Callable[[Change], Any],
        apply: Callable[[Any], None],
        *,
        wants: Callable[[Change], bool] | None = None,
        min_interval: float = 0.0,
        on_status: Callable[[], None] | None = None,
        finish: Callable[[], None] | None = None,
    ) -> Lane:
        """A started lane; the watcher starts (on a thread of its own) with the first one."""
        lane = Lane(self.app, name, compute, apply, wants, min_interval, finish).start()
        with self._lock:
            self.lanes.append(lane)
            if on_status is not None:
                self._status.append(on_status)
            first = len(self.lanes) == 1
            if first:
                self._generation += 1
                self.observer = "starting the watcher"
                generation = self._generation
        if first and watching_off():
            self.observer = ""  # said nowhere: the user turned it off
        elif first:  # a worker, so tests that wait for workers wait for it too
            self.app.run_worker(
                partial(self._start, generation),
                name="mlvc-watch-start",
                group="live",
                thread=True,
                exit_on_error=False,
            )
        return lane

    def drop(self, lane: Lane, on_status: Callable[[], None] | None = None) -> None:
        """Stop a lane; the watcher stops with the last one."""
        lane.stop()
        with self._lock:
            if lane in self.lanes:
                self.lanes.remove(lane)
            if on_status in self._status:
                self._status.remove(on_status)
            watcher = None
            if not self.lanes:
                self._generation += 1
                watcher, self._watcher = self._watcher, None
                self.observer = ""
        if watcher is not None:
            watcher.stop()

    def _start(self, generation: int) -> None:
        """Open the watcher (off the UI thread: the registry may be busy)."""
        session = self.app.session
        try:
            watcher = session.run(lambda reg: RegistryWatcher.of(reg, self._on_change))
            watcher.start()
            observer = watcher.observer
        except (MlvcError, OSError) as exc:
            watcher, observer = None, f"not watching: {exc}"
        except Exception as exc:  # a bug: say so in the status bar, never crash
            watcher, observer = None, f"not watching: {type(exc).__name__}: {exc}"
        with self._lock:
            current = generation == self._generation
            if current:
                self._watcher, self.observer = watcher, observer
            callbacks = list(self._status)
        if not current:
            if watcher is not None:
                watcher.stop()
            return
        for callback in callbacks:
            try:
                self.app.call_from_thread(callback)
            except BaseException:
                return

    def _on_change(self, change: Change) -> None:
        """Called on the watcher's thread: hand the change to the lanes that want it."""
        with self._lock:
            lanes = list(self.lanes)
        for lane in lanes:
            lane.offer(change)


class LiveGrid(Message):
    """A grid read after a change (or the MlvcError that stopped it), posted to the screen.

    Mergeable (Toolong's ``can_replace``): while the screen is busy, a newer grid replaces
    one still waiting, keeping the refs either one saw moving; nothing queues up.
    """

    def __init__(self, result: tuple[frozenset[str], Grid] | MlvcError) -> None:
        super().__init__()
        self.result = result

    def can_replace(self, message: Message) -> bool:
        if not isinstance(message, LiveGrid):
            return False
        mine, newer = self.result, message.result
        if not isinstance(mine, MlvcError) and not isinstance(newer, MlvcError):
            message.result = (mine[0] | newer[0], newer[1])
        return True


def grid_lane(
    app: MlvcApp, screen: MessagePump, on_status: Callable[[], None] | None = None
) -> Lane:
    """A lane for the grid: after a change, refs re-read if they moved, then the grid,
    posted to ``screen`` as a `LiveGrid`. At most four reads a second: a job appending to
    a log every millisecond costs the grid little.
    """

    def read(change: Change) -> tuple[frozenset[str], Grid]:
        def both(reg: Registry) -> tuple[frozenset[str], Grid]:
            moved = apply_change(reg, change)
            *_, whole = grid_parts(reg, chunk=1 << 30)  # unmoved branches keep their rows
            return moved, whole.grid

        return app.session.run(both)

    def post(result: tuple[frozenset[str], Grid] | MlvcError) -> None:
        screen.post_message(LiveGrid(result))

    return live_of(app).lane("grid", read, post, min_interval=0.25, on_status=on_status)
