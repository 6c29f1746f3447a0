"""GTO's stages beyond prod, and stage tags a crash left out, checked with the real `gto`.

Staging has no versions: a promotion there assigns GTO's stage to the commit staging now
serves (unregistered, as ``gto assign --skip-registration`` does), or to the candidate's
version when the candidate carries a version tag. A stage tag deleted with ``git tag -d``
(the crash after the version tag landed) is recreated by ``mlvc versions``, ``mlvc doctor
--fix`` and the next promotion, byte for byte."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlvc_tui.engine import Registry
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from tests.support.gitrepo import GitRepo
from tests.support.gto import gto, needs_gto
from tests.support.promote import branch, copy_registry, metrics, mlvc, two_candidates

pytestmark = needs_gto
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def versions(repo: GitRepo, *args: str) -> dict:
    out = mlvc("-C", str(repo.path), "versions", "--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def stage_events(repo: GitRepo, stage: str) -> list[tuple[str, str, str]]:
    history = json.loads(gto(repo, "history", "model", "--json"))
    return sorted(
        ((h["event"], h["version"], h["ref"]) for h in history if h["stage"] == stage),
        key=lambda e: int(e[2].rsplit("#", 1)[1]),
    )


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """exp/better into staging, staging into prod (v1.0.0), then exp/best into staging."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    mp.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
    r = two_candidates(tmp_path_factory.mktemp("gto-stages") / "reg")
    r.git("branch", "staging", "prod")
    branch(r, "exp/best", {"models/model.pkl": b"model-5", "metrics/model.json": metrics(0.9)})
    with Registry.open(r.path) as reg:
        apply_promotion(reg, plan_promotion(reg, "exp/better", "staging"), T0)
        apply_promotion(reg, plan_promotion(reg, "staging"), T0 + timedelta(minutes=1))
        apply_promotion(reg, plan_promotion(reg, "exp/best", "staging"), T0 + timedelta(minutes=2))
    mp.undo()
    return r


def test_staging_promotions_agree_with_gto(staged: GitRepo) -> None:
    s1, s2 = staged.git("rev-list", "--first-parent", "-2", "staging").split()[::-1]
    prod = staged.git("rev-parse", "prod").strip()
    listed = versions(staged, "-b", "staging")
    newest, older = listed["versions"][0], listed["versions"][1]
    assert (newest["kind"], newest["version"], newest["commit"]) == ("promotion", None, s2)
    assert newest["stages"] == ["staging"] and older["stages"] == []
    assert listed["gto"]["stages"] == {"prod": "1.0.0", "staging": ""}
    assert listed["gto"]["commits"] == {"prod": prod, "staging": s2}
    shown = json.loads(gto(staged, "show", "--json"))["model"]
    assert shown["stage"] == {"prod": "v1.0.0", "staging": s2}
    assert gto(staged, "show", "model#staging", "--ref").split()[-1] == s2[:7]
    assert gto(staged, "show", "model#prod", "--ref").strip() == "model@v1.0.0"
    assert stage_events(staged, "staging") == [
        ("assignment", s1, "model#staging#1"),  # unregistered: GTO names it by its commit
        ("unassignment", s1, "model#staging!#3"),
        ("assignment", s2, "model#staging#4"),
    ]
    assert stage_events(staged, "prod") == [("assignment", "v1.0.0", "model#prod#2")]
    on_prod = versions(staged)["versions"]
    assert [(v["version"], v["stages"]) for v in on_prod] == [("1.0.0", ["prod"])]
    text = mlvc("-C", str(staged.path), "versions", "-b", "staging").stdout
    assert f"GTO stages: prod v1.0.0; staging {s2[:7]} (no version)" in text
    assert staged.git("fsck", "--strict", "--no-dangling") == ""


def test_a_candidate_with_a_version_takes_it_into_staging(staged: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    tip = branch(
        r, "exp/tuned", {"models/model.pkl": b"model-7", "metrics/model.json": metrics(0.95)}
    )
    gto(r, "register", "model", "exp/tuned", "--version", "v5.0.0")
    with Registry.open(r.path) as reg:
        done = apply_promotion(
            reg, plan_promotion(reg, "exp/tuned", "staging"), T0 + timedelta(minutes=3)
        )
    assert done.stage_tags == ("model#staging!#5", "model#staging#6")
    assert gto(r, "show", "model#staging", "--ref").strip() == "model@v5.0.0"
    listed = versions(r, "-b", "staging")
    assert listed["versions"][0]["source_commit"] == tip
    assert listed["versions"][0]["stages"] == ["staging"]
    assert listed["gto"]["stages"]["staging"] == "5.0.0"


def test_stages_others_wrote_are_listed_per_version(staged: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    gto(r, "assign", "model", "--version", "v1.0.0", "--stage", "qa")
    assert [v["stages"] for v in versions(r)["versions"]] == [["prod", "qa"]]
    text = mlvc("-C", str(r.path), "versions").stdout
    assert "prod, qa" in text


def test_a_lost_stage_tag_is_recreated_by_mlvc_versions(staged: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    s2 = r.git("rev-parse", "staging").strip()
    before = r.git("rev-parse", "model#staging#4").strip()
    r.git("tag", "-d", "model#staging#4")  # the crash: commit and version tag, no stage tag
    assert json.loads(gto(r, "show", "--json"))["model"]["stage"]["staging"] != s2
    out = mlvc("-C", str(r.path), "versions", "-b", "staging")
    assert out.returncode == 0, out.stderr
    assert out.stderr == "recreated missing tag(s): model#staging#4\n"
    assert r.git("rev-parse", "model#staging#4").strip() == before  # the same object
    assert json.loads(gto(r, "show", "--json"))["model"]["stage"]["staging"] == s2
    again = mlvc("-C", str(r.path), "versions", "-b", "staging")
    assert again.stderr == ""  # nothing left to repair


def test_mlvc_doctor_lists_and_recreates_lost_tags(staged: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    r.git("tag", "-d", "model#prod#2", "model@v1.0.0")
    found = mlvc("-C", str(r.path), "doctor", "--json")
    assert json.loads(found.stdout)["tags"] == [
        {"branch": "prod", "tag": "model@v1.0.0", "recreated": False}
    ]  # the stage tag needs its version's tag first
    assert "model@v1.0.0 is missing (prod)" in mlvc("-C", str(r.path), "doctor").stdout
    fixed = json.loads(mlvc("-C", str(r.path), "doctor", "--fix", "--json").stdout)
    assert fixed["tags"] == [
        {"branch": "prod", "tag": "model@v1.0.0", "recreated": True},
        {"branch": "prod", "tag": "model#prod#5", "recreated": True},  # the next counter
    ]
    assert gto(r, "show", "model#prod", "--ref").strip() == "model@v1.0.0"
    assert "nothing to repair" in mlvc("-C", str(r.path), "doctor").stdout


def test_the_next_promotion_repairs_the_lost_stage_tag_first(
    staged: GitRepo, tmp_path: Path
) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    r.git("tag", "-d", "model#prod#2")
    with Registry.open(r.path) as reg:
        done = apply_promotion(reg, plan_promotion(reg, "staging"), T0 + timedelta(minutes=4))
    assert done.repaired == ("model#prod#5",)  # at its record's time, the next counter
    assert gto(r, "show", "model#prod", "--ref").strip() == f"model@v{done.record.version}"
    assert stage_events(r, "prod") == [
        ("assignment", "v1.0.0", "model#prod#5"),
        ("unassignment", "v1.0.0", "model#prod!#6"),
        ("assignment", f"v{done.record.version}", "model#prod#7"),
    ]


def test_a_stage_moved_since_is_left_alone(staged: GitRepo, tmp_path: Path) -> None:
    r = copy_registry(staged, tmp_path / "reg")
    r.git("tag", "-d", "model#staging#4")
    gto(r, "assign", "model", "--version", "v1.0.0", "--stage", "staging")  # later, by hand
    out = mlvc("-C", str(r.path), "versions", "-b", "staging")
    assert out.returncode == 0 and out.stderr == ""
    assert gto(r, "show", "model#staging", "--ref").strip() == "model@v1.0.0"


def test_two_moves_within_one_second_still_agree(staged: GitRepo, tmp_path: Path) -> None:
    """GTO orders assignments by whole seconds: the second move is dated after the first."""
    r = copy_registry(staged, tmp_path / "reg")
    branch(r, "exp/a", {"models/model.pkl": b"model-a", "metrics/model.json": metrics(0.91)})
    branch(r, "exp/b", {"models/model.pkl": b"model-b", "metrics/model.json": metrics(0.92)})
    same = T0 + timedelta(minutes=5)
    with Registry.open(r.path) as reg:
        first = apply_promotion(reg, plan_promotion(reg, "exp/a", "staging"), same)
        second = apply_promotion(reg, plan_promotion(reg, "exp/b", "staging"), same)
    assert first.stage_tags and second.stage_tags
    assert json.loads(gto(r, "show", "--json"))["model"]["stage"]["staging"] == second.commit
    assert versions(r, "-b", "staging")["gto"]["commits"]["staging"] == second.commit
    when = r.git(
        "for-each-ref", "--format=%(taggerdate:unix)", f"refs/tags/{second.stage_tags[-1]}"
    )
    assert int(when) == int(same.timestamp()) + 1
