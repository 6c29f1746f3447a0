"""Lock files a crash left (issue 11.7): never listed as refs, named with their age in a
refusal, recovered when their writer is provably gone (and by `mlvc doctor --fix`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import mlvc, refs


@pytest.fixture
def repo(candidates: GitRepo) -> GitRepo:
    return candidates  # a fresh copy of the two-candidates registry (tests/conftest.py)


def _lock(repo: GitRepo, ref: str, age: float = 3600) -> Path:
    lock = repo.path / ".git" / f"{ref}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(repo.git("rev-parse", "prod").strip() + "\n")
    then = time.time() - age
    os.utime(lock, (then, then))
    return lock


def test_a_lock_is_never_a_branch(repo: GitRepo) -> None:
    _lock(repo, "refs/heads/prod")
    out = mlvc("-C", str(repo.path), "branches", "--json")
    names = [b["name"] for b in json.loads(out.stdout)["branches"]]
    assert "prod.lock" not in names and "prod" in names


def test_a_stale_lock_is_recovered_and_the_promotion_lands(repo: GitRepo) -> None:
    lock = _lock(repo, "refs/heads/prod")
    out = mlvc("-C", str(repo.path), "promote", "exp/better", "--yes")
    assert out.returncode == 0, out.stderr
    assert not lock.exists()
    assert repo.git("fsck", "--strict", "--no-progress") == ""


def test_a_held_lock_is_named_with_its_age(repo: GitRepo) -> None:
    lock = _lock(repo, "refs/heads/prod")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(lock)!r}); import time; time.sleep(60)"],
    )
    try:
        time.sleep(0.5)
        before = refs(repo)
        out = mlvc("-C", str(repo.path), "promote", "exp/better", "--yes")
        assert out.returncode == 1
        assert out.stderr == (
            "mlvc: prod is being written by another process (refs/heads/prod.lock exists "
            "(60 min old, a process holds it)): nothing was changed, try again\n"
        )
        assert refs(repo) == before and lock.exists()
        doctor = mlvc("-C", str(repo.path), "doctor", "--fix")
        assert "left alone" in doctor.stdout and lock.exists()
    finally:
        holder.kill()
        holder.wait()
    doctor = mlvc("-C", str(repo.path), "doctor", "--fix", "--json")
    doc = json.loads(doctor.stdout)
    assert [(r["path"], r["removed"]) for r in doc["locks"]] == [("refs/heads/prod.lock", True)]
    assert not lock.exists()


def test_a_stale_tag_lock_does_not_stop_the_tag_repair(repo: GitRepo) -> None:
    assert mlvc("-C", str(repo.path), "promote", "exp/better", "--yes").returncode == 0
    repo.git("tag", "-d", "model@v1.0.0")
    lock = _lock(repo, "refs/tags/model@v1.0.0")
    out = mlvc("-C", str(repo.path), "versions", "--json")
    assert out.returncode == 0, out.stderr
    assert "model@v1.0.0" in repo.git("tag", "--list")
    assert not lock.exists()
