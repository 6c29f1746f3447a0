"""Benchmark the registry grid: ``mlvc grid`` against the git CLI, cold and in process.

    python bench/bench_grid.py [--branches 500 --commits 50 --artifacts 40 --runs 7]
    python bench/bench_grid.py --quick          # 50 x 10 x 20, 3 runs: a smoke run

Prints the median (min, max) of each measurement; see bench/README.md for what each means.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from synth import branch_names, cached_registry

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
MLVC = VENV_BIN / "mlvc"
HEAVY = ("pandas", "textual", "numpy", "rich", "plotext", "watchdog")
TARGET_RATIO = 0.5
TARGET_REFRESH_MS = 20.0
ENGINE_CACHE_DIR = "mlvc"  # the engine keeps facts about object ids in <git dir>/mlvc/

IMPORT_PROBE = """\
import io, json, sys
sys.argv = ["mlvc", "-C", sys.argv[1], "grid", "--json"]
from mlvc_tui.cli.main import main
real, sys.stdout = sys.stdout, io.StringIO()
try:
    rc = main()
except SystemExit as exc:
    rc = exc.code
finally:
    sys.stdout = real
roots = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"rc": rc, "modules": len(sys.modules), "roots": roots}))
"""


class Stats:
    """Timings of one measurement, in seconds."""

    def __init__(self, label: str, unit: str = "s") -> None:
        self.label, self.unit, self.times = label, unit, list[float]()

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def row(self, note: str = "") -> str:
        if not self.times:
            return f"{self.label:<50} {'n/a':>9}  {note}"
        k = 1000.0 if self.unit == "ms" else 1.0
        cells = (
            f"{t * k:9.{1 if self.unit == 'ms' else 3}f}"
            for t in (self.median, min(self.times), max(self.times))
        )
        return f"{self.label:<50} {' '.join(cells)} {self.unit:<2} {len(self.times):>3}  {note}"


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_cold(cmd: Sequence[str]) -> float:
    """Seconds one cold process takes, output discarded; raises when it fails."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr.decode()}")
    return took


def git(repo: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Output of one git command, stripped."""
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
    ).stdout.strip()


def move_branch(repo: Path, branch: str, n: int) -> str:
    """Commit a new ``metrics/model.json`` onto ``branch`` (git plumbing); the new id."""
    ref = f"refs/heads/{branch}"
    tip = git(repo, "rev-parse", ref)
    doc = {"accuracy": 0.5 + n / 1000, "loss": 1 - n / 1000, "latency": {"p50_ms": n}}
    blob = git(repo, "hash-object", "-w", "--stdin", stdin=json.dumps(doc) + "\n")
    metrics = git(repo, "ls-tree", f"{tip}:metrics").splitlines()
    metrics = [
        ln if not ln.endswith("\tmodel.json") else f"100644 blob {blob}\tmodel.json"
        for ln in metrics
    ]
    sub = git(repo, "mktree", stdin="\n".join(metrics) + "\n")
    top = [
        ln if not ln.endswith("\tmetrics") else f"040000 tree {sub}\tmetrics"
        for ln in git(repo, "ls-tree", tip).splitlines()
    ]
    tree = git(repo, "mktree", stdin="\n".join(top) + "\n")
    stamp = f"{1_800_000_000 + n} +0000"
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": stamp,
        "GIT_COMMITTER_DATE": stamp,
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    new = git(repo, "commit-tree", tree, "-p", tip, "-m", f"bench move {n}", env=env)
    git(repo, "update-ref", ref, new, tip)
    return new


def link_copy(src: Path, dest: Path) -> Path:
    """A copy of a repository whose object files are hard links (git never edits those).

    Everything else (refs, reflogs, index, caches) is copied: git appends to reflogs in
    place, which would write through a hard link into the original.
    """

    def copy(a: str, b: str) -> None:
        if f"{os.sep}objects{os.sep}" in a:
            try:
                os.link(a, b)
                return
            except OSError:
                pass
        shutil.copy2(a, b)

    shutil.copytree(src, dest, symlinks=True, copy_function=copy)
    return dest


def import_check(repo: Path) -> list[str]:
    """Lines saying which modules ``mlvc grid --json`` imports, and its heaviest imports."""
    proc = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", IMPORT_PROBE, str(repo)], capture_output=True, text=True
    )
    if proc.returncode or not proc.stdout.strip():
        return [f"import check failed: {proc.stderr.strip().splitlines()[-1:]}"]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    roots = set(probe["roots"])
    heavy = {m: m in roots for m in HEAVY}
    verdict = "OK" if not (heavy["pandas"] or heavy["textual"]) else "FAIL"
    lines = [
        f"mlvc grid --json imported {probe['modules']} modules (exit {probe['rc']}); "
        + ", ".join(f"{m}: {'YES' if v else 'no'}" for m, v in heavy.items())
        + f"  [{verdict}: neither pandas nor textual]"
    ]
    cumulative: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if parts[0].isdigit() and parts[2]:
            root = parts[2].split(".")[0]
            cumulative[root] = max(cumulative.get(root, 0), int(parts[1]))
    top = sorted(cumulative.items(), key=lambda kv: -kv[1])[:8]
    lines.append(
        "heaviest imports by package (largest cumulative entry): "
        + ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in top)
    )
    if verdict == "FAIL":
        lines.append("ASSERTION FAILED: mlvc grid --json imports pandas or textual")
    return lines


def engine_cache_files(repo: Path) -> list[Path]:
    """The engine's on-disk object cache (``<git dir>/mlvc/cache-*``), if any."""
    gitdir = repo / ".git" if (repo / ".git").is_dir() else repo
    return sorted((gitdir / ENGINE_CACHE_DIR).glob("cache-*"))


def clear_engine_cache(repo: Path) -> None:
    """Remove the engine's on-disk cache, so the next run is a first run."""
    for path in engine_cache_files(repo):
        path.unlink(missing_ok=True)


def bench_cold(repo: Path, runs: int) -> tuple[Stats, Stats, Stats, int | None]:
    """Cold processes, interleaved so drift on a noisy machine hits every side alike.

    mlvc runs twice per round: first with its on-disk cache removed (a first run on this
    repository), then again with the cache that run wrote (a repeated run).
    """
    gitp = Stats("git CLI pipeline, cold process")
    first = Stats("mlvc grid --json, cold, first run (no cache)")
    again = Stats("mlvc grid --json, cold, repeat (mlvc cache)")
    pipeline = [PYTHON, str(HERE / "git_pipeline.py"), str(repo)]
    command = [str(MLVC), "-C", str(repo), "grid", "--json"]
    rows: int | None = None
    if MLVC.exists():
        out = subprocess.run(command, capture_output=True, text=True)
        if out.returncode:
            print(f"mlvc grid failed (exit {out.returncode}): {out.stderr.strip()}")
        else:
            doc = json.loads(out.stdout)
            rows = len(doc.get("branches") or doc.get("rows") or ())
    run_cold(pipeline)  # warm the page cache for every side
    for _ in range(runs):
        gitp.times.append(run_cold(pipeline))
        if MLVC.exists() and rows is not None:
            clear_engine_cache(repo)
            first.times.append(run_cold(command))
            again.times.append(run_cold(command))
    return gitp, first, again, rows


def bench_in_process(repo: Path, runs: int, moves: int, names: list[str]) -> list[str]:
    """Registry.open().grid() cold, grid() warm, and refresh()+grid() after moving a branch."""
    try:
        from mlvc_tui.engine import Registry
    except ImportError as exc:
        return [f"in process: mlvc_tui.engine.Registry not importable ({exc})"]

    def cold(clear: bool) -> float:
        if clear:
            clear_engine_cache(repo)
        start = time.perf_counter()
        with Registry.open(repo) as reg:
            reg.grid()
        return time.perf_counter() - start

    cold_first, cold_s, warm, idle, moved = (
        Stats(label, "ms")
        for label in (
            "Registry.open(path).grid(), in process, no cache",
            "Registry.open(path).grid(), in process, cache",
            "reg.grid(), warm",
            "reg.refresh(); reg.grid(), nothing moved",
            "reg.refresh(); reg.grid(), one branch moved",
        )
    )
    cold_first.times = [cold(clear=True) for _ in range(runs)]
    cold_s.times = [cold(clear=False) for _ in range(runs)]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="mlvc-bench-") as tmp:
        copy = link_copy(repo, Path(tmp) / "repo")
        with Registry.open(copy) as reg:
            reg.grid()
            warm.times = [timed(reg.grid) for _ in range(runs)]
            idle.times = [timed(lambda: (reg.refresh(), reg.grid())) for _ in range(runs)]
            movable = [n for n in names if n != "prod"] or names
            for i in range(moves):
                branch = movable[(i * 7) % len(movable)]
                new = move_branch(copy, branch, i)
                start = time.perf_counter()
                reg.refresh()
                grid = reg.grid()
                moved.times.append(time.perf_counter() - start)
                row = grid.row(branch)
                if row is None or row.branch.commit.id != new:
                    got = None if row is None else row.branch.commit.id
                    notes.append(f"STALE: after moving {branch} to {new[:10]} grid shows {got}")
    ok = moved.times and moved.median * 1000 < TARGET_REFRESH_MS
    target = f"target < {TARGET_REFRESH_MS:.0f} ms: {'OK' if ok else 'MISSED'}"
    return [cold_first.row(), cold_s.row(), warm.row(), idle.row(), moved.row(target), *notes]


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the registry, run every measurement, print the table.

    Exits 1 when a check fails (a stale grid after a move, pandas or textual imported).
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--branches", type=int, default=500)
    ap.add_argument("--commits", type=int, default=50, help="commits per branch")
    ap.add_argument("--artifacts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=7, help="cold runs per measurement")
    ap.add_argument("--moves", type=int, default=9, help="branch moves for refresh timing")
    ap.add_argument("--bare", action="store_true", help="benchmark a bare registry")
    ap.add_argument("--quick", action="store_true", help="50 x 10 x 20, 3 runs (smoke run)")
    ap.add_argument(
        "--repo", type=Path, help="benchmark this repository instead of a synthetic one"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.branches, args.commits, args.artifacts, args.runs, args.moves = 50, 10, 20, 3, 3
    start = time.perf_counter()
    if args.repo:
        repo = args.repo.resolve()
        heads = git(repo, "for-each-ref", "--format=%(refname)", "refs/heads").split()
        names = [h.removeprefix("refs/heads/") for h in heads]
        about = f"{len(names)} branches"
    else:
        repo = cached_registry(args.branches, args.commits, args.artifacts, args.seed, args.bare)
        names = branch_names(args.branches)
        about = (
            f"{args.branches} branches x {args.commits} commits x {args.artifacts} artifacts, "
            f"seed {args.seed}"
        )
    made = time.perf_counter() - start
    pack = sum(p.stat().st_size for p in repo.glob("**/objects/pack/*.pack")) / 1e6
    print(
        f"registry {repo}\n  {about}, pack {pack:.0f} MB (ready in {made:.1f} s); "
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus\n"
    )
    out: list[str] = [f"{'measurement':<50} {'median':>9} {'min':>9} {'max':>9}     n"]
    print(out[-1])
    gitp, first, again, rows = bench_cold(repo, args.runs)
    note = "" if MLVC.exists() else f"({MLVC} missing: pip install -e {ROOT})"
    if rows is not None and rows != len(names):
        note = f"WARNING: {rows} rows for {len(names)} branches"
    out += [gitp.row(), first.row(note), again.row(note)]
    for label, mlvc in (("first run", first), ("repeat", again)):
        if gitp.times and mlvc.times:
            ratio = mlvc.median / gitp.median
            verdict = "OK" if ratio <= TARGET_RATIO else "MISSED"
            out.append(
                f"{f'ratio mlvc / git pipeline, {label}':<50} {ratio:9.2f}"
                f"{'':>27}target <= {TARGET_RATIO}: {verdict}"
            )
    print("\n".join(out[1:]), flush=True)
    lines = bench_in_process(repo, args.runs, args.moves, names)
    lines.append("")
    lines += import_check(repo) if MLVC.exists() else ["import check skipped: no mlvc"]
    print("\n".join(lines))
    failed = any(ln.startswith(("STALE", "ASSERTION FAILED")) for ln in lines)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
