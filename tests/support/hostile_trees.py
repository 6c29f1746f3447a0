"""A registry with branches whose trees git's own fsck rejects, as a hostile pusher makes them.

A push without ``receive.fsckObjects`` accepts any tree, so these are built the way an
attacker would: dulwich writes trees with names git refuses (``..``, ``.git``, its NTFS
and HFS aliases, ``/`` inside a name), and ``git hash-object --literally`` writes a tree
that names one entry twice (a symbolic link to a folder outside, and a folder beside it).
Every hostile write aims at a file named by ``HostileRegistry.token`` outside the
repository (or at `.git/hooks/post-commit`), so a test can say nothing landed.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import Repo

from tests.support.gitrepo import GitRepo, git_env
from tests.support.promote import base_registry, metrics

__all__ = ["HOSTILE_BRANCHES", "HostileRegistry", "hostile_registry", "landed_outside"]

TOML = (
    '[registry]\nprod = "prod"\nmodel = "models/model.pkl"\ntrain = "python src/train.py"\n\n'
    '[metrics]\nprimary = "accuracy"\n\n[gates]\ncheck = "python src/check.py"\n'
)
# branch -> the path a refusal must name
HOSTILE_BRANCHES = {
    "evil/dotdot": "..",
    "evil/slash": "../../{token}",
    "evil/dotgit": ".git",
    "evil/dotgit-dot": ".git.",
    "evil/git-short": "GIT~1",
    "evil/dotgit-hfs": ".g\u200cit",
    "evil/symlink": "lib",
}


@dataclass(frozen=True)
class HostileRegistry:
    repo: GitRepo
    outside: Path  # a folder beside the repository that nothing may write into
    token: str  # the file name every hostile write aims at

    def named(self, branch: str) -> str:
        return HOSTILE_BRANCHES[branch].format(token=self.token)


def _blob(repo: Repo, data: bytes) -> bytes:
    blob = Blob.from_string(data)
    repo.object_store.add_object(blob)
    return blob.id


def _tree(repo: Repo, entries: dict[bytes, tuple[int, bytes]]) -> bytes:
    tree = Tree()
    for name, (mode, sha) in entries.items():
        tree.add(name, mode, sha)
    repo.object_store.add_object(tree)
    return tree.id


def _literal_tree(path: Path, entries: list[tuple[bytes, bytes, bytes]]) -> bytes:
    """A tree object exactly as given (duplicates allowed), written by the git CLI."""
    raw = b"".join(
        mode + b" " + name + b"\0" + bytes.fromhex(sha.decode()) for mode, name, sha in entries
    )
    out = subprocess.run(
        ["git", "hash-object", "-t", "tree", "-w", "--literally", "--stdin"],
        cwd=path,
        input=raw,
        capture_output=True,
        check=True,
        env=git_env(),
    )
    return out.stdout.strip()


def _git_order(entry: tuple[bytes, bytes, bytes]) -> bytes:
    return entry[1] + (b"/" if entry[0] == b"40000" else b"")


def _hostile_entries(repo: Repo, path: Path, branch: str, h: HostileRegistry) -> dict:
    token = h.token.encode()
    pwned = _blob(repo, b"#!/bin/sh\necho pwned\n")
    hook = _tree(repo, {b"post-commit": (0o100755, pwned)})
    hooks = _tree(repo, {b"hooks": (0o040000, hook)})
    if branch == "evil/dotdot":
        return {b"..": (0o040000, _tree(repo, {token: (0o100644, pwned)}))}
    if branch == "evil/slash":
        return {b"../../" + token: (0o100644, pwned)}
    if branch == "evil/symlink":
        link = _blob(repo, str(h.outside).encode())
        inner = _tree(repo, {token: (0o100644, pwned)})
        # "lib" twice: a link to the outside folder, then a folder written through it
        return {b"": [(b"120000", b"lib", link), (b"40000", b"lib", inner)]}
    name = h.named(branch).encode()
    return {name: (0o040000, hooks)}


def hostile_registry(path: Path) -> HostileRegistry:
    """base_registry with a check, a training command and one hostile branch per attack."""
    r = base_registry(path)
    r.commit("settings", {"mlvc.toml": TOML})
    outside = path.parent / "outside"
    outside.mkdir()
    h = HostileRegistry(r, outside, f"pwned-{uuid.uuid4().hex[:8]}")
    with Repo(str(path)) as repo:
        prod = repo.refs[b"refs/heads/prod"]
        base = repo[prod]
        assert isinstance(base, Commit)
        root = repo[base.tree]
        assert isinstance(root, Tree)
        files = {
            "models/model.pkl": _blob(repo, b"model-evil"),
            "metrics/model.json": _blob(repo, metrics(0.95).encode()),
        }
        models = _tree(repo, {b"model.pkl": (0o100644, files["models/model.pkl"])})
        mets = _tree(repo, {b"model.json": (0o100644, files["metrics/model.json"])})
        for branch in HOSTILE_BRANCHES:
            entries = {n: (m, s) for n, m, s in root.iteritems()}
            entries[b"models"] = (0o040000, models)
            entries[b"metrics"] = (0o040000, mets)
            extra = _hostile_entries(repo, path, branch, h)
            if b"" in extra:  # the duplicate pair: append to the root's raw entries
                raw = [
                    (f"{m:o}".encode(), n, s)
                    for n, (m, s) in sorted(entries.items(), key=lambda kv: kv[0])
                ]
                raw = sorted(
                    raw + extra[b""], key=lambda e: e[1] + (b"/" if e[0] == b"40000" else b"")
                )
                tree_id = _literal_tree(path, raw)
            else:
                entries.update(extra)
                tree_id = _tree(repo, entries)
            commit = Commit()
            commit.tree = tree_id
            commit.parents = [prod]
            commit.author = commit.committer = b"Mallory <m@example.com>"
            commit.author_time = commit.commit_time = 1_788_100_000
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = f"{branch}: a better model".encode()
            repo.object_store.add_object(commit)
            repo.refs[b"refs/heads/" + branch.encode()] = commit.id
    return h


def landed_outside(h: HostileRegistry) -> list[str]:
    """Every hostile write that landed: files named by the token anywhere near, hooks."""
    hits = [str(p) for p in h.outside.rglob("*")]
    for folder in (h.repo.path.parent, h.repo.path.parent.parent, Path("/tmp"), Path(os.sep)):
        if (folder / h.token).exists():
            hits.append(str(folder / h.token))
    if (h.repo.path / ".git" / "hooks" / "post-commit").exists():
        hits.append("hooks/post-commit")
    return hits
