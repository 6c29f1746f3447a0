"""Names resolve as git resolves them: a version tag before a branch of the same name, and
other names that are both a tag and a branch refused, naming both (issue 11.4)."""

from __future__ import annotations

from pathlib import Path

import pytest

import mlvc_tui as mlvc_api
from mlvc_tui.engine.errors import BadInput
from tests.support.gitrepo import GitRepo
from tests.support.promote import branch, metrics, mlvc


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("names") / "reg")
    r.commit("first model", {"models/model.pkl": b"model-1", "metrics/model.json": metrics(0.8)})
    r.git("tag", "-a", "-m", "v2", "model@v2.0.0", "prod")
    r.git("tag", "-a", "-m", "x", "exp", "prod")
    branch(r, "model@v2.0.0", {"models/model.pkl": b"shadow"})
    branch(r, "exp", {"models/model.pkl": b"exp branch"})
    return r


def test_a_version_tag_wins_over_a_branch(repo: GitRepo, tmp_path: Path) -> None:
    tagged = repo.git("rev-parse", "model@v2.0.0^{commit}").strip()  # git's own answer
    with mlvc_api.open(repo.path) as reg:
        assert reg.registry.resolve("model@v2.0.0") == tagged
        assert reg.registry.resolve("refs/heads/model@v2.0.0") != tagged
        assert reg.registry.resolve("heads/model@v2.0.0") != tagged
    out = mlvc("-C", str(repo.path), "cp", "model@v2.0.0:models/model.pkl", str(tmp_path / "m"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "m").read_bytes() == b"model-1"


def test_other_ambiguous_names_are_refused(repo: GitRepo, tmp_path: Path) -> None:
    with mlvc_api.open(repo.path) as reg, pytest.raises(BadInput, match="ambiguous"):
        reg.registry.resolve("exp")
    out = mlvc("-C", str(repo.path), "cp", "exp:models/model.pkl", str(tmp_path / "m"))
    assert out.returncode == 2 and not (tmp_path / "m").exists()
    assert out.stderr == (
        "mlvc: 'exp' is ambiguous: it names both refs/tags/exp and refs/heads/exp; "
        "write the full name (e.g. refs/heads/exp)\n"
    )
    full = mlvc("-C", str(repo.path), "cp", "refs/heads/exp:models/model.pkl", str(tmp_path / "m"))
    assert full.returncode == 0 and (tmp_path / "m").read_bytes() == b"exp branch"
