"""Deterministic synthetic model registries for benchmarks.

One ``git fast-import`` process writes the whole history: a ``prod`` branch, ``staging``,
``dev`` and ``exp/...`` / ``ab/...`` branches forked from prod at different points, each
with ``commits`` commits of its own that touch only a few artifacts, so branches share most
subtrees as real registries do. Authors and dates are fixed: the same parameters and seed
give the same commit ids. The result is repacked into one pack with packed refs.

    python bench/synth.py PATH --branches 500 --commits 50 --artifacts 40 [--seed 1] [--tags N]

``--tags N`` writes N annotated version tags (``model@vMAJOR.MINOR.PATCH``) on prod's
commits instead of one every fifth prod commit, for the ``mlvc versions`` benchmarks.

Generated registries are cached under ``bench/.cache/`` keyed by their parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

__all__ = ["CACHE_DIR", "artifact_paths", "branch_names", "cached_registry", "make_registry"]

GENERATOR_VERSION = 2  # bump when the output changes, to invalidate the cache
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
KINDS = ("models", "metrics", "logs", "monitoring", "data")
EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z: the first commit's time
AUTHORS = (
    "Alice Ng <alice@example.com>",
    "Bob Okafor <bob@example.com>",
    "Chen Wei <chen@example.com>",
    "Dana Ruiz <dana@example.com>",
    "CI Bot <ci@example.com>",
)
TOPICS = (
    "feature-eng",
    "lr-sweep",
    "xgboost",
    "dropout",
    "bigger-batch",
    "augment",
    "distill",
    "quantize",
    "tokenizer",
    "baseline",
    "calibration",
    "class-weights",
)
CORE = (
    "models/model.pkl",
    "metrics/model.json",
    "logs/train.log",
    "monitoring/drift.csv",
    "data/train.csv",
    "monitoring/predictions.csv",
    "metrics/steps.csv",
    "logs/app.log",
    "data/test.csv",
    "models/model.onnx",
    "monitoring/experiments/results.csv",
    "metrics/eval.json",
    "models/encoder.joblib",
    "data/features/schema.json",
)
FILLERS = (  # kind -> pattern for extra artifacts, in the order they are added
    "monitoring/experiments/run_{:03d}.csv",
    "data/features/part_{:03d}.parquet",
    "metrics/folds/fold_{:03d}.json",
    "logs/jobs/job_{:03d}.log",
    "monitoring/daily/day_{:03d}.csv",
    "models/checkpoints/epoch_{:03d}.pt",
    "data/raw/shard_{:03d}.csv",
)
CODE = ("src/train.py", "src/serve.py", "params.yaml")


def artifact_paths(count: int) -> list[str]:
    """The first ``count`` artifact paths: the core set, then fillers spread over kinds."""
    paths = list(CORE[:count])
    i = 0
    while len(paths) < count:
        paths.append(FILLERS[i % len(FILLERS)].format(i // len(FILLERS)))
        i += 1
    return paths


def branch_names(count: int) -> list[str]:
    """``prod``, ``staging``, ``dev``, then ``exp/...`` and (every fifth) ``ab/...``."""
    names = ["prod", "staging", "dev"][:count]
    for i in range(count - len(names)):
        if i % 5 == 4:
            names.append(f"ab/test-{i // 10:03d}-{'ab'[(i // 5) % 2]}")
        else:
            names.append(f"exp/{TOPICS[i % len(TOPICS)]}-{i:04d}")
    return names


# ---- file contents ----------------------------------------------------------------------


def _stamp(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _model_json(rng: random.Random, quality: float) -> bytes:
    acc = min(0.999, quality + rng.uniform(-0.01, 0.01))
    doc = {
        "accuracy": round(acc, 4),
        "f1": round(acc - rng.uniform(0.0, 0.03), 4),
        "auc": round(min(0.999, acc + rng.uniform(0.0, 0.05)), 4),
        "loss": round((1 - acc) * rng.uniform(1.5, 2.5), 4),
        "per_class": {
            c: {"precision": round(rng.uniform(0.7, 1), 4), "recall": round(rng.uniform(0.7, 1), 4)}
            for c in ("cat", "dog", "bird")
        },
        "latency": {"p50_ms": round(rng.uniform(2, 9), 2), "p99_ms": round(rng.uniform(10, 60), 2)},
        "train": {"epochs": rng.randint(5, 40), "samples": rng.randint(10_000, 90_000)},
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def _content(path: str, rng: random.Random, t: int, quality: float) -> bytes:
    """A plausible version of ``path`` written at time ``t``."""
    r = rng.random
    if path == "metrics/model.json":
        return _model_json(rng, quality)
    if path.startswith("models/") or path.endswith(".parquet"):
        return b"\x80\x04\x95SYNTH" + rng.randbytes(rng.randint(1024, 4096))
    if path.endswith(".json"):
        return (
            json.dumps({"score": round(quality + r() / 50, 4), "rmse": round(r(), 4)}) + "\n"
        ).encode()
    rows = rng.randint(8, 24)
    if path == "metrics/steps.csv":
        lines = ["step,loss,accuracy"]
        lines += [f"{s},{1 / (s + 1) + r() / 20:.4f},{quality * s / rows:.4f}" for s in range(rows)]
    elif path.endswith(".log"):
        lines = [
            f"{_stamp(t + s)} INFO step {s} loss={r():.4f} lr={r() / 100:.5f}" for s in range(rows)
        ]
    elif path == "monitoring/drift.csv":
        lines = ["timestamp,feature,metric,value,threshold"]
        lines += [f"{_stamp(t + 60 * s)},f{s % 6},psi,{r() / 4:.4f},0.2" for s in range(rows)]
    elif path.startswith("monitoring/"):
        lines = ["timestamp,prediction,label,score"]
        lines += [
            f"{_stamp(t + s)},{s % 3},{(s + rng.randint(0, 1)) % 3},{r():.4f}" for s in range(rows)
        ]
    else:
        lines = ["x0,x1,x2,x3,y"]
        lines += [f"{r():.5f},{r():.5f},{r():.5f},{r():.5f},{s % 2}" for s in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _code(path: str, rng: random.Random) -> bytes:
    if path == "params.yaml":
        return (
            f"train:\n  lr: {rng.choice((0.1, 0.03, 0.01, 0.003, 0.001))}\n"
            f"  epochs: {rng.randint(5, 40)}\n  batch_size: {rng.choice((32, 64, 128))}\n"
            f"model:\n  depth: {rng.randint(2, 12)}\n  dropout: {rng.randint(0, 5) / 10}\n"
        ).encode()
    body = "\n".join(f"    step_{i}(x, k={rng.randint(0, 99)})" for i in range(rng.randint(3, 9)))
    return f'"""{path}"""\n\n\ndef main(x):\n{body}\n'.encode()


# ---- the history ------------------------------------------------------------------------


def _touch_set(name: str, arts: list[str], rng: random.Random) -> list[str]:
    """The paths a branch's commits change (besides ``metrics/model.json``)."""
    base = [p for p in ("models/model.pkl", "logs/train.log", "metrics/steps.csv") if p in arts]
    if name in ("prod", "staging", "dev") or name.startswith("ab/"):
        extra = [p for p in arts if p.startswith(("monitoring/", "logs/app"))][:4]
    else:
        extra = [p for p in arts if p.startswith(("models/", "metrics/"))]
        if rng.random() < 0.2:
            extra += [p for p in arts if p.startswith("data/")][:2]
    picks = rng.sample(extra, min(len(extra), 3))
    return base + picks + ["params.yaml", "src/train.py"]


def _tag(write: Callable[[bytes], object], tag: bytes, mark: int, t: int) -> None:
    who = f"CI Bot <ci@example.com> {t} +0000".encode()
    note = b"Release %s\n" % tag
    write(b"tag %s\nfrom :%d\ntagger %s\ndata %d\n%s" % (tag, mark, who, len(note), note))


def _stream(
    branches: int,
    commits: int,
    artifacts: int,
    seed: int,
    write: Callable[[bytes], object],
    tags: int | None = None,
) -> None:
    """Write the fast-import stream for the whole registry."""
    rng = random.Random(seed)
    arts = artifact_paths(artifacts)
    names = branch_names(branches)
    clock = [EPOCH]
    mark = [0]

    def commit(ref: str, parent: int | None, files: Iterable[tuple[str, bytes]], msg: str) -> int:
        mark[0] += 1
        clock[0] += 60
        who = f"{rng.choice(AUTHORS)} {clock[0]} +0000"
        data = msg.encode()
        out = [
            f"commit {ref}\nmark :{mark[0]}\nauthor {who}\ncommitter {who}\n".encode(),
            b"data %d\n%s\n" % (len(data), data),
        ]
        if parent is not None:
            out.append(b"from :%d\n" % parent)
        for path, blob in files:
            out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(blob), blob))
        write(b"".join(out) + b"\n")
        return mark[0]

    # prod: the root commit holds every file, then retrains and monitoring updates
    quality = 0.80
    root = [(p, _content(p, rng, clock[0], quality)) for p in arts]
    root += [(p, _code(p, rng)) for p in CODE]
    prod = [commit("refs/heads/prod", None, root, "Initial registry")]
    prod_touch = _touch_set("prod", arts, rng)
    version = 0
    for i in range(1, commits):
        quality = min(0.97, quality + rng.uniform(0.0, 0.004))
        paths = ["metrics/model.json", *rng.sample(prod_touch, min(len(prod_touch), 2))]
        files = [
            (p, _code(p, rng) if p in CODE else _content(p, rng, clock[0], quality)) for p in paths
        ]
        prod.append(commit("refs/heads/prod", prod[-1], files, f"Retrain prod model (run {i})"))
        if tags is None and i % 5 == 0:
            version += 1
            _tag(write, f"model@v1.{version}.0".encode(), prod[-1], clock[0])
    for n in range(tags or 0):  # v1.0.0 ... spread over prod's history, oldest first
        at = prod[n * len(prod) // tags] if tags else prod[-1]
        name = f"model@v{1 + n // 1000}.{n // 10 % 100}.{n % 10}".encode()
        _tag(write, name, at, EPOCH + 60 * n)

    for b, name in enumerate(names[1:], start=1):
        if b < 3:  # staging and dev fork from one of prod's last commits
            fork = len(prod) - 1 - rng.randrange(min(len(prod), 5))
        else:
            fork = rng.randrange(len(prod))
        tip = prod[fork]
        touch = _touch_set(name, arts, rng)
        q = 0.80 + 0.17 * fork / max(1, commits)
        for i in range(commits):
            q = min(0.985, max(0.5, q + rng.uniform(-0.006, 0.008)))
            k = rng.choice((1, 1, 2, 2, 3))
            paths = ["metrics/model.json", *rng.sample(touch, min(len(touch), k))]
            files = [
                (p, _code(p, rng) if p in CODE else _content(p, rng, clock[0], q))
                for p in dict.fromkeys(paths)
            ]
            msg = f"{name}: train run {i} (acc {q:.3f})"
            tip = commit(f"refs/heads/{name}", tip, files, msg)
    write(b"done\n")


def _git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(path), *args], check=True)


def make_registry(
    path: str | os.PathLike[str],
    branches: int = 500,
    commits: int = 50,
    artifacts: int = 40,
    seed: int = 1,
    bare: bool = False,
    tags: int | None = None,
) -> Path:
    """Write a synthetic registry into ``path`` (absent or empty) and return its path.

    Non-bare registries have ``prod`` checked out; the repository ends packed (one pack,
    packed refs, a commit-graph), as ``git gc`` would leave it.
    """
    if branches < 1 or commits < 1 or artifacts < 1:
        raise ValueError("branches, commits and artifacts must be at least 1")
    dest = Path(path).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    init = ["init", "-q", "--bare"] if bare else ["init", "-q"]
    _git(dest, *init, "--initial-branch=prod")
    _git(dest, "config", "gc.auto", "0")
    proc = subprocess.Popen(
        ["git", "-C", str(dest), "fast-import", "--quiet", "--done", "--date-format=raw"],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    try:
        _stream(branches, commits, artifacts, seed, proc.stdin.write, tags)
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError(f"git fast-import failed with exit code {proc.returncode}")
    if not bare:
        _git(dest, "checkout", "-q", "-f", "prod")
    shutil.rmtree(dest / ("" if bare else ".git") / "logs", ignore_errors=True)  # reflogs
    _git(dest, "repack", "-adq")
    _git(dest, "pack-refs", "--all")
    _git(dest, "commit-graph", "write", "--reachable", "--no-progress")
    return dest


def cache_key(
    branches: int, commits: int, artifacts: int, seed: int, bare: bool, tags: int | None = None
) -> str:
    """The cache folder name for one set of parameters."""
    kind = "bare" if bare else "work"
    extra = "" if tags is None else f"-t{tags}"
    return f"v{GENERATOR_VERSION}-b{branches}-c{commits}-a{artifacts}-s{seed}{extra}-{kind}"


def cached_registry(
    branches: int = 500,
    commits: int = 50,
    artifacts: int = 40,
    seed: int = 1,
    bare: bool = False,
    tags: int | None = None,
) -> Path:
    """The cached registry for these parameters, generated on first use."""
    dest = CACHE_DIR / cache_key(branches, commits, artifacts, seed, bare, tags)
    if (dest / ".synth-complete").exists() or (dest / ".git" / ".synth-complete").exists():
        return dest
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tmp-", dir=CACHE_DIR))
    try:
        make_registry(tmp / "repo", branches, commits, artifacts, seed, bare, tags)
        marker = tmp / "repo" / ("" if bare else ".git") / ".synth-complete"
        marker.write_text(f"{branches} {commits} {artifacts} {seed}\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp / "repo", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    """Command line: write a registry into PATH (copied from the cache when possible)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--branches", type=int, default=500)
    ap.add_argument("--commits", type=int, default=50, help="commits per branch")
    ap.add_argument("--artifacts", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bare", action="store_true", help="a bare repository")
    ap.add_argument("--tags", type=int, default=None, help="N version tags on prod")
    ap.add_argument("--no-cache", action="store_true", help="generate directly into PATH")
    args = ap.parse_args(argv)
    params = (args.branches, args.commits, args.artifacts, args.seed, args.bare, args.tags)
    start = time.perf_counter()
    if args.path.exists() and any(args.path.iterdir()):
        ap.error(f"{args.path} exists and is not empty")
    if args.no_cache:
        make_registry(args.path, *params)
    else:
        src = cached_registry(*params)
        shutil.copytree(src, args.path, symlinks=True, dirs_exist_ok=True)
        gitdir = args.path / ("" if args.bare else ".git")
        (gitdir / ".synth-complete").unlink(missing_ok=True)
        shutil.rmtree(gitdir / "mlvc", ignore_errors=True)  # mlvc's cache from benchmarks
    print(
        f"{args.path}: {args.branches} branches x {args.commits} commits x "
        f"{args.artifacts} artifacts (seed {args.seed}) in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
