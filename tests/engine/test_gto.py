"""GTO sees what mlvc did: the real `gto` (the `gto` extra) reads the stage tags mlvc writes
on promotion and rollback, and mlvc reads the tags `gto` writes. (gto 1.10 has no `which`
command; `gto show NAME#STAGE --ref` is its answer to "which version is in prod".)"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from mlvc_tui.engine.promotion.gto import gto_state
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from mlvc_tui.engine.promotion.rollback import apply_rollback, plan_rollback
from tests.support.gitrepo import GitRepo
from tests.support.gto import gto, needs_gto
from tests.support.promote import branch, copy_registry, metrics, mlvc, two_candidates

pytestmark = needs_gto
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """v1.0.0, then v1.1.0, then a rollback to v1.0.0, a minute apart."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    mp.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
    r = two_candidates(tmp_path_factory.mktemp("gto") / "reg")
    branch(r, "exp/best", {"models/model.pkl": b"model-5", "metrics/model.json": metrics(0.9)})
    with Registry.open(r.path) as reg:
        apply_promotion(reg, plan_promotion(reg, "exp/better"), T0)
        apply_promotion(reg, plan_promotion(reg, "exp/best"), T0 + timedelta(minutes=1))
        apply_rollback(reg, plan_rollback(reg), T0 + timedelta(minutes=2))
    mp.undo()
    return r


def test_gto_show_history_and_stage_agree_with_mlvc_versions(moved: GitRepo) -> None:
    versions = json.loads(mlvc("-C", str(moved.path), "versions", "--json").stdout)
    newest = versions["versions"][0]
    assert (newest["kind"], newest["version"]) == ("rollback", "1.0.0")
    prod = moved.git("rev-parse", "model@v1.0.0^{commit}").strip()
    assert versions["gto"] == {
        "stages": {"prod": "1.0.0"},
        "deregistered": [],
        "deprecated": False,
        "commits": {"prod": prod},
    }
    assert [(v["version"], v["stages"]) for v in versions["versions"]] == [
        ("1.0.0", ["prod"]),  # the rollback to 1.0.0 and 1.0.0 itself: the same version
        ("1.1.0", []),
        ("1.0.0", ["prod"]),
    ]
    assert gto(moved, "show", "model#prod", "--ref").strip() == "model@v1.0.0"
    shown = json.loads(gto(moved, "show", "--json"))["model"]
    assert shown["stage"] == {"prod": "v1.0.0"} and shown["version"] == "v1.1.0"
    history = json.loads(gto(moved, "history", "model", "--json"))
    stages = sorted(
        ((h["event"], h["version"], h["ref"]) for h in history if h["stage"] == "prod"),
        key=lambda e: int(e[2].rsplit("#", 1)[1]),
    )
    assert stages == [
        ("assignment", "v1.0.0", "model#prod#1"),
        ("unassignment", "v1.0.0", "model#prod!#2"),
        ("assignment", "v1.1.0", "model#prod#3"),
        ("unassignment", "v1.1.0", "model#prod!#4"),
        ("assignment", "v1.0.0", "model#prod#5"),
    ]
    registered = sorted(h["version"] for h in history if h["event"] == "registration")
    promoted = sorted(f"v{v['version']}" for v in versions["versions"] if v["kind"] == "promotion")
    assert registered == promoted == ["v1.0.0", "v1.1.0"]
    assert "GTO stages: prod v1.0.0" in mlvc("-C", str(moved.path), "versions").stdout


def test_mlvc_reads_what_gto_wrote(moved: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(moved, tmp_path / "reg")
    gto(r, "assign", "model", "--version", "v1.1.0", "--stage", "staging")
    gto(r, "deprecate", "model", "v1.1.0")  # deregisters the version
    with Registry.open(r.path) as reg:
        state = gto_state(reg, "model")
    assert state.stages == {"prod": "1.0.0", "staging": "1.1.0"}
    assert state.deregistered == frozenset({"1.1.0"}) and not state.deprecated
    counters = [int(t.rsplit("#", 1)[1]) for t in r.git("tag", "-l", "model#*").split()]
    assert state.next_counter == max(counters) + 1 == 7  # 5 of ours, gto's assignment 6
    gto(r, "deprecate", "model", "v1.1.0", "staging")  # unassigns
    gto(r, "deprecate", "model")
    with Registry.open(r.path) as reg:
        state = gto_state(reg, "model")
    assert state.stages == {"prod": "1.0.0"} and state.deprecated


def test_a_gto_register_elsewhere_does_not_move_prods_numbering(
    moved: GitRepo, tmp_path: Path
) -> None:
    r = copy_registry(moved, tmp_path / "reg")
    gto(r, "register", "model", "exp/worse", "--version", "v5.0.0")
    branch(r, "exp/code", {"src/train.py": "print('faster')\n"})
    with Registry.open(r.path) as reg:
        plan = plan_promotion(reg, "exp/code")
        assert plan.version == "1.1.1" and plan.previous == "1.1.0"
        done = apply_promotion(reg, plan, T0 + timedelta(minutes=3))
    assert done.stage_tags == ("model#prod!#6", "model#prod#7")  # registrations: no counter
    assert gto(r, "show", "model#prod", "--ref").strip() == "model@v1.1.1"
    assert shutil.which("git") and r.git("fsck", "--strict", "--no-dangling") == ""
