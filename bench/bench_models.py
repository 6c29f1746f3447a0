"""Big models through the API: throughput and peak memory, with Git LFS and without.

    .venv/bin/python bench/bench_models.py [--size-mb 2048] [--dir PATH] [--numpy]

Each step runs in a fresh process and reports its own peak RSS (VmHWM, else getrusage), and
how far that peak rose above the process's RSS once imports were done. Steps, per storage
(`blob`: a loose git object; `lfs`: `.gitattributes` sends `*.bin` to Git LFS):

- save:  `save_model(<binary stream of N MB>, format="raw")`: one commit with the record
- read:  `reg.open(branch, path, "rb")` read in 1 MiB chunks, hashed (sha256)
- fetch: `fetch_model(dest)`: checked against the record's sha256 while copied to a file
- with --numpy: pickle a float64 array of N MB (`save_model`) and `load_model` it back;
  there the array itself is in memory, so look at the rise above N.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1 << 20
BRANCH = "bench"


class Synthetic:
    """N MB of incompressible, deterministic bytes, read like a file (never all in memory)."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = hashlib.shake_256(b"mlvc-bench").digest(MB)
        self.n = 0

    def read(self, size: int = -1) -> bytes:
        size = min(self.left, MB if size < 0 else size, MB)
        self.left -= size
        self.n += 1
        return self.n.to_bytes(8, "little") + self.block[8:size] if size >= 8 else b"x" * size


def _peak_mb() -> float:
    """This process's peak RSS. Linux keeps `ru_maxrss` across exec, so a child of a big
    parent (pytest) would report the parent's size: VmHWM (per address space) is exact."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def run_step(step: str, repo: str, size: int, path: str) -> dict[str, Any]:
    """One step in this process; what it measured."""
    import mlvc_tui as mlvc

    if step.endswith("numpy"):
        import numpy as np
    base = _rss_mb()
    start = time.perf_counter()
    out: dict[str, Any] = {}
    with mlvc.open(repo) as reg:
        if step == "save":
            out["sha256"] = reg.save_model(
                Synthetic(size), path, branch=BRANCH, format="raw"
            ).sha256
        elif step == "read":
            digest = hashlib.sha256()
            with reg.open(BRANCH, path, "rb") as fh:
                while chunk := fh.read(MB):
                    digest.update(chunk)
            out["sha256"] = digest.hexdigest()
        elif step == "fetch":
            dest = Path(repo).parent / "fetched.bin"
            reg.fetch_model(dest, path, ref=BRANCH)
            out["bytes"] = dest.stat().st_size
            dest.unlink()
        elif step == "save-numpy":
            array = np.ones(size // 8)
            base = _rss_mb()
            start = time.perf_counter()
            reg.save_model(array, path, branch=BRANCH, format="pickle")
        elif step == "load-numpy":
            out["bytes"] = reg.load_model(path, ref=BRANCH).nbytes
        else:
            raise SystemExit(f"unknown step {step}")
    out.update(step=step, seconds=time.perf_counter() - start, base_mb=base, peak_mb=_peak_mb())
    return out


def measure(step: str, repo: Path, size: int, path: str) -> dict[str, Any]:
    """`run_step` in a fresh process (so its peak RSS is its own)."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--step",
            step,
            "--repo",
            str(repo),
            "--size",
            str(size),
            "--path",
            path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def make_repo(root: Path, lfs: bool) -> Path:
    """A registry with a `bench` branch (``*.bin`` and ``*.pkl`` in LFS when asked)."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    root.mkdir(parents=True)
    git = ["git", "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", BRANCH], check=True, env=env)
    attrs = "*.bin filter=lfs diff=lfs merge=lfs -text\n*.pkl filter=lfs diff=lfs merge=lfs -text\n"
    (root / ".gitattributes").write_text(attrs if lfs else "")
    (root / "README.md").write_text("bench\n")
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "start"], check=True, env=env)
    subprocess.run([*git, "checkout", "-q", "--detach"], check=True, env=env)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--dir", default=None, help="where to build the registries")
    parser.add_argument("--numpy", action="store_true", help="also pickle a numpy array")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        metavar="STEP",
        help="run only these steps (save, read, fetch, save-numpy, load-numpy)",
    )
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--repo", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.repo, args.size, args.path)))
        return
    size = args.size_mb * MB
    work = Path(tempfile.mkdtemp(prefix="mlvc-bench-models-", dir=args.dir))
    steps = ["save", "read", "fetch"] + (["save-numpy", "load-numpy"] if args.numpy else [])
    steps = [s for s in steps if args.only is None or s in args.only]
    print(
        f"{args.size_mb} MiB model; peak RSS of each step's process, and its rise above "
        "the RSS after imports\n"
    )
    print(f"{'storage':8} {'step':11} {'seconds':>8} {'MiB/s':>8} {'peak MiB':>9} {'rise MiB':>9}")
    try:
        for storage in ("blob", "lfs"):
            repo = make_repo(work / storage, storage == "lfs")
            for step in steps:
                path = "models/model.pkl" if "numpy" in step else "models/model.bin"
                r = measure(step, repo, size, path)
                print(
                    f"{storage:8} {step:11} {r['seconds']:8.1f} "
                    f"{args.size_mb / r['seconds']:8.0f} {r['peak_mb']:9.0f} "
                    f"{r['peak_mb'] - r['base_mb']:9.0f}",
                    flush=True,
                )
            shutil.rmtree(repo)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
