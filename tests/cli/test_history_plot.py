"""`mlvc history METRIC --plot`: a chart as wide as the terminal, oldest commit left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gitrepo import GitRepo

MLVC = str(Path(sys.executable).with_name("mlvc"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("hist") / "reg")
    for i, acc in enumerate((0.70, 0.74, 0.72, 0.81)):
        r.commit(
            f"train {i}", {"models/model.pkl": f"m{i}", "metrics/model.json": {"accuracy": acc}}
        )
    return r


def _run(repo: GitRepo, columns: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "COLUMNS": str(columns), "LINES": "20"}
    return subprocess.run(
        [MLVC, "-C", str(repo.path), "history", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("columns", [50, 120])
def test_the_plot_fits_the_terminal_width(repo: GitRepo, columns: int) -> None:
    out = _run(repo, columns, "accuracy", "--plot")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.rstrip("\n").splitlines()
    assert "accuracy on prod · 4 commits, oldest left" in lines[0]
    assert max(len(line) for line in lines) <= columns
    assert "\x1b[" not in out.stdout  # not a terminal: no colour codes
    assert "0.81" in out.stdout and "0.70" in out.stdout  # the y axis spans the values
    assert 8 <= len(lines) <= 20
