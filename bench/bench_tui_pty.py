"""The real app in a pseudo-terminal: launch → first screenful of the grid, and the bytes
written to the terminal per action (first paint, one `j`, `R`, idle), and how long a
filter keystroke takes to show.

    .venv/bin/python bench/bench_tui_pty.py [--branches 500 5000] [--size 120x40] [--runs 3]
                                            [--app PATH]

`mlvc-tui PATH` runs on a synthetic registry (bench/synth.py, 50 commits per branch, 40
artifacts) in a pty of the given size, exactly as a terminal would run it (Python start and
the Textual import included, byte-compiled modules cached as an installed app has them).
What the app writes is fed to a terminal emulator (pyte), and the moments are read off its
screen. "First screenful" is the moment the status bar's branch count is on screen: the
rows that fit and the counts are drawn ("(CPU)": the CPU seconds the app had used by then, steadier
on a loaded machine); "all rows" the moment the changed count is (every row read).
Bytes are counted from the pty until the app has been quiet for QUIET seconds after each
action. "Filter key" is the median, over three keystrokes typed into the filter (`/`
first: `0`, `1`, backspace), of keypress → the new "N of M branches" count on screen.
``--app`` runs another mlvc-tui (an older checkout, to compare). Prints a table; times are
wall-clock on this machine, so compare runs, not machines.

A second table has, per registry, how long `R` takes (keypress → the status bar's
"reading M more…" of its first part on screen, the rows in view, and → its "N changed"
again: every row read anew; 0 when no "reading" showed: every row fits on screen, or the
rest was read before the next frame) and the app's peak RSS (VmHWM from /proc just before
quitting; "(first)": when the first screenful was on screen). The largest size of issue 16:

    .venv/bin/python bench/bench_tui_pty.py --branches 5000 --commits 5 --artifacts 2000 \\
        --tags 10000 --runs 1

(``--repo PATH`` runs on a registry made beforehand, e.g. by bench/synth.py, instead;
``--cold`` removes mlvc's disk cache before each start, as on a first start.)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))
from synth import cached_registry

from tests.support.terminal import AppInPty

MLVC_TUI = str(Path(sys.executable).with_name("mlvc-tui"))
QUIET = 0.6  # seconds without output that count as "done drawing"
READY = re.compile(r"\d[\d,]* branch")  # the status bar's count: the grid is on screen
FILLED = re.compile(r"\d+ changed")  # the changed count: every row has been read
COUNT = re.compile(r"\d+ of [\d,]+ branch")  # the filtered count: the filter is applied
READING = re.compile(r"reading [\d,]+ more")  # a read's first part is on screen
QUIET_R = 5.0  # seconds of silence after R that mean it was read in one part
PYC = Path(__file__).resolve().parent / ".cache" / "pyc"  # byte-compiled modules, kept


@dataclass
class Run:
    first_screen: float
    first_cpu: float
    filled: float
    first_paint: int
    move: int
    refresh: int
    idle_per_s: float
    filter_key: float
    refresh_first: float = 0.0  # R → its first part on screen
    refresh_done: float = 0.0  # R → every row read again
    rss_first: int = 0  # peak RSS (bytes) when the first screenful was on screen
    rss: int = 0  # peak RSS before quitting


class Pty(AppInPty):
    """The app on a pseudo-terminal, as an installed app runs (its .pyc files kept)."""

    def __init__(self, argv: list[str], cols: int, rows: int) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "MLVC_WATCH": "off"}
        env.pop("COLUMNS", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed app has its .pyc files
        env["PYTHONPYCACHEPREFIX"] = str(PYC)  # written here, not into the source tree
        super().__init__(argv, cols, rows, env)

    def quiet(self, quiet: float = QUIET, limit: float = 120.0) -> int:
        return super().quiet(quiet, limit)

    def response(self, keys: bytes, pattern: re.Pattern[str], limit: float = 30.0) -> float:
        """Seconds from sending ``keys`` until what the screen shows of ``pattern`` changes."""
        before, t0 = self.shows(pattern), time.monotonic()
        self.send(keys)
        while time.monotonic() - t0 < limit:
            if self.read(0.01) and self.shows(pattern) not in (None, before):
                break  # (the screen is read only when something arrived)
        return self.arrived - t0  # when the bytes that show it arrived

    def peak_rss(self) -> int:
        """The app's peak resident memory so far, in bytes (VmHWM)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def refresh_times(self) -> tuple[float, float]:
        """Seconds from `R` to its first part on screen ("reading M more…") and to every
        row read again (the changed count back); (0, 0) when no part showed."""
        first = done = 0.0
        t0 = last = time.monotonic()
        self.send(b"R")
        while time.monotonic() - t0 < 600:
            if self.read(0.01):
                last = time.monotonic()
                if not first and self.shows(READING):
                    first = time.monotonic() - t0
                if first and not self.shows(READING) and self.shows(FILLED):
                    done = time.monotonic() - t0
                    break
            elif self.proc.poll() is not None:
                raise RuntimeError(f"the app exited ({self.proc.returncode})")
            elif not first and time.monotonic() - last > QUIET_R:
                break  # every row fits on screen: one part, nothing to see
        return first, done


def one_run(path: Path, cols: int, rows: int, app: str = MLVC_TUI) -> Run:
    term = Pty([app, str(path)], cols, rows)
    try:
        first = term.until(READY, timeout=600)
        first_cpu, rss_first = term.cpu(), term.peak_rss()
        filled = term.until(FILLED, timeout=600)
        paint = len(term.seen) + term.quiet()
        term.send(b"j")
        move = term.quiet()
        start = len(term.seen)
        refresh_first, refresh_done = term.refresh_times()
        refresh = len(term.seen) - start + term.quiet(quiet=1.5)
        t0 = time.monotonic()
        idle = 0
        while time.monotonic() - t0 < 3.0:
            idle += term.read(0.1)
        term.send(b"/")
        term.quiet(quiet=0.3)  # (the filter's cursor blinks: never quiet for long)
        keys = sorted(term.response(key, COUNT) for key in (b"0", b"1", b"\x7f"))  # type, erase
        term.send(b"\x1b")
        term.quiet()
        rss = term.peak_rss()
        return Run(
            first,
            first_cpu,
            filled,
            paint,
            move,
            refresh,
            idle / 3.0,
            keys[1],
            refresh_first,
            refresh_done,
            rss_first,
            rss,
        )
    finally:
        term.close()


def median_run(runs: list[Run]) -> Run:
    """Each measurement's own median over ``runs`` (not all of one middling run's)."""
    return Run(*(median(getattr(r, f.name) for r in runs) for f in fields(Run)))


def drop_disk_cache(path: Path) -> None:
    """Remove mlvc's cache of git objects from the registry at ``path`` (bare or not)."""
    for folder in (path / ".git" / "mlvc", path / "mlvc"):
        for file in folder.glob("cache-*"):
            file.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--branches", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--commits", type=int, default=50, help="commits per branch")
    ap.add_argument("--artifacts", type=int, default=40)
    ap.add_argument("--tags", type=int, default=None, help="version tags on prod")
    ap.add_argument("--repo", type=Path, help="run on this registry (not a synthetic one)")
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--app", default=MLVC_TUI, help="the mlvc-tui to run (default: this one)")
    ap.add_argument("--cold", action="store_true", help="without mlvc's disk cache (a first start)")
    args = ap.parse_args(argv)
    cols, rows = (int(v) for v in args.size.split("x"))
    cold = " · cold: no disk cache at each start" if args.cold else ""
    how = f"medians of {args.runs} runs (after one warm-up)"
    print(f"mlvc-tui in a {cols}x{rows} pty · {how}{cold}")
    print(
        f"{'branches':>8} {'first screen':>12} {'(CPU)':>7} {'all rows':>9} {'first paint':>11} "
        f"{'j':>8} {'R':>8} {'idle':>8} {'filter key':>10}"
    )
    extra = []
    for branches in [args.repo.name] if args.repo else args.branches:
        path = args.repo or cached_registry(
            branches, args.commits, args.artifacts, 1, tags=args.tags
        )

        def run(path: Path) -> Run:
            if args.cold:
                drop_disk_cache(path)
            return one_run(path, cols, rows, args.app)

        run(path)  # warm-up: the page cache (and mlvc's disk cache, unless --cold)
        mid = median_run([run(path) for _ in range(args.runs)])
        extra.append((branches, mid))

        def kb(n: float) -> str:
            return f"{n / 1024:.1f} KB"

        print(
            f"{branches:>8} {mid.first_screen:>10.2f} s {mid.first_cpu:>5.2f} s "
            f"{mid.filled:>7.2f} s "
            f"{kb(mid.first_paint):>11} {kb(mid.move):>8} {kb(mid.refresh):>8} "
            f"{mid.idle_per_s:>4.0f} B/s {mid.filter_key * 1000:>7.0f} ms"
        )
    print(
        f"{'branches':>8} {'R: first part':>13} {'R: all rows':>11} {'peak RSS':>10} {'(first)':>9}"
    )
    for branches, mid in extra:
        print(
            f"{branches:>8} {mid.refresh_first:>11.2f} s {mid.refresh_done:>9.2f} s "
            f"{mid.rss / 2**20:>7.0f} MB {mid.rss_first / 2**20:>6.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
