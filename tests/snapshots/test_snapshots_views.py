"""Snapshots of the diff, lineage and drift screens at 80×24 and 120×40 (and one 200×50).

Each opens the screen over the grid exactly as the grid's keys do, on `build_views_repo`
(fixed authors and dates), and waits for every worker before the picture is taken.
Regenerate with `pytest tests/snapshots/test_snapshots_views.py --snapshot-update`, then look at them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from tests.support.views import settle, views_app

from mlvc_tui.screens.diff import DiffScreen
from mlvc_tui.screens.drift import DriftScreen
from mlvc_tui.screens.lineage import LineageScreen

SnapCompare = Callable[..., bool]


@pytest.fixture(autouse=True)
def _no_debounce(monkeypatch: pytest.MonkeyPatch) -> None:
    """Charts load as soon as the cursor lands: tests wait for workers, not for a timer."""
    monkeypatch.setattr(DiffScreen, "HISTORY_DEBOUNCE", 0.0)


def opening(screen: Callable[[], Screen[None]], *keys: str) -> Callable[[Pilot[None]],
                                                                        Awaitable[None]]:
    """A `run_before`: let the grid load, push the screen, press keys, settle after each."""

    async def run(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.push_screen(screen())
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run


def _diff() -> Screen[None]:
    return DiffScreen("prod", "exp/feature-eng")


class TestViewSnapshots:
    """The three views, as a user first sees them and after their keys."""

    def test_diff_80x24(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """prod → exp/feature-eng: six metrics with values, Δ, rel and ↑/↓/=/+/- verdicts,
        the bad.json error in yellow above the table, cursor on loss and its history chart
        (prod braille, feature-eng blocks) with time ticks below."""
        assert snap_compare(views_app(views_repo), run_before=opening(_diff, "down"),
                            terminal_size=(80, 24))

    def test_diff_only_changed_120x40(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """`c` pressed: latency_ms (same) is gone, the summary says "showing 5 of 6"; the
        table shows full branch names and the accuracy chart has room to breathe."""
        assert snap_compare(views_app(views_repo), run_before=opening(_diff, "c"),
                            terminal_size=(120, 40))

    def test_diff_wide_200x50(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """At 200 columns the table and the chart sit side by side, the chart full height."""
        assert snap_compare(views_app(views_repo), run_before=opening(_diff),
                            terminal_size=(200, 50))

    def test_diff_picker_80x24(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """`o`: a centred picker listing the working tree, the four branches (prod marked
        current) then the three model@ tags, each with its short commit id, filter box on
        top, and a hint that a commit id can be typed."""
        assert snap_compare(views_app(views_repo), run_before=opening(_diff, "o"),
                            terminal_size=(80, 24))

    def test_diff_picker_typed_50x15(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """At 50x15, `o` then `1a2b`: nothing matches, so the one option is to use the typed
        text as it is (a commit id); the whole hint wraps inside the box."""
        assert snap_compare(views_app(views_repo), run_before=opening(_diff, "o", *"1a2b"),
                            terminal_size=(50, 15))

    def test_diff_no_color_80x24(self, views_repo: Path, snap_compare: SnapCompare,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
        """NO_COLOR: the same diff in monochrome; verdict glyphs and words, the chart's
        two markers and the legend still tell everything apart."""
        monkeypatch.setenv("NO_COLOR", "1")
        assert snap_compare(views_app(views_repo), run_before=opening(_diff),
                            terminal_size=(80, 24))

    def test_lineage_80x24(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """prod's model: version model@v1.2.0, the merge commit, "promoted from exp/lr-sweep",
        code, data/config/parameters closed with counts, the record closed, and the two
        earlier versions with their tags."""
        assert snap_compare(views_app(views_repo), run_before=opening(lambda: LineageScreen("prod")),
                            terminal_size=(80, 24))

    def test_lineage_open_120x40(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """120×40 after `e`: every node open, the lineage record's fields (sha256, format,
        code commit, data, params, metrics, python, packages, command, user, time)."""
        assert snap_compare(views_app(views_repo),
                            run_before=opening(lambda: LineageScreen("prod"), "e"),
                            terminal_size=(120, 40))

    def test_drift_80x24(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """prod's drift: "1 of 3 features over threshold · 36 rows · 5 alerts · income" (red
        parts), income first and marked `!`, and its rising series crossing the dashed 0.25 threshold."""
        assert snap_compare(views_app(views_repo), run_before=opening(lambda: DriftScreen("prod")),
                            terminal_size=(80, 24))

    def test_drift_120x40(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """Cursor moved to age·psi: its chart under the 0.2 threshold, the table above."""
        assert snap_compare(views_app(views_repo),
                            run_before=opening(lambda: DriftScreen("prod"), "down"),
                            terminal_size=(120, 40))

    def test_drift_narrow_50x15(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """At 50 columns the table leaves out its least important column, max, so feature,
        metric, latest, threshold and alerts fit whole; the summary line ends in "…"; the
        footer is compact, so "? Help" fits."""
        assert snap_compare(views_app(views_repo), run_before=opening(lambda: DriftScreen("prod")),
                            terminal_size=(50, 15))

    def test_drift_missing_80x24(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """A branch without monitoring/drift.csv: one clear sentence in place of the table."""
        assert snap_compare(views_app(views_repo),
                            run_before=opening(lambda: DriftScreen("exp/feature-eng")),
                            terminal_size=(80, 24))

    def test_drift_corrupt_120x40(self, views_repo: Path, snap_compare: SnapCompare) -> None:
        """A corrupt drift log: why it cannot be read, and the two formats it may take."""
        assert snap_compare(views_app(views_repo),
                            run_before=opening(lambda: DriftScreen("exp/corrupt-drift")),
                            terminal_size=(120, 40))
