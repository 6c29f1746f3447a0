"""The demo registry, checked with the real git CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import pickle
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from mlvc_tui.engine.demo.build import build_demo
from mlvc_tui.engine.errors import BadInput
from tests.support.gitrepo import git_in

BRANCHES = {
    "prod",
    "staging",
    "dev",
    "ab/test-a",
    "ab/test-b",
    "exp/feature-eng",
    "exp/lr-sweep",
    "exp/deep-model",
}
TAGS = ["model@v1.0.0", "model@v1.1.0", "model@v1.1.1", "model@v2.0.0"]
FILES = {
    "src/train.py",
    "params.yaml",
    "mlvc.toml",
    "data/train.csv",
    "data/schema.json",
    "models/model.pkl",
    "models/model.lineage.json",
    "metrics/model.json",
    "logs/train.log",
    "monitoring/drift.csv",
    "monitoring/predictions.csv",
}


def show(repo: Path, spec: str) -> bytes:
    return subprocess.run(
        ["git", "-C", str(repo), "show", spec], check=True, capture_output=True
    ).stdout


def heads(repo: Path) -> dict[str, str]:
    out = git_in(
        repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags"
    )
    return dict(line.split() for line in out.splitlines())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "registry")


def test_fsck_strict_is_clean(demo: Path) -> None:
    done = subprocess.run(["git", "-C", str(demo), "fsck", "--strict"], capture_output=True)
    assert done.returncode == 0
    assert b"error" not in done.stderr + done.stdout
    assert b"warning" not in done.stderr + done.stdout


def test_branches_head_and_files(demo: Path) -> None:
    names = git_in(demo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()
    assert set(names) == BRANCHES
    assert git_in(demo, "symbolic-ref", "--short", "HEAD").strip() == "dev"
    trees = {b: set(git_in(demo, "ls-tree", "-r", "--name-only", b).split()) for b in BRANCHES}
    for branch, files in trees.items():
        assert files >= FILES, branch
    # a branch-by-artifact grid shows same, changed, new and missing cells
    assert "metrics/train_history.csv" in trees["prod"]
    assert "metrics/train_history.csv" not in trees["exp/lr-sweep"]  # missing
    assert "metrics/sweep.csv" in trees["exp/lr-sweep"] - trees["prod"]  # new
    assert "monitoring/experiments/results.csv" in trees["ab/test-b"] - trees["prod"]

    def blob(branch: str, path: str) -> str:
        return git_in(demo, "rev-parse", f"{branch}:{path}").strip()

    assert blob("staging", "data/train.csv") == blob("prod", "data/train.csv")  # same
    assert blob("exp/feature-eng", "data/schema.json") != blob("prod", "data/schema.json")
    assert blob("exp/lr-sweep", "src/train.py") != blob("prod", "src/train.py")
    assert blob("exp/deep-model", "params.yaml") != blob("prod", "params.yaml")
    assert blob("exp/deep-model", "models/model.pkl") != blob("prod", "models/model.pkl")


def test_annotated_version_tags_on_prod(demo: Path) -> None:
    listed = git_in(demo, "tag", "-n1").splitlines()
    assert [line.split()[0] for line in listed] == TAGS
    assert all("model v" in line for line in listed)
    out = git_in(demo, "for-each-ref", "--format=%(objecttype) %(taggername)", "refs/tags")
    assert out.splitlines() == ["tag mlvc-ci[bot]"] * len(TAGS)
    first_parent = git_in(demo, "rev-list", "--first-parent", "prod").split()
    for tag in TAGS:
        assert git_in(demo, "rev-parse", f"{tag}^{{commit}}").strip() in first_parent


def test_prod_history_has_promotion_merges(demo: Path) -> None:
    assert len(git_in(demo, "rev-list", "--first-parent", "prod").split()) >= 10
    merges = git_in(demo, "log", "--merges", "--first-parent", "--format=%H %P|%s", "prod")
    merges = merges.splitlines()
    assert len(merges) >= 3
    assert all(len(m.split("|")[0].split()) == 3 for m in merges)  # two parents
    assert all(m.split("|")[1].startswith("Promote staging to prod") for m in merges)
    v2 = git_in(demo, "rev-parse", "model@v2.0.0^{commit}").strip()
    assert len(git_in(demo, "rev-list", "--parents", "-n1", v2).split()) == 3
    authors = set(git_in(demo, "log", "--all", "--format=%an").split("\n")) - {""}
    assert {"Ana Ruiz", "Ben Okafor", "Chen Wei", "mlvc-ci[bot]"} <= authors
    dates = git_in(demo, "log", "--all", "--format=%ad", "--date=format:%Y-%m-%d").split()
    assert min(dates) == "2026-09-01"
    assert "2026-10-05" < max(dates) < "2026-10-20"


def test_same_seed_same_ids_other_seed_other_ids(demo: Path, tmp_path: Path) -> None:
    (tmp_path / "again").mkdir()  # an existing empty folder is fine
    again = build_demo(tmp_path / "again", seed=7, dirty=False)
    other = build_demo(str(tmp_path / "nested" / "other"), seed=8, dirty=False)
    assert again == (tmp_path / "again").resolve() and other.is_dir()
    assert heads(again) == heads(demo)
    assert len(heads(demo)) == len(BRANCHES) + len(TAGS)
    ids = heads(other)
    assert ids.keys() == heads(demo).keys()
    assert not set(ids.values()) & set(heads(demo).values())
    assert git_in(again, "status", "--porcelain") == ""
    assert git_in(demo, "status", "--porcelain").splitlines() == [" M logs/train.log"]
    assert git_in(demo, "diff", "--numstat").split()[:2] != ["0", "0"]


def _model_and_table(demo: Path, branch: str) -> tuple[dict, dict[str, list[str]], bytes]:
    raw = show(demo, f"{branch}:models/model.pkl")

    class NumpyOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            assert module.split(".")[0] == "numpy", f"{module}.{name}"
            return super().find_class(module, name)

    model = NumpyOnly(io.BytesIO(raw)).load()
    rows = list(csv.reader(io.StringIO(show(demo, f"{branch}:data/train.csv").decode())))
    table = {name: [r[i] for r in rows[1:]] for i, name in enumerate(rows[0])}
    return model, table, raw


def test_model_is_a_plain_dict_that_predicts(demo: Path) -> None:
    model, table, _ = _model_and_table(demo, "prod")
    assert isinstance(model, dict) and model["kind"] == "logistic"
    assert isinstance(model["weights"], np.ndarray) and isinstance(model["bias"], float)
    x = np.array([table[f] for f in model["features"]], dtype=float).T
    z = (x - model["mean"]) / model["scale"] @ model["weights"] + model["bias"]
    predicted = (1 / (1 + np.exp(-z)) >= model["threshold"]).astype(int)
    accuracy = float(np.mean(predicted == np.array(table["churned"], dtype=int)))
    metrics = json.loads(show(demo, "prod:metrics/model.json"))
    assert abs(accuracy - metrics["accuracy"]) < 0.05
    assert 0.7 < metrics["accuracy"] < 0.95
    assert set(metrics["slices"]) == {"region=eu", "region=us", "age<30"}
    assert set(metrics["latency_ms"]) == {"p50", "p95"}


def test_lineage_matches_model_code_and_data(demo: Path) -> None:
    _, _, raw = _model_and_table(demo, "prod")
    lineage = json.loads(show(demo, "prod:models/model.lineage.json"))
    assert lineage["sha256"] == hashlib.sha256(raw).hexdigest()
    assert lineage["size"] == len(raw) and lineage["format"] == "pickle"
    assert lineage["data"] == {
        "data/train.csv": git_in(demo, "rev-parse", "prod:data/train.csv").strip()
    }
    code = lineage["code_commit"]
    assert git_in(demo, "cat-file", "-t", code).strip() == "commit"
    assert show(demo, f"{code}:src/train.py") == show(demo, "prod:src/train.py")
    assert lineage["metrics"] == json.loads(show(demo, "prod:metrics/model.json"))
    assert lineage["command"] == "python src/train.py" and lineage["time"].startswith("2026-")


def test_committed_training_code_reproduces_the_model(demo: Path, tmp_path: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(demo), "archive", "prod"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path, filter="data")
    subprocess.run([sys.executable, "src/train.py"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "models/model.pkl").read_bytes() == show(demo, "prod:models/model.pkl")
    assert (tmp_path / "metrics/model.json").read_bytes() == show(demo, "prod:metrics/model.json")


def test_metrics_are_finite_and_monitoring_has_alerts(demo: Path) -> None:
    def numbers(node: object) -> list[float]:
        if isinstance(node, dict):
            return [v for child in node.values() for v in numbers(child)]
        return [float(node)]  # type: ignore[arg-type]

    alerts = {}
    for branch in BRANCHES:
        values = numbers(json.loads(show(demo, f"{branch}:metrics/model.json")))
        assert values and all(math.isfinite(v) for v in values), branch
        drift = list(
            csv.DictReader(io.StringIO(show(demo, f"{branch}:monitoring/drift.csv").decode()))
        )
        assert len(drift) >= 1000
        alerts[branch] = sum(float(r["value"]) > float(r["threshold"]) for r in drift)
    assert 0 < alerts["prod"] < alerts["ab/test-b"]
    head = show(demo, "prod:monitoring/drift.csv").split(b"\n", 1)[0]
    assert head == b"timestamp,feature,metric,value,threshold"
    predictions = show(demo, "prod:monitoring/predictions.csv").decode().splitlines()
    assert (
        predictions[0] == "timestamp,request_id,prediction,score,label" and len(predictions) > 200
    )
    history = show(demo, "prod:metrics/train_history.csv").decode().splitlines()
    assert history[0] == "step,loss,accuracy" and len(history) > 100


def test_refuses_a_non_empty_target_and_leaves_it_unchanged(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(BadInput):
        build_demo(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    with pytest.raises(BadInput):
        build_demo(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_failed_build_leaves_no_trace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlvc_tui.engine.demo.build as demo_module

    monkeypatch.setattr(demo_module, "_history", lambda b: None)  # no branches: writing fails
    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyError):
        build_demo(tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []
    with pytest.raises(KeyError):
        build_demo(tmp_path / "new" / "demo")
    assert not (tmp_path / "new" / "demo").exists()
