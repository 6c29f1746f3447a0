"""Kill a save, a cp and a promotion at random moments (seeded): the next command works,
`git fsck --strict` stays clean, and the checked-out branch's status is clean (issue 11)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import MLVC, copy_registry, mlvc, run_env, two_candidates

KILLS_PER_OPERATION = 4
SAVE = (
    "import sys, mlvc_tui as m; "
    "m.save_model({'v': sys.argv[2]}, 'models/model.pkl', repo=sys.argv[1], branch='prod', "
    "metrics={'accuracy': 0.9})"
)


@pytest.fixture
def repo(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> GitRepo:
    return copy_registry(two_candidates(tmp_path_factory.mktemp("crash") / "reg"), tmp_path / "r")


def _operation(kind: str, repo: GitRepo, i: int, tmp: Path) -> list[str]:
    if kind == "save":
        return [sys.executable, "-c", SAVE, str(repo.path), str(i)]
    if kind == "cp":
        src = tmp / f"blob{i}"
        src.write_bytes(os.urandom(1 << 20))
        return [MLVC, "-C", str(repo.path), "cp", str(src), f"prod:models/extra{i}.bin"]
    return [MLVC, "-C", str(repo.path), "promote", "exp/better", "--yes"]


def _time_passes(repo: GitRepo) -> None:
    """Age every lock file, as if the killed writer died a while ago."""
    for lock in (repo.path / ".git").rglob("*.lock"):
        os.utime(lock, (1_700_000_000, 1_700_000_000))


def test_kills_at_random_moments_leave_a_working_registry(repo: GitRepo, tmp_path: Path) -> None:
    rng = random.Random(2026)
    kinds = ["save", "cp", "promote"] * KILLS_PER_OPERATION
    for i, kind in enumerate(kinds):
        proc = subprocess.Popen(
            _operation(kind, repo, i, tmp_path),
            env=run_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.05, 1.2))  # where it dies is random, not what we assert
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        _time_passes(repo)
        out = mlvc("-C", str(repo.path), "branches")
        assert out.returncode == 0, (kind, out.stderr)
        assert repo.git("fsck", "--strict", "--no-progress", "--no-dangling") == "", kind
        assert repo.git("status", "--porcelain") == "", (kind, i)
    final = subprocess.run(_operation("save", repo, 99, tmp_path), env=run_env(), check=False)
    assert final.returncode == 0  # every lock a kill left was recovered
    assert repo.git("status", "--porcelain") == ""
