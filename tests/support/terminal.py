"""A terminal emulator (pyte) to read what a stream of output shows, cell by cell, and a
program run on a pseudo-terminal whose output it reads."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import termios
import time
from pathlib import Path

import pyte

Shown = tuple[str, str, str, bool, bool, bool, bool, bool, bool]


class Terminal:
    """A screen of ``columns`` × ``lines`` that output is fed to, as a terminal would be."""

    def __init__(self, columns: int, lines: int) -> None:
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)

    def feed(self, data: bytes | str) -> None:
        self.stream.feed(data.encode() if isinstance(data, str) else data)

    def text(self) -> str:
        """The characters on screen, one line per row."""
        return "\n".join(line.rstrip() for line in self.screen.display)

    def cells(self) -> list[list[Shown]]:
        """Every cell as it looks: its character, colours and attributes; of a blank cell
        only what shows on it (no glyph colour or weight unless reversed)."""
        rows = []
        for y in range(self.screen.lines):
            line = self.screen.buffer[y]
            row = []
            for x in range(self.screen.columns):
                c = line[x]
                if c.data == " " and not c.reverse:
                    row.append(
                        (" ", "", c.bg, False, False, c.underscore, c.strikethrough, False, False)
                    )
                else:
                    row.append(
                        (
                            c.data,
                            c.fg,
                            c.bg,
                            c.bold,
                            c.italics,
                            c.underscore,
                            c.strikethrough,
                            c.reverse,
                            c.blink,
                        )
                    )
            rows.append(row)
        return rows

    def cursor(self) -> tuple[int, int]:
        return self.screen.cursor.y, self.screen.cursor.x


class AppInPty:
    """A program on a pseudo-terminal of a given size, its output counted and fed to a
    `Terminal`; stopped by process group."""

    def __init__(self, argv: list[str], columns: int, lines: int, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = bytearray()
        self.arrived = self.start  # when the last bytes were read
        self.terminal = Terminal(columns, lines)

    def read(self, timeout: float) -> int:
        """Read what arrives within ``timeout`` s; returns the number of bytes."""
        if not select.select([self.master], [], [], timeout)[0]:
            return 0
        try:
            chunk = os.read(self.master, 1 << 16)
        except OSError:  # (the program has exited)
            return 0
        self.arrived = time.monotonic()  # (before the emulator's own time)
        self.seen += chunk
        self.terminal.feed(chunk)
        return len(chunk)

    def shows(self, pattern: re.Pattern[str]) -> str | None:
        """What of the screen matches ``pattern``, if anything."""
        found = pattern.search(self.terminal.text())
        return found.group() if found else None

    def until(self, pattern: re.Pattern[str], timeout: float) -> float:
        """Seconds from launch until the bytes that put ``pattern`` on screen arrived."""
        end = time.monotonic() + timeout
        while not self.shows(pattern) and time.monotonic() < end:
            self.read(0.05)
        if not self.shows(pattern):
            raise TimeoutError(
                f"{pattern.pattern!r} not on screen after {timeout} s:\n" + self.terminal.text()
            )
        return self.arrived - self.start  # (when the bytes that show it arrived)

    def until_changed(self, shown: list[list[Shown]], timeout: float) -> None:
        """Wait until the screen differs from ``shown`` (what it showed before)."""
        end = time.monotonic() + timeout
        while self.terminal.cells() == shown and time.monotonic() < end:
            self.read(0.05)

    def quiet(self, quiet: float, limit: float = 120.0) -> int:
        """Bytes written until the program is quiet for ``quiet`` seconds."""
        total, last, end = 0, time.monotonic(), time.monotonic() + limit
        while time.monotonic() - last < quiet and time.monotonic() < end:
            n = self.read(0.05)
            if n:
                total, last = total + n, time.monotonic()
        return total

    def resize(self, columns: int, lines: int) -> None:
        """Resize the terminal, as a window manager would (and the emulator with it)."""
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.terminal.screen.resize(lines, columns)
        os.killpg(self.proc.pid, signal.SIGWINCH)

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def cpu(self) -> float:
        """CPU seconds the program has used so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        """Quit with `q`; killed (its process group) if it does not exit."""
        try:
            self.send(b"q")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)
