"""The fsspec protocol mlvc://: pandas reads any ref of a registry; writes make one commit."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from tests.support.gitrepo import GitRepo, use_git_identity

BRANCHES = ("prod", "staging", "dev", "ab/test-a", "ab/test-b")


def show(repo: Path, spec: str) -> bytes:
    return subprocess.run(["git", "show", spec], cwd=repo, capture_output=True, check=True).stdout


def test_pandas_reads_every_branch_of_the_demo(demo_repo: Path) -> None:
    for branch in BRANCHES:
        url = f"mlvc://{demo_repo}@{branch}:monitoring/drift.csv"
        expected = pd.read_csv(io.BytesIO(show(demo_repo, f"{branch}:monitoring/drift.csv")))
        pd.testing.assert_frame_equal(pd.read_csv(url), expected)
    arms = pd.concat(
        pd.read_csv(f"mlvc://{demo_repo}@{b}:monitoring/experiments/results.csv")
        for b in ("ab/test-a", "ab/test-b")
    )
    assert len(arms) > 2  # an A/B analysis is a loop of read_csv


def test_url_forms(demo_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = show(demo_repo, "model@v1.1.0:params.yaml")
    with fsspec.open(f"mlvc://{demo_repo}@model@v1.1.0:params.yaml") as fh:  # a version tag
        assert fh.read() == expected
    monkeypatch.chdir(demo_repo.parent)
    with fsspec.open(f"mlvc://{demo_repo.name}@model@v1.1.0:params.yaml") as fh:  # relative
        assert fh.read() == expected
    options = {"repo": str(demo_repo)}
    frame = pd.read_csv("mlvc://dev:monitoring/drift.csv", storage_options=options)
    assert len(frame) > 0
    fs = fsspec.filesystem("mlvc", repo=str(demo_repo), ref="prod")
    assert fs.cat("params.yaml") == show(demo_repo, "prod:params.yaml")


def test_listing_and_info(demo_repo: Path) -> None:
    fs = fsspec.filesystem("mlvc")
    root = f"{demo_repo}@prod:"
    names = fs.ls(root + "models", detail=False)
    assert names == [root + "models/model.lineage.json", root + "models/model.pkl"]
    info = fs.info(root + "models/model.pkl")
    assert info["type"] == "file" and info["size"] == len(show(demo_repo, "prod:models/model.pkl"))
    assert fs.info(root + "monitoring")["type"] == "directory"
    assert root + "monitoring/drift.csv" in fs.glob(root + "monitoring/*.csv")
    assert fs.exists(root + "params.yaml") and not fs.exists(root + "nope.csv")
    assert not fs.exists(f"{demo_repo}@no-such-branch:params.yaml")
    with pytest.raises(FileNotFoundError, match=r"no file nope\.csv on prod"):
        fs.open(root + "nope.csv")
    with pytest.raises(ValueError, match="expected mlvc://<repository>@<ref>:<path>"):
        fs.open("just/a/path.csv")


def test_writing_through_fsspec_is_one_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_git_identity(monkeypatch)
    repo = GitRepo(tmp_path / "reg")
    repo.commit("first", {"data/a.csv": "x\n1\n"})
    repo.git("branch", "exp/a")
    frame = pd.DataFrame({"x": [1, 2], "y": [0.5, 0.25]})
    frame.to_csv(f"mlvc://{repo.path}@exp/a:monitoring/results.csv", index=False)
    assert repo.git("log", "--format=%s", "-1", "exp/a") == "Write monitoring/results.csv\n"
    pd.testing.assert_frame_equal(
        pd.read_csv(f"mlvc://{repo.path}@exp/a:monitoring/results.csv"), frame
    )
    with (
        pytest.raises(RuntimeError),
        fsspec.open(f"mlvc://{repo.path}@exp/a:models/m.bin", "wb") as fh,
    ):
        fh.write(b"half")
        raise RuntimeError("crashed")
    with pytest.raises(FileNotFoundError, match="no branch exp/new"):
        fsspec.open(f"mlvc://{repo.path}@exp/new:x.csv", "wb").open()
    assert repo.git("rev-list", "--count", "exp/a") == "2\n"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
