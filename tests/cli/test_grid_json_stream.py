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
