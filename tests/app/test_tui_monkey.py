"""A user hammering keys: every screen reachable from the grid, pressed fast, never crashes."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from mlvc_tui.app import make_app

OPENERS = ["enter", "d", "l", "t", "a", "question_mark", "slash", "ctrl+p"]
KEYS = [
    "j",
    "k",
    "h",
    "l",
    "down",
    "up",
    "enter",
    "escape",
    "c",
    "o",
    "s",
    "e",
    "f",
    "space",
    "x",
    "R",
    "tab",
    "pagedown",
    "end",
    "d",
    "t",
]


@pytest.mark.parametrize("seed", [1])
async def test_random_keys_never_crash(demo_repo: Path, tmp_path: Path, seed: int) -> None:
    """Open a screen, press a few keys and leave, without waiting for anything in between:
    workers finish on screens already closed, keys land while screens are still opening."""
    repo = tmp_path / "demo"
    shutil.copytree(demo_repo, repo, symlinks=True)
    rng = random.Random(seed)
    app = make_app(repo)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):
            await pilot.press("escape", "escape", "escape", rng.choice(["j", "k", "down"]))
            await pilot.press(rng.choice(OPENERS), *rng.choices(KEYS, k=rng.randint(0, 4)))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and app._exception is None
