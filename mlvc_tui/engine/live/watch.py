"""Watching a registry: its refs and its working tree's artifact folders, live.

A :class:`RegistryWatcher` runs a watchdog observer (native, else polling: see
``observers.py``) on ``HEAD``, ``packed-refs`` and ``refs/`` (a bare repository: nothing
else) and on the working tree's artifact folders. Events are debounced (a quiet spell, at
most ``max_delay`` after the first) and coalesced into one :class:`Change` (which refs and
which files), handed to ``callback`` from the watcher's own thread. While the callback runs,
new events merge into the next Change: a slow consumer gets fewer, larger Changes, never a
queue. :func:`apply_change` brings a :class:`Registry` up to date with a Change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver, ObservedWatch

from mlvc_tui.engine.live.observers import ObserverChoice, choose_observer, native_name

if TYPE_CHECKING:
    from mlvc_tui.engine.registry import Registry

__all__ = ["MAX_PATHS", "Change", "RegistryWatcher", "apply_change"]

_STOP_WAIT = 2.0  # seconds to wait for the observer's threads when stopping

MAX_PATHS = 1000  # more changed files than this in one Change: "everything changed"
DEBOUNCE = 0.03  # seconds of quiet before a Change is handed out
MAX_DELAY = 0.1  # seconds at most between the first event and its Change
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
_DIR_EVENTS = (DirCreatedEvent, DirDeletedEvent, DirMovedEvent)


@dataclass(frozen=True, slots=True)
class Change:
    """What changed in one quiet spell.

    ``refs``: ``HEAD``, ``packed-refs`` or ``refs/...`` files touched. ``paths``: working-tree
    paths (posix, relative); ``dir/`` stands for everything below ``dir``. ``overflow``:
    too many to list, treat every artifact as changed.
    """

    refs: frozenset[str] = frozenset()
    paths: frozenset[str] = frozenset()
    overflow: bool = False

    def __bool__(self) -> bool:
        return bool(self.refs or self.paths or self.overflow)

    def touches(self, path: str) -> bool:
        """Whether the working-tree file ``path`` may have changed."""
        if self.overflow or path in self.paths:
            return True
        return any(p.endswith("/") and path.startswith(p) for p in self.paths)

    def merge(self, other: Change) -> Change:
        """Both changes as one (bounded: past MAX_PATHS paths it overflows)."""
        paths = self.paths | other.paths
        overflow = self.overflow or other.overflow or len(paths) > MAX_PATHS
        return Change(self.refs | other.refs, frozenset() if overflow else paths, overflow)


def apply_change(reg: Registry, change: Change) -> frozenset[str]:
    """Bring ``reg`` up to date: refs re-read only when refs changed; the refs that moved.

    Cached trees, blobs and metrics stay, so only moved branches cost anything; working-tree
    changes are recomputed by the next ``reg.grid()`` or ``reg.worktree_changes()``.
    """
    return reg.refresh() if change.refs or change.overflow else frozenset()


@dataclass
class _Pending:
    refs: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    overflow: bool = False
    first: float = 0.0
    last: float = 0.0


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: RegistryWatcher) -> None:
        self.watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        self.watcher._on_event(event)


class RegistryWatcher:
    """Watches a registry's refs and artifact folders; calls ``callback(Change)``.

    ``polling``: True forces the polling observer, False forbids choosing it by itself
    (None: ``MLVC_WATCH``, then the file system decide); ``interval``: seconds between polls.
    ``observer`` names the observer in use once started ("inotify", "polling every 1 s ...").
    """

    def __init__(
        self,
        root: Path,
        callback: Callable[[Change], None],
        *,
        git_dir: Path,
        common_dir: Path | None = None,
        bare: bool = False,
        roots: tuple[str, ...] | None = None,
        polling: bool | None = None,
        interval: float | None = None,
        debounce: float = DEBOUNCE,
        max_delay: float = MAX_DELAY,
        native: Callable[[], BaseObserver] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.git_dir = Path(git_dir).resolve()
        self.common_dir = Path(common_dir).resolve() if common_dir else self.git_dir
        self.bare, self.roots, self.callback = bare, roots, callback
        self.debounce, self.max_delay = debounce, max_delay
        self.choice: ObserverChoice = choose_observer(self.root, polling, interval)
        self._native = native
        self.observer = "not started"
        self.events = self.batches = 0  # raw events seen, Changes handed out
        self.error: str | None = None  # the last callback error, as a line
        self._obs: BaseObserver | None = None
        self._tops: dict[str, ObservedWatch] = {}
        self._cond = threading.Condition()
        self._pending: _Pending | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._prefix = str(self.root) + "/"
        self._refs = str(self.common_dir / "refs")
        self._heads = {
            str(self.git_dir / "HEAD"): "HEAD",
            str(self.common_dir / "packed-refs"): "packed-refs",
        }

    @classmethod
    def of(
        cls,
        reg: Registry,
        callback: Callable[[Change], None],
        *,
        polling: bool | None = None,
        interval: float | None = None,
        debounce: float = DEBOUNCE,
        max_delay: float = MAX_DELAY,
        native: Callable[[], BaseObserver] | None = None,
    ) -> RegistryWatcher:
        """A watcher on an open registry (options as for the constructor)."""
        repo = reg.repo
        return cls(
            reg.root,
            callback,
            git_dir=Path(repo.controldir()),
            common_dir=Path(repo.commondir()),
            bare=reg.bare,
            roots=reg.config.artifact_roots,
            polling=polling,
            interval=interval,
            debounce=debounce,
            max_delay=max_delay,
            native=native,
        )

    # -- starting and stopping -------------------------------------------------------------

    def start(self) -> RegistryWatcher:
        """Start watching: the native observer, else polling (and say why in ``observer``)."""
        if self._thread is not None:
            return self
        choice = self.choice
        if not choice.polling:
            try:
                self._obs = self._schedule((self._native or choice.make)())
                self.observer = native_name(self._obs)
            except OSError as exc:
                reason = exc.strerror or str(exc) or type(exc).__name__
                choice = self.choice = ObserverChoice(
                    True, choice.interval, f"native observer failed: {reason}"
                )
        if choice.polling:
            self._obs = self._schedule(choice.make())
            self.observer = f"polling every {choice.interval:g} s ({choice.reason})"
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="mlvc-watch", daemon=True)
        self._thread.start()
        return self

    def _schedule(self, obs: BaseObserver) -> BaseObserver:
        handler, self._tops, self._obs = _Handler(self), {}, obs
        try:
            obs.start()
            obs.schedule(handler, str(self.git_dir), event_filter=_EVENTS)
            if self.common_dir != self.git_dir:
                obs.schedule(handler, str(self.common_dir), event_filter=_EVENTS)
            if Path(self._refs).is_dir():
                obs.schedule(handler, self._refs, recursive=True, event_filter=_EVENTS)
            if not self.bare:
                obs.schedule(
                    handler, str(self.root), recursive=self.roots is None, event_filter=_EVENTS
                )
                for top in self.roots or ():
                    self._watch_top(top)
        except BaseException:
            self._obs = None
            obs.stop()
            obs.join()
            raise
        return obs

    def _watch_top(self, top: str) -> None:
        """Watch an artifact folder (again): it exists now."""
        obs, path = self._obs, self.root / top
        if obs is None or not path.is_dir() or path.is_symlink():
            return
        old = self._tops.pop(top, None)
        if old is not None:
            obs.unschedule(old)
        self._tops[top] = obs.schedule(
            _Handler(self), str(path), recursive=True, event_filter=_EVENTS
        )

    def stop(self) -> None:
        """Stop watching (a Change being handed out is finished first)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        obs, self._obs = self._obs, None
        if obs is not None:
            obs.stop()
            obs.join(_STOP_WAIT)  # daemon threads: one stuck in a read dies with the process
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_WAIT)

    def __enter__(self) -> RegistryWatcher:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    # -- events, debounced ------------------------------------------------------------------

    def _classify(self, path: str, is_dir: bool) -> tuple[str, str] | None:
        """("ref", name) or ("path", relative path), or None for what does not matter."""
        if path.endswith(".lock"):
            return None
        if path in self._heads:
            return "ref", self._heads[path]
        if path == self._refs or path.startswith(self._refs + "/"):
            return "ref", path[len(str(self.common_dir)) + 1 :]
        if self.bare or not path.startswith(self._prefix):
            return None
        rel = path[len(self._prefix) :]
        top, _, below = rel.partition("/")
        if top == ".git" or (self.roots is not None and top not in self.roots):
            return None
        if is_dir and not below and self.roots is not None and top in self.roots:
            self._watch_top(top)  # created or moved in: watch below it; gone: nothing to do
        return "path", rel + "/" if is_dir else rel

    def _on_event(self, event: FileSystemEvent) -> None:
        """Called on the observer's thread for each event: note what it touched."""
        is_dir = isinstance(event, _DIR_EVENTS)
        hits = (self._classify(str(p), is_dir) for p in (event.src_path, event.dest_path) if p)
        found = [hit for hit in hits if hit is not None]
        if not found:
            return
        now = time.monotonic()
        with self._cond:
            self.events += 1
            pending = self._pending
            if pending is None:
                pending = self._pending = _Pending(first=now)
                self._cond.notify_all()
            pending.last = now
            for kind, name in found:
                if kind == "ref":
                    pending.refs.add(name)
                elif not pending.overflow:
                    pending.paths.add(name)
                    if len(pending.paths) > MAX_PATHS:
                        pending.overflow, pending.paths = True, set()

    def _run(self) -> None:
        """The watcher's thread: wait for a quiet spell, then hand out one Change."""
        pending: _Pending | None
        while True:
            with self._cond:
                while self._pending is None and not self._stopping:
                    self._cond.wait()
                while not self._stopping and self._pending is not None:
                    pending = self._pending
                    due = min(pending.last + self.debounce, pending.first + self.max_delay)
                    wait = due - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopping:
                    return
                pending, self._pending = self._pending, None
                self.batches += 1
            if pending is None:
                continue
            change = Change(frozenset(pending.refs), frozenset(pending.paths), pending.overflow)
            try:
                self.callback(change)
            except Exception as exc:  # the consumer's bug must not end the watching
                self.error = f"{type(exc).__name__}: {exc}"
