"""Git LFS over the wire: mlvc against git-lfs through the same giftless server, and
`load_model("models:/model@prod", registry=URL)` cold and warm.

    .venv/bin/python bench/bench_lfs.py [--size-mb 2048] [--model-mb 8] [--dir PATH]

The server is the tests' registry server (git http-backend and giftless on one origin,
under waitress, basic auth). Each transfer runs in a fresh process; its peak RSS is that
child's ru_maxrss. Same object, same server, separate repositories on it:

- push: `mlvc push` (LFS upload, then the pointer commit) vs `git lfs push`
- pull: mlvc's batch download into `.git/lfs/objects` (what a read does on a lazy clone)
  vs `git lfs fetch` (the same: into the store, no checkout)
- load: `load_model("models:/model@prod", registry=URL)` with an empty cache (cold), then
  7 more with prod unchanged (warm, median): one ref listing, no download, sha256 re-checked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MB = 1 << 20
PY = sys.executable
LFS_FILTER = ["-c", "filter.lfs.process=git-lfs filter-process", "-c", "filter.lfs.required=true"]


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    out.update(
        GIT_AUTHOR_NAME="Bench",
        GIT_AUTHOR_EMAIL="bench@example.com",
        GIT_COMMITTER_NAME="Bench",
        GIT_COMMITTER_EMAIL="bench@example.com",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        PYTHONPATH=str(ROOT),
    )
    return out


def measured(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process (ru_maxrss of this child alone)."""
    probe = (
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "r=subprocess.run(sys.argv[1:]);d=time.perf_counter()-t;"
        "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);sys.exit(r.returncode)"
    )
    out = subprocess.run(
        [PY, "-c", probe, *cmd], cwd=cwd, env=env(), capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    seconds, rss = out.stdout.strip().splitlines()[-1].split()
    return float(seconds), int(rss) / 1024


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env(), check=True, capture_output=True, text=True
    ).stdout


def big_object(repo: Path, size: int) -> tuple[str, int]:
    """``size`` random bytes as an LFS object in ``repo``'s store, its pointer committed."""
    digest = hashlib.sha256()
    tmp = repo / ".git" / "lfs" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    part = tmp / "bench"
    with part.open("wb") as out:
        left = size
        block = os.urandom(8 * MB)
        n = 0
        while left:
            chunk = block[: min(left, len(block))]
            chunk = n.to_bytes(8, "little") + chunk[8:]  # every block differs
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
            n += 1
    oid = digest.hexdigest()
    target = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(part, target)
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"
    (repo / "models").mkdir(exist_ok=True)
    (repo / "models" / "big.bin").write_text(pointer)
    git("add", "models/big.bin", cwd=repo)
    git("commit", "-q", "-m", "big model", cwd=repo)
    return oid, size


PULL = """
import sys
from pathlib import Path
from mlvc_tui.engine.git.lfs import LfsPointer, LfsStore
from mlvc_tui.engine.git.lfs_endpoint import client_for
from mlvc_tui.engine.registry import Registry
with Registry.open(sys.argv[1]) as reg:
    store = LfsStore(Path(reg.repo.controldir()))
    client_for(reg, "origin").download(LfsPointer(sys.argv[2], int(sys.argv[3])), store)
"""

LOAD = """
import json, statistics, sys, time
import mlvc_tui as mlvc
uri, url = "models:/model@prod", sys.argv[1]
t = time.perf_counter(); model = mlvc.load_model(uri, registry=url); cold = time.perf_counter() - t
warm = []
for _ in range(7):
    t = time.perf_counter()
    mlvc.load_model(uri, registry=url)
    warm.append(time.perf_counter() - t)
found = mlvc.resolve(uri, registry=url)
print(json.dumps({"cold": cold, "warm": statistics.median(warm), "downloaded": found.downloaded}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=int, default=2048)
    ap.add_argument("--model-mb", type=int, default=8, help="the load_model benchmark's model")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--repeat", type=int, default=3, help="push runs per client (median)")
    args = ap.parse_args()
    from tests.support.lfs_server import AUTH, registry_server

    base = Path(args.dir or tempfile.mkdtemp(prefix="bench-lfs-"))
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    server = registry_server(base / "server").start()
    try:
        rows = []
        work = base / "work"
        work.mkdir()
        git("init", "-q", "-b", "prod", cwd=work)
        (work / ".gitattributes").write_text("*.bin filter=lfs diff=lfs merge=lfs -text\n")
        git("add", ".gitattributes", cwd=work)
        git("commit", "-q", "-m", "attributes", cwd=work)
        t = time.perf_counter()
        oid, size = big_object(work, args.size_mb * MB)
        print(f"made a {args.size_mb} MB object in {time.perf_counter() - t:.1f}s", flush=True)
        mlvc_cli = str(Path(PY).with_name("mlvc"))
        pushes: dict[str, list[tuple[float, float]]] = {"mlvc": [], "gitlfs": []}
        for i in range(args.repeat):  # alternate who goes first: the machine is noisy
            order = ("mlvc", "gitlfs") if i % 2 == 0 else ("gitlfs", "mlvc")
            for name in order:
                repo = f"{name}{i}"
                bare = server.git_root / "team" / f"{repo}.git"  # type: ignore[operator]
                subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
                git("remote", "add", repo, server.git_url(f"team/{repo}", auth=AUTH), cwd=work)
                if name == "mlvc":
                    pushes[name].append(measured([mlvc_cli, "-C", str(work), "push", repo, "prod"]))
                else:
                    cmd = ["git", *LFS_FILTER, "lfs", "push", repo, "prod"]
                    pushes[name].append(measured(cmd, cwd=work))
                    git("push", "-q", repo, "prod", cwd=work)  # the pointer commit
                if i < args.repeat - 1:
                    shutil.rmtree(server.object_path(oid, f"team/{repo}").parent)
        last = args.repeat - 1
        push_m = (
            statistics.median(t for t, _ in pushes["mlvc"]),
            max(r for _, r in pushes["mlvc"]),
        )
        push_g = (
            statistics.median(t for t, _ in pushes["gitlfs"]),
            max(r for _, r in pushes["gitlfs"]),
        )
        ratios = [g[0] / m[0] for m, g in zip(pushes["mlvc"], pushes["gitlfs"], strict=True)]
        rows.append(("push", push_m, push_g))
        for name in ("mlvc", "gitlfs"):
            clone = base / f"clone-{name}"
            url = server.git_url(f"team/{name}{last}", auth=AUTH)
            subprocess.run(
                ["git", "clone", "-q", "--no-checkout", url, str(clone)], env=env(), check=True
            )
        pull_m = measured([PY, "-c", PULL, str(base / "clone-mlvc"), oid, str(size)])
        pull_g = measured(
            ["git", *LFS_FILTER, "lfs", "fetch", "origin", "origin/prod"], cwd=base / "clone-gitlfs"
        )
        got = base / "clone-mlvc" / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
        assert got.stat().st_size == size
        rows.append(("pull", pull_m, pull_g))
        print(f"\n{args.size_mb} MB, one object, through giftless (waitress) on loopback")
        each = ", ".join(f"{r:.2f}" for r in ratios)
        print(f"push ratio per run (git-lfs time / mlvc time): {each}; medians below")
        print(
            f"{'':6}{'mlvc MB/s':>11}{'git-lfs MB/s':>14}{'ratio':>7}{'mlvc RSS':>10}{'lfs RSS':>9}"
        )
        for what, (tm, rm), (tg, rg) in rows:
            mb = args.size_mb
            print(
                f"{what:6}{mb / tm:>11.0f}{mb / tg:>14.0f}{tg / tm:>7.2f}{rm:>8.0f}MB{rg:>7.0f}MB"
            )
        for f in (got, work / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid):
            f.unlink(missing_ok=True)
        shutil.rmtree(base / "clone-gitlfs", ignore_errors=True)
        # load_model from a URL, cold and warm
        from tests.support.lfs_server import Published

        os.environ.update({k: v for k, v in env().items() if k.startswith("GIT_")})
        pub = Published(server)
        payload = os.urandom(args.model_mb * MB)
        pub.save({"weights": payload})
        cache = base / "cache"
        load_env = {**env(), "XDG_CACHE_HOME": str(cache)}
        out = subprocess.run(
            [PY, "-c", LOAD, server.git_url(auth=AUTH)],
            env=load_env,
            capture_output=True,
            text=True,
            check=True,
        )
        doc = json.loads(out.stdout)
        print(
            f"\nload_model('models:/model@prod', registry=URL), {args.model_mb} MB pickle: "
            f"cold {doc['cold'] * 1000:.0f} ms, warm median of 7 {doc['warm'] * 1000:.0f} ms "
            f"(downloaded on warm: {doc['downloaded']})"
        )
    finally:
        server.stop()
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
