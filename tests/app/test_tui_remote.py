"""Pilot tests of the shared registry in the app: F fetches, P pushes, the status bar says
which remote and when it was fetched, and an unreachable server is a message in place."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlvc_tui.app import make_app
from tests.support.gitrepo import GitRepo, git_env
from tests.support.promote import base_registry, branch, metrics, mlvc
from tests.support.tui import FIXED_NOW, settle


def _served(tmp_path: Path) -> tuple[GitRepo, Path, GitRepo]:
    """(seed, bare server repository, a clone with a local exp/mine one commit ahead)."""
    seed = base_registry(tmp_path / "seed")
    branch(seed, "exp/a", {"metrics/model.json": metrics(0.9)})
    bare = tmp_path / "server.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True, env=git_env())
    seed.git("push", "-q", str(bare), "prod", "exp/a")
    assert mlvc("clone", "-q", str(bare), str(tmp_path / "c")).returncode == 0
    clone = GitRepo.existing(tmp_path / "c")
    clone.git("checkout", "-q", "-b", "exp/mine", "origin/prod")
    clone.commit("mine", {"params.yaml": "target: churned\nlr: 0.4\n"})
    return seed, bare, clone


def _notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


async def test_f_fetches_and_p_pushes_the_selected_branch(tmp_path: Path) -> None:
    seed, bare, clone = _served(tmp_path)
    branch(seed, "exp/b", {"metrics/model.json": metrics(0.7)})
    seed.git("push", "-q", str(bare), "exp/b")
    app = make_app(clone.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        status = str(app.screen.query_one("#status").render())
        assert "origin fetched" in status
        names = [r.branch.name for r in app.screen.grid.rows]
        assert "exp/b" not in names and "exp/a" in names
        await pilot.press("F")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert any("Fetched origin: 1 branch(es) moved" in n for n in _notes(app))
        assert "exp/b" in [r.branch.name for r in app.screen.grid.rows]
        mine = next(r for r in app.screen.grid.rows if r.branch.name == "exp/mine")
        assert mine.branch.upstream is None
        grid = app.screen.query_one("RegistryGrid")
        grid.move_cursor(row=[r.branch.name for r in grid.shown].index("exp/mine"))
        await pilot.press("P")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert any("Pushed exp/mine to origin" in n for n in _notes(app))
    out = subprocess.run(
        ["git", "ls-remote", str(bare), "refs/heads/exp/mine"],
        capture_output=True,
        text=True,
        env=git_env(),
        check=True,
    )
    assert out.stdout.split()[0] == clone.rev("exp/mine")


async def test_an_unreachable_server_is_a_message_in_place(tmp_path: Path) -> None:
    _, _bare, clone = _served(tmp_path)
    clone.git("remote", "set-url", "origin", str(tmp_path / "gone.git"))
    app = make_app(clone.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("F")
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert any("gone.git" in n for n in _notes(app)), _notes(app)
        assert app.screen.grid is not None  # the grid stays


async def test_promoting_in_a_clone_says_where_it_pushes_and_lands_on_the_server(
    tmp_path: Path,
) -> None:
    from mlvc_tui.screens.promote import PromoteScreen
    from tests.support.tui import screen_words

    seed, bare, clone = _served(tmp_path)
    app = make_app(clone.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one("RegistryGrid")
        grid.move_cursor(row=[r.branch.name for r in grid.shown].index("exp/a"))
        await pilot.press("p")
        await app.workers.wait_for_complete()
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, PromoteScreen) and dialog.state == "ready"
        assert "enter promotes exp/a into prod on origin (one atomic push)" in screen_words(pilot)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await settle(pilot)
    tags = subprocess.run(
        ["git", "tag"], cwd=bare, capture_output=True, text=True, env=git_env(), check=True
    ).stdout.split()
    assert tags == ["model#prod#1", "model@v1.0.0"]  # the version and GTO's stage
    assert "refs/heads/prod" not in clone.git("for-each-ref", "--format=%(refname)")
    subprocess.run(["git", "fsck", "--strict"], cwd=bare, check=True, capture_output=True)
    assert seed.rev("prod") != clone.rev("origin/prod")
