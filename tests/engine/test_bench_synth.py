"""The synthetic-registry generator of bench/ writes valid, deterministic repositories."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.gitrepo import git_in

SYNTH = Path(__file__).resolve().parents[2] / "bench" / "synth.py"


@pytest.fixture(scope="module")
def synth() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_synth", SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def heads(repo: Path) -> dict[str, str]:
    out = git_in(repo, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return dict(line.split() for line in out.splitlines())


def test_tiny_registry_is_valid_and_complete(synth: ModuleType, tmp_path: Path) -> None:
    repo = synth.make_registry(tmp_path / "reg", branches=5, commits=3, artifacts=6, seed=1)
    subprocess.run(["git", "-C", str(repo), "fsck", "--strict", "--no-progress"], check=True)
    names = heads(repo)
    assert sorted(names) == sorted(synth.branch_names(5))
    assert {"prod", "staging", "dev"} <= set(names)
    assert int(git_in(repo, "rev-list", "--count", "--all")) == 5 * 3
    listed = git_in(repo, "ls-tree", "-r", "--name-only", "prod").split()
    assert set(synth.artifact_paths(6)) | {"src/train.py", "params.yaml"} <= set(listed)
    assert git_in(repo, "symbolic-ref", "HEAD").strip() == "refs/heads/prod"
    assert git_in(repo, "status", "--porcelain") == ""
    assert git_in(repo, "count-objects", "-v").split("\n")[0] == "count: 0"  # all packed
    assert (repo / ".git" / "packed-refs").exists()
    assert not (repo / ".git" / "logs").exists()  # no reflogs: copies may share files


def test_same_seed_gives_same_commit_ids(synth: ModuleType, tmp_path: Path) -> None:
    a = synth.make_registry(tmp_path / "a", branches=5, commits=3, artifacts=6, seed=7)
    b = synth.make_registry(tmp_path / "b", branches=5, commits=3, artifacts=6, seed=7)
    c = synth.make_registry(tmp_path / "c", branches=5, commits=3, artifacts=6, seed=8)
    assert git_in(a, "rev-parse", "prod", "dev") == git_in(b, "rev-parse", "prod", "dev")
    assert heads(a) == heads(b)
    assert heads(a) != heads(c)


def test_refuses_a_non_empty_folder(synth: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        synth.make_registry(tmp_path, branches=2, commits=1, artifacts=2)
