"""Pilot tests of the app as a whole: start-up, errors in place, refresh, help, palette."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding
from textual.command import CommandPalette

from mlvc_tui.app import MlvcApp, main, make_app
from mlvc_tui.engine import Registry
from mlvc_tui.screens.branch import BranchScreen
from mlvc_tui.screens.grid import GridScreen
from mlvc_tui.screens.help import HelpScreen
from mlvc_tui.widgets.grid import RegistryGrid
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, screen_text, screen_words, settle


def test_main_bad_path_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "nowhere")]) == 2
    assert main([str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert out == "" and len(lines) == 2
    assert lines[0] == f"mlvc-tui: {tmp_path / 'nowhere'}: no such folder"
    assert "is not inside a git repository" in lines[1] and "Traceback" not in err


def test_main_demo_builds_a_registry_and_removes_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Path] = []

    def run(self: MlvcApp) -> None:
        seen.append(self.session.path)
        with Registry.open(self.session.path) as reg:
            assert reg.prod == "prod" and len(reg.branches()) > 3

    monkeypatch.setattr(MlvcApp, "run", run)
    assert main(["--demo", "--seed", "7"]) == 0
    assert len(seen) == 1 and not seen[0].exists()
    assert capsys.readouterr() == ("", "")


async def test_loading_shown_until_the_grid_is_read(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    app.session._lock.acquire()  # the engine is busy (a big registry): the worker waits
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "Loading…" in screen_text(pilot)
            assert not app.screen.query_one(RegistryGrid).display
            app.session._lock.release()
            await settle(pilot)
            assert "Loading…" not in screen_text(pilot)
            assert "exp/a" in screen_text(pilot)
    finally:
        if app.session._lock._is_owned():  # type: ignore[attr-defined]
            app.session._lock.release()


async def test_not_a_repository_shown_in_place(tmp_path: Path) -> None:
    app = make_app(tmp_path, now=FIXED_NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = screen_words(pilot)
        assert "is not inside a git repository" in text and "Traceback" not in text
        await pilot.press("enter", "d", "l", "t", "R")
        await settle(pilot)
        assert isinstance(app.screen, GridScreen)
        assert "is not inside a git repository" in screen_words(pilot)
        assert "latest commits" not in screen_text(pilot) and app.branch_names == ()


async def test_refresh_picks_up_a_branch_made_meanwhile(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "exp/b" not in screen_text(pilot)
        small_repo.git("branch", "exp/b", "dev")
        await pilot.press("R")
        await settle(pilot)
        assert "exp/b" in screen_text(pilot)
        assert "4 branches" in screen_text(pilot)


async def test_branch_deleted_under_the_app(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_branch("exp/a")
        await settle(pilot)
        small_repo.git("branch", "-D", "exp/a")
        await pilot.press("R")
        await settle(pilot)
        assert isinstance(app.screen, BranchScreen)
        assert "there is no branch named 'exp/a' any more" in screen_words(pilot)
        await pilot.press("escape")
        await settle(pilot)
        grid = app.screen.query_one(RegistryGrid)
        assert [r.branch.name for r in grid.shown] == ["prod", "dev"]


async def test_stale_results_are_dropped(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, GridScreen)
        screen.post_message(GridScreen.Loaded(screen.generation - 1, None, "stale failure"))
        await settle(pilot)
        assert "stale failure" not in screen_text(pilot) and screen.grid is not None


async def test_help_lists_every_screen_and_goes_back(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        sections = app.screen.sections
        assert None not in sections.values()  # every screen's module is installed
        grid_keys = dict((what, keys) for keys, what in sections["Grid (home)"] or [])
        for binding in GridScreen.BINDINGS:
            assert isinstance(binding, Binding)
            assert (binding.tooltip or binding.description) in grid_keys
        assert grid_keys["Cursor down"] == "j, ↓" and grid_keys["Diff"] == "d"
        assert ("tab", "Next pane") in (sections["Branch detail"] or [])
        assert "Grid (home)" in screen_text(pilot)
        assert "esc Back" in screen_text(pilot)  # the footer shows this screen's keys
        await pilot.press("escape")
        assert isinstance(app.screen, GridScreen)
        assert "d Diff" in screen_text(pilot)


async def test_palette_opens_the_named_screens(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for typed, screen, branch in (
            ("open exp/a", "BranchScreen", "exp/a"),
            ("diff dev", "DiffScreen", "dev"),
            ("lin dev", "LineageScreen", "dev"),
            ("dri exp/a", "DriftScreen", "exp/a"),
        ):
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*typed)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert type(app.screen).__name__ == screen, typed
            assert branch in (getattr(app.screen, "branch", None), getattr(app.screen, "b", None))
            await pilot.press("escape")
            assert isinstance(app.screen, GridScreen)


async def test_palette_refresh_and_help(small_repo: GitRepo) -> None:
    app = make_app(small_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        small_repo.git("branch", "exp/z", "prod")
        for typed in ("refresh", "help"):
            await pilot.press("ctrl+p", *typed)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert "exp/z" in screen_text(pilot)


async def test_registry_without_prod(tmp_path: Path) -> None:
    g = GitRepo(tmp_path / "noprod", branch="develop")
    g.commit("One", {"models/model.pkl": b"x", "metrics/model.json": {"f1": 0.5}})
    g.git("checkout", "-q", "--detach", "HEAD")
    app = make_app(g.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "detached at" in screen_text(pilot) and "no prod branch" in screen_text(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, GridScreen)
        notes = [n.message for n in app._notifications]
        assert any("no prod branch to compare with" in n for n in notes), notes
