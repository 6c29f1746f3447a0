"""`mlvc promote`, `approve`, `rollback` and `versions` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import (
    branch,
    metrics,
    mlvc,
    objects,
    refs,
    run_env,
)


@pytest.fixture
def repo(candidates: GitRepo) -> GitRepo:
    return candidates  # a fresh copy of the two-candidates registry (tests/conftest.py)


def test_promote_without_a_terminal_needs_yes(repo: GitRepo) -> None:
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/better")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr == (
        "mlvc: promote changes an environment: pass --yes to confirm "
        "(there is no terminal to ask)\n"
    )
    assert refs(repo) == before


def test_dry_run_runs_the_gates_and_changes_nothing(repo: GitRepo) -> None:
    before, objs = refs(repo), objects(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/better", "--dry-run")
    assert out.returncode == 0, out.stderr
    assert "Promote exp/better" in out.stdout and "as model@v1.0.0" in out.stdout
    assert "primary     pass   accuracy 0.8 -> 0.85 (+0.05)" in out.stdout
    assert "replaces: metrics/model.json, models/model.pkl" in out.stdout
    failing = mlvc("-C", str(repo.path), "promote", "exp/worse", "--dry-run", "--json")
    assert failing.returncode == 1
    doc = json.loads(failing.stdout)
    assert doc["ok"] is False and doc["done"] is False and doc["version"] == "1.0.0"
    assert [g["name"] for g in doc["gates"] if not g["passed"]] == ["primary"]
    assert failing.stderr.startswith("mlvc: gate primary failed: accuracy 0.8 -> 0.7")
    assert refs(repo) == before and objects(repo) == objs


def test_promote_yes_json_then_versions(repo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "promote", "exp/better", "--yes", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["done"] and doc["tag_written"] == "model@v1.0.0"
    assert doc["stage_tags"] == ["model#prod#1"]
    assert doc["new_commit"] == repo.rev("prod")
    assert doc["record"]["user"] == "Ben Okafor <ben@example.com>"
    assert doc["record"]["metrics"]["accuracy"] == [0.8, 0.85]
    listed = mlvc("-C", str(repo.path), "versions")
    assert listed.returncode == 0
    row = listed.stdout.splitlines()[3].split()
    assert row[:5] == ["model@v1.0.0", "prod", "promoted", "exp/better", repo.rev("prod")[:8]]
    assert row[-3:] == ["Okafor", "0.8500", "+0.0500"]  # as the app shows them (present.py)
    data = json.loads(mlvc("-C", str(repo.path), "versions", "--json").stdout)
    assert data["versions"][0]["record"]["gates"][0]["name"] == "merge"
    assert repo.git("tag", "-n1", "-l", "model@*").startswith(
        "model@v1.0.0    Promote exp/better to prod"
    )


def test_refused_gate_exit_1_with_one_line(repo: GitRepo) -> None:
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/worse", "--yes")
    assert out.returncode == 1
    assert out.stderr.splitlines() == [
        "mlvc: gate primary failed: accuracy 0.8 -> 0.7 (-0.1, worse than prod); "
        "nothing was changed"
    ]
    assert refs(repo) == before


def test_code_conflict_lists_the_files(repo: GitRepo) -> None:
    text = repo.git("show", "prod:src/train.py")
    branch(
        repo,
        "exp/clash",
        {
            "src/train.py": text.replace("step_3 = 3", "step_3 = 30"),
            "src/check.py": "print('mine')\n",
        },
    )
    repo.commit(
        "prod fix",
        {
            "src/train.py": text.replace("step_3 = 3", "step_3 = -3"),
            "src/check.py": "print('theirs')\n",
        },
    )
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/clash", "--yes")
    assert out.returncode == 1
    assert (
        "mlvc: gate merge failed: code conflicts in src/check.py, src/train.py: merge prod "
        "into exp/clash by hand first" in out.stderr
    )
    assert refs(repo) == before and repo.git("status", "--porcelain") == ""


def test_dirty_tree_refusal_from_the_command(repo: GitRepo) -> None:
    (repo.path / "metrics/model.json").write_text("{}")
    out = mlvc("-C", str(repo.path), "promote", "exp/better", "--yes")
    assert out.returncode == 1
    assert (
        "gate worktree failed: prod is checked out with uncommitted changes to "
        "metrics/model.json" in out.stderr
    )


def test_approve_command(repo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "approve", "exp/better")
    assert out.returncode == 0
    assert out.stdout.startswith(f"approved exp/better ({repo.rev('exp/better')[:8]}) as Ben")
    again = json.loads(
        mlvc(
            "-C",
            str(repo.path),
            "approve",
            "exp/better",
            "--json",
            "--user",
            "Chen Wei <chen@example.com>",
        ).stdout
    )
    assert not again["added"]  # Ben naming Chen is Ben, who approved already
    assert [a["user"] for a in again["approvals"]] == ["Ben Okafor <ben@example.com>"]
    chen = run_env(GIT_AUTHOR_NAME="Chen Wei", GIT_AUTHOR_EMAIL="chen@example.com")
    third = mlvc("-C", str(repo.path), "approve", "exp/better", "--user", "Bob <b@x>", env=chen)
    assert "as Bob <b@x> (recorded by Chen Wei <chen@example.com>)" in third.stdout
    assert mlvc("-C", str(repo.path), "approve", "exp/none").returncode == 2


def test_rollback_command(repo: GitRepo) -> None:
    assert mlvc("-C", str(repo.path), "rollback", "--yes").returncode == 1  # no versions yet
    mlvc("-C", str(repo.path), "promote", "exp/better", "--yes")
    branch(repo, "exp/best", {"models/model.pkl": b"model-9", "metrics/model.json": metrics(0.95)})
    mlvc("-C", str(repo.path), "promote", "exp/best", "--yes")
    head = refs(repo)
    asked = mlvc("-C", str(repo.path), "rollback")
    assert asked.returncode == 2 and "pass --yes" in asked.stderr and refs(repo) == head
    dry = mlvc("-C", str(repo.path), "rollback", "--dry-run")
    assert dry.returncode == 0 and "Roll back prod from 1.1.0 to model@v1.0.0" in dry.stdout
    bad = mlvc("-C", str(repo.path), "rollback", "--to", "7.0.0", "--yes")
    assert bad.returncode == 2 and "no version 7.0.0 on prod" in bad.stderr
    done = mlvc("-C", str(repo.path), "rollback", "--to", "1.0.0", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("rolled prod back to model@v1.0.0: commit ")
    assert repo.git("show", "prod:models/model.pkl") == "model-2"
    listed = mlvc("-C", str(repo.path), "versions").stdout.splitlines()
    assert listed[3].split()[:4] == ["model@v1.0.0", "prod", "rolled", "back"]
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


LOADED = """
import sys, runpy
sys.argv = {argv!r}
try:
    runpy.run_module("mlvc_tui.cli.main", run_name="__main__")
except SystemExit:
    pass
print("LOADED", sorted(m for m in ("pandas", "textual", "numpy") if m in sys.modules),
      file=sys.stderr)
"""


@pytest.mark.parametrize("command", [["versions"], ["promote", "exp/better", "--dry-run"]])
def test_promotion_commands_import_neither_pandas_nor_textual(
    repo: GitRepo, command: list[str]
) -> None:
    argv = ["mlvc", "-C", str(repo.path), *command]
    out = subprocess.run(
        [sys.executable, "-c", LOADED.format(argv=argv)], capture_output=True, text=True, check=True
    )
    assert out.stderr.strip().splitlines()[-1] == "LOADED []"
