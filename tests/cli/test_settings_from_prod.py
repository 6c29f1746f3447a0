"""Settings come from prod (or the branch --prod names) and from no other branch (issue 11.3).

The state after `mlvc init` on an existing repository: prod has no mlvc.toml. A pushed
branch declares itself prod and turns accuracy into a lower-is-better metric.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlvc_tui as mlvc_api
from tests.support.gitrepo import GitRepo
from tests.support.promote import branch, metrics, mlvc, refs

EVIL = '[registry]\nprod = "exp/evil"\n\n[metrics.direction]\naccuracy = "lower"\n'


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = GitRepo(tmp_path_factory.mktemp("settings") / "reg")
    r.commit(
        "first model",
        {"models/model.pkl": b"model-1", "metrics/model.json": metrics(0.8)},
    )
    branch(
        r,
        "exp/evil",
        {"mlvc.toml": EVIL, "models/model.pkl": b"evil", "metrics/model.json": metrics(0.5)},
    )
    branch(r, "exp/broken", {"mlvc.toml": "[registry\nprod = 3"})
    branch(r, "exp/worse", {"models/model.pkl": b"model-w", "metrics/model.json": metrics(0.6)})
    r.checkout("exp/evil")  # even checked out, a branch's settings are not the registry's
    return r


def test_branches_and_grid_keep_prod(repo: GitRepo) -> None:
    out = mlvc("-C", str(repo.path), "branches", "--json")
    assert out.returncode == 0, out.stderr
    kinds = {b["name"]: b["kind"] for b in json.loads(out.stdout)["branches"]}
    assert kinds["prod"] == "prod" and kinds["exp/evil"] != "prod"
    grid = mlvc("-C", str(repo.path), "grid", "--json")
    assert grid.returncode == 0 and grid.stderr == ""  # exp/broken's bad toml stops nothing


def test_load_model_and_lineage_use_prod(repo: GitRepo) -> None:
    with mlvc_api.open(repo.path) as reg:
        assert reg.registry.prod == "prod"
        assert reg.registry.lineage().branch == "prod"
        assert reg.registry.config.higher_is_better("accuracy")


def test_a_worse_model_fails_the_primary_gate(repo: GitRepo) -> None:
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "promote", "exp/worse", "--dry-run")
    assert out.returncode == 1
    assert out.stderr.splitlines()[-1].startswith("mlvc: gate primary failed: accuracy 0.8 -> 0.6")
    assert refs(repo) == before


def test_prod_named_on_the_command_line(repo: GitRepo, tmp_path: Path) -> None:
    out = mlvc("-C", str(repo.path), "--prod", "exp/evil", "branches", "--json")
    assert out.returncode == 0, out.stderr
    kinds = {b["name"]: b["kind"] for b in json.loads(out.stdout)["branches"]}
    assert kinds["exp/evil"] == "prod"
    with mlvc_api.open(repo.path, prod="exp/evil") as reg:
        assert reg.registry.prod == "exp/evil"
        assert not reg.registry.config.higher_is_better("accuracy")


def test_init_names_a_custom_prod_in_the_local_config(tmp_path: Path) -> None:
    r = GitRepo(tmp_path / "reg", branch="live")
    r.commit("m", {"models/model.pkl": b"x"})
    r.checkout("exp/evil", new=True)
    r.commit("evil settings", {"mlvc.toml": EVIL})
    r.checkout("live")
    with mlvc_api.open(r.path) as reg:
        assert reg.registry.prod is None  # nothing trusted names prod yet
    out = mlvc("-C", str(r.path), "init", "--prod", "live")
    assert out.returncode == 0, out.stderr
    assert r.git("config", "mlvc.prod").strip() == "live"
    with mlvc_api.open(r.path) as reg:
        assert reg.registry.prod == "live"
