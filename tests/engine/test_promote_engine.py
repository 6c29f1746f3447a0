"""Promotion in the engine: merges, gates, versions and rollback, checked with the git CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, Refused, Registry
from mlvc_tui.engine.promotion.approvals import approvals_of, approve
from mlvc_tui.engine.promotion.gates import evaluate
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from mlvc_tui.engine.promotion.rollback import apply_rollback, plan_rollback
from mlvc_tui.engine.promotion.versions import version_history
from tests.support.gitrepo import GitRepo
from tests.support.promote import (
    branch,
    metrics,
    mlvc,
    objects,
    refs,
    toml,
)


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")


@pytest.fixture
def repo(candidates: GitRepo) -> GitRepo:
    return candidates  # a fresh copy of the two-candidates registry (tests/conftest.py)


def promote(r: GitRepo, name: str, target: str | None = None) -> str:
    with Registry.open(r.path) as reg:
        return apply_promotion(reg, plan_promotion(reg, name, target)).commit


def gate(r: GitRepo, name: str, which: str, target: str | None = None) -> tuple[bool, str]:
    with Registry.open(r.path) as reg:
        found = {g.name: g for g in plan_promotion(reg, name, target).gates}
    return found[which].passed, found[which].reason


def test_fast_forward_is_still_a_merge_commit_with_a_tag(repo: GitRepo) -> None:
    old, cand = repo.rev("prod"), repo.rev("exp/better")
    new = promote(repo, "exp/better")
    assert repo.rev("prod") == new
    assert repo.git("rev-list", "--parents", "-n1", "prod").split() == [new, old, cand]
    graph = repo.git("log", "--graph", "--format=%s", "prod")
    assert graph.splitlines()[0] == "*   Promote exp/better to prod as model@v1.0.0"
    assert repo.git("tag", "-n1", "-l", "model@*").split()[:2] == ["model@v1.0.0", "Promote"]
    assert repo.git("tag", "-l", "model#*").split() == ["model#prod#1"]  # GTO: prod is v1.0.0
    assert repo.git("cat-file", "-t", "model#prod#1").strip() == "tag"
    assert repo.rev("model#prod#1^{commit}") == new
    assert repo.git("cat-file", "-t", "model@v1.0.0").strip() == "tag"
    assert repo.rev("model@v1.0.0^{commit}") == new
    assert repo.git("rev-parse", "prod^{tree}") == repo.git("rev-parse", "exp/better^{tree}")
    body = repo.git("cat-file", "tag", "model@v1.0.0")
    assert "tagger Ben Okafor <ben@example.com>" in body and "Mlvc-Promotion: {" in body
    trailer = repo.git("log", "-1", "--format=%(trailers:key=Mlvc-Promotion,valueonly)", "prod")
    assert '"source":"exp/better"' in trailer and '"version":"1.0.0"' in trailer
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""  # prod checked out, clean: updated
    assert (repo.path / "models/model.pkl").read_bytes() == b"model-2"


def test_true_merge_keeps_both_sides_and_artifacts_take_the_candidate(repo: GitRepo) -> None:
    branch(
        repo,
        "exp/both",
        {
            "models/model.pkl": b"model-4",
            "metrics/model.json": metrics(0.9),
            "monitoring/drift.csv": "t,f,v\n2,b,0.3\n",
            "logs/app.log": "trained\n",
            "src/train.py": repo.git("show", "prod:src/train.py").replace(
                "step_10 = 10", "step_10 = 100"
            ),
        },
    )
    repo.commit(
        "prod: monitoring and a fix",
        {
            "monitoring/drift.csv": "t,f,v\n1,a,0.9\n",
            "src/train.py": repo.git("show", "prod:src/train.py").replace(
                "step_1 = 1", "step_1 = 7"
            ),
            "logs/app.log": "served\n",
        },
    )
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/both")
        assert not plan.merge.fast_forward and plan.merge.resolved == ("logs/app.log",)
        assert plan.kept == ("monitoring/drift.csv",)
        assert "monitoring/drift.csv" not in plan.replaced and "logs/app.log" in plan.replaced
        apply_promotion(reg, plan)
    train = repo.git("show", "prod:src/train.py")
    assert "step_1 = 7" in train and "step_10 = 100" in train  # line merge of code
    assert repo.git("show", "prod:monitoring/drift.csv") == "t,f,v\n1,a,0.9\n"  # prod's own
    assert repo.git("show", "prod:logs/app.log") == "trained\n"
    assert repo.git("show", "prod:models/model.pkl") == "model-4"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""


def test_the_target_keeps_the_paths_it_owns(repo: GitRepo) -> None:
    """The bug: promote replaced prod's monitoring/drift.csv with the candidate's."""
    branch(
        repo,
        "exp/monitored",
        {
            "models/model.pkl": b"model-5",
            "metrics/model.json": metrics(0.9),
            "monitoring/drift.csv": "t,f,v\n" + "9,z,0.9\n" * 50,
            "monitoring/predictions.csv": "id,p\n1,0.3\n",
            "reports/own.txt": "candidate's\n",
        },
    )
    prod_drift = repo.git("show", "prod:monitoring/drift.csv")
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/monitored")  # a fast-forward, but not the same tree
        assert plan.kept == ("monitoring/drift.csv", "monitoring/predictions.csv")
        assert plan.replaced == ("metrics/model.json", "models/model.pkl", "reports/own.txt")
        apply_promotion(reg, plan)
    assert repo.git("show", "prod:monitoring/drift.csv") == prod_drift
    assert "monitoring/predictions.csv" not in repo.git("ls-tree", "-r", "--name-only", "prod")
    assert repo.git("show", "prod:models/model.pkl") == "model-5"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    # configured on the target: reports/ is prod's own too, monitoring/ no longer
    repo.commit(
        "prod owns reports/",
        {
            "mlvc.toml": toml().replace(
                "[registry]\n", '[registry]\nenvironment_paths = ["reports/"]\n'
            ),
            "reports/own.txt": "prod's\n",
        },
    )
    branch(
        repo,
        "exp/again",
        {"models/model.pkl": b"model-6", "reports/own.txt": "x\n", "monitoring/drift.csv": "new\n"},
        start="exp/monitored",
    )
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/again")
    assert plan.kept == ("reports/own.txt",) and "monitoring/drift.csv" in plan.replaced


def test_only_owned_paths_differ_is_nothing_to_promote(repo: GitRepo) -> None:
    branch(repo, "exp/only-monitoring", {"monitoring/drift.csv": "t,f,v\n5,e,0.5\n"})
    with Registry.open(repo.path) as reg, pytest.raises(Refused, match="nothing to promote"):
        plan_promotion(reg, "exp/only-monitoring")


def test_a_candidate_carrying_a_broken_config_is_refused(repo: GitRepo) -> None:
    branch(
        repo,
        "exp/badcfg",
        {"models/model.pkl": b"model-7", "metrics/model.json": metrics(0.9), "mlvc.toml": "x = ["},
    )
    before = refs(repo)
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/badcfg")
        assert [g.name for g in plan.failed] == ["files"]
        assert plan.failed[0].reason.startswith("mlvc.toml is not valid TOML")
        with pytest.raises(Refused, match="gate files failed"):
            apply_promotion(reg, plan)
    assert refs(repo) == before


def test_code_conflict_aborts_and_writes_nothing(repo: GitRepo) -> None:
    lines = repo.git("show", "prod:src/train.py")
    branch(
        repo,
        "exp/clash",
        {
            "src/train.py": lines.replace("step_5 = 5", "step_5 = 50"),
            "models/model.pkl": b"m9",
            "metrics/model.json": metrics(0.9),
        },
    )
    repo.commit("prod edit", {"src/train.py": lines.replace("step_5 = 5", "step_5 = 55")})
    before, objs = refs(repo), objects(repo)
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/clash")
        assert plan.merge.conflicts == ("src/train.py",)
        assert not plan.ok and "code conflicts in src/train.py" in plan.failed[0].reason
        with pytest.raises(Refused, match=r"gate merge failed: code conflicts in src/train\.py"):
            apply_promotion(reg, plan)
    assert refs(repo) == before and objects(repo) == objs


@pytest.mark.parametrize(
    ("files", "which", "reason"),
    [
        ({"metrics/model.json": metrics(0.7)}, "primary", "accuracy 0.8 -> 0.7 (-0.1, worse than"),
        ({"metrics/model.json": '{"accuracy": NaN}'}, "finite", "accuracy is nan"),
        ({"metrics/model.json": metrics(0.9, eu=0.5)}, "slices", "slices.eu.accuracy drops 0.3"),
        ({"models/model.pkl": None}, "artifacts", "no model"),
        ({"metrics/model.json": "{broken"}, "artifacts", "metrics/model.json unreadable"),
    ],
)
def test_each_metric_gate_fails_with_its_reason(
    repo: GitRepo, files: dict, which: str, reason: str
) -> None:
    branch(repo, "exp/x", files)
    before = refs(repo)
    passed, why = gate(repo, "exp/x", which)
    assert not passed and reason in why
    with Registry.open(repo.path) as reg, pytest.raises(Refused, match=f"gate {which} failed"):
        apply_promotion(reg, plan_promotion(reg, "exp/x"))
    assert refs(repo) == before


def test_metric_gates_pass_with_reasons(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        gates = {g.name: g for g in plan_promotion(reg, "exp/better").gates}
    assert list(gates) == ["merge", "artifacts", "finite", "primary", "slices", "worktree"]
    assert all(g.passed for g in gates.values())
    assert gates["primary"].reason == "accuracy 0.8 -> 0.85 (+0.05)"
    assert gates["slices"].reason == "1 slice metrics within 0.05"


def test_min_delta_and_slice_tolerance_from_the_target_config(repo: GitRepo) -> None:
    repo.commit(
        "stricter",
        {
            "mlvc.toml": toml(
                "min_delta = 0.1\nslice_tolerance = 0.0\n[gates.staging]\nmin_delta = 0.0\n"
            )
        },
    )
    branch(repo, "exp/slight", {"metrics/model.json": metrics(0.85, eu=0.79)})
    assert gate(repo, "exp/slight", "primary") == (
        False,
        "accuracy 0.8 -> 0.85 (+0.05, needs at least +0.1)",
    )
    assert gate(repo, "exp/slight", "slices")[1] == "slices.eu.accuracy drops 0.01 (tolerance 0)"
    repo.git("branch", "staging", "prod")
    assert gate(repo, "exp/slight", "primary", "staging")[0]  # [gates.staging] overrides


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ("approvals = 'two'", "gates.approvals must be a number"),
        ("approvals = -1", "approvals must be >= 0"),
        ("speed = 3", "unknown gate 'speed'"),
    ],
)
def test_bad_gate_settings_are_bad_input(repo: GitRepo, gates: str, message: str) -> None:
    repo.commit("bad gates", {"mlvc.toml": toml(gates)})
    with Registry.open(repo.path) as reg, pytest.raises(BadInput, match=message):
        plan_promotion(reg, "exp/better")


def test_approvals_are_notes_and_gate_the_promotion(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit("two approvals", {"mlvc.toml": toml("approvals = 2")})
    branch(repo, "exp/ok", {"metrics/model.json": metrics(0.9)})
    assert gate(repo, "exp/ok", "approvals") == (
        False,
        f"0 of 2 approvals of {repo.rev('exp/ok')[:8]} (mlvc approve BRANCH)",
    )
    with Registry.open(repo.path) as reg:
        assert approve(reg, "exp/ok")[0]
        assert not approve(reg, "exp/ok")[0]  # the same person twice counts once
        # the loophole: Ben naming Chen is still Ben
        assert not approve(reg, "exp/ok", "Chen Wei <chen@example.com>")[0]
        assert gate(repo, "exp/ok", "approvals")[0] is False
        monkeypatch.setenv("GIT_AUTHOR_NAME", "Chen Wei")
        monkeypatch.setenv("GIT_AUTHOR_EMAIL", "chen@example.com")
        assert approve(reg, "exp/ok")[0]
        assert [a.user for a in approvals_of(reg, repo.rev("exp/ok"))] == [
            "Ben Okafor <ben@example.com>",
            "Chen Wei <chen@example.com>",
        ]
    note = repo.git("notes", "--ref=mlvc-approvals", "show", "exp/ok")
    assert note.count('"user"') == 2 and '"branch": "exp/ok"' in note
    assert gate(repo, "exp/ok", "approvals") == (True, "2 of 2 approvals: Ben Okafor, Chen Wei")
    promote(repo, "exp/ok")
    record = repo.git("log", "-1", "--format=%B", "prod")
    assert "approved by Ben Okafor <ben@example.com>, Chen Wei <chen@example.com>" in record
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_an_approval_for_someone_else_says_who_made_it(repo: GitRepo) -> None:
    repo.commit("two approvals", {"mlvc.toml": toml("approvals = 2")})
    branch(repo, "exp/ok", {"metrics/model.json": metrics(0.9)})
    with Registry.open(repo.path) as reg:
        added, mine = approve(reg, "exp/ok", "Bob <bob@example.com>")
    assert added and mine.by == "Ben Okafor <ben@example.com>"
    assert mine.label == "Bob <bob@example.com> (recorded by Ben Okafor <ben@example.com>)"
    note = repo.git("notes", "--ref=mlvc-approvals", "show", "exp/ok")
    assert '"user": "Bob <bob@example.com>"' in note and '"by": "Ben Okafor <ben' in note
    passed, why = gate(repo, "exp/ok", "approvals")
    assert (
        not passed and why.startswith("1 of 2 approvals") and "Bob (recorded by Ben Okafor)" in why
    )


def test_stage_order(repo: GitRepo) -> None:
    repo.commit("stage first", {"mlvc.toml": toml('require_stage = "staging"')})
    repo.git("branch", "staging", "prod")
    branch(repo, "exp/ok", {"metrics/model.json": metrics(0.9)})
    assert gate(repo, "exp/ok", "stage") == (
        False,
        f"{repo.rev('exp/ok')[:8]} has not reached staging: promote it to staging first",
    )
    assert gate(repo, "exp/ok", "stage", "staging") == (True, "this is the promotion into staging")
    promote(repo, "exp/ok", "staging")
    assert gate(repo, "exp/ok", "stage") == (True, f"{repo.rev('exp/ok')[:8]} is on staging")
    promote(repo, "exp/ok")
    assert repo.git("tag", "-l", "model@*").split() == ["model@v1.0.0"]  # prod only versioned


def test_check_command_passes_fails_and_times_out(repo: GitRepo) -> None:
    repo.commit("check", {"mlvc.toml": toml('check = "python src/check.py"\ncheck_timeout = 20')})
    branch(repo, "exp/broken", {"models/model.pkl": b"broken", "metrics/model.json": metrics(0.9)})
    lines: list[str] = []
    with Registry.open(repo.path) as reg:
        ok = {g.name: g for g in plan_promotion(reg, "exp/better", on_output=lines.append).gates}
    assert (
        ok["check"].passed
        and ok["check"].reason == "'python src/check.py' passed: predicted 10 rows: ok"
    )
    assert lines == ["$ python src/check.py", "loading models/model.pkl", "predicted 10 rows: ok"]
    assert gate(repo, "exp/broken", "check") == (
        False,
        "'python src/check.py' exited 3: cannot load the model: it is broken",
    )
    repo.commit("short", {"mlvc.toml": toml('check = "python src/check.py"\ncheck_timeout = 1')})
    branch(repo, "exp/slow", {"models/model.pkl": b"slow", "metrics/model.json": metrics(0.9)})
    assert gate(repo, "exp/slow", "check") == (False, "'python src/check.py' timed out after 1 s")


def test_dirty_checked_out_target_refuses(repo: GitRepo) -> None:
    (repo.path / "models/model.pkl").write_bytes(b"hand edit")
    before, objs = refs(repo), objects(repo)
    assert gate(repo, "exp/better", "worktree") == (
        False,
        "prod is checked out with uncommitted changes to models/model.pkl: commit or stash them",
    )
    with Registry.open(repo.path) as reg, pytest.raises(Refused, match="gate worktree failed"):
        apply_promotion(reg, plan_promotion(reg, "exp/better"))
    assert refs(repo) == before and objects(repo) == objs
    assert (repo.path / "models/model.pkl").read_bytes() == b"hand edit"


def test_nothing_to_promote_and_bad_names(repo: GitRepo) -> None:
    promote(repo, "exp/better")
    with Registry.open(repo.path) as reg:
        with pytest.raises(Refused, match="prod already has everything on exp/better"):
            plan_promotion(reg, "exp/better")
        with pytest.raises(BadInput, match="no branch, tag or commit named 'exp/nope'"):
            plan_promotion(reg, "exp/nope")
        with pytest.raises(BadInput, match="no branch named 'qa' to promote into"):
            plan_promotion(reg, "exp/worse", "qa")
        with pytest.raises(BadInput, match="prod is prod itself"):
            plan_promotion(reg, "prod")


def test_version_bumps_continue_from_existing_tags(repo: GitRepo) -> None:
    repo.git("tag", "-a", "model@v2.3.4", "-m", "legacy release")
    branch(repo, "exp/code", {"src/train.py": "print('faster')\n"})
    branch(repo, "exp/schema", {"data/schema.json": '{"v": 2}'})
    branch(repo, "exp/target", {"params.yaml": "target: upsell\nlr: 0.1\n"})
    with Registry.open(repo.path) as reg:
        got = {
            b: (p.version, p.bump)
            for b in ("exp/better", "exp/code", "exp/schema", "exp/target")
            for p in [plan_promotion(reg, b)]
        }
    assert got == {
        "exp/better": ("2.4.0", "minor"),
        "exp/code": ("2.3.5", "pipeline"),
        "exp/schema": ("3.0.0", "major"),
        "exp/target": ("3.0.0", "major"),
    }


def test_rollback_restores_artifacts_as_a_new_commit(repo: GitRepo) -> None:
    first = promote(repo, "exp/better")
    branch(
        repo,
        "exp/best",
        {
            "models/model.pkl": b"model-5",
            "metrics/model.json": metrics(0.9),
            "src/train.py": "print('v5')\n",
        },
    )
    promote(repo, "exp/best")
    head = repo.rev("prod")
    with Registry.open(repo.path) as reg:
        plan = plan_rollback(reg)
        assert (plan.current.version, plan.to.version) == ("1.1.0", "1.0.0")
        assert plan.changed == ("metrics/model.json", "models/model.pkl")
        done = apply_rollback(reg, plan)
        entries = version_history(reg, "prod")
    assert repo.git("rev-list", "--parents", "-n1", "prod").split() == [done.commit, head]
    assert repo.git("show", "prod:models/model.pkl") == "model-2"
    assert repo.git("rev-parse", "prod:models/model.pkl") == repo.git(
        "rev-parse", f"{first}:models/model.pkl"
    )
    assert repo.git("show", "prod:src/train.py") == "print('v5')\n"  # code stays
    assert repo.git("log", "-1", "--format=%s", "prod").strip() == "Roll back prod to model@v1.0.0"
    assert [(e.kind, e.version) for e in entries] == [
        ("rollback", "1.0.0"),
        ("promotion", "1.1.0"),
        ("promotion", "1.0.0"),
    ]
    assert entries[0].delta == pytest.approx(-0.05)
    assert repo.git("tag", "-l", "model@*").split() == ["model@v1.0.0", "model@v1.1.0"]
    # GTO: prod moved 1.0.0 -> 1.1.0 -> back to 1.0.0, one event per tag, counted per artifact
    assert sorted(repo.git("tag", "-l", "model#*").split(), key=lambda t: t[-1]) == [
        "model#prod#1",
        "model#prod!#2",
        "model#prod#3",
        "model#prod!#4",
        "model#prod#5",
    ]
    assert repo.rev("model#prod#5^{commit}") == repo.rev("model@v1.0.0^{commit}")
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    with Registry.open(repo.path) as reg:
        with pytest.raises(Refused, match=r"already holds the artifacts of 1\.0\.0"):
            plan_rollback(reg, "1.0.0")
        with pytest.raises(BadInput, match=r"no version 9.9.9 on prod \(versions: 1.0.0, 1.1.0"):
            plan_rollback(reg, "v9.9.9")
        with pytest.raises(BadInput, match="is not a version"):
            plan_rollback(reg, "latest")
        assert plan_rollback(reg, "model@v1.1.0").changed  # forward again is allowed


def test_rollback_with_no_versions_is_refused(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg, pytest.raises(Refused, match="no versions yet"):
        plan_rollback(reg)


def test_evaluate_is_the_gate_list_other_features_use(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        failed = [g.name for g in evaluate(reg, "exp/worse") if not g.passed]
    assert failed == ["primary"]


def test_check_can_run_after_the_other_gates_and_time_can_be_fixed(repo: GitRepo) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from mlvc_tui.engine.promotion.promote import CHECK_PENDING, run_plan_check

    repo.commit("check", {"mlvc.toml": toml('check = "python src/check.py"')})
    branch(repo, "exp/ok", {"models/model.pkl": b"model-7", "metrics/model.json": metrics(0.9)})
    with Registry.open(repo.path) as reg:
        plan = plan_promotion(reg, "exp/ok", run_check=False)
        assert plan.gates[-1].reason == CHECK_PENDING and not plan.ok and not plan.failed
        with pytest.raises(Refused, match="the check gate has not run yet"):
            apply_promotion(reg, plan)
        plan = run_plan_check(reg, plan)
        assert plan.ok and plan.gates[-1].passed
        when = datetime(2026, 10, 12, 9, 0, tzinfo=timezone(timedelta(hours=2)))
        done = apply_promotion(reg, plan, now=when)
    assert done.record.time == int(datetime(2026, 10, 12, 7, 0, tzinfo=UTC).timestamp())
    assert (
        repo.git("log", "-1", "--format=%ad %an", "--date=iso", "prod").strip()
        == "2026-10-12 09:00:00 +0200 Ben Okafor"
    )


def test_a_bare_registry_promotes_and_rolls_back(repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.path), str(bare))
    with Registry.open(bare) as reg:
        for name in ("exp/better", "exp/worse"):
            reg.repo.refs[f"refs/heads/{name}".encode()] = repo.rev(name).encode()
        reg.refresh()
        done = apply_promotion(reg, plan_promotion(reg, "exp/better"))
        assert done.tag == "model@v1.0.0"
        with pytest.raises(Refused, match=r"no earlier version with other artifacts than 1\.0\.0"):
            plan_rollback(reg)
    out = GitRepo.existing(bare)
    assert (
        out.git("log", "-1", "--format=%s", "prod").strip()
        == "Promote exp/better to prod as model@v1.0.0"
    )
    assert out.git("fsck", "--strict", "--no-dangling") == ""


def _best(repo: GitRepo) -> None:
    files = {"models/model.pkl": b"model-5", "metrics/model.json": metrics(0.9)}
    branch(repo, "exp/best", files)


def test_a_rolled_back_version_can_be_promoted_again(repo: GitRepo) -> None:
    """The bug: after a rollback, promoting the same candidate said "nothing to promote"."""
    promote(repo, "exp/better")
    _best(repo)
    promote(repo, "exp/best")
    with Registry.open(repo.path) as reg:
        apply_rollback(reg, plan_rollback(reg))
        assert repo.git("show", "prod:models/model.pkl") == "model-2"
        plan = plan_promotion(reg, "exp/best")
        assert plan.ok and plan.replaced == ("metrics/model.json", "models/model.pkl")
        assert (plan.version, plan.bump) == ("1.2.0", "minor")
        apply_promotion(reg, plan)
    assert repo.git("show", "prod:models/model.pkl") == "model-5"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    with Registry.open(repo.path) as reg, pytest.raises(Refused, match="nothing to promote"):
        plan_promotion(reg, "exp/best")  # now it is there: nothing to promote, truly


def test_a_default_rollback_across_a_major_version_says_so(repo: GitRepo) -> None:
    promote(repo, "exp/better")  # 1.0.0
    schema = {"data/schema.json": '{"v": 2}', "metrics/model.json": metrics(0.86)}
    branch(repo, "exp/schema", schema | {"models/model.pkl": b"model-s"})
    promote(repo, "exp/schema")  # 2.0.0
    branch(repo, "exp/pipe", {"src/train.py": "print('faster')\n"})
    promote(repo, "exp/pipe")  # 2.0.1: the same artifacts as 2.0.0
    with Registry.open(repo.path) as reg:
        plan = plan_rollback(reg)
    assert (plan.current.version, plan.to.version) == ("2.0.1", "1.0.0")
    assert plan.crosses_major and plan.skipped == ("2.0.0",)
    assert plan.warning == (
        "from 2.0.1 to 1.0.0 crosses a MAJOR version (a data schema or target change): "
        "the restored model may not fit today's data; 2.0.0 has the same artifacts as 2.0.1 "
        "and is skipped"
    )
    before = refs(repo)
    out = mlvc("-C", str(repo.path), "rollback", "--yes")
    assert out.returncode == 1 and "crosses a MAJOR version" in out.stderr
    assert "mlvc rollback --to 1.0.0" in out.stderr and refs(repo) == before
    named = mlvc("-C", str(repo.path), "rollback", "--to", "1.0.0", "--yes")
    assert named.returncode == 0, named.stderr
    assert "! rolling back from 2.0.1 to 1.0.0 crosses a MAJOR" in named.stdout
    with Registry.open(repo.path) as reg:
        assert plan_rollback(reg, "2.0.0").crosses_major  # from 1.0.0 (the rollback) up again


def test_rollback_runs_the_targets_check(repo: GitRepo) -> None:
    branch(
        repo, "exp/fragile", {"models/model.pkl": b"broken", "metrics/model.json": metrics(0.82)}
    )
    promote(repo, "exp/fragile")  # 1.0.0, before prod had a check
    promote(repo, "exp/better")  # 1.1.0
    repo.commit("check", {"mlvc.toml": toml('check = "python src/check.py"\ncheck_timeout = 20')})
    before = refs(repo)
    with Registry.open(repo.path) as reg:
        plan = plan_rollback(reg)
        assert plan.to.version == "1.0.0" and plan.check is not None
        assert (
            plan.check.reason
            == "'python src/check.py' exited 3: cannot load the model: it is broken"
        )
        with pytest.raises(Refused, match="gate check failed"):
            apply_rollback(reg, plan)
    assert refs(repo) == before
    out = mlvc("-C", str(repo.path), "rollback", "--yes")
    assert out.returncode == 1 and "gate check failed" in out.stderr and refs(repo) == before
