"""The `mlvc` command as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo

MLVC = str(Path(sys.executable).with_name("mlvc"))


def mlvc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [MLVC, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        errors="surrogateescape",
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("cli") / "reg")
    r.commit(
        "first",
        {
            "models/model.pkl": b"m1",
            "metrics/model.json": {"accuracy": 0.8},
            "src/train.py": "x = 1\n",
        },
    )
    r.checkout("exp/ünï-🚀", new=True)
    r.commit(
        "\x1b[2J[bold]boom[/bold]",
        {
            "models/model.pkl": b"m2",
            "logs/\x1b[1m.log": "x",
            "metrics/model.json": {"accuracy": 0.9},
        },
    )
    r.checkout("exp/broken", new=True)
    r.commit("broken", {"metrics/model.json": "{nope"})
    r.checkout("exp/nan", new=True)
    r.commit("nan", {"metrics/model.json": '{"accuracy": NaN}'})
    r.checkout("prod")
    return r


def test_branches_and_grid_tables_show_text_literally(repo: GitRepo) -> None:
    out = mlvc("branches", cwd=repo.path)
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout
    assert "exp/ünï-🚀" in out.stdout and "\\x1b[2J[bold]boom[/bold]" in out.stdout
    grid = mlvc("-C", str(repo.path), "grid")
    assert grid.returncode == 0 and "\x1b" not in grid.stdout
    assert "! exp/broken: metrics/model.json is not valid" in grid.stdout
    assert "NaN" in grid.stdout


def test_grid_json_is_strict_and_complete(repo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "grid", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)  # strict: would fail on a bare NaN token
    rows = {row["branch"]["name"]: row for row in doc["branches"]}
    assert doc["prod"] == "prod" and doc["primary_metric"] == "accuracy"
    assert rows["exp/ünï-🚀"]["artifacts"]["models/model.pkl"]["status"] == "changed"
    assert rows["exp/ünï-🚀"]["primary"]["verdict"] == "better"
    assert rows["exp/nan"]["metrics"]["accuracy"] == "NaN"
    assert rows["exp/broken"]["metric_errors"]
    blob = repo.git("rev-parse", "prod:models/model.pkl").strip()
    assert rows["prod"]["artifacts"]["models/model.pkl"]["id"] == blob


def test_diff_history_lineage(repo: GitRepo) -> None:
    diff = json.loads(mlvc("-C", str(repo.path), "diff", "exp/ünï-🚀", "--json").stdout)
    assert diff["a"] == "prod" and diff["rows"][0]["verdict"] == "better"
    table = mlvc("-C", str(repo.path), "diff", "prod", "exp/nan")
    assert table.returncode == 0 and "! invalid" in table.stdout
    hist = json.loads(
        mlvc("-C", str(repo.path), "history", "accuracy", "-b", "exp/ünï-🚀", "--json").stdout
    )
    assert [p["value"] for p in hist["points"]] == [0.9, 0.8]
    lin = mlvc("-C", str(repo.path), "lineage", "model", "--json")
    assert json.loads(lin.stdout)["model"] == "models/model.pkl"
    assert "models/model.pkl" in mlvc("-C", str(repo.path), "lineage").stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("grid", "--bogus"), 2, "unrecognized arguments"),
        (("diff", "prod", "no-such-branch"), 2, "no branch, tag or commit named 'no-such-branch'"),
        (("history", "nope"), 2, "metric 'nope' is not on prod"),
        (("lineage", "nope"), 2, "no model 'nope' on prod"),
        (("lineage", "-b", "missing/ref"), 2, "no branch, tag or commit"),
        (("init", "--prod", "bad..name"), 2, "not a valid branch name"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    repo: GitRepo, args: tuple[str, ...], code: int, message: str
) -> None:
    before = repo.git("for-each-ref")
    out = mlvc("-C", str(repo.path), *args)
    assert out.returncode == code
    assert message in out.stderr and out.stderr.count("\n") == 1
    assert "Traceback" not in out.stderr and out.stdout == ""
    assert repo.git("for-each-ref") == before


def test_not_a_repository_and_empty_repository(tmp_path: Path) -> None:
    out = mlvc("-C", str(tmp_path), "grid")
    assert out.returncode == 2 and "is not inside a git repository" in out.stderr
    GitRepo(tmp_path / "empty")
    out = mlvc("-C", str(tmp_path / "empty"), "branches")
    assert out.returncode == 2 and "no commits yet" in out.stderr


def test_init_creates_a_registry_git_accepts(tmp_path: Path) -> None:
    out = mlvc("-C", str(tmp_path / "new"), "init", "--prod", "production")
    assert out.returncode == 0, out.stderr
    log = subprocess.run(
        ["git", "log", "--format=%s", "production"],
        cwd=tmp_path / "new",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert log == "Start the mlvc registry\n"
    fsck = subprocess.run(
        ["git", "fsck", "--strict"],
        cwd=tmp_path / "new",
        check=False,
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0, fsck.stderr
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=tmp_path / "new",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""
    again = json.loads(mlvc("-C", str(tmp_path / "new"), "init", "--json").stdout)
    assert again["done"] == ["already a registry: nothing to do"]


def test_demo_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    out = mlvc("demo", str(tmp_path))
    assert out.returncode == 2 and out.stderr.startswith("mlvc: ")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_demo_then_grid(tmp_path: Path) -> None:
    out = mlvc("demo", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    grid = json.loads(mlvc("-C", str(tmp_path / "demo"), "grid", "--json").stdout)
    names = [row["branch"]["name"] for row in grid["branches"]]
    assert names[:3] == ["prod", "staging", "dev"]
    assert sum(n.startswith("exp/") for n in names) >= 3
    assert sum(n.startswith("ab/") for n in names) == 2
