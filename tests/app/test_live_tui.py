"""The app, live: the grid follows commits and edits made by other processes, and the tail
screen shows drift rows and log lines as they are written. Real files, real `git`, the real
observers; every wait is for a condition, with a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from mlvc_tui.app import MlvcApp, make_app
from mlvc_tui.live import live_of
from mlvc_tui.screens.grid import GridScreen
from mlvc_tui.screens.tail import TailScreen
from mlvc_tui.widgets.feature_list import FeatureList
from mlvc_tui.widgets.plot import PlotChart
from mlvc_tui.widgets.tail_view import TailView
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, screen_words, settle

TIMEOUT = 20.0
HEADER = "timestamp,feature,metric,value,threshold\n"


async def until(
    pilot: Pilot[None], what: str, cond: Callable[[], object], timeout: float = TIMEOUT
) -> None:
    """Let the app run until ``cond`` holds; fail saying ``what`` never happened."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}; screen: {screen_words(pilot)}")
        await pilot.pause(0.02)


def rows(n: int, start: int = 0, feature: str = "age", value: float = 0.1) -> str:
    return "".join(
        f"2026-09-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z,{feature},psi,{value},0.2\n"
        for i in range(start, start + n)
    )


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text)


@pytest.fixture(params=["native", "polling"])
def watching(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MLVC_WATCH", "native" if request.param == "native" else "poll")
    monkeypatch.setenv("MLVC_POLL_INTERVAL", "0.05")
    return "inotify" if request.param == "native" else "polling every 0.05 s (MLVC_WATCH=poll)"


@pytest.fixture
def live_repo(tmp_path: Path) -> GitRepo:
    g = GitRepo(tmp_path / "live")
    g.commit(
        "Initial model",
        {
            "models/model.pkl": b"v1",
            "metrics/model.json": {"accuracy": 0.8},
            "monitoring/drift.csv": HEADER + rows(3) + rows(2, 3, "income", 0.3),
            "logs/train.log": "epoch 1 loss 0.5\n",
        },
    )
    g.checkout("dev", new=True)
    g.commit("Dev model", {"metrics/model.json": {"accuracy": 0.83}})
    g.checkout("prod")
    return g


def grid_of(app: MlvcApp) -> GridScreen:
    return next(s for s in app.screen_stack if isinstance(s, GridScreen))


def branches(app: MlvcApp) -> list[str]:
    grid = grid_of(app).grid
    return [r.branch.name for r in grid.rows] if grid else []


async def test_the_grid_updates_by_itself(live_repo: GitRepo, watching: str) -> None:
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await until(pilot, "the watcher", lambda: live_of(app).observer == watching)
        await until(pilot, "the status bar", lambda: watching.split(" (")[0] in screen_words(pilot))
        live_repo.commit("Retrain on October data", {"metrics/model.json": {"accuracy": 0.9}})
        await until(
            pilot,
            "the commit",
            lambda: (
                grid_of(app).grid.row("prod").branch.commit.summary == "Retrain on October data"
            ),
        )
        live_repo.git("branch", "exp/fresh", "dev")
        live_repo.git("branch", "-D", "dev")
        await until(pilot, "the branches", lambda: branches(app) == ["prod", "exp/fresh"])
        (live_repo.path / "models" / "model.pkl").write_bytes(b"retrained locally")
        await until(pilot, "the modified model", lambda: "1 uncommitted" in screen_words(pilot))
        assert [c.path for c in grid_of(app).grid.worktree] == ["models/model.pkl"]


async def test_screens_behind_read_again_after_refs_move(
    live_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLVC_WATCH", "native")
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await until(pilot, "the watcher", lambda: live_of(app).observer == "inotify")
        seen = app.refreshes
        live_repo.commit("Retrain", {"metrics/model.json": {"accuracy": 0.91}})
        await until(pilot, "a refresh", lambda: app.refreshes > seen)
        assert grid_of(app).refreshes_seen == app.refreshes


async def test_the_drift_tail(live_repo: GitRepo, watching: str) -> None:
    drift = live_repo.path / "monitoring" / "drift.csv"
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        await pilot.press("T")
        await until(pilot, "the tail screen", lambda: isinstance(app.screen, TailScreen))
        tail: TailScreen = app.screen  # type: ignore[assignment]
        view = tail.query_one(TailView)
        await until(pilot, "the existing rows", lambda: len(view.items) == 5)
        await until(pilot, "the watcher", lambda: live_of(app).observer == watching)
        assert "5 rows · 2 features · 2 alerts (income 2)" in screen_words(pilot)

        append(drift, rows(4, 10, "income", 0.5) + "2026-09-01T01:00:00Z,age,ps")
        await until(pilot, "new rows", lambda: len(view.items) == 9)
        append(drift, "i,0.25,0.2\n")  # the partial line completed
        await until(pilot, "the completed row", lambda: len(view.items) == 10)
        assert "10 rows · 2 features · 7 alerts (income 6, age 1)" in screen_words(pilot)
        assert tail.query_one(FeatureList).cells("income") == ["!", "income", "6"]
        chart = tail.query_one(PlotChart)
        await until(
            pilot,
            "the chart (redrawn at most four times a second)",
            lambda: len(chart.data.series[0].y) == 4,
        )
        assert chart.data.title == "age" and chart.data.series[0].y[-1] == 0.25

        await pilot.press("space")
        assert "‖ paused" in screen_words(pilot)
        append(drift, rows(3, 20))
        await until(pilot, "rows counted while paused", lambda: "3 new" in screen_words(pilot))
        assert len(view.items) == 10
        await pilot.press("space")
        assert len(view.items) == 13 and "● following" in screen_words(pilot)

        await pilot.press("f")  # the features table's cursor is on age
        assert {p.feature for p in view.items} == {"age"} and len(view.items) == 7
        assert "only age" in screen_words(pilot)
        await pilot.press("down")
        assert tail.query_one(PlotChart).data.title == "income"
        await pilot.press("f")
        assert len(view.items) == 13

        drift.write_text(HEADER + rows(1, 0, "tenure", 0.05))  # rewritten from scratch
        await until(pilot, "the reset", lambda: [p.feature for p in view.items] == ["tenure"])
        assert "1 row · 1 feature · 0 alerts" in screen_words(pilot)
        drift.unlink()
        await until(
            pilot,
            "the missing file",
            lambda: "does not exist yet: waiting for it" in screen_words(pilot),
        )
        await pilot.press("escape")
        assert isinstance(app.screen, GridScreen)


async def test_each_new_row_is_on_screen(
    live_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the view's height too: the first scroll (the scrollbar appearing) included."""
    monkeypatch.setenv("MLVC_WATCH", "native")
    drift = live_repo.path / "monitoring" / "drift.csv"
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        app.open_tail()
        await until(pilot, "the watcher", lambda: live_of(app).observer == "inotify")
        for i in range(20):
            append(drift, f"2026-10-01T00:00:{i:02d}Z,score,psi,0.1,0.2\n")
            await until(
                pilot,
                f"row {i} on screen",
                lambda i=i: f"2026-10-01T00:00:{i:02d}Z" in screen_words(pilot),
            )


async def test_the_log_tail(live_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLVC_WATCH", "native")
    log = live_repo.path / "logs" / "train.log"
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_tail()
        await until(
            pilot,
            "the drift tail",
            lambda: isinstance(app.screen, TailScreen) and len(app.screen.files) == 2,
        )
        await pilot.press("o")
        await until(
            pilot,
            "the log tail",
            lambda: isinstance(app.screen, TailScreen) and app.screen.path == "logs/train.log",
        )
        view = app.screen.query_one(TailView)
        await until(pilot, "the first line", lambda: len(view.items) == 1)
        append(log, "epoch 2 loss 0.4\nWARNING lr high\nERROR [red]nan[/red] \x1b[31mloss\n")
        await until(pilot, "new lines", lambda: len(view.items) == 4)
        words = screen_words(pilot)
        assert "4 lines · 1 error · 1 warning" in words
        assert "! ERROR [red]nan[/red] \\x1b[31mloss" in words  # literal, escapes visible
        await pilot.press("f")
        assert [line.level for line in view.items] == ["warning", "error"]
        assert "only errors and warnings" in screen_words(pilot)
        await pilot.press("o")
        await until(
            pilot,
            "back to the drift log",
            lambda: (
                isinstance(app.screen, TailScreen) and app.screen.path == "monitoring/drift.csv"
            ),
        )


async def test_follow_from_the_drift_screen(live_repo: GitRepo) -> None:
    app = make_app(live_repo.path, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_drift("dev")
        await settle(pilot)
        await pilot.press("f")
        await until(
            pilot, "the tail's title", lambda: "dev is not checked out" in screen_words(pilot)
        )
        assert "working tree of prod" in screen_words(pilot)
        assert "not watching (MLVC_WATCH=off)" in screen_words(pilot)  # conftest turns it off


async def test_a_bare_repository_has_nothing_to_follow(live_repo: GitRepo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    live_repo.git("clone", "-q", "--bare", str(live_repo.path), str(bare))
    app = make_app(bare, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        app.open_tail()
        await until(
            pilot,
            "the message",
            lambda: "bare repository: it has no working tree to follow" in screen_words(pilot),
        )


def test_tail_snapshot(live_repo: GitRepo, snap_compare: Callable[..., bool]) -> None:
    """The drift tail at 80×24: two features (income over threshold, marked !), the chart of
    age with its threshold, the rows with alerts marked, the status saying it is not
    watching (tests turn the watcher off)."""
    app = make_app(live_repo.path, now=FIXED_NOW)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        app.open_tail()
        await until(
            pilot,
            "the rows",
            lambda: isinstance(app.screen, TailScreen) and app.screen.rows_seen == 5,
        )
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
