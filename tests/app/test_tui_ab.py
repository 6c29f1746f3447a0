"""The A/B screen: Pilot tests of every key, and snapshots (SVGs in snapshots/test_tui_ab/).

Each repository is a copy of the demo (seed 7) whose traffic was shifted by the engine
with a fixed `now`, so test ids and dates in the pictures never change.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mlvc_tui.app import make_app
from mlvc_tui.engine import Registry, ab_report
from mlvc_tui.engine.delivery.rollout import canary, switch
from mlvc_tui.engine.delivery.traffic import start_ab, stop_ab
from mlvc_tui.screens.ab import ABScreen
from mlvc_tui.screens.promote import PromoteScreen
from tests.support.tui import FIXED_NOW, keys, screen_words, settle

SHIFT_AT = datetime(2026, 10, 9, 12, 0, tzinfo=UTC)
SnapCompare = Callable[..., bool]


def subjects(repo: Path) -> list[str]:
    return subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%s", "prod", "--", "delivery.toml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()


@pytest.fixture
def fresh(demo_repo: Path, tmp_path: Path) -> Callable[..., Path]:
    """A copy of the demo, with ``setup(reg)`` applied to its traffic."""

    def make(setup: Callable[[Registry], object] | None = None) -> Path:
        path = tmp_path / "demo"
        shutil.copytree(demo_repo, path, symlinks=True)
        if setup is not None:
            with Registry.open(path) as reg:
                stop_ab(reg)
                setup(reg)
        return path

    return make


def _canary(percent: float) -> Callable[[Registry], object]:
    return lambda reg: canary(reg, "staging", percent, now=SHIFT_AT, run_changed=True)


def _bluegreen(reg: Registry) -> None:
    switch(reg, "staging", now=SHIFT_AT, run_changed=True)


def _fresh_test(at: datetime) -> Callable[[Registry], object]:
    """A new test of the demo's two arms, started at ``at`` (the demo's rows run from
    09-29 to 10-08 and carry no test column)."""
    return lambda reg: start_ab(reg, ["ab/test-a", "ab/test-b"], test="fresh-test-1", now=at)


async def _open(pilot: Pilot[None]) -> None:
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)


async def test_a_on_the_grid_opens_the_running_test(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        assert isinstance(app.screen, ABScreen)
        words = screen_words(pilot)
        assert "ab ab-20260929-churn" in words and "▲ winner" in words
        assert "ab/test-a 50%" in words and "v2.0.0" in words
        assert "p Promote winner" in words and "Step canary" not in words
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ABScreen)


async def test_at_50_columns_the_split_names_go_under_the_bar(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(50, 15)) as pilot:
        await _open(pilot)
        split = str(app.screen.query_one("#split").render()).split("\n")
        assert len(split) == 2 and split[0].startswith("traffic ")
        assert split[1].split() == ["█", "ab/test-a", "50%", "▓", "ab/test-b", "50%"]


async def test_palette_opens_the_screen(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"A/B test")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ABScreen)


async def test_step_and_abort_a_canary(fresh: Callable[..., Path]) -> None:
    repo = fresh(_canary(5))
    app = make_app(repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        assert "step plan 1 → [5] → 25 → 50 → 100" in screen_words(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert subjects(repo)[0] == "delivery: canary staging 5% -> 25% (step)"
        assert "staging 25%" in screen_words(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert subjects(repo)[0] == "delivery: abort canary of staging; prod serves all traffic"
        words = screen_words(pilot)
        assert "prod serves all traffic" in words and "Abort canary" not in words
        before = subjects(repo)
        await pilot.press("s", "x", "f")  # keys for other modes do nothing now
        await settle(pilot)
        assert subjects(repo) == before


async def test_flip_blue_green_and_back(fresh: Callable[..., Path]) -> None:
    repo = fresh(_bluegreen)
    app = make_app(repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert subjects(repo)[0] == "delivery: switch live to staging (was prod)"
        await pilot.press("f")
        await settle(pilot)
        assert subjects(repo)[:2] == [
            "delivery: switch live to prod (was staging)",
            "delivery: switch live to staging (was prod)",
        ]
        assert "prod 100%" in screen_words(pilot)


async def test_a_refusal_is_shown_and_changes_nothing(fresh: Callable[..., Path]) -> None:
    repo = fresh(_canary(100))
    app = make_app(repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        before = subjects(repo)
        await pilot.press("s")
        await settle(pilot)
        assert subjects(repo) == before
        shown = [n.message for n in app._notifications]
        assert any("the last step" in m for m in shown)
        await pilot.press("p")  # the candidate at 100 %: promote it, through the gates
        await settle(pilot)
        assert isinstance(app.screen, PromoteScreen) and app.screen.branch == "staging"


async def test_p_offers_the_winner_to_the_promotion_dialog(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, PromoteScreen) and app.screen.branch == "ab/test-b"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ABScreen)


async def test_rows_of_other_tests_are_counted_as_left_out(fresh: Callable[..., Path]) -> None:
    """A test started mid-way counts only its own rows, and says how many it left out,
    in the words `mlvc ab report` uses."""
    repo = fresh(_fresh_test(datetime(2026, 10, 4, 0, 0, tzinfo=UTC)))
    with Registry.open(repo) as reg:
        r = ab_report(reg)
    assert all(v.count > 0 and v.outside > 0 for v in r.variants)
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("mlvc")), "-C", str(repo), "ab", "report"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "160", "NO_COLOR": "1"},
        check=True,
    ).stdout
    app = make_app(repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        words = screen_words(pilot)
    for v in r.variants:
        assert v.outside > 1
        line = f"{v.branch}: {v.outside:,} rows of other tests left out (test fresh-test-1 only)"
        assert f"{v.count:,}" in words
        assert line in words and line in cli


async def test_a_test_with_every_row_its_own_says_nothing_left_out(demo_repo: Path) -> None:
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        assert "left out" not in screen_words(pilot)


class TestABSnapshots:
    """What the A/B screen looks like in each mode."""

    def test_ab_80x24(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """The demo's test: two columns (ab/test-a control v2.0.0, ab/test-b winner),
        counts over 3,000, Wilson intervals, +3.80% p=0.0016, error rates and drift alerts
        marked `!`, the 50/50 bar, and both running means over 09-29 … 10-08."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(80, 24), run_before=keys("a")
        )

    def test_ab_120x40(self, demo_repo: Path, snap_compare: SnapCompare) -> None:
        """The same at 120×40: the chart gets the room under the table."""
        assert snap_compare(
            make_app(demo_repo, now=FIXED_NOW), terminal_size=(120, 40), run_before=keys("a")
        )

    def test_fresh_test_80x24(self, fresh: Callable[..., Path], snap_compare: SnapCompare) -> None:
        """A test started after the demo's last row: both arms at count 0, ab/test-b at
        `… not enough data yet`, and one dim line per arm counting the earlier rows left
        out (test fresh-test-1 only)."""
        assert snap_compare(
            make_app(fresh(_fresh_test(SHIFT_AT)), now=FIXED_NOW),
            terminal_size=(80, 24),
            run_before=keys("a"),
        )

    def test_canary_80x24(self, fresh: Callable[..., Path], snap_compare: SnapCompare) -> None:
        """A canary of staging at 5 % beside prod: the step plan with [5] marked, no results
        on either branch said in the notes, and s/x in the footer."""
        assert snap_compare(
            make_app(fresh(_canary(5)), now=FIXED_NOW), terminal_size=(80, 24), run_before=keys("a")
        )

    def test_nothing_running_80x24(
        self, fresh: Callable[..., Path], snap_compare: SnapCompare
    ) -> None:
        """After `ab stop`: prod 100 % in the bar and how to start a test, canary or
        blue/green from a shell."""
        assert snap_compare(
            make_app(fresh(lambda reg: None), now=FIXED_NOW),
            terminal_size=(80, 24),
            run_before=keys("a"),
        )
