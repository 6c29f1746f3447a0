"""The real app in a pseudo-terminal: launch → first screenful of the grid, and the bytes
written to the terminal per action (first paint, one `j`, `R`, idle).

    .venv/bin/python bench/bench_tui_pty.py [--branches 500 5000] [--size 120x40] [--runs 3]

`mlvc-tui PATH` runs on a synthetic registry (bench/synth.py, 50 commits per branch, 40
artifacts) in a pty of the given size, exactly as a terminal would run it (Python start and
the Textual import included). "First screenful" is the moment the status bar's branch count
is on the wire: the grid's rows and counts are drawn. Bytes are counted from the pty until
the app has been quiet for QUIET seconds after each action. Prints a table; times are
wall-clock on this machine, so compare runs, not machines.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synth import cached_registry

MLVC_TUI = str(Path(sys.executable).with_name("mlvc-tui"))
QUIET = 0.6  # seconds without output that count as "done drawing"
READY = re.compile(rb"\d[\d,]* branch")  # the status bar's count: the grid is on screen


@dataclass
class Run:
    first_screen: float
    first_paint: int
    move: int
    refresh: int
    idle_per_s: float


class Pty:
    """A child process on a pseudo-terminal of a given size; counts what it writes."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "MLVC_WATCH": "off", "COLUMNS": ""}
        env.pop("COLUMNS")
        self.start = time.monotonic()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.seen = bytearray()

    def read(self, timeout: float) -> int:
        """Read what arrives within ``timeout`` s; returns the bytes read."""
        got = 0
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:
                return 0
            self.seen += chunk
            got = len(chunk)
        return got

    def until(self, pattern: re.Pattern[bytes], timeout: float) -> float:
        """Seconds from launch until ``pattern`` is in the output."""
        end = time.monotonic() + timeout
        while not pattern.search(self.seen) and time.monotonic() < end:
            self.read(0.05)
        if not pattern.search(self.seen):
            raise TimeoutError(f"{pattern.pattern!r} not seen in {timeout} s")
        return time.monotonic() - self.start

    def quiet(self, quiet: float = QUIET, limit: float = 120.0) -> int:
        """Bytes written until the app is quiet for ``quiet`` seconds."""
        total, last, end = 0, time.monotonic(), time.monotonic() + limit
        while time.monotonic() - last < quiet and time.monotonic() < end:
            n = self.read(0.05)
            if n:
                total, last = total + n, time.monotonic()
        return total

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self) -> None:
        self.send(b"q")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)


def one_run(path: Path, cols: int, rows: int) -> Run:
    term = Pty([MLVC_TUI, str(path)], cols, rows)
    try:
        first = term.until(READY, timeout=600)
        paint = len(term.seen) + term.quiet()
        term.send(b"j")
        move = term.quiet()
        term.send(b"R")
        refresh = term.quiet(quiet=1.5)
        t0 = time.monotonic()
        idle = 0
        while time.monotonic() - t0 < 3.0:
            idle += term.read(0.1)
        return Run(first, paint, move, refresh, idle / 3.0)
    finally:
        term.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--branches", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--artifacts", type=int, default=40)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    cols, rows = (int(v) for v in args.size.split("x"))
    print(f"mlvc-tui in a {cols}x{rows} pty · median of {args.runs} runs (after one warm-up)")
    print(f"{'branches':>8} {'first screen':>12} {'first paint':>11} {'j':>8} {'R':>8} {'idle':>8}")
    for branches in args.branches:
        path = cached_registry(branches, 50, args.artifacts, 1)
        one_run(path, cols, rows)  # warm-up: the object cache on disk, the page cache
        runs = sorted(
            (one_run(path, cols, rows) for _ in range(args.runs)), key=lambda r: r.first_screen
        )
        mid = runs[len(runs) // 2]

        def kb(n: float) -> str:
            return f"{n / 1024:.1f} KB"

        print(
            f"{branches:>8} {mid.first_screen:>10.2f} s {kb(mid.first_paint):>11} "
            f"{kb(mid.move):>8} {kb(mid.refresh):>8} {mid.idle_per_s:>4.0f} B/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
