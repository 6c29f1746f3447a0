"""Promotion on the demo registry: its gates, its check script, versions continuing its tags."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from mlvc_tui.engine.demo.build import build_demo
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from mlvc_tui.engine.promotion.rollback import apply_rollback, plan_rollback
from mlvc_tui.engine.promotion.versions import version_history
from tests.support.gitrepo import GitRepo

CHECK_LINES = [
    "$ python src/check.py",
    "loading models/model.pkl (708 bytes), numpy objects only",
    "model: logistic, 7 features, threshold 0.5",
    "predicted 200 rows of data/train.csv",
]


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "reg", dirty=False)


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> GitRepo:
    shutil.copytree(demo_template, tmp_path / "reg", symlinks=True)
    return GitRepo.existing(tmp_path / "reg")


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ana Ruiz")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ana@example.com")


def test_demo_staging_passes_every_gate_with_its_check(demo: GitRepo) -> None:
    lines: list[str] = []
    with Registry.open(demo.path) as reg:
        plan = plan_promotion(reg, "staging", on_output=lines.append)
    assert [g.name for g in plan.gates] == [
        "merge",
        "artifacts",
        "finite",
        "primary",
        "slices",
        "stage",
        "check",
    ]
    assert plan.ok, plan.failed
    assert lines[:4] == CHECK_LINES and lines[-1] == "ok: the model loads and predicts"
    assert (plan.version, plan.previous, plan.bump) == ("2.0.1", "2.0.0", "pipeline")
    assert plan.merge.resolved == ()  # prod keeps its own monitoring: nothing to resolve
    assert plan.kept == ("monitoring/drift.csv", "monitoring/predictions.csv")
    assert plan.replaced == ("config/serve.yaml",)


def test_demo_dev_fails_primary_and_stage(demo: GitRepo) -> None:
    with Registry.open(demo.path) as reg:
        plan = plan_promotion(reg, "dev")
    failed = {g.name: g.reason for g in plan.failed}
    assert list(failed) == ["primary", "stage"]
    assert failed["primary"] == "accuracy 0.8167 -> 0.81 (-0.0067, worse than prod)"
    assert failed["stage"].endswith("has not reached staging: promote it to staging first")


def test_demo_feature_branch_would_be_a_major_version(demo: GitRepo) -> None:
    with Registry.open(demo.path) as reg:
        plan = plan_promotion(reg, "exp/feature-eng")
    assert (plan.version, plan.bump) == ("3.0.0", "major")
    assert plan.bump_reason == "data/schema.json changed (data schema)"


def test_demo_promote_then_roll_back(demo: GitRepo) -> None:
    with Registry.open(demo.path) as reg:
        done = apply_promotion(reg, plan_promotion(reg, "staging"))
        assert done.tag == "model@v2.0.1"
        back = apply_rollback(reg, plan_rollback(reg))
        assert back.record.version == "1.1.1"  # 2.0.0 holds the same model as 2.0.1
        entries = version_history(reg, "prod")
    assert [(e.kind, e.version) for e in entries][:3] == [
        ("rollback", "1.1.1"),
        ("promotion", "2.0.1"),
        ("tag", "2.0.0"),
    ]
    assert demo.git("tag").split()[-1] == "model@v2.0.1"
    graph = demo.git("log", "--graph", "--format=%s", "-3", "prod").splitlines()
    assert graph[0] == "* Roll back prod to model@v1.1.1"
    assert graph[1] == "*   Promote staging to prod as model@v2.0.1"
    assert demo.git("fsck", "--strict", "--no-dangling") == ""
    assert demo.git("status", "--porcelain") == ""  # dev is checked out: untouched
