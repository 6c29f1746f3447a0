"""Benchmark promotion: planning (merge + gates), the check, the writes, the version list.

    python bench/bench_promote.py [--runs 5] [--branches 50 --commits 200 --artifacts 40]

On the demo registry and on a synthetic one (bench/synth.py), each measurement on a fresh
copy of the registry. Prints the median (min, max) in milliseconds.
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
from collections.abc import Callable
from pathlib import Path

from synth import cached_registry

from mlvc_tui.engine import Registry
from mlvc_tui.engine.demo.build import build_demo
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion, run_plan_check
from mlvc_tui.engine.promotion.versions import version_history

MLVC = str(Path(sys.executable).with_name("mlvc"))


def timed(runs: int, setup: Callable[[], Path], work: Callable[[Path], object]) -> list[float]:
    """``work(setup())`` ``runs`` times; milliseconds of each ``work`` call."""
    out = []
    for _ in range(runs):
        path = setup()
        start = time.perf_counter()
        work(path)
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<52} {statistics.median(ms):9.1f} ms  ({min(ms):.1f} .. {max(ms):.1f})")


def in_registry(call: Callable[[Registry], object]) -> Callable[[Path], object]:
    def run(path: Path) -> object:
        with Registry.open(path) as reg:
            return call(reg)

    return run


def add_candidate(path: Path, back: int) -> str:
    """``bench/candidate``: from ``prod~back``, a retrained model with better metrics (a true
    three-way merge into prod, artifacts only, so its gates pass)."""
    with Registry.open(path) as reg:
        start = reg.resolve(f"prod~{back}")
        doc = json.loads(reg.read("prod", "metrics/model.json"))
        doc["accuracy"] = round(min(0.999, doc["accuracy"] + 0.01), 4)
        with reg.transaction("bench/candidate", "Retrain: better model", start=start) as tx:
            tx.put("metrics/model.json", (json.dumps(doc, indent=2) + "\n").encode())
            for path_, art in reg.artifacts("prod").items():
                if art.kind == "models":
                    tx.put(path_, f"retrained {path_}".encode())
    return "bench/candidate"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--branches", type=int, default=50)
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--artifacts", type=int, default=40)
    args = parser.parse_args(argv)
    os.environ.setdefault("GIT_AUTHOR_NAME", "Bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    with tempfile.TemporaryDirectory(prefix="mlvc-bench-promote-") as tmp:
        root = Path(tmp)
        demo = build_demo(root / "demo", dirty=False)
        synth = cached_registry(args.branches, args.commits, args.artifacts)
        synth = Path(shutil.copytree(synth, root / "synth", symlinks=True))
        candidate = add_candidate(synth, args.commits // 2)
        count = iter(range(1_000_000))

        def copy(src: Path) -> Callable[[], Path]:
            return lambda: Path(shutil.copytree(src, root / f"copy-{next(count)}", symlinks=True))

        print(
            f"demo registry; synthetic {args.branches} branches x {args.commits} commits x "
            f"{args.artifacts} artifacts; median of {args.runs}"
        )
        report(
            "demo: plan staging -> prod, no check",
            timed(
                args.runs,
                lambda: demo,
                in_registry(lambda r: plan_promotion(r, "staging", run_check=False)),
            ),
        )
        report(
            "demo: the check (python src/check.py)",
            timed(
                args.runs,
                lambda: demo,
                in_registry(
                    lambda r: run_plan_check(r, plan_promotion(r, "staging", run_check=False))
                ),
            ),
        )
        report(
            "demo: promote staging (plan + check + writes)",
            timed(
                args.runs,
                copy(demo),
                in_registry(lambda r: apply_promotion(r, plan_promotion(r, "staging"))),
            ),
        )
        report(
            "demo: version list",
            timed(args.runs, lambda: demo, in_registry(lambda r: version_history(r, "prod"))),
        )
        report(
            "demo: `mlvc promote staging --dry-run` (process)",
            timed(
                args.runs,
                lambda: demo,
                lambda p: subprocess.run(
                    [MLVC, "-C", str(p), "promote", "staging", "--dry-run", "--json"],
                    capture_output=True,
                    check=True,
                ),
            ),
        )
        report(
            f"synthetic: plan {candidate} -> prod",
            timed(args.runs, lambda: synth, in_registry(lambda r: plan_promotion(r, candidate))),
        )
        report(
            f"synthetic: promote {candidate}",
            timed(
                args.runs,
                copy(synth),
                in_registry(lambda r: apply_promotion(r, plan_promotion(r, candidate))),
            ),
        )
        report(
            f"synthetic: version list over {args.commits}+ prod commits",
            timed(args.runs, lambda: synth, in_registry(lambda r: version_history(r, "prod"))),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
