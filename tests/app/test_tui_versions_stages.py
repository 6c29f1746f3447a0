"""The versions screen shows the GTO stages each version holds: those mlvc's promotions
assigned and those others wrote (a ``model#qa#N`` tag made with git, as `gto assign` makes
it). Pilot tests and one snapshot (snapshots/test_tui_versions_stages/)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlvc_tui.app import make_app
from mlvc_tui.engine import Registry
from mlvc_tui.engine.promotion.promote import apply_promotion, plan_promotion
from mlvc_tui.screens.versions import VersionsScreen
from tests.support.promote import branch, metrics, two_candidates
from tests.support.tui import FIXED_NOW, keys, screen_words, settle

SnapCompare = Callable[..., bool]
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """exp/better through staging into prod (v1.0.0), exp/best likewise (v1.1.0), then
    exp/tuned into staging; v1.0.0 assigned to qa by a GTO tag made with git."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GIT_AUTHOR_NAME", "Ben Okafor")
    mp.setenv("GIT_AUTHOR_EMAIL", "ben@example.com")
    r = two_candidates(tmp_path_factory.mktemp("versions-stages") / "reg")
    r.git("branch", "staging", "prod")
    branch(r, "exp/best", {"models/model.pkl": b"model-5", "metrics/model.json": metrics(0.9)})
    branch(r, "exp/tuned", {"models/model.pkl": b"model-6", "metrics/model.json": metrics(0.93)})
    steps = [("exp/better", "staging"), ("staging", None), ("exp/best", "staging")]
    steps += [("staging", None), ("exp/tuned", "staging")]
    with Registry.open(r.path) as reg:
        for minute, (source, target) in enumerate(steps):
            plan = plan_promotion(reg, source, target)
            apply_promotion(reg, plan, T0 + timedelta(minutes=minute))
    r.git("tag", "-a", "model#qa#99", "-m", "Assign qa", "model@v1.0.0^{commit}")
    mp.undo()
    return r.path


async def test_each_version_shows_the_stages_it_holds(staged: Path) -> None:
    app = make_app(staged, now=FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, VersionsScreen)
        table = screen.query_one("DataTable")
        assert [str(c.label) for c in table.columns.values()][:3] == ["version", "stage", "what"]
        rows = [[str(cell) for cell in table.get_row_at(i)[:2]] for i in range(table.row_count)]
        assert rows == [["model@v1.1.0", "prod"], ["model@v1.0.0", "qa"]]


async def test_staging_shows_the_commit_it_serves(staged: Path) -> None:
    app = make_app(staged, now=FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(VersionsScreen("staging"))
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        stages = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert stages == ["staging", "", ""]  # the newest promotion into staging holds it
        assert "Versions of staging 3 promotions" in screen_words(pilot)


def test_versions_with_stages_80x24(staged: Path, snap_compare: SnapCompare) -> None:
    """v: v1.1.0 holds prod, v1.0.0 qa (a tag someone else wrote): the stage column after
    the version, in bold; at 80 columns without the commit column and the model's name
    (the title says whose versions), so that Δ fits."""
    assert snap_compare(
        make_app(staged, now=FIXED_NOW), terminal_size=(80, 24), run_before=keys("v")
    )
