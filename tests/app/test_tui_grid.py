"""Pilot tests of the grid (home) and branch detail screens on real registries."""

from __future__ import annotations

from pathlib import Path

from mlvc_tui.app import make_app
from mlvc_tui.engine import Registry
from mlvc_tui.screens.branch import BranchScreen
from mlvc_tui.screens.grid import GridScreen
from mlvc_tui.widgets.grid import RegistryGrid
from tests.support.tui import FIXED_NOW, screen_text, settle


def _grid(app) -> RegistryGrid:  # type: ignore[no-untyped-def]
    return app.screen.query_one(RegistryGrid)


async def test_demo_grid_rows_follow_engine_order(demo_repo: Path) -> None:
    with Registry.open(demo_repo) as reg:
        expected = [b.name for b in reg.branches()]
        head, primary = reg.head, reg.primary_metric()
    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert [r.branch.name for r in _grid(app).shown] == expected
        text = screen_text(pilot)
        assert f"{len(expected)} branches" in text and f"on {head}" in text
        assert str(primary) in text
        assert "models: M1" in text  # compact columns are explained at 80 columns


async def test_jk_and_arrows_move_the_cursor(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = _grid(app)
        await pilot.press("j", "j", "down")
        assert grid.branch == grid.shown[3].branch.name
        await pilot.press("k", "up")
        assert grid.branch == "staging"
        await pilot.press("right", "right", "right")
        assert grid.column_path == app.screen.grid.columns[1]
        assert "models/model.pkl" in screen_text(pilot)  # the cursor line names the artifact
        await pilot.press("h")
        assert grid.column_path == app.screen.grid.columns[0]


async def test_filter_as_you_type_then_escape_clears(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = _grid(app)
        await pilot.press("slash", "e", "x", "p")
        assert [r.branch.name for r in grid.shown] == ["exp/lr-sweep", "exp/feature-eng"]
        await pilot.press("slash", "l", "r")
        assert [r.branch.name for r in grid.shown] == ["exp/lr-sweep"]
        assert "1 of 6 branches" in screen_text(pilot)
        await pilot.press("escape")
        assert len(grid.shown) == 6
        assert app.focused is grid


async def test_filter_kept_after_enter_then_escape_on_grid_clears(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = _grid(app)
        await pilot.press("slash", "e", "x", "p", "enter")
        assert app.focused is grid and len(grid.shown) == 2
        await pilot.press("j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BranchScreen) and app.screen.branch == "exp/feature-eng"
        await pilot.press("escape")
        assert isinstance(app.screen, GridScreen) and len(grid.shown) == 2
        await pilot.press("escape")
        assert len(grid.shown) == 6


async def test_filter_matching_nothing_says_so(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", "z", "z", "z", "enter", "enter")
        assert "no branch matches the filter" in screen_text(pilot)
        assert isinstance(app.screen, GridScreen)


async def test_enter_opens_branch_detail_and_escape_returns(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j", "j", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BranchScreen) and app.screen.branch == "dev"
        text = screen_text(pilot)
        for expected in ("models/model.pkl", "Commits", "Metrics", "accuracy", "uncommitted"):
            assert expected in text
        await pilot.press("tab", "j", "k")
        await pilot.press("escape")
        assert isinstance(app.screen, GridScreen)
        assert _grid(app).branch == "dev"


async def test_branch_detail_shows_lfs_and_sizes(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_branch("prod")
        await settle(pilot)
        detail = app.screen.detail
        assert detail is not None and detail.diff is None  # prod is not compared with itself
        lines = screen_text(pilot).splitlines()
        onnx = next(line for line in lines if "models/model.onnx" in line)
        reference = next(line for line in lines if "data/reference" in line)
        assert "69.6 kB" in onnx and "LFS" in onnx and "submodule" in reference


async def test_metrics_error_shown_in_grid_and_detail(hostile_repo: Path) -> None:
    app = make_app(hostile_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = _grid(app)
        row = [r.branch.name for r in grid.shown].index("exp/corrupt")
        assert "! error" in screen_text(pilot)
        grid.move_cursor(row=row, column=1)
        await pilot.pause()
        assert "metrics/model.json:" in screen_text(pilot)  # the reason, on the cursor line
        await pilot.press("enter")
        await settle(pilot)
        text = screen_text(pilot)
        assert "! metrics/model.json:" in text


async def test_nan_metric_shown_as_nan(hostile_repo: Path) -> None:
    app = make_app(hostile_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "NaN ?" in screen_text(pilot)


async def test_hostile_text_rendered_literally(hostile_repo: Path) -> None:
    app = make_app(hostile_repo, now=FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        text = screen_text(pilot)
        assert "exp/ünïcødé-🚀" in text
        assert "[bold]not bold[/bold]" in text  # prod's commit message, on the cursor line
        assert "\\x1b[31mred alert" in text and "\x1b" not in text and "\x07" not in text
        app.open_branch("exp/markup")
        await settle(pilot)
        text = screen_text(pilot)
        assert "models/[bold]markup[/bold].pkl" in text
        assert "[bold]markup[/bold] [link=http://x]click[/link] :smile:" in text
        app.open_branch("prod")
        await settle(pilot)
        text = screen_text(pilot)
        assert "models/my model [red]x[/red].pkl" in text
        assert "\\x07 [bold]not bold[/bold]" in text and "\x1b" not in text


async def test_unicode_branch_opens(hostile_repo: Path) -> None:
    app = make_app(hostile_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"ünï", "enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, BranchScreen)
        assert app.screen.branch == "exp/ünïcødé-🚀"
        assert "Unicode branch: bigger model" in screen_text(pilot)


async def test_preview_follows_the_cursor_when_tall(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "prod: latest commits" in screen_text(pilot)
        await pilot.press("j", "j")
        await settle(pilot)
        text = screen_text(pilot)
        assert "dev: latest commits" in text and "metrics vs prod" in text
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "latest commits" not in screen_text(pilot)  # no room at 80×24
