"""Benchmark `mlvc-tui --serve` in Debian's chromium: time to the grid, memory per tab.

    python bench/bench_serve.py [--runs 5] [--branches 500 --commits 50 --artifacts 40]
    python bench/bench_serve.py --quick      # the demo only, 3 runs

For the demo registry and a synthetic one (bench/synth.py), each run opens a new tab on the
URL and waits until the app has sent the grid's status line (`N branches`) over the
websocket: time from `page.goto` to that frame. Memory is the RSS of the tab's app process
group (the app and anything it started), read from /proc after the grid is up and the app
has settled for a second; the server's own RSS is printed beside it.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synth import cached_registry

ROOT = Path(__file__).resolve().parent.parent
MLVC_TUI = ROOT / ".venv" / "bin" / "mlvc-tui"
sys.path.insert(0, str(ROOT))

from tests.support.web import app_processes, browser, gone, open_tab  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    """Resident memory of one process, in MB (0 when it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * PAGE / 1e6


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in a process group, in MB."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += rss_mb(int(stat.parent.name))
    return total


def branch_count(path: Path) -> int:
    out = subprocess.run(
        ["git", "-C", str(path), "for-each-ref", "--format=x", "refs/heads"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.count("x")


def measure(name: str, path: Path, runs: int, context: object) -> None:
    """Open ``runs`` tabs one after another on a server for ``path``; print the figures."""
    marker = f"{branch_count(path)} branches"
    server = subprocess.Popen(
        [str(MLVC_TUI), "--serve", str(path), "--port", "0", "--max-sessions", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env={**os.environ, "MLVC_WATCH": "off"},
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    times, rss = [], []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            tab = open_tab(context, url)
            tab.wait_for(marker, timeout=120)
            times.append(time.perf_counter() - started)
            tab.page.wait_for_timeout(1000)
            (app,) = app_processes(server.pid)
            rss.append(group_rss_mb(app))
            tab.page.close()
            gone(app)
        server_mb = rss_mb(server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(15)
    print(
        f"{name:<28} grid visible {statistics.median(times):6.2f} s "
        f"(min {min(times):.2f}, max {max(times):.2f})   "
        f"per tab {statistics.median(rss):5.0f} MB RSS   server {server_mb:4.0f} MB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--branches", type=int, default=500)
    ap.add_argument("--commits", type=int, default=50)
    ap.add_argument("--artifacts", type=int, default=40)
    ap.add_argument("--quick", action="store_true", help="the demo only, 3 runs")
    args = ap.parse_args()
    from mlvc_tui.engine.demo.build import build_demo

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        demo = build_demo(Path(tmp) / "demo", seed=7)
        with browser(Path(tmp)) as context:
            measure("demo (8 branches)", demo, 3 if args.quick else args.runs, context)
            if not args.quick:
                synth = cached_registry(args.branches, args.commits, args.artifacts)
                label = f"synth {args.branches}x{args.commits}x{args.artifacts}"
                measure(label, synth, args.runs, context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
