"""The promotion dialog never runs check code the candidate changed until the r key
(issue 11.2); then it runs in the sandbox and the gates complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlvc_tui.app import make_app
from mlvc_tui.screens.promote import PromoteScreen
from tests.support.promote import base_registry, branch, metrics
from tests.support.tui import FIXED_NOW, screen_words, settle

CHECK = 'import pathlib\npathlib.Path("ran").write_text("x")\nprint("changed check: ok")\n'


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = base_registry(tmp_path / "reg", 'check = "python src/check.py"')
    branch(
        r,
        "exp/new-check",
        {"src/check.py": CHECK, "models/model.pkl": b"m2", "metrics/model.json": metrics(0.9)},
    )
    return r.path


async def test_r_runs_changed_check_code_only_when_pressed(repo: Path) -> None:
    app = make_app(repo, now=FIXED_NOW)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = PromoteScreen("exp/new-check")
        app.push_screen(screen)
        await settle(pilot)
        assert screen.state == "asking" and screen.check_lines == []
        words = screen_words(pilot)
        assert "changes src/check.py, which the check executes" in words
        assert "r Run check" in words
        await pilot.press("enter")  # enter does not promote while the check waits
        await settle(pilot)
        assert screen.state == "asking"
        await pilot.press("r")
        await settle(pilot)
        assert screen.state == "ready", screen_words(pilot)
        assert "changed check: ok" in screen.check_lines
        assert "r Run check" not in screen_words(pilot)
