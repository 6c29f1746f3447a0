"""The metric diff screen, driven with Pilot on real repositories."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, Static

from mlvc_tui.app import MlvcApp
from mlvc_tui.engine import WORKTREE, Registry
from mlvc_tui.screens.diff import DiffScreen
from mlvc_tui.screens.pick_ref import RefPicker
from mlvc_tui.widgets.plot import PlotChart
from tests.support.views import (
    open_screen,
    rev,
    settle,
    views_app,
)


@pytest.fixture(autouse=True)
def _no_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts load as soon as the cursor lands: tests wait for workers, not for a timer."""
    monkeypatch.setattr(DiffScreen, "HISTORY_DEBOUNCE", 0.0)


async def _open(pilot: Pilot[None], a: str = "prod", b: str = "exp/feature-eng") -> None:
    await open_screen(pilot, DiffScreen(a, b))


def _cells(app: MlvcApp) -> dict[str, list[str]]:
    table = app.screen.query_one(DataTable)
    return {
        str(row.key.value): [
            Text(str(c)).plain if not isinstance(c, Text) else c.plain
            for c in table.get_row(row.key)
        ]
        for row in table.ordered_rows
    }


def _text(app: MlvcApp, selector: str) -> str:
    content = app.screen.query_one(selector, Static).render()
    return content.plain if hasattr(content, "plain") else str(content)


async def test_opens_with_every_metric_errors_and_the_first_history(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        cells = _cells(app)
        assert list(cells) == ["accuracy", "loss", "latency_ms", "auc", "f1", "calibration"]
        assert cells["accuracy"] == ["accuracy", "0.8600", "0.8800", "+0.0200", "+2.3%", "↑ better"]
        assert cells["loss"][-1] == "↓ worse"  # higher loss is worse
        assert cells["latency_ms"][-1] == "= same"
        assert cells["auc"][1:3] == ["0.8700", "—"] and cells["auc"][-1] == "- missing"
        assert cells["f1"][-1] == "+ new" and cells["calibration"][2] == "NaN"
        assert "metrics/bad.json is not valid" in _text(app, "#errors")
        assert "6 metrics" in _text(app, "#summary")
        chart = app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title.startswith("accuracy")
        assert [s.label for s in chart.series] == ["prod", "exp/feature-eng"]
        assert chart.series[0].y == (0.80, 0.82, 0.86, 0.86)
        assert chart.series[1].y == (0.86, 0.87, 0.88)  # from the fork: the promotion merge


async def test_chart_follows_the_cursor(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("down")
        await settle(pilot)
        chart = app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title == "loss (lower is better)"
        assert chart.series[0].y == (0.50, 0.45, 0.38, 0.38)
        assert chart.series[1].y == (0.38, 0.41, 0.41)
        await pilot.press("j", "j", "j")  # to f1, which prod never had
        await settle(pilot)
        chart = app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title.startswith("f1")
        assert chart.series[0].y == () and chart.notes == ("no history on prod",)
        assert chart.series[1].y == (0.71, 0.74)
        await pilot.press("k", "k", "k", "k")  # back to accuracy: from the cache
        chart = app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title.startswith("accuracy")


async def test_only_changed_toggles_rows(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("down", "down")  # latency_ms, which is the same on both
        await pilot.press("c")
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 5 and "latency_ms" not in _cells(app)
        assert "only changed: showing 5 of 6" in _text(app, "#summary")
        await pilot.press("c")
        await settle(pilot)
        assert table.row_count == 6 and "only changed" not in _text(app, "#summary")


async def test_pick_the_other_side_from_branches_and_tags(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, RefPicker)
        options = app.screen.query_one(OptionList)
        prompts = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        listed = [p.plain.split()[1] for p in prompts if isinstance(p, Text)]
        assert listed == [
            "working",  # the working tree
            "prod",
            "exp/corrupt-drift",
            "exp/feature-eng",
            "exp/lr-sweep",
            "model@v1.0.0",
            "model@v1.1.0",
            "model@v1.2.0",
        ]
        await pilot.press(*"v1.0", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.a == "model@v1.0.0"
        assert _cells(app)["accuracy"][1:3] == ["0.8000", "0.8800"]
        assert "model@v1.0.0 → exp/feature-eng" in _text(app, "#title")


async def test_pick_the_working_tree_or_a_typed_commit_id(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press(*"working", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.a == WORKTREE
        assert "working tree → exp/feature-eng" in _text(app, "#title")
        await pilot.press("o")
        await settle(pilot)
        await pilot.press(*"nosuchref", "enter")  # offered as typed, refused once it fails
        await settle(pilot)
        assert isinstance(app.screen, RefPicker)
        assert "nosuchref" in str(app.screen.query_one("#picker-hint", Static).render())
        await pilot.press(*(["backspace"] * 9), *rev(views_repo, "prod")[:10], "enter")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.a == rev(views_repo, "prod")[:10]


async def test_escape_in_the_picker_keeps_the_side(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DiffScreen) and app.screen.a == "prod"


async def test_swap_compares_the_other_way(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert "exp/feature-eng → prod" in _text(app, "#title")
        cells = _cells(app)
        assert cells["accuracy"][1:3] == ["0.8800", "0.8600"] and cells["accuracy"][-1] == (
            "↓ worse"
        )
        assert cells["f1"][-1] == "- missing"


async def test_unknown_ref_is_a_message_in_place(views_repo: Path) -> None:
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot, b="no-such-branch")
        assert "no branch, tag or commit named 'no-such-branch'" in _text(app, "#message")
        assert not app.screen.query_one("#body").display
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DiffScreen)


async def test_hostile_keys_and_names_render_literally(hostile_views_repo: Path) -> None:
    app = views_app(hostile_views_repo)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open(pilot, b="exp/ünï-模型-x]")
        cells = _cells(app)
        assert cells["[red]evil[/red]"][0] == "[red]evil[/red]"
        assert cells["\x1b[2Jwipe"][0] == "\\x1b[2Jwipe"
        assert "prod → exp/ünï-模型-x]" in _text(app, "#title")
        await pilot.press("down")
        await settle(pilot)
        chart = app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title.startswith("[red]evil[/red]")


async def test_no_color_chart_is_plain_text(
    views_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = views_app(views_repo)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        assert app.no_color
        rendered = app.screen.query_one(PlotChart).render()
        assert isinstance(rendered, Text) and "┤" in rendered.plain
        assert not any(Style.parse(str(span.style)).color for span in rendered.spans)


async def test_demo_rows_match_the_engine(demo_repo: Path) -> None:
    with Registry.open(demo_repo) as reg:
        diff = reg.diff("prod", "exp/lr-sweep")
    async with views_app(demo_repo).run_test(size=(120, 40)) as pilot:
        await _open(pilot, b="exp/lr-sweep")
        assert list(_cells(pilot.app)) == [r.key for r in diff.rows]
        await pilot.press("c")
        assert list(_cells(pilot.app)) == [r.key for r in diff.changed]
        chart = pilot.app.screen.query_one(PlotChart).data
        assert chart is not None and all(s.y for s in chart.series)


async def test_history_is_debounced_while_the_cursor_runs(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, DiffScreen)
        screen.HISTORY_DEBOUNCE = 1.0  # far longer than three key presses take
        await pilot.press("down", "down", "down")  # loss, latency_ms, then auc
        await settle(pilot)
        assert {key for key, _, _ in screen._charts} == {"accuracy", "auc"}
        chart = screen.query_one(PlotChart).data
        assert chart is not None and chart.title.startswith("auc")


async def test_same_ref_on_both_sides_suggests_picking_another(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(100, 24)) as pilot:
        await _open(pilot, b="prod")
        assert "both sides are prod: o picks another" in _text(pilot.app, "#summary")
