"""Benchmark the live paths: a write reaching the screen, the append rate the tail keeps up
with, memory after millions of rows, and the grid following a commit on a big registry.

    python bench/bench_live.py              # everything (10 million rows: a few minutes)
    python bench/bench_live.py --quick      # 30 writes, 1 million rows: a smoke run

Every figure comes from the real app (`make_app(...).run_test()`, headless), the real
observer and real files; a write is "shown" when the tail view renders its line. Prints a
table; targets: p95 < 250 ms, >= 20,000 rows/s, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
HEADER = "timestamp,feature,metric,value,threshold\n"
FEATURES = ("age", "income", "tenure", "score")


def row(i: int) -> str:
    """One long-form drift row; every 97th over its threshold."""
    value = 0.5 if i % 97 == 0 else (i % 50) / 400
    return f"2026-09-01T00:00:00.{i:09d},{FEATURES[i % 4]},psi,{value},0.2\n"


def make_repo(path: Path, drift: str = HEADER) -> Path:
    """A small registry made with the git CLI, with a drift log in the working tree."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    (path / "monitoring").mkdir(parents=True)
    (path / "models").mkdir()
    (path / "models" / "model.pkl").write_bytes(b"model")
    (path / "monitoring" / "drift.csv").write_text(drift)
    for args in (["init", "-q", "-b", "prod"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True)
    return path


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def open_tail(app: Any, pilot: Any) -> Any:
    """The tail screen, once it has read the existing file and the watcher runs."""
    from mlvc_tui.live import live_of
    from mlvc_tui.screens.tail import TailScreen

    await pilot.pause()
    await app.workers.wait_for_complete()
    app.open_tail()
    while not (
        isinstance(app.screen, TailScreen)
        and app.screen.snapshot is not None
        and live_of(app).observer
        and "starting" not in live_of(app).observer
    ):
        await pilot.pause(0.01)
    return app.screen


async def latency(repo: Path, writes: int) -> tuple[list[float], str]:
    """Seconds from appending a row to the tail view rendering it, per write."""
    from mlvc_tui.app import make_app
    from mlvc_tui.live import live_of
    from mlvc_tui.widgets.tail_view import TailView

    app = make_app(repo)
    drift = repo / "monitoring" / "drift.csv"
    shown: dict[str, float] = {}
    async with app.run_test(size=(100, 30)) as pilot:
        tail = await open_tail(app, pilot)
        view = tail.query_one(TailView)
        render = view._render_item

        def spy(item: Any) -> Any:
            shown.setdefault(item.timestamp, time.perf_counter())
            return render(item)

        view._render_item = spy
        out = []
        for i in range(writes):
            stamp = f"2026-10-01T00:00:00.{i:09d}"
            start = time.perf_counter()
            with drift.open("a") as fh:
                fh.write(f"{stamp},age,psi,0.1,0.2\n")
            while stamp not in shown:
                await asyncio.sleep(0.001)
            out.append(shown[stamp] - start)
            await asyncio.sleep(0.02 + (i % 5) / 100)  # writes 20-60 ms apart, like a job
        return out, live_of(app).observer


WRITER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench_live import FEATURES
path, per_second, seconds = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
written, start = 0, time.perf_counter()
with open(path, "a") as fh:
    while (now := time.perf_counter()) - start < seconds:
        due = int((now - start) * per_second)
        if due > written:
            stamp = f"{time.time():.6f}"  # when it was written: the reader measures its age
            fh.write("".join(f"{stamp},{FEATURES[i % 4]},psi,{(i % 50) / 200},0.2\\n"
                             for i in range(written, due)))
            fh.flush()
            written = due
        time.sleep(0.005)
print(written, time.perf_counter() - start)
"""


async def rate(repo: Path, per_second: int, seconds: float) -> dict[str, float]:
    """A writer process appends at ``per_second`` for ``seconds``; how far behind the
    newest row on screen is (its age), and how long the UI loop was ever blocked."""
    from mlvc_tui.app import make_app

    app = make_app(repo)
    drift = repo / "monitoring" / "drift.csv"
    async with app.run_test(size=(100, 30)) as pilot:
        tail = await open_tail(app, pilot)
        base = tail.rows_seen
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WRITER,
            str(HERE),
            str(drift),
            str(per_second),
            str(seconds),
            stdout=subprocess.PIPE,
        )
        tick, stall, ages = time.perf_counter(), 0.0, []
        waiting = asyncio.ensure_future(writer.wait())
        while not waiting.done():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            stall, tick = max(stall, now - tick), now
            if tail.rows_seen > base:
                ages.append(time.time() - float(tail.recent[-1].timestamp))
        out = await writer.stdout.read()  # type: ignore[union-attr]
        written, took = int(out.split()[0]), float(out.split()[1])
        done_at = time.perf_counter()
        while tail.rows_seen - base < written and time.perf_counter() - done_at < 30:
            await asyncio.sleep(0.002)
        return {
            "rate": written / took,
            "age_p95": pct(ages, 0.95) if ages else float("nan"),
            "age_max": max(ages, default=float("nan")),
            "stall": stall,
            "drain": time.perf_counter() - done_at,
            "kept": float(tail.rows_seen - base == written),
        }


async def backlog(repo: Path, rows: int) -> float:
    """Rows per second the app reads a log that already holds ``rows`` rows."""
    from mlvc_tui.app import make_app

    app = make_app(repo)
    async with app.run_test(size=(100, 30)) as pilot:
        start = time.perf_counter()
        tail = await open_tail(app, pilot)
        while tail.rows_seen < rows:
            await asyncio.sleep(0.005)
        return rows / (time.perf_counter() - start)


MEMORY_CHILD = """
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
from bench_live import memory_child
asyncio.run(memory_child(sys.argv[2], int(sys.argv[3])))
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def memory_child(repo: str, rows: int) -> None:
    """In a fresh process: the app tails a log growing to ``rows`` rows; RSS per million."""
    from mlvc_tui.app import make_app

    app = make_app(repo)
    drift = Path(repo) / "monitoring" / "drift.csv"
    step = 100_000
    chunk = "".join(row(i) for i in range(step))
    async with app.run_test(size=(100, 30)) as pilot:
        tail = await open_tail(app, pilot)
        with drift.open("a") as fh:
            for done in range(step, rows + 1, step):
                fh.write(chunk)
                fh.flush()
                while tail.rows_seen < done:
                    await asyncio.sleep(0.002)
                if done % 1_000_000 == 0:
                    print(f"{done} {rss_mb():.1f}", flush=True)


def memory(repo: Path, rows: int) -> list[tuple[int, float]]:
    proc = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, str(HERE), str(repo), str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [(int(a), float(b)) for a, b in (ln.split() for ln in proc.stdout.split("\n") if ln)]


def commit_on(repo: Path, branch: str, n: int) -> tuple[str, str, str]:
    """A new commit for ``branch`` (made by git plumbing, not yet on the branch):
    (ref, new id, old id); ``git update-ref`` then moves the branch."""
    from bench_grid import git

    ref = f"refs/heads/{branch}"
    tip = git(repo, "rev-parse", ref)
    tree = git(repo, "rev-parse", f"{tip}^{{tree}}")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    return ref, git(repo, "commit-tree", tree, "-p", tip, "-m", f"live {n}", env=env), tip


async def grid_follow(moves: int) -> tuple[list[float], float, float]:
    """The 500-branch synthetic registry: `git update-ref` (another process) moving a branch
    until the grid shows it; plus in-process refresh + grid against a cold open + grid."""
    from bench_grid import git, link_copy, move_branch
    from synth import branch_names, cached_registry

    from mlvc_tui.app import make_app
    from mlvc_tui.engine import Registry
    from mlvc_tui.engine.live.watch import Change, apply_change
    from mlvc_tui.screens.grid import GridScreen

    with tempfile.TemporaryDirectory() as tmp:
        repo = link_copy(cached_registry(500, 50, 40), Path(tmp) / "repo")
        names = branch_names(500)
        start = time.perf_counter()
        with Registry.open(repo) as reg:
            reg.grid()
            cold = time.perf_counter() - start
            move_branch(repo, names[7], 10_000)
            start = time.perf_counter()
            apply_change(reg, Change(frozenset({f"refs/heads/{names[7]}"})))
            reg.grid()
            warm = time.perf_counter() - start
        app = make_app(repo)
        out = []
        async with app.run_test(size=(120, 40)) as pilot:
            await open_tail(app, pilot)  # waits for the watcher; then back to the grid
            app.pop_screen()
            grid: GridScreen = app.screen  # type: ignore[assignment]
            for n in range(moves):
                branch = names[n % 40]
                ref, new, old = commit_on(repo, branch, n)
                await asyncio.sleep(0.3)  # commits seconds apart, as people make them
                start = time.perf_counter()
                git(repo, "update-ref", ref, new, old)
                while grid.grid is None or grid.grid.row(branch).branch.commit.id != new:
                    await asyncio.sleep(0.002)
                out.append(time.perf_counter() - start)
        return out, cold, warm


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    writes, rows = (30, 1_000_000) if args.quick else (100, 10_000_000)
    os.environ["MLVC_WATCH"] = "native"
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        lat, observer = asyncio.run(latency(make_repo(base / "a"), writes))
        ms = [x * 1000 for x in lat]
        say(
            f"write -> screen, {observer}, {writes} writes: median {statistics.median(ms):.1f} "
            f"ms, p95 {pct(ms, 0.95):.1f} ms, max {max(ms):.1f} ms  (target: p95 < 250 ms)"
        )
        os.environ["MLVC_WATCH"], os.environ["MLVC_POLL_INTERVAL"] = "poll", "0.1"
        lat, observer = asyncio.run(latency(make_repo(base / "p"), min(writes, 30)))
        ms = [x * 1000 for x in lat]
        say(
            f"write -> screen, {observer}: median {statistics.median(ms):.1f} ms, "
            f"p95 {pct(ms, 0.95):.1f} ms"
        )
        os.environ["MLVC_WATCH"] = "native"
        for i, per_second in enumerate((20_000, 50_000, 100_000, 200_000)):
            r = asyncio.run(rate(make_repo(base / f"r{i}"), per_second, 3.0))
            say(
                f"append {r['rate']:>9,.0f} rows/s for 3 s: all shown "
                f"{'yes' if r['kept'] else 'NO'}; newest row on screen is p95 "
                f"{r['age_p95'] * 1000:.0f} ms old (max {r['age_max'] * 1000:.0f}); last row "
                f"shown {r['drain'] * 1000:.0f} ms after the writer stopped; longest UI stall "
                f"{r['stall'] * 1000:.0f} ms"
            )
        n = rows // 10
        repo = make_repo(base / "b", HEADER + "".join(row(i) for i in range(n)))
        say(f"backlog of {n:,} rows read by the app: {asyncio.run(backlog(repo, n)):,.0f} rows/s")
        points = memory(make_repo(base / "m"), rows)
        say(
            "RSS of the app tailing a growing log (rows: MB): "
            + ", ".join(f"{r // 1_000_000}M: {mb:.0f}" for r, mb in points)
        )
        if points:
            say(
                f"  growth from the first million rows to the last: "
                f"{points[-1][1] - points[0][1]:+.1f} MB"
            )
    lat, cold, warm = asyncio.run(grid_follow(10 if args.quick else 30))
    ms = [x * 1000 for x in lat]
    say(
        f"grid, 500 branches: git update-ref (another process) until the grid shows it: median "
        f"{statistics.median(ms):.0f} ms, p95 {pct(ms, 0.95):.0f} ms"
    )
    say(
        f"  in process: cold open + grid {cold * 1000:.0f} ms; refresh after one moved branch "
        f"+ grid {warm * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
