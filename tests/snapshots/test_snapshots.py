"""Snapshot tests of the grid, branch detail and help screens (SVGs in `snapshots/`).

Each test says what its picture should show; review the SVGs like code. Repositories are
built with the git CLI by this suite (fixed dates and authors; not the demo, which other
work changes), `now` is fixed and HOME is the fixtures' folder, so the status bar reads
`~/showcase`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.tui import FIXED_NOW, keys

from mlvc_tui.app import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.usefixtures("as_home")
class TestGridScreens:
    """The home grid and what opens from it, on the showcase registry."""

    @pytest.mark.parametrize("size", SIZES)
    def test_grid(self, snap_compare, showcase_repo: Path, size: tuple[int, int]) -> None:
        """Six branches (prod, staging, dev, then ab/test-a, exp/lr-sweep, exp/feature-eng
        newest first), one glyph column per artifact with two-character codes explained
        under the grid, accuracy with its delta and ↑/↓ against prod, `*` on dev's
        uncommitted train.log, `-` for exp/lr-sweep's missing drift log, `+` for new files,
        the cursor on prod, the legend, and the status bar `~/showcase · on dev · 6 branches
        · 9 artifacts`. At 120×40 an `updated` column, and under the grid prod's latest
        commits and metrics."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=size,
                            run_before=keys())

    def test_grid_50x15(self, snap_compare, showcase_repo: Path) -> None:
        """Under 20 rows the column key takes two lines (the codes of the columns in view),
        so seven rows of the grid show; the status line ends in "…"."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=(50, 15),
                            run_before=keys())

    def test_grid_no_color(self, snap_compare, showcase_repo: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
        """The same grid with NO_COLOR: shades of grey only, and every status still told
        by its glyph (`=`, `~`, `+`, `-`, `*`, `·`) and every verdict by `↑`/`↓`/`=`; the
        cursor is a lighter band on staging's row with its M2 cell and header lit."""
        monkeypatch.setenv("NO_COLOR", "1")
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=(80, 24),
                            run_before=keys("j", "right", "right"))

    @pytest.mark.parametrize("size", SIZES)
    def test_filter(self, snap_compare, showcase_repo: Path, size: tuple[int, int]) -> None:
        """The one-line filter box at the top holding `exp`, only the two exp/ branches
        below it, `2 of 6 branches` in the status bar and `esc Clear filter` in the footer;
        at 120×40 the preview shows exp/lr-sweep."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=size,
                            run_before=keys("slash", "e", "x", "p"))

    @pytest.mark.parametrize("size", SIZES)
    def test_branch_detail(self, snap_compare, showcase_repo: Path, size: tuple[int, int]) -> None:
        """dev's detail: title line (environment, checked out, last commit), its artifacts
        with glyph, size, short id and status (train.log `* uncommitted`, model.onnx `LFS`
        at 69.6 kB, data/reference a `submodule`), its metrics next to prod's with ↑/↓,
        and its commits with relative dates. At 120 columns artifacts and metrics sit side
        by side above the commits."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=size,
                            run_before=keys("j", "j", "enter"))

    def test_branch_detail_50x15(self, snap_compare, showcase_repo: Path) -> None:
        """dev's detail at 50 columns: artifacts keep path, size and "vs prod" (the id and
        how it is stored left out), commits keep id, when and the message (not the author)."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=(50, 15),
                            run_before=keys("j", "j", "enter"))

    @pytest.mark.parametrize("size", SIZES)
    def test_help(self, snap_compare, showcase_repo: Path, size: tuple[int, int]) -> None:
        """Every key by screen: Everywhere, Grid (home) with its cursor keys, then the other
        screens; one column at 80, two at 120; the footer shows `esc Back`."""
        assert snap_compare(make_app(showcase_repo, now=FIXED_NOW), terminal_size=size,
                            run_before=keys("question_mark"))


class TestHostileAndErrors:
    """Repository text shown literally, and errors shown in place."""

    @pytest.mark.parametrize("size", SIZES)
    def test_hostile_grid(self, snap_compare, hostile_repo: Path, as_home: Path,
                          size: tuple[int, int]) -> None:
        """The unicode branch `exp/ünïcødé-🚀` aligned with the others, `NaN ?` for exp/nan,
        `! error` for exp/corrupt, and on the cursor line prod's commit message with
        `\\x1b[31m` and `\\x07` spelled out and `[bold]not bold[/bold]` not bold; at 120×40
        the artifact names `[bold]markup[/bold].pkl` and `my model [red]x[/red].pkl` as
        headers (cut with …) and the same message in prod's preview."""
        assert snap_compare(make_app(hostile_repo, now=FIXED_NOW), terminal_size=size,
                            run_before=keys())

    def test_hostile_branch_detail(self, snap_compare, hostile_repo: Path,
                                   as_home: Path) -> None:
        """exp/corrupt's detail: the artifact path `models/my model [red]x[/red].pkl`
        literally, no metrics, and the red error line naming metrics/model.json and why."""
        assert snap_compare(make_app(hostile_repo, now=FIXED_NOW), terminal_size=(80, 24),
                            run_before=keys("slash", "c", "o", "r", "enter", "enter"))

    def test_not_a_repository(self, snap_compare, as_home: Path) -> None:
        """In place of the grid, one red line: the folder is not inside a git repository;
        the footer still offers the keys."""
        folder = as_home / "not-a-repo"
        folder.mkdir(exist_ok=True)
        assert snap_compare(make_app(folder, now=FIXED_NOW), terminal_size=(80, 24),
                            run_before=keys())
