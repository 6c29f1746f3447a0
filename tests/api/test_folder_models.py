"""Folder models: `save_model(..., format="mlflow")` writes an MLflow model folder as one
artifact (id: the manifest of its files' sha256; big files in LFS); `load_model` verifies
every file first and hands back the folder and its parsed MLmodel (mlflow absent here)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

import mlvc_tui as mlvc
from mlvc_tui.engine.folder_models import FolderModel, manifest_sha256
from mlvc_tui.engine.values import Storage
from tests.support.gitrepo import GitRepo, use_git_identity

HAS_MLFLOW = importlib.util.find_spec("mlflow") is not None


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    use_git_identity(monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "reg")
    r.commit("first", {"metrics/model.json": {"accuracy": 0.5}})
    return r


def _trained() -> tuple[LogisticRegression, pd.DataFrame]:
    x = pd.DataFrame({"age": [20.0, 30.0, 40.0, 50.0], "visits": [1, 3, 5, 7]})
    return LogisticRegression().fit(x, [0, 0, 1, 1]), x


def test_mlflow_folder_is_one_artifact_and_loads_verified(repo: GitRepo) -> None:
    model, x = _trained()
    saved = mlvc.save_model(
        model, "models/model", repo=repo.path, branch="prod", format="mlflow", input_example=x
    )
    tree = repo.ls_tree("prod")
    names = sorted(p.removeprefix("models/model/") for p in tree if p.startswith("models/model/"))
    assert names == ["MLmodel", "conda.yaml", "model.pkl", "python_env.yaml", "requirements.txt"]
    mlmodel = yaml.safe_load(repo.git("show", "prod:models/model/MLmodel"))
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    files = {}
    for name in names:
        data = subprocess.run(
            ["git", "show", f"prod:models/model/{name}"], cwd=repo.path, capture_output=True
        ).stdout
        files[name] = hashlib.sha256(data).hexdigest()
    assert saved.sha256 == manifest_sha256(files) and saved.format == "mlflow"
    with mlvc.open(repo.path) as reg:
        arts = reg.artifacts("prod")
        assert "models/model/model.pkl" not in arts
        assert arts["models/model"].id == saved.sha256 and arts["models/model"].kind == "models"
        assert reg.model_path("prod") == "models/model"
        assert reg.lineage("models/model", "prod").version.artifact.id == saved.sha256
    loaded = mlvc.load_model("models/model", repo=repo.path, ref="prod")
    if HAS_MLFLOW:
        assert list(loaded.predict(x)) == list(model.predict(x))
        return
    assert isinstance(loaded, FolderModel)
    assert "python_function" in loaded.flavors
    assert [c["name"] for c in loaded.signature["inputs"]] == ["age", "visits"]
    with (loaded.path / "model.pkl").open("rb") as fh:
        assert list(pickle.load(fh).predict(x)) == list(model.predict(x))
    again = mlvc.load_model("models:/model@prod", repo=repo.path)
    assert again.path == loaded.path  # verified once, reused


def test_any_folder_big_files_in_lfs_and_tampering_refused(repo: GitRepo, tmp_path: Path) -> None:
    folder = tmp_path / "bert"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(os.urandom(2 << 20))
    (folder / "tokenizer" / "vocab.txt").write_text("a\nb\n")
    saved = mlvc.save_model(folder, "models/bert", repo=repo.path, branch="prod")
    assert (saved.format, saved.storage) == ("folder", Storage.LFS)
    assert "models/bert/weights.bin filter=lfs" in repo.git("show", "prod:.gitattributes")
    with mlvc.open(repo.path) as reg:
        assert reg.stat("prod", "models/bert/weights.bin").storage is Storage.LFS
        art = reg.artifacts("prod")["models/bert"]
        assert (art.id, art.size, art.storage) == (saved.sha256, saved.size, Storage.LFS)
    loaded = mlvc.load_model("models/bert", repo=repo.path, ref="prod")
    assert isinstance(loaded, FolderModel) and loaded.mlmodel is None
    assert (loaded.path / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    repo.git("checkout", "-q", "prod")
    repo.commit("tamper", {"models/bert/tokenizer/vocab.txt": "evil\n"})
    with pytest.raises(mlvc.ModelIntegrityError, match="does not match"):
        mlvc.load_model("models/bert", repo=repo.path, ref="prod")
    assert not list((tmp_path / "cache").rglob(".partial-*"))


def test_saving_again_replaces_the_folder(repo: GitRepo, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("1")
    (folder / "b.txt").write_text("2")
    mlvc.save_model(folder, "models/m", repo=repo.path, branch="prod")
    (folder / "b.txt").unlink()
    second = mlvc.save_model(folder, "models/m", repo=repo.path, branch="prod")
    tree = repo.ls_tree("prod")
    assert "models/m/b.txt" not in tree and "models/m/a.txt" in tree
    assert second.sha256 == manifest_sha256({"a.txt": hashlib.sha256(b"1").hexdigest()})
    assert np.isfinite(second.size)


def test_folders_real_mlflow_wrote(repo: GitRepo, tmp_path: Path) -> None:
    """Needs the optional `mlflow` extra (mlflow-skinny): skipped without it."""
    mlflow_sklearn = pytest.importorskip("mlflow.sklearn")
    model, x = _trained()
    folder = tmp_path / "saved"
    mlflow_sklearn.save_model(model, str(folder), input_example=x)
    saved = mlvc.save_model(folder, "models/churn", repo=repo.path, branch="prod")
    assert saved.format == "mlflow"
    with mlvc.open(repo.path) as reg:
        assert reg.artifacts("prod")["models/churn"].id == saved.sha256
    loaded = mlvc.load_model("models:/churn@prod", repo=repo.path)
    assert list(loaded.predict(x)) == list(model.predict(x))  # through mlflow.pyfunc
    folder_only = mlvc.load_model("models/churn", repo=repo.path, ref="prod", format="folder")
    assert [c["name"] for c in folder_only.signature["inputs"]] == ["age", "visits"]
    assert "sklearn" in folder_only.flavors


def test_the_working_tree_sees_one_folder_artifact(repo: GitRepo, tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("1")
    mlvc.save_model(folder, "models/m", repo=repo.path, branch="prod")  # prod is checked out
    assert (repo.path / "models/m/a.txt").read_text() == "1"
    with mlvc.open(repo.path) as reg:
        assert reg.worktree_changes() == ()
    (repo.path / "models/m/a.txt").write_text("2")
    (repo.path / "models/m/new.txt").write_text("3")
    with mlvc.open(repo.path) as reg:
        assert [(c.path, c.change) for c in reg.worktree_changes()] == [("models/m", "modified")]
