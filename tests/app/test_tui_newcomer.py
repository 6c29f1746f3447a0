"""Pilot tests of what a newcomer meets first: keys you can find, text that fits."""

from __future__ import annotations

from pathlib import Path

from mlvc_tui.app import make_app
from mlvc_tui.widgets.keybar import KeyHint, fit_hints
from tests.support.tui import FIXED_NOW, settle


def _footer(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#keys").render())


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#status").render())


def test_hints_drop_whole_from_the_least_important() -> None:
    hints = [KeyHint("p", "Promote", "promote"), KeyHint("v", "Versions", "versions")]
    hints.append(KeyHint("d", "Diff", "diff"))
    text = fit_hints(hints, 30, KeyHint("?", "Help", "app.help")).plain
    assert text.startswith("p Promote  v Versions") and text.endswith("? Help")
    assert "Diff" not in text and "D" not in text.replace("? Help", "") and len(text) <= 29


async def test_grid_footer_follows_the_row_most_important_first(showcase_repo: Path) -> None:
    for size in ((80, 24), (50, 15)):
        app = make_app(showcase_repo, now=FIXED_NOW)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            on_prod = _footer(app)  # the cursor starts on prod
            assert on_prod.startswith("v Versions  a A/B") and on_prod.endswith("? Help")
            assert "r Roll back" in on_prod and "Promote" not in on_prod
            assert "Commands" not in on_prod and len(on_prod) < size[0]
            await pilot.press("j")
            on_staging = _footer(app)
            assert on_staging.startswith("p Promote  v Versions") and "Roll back" not in on_staging
            if size[0] == 80:
                assert "d Diff  l Lineage  t Drift" in on_staging
            await pilot.press("slash")
            assert _footer(app) == "⏎ Keep filter  esc Clear filter"


async def test_status_bar_at_80_keeps_counts_and_observer(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW, label="a rather long label for this registry")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = _status(app)
        assert "6 branches" in status and "5 changed" in status and "1 uncommitted" in status
        assert status.startswith("a rather") and "…" in status and len(status) <= 78


async def test_t_follows_the_checked_out_branch_live_and_shows_others_committed(
    showcase_repo: Path,
) -> None:
    from mlvc_tui.screens.drift import DriftScreen
    from mlvc_tui.screens.tail import TailScreen

    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.head == "dev"
        await pilot.press("j", "t")  # staging
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen) and app.screen.branch == "staging"
        await pilot.press("escape", "j", "t")  # dev, checked out
        await settle(pilot)
        assert isinstance(app.screen, TailScreen) and app.screen.branch == "dev"
        assert app.screen.path == "monitoring/drift.csv"


async def test_help_has_the_versions_screen_and_both_dialogs(showcase_repo: Path) -> None:
    from mlvc_tui.screens.help import HelpScreen

    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        sections = app.screen.sections
        for title in (
            "Versions of prod (v)",
            "Promotion dialog (p)",
            "Rollback dialog (r on prod)",
        ):
            assert sections[title], title
        assert ("r", "Roll back to it") in sections["Versions of prod (v)"]
        assert ("⏎", "Promote") in sections["Promotion dialog (p)"]
        grid = dict((what, keys) for keys, what in sections["Grid (home)"])
        assert grid["Lineage"] == "l" and "l" not in grid["Cursor right"]


async def test_a_hint_goes_when_a_screen_opens_over_it(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("j", "r")  # r on staging: a hint to move to the prod row
        await settle(pilot)
        assert [n.message for n in app._notifications] == [
            "r rolls back prod: move to the prod row"
        ]
        await pilot.press("question_mark")
        await settle(pilot)
        assert not list(app._notifications)
