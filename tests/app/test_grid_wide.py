"""The grid makes only the artifact cells in view: scrolled sideways over many columns, each
line is cell for cell what making every column and cropping it gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.strip import Strip

from mlvc_tui.app import make_app
from mlvc_tui.widgets.grid import RegistryGrid
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, settle


def _cells(strip: Strip) -> list[tuple[str, object]]:
    return [(char, seg.style) for seg in strip for char in seg.text]


def _wide(path: Path) -> GitRepo:
    g = GitRepo(path)
    files: dict[str, bytes | str | dict | None] = {
        f"data/part_{i:03d}.csv": f"x\n{i}\n" for i in range(60)
    }
    files["models/model.pkl"] = b"m1"
    files["metrics/model.json"] = {"accuracy": 0.8}
    g.commit("Initial", files)
    g.checkout("exp/a", new=True)
    g.commit("a", {"data/part_007.csv": "y\n", "data/part_050.csv": None, "data/new.csv": "n\n"})
    g.checkout("prod")
    return g


async def test_lines_scrolled_sideways_are_those_of_every_column_cropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = _wide(tmp_path / "wide")
    app = make_app(g.path, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        grid = app.screen.query_one(RegistryGrid)
        assert grid.grid is not None and len(grid.grid.columns) > 60
        made: list[int] = []
        real_cell = grid._status_cell
        monkeypatch.setattr(grid, "_status_cell", lambda s, i: made.append(i) or real_cell(s, i))
        every = range(grid._fixed, len(grid._columns))
        for column in (0, 9, 30, 47, 63, 5):
            grid.move_cursor(column=grid._fixed + column)
            await pilot.pause()
            for y in range(grid.size.height):
                grid._lines.clear()
                made.clear()
                fast = grid.render_line(y)
                if 0 < y <= len(grid.shown):  # a row: few of the grid's cells are made
                    assert 0 < len(made) < len(every) // 2
                grid._lines.clear()
                with monkeypatch.context() as m:
                    m.setattr(RegistryGrid, "_in_view", lambda self, width: every)
                    whole = grid.render_line(y)
                assert _cells(fast) == _cells(whole), (column, y)
        assert grid.scroll_offset.x > 0  # the columns did scroll
