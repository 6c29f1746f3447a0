"""One presentation: the formatters both faces use, and the same value printed the same way."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from mlvc_tui import present
from mlvc_tui.cli.render import render_diff, render_history
from mlvc_tui.engine import (
    ArtifactStatus,
    CommitInfo,
    MetricDelta,
    MetricDiff,
    MetricPoint,
    Verdict,
)
from mlvc_tui.widgets.cells import verdict_cell
from mlvc_tui.widgets.metric_table import verdict_text

COMMIT = CommitInfo(
    id="a" * 40, author="Ada <ada@x>", time=1_790_000_000, tz_offset=7200, message="m"
)


def test_sizes_in_decimal_units() -> None:
    assert present.size(None) == "—"
    assert present.size(0) == "0 B"
    assert present.size(999) == "999 B"
    assert present.size(71_270) == "71.3 kB"
    assert present.size(123_456_789) == "123.5 MB"
    assert present.size(5 * 10**15) == "5000.0 TB"


def test_numbers_deltas_and_relative_changes() -> None:
    assert present.number(123.456) == "123.4560"
    assert present.number(0.8) == "0.8000"
    assert present.number(1234.5) == "1234.5"
    assert present.number(2.5e7) == "2.5e+07" and present.number(0.00012) == "0.00012"
    assert present.number(float("nan")) == "NaN"
    assert present.number(float("inf"), signed=True) == "+inf"
    assert present.number(float("-inf")) == "-inf"
    assert present.number(None) == "—" and present.number(None, missing="") == ""
    assert present.number(0.02, signed=True) == "+0.0200"
    assert present.delta(0.0) == "0" and present.delta(None) == ""
    assert present.delta(-1.5) == "-1.5000"
    assert present.relative(0.0233) == "+2.3%" and present.relative(None) == ""
    assert present.relative(250.0) == "+250×"


def test_dates_words_and_glyphs() -> None:
    assert present.commit_date(COMMIT) == "2026-09-21 16:13"  # the author's +02:00
    assert present.utc_date(COMMIT.time) == "2026-09-21 14:13 UTC"
    now = datetime.fromtimestamp(COMMIT.time + 3 * 86400, UTC)
    assert present.relative_time(COMMIT.time, now) == "3 days ago"
    assert present.relative_time(COMMIT.time + 10, now.replace(year=2026, month=1)) == (
        "in the future"
    )
    assert present.KIND_WORDS["rollback"] == "rolled back"
    assert present.verdict_label(Verdict.BETTER) == "↑ better"
    assert set(present.STATUS_GLYPHS) == {*ArtifactStatus, None}
    assert set(present.VERDICT_GLYPHS) == set(Verdict) == set(present.VERDICT_WORDS)


def _plain(renderable: object) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_both_faces_print_a_value_alike() -> None:
    """The CLI's tables and the app's cells show 123.456 and its delta the same way."""
    row = MetricDelta("score", 100.0, 123.456, 23.456, 0.23456, True, Verdict.BETTER)
    cli = _plain(render_diff(MetricDiff("prod", "dev", (row,))))
    app = verdict_cell(123.456, 23.456, Verdict.BETTER).plain
    assert app == "123.4560 +23.4560 ↑"
    assert "123.4560" in cli and "+23.4560" in cli and "+23.5%" in cli
    assert "↑ better" in cli and verdict_text(row).plain == "↑ better"
    history = _plain(render_history("score", (MetricPoint(COMMIT, 123.456),)))
    assert "123.4560" in history and present.commit_date(COMMIT) in history
