"""Writes to the checked-out branch keep index, working tree and ref consistent (issue 11.5),
and every branch write is a compare-and-swap, proven by forcing the race (issue 11 tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import (
    mlvc,
    refs,
    run_env,
    wait_for,
)

SAVE = """
import sys, mlvc_tui as mlvc
from mlvc_tui.engine.errors import MlvcError
i = int(sys.argv[1])
try:
    mlvc.save_model({{"i": i}}, f"models/m{{i}}.pkl", repo={repo!r}, branch={branch!r},
                    metrics={{"accuracy": 0.5 + i / 100}})
except MlvcError as exc:
    print(type(exc).__name__, exc)
    sys.exit(1)
"""


@pytest.fixture
def repo(candidates: GitRepo) -> GitRepo:
    return candidates  # a fresh copy of the two-candidates registry (tests/conftest.py)


def _saver(repo: GitRepo, i: int, branch: str = "prod", **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SAVE.format(repo=str(repo.path), branch=branch), str(i)],
        env=run_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _clean(repo: GitRepo) -> None:
    assert repo.git("status", "--porcelain") == ""
    assert repo.git("fsck", "--strict", "--no-progress", "--no-dangling") == ""
    assert not (repo.path / ".git" / "index.lock").exists()
    assert not (repo.path / ".git" / "mlvc" / "checkout-pending").exists()


def test_sixteen_writers_to_the_checked_out_branch(repo: GitRepo) -> None:
    procs = [_saver(repo, i) for i in range(16)]
    outs = [(p.wait(120), p.stdout.read() if p.stdout else "") for p in procs]
    landed = [i for i, (code, _) in enumerate(outs) if code == 0]
    for code, out in outs:
        assert code == 0 or out.startswith("Refused"), out
        assert "FileLocked" not in out
    tree = repo.git("ls-tree", "-r", "--name-only", "prod").split()
    assert {f"models/m{i}.pkl" for i in landed} <= set(tree)
    assert len(landed) >= 12  # disjoint paths: a racer re-applies its change and lands
    _clean(repo)
    for i in landed:
        assert (repo.path / f"models/m{i}.pkl").is_file()


def test_a_kill_during_the_worktree_update_is_repaired(repo: GitRepo, tmp_path: Path) -> None:
    marker = tmp_path / "pause"
    marker.write_text("")
    proc = _saver(repo, 1, MLVC_PAUSE_AT="worktree", MLVC_PAUSE_FILE=str(marker))
    wait_for(lambda: marker.read_text() == "worktree")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "models/m1.pkl" in repo.git("ls-tree", "-r", "--name-only", "prod")  # it landed
    assert repo.git("status", "--porcelain") != ""  # index and tree behind the ref
    lock = repo.path / ".git" / "index.lock"
    assert lock.exists()  # the killed writer's: held by nobody now
    os.utime(lock, (1_700_000_000, 1_700_000_000))  # and older than a live writer's
    out = mlvc("-C", str(repo.path), "branches")
    assert out.returncode == 0, out.stderr
    _clean(repo)
    assert (repo.path / "models/m1.pkl").is_file()


@pytest.mark.parametrize("checked_out", [True, False])
def test_a_forced_race_is_refused_or_replayed(
    repo: GitRepo, tmp_path: Path, checked_out: bool
) -> None:
    """Writer A pauses between reading the branch and moving it; B moves it meanwhile."""
    if not checked_out:
        repo.git("checkout", "-q", "--detach")
    marker = tmp_path / "pause"
    marker.write_text("")
    a = _saver(repo, 1, MLVC_PAUSE_AT="swap", MLVC_PAUSE_FILE=str(marker))
    wait_for(lambda: marker.read_text() == "swap")
    try:
        if checked_out:  # mlvc writers queue on index.lock; git's plumbing does not
            tree = repo.git("rev-parse", "prod^{tree}").strip()
            b_commit = repo.git("commit-tree", tree, "-p", "prod", "-m", "B").strip()
            repo.git("update-ref", "refs/heads/prod", b_commit)
        else:
            b = mlvc("-C", str(repo.path), "cp", "prod:models/model.pkl", "prod:models/b.pkl")
            assert b.returncode == 0, b.stderr
            b_commit = repo.git("rev-parse", "prod").strip()
    finally:
        marker.unlink()
    code = a.wait(60)
    out = a.stdout.read() if a.stdout else ""
    log = repo.git("log", "--format=%H", "prod").split()
    assert b_commit in log  # B's update was never lost
    if code == 0:  # A replayed its change on top of B's
        assert log.index(b_commit) > 0
        assert "models/m1.pkl" in repo.git("ls-tree", "-r", "--name-only", "prod")
    else:
        assert out.startswith("Refused") and log[0] == b_commit, out
    assert not checked_out or code == 0 or "nothing was changed" in out


def test_a_forced_race_refuses_a_promotion(repo: GitRepo, tmp_path: Path) -> None:
    marker = tmp_path / "pause"
    marker.write_text("")
    env = run_env(MLVC_PAUSE_AT="swap", MLVC_PAUSE_FILE=str(marker))
    a = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlvc")),
            "-C",
            str(repo.path),
            "promote",
            "exp/better",
            "--yes",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: marker.read_text() == "swap")
    try:
        tree = repo.git("rev-parse", "prod^{tree}").strip()
        b_commit = repo.git("commit-tree", tree, "-p", "prod", "-m", "B").strip()
        repo.git("update-ref", "refs/heads/prod", b_commit)
        before = refs(repo)
    finally:
        marker.unlink()
    _, err = a.communicate(timeout=60)
    assert a.returncode == 1 and "moved meanwhile" in err
    assert refs(repo) == before
    assert repo.git("fsck", "--strict", "--no-progress", "--no-dangling") == ""
    assert not (repo.path / ".git" / "index.lock").exists()
