"""The app and registries built with real `git`, for the diff, lineage and drift screens.

`views_repo` has metric history on two branches, a promotion merge with version tags, a
lineage record, a drift log on prod, a branch without one and a branch with a corrupt one.
`hostile_views_repo` carries Rich markup and terminal escapes in names, keys, messages,
paths and CSV cells.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from textual.pilot import Pilot
from textual.screen import Screen

from mlvc_tui.app import MlvcApp, make_app
from tests.support.gitrepo import GitRepo
from tests.support.tui import settle

__all__ = [
    "DRIFT_CSV",
    "NOW",
    "build_hostile_views_repo",
    "build_views_repo",
    "open_screen",
    "rev",
    "settle",
    "views_app",
]


def _metrics(**values: float) -> str:
    return json.dumps(values, indent=1)


def _drift(rows: int = 12) -> str:
    """Long form: three features, two over threshold at the end."""
    out = ["timestamp,feature,metric,value,threshold"]
    for i in range(rows):
        day = f"2026-09-{i + 1:02d}T00:00:00Z"
        out.append(f"{day},age,psi,{0.02 + 0.01 * i:.3f},0.2")
        out.append(f"{day},income,psi,{0.05 + 0.03 * i:.3f},0.25")
        out.append(f"{day},tenure,ks,{0.04 + 0.002 * (i % 3):.3f},0.1")
    return "\n".join(out) + "\n"


DRIFT_CSV = _drift()

_RECORD = {
    "sha256": hashlib.sha256(b"model-v3").hexdigest(),
    "size": 8,
    "format": "pickle",
    "code_commit": "0" * 40,
    "data": {"data/train.csv": "1" * 40},
    "params": {"lr": 0.05, "epochs": 40},
    "metrics": {"accuracy": 0.86, "loss": 0.38},
    "python": "3.11",
    "packages": {"numpy": "2.1.0", "scikit-learn": "1.5.2"},
    "command": "python src/train.py",
    "user": "ci-bot",
    "time": "2026-09-01T10:00:00Z",
}


def build_views_repo(path: Path) -> Path:
    """prod ← exp/lr-sweep (promoted, tagged), exp/feature-eng, exp/corrupt-drift."""
    g = GitRepo(path)
    g.commit(
        "Initial model",
        {
            "src/train.py": "print('train v1')\n",
            "data/train.csv": "x,y\n1,0\n2,1\n",
            "params.yaml": "lr: 0.1\nepochs: 20\nmodel:\n  kind: logistic\n",
            "models/model.pkl": b"model-v1",
            "mlvc.toml": '[registry]\nprod = "prod"\n',
            "metrics/model.json": _metrics(accuracy=0.80, loss=0.50, latency_ms=12.0, auc=0.85),
        },
    )
    g.git("tag", "model@v1.0.0")
    g.commit(
        "Retrain on August data",
        {
            "models/model.pkl": b"model-v2",
            "data/train.csv": "x,y\n1,0\n2,1\n3,1\n",
            "metrics/model.json": _metrics(accuracy=0.82, loss=0.45, latency_ms=12.0, auc=0.86),
        },
    )
    g.git("tag", "model@v1.1.0")
    g.checkout("exp/lr-sweep", new=True)
    g.commit(
        "Sweep lr: 0.05",
        {
            "params.yaml": "lr: 0.05\nepochs: 40\nmodel:\n  kind: logistic\n",
            "models/model.pkl": b"model-v3a",
            "metrics/model.json": _metrics(accuracy=0.85, loss=0.40, latency_ms=12.5, auc=0.87),
        },
    )
    g.commit(
        "Sweep lr: 0.05, 40 epochs, lineage record",
        {
            "models/model.pkl": b"model-v3",
            "models/model.lineage.json": json.dumps(_RECORD),
            "metrics/model.json": _metrics(accuracy=0.86, loss=0.38, latency_ms=14.0, auc=0.87),
        },
    )
    g.checkout("prod")
    g.clock += 3600
    g.git("merge", "-q", "--no-ff", "-m", "Promote exp/lr-sweep to prod", "exp/lr-sweep")
    g.git("tag", "model@v1.2.0")
    g.checkout("exp/feature-eng", new=True)
    g.commit(
        "Add tenure feature",
        {
            "src/features.py": "FEATURES = ['tenure']\n",
            "models/model.pkl": b"model-fe1",
            "metrics/model.json": _metrics(accuracy=0.87, loss=0.41, latency_ms=14.0, f1=0.71),
        },
    )
    g.commit(
        "Tune features; eval metrics",
        {
            "models/model.pkl": b"model-fe2",
            "metrics/bad.json": "{not json",
            "metrics/model.json": '{"accuracy": 0.88, "loss": 0.41, "latency_ms": 14.0, '
            '"f1": 0.74, "calibration": NaN}',
        },
    )
    g.checkout("prod")
    g.commit("monitoring: drift for September", {"monitoring/drift.csv": DRIFT_CSV})
    g.checkout("exp/corrupt-drift", new=True)
    g.commit("Broken drift export", {"monitoring/drift.csv": "hello,world\n1,2\n"})
    g.checkout("prod")
    return path


def build_hostile_views_repo(path: Path) -> Path:
    """Markup and escapes in a branch name, metric keys, paths, messages and CSV cells."""
    g = GitRepo(path)
    g.commit(
        "[bold red]init[/] \x1b[31mred\x1b[0m",
        {
            "models/model.pkl": b"m1",
            "src/train.py": "x\n",
            "data/[b]x[/b].csv": "a\n",
            "params.yaml": "'[i]lr[/i]': 0.1\n",
            "metrics/model.json": json.dumps(
                {"accuracy": 0.8, "[red]evil[/red]": 1.0, "\x1b[2Jwipe": 2.0}
            ),
            "monitoring/drift.csv": "timestamp,feature,metric,value,threshold\n"
            "2026-09-01,[red]age[/red],psi,0.5,0.2\n"
            "2026-09-02,\x1b]0;pwned\x07x,psi,0.1,0.2\n",
        },
    )
    g.checkout("exp/ünï-模型-x]", new=True)
    g.commit(
        "tweak [link=http://evil]click[/link]",
        {
            "models/model.pkl": b"m2",
            "metrics/model.json": json.dumps(
                {"accuracy": 0.9, "[red]evil[/red]": 3.0, "\x1b[2Jwipe": 2.0}
            ),
        },
    )
    g.checkout("prod")
    return path


def rev(path: Path, ref: str) -> str:
    """The object id ``ref`` names, from the git CLI."""
    out = subprocess.run(["git", "rev-parse", ref], cwd=path, capture_output=True, check=True)
    return out.stdout.decode().strip()


NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)  # the app's "now": relative dates stay put


def views_app(path: Path) -> MlvcApp:
    """The real app on ``path``, with a fixed clock."""
    return make_app(path, now=NOW)


async def open_screen(pilot: Pilot[None], screen: Screen[None]) -> None:
    """Let the grid load, push ``screen`` as the grid's keys do, and wait for its workers."""
    await settle(pilot)
    pilot.app.push_screen(screen)
    await settle(pilot)
