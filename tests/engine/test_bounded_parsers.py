"""Tiny files that would exhaust the machine are reported bad for their branch (issue 11.6):
YAML alias bombs, nesting thousands deep, metrics files far too large; the cache stays small.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from mlvc_tui.engine.bounded import MAX_FILE_BYTES, load_json, load_yaml
from mlvc_tui.engine.errors import BadInput
from tests.support.gitrepo import GitRepo
from tests.support.promote import base_registry, branch, metrics, mlvc

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)
DEEP_YAML = "[" * 5000 + "]" * 5000
DEEP_JSON = "[" * 100_000 + "]" * 100_000


def test_the_bomb_is_small() -> None:
    assert len(BOMB) < 400


@pytest.mark.parametrize(
    ("text", "why"),
    [(BOMB, "aliases"), (DEEP_YAML, "nests"), ("a: " + "{b: " * 100 + "1" + "}" * 100, "nests")],
)
def test_yaml_limits(text: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        load_yaml("metrics/x.yaml", text)


def test_json_limits() -> None:
    with pytest.raises(BadInput, match="nests"):
        load_json("metrics/x.json", DEEP_JSON)
    with pytest.raises(BadInput, match="more than"):
        load_json("metrics/x.json", json.dumps(list(range(60_000))))
    assert load_json("m.json", '{"a": {"b": [1, 2]}}') == {"a": {"b": [1, 2]}}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    r = base_registry(tmp_path_factory.mktemp("bounded") / "reg")
    branch(r, "exp/bomb", {"metrics/bomb.yaml": BOMB})
    branch(r, "exp/deep", {"metrics/deep.yaml": DEEP_YAML, "metrics/deep.json": DEEP_JSON})
    huge = {f"k{i}": i for i in range(MAX_FILE_BYTES // 10)}
    branch(r, "exp/huge", {"metrics/huge.json": json.dumps(huge)})
    branch(
        r,
        "exp/params-bomb",
        {"params.yaml": BOMB, "models/model.pkl": b"m-bomb", "metrics/model.json": metrics(0.9)},
    )
    return r


def test_grid_reports_each_bad_file_for_its_branch(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        grid = reg.grid()
        errors = {b: grid.row(b).metrics.errors for b in ("exp/bomb", "exp/deep", "exp/huge")}
        assert grid.row("prod").metrics.errors == {}
    assert "more than 64 aliases" in errors["exp/bomb"]["metrics/bomb.yaml"]
    assert "nests" in errors["exp/deep"]["metrics/deep.yaml"]
    assert "nests" in errors["exp/deep"]["metrics/deep.json"]
    assert "too large to parse" in errors["exp/huge"]["metrics/huge.json"]
    cache = repo.path / ".git" / "mlvc" / "cache-v1"
    assert cache.stat().st_size < 200_000


def test_a_params_bomb_leaves_lineage_and_promotion_working(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        assert reg.lineage(None, "exp/params-bomb").model == "models/model.pkl"
    out = mlvc("-C", str(repo.path), "promote", "exp/params-bomb", "--dry-run")
    assert out.returncode == 0, out.stderr


def test_cli_grid_survives(repo: GitRepo, tmp_path: Path) -> None:
    out = mlvc("-C", str(repo.path), "grid")
    assert out.returncode == 0, out.stderr
