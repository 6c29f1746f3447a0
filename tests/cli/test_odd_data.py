"""Odd but valid data (issue 11.8): far time zones and far dates, markup in approver names
and folder names, a bare carriage return inside a results field."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo
from tests.support.promote import mlvc


def _raw_commit(repo: GitRepo, parent: str, stamp: str, message: str) -> str:
    tree = repo.git("rev-parse", f"{parent}^{{tree}}").strip()
    raw = (
        f"tree {tree}\nparent {parent}\nauthor A <a@example.com> {stamp}\n"
        f"committer A <a@example.com> {stamp}\n\n{message}\n"
    )
    done = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
        cwd=repo.path,
        input=raw.encode(),
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("odd") / "reg")
    first = r.commit("model", {"models/model.pkl": b"m", "metrics/model.json": '{"accuracy": 0.8}'})
    far_zone = _raw_commit(r, first, "1788000000 +9959", "far zone")
    far_date = _raw_commit(r, far_zone, "253402300800 +0000", "after year 9999")
    r.git("update-ref", "refs/heads/prod", far_date)
    r.git("reset", "-q", "--hard", "prod")
    assert r.git("fsck", "--strict", "--no-progress") == ""
    return r


@pytest.mark.parametrize(
    "command", [["branches"], ["history", "accuracy"], ["grid"], ["lineage"], ["diff"]]
)
def test_far_zones_and_dates_are_shown(odd: GitRepo, command: list[str]) -> None:
    out = mlvc("-C", str(odd.path), *command)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert mlvc("-C", str(odd.path), *command, "--json").returncode == 0


def test_history_shows_the_clamped_date(odd: GitRepo) -> None:
    out = mlvc("-C", str(odd.path), "history", "accuracy")
    assert "9999-12-29" in out.stdout and "far zone" in out.stdout


def test_markup_in_an_approver_name_is_text(odd: GitRepo) -> None:
    odd.git("branch", "-f", "exp/x", "prod~1")
    evil = "[link=http://evil.example]Bob[/link] [/red]"
    for user in (evil, "Ann", evil):
        out = mlvc("-C", str(odd.path), "approve", "exp/x", "--user", user)
        assert out.returncode == 0, out.stderr
    assert evil in out.stdout and "\x1b]8" not in out.stdout  # no hyperlink escape


def test_brackets_in_the_folder_name(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "tag[bold]x[/blue]")
    r.commit("model", {"models/model.pkl": b"m"})
    out = mlvc("-C", str(r.path), "init")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""


def test_a_bare_cr_in_results_is_a_bad_row(demo_repo: Path, tmp_path: Path) -> None:
    repo = GitRepo.existing(Path(shutil.copytree(demo_repo, tmp_path / "demo", symlinks=True)))
    repo.git("stash", "-u", "-q", check=False)
    repo.git("checkout", "-q", "ab/test-b")
    path = repo.path / "monitoring/experiments/results.csv"
    data = path.read_bytes()
    header, first, rest = data.split(b"\n", 2)
    cells = first.split(b",")
    cells[1] = cells[1] + b"\rX"
    path.write_bytes(b"\n".join([header, b",".join(cells), rest]))
    repo.git("commit", "-q", "-am", "a bare CR inside a field")
    out = mlvc("-C", str(repo.path), "ab", "report", "--json")
    assert out.returncode == 0, out.stderr
    variants = json.loads(out.stdout)["variants"]
    assert variants[1]["count"] > 3000
