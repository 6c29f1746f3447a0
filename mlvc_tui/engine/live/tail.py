"""Following a growing file: the drift log (over DriftTail) and plain-text logs.

:class:`FileFollower` hands out only the bytes appended since the last read (by offset, at
most ``chunk`` at a time), and notices a truncated, rewritten, replaced or deleted file: the
read says ``reset`` and starts again from the top. :class:`DriftFollow` feeds those bytes to
a :class:`DriftTail` (partial last lines and a late header are its business; memory is its
window plus per-series totals); :class:`LogFollow` splits them into :class:`LogLine` s and
counts errors and warnings. Neither reads a byte twice unless the file was reset.
"""

from __future__ import annotations

import os
import re
import stat
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlvc_tui.engine.config import RegistryConfig
from mlvc_tui.engine.errors import BadInput
from mlvc_tui.engine.live.drift import DriftPoint, DriftReport, DriftTail

__all__ = [
    "Appended",
    "DriftFollow",
    "DriftUpdate",
    "FileFollower",
    "LogFollow",
    "LogLine",
    "LogUpdate",
    "drift_thresholds",
    "log_files",
]

CHUNK = 1 << 22  # bytes per read: a big backlog arrives in pieces, never all at once
MAX_LOG_LINE = 16_384  # characters kept of one log line
_MARK = 32  # bytes before the offset re-read to notice a file rewritten in place
_ERROR = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent|\b\w*(Error|Exception):")
_WARNING = re.compile(r"\b(WARN|WARNING)\b|\b\w*Warning:")


@dataclass(frozen=True, slots=True)
class Appended:
    """One read: the new bytes, and what happened to the file."""

    data: bytes = b""
    reset: bool = False  # truncated, rewritten, replaced or deleted: start over
    missing: bool = False  # there is no file (yet)
    more: bool = False  # more bytes are waiting: read again


class FileFollower:
    """Reads a file by offset: only what was appended since the last read."""

    def __init__(self, path: str | os.PathLike[str], chunk: int = CHUNK) -> None:
        self.path = Path(path)
        self.chunk = chunk
        self.offset = 0
        self._fh: BinaryIO | None = None
        self._id: tuple[int, int] | None = None
        self._mark = b""

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        self._fh, self._id, self.offset, self._mark = None, None, 0, b""

    def read(self) -> Appended:
        """The bytes appended since the last read (at most ``chunk``)."""
        try:
            st = os.stat(self.path)
        except OSError:
            had = self._fh is not None
            self.close()
            return Appended(reset=had, missing=True)
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"{self.path.name} is not a regular file")
        reset = False
        if self._fh is None or (st.st_dev, st.st_ino) != self._id:
            reset = self._fh is not None  # replaced (renamed over, or deleted and made again)
            self.close()
            self._fh = open(self.path, "rb", buffering=0)  # noqa: SIM115 (kept open)
            self._id = (st.st_dev, st.st_ino)
        fh = self._fh
        size = os.fstat(fh.fileno()).st_size
        if size < self.offset or not self._same_mark(fh):
            reset, self.offset, self._mark = True, 0, b""
        n = min(size - self.offset, self.chunk)
        fh.seek(self.offset)
        data = fh.read(n) if n > 0 else b""
        self.offset += len(data)
        if data:
            self._mark = (self._mark + data)[-_MARK:]
        return Appended(data, reset, False, self.offset < size)

    def _same_mark(self, fh: BinaryIO) -> bool:
        """The bytes just before the offset are still the ones read there."""
        if not self._mark:
            return True
        fh.seek(self.offset - len(self._mark))
        return fh.read(len(self._mark)) == self._mark


@dataclass(frozen=True, slots=True)
class DriftUpdate:
    """What one poll of a drift log found."""

    points: tuple[DriftPoint, ...] = ()  # the new points (at most the window's worth)
    new: int = 0  # how many new points, in all
    reset: bool = False  # the file started over: forget what was shown
    missing: bool = False
    more: bool = False
    error: str | None = None  # why the log cannot be read (until it is reset)


class DriftFollow:
    """A drift log followed as it grows: a window of points plus exact per-series totals."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        thresholds: Mapping[str, float] | None = None,
        window: int = 10_000,
        chunk: int = CHUNK,
    ) -> None:
        self.file = FileFollower(path, chunk)
        self.tail = DriftTail(thresholds, window)
        self.window = window
        self.error: str | None = None

    def poll(self) -> DriftUpdate:
        """Read what was appended; an error stays until the file is truncated or replaced."""
        got = self.file.read()
        if got.reset:
            self.tail.reset()
            self.error = None
        points: list[DriftPoint] = []
        if self.error is None and got.data:
            try:
                points = self.tail.feed(got.data)
            except BadInput as exc:
                self.error = str(exc)
        kept = tuple(points[-self.window :]) if self.window else ()
        return DriftUpdate(kept, len(points), got.reset, got.missing, got.more, self.error)

    def report(self) -> DriftReport | None:
        """Everything read so far (series points: the window's); None before the header."""
        return self.tail.report() if self.tail.form is not None else None

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a log: its number in the file, its text, "error", "warning" or ""."""

    number: int
    text: str
    level: str = ""


@dataclass(frozen=True, slots=True)
class LogUpdate:
    """What one poll of a log found."""

    lines: tuple[LogLine, ...] = ()
    new: int = 0
    reset: bool = False
    missing: bool = False
    more: bool = False
    error: str | None = None


def level_of(text: str) -> str:
    """ "error", "warning" or "" for one log line."""
    if _ERROR.search(text):
        return "error"
    return "warning" if _WARNING.search(text) else ""


class LogFollow:
    """A text log followed as it grows: recent lines, counts of errors and warnings."""

    def __init__(
        self, path: str | os.PathLike[str], window: int = 10_000, chunk: int = CHUNK
    ) -> None:
        self.file = FileFollower(path, chunk)
        self.window = window
        self._reset()

    def _reset(self) -> None:
        self.lines: deque[LogLine] = deque(maxlen=self.window)
        self.count = self.errors = self.warnings = 0
        self._buf = b""
        self._cut = False  # inside a line too long to keep: skip to its newline
        self.error: str | None = None  # why the log cannot be read (until it is reset)

    def poll(self) -> LogUpdate:
        """Read what was appended; a partial last line waits for its newline."""
        got = self.file.read()
        if got.reset:
            self._reset()
        if b"\0" in got.data:
            self.error = f"{self.file.path.name} is binary, not a text log"
        if self.error is not None:
            return LogUpdate((), 0, got.reset, got.missing, got.more, self.error)
        buf = self._buf + got.data
        parts = buf.split(b"\n")
        self._buf = parts.pop()
        if len(self._buf) > 4 * MAX_LOG_LINE:  # an endless line: keep its start only
            parts.append(self._buf)
            self._buf, cut_after = b"", True
        else:
            cut_after = False
        out: list[LogLine] = []
        for raw in parts:
            if self._cut:
                self._cut = False
                continue
            text = raw.decode("utf-8", "replace").rstrip("\r")
            if len(text) > MAX_LOG_LINE:
                text = text[:MAX_LOG_LINE] + "…"
            self.count += 1
            line = LogLine(self.count, text, level_of(text))
            self.errors += line.level == "error"
            self.warnings += line.level == "warning"
            out.append(line)
        self._cut = cut_after
        self.lines.extend(out)
        kept = tuple(out[-self.window :]) if self.window else ()
        return LogUpdate(kept, len(out), got.reset, got.missing, got.more)

    def close(self) -> None:
        self.file.close()


def log_files(root: Path) -> list[str]:
    """The working tree's ``logs/**/*.log`` files, as relative posix paths, sorted."""
    base = root / "logs"
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*.log") if p.is_file())


def drift_thresholds(config: RegistryConfig) -> dict[str, float] | None:
    """``[drift.thresholds]`` of ``mlvc.toml``, for `Registry.drift` and the live tail."""
    drift = config.raw.get("drift", {})
    thresholds = drift.get("thresholds") if isinstance(drift, dict) else None
    if thresholds is not None and not isinstance(thresholds, dict):
        raise BadInput("mlvc.toml: [drift.thresholds] must be a table of metric = number")
    return thresholds
