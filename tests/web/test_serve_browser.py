"""`mlvc-tui --serve` in a real browser: Debian's chromium driven by Playwright.

One demo registry of this module's own; the browser moves through the grid, opens the diff
and promotes staging through the dialog, and git shows the promotion afterwards. Set
MLVC_WEB_SNAPSHOTS=1 to (re)write the reviewed screenshots under snapshots/web/.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from mlvc_tui.engine.demo.build import build_demo
from tests.support.gitrepo import git_in
from tests.support.web import CHROMIUM, app_processes, browser, gone, open_tab, serve

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (.ci/apt-packages)"
)

SNAPSHOTS = Path(__file__).parents[2] / "snapshots" / "web"
GRID = "exp/lr-sweep"  # the grid's last row
DIFF = "slices.region=eu.accuracy"  # a row of the metric diff
DIALOG = "Every gate passes"
PROMOTED = "Promoted staging into prod"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with browser(tmp_path_factory.mktemp("chromium")) as running:
        yield running


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo registry, built once; each test serves a copy of its own."""
    return build_demo(tmp_path_factory.mktemp("web-demo") / "demo", seed=7)


def copy_of(pristine: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp / "demo", symlinks=True))


def shoot(tab: Any, name: str, tmp: Path) -> None:
    """A 1280×800 screenshot; copied to snapshots/web/ when MLVC_WEB_SNAPSHOTS=1."""
    tab.page.wait_for_timeout(400)  # the frame drawn before it reaches the canvas
    out = tmp / f"{name}.png"
    tab.page.screenshot(path=str(out))
    if os.environ.get("MLVC_WEB_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, SNAPSHOTS / out.name)


def test_grid_diff_and_a_promotion_in_the_browser(
    context: Any, pristine: Path, tmp_path: Path
) -> None:
    registry = copy_of(pristine, tmp_path)
    with serve(str(registry), "--label", "demo (seed 7)") as served:
        tab = open_tab(context, served.url)
        tab.wait_for(GRID)
        shoot(tab, "grid", tmp_path)
        tab.page.mouse.click(640, 300)  # focus the terminal, as a person would
        tab.press("Control+p", "Search for commands")  # the app's palette, not the print dialog
        tab.press("Escape", GRID)
        tab.press("j", "staging drift")  # the cursor moved to staging: its detail shows
        tab.press("d", DIFF)
        shoot(tab, "diff", tmp_path)
        tab.press("Escape", GRID)
        tab.press("p", DIALOG, timeout=40)  # the gates run the model check first
        shoot(tab, "promote", tmp_path)
        tab.press("Enter", PROMOTED, timeout=40)

        assert "model@v2.0.1" in git_in(registry, "tag", "--list", "model@*")
        assert git_in(registry, "rev-parse", "model@v2.0.1^{commit}") == git_in(
            registry, "rev-parse", "prod"
        )
        assert "staging" in git_in(registry, "log", "-1", "--format=%s", "prod")
        git_in(registry, "fsck", "--strict")

        hosts = {urlsplit(url).hostname for url in tab.requests}
        assert hosts == {"127.0.0.1"}, tab.requests
        assert any(url.startswith("ws://127.0.0.1") for url in tab.requests)

        (app,) = app_processes(served.process.pid)
        tab.page.close()  # a closed tab leaves no app behind
        assert gone(app)


def test_a_stopped_server_leaves_no_app_and_a_full_server_says_so(
    context: Any, pristine: Path, tmp_path: Path
) -> None:
    registry = copy_of(pristine, tmp_path)
    with serve(str(registry), "--max-sessions", "1") as served:
        tab = open_tab(context, served.url)
        tab.wait_for(GRID)
        second = context.new_page()
        response = second.goto(served.url)
        assert response is not None and response.status == 503
        assert "every tab is taken" in second.content()
        second.screenshot(path=str(tmp_path / "full.png"))
        if os.environ.get("MLVC_WEB_SNAPSHOTS") == "1":
            shutil.copy(tmp_path / "full.png", SNAPSHOTS / "full.png")
        apps = app_processes(served.process.pid)
        assert len(apps) == 1
        code, stderr = served.stop()
        assert code == 0, stderr
        assert all(gone(pid) for pid in apps)
        tab.page.close()
        second.close()


def test_a_killed_server_takes_its_apps_with_it(
    context: Any, pristine: Path, tmp_path: Path
) -> None:
    registry = copy_of(pristine, tmp_path)
    with serve(str(registry)) as served:
        tab = open_tab(context, served.url)
        tab.wait_for(GRID)
        (app,) = app_processes(served.process.pid)
        served.process.send_signal(signal.SIGKILL)  # no chance to clean up
        served.process.wait(15)
        assert gone(app)
        tab.page.close()
