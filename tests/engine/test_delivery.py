"""Traffic verbs on real repositories: one commit each (checked with git), refusals change
nothing, and the A/B report's numbers against hand-computed values."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlvc_tui.engine import BadInput, MlvcError, Refused, Registry
from mlvc_tui.engine.delivery.bandit import ArmData, thompson_weights
from mlvc_tui.engine.delivery.report import Verdicts, ab_report, rebalance
from mlvc_tui.engine.delivery.rollout import canary, canary_abort, canary_step, switch
from mlvc_tui.engine.delivery.spec import Delivery, Mode, dump
from mlvc_tui.engine.delivery.spec import parse as parse_delivery
from mlvc_tui.engine.delivery.traffic import (
    apply,
    delivery_log,
    read_delivery,
    set_weights,
    start_ab,
    stop_ab,
)
from tests.support.gitrepo import GitRepo

MLVC = str(Path(sys.executable).with_name("mlvc"))
BEFORE = datetime(2026, 9, 30, tzinfo=UTC)  # tests start before the results' rows (October)


def results(branch: str, wins: int, n: int, bad: int = 0) -> str:
    """``n`` rows over two days, the first ``wins`` with outcome 1; latency 100 + i % 3."""
    rows = ["timestamp,unit_id,variant,outcome,latency_ms,error"]
    for i in range(n):
        rows.append(
            f"2026-10-0{1 + i * 2 // n}T{i % 24:02d}:00:00Z,u{i},{branch},"
            f"{int(i < wins)},{100 + i % 3},{int(i % 50 == 0)}"
        )
    rows += ["2026-10-01T00:00:00Z,bad,x,not-a-number,1,0"] * bad
    return "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod, dev (better), exp/worse, exp/nan, and ab/a, ab/b with results; built once."""
    g = GitRepo(tmp_path_factory.mktemp("delivery") / "reg")
    g.commit("Initial model", {"models/model.pkl": b"v1", "metrics/model.json": {"accuracy": 0.8}})
    for name, acc in (("dev", 0.82), ("exp/worse", 0.7), ("exp/nan", math.nan)):
        g.checkout("prod")
        g.checkout(name, new=True)
        g.commit(
            f"model {name}",
            {"models/model.pkl": name.encode(), "metrics/model.json": f'{{"accuracy": {acc}}}'},
        )
    g.checkout("prod")
    g.checkout("ab/a", new=True)
    g.commit("results a", {"monitoring/experiments/results.csv": results("ab/a", 50, 200, 2)})
    g.checkout("prod")
    g.checkout("ab/b", new=True)
    g.commit(
        "results b",
        {"monitoring/experiments/results.csv": results("ab/b", 80, 200), "models/model.pkl": b"b"},
    )
    g.checkout("prod")
    return g.path


@pytest.fixture
def repo(built: Path, tmp_path: Path) -> GitRepo:
    """A copy of the built repository for this test alone."""
    shutil.copytree(built, tmp_path / "reg", symlinks=True)
    return GitRepo.existing(tmp_path / "reg")


def log(g: GitRepo) -> list[str]:
    return g.git("log", "--format=%s", "prod", "--", "delivery.toml").splitlines()


def test_every_verb_is_one_commit_git_sees(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        changes = [
            canary(reg, "dev", 5),
            canary_step(reg),
            canary(reg, "dev", 40),
            canary_abort(reg),
            switch(reg, "dev"),
            switch(reg),
            switch(reg),
            start_ab(reg, ["ab/a", "ab/b"], "50,50", test="t-1"),
            set_weights(reg, "30,70"),
            stop_ab(reg),
        ]
        assert [c.moved for c in changes[:4]] == [5.0, 20.0, 15.0, 40.0]
        assert [c.moved for c in changes[4:7]] == [0.0, 100.0, 100.0]
        assert changes[8].moved == 20.0
        assert [e.commit.id for e in reversed(delivery_log(reg, 50))] == [c.commit for c in changes]
    assert log(repo) == [c.message.split("\n")[0] for c in reversed(changes)]
    assert repo.git("rev-list", "--count", "prod").strip() == str(1 + len(changes))
    assert repo.git("fsck", "--strict", "--no-dangling") == ""
    assert repo.git("status", "--porcelain") == ""  # prod is checked out: its file followed
    assert 'mode = "live"' in (repo.path / "delivery.toml").read_text()
    assert repo.git("show", "prod~1:delivery.toml").count("[[variant]]") == 2


def test_canary_walks_its_plan_and_routes_stickily(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        canary(reg, "dev", 1, [1, 10, 100])
        d1 = read_delivery(reg)
        canary_step(reg)
        d10 = read_delivery(reg)
        units = [f"u{i}" for i in range(5000)]
        on_dev = {u for u in units if d1.route(u).branch == "dev"}
        assert on_dev <= {u for u in units if d10.route(u).branch == "dev"}  # sticky
        canary_step(reg)
        with pytest.raises(Refused, match="last step"):
            canary_step(reg)
        assert read_delivery(reg).get("dev").weight == 100  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("verb", "error", "reason"),
    [
        (lambda reg: canary(reg, "nope", 5), BadInput, "no branch named 'nope'"),
        (lambda reg: canary(reg, "dev", 0), BadInput, "percent must be above 0"),
        (lambda reg: canary(reg, "dev", 101), BadInput, "percent must be above 0"),
        (lambda reg: canary(reg, "dev", 5, [5, 1]), BadInput, "rise strictly"),
        (lambda reg: canary(reg, "exp/worse", 5), Refused, "fails the promotion gates"),
        (lambda reg: canary(reg, "exp/nan", 5), Refused, "fails the promotion gates"),
        (lambda reg: canary(reg, "prod", 5), BadInput, "already live"),
        (canary_step, Refused, "no canary is running"),
        (canary_abort, Refused, "no canary is running"),
        (lambda reg: switch(reg), Refused, "no blue/green deployment"),
        (lambda reg: switch(reg, "exp/worse"), Refused, "fails the promotion gates"),
        (lambda reg: start_ab(reg, ["ab/a"]), BadInput, "at least two"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/a"]), BadInput, "listed twice"),
        (lambda reg: start_ab(reg, ["ab/a", "nope"]), BadInput, "no branch named"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/b"], "60,30"), BadInput, "sum to 90, not 100"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/b"], "50"), BadInput, "1 weights for 2"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/b"], "a,b"), BadInput, "numbers"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/b"], "50.001,49.999"), BadInput, "two decimals"),
        (lambda reg: start_ab(reg, ["ab/a", "ab/b"], test="a b"), BadInput, "test id"),
        (lambda reg: set_weights(reg, "50,50"), Refused, "no A/B test"),
        (lambda reg: stop_ab(reg), Refused, "no A/B test"),
        (rebalance, Refused, "no bandit is running"),
    ],
)
def test_refusals_change_nothing(
    repo: GitRepo, verb: Callable[[Registry], object], error: type[MlvcError], reason: str
) -> None:
    before = repo.rev("prod")
    with Registry.open(repo.path) as reg, pytest.raises(error) as info:
        verb(reg)
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert repo.rev("prod") == before
    assert repo.git("status", "--porcelain") == ""


def test_busy_refusals_and_a_dirty_checkout(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        canary(reg, "dev", 5)
        before = repo.rev("prod")
        for verb, reason in (
            (lambda: start_ab(reg, ["ab/a", "ab/b"]), "canary of dev"),
            (lambda: canary(reg, "ab/b", 5), "canary of dev"),
            (lambda: switch(reg, "ab/b"), "canary of dev"),
            (lambda: canary(reg, "dev", 5), "already at 5%"),
            (lambda: stop_ab(reg), "no A/B test"),
        ):
            with pytest.raises(Refused, match=reason):
                verb()
        (repo.path / "delivery.toml").write_text("# my edit\n")
        with pytest.raises(Refused, match=r"uncommitted changes to delivery\.toml"):
            canary_step(reg)
    assert repo.rev("prod") == before
    assert (repo.path / "delivery.toml").read_text() == "# my edit\n"


def test_a_concurrent_shift_refuses_the_slower_one(repo: GitRepo) -> None:
    repo.checkout("dev")  # prod not checked out: the race is decided by the ref alone
    with Registry.open(repo.path) as reg:
        canary(reg, "dev", 5)

        def slow_plan(current: Delivery) -> tuple[Delivery, str]:
            subprocess.run(
                [MLVC, "-C", str(repo.path), "canary", "--step"], check=True, capture_output=True
            )
            return replace(current, started="2026-10-01T00:00:00Z"), "delivery: slower change"

        with pytest.raises(Refused, match="moved meanwhile"):
            apply(reg, slow_plan)
    assert log(repo)[0] == "delivery: canary dev 5% -> 25% (step)"
    assert repo.git("fsck", "--strict", "--no-dangling") == ""


def test_report_numbers_by_hand(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b"], now=BEFORE, test="t-1")
        r = ab_report(reg)
    a, b = r.variants
    assert r.binary and r.outcome == "outcome" and r.alpha == 0.05
    assert (a.count, a.mean, b.count, b.mean) == (200, 0.25, 200, 0.4)
    assert a.bad_rows == 2 and b.bad_rows == 0
    assert a.verdict == Verdicts.CONTROL and b.verdict == Verdicts.WINNER
    # pooled .325: se sqrt(.325 * .675 * .01) = .046837, z = .15 / .046837 = 3.2026
    assert b.comparison is not None
    assert b.comparison.statistic == pytest.approx(3.2026, abs=1e-4)
    assert b.comparison.p_value == pytest.approx(0.001362, abs=2e-6)
    assert a.interval.low == pytest.approx(0.19514, abs=1e-4)  # Wilson, 50 of 200
    assert a.error_rate == 4 / 200 and a.latency_mean == pytest.approx(100.995, abs=1e-3)
    assert a.version == b.version[:0] + a.version and a.units == 200
    assert len(r.timeline) == 30 and r.running_means["ab/b"][-1] == pytest.approx(0.4)
    assert r.sample_ratio_p == 1.0 and not r.sample_ratio_mismatch  # 200 and 200 at 50/50


def test_sample_ratio_mismatch(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b"], "90,10", now=BEFORE, test="t-3")
        r = ab_report(reg)
        # 200 and 200 where 360 and 40 were due: chi² = 160²/360 + 160²/40 = 711.1
        assert r.sample_ratio_p is not None and r.sample_ratio_p < 1e-100
        assert r.sample_ratio_mismatch
        set_weights(reg, "50,50")
        assert ab_report(reg).sample_ratio_p is None  # the split changed: expected unknown


def test_too_little_data_and_missing_results(repo: GitRepo) -> None:
    repo.checkout("ab/b")
    repo.commit("few", {"monitoring/experiments/results.csv": results("ab/b", 30, 60)})
    repo.checkout("prod")
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b", "dev"], now=BEFORE, test="t-2")
        r = ab_report(reg)
    _, b, dev = r.variants
    assert r.alpha == 0.025  # Bonferroni over two comparisons
    assert b.verdict == Verdicts.WAIT and b.needed is not None and b.needed >= 40
    assert dev.verdict == Verdicts.WAIT and dev.count == 0
    assert dev.problem == "no monitoring/experiments/results.csv yet"


def test_bandit_update_commits_thompson_weights(repo: GitRepo) -> None:
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b"], bandit=True, now=BEFORE, test="band-1")
        change = rebalance(reg)
        expected = thompson_weights(
            [ArmData(200, 50, 50, True), ArmData(200, 80, 80, True)], "band-1"
        )
        assert [v.weight for v in change.after.variants] == expected
        assert change.after.mode is Mode.BANDIT and expected[1] > 95
        with pytest.raises(Refused, match="already what the results suggest"):
            rebalance(reg)
        r = ab_report(reg)
    assert r.bandit is not None and r.bandit.best == "ab/b"
    assert r.bandit.total_regret == pytest.approx(200 * 0.15)
    assert "Thompson sampling on ab/a n=200, ab/b n=200." in repo.git("log", "-1", "prod")


def test_a_new_test_reads_none_of_the_previous_tests_rows(repo: GitRepo) -> None:
    """The bug: a test started seconds before reported ▼ loser from the last test's rows."""
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b"], now=BEFORE, test="old-test")
        stop_ab(reg)
        start_ab(reg, ["ab/b", "ab/a"], test="fresh-test-1")  # now: after every row
        r = ab_report(reg)
        assert [(v.count, v.verdict, v.outside) for v in r.variants] == [
            (0, Verdicts.CONTROL, 200),
            (0, Verdicts.WAIT, 200),
        ]
        assert r.sample_ratio_p is None and r.since is not None
        old = ab_report(reg, test="old-test")  # the finished test, its own rows
        assert [v.count for v in old.variants] == [200, 200]
        assert old.variants[1].verdict == Verdicts.WINNER and old.until is not None
        assert old.sample_ratio_p == 1.0
        with pytest.raises(MlvcError, match="no test named 'nope'"):
            ab_report(reg, test="nope")
        stop_ab(reg)
        start_ab(reg, ["ab/a", "ab/b"], bandit=True, test="fresh-bandit")
        with pytest.raises(Refused, match="already what the results suggest"):
            rebalance(reg)  # no rows yet: the even split stands, old rows move nothing


def test_a_test_column_keeps_only_that_tests_rows(repo: GitRepo) -> None:
    rows = ["timestamp,unit_id,variant,outcome,test_id"]
    rows += [f"2026-10-02T00:00:{i % 60:02d}Z,u{i},ab/b,1,other" for i in range(150)]
    rows += [f"2026-10-02T00:01:{i % 60:02d}Z,v{i},ab/b,0,mine" for i in range(30)]
    repo.checkout("ab/b")
    repo.commit("two tests at once", {"monitoring/experiments/results.csv": "\n".join(rows)})
    repo.checkout("prod")
    with Registry.open(repo.path) as reg:
        start_ab(reg, ["ab/a", "ab/b"], now=BEFORE, test="mine")
        b = ab_report(reg).variants[1]
    assert (b.count, b.mean, b.outside) == (30, 0.0, 150)


def test_hand_written_weights_round_trip_exactly(repo: GitRepo) -> None:
    text = (
        'mode = "ab"\ntest = "thirds"\n'
        + "".join(
            f'[[variant]]\nbranch = "{b}"\nweight = {w}\n'
            for b, w in (("ab/a", 33.333), ("ab/b", 33.333), ("dev", 33.334))
        )
    ).encode()
    d = parse_delivery(text)
    again = parse_delivery(dump(d))
    assert again == d and [v.weight for v in again.variants] == [33.333, 33.333, 33.334]
    repo.commit("thirds by hand", {"delivery.toml": text.decode()})
    with Registry.open(repo.path) as reg:
        change = set_weights(reg, "50,25,25")  # a verb rewrites the hand-written file
        assert [v.weight for v in change.before.variants] == [33.333, 33.333, 33.334]
        assert read_delivery(reg).test == "thirds"


def test_a_split_to_a_missing_branch_is_refused_and_never_routed(repo: GitRepo) -> None:
    gone = 'mode = "live"\n[[variant]]\nbranch = "nowhere"\nweight = 100\n'
    with Registry.open(repo.path) as reg:
        before = reg.branch_tip("prod")
        with pytest.raises(BadInput, match="variant 'nowhere' is not a branch"):
            apply(reg, lambda d: (parse_delivery(gone.encode()), "delivery: to nowhere"))
        assert reg.branch_tip("prod") == before
    repo.commit("by hand, past mlvc", {"delivery.toml": gone})  # git lets it in
    out = subprocess.run(
        [MLVC, "-C", str(repo.path), "route", "u1"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 2 and out.stdout == ""
    assert "sends 'u1' to 'nowhere', which is not a branch" in out.stderr
