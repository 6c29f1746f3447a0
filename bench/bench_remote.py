"""Benchmark the shared registry over smart HTTP (lighttpd + git http-backend on loopback).

    python bench/bench_remote.py [--runs 5] [--branches 500] [--promotions 8] [--boxes 4]

1. `mlvc fetch` of a synthetic registry (bench/synth.py, 500 branches) into an empty
   repository, against `git fetch` of the same refs (branches, tags): median ms and ratio.
   Also the no-op fetch (nothing new) of both.
2. A promotion round trip (fetch, plan against the server's prod, atomic push, confirm),
   in process and through the `mlvc` command, with the server's pre-receive hook on.
3. ``--boxes`` concurrent promoters, each promoting its own candidates one after another:
   promotions per second, and how many attempts were re-planned after a lost race.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from synth import cached_registry  # noqa: E402

from tests.support.servers import start_http  # noqa: E402

MLVC = str(Path(sys.executable).with_name("mlvc"))
# every candidate may land in any order: the primary-metric gate lets a worse one through
TOML = '[registry]\nprod = "prod"\nmodel = "models/model.pkl"\n\n[gates]\nmin_delta = -1.0\n'
ENV_KEYS = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(ENV_KEYS, GIT_AUTHOR_NAME="trainer1", GIT_AUTHOR_EMAIL="trainer1@example.com")
    env.update(GIT_COMMITTER_NAME="trainer1", GIT_COMMITTER_EMAIL="trainer1@example.com")
    return env


def run(*cmd: str, cwd: Path | None = None) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=_env(), check=True, capture_output=True, text=True)
    return out.stdout


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):8.1f} ms (min {min(samples):.1f}, max {max(samples):.1f})"


def timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def bench_fetch(url: str, tmp: Path, runs: int) -> None:
    git_ms, mlvc_ms, git_noop, mlvc_noop = [], [], [], []
    for i in range(runs):
        for kind, out, noop in (("git", git_ms, git_noop), ("mlvc", mlvc_ms, mlvc_noop)):
            d = tmp / f"fetch-{kind}-{i}"
            run("git", "init", "-q", str(d))
            run("git", "-C", str(d), "remote", "add", "origin", url)
            if kind == "git":
                cmd = ["git", "-C", str(d), "fetch", "-q", "--tags", "origin"]
            else:
                cmd = [MLVC, "-C", str(d), "fetch", "-q"]
            out.append(timed(lambda cmd=cmd: run(*cmd)))
            noop.append(timed(lambda cmd=cmd: run(*cmd)))
            shutil.rmtree(d)
    ratio = statistics.median(mlvc_ms) / statistics.median(git_ms)
    print(f"fetch, empty clone   git  {median_ms(git_ms)}")
    print(f"fetch, empty clone   mlvc {median_ms(mlvc_ms)}   ratio {ratio:.2f}x (target <= 1.5x)")
    ratio = statistics.median(mlvc_noop) / statistics.median(git_noop)
    print(f"fetch, nothing new   git  {median_ms(git_noop)}")
    print(f"fetch, nothing new   mlvc {median_ms(mlvc_noop)}   ratio {ratio:.2f}x")


def small_registry(path: Path, candidates: int) -> Path:
    """prod with a model and metrics, and ``candidates`` branches that each retrain it."""
    run("git", "init", "-q", "-b", "prod", str(path))
    (path / "models").mkdir()
    (path / "metrics").mkdir()
    (path / "mlvc.toml").write_text(TOML)
    (path / "models/model.pkl").write_bytes(b"model-0")
    (path / "metrics/model.json").write_text(json.dumps({"accuracy": 0.8}))
    run("git", "-C", str(path), "add", "-A")
    run("git", "-C", str(path), "commit", "-q", "-m", "first model")
    for i in range(candidates):
        run("git", "-C", str(path), "checkout", "-q", "-b", f"exp/c{i}", "prod")
        (path / "models/model.pkl").write_bytes(f"model-c{i}".encode())
        (path / "metrics/model.json").write_text(json.dumps({"accuracy": 0.8 + i / 1000}))
        run("git", "-C", str(path), "commit", "-q", "-am", f"train c{i}")
    run("git", "-C", str(path), "checkout", "-q", "prod")
    return path


def worker(clone: str, branches: list[str]) -> None:
    """Promote each branch on the server in turn; print the attempts each took (JSON)."""
    from mlvc_tui.engine import Refused, Registry
    from mlvc_tui.engine.remote.atomic import remote_promote

    attempts, refused, reasons = [], 0, []
    with Registry.open(clone) as reg:
        for b in branches:
            try:
                attempts.append(remote_promote(reg, b, attempts=20).attempts)
            except Refused as exc:
                refused += 1
                reasons.append(str(exc))
    print(json.dumps({"attempts": attempts, "refused": refused, "reasons": reasons}))


def bench_promotion(server, tmp: Path, promotions: int, boxes: int) -> None:  # type: ignore[no-untyped-def]
    from mlvc_tui.engine import Registry
    from mlvc_tui.engine.remote.atomic import remote_promote

    total = promotions * (boxes + 2)
    seed = small_registry(tmp / "seed", total)
    bare = server.new_repo("promote.git")
    url = server.url(bare.name, "trainer1")
    run("git", "-C", str(seed), "push", "-q", url, "--all")
    run(MLVC, "server", "install-hook", str(bare))
    run(MLVC, "clone", "-q", url, str(tmp / "box"))
    names = [f"exp/c{i}" for i in range(total)]
    inproc = []
    with Registry.open(tmp / "box") as reg:
        for b in names[:promotions]:
            inproc.append(timed(lambda b=b: remote_promote(reg, b)))
    cli = [
        timed(lambda b=b: run(MLVC, "-C", str(tmp / "box"), "promote", b, "--yes", "--remote"))
        for b in names[promotions : 2 * promotions]
    ]
    print(f"promotion round trip, in process {median_ms(inproc)}")
    print(f"promotion round trip, mlvc CLI   {median_ms(cli)}")
    for i in range(boxes):
        run(MLVC, "clone", "-q", url, str(tmp / f"box{i}"))
    rest = names[2 * promotions :]
    start = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(tmp / f"box{i}"), *rest[i::boxes]],
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for i in range(boxes)
    ]
    results = [json.loads(p.communicate()[0]) for p in procs]
    wall = time.perf_counter() - start
    landed = sum(len(r["attempts"]) for r in results)
    retries = sum(a - 1 for r in results for a in r["attempts"])
    refused = sum(r["refused"] for r in results)
    for reason in sorted({r for res in results for r in res["reasons"]})[:3]:
        print(f"  refused: {reason}")
    tags = [line for line in run("git", "-C", str(bare), "tag").split() if "@v" in line]
    run("git", "-C", str(bare), "fsck", "--strict")
    print(
        f"{boxes} concurrent promoters: {landed} landed, {refused} refused in {wall:.1f} s = "
        f"{landed / wall:.2f} promotions/s; {retries} re-planned attempts "
        f"({retries / max(landed, 1):.2f} per promotion); {len(tags)} tags, "
        f"{len(set(tags))} distinct; fsck clean"
    )


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3:])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--branches", type=int, default=500)
    ap.add_argument("--commits", type=int, default=50)
    ap.add_argument("--promotions", type=int, default=8)
    ap.add_argument("--boxes", type=int, default=4)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-remote-"))
    server = start_http(tmp / "srv")
    try:
        src = cached_registry(args.branches, args.commits, 40, 1, bare=True)
        shutil.copytree(src, tmp / "srv" / "synth.git", symlinks=True)
        run("git", "-C", str(tmp / "srv" / "synth.git"), "config", "http.receivepack", "true")
        url = server.url("synth.git", "trainer1")
        refs = run("git", "ls-remote", url).count("\n")
        print(f"registry: {args.branches} branches x {args.commits} commits, {refs} refs, HTTP")
        bench_fetch(url, tmp, args.runs)
        bench_promotion(server, tmp, args.promotions, args.boxes)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
