"""Real repositories built with the real `git` CLI, with fixed names and dates."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

__all__ = ["GitRepo", "git_env", "git_in", "run_git", "use_git_identity"]


def git_env(when: int = 1_788_000_000) -> dict[str, str]:
    """An environment that makes `git` deterministic and ignores the user's config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="Ana Ruiz",
        GIT_AUTHOR_EMAIL="ana@example.com",
        GIT_COMMITTER_NAME="Ana Ruiz",
        GIT_COMMITTER_EMAIL="ana@example.com",
        GIT_AUTHOR_DATE=f"@{when} +0000",
        GIT_COMMITTER_DATE=f"@{when} +0000",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def use_git_identity(monkeypatch: object) -> None:
    """Give mlvc's own commits the fixed author of `git_env` (dates stay real)."""
    for key, value in git_env().items():
        if key.startswith("GIT_") and "DATE" not in key:
            monkeypatch.setenv(key, value)  # type: ignore[attr-defined]


def run_git(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """git with `git_env` (and ``env`` over it) in ``cwd``; its stdout (text)."""
    out = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**git_env(), **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def git_in(repo: Path, *args: str) -> str:
    """``git -C repo ...`` in this process's own environment; its stdout (text)."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


class GitRepo:
    """A working repository driven through the `git` CLI; each commit one hour later."""

    def __init__(self, path: Path, branch: str = "prod") -> None:
        self.path = path
        self.clock = 1_788_000_000
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    @classmethod
    def existing(cls, path: Path) -> GitRepo:
        """Drive a repository that already exists (built by dulwich, say)."""
        repo = cls.__new__(cls)
        repo.path, repo.clock = path, 1_788_000_000
        return repo

    def git(self, *args: str, check: bool = True) -> str:
        """Run git in the repository; its stdout."""
        out = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=git_env(self.clock),
            check=check,
            capture_output=True,
        )
        return out.stdout.decode("utf-8", "surrogateescape")

    def write(self, files: dict[str, bytes | str | dict]) -> None:
        """Write files (dicts as JSON; None deletes)."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, dict):
                content = json.dumps(content)
            target.write_bytes(content.encode() if isinstance(content, str) else content)

    def commit(self, message: str, files: dict[str, bytes | str | dict | None]) -> str:
        """Write files, commit everything; the new commit id."""
        self.write(files)
        self.git("add", "-A")
        self.clock += 3600
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.rev("HEAD")

    def rev(self, ref: str) -> str:
        return self.git("rev-parse", ref).strip()

    def checkout(self, branch: str, new: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if new else []), branch)

    def ls_tree(self, ref: str) -> dict[str, tuple[str, int | None]]:
        """path -> (object id, size) from `git ls-tree -r -l`."""
        out = {}
        for line in self.git("ls-tree", "-r", "-l", "-z", ref).split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            _, _kind, oid, size = meta.split()
            out[path] = (oid, int(size) if size != "-" else None)
        return out
