"""`mlvc mount` against reading files directly: throughput of a big LFS model, time to first
byte of small files, and the mount process's peak memory.

    .venv/bin/python bench/bench_mount.py [--size-mb 1024] [--small 50]

Builds a repository with the real `git` CLI: one LFS model of ``--size-mb`` MB (its object
in `.git/lfs/objects`, its pointer committed) and ``--small`` files of 2 KB. Then mounts it
with `mlvc mount --background` and reads the model sequentially in 1 MiB reads: the first
read (the object never verified: hashed whole, then served) and warm (again, from the
kernel's page cache), against reading the LFS object file itself (warm: it was just
written). ``--cold`` drops the page cache (root) before reading the object directly, before
the mount's first read, and before a read on a fresh mount (the object verified by then:
with the kernel backend, passed through unhashed). Needs /dev/fuse (run as root here).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
}

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' repository builders
from tests.support.mountrepo import lfs_object, lfs_pointer  # noqa: E402


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def add_lfs_file(repo: Path, path: str, size: int, seed: bytes = b"mlvc") -> str:
    """Write ``size`` pseudo-random bytes as an LFS object and its pointer at ``path``;
    the object's sha256 (commit it yourself)."""
    oid = lfs_object(repo, size, seed)
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(lfs_pointer(oid, size))
    return oid


def build(root: Path, size: int, small: int) -> tuple[Path, Path]:
    """The repository and its LFS object's path."""
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "prod")
    (repo / ".gitattributes").write_text("models/*.bin filter=lfs diff=lfs merge=lfs -text\n")
    oid = add_lfs_file(repo, "models/model.bin", size)
    for i in range(small):
        (repo / "configs").mkdir(exist_ok=True)
        (repo / "configs" / f"c{i:03}.yaml").write_bytes(os.urandom(1024).hex().encode())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "model")
    return repo, repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid


def read_all(path: Path) -> tuple[float, int]:
    """Seconds to read a file sequentially in 1 MiB reads, and its bytes."""
    start, total = time.perf_counter(), 0
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(CHUNK):
            total += len(chunk)
    return time.perf_counter() - start, total


def drop_caches() -> bool:
    """Empty the kernel's page cache (root only), so the next read comes from the disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def mount(mlvc: list[str], repo: Path, mnt: Path) -> int:
    """Mount prod in the background; the mount process's pid."""
    up = subprocess.run(
        [*mlvc, "-C", str(repo), "mount", "prod", str(mnt), "--background", "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(json.loads(up.stdout)["pid"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--small", type=int, default=50)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also read the object from disk with the page cache dropped, and drop it again "
        "before the mount's first read and before a read on a fresh mount (root; disturbs "
        "everything else on the machine)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="turns of the cold direct/mount comparison"
    )
    parser.add_argument(
        "--backend",
        choices=["auto", "kernel", "libfuse"],
        default="auto",
        help="the mount's server (MLVC_MOUNT_BACKEND); auto: kernel as root on Linux >= 6.9",
    )
    args = parser.parse_args()
    if not os.path.exists("/dev/fuse"):
        print("skipped: /dev/fuse is missing")
        return 0
    if args.backend != "auto":
        os.environ["MLVC_MOUNT_BACKEND"] = args.backend
    from mlvc_tui.engine.mount.run import backend

    mlvc = [sys.executable, "-c", "import sys; from mlvc_tui.cli import main; sys.exit(main())"]
    model = Path("models") / "model.bin"
    with tempfile.TemporaryDirectory(prefix="mlvc-bench-mount-") as tmp:
        root = Path(tmp)
        repo, obj = build(root, args.size_mb << 20, args.small)
        mnt = root / "mnt"
        pid = mount(mlvc, repo, mnt)
        try:
            direct = [read_all(obj)[0] for _ in range(3)]
            from_disk = None
            if args.cold and drop_caches():
                from_disk = read_all(obj)[0]
                drop_caches()
            cold, n = read_all(mnt / model)
            warm = min(read_all(mnt / model)[0] for _ in range(3))
            assert n == args.size_mb << 20
            ttfb = []
            for i in range(args.small):
                start = time.perf_counter()
                with open(mnt / "configs" / f"c{i:03}.yaml", "rb") as fh:
                    fh.read(1)
                ttfb.append(time.perf_counter() - start)
            rss = peak_rss_mb(pid)
        finally:
            subprocess.run([*mlvc, "umount", str(mnt)], check=False, capture_output=True)
        pairs = []  # (direct, mount) from disk, taken in turns: the machine's load varies
        if from_disk is not None:  # a fresh mount, the page cache dropped: a verified object
            mount(mlvc, repo, mnt)
            try:
                for _ in range(args.repeat):
                    drop_caches()
                    disk = read_all(obj)[0]
                    drop_caches()
                    pairs.append((disk, read_all(mnt / model)[0]))
            finally:
                subprocess.run([*mlvc, "umount", str(mnt)], check=False, capture_output=True)
    mb = args.size_mb
    best = min(direct)
    print(f"backend: {backend()}")
    print(f"LFS model, {mb} MB, sequential 1 MiB reads:")
    print(f"  direct (LFS object file, page cache): {mb / best:8.0f} MB/s")
    print(f"  mount, first read (not verified yet): {mb / cold:8.0f} MB/s  ({best / cold:.2f}x)")
    print(f"  mount, again (kernel page cache):     {mb / warm:8.0f} MB/s  ({best / warm:.2f}x)")
    if from_disk is not None:
        print(
            f"  direct, page cache dropped:           {mb / from_disk:8.0f} MB/s; the mount's "
            f"first read, also from disk: {from_disk / cold:.2f}x of it (the object not "
            "verified yet)"
        )
    if pairs:
        ratios = sorted(d / m for d, m in pairs)
        again = statistics.median(m for _, m in pairs)
        print(
            f"  fresh mount, page cache dropped:      {mb / again:8.0f} MB/s  "
            f"({statistics.median(ratios):.2f}x of direct from disk, median of {len(pairs)} "
            f"turns, {ratios[0]:.2f}-{ratios[-1]:.2f}; the object verified before)"
        )
    print(
        f"time to first byte, 2 KB file (median of {args.small}): "
        f"{statistics.median(ttfb) * 1000:.2f} ms"
    )
    print(f"mount process peak RSS: {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
