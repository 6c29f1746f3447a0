"""Model versions by what a user sees: the number a promotion gets and why, the list
`mlvc versions` shows, and the tags a crash left unwritten. Each case here let a wrong
promotion/versions.py pass the older suite (found by a mutation run, mutmut)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, Registry
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from mlvc_tui.engine.promotion.records import TRAILER
from mlvc_tui.engine.promotion.rollback import apply_rollback, plan_rollback
from mlvc_tui.engine.promotion.versions import (
    VersionRules,
    bump,
    compute_bump,
    free_version,
    latest_version,
    model_name,
    parse_version,
    repair_tags,
    version_history,
)
from mlvc_tui.engine.values import Metrics
from tests.support.gitrepo import GitRepo, git_env
from tests.support.promote import branch, copy_registry, metrics, two_candidates


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """prod promoted twice: exp/better as 1.0.0 (0.8 -> 0.85), exp/best as 1.1.0 (0.9)."""
    r = two_candidates(tmp_path_factory.mktemp("versions") / "reg")
    branch(r, "exp/best", {"models/model.pkl": b"model-5", "metrics/model.json": metrics(0.9)})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
        env.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
        with Registry.open(r.path) as reg:
            apply_promotion(reg, plan_promotion(reg, "exp/better"))
        with Registry.open(r.path) as reg:
            apply_promotion(reg, plan_promotion(reg, "exp/best"))
    return r


@pytest.fixture
def repo(template: GitRepo, tmp_path: Path) -> GitRepo:
    return copy_registry(template, tmp_path / "reg")


# -- numbers ---------------------------------------------------------------------------------


def test_a_version_is_three_numbers_with_an_optional_v() -> None:
    assert parse_version("1.2.3") == (1, 2, 3)
    assert parse_version("v10.20.30") == (10, 20, 30)
    for text in ("1.2", "1.2.3.4", "x1.2.3", "1.2.3-rc1", "v1.2.x", "", "V1.2.3"):
        assert parse_version(text) is None, text


def test_each_bump_resets_what_follows_it() -> None:
    assert [bump(None, k) for k in ("major", "minor", "pipeline")] == ["1.0.0"] * 3
    assert bump((2, 3, 4), "major") == "3.0.0"
    assert bump((2, 3, 4), "minor") == "2.4.0"
    assert bump((2, 3, 4), "pipeline") == "2.3.5"


# -- [versions] in mlvc.toml -----------------------------------------------------------------


def rules(text: str) -> VersionRules:
    return VersionRules.from_config(tomllib.loads(text))


def test_versions_settings_default_and_override_each_key_alone() -> None:
    default = VersionRules(("data/*schema*",), ("target", "label"))
    assert rules("") == default == rules("[versions]\n")
    paths = rules('[versions]\nmajor_paths = ["features/*.yaml", "data/*schema*"]\n')
    assert paths == VersionRules(("features/*.yaml", "data/*schema*"), ("target", "label"))
    params = rules('[versions]\nmajor_params = ["y"]\n')
    assert params == VersionRules(("data/*schema*",), ("y",))
    nothing = rules("[versions]\nmajor_paths = []\nmajor_params = []\n")
    assert nothing == VersionRules((), ())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('versions = "major"\n', "mlvc.toml: [versions] must be a table"),
        (
            '[versions]\nmajor_paths = "data/*"\n',
            "mlvc.toml: versions.major_paths must be a list of strings",
        ),
        (
            '[versions]\nmajor_params = ["target", 1]\n',
            "mlvc.toml: versions.major_params must be a list of strings",
        ),
    ],
)
def test_wrong_versions_settings_are_bad_input_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(BadInput) as err:
        rules(text)
    assert str(err.value) == message


# -- the bump a promotion gets ---------------------------------------------------------------


Files = dict[str, bytes]


def bump_of(
    reg: Registry,
    old: Files,
    new: Files,
    before: dict[str, float] | None = None,
    after: dict[str, float] | None = None,
    primary: str | None = "accuracy",
    settings: VersionRules | None = None,
) -> tuple[str, str]:
    """compute_bump over two file sets (path -> bytes), blobs read from a dict."""
    blobs: dict[str, bytes] = {}

    def ids(files: Files) -> dict[str, str]:
        out = {}
        for path, data in files.items():
            blob = hashlib.sha1(data).hexdigest()
            blobs[blob] = data
            out[path] = blob
        return out

    return compute_bump(
        reg,
        settings or VersionRules(),
        ids(old),
        ids(new),
        Metrics(before or {}),
        Metrics(after or {}),
        primary,
        read=blobs.__getitem__,
    )


PIPELINE = ("pipeline", "same data schema and target, accuracy not improved")


def test_a_schema_change_is_major_and_names_the_first_path(repo: GitRepo) -> None:
    old = {"data/a_schema.json": b"1", "data/b_schema.json": b"1", "src/x.py": b"1"}
    new = {"data/a_schema.json": b"2", "data/b_schema.json": b"2", "src/x.py": b"1"}
    with Registry.open(repo.path) as reg:
        assert bump_of(reg, old, new, {"accuracy": 0.5}, {"accuracy": 0.9}) == (
            "major",
            "data/a_schema.json changed (data schema)",
        )
        gone = bump_of(reg, {"data/schema.json": b"1"}, {})
        assert gone == ("major", "data/schema.json changed (data schema)")
        assert bump_of(reg, {"src/x.py": b"1"}, {"src/x.py": b"2"}) == PIPELINE
        kept = {"data/schema.json": b"1", "src/x.py": b"1"}
        assert bump_of(reg, kept, kept | {"src/x.py": b"2"}) == PIPELINE  # schema untouched
        added = bump_of(reg, {}, {"data/schema.json": b"1"})
        assert added == ("major", "data/schema.json changed (data schema)")
        own = VersionRules(major_paths=("features/*",))
        assert bump_of(reg, {"features/f.yaml": b"1"}, {}, settings=own)[0] == "major"
        assert bump_of(reg, {"data/schema.json": b"1"}, {}, settings=own) == PIPELINE


def test_the_prediction_target_in_params_is_major_however_deep(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        nested = bump_of(
            reg,
            {"params.yaml": b"model:\n  target: churn\n  lr: 0.1\n"},
            {"params.yaml": b"model:\n  target: upsell\n  lr: 0.1\n"},
        )
        assert nested == ("major", "model.target in params changed (prediction target)")
        deeper = bump_of(
            reg,
            {"params.yaml": b"train:\n  model:\n    target: churn\n"},
            {"params.yaml": b"train:\n  model:\n    target: upsell\n"},
        )
        assert deeper == ("major", "train.model.target in params changed (prediction target)")
        yml = bump_of(reg, {"params.yml": b"label: a\n"}, {"params.yml": b"label: b\n"})
        assert yml == ("major", "label in params changed (prediction target)")
        listed = bump_of(
            reg, {"params.yaml": b"target: [a, b]\n"}, {"params.yaml": b"target: [a]\n"}
        )
        assert listed[0] == "major"
        lr = bump_of(
            reg, {"params.yaml": b"target: x\nlr: 1\n"}, {"params.yaml": b"target: x\nlr: 2\n"}
        )
        assert lr == PIPELINE
        similar = bump_of(reg, {"params.yaml": b"targets: 1\n"}, {"params.yaml": b"targets: 2\n"})
        assert similar == PIPELINE  # a key that only starts like one
        mine = VersionRules(major_params=("horizon",))
        own = bump_of(
            reg,
            {"params.yaml": b"target: a\nhorizon: 7\n"},
            {"params.yaml": b"target: b\nhorizon: 14\n"},
            settings=mine,
        )
        assert own == ("major", "horizon in params changed (prediction target)")


def test_params_that_cannot_be_read_or_hold_odd_keys_never_stop_a_promotion(
    repo: GitRepo,
) -> None:
    with Registry.open(repo.path) as reg:
        binary = bump_of(reg, {"params.yaml": b"\xff\xfe"}, {"params.yaml": b"\xfe\xff"})
        assert binary == PIPELINE
        broken = bump_of(reg, {"params.yaml": b"a: [\n"}, {"params.yaml": b"a: {\n"})
        assert broken == PIPELINE
        scalar = bump_of(reg, {"params.yaml": b"just text\n"}, {"params.yaml": b"other\n"})
        assert scalar == PIPELINE
        numbered = bump_of(
            reg,
            {"params.yaml": b"1: a\nsplits:\n  2: b\ntarget: x\n"},
            {"params.yaml": b"1: b\nsplits:\n  2: c\ntarget: x\n"},
        )
        assert numbered == PIPELINE
        # a params file that stops being readable loses its target: that is a change
        lost = bump_of(reg, {"params.yaml": b"target: x\n"}, {"params.yaml": b"\xff"})
        assert lost == ("major", "target in params changed (prediction target)")


def test_a_better_primary_is_minor_in_its_own_direction(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        better = bump_of(reg, {}, {}, {"accuracy": 0.8}, {"accuracy": 0.85})
        assert better == ("minor", "accuracy improved (0.8 -> 0.85)")
        assert bump_of(reg, {}, {}, {"accuracy": 0.8}, {"accuracy": 0.8}) == PIPELINE
        assert bump_of(reg, {}, {}, {"accuracy": 0.8}, {"accuracy": 0.7}) == PIPELINE
        lower = bump_of(reg, {}, {}, {"rmse": 0.3}, {"rmse": 0.25}, "rmse")
        assert lower == ("minor", "rmse improved (0.3 -> 0.25)")
        worse = bump_of(reg, {}, {}, {"rmse": 0.3}, {"rmse": 0.35}, "rmse")
        assert worse == ("pipeline", "same data schema and target, rmse not improved")
        none = bump_of(reg, {}, {}, {"accuracy": 0.8}, {"accuracy": 0.9}, None)
        assert none == ("pipeline", "same data schema and target, primary metric not improved")


def test_the_model_name_is_the_model_files_stem(repo: GitRepo, tmp_path: Path) -> None:
    with Registry.open(repo.path) as reg:
        assert model_name(reg, "prod") == "model"
    r = GitRepo(tmp_path / "noconf")
    r.commit("a model", {"models/churn.v2.pkl": b"m", "metrics/m.json": '{"accuracy": 1}'})
    with Registry.open(r.path) as reg:
        assert model_name(reg, "prod") == "churn"
        assert model_name(reg, None) == "model"


# -- numbering across tags -------------------------------------------------------------------


def test_the_next_free_version_steps_past_taken_tag_names(repo: GitRepo) -> None:
    repo.git("tag", "-a", "model@v1.1.1", "-m", "taken", "exp/worse")
    repo.git("tag", "model@v1.1.2", "exp/worse")  # a lightweight tag takes the name too
    repo.git("tag", "-a", "churn@v2.0.0", "-m", "another model", "exp/worse")
    repo.git("tag", "-a", "model@vnext", "-m", "not a version", "exp/worse")
    with Registry.open(repo.path) as reg:
        assert free_version(reg, "model", "1.1.1") == "1.1.3"
        assert free_version(reg, "model", "2.0.0") == "2.0.0"
        assert free_version(reg, "churn", "2.0.0") == "2.0.1"
        assert latest_version(reg, "model", "prod") == (1, 1, 0)  # tags elsewhere do not count
    repo.git("tag", "-a", "churn@v7.0.0", "-m", "a second model's release", "prod~2")
    with Registry.open(repo.path) as reg:
        assert latest_version(reg, "churn", "prod") == (7, 0, 0)
        assert latest_version(reg, "model", "prod") == (1, 1, 0)
        assert latest_version(reg, "model", None) is None
        assert latest_version(reg, "model", "no-such-branch") is None


# -- the list `mlvc versions` shows ----------------------------------------------------------


def test_history_lists_each_promotion_with_its_numbers(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        entries = version_history(reg, "prod")
    got = [(e.kind, e.version, e.tag, e.tagged, e.source, e.user) for e in entries]
    assert got == [
        ("promotion", "1.1.0", "model@v1.1.0", True, "exp/best", "Ben Okafor <ben@example.com>"),
        ("promotion", "1.0.0", "model@v1.0.0", True, "exp/better", "Ben Okafor <ben@example.com>"),
    ]
    assert [e.stages for e in entries] == [("prod",), ()]  # GTO: prod serves 1.1.0
    newest, first = entries
    assert newest.source_commit == repo.rev("exp/best")
    assert newest.commit.id == repo.rev("prod") and first.commit.id == repo.rev("prod~1")
    assert (newest.primary, newest.value) == ("accuracy", 0.9)
    assert newest.delta == pytest.approx(0.05) and first.delta == pytest.approx(0.05)
    assert newest.record is not None and newest.record.version == "1.1.0"
    assert newest.time == int(repo.git("log", "-1", "--format=%at", "prod"))
    with Registry.open(repo.path) as reg, pytest.raises(BadInput, match="no branch named 'nope'"):
        version_history(reg, "nope")


def git_as(repo: GitRepo, who: str, when: int, *args: str) -> str:
    """Run git as someone else, at another time (author, committer and tagger)."""
    env = git_env(when) | {
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", who), ("EMAIL", f"{who.lower()}@example.com"))
    }
    return subprocess.run(
        ["git", *args], cwd=repo.path, env=env, check=True, capture_output=True, text=True
    ).stdout


def test_history_lists_older_tags_with_their_tagger_and_source(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "exp/legacy", "prod")
    repo.commit(
        "legacy model", {"models/model.pkl": b"legacy", "metrics/model.json": metrics(0.95)}
    )
    repo.checkout("prod")
    merged_at = repo.clock + 3600
    git_as(
        repo,
        "Cara",
        merged_at,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Promote exp/legacy to prod",
        "exp/legacy",
    )
    git_as(repo, "Dev", merged_at + 600, "tag", "-a", "model@v2.0.0", "-m", "by hand")
    plain_at = merged_at + 3600
    git_as(repo, "Eve", plain_at, "commit", "-q", "--allow-empty", "-m", "a plain commit")
    repo.git("tag", "model@v2.0.1")  # lightweight: the commit's author and time
    repo.git("tag", "-a", "model@v2.0.9", "-m", "a second name", "prod~1")
    repo.git("tag", "-a", "model@v2.0.10", "-m", "a third name", "prod~1")
    with Registry.open(repo.path) as reg:
        top, legacy, *rest = version_history(reg, "prod")
    assert (top.kind, top.version, top.tag, top.tagged) == ("tag", "2.0.1", "model@v2.0.1", True)
    assert (top.source, top.source_commit, top.record) == (None, None, None)
    assert (top.user, top.time) == ("Eve <eve@example.com>", plain_at)
    assert (top.primary, top.value, top.delta) == ("accuracy", 0.95, 0.0)
    assert top.commit.id == repo.rev("prod")
    # the highest version of a commit names it (2.0.10 after 2.0.9, not before: by number)
    assert (legacy.kind, legacy.version, legacy.tag) == ("tag", "2.0.10", "model@v2.0.10")
    assert (legacy.source, legacy.source_commit) == ("exp/legacy", repo.rev("exp/legacy"))
    assert (legacy.user, legacy.time) == ("Ana Ruiz <ana@example.com>", repo.clock)
    assert legacy.commit.id == repo.rev("prod~1") and legacy.commit.author.startswith("Cara")
    assert legacy.value == 0.95 and legacy.delta == pytest.approx(0.05)
    assert [e.version for e in rest] == ["1.1.0", "1.0.0"]


def test_tags_of_a_model_named_by_its_file_with_and_without_metrics(tmp_path: Path) -> None:
    """No `model` in mlvc.toml: the name is the model file's stem, even with an `@` in it;
    a version whose commit (or its parent) lacks the primary metric has no value or delta."""
    r = GitRepo(tmp_path / "plain")
    conf = '[metrics]\nprimary = "accuracy"\n'
    r.commit("a model", {"mlvc.toml": conf, "models/churn@eu.pkl": b"m1"})
    r.git("tag", "-a", "churn@eu@v0.1.0", "-m", "first")
    r.commit("measured", {"metrics/m.json": {"accuracy": 0.9}})
    r.git("tag", "-a", "churn@eu@v1.0.0", "-m", "measured")
    r.commit("another metric", {"metrics/m.json": {"f1": 0.5}})
    r.git("tag", "-a", "churn@eu@v1.0.1", "-m", "no accuracy")
    with Registry.open(r.path) as reg:
        assert model_name(reg, "prod") == "churn@eu"
        got = [(e.version, e.value, e.delta) for e in version_history(reg, "prod")]
    assert got == [("1.0.1", None, None), ("1.0.0", 0.9, None), ("0.1.0", None, None)]


def test_a_rollback_is_listed_as_one(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        apply_rollback(reg, plan_rollback(reg))
        entries = version_history(reg, "prod")
        plain = version_history(reg, "prod", stages=False)
    assert [(e.kind, e.version, e.stages) for e in entries] == [
        ("rollback", "1.0.0", ("prod",)),  # GTO's prod stage is back on 1.0.0's commit
        ("promotion", "1.1.0", ()),
        ("promotion", "1.0.0", ("prod",)),
    ]
    assert [e.stages for e in plain] == [(), (), ()]  # GTO's tags not read at all


def test_a_pasted_record_is_not_a_version(repo: GitRepo) -> None:
    """A commit whose message copies a promotion record, without the parents it names,
    is not listed (nor does it move the numbering)."""
    message = repo.git("log", "-1", "--format=%B", "prod")  # 1.1.0: merges exp/best into prod~1
    repo.git("branch", "mirror", "prod")  # the same history under another name
    forged = repo.git(
        "commit-tree", "prod^{tree}", "-p", "prod~1", "-p", "exp/worse", "-m", message
    ).strip()  # the first parent it names, but another candidate merged
    repo.commit(message, {"models/model.pkl": b"smuggled"})  # on top: the wrong first parent
    with Registry.open(repo.path) as reg:
        assert [e.version for e in version_history(reg, "prod")] == ["1.1.0", "1.0.0"]
        mirror = version_history(reg, "mirror")  # the records name prod: only the tags count
        assert [(e.kind, e.version) for e in mirror] == [("tag", "1.1.0"), ("tag", "1.0.0")]
    repo.git("update-ref", "refs/heads/prod", forged)
    with Registry.open(repo.path) as reg:
        assert [e.version for e in version_history(reg, "prod")] == ["1.0.0"]
    octopus = repo.git(  # both parents it names, and a third merged in beside them
        "commit-tree",
        "mirror^{tree}",
        "-p",
        "mirror~1",
        "-p",
        "mirror^2",
        "-p",
        "exp/worse",
        "-m",
        message,
    ).strip()
    repo.git("update-ref", "refs/heads/prod", octopus)
    with Registry.open(repo.path) as reg:
        assert [e.version for e in version_history(reg, "prod")] == ["1.0.0"]


def test_a_record_of_another_kind_does_not_number_versions(repo: GitRepo) -> None:
    """Only promotions and rollbacks are versions: a well-formed record of any other kind,
    with the right parent, claims 9.0.0 in vain (the next promotion stays 1.x)."""
    doc = {
        "kind": "approval",
        "target": "prod",
        "source": "exp/worse",
        "source_commit": repo.rev("exp/worse"),
        "target_commit": repo.rev("prod"),
        "user": "Mallory <m@example.com>",
        "time": 1_788_100_000,
        "model": "model",
        "version": "9.0.0",
        "tag": "model@v9.0.0",
    }
    repo.commit(f"Approve\n\n{TRAILER}: {json.dumps(doc)}", {})
    with Registry.open(repo.path) as reg:
        assert [e.version for e in version_history(reg, "prod")] == ["1.1.0", "1.0.0"]
        assert latest_version(reg, "model", "prod") == (1, 1, 0)


# -- tags a crash left unwritten -------------------------------------------------------------


def _tag_object(repo: GitRepo, name: str) -> str:
    return repo.git("rev-parse", f"refs/tags/{name}").strip()


def test_a_missing_tag_is_recreated_byte_for_byte(repo: GitRepo) -> None:
    before = _tag_object(repo, "model@v1.0.0")
    repo.git("tag", "-d", "model@v1.0.0")
    with Registry.open(repo.path) as reg:
        entries = version_history(reg, "prod")
        assert [e.tagged for e in entries] == [True, False]
        assert repair_tags(reg, entries) == ("model@v1.0.0",)
        assert all(e.tagged for e in version_history(reg, "prod"))  # the registry re-read
        assert repair_tags(reg, version_history(reg, "prod")) == ()
    assert _tag_object(repo, "model@v1.0.0") == before
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_a_tag_of_that_name_elsewhere_is_left_alone(repo: GitRepo) -> None:
    older = _tag_object(repo, "model@v1.0.0")
    repo.git("tag", "-d", "model@v1.1.0", "model@v1.0.0")
    repo.git("tag", "-a", "model@v1.1.0", "-m", "someone else's", "exp/worse")
    elsewhere = _tag_object(repo, "model@v1.1.0")
    with Registry.open(repo.path) as reg:
        assert repair_tags(reg, version_history(reg, "prod")) == ("model@v1.0.0",)
    assert _tag_object(repo, "model@v1.1.0") == elsewhere
    assert _tag_object(repo, "model@v1.0.0") == older


def _lock(repo: GitRepo, name: str, age: float) -> Path:
    lock = repo.path / ".git" / "refs" / "tags" / f"{name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("0" * 40 + "\n")
    then = time.time() - age
    os.utime(lock, (then, then))
    return lock


def test_a_lock_a_crash_left_is_recovered_and_a_live_one_respected(repo: GitRepo) -> None:
    before = _tag_object(repo, "model@v1.0.0")
    repo.git("tag", "-d", "model@v1.0.0")
    live = _lock(repo, "model@v1.0.0", age=0)
    with Registry.open(repo.path) as reg:
        assert repair_tags(reg, version_history(reg, "prod")) == ()  # busy: next time
    assert live.exists() and repo.git("tag", "-l", "model@v1.0.0") == ""
    live.unlink()
    stale = _lock(repo, "model@v1.0.0", age=3600)
    with Registry.open(repo.path) as reg:
        assert repair_tags(reg, version_history(reg, "prod")) == ("model@v1.0.0",)
    assert not stale.exists() and _tag_object(repo, "model@v1.0.0") == before


def test_staging_holds_its_stage_on_the_commit_it_serves_or_the_version_it_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging has no versions: its stage is on its merge commit, or on the candidate's own
    version when it carries one; prod's version shows prod only, not the stage of the
    staging commit it came from."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
    r = two_candidates(tmp_path / "reg")
    r.git("branch", "staging", "prod")
    branch(r, "exp/tuned", {"models/model.pkl": b"model-9", "metrics/model.json": metrics(0.95)})
    with Registry.open(r.path) as reg:
        apply_promotion(reg, plan_promotion(reg, "exp/better", "staging"))
    with Registry.open(r.path) as reg:
        assert [(e.version, e.stages) for e in version_history(reg, "staging")] == [
            (None, ("staging",))
        ]
        apply_promotion(reg, plan_promotion(reg, "staging", "prod"))
    with Registry.open(r.path) as reg:
        newest = version_history(reg, "prod")[0]
    assert (newest.version, newest.source, newest.stages) == ("1.0.0", "staging", ("prod",))
    r.git("tag", "-a", "model@v5.0.0", "-m", "registered by hand", "exp/tuned")
    with Registry.open(r.path) as reg:
        apply_promotion(reg, plan_promotion(reg, "exp/tuned", "staging"))
    with Registry.open(r.path) as reg:
        got = [(e.source, e.stages) for e in version_history(reg, "staging")]
    assert got == [("exp/tuned", ("staging",)), ("exp/better", ())]
