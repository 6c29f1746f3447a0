"""Pilot tests of what a newcomer meets first: keys you can find, text that fits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from mlvc_tui.app import main, make_app
from mlvc_tui.widgets.keybar import KeyHint, fit_hints
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, keys, screen_words, settle

SnapCompare = Callable[..., bool]


@pytest.fixture(scope="module")
def bad_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod's mlvc.toml is not TOML (an unclosed table header)."""
    r = GitRepo(tmp_path_factory.mktemp("badcfg") / "reg")
    r.commit("first", {"models/model.pkl": b"m1", "metrics/model.json": {"accuracy": 0.8}})
    r.checkout("dev", new=True)
    r.commit("dev", {"models/model.pkl": b"m2", "metrics/model.json": {"accuracy": 0.9}})
    r.checkout("prod")
    r.commit("a broken mlvc.toml", {"mlvc.toml": "[registry\nprod = 'prod'\n"})
    return r.path


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
            assert on_prod.startswith("r Roll back  v Versions  a A/B")
            assert on_prod.endswith("? Help") and "Promote" not in on_prod
            assert "Commands" not in on_prod and len(on_prod) < size[0]
            await pilot.press("j")
            on_staging = _footer(app)
            assert on_staging.startswith("p Promote    v Versions")
            assert "Roll back" not in on_staging
            assert on_staging[11:] == on_prod[11:]  # p takes r's place: the rest stays put
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
        await keys("question_mark")(pilot)
        assert not list(app._notifications)


async def test_a_bad_mlvc_toml_is_said_in_place_over_the_grid(bad_config: Path) -> None:
    app = make_app(bad_config, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        words = screen_words(pilot)
        assert "! mlvc.toml on prod is set aside, the defaults are in use: not valid" in words
        assert app.screen.grid is not None and len(app.screen.grid.rows) == 2  # prod, dev


def test_mlvc_tui_no_longer_refuses_a_bad_mlvc_toml(bad_config: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """main() used to exit 2 before the app started; now it runs the app (stopped here)."""
    ran: list[Path] = []
    monkeypatch.setattr("mlvc_tui.app.MlvcApp.run", lambda self: ran.append(self.session.path))
    assert main([str(bad_config)]) == 0 and ran == [bad_config]


@pytest.mark.parametrize("size", [(80, 24), (50, 15)])
def test_bad_mlvc_toml_snapshot(bad_config: Path, snap_compare: SnapCompare, size) -> None:  # type: ignore[no-untyped-def]
    """The warning line (bold, on a warning tint) names the error and the branch and says
    the defaults are in use; the grid below it shows prod and dev."""

    app = make_app(bad_config, now=FIXED_NOW, label="bad-config")  # a path would vary
    assert snap_compare(app, terminal_size=size, run_before=keys())


async def test_a_cut_mlvc_toml_warning_ends_in_an_ellipsis_and_keeps_the_whole(
    bad_config: Path,
) -> None:
    from mlvc_tui.widgets.clipped import Clipped

    app = make_app(bad_config, now=FIXED_NOW)
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot)
        banner = app.screen.query_one("#config-warning", Clipped)
        lines = str(banner.render()).split("\n")
        assert len(lines) == 3 and lines[-1].endswith("…")
        assert all(len(line) <= 48 for line in lines)
        assert str(banner.tooltip).endswith("(at line 1, column 10)")
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert str(banner.render()).endswith("(at line 1, column 10)")
        assert banner.tooltip is None


SCREEN_KEYS = {  # keys that open a screen from the grid, on the row of dev
    "branch detail": ("enter",),
    "metric diff": ("d",),
    "lineage": ("l",),
    "drift": ("t",),
    "versions": ("k", "k", "v"),
    "A/B": ("a",),
    "help": ("question_mark",),
}


@pytest.mark.parametrize("name", list(SCREEN_KEYS))
async def test_every_screens_footer_shows_whole_keys_and_help_at_50(
    showcase_repo: Path, name: str
) -> None:
    from mlvc_tui.widgets.fit_footer import FitFooter, screen_hints

    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot)
        await keys(*SCREEN_KEYS[name])(pilot)
        footer = str(app.screen.query_one(FitFooter).render())
        hints, pinned = screen_hints(app.screen)
        assert footer.startswith("esc Back") and len(footer) <= 48
        if name != "help":  # on help, ? is help itself
            assert pinned is not None and footer.endswith("? Help")
        shown = [f"{h.key} {h.label}" for h in hints if f"{h.key} {h.label}" in footer]
        assert shown == [f"{h.key} {h.label}" for h in hints[: len(shown)]]  # in order
        rest = footer
        for piece in shown + (["? Help"] if pinned else []):
            rest = rest.replace(piece, "", 1)
        assert not rest.strip(), f"a cut key is left: {rest.strip()!r}"


async def test_status_at_50_keeps_counts_and_observer(
    showcase_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path goes first, then the checked-out branch (the grid marks its row)."""
    from mlvc_tui.live import live_of

    monkeypatch.setenv("MLVC_WATCH", "native")
    app = make_app(showcase_repo, now=FIXED_NOW, label="a rather long label")
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot)
        status = _status(app)
        observer = live_of(app).observer
        assert observer and status.endswith(f" · {observer}")
        assert status.startswith("6 branches · 5 changed · 1 uncommitted")


async def test_the_filter_line_says_it_is_a_filter(showcase_repo: Path) -> None:
    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await keys("slash", "e", "x", "p")(pilot)
        assert screen_words(pilot).startswith("Filter exp")


async def test_clicking_footer_keys_runs_them(showcase_repo: Path) -> None:
    """A click runs the key's action where it lives: the app's (? Help), the screen's."""
    from mlvc_tui.screens.grid import GridScreen
    from mlvc_tui.screens.help import HelpScreen
    from mlvc_tui.widgets.fit_footer import FitFooter

    app = make_app(showcase_repo, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = _footer(app)
        await pilot.click("#keys", offset=(1 + footer.index("? Help"), 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.click(FitFooter, offset=(2, 0))  # esc Back
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)


async def test_in_15_rows_the_tail_shows_its_log_and_the_ab_notes_scroll_into_view(
    demo_repo: Path,
) -> None:
    from mlvc_tui.screens.ab import ABScreen
    from mlvc_tui.screens.tail import TailScreen

    app = make_app(demo_repo, now=FIXED_NOW)
    async with app.run_test(size=(50, 15)) as pilot:
        await settle(pilot)
        await keys("T")(pilot)
        assert isinstance(app.screen, TailScreen)
        assert app.screen.query_one("#view").region.height >= 5  # was 1: ten rows of features
        assert not app.screen.query_one("#chart").display  # no room beside them at 50
        await keys("escape", "a")(pilot)
        assert isinstance(app.screen, ABScreen)
        assert "α=0.05" not in screen_words(pilot)
        await keys("end")(pilot)
        assert "α=0.05 per comparison" in screen_words(pilot)
