"""The grid's glyphs by meaning: each status a real registry produces gets the glyph that
says it, in the app and in `mlvc grid` alike; a lower-is-better metric that fell reads
"better". Snapshots show the pictures; these say what each mark means."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlvc_tui.cli.render import GLYPHS as CLI_GLYPHS
from mlvc_tui.engine import Registry
from mlvc_tui.engine.values import ArtifactStatus, Verdict
from mlvc_tui.widgets.cells import GLYPHS, VERDICT_GLYPHS, status_cell, verdict_cell
from tests.support.gitrepo import GitRepo


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    g = GitRepo(tmp_path_factory.mktemp("glyphs") / "reg")
    g.commit(
        "prod",
        {
            "models/model.pkl": b"m1",
            "metrics/model.json": {"rmse": 0.5},
            "logs/train.log": "a\n",
            "data/old.csv": "x\n1\n",
        },
    )
    g.checkout("exp/a", new=True)
    g.commit(
        "changes",
        {
            "models/model.pkl": b"m2",  # changed
            "metrics/model.json": {"rmse": 0.4},  # lower is better: better
            "data/old.csv": None,  # missing
            "data/new.csv": "y\n2\n",  # new
        },
    )
    (g.path / "logs/train.log").write_text("edited\n")  # modified in the working tree
    return g.path


def test_each_status_has_its_own_glyph_in_both_faces() -> None:
    app = {s: GLYPHS[s][0] for s in ArtifactStatus}
    cli = {s: CLI_GLYPHS[s][0] for s in ArtifactStatus}
    assert (
        app
        == cli
        == {
            ArtifactStatus.SAME: "=",
            ArtifactStatus.CHANGED: "~",
            ArtifactStatus.NEW: "+",
            ArtifactStatus.MISSING: "-",
            ArtifactStatus.MODIFIED: "*",
        }
    )
    assert len(set(app.values()) | {GLYPHS[None][0]}) == len(ArtifactStatus) + 1


def test_a_real_registry_shows_what_changed(registry: Path) -> None:
    with Registry.open(registry) as reg:
        grid = reg.grid()
    row = next(r for r in grid.rows if r.branch.name == "exp/a")
    shown = {path: status_cell(row.status.get(path)).plain for path in grid.columns}
    assert shown["models/model.pkl"] == "~"
    assert shown["data/old.csv"] == "-"
    assert shown["data/new.csv"] == "+"
    assert shown["logs/train.log"] == "*"  # checked out and edited, not committed
    assert row.primary_verdict is Verdict.BETTER  # rmse fell: better, not worse
    cell = verdict_cell(row.primary_value, row.primary_delta, row.primary_verdict).plain
    assert cell == "0.4000 -0.1000 ↑"
    prod = next(r for r in grid.rows if r.branch.name == "prod")
    assert {status_cell(prod.status.get(p)).plain for p in ("models/model.pkl",)} == {"="}


@pytest.mark.parametrize(
    ("verdict", "glyph"),
    [
        (Verdict.BETTER, "↑"),
        (Verdict.WORSE, "↓"),
        (Verdict.SAME, "="),
        (Verdict.INVALID, "?"),
    ],
)
def test_verdict_glyphs_say_better_or_worse(verdict: Verdict, glyph: str) -> None:
    assert VERDICT_GLYPHS[verdict][0] == glyph
