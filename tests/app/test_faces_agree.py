"""What each screen reads is what `mlvc ... --json` prints, on the same registry: both faces
go through the same engine call, so they cannot disagree about a fact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlvc_tui.screens.ab import ABScreen
from mlvc_tui.screens.branch import BranchScreen
from mlvc_tui.screens.diff import DiffScreen
from mlvc_tui.screens.drift import DriftScreen
from mlvc_tui.screens.grid import GridScreen
from mlvc_tui.screens.lineage import LineageScreen
from tests.support.promote import mlvc
from tests.support.views import open_screen, settle, views_app


def _json(repo: Path, *args: str) -> Any:
    out = mlvc("-C", str(repo), *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


async def test_every_screen_reads_what_the_cli_prints(demo_repo: Path) -> None:
    grid = _json(demo_repo, "grid")
    diff = _json(demo_repo, "diff", "prod", "dev")
    drift = _json(demo_repo, "drift", "-b", "dev")
    lineage = _json(demo_repo, "lineage", "-b", "dev")
    ab = _json(demo_repo, "ab", "report")
    async with views_app(demo_repo).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, GridScreen) and screen.grid is not None
        assert [r.branch.name for r in screen.grid.rows] == [
            b["branch"]["name"] for b in grid["branches"]
        ]
        assert [r.primary_value for r in screen.grid.rows] == [
            b["primary"]["value"] for b in grid["branches"]
        ]
        assert list(screen.grid.columns) == [c["path"] for c in grid["columns"]]
        assert screen.grid.prod == grid["prod"]

        await open_screen(pilot, BranchScreen("dev"))
        branch = pilot.app.screen
        assert isinstance(branch, BranchScreen) and branch.detail is not None
        row = next(b for b in grid["branches"] if b["branch"]["name"] == "dev")
        snap = branch.detail.snapshot
        assert snap.branch.commit.id == row["branch"]["commit"]["id"]
        assert snap.primary_value == row["primary"]["value"]
        assert {p: a.id for p, a in snap.artifacts.items()} == {
            p: a["id"] for p, a in row["artifacts"].items()
        }
        assert branch.detail.diff is not None
        assert [(r.key, r.a, r.b) for r in branch.detail.diff.rows] == [
            (r["key"], r["a"], r["b"]) for r in diff["rows"]
        ]
        pilot.app.pop_screen()

        await open_screen(pilot, DiffScreen("prod", "dev"))
        shown = pilot.app.screen
        assert isinstance(shown, DiffScreen) and shown.diff is not None
        assert [(r.key, r.a, r.b, r.verdict.value) for r in shown.diff.rows] == [
            (r["key"], r["a"], r["b"], r["verdict"]) for r in diff["rows"]
        ]
        pilot.app.pop_screen()

        await open_screen(pilot, DriftScreen("dev"))
        seen = pilot.app.screen
        assert isinstance(seen, DriftScreen) and seen.report is not None
        assert (seen.report.rows, seen.report.alerts) == (drift["rows"], drift["alerts"])
        assert [(s.feature, s.metric, s.threshold) for s in seen.report.summary()] == [
            (s["feature"], s["metric"], s["threshold"]) for s in drift["series"]
        ]
        pilot.app.pop_screen()

        await open_screen(pilot, LineageScreen("dev"))
        lin = pilot.app.screen
        assert isinstance(lin, LineageScreen) and lin.view is not None
        assert lin.view.lineage.version.artifact.id == lineage["version"]["artifact"]["id"]
        assert list(lin.view.lineage.tags) == lineage["tags"]
        assert list(lin.view.lineage.merged_from) == lineage["merged_from"]
        pilot.app.pop_screen()

        await open_screen(pilot, ABScreen())
        report = pilot.app.screen
        assert isinstance(report, ABScreen) and report.report is not None
        assert report.report.delivery.test == ab["delivery"]["test"]
        assert [v.branch for v in report.report.variants] == [v["branch"] for v in ab["variants"]]
