"""Repositories for the mount tests, built with the real `git` CLI: an LFS model of a chosen
size (object in `.git/lfs/objects`, pointer committed), a big packed blob, an executable,
a symlink, a submodule, and a branch whose tree holds entries git refuses to check out."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from tests.support.gitrepo import GitRepo, git_env

__all__ = ["HOSTILE_NAMES", "build_mount_repo", "lfs_object", "lfs_pointer"]

CHUNK = 1 << 20
HOSTILE_NAMES = ("..", ".git", ".GIT", ".git.", "git~1", ".g\u200cit", "a\\b")


def lfs_object(repo: Path, size: int, seed: bytes) -> str:
    """Write ``size`` deterministic bytes into the LFS store; their sha256."""
    digest, block = hashlib.sha256(), hashlib.sha256(seed).digest() * (CHUNK // 32)
    tmp = repo / ".git" / "lfs" / "incoming"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with tmp.open("wb") as out:
        written, n = 0, 0
        while written < size:
            chunk = (n.to_bytes(8, "little") + block)[: min(CHUNK, size - written)]
            digest.update(chunk)
            out.write(chunk)
            written, n = written + len(chunk), n + 1
    oid = digest.hexdigest()
    target = repo / ".git" / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, target)
    return oid


def lfs_pointer(oid: str, size: int) -> str:
    """The text of an LFS pointer file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def _hostile_tree(g: GitRepo, base: str) -> str:
    """``base``'s root tree plus entries named HOSTILE_NAMES (written raw: git would refuse)."""
    evil = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=g.path,
        input=b"[core]\n\thooksPath = /tmp/evil\n",
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout.strip()
    raw = subprocess.run(
        ["git", "cat-file", "tree", f"{base}^{{tree}}"],
        cwd=g.path,
        capture_output=True,
        check=True,
        env=git_env(),
    ).stdout
    entries = []
    pos = 0
    while pos < len(raw):
        space, nul = raw.index(b" ", pos), raw.index(b"\0", pos)
        entries.append((raw[space + 1 : nul], raw[pos : nul + 21]))
        pos = nul + 21
    for name in HOSTILE_NAMES:
        entry = b"100644 " + name.encode() + b"\0" + bytes.fromhex(evil.decode())
        entries.append((name.encode(), entry))
    entries.sort(key=lambda e: e[0])
    return (
        subprocess.run(
            ["git", "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
            cwd=g.path,
            input=b"".join(e for _, e in entries),
            capture_output=True,
            check=True,
            env=git_env(),
        )
        .stdout.decode()
        .strip()
    )


def build_mount_repo(path: Path, lfs_size: int) -> GitRepo:
    """prod: an LFS model of ``lfs_size`` bytes, a 3 MB blob (packed), an executable, a
    symlink, a submodule, a CSV. exp/hostile: prod plus hostile names. exp/corrupt: a small
    LFS file whose stored object was altered after the fact."""
    g = GitRepo(path)
    oid = lfs_object(path, lfs_size, b"model")
    big = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(3 << 15))
    g.commit(
        "Model and friends",
        {
            ".gitattributes": "models/*.bin filter=lfs diff=lfs merge=lfs -text\n",
            "models/model.bin": lfs_pointer(oid, lfs_size),
            "models/weights.npy": big,
            "src/train.sh": "#!/bin/sh\necho train\n",
            "data/rows.csv": "a,b\n1,2\n3,4\n",
        },
    )
    (path / "src" / "train.sh").chmod(0o755)
    os.symlink("../models/weights.npy", path / "src" / "weights")
    sub = g.rev("HEAD")
    g.git("add", "-A")
    g.git("update-index", "--add", "--cacheinfo", f"160000,{sub},data/pinned")
    g.clock += 3600
    g.git("commit", "-q", "-m", "Executable, symlink, submodule")
    g.git("gc", "-q")
    tree = _hostile_tree(g, "prod")
    g.clock += 3600
    commit = g.git("commit-tree", tree, "-p", "prod", "-m", "hostile names").strip()
    g.git("update-ref", "refs/heads/exp/hostile", commit)
    g.git("checkout", "-q", "-b", "exp/corrupt")
    bad = lfs_object(path, 4096, b"corrupt")
    g.commit("Corrupt LFS object", {"models/small.bin": lfs_pointer(bad, 4096)})
    store = path / ".git" / "lfs" / "objects" / bad[:2] / bad[2:4] / bad
    data = bytearray(store.read_bytes())
    data[100] ^= 1
    store.write_bytes(bytes(data))
    g.git("checkout", "-q", "prod")
    return g
