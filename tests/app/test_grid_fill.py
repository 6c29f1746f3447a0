"""The grid screen shows the rows that fit first and fills the rest in behind; the preview
under it repaints only the cells that changed.

The engine's parts are gated in these tests (a wrapper around `grid_parts` that stops after
the first part until the test lets it go), so "shown before the rest is read" is observed,
never timed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import mlvc_tui.screens.grid as grid_screen
from mlvc_tui.app import make_app
from mlvc_tui.engine import GridPart, Registry, grid_parts
from mlvc_tui.widgets.grid import RegistryGrid
from tests.support.gitrepo import GitRepo
from tests.support.tui import FIXED_NOW, screen_text, settle

BRANCHES = 40  # experiments; with prod: more rows than a 80x24 terminal reads first


@pytest.fixture(scope="module")
def many_branches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """prod and 40 experiments with their own metric (built with the git CLI)."""
    g = GitRepo(tmp_path_factory.mktemp("fill") / "many")
    g.commit(
        "Initial model",
        {"models/model.pkl": b"v1", "metrics/model.json": {"accuracy": 0.5}, "data/a.csv": "x"},
    )
    for i in range(BRANCHES):
        g.checkout(f"exp/run-{i:02d}", new=True)
        g.commit(f"run {i}", {"metrics/model.json": {"accuracy": 0.5 + i / 100}})
        g.checkout("prod")
    return g.path


class Gate:
    """Wraps `grid_parts`: records each part and holds the rest until `go()`."""

    def __init__(self) -> None:
        self.parts: list[GridPart] = []
        self.yielded = threading.Event()  # the first part is on its way to the screen
        self._go = threading.Event()
        self.read_after_go = False

    def __call__(self, reg: Registry, **kwargs: object) -> Iterator[GridPart]:
        for part in grid_parts(reg, **kwargs):  # type: ignore[arg-type]
            self.parts.append(part)
            if len(self.parts) == 2:
                self.read_after_go = self._go.is_set()
            self.yielded.set()
            yield part
            self._go.wait(30)

    def go(self) -> None:
        self._go.set()


async def _first_part(pilot, gate: Gate, table: RegistryGrid) -> None:  # type: ignore[no-untyped-def]
    """Wait until the gate's first part is on screen (a bound on turns, not a time)."""
    await asyncio.to_thread(gate.yielded.wait, 120)
    await _until(  # the status bar and the table may be painted a turn apart
        pilot,
        lambda: bool(table.shown) and all(w in screen_text(pilot) for w in ("reading", "0.5000")),
    )


async def _until(pilot, check) -> None:  # type: ignore[no-untyped-def]
    for _ in range(400):  # a bound on event-loop turns, not a time
        if check():
            return
        await pilot.pause()
    raise AssertionError("the screen never got there")


def test_parts_end_with_the_whole_grid(many_branches: Path) -> None:
    with Registry.open(many_branches) as reg:
        whole = reg.grid()
        parts = list(grid_parts(reg, first=5, chunk=10))
    assert [len(p.pending) for p in parts] == [36, 26, 16, 6, 0]
    assert parts[0].grid.rows[0].branch.name == "prod"
    assert [r.branch.name for r in parts[0].grid.rows] == [r.branch.name for r in whole.rows]
    assert parts[-1].complete and parts[-1].grid == whole
    # rows read once are the same values in every later part (nothing read twice)
    assert all(parts[-1].grid.rows[i] is parts[0].grid.rows[i] for i in range(5))


def test_wanted_rows_come_first(many_branches: Path) -> None:
    with Registry.open(many_branches) as reg:
        last = reg.branches()[-1].name
        first = next(grid_parts(reg, first=0, wanted={last}))
    assert first.pending == {r.branch.name for r in first.grid.rows} - {"prod", last}


async def test_rows_that_fit_are_shown_before_the_rest_is_read(
    many_branches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(grid_screen, "grid_parts", gate)
    app = make_app(many_branches, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(RegistryGrid)
        await _first_part(pilot, gate, table)
        assert len(gate.parts) == 1  # the rest is not read yet
        first = gate.parts[0]
        read = [r.branch.name for r in first.grid.rows if r.branch.name not in first.pending]
        assert read[0] == "prod" and len(read) == 24  # prod, then as many rows as lines
        text = screen_text(pilot)
        assert f"{BRANCHES + 1} branches" in text  # every branch is counted already
        assert f"reading {BRANCHES + 1 - 24} more" in text  # and prod's 0.5000 is on screen
        gate.go()
        await settle(pilot)
        assert gate.read_after_go and len(gate.parts) == 2
        text = screen_text(pilot)
        assert "reading" not in text and "3 artifacts" in text
        assert f"{BRANCHES - 1} changed" in text  # run-00 has prod's metrics file
        assert not table.pending
        with Registry.open(many_branches) as reg:
            assert app.screen.grid == reg.grid()


async def test_filter_typed_before_the_rows_are_in(
    many_branches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    monkeypatch.setattr(grid_screen, "grid_parts", gate)
    app = make_app(many_branches, now=FIXED_NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.query_one(RegistryGrid)
        await _first_part(pilot, gate, table)
        last = table.shown[-1].branch.name  # a row not read yet
        assert last in table.pending
        await pilot.press("slash", *last[-2:])
        matching = [r.branch.name for r in table.shown]
        assert last in matching
        assert f"{len(matching)} of {BRANCHES + 1} branches" in screen_text(pilot)
        gate.go()
        await settle(pilot)
        assert [r.branch.name for r in table.shown] == matching  # the filter still holds
        assert not table.pending
        row = next(r for r in table.shown if r.branch.name == last)
        assert row.primary_value is not None  # filled in
        assert f"{len(matching)} of {BRANCHES + 1} branches" in screen_text(pilot)
        await pilot.press("escape")
        assert len(table.shown) == BRANCHES + 1
