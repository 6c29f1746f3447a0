"""Real processes: a promotion killed at every step, and promotions racing for one target."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import (
    MLVC,
    base_registry,
    branch,
    copy_registry,
    metrics,
    mlvc,
    run_env,
    wait_for,
)

STEPS = ("gates", "objects", "moved", "tagged")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = base_registry(tmp_path_factory.mktemp("tpl") / "reg")
    for i in range(4):
        branch(
            r,
            f"exp/c{i}",
            {
                "models/model.pkl": f"model-c{i}".encode(),
                "metrics/model.json": metrics(0.81 + i / 100),
            },
        )
    return r


@pytest.fixture
def repo(template: GitRepo, tmp_path: Path) -> GitRepo:
    return copy_registry(template, tmp_path / "reg")


def start(
    r: GitRepo, name: str, marker: Path | None = None, step: str = "gates"
) -> subprocess.Popen[str]:
    extra = {"MLVC_PAUSE_AT": step, "MLVC_PAUSE_FILE": str(marker)} if marker else {}
    return subprocess.Popen(
        [MLVC, "-C", str(r.path), "promote", name, "--yes"],
        env=run_env(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def is_ancestor(r: GitRepo, commit: str, of: str) -> bool:
    return (
        subprocess.run(
            ["git", "-C", str(r.path), "merge-base", "--is-ancestor", commit, of], check=False
        ).returncode
        == 0
    )


def fsck_clean(r: GitRepo) -> None:
    done = subprocess.run(
        ["git", "-C", str(r.path), "fsck", "--strict", "--no-dangling"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_each_step_leaves_old_or_new_and_a_repairable_version_list(
    repo: GitRepo, tmp_path: Path, step: str
) -> None:
    old, cand = repo.rev("prod"), repo.rev("exp/c1")
    marker = tmp_path / "paused"
    proc = start(repo, "exp/c1", marker, step)
    wait_for(marker.exists)
    proc.kill()
    proc.wait()
    fsck_clean(repo)
    assert not list((repo.path / ".git").rglob("*.lock"))
    moved = step in ("moved", "tagged")
    head = repo.git("rev-list", "--parents", "-n1", "prod").split()
    assert head[1:] == [old, cand] if moved else head[0] == old
    assert (repo.git("tag") == "model@v1.0.0\n") == (step == "tagged")
    listed = mlvc("-C", str(repo.path), "versions")  # the next command repairs the list
    assert listed.returncode == 0, listed.stderr
    lost = {"moved": "model@v1.0.0, model#prod#1", "tagged": "model#prod#1"}.get(step)
    assert listed.stderr == (f"recreated missing tag(s): {lost}\n" if lost else "")
    if moved:  # the version tag, then GTO's stage tag (it needs the version's)
        assert repo.git("tag", "-n1", "model@*").startswith(
            "model@v1.0.0    Promote exp/c1 to prod"
        )
        assert repo.git("tag", "-l", "model#*") == "model#prod#1\n"
        assert repo.rev("model@v1.0.0^{commit}") == repo.rev("prod")
        # the repaired tag is the very object the killed process wrote: none left dangling
        assert "dangling tag" not in repo.git("fsck", "--dangling")
    else:
        again = mlvc("-C", str(repo.path), "promote", "exp/c1", "--yes")
        assert again.returncode == 0, again.stderr
    assert repo.git("log", "--first-parent", "--format=%s", "-1", "prod").startswith(
        "Promote exp/c1 to prod as model@v1.0.0"
    )
    fsck_clean(repo)


def test_racing_promotions_one_wins_the_others_change_nothing(
    repo: GitRepo, tmp_path: Path
) -> None:
    old = repo.rev("prod")
    markers = [tmp_path / f"paused-{i}" for i in range(4)]
    procs = [start(repo, f"exp/c{i}", markers[i]) for i in range(4)]
    wait_for(lambda: all(m.exists() for m in markers))  # all planned on the same prod
    for m in markers:
        m.unlink()
    results = [(p.wait(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()  # type: ignore[union-attr]
    winners = [i for i, (code, _) in enumerate(results) if code == 0]
    assert len(winners) == 1, results
    for i, (code, err) in enumerate(results):
        if i in winners:
            continue
        assert code == 1 and (
            "prod moved meanwhile" in err or "being written by another process" in err
        ), err
        assert not is_ancestor(repo, repo.rev(f"exp/c{i}"), "prod")
    win = winners[0]
    assert repo.git("rev-list", "--parents", "-n1", "prod").split()[1:] == [
        old,
        repo.rev(f"exp/c{win}"),
    ]
    assert repo.git("tag", "-l", "model@*").split() == ["model@v1.0.0"]
    assert repo.git("tag", "-l", "model#*").split() == ["model#prod#1"]
    assert repo.git("status", "--porcelain") == ""  # prod is checked out: updated once
    fsck_clean(repo)


def test_free_running_promotions_every_success_is_in_history(repo: GitRepo) -> None:
    procs = {i: start(repo, f"exp/c{i}") for i in range(4)}
    codes = {}
    for i, p in procs.items():
        codes[i] = p.wait()
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()  # type: ignore[union-attr]
    assert set(codes.values()) <= {0, 1}
    wins = {i for i, c in codes.items() if c == 0}
    assert wins
    for i in range(4):
        assert is_ancestor(repo, repo.rev(f"exp/c{i}"), "prod") == (i in wins)
    listed = mlvc("-C", str(repo.path), "versions", "--json")
    versions = json.loads(listed.stdout)["versions"]
    assert sorted(v["source"] for v in versions) == sorted(f"exp/c{i}" for i in wins)
    assert all(v["tagged"] for v in versions)
    assert len({v["version"] for v in versions}) == len(wins)
    assert repo.git("status", "--porcelain") == ""
    fsck_clean(repo)


def test_concurrent_approvals_are_all_kept(repo: GitRepo) -> None:
    procs = [
        subprocess.Popen(
            [
                MLVC,
                "-C",
                str(repo.path),
                "approve",
                "exp/c0",
            ],
            env=run_env(GIT_AUTHOR_NAME=f"User {i}", GIT_AUTHOR_EMAIL=f"u{i}@example.com"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    errors = [(p.wait(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    for p in procs:
        p.stderr.close()  # type: ignore[union-attr]
    assert [code for code, _ in errors] == [0] * 4, errors
    note = repo.git("notes", "--ref=mlvc-approvals", "show", "exp/c0")
    assert sorted(line.split('"user": "')[1].split(" <")[0] for line in note.splitlines()) == [
        f"User {i}" for i in range(4)
    ]
    fsck_clean(repo)
