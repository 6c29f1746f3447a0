"""Which file-system observer watches a registry: the native one, or polling.

Native means inotify on Linux (FSEvents on macOS, kqueue on BSD, ReadDirectoryChangesW on
Windows). Polling takes over when it is asked for (``polling=True`` or ``MLVC_WATCH=poll``),
when the folder is on a network file system (inotify never hears about changes made on
another machine), and when the native observer cannot start (the inotify watch limit, say).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from mlvc_tui.engine.errors import BadInput

__all__ = [
    "DEFAULT_INTERVAL",
    "INTERVAL_ENV",
    "MODE_ENV",
    "NETWORK_FILE_SYSTEMS",
    "ObserverChoice",
    "choose_observer",
    "native_name",
    "network_fs",
    "watching_off",
]

MODE_ENV = "MLVC_WATCH"  # "poll" forces polling, "native" never chooses it, "off": no watching
INTERVAL_ENV = "MLVC_POLL_INTERVAL"  # seconds between two polls
DEFAULT_INTERVAL = 1.0
NETWORK_FILE_SYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "9p",
        "ceph",
        "glusterfs",
        "lustre",
        "afs",
        "vboxsf",
        "fuse.sshfs",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.gcsfuse",
        "davfs",
        "fuse.davfs",
    }
)
_NATIVE_NAMES = {
    "InotifyObserver": "inotify",
    "FSEventsObserver": "FSEvents",
    "KqueueObserver": "kqueue",
    "WindowsApiObserver": "ReadDirectoryChanges",
    "PollingObserver": "polling",
}


@dataclass(frozen=True, slots=True)
class ObserverChoice:
    """Poll or not, how often, and why (None when the native observer was chosen)."""

    polling: bool
    interval: float
    reason: str | None = None

    def make(self) -> BaseObserver:
        """A new observer of this kind (not started)."""
        return PollingObserver(timeout=self.interval) if self.polling else Observer()


def native_name(observer: BaseObserver | type[BaseObserver]) -> str:
    """A user's name for an observer: "inotify", "FSEvents", "polling", ..."""
    cls = observer if isinstance(observer, type) else type(observer)
    return _NATIVE_NAMES.get(cls.__name__, cls.__name__)


def _unescape(field: str) -> str:
    r"""A mountinfo path: spaces and friends are written as octal (``\040``)."""
    if "\\" not in field:
        return field
    return (
        field.encode("latin-1")
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8", "replace")
    )


def network_fs(path: Path, mountinfo: str | None = None) -> str | None:
    """The network file system type ``path`` lives on (``nfs4``, ``cifs``...), else None.

    Reads ``/proc/self/mountinfo`` (Linux) unless given its text; elsewhere: None.
    """
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text("utf-8", "replace")
        except OSError:
            return None
    target = str(path)
    best, fstype = -1, None
    for line in mountinfo.splitlines():
        fields = line.split()
        if "-" not in fields or len(fields) < 5:
            continue
        point = _unescape(fields[4])
        kind = fields[fields.index("-") + 1] if fields.index("-") + 1 < len(fields) else ""
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > best:
            best, fstype = len(point), kind
    return fstype if fstype in NETWORK_FILE_SYSTEMS else None


def watching_off() -> bool:
    """``MLVC_WATCH=off``: the user (or a snapshot test) wants no live watching."""
    return os.environ.get(MODE_ENV, "").strip().lower() == "off"


def _interval(interval: float | None) -> float:
    if interval is None:
        text = os.environ.get(INTERVAL_ENV, "").strip()
        if not text:
            return DEFAULT_INTERVAL
        try:
            interval = float(text)
        except ValueError:
            raise BadInput(f"{INTERVAL_ENV}={text!r} is not a number of seconds") from None
    if not 0.01 <= interval <= 3600:
        raise BadInput(f"the polling interval must be 0.01 to 3600 seconds, not {interval}")
    return interval


def choose_observer(
    path: Path, polling: bool | None = None, interval: float | None = None
) -> ObserverChoice:
    """Poll when asked to (argument, else ``MLVC_WATCH``) or on a network file system."""
    seconds = _interval(interval)
    mode = os.environ.get(MODE_ENV, "").strip().lower()
    if mode not in ("", "auto", "poll", "polling", "native", "off"):
        raise BadInput(f"{MODE_ENV}={mode!r}: use poll, native, auto or off")
    if polling is True:
        return ObserverChoice(True, seconds, "asked for")
    if polling is None and mode in ("poll", "polling"):
        return ObserverChoice(True, seconds, f"{MODE_ENV}={mode}")
    if polling is None and mode != "native" and (kind := network_fs(path.resolve())):
        return ObserverChoice(True, seconds, f"{kind} is a network file system")
    return ObserverChoice(False, seconds)
