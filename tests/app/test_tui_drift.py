"""The drift screen, driven with Pilot on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from mlvc_tui.engine import Registry
from mlvc_tui.engine.live.drift import parse_drift
from mlvc_tui.screens.drift import DriftScreen
from mlvc_tui.widgets.plot import PlotChart
from tests.support.gitrepo import GitRepo
from tests.support.promote import mlvc
from tests.support.views import (
    open_screen,
    settle,
    views_app,
)


def _big_log(rows: int) -> str:
    """Wide form, two features, a spike over threshold every 500 rows, two bad rows."""
    lines = ["timestamp,age_psi,income_psi,age_psi_threshold"]
    for i in range(rows):
        stamp = f"2026-09-{1 + i // 1440:02d}T{i // 60 % 24:02d}:{i % 60:02d}:00"
        spike = 0.9 if i % 500 == 499 else 0.05 + (i % 7) / 100
        lines.append(f"{stamp},{spike:.3f},{0.1 + (i % 5) / 100:.3f},0.3")
        if i in (10, 20):
            lines.append(f"{stamp},oops,0.1,0.3")
    return "\n".join(lines) + "\n"


def _rows(app: object) -> list[list[str]]:
    table = app.screen.query_one(DataTable)  # type: ignore[attr-defined]
    return [
        [c.plain if isinstance(c, Text) else str(c) for c in table.get_row(r.key)]
        for r in table.ordered_rows
    ]


def _text(app: object, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


async def _open(pilot: Pilot[None], branch: str = "prod") -> None:
    await open_screen(pilot, DriftScreen(branch))


async def test_summary_table_alert_first_and_its_chart(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        assert "over threshold · 36 rows · 5 alerts · income" in _text(pilot.app, "#summary")
        assert "36 rows · 5 alerts" in _text(pilot.app, "#summary")
        rows = _rows(pilot.app)
        assert rows[0] == ["!", "income", "psi", "0.3800", "0.3800", "0.2500", "5/12"]
        assert [r[1] for r in rows] == ["income", "age", "tenure"] and rows[1][0] == ""
        chart = pilot.app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title == "income · psi"
        assert len(chart.series[0].y) == 12 and chart.hlines[0].y == 0.25
        assert chart.x_times[0] is not None and chart.x_times[0].day == 1


async def test_chart_follows_the_cursor(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        await pilot.press("down")
        chart = pilot.app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title == "age · psi"
        assert chart.series[0].y[:2] == (0.02, 0.03) and chart.hlines[0].y == 0.2
        await pilot.press("j")
        chart = pilot.app.screen.query_one(PlotChart).data
        assert chart is not None and chart.title == "tenure · ks"


async def test_branch_without_a_drift_log_says_so(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        await _open(pilot, "exp/feature-eng")
        assert not pilot.app.screen.query_one("#body").display
        assert "exp/feature-eng has no monitoring/drift.csv" in _text(pilot.app, "#message")
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, DriftScreen)


async def test_corrupt_drift_log_says_why(views_repo: Path) -> None:
    async with views_app(views_repo).run_test(size=(80, 24)) as pilot:
        await _open(pilot, "exp/corrupt-drift")
        message = _text(pilot.app, "#message")
        assert "monitoring/drift.csv on exp/corrupt-drift cannot be read" in message
        assert "no timestamp column" in message and "long form" in message


async def test_thousands_of_rows_bad_rows_and_a_drawn_chart(tmp_path: Path) -> None:
    g = GitRepo(tmp_path / "big")
    g.commit("monitoring", {"models/model.pkl": b"m", "monitoring/drift.csv": _big_log(4000)})
    async with views_app(g.path).run_test(size=(120, 40)) as pilot:
        await _open(pilot)
        assert "1 of 2 features over threshold · 4,000 rows" in _text(pilot.app, "#summary")
        assert "4,000 rows · 8 alerts" in _text(pilot.app, "#summary")
        errors = _text(pilot.app, "#errors")
        assert "2 bad rows skipped" in errors and "age_psi 'oops' is not a number" in errors
        chart = pilot.app.screen.query_one(PlotChart)
        assert chart.data is not None and len(chart.data.series[0].y) == 4000
        drawn = chart.render()
        assert isinstance(drawn, Text) and "┤" in drawn.plain and "09-01" in drawn.plain


async def test_reread_picks_up_a_new_commit(tmp_path: Path) -> None:
    g = GitRepo(tmp_path / "live")
    g.commit(
        "first",
        {
            "monitoring/drift.csv": "timestamp,feature,metric,value,threshold\n"
            "2026-09-01,age,psi,0.1,0.2\n"
        },
    )
    async with views_app(g.path).run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        assert "0 of 1 feature over threshold" in _text(pilot.app, "#summary")
        g.commit(
            "more",
            {
                "monitoring/drift.csv": "timestamp,feature,metric,value,threshold\n"
                "2026-09-01,age,psi,0.1,0.2\n"
                "2026-09-02,age,psi,0.4,0.2\n"
            },
        )
        await pilot.press("R")
        await settle(pilot)
        assert "1 of 1 feature over threshold" in _text(pilot.app, "#summary")
        assert _rows(pilot.app)[0][0] == "!"


async def test_hostile_cells_render_literally(hostile_views_repo: Path) -> None:
    async with views_app(hostile_views_repo).run_test(size=(100, 30)) as pilot:
        await _open(pilot)
        rows = _rows(pilot.app)
        assert [r[1] for r in rows] == ["[red]age[/red]", "\\x1b]0;pwned\\x07x"]
        assert "1 alert · [red]age[/red]" in _text(pilot.app, "#summary")
        chart = pilot.app.screen.query_one(PlotChart).render()
        assert isinstance(chart, Text) and "[red]age[/red] · psi" in chart.plain


async def test_demo_dev_matches_the_parser(demo_repo: Path) -> None:
    with Registry.open(demo_repo) as reg:
        report = parse_drift(reg.read("dev", "monitoring/drift.csv"))
    hot = sorted({s.feature for s in report.over_threshold()})
    async with views_app(demo_repo).run_test(size=(120, 40)) as pilot:
        await _open(pilot, "dev")
        summary = _text(pilot.app, "#summary")
        assert f"{len(hot)} of {len(report.features)} features over threshold" in summary
        assert f"{report.rows:,} rows" in summary
        rows = _rows(pilot.app)
        assert len(rows) == len(report.series)
        assert [r[0] for r in rows].count("!") == len(report.over_threshold())


async def test_thresholds_from_mlvc_toml_count_as_in_the_cli(tmp_path: Path) -> None:
    """The screen reads the drift log as `mlvc drift` does, ``[drift.thresholds]`` included
    (it used to parse the file itself and show 0 alerts and no threshold)."""
    g = GitRepo(tmp_path / "thresholds")
    g.commit(
        "drift",
        {
            "mlvc.toml": "[drift.thresholds]\npsi = 0.2\n",
            "monitoring/drift.csv": "timestamp,feature,metric,value\n"
            "2026-09-01,age,psi,0.1\n2026-09-02,age,psi,0.3\n2026-09-03,age,psi,0.4\n",
        },
    )
    cli = json.loads(mlvc("-C", str(g.path), "drift", "-b", "prod", "--json").stdout)
    assert cli["alerts"] == 2 and cli["series"][0]["threshold"] == 0.2
    async with views_app(g.path).run_test(size=(80, 24)) as pilot:
        await _open(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen) and screen.report is not None
        assert screen.report.alerts == cli["alerts"] and screen.report.rows == cli["rows"]
        assert f"{cli['rows']} rows · {cli['alerts']} alerts" in _text(pilot.app, "#summary")
        assert _rows(pilot.app)[0] == ["!", "age", "psi", "0.4000", "0.4000", "0.2000", "2/3"]
