"""`mlvc grid --json` is written a row at a time: the text must be what one `dumps` of
the whole grid gives, byte for byte (odd names, escapes and LFS cells included)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlvc_tui.cli.main import _grid_json, write_grid_json
from mlvc_tui.engine import dumps
from mlvc_tui.engine.registry import Registry


@pytest.mark.parametrize("which", ["demo_repo", "hostile_repo", "showcase_repo"])
def test_streamed_grid_json_is_the_whole_dump(which: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(which)
    with Registry.open(path) as reg:
        grid = reg.grid()
    out = io.StringIO()
    write_grid_json(grid, out)
    assert out.getvalue() == dumps(_grid_json(grid), compact=True) + "\n"
    assert grid.rows and '"artifacts":{' in out.getvalue()


@pytest.mark.parametrize("which", ["demo_repo", "hostile_repo", "showcase_repo"])
def test_grid_json_from_shared_status_runs_is_the_whole_dump(
    which: str, request: pytest.FixtureRequest
) -> None:
    """What `mlvc grid --json` writes: rows with their statuses in runs shared between rows
    (each run's text made once), the same bytes as one dump of the whole grid."""
    path: Path = request.getfixturevalue(which)
    with Registry.open(path) as reg:
        grid = reg.grid()
        head, kinds, rows = reg.stream_grid()
        pairs = list(rows)
    for row, runs in pairs:
        merged: dict[str, object] = {}
        for run in runs:
            merged.update(run)
        assert list(merged.items()) == list(row.status.items())
    out = io.StringIO()
    write_grid_json(head, out, iter(pairs), kinds)
    assert out.getvalue() == dumps(_grid_json(grid), compact=True) + "\n"
    if which == "demo_repo":  # branches share folders, so rows share runs
        ids = [id(run) for _, runs in pairs for run in runs]
        assert len(set(ids)) < len(ids)
