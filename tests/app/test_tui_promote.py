"""The promotion dialog, the rollback dialog and the versions screen: Pilot tests of every key
path, and snapshots (SVGs in snapshots/test_tui_promote/).

Promotions write with the app's fixed `now` and a fixed identity, so commit ids in the
pictures never change. Every test that writes works on a copy of a registry.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mlvc_tui.app import make_app
from mlvc_tui.screens.grid import GridScreen
from mlvc_tui.screens.promote import PromoteScreen
from mlvc_tui.screens.rollback import RollbackScreen
from mlvc_tui.screens.versions import VersionsScreen
from tests.support.gitrepo import git_in
from tests.support.promote import base_registry, branch, metrics
from tests.support.tui import FIXED_NOW, keys, screen_words, settle

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Ana Ruiz")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "ana@example.com")


@pytest.fixture
def demo(demo_repo: Path, tmp_path: Path) -> Path:
    """A copy of the demo registry, free to change."""
    return Path(shutil.copytree(demo_repo, tmp_path / "demo", symlinks=True))


@pytest.fixture(scope="module")
def conflict_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod and exp/clash both changed the same line of src/train.py."""
    r = base_registry(tmp_path_factory.mktemp("clash") / "reg", 'check = "python src/check.py"')
    text = r.git("show", "prod:src/train.py")
    branch(
        r,
        "exp/clash",
        {
            "src/train.py": text.replace("step_4 = 4", "step_4 = 40"),
            "models/model.pkl": b"model-9",
            "metrics/model.json": metrics(0.9),
        },
    )
    r.commit("prod: hotfix", {"src/train.py": text.replace("step_4 = 4", "step_4 = -4")})
    return r.path


def grid_to(name: str) -> list[str]:
    """Keys that move the grid's cursor to a demo branch (rows: prod, staging, dev, ...)."""
    rows = ["prod", "staging", "dev"]
    return ["j"] * rows.index(name)


async def open_dialog(pilot: Pilot, name: str) -> PromoteScreen:
    await settle(pilot)
    for key in [*grid_to(name), "p"]:
        await pilot.press(key)
    await settle(pilot)
    assert isinstance(pilot.app.screen, PromoteScreen)
    if pilot.app.screen.state == "asking":  # the demo's candidates change checked code: r runs it
        await pilot.press("r")
        await settle(pilot)
    return pilot.app.screen


async def test_gates_passing_offer_enter_and_show_the_check(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await open_dialog(pilot, "staging")
        assert dialog.state == "ready" and dialog.plan is not None and dialog.plan.ok
        assert dialog.check_lines[0] == "$ python src/check.py"
        assert dialog.check_lines[-1] == "ok: the model loads and predicts"
        words = screen_words(pilot)
        assert "Promote staging (7c148985) → prod" in words
        assert "as model@v2.0.1 pipeline (after 2.0.0)" in words
        assert "✓ pass stage 7c148985 is on staging" in words
        assert "replaces " in words and "keeps prod's own monitoring/" in words
        assert "Every gate passes. enter promotes staging into prod as model@v2.0.1" in words
        assert "⏎ Promote" in words
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)


async def test_a_failing_gate_refuses_and_enter_does_nothing(demo_repo: Path) -> None:
    before = git_in(demo_repo, "for-each-ref")
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await open_dialog(pilot, "dev")
        assert dialog.state == "refused"
        words = screen_words(pilot)
        assert "✗ FAIL primary accuracy 0.8167 -> 0.81 (-0.0067, worse than prod)" in words
        assert "Refused by gates primary, stage: nothing will change" in words
        assert "⏎ Promote" not in words and "esc Close" in words
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.state == "refused"
    assert git_in(demo_repo, "for-each-ref") == before


async def test_a_code_conflict_is_shown_and_the_check_not_run(conflict_repo: Path) -> None:
    app = make_app(conflict_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("j", "p")  # rows: prod, exp/clash
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PromoteScreen) and dialog.state == "refused"
        words = screen_words(pilot)
        assert "✗ FAIL merge code conflicts in src/train.py: merge prod into exp/clash" in words
        assert "✗ FAIL check not run: the merge has code conflicts" in words
        assert dialog.check_lines == []


async def test_enter_promotes_and_the_grid_shows_it_at_once(demo: Path) -> None:
    old = git_in(demo, "rev-parse", "prod").strip()
    app = make_app(demo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        dialog = await open_dialog(pilot, "staging")
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.state == "done"
        new = git_in(demo, "rev-parse", "prod").strip()
        assert f"Promoted staging into prod: commit {new[:8]}, tag model@v2.0.1" in screen_words(
            pilot
        )
        assert git_in(demo, "rev-list", "--parents", "-n1", "prod").split()[1] == old
        grid = app.screen_stack[-2]
        assert isinstance(grid, GridScreen) and grid.grid is not None
        assert grid.grid.row("prod").branch.commit.id == new  # read again behind the dialog
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)
    assert (
        git_in(demo, "tag", "-n1")
        .splitlines()[-1]
        .startswith("model@v2.0.1    Promote staging to prod as model@v2.0.1")
    )
    assert (
        git_in(demo, "log", "-1", "--format=%an %ad", "--date=iso", "prod").strip()
        == "Ana Ruiz 2026-11-02 09:30:00 +0000"
    )
    assert git_in(demo, "fsck", "--strict", "--no-dangling") == ""


async def test_at_50x15_enter_reads_on_before_it_promotes(demo: Path) -> None:
    """Nothing is confirmed that was not in view: enter scrolls while part of the dialog is
    below, and promotes only once the metrics and the confirm line were on screen."""
    before = git_in(demo, "for-each-ref")
    app = make_app(demo, now=FIXED_NOW)
    async with app.run_test(size=(50, 15)) as pilot:
        dialog = await open_dialog(pilot, "staging")
        assert dialog.state == "ready"
        state = str(dialog.query_one("#state").render())
        assert "more lines below: enter reads on" in state and "⏎ Read on" in screen_words(pilot)
        presses = 0
        while "⏎ Promote" not in screen_words(pilot):
            await pilot.press("enter")
            await settle(pilot)
            assert dialog.state == "ready" and git_in(demo, "for-each-ref") == before
            presses += 1
            assert presses < 20
        words = screen_words(pilot)  # the metric table in view, two lines a metric
        assert "metric prod Δ verdict" in words and "accuracy 0.8167 0 = same" in words
        state = str(dialog.query_one("#state").render())
        assert "Every gate passes. enter promotes staging into prod" in state
        assert dialog.query_one("#metrics").region.bottom <= dialog.query_one("#state").region.y
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.state == "done"
    assert git_in(demo, "for-each-ref") != before


async def test_every_gate_reason_is_shown_whole(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dialog(pilot, "staging")
        words = screen_words(pilot)
        assert "keeps prod's own monitoring/drift.csv" in words  # no conflict to settle there
        assert "'python src/check.py' passed: ok: the model loads and" in words
        assert "loads and │ │ predicts" in words and "…" not in words  # wrapped, not cut


async def test_esc_stops_a_running_check(tmp_path: Path) -> None:
    r = base_registry(tmp_path / "reg", 'check = "python src/check.py"\ncheck_timeout = 600')
    branch(r, "exp/slow", {"models/model.pkl": b"slow", "metrics/model.json": metrics(0.9)})
    app = make_app(r.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("j", "p")
        deadline = time.monotonic() + 60
        while not (isinstance(app.screen, PromoteScreen) and app.screen.check_lines):
            assert time.monotonic() < deadline, "the check never started"
            await pilot.pause(0.01)
        assert app.screen.state == "checking"
        await pilot.press("escape")
        await settle(pilot)  # returns only because the check was killed
        assert isinstance(app.screen, GridScreen)


async def test_p_on_prod_and_r_elsewhere_say_what_they_need(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("p", "j", "r")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)
        shown = [n.message for n in app._notifications]
        assert shown == [
            "p promotes a branch into prod: move to another row",
            "r rolls back prod: move to the prod row",
        ]


async def test_r_on_prod_rolls_back_after_enter(demo: Path) -> None:
    app = make_app(demo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RollbackScreen) and dialog.state == "ready"
        assert "from 2.0.0 to model@v1.1.1" in screen_words(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert dialog.state == "done"
        await pilot.press("escape", "v")
        await settle(pilot)
        assert isinstance(app.screen, VersionsScreen)
        assert screen_words(pilot).startswith(
            "Versions of prod 5 promotions, rollbacks and version tags"
        )
    assert (
        git_in(demo, "log", "-1", "--format=%s", "prod").strip() == "Roll back prod to model@v1.1.1"
    )
    assert git_in(demo, "rev-parse", "prod:models/model.pkl") == git_in(
        demo, "rev-parse", "model@v1.1.1:models/model.pkl"
    )
    assert git_in(demo, "fsck", "--strict", "--no-dangling") == ""


async def test_versions_r_picks_the_version_under_the_cursor(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("j", "j", "r")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RollbackScreen) and dialog.to == "1.1.0"
        assert "from 2.0.0 to model@v1.1.0" in screen_words(pilot)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)


async def test_nothing_to_roll_back_is_said_in_place(tmp_path: Path) -> None:
    r = base_registry(tmp_path / "reg", "")
    app = make_app(r.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, RollbackScreen) and app.screen.state == "error"
        assert "prod has no versions yet: nothing to roll back to" in screen_words(pilot)


class TestPromoteSnapshots:
    """The dialogs as a user sees them at 80×24 (and one at 120×40)."""

    def test_gates_pass_80x24(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """staging → prod: seven ✓ gates with whole reasons (wrapped), the check's last four
        lines, "as model@v2.0.1 pipeline (after 2.0.0)"; the metric table is below, so the
        confirm line says "2 more lines below: enter reads on" and the footer ⏎ Read on."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW),
            terminal_size=(80, 24),
            run_before=keys("j", "p", "r"),
        )

    def test_gates_pass_read_to_the_end_50x15(
        self, demo_repo: Path, snap_compare: SnapCompare
    ) -> None:
        """At 50x15, scrolled to the end (end): the metric table in two lines a metric
        (prod over after, Δ over rel, then "= same"), the green "Every gate passes" line in
        view, ⏎ Promote in the footer."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW),
            terminal_size=(50, 15),
            run_before=keys("j", "p", "r", "end"),
        )

    def test_gate_fails_metrics_50x15(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """dev → prod at 50x15, scrolled to the end: the table's last metrics, each row
        whole in two lines (its name wrapped), each verdict ("↓ worse", "↑ better")
        readable, no horizontal scrollbar; "Refused by gates primary, stage"."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW),
            terminal_size=(50, 15),
            run_before=keys("j", "j", "p", "r", "end"),
        )

    def test_gate_fails_120x40(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """dev → prod: ✗ primary and ✗ stage in red, the other gates ✓, the worse metrics
        listed, "Refused by gates primary, stage", no ⏎ in the footer."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW),
            terminal_size=(120, 40),
            run_before=keys("j", "j", "p", "r"),
        )

    def test_conflict_80x24(self, conflict_repo: Path, snap_compare: SnapCompare) -> None:
        """exp/clash → prod: ✗ merge (code conflicts in src/train.py), ✗ check not run."""
        assert snap_compare(
            make_app(conflict_repo, now=FIXED_NOW),
            terminal_size=(80, 24),
            run_before=keys("j", "p"),
        )

    def test_success_80x24(self, demo: Path, snap_compare: SnapCompare) -> None:
        """After end (the dialog read to its end) and enter: "Promoted staging into prod:
        commit …, tag model@v2.0.1", esc Close."""
        assert snap_compare(
            make_app(demo, now=FIXED_NOW),
            terminal_size=(80, 24),
            run_before=keys("j", "p", "r", "end", "enter"),  # end: all of it seen
        )

    def test_rollback_80x24(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """r on prod: from 2.0.0 to model@v1.1.1, the files it restores, worse metrics."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(80, 24), run_before=keys("r")
        )

    def test_rollback_50x15(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """r on prod at 50x15: the MAJOR warning and "enter rolls back anyway; esc cancels"
        whole, accuracy's row (two lines) under the table's two-line header, the details
        above cut to three lines."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(50, 15), run_before=keys("r")
        )

    def test_versions_80x24(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """v: the demo's four version tags, newest first, with accuracy and its change."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(80, 24), run_before=keys("v")
        )

    def test_versions_50x15(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """v at 50 columns: version, date, accuracy and Δ whole (who, from and what left
        out), the title cut with "…"."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(50, 15), run_before=keys("v")
        )


async def test_palette_offers_promote_versions_and_rollback(demo_repo: Path) -> None:
    from textual.command import CommandPalette

    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for typed, screen in (
            ("promote exp/f", PromoteScreen),
            ("versions of", VersionsScreen),
            ("roll back p", RollbackScreen),
        ):
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*typed)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, screen), typed
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, GridScreen)


@pytest.mark.parametrize("seed", [2])
async def test_keys_hammered_on_the_dialogs_never_crash(demo: Path, seed: int) -> None:
    """Open p, r or v and press keys without waiting: workers finish on closed dialogs."""
    import random

    rng = random.Random(seed)
    app = make_app(demo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(8):
            await pilot.press("escape", "escape", rng.choice(["j", "k"]))
            pressed = rng.choices(["j", "k", "r", "escape", "R", "enter"], k=rng.randint(0, 3))
            await pilot.press(rng.choice(["p", "r", "v"]), *pressed)
        await settle(pilot)
        assert app.is_running and app._exception is None
    assert git_in(demo, "fsck", "--strict", "--no-dangling") == ""
