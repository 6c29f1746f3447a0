"""Benchmark `mlvc grid --json` and `mlvc versions` at scale, in fresh processes.

    python bench/bench_scale.py REPO [REPO ...] [--runs 5] [--only grid|versions]

Build the registries first with bench/synth.py, under /tmp (never committed), e.g.

    python bench/synth.py /tmp/s500  --branches 500  --commits 50 --artifacts 40
    python bench/synth.py /tmp/s5000 --branches 5000 --commits 10 --artifacts 40 --no-cache
    python bench/synth.py /tmp/stags --branches 50 --commits 50 --artifacts 40 --tags 10000
    python bench/synth.py /tmp/sbig  --branches 5000 --commits 5 --artifacts 2000 \\
        --tags 10000 --no-cache

For each registry and command: one cold run (no `.git/mlvc` cache), then ``--runs``
repeat runs with the cache the first one left. Prints the median (min, max) wall time and
CPU time of the repeat runs, the peak RSS of the cold run and the largest of the repeat
runs (``ru_maxrss`` of the finished child, measured one child at a time), the size of
stdout and of the disk cache afterwards, and the load average. ``--mlvc`` runs another
`mlvc` (an older checkout's, say) on the same registries, for before/after figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MLVC = ROOT / ".venv" / "bin" / "mlvc"
COMMANDS = {"grid": ["grid", "--json"], "versions": ["versions", "--json"]}


def run(repo: Path, args: list[str], exe: str | None = None) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS in bytes, bytes on stdout) of one fresh `mlvc`
    process (``exe``: another `mlvc` to run, e.g. an older checkout's). CPU time (user +
    system) is the steadier figure on a busy machine."""
    exe = exe or (str(MLVC) if MLVC.exists() else "mlvc")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "-C", str(repo), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    size = 0
    assert proc.stdout is not None
    while chunk := proc.stdout.read(1 << 20):
        size += len(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"mlvc {' '.join(args)} failed ({proc.returncode}): {err[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, size


def cache_bytes(repo: Path) -> int:
    """The size of mlvc's disk cache in this repository."""
    gitdir = repo / ".git" if (repo / ".git").is_dir() else repo
    folder = gitdir / "mlvc"
    if not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def measure(repo: Path, name: str, runs: int, exe: str | None = None) -> str:
    gitdir = repo / ".git" if (repo / ".git").is_dir() else repo
    shutil.rmtree(gitdir / "mlvc", ignore_errors=True)
    cold, cold_cpu, peak, out = run(repo, COMMANDS[name], exe)
    times, cpus, peaks = [], [], []
    for _ in range(runs):
        t, cpu, rss, out = run(repo, COMMANDS[name], exe)
        times.append(t)
        cpus.append(cpu)
        peaks.append(rss)
    med = statistics.median(times)
    return (
        f"{repo.name:<12} {name:<9} cold {cold:6.2f} s (cpu {cold_cpu:6.2f})  "
        f"repeat {med:6.2f} s ({min(times):.2f}-{max(times):.2f}, n={runs}, "
        f"cpu {statistics.median(cpus):6.2f})  peak cold {peak / 2**20:5.0f} MB, "
        f"repeat {max(peaks, default=0) / 2**20:5.0f} MB  "
        f"stdout {out / 2**20:8.1f} MB  cache {cache_bytes(repo) / 2**20:6.1f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repos", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=sorted(COMMANDS), action="append")
    ap.add_argument("--mlvc", help="the `mlvc` to run (default: this checkout's)")
    args = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
    for repo in args.repos:
        for name in args.only or sorted(COMMANDS):
            print(measure(repo.resolve(), name, args.runs, args.mlvc), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at end", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
